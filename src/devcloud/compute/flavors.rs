//! Flavors: list, detail, show, create (admin, answers 200), update of
//! the description (2.55), delete (202), extra specs and access lists.

use super::{Microversion, SERVICE, invalid, json_body, links, only, root};
use crate::devcloud::error::{ApiError, ApiResult};
use crate::devcloud::model::{Data, Flavor};
use crate::devcloud::server::{App, Auth};
use crate::devcloud::time::now_iso;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/v2.1/flavors", get(list).post(create))
        .route("/v2.1/flavors/detail", get(list_detail))
        .route("/v2.1/flavors/{id}", get(show).put(update).delete(remove))
        .route(
            "/v2.1/flavors/{id}/os-extra_specs",
            get(list_specs).post(add_specs),
        )
        .route(
            "/v2.1/flavors/{id}/os-extra_specs/{key}",
            get(show_spec).put(set_spec).delete(remove_spec),
        )
        .route("/v2.1/flavors/{id}/os-flavor-access", get(list_access))
        .route("/v2.1/flavors/{id}/action", post(action))
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(SERVICE, format!("Flavor {id} could not be found."))
}

fn policy(rule: &str) -> ApiError {
    ApiError::forbidden(
        SERVICE,
        format!("Policy doesn't allow {rule} to be performed."),
    )
}

/// Whether a project may see (and use) a flavor.
pub fn visible(f: &Flavor, auth: &Auth) -> bool {
    f.is_public
        || auth.is_admin()
        || auth
            .project_id
            .as_ref()
            .is_some_and(|p| f.access.contains(p))
}

/// A flavor as `/flavors/detail` shows it at microversion `mv`.
pub fn detail(app: &App, f: &Flavor, mv: Microversion) -> Value {
    let mut doc = json!({
        "id": f.id,
        "name": f.name,
        "ram": f.ram,
        "disk": f.disk,
        "vcpus": f.vcpus,
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral,
        "OS-FLV-DISABLED:disabled": f.disabled,
        // Before 2.75 a flavor without swap said so with "".
        "swap": if f.swap == 0 && !mv.at_least(75) { json!("") } else { json!(f.swap) },
        "rxtx_factor": f.rxtx_factor,
        "os-flavor-access:is_public": f.is_public,
        "links": links(app, &format!("flavors/{}", f.id)),
    });
    if mv.at_least(55) {
        doc["description"] = json!(f.description);
    }
    if mv.at_least(61) {
        doc["extra_specs"] = json!(f.extra_specs);
    }
    doc
}

fn summary(app: &App, f: &Flavor, mv: Microversion) -> Value {
    let mut doc =
        json!({"id": f.id, "name": f.name, "links": links(app, &format!("flavors/{}", f.id))});
    if mv.at_least(55) {
        doc["description"] = json!(f.description);
    }
    doc
}

/// The flavors a listing shows: `is_public` absent means public ones
/// (plus, for others than admin, private ones they may use); `none` all.
fn listed<'d>(d: &'d Data, auth: &Auth, q: &HashMap<String, String>) -> ApiResult<Vec<&'d Flavor>> {
    let is_public = match q.get("is_public").map(|s| s.to_ascii_lowercase()) {
        None => Some(true),
        Some(v) if v == "none" => None,
        Some(v) if ["true", "t", "1", "yes", "y", "on"].contains(&v.as_str()) => Some(true),
        Some(v) if ["false", "f", "0", "no", "n", "off"].contains(&v.as_str()) => Some(false),
        Some(v) => {
            return Err(ApiError::bad_request(
                SERVICE,
                format!("Invalid is_public filter [{v}]"),
            ));
        }
    };
    let min = |key: &str| -> ApiResult<u64> {
        q.get(key)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request(SERVICE, format!("Invalid {key} filter [{v}]"))
                })
            })
            .transpose()
            .map(|v| v.unwrap_or(0))
    };
    let (min_disk, min_ram) = (min("minDisk")?, min("minRam")?);
    let mut flavors: Vec<&Flavor> = d
        .flavors
        .values()
        .filter(|f| visible(f, auth))
        .filter(|f| match is_public {
            None => true,
            Some(true) => f.is_public || !auth.is_admin() && visible(f, auth),
            Some(false) => !f.is_public,
        })
        .filter(|f| f.disk >= min_disk && f.ram >= min_ram)
        .collect();
    let key = q.get("sort_key").map_or("flavorid", String::as_str);
    let cmp = |a: &&Flavor, b: &&Flavor| match key {
        "name" => a.name.cmp(&b.name),
        "memory_mb" | "ram" => a.ram.cmp(&b.ram),
        "vcpus" => a.vcpus.cmp(&b.vcpus),
        "root_gb" | "disk" => a.disk.cmp(&b.disk),
        "created_at" => a.created_at.cmp(&b.created_at),
        _ => a.id.cmp(&b.id),
    };
    flavors.sort_by(cmp);
    if q.get("sort_dir").is_some_and(|d| d == "desc") {
        flavors.reverse();
    }
    if let Some(marker) = q.get("marker") {
        let at = flavors
            .iter()
            .position(|f| &f.id == marker)
            .ok_or_else(|| {
                ApiError::bad_request(SERVICE, format!("marker [{marker}] not found"))
            })?;
        flavors.drain(..=at);
    }
    if let Some(limit) = q.get("limit") {
        let n: usize = limit
            .parse()
            .map_err(|_| ApiError::bad_request(SERVICE, "limit param must be an integer"))?;
        flavors.truncate(n);
    }
    Ok(flavors)
}

async fn list(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let flavors: Vec<Value> = app.store.read(|d| {
        listed(d, &auth, &q).map(|fs| fs.iter().map(|f| summary(&app, f, mv)).collect())
    })?;
    Ok(Json(json!({"flavors": flavors})))
}

async fn list_detail(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let flavors: Vec<Value> = app.store.read(|d| {
        listed(d, &auth, &q).map(|fs| fs.iter().map(|f| detail(&app, f, mv)).collect())
    })?;
    Ok(Json(json!({"flavors": flavors})))
}

async fn show(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    app.store.read(|d| {
        d.flavors
            .get(&id)
            .filter(|f| visible(f, &auth))
            .map(|f| Json(json!({"flavor": detail(&app, f, mv)})))
            .ok_or_else(|| not_found(&id))
    })
}

fn number(obj: &Map<String, Value>, key: &str, min: u64, default: Option<u64>) -> ApiResult<u64> {
    match obj.get(key) {
        None => default.ok_or_else(|| ApiError::bad_request(SERVICE, format!("Invalid input for field/attribute flavor. Value: {}. '{key}' is a required property", Value::Object(obj.clone())))),
        Some(v) => {
            // Nova takes integers or strings of them.
            let n = v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
            match n {
                Some(n) if n >= min => Ok(n),
                _ => Err(invalid(key, v, &format!("{v} is not of type 'integer', 'string' or is less than the minimum of {min}"))),
            }
        }
    }
}

fn valid_flavor_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '))
        && id.trim() == id
}

async fn create(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    if !auth.is_admin() {
        return Err(policy("os_compute_api:os-flavor-manage:create"));
    }
    let body = json_body(&headers, &body)?;
    let spec = root(&body, "flavor")?;
    let mut allowed = vec![
        "name",
        "ram",
        "vcpus",
        "disk",
        "id",
        "OS-FLV-EXT-DATA:ephemeral",
        "swap",
        "rxtx_factor",
        "os-flavor-access:is_public",
    ];
    if mv.at_least(55) {
        allowed.push("description");
    }
    only(spec, &allowed)?;
    let name = match spec.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() && n.len() <= 255 => n.trim().to_string(),
        Some(v) => {
            return Err(invalid(
                "name",
                v,
                "The name must be a non-empty string of at most 255 characters.",
            ));
        }
        None => {
            return Err(invalid(
                "flavor",
                &body["flavor"],
                "'name' is a required property",
            ));
        }
    };
    let ram = number(spec, "ram", 1, None)?;
    let vcpus = number(spec, "vcpus", 1, None)?;
    let disk = number(spec, "disk", 0, None)?;
    let ephemeral = number(spec, "OS-FLV-EXT-DATA:ephemeral", 0, Some(0))?;
    let swap = number(spec, "swap", 0, Some(0))?;
    let rxtx_factor = match spec.get("rxtx_factor") {
        None => 1.0,
        Some(v) => v
            .as_f64()
            .filter(|f| *f > 0.0)
            .ok_or_else(|| invalid("rxtx_factor", v, "It must be a number greater than 0."))?,
    };
    let is_public = match spec.get("os-flavor-access:is_public") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(invalid(
                "os-flavor-access:is_public",
                v,
                &format!("{v} is not of type 'boolean'"),
            ));
        }
    };
    let description = match spec.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 65535 => Some(s.clone()),
        Some(v) => {
            return Err(invalid(
                "description",
                v,
                "It must be a string of at most 65535 characters.",
            ));
        }
    };
    let id = match spec.get("id") {
        None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
        Some(Value::String(s)) if s == "auto" => uuid::Uuid::new_v4().to_string(),
        Some(Value::String(s)) if valid_flavor_id(s) => s.clone(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        Some(v) => {
            return Err(invalid(
                "id",
                v,
                "Flavor ids may contain only letters, digits, '-', '_', '.' and spaces.",
            ));
        }
    };
    let flavor = Flavor {
        id: id.clone(),
        name: name.clone(),
        ram,
        vcpus,
        disk,
        ephemeral,
        swap,
        rxtx_factor,
        is_public,
        disabled: false,
        description,
        extra_specs: BTreeMap::new(),
        access: BTreeSet::new(),
        created_at: now_iso(),
    };
    app.store.write(|d| {
        if d.flavors.contains_key(&id) {
            return Err(ApiError::conflict(
                SERVICE,
                format!("Flavor with ID {id} already exists."),
            ));
        }
        if d.flavors.values().any(|f| f.name == name) {
            return Err(ApiError::conflict(
                SERVICE,
                format!("Flavor with name {name} already exists."),
            ));
        }
        let doc = detail(&app, &flavor, mv);
        d.flavors.insert(id.clone(), flavor);
        Ok(Json(json!({"flavor": doc})))
    })
}

async fn update(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    if !mv.at_least(55) {
        return Err(ApiError::new(
            SERVICE,
            StatusCode::METHOD_NOT_ALLOWED,
            "The method specified is not allowed for this resource.",
        ));
    }
    if !auth.is_admin() {
        return Err(policy("os_compute_api:os-flavor-manage:update"));
    }
    let body = json_body(&headers, &body)?;
    let spec = root(&body, "flavor")?;
    only(spec, &["description"])?;
    let description = match spec.get("description") {
        Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 65535 => Some(s.clone()),
        Some(v) => {
            return Err(invalid(
                "description",
                v,
                "It must be a string of at most 65535 characters.",
            ));
        }
        None => {
            return Err(invalid(
                "flavor",
                &body["flavor"],
                "'description' is a required property",
            ));
        }
    };
    app.store.write(|d| {
        let f = d.flavors.get_mut(&id).ok_or_else(|| not_found(&id))?;
        f.description = description;
        Ok(Json(json!({"flavor": detail(&app, f, mv)})))
    })
}

async fn remove(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if !auth.is_admin() {
        return Err(policy("os_compute_api:os-flavor-manage:delete"));
    }
    app.store.write(|d| {
        d.flavors
            .remove(&id)
            .map(|_| StatusCode::ACCEPTED)
            .ok_or_else(|| not_found(&id))
    })
}

fn visible_flavor<'d>(d: &'d Data, auth: &Auth, id: &str) -> ApiResult<&'d Flavor> {
    d.flavors
        .get(id)
        .filter(|f| visible(f, auth))
        .ok_or_else(|| not_found(id))
}

async fn list_specs(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    app.store.read(|d| {
        visible_flavor(d, &auth, &id).map(|f| Json(json!({"extra_specs": f.extra_specs})))
    })
}

/// Extra spec keys and values as Nova's schema allows them.
fn spec_pairs(obj: &Map<String, Value>) -> ApiResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (k, v) in obj {
        if k.is_empty()
            || k.len() > 255
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:. ".contains(c))
        {
            return Err(ApiError::bad_request(
                SERVICE,
                format!(
                    "Invalid input for field/attribute extra_specs. Value: {k}. Key contains characters that are not allowed."
                ),
            ));
        }
        let value = match v {
            Value::String(s) if s.len() <= 255 => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(invalid(
                    &format!("extra_specs/{k}"),
                    other,
                    "It must be a string, a number or a boolean of at most 255 characters.",
                ));
            }
        };
        out.push((k.clone(), value));
    }
    Ok(out)
}

async fn add_specs(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    if !auth.is_admin() {
        return Err(policy("os_compute_api:os-flavor-extra-specs:create"));
    }
    let body = json_body(&headers, &body)?;
    let specs = spec_pairs(root(&body, "extra_specs")?)?;
    app.store.write(|d| {
        let f = d.flavors.get_mut(&id).ok_or_else(|| not_found(&id))?;
        f.extra_specs.extend(specs.iter().cloned());
        Ok(Json(
            json!({"extra_specs": specs.into_iter().collect::<BTreeMap<_, _>>()}),
        ))
    })
}

async fn show_spec(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    app.store.read(|d| {
        let f = visible_flavor(d, &auth, &id)?;
        f.extra_specs
            .get(&key)
            .map(|v| Json(json!({ key.clone(): v })))
            .ok_or_else(|| {
                ApiError::not_found(
                    SERVICE,
                    format!("Flavor {id} has no extra specs with key {key}."),
                )
            })
    })
}

async fn set_spec(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((id, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    if !auth.is_admin() {
        return Err(policy("os_compute_api:os-flavor-extra-specs:update"));
    }
    let body = json_body(&headers, &body)?;
    let obj = body
        .as_object()
        .ok_or_else(|| ApiError::bad_request(SERVICE, "Malformed request body"))?;
    if obj.len() != 1 {
        return Err(ApiError::bad_request(
            SERVICE,
            "Request body contains too many items",
        ));
    }
    let pairs = spec_pairs(obj)?;
    let (k, v) = pairs
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::bad_request(SERVICE, "Malformed request body"))?;
    if k != key {
        return Err(ApiError::bad_request(
            SERVICE,
            "Request body and URI mismatch",
        ));
    }
    app.store.write(|d| {
        let f = d.flavors.get_mut(&id).ok_or_else(|| not_found(&id))?;
        f.extra_specs.insert(k.clone(), v.clone());
        Ok(Json(json!({ k: v })))
    })
}

async fn remove_spec(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if !auth.is_admin() {
        return Err(policy("os_compute_api:os-flavor-extra-specs:delete"));
    }
    app.store.write(|d| {
        let f = d.flavors.get_mut(&id).ok_or_else(|| not_found(&id))?;
        f.extra_specs
            .remove(&key)
            .map(|_| StatusCode::OK)
            .ok_or_else(|| {
                ApiError::not_found(
                    SERVICE,
                    format!("Flavor {id} has no extra specs with key {key}."),
                )
            })
    })
}

fn access_doc(f: &Flavor) -> Value {
    json!({"flavor_access": f.access.iter().map(|p| json!({"flavor_id": f.id, "tenant_id": p})).collect::<Vec<_>>()})
}

async fn list_access(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    if !auth.is_admin() {
        return Err(policy("os_compute_api:os-flavor-access"));
    }
    app.store.read(|d| {
        let f = d.flavors.get(&id).ok_or_else(|| not_found(&id))?;
        if f.is_public {
            return Err(ApiError::not_found(
                SERVICE,
                "Access list not available for public flavors.",
            ));
        }
        Ok(Json(access_doc(f)))
    })
}

/// `POST /flavors/{id}/action` with `addTenantAccess` or
/// `removeTenantAccess`.
async fn action(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    if !auth.is_admin() {
        return Err(policy("os_compute_api:os-flavor-access:add_tenant_access"));
    }
    let body = json_body(&headers, &body)?;
    let (add, spec) = match (body.get("addTenantAccess"), body.get("removeTenantAccess")) {
        (Some(s), None) => (true, s),
        (None, Some(s)) => (false, s),
        _ => {
            return Err(ApiError::bad_request(
                SERVICE,
                "Invalid flavor action: expected addTenantAccess or removeTenantAccess.",
            ));
        }
    };
    let tenant = spec
        .get("tenant")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("tenant", spec, "'tenant' is a required property"))?
        .to_string();
    app.store.write(|d| {
        let f = d.flavors.get_mut(&id).ok_or_else(|| not_found(&id))?;
        if f.is_public {
            return Err(ApiError::conflict(SERVICE, "Can not add access to a public flavor."));
        }
        if add {
            if !f.access.insert(tenant.clone()) {
                return Err(ApiError::conflict(SERVICE, format!("Flavor access already exists for flavor {id} and project {tenant} combination.")));
            }
        } else if !f.access.remove(&tenant) {
            return Err(ApiError::not_found(SERVICE, format!("Flavor access not found for {id} / {tenant} combination.")));
        }
        Ok(Json(access_doc(f)).into_response())
    })
}
