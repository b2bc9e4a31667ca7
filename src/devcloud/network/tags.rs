//! The tag extension: `/v2.0/{networks|subnets|ports|security-groups}/{id}/tags`.

use super::common::{error, invalid_input, policy_denied, policy_rule, py_str, resource_not_found};
use super::{network_visible, port_visible, security_group_visible, subnet_visible};
use crate::devcloud::error::{ApiError, ApiResult};
use crate::devcloud::model::Data;
use crate::devcloud::server::{App, Auth};
use crate::devcloud::time::now_iso;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Value, json};
use std::sync::Arc;

const MAX_TAG_LEN: usize = 255;

/// The resources that carry tags, by URL collection.
#[derive(Clone, Copy)]
enum Kind {
    Network,
    Subnet,
    Port,
    SecurityGroup,
}

impl Kind {
    fn from_path(collection: &str) -> ApiResult<Kind> {
        match collection {
            "networks" => Ok(Kind::Network),
            "subnets" => Ok(Kind::Subnet),
            "ports" => Ok(Kind::Port),
            "security-groups" => Ok(Kind::SecurityGroup),
            _ => Err(resource_not_found()),
        }
    }

    /// The resource name in policy rules and messages.
    fn plural(self) -> &'static str {
        match self {
            Kind::Network => "networks",
            Kind::Subnet => "subnets",
            Kind::Port => "ports",
            Kind::SecurityGroup => "security_groups",
        }
    }
}

fn resource_missing(kind: Kind, id: &str) -> ApiError {
    error(
        StatusCode::NOT_FOUND,
        "TagResourceNotFound",
        format!("Resource {} {id} could not be found.", kind.plural()),
    )
}

/// The tags of a resource the caller may see, and whether it may change
/// them.
fn tags_of(d: &Data, kind: Kind, id: &str, auth: &Auth) -> ApiResult<(Vec<String>, bool)> {
    let found = match kind {
        Kind::Network => d
            .networks
            .get(id)
            .filter(|n| network_visible(n, auth))
            .map(|n| (n.tags.clone(), auth.owns(&n.project_id))),
        Kind::Subnet => d
            .subnets
            .get(id)
            .filter(|s| subnet_visible(d, s, auth))
            .map(|s| (s.tags.clone(), auth.owns(&s.project_id))),
        Kind::Port => d
            .ports
            .get(id)
            .filter(|p| port_visible(d, p, auth))
            .map(|p| (p.tags.clone(), true)),
        Kind::SecurityGroup => d
            .security_groups
            .get(id)
            .filter(|sg| security_group_visible(sg, auth))
            .map(|sg| (sg.tags.clone(), true)),
    };
    found.ok_or_else(|| resource_missing(kind, id))
}

/// Replaces a resource's tags, bumping its revision.
fn set_tags(d: &mut Data, kind: Kind, id: &str, tags: Vec<String>) {
    let now = now_iso();
    macro_rules! apply {
        ($map:expr) => {
            if let Some(r) = $map.get_mut(id) {
                r.tags = tags;
                r.revision_number += 1;
                r.updated_at = now;
            }
        };
    }
    match kind {
        Kind::Network => apply!(d.networks),
        Kind::Subnet => apply!(d.subnets),
        Kind::Port => apply!(d.ports),
        Kind::SecurityGroup => apply!(d.security_groups),
    }
}

fn check_tag(tag: &str) -> ApiResult<()> {
    if tag.chars().count() > MAX_TAG_LEN {
        return Err(invalid_input(format!(
            "'{tag}' exceeds maximum length of {MAX_TAG_LEN}"
        )));
    }
    Ok(())
}

fn may_change(kind: Kind, writable: bool, action: &str) -> ApiResult<()> {
    if writable {
        Ok(())
    } else {
        Err(policy_denied(&policy_rule(
            &format!("{action}_{}_tags", kind.plural()),
            &[],
        )))
    }
}

pub async fn list(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((collection, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let kind = Kind::from_path(&collection)?;
    let (tags, _) = app.store.read(|d| tags_of(d, kind, &id, &auth))?;
    Ok(Json(json!({ "tags": tags })))
}

pub async fn check(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((collection, id, tag)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let kind = Kind::from_path(&collection)?;
    check_tag(&tag)?;
    let (tags, _) = app.store.read(|d| tags_of(d, kind, &id, &auth))?;
    if tags.contains(&tag) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(tag_missing(&tag))
    }
}

fn tag_missing(tag: &str) -> ApiError {
    error(
        StatusCode::NOT_FOUND,
        "TagNotFound",
        format!("Tag {tag} could not be found."),
    )
}

/// `PUT .../tags` with `{"tags": [...]}`: replaces them all.
pub async fn replace(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((collection, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let kind = Kind::from_path(&collection)?;
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(list) = parsed.get("tags") else {
        return Err(invalid_input("Invalid tags body"));
    };
    let Value::Array(items) = list else {
        return Err(invalid_input(format!("'{}' is not a list", py_str(list))));
    };
    let mut tags: Vec<String> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            return Err(invalid_input(format!(
                "Duplicate items in the list: '{}'",
                py_str(item)
            )));
        }
    }
    for item in items {
        let Some(tag) = item.as_str() else {
            return Err(invalid_input(format!(
                "'{}' is not a valid string",
                py_str(item)
            )));
        };
        check_tag(tag)?;
        tags.push(tag.to_string());
    }
    app.store.write(|d| {
        let (_, writable) = tags_of(d, kind, &id, &auth)?;
        may_change(kind, writable, "update")?;
        set_tags(d, kind, &id, tags.clone());
        Ok(Json(json!({ "tags": tags })))
    })
}

/// `PUT .../tags/{tag}`: adds one.
pub async fn add(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((collection, id, tag)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let kind = Kind::from_path(&collection)?;
    check_tag(&tag)?;
    app.store.write(|d| {
        let (mut tags, writable) = tags_of(d, kind, &id, &auth)?;
        may_change(kind, writable, "update")?;
        if !tags.contains(&tag) {
            tags.push(tag.clone());
            set_tags(d, kind, &id, tags);
        }
        Ok(StatusCode::CREATED.into_response())
    })
}

pub async fn remove(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((collection, id, tag)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    let kind = Kind::from_path(&collection)?;
    check_tag(&tag)?;
    app.store.write(|d| {
        let (mut tags, writable) = tags_of(d, kind, &id, &auth)?;
        may_change(kind, writable, "delete")?;
        let before = tags.len();
        tags.retain(|t| *t != tag);
        if tags.len() == before {
            return Err(tag_missing(&tag));
        }
        set_tags(d, kind, &id, tags);
        Ok(StatusCode::NO_CONTENT)
    })
}

pub async fn clear(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((collection, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let kind = Kind::from_path(&collection)?;
    app.store.write(|d| {
        let (_, writable) = tags_of(d, kind, &id, &auth)?;
        may_change(kind, writable, "delete")?;
        set_tags(d, kind, &id, Vec::new());
        Ok(StatusCode::NO_CONTENT)
    })
}
