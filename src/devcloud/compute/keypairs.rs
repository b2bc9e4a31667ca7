//! Key pairs: import a public key, list, show, delete. Key pairs belong
//! to the user, not the project. Generating keys (which Nova stopped
//! doing at 2.92) is not offered: a public key is required.

use super::{Microversion, SERVICE, invalid, json_body, only, root};
use crate::devcloud::error::{ApiError, ApiResult};
use crate::devcloud::model::Keypair;
use crate::devcloud::server::{App, Auth};
use crate::devcloud::time::now_iso;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/v2.1/os-keypairs", get(list).post(create))
        .route("/v2.1/os-keypairs/{name}", get(show).delete(remove))
}

const KEY_TYPES: &[&str] = &[
    "ssh-rsa",
    "ssh-dss",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
];

/// The MD5 fingerprint Nova shows (`aa:bb:...`) of an OpenSSH public key,
/// or `None` when it is not one.
pub fn fingerprint(public_key: &str) -> Option<String> {
    let mut parts = public_key.split_whitespace();
    let (kind, blob) = (parts.next()?, parts.next()?);
    if !KEY_TYPES.contains(&kind) {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .ok()?;
    // The blob starts with the key type as a length-prefixed string.
    let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    if bytes.get(4..4 + len)? != kind.as_bytes() {
        return None;
    }
    let digest = Md5::digest(&bytes);
    Some(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

fn key(user_id: &str, name: &str) -> String {
    format!("{user_id}/{name}")
}

fn not_found(name: &str, user_id: &str) -> ApiError {
    ApiError::not_found(
        SERVICE,
        format!("Keypair {name} not found for user {user_id}"),
    )
}

/// The user a request acts for: the caller, or with `user_id` (admin,
/// 2.10) another one.
fn target_user(auth: &Auth, mv: Microversion, q: &HashMap<String, String>) -> ApiResult<String> {
    match q.get("user_id") {
        Some(u) if mv.at_least(10) && *u != auth.user_id => {
            if auth.is_admin() {
                Ok(u.clone())
            } else {
                Err(ApiError::forbidden(
                    SERVICE,
                    "Policy doesn't allow os_compute_api:os-keypairs:index to be performed.",
                ))
            }
        }
        _ => Ok(auth.user_id.clone()),
    }
}

fn doc(k: &Keypair, mv: Microversion, full: bool) -> Value {
    let mut d = json!({"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint});
    if mv.at_least(2) {
        d["type"] = json!(k.key_type);
    }
    if full {
        d["user_id"] = json!(k.user_id);
        d["created_at"] = json!(k.created_at);
        d["deleted"] = json!(false);
        d["deleted_at"] = Value::Null;
        d["updated_at"] = Value::Null;
        d["id"] = json!(k.id);
    }
    d
}

async fn list(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let user = target_user(&auth, mv, &q)?;
    let keypairs: Vec<Value> = app.store.read(|d| {
        d.keypairs
            .values()
            .filter(|k| k.user_id == user)
            .map(|k| json!({"keypair": doc(k, mv, false)}))
            .collect()
    });
    Ok(Json(json!({"keypairs": keypairs})))
}

async fn show(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let user = target_user(&auth, mv, &q)?;
    app.store.read(|d| {
        d.keypairs
            .get(&key(&user, &name))
            .map(|k| Json(json!({"keypair": doc(k, mv, true)})))
            .ok_or_else(|| not_found(&name, &user))
    })
}

async fn create(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let body = json_body(&headers, &body)?;
    let spec = root(&body, "keypair")?;
    let mut allowed = vec!["name", "public_key"];
    if mv.at_least(2) {
        allowed.push("type");
    }
    if mv.at_least(10) {
        allowed.push("user_id");
    }
    only(spec, &allowed)?;
    let name = match spec.get("name") {
        Some(Value::String(n))
            if !n.is_empty()
                && n.len() <= 255
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_ .@".contains(c)) =>
        {
            n.clone()
        }
        Some(v) => {
            return Err(invalid(
                "name",
                v,
                "Keypair names may contain only letters, digits, spaces, '-', '_', '.' and '@', up to 255 characters.",
            ));
        }
        None => {
            return Err(invalid(
                "keypair",
                &body["keypair"],
                "'name' is a required property",
            ));
        }
    };
    let key_type = match spec.get("type") {
        None => "ssh".to_string(),
        Some(Value::String(t)) if t == "ssh" || t == "x509" => t.clone(),
        Some(v) => {
            return Err(invalid(
                "type",
                v,
                &format!("{v} is not one of ['ssh', 'x509']"),
            ));
        }
    };
    let public_key = match spec.get("public_key") {
        Some(Value::String(k)) => k.trim().to_string(),
        Some(v) => {
            return Err(invalid(
                "public_key",
                v,
                &format!("{v} is not of type 'string'"),
            ));
        }
        None => {
            return Err(invalid(
                "keypair",
                &body["keypair"],
                "'public_key' is a required property",
            ));
        }
    };
    let fingerprint = fingerprint(&public_key).ok_or_else(|| {
        ApiError::bad_request(
            SERVICE,
            "Keypair data is invalid: failed to generate fingerprint",
        )
    })?;
    let user_id = match spec.get("user_id").and_then(Value::as_str) {
        Some(u) if u != auth.user_id && !auth.is_admin() => {
            return Err(ApiError::forbidden(
                SERVICE,
                "Policy doesn't allow os_compute_api:os-keypairs:create to be performed.",
            ));
        }
        Some(u) => u.to_string(),
        None => auth.user_id.clone(),
    };
    app.store.write(|d| {
        let k = key(&user_id, &name);
        if d.keypairs.contains_key(&k) {
            return Err(ApiError::conflict(
                SERVICE,
                format!("Key pair '{name}' already exists."),
            ));
        }
        let id = d.keypairs.values().map(|k| k.id).max().unwrap_or(0) + 1;
        let keypair = Keypair {
            name: name.clone(),
            user_id: user_id.clone(),
            public_key,
            fingerprint,
            key_type,
            created_at: now_iso(),
            id,
        };
        let mut body = doc(&keypair, mv, false);
        body["user_id"] = json!(user_id);
        d.keypairs.insert(k, keypair);
        // 2.2 changed the answer from 200 to 201.
        let status = if mv.at_least(2) {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok((status, Json(json!({"keypair": body}))).into_response())
    })
}

async fn remove(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let user = target_user(&auth, mv, &q)?;
    app.store.write(|d| {
        d.keypairs
            .remove(&key(&user, &name))
            .map(|_| {
                if mv.at_least(2) {
                    StatusCode::NO_CONTENT
                } else {
                    StatusCode::ACCEPTED
                }
            })
            .ok_or_else(|| not_found(&name, &user))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_openssh_keys_and_refuses_others() {
        // An ed25519 public key blob: "ssh-ed25519" plus 32 key bytes.
        let mut blob = Vec::new();
        blob.extend_from_slice(&11u32.to_be_bytes());
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&32u32.to_be_bytes());
        blob.extend_from_slice(&[7u8; 32]);
        let text = format!(
            "ssh-ed25519 {} me@host",
            base64::engine::general_purpose::STANDARD.encode(&blob)
        );
        let fp = fingerprint(&text).unwrap();
        assert_eq!(fp.len(), 47);
        assert_eq!(fp.matches(':').count(), 15);
        assert!(fingerprint("ssh-rsa !!!notbase64").is_none());
        assert!(fingerprint("not-a-key AAAA").is_none());
        let mismatched = format!(
            "ssh-rsa {}",
            base64::engine::general_purpose::STANDARD.encode(&blob)
        );
        assert!(fingerprint(&mismatched).is_none());
    }
}
