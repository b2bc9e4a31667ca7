//! Server tags (microversion 2.26 and later): list, replace all, remove
//! all, add and remove one. Nova allows at most 50 tags of at most 60
//! characters, without `/` or `,`.

use super::{Microversion, SERVICE, json_body};
use crate::devcloud::error::{ApiError, ApiResult};
use crate::devcloud::server::{App, Auth};
use crate::devcloud::time::now_iso;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::put;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

const MAX_TAGS: usize = 50;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/v2.1/servers/{id}/tags",
            put(replace).get(list).delete(clear),
        )
        .route("/v2.1/servers/{id}/tags/{tag}", put(add).delete(remove))
}

fn check_microversion(mv: Microversion) -> ApiResult<()> {
    if mv.at_least(26) {
        Ok(())
    } else {
        Err(ApiError::not_found(
            SERVICE,
            "The resource could not be found.",
        ))
    }
}

fn check_tag(tag: &str) -> ApiResult<()> {
    if tag.is_empty() || tag.chars().count() > 60 || tag.contains(['/', ',']) {
        return Err(ApiError::bad_request(
            SERVICE,
            format!(
                "Invalid input for field/attribute tags. Value: {tag}. Tags are 1 to 60 characters without '/' or ','."
            ),
        ));
    }
    Ok(())
}

/// Runs `f` on the tags of a server the caller may see.
fn with_tags<R>(
    app: &App,
    auth: &Auth,
    id: &str,
    f: impl FnOnce(&mut Vec<String>) -> ApiResult<R>,
) -> ApiResult<R> {
    app.store.write(|d| {
        let s = d
            .servers
            .get_mut(id)
            .filter(|s| auth.owns(&s.project_id))
            .ok_or_else(|| {
                ApiError::not_found(SERVICE, format!("Instance {id} could not be found."))
            })?;
        let result = f(&mut s.tags)?;
        s.updated = now_iso();
        Ok(result)
    })
}

async fn list(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    check_microversion(mv)?;
    app.store.read(|d| {
        d.servers
            .get(&id)
            .filter(|s| auth.owns(&s.project_id))
            .map(|s| Json(json!({"tags": s.tags})))
            .ok_or_else(|| {
                ApiError::not_found(SERVICE, format!("Instance {id} could not be found."))
            })
    })
}

async fn replace(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    check_microversion(mv)?;
    let body = json_body(&headers, &body)?;
    let Some(Value::Array(items)) = body.get("tags") else {
        return Err(ApiError::bad_request(
            SERVICE,
            "Invalid input for field/attribute tags. 'tags' is a required array.",
        ));
    };
    let mut tags: Vec<String> = Vec::new();
    for item in items {
        let tag = item.as_str().ok_or_else(|| {
            ApiError::bad_request(SERVICE, format!("Invalid tag {item}: not a string."))
        })?;
        check_tag(tag)?;
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_string());
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(ApiError::bad_request(
            SERVICE,
            format!("The number of tags exceeded the per-server limit {MAX_TAGS}"),
        ));
    }
    with_tags(&app, &auth, &id, |t| {
        *t = tags;
        Ok(Json(json!({"tags": t})))
    })
}

async fn clear(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    check_microversion(mv)?;
    with_tags(&app, &auth, &id, |t| {
        t.clear();
        Ok(StatusCode::NO_CONTENT)
    })
}

async fn add(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Path((id, tag)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    check_microversion(mv)?;
    check_tag(&tag)?;
    with_tags(&app, &auth, &id, |t| {
        if t.contains(&tag) {
            return Ok(StatusCode::NO_CONTENT);
        }
        if t.len() >= MAX_TAGS {
            return Err(ApiError::bad_request(
                SERVICE,
                format!("The number of tags exceeded the per-server limit {MAX_TAGS}"),
            ));
        }
        t.push(tag);
        Ok(StatusCode::CREATED)
    })
}

async fn remove(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Path((id, tag)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    check_microversion(mv)?;
    with_tags(&app, &auth, &id, |t| {
        let before = t.len();
        t.retain(|x| *x != tag);
        if t.len() == before {
            return Err(ApiError::not_found(
                SERVICE,
                format!("Tag {tag} could not be found."),
            ));
        }
        Ok(StatusCode::NO_CONTENT)
    })
}
