//! `openstack_compute_instance_v2`: a Nova server.
//!
//! Two things differ from the Terraform provider on purpose. A new image
//! replaces the server: the provider rebuilds it in place, which wipes
//! its disk while the plan shows a harmless `~` update. And a build that
//! ends in ERROR fails the apply with Nova's fault message, the server id
//! and the create request's id, and records the server as tainted so the
//! next plan replaces it.
//!
//! A new flavor resizes the server in place (resize, then confirm), and
//! `power_state`, `admin_pass` and `security_groups` change in place
//! through Nova's server actions (see `server_actions`).
//!
//! `user_data` is stored as the SHA1 of the configured text, as the
//! Terraform provider does, so cloud-init secrets do not end up in the
//! state; plans compare hashes.

use super::marker;
use super::provider::Session;
use super::server_actions::{
    POWER_STATES, change_password, change_security_groups, power_state_of, resize, set_power_state,
};
use super::types::{
    SchemaBuilder, apply_failed, check_timeouts, client, create_failed, failed, get_if_exists,
    id_of, json_attr, keep_timeouts, poll, region_of, state_value, str_attr, timeout,
};
use super::{Client, Request, Service};
use crate::lang::value::{Type, Value};
use crate::provider::{
    ApplyFailure, AttrMode, AttributeSchema, BlockSchema, MarkedObject, Marker, Nesting,
    PlannedState, ProviderError, ResourceType, Schema, plan_by_schema,
};
use async_trait::async_trait;
use base64::Engine;
use reqwest::Method;
use serde_json::{Map, Value as Json, json};
use sha1::Digest;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// The operations a `timeouts {}` block may time.
const TIMEOUTS: &[&str] = &["create", "update", "delete"];

/// Nova's default for create, update and delete waits.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Servers per page of a bulk refresh (Nova's default `max_limit`).
const SERVERS_PAGE: usize = 1000;
/// Servers whose ports one Neutron list asks for: keeps the query string
/// (47 bytes per id) well under the 8 KiB request lines proxies accept.
const PORTS_BATCH: usize = 80;
/// The network attributes a user may set; the rest of a `network` block
/// (`mac`) is read from the cloud.
const NETWORK_SETTABLE: [&str; 4] = ["uuid", "name", "port", "fixed_ip_v4"];

pub struct Instance {
    schema: Schema,
    session: Arc<Session>,
    /// The project's servers as `find_marked` listed them, for the bulk
    /// refresh that follows it before planning: the two would otherwise
    /// list the same pages back to back. Taken by the first `read_all`.
    listed: std::sync::Mutex<Option<HashMap<String, Json>>>,
}

fn network_schema() -> Schema {
    let mut b = SchemaBuilder::default();
    for name in NETWORK_SETTABLE {
        b = b.attr(name, Type::String, AttrMode::OptionalComputed);
    }
    b.attr("mac", Type::String, AttrMode::Computed).build()
}

impl Instance {
    pub fn new(session: Arc<Session>) -> Instance {
        let mut schema = SchemaBuilder::default()
            .with_id_and_region()
            .attr("name", Type::String, AttrMode::Required)
            // A new image replaces the server: rebuilding in place would
            // wipe its disk behind an innocent-looking update.
            .replacing("image_id", Type::String, AttrMode::OptionalComputed)
            .replacing("image_name", Type::String, AttrMode::OptionalComputed)
            // A new flavor resizes the server (resize, then confirm).
            .attr("flavor_id", Type::String, AttrMode::OptionalComputed)
            .attr("flavor_name", Type::String, AttrMode::OptionalComputed)
            .replacing("key_pair", Type::String, AttrMode::Optional)
            .attr(
                "security_groups",
                Type::set(Type::String),
                AttrMode::OptionalComputed,
            )
            .attr("power_state", Type::String, AttrMode::Optional)
            .replacing(
                "availability_zone",
                Type::String,
                AttrMode::OptionalComputed,
            )
            .attr("metadata", Type::map(Type::String), AttrMode::Optional)
            .attr("tags", Type::set(Type::String), AttrMode::Optional)
            .replacing("config_drive", Type::Bool, AttrMode::Optional)
            .replacing("network_mode", Type::String, AttrMode::Optional)
            .attr("access_ip_v4", Type::String, AttrMode::Computed)
            .attr("access_ip_v6", Type::String, AttrMode::Computed)
            .attr("all_metadata", Type::map(Type::String), AttrMode::Computed)
            .attr("all_tags", Type::set(Type::String), AttrMode::Computed)
            .attr("created", Type::String, AttrMode::Computed)
            .attr("updated", Type::String, AttrMode::Computed)
            .attr("status", Type::String, AttrMode::Computed)
            .block(
                "network",
                BlockSchema {
                    nesting: Nesting::List,
                    schema: network_schema(),
                    min_items: 0,
                    max_items: None,
                    force_new: true,
                },
            )
            .timeouts(TIMEOUTS)
            .build();
        // The text is only ever sent at create; the state holds its hash.
        // Sensitive so that a plan never prints a cloud-init script.
        schema.attributes.insert(
            "user_data".into(),
            AttributeSchema::new(Type::String, AttrMode::Optional)
                .force_new()
                .sensitive(),
        );
        // Changed in place (changePassword) while the server is active.
        schema.attributes.insert(
            "admin_pass".into(),
            AttributeSchema::new(Type::String, AttrMode::Optional).sensitive(),
        );
        Instance {
            schema,
            session,
            listed: std::sync::Mutex::default(),
        }
    }

    fn network_type(&self) -> Type {
        network_schema().value_type()
    }
}

/// The SHA1 (hex) of a `user_data` text, which the state records in its
/// place.
pub fn user_data_hash(text: &str) -> String {
    sha1::Sha1::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `value` with attribute `name` set to `new`.
fn with_attr(value: &Value, name: &str, new: Value) -> Value {
    let mut entries = value.as_entries().cloned().unwrap_or_default();
    entries.insert(name.to_string(), new);
    Value::object(entries)
}

fn seq(value: &Value, name: &str) -> Vec<Value> {
    value
        .get_attr(name)
        .and_then(Value::as_seq)
        .map(<[Value]>::to_vec)
        .unwrap_or_default()
}

/// Percent-encodes a query parameter value.
fn query_escape(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn invalid(summary: &str, detail: String) -> ProviderError {
    ProviderError::new(summary, detail)
}

/// Exactly one of `found` (objects with `id`), or an error naming what
/// was looked for.
fn the_one(
    found: Vec<&Json>,
    what: &str,
    name: &str,
    by_id: &str,
) -> Result<String, ProviderError> {
    match found.as_slice() {
        [one] => one
            .get("id")
            .and_then(Json::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                invalid(
                    "Unexpected answer from the cloud",
                    format!("The {what} named {name:?} has no id."),
                )
            }),
        [] => Err(invalid(
            &format!("No such {what}"),
            format!("No {what} is named {name:?}."),
        )),
        several => Err(invalid(
            &format!("Ambiguous {what} name"),
            format!(
                "{} {what}s are named {name:?}; set {by_id} to choose one.",
                several.len()
            ),
        )),
    }
}

fn items<'j>(body: &'j Json, key: &str) -> Vec<&'j Json> {
    body.get(key)
        .and_then(Json::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

/// A port as a `network` block; the network's name comes from the
/// server's `addresses`, which Nova keys by network name.
fn network_block(port: &Json, names_by_mac: &HashMap<String, String>) -> Json {
    let mac = port.get("mac_address").and_then(Json::as_str);
    let fixed_ip_v4 = port
        .get("fixed_ips")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("ip_address").and_then(Json::as_str))
        .find(|ip| !ip.contains(':'));
    json!({
        "uuid": port.get("network_id"),
        "name": mac.and_then(|m| names_by_mac.get(m)),
        "port": port.get("id"),
        "fixed_ip_v4": fixed_ip_v4,
        "mac": mac,
    })
}

fn port_has_ip(port: &Json, ip: &str) -> bool {
    port.get("fixed_ips")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .any(|f| f.get("ip_address").and_then(Json::as_str) == Some(ip))
}

/// The server's NICs as `network` blocks, in the order the prior state
/// (or the configuration) lists them; NICs it does not list follow.
fn networks_of(server: &Json, ports: &[&Json], prior: &[Value]) -> Json {
    let mut names_by_mac = HashMap::new();
    if let Some(addresses) = server.get("addresses").and_then(Json::as_object) {
        for (net_name, entries) in addresses {
            for entry in entries.as_array().into_iter().flatten() {
                if let Some(mac) = entry.get("OS-EXT-IPS-MAC:mac_addr").and_then(Json::as_str) {
                    names_by_mac.insert(mac.to_string(), net_name.clone());
                }
            }
        }
    }
    let mut remaining: Vec<&Json> = ports.to_vec();
    let mut blocks = Vec::new();
    for wanted in prior {
        let want = |k: &str| str_attr(wanted, k);
        let matches = |port: &&Json| {
            let field = |k: &str| port.get(k).and_then(Json::as_str);
            if let Some(p) = want("port") {
                return field("id") == Some(p.as_str());
            }
            let net_ok = match (want("uuid"), want("name")) {
                (Some(uuid), _) => field("network_id") == Some(uuid.as_str()),
                (None, Some(name)) => field("mac_address")
                    .and_then(|m| names_by_mac.get(m))
                    .is_some_and(|n| *n == name),
                (None, None) => true,
            };
            net_ok && want("fixed_ip_v4").is_none_or(|ip| port_has_ip(port, &ip))
        };
        if let Some(at) = remaining.iter().position(matches) {
            blocks.push(network_block(remaining.remove(at), &names_by_mac));
        }
    }
    blocks.extend(remaining.iter().map(|p| network_block(p, &names_by_mac)));
    Json::Array(blocks)
}

fn string_list(v: Option<&Json>) -> Vec<String> {
    let mut out: Vec<String> = v
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A server (and its ports) as this type's state. What Nova does not
/// show (the image's name, user data, the admin password, config drive,
/// network mode, timeouts) comes from `prior`: the planned value at
/// create, the previous state afterwards.
fn state_of(server: &Json, ports: &[&Json], prior: &Value, region: Json) -> Json {
    // The marker's entries are stackform's, not the user's.
    let metadata = Json::Object(
        server
            .get("metadata")
            .and_then(Json::as_object)
            .map(marker::without_entries)
            .unwrap_or_default(),
    );
    let metadata_empty = metadata.as_object().is_none_or(Map::is_empty);
    let tags = string_list(server.get("tags"));
    // Optional maps and sets stay null while neither the configuration
    // nor the cloud has any, so that an unset argument is never drift.
    let unset = |name: &str| prior.get_attr(name).is_none_or(Value::is_null);
    let image_id = server
        .get("image")
        .and_then(|i| i.get("id"))
        .cloned()
        .unwrap_or_else(|| json_attr(prior, "image_id"));
    let flavor = server.get("flavor");
    // From 2.47 Nova shows the flavor's copy without its id.
    let flavor_id = flavor
        .and_then(|f| f.get("id"))
        .cloned()
        .unwrap_or_else(|| json_attr(prior, "flavor_id"));
    let flavor_name = flavor
        .and_then(|f| f.get("original_name"))
        .cloned()
        .unwrap_or_else(|| json_attr(prior, "flavor_name"));
    let security_groups = string_list(Some(&Json::Array(
        server
            .get("security_groups")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g.get("name").cloned())
            .collect(),
    )));
    let mut state = json!({
        "id": server.get("id"),
        "region": region,
        "name": server.get("name"),
        "image_id": image_id,
        "image_name": json_attr(prior, "image_name"),
        "flavor_id": flavor_id,
        "flavor_name": flavor_name,
        "key_pair": server.get("key_name"),
        "security_groups": security_groups,
        "availability_zone": server.get("OS-EXT-AZ:availability_zone"),
        "user_data": json_attr(prior, "user_data"),
        "admin_pass": json_attr(prior, "admin_pass"),
        "metadata": if metadata_empty && unset("metadata") { Json::Null } else { metadata.clone() },
        "all_metadata": metadata,
        "tags": if tags.is_empty() && unset("tags") { Json::Null } else { json!(tags) },
        "all_tags": tags,
        "config_drive": json_attr(prior, "config_drive"),
        "network_mode": json_attr(prior, "network_mode"),
        "access_ip_v4": server.get("accessIPv4"),
        "access_ip_v6": server.get("accessIPv6"),
        "created": server.get("created"),
        "updated": server.get("updated"),
        "status": server.get("status"),
        "power_state": server.get("status").and_then(Json::as_str).map(power_state_of),
        "network": networks_of(server, ports, &seq(prior, "network")),
    });
    if let Json::Object(m) = &mut state {
        keep_timeouts(m, prior);
    }
    state
}

/// Whether Nova is deleting `server` (its delete was accepted) or has
/// soft-deleted it: it is on its way out, never a live server.
fn is_going(server: &Json) -> bool {
    let status = server.get("status").and_then(Json::as_str);
    let task = server.get("OS-EXT-STS:task_state").and_then(Json::as_str);
    matches!(status, Some("DELETED" | "SOFT_DELETED")) || task == Some("deleting")
}

impl Instance {
    fn value(&self, state: Json) -> Result<Value, ProviderError> {
        state_value(&self.schema, state)
    }

    /// Waits until a server whose delete Nova accepted is gone (or
    /// soft-deleted): a destroy that was interrupted after sending the
    /// delete is finished, and the server is never read as live.
    async fn finish_deleting(&self, client: &Client, current: &Value) -> Result<(), ProviderError> {
        let id = id_of(current)?;
        let limit = timeout(current, "delete", DEFAULT_TIMEOUT)?;
        poll(&format!("Server {id}'s deletion"), limit, || async {
            let gone = match self.fetch(client, &id).await? {
                None => true,
                Some(server) => server.get("status").and_then(Json::as_str) == Some("SOFT_DELETED"),
            };
            Ok(gone.then_some(()))
        })
        .await
    }

    /// `GET /servers/{id}`; `None` when it is gone.
    async fn fetch(&self, client: &Client, id: &str) -> Result<Option<Json>, ProviderError> {
        Ok(get_if_exists(
            client,
            Service::Compute,
            &format!("/servers/{id}"),
            &format!("Cannot read server {id}"),
        )
        .await?
        .and_then(|body| body.get("server").cloned())
        .filter(|s| s.get("status").and_then(Json::as_str) != Some("DELETED")))
    }

    /// The ports of the servers `ids`, in batches of [`PORTS_BATCH`].
    async fn ports_of(&self, client: &Client, ids: &[&str]) -> Result<Vec<Json>, ProviderError> {
        let mut ports = Vec::new();
        for batch in ids.chunks(PORTS_BATCH) {
            let mut path = String::from(
                "/ports?fields=id&fields=network_id&fields=mac_address&fields=fixed_ips&fields=device_id",
            );
            for id in batch {
                path.push_str("&device_id=");
                path.push_str(&query_escape(id));
            }
            let listed: Json = client
                .get_json(Service::Network, &path)
                .await
                .map_err(|e| failed("Cannot list the servers' ports", e))?;
            ports.extend(items(&listed, "ports").into_iter().cloned());
        }
        Ok(ports)
    }

    /// The state of server `server` as it is now, with its ports.
    async fn current(
        &self,
        client: &Client,
        server: &Json,
        prior: &Value,
        region: Json,
    ) -> Result<Value, ProviderError> {
        let id = server.get("id").and_then(Json::as_str).unwrap_or_default();
        let ports = self.ports_of(client, &[id]).await?;
        let ports: Vec<&Json> = ports.iter().collect();
        let state = state_of(server, &ports, prior, region);
        self.value(self.with_flavor_id(client, state, prior).await)
    }

    /// From 2.47 Nova shows a server's flavor by name only, so its id
    /// comes from the prior state; when the name changed (a resize made
    /// outside stackform), the id is looked up again.
    async fn with_flavor_id(&self, client: &Client, mut state: Json, prior: &Value) -> Json {
        let Some(before) = str_attr(prior, "flavor_name") else {
            return state;
        };
        let Some(now) = state["flavor_name"].as_str().map(str::to_string) else {
            return state;
        };
        if now != before {
            state["flavor_id"] = self
                .flavor_by_name(client, &now)
                .await
                .map_or(Json::Null, Json::String);
        }
        state
    }

    async fn image_by_name(&self, client: &Client, name: &str) -> Result<String, ProviderError> {
        let listed: Json = client
            .get_json(
                Service::Image,
                &format!("/images?name={}", query_escape(name)),
            )
            .await
            .map_err(|e| failed(&format!("Cannot look up image {name:?}"), e))?;
        the_one(items(&listed, "images"), "image", name, "image_id")
    }

    async fn image_name(&self, client: &Client, id: &str) -> Option<String> {
        let image: Json = client
            .get_json(Service::Image, &format!("/images/{id}"))
            .await
            .ok()?;
        image.get("name").and_then(Json::as_str).map(str::to_string)
    }

    async fn flavor_by_name(&self, client: &Client, name: &str) -> Result<String, ProviderError> {
        // Nova cannot filter flavors by name: list them all (public and
        // private ones the project may use) and pick.
        let listed: Json = client
            .get_json(Service::Compute, "/flavors/detail?is_public=None")
            .await
            .map_err(|e| failed(&format!("Cannot look up flavor {name:?}"), e))?;
        let found = items(&listed, "flavors")
            .into_iter()
            .filter(|f| f.get("name").and_then(Json::as_str) == Some(name))
            .collect();
        the_one(found, "flavor", name, "flavor_id")
    }

    async fn network_by_name(&self, client: &Client, name: &str) -> Result<String, ProviderError> {
        let listed: Json = client
            .get_json(
                Service::Network,
                &format!("/networks?name={}", query_escape(name)),
            )
            .await
            .map_err(|e| failed(&format!("Cannot look up network {name:?}"), e))?;
        the_one(items(&listed, "networks"), "network", name, "uuid")
    }

    /// Nova's `networks`: the blocks as `{uuid}`, `{port}` or `{uuid,
    /// fixed_ip}` (names resolved through Neutron), or `network_mode`'s
    /// bare string. With neither, `auto`: the project's one usable
    /// network, as Nova chose before 2.37 made `networks` required.
    async fn requested_networks(
        &self,
        client: &Client,
        planned: &Value,
    ) -> Result<Json, ProviderError> {
        let blocks = seq(planned, "network");
        if blocks.is_empty() {
            return Ok(json!(
                str_attr(planned, "network_mode").unwrap_or_else(|| "auto".into())
            ));
        }
        let mut nics = Vec::new();
        for block in &blocks {
            if let Some(port) = str_attr(block, "port") {
                nics.push(json!({ "port": port }));
                continue;
            }
            let uuid = match (str_attr(block, "uuid"), str_attr(block, "name")) {
                (Some(uuid), _) => uuid,
                (None, Some(name)) => self.network_by_name(client, &name).await?,
                (None, None) => {
                    return Err(invalid(
                        "Incomplete network block",
                        "Each network block needs uuid, name or port.".into(),
                    ));
                }
            };
            let mut nic = json!({ "uuid": uuid });
            if let Some(ip) = str_attr(block, "fixed_ip_v4") {
                nic["fixed_ip"] = json!(ip);
            }
            nics.push(nic);
        }
        Ok(Json::Array(nics))
    }

    /// The body of `POST /servers`, the marker among the metadata.
    async fn create_body(
        &self,
        client: &Client,
        planned: &Value,
        marker: &Marker,
    ) -> Result<Json, ProviderError> {
        let image_id = match (
            str_attr(planned, "image_id"),
            str_attr(planned, "image_name"),
        ) {
            (Some(id), _) => id,
            (None, Some(name)) => self.image_by_name(client, &name).await?,
            (None, None) => {
                return Err(invalid(
                    "No image",
                    "Set image_id or image_name: stackform boots servers from images.".into(),
                ));
            }
        };
        let flavor_id = match (
            str_attr(planned, "flavor_id"),
            str_attr(planned, "flavor_name"),
        ) {
            (Some(id), _) => id,
            (None, Some(name)) => self.flavor_by_name(client, &name).await?,
            (None, None) => {
                return Err(invalid("No flavor", "Set flavor_id or flavor_name.".into()));
            }
        };
        let mut server = Map::new();
        server.insert("name".into(), json_attr(planned, "name"));
        server.insert("imageRef".into(), json!(image_id));
        server.insert("flavorRef".into(), json!(flavor_id));
        server.insert(
            "networks".into(),
            self.requested_networks(client, planned).await?,
        );
        let optional = [
            ("key_pair", "key_name"),
            ("availability_zone", "availability_zone"),
            ("config_drive", "config_drive"),
            ("admin_pass", "adminPass"),
            ("tags", "tags"),
        ];
        for (attr, field) in optional {
            let v = json_attr(planned, attr);
            if !v.is_null() {
                server.insert(field.into(), v);
            }
        }
        let mut metadata = match json_attr(planned, "metadata") {
            Json::Object(m) => m,
            _ => Map::new(),
        };
        marker::add_entries(&mut metadata, marker);
        server.insert("metadata".into(), Json::Object(metadata));
        let groups = json_attr(planned, "security_groups");
        if let Json::Array(names) = groups {
            server.insert(
                "security_groups".into(),
                Json::Array(names.into_iter().map(|n| json!({ "name": n })).collect()),
            );
        }
        if let Some(text) = str_attr(planned, "user_data") {
            server.insert(
                "user_data".into(),
                json!(base64::engine::general_purpose::STANDARD.encode(text.as_bytes())),
            );
        }
        Ok(json!({ "server": server }))
    }

    /// Reads servers from `GET /servers/detail`, a page at a time.
    async fn list_servers(&self, client: &Client) -> Result<HashMap<String, Json>, ProviderError> {
        let mut by_id = HashMap::new();
        let mut marker: Option<String> = None;
        loop {
            let mut path = format!("/servers/detail?limit={SERVERS_PAGE}");
            if let Some(m) = &marker {
                path.push_str(&format!("&marker={}", query_escape(m)));
            }
            let listed: Json = client
                .get_json(Service::Compute, &path)
                .await
                .map_err(|e| failed("Cannot list servers", e))?;
            let page = items(&listed, "servers");
            let last = page
                .last()
                .and_then(|s| s.get("id"))
                .and_then(Json::as_str)
                .map(str::to_string);
            for s in page {
                if let Some(id) = s.get("id").and_then(Json::as_str) {
                    by_id.insert(id.to_string(), s.clone());
                }
            }
            let has_next = items(&listed, "servers_links")
                .iter()
                .any(|l| l.get("rel").and_then(Json::as_str) == Some("next"));
            match last {
                Some(last) if has_next => marker = Some(last),
                _ => return Ok(by_id),
            }
        }
    }

    /// The flavor id to resize to, when the planned flavor differs from
    /// the prior one.
    async fn new_flavor(
        &self,
        client: &Client,
        prior: &Value,
        planned: &Value,
    ) -> Result<Option<String>, ProviderError> {
        let (id_before, name_before) =
            (str_attr(prior, "flavor_id"), str_attr(prior, "flavor_name"));
        let wanted = match (
            str_attr(planned, "flavor_id"),
            str_attr(planned, "flavor_name"),
        ) {
            (Some(id), _) if Some(&id) != id_before.as_ref() => id,
            (_, Some(name)) if Some(&name) != name_before.as_ref() => {
                self.flavor_by_name(client, &name).await?
            }
            _ => return Ok(None),
        };
        Ok((Some(&wanted) != id_before.as_ref()).then_some(wanted))
    }

    /// Waits while the server builds; answers its final document.
    async fn wait_built(
        &self,
        client: &Client,
        id: &str,
        limit: Duration,
    ) -> Result<Json, ProviderError> {
        poll(&format!("Server {id}'s build"), limit, || async {
            let server = self.fetch(client, id).await?.ok_or_else(|| {
                invalid(
                    "Server vanished",
                    format!("Server {id} disappeared while it was being built."),
                )
            })?;
            let building = server.get("status").and_then(Json::as_str) == Some("BUILD");
            Ok((!building).then_some(server))
        })
        .await
    }
}

/// The error of a build that ended in another status than ACTIVE, with
/// Nova's fault.
fn build_failed(server: &Json, id: &str, create_request: &str) -> ProviderError {
    let status = server
        .get("status")
        .and_then(Json::as_str)
        .unwrap_or("UNKNOWN");
    let fault = server.get("fault");
    let message = fault
        .and_then(|f| f.get("message"))
        .and_then(Json::as_str)
        .filter(|m| !m.is_empty())
        .unwrap_or("Nova gave no fault message");
    let code = fault
        .and_then(|f| f.get("code"))
        .map_or_else(|| "none".to_string(), ToString::to_string);
    ProviderError::new(
        "Server build failed",
        format!(
            "Server {id} went to {status} instead of ACTIVE: {message} (fault code {code}; create request {create_request}). It is recorded as tainted: the next apply replaces it."
        ),
    )
}

/// What an in-place update from `before` to `after` does to a running
/// server, when it does more than change metadata: a new flavor makes
/// Nova resize it, which means a stop and a restart on the new flavor,
/// and a new power state may stop, pause or shelve it.
fn server_update_disruption(before: &Value, after: &Value) -> Option<String> {
    let mut reasons = Vec::new();
    let flavor_changed = ["flavor_id", "flavor_name"].iter().any(|attr| {
        let now = after.get_attr(attr).cloned().unwrap_or(Value::NULL);
        let was = before.get_attr(attr).cloned().unwrap_or(Value::NULL);
        // An unknown flavor is one only apply can tell: it may differ.
        !now.is_null() && !now.same_as(&was)
    });
    if flavor_changed {
        reasons.push(
            "the server is resized: Nova stops it, moves it to the new flavor and restarts it",
        );
    }
    let power_before = str_attr(before, "power_state").unwrap_or_else(|| "active".into());
    let power_after = after.get_attr("power_state").and_then(Value::as_str);
    if let Some(power_after) = power_after
        && power_after != power_before
    {
        match power_after {
            "shutoff" => reasons.push("the server is stopped"),
            "paused" => reasons.push("the server is paused"),
            "shelved_offloaded" => {
                reasons.push("the server is shelved: Nova stops it and removes it from its host")
            }
            _ => {}
        }
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

#[async_trait]
impl ResourceType for Instance {
    fn type_name(&self) -> &'static str {
        "openstack_compute_instance_v2"
    }

    fn provider(&self) -> &'static str {
        "openstack"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn update_disruption(&self, before: &Value, after: &Value) -> Option<String> {
        server_update_disruption(before, after)
    }

    fn plan(&self, prior: Option<&Value>, config: &Value) -> Result<PlannedState, ProviderError> {
        check_timeouts(config, TIMEOUTS)?;
        let configured_networks = seq(config, "network");
        if let Some(mode) = str_attr(config, "network_mode") {
            if mode != "auto" && mode != "none" {
                return Err(invalid(
                    "Invalid network_mode",
                    format!("network_mode is {mode:?}; it must be \"auto\" or \"none\"."),
                ));
            }
            if !configured_networks.is_empty() {
                return Err(invalid(
                    "Conflicting arguments",
                    "network_mode and network blocks cannot be used together: network_mode asks Nova to choose the networks.".into(),
                ));
            }
        }
        if let Some(wanted) = str_attr(config, "power_state")
            && !POWER_STATES.contains(&wanted.as_str())
        {
            return Err(invalid(
                "Invalid power_state",
                format!(
                    "power_state is {wanted:?}; it must be one of {}.",
                    POWER_STATES.map(|p| format!("{p:?}")).join(", ")
                ),
            ));
        }
        // Compare hashes: the state records the hash of the text.
        let raw_user_data = config.get_attr("user_data").cloned();
        let mut compared = match raw_user_data.as_ref().and_then(Value::as_str) {
            Some(text) => with_attr(config, "user_data", Value::string(user_data_hash(text))),
            None => config.clone(),
        };
        // Servers are wanted running unless the configuration says not.
        if config.get_attr("power_state").is_none_or(Value::is_null) {
            compared = with_attr(&compared, "power_state", Value::string("active"));
        }
        // What a network block leaves unset is read from the cloud: it
        // keeps its prior value, so only what the user set can differ.
        let prior_networks = prior.map(|p| seq(p, "network")).unwrap_or_default();
        let network_type = self.network_type();
        if prior.is_some() {
            let merged = if configured_networks.is_empty() {
                prior_networks.clone()
            } else if configured_networks.len() == prior_networks.len() {
                configured_networks
                    .iter()
                    .zip(&prior_networks)
                    .map(|(c, p)| {
                        let mut entries = c.as_entries().cloned().unwrap_or_default();
                        for (k, v) in entries.iter_mut() {
                            if v.is_null()
                                && let Some(before) = p.get_attr(k)
                            {
                                *v = before.clone();
                            }
                        }
                        Value::object(entries)
                    })
                    .collect()
            } else {
                configured_networks.clone()
            };
            compared = with_attr(
                &compared,
                "network",
                Value::list(network_type.clone(), merged),
            );
        }
        let mut planned = plan_by_schema(&self.schema, prior, &compared);
        let replacing = prior.is_none() || !planned.requires_replace.is_empty();
        // A resize by name learns the new flavor's id only when it runs,
        // and one by id its name.
        if let Some(prior) = prior.filter(|_| !replacing) {
            for (changed, follows) in [("flavor_name", "flavor_id"), ("flavor_id", "flavor_name")] {
                let now = planned
                    .planned
                    .get_attr(changed)
                    .cloned()
                    .unwrap_or(Value::NULL);
                let before = prior.get_attr(changed).cloned().unwrap_or(Value::NULL);
                let follows_configured = config.get_attr(follows).is_some_and(|v| !v.is_null());
                if !now.same_as(&before) && !follows_configured {
                    planned.planned =
                        with_attr(&planned.planned, follows, Value::Unknown(Type::String));
                }
            }
        }
        if replacing {
            // A new server: the text itself is needed to create it.
            if let Some(raw) = raw_user_data {
                planned.planned = with_attr(&planned.planned, "user_data", raw);
            }
            let networks = if configured_networks.is_empty() {
                Value::Unknown(Type::list(network_type.clone()))
            } else {
                let blocks = configured_networks
                    .iter()
                    .map(|c| {
                        let mut entries = c.as_entries().cloned().unwrap_or_default();
                        for v in entries.values_mut() {
                            if v.is_null() {
                                *v = Value::Unknown(Type::String);
                            }
                        }
                        Value::object(entries)
                    })
                    .collect();
                Value::list(network_type, blocks)
            };
            planned.planned = with_attr(&planned.planned, "network", networks);
        }
        Ok(planned)
    }

    async fn create(&self, planned: &Value, marker: &Marker) -> Result<Value, ApplyFailure> {
        let client = client(&self.session)
            .await
            .map_err(ApplyFailure::nothing_created)?;
        let limit =
            timeout(planned, "create", DEFAULT_TIMEOUT).map_err(ApplyFailure::nothing_created)?;
        let body = self
            .create_body(&client, planned, marker)
            .await
            .map_err(ApplyFailure::nothing_created)?;
        let response = client
            .send(Request::new(Service::Compute, Method::POST, "/servers").json(&body))
            .await
            .map_err(|e| create_failed("Cannot create the server", e))?;
        let create_request = response.request_id.clone();
        let created: Json = response.json().map_err(|e| {
            ProviderError::new(
                "Unexpected answer from the cloud",
                format!("Nova's answer to the create (request {create_request}) is not JSON: {e}."),
            )
        })?;
        let id = created
            .get("server")
            .and_then(|s| s.get("id"))
            .and_then(Json::as_str)
            .ok_or_else(|| {
                ProviderError::new(
                    "Unexpected answer from the cloud",
                    format!(
                        "Nova's answer to the create (request {create_request}) has no server id."
                    ),
                )
            })?
            .to_string();
        // What the state records of the configuration: the hash of the
        // user data, never the text.
        let mut recorded = planned.clone();
        if let Some(text) = str_attr(planned, "user_data") {
            recorded = with_attr(&recorded, "user_data", Value::string(user_data_hash(&text)));
        }
        // The ids a name resolved to, for what Nova does not show (the
        // flavor's id, from 2.47) and in case the build fails.
        for (attr, field) in [("image_id", "imageRef"), ("flavor_id", "flavorRef")] {
            if let Some(resolved) = body["server"][field].as_str() {
                recorded = with_attr(&recorded, attr, Value::string(resolved));
            }
        }
        if str_attr(&recorded, "image_name").is_none()
            && let Some(image_id) = body["server"]["imageRef"].as_str()
            && let Some(name) = self.image_name(&client, image_id).await
        {
            recorded = with_attr(&recorded, "image_name", Value::string(name));
        }
        let region = region_of(&client, planned);
        // The server exists from here on: every failure records it.
        let partial = |server: Option<&Json>| {
            let server = server.cloned().unwrap_or_else(
                || json!({"id": id, "name": json_attr(planned, "name"), "status": "BUILD"}),
            );
            self.value(state_of(&server, &[], &recorded, region.clone()))
                .ok()
        };
        let server = match self.wait_built(&client, &id, limit).await {
            Ok(server) => server,
            Err(e) => {
                return Err(ApplyFailure {
                    error: ProviderError::new(
                        e.summary,
                        format!(
                            "{} Server {id} (create request {create_request}) is recorded as tainted: the next apply replaces it.",
                            e.detail
                        ),
                    ),
                    partial: partial(None),
                    may_exist: true,
                });
            }
        };
        if server.get("status").and_then(Json::as_str) != Some("ACTIVE") {
            return Err(ApplyFailure {
                error: build_failed(&server, &id, &create_request),
                partial: partial(Some(&server)),
                may_exist: true,
            });
        }
        let power_state = str_attr(planned, "power_state").unwrap_or_else(|| "active".into());
        let server = if power_state == "active" {
            server
        } else {
            let changed = async {
                set_power_state(&client, &id, &power_state, limit).await?;
                self.fetch(&client, &id).await?.ok_or_else(|| {
                    invalid(
                        "Server vanished",
                        format!("Server {id} disappeared after it was built."),
                    )
                })
            };
            match changed.await {
                Ok(server) => server,
                Err(error) => {
                    return Err(ApplyFailure {
                        error,
                        partial: partial(Some(&server)),
                        may_exist: true,
                    });
                }
            }
        };
        match self
            .current(&client, &server, &recorded, region.clone())
            .await
        {
            Ok(state) => Ok(state),
            Err(error) => Err(ApplyFailure {
                error,
                partial: partial(Some(&server)),
                may_exist: true,
            }),
        }
    }

    /// Metadata keys the configuration never had are left alone, the
    /// marker's among them.
    async fn update(
        &self,
        prior: &Value,
        planned: &Value,
        _marker: &Marker,
    ) -> Result<Value, ApplyFailure> {
        let client = client(&self.session).await?;
        let id = id_of(prior)?;
        let limit = timeout(planned, "update", DEFAULT_TIMEOUT)?;
        let mut recorded = planned.clone();
        if let Some(flavor_id) = self.new_flavor(&client, prior, planned).await? {
            resize(&client, &id, &flavor_id, limit).await?;
            recorded = with_attr(&recorded, "flavor_id", Value::string(flavor_id));
        }
        let power_state = str_attr(planned, "power_state").unwrap_or_else(|| "active".into());
        let new_password = str_attr(planned, "admin_pass")
            .filter(|p| Some(p) != str_attr(prior, "admin_pass").as_ref());
        // Nova changes passwords of active servers only: before the
        // server stops, or after it starts.
        let active_before = str_attr(prior, "power_state").as_deref() == Some("active");
        if let Some(password) = new_password.as_deref().filter(|_| active_before) {
            change_password(&client, &id, password).await?;
        }
        if str_attr(prior, "power_state").as_deref() != Some(power_state.as_str()) {
            set_power_state(&client, &id, &power_state, limit).await?;
        }
        if let Some(password) = new_password.as_deref().filter(|_| !active_before) {
            change_password(&client, &id, password).await?;
        }
        let groups = |v: &Value| string_list(Some(&json_attr(v, "security_groups")));
        if json_attr(planned, "security_groups").is_array() && groups(prior) != groups(planned) {
            change_security_groups(&client, &id, &groups(prior), &groups(planned)).await?;
        }
        let name = json_attr(planned, "name");
        if name != json_attr(prior, "name") {
            client
                .put_json::<Json>(
                    Service::Compute,
                    &format!("/servers/{id}"),
                    &json!({"server": {"name": name}}),
                )
                .await
                .map_err(|e| apply_failed(&format!("Cannot rename server {id}"), e))?;
        }
        let as_map = |v: &Value| match json_attr(v, "metadata") {
            Json::Object(m) => m,
            _ => Map::new(),
        };
        let (before, after) = (as_map(prior), as_map(planned));
        for key in before.keys().filter(|k| !after.contains_key(*k)) {
            match client
                .delete(
                    Service::Compute,
                    &format!("/servers/{id}/metadata/{}", query_escape(key)),
                )
                .await
            {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    return Err(apply_failed(
                        &format!("Cannot remove metadata key {key:?} of server {id}"),
                        e,
                    ));
                }
            }
        }
        let changed: Map<String, Json> = after
            .iter()
            .filter(|(k, v)| before.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !changed.is_empty() {
            client
                .post_json::<Json>(
                    Service::Compute,
                    &format!("/servers/{id}/metadata"),
                    &json!({ "metadata": changed }),
                )
                .await
                .map_err(|e| apply_failed(&format!("Cannot set the metadata of server {id}"), e))?;
        }
        let tags = |v: &Value| string_list(Some(&json_attr(v, "tags")));
        if tags(prior) != tags(planned) {
            // Replace-all (2.26 and later; the client's default is newer).
            client
                .put_json::<Json>(
                    Service::Compute,
                    &format!("/servers/{id}/tags"),
                    &json!({ "tags": tags(planned) }),
                )
                .await
                .map_err(|e| apply_failed(&format!("Cannot set the tags of server {id}"), e))?;
        }
        let server = self.fetch(&client, &id).await?.ok_or_else(|| {
            ProviderError::new(
                "Server vanished",
                format!("Server {id} disappeared while it was updated."),
            )
        })?;
        Ok(self
            .current(&client, &server, &recorded, json_attr(prior, "region"))
            .await?)
    }

    async fn delete(&self, prior: &Value) -> Result<(), ProviderError> {
        let client = client(&self.session).await?;
        let id = id_of(prior)?;
        let limit = timeout(prior, "delete", DEFAULT_TIMEOUT)?;
        match client
            .delete(Service::Compute, &format!("/servers/{id}"))
            .await
        {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => return Err(failed(&format!("Cannot delete server {id}"), e)),
        }
        // Nova deletes asynchronously: wait until the server is gone, so
        // that what depends on it (its network, its ports) can go too.
        poll(&format!("Server {id}'s deletion"), limit, || async {
            Ok(self.fetch(&client, &id).await?.is_none().then_some(()))
        })
        .await
    }

    async fn read(&self, current: &Value) -> Result<Option<Value>, ProviderError> {
        let client = client(&self.session).await?;
        let id = id_of(current)?;
        let Some(server) = self.fetch(&client, &id).await? else {
            return Ok(None);
        };
        if is_going(&server) {
            self.finish_deleting(&client, current).await?;
            return Ok(None);
        }
        self.current(&client, &server, current, json_attr(current, "region"))
            .await
            .map(Some)
    }

    async fn import(&self, id: &str) -> Result<Option<Value>, ProviderError> {
        let client = client(&self.session).await?;
        let Some(server) = self.fetch(&client, id).await? else {
            return Ok(None);
        };
        let mut known = BTreeMap::new();
        // From 2.47 servers show a copy of their flavor without its id;
        // 2.46 still names it.
        if let Ok(r) = client
            .send(
                Request::new(Service::Compute, Method::GET, format!("/servers/{id}"))
                    .microversion("2.46"),
            )
            .await
            && let Ok(older) = r.json::<Json>()
            && let Some(flavor_id) = older["server"]["flavor"]["id"].as_str()
        {
            known.insert("flavor_id".to_string(), Value::string(flavor_id));
        }
        if let Some(image_id) = server["image"]["id"].as_str()
            && let Some(name) = self.image_name(&client, image_id).await
        {
            known.insert("image_name".to_string(), Value::string(name));
        }
        // Administrators see the user data (base64): record its hash.
        if let Some(encoded) = server["OS-EXT-SRV-ATTR:user_data"].as_str()
            && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded.trim())
        {
            let text = String::from_utf8_lossy(&bytes);
            known.insert(
                "user_data".to_string(),
                Value::string(user_data_hash(&text)),
            );
        }
        let region = region_of(&client, &Value::NULL);
        self.current(&client, &server, &Value::object(known), region)
            .await
            .map(Some)
    }

    /// Nova cannot filter lists by metadata: the project's servers are
    /// listed (a page at a time, as refresh lists them) and their metadata
    /// read here.
    fn delete_command(&self, id: &str) -> Option<String> {
        Some(format!("openstack server delete {id}"))
    }

    /// Nova builds the server whoever waits: wait as the create would
    /// have, and call it complete if it became usable.
    async fn finish_create(&self, id: &str) -> Result<bool, ProviderError> {
        let client = client(&self.session).await?;
        // The listing find_marked kept for refresh shows the server still
        // building: after waiting, it is out of date.
        *self.listed.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let status = poll(&format!("Server {id}'s build"), DEFAULT_TIMEOUT, || async {
            Ok(match self.fetch(&client, id).await? {
                // Gone: nothing to adopt.
                None => Some(None),
                Some(s) => match s.get("status").and_then(Json::as_str) {
                    Some("BUILD") => None,
                    other => Some(other.map(str::to_string)),
                },
            })
        })
        .await?;
        Ok(status.is_some_and(|s| s != "ERROR"))
    }

    async fn find_marked(&self, lineage: &str) -> Result<Vec<MarkedObject>, ProviderError> {
        let client = client(&self.session).await?;
        let listed = self.list_servers(&client).await?;
        let found: Vec<MarkedObject> = listed
            .values()
            .filter(|s| !is_going(s))
            .filter_map(|s| {
                let marker = marker::from_entries(s.get("metadata")?.as_object()?)?;
                let id = s.get("id")?.as_str()?.to_string();
                let status = s.get("status").and_then(Json::as_str);
                (marker.lineage == lineage).then(|| MarkedObject {
                    marker,
                    id,
                    name: s.get("name").and_then(Json::as_str).map(str::to_string),
                    // Still building, or failed to build.
                    complete: !matches!(status, Some("BUILD" | "ERROR")),
                })
            })
            .collect();
        *self.listed.lock().unwrap_or_else(|e| e.into_inner()) = Some(listed);
        let mut found = found;
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    fn reads_in_bulk(&self) -> bool {
        true
    }

    /// One `GET /servers/detail` per page of servers and one Neutron
    /// ports list per [`PORTS_BATCH`] servers, whatever their number;
    /// only servers the list lacks are read one by one (to tell deleted
    /// from another project's).
    async fn read_all(&self, current: &[Value]) -> Result<Vec<Option<Value>>, ProviderError> {
        let client = client(&self.session).await?;
        let cached = self.listed.lock().unwrap_or_else(|e| e.into_inner()).take();
        let mut listed = match cached {
            Some(listed) => listed,
            None => self.list_servers(&client).await?,
        };
        let mut servers = Vec::with_capacity(current.len());
        for c in current {
            let id = id_of(c)?;
            let server = match listed.remove(&id) {
                Some(s) => Some(s),
                None => self.fetch(&client, &id).await?,
            };
            let server = match server {
                Some(s) if is_going(&s) => {
                    self.finish_deleting(&client, c).await?;
                    None
                }
                other => other,
            };
            servers.push(server);
        }
        let ids: Vec<&str> = servers
            .iter()
            .flatten()
            .filter_map(|s| s.get("id").and_then(Json::as_str))
            .collect();
        let ports = self.ports_of(&client, &ids).await?;
        let mut ports_by_server: HashMap<&str, Vec<&Json>> = HashMap::new();
        for p in &ports {
            if let Some(device) = p.get("device_id").and_then(Json::as_str) {
                ports_by_server.entry(device).or_default().push(p);
            }
        }
        let mut read = Vec::with_capacity(current.len());
        for (c, server) in current.iter().zip(&servers) {
            read.push(match server {
                None => None,
                Some(s) => {
                    let id = s.get("id").and_then(Json::as_str).unwrap_or_default();
                    let ports = ports_by_server.get(id).map_or(&[][..], Vec::as_slice);
                    let state = state_of(s, ports, c, json_attr(c, "region"));
                    Some(self.value(self.with_flavor_id(&client, state, c).await)?)
                }
            });
        }
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_data_is_recorded_as_its_sha1_in_hex() {
        // The FIPS 180 test vector.
        assert_eq!(
            user_data_hash("abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    fn server(flavor_id: Value, flavor_name: &str, power_state: &str) -> Value {
        Value::object(
            [
                ("id".to_string(), Value::from("s1")),
                ("flavor_id".to_string(), flavor_id),
                ("flavor_name".to_string(), Value::from(flavor_name)),
                ("power_state".to_string(), Value::from(power_state)),
                ("name".to_string(), Value::from("web")),
            ]
            .into(),
        )
    }

    #[test]
    fn resizing_stopping_pausing_and_shelving_disrupt_the_server() {
        let running = server("1".into(), "m1.tiny", "active");
        let resized = server(Value::Unknown(Type::String), "m1.small", "active");
        assert_eq!(
            server_update_disruption(&running, &resized).as_deref(),
            Some(
                "the server is resized: Nova stops it, moves it to the new flavor and restarts it"
            )
        );
        assert_eq!(
            server_update_disruption(&running, &server("1".into(), "m1.tiny", "shutoff"))
                .as_deref(),
            Some("the server is stopped")
        );
        assert_eq!(
            server_update_disruption(&running, &server("1".into(), "m1.tiny", "paused")).as_deref(),
            Some("the server is paused")
        );
        let both = server_update_disruption(
            &running,
            &server("2".into(), "m1.small", "shelved_offloaded"),
        )
        .unwrap_or_default();
        assert!(both.starts_with("the server is resized"), "{both}");
        assert!(
            both.ends_with("the server is shelved: Nova stops it and removes it from its host"),
            "{both}"
        );
    }

    #[test]
    fn starting_a_server_or_renaming_it_disrupts_nothing() {
        let stopped = server("1".into(), "m1.tiny", "shutoff");
        assert_eq!(
            server_update_disruption(&stopped, &server("1".into(), "m1.tiny", "active")),
            None
        );
        let renamed = with_attr(&stopped, "name", Value::from("web-2"));
        assert_eq!(server_update_disruption(&stopped, &renamed), None);
        // Already stopped: staying stopped is no news.
        assert_eq!(server_update_disruption(&stopped, &stopped), None);
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(query_escape("web a/b&c"), "web%20a%2Fb%26c");
        assert_eq!(query_escape("net-1_x.y~"), "net-1_x.y~");
    }
}
