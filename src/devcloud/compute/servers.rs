//! Servers: create (validating image, flavor, networks, ports, key pair,
//! security groups), list and detail with filters, show, rename, delete
//! (asynchronous: the server is gone after the configured delete time),
//! metadata, a few actions, interfaces; the BUILD → ACTIVE (or ERROR)
//! timer; and Nova's image proxy below 2.36.

use super::flavors;
use super::server_actions;
use super::{Microversion, SERVICE, invalid, json_body, links, only, root};
use crate::devcloud::error::{ApiError, ApiResult, Service};
use crate::devcloud::model::{Data, Fault, Image, Server, ServerPort};
use crate::devcloud::network;
use crate::devcloud::server::{App, Auth, glob_match};
use crate::devcloud::store::now_millis;
use crate::devcloud::time::{millis_to_iso, now_iso};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::Engine;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/v2.1/servers", get(list).post(create))
        .route("/v2.1/servers/detail", get(list_detail))
        .route("/v2.1/servers/{id}", get(show).put(update).delete(remove))
        .route(
            "/v2.1/servers/{id}/metadata",
            get(metadata).put(replace_metadata).post(merge_metadata),
        )
        .route(
            "/v2.1/servers/{id}/metadata/{key}",
            get(metadata_item)
                .put(set_metadata_item)
                .delete(remove_metadata_item),
        )
        .route("/v2.1/servers/{id}/action", post(server_actions::action))
        .route("/v2.1/servers/{id}/ips", get(ips))
        .route("/v2.1/servers/{id}/os-interface", get(interfaces))
}

pub(super) fn not_found(id: &str) -> ApiError {
    ApiError::not_found(SERVICE, format!("Instance {id} could not be found."))
}

/// A server the caller may see: its project's, or any for an admin.
/// Deleted ones (past their delete time) do not exist.
pub(super) fn visible_server<'d>(d: &'d Data, auth: &Auth, id: &str) -> ApiResult<&'d Server> {
    d.servers
        .get(id)
        .filter(|s| auth.owns(&s.project_id))
        .ok_or_else(|| not_found(id))
}

/// Whether a project may use an image: its own, public and community
/// ones, shared ones it is a member of; an admin any.
pub fn image_visible(img: &Image, auth: &Auth) -> bool {
    auth.is_admin()
        || matches!(img.visibility.as_str(), "public" | "community")
        || auth.project_id.as_deref().is_some_and(|p| {
            img.owner == p || img.visibility == "shared" && img.members.contains(p)
        })
}

pub(super) fn vm_state_of(status: &str) -> (&'static str, u8) {
    match status {
        "BUILD" => ("building", 0),
        "ACTIVE" => ("active", 1),
        "SHUTOFF" => ("stopped", 4),
        "ERROR" => ("error", 0),
        "PAUSED" => ("paused", 3),
        "SHELVED" => ("shelved", 4),
        // Offloading destroys the guest: Nova no longer knows its power.
        "SHELVED_OFFLOADED" => ("shelved_offloaded", 0),
        "RESIZE" => ("active", 1),
        "VERIFY_RESIZE" => ("resized", 1),
        _ => ("active", 1),
    }
}

/// Nova's `hostId`: a hash of the project and the host, so servers of a
/// project on one host share it.
fn host_id(project_id: &str) -> String {
    let digest = Sha256::digest(format!("{project_id}devcloud").as_bytes());
    digest.iter().take(28).map(|b| format!("{b:02x}")).collect()
}

/// `addresses`: each attached port's addresses, keyed by network name.
fn addresses(d: &Data, s: &Server) -> Value {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for sp in &s.ports {
        let Some(port) = d.ports.get(&sp.port_id) else {
            continue;
        };
        let net_name = d
            .networks
            .get(&port.network_id)
            .map_or_else(|| port.network_id.clone(), |n| n.name.clone());
        let entry = out.entry(net_name).or_default();
        for ip in &port.fixed_ips {
            let version = if ip.ip_address.contains(':') { 6 } else { 4 };
            entry.push(json!({
                "version": version,
                "addr": ip.ip_address,
                "OS-EXT-IPS:type": "fixed",
                "OS-EXT-IPS-MAC:mac_addr": port.mac_address,
            }));
        }
    }
    json!(out)
}

/// A server as `GET /servers/{id}` and `/servers/detail` show it.
fn detail(app: &App, d: &Data, s: &Server, mv: Microversion, auth: &Auth) -> Value {
    let (vm_state, power_state) = vm_state_of(&s.status);
    let image = match &s.image_id {
        Some(id) => {
            json!({"id": id, "links": [{"rel": "bookmark", "href": format!("{}/compute/images/{id}", app.base_url)}]})
        }
        None => json!(""),
    };
    let flavor = match d.flavors.get(&s.flavor_id) {
        Some(f) if mv.at_least(47) => json!({
            "vcpus": f.vcpus, "ram": f.ram, "disk": f.disk, "ephemeral": f.ephemeral, "swap": f.swap,
            "original_name": f.name, "extra_specs": f.extra_specs,
        }),
        _ => {
            json!({"id": s.flavor_id, "links": [{"rel": "bookmark", "href": format!("{}/compute/flavors/{}", app.base_url, s.flavor_id)}]})
        }
    };
    let mut doc = json!({
        "id": s.id,
        "name": s.name,
        "status": s.status,
        "tenant_id": s.project_id,
        "user_id": s.user_id,
        "metadata": s.metadata,
        "hostId": if s.status == "BUILD" { String::new() } else { host_id(&s.project_id) },
        "image": image,
        "flavor": flavor,
        "created": s.created,
        "updated": s.updated,
        "addresses": addresses(d, s),
        "accessIPv4": s.access_ipv4,
        "accessIPv6": s.access_ipv6,
        "links": links(app, &format!("servers/{}", s.id)),
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": s.availability_zone,
        "config_drive": s.config_drive,
        "key_name": s.key_name,
        // Nova writes these two without a zone designator.
        "OS-SRV-USG:launched_at": s.launched_at.as_ref().map(|t| format!("{}.000000", t.trim_end_matches('Z'))),
        "OS-SRV-USG:terminated_at": null,
        "OS-EXT-STS:task_state": s.task_state,
        "OS-EXT-STS:vm_state": vm_state,
        "OS-EXT-STS:power_state": power_state,
        "os-extended-volumes:volumes_attached": [],
    });
    if matches!(s.status.as_str(), "BUILD" | "ACTIVE") {
        doc["progress"] = json!(0);
    }
    if !s.security_groups.is_empty() {
        doc["security_groups"] = json!(
            s.security_groups
                .iter()
                .map(|n| json!({"name": n}))
                .collect::<Vec<_>>()
        );
    }
    if let Some(f) = &s.fault {
        doc["fault"] = json!({"code": f.code, "created": f.created, "message": f.message, "details": f.details});
    }
    if auth.is_admin() {
        doc["OS-EXT-SRV-ATTR:host"] = json!("devcloud");
        doc["OS-EXT-SRV-ATTR:instance_name"] = json!(format!("instance-{}", &s.id[..8]));
        doc["OS-EXT-SRV-ATTR:hypervisor_hostname"] = json!("devcloud");
        if mv.at_least(3) {
            doc["OS-EXT-SRV-ATTR:reservation_id"] = json!(format!("r-{}", &s.id[..8]));
            doc["OS-EXT-SRV-ATTR:launch_index"] = json!(0);
            doc["OS-EXT-SRV-ATTR:hostname"] = json!(s.hostname);
            doc["OS-EXT-SRV-ATTR:kernel_id"] = json!("");
            doc["OS-EXT-SRV-ATTR:ramdisk_id"] = json!("");
            doc["OS-EXT-SRV-ATTR:root_device_name"] = json!("/dev/vda");
            doc["OS-EXT-SRV-ATTR:user_data"] = json!(s.user_data);
        }
        if mv.at_least(16) {
            doc["host_status"] = json!("UP");
        }
    }
    if mv.at_least(9) {
        doc["locked"] = json!(s.locked);
    }
    if mv.at_least(19) {
        doc["description"] = json!(s.description);
    }
    if mv.at_least(26) {
        doc["tags"] = json!(s.tags);
    }
    if mv.at_least(63) {
        doc["trusted_image_certificates"] = Value::Null;
    }
    if mv.at_least(73) {
        doc["locked_reason"] = Value::Null;
    }
    if mv.at_least(90) {
        doc["OS-EXT-SRV-ATTR:hostname"] = json!(s.hostname);
    }
    if mv.at_least(96) {
        doc["pinned_availability_zone"] = Value::Null;
    }
    doc
}

fn summary(app: &App, s: &Server) -> Value {
    json!({"id": s.id, "name": s.name, "links": links(app, &format!("servers/{}", s.id))})
}

/// The servers a listing shows, with its filters, sort and paging.
fn listed<'d>(d: &'d Data, auth: &Auth, q: &HashMap<String, String>) -> ApiResult<Vec<&'d Server>> {
    let all_tenants = q.get("all_tenants").is_some_and(|v| {
        !matches!(
            v.to_ascii_lowercase().as_str(),
            "0" | "false" | "f" | "no" | "off"
        )
    });
    if all_tenants && !auth.is_admin() {
        return Err(ApiError::forbidden(
            SERVICE,
            "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.",
        ));
    }
    let project_filter = q
        .get("project_id")
        .or_else(|| q.get("tenant_id"))
        .filter(|_| auth.is_admin());
    let name = match q.get("name") {
        Some(p) => Some(
            regex::Regex::new(p)
                .map_err(|_| ApiError::bad_request(SERVICE, format!("Invalid filter name: {p}")))?,
        ),
        None => None,
    };
    let status = q.get("status").map(|s| s.to_ascii_uppercase());
    let changes_since = q.get("changes-since").map(|t| {
        crate::devcloud::time::iso_to_millis(t).ok_or_else(|| {
            ApiError::bad_request(
                SERVICE,
                format!("Invalid input for query parameters changes-since. Value: {t}."),
            )
        })
    });
    let changes_since = changes_since.transpose()?;
    let mut servers: Vec<&Server> = d
        .servers
        .values()
        .filter(|s| match (all_tenants, project_filter) {
            (_, Some(p)) => s.project_id == *p,
            (true, None) => true,
            (false, None) => auth.project_id.as_deref() == Some(s.project_id.as_str()),
        })
        .filter(|s| name.as_ref().is_none_or(|re| re.is_match(&s.name)))
        .filter(|s| status.as_ref().is_none_or(|st| s.status == *st))
        .filter(|s| {
            q.get("image")
                .is_none_or(|i| s.image_id.as_deref() == Some(i.as_str()))
        })
        .filter(|s| q.get("flavor").is_none_or(|f| s.flavor_id == *f))
        .filter(|s| {
            changes_since.is_none_or(|t| {
                crate::devcloud::time::iso_to_millis(&s.updated).is_some_and(|u| u >= t)
            })
        })
        .collect();
    // Newest first, as Nova sorts by default.
    servers.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)));
    if let Some(marker) = q.get("marker") {
        let at = servers
            .iter()
            .position(|s| s.id == *marker)
            .ok_or_else(|| {
                ApiError::bad_request(SERVICE, format!("marker [{marker}] not found"))
            })?;
        servers.drain(..=at);
    }
    Ok(servers)
}

fn page<'d>(
    app: &App,
    servers: Vec<&'d Server>,
    q: &HashMap<String, String>,
    path: &str,
) -> ApiResult<(Vec<&'d Server>, Option<Value>)> {
    let Some(limit) = q.get("limit") else {
        return Ok((servers, None));
    };
    let limit: usize = limit
        .parse()
        .map_err(|_| ApiError::bad_request(SERVICE, "limit param must be an integer"))?;
    if servers.len() <= limit {
        return Ok((servers, None));
    }
    let kept: Vec<&Server> = servers.into_iter().take(limit).collect();
    let next = kept.last().map(|last| {
        json!([{"rel": "next", "href": format!("{}/compute/v2.1/{path}?limit={limit}&marker={}", app.base_url, last.id)}])
    });
    Ok((kept, next))
}

async fn list(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    app.store.read(|d| {
        let (servers, next) = page(&app, listed(d, &auth, &q)?, &q, "servers")?;
        let mut body =
            json!({"servers": servers.iter().map(|s| summary(&app, s)).collect::<Vec<_>>()});
        if let Some(n) = next {
            body["servers_links"] = n;
        }
        Ok(Json(body))
    })
}

async fn list_detail(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    app.store.read(|d| {
        let (servers, next) = page(&app, listed(d, &auth, &q)?, &q, "servers/detail")?;
        let mut body = json!({"servers": servers.iter().map(|s| detail(&app, d, s, mv, &auth)).collect::<Vec<_>>()});
        if let Some(n) = next {
            body["servers_links"] = n;
        }
        Ok(Json(body))
    })
}

async fn show(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    app.store.read(|d| {
        visible_server(d, &auth, &id).map(|s| {
            let mut doc = detail(&app, d, s, mv, &auth);
            // From 2.71 a server's own page lists its server groups
            // (devcloud has none); lists do not.
            if mv.at_least(71) {
                doc["server_groups"] = json!([]);
            }
            Json(json!({ "server": doc }))
        })
    })
}

/// The id at the end of a reference that may be a URL
/// (`http://.../flavors/42` names flavor 42).
pub(super) fn reference_id(v: &str) -> &str {
    v.rsplit('/').next().unwrap_or(v)
}

fn string_field<'v>(spec: &'v Map<String, Value>, key: &str) -> ApiResult<Option<&'v str>> {
    match spec.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(invalid(
            key,
            other,
            &format!("{other} is not of type 'string'"),
        )),
    }
}

fn metadata_map(field: &str, v: &Value) -> ApiResult<BTreeMap<String, String>> {
    let Value::Object(o) = v else {
        return Err(invalid(field, v, &format!("{v} is not of type 'object'")));
    };
    let mut out = BTreeMap::new();
    for (k, val) in o {
        let Value::String(s) = val else {
            return Err(invalid(field, v, &format!("{val} is not of type 'string'")));
        };
        if k.is_empty() || k.len() > 255 || s.len() > 255 {
            return Err(invalid(
                field,
                v,
                "Metadata keys must be 1 to 255 characters and values at most 255.",
            ));
        }
        out.insert(k.clone(), s.clone());
    }
    if out.len() > 128 {
        return Err(ApiError::new(
            SERVICE,
            StatusCode::FORBIDDEN,
            "Quota exceeded for metadata_items: Requested 129, but already used 0 of 128 metadata_items",
        ));
    }
    Ok(out)
}

/// One requested network attachment.
enum Nic {
    Network {
        id: String,
        fixed_ip: Option<String>,
    },
    Port(String),
}

/// Reads `networks` as Nova does: a list of `{uuid}`, `{port}` and
/// `{uuid, fixed_ip}`, or from 2.37 the strings `auto` and `none`;
/// required from 2.37.
fn requested_nics(
    d: &Data,
    auth: &Auth,
    project: &str,
    spec: &Map<String, Value>,
    mv: Microversion,
) -> ApiResult<Vec<Nic>> {
    let usable_one = |what: &str| -> ApiResult<Vec<Nic>> {
        let usable = network::usable_networks(d, project);
        match usable.len() {
            1 => Ok(vec![Nic::Network {
                id: usable[0].clone(),
                fixed_ip: None,
            }]),
            0 => Err(ApiError::bad_request(
                SERVICE,
                format!("No networks are available to project {project} to {what}."),
            )),
            _ => Err(ApiError::conflict(
                SERVICE,
                "Multiple possible networks found, use a Network ID to be more specific.",
            )),
        }
    };
    let networks = match spec.get("networks") {
        None if mv.at_least(37) => {
            return Err(invalid(
                "server",
                &Value::Object(spec.clone()),
                "'networks' is a required property",
            ));
        }
        None => return usable_one("attach the server to"),
        Some(Value::String(s)) if mv.at_least(37) && s == "none" => return Ok(Vec::new()),
        Some(Value::String(s)) if mv.at_least(37) && s == "auto" => {
            return usable_one("allocate a network for");
        }
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(invalid(
                "networks",
                other,
                &format!("{other} is not of type 'array'"),
            ));
        }
    };
    let mut nics = Vec::new();
    for item in networks {
        let Value::Object(o) = item else {
            return Err(invalid(
                "networks",
                item,
                &format!("{item} is not of type 'object'"),
            ));
        };
        let mut allowed = vec!["uuid", "port", "fixed_ip"];
        if mv.at_least(32) {
            allowed.push("tag");
        }
        only(o, &allowed)?;
        let uuid = string_field(o, "uuid")?;
        let port = string_field(o, "port")?;
        let fixed_ip = string_field(o, "fixed_ip")?;
        match (uuid, port) {
            (_, Some(port)) => {
                let p = d
                    .ports
                    .get(port)
                    .filter(|p| auth.owns(&p.project_id))
                    .ok_or_else(|| {
                        ApiError::bad_request(SERVICE, format!("Port {port} could not be found."))
                    })?;
                if !p.device_id.is_empty() {
                    return Err(ApiError::conflict(
                        SERVICE,
                        format!("Port {port} is still in use."),
                    ));
                }
                nics.push(Nic::Port(port.to_string()));
            }
            (Some(net), None) => {
                let usable = auth.is_admin()
                    || network::usable_networks(d, project)
                        .iter()
                        .any(|n| n == net);
                if !d.networks.contains_key(net) || !usable {
                    return Err(ApiError::bad_request(
                        SERVICE,
                        format!("Network {net} could not be found."),
                    ));
                }
                if let Some(ip) = fixed_ip
                    && ip.parse::<std::net::IpAddr>().is_err()
                {
                    return Err(invalid(
                        "fixed_ip",
                        &json!(ip),
                        &format!("'{ip}' is not a 'ip-address'"),
                    ));
                }
                nics.push(Nic::Network {
                    id: net.to_string(),
                    fixed_ip: fixed_ip.map(str::to_string),
                });
            }
            (None, None) => {
                return Err(ApiError::bad_request(
                    SERVICE,
                    "Bad networks format: network uuid is not in proper format (None)",
                ));
            }
        }
    }
    Ok(nics)
}

/// Nova's answer when Neutron refuses an allocation.
fn nova_error_from_neutron(e: ApiError) -> ApiError {
    let status = match e.status.as_u16() {
        404 | 400 => StatusCode::BAD_REQUEST,
        409 if e.kind.as_deref() == Some("IpAddressAlreadyAllocated") => StatusCode::BAD_REQUEST,
        409 => StatusCode::CONFLICT,
        _ => StatusCode::BAD_REQUEST,
    };
    ApiError::new(SERVICE, status, e.message)
}

async fn create(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let project = auth.project(SERVICE)?.to_string();
    let body = json_body(&headers, &body)?;
    let spec = root(&body, "server")?;
    let mut allowed = vec![
        "name",
        "imageRef",
        "flavorRef",
        "networks",
        "key_name",
        "metadata",
        "user_data",
        "security_groups",
        "availability_zone",
        "config_drive",
        "accessIPv4",
        "accessIPv6",
        "adminPass",
        "min_count",
        "max_count",
        "return_reservation_id",
        "OS-DCF:diskConfig",
        "block_device_mapping",
        "block_device_mapping_v2",
        "personality",
    ];
    if mv.at_least(19) {
        allowed.push("description");
    }
    if mv.at_least(52) {
        allowed.push("tags");
    }
    if mv.at_least(90) {
        allowed.push("hostname");
    }
    only(spec, &allowed)?;
    let name = match spec.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() && n.len() <= 255 => n.clone(),
        Some(v) => {
            return Err(invalid(
                "name",
                v,
                "The name must be a non-empty string of at most 255 characters.",
            ));
        }
        None => {
            return Err(invalid(
                "server",
                &body["server"],
                "'name' is a required property",
            ));
        }
    };
    let flavor_ref = match spec.get("flavorRef") {
        Some(Value::String(s)) if !s.is_empty() => reference_id(s).to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(v) => {
            return Err(invalid(
                "flavorRef",
                v,
                &format!("{v} is not of type 'string', 'integer'"),
            ));
        }
        None => {
            return Err(invalid(
                "server",
                &body["server"],
                "'flavorRef' is a required property",
            ));
        }
    };
    let image_ref = string_field(spec, "imageRef")?
        .map(|s| reference_id(s).to_string())
        .filter(|s| !s.is_empty());
    let key_name = string_field(spec, "key_name")?.map(str::to_string);
    let metadata = match spec.get("metadata") {
        Some(v) => metadata_map("metadata", v)?,
        None => BTreeMap::new(),
    };
    let user_data = match string_field(spec, "user_data")? {
        Some(u) => {
            if u.len() > 65535
                || base64::engine::general_purpose::STANDARD
                    .decode(u.trim())
                    .is_err()
            {
                return Err(invalid(
                    "user_data",
                    &json!(u),
                    "User data must be base64 encoded and at most 65535 bytes.",
                ));
            }
            Some(u.to_string())
        }
        None => None,
    };
    let availability_zone = match string_field(spec, "availability_zone")? {
        None | Some("nova") => "nova".to_string(),
        Some(other) => {
            return Err(ApiError::bad_request(
                SERVICE,
                format!("The requested availability zone is not available: {other}"),
            ));
        }
    };
    let security_groups: Vec<String> = match spec.get("security_groups") {
        None => vec!["default".into()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| invalid("security_groups", i, "'name' is a required property"))
            })
            .collect::<ApiResult<_>>()?,
        Some(v) => {
            return Err(invalid(
                "security_groups",
                v,
                &format!("{v} is not of type 'array'"),
            ));
        }
    };
    let count = |key: &str| -> ApiResult<u64> {
        match spec.get(key) {
            None => Ok(1),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .filter(|n| *n >= 1)
                .ok_or_else(|| invalid(key, v, "It must be an integer of at least 1.")),
        }
    };
    let (min_count, max_count) = (count("min_count")?, count("max_count")?);
    if min_count > max_count {
        return Err(ApiError::bad_request(
            SERVICE,
            "min_count must be <= max_count",
        ));
    }
    let description = if mv.at_least(19) {
        string_field(spec, "description")?.map(str::to_string)
    } else {
        None
    };
    let tags: Vec<String> = match spec.get("tags") {
        Some(Value::Array(t)) => t
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let access_ipv4 = string_field(spec, "accessIPv4")?
        .unwrap_or_default()
        .to_string();
    let access_ipv6 = string_field(spec, "accessIPv6")?
        .unwrap_or_default()
        .to_string();
    let hostname = string_field(spec, "hostname")?.map(str::to_string);
    let knobs = app.knobs();
    let now = now_millis();
    let ready_at = now + knobs.build_time.as_millis() as u64;
    let build_fault = knobs
        .server_errors
        .iter()
        .find(|r| glob_match(&r.name, &name))
        .map(|r| r.message.clone());

    let created = app.store.write(|d| -> ApiResult<Vec<(String, String)>> {
        let flavor = d.flavors.get(&flavor_ref).filter(|f| flavors::visible(f, &auth)).ok_or_else(|| {
            ApiError::bad_request(SERVICE, format!("Flavor {flavor_ref} could not be found."))
        })?;
        let flavor_id = flavor.id.clone();
        if let Some(image_id) = &image_ref {
            let img = d.images.get(image_id).filter(|i| image_visible(i, &auth)).ok_or_else(|| {
                ApiError::bad_request(SERVICE, format!("Image {image_id} could not be found."))
            })?;
            if img.status != "active" {
                return Err(ApiError::bad_request(SERVICE, format!("Image {image_id} is not active.")));
            }
            if img.min_disk > flavor.disk && flavor.disk > 0 {
                return Err(ApiError::bad_request(SERVICE, "Flavor's disk is too small for requested image."));
            }
            if img.min_ram > flavor.ram {
                return Err(ApiError::bad_request(SERVICE, "Flavor's memory is too small for requested image."));
            }
        } else if !spec.contains_key("block_device_mapping_v2") {
            return Err(ApiError::bad_request(SERVICE, "Block Device Mapping is Invalid: You specified more local devices than the limit allows"));
        }
        if let Some(k) = &key_name
            && !d.keypairs.contains_key(&format!("{}/{k}", auth.user_id))
        {
            return Err(ApiError::bad_request(SERVICE, "Invalid key_name provided."));
        }
        network::create_default_security_group(d, &project);
        for sg in &security_groups {
            let exists = d.security_groups.values().any(|g| g.project_id == project && (g.name == *sg || g.id == *sg));
            if !exists {
                return Err(ApiError::bad_request(SERVICE, format!("Security group {sg} not found for project {project}.")));
            }
        }
        let nics = requested_nics(d, &auth, &project, spec, mv)?;
        if nics.iter().any(|n| matches!(n, Nic::Port(_))) && max_count > 1 {
            return Err(ApiError::bad_request(SERVICE, "Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports."));
        }
        let mut ids = Vec::new();
        for i in 1..=max_count {
            let id = uuid::Uuid::new_v4().to_string();
            let server_name = if max_count > 1 { format!("{name}-{i}") } else { name.clone() };
            let mut ports = Vec::new();
            for nic in &nics {
                let result = match nic {
                    Nic::Network { id: net, fixed_ip } => {
                        network::allocate_port(d, net, &project, &id, fixed_ip.as_deref(), &security_groups).map(|p| ServerPort { port_id: p, created_by_nova: true })
                    }
                    Nic::Port(p) => network::bind_port(d, p, &id).map(|()| ServerPort { port_id: p.clone(), created_by_nova: false }),
                };
                match result {
                    Ok(sp) => ports.push(sp),
                    Err(e) => {
                        // Nothing of a refused request stays behind.
                        for sp in &ports {
                            network::release_port(d, &sp.port_id, sp.created_by_nova);
                        }
                        for (done, _) in &ids {
                            if let Some(s) = d.servers.remove(done) {
                                for sp in &s.ports {
                                    network::release_port(d, &sp.port_id, sp.created_by_nova);
                                }
                            }
                        }
                        return Err(nova_error_from_neutron(e));
                    }
                }
            }
            let stamp = now_iso();
            let server = Server {
                id: id.clone(),
                name: server_name.clone(),
                project_id: project.clone(),
                user_id: auth.user_id.clone(),
                image_id: image_ref.clone(),
                flavor_id: flavor_id.clone(),
                status: "BUILD".into(),
                vm_state: "building".into(),
                task_state: Some("spawning".into()),
                power_state: 0,
                ready_at: Some(ready_at),
                gone_at: None,
                build_fault: build_fault.clone(),
                fault: None,
                created: stamp.clone(),
                updated: stamp,
                launched_at: None,
                metadata: metadata.clone(),
                key_name: key_name.clone(),
                user_data: user_data.clone(),
                availability_zone: availability_zone.clone(),
                security_groups: security_groups.clone(),
                ports,
                config_drive: String::new(),
                description: description.clone(),
                tags: tags.clone(),
                hostname: hostname.clone().unwrap_or_else(|| server_name.to_ascii_lowercase().replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-")),
                access_ipv4: access_ipv4.clone(),
                access_ipv6: access_ipv6.clone(),
                locked: false,
                resize: None,
            };
            d.servers.insert(id.clone(), server);
            ids.push((id, server_name));
        }
        Ok(ids)
    })?;
    app.store.schedule(ready_at);
    let (id, _) = created.first().cloned().unwrap_or_default();
    let admin_pass: String = crate::devcloud::token::random_hex(6);
    let body = json!({"server": {
        "id": id,
        "links": links(&app, &format!("servers/{id}")),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": security_groups.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
        "adminPass": admin_pass,
    }});
    let mut response = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{}/compute/v2.1/servers/{id}", app.base_url)) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// Applies due timers: builds end (ACTIVE, or ERROR when a fault rule
/// matched the name), resizes wait for their confirmation
/// (VERIFY_RESIZE) and deleted servers disappear with their ports.
/// Returns whether anything changed and the next deadline.
pub fn advance(d: &mut Data, now: u64) -> (bool, u64) {
    let mut changed = false;
    let mut next = u64::MAX;
    let mut gone = Vec::new();
    for s in d.servers.values_mut() {
        if let Some(at) = s.gone_at {
            if at <= now {
                gone.push(s.id.clone());
            } else {
                next = next.min(at);
            }
            continue;
        }
        if let Some(resize) = s.resize.as_mut()
            && let Some(at) = resize.ready_at
        {
            if at > now {
                next = next.min(at);
                continue;
            }
            changed = true;
            resize.ready_at = None;
            s.flavor_id = resize.new_flavor_id.clone();
            s.status = "VERIFY_RESIZE".into();
            s.vm_state = "resized".into();
            s.task_state = None;
            s.updated = millis_to_iso(at);
            continue;
        }
        let Some(at) = s.ready_at.filter(|_| s.status == "BUILD") else {
            continue;
        };
        if at > now {
            next = next.min(at);
            continue;
        }
        changed = true;
        s.ready_at = None;
        s.task_state = None;
        s.updated = millis_to_iso(at);
        match s.build_fault.take() {
            Some(message) => {
                s.status = "ERROR".into();
                s.vm_state = "error".into();
                s.power_state = 0;
                s.fault = Some(Fault {
                    code: 500,
                    message,
                    created: millis_to_iso(at),
                    details: String::new(),
                });
            }
            None => {
                s.status = "ACTIVE".into();
                s.vm_state = "active".into();
                s.power_state = 1;
                s.launched_at = Some(millis_to_iso(at));
            }
        }
    }
    // A failed build gives its network allocations back, as Nova does.
    let failed: Vec<(String, Vec<ServerPort>)> = d
        .servers
        .values_mut()
        .filter(|s| s.status == "ERROR" && !s.ports.is_empty())
        .map(|s| (s.id.clone(), std::mem::take(&mut s.ports)))
        .collect();
    for (_, ports) in failed {
        for sp in ports {
            network::release_port(d, &sp.port_id, sp.created_by_nova);
        }
    }
    for id in gone {
        if let Some(s) = d.servers.remove(&id) {
            changed = true;
            for sp in &s.ports {
                network::release_port(d, &sp.port_id, sp.created_by_nova);
            }
        }
    }
    (changed, next)
}

async fn update(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let body = json_body(&headers, &body)?;
    let spec = root(&body, "server")?;
    let mut allowed = vec!["name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"];
    if mv.at_least(19) {
        allowed.push("description");
    }
    if mv.at_least(90) {
        allowed.push("hostname");
    }
    only(spec, &allowed)?;
    let name = match spec.get("name") {
        None => None,
        Some(Value::String(n)) if !n.trim().is_empty() && n.len() <= 255 => Some(n.clone()),
        Some(v) => {
            return Err(invalid(
                "name",
                v,
                "The name must be a non-empty string of at most 255 characters.",
            ));
        }
    };
    app.store.write(|d| {
        visible_server(d, &auth, &id)?;
        let s = d.servers.get_mut(&id).ok_or_else(|| not_found(&id))?;
        if let Some(n) = name {
            s.name = n;
        }
        if let Some(Value::String(v)) = spec.get("accessIPv4") {
            s.access_ipv4 = v.clone();
        }
        if let Some(Value::String(v)) = spec.get("accessIPv6") {
            s.access_ipv6 = v.clone();
        }
        if let Some(v) = spec.get("description") {
            s.description = v.as_str().map(str::to_string);
        }
        if let Some(Value::String(v)) = spec.get("hostname") {
            s.hostname = v.clone();
        }
        s.updated = now_iso();
        let s = d.servers[&id].clone();
        let mut doc = detail(&app, d, &s, mv, &auth);
        if mv.at_least(71) {
            doc["server_groups"] = json!([]);
        }
        Ok(Json(json!({ "server": doc })))
    })
}

async fn remove(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let gone_at = now_millis() + app.knobs().delete_time.as_millis() as u64;
    app.store.write(|d| {
        visible_server(d, &auth, &id)?;
        let s = d.servers.get_mut(&id).ok_or_else(|| not_found(&id))?;
        if s.locked && !auth.is_admin() {
            return Err(ApiError::conflict(
                SERVICE,
                format!("Instance {id} is locked"),
            ));
        }
        if s.gone_at.is_none() {
            s.gone_at = Some(gone_at);
            s.task_state = Some("deleting".into());
            s.updated = now_iso();
        }
        Ok(StatusCode::NO_CONTENT)
    })?;
    app.store.schedule(gone_at);
    Ok(StatusCode::NO_CONTENT)
}

async fn metadata(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    app.store
        .read(|d| visible_server(d, &auth, &id).map(|s| Json(json!({"metadata": s.metadata}))))
}

async fn change_metadata(
    app: &App,
    auth: &Auth,
    id: &str,
    headers: &HeaderMap,
    body: &[u8],
    replace: bool,
) -> ApiResult<Json<Value>> {
    let body = json_body(headers, body)?;
    let given = metadata_map("metadata", body.get("metadata").unwrap_or(&Value::Null))?;
    app.store.write(|d| {
        visible_server(d, auth, id)?;
        let s = d.servers.get_mut(id).ok_or_else(|| not_found(id))?;
        if replace {
            s.metadata = given;
        } else {
            s.metadata.extend(given);
        }
        s.updated = now_iso();
        Ok(Json(json!({"metadata": s.metadata})))
    })
}

async fn replace_metadata(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    change_metadata(&app, &auth, &id, &headers, &body, true).await
}

async fn merge_metadata(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    change_metadata(&app, &auth, &id, &headers, &body, false).await
}

async fn metadata_item(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    app.store.read(|d| {
        let s = visible_server(d, &auth, &id)?;
        s.metadata
            .get(&key)
            .map(|v| Json(json!({"meta": {key.clone(): v}})))
            .ok_or_else(|| ApiError::not_found(SERVICE, "Metadata item was not found"))
    })
}

async fn set_metadata_item(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((id, key)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let body = json_body(&headers, &body)?;
    let meta = metadata_map("meta", body.get("meta").unwrap_or(&Value::Null))?;
    if meta.len() != 1 {
        return Err(ApiError::bad_request(
            SERVICE,
            "Request body contains too many items",
        ));
    }
    let Some((k, v)) = meta.into_iter().next() else {
        return Err(ApiError::bad_request(SERVICE, "Malformed request body"));
    };
    if k != key {
        return Err(ApiError::bad_request(
            SERVICE,
            "Request body and URI mismatch",
        ));
    }
    app.store.write(|d| {
        visible_server(d, &auth, &id)?;
        let s = d.servers.get_mut(&id).ok_or_else(|| not_found(&id))?;
        s.metadata.insert(k.clone(), v.clone());
        s.updated = now_iso();
        Ok(Json(json!({"meta": {k: v}})))
    })
}

async fn remove_metadata_item(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path((id, key)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    app.store.write(|d| {
        visible_server(d, &auth, &id)?;
        let s = d.servers.get_mut(&id).ok_or_else(|| not_found(&id))?;
        s.metadata
            .remove(&key)
            .ok_or_else(|| ApiError::not_found(SERVICE, "Metadata item was not found"))?;
        s.updated = now_iso();
        Ok(StatusCode::NO_CONTENT)
    })
}

async fn ips(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    app.store.read(|d| {
        let s = visible_server(d, &auth, &id)?;
        Ok(Json(json!({"addresses": addresses(d, s)})))
    })
}

async fn interfaces(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    app.store.read(|d| {
        let s = visible_server(d, &auth, &id)?;
        let attachments: Vec<Value> = s
            .ports
            .iter()
            .filter_map(|sp| d.ports.get(&sp.port_id))
            .map(|p| {
                json!({
                    "port_state": p.status, "port_id": p.id, "net_id": p.network_id, "mac_addr": p.mac_address,
                    "fixed_ips": p.fixed_ips.iter().map(|f| json!({"subnet_id": f.subnet_id, "ip_address": f.ip_address})).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(Json(json!({"interfaceAttachments": attachments})))
    })
}

/// Nova's image proxy: gone at 2.36, where it answers 404.
fn proxy_allowed(mv: Microversion) -> ApiResult<()> {
    if mv.at_least(36) {
        Err(ApiError::not_found(
            Service::Compute,
            "The resource could not be found.",
        ))
    } else {
        Ok(())
    }
}

fn proxy_status(status: &str) -> (&'static str, u8) {
    match status {
        "active" => ("ACTIVE", 100),
        "saving" => ("SAVING", 25),
        "queued" => ("SAVING", 25),
        "killed" => ("ERROR", 0),
        "deleted" | "pending_delete" => ("DELETED", 0),
        _ => ("UNKNOWN", 0),
    }
}

fn proxy_links(app: &App, id: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("{}/compute/v2.1/images/{id}", app.base_url)},
        {"rel": "bookmark", "href": format!("{}/compute/images/{id}", app.base_url)},
        {"rel": "alternate", "type": "application/vnd.openstack.image", "href": format!("{}/image/images/{id}", app.base_url)},
    ])
}

fn proxy_detail(app: &App, img: &Image) -> Value {
    let (status, progress) = proxy_status(&img.status);
    json!({
        "id": img.id, "name": img.name, "minRam": img.min_ram, "minDisk": img.min_disk,
        "metadata": img.properties, "created": img.created_at, "updated": img.updated_at,
        "status": status, "progress": progress, "OS-EXT-IMG-SIZE:size": img.size,
        "links": proxy_links(app, &img.id),
    })
}

pub async fn proxy_images(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
) -> ApiResult<Json<Value>> {
    proxy_allowed(mv)?;
    let images: Vec<Value> = app.store.read(|d| {
        d.images
            .values()
            .filter(|i| image_visible(i, &auth))
            .map(|i| json!({"id": i.id, "name": i.name, "links": proxy_links(&app, &i.id)}))
            .collect()
    });
    Ok(Json(json!({"images": images})))
}

pub async fn proxy_images_detail(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
) -> ApiResult<Json<Value>> {
    proxy_allowed(mv)?;
    let images: Vec<Value> = app.store.read(|d| {
        d.images
            .values()
            .filter(|i| image_visible(i, &auth))
            .map(|i| proxy_detail(&app, i))
            .collect()
    });
    Ok(Json(json!({"images": images})))
}

pub async fn proxy_image(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Extension(mv): Extension<Microversion>,
    Path(id): Path<String>,
    RawQuery(_): RawQuery,
) -> ApiResult<Json<Value>> {
    proxy_allowed(mv)?;
    app.store.read(|d| {
        d.images
            .get(&id)
            .filter(|i| image_visible(i, &auth))
            .map(|i| Json(json!({"image": proxy_detail(&app, i)})))
            .ok_or_else(|| ApiError::not_found(SERVICE, "Image not found."))
    })
}
