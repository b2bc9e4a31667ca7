//! Networks and their IP availability.

use super::collection::Collection;
use super::common::{
    Attr, Check, ListContext, ListQuery, Prepared, attr, check_revision, created_response, error,
    invalid_input, list_response, new_id, policy_denied, policy_rule, prepare, strings, wrap,
};
use super::{AVAILABILITY_ZONE, network_visible, next_seq, ports, security_groups};
use crate::devcloud::error::{ApiError, ApiResult};
use crate::devcloud::ipam;
use crate::devcloud::model::{Data, Network};
use crate::devcloud::server::{App, Auth};
use crate::devcloud::time::now_iso;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The attributes of a network, core first, then the extensions'.
const ATTRS: &[Attr] = &[
    attr("id", false, false, Check::Uuid),
    attr("name", true, true, Check::Str(255)),
    attr("subnets", false, false, Check::Any),
    attr("admin_state_up", true, true, Check::Bool),
    attr("status", false, false, Check::Any),
    attr("tenant_id", true, false, Check::Str(255)),
    attr("shared", true, true, Check::Bool),
    attr("project_id", true, false, Check::Str(255)),
    attr("router:external", true, true, Check::Bool),
    attr("mtu", true, true, Check::NonNegInt),
    attr("port_security_enabled", true, true, Check::Bool),
    attr("availability_zone_hints", true, false, Check::StrList(255)),
    attr("availability_zones", false, false, Check::Any),
    attr("description", true, true, Check::Str(255)),
    attr("provider:network_type", true, true, Check::OptStr(255)),
    attr("provider:physical_network", true, true, Check::OptStr(64)),
    attr("provider:segmentation_id", true, true, Check::Int),
    attr("is_default", true, true, Check::Bool),
    attr("ipv4_address_scope", false, false, Check::Any),
    attr("ipv6_address_scope", false, false, Check::Any),
    // Neutron takes tags at creation for ports only (its tagging
    // extension); other objects get them through `/tags`.
    attr("tags", false, false, Check::StrList(255)),
    attr("created_at", false, false, Check::Any),
    attr("updated_at", false, false, Check::Any),
    attr("revision_number", false, false, Check::Any),
];

/// Attributes only admins may set (`enforce_policy` with admin rules).
const ADMIN_ATTRS: &[&str] = &[
    "shared",
    "router:external",
    "provider:network_type",
    "provider:physical_network",
    "provider:segmentation_id",
    "is_default",
];

/// What a network list may be filtered and sorted on.
const KEYS: &[&str] = &[
    "id",
    "name",
    "tenant_id",
    "project_id",
    "admin_state_up",
    "mtu",
    "status",
    "subnets",
    "shared",
    "availability_zone_hints",
    "availability_zones",
    "ipv4_address_scope",
    "ipv6_address_scope",
    "router:external",
    "description",
    "port_security_enabled",
    "is_default",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
    "provider:network_type",
    "provider:physical_network",
    "provider:segmentation_id",
];

/// Owners of ports deleted with their network rather than blocking it.
pub const AUTO_DELETE_OWNERS: &[&str] = &[
    "network:dhcp",
    "network:router_ha_interface",
    "network:ha_router_replicated_interface",
    "network:floatingip_agent_gateway",
    "network:distributed",
];

pub fn not_found(id: &str) -> ApiError {
    error(
        StatusCode::NOT_FOUND,
        "NetworkNotFound",
        format!("Network {id} could not be found."),
    )
}

/// The MTU ML2 gives a network of this type (physical MTU 1500 minus
/// the encapsulation overhead).
fn max_mtu(network_type: &str) -> i64 {
    match network_type {
        "vxlan" => 1450,
        "geneve" => 1442,
        "gre" => 1458,
        _ => 1500,
    }
}

/// A network as Neutron renders it; provider attributes only for admins.
pub fn render(d: &Data, n: &Network, admin: bool) -> Map<String, Value> {
    let mut subnets: Vec<(u64, &str)> = d
        .subnets
        .values()
        .filter(|s| s.network_id == n.id)
        .map(|s| (s.seq, s.id.as_str()))
        .collect();
    subnets.sort();
    let subnet_ids: Vec<&str> = subnets.into_iter().map(|(_, id)| id).collect();
    let mut m = Map::new();
    m.insert("id".into(), json!(n.id));
    m.insert("name".into(), json!(n.name));
    m.insert("tenant_id".into(), json!(n.project_id));
    m.insert("admin_state_up".into(), json!(n.admin_state_up));
    m.insert("mtu".into(), json!(n.mtu));
    m.insert("status".into(), json!(n.status));
    m.insert("subnets".into(), json!(subnet_ids));
    m.insert("shared".into(), json!(n.shared));
    m.insert(
        "availability_zone_hints".into(),
        json!(n.availability_zone_hints),
    );
    m.insert("availability_zones".into(), json!([AVAILABILITY_ZONE]));
    m.insert("ipv4_address_scope".into(), Value::Null);
    m.insert("ipv6_address_scope".into(), Value::Null);
    m.insert("router:external".into(), json!(n.external));
    m.insert("description".into(), json!(n.description));
    m.insert(
        "port_security_enabled".into(),
        json!(n.port_security_enabled),
    );
    if n.external {
        // The auto-allocated-topology extension only says this of
        // external networks.
        m.insert("is_default".into(), json!(n.is_default));
    }
    m.insert("tags".into(), json!(n.tags));
    m.insert("created_at".into(), json!(n.created_at));
    m.insert("updated_at".into(), json!(n.updated_at));
    m.insert("revision_number".into(), json!(n.revision_number));
    m.insert("project_id".into(), json!(n.project_id));
    if admin {
        m.insert("provider:network_type".into(), json!(n.network_type));
        m.insert(
            "provider:physical_network".into(),
            json!(n.physical_network),
        );
        m.insert("provider:segmentation_id".into(), json!(n.segmentation_id));
    }
    m
}

/// The attributes in `item` that need the admin rule, in map order.
fn enforced<'a>(item: &Map<String, Value>, create: bool) -> Vec<&'a str> {
    ADMIN_ATTRS
        .iter()
        .copied()
        .filter(|a| match item.get(*a) {
            None => false,
            // On create an attribute equal to its default is not checked.
            Some(Value::Bool(false)) if create && (*a == "shared" || *a == "is_default") => false,
            Some(_) => true,
        })
        .collect()
}

/// The provider attributes a network ends up with: what an admin asked
/// for (checked as ML2's type drivers do) or the next free VXLAN VNI.
fn provider_segment(
    d: &Data,
    item: &Map<String, Value>,
    current: Option<&Network>,
) -> ApiResult<(String, Option<String>, Option<u32>)> {
    let asked_type = item.get("provider:network_type").and_then(Value::as_str);
    let asked_physnet = item
        .get("provider:physical_network")
        .and_then(Value::as_str)
        .map(str::to_string);
    let asked_segment = item.get("provider:segmentation_id").and_then(Value::as_i64);
    let touched = item.contains_key("provider:network_type")
        || item.contains_key("provider:physical_network")
        || item.contains_key("provider:segmentation_id");
    if !touched && let Some(n) = current {
        return Ok((
            n.network_type.clone(),
            n.physical_network.clone(),
            n.segmentation_id,
        ));
    }
    let network_type = asked_type
        .map(str::to_string)
        .or_else(|| current.map(|n| n.network_type.clone()))
        .unwrap_or_else(|| "vxlan".to_string());
    let others = d
        .networks
        .values()
        .filter(|n| current.is_none_or(|c| c.id != n.id));
    match network_type.as_str() {
        "flat" => {
            let Some(physnet) = asked_physnet else {
                return Err(invalid_input(
                    "physical_network required for flat provider network",
                ));
            };
            if asked_segment.is_some() {
                return Err(invalid_input(
                    "segmentation_id specified for flat provider network",
                ));
            }
            if others.clone().any(|n| {
                n.network_type == "flat" && n.physical_network.as_deref() == Some(&physnet)
            }) {
                return Err(error(
                    StatusCode::CONFLICT,
                    "FlatNetworkInUse",
                    format!(
                        "Unable to create the flat network. Physical network {physnet} is in use."
                    ),
                ));
            }
            Ok((network_type, Some(physnet), None))
        }
        "vlan" => {
            let Some(physnet) = asked_physnet else {
                return Err(invalid_input(
                    "physical_network required for VLAN provider network",
                ));
            };
            let Some(vlan) = asked_segment else {
                return Err(no_network_available());
            };
            if !(1..=4094).contains(&vlan) {
                return Err(invalid_input(
                    "segmentation_id out of range (1 through 4094)",
                ));
            }
            if others.clone().any(|n| {
                n.network_type == "vlan"
                    && n.physical_network.as_deref() == Some(&physnet)
                    && n.segmentation_id == Some(vlan as u32)
            }) {
                return Err(error(
                    StatusCode::CONFLICT,
                    "VlanIdInUse",
                    format!(
                        "Unable to create the network. The VLAN {vlan} on physical network {physnet} is in use."
                    ),
                ));
            }
            Ok((network_type, Some(physnet), Some(vlan as u32)))
        }
        "vxlan" | "geneve" | "gre" => {
            if asked_physnet.is_some() {
                return Err(invalid_input(format!(
                    "provider:physical_network specified for {} network",
                    network_type.to_uppercase()
                )));
            }
            let max: i64 = if network_type == "gre" {
                u32::MAX as i64
            } else {
                (1 << 24) - 1
            };
            let used: BTreeSet<u32> = others
                .filter(|n| n.network_type == network_type)
                .filter_map(|n| n.segmentation_id)
                .collect();
            let segment = match asked_segment {
                Some(id) => {
                    if !(1..=max).contains(&id) {
                        return Err(invalid_input(format!(
                            "{network_type} segmentation_id out of range (1 through {max})"
                        )));
                    }
                    if used.contains(&(id as u32)) {
                        return Err(error(
                            StatusCode::CONFLICT,
                            "TunnelIdInUse",
                            format!("Unable to create the network. The tunnel ID {id} is in use."),
                        ));
                    }
                    id as u32
                }
                // DevStack's tenant range is 1:1000.
                None => (1..=1000u32)
                    .find(|id| !used.contains(id))
                    .ok_or_else(no_network_available)?,
            };
            Ok((network_type, None, Some(segment)))
        }
        "local" => {
            if asked_physnet.is_some() || asked_segment.is_some() {
                return Err(invalid_input(
                    "provider:physical_network and provider:segmentation_id specified for local network",
                ));
            }
            Ok((network_type, None, None))
        }
        other => Err(invalid_input(format!(
            "network_type value '{other}' not supported"
        ))),
    }
}

fn no_network_available() -> ApiError {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "NoNetworkAvailable",
        "Unable to create the network. No tenant network is available for allocation.",
    )
}

fn check_mtu(mtu: i64, network_type: &str) -> ApiResult<()> {
    let max = max_mtu(network_type);
    if mtu > max {
        return Err(invalid_input(format!(
            "Requested MTU is too big, maximum is {max}"
        )));
    }
    Ok(())
}

fn check_zones(item: &Map<String, Value>) -> ApiResult<()> {
    for zone in strings(item.get("availability_zone_hints").unwrap_or(&Value::Null)) {
        if zone != AVAILABILITY_ZONE {
            return Err(error(
                StatusCode::NOT_FOUND,
                "AvailabilityZoneNotFound",
                format!("AvailabilityZone {zone} could not be found."),
            ));
        }
    }
    Ok(())
}

fn create_one(d: &mut Data, item: &Map<String, Value>) -> ApiResult<String> {
    let text = |k: &str| {
        item.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let flag = |k: &str, default: bool| item.get(k).and_then(Value::as_bool).unwrap_or(default);
    let project = text("project_id");
    check_zones(item)?;
    let (network_type, physical_network, segmentation_id) = provider_segment(d, item, None)?;
    let mtu = match item.get("mtu").and_then(Value::as_i64) {
        Some(m) => {
            check_mtu(m, &network_type)?;
            m as u32
        }
        None => max_mtu(&network_type) as u32,
    };
    let now = now_iso();
    let network = Network {
        id: new_id(),
        name: text("name"),
        project_id: project.clone(),
        admin_state_up: flag("admin_state_up", true),
        mtu,
        status: "ACTIVE".into(),
        shared: flag("shared", false),
        external: flag("router:external", false),
        description: text("description"),
        tags: strings(item.get("tags").unwrap_or(&Value::Null)),
        port_security_enabled: flag("port_security_enabled", true),
        dns_domain: String::new(),
        availability_zone_hints: strings(
            item.get("availability_zone_hints").unwrap_or(&Value::Null),
        ),
        is_default: flag("is_default", false),
        network_type,
        segmentation_id,
        created_at: now.clone(),
        updated_at: now,
        // ML2 updates the network once more after creating its segment.
        revision_number: 1,
        physical_network,
        seq: next_seq(d.networks.values().map(|n| n.seq)),
    };
    let id = network.id.clone();
    d.networks.insert(id.clone(), network);
    security_groups::ensure_default(d, &project);
    Ok(id)
}

pub async fn create(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let Prepared { items, bulk } = prepare(&body, "network", "networks", ATTRS, true, &auth)?;
    if !auth.is_admin() {
        for item in &items {
            let attrs = enforced(item, true);
            if !attrs.is_empty() {
                return Err(policy_denied(&policy_rule("create_network", &attrs)));
            }
        }
    }
    let admin = auth.is_admin();
    let docs = app.store.write(|d| -> ApiResult<Vec<Value>> {
        let mut created: Vec<String> = Vec::new();
        for item in &items {
            match create_one(d, item) {
                Ok(id) => created.push(id),
                Err(e) => {
                    // Bulk create is all or nothing.
                    for id in &created {
                        d.networks.remove(id);
                    }
                    return Err(e);
                }
            }
        }
        Ok(created
            .iter()
            .filter_map(|id| d.networks.get(id))
            .map(|n| Value::Object(render(d, n, admin)))
            .collect())
    })?;
    Ok(created_response("network", "networks", bulk, docs))
}

/// Refuses to stop sharing a network other projects use.
fn check_unshare(d: &Data, n: &Network) -> ApiResult<()> {
    let mut users: BTreeSet<&str> = d
        .ports
        .values()
        .filter(|p| p.network_id == n.id && !p.device_owner.starts_with("network:"))
        .map(|p| p.project_id.as_str())
        .collect();
    users.extend(
        d.subnets
            .values()
            .filter(|s| s.network_id == n.id)
            .map(|s| s.project_id.as_str()),
    );
    if users.iter().any(|p| *p != n.project_id) {
        return Err(error(
            StatusCode::CONFLICT,
            "InvalidSharedSetting",
            format!(
                "Unable to reconfigure sharing settings for network {}. Multiple tenants are using it.",
                n.name
            ),
        ));
    }
    Ok(())
}

pub async fn update(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let Prepared { items, .. } = prepare(&body, "network", "networks", ATTRS, false, &auth)?;
    let item = items.into_iter().next().unwrap_or_default();
    let admin = auth.is_admin();
    app.store.write(|d| {
        let current = d
            .networks
            .get(&id)
            .filter(|n| network_visible(n, &auth))
            .ok_or_else(|| not_found(&id))?;
        check_revision(&headers, current.revision_number)?;
        let attrs = enforced(&item, false);
        if !auth.owns(&current.project_id) || (!admin && !attrs.is_empty()) {
            return Err(policy_denied(&policy_rule("update_network", &attrs)));
        }
        check_zones(&item)?;
        let (network_type, physical_network, segmentation_id) =
            provider_segment(d, &item, Some(current))?;
        if let Some(mtu) = item.get("mtu").and_then(Value::as_i64) {
            check_mtu(mtu, &network_type)?;
        }
        if item.get("shared") == Some(&Value::Bool(false)) && current.shared {
            check_unshare(d, current)?;
        }
        let Some(n) = d.networks.get_mut(&id) else {
            return Err(not_found(&id));
        };
        let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
        let flag = |k: &str| item.get(k).and_then(Value::as_bool);
        if let Some(v) = text("name") {
            n.name = v;
        }
        if let Some(v) = text("description") {
            n.description = v;
        }
        if let Some(v) = flag("admin_state_up") {
            n.admin_state_up = v;
        }
        if let Some(v) = flag("shared") {
            n.shared = v;
        }
        if let Some(v) = flag("router:external") {
            n.external = v;
        }
        if let Some(v) = flag("port_security_enabled") {
            n.port_security_enabled = v;
        }
        if let Some(v) = flag("is_default") {
            n.is_default = v;
        }
        if let Some(v) = item.get("mtu").and_then(Value::as_i64) {
            n.mtu = v as u32;
        }
        n.network_type = network_type;
        n.physical_network = physical_network;
        n.segmentation_id = segmentation_id;
        n.revision_number += 1;
        n.updated_at = now_iso();
        let n = n.clone();
        Ok(Json(wrap("network", render(d, &n, admin))))
    })
}

pub async fn delete(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    app.store.write(|d| {
        let n = d
            .networks
            .get(&id)
            .filter(|n| network_visible(n, &auth))
            .ok_or_else(|| not_found(&id))?;
        check_revision(&headers, n.revision_number)?;
        if !auth.owns(&n.project_id) {
            return Err(policy_denied(&policy_rule("delete_network", &[])));
        }
        let in_use = d
            .ports
            .values()
            .any(|p| p.network_id == id && !AUTO_DELETE_OWNERS.contains(&p.device_owner.as_str()));
        if in_use {
            return Err(error(
                StatusCode::CONFLICT,
                "NetworkInUse",
                format!(
                    "Unable to complete operation on network {id}. There are one or more ports still in use on the network."
                ),
            ));
        }
        let auto_ports: Vec<String> = d
            .ports
            .values()
            .filter(|p| p.network_id == id)
            .map(|p| p.id.clone())
            .collect();
        for port in auto_ports {
            ports::release(d, &port, true);
        }
        d.subnets.retain(|_, s| s.network_id != id);
        d.networks.remove(&id);
        Ok(StatusCode::NO_CONTENT)
    })
}

/// Addresses in a subnet's pools, and addresses allocated in it.
fn subnet_availability(d: &Data, subnet: &crate::devcloud::model::Subnet) -> (u128, u128) {
    let total: u128 = subnet
        .allocation_pools
        .iter()
        .filter_map(|p| {
            let first = ipam::to_u128(p.start.parse().ok()?);
            let last = ipam::to_u128(p.end.parse().ok()?);
            (first <= last)
                .then(|| last - first)
                .map(|n| n.saturating_add(1))
        })
        .fold(0u128, u128::saturating_add);
    let used = d
        .ports
        .values()
        .flat_map(|p| &p.fixed_ips)
        .filter(|ip| ip.subnet_id == subnet.id)
        .count() as u128;
    (total, used)
}

fn availability_doc(d: &Data, n: &Network) -> Map<String, Value> {
    let mut subnets: Vec<&crate::devcloud::model::Subnet> = d
        .subnets
        .values()
        .filter(|s| s.network_id == n.id)
        .collect();
    subnets.sort_by_key(|s| s.seq);
    let mut total = 0u128;
    let mut used = 0u128;
    let per_subnet: Vec<Value> = subnets
        .iter()
        .map(|s| {
            let (t, u) = subnet_availability(d, s);
            total = total.saturating_add(t);
            used += u;
            json!({"subnet_id": s.id, "subnet_name": s.name, "cidr": s.cidr, "ip_version": s.ip_version, "total_ips": t, "used_ips": u})
        })
        .collect();
    let mut m = Map::new();
    m.insert("network_id".into(), json!(n.id));
    m.insert("network_name".into(), json!(n.name));
    m.insert("tenant_id".into(), json!(n.project_id));
    m.insert("project_id".into(), json!(n.project_id));
    m.insert("total_ips".into(), json!(total));
    m.insert("used_ips".into(), json!(used));
    m.insert("subnet_ip_availability".into(), Value::Array(per_subnet));
    m
}

const AVAILABILITY_KEYS: &[&str] = &[
    "network_id",
    "network_name",
    "tenant_id",
    "project_id",
    "total_ips",
    "used_ips",
    "ip_version",
];

pub async fn list_ip_availabilities(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> ApiResult<Json<Value>> {
    if !auth.is_admin() {
        return Err(policy_denied("rule:get_network_ip_availability"));
    }
    let mut q = ListQuery::parse(&pairs)?;
    // ip_version selects networks having a subnet of that version.
    let versions: Option<Vec<String>> = q.filter("ip_version").map(<[String]>::to_vec);
    q.filters.retain(|(k, _)| k != "ip_version");
    let items = app.store.read(|d| {
        let mut all: Vec<&Network> = d
            .networks
            .values()
            .filter(|n| {
                versions.as_ref().is_none_or(|vs| {
                    d.subnets.values().any(|s| {
                        s.network_id == n.id && vs.iter().any(|v| *v == s.ip_version.to_string())
                    })
                })
            })
            .collect();
        all.sort_by_key(|n| n.seq);
        all.into_iter()
            .map(|n| availability_doc(d, n))
            .collect::<Vec<_>>()
    });
    let ctx = ListContext {
        collection: "network_ip_availabilities",
        url: format!("{}/network/v2.0/network-ip-availabilities", app.base_url),
        keys: AVAILABILITY_KEYS,
        marker_missing: &not_found,
    };
    Ok(Json(list_response(&ctx, &q, items)?))
}

pub async fn show_ip_availability(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    if !auth.is_admin() {
        return Err(policy_denied("rule:get_network_ip_availability"));
    }
    app.store.read(|d| {
        let n = d.networks.get(&id).ok_or_else(|| not_found(&id))?;
        Ok(Json(wrap(
            "network_ip_availability",
            availability_doc(d, n),
        )))
    })
}

impl Collection for Network {
    const SINGULAR: &'static str = "network";
    const PLURAL: &'static str = "networks";
    const PATH: &'static str = "networks";
    const KEYS: &'static [&'static str] = KEYS;

    fn table(d: &Data) -> &BTreeMap<String, Self> {
        &d.networks
    }

    fn seq(&self) -> u64 {
        self.seq
    }

    fn visible(&self, _d: &Data, auth: &Auth) -> bool {
        network_visible(self, auth)
    }

    fn render(&self, d: &Data, auth: &Auth) -> Map<String, Value> {
        render(d, self, auth.is_admin())
    }

    fn not_found(id: &str) -> ApiError {
        not_found(id)
    }
}
