//! Glance v2: version discovery, images (create, list, show, JSON-patch
//! update, delete), image data (streamed upload with format inspection,
//! download), tags, deactivation, members and the JSON schemas — what
//! python-openstackclient, openstacksdk and the Terraform provider call.
//! API reference: https://docs.openstack.org/api-ref/image/v2/
//!
//! Errors are webob's: an HTML page unless the client accepts JSON, with
//! Glance's status codes and messages.

mod data;
mod format;
mod list;
mod members;
mod schema;

use super::error::{ApiError, ApiResult, Service};
use super::model::{Data, Image};
use super::server::{App, Auth};
use super::store::now_millis;
use super::time::now_iso;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Map, Value, json};
use std::sync::Arc;

const SERVICE: Service = Service::Image;

/// Glance's default `[image_format]` lists.
pub const DISK_FORMATS: [&str; 11] = [
    "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop",
];
pub const CONTAINER_FORMATS: [&str; 8] = [
    "ami",
    "ari",
    "aki",
    "bare",
    "ovf",
    "ova",
    "docker",
    "compressed",
];
const VISIBILITIES: [&str; 4] = ["community", "public", "private", "shared"];
const STATUSES: [&str; 9] = [
    "queued",
    "saving",
    "active",
    "killed",
    "deleted",
    "uploading",
    "importing",
    "pending_delete",
    "deactivated",
];

/// Attributes the server owns: refused with 403 on create and patch.
const READ_ONLY: [&str; 13] = [
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "size",
    "virtual_size",
    "direct_url",
    "self",
    "file",
    "schema",
    "id",
    "os_hash_algo",
    "os_hash_value",
];
/// Names no property may have.
const RESERVED: [&str; 3] = ["location", "deleted", "deleted_at"];
/// The namespace of properties Glance keeps for itself.
const RESERVED_PREFIX: &str = "os_glance";

/// The API versions, newest first, as a Glance with the image cache
/// enabled and a single store lists them (2.8 and 2.10 to 2.13 come with
/// multiple stores).
const VERSIONS: [&str; 12] = [
    "2.16", "2.15", "2.14", "2.9", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0",
];

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(versions))
        .route("/versions", get(versions_explicit))
        .route("/v2", get(versions))
        .route("/v2/images", post(create).get(list::list))
        .route(
            "/v2/images/{id}",
            get(show).patch(update).delete(delete_image),
        )
        .route(
            "/v2/images/{id}/file",
            put(data::upload).get(data::download),
        )
        .route(
            "/v2/images/{id}/tags/{tag}",
            put(add_tag).delete(remove_tag),
        )
        .route("/v2/images/{id}/actions/deactivate", post(deactivate))
        .route("/v2/images/{id}/actions/reactivate", post(reactivate))
        .route(
            "/v2/images/{id}/members",
            post(members::add).get(members::list),
        )
        .route(
            "/v2/images/{id}/members/{member}",
            get(members::show)
                .put(members::update)
                .delete(members::remove),
        )
        .route("/v2/schemas/image", get(schema::image))
        .route("/v2/schemas/images", get(schema::images))
        .route("/v2/schemas/member", get(schema::member))
        .route("/v2/schemas/members", get(schema::members))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// The caller of an image API request: the app, who is calling, and
/// whether error bodies should be JSON (webob renders JSON when the
/// client accepts it, an HTML page otherwise).
pub(super) struct Ctx {
    app: Arc<App>,
    auth: Option<Auth>,
    json: bool,
}

impl FromRequestParts<Arc<App>> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Ctx, Response> {
        let json = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/json"));
        Ok(Ctx {
            app: app.clone(),
            auth: parts.extensions.get::<Auth>().cloned(),
            json,
        })
    }
}

impl Ctx {
    /// The response for a handler's result, errors in the negotiated body.
    fn answer(&self, result: ApiResult<Response>) -> Response {
        match result {
            Ok(response) => response,
            Err(mut e) => {
                e.json = self.json;
                e.into_response()
            }
        }
    }

    /// Who is calling (the middleware checked the token of every request
    /// that reaches a handler needing it).
    fn auth(&self) -> ApiResult<&Auth> {
        self.auth.as_ref().ok_or_else(ApiError::unauthorized)
    }

    /// The caller's project, Glance's `owner` of what it creates.
    fn project(&self) -> ApiResult<String> {
        Ok(self.auth()?.project(SERVICE)?.to_string())
    }
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(SERVICE, message)
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::forbidden(SERVICE, message)
}

fn conflict(message: impl Into<String>) -> ApiError {
    ApiError::conflict(SERVICE, message)
}

/// oslo.policy's refusal as Glance words it.
fn not_authorized(action: &str) -> ApiError {
    forbidden(format!(
        "You are not authorized to complete {action} action."
    ))
}

fn no_image(id: &str) -> ApiError {
    ApiError::not_found(SERVICE, format!("No image found with ID {id}"))
}

/// A JSON request body, or Glance's 400s.
fn parse_body(bytes: &[u8]) -> ApiResult<Value> {
    if bytes.is_empty() {
        return Err(bad("Body expected in request."));
    }
    serde_json::from_slice(bytes).map_err(|_| bad("Malformed JSON in request body."))
}

/// webob's 405 (axum adds the `Allow` header).
async fn method_not_allowed(ctx: Ctx, method: axum::http::Method) -> Response {
    ctx.answer(Err(ApiError::new(
        SERVICE,
        StatusCode::METHOD_NOT_ALLOWED,
        format!("The method {method} is not allowed for this resource."),
    )))
}

async fn not_found(ctx: Ctx) -> Response {
    ctx.answer(Err(ApiError::not_found(
        SERVICE,
        "The resource could not be found.",
    )))
}

// ---------------------------------------------------------------------
// Version discovery

fn versions_doc(app: &App) -> Value {
    let values: Vec<Value> = VERSIONS
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({
                "id": format!("v{v}"),
                "status": if i == 0 { "CURRENT" } else { "SUPPORTED" },
                "links": [{"rel": "self", "href": format!("{}/image/v2/", app.base_url)}],
            })
        })
        .collect();
    json!({ "versions": values })
}

/// `GET /` (and `/v2`): the version choices, 300 Multiple Choices.
async fn versions(State(app): State<Arc<App>>) -> Response {
    (StatusCode::MULTIPLE_CHOICES, Json(versions_doc(&app))).into_response()
}

/// `GET /versions`: the same list, but asked for explicitly, so 200.
async fn versions_explicit(State(app): State<Arc<App>>) -> Response {
    Json(versions_doc(&app)).into_response()
}

// ---------------------------------------------------------------------
// Who sees and changes what

/// Whether the caller may see an image: admins see all; others their
/// project's images, public and community ones, and shared ones their
/// project is a member of (whatever the member status).
pub(super) fn visible(auth: &Auth, image: &Image) -> bool {
    if auth.is_admin() {
        return true;
    }
    let project = auth.project_id.as_deref().unwrap_or_default();
    image.owner == project
        || matches!(image.visibility.as_str(), "public" | "community")
        || image.visibility == "shared" && image.members.contains(project)
}

/// Whether the caller may change an image: its owner or an admin.
pub(super) fn may_modify(auth: &Auth, image: &Image) -> bool {
    auth.is_admin() || auth.project_id.as_deref() == Some(image.owner.as_str())
}

/// An image the caller can see, or 404.
pub(super) fn find<'d>(d: &'d Data, auth: &Auth, id: &str) -> ApiResult<&'d Image> {
    d.images
        .get(id)
        .filter(|image| visible(auth, image))
        .ok_or_else(|| no_image(id))
}

/// An image the caller can see, to change: 404 when it cannot see it,
/// 403 with the policy's words when it can see but not change it.
pub(super) fn find_mut<'d>(
    d: &'d mut Data,
    auth: &Auth,
    id: &str,
    action: &str,
) -> ApiResult<&'d mut Image> {
    let image = d
        .images
        .get_mut(id)
        .filter(|image| visible(auth, image))
        .ok_or_else(|| no_image(id))?;
    if !may_modify(auth, image) {
        return Err(not_authorized(action));
    }
    Ok(image)
}

// ---------------------------------------------------------------------
// The image document

/// The one store devcloud keeps image data in, as `stores` names it.
const STORE: &str = "file";

/// `/v2/images/<id>`, as Glance writes `self` and `Location`.
fn image_href(id: &str) -> String {
    format!("/v2/images/{id}")
}

/// An image as Glance shows it: the properties at top level, then the
/// attributes in Glance's order.
pub(super) fn image_doc(image: &Image) -> Value {
    let mut doc = Map::new();
    for (k, v) in &image.properties {
        doc.insert(k.clone(), json!(v));
    }
    let owner = (!image.owner.is_empty()).then_some(&image.owner);
    let fields = [
        ("name", json!(image.name)),
        ("disk_format", json!(image.disk_format)),
        ("container_format", json!(image.container_format)),
        ("visibility", json!(image.visibility)),
        ("size", json!(image.size)),
        ("virtual_size", json!(image.virtual_size)),
        ("status", json!(image.status)),
        ("checksum", json!(image.checksum)),
        ("protected", json!(image.protected)),
        ("min_ram", json!(image.min_ram)),
        ("min_disk", json!(image.min_disk)),
        ("owner", json!(owner)),
        ("os_hidden", json!(image.os_hidden)),
        ("os_hash_algo", json!(image.os_hash_algo)),
        ("os_hash_value", json!(image.os_hash_value)),
        ("id", json!(image.id)),
        ("created_at", json!(image.created_at)),
        ("updated_at", json!(image.updated_at)),
        ("tags", json!(image.tags)),
        ("self", json!(image_href(&image.id))),
        ("file", json!(format!("{}/file", image_href(&image.id)))),
        ("schema", json!("/v2/schemas/image")),
    ];
    for (k, v) in fields {
        doc.insert(k.to_string(), v);
    }
    // Glance with multiple stores (the default configuration since
    // 2023.1) names the stores that hold an image's data.
    if image.size.is_some() {
        doc.insert("stores".into(), json!(STORE));
    }
    Value::Object(doc)
}

fn image_response(status: StatusCode, image: &Image) -> Response {
    (status, Json(image_doc(image))).into_response()
}

// ---------------------------------------------------------------------
// Validation against Glance's image schema, with jsonschema's messages

/// Python's `repr` of a JSON value, as jsonschema quotes instances.
pub(super) fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", py_str(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn py_list(items: &[Option<&str>]) -> String {
    let parts: Vec<String> = items
        .iter()
        .map(|i| i.map_or_else(|| "None".to_string(), py_str))
        .collect();
    format!("[{}]", parts.join(", "))
}

fn schema_error(reason: String) -> ApiError {
    bad(format!(
        "Provided object does not match schema 'image': {reason}"
    ))
}

/// A JSON integer (jsonschema counts 2.0 as one, but not `true`).
pub(super) fn as_integer(v: &Value) -> Option<i128> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i128::from(i));
    }
    if let Some(u) = n.as_u64() {
        return Some(i128::from(u));
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() < 1e30).then_some(f as i128)
}

fn type_error(v: &Value, types: &str) -> ApiError {
    schema_error(format!("{} is not of type {types}", py_repr(v)))
}

const UUID_PATTERN: &str =
    "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$";

/// Whether `s` is a UUID written Glance's way (8-4-4-4-12 hex digits).
pub(super) fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn check_string(v: &Value, nullable: bool, max_len: Option<usize>) -> ApiResult<()> {
    match v {
        Value::Null if nullable => Ok(()),
        Value::String(s) => match max_len {
            Some(max) if s.chars().count() > max => {
                Err(schema_error(format!("{} is too long", py_repr(v))))
            }
            _ => Ok(()),
        },
        _ if nullable => Err(type_error(v, "'null', 'string'")),
        _ => Err(type_error(v, "'string'")),
    }
}

fn check_enum(v: &Value, allowed: &[&str], nullable: bool) -> ApiResult<()> {
    let ok = match v {
        Value::Null => nullable,
        Value::String(s) => allowed.contains(&s.as_str()),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    // jsonschema checks the type first.
    check_string(v, nullable, None)?;
    let mut listed: Vec<Option<&str>> = Vec::new();
    if nullable {
        listed.push(None);
    }
    listed.extend(allowed.iter().map(|s| Some(*s)));
    Err(schema_error(format!(
        "{} is not one of {}",
        py_repr(v),
        py_list(&listed)
    )))
}

/// Checks one attribute (or property) value against the image schema.
fn check_value(key: &str, v: &Value) -> ApiResult<()> {
    match key {
        "id" => {
            check_string(v, false, None)?;
            if !v.as_str().is_some_and(is_uuid) {
                return Err(schema_error(format!(
                    "{} does not match {}",
                    py_repr(v),
                    py_str(UUID_PATTERN)
                )));
            }
            Ok(())
        }
        "name" | "owner" => check_string(v, true, Some(255)),
        "status" => check_enum(v, &STATUSES, false),
        "visibility" => check_enum(v, &VISIBILITIES, false),
        "protected" | "os_hidden" => match v {
            Value::Bool(_) => Ok(()),
            _ => Err(type_error(v, "'boolean'")),
        },
        "checksum" => check_string(v, true, Some(32)),
        "os_hash_algo" => check_string(v, true, Some(64)),
        "os_hash_value" => check_string(v, true, Some(128)),
        "size" | "virtual_size" => match v {
            Value::Null => Ok(()),
            _ if as_integer(v).is_some() => Ok(()),
            _ => Err(type_error(v, "'null', 'integer'")),
        },
        "container_format" => check_enum(v, &CONTAINER_FORMATS, true),
        "disk_format" => check_enum(v, &DISK_FORMATS, true),
        "min_ram" | "min_disk" => match as_integer(v) {
            Some(_) => Ok(()),
            None => Err(type_error(v, "'integer'")),
        },
        "tags" => {
            let Value::Array(items) = v else {
                return Err(type_error(v, "'array'"));
            };
            items
                .iter()
                .try_for_each(|t| check_string(t, false, Some(255)))
        }
        "locations" => match v {
            Value::Array(_) => Ok(()),
            _ => Err(type_error(v, "'array'")),
        },
        // direct_url, self, file, stores, schema, created_at, updated_at
        // and every free-form property: strings.
        _ => check_string(v, false, None),
    }
}

/// The order in which jsonschema walks Glance's image properties.
const SCHEMA_ORDER: [&str; 25] = [
    "id",
    "name",
    "status",
    "visibility",
    "protected",
    "os_hidden",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "owner",
    "size",
    "virtual_size",
    "container_format",
    "disk_format",
    "created_at",
    "updated_at",
    "tags",
    "direct_url",
    "min_ram",
    "min_disk",
    "self",
    "file",
    "stores",
    "schema",
    "locations",
];

/// Validates a whole (or partial) image document: the schema's own
/// properties first, in its order, then the free-form ones.
fn check_document(doc: &Map<String, Value>) -> ApiResult<()> {
    for key in SCHEMA_ORDER {
        if let Some(v) = doc.get(key) {
            check_value(key, v)?;
        }
    }
    for (key, v) in doc {
        if !SCHEMA_ORDER.contains(&key.as_str()) {
            check_value(key, v)?;
        }
    }
    Ok(())
}

/// Glance's domain refuses negative minimums after the schema let them by.
fn check_minimum(param: &str, v: &Value) -> ApiResult<u64> {
    let n = as_integer(v).unwrap_or_default();
    if n < 0 {
        return Err(bad(format!(
            "Invalid value '{n}' for parameter '{param}': Cannot be a negative value."
        )));
    }
    u64::try_from(n).map_err(|_| {
        bad(format!(
            "Invalid value '{n}' for parameter '{param}': Value is too large."
        ))
    })
}

fn is_reserved(key: &str) -> bool {
    RESERVED.contains(&key) || key.starts_with(RESERVED_PREFIX)
}

/// Tags without repeats, in the order first given.
fn unique_tags(v: &Value) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for t in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
        if !tags.iter().any(|x| x == t) {
            tags.push(t.to_string());
        }
    }
    tags
}

fn opt_string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

// ---------------------------------------------------------------------
// Create, show, update, delete

/// `POST /v2/images`.
async fn create(ctx: Ctx, body: axum::body::Bytes) -> Response {
    ctx.answer(create_image(&ctx, &body))
}

fn create_image(ctx: &Ctx, body: &[u8]) -> ApiResult<Response> {
    let auth = ctx.auth()?;
    let project = ctx.project()?;
    let body = parse_body(body)?;
    // Glance's deserializer: attributes no client may send at all, then
    // the schema.
    if let Value::Object(doc) = &body {
        for key in ["direct_url", "self", "file", "schema", "stores"] {
            if doc.contains_key(key) {
                return Err(forbidden(format!("Attribute '{key}' is read-only.")));
            }
        }
    }
    let Value::Object(doc) = body else {
        return Err(type_error(&body, "'object'"));
    };
    check_document(&doc)?;
    for key in doc.keys() {
        if !SCHEMA_ORDER.contains(&key.as_str()) {
            if key.chars().count() > 255 {
                return Err(bad(
                    "Custom property should not be greater than 255 characters.",
                ));
            }
            if is_reserved(key) {
                return Err(forbidden(format!("Attribute '{key}' is reserved.")));
            }
        }
    }
    // The policy: owner and visibility.
    let owner = match doc.get("owner") {
        Some(v) => v.as_str().unwrap_or_default().to_string(),
        None => project.clone(),
    };
    if owner != project && !auth.is_admin() {
        return Err(forbidden(format!(
            "You are not permitted to create images owned by '{owner}'"
        )));
    }
    let visibility = doc
        .get("visibility")
        .and_then(Value::as_str)
        .unwrap_or("shared")
        .to_string();
    if visibility == "public" && !auth.is_admin() {
        return Err(not_authorized("publicize_image"));
    }
    // The domain: attributes the server sets, then the minimums.
    for key in READ_ONLY {
        if key != "id" && doc.contains_key(key) {
            return Err(forbidden(format!("Attribute '{key}' is read-only.")));
        }
    }
    let min_disk = doc
        .get("min_disk")
        .map(|v| check_minimum("min_disk", v))
        .transpose()?
        .unwrap_or(0);
    let min_ram = doc
        .get("min_ram")
        .map(|v| check_minimum("min_ram", v))
        .transpose()?
        .unwrap_or(0);
    let id = doc
        .get("id")
        .and_then(Value::as_str)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    let now = now_iso();
    let mut image = Image {
        id: id.clone(),
        name: doc.get("name").and_then(opt_string),
        status: "queued".into(),
        visibility,
        protected: doc
            .get("protected")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        os_hidden: doc
            .get("os_hidden")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        checksum: None,
        os_hash_algo: None,
        os_hash_value: None,
        size: None,
        virtual_size: None,
        container_format: doc.get("container_format").and_then(opt_string),
        disk_format: doc.get("disk_format").and_then(opt_string),
        min_disk,
        min_ram,
        owner,
        created_at: now.clone(),
        updated_at: now,
        tags: doc.get("tags").map(unique_tags).unwrap_or_default(),
        properties: Default::default(),
        members: Default::default(),
        member_details: Default::default(),
        created_millis: now_millis(),
    };
    for (key, v) in &doc {
        if !SCHEMA_ORDER.contains(&key.as_str())
            && let Some(s) = v.as_str()
        {
            image.properties.insert(key.clone(), s.to_string());
        }
    }
    ctx.app.store.write(|d| {
        if d.images.contains_key(&id) {
            return Err(conflict(format!("Image ID {id} already exists!")));
        }
        // Strictly increasing, so that images made within one millisecond
        // still list in the order they were made.
        let latest = d.images.values().map(|i| i.created_millis).max();
        image.created_millis = latest.map_or(image.created_millis, |latest| {
            image.created_millis.max(latest + 1)
        });
        d.images.insert(id.clone(), image.clone());
        Ok(())
    })?;
    let mut response = image_response(StatusCode::CREATED, &image);
    // webob makes the Location absolute against the request's URL.
    let location = format!("{}/image{}", ctx.app.base_url, image_href(&id));
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// `GET /v2/images/{id}`.
async fn show(ctx: Ctx, Path(id): Path<String>) -> Response {
    let result = ctx.auth().and_then(|auth| {
        ctx.app
            .store
            .read(|d| find(d, auth, &id).map(|image| image_response(StatusCode::OK, image)))
    });
    ctx.answer(result)
}

/// One JSON-patch operation, decoded.
struct Change {
    op: &'static str,
    /// The attribute or property name (the pointer's single token).
    name: String,
    value: Option<Value>,
}

const PATCH_V21: &str = "application/openstack-images-v2.1-json-patch";
const PATCH_V20: &str = "application/openstack-images-v2.0-json-patch";

fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

/// Checks a JSON pointer the way Glance does, and decodes its tokens.
fn decode_pointer(pointer: &str) -> ApiResult<Vec<String>> {
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(bad(format!(
            "Pointer `{pointer}` does not start with \"/\"."
        )));
    };
    let parts: Vec<&str> = rest.split('/').collect();
    // A segment between two slashes that is empty or blank.
    let inner = parts
        .get(1..parts.len().saturating_sub(1))
        .unwrap_or_default();
    if inner.iter().any(|part| part.trim().is_empty()) {
        return Err(bad(format!("Pointer `{pointer}` contains adjacent \"/\".")));
    }
    if pointer.len() > 1 && pointer.ends_with('/') {
        return Err(bad(format!("Pointer `{pointer}` end with \"/\".")));
    }
    let bad_escape = pointer.ends_with('~')
        || pointer
            .match_indices('~')
            .any(|(i, _)| !matches!(pointer.as_bytes().get(i + 1), Some(b'0' | b'1')));
    if bad_escape {
        return Err(bad(format!(
            "Pointer `{pointer}` contains \"~\" not part of a recognized escape sequence."
        )));
    }
    Ok(parts
        .iter()
        .map(|part| {
            part.replace("~1", "/")
                .replace("~0", "~")
                .trim()
                .to_string()
        })
        .collect())
}

/// Decodes a patch body (draft 10 for v2.1, draft 4 for v2.0) into
/// changes, refusing what Glance's deserializer refuses.
fn decode_changes(body: Value, draft4: bool) -> ApiResult<Vec<Change>> {
    let Value::Array(raw) = body else {
        return Err(bad(
            "Request body must be a JSON array of operation objects.",
        ));
    };
    const OPS: [&str; 3] = ["add", "remove", "replace"];
    let mut changes = Vec::new();
    for raw_change in raw {
        let Value::Object(raw_change) = raw_change else {
            return Err(bad("Operations must be JSON objects."));
        };
        let (op, pointer) = if draft4 {
            let present: Vec<&str> = OPS
                .iter()
                .copied()
                .filter(|o| raw_change.contains_key(*o))
                .collect();
            match present.as_slice() {
                [op] => (*op, raw_change.get(*op).cloned().unwrap_or_default()),
                [] => {
                    return Err(bad(
                        "Operation objects must contain exactly one member named \"add\", \"remove\", or \"replace\".",
                    ));
                }
                _ => {
                    return Err(bad(
                        "Operation objects must contain only one member named \"add\", \"remove\", or \"replace\".",
                    ));
                }
            }
        } else {
            let op = match raw_change.get("op") {
                None | Some(Value::Null) => {
                    return Err(bad(
                        "Unable to find `op` in JSON Schema change. It must be one of the following: add, remove, replace.",
                    ));
                }
                Some(v) => {
                    let text = v.as_str().map_or_else(|| py_repr(v), str::to_string);
                    OPS.iter().copied().find(|o| *o == text).ok_or_else(|| {
                        bad(format!(
                            "Invalid operation: `{text}`. It must be one of the following: add, remove, replace."
                        ))
                    })?
                }
            };
            let pointer = raw_change
                .get("path")
                .cloned()
                .ok_or_else(|| bad("Unable to find 'path' in JSON Schema change"))?;
            (op, pointer)
        };
        let pointer = pointer
            .as_str()
            .map_or_else(|| py_repr(&pointer), str::to_string);
        let path = decode_pointer(&pointer)?;
        // Only `locations` has deeper paths, and devcloud keeps none.
        let name = match path.as_slice() {
            [name] if name != "locations" => name.clone(),
            _ => {
                return Err(bad(format!(
                    "Invalid JSON pointer for this resource: '/{}'",
                    path.join("/")
                )));
            }
        };
        let value = if op == "remove" {
            None
        } else {
            Some(raw_change.get("value").cloned().ok_or_else(|| {
                bad(format!(
                    "Operation \"{op}\" requires a member named \"value\"."
                ))
            })?)
        };
        if READ_ONLY.contains(&name.as_str()) {
            return Err(forbidden(format!("Attribute '{name}' is read-only.")));
        }
        if is_reserved(&name) {
            return Err(forbidden(format!("Attribute '{name}' is reserved.")));
        }
        if let Some(v) = &value {
            check_value(&name, v)?;
        }
        changes.push(Change { op, name, value });
    }
    Ok(changes)
}

/// The attributes of Glance's image object: a patch sets them rather
/// than properties, and may not remove them.
const ATTRIBUTES: [&str; 10] = [
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "min_disk",
    "min_ram",
    "tags",
    "container_format",
    "disk_format",
    "owner",
];

fn set_attribute(image: &mut Image, name: &str, v: &Value) -> ApiResult<()> {
    match name {
        "name" => image.name = opt_string(v),
        "visibility" => image.visibility = v.as_str().unwrap_or_default().to_string(),
        "protected" => image.protected = v.as_bool().unwrap_or_default(),
        "os_hidden" => image.os_hidden = v.as_bool().unwrap_or_default(),
        "min_disk" => image.min_disk = check_minimum("min_disk", v)?,
        "min_ram" => image.min_ram = check_minimum("min_ram", v)?,
        "tags" => image.tags = unique_tags(v),
        "container_format" | "disk_format" => {
            if !matches!(image.status.as_str(), "queued" | "importing") {
                return Err(forbidden(format!(
                    "Attribute {name} can be only replaced for a queued image."
                )));
            }
            if name == "disk_format" {
                image.disk_format = opt_string(v);
            } else {
                image.container_format = opt_string(v);
            }
        }
        "owner" => image.owner = v.as_str().unwrap_or_default().to_string(),
        _ => {}
    }
    Ok(())
}

fn apply_change(auth: &Auth, image: &mut Image, change: &Change) -> ApiResult<()> {
    let name = change.name.as_str();
    let is_attribute = ATTRIBUTES.contains(&name);
    if change.op == "replace" && name == "owner" && !auth.is_admin() {
        return Err(forbidden("Owner can't be updated by non admin."));
    }
    if name == "visibility"
        && change.value.as_ref().and_then(Value::as_str) == Some("public")
        && !auth.is_admin()
    {
        return Err(not_authorized("publicize_image"));
    }
    if !may_modify(auth, image) {
        return Err(not_authorized("modify_image"));
    }
    match (change.op, &change.value) {
        ("remove", _) => {
            if is_attribute {
                return Err(forbidden(format!("Property {name} may not be removed.")));
            }
            if image.properties.remove(name).is_none() {
                return Err(conflict(format!("Property {name} does not exist.")));
            }
        }
        (op, Some(v)) => {
            if is_attribute {
                set_attribute(image, name, v)?;
            } else if op == "replace" && !image.properties.contains_key(name) {
                return Err(conflict(format!("Property {name} does not exist.")));
            } else {
                image
                    .properties
                    .insert(name.to_string(), v.as_str().unwrap_or_default().to_string());
            }
        }
        _ => {}
    }
    Ok(())
}

/// `PATCH /v2/images/{id}`.
async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let draft4 = match media_type(&headers).as_deref() {
        Some(PATCH_V21) => false,
        Some(PATCH_V20) => true,
        other => {
            let e = ApiError::unsupported_media_type(
                SERVICE,
                format!(
                    "The request media type {} is not supported by this server.",
                    other.unwrap_or("None")
                ),
            );
            let mut response = ctx.answer(Err(e));
            // Glance tells which patch media types it takes.
            response.headers_mut().insert(
                "accept-patch",
                HeaderValue::from_static(
                    "application/openstack-images-v2.0-json-patch, application/openstack-images-v2.1-json-patch",
                ),
            );
            return response;
        }
    };
    ctx.answer(update_image(&ctx, &id, draft4, &body))
}

fn update_image(ctx: &Ctx, id: &str, draft4: bool, body: &[u8]) -> ApiResult<Response> {
    let auth = ctx.auth()?;
    let changes = decode_changes(parse_body(body)?, draft4)?;
    ctx.app.store.write(|d| {
        let stored = d
            .images
            .get_mut(id)
            .filter(|image| visible(auth, image))
            .ok_or_else(|| no_image(id))?;
        // All or nothing: work on a copy.
        let mut image = stored.clone();
        for change in &changes {
            apply_change(auth, &mut image, change)?;
        }
        if !changes.is_empty() {
            image.updated_at = now_iso();
            *stored = image.clone();
        }
        Ok(image_response(StatusCode::OK, &image))
    })
}

/// `DELETE /v2/images/{id}`: the record and its data go at once.
async fn delete_image(ctx: Ctx, Path(id): Path<String>) -> Response {
    let result = remove_image(&ctx, &id).await;
    ctx.answer(result)
}

async fn remove_image(ctx: &Ctx, id: &str) -> ApiResult<Response> {
    let auth = ctx.auth()?;
    ctx.app.store.write(|d| {
        let image = d
            .images
            .get(id)
            .filter(|image| visible(auth, image))
            .ok_or_else(|| {
                ApiError::not_found(SERVICE, format!("Failed to find image {id} to delete"))
            })?;
        if !may_modify(auth, image) {
            return Err(not_authorized("delete_image"));
        }
        if image.protected {
            return Err(forbidden(format!(
                "Image {id} is protected and cannot be deleted."
            )));
        }
        d.images.remove(id);
        Ok(())
    })?;
    data::remove_data(&ctx.app, id).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------
// Tags and actions

/// `PUT /v2/images/{id}/tags/{tag}`.
async fn add_tag(ctx: Ctx, Path((id, tag)): Path<(String, String)>) -> Response {
    let result = ctx.auth().and_then(|auth| {
        if tag.chars().count() > 255 {
            return Err(bad(format!(
                "Provided object does not match schema 'image': {} is too long",
                py_str(&tag)
            )));
        }
        ctx.app.store.write(|d| {
            let image = find_mut(d, auth, &id, "modify_image")?;
            if !image.tags.contains(&tag) {
                image.tags.push(tag.clone());
                image.updated_at = now_iso();
            }
            Ok(StatusCode::NO_CONTENT.into_response())
        })
    });
    ctx.answer(result)
}

/// `DELETE /v2/images/{id}/tags/{tag}`.
async fn remove_tag(ctx: Ctx, Path((id, tag)): Path<(String, String)>) -> Response {
    let result = ctx.auth().and_then(|auth| {
        ctx.app.store.write(|d| {
            let image = find_mut(d, auth, &id, "modify_image")?;
            let before = image.tags.len();
            image.tags.retain(|t| *t != tag);
            if image.tags.len() == before {
                return Err(ApiError::not_found(
                    SERVICE,
                    "The resource could not be found.",
                ));
            }
            image.updated_at = now_iso();
            Ok(StatusCode::NO_CONTENT.into_response())
        })
    });
    ctx.answer(result)
}

/// `POST /v2/images/{id}/actions/deactivate`: data downloads stop (but
/// for admins) until reactivated.
async fn deactivate(ctx: Ctx, Path(id): Path<String>) -> Response {
    ctx.answer(set_active(&ctx, &id, false))
}

/// `POST /v2/images/{id}/actions/reactivate`.
async fn reactivate(ctx: Ctx, Path(id): Path<String>) -> Response {
    ctx.answer(set_active(&ctx, &id, true))
}

fn set_active(ctx: &Ctx, id: &str, active: bool) -> ApiResult<Response> {
    let auth = ctx.auth()?;
    let (action, from, to) = if active {
        ("reactivate", "deactivated", "active")
    } else {
        ("deactivate", "active", "deactivated")
    };
    ctx.app.store.write(|d| {
        let image = find_mut(d, auth, id, action)?;
        if image.status == from {
            image.status = to.into();
            image.updated_at = now_iso();
        } else if image.status != to {
            return Err(forbidden(format!(
                "Not allowed to {action} image in status '{}'",
                image.status
            )));
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_reprs_as_jsonschema_quotes_them() {
        assert_eq!(py_repr(&json!("abc")), "'abc'");
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
        assert_eq!(
            py_repr(&json!([1, "a", null, true])),
            "[1, 'a', None, True]"
        );
        assert_eq!(py_repr(&json!({"a": 1})), "{'a': 1}");
        assert_eq!(py_list(&[None, Some("raw")]), "[None, 'raw']");
    }

    #[test]
    fn uuids_are_glance_shaped() {
        assert!(is_uuid("0c2eba2c-5af7-4c2f-9f4b-1b1c2d3e4f5a"));
        assert!(!is_uuid("0c2eba2c5af74c2f9f4b1b1c2d3e4f5a"));
        assert!(!is_uuid("cirros"));
    }

    #[test]
    fn schema_messages() {
        let e = check_value("disk_format", &json!("foo")).unwrap_err();
        assert_eq!(
            e.message,
            "Provided object does not match schema 'image': 'foo' is not one of [None, 'ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop']"
        );
        let e = check_value("min_ram", &json!("1")).unwrap_err();
        assert_eq!(
            e.message,
            "Provided object does not match schema 'image': '1' is not of type 'integer'"
        );
        let e = check_value("os_distro", &json!(5)).unwrap_err();
        assert_eq!(
            e.message,
            "Provided object does not match schema 'image': 5 is not of type 'string'"
        );
        assert!(check_value("min_ram", &json!(2.0)).is_ok());
        assert!(check_value("min_ram", &json!(true)).is_err());
        assert!(check_value("name", &Value::Null).is_ok());
    }

    #[test]
    fn pointers() {
        assert_eq!(decode_pointer("/name").unwrap(), ["name"]);
        assert_eq!(decode_pointer("/a~1b~0c").unwrap(), ["a/b~c"]);
        assert!(decode_pointer("name").is_err());
        assert!(decode_pointer("/a//b").is_err());
        assert!(decode_pointer("/a/").is_err());
        assert!(decode_pointer("/a~2").is_err());
        assert_eq!(decode_pointer("/tags/-").unwrap(), ["tags", "-"]);
    }
}
