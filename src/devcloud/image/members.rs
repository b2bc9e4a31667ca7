//! Image members: the projects a `shared` image is shared with, each
//! with a status (`pending` until the member accepts or rejects it).
//! The owner adds and removes members; each member sets its own status
//! and sees only its own membership.

use super::{Ctx, SERVICE, bad, forbidden, not_authorized, parse_body, visible};
use crate::devcloud::error::{ApiError, ApiResult};
use crate::devcloud::model::{Data, Image, ImageMember};
use crate::devcloud::server::Auth;
use crate::devcloud::time::now_iso;
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

fn member_doc(image: &Image, member_id: &str, m: &ImageMember) -> Value {
    json!({
        "member_id": member_id,
        "image_id": image.id,
        "status": m.status,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "schema": "/v2/schemas/member",
    })
}

/// The details of a member, defaulting for members recorded before
/// devcloud kept them.
fn details(image: &Image, member_id: &str) -> ImageMember {
    image
        .member_details
        .get(member_id)
        .cloned()
        .unwrap_or_else(|| ImageMember {
            status: "pending".into(),
            created_at: image.created_at.clone(),
            updated_at: image.created_at.clone(),
        })
}

/// The image whose members are asked for: visible to the caller, and
/// shared.
fn shared_image<'d>(d: &'d Data, auth: &Auth, id: &str) -> ApiResult<&'d Image> {
    let image = d
        .images
        .get(id)
        .filter(|image| visible(auth, image))
        .ok_or_else(|| ApiError::not_found(SERVICE, format!("Image {id} not found.")))?;
    if image.visibility != "shared" {
        return Err(forbidden(format!(
            "Error fetching members of image {id}: Only shared images have members."
        )));
    }
    Ok(image)
}

fn is_owner(auth: &Auth, image: &Image) -> bool {
    auth.is_admin() || auth.project_id.as_deref() == Some(image.owner.as_str())
}

fn not_a_member(id: &str, member_id: &str) -> ApiError {
    ApiError::not_found(
        SERVICE,
        format!("{member_id} not found in the member list of the image {id}."),
    )
}

/// `POST /v2/images/{id}/members`.
pub(super) async fn add(ctx: Ctx, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    let result = add_member(&ctx, &id, &body);
    ctx.answer(result)
}

fn add_member(ctx: &Ctx, id: &str, body: &[u8]) -> ApiResult<Response> {
    let auth = ctx.auth()?;
    let body = parse_body(body)?;
    let member_id = match body.get("member") {
        None => return Err(bad("Member to be added not specified")),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_) | Value::Null) => return Err(bad("Member can't be empty")),
        Some(other) => return Err(bad(format!("Invalid member: {other}"))),
    };
    ctx.app.store.write(|d| {
        shared_image(d, auth, id)?;
        let image = d
            .images
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found(SERVICE, format!("Image {id} not found.")))?;
        if !is_owner(auth, image) {
            return Err(not_authorized("add_member"));
        }
        if image.members.contains(&member_id) {
            return Err(ApiError::conflict(
                SERVICE,
                format!("Member {member_id} is duplicated for image {id}"),
            ));
        }
        let now = now_iso();
        let member = ImageMember {
            status: "pending".into(),
            created_at: now.clone(),
            updated_at: now,
        };
        image.members.insert(member_id.clone());
        image
            .member_details
            .insert(member_id.clone(), member.clone());
        Ok(Json(member_doc(image, &member_id, &member)).into_response())
    })
}

/// `GET /v2/images/{id}/members`: all of them for the owner, its own
/// membership for a member.
pub(super) async fn list(ctx: Ctx, Path(id): Path<String>) -> Response {
    let result = ctx.auth().and_then(|auth| {
        ctx.app.store.read(|d| {
            let image = shared_image(d, auth, &id)?;
            let owner = is_owner(auth, image);
            let project = auth.project_id.as_deref().unwrap_or_default();
            let members: Vec<Value> = image
                .members
                .iter()
                .filter(|m| owner || m.as_str() == project)
                .map(|m| member_doc(image, m, &details(image, m)))
                .collect();
            Ok(Json(json!({"members": members, "schema": "/v2/schemas/members"})).into_response())
        })
    });
    ctx.answer(result)
}

/// `GET /v2/images/{id}/members/{member}`.
pub(super) async fn show(ctx: Ctx, Path((id, member_id)): Path<(String, String)>) -> Response {
    let result = ctx.auth().and_then(|auth| {
        ctx.app.store.read(|d| {
            // Glance answers 404 rather than 403 here, to leak nothing.
            let image =
                shared_image(d, auth, &id).map_err(|e| ApiError::not_found(SERVICE, e.message))?;
            let project = auth.project_id.as_deref().unwrap_or_default();
            if !image.members.contains(&member_id) || !is_owner(auth, image) && member_id != project
            {
                return Err(not_a_member(&id, &member_id));
            }
            Ok(Json(member_doc(image, &member_id, &details(image, &member_id))).into_response())
        })
    });
    ctx.answer(result)
}

/// `PUT /v2/images/{id}/members/{member}`: the member accepts or
/// rejects the image.
pub(super) async fn update(
    ctx: Ctx,
    Path((id, member_id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let result = update_member(&ctx, &id, &member_id, &body);
    ctx.answer(result)
}

fn update_member(ctx: &Ctx, id: &str, member_id: &str, body: &[u8]) -> ApiResult<Response> {
    let auth = ctx.auth()?;
    let body = parse_body(body)?;
    let status = body
        .get("status")
        .ok_or_else(|| bad("Status not specified"))?;
    let status = match status.as_str() {
        Some(s @ ("pending" | "accepted" | "rejected")) => s.to_string(),
        _ => {
            return Err(bad(
                "Incorrect request: Status must be \"pending\", \"accepted\" or \"rejected\".",
            ));
        }
    };
    ctx.app.store.write(|d| {
        shared_image(d, auth, id)?;
        let image = d
            .images
            .get_mut(id)
            .ok_or_else(|| ApiError::not_found(SERVICE, format!("Image {id} not found.")))?;
        let project = auth.project_id.as_deref().unwrap_or_default();
        let owner = is_owner(auth, image);
        if !image.members.contains(member_id) || !owner && member_id != project {
            return Err(not_a_member(id, member_id));
        }
        if member_id != project && !auth.is_admin() {
            return Err(not_authorized("modify_member"));
        }
        let mut member = details(image, member_id);
        member.status = status.clone();
        member.updated_at = now_iso();
        image
            .member_details
            .insert(member_id.to_string(), member.clone());
        Ok(Json(member_doc(image, member_id, &member)).into_response())
    })
}

/// `DELETE /v2/images/{id}/members/{member}`.
pub(super) async fn remove(ctx: Ctx, Path((id, member_id)): Path<(String, String)>) -> Response {
    let result = ctx.auth().and_then(|auth| {
        ctx.app.store.write(|d| {
            shared_image(d, auth, &id)?;
            let image = d
                .images
                .get_mut(&id)
                .ok_or_else(|| ApiError::not_found(SERVICE, format!("Image {id} not found.")))?;
            let project = auth.project_id.as_deref().unwrap_or_default();
            let owner = is_owner(auth, image);
            if !image.members.contains(&member_id) || !owner && member_id != project {
                return Err(not_a_member(&id, &member_id));
            }
            if !owner {
                return Err(not_authorized("delete_member"));
            }
            image.members.remove(&member_id);
            image.member_details.remove(&member_id);
            Ok(StatusCode::NO_CONTENT.into_response())
        })
    });
    ctx.answer(result)
}
