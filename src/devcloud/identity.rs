//! Keystone v3: version discovery, tokens (password and application
//! credential authentication, project-scoped or unscoped), token
//! validation and revocation, the catalog, projects, users, domains,
//! roles and application credentials — what python-openstackclient and
//! the SDKs call.
//! API reference: https://docs.openstack.org/api-ref/identity/v3/

use super::error::{ApiError, ApiResult, Service};
use super::model::{AppCredential, Data};
use super::server::{App, Auth, authenticate};
use super::store::now_millis;
use super::time::millis_to_iso_micros;
use super::token::{self, Claims};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

const SERVICE: Service = Service::Identity;
pub const VERSION_ID: &str = "v3.14";
pub const REGION: &str = "RegionOne";

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(versions))
        .route("/v3", get(version))
        .route(
            "/v3/auth/tokens",
            post(issue_token)
                .get(validate_token)
                .head(check_token)
                .delete(revoke_token),
        )
        .route("/v3/auth/catalog", get(auth_catalog))
        .route("/v3/auth/projects", get(auth_projects))
        .route("/v3/projects", get(list_projects))
        .route("/v3/projects/{id}", get(show_project))
        .route("/v3/users", get(list_users))
        .route("/v3/users/{id}", get(show_user))
        .route("/v3/users/{id}/projects", get(user_projects))
        .route(
            "/v3/users/{id}/application_credentials",
            post(create_app_cred).get(list_app_creds),
        )
        .route(
            "/v3/users/{id}/application_credentials/{cred}",
            get(show_app_cred).delete(delete_app_cred),
        )
        .route("/v3/domains", get(list_domains))
        .route("/v3/domains/{id}", get(show_domain))
        .route("/v3/roles", get(list_roles))
        .route("/v3/services", get(list_services))
        .route("/v3/endpoints", get(list_endpoints))
        .route("/v3/regions", get(list_regions))
}

fn version_doc(app: &App) -> Value {
    json!({
        "id": VERSION_ID,
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{}/identity/v3/", app.base_url)}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    })
}

async fn versions(State(app): State<Arc<App>>) -> Response {
    (
        StatusCode::MULTIPLE_CHOICES,
        Json(json!({"versions": {"values": [version_doc(&app)]}})),
    )
        .into_response()
}

async fn version(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({"version": version_doc(&app)}))
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(SERVICE, message)
}

/// A JSON body, or Keystone's 400.
fn parse_body(body: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(body).map_err(|e| bad(format!("Invalid JSON in request body: {e}")))
}

fn str_at<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// The domain a `{"id"}` or `{"name"}` object names.
fn find_domain(d: &Data, spec: Option<&Value>) -> ApiResult<String> {
    let Some(spec) = spec else {
        return Err(bad("Expecting to find domain in user or project."));
    };
    if let Some(id) = str_at(spec, "id") {
        return d
            .domains
            .get(id)
            .map(|x| x.id.clone())
            .ok_or_else(ApiError::unauthorized);
    }
    if let Some(name) = str_at(spec, "name") {
        return d
            .domains
            .values()
            .find(|x| x.name == name)
            .map(|x| x.id.clone())
            .ok_or_else(ApiError::unauthorized);
    }
    Err(bad("Expecting to find id or name in domain."))
}

fn find_user(d: &Data, spec: &Value) -> ApiResult<String> {
    if let Some(id) = str_at(spec, "id") {
        return d
            .users
            .get(id)
            .map(|u| u.id.clone())
            .ok_or_else(ApiError::unauthorized);
    }
    let Some(name) = str_at(spec, "name") else {
        return Err(bad("Expecting to find id or name in user."));
    };
    let domain = find_domain(d, spec.get("domain"))?;
    d.users
        .values()
        .find(|u| u.name == name && u.domain_id == domain)
        .map(|u| u.id.clone())
        .ok_or_else(ApiError::unauthorized)
}

fn find_project(d: &Data, spec: &Value) -> ApiResult<String> {
    if let Some(id) = str_at(spec, "id") {
        return d
            .projects
            .get(id)
            .filter(|p| p.enabled)
            .map(|p| p.id.clone())
            .ok_or_else(ApiError::unauthorized);
    }
    let Some(name) = str_at(spec, "name") else {
        return Err(bad("Expecting to find id or name in project."));
    };
    let domain = find_domain(d, spec.get("domain"))?;
    d.projects
        .values()
        .find(|p| p.name == name && p.domain_id == domain && p.enabled)
        .map(|p| p.id.clone())
        .ok_or_else(ApiError::unauthorized)
}

fn new_audit_id() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&uuid::Uuid::new_v4().as_bytes()[..16])
}

/// `POST /v3/auth/tokens`.
async fn issue_token(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let auth = body
        .get("auth")
        .ok_or_else(|| bad("Expecting to find auth in request body."))?;
    let identity = auth
        .get("identity")
        .ok_or_else(|| bad("Expecting to find identity in auth."))?;
    let methods: Vec<String> = identity
        .get("methods")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("Expecting to find methods in identity."))?
        .iter()
        .filter_map(|m| m.as_str().map(str::to_string))
        .collect();
    let knobs = app.knobs();
    if matches!(
        methods.first().map(String::as_str),
        Some("password" | "application_credential")
    ) && !knobs.auth_cost.is_zero()
    {
        // Keystone checks the secret against its bcrypt hash.
        tokio::time::sleep(knobs.auth_cost).await;
    }
    let now = now_millis();
    let ttl = knobs.token_ttl.as_millis() as u64;
    let claims = app.store.read(|d| -> ApiResult<Claims> {
        match methods.first().map(String::as_str) {
            Some("password") => {
                let user_spec = identity
                    .get("password")
                    .and_then(|p| p.get("user"))
                    .ok_or_else(|| bad("Expecting to find user in password."))?;
                let password = str_at(user_spec, "password")
                    .ok_or_else(|| bad("Expecting to find password in user."))?;
                let user_id = find_user(d, user_spec)?;
                let user = &d.users[&user_id];
                if !user.enabled || !token::check_secret(&user.password_hash, password) {
                    return Err(ApiError::unauthorized());
                }
                let project = match auth.get("scope") {
                    None => None,
                    Some(Value::String(s)) if s == "unscoped" => None,
                    Some(scope) => match scope.get("project") {
                        Some(p) => Some(find_project(d, p)?),
                        None if scope.get("domain").is_some() || scope.get("system").is_some() => {
                            return Err(ApiError::new(
                                SERVICE,
                                StatusCode::UNAUTHORIZED,
                                "devcloud supports project-scoped and unscoped tokens only.",
                            ));
                        }
                        None => {
                            return Err(bad(
                                "Expecting to find project, domain or system in scope.",
                            ));
                        }
                    },
                };
                if let Some(p) = &project
                    && !d
                        .assignments
                        .iter()
                        .any(|a| a.user_id == user_id && a.project_id == *p)
                {
                    return Err(ApiError::unauthorized());
                }
                Ok(Claims {
                    u: user_id,
                    p: project,
                    m: vec!["password".into()],
                    i: now,
                    e: now + ttl,
                    a: new_audit_id(),
                    c: None,
                })
            }
            Some("application_credential") => {
                if auth.get("scope").is_some() {
                    return Err(bad("Application credentials cannot request a scope."));
                }
                let spec = identity
                    .get("application_credential")
                    .ok_or_else(|| bad("Expecting to find application_credential in identity."))?;
                let secret = str_at(spec, "secret")
                    .ok_or_else(|| bad("Expecting to find secret in application_credential."))?;
                let cred = if let Some(id) = str_at(spec, "id") {
                    d.app_creds.get(id)
                } else {
                    let name = str_at(spec, "name").ok_or_else(|| {
                        bad("Expecting to find id or name in application_credential.")
                    })?;
                    let user_spec = spec
                        .get("user")
                        .ok_or_else(|| bad("Expecting to find user in application_credential."))?;
                    let user_id = find_user(d, user_spec)?;
                    d.app_creds
                        .values()
                        .find(|c| c.name == name && c.user_id == user_id)
                }
                .ok_or_else(ApiError::unauthorized)?;
                if !token::check_secret(&cred.secret_hash, secret) {
                    return Err(ApiError::unauthorized());
                }
                let expires = match &cred.expires_at {
                    Some(at) => {
                        let at = super::time::iso_to_millis(at).unwrap_or(0);
                        if at <= now {
                            return Err(ApiError::unauthorized());
                        }
                        at.min(now + ttl)
                    }
                    None => now + ttl,
                };
                Ok(Claims {
                    u: cred.user_id.clone(),
                    p: Some(cred.project_id.clone()),
                    m: vec!["application_credential".into()],
                    i: now,
                    e: expires,
                    a: new_audit_id(),
                    c: Some(cred.id.clone()),
                })
            }
            Some(other) => Err(ApiError::new(
                SERVICE,
                StatusCode::UNAUTHORIZED,
                format!("Attempted to authenticate with an unsupported method: {other}"),
            )),
            None => Err(bad("Expecting to find methods in identity.")),
        }
    })?;
    let text = token::sign(&app.token_key, &claims);
    let auth = authenticate(&app, &text)?;
    let body = token_body(&app, &auth, !query.contains_key("nocatalog"));
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&text) {
        response.headers_mut().insert("x-subject-token", v);
    }
    Ok(response)
}

/// The catalog as it appears in tokens.
pub fn catalog(app: &App) -> Value {
    let services = app.store.read(|d| d.catalog.clone());
    Value::Array(
        services
            .iter()
            .map(|s| {
                let endpoints: Vec<Value> = s
                    .endpoint_ids
                    .iter()
                    .map(|(interface, id)| {
                        json!({
                            "id": id,
                            "interface": interface,
                            "region": REGION,
                            "region_id": REGION,
                            "url": endpoint_url(app, &s.service_type),
                        })
                    })
                    .collect();
                json!({"endpoints": endpoints, "id": s.id, "type": s.service_type, "name": s.name})
            })
            .collect(),
    )
}

/// The URL of a service's endpoint, as real clouds publish it.
pub fn endpoint_url(app: &App, service_type: &str) -> String {
    let path = match service_type {
        "identity" => "/identity/v3",
        "image" => "/image",
        "compute" => "/compute/v2.1",
        "network" => "/network",
        other => other,
    };
    format!("{}{path}", app.base_url)
}

fn domain_ref(d: &Data, id: &str) -> Value {
    let name = d.domains.get(id).map_or(id.to_string(), |x| x.name.clone());
    json!({"id": id, "name": name})
}

/// The `token` document for a validated token.
fn token_body(app: &App, auth: &Auth, with_catalog: bool) -> Value {
    let c = &auth.claims;
    let mut token = app.store.read(|d| {
        let user = &d.users[&auth.user_id];
        let roles: Vec<Value> = auth
            .roles
            .iter()
            .filter_map(|name| d.roles.values().find(|r| &r.name == name))
            .map(|r| json!({"id": r.id, "name": r.name}))
            .collect();
        let mut token = json!({
            "methods": c.m,
            "user": {"domain": domain_ref(d, &user.domain_id), "id": user.id, "name": user.name, "password_expires_at": null},
            "audit_ids": [c.a],
            "expires_at": millis_to_iso_micros(c.e),
            "issued_at": millis_to_iso_micros(c.i),
        });
        if let Some(pid) = &c.p
            && let Some(p) = d.projects.get(pid)
        {
            token["project"] = json!({"domain": domain_ref(d, &p.domain_id), "id": p.id, "name": p.name});
            token["is_domain"] = json!(false);
            token["roles"] = Value::Array(roles);
        }
        if let Some(cid) = &c.c
            && let Some(cred) = d.app_creds.get(cid)
        {
            token["application_credential"] = json!({"id": cred.id, "name": cred.name, "restricted": !cred.unrestricted});
        }
        token
    });
    if with_catalog && c.p.is_some() {
        token["catalog"] = catalog(app);
    }
    json!({"token": token})
}

fn subject(app: &App, headers: &HeaderMap) -> ApiResult<Auth> {
    let text = headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    authenticate(app, text).map_err(|_| ApiError::not_found(SERVICE, "Could not find token."))
}

/// `GET /v3/auth/tokens`: validates the token in `X-Subject-Token`.
async fn validate_token(
    State(app): State<Arc<App>>,
    Extension(_caller): Extension<Auth>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let subject_auth = subject(&app, &headers)?;
    let mut response = Json(token_body(
        &app,
        &subject_auth,
        !query.contains_key("nocatalog"),
    ))
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&subject_auth.token) {
        response.headers_mut().insert("x-subject-token", v);
    }
    Ok(response)
}

async fn check_token(
    State(app): State<Arc<App>>,
    Extension(_caller): Extension<Auth>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    subject(&app, &headers)?;
    Ok(StatusCode::OK)
}

async fn revoke_token(
    State(app): State<Arc<App>>,
    Extension(_caller): Extension<Auth>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let subject_auth = subject(&app, &headers)?;
    app.store
        .write(|d| d.revoked.insert(subject_auth.claims.a.clone()));
    Ok(StatusCode::NO_CONTENT)
}

async fn auth_catalog(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
) -> ApiResult<Json<Value>> {
    auth.project(SERVICE)?;
    Ok(Json(
        json!({"catalog": catalog(&app), "links": {"self": format!("{}/identity/v3/auth/catalog", app.base_url), "previous": null, "next": null}}),
    ))
}

fn project_doc(app: &App, p: &super::model::Project) -> Value {
    json!({
        "id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description, "enabled": p.enabled,
        "parent_id": p.domain_id, "is_domain": false, "tags": [], "options": {},
        "links": {"self": format!("{}/identity/v3/projects/{}", app.base_url, p.id)},
    })
}

fn list_links(app: &App, what: &str) -> Value {
    json!({"self": format!("{}/identity/v3/{what}", app.base_url), "previous": null, "next": null})
}

fn require_admin(auth: &Auth, action: &str) -> ApiResult<()> {
    if auth.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            SERVICE,
            format!("You are not authorized to perform the requested action: {action}."),
        ))
    }
}

async fn list_projects(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    require_admin(&auth, "identity:list_projects")?;
    let projects: Vec<Value> = app.store.read(|d| {
        d.projects
            .values()
            .filter(|p| q.get("name").is_none_or(|n| *n == p.name))
            .filter(|p| q.get("domain_id").is_none_or(|x| *x == p.domain_id))
            .map(|p| project_doc(&app, p))
            .collect()
    });
    Ok(Json(
        json!({"projects": projects, "links": list_links(&app, "projects")}),
    ))
}

async fn show_project(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    if auth.project_id.as_deref() != Some(id.as_str()) {
        require_admin(&auth, "identity:get_project")?;
    }
    app.store.read(|d| {
        d.projects
            .get(&id)
            .map(|p| Json(json!({"project": project_doc(&app, p)})))
            .ok_or_else(|| ApiError::not_found(SERVICE, format!("Could not find project: {id}.")))
    })
}

fn projects_of(app: &App, user_id: &str) -> Vec<Value> {
    app.store.read(|d| {
        let mut ids: Vec<&String> = d
            .assignments
            .iter()
            .filter(|a| a.user_id == user_id)
            .map(|a| &a.project_id)
            .collect();
        ids.sort();
        ids.dedup();
        ids.into_iter()
            .filter_map(|id| d.projects.get(id))
            .map(|p| project_doc(app, p))
            .collect()
    })
}

async fn auth_projects(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
) -> Json<Value> {
    Json(
        json!({"projects": projects_of(&app, &auth.user_id), "links": list_links(&app, "auth/projects")}),
    )
}

async fn user_projects(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    if auth.user_id != id {
        require_admin(&auth, "identity:list_user_projects")?;
    }
    Ok(Json(
        json!({"projects": projects_of(&app, &id), "links": list_links(&app, &format!("users/{id}/projects"))}),
    ))
}

fn user_doc(app: &App, u: &super::model::User) -> Value {
    json!({
        "id": u.id, "name": u.name, "domain_id": u.domain_id, "enabled": u.enabled,
        "default_project_id": u.default_project_id, "password_expires_at": null, "options": {},
        "links": {"self": format!("{}/identity/v3/users/{}", app.base_url, u.id)},
    })
}

async fn list_users(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    require_admin(&auth, "identity:list_users")?;
    let users: Vec<Value> = app.store.read(|d| {
        d.users
            .values()
            .filter(|u| q.get("name").is_none_or(|n| *n == u.name))
            .filter(|u| q.get("domain_id").is_none_or(|x| *x == u.domain_id))
            .map(|u| user_doc(&app, u))
            .collect()
    });
    Ok(Json(
        json!({"users": users, "links": list_links(&app, "users")}),
    ))
}

async fn show_user(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    if auth.user_id != id {
        require_admin(&auth, "identity:get_user")?;
    }
    app.store.read(|d| {
        d.users
            .get(&id)
            .map(|u| Json(json!({"user": user_doc(&app, u)})))
            .ok_or_else(|| ApiError::not_found(SERVICE, format!("Could not find user: {id}.")))
    })
}

fn app_cred_doc(app: &App, d: &Data, c: &AppCredential) -> Value {
    let roles: Vec<Value> = c
        .role_ids
        .iter()
        .filter_map(|r| d.roles.get(r))
        .map(|r| json!({"id": r.id, "name": r.name, "domain_id": null}))
        .collect();
    json!({
        "id": c.id, "name": c.name, "description": c.description, "expires_at": c.expires_at,
        "project_id": c.project_id, "roles": roles, "unrestricted": c.unrestricted, "access_rules": [],
        "links": {"self": format!("{}/identity/v3/users/{}/application_credentials/{}", app.base_url, c.user_id, c.id)},
    })
}

/// `POST /v3/users/{id}/application_credentials`: a credential for the
/// caller's own project and roles (or a subset of them).
async fn create_app_cred(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(user_id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    if auth.user_id != user_id {
        return Err(ApiError::forbidden(
            SERVICE,
            "You are not authorized to perform the requested action: identity:create_application_credential.",
        ));
    }
    if auth.claims.c.is_some() {
        return Err(ApiError::forbidden(
            SERVICE,
            "Application credentials cannot create application credentials.",
        ));
    }
    let project_id = auth.project(SERVICE)?.to_string();
    let body = parse_body(&body)?;
    let spec = body
        .get("application_credential")
        .ok_or_else(|| bad("Expecting to find application_credential in request body."))?;
    let name = str_at(spec, "name")
        .ok_or_else(|| bad("'name' is a required property"))?
        .to_string();
    let secret = str_at(spec, "secret").map_or_else(|| token::random_hex(32), str::to_string);
    let doc = app.store.write(|d| -> ApiResult<Value> {
        if d.app_creds
            .values()
            .any(|c| c.user_id == user_id && c.name == name)
        {
            return Err(ApiError::conflict(
                SERVICE,
                "Duplicate entry found with name.",
            ));
        }
        let mine: Vec<String> = d
            .assignments
            .iter()
            .filter(|a| a.user_id == user_id && a.project_id == project_id)
            .map(|a| a.role_id.clone())
            .collect();
        let role_ids = match spec.get("roles").and_then(Value::as_array) {
            Some(wanted) => {
                let mut ids = Vec::new();
                for w in wanted {
                    let id = str_at(w, "id").map(str::to_string).or_else(|| {
                        str_at(w, "name")
                            .and_then(|n| d.roles.values().find(|r| r.name == n))
                            .map(|r| r.id.clone())
                    });
                    match id {
                        Some(id) if mine.contains(&id) => ids.push(id),
                        _ => {
                            return Err(ApiError::forbidden(
                                SERVICE,
                                "You cannot give an application credential a role you do not have.",
                            ));
                        }
                    }
                }
                ids
            }
            None => mine,
        };
        let cred = AppCredential {
            id: uuid::Uuid::new_v4().simple().to_string(),
            name: name.clone(),
            description: str_at(spec, "description").map(str::to_string),
            user_id: user_id.clone(),
            project_id: project_id.clone(),
            secret_hash: token::hash_secret(&secret),
            role_ids,
            expires_at: str_at(spec, "expires_at").map(str::to_string),
            unrestricted: spec
                .get("unrestricted")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        };
        let mut doc = app_cred_doc(&app, d, &cred);
        doc["secret"] = json!(secret);
        d.app_creds.insert(cred.id.clone(), cred);
        Ok(doc)
    })?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"application_credential": doc})),
    )
        .into_response())
}

async fn list_app_creds(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(user_id): Path<String>,
) -> ApiResult<Json<Value>> {
    if auth.user_id != user_id {
        require_admin(&auth, "identity:list_application_credentials")?;
    }
    let creds: Vec<Value> = app.store.read(|d| {
        d.app_creds
            .values()
            .filter(|c| c.user_id == user_id)
            .map(|c| app_cred_doc(&app, d, c))
            .collect()
    });
    Ok(Json(
        json!({"application_credentials": creds, "links": list_links(&app, &format!("users/{user_id}/application_credentials"))}),
    ))
}

async fn show_app_cred(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((user_id, cred)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    if auth.user_id != user_id {
        require_admin(&auth, "identity:get_application_credential")?;
    }
    app.store.read(|d| {
        d.app_creds
            .get(&cred)
            .filter(|c| c.user_id == user_id)
            .map(|c| Json(json!({"application_credential": app_cred_doc(&app, d, c)})))
            .ok_or_else(|| {
                ApiError::not_found(
                    SERVICE,
                    format!("Could not find Application Credential: {cred}."),
                )
            })
    })
}

async fn delete_app_cred(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((user_id, cred)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    if auth.user_id != user_id {
        require_admin(&auth, "identity:delete_application_credential")?;
    }
    app.store.write(|d| match d.app_creds.get(&cred) {
        Some(c) if c.user_id == user_id => {
            d.app_creds.remove(&cred);
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(ApiError::not_found(
            SERVICE,
            format!("Could not find Application Credential: {cred}."),
        )),
    })
}

async fn list_domains(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let domains: Vec<Value> = app.store.read(|d| {
        d.domains
            .values()
            .filter(|x| q.get("name").is_none_or(|n| *n == x.name))
            .map(|x| json!({"id": x.id, "name": x.name, "description": x.description, "enabled": x.enabled, "tags": [], "options": {}, "links": {"self": format!("{}/identity/v3/domains/{}", app.base_url, x.id)}}))
            .collect()
    });
    Json(json!({"domains": domains, "links": list_links(&app, "domains")}))
}

async fn show_domain(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    app.store.read(|d| {
        d.domains
            .get(&id)
            .map(|x| Json(json!({"domain": {"id": x.id, "name": x.name, "description": x.description, "enabled": x.enabled, "tags": [], "options": {}, "links": {"self": format!("{}/identity/v3/domains/{}", app.base_url, x.id)}}})))
            .ok_or_else(|| ApiError::not_found(SERVICE, format!("Could not find domain: {id}.")))
    })
}

async fn list_roles(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
) -> ApiResult<Json<Value>> {
    require_admin(&auth, "identity:list_roles")?;
    let roles: Vec<Value> = app.store.read(|d| {
        d.roles
            .values()
            .map(|r| json!({"id": r.id, "name": r.name, "domain_id": null, "description": null, "options": {}, "links": {"self": format!("{}/identity/v3/roles/{}", app.base_url, r.id)}}))
            .collect()
    });
    Ok(Json(
        json!({"roles": roles, "links": list_links(&app, "roles")}),
    ))
}

async fn list_services(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
) -> ApiResult<Json<Value>> {
    require_admin(&auth, "identity:list_services")?;
    let services: Vec<Value> = app.store.read(|d| {
        d.catalog
            .iter()
            .map(|s| json!({"id": s.id, "type": s.service_type, "name": s.name, "enabled": true, "description": null, "links": {"self": format!("{}/identity/v3/services/{}", app.base_url, s.id)}}))
            .collect()
    });
    Ok(Json(
        json!({"services": services, "links": list_links(&app, "services")}),
    ))
}

async fn list_endpoints(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
) -> ApiResult<Json<Value>> {
    require_admin(&auth, "identity:list_endpoints")?;
    let catalog = app.store.read(|d| d.catalog.clone());
    let endpoints: Vec<Value> = catalog
        .iter()
        .flat_map(|s| {
            let app = &app;
            s.endpoint_ids.iter().map(move |(interface, id)| {
                json!({"id": id, "interface": interface, "region": REGION, "region_id": REGION, "service_id": s.id, "url": endpoint_url(app, &s.service_type), "enabled": true, "links": {"self": format!("{}/identity/v3/endpoints/{id}", app.base_url)}})
            })
        })
        .collect();
    Ok(Json(
        json!({"endpoints": endpoints, "links": list_links(&app, "endpoints")}),
    ))
}

async fn list_regions(State(app): State<Arc<App>>) -> Json<Value> {
    Json(
        json!({"regions": [{"id": REGION, "description": "", "parent_region_id": null, "links": {"self": format!("{}/identity/v3/regions/{REGION}", app.base_url)}}], "links": list_links(&app, "regions")}),
    )
}
