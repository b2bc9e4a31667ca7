//! What every Neutron collection shares: listing what a caller sees, in
//! creation order, through the common filters, sorting and paging, and
//! showing one member. Each resource type says where it lives and how it
//! renders by implementing `Collection`.

use super::common::{ListContext, ListQuery, list_response, select_fields, wrap};
use crate::devcloud::error::{ApiError, ApiResult};
use crate::devcloud::model::Data;
use crate::devcloud::server::{App, Auth};
use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

pub trait Collection: Sized + 'static {
    /// `network`: the key of one member in a body.
    const SINGULAR: &'static str;
    /// `networks`: the key of a list in a body.
    const PLURAL: &'static str;
    /// `security-groups`: the collection's path below `/v2.0/`.
    const PATH: &'static str;
    /// Attributes a client may filter and sort on.
    const KEYS: &'static [&'static str];

    fn table(d: &Data) -> &BTreeMap<String, Self>;
    /// Creation order.
    fn seq(&self) -> u64;
    fn visible(&self, d: &Data, auth: &Auth) -> bool;
    fn render(&self, d: &Data, auth: &Auth) -> Map<String, Value>;
    fn not_found(id: &str) -> ApiError;
    /// Work Neutron does before it lists (making a project's default
    /// security group); nothing by default.
    fn before_listing(_app: &App, _auth: &Auth) {}
}

/// The members a caller sees, in creation order.
pub fn visible_in_order<'a, T: Collection>(d: &'a Data, auth: &Auth) -> Vec<&'a T> {
    let mut shown: Vec<&T> = T::table(d)
        .values()
        .filter(|item| item.visible(d, auth))
        .collect();
    shown.sort_by_key(|item| item.seq());
    shown
}

/// `GET /v2.0/{collection}`.
pub async fn list<T: Collection>(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    let q = ListQuery::parse(&pairs)?;
    T::before_listing(&app, &auth);
    let items = app.store.read(|d| {
        visible_in_order::<T>(d, &auth)
            .into_iter()
            .map(|item| item.render(d, &auth))
            .collect::<Vec<_>>()
    });
    let ctx = ListContext {
        collection: T::PLURAL,
        url: format!("{}/network/v2.0/{}", app.base_url, T::PATH),
        keys: T::KEYS,
        marker_missing: &T::not_found,
    };
    Ok(Json(list_response(&ctx, &q, items)?))
}

/// `GET /v2.0/{collection}/{id}`.
pub async fn show<T: Collection>(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    let q = ListQuery::parse(&pairs)?;
    app.store.read(|d| {
        let item = T::table(d)
            .get(&id)
            .filter(|item| item.visible(d, &auth))
            .ok_or_else(|| T::not_found(&id))?;
        Ok(Json(wrap(
            T::SINGULAR,
            select_fields(item.render(d, &auth), &q.fields),
        )))
    })
}
