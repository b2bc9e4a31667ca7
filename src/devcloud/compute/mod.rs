//! Nova v2.1: version discovery and microversions, flavors (with extra
//! specs and access lists), servers (networks, ports, security groups,
//! key pairs, metadata, asynchronous build and delete), key pairs, the
//! image proxy (below 2.36), limits and availability zones.
//! API reference: https://docs.openstack.org/api-ref/compute/

mod flavors;
mod keypairs;
mod server_actions;
mod server_tags;
mod servers;

use super::error::{ApiError, ApiResult, Service};
use super::server::App;
use super::store::now_millis;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) const SERVICE: Service = Service::Compute;

/// The microversions devcloud serves: 2.1 to 2.96 (2023.2's maximum;
/// every field clients read up to it is rendered).
pub const MIN_MINOR: u32 = 1;
pub const MAX_MINOR: u32 = 96;

/// The negotiated microversion's minor number (`2.N`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Microversion(pub u32);

impl Microversion {
    pub fn at_least(self, minor: u32) -> bool {
        self.0 >= minor
    }
}

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(versions))
        .route("/v2.1", get(version))
        .merge(flavors::router())
        .merge(servers::router())
        .merge(keypairs::router())
        .merge(server_tags::router())
        .route("/v2.1/limits", get(limits))
        .route("/v2.1/os-availability-zone", get(availability_zones))
        .route("/v2.1/os-availability-zone/detail", get(availability_zones))
        .route("/v2.1/images", get(servers::proxy_images))
        .route("/v2.1/images/detail", get(servers::proxy_images_detail))
        .route("/v2.1/images/{id}", get(servers::proxy_image))
        .layer(axum::middleware::from_fn(microversions))
}

/// Reads the requested microversion (`OpenStack-API-Version: compute
/// 2.N` wins over `X-OpenStack-Nova-API-Version: 2.N`; none means 2.1;
/// `latest` the maximum), refuses one out of range with 406, and says in
/// the response which one was used.
async fn microversions(mut req: Request, next: Next) -> Response {
    // Nested under /compute, the path starts at /v2.1.
    let versioned = req.uri().path().starts_with("/v2.1");
    let minor = match requested_minor(req.headers()) {
        Ok(m) => m,
        Err(e) => return e.into_response(),
    };
    req.extensions_mut().insert(Microversion(minor));
    let mut response = next.run(req).await;
    if versioned {
        let h = response.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&format!("compute 2.{minor}")) {
            h.insert("openstack-api-version", v);
        }
        if let Ok(v) = HeaderValue::from_str(&format!("2.{minor}")) {
            h.insert("x-openstack-nova-api-version", v);
        }
        h.insert(
            "vary",
            HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
        );
    }
    response
}

fn requested_minor(headers: &HeaderMap) -> ApiResult<u32> {
    let modern = headers
        .get_all("openstack-api-version")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let mut parts = v.split_whitespace();
            match (parts.next(), parts.next()) {
                (Some(service), Some(version)) if service.eq_ignore_ascii_case("compute") => {
                    Some(version.to_string())
                }
                _ => None,
            }
        });
    let legacy = headers
        .get("x-openstack-nova-api-version")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string());
    let Some(text) = modern.or(legacy) else {
        return Ok(MIN_MINOR);
    };
    if text.eq_ignore_ascii_case("latest") {
        return Ok(MAX_MINOR);
    }
    let invalid = || {
        ApiError::bad_request(
            SERVICE,
            format!(
                "API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum."
            ),
        )
    };
    let (major, minor) = text.split_once('.').ok_or_else(invalid)?;
    let (major, minor): (u32, u32) = (
        major.parse().map_err(|_| invalid())?,
        minor.parse().map_err(|_| invalid())?,
    );
    if major != 2 || !(MIN_MINOR..=MAX_MINOR).contains(&minor) {
        return Err(ApiError::new(
            SERVICE,
            axum::http::StatusCode::NOT_ACCEPTABLE,
            format!(
                "Version {text} is not supported by the API. Minimum is 2.{MIN_MINOR} and maximum is 2.{MAX_MINOR}."
            ),
        ));
    }
    Ok(minor)
}

fn version_doc(app: &App) -> Value {
    json!({
        "id": "v2.1",
        "status": "CURRENT",
        "version": format!("2.{MAX_MINOR}"),
        "min_version": format!("2.{MIN_MINOR}"),
        "updated": "2013-07-23T11:33:21Z",
        "links": [
            {"rel": "self", "href": format!("{}/compute/v2.1/", app.base_url)},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
    })
}

async fn versions(State(app): State<Arc<App>>) -> Json<Value> {
    let mut current = version_doc(&app);
    if let Some(o) = current.as_object_mut() {
        o.remove("media-types");
    }
    Json(json!({"versions": [
        {
            "id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "", "updated": "2011-01-21T11:33:21Z",
            "links": [{"rel": "self", "href": format!("{}/compute/v2/", app.base_url)}],
        },
        current,
    ]}))
}

async fn version(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({"version": version_doc(&app)}))
}

/// A JSON request body, or Nova's 400 for a malformed one.
pub(crate) fn json_body(headers: &HeaderMap, body: &[u8]) -> ApiResult<Value> {
    if let Some(ct) = headers.get("content-type").and_then(|v| v.to_str().ok())
        && !ct.trim().starts_with("application/json")
    {
        return Err(ApiError::unsupported_media_type(
            SERVICE,
            "Unsupported Content-Type",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|_| ApiError::bad_request(SERVICE, "Malformed request body"))
}

/// Nova's schema-validation message.
pub(crate) fn invalid(field: &str, value: &Value, reason: &str) -> ApiError {
    ApiError::bad_request(
        SERVICE,
        format!("Invalid input for field/attribute {field}. Value: {value}. {reason}"),
    )
}

/// The object under `key` in a request body (`{"server": {...}}`).
pub(crate) fn root<'v>(
    body: &'v Value,
    key: &str,
) -> ApiResult<&'v serde_json::Map<String, Value>> {
    match body.get(key) {
        Some(Value::Object(o)) => Ok(o),
        Some(other) => Err(invalid(
            key,
            other,
            &format!("{other} is not of type 'object'"),
        )),
        None => Err(ApiError::bad_request(
            SERVICE,
            format!(
                "Invalid input for field/attribute {key}. Value: {body}. '{key}' is a required property"
            ),
        )),
    }
}

/// Refuses properties a schema does not allow.
pub(crate) fn only(obj: &serde_json::Map<String, Value>, allowed: &[&str]) -> ApiResult<()> {
    let unexpected: Vec<String> = obj
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| format!("'{k}'"))
        .collect();
    if unexpected.is_empty() {
        return Ok(());
    }
    let (noun, list) = if unexpected.len() == 1 {
        ("was", unexpected[0].clone())
    } else {
        ("were", unexpected.join(", "))
    };
    Err(ApiError::bad_request(
        SERVICE,
        format!("Additional properties are not allowed ({list} {noun} unexpected)"),
    ))
}

/// Self and bookmark links of a resource.
pub(crate) fn links(app: &App, path: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("{}/compute/v2.1/{path}", app.base_url)},
        {"rel": "bookmark", "href": format!("{}/compute/{path}", app.base_url)},
    ])
}

/// Applies due timers: builds that end, deleted servers that go.
pub fn run_timers(app: &App) {
    app.store.run_timers(now_millis(), servers::advance);
}

async fn limits(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<super::server::Auth>,
) -> ApiResult<Json<Value>> {
    let project = auth.project(SERVICE)?.to_string();
    let (instances, cores, ram, keypairs) = app.store.read(|d| {
        let mine: Vec<&super::model::Server> = d
            .servers
            .values()
            .filter(|s| s.project_id == project)
            .collect();
        let cores: u64 = mine
            .iter()
            .filter_map(|s| d.flavors.get(&s.flavor_id))
            .map(|f| f.vcpus)
            .sum();
        let ram: u64 = mine
            .iter()
            .filter_map(|s| d.flavors.get(&s.flavor_id))
            .map(|f| f.ram)
            .sum();
        let keypairs = d
            .keypairs
            .values()
            .filter(|k| k.user_id == auth.user_id)
            .count();
        (mine.len(), cores, ram, keypairs)
    });
    Ok(Json(json!({"limits": {"rate": [], "absolute": {
        "maxTotalInstances": 100, "maxTotalCores": 200, "maxTotalRAMSize": 512000,
        "maxServerMeta": 128, "maxImageMeta": 128, "maxPersonality": 5, "maxPersonalitySize": 10240,
        "maxTotalKeypairs": 100, "maxServerGroups": 10, "maxServerGroupMembers": 10,
        "maxSecurityGroups": 10, "maxSecurityGroupRules": 20, "maxTotalFloatingIps": 10,
        "totalInstancesUsed": instances, "totalCoresUsed": cores, "totalRAMUsed": ram,
        "totalServerGroupsUsed": 0, "totalSecurityGroupsUsed": 0, "totalFloatingIpsUsed": 0,
        "totalKeyPairsUsed": keypairs,
    }}})))
}

async fn availability_zones() -> Json<Value> {
    Json(
        json!({"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": true}, "hosts": null}]}),
    )
}
