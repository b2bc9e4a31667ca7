//! Subnets: CIDRs, gateways, allocation pools, DNS servers and host
//! routes, checked in the order Neutron checks them.

use super::collection::Collection;
use super::common::{
    Attr, Check, Prepared, attr, bad_resource_request, check_revision, created_response, error,
    invalid_input, new_id, policy_denied, policy_rule, prepare, required, resource_not_found,
    strings, wrap,
};
use super::networks::{self, AUTO_DELETE_OWNERS};
use super::{network_visible, next_seq, subnet_visible};
use crate::devcloud::error::{ApiError, ApiResult};
use crate::devcloud::ipam::{self, Cidr, PoolError, Range};
use crate::devcloud::model::{AllocationPool, Data, HostRoute, Subnet};
use crate::devcloud::server::{App, Auth};
use crate::devcloud::time::now_iso;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

pub const IPV6_MODES: &[&str] = &["dhcpv6-stateful", "dhcpv6-stateless", "slaac"];

/// Modes in which addresses come from the MAC (EUI-64), not from IPAM.
pub fn is_auto_address(s: &Subnet) -> bool {
    s.ip_version == 6
        && matches!(
            s.ipv6_address_mode.as_deref(),
            Some("slaac") | Some("dhcpv6-stateless")
        )
}

const ATTRS: &[Attr] = &[
    attr("id", false, false, Check::Uuid),
    attr("name", true, true, Check::Str(255)),
    required("ip_version", Check::IpVersion),
    required("network_id", Check::Uuid),
    attr("subnetpool_id", true, false, Check::OptUuid),
    attr("prefixlen", true, false, Check::NonNegInt),
    attr("cidr", true, false, Check::OptCidr),
    attr("gateway_ip", true, true, Check::OptIp),
    attr("allocation_pools", true, true, Check::IpPools),
    attr("dns_nameservers", true, true, Check::Nameservers),
    attr("host_routes", true, true, Check::HostRoutes),
    attr("tenant_id", true, false, Check::Str(255)),
    attr("enable_dhcp", true, true, Check::Bool),
    attr("ipv6_ra_mode", true, false, Check::Values(IPV6_MODES)),
    attr("ipv6_address_mode", true, false, Check::Values(IPV6_MODES)),
    attr("shared", false, false, Check::Any),
    attr("project_id", true, false, Check::Str(255)),
    attr("description", true, true, Check::Str(255)),
    attr("service_types", true, true, Check::StrList(255)),
    attr("use_default_subnetpool", true, false, Check::Bool),
    // Neutron takes tags at creation for ports only (its tagging
    // extension); other objects get them through `/tags`.
    attr("tags", false, false, Check::StrList(255)),
    attr("created_at", false, false, Check::Any),
    attr("updated_at", false, false, Check::Any),
    attr("revision_number", false, false, Check::Any),
];

const KEYS: &[&str] = &[
    "id",
    "name",
    "tenant_id",
    "project_id",
    "network_id",
    "ip_version",
    "subnetpool_id",
    "enable_dhcp",
    "ipv6_ra_mode",
    "ipv6_address_mode",
    "gateway_ip",
    "cidr",
    "allocation_pools",
    "host_routes",
    "dns_nameservers",
    "description",
    "service_types",
    "router:external",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
];

/// Neutron's limits (`max_dns_nameservers`, `max_subnet_host_routes`).
const MAX_DNS_NAMESERVERS: usize = 5;
const MAX_HOST_ROUTES: usize = 20;

pub fn not_found(id: &str) -> ApiError {
    error(
        StatusCode::NOT_FOUND,
        "SubnetNotFound",
        format!("Subnet {id} could not be found."),
    )
}

/// A subnet as Neutron shows it; `router:external` is its network's
/// (the subnet-external-network extension).
pub fn render(d: &Data, s: &Subnet) -> Map<String, Value> {
    let pools: Vec<Value> = s
        .allocation_pools
        .iter()
        .map(|p| json!({"start": p.start, "end": p.end}))
        .collect();
    let routes: Vec<Value> = s
        .host_routes
        .iter()
        .map(|r| json!({"destination": r.destination, "nexthop": r.nexthop}))
        .collect();
    let mut m = Map::new();
    m.insert("id".into(), json!(s.id));
    m.insert("name".into(), json!(s.name));
    m.insert("tenant_id".into(), json!(s.project_id));
    m.insert("network_id".into(), json!(s.network_id));
    m.insert("ip_version".into(), json!(s.ip_version));
    m.insert("subnetpool_id".into(), Value::Null);
    m.insert("enable_dhcp".into(), json!(s.enable_dhcp));
    m.insert("ipv6_ra_mode".into(), json!(s.ipv6_ra_mode));
    m.insert("ipv6_address_mode".into(), json!(s.ipv6_address_mode));
    m.insert("gateway_ip".into(), json!(s.gateway_ip));
    m.insert("cidr".into(), json!(s.cidr));
    m.insert("allocation_pools".into(), Value::Array(pools));
    m.insert("host_routes".into(), Value::Array(routes));
    m.insert("dns_nameservers".into(), json!(s.dns_nameservers));
    m.insert("description".into(), json!(s.description));
    m.insert("service_types".into(), json!(s.service_types));
    m.insert("tags".into(), json!(s.tags));
    m.insert("created_at".into(), json!(s.created_at));
    m.insert("updated_at".into(), json!(s.updated_at));
    m.insert("revision_number".into(), json!(s.revision_number));
    m.insert(
        "router:external".into(),
        json!(d.networks.get(&s.network_id).is_some_and(|n| n.external)),
    );
    m.insert("project_id".into(), json!(s.project_id));
    m
}

/// The allocation pools of a stored subnet.
pub fn pools_of(s: &Subnet) -> Vec<Range> {
    s.allocation_pools
        .iter()
        .filter_map(|p| {
            let first: IpAddr = p.start.parse().ok()?;
            let last: IpAddr = p.end.parse().ok()?;
            Some(Range {
                first: ipam::to_u128(first),
                last: ipam::to_u128(last),
                version: ipam::version_of(first),
            })
        })
        .collect()
}

fn ip_of(v: &Value) -> Option<IpAddr> {
    v.as_str().and_then(|s| ipam::parse_ip(s).ok())
}

fn version_mismatch(name: &str, addr: &str, version: u8) -> ApiError {
    invalid_input(format!(
        "{name} '{addr}' does not match the ip_version '{version}'"
    ))
}

/// `_validate_subnet`: what may change on create and update. `cidr` is
/// the normalised network; `dhcp_was_enabled` skips the DHCP checks for
/// an update that leaves DHCP on.
fn validate_subnet(
    item: &Map<String, Value>,
    cidr: &Cidr,
    enable_dhcp: bool,
    dhcp_was_enabled: bool,
) -> ApiResult<()> {
    let version = cidr.version;
    if enable_dhcp && !dhcp_was_enabled {
        if (version == 4 && cidr.prefix > 30) || (version == 6 && cidr.prefix > 126) {
            return Err(invalid_input(
                "Subnet has a prefix length that is incompatible with DHCP service enabled",
            ));
        }
        let first = cidr.first();
        let multicast = if version == 4 {
            (first >> 28) == 0xe
        } else {
            (first >> 120) == 0xff
        };
        if multicast {
            return Err(invalid_input(
                "Multicast IP subnet is not supported if enable_dhcp is True",
            ));
        }
        let loopback = if version == 4 {
            (first >> 24) == 127
        } else {
            first == 1 && cidr.prefix == 128
        };
        if loopback {
            return Err(invalid_input(
                "Loopback IP subnet is not supported if enable_dhcp is True",
            ));
        }
        if version == 4 && first == 0 {
            return Err(invalid_input(
                "First IP '0.0.0.0' of network is not supported if enable_dhcp is True.",
            ));
        }
    }
    if let Some(gw) = item.get("gateway_ip").and_then(ip_of) {
        let text = item["gateway_ip"].as_str().unwrap_or_default();
        if ipam::version_of(gw) != version {
            return Err(version_mismatch("gateway_ip", text, version));
        }
        if ipam::gateway_invalid(cidr, ipam::to_u128(gw)) {
            return Err(invalid_input("Gateway is not valid on subnet"));
        }
    }
    if let Some(Value::Array(servers)) = item.get("dns_nameservers") {
        if servers.len() > MAX_DNS_NAMESERVERS {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "DNSNameServersExhausted",
                format!(
                    "Unable to complete operation for {}. The number of DNS nameservers exceeds the limit {MAX_DNS_NAMESERVERS}.",
                    item.get("id")
                        .and_then(Value::as_str)
                        .unwrap_or("new subnet")
                ),
            ));
        }
        for server in servers {
            if let Some(ip) = ip_of(server)
                && ipam::version_of(ip) != version
            {
                return Err(version_mismatch(
                    "dns_nameserver",
                    server.as_str().unwrap_or_default(),
                    version,
                ));
            }
        }
    }
    if let Some(Value::Array(routes)) = item.get("host_routes") {
        if routes.len() > MAX_HOST_ROUTES {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "HostRoutesExhausted",
                format!(
                    "Unable to complete operation for {}. The number of host routes exceeds the limit {MAX_HOST_ROUTES}.",
                    item.get("id")
                        .and_then(Value::as_str)
                        .unwrap_or("new subnet")
                ),
            ));
        }
        for route in routes {
            let nexthop = route["nexthop"].as_str().unwrap_or_default();
            if let Some(ip) = ip_of(&route["nexthop"])
                && ipam::version_of(ip) != version
            {
                return Err(version_mismatch("nexthop", nexthop, version));
            }
            let destination = route["destination"].as_str().unwrap_or_default();
            if let Ok(dest) = ipam::parse_cidr(destination)
                && dest.version != version
            {
                return Err(version_mismatch("destination", destination, version));
            }
        }
    }
    Ok(())
}

/// The IPv6 address-mode rules of `_validate_ipv6_attributes`.
fn validate_ipv6_modes(
    cidr: &Cidr,
    ra: Option<&str>,
    address: Option<&str>,
    enable_dhcp: bool,
) -> ApiResult<()> {
    if cidr.version == 4 {
        if ra.is_some() {
            return Err(invalid_input(
                "ipv6_ra_mode is not valid when ip_version is 4",
            ));
        }
        if address.is_some() {
            return Err(invalid_input(
                "ipv6_address_mode is not valid when ip_version is 4",
            ));
        }
        return Ok(());
    }
    if (ra.is_some() || address.is_some()) && !enable_dhcp {
        return Err(invalid_input(
            "ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False",
        ));
    }
    if let (Some(r), Some(a)) = (ra, address)
        && r != a
    {
        return Err(invalid_input(format!(
            "ipv6_ra_mode set to '{r}' with ipv6_address_mode set to '{a}' is not valid. If both attributes are set, they must be the same value"
        )));
    }
    let auto = matches!(ra, Some("slaac") | Some("dhcpv6-stateless"))
        || matches!(address, Some("slaac") | Some("dhcpv6-stateless"));
    if auto && cidr.prefix != 64 {
        return Err(invalid_input(format!(
            "Invalid CIDR {cidr} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64"
        )));
    }
    Ok(())
}

/// Checks requested pools against the CIDR and the gateway.
fn check_requested_pools(
    pools: &Value,
    cidr: &Cidr,
    gateway: Option<u128>,
) -> ApiResult<Vec<Range>> {
    let list = pools.as_array().cloned().unwrap_or_default();
    let mut parsed = Vec::with_capacity(list.len());
    for p in &list {
        match (ip_of(&p["start"]), ip_of(&p["end"])) {
            (Some(start), Some(end)) => parsed.push((start, end)),
            _ => return Err(invalid_pool(p)),
        }
    }
    let ranges = ipam::check_pools(&parsed, cidr).map_err(|e| match e {
        PoolError::Invalid(index) => invalid_pool(&list[index]),
        PoolError::OutOfBounds(range) => error(
            StatusCode::BAD_REQUEST,
            "OutOfBoundsAllocationPool",
            format!("The allocation pool {range} spans beyond the subnet cidr {cidr}."),
        ),
        PoolError::Overlapping(a, b) => error(
            StatusCode::CONFLICT,
            "OverlappingAllocationPools",
            format!("Found overlapping allocation pools: {a} {b} for subnet {cidr}."),
        ),
    })?;
    if let Some(gw) = gateway {
        check_gateway_outside(&ranges, gw, cidr.version)?;
    }
    Ok(ranges)
}

fn invalid_pool(pool: &Value) -> ApiError {
    error(
        StatusCode::BAD_REQUEST,
        "InvalidAllocationPool",
        format!(
            "The allocation pool {} is not valid.",
            super::common::py_repr(pool)
        ),
    )
}

fn check_gateway_outside(pools: &[Range], gateway: u128, version: u8) -> ApiResult<()> {
    if let Some(pool) = pools.iter().find(|p| p.contains(gateway)) {
        return Err(error(
            StatusCode::CONFLICT,
            "GatewayConflictWithAllocationPools",
            format!(
                "Gateway ip {} conflicts with allocation pool {pool}.",
                ipam::format(gateway, version)
            ),
        ));
    }
    Ok(())
}

fn stored_pools(ranges: &[Range]) -> Vec<AllocationPool> {
    ranges
        .iter()
        .map(|r| AllocationPool {
            start: r.start_text(),
            end: r.end_text(),
        })
        .collect()
}

fn stored_routes(v: Option<&Value>) -> Vec<HostRoute> {
    v.and_then(Value::as_array)
        .map(|routes| {
            routes
                .iter()
                .map(|r| HostRoute {
                    destination: r["destination"].as_str().unwrap_or_default().to_string(),
                    nexthop: ip_of(&r["nexthop"])
                        .map(|ip| ip.to_string())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Attributes only admins may set on subnets.
const ADMIN_ATTRS: &[&str] = &["service_types"];

fn create_one(d: &mut Data, item: &Map<String, Value>, auth: &Auth) -> ApiResult<String> {
    let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
    let network_id = text("network_id").unwrap_or_default();
    let project = text("project_id").unwrap_or_default();
    let network = d
        .networks
        .get(&network_id)
        .filter(|n| network_visible(n, auth))
        .ok_or_else(|| networks::not_found(&network_id))?;
    if !auth.is_admin() && !network.shared && network.project_id != project {
        // Neutron hides networks a project may see but not use.
        return Err(resource_not_found());
    }
    if !auth.is_admin() && !auth.owns(&network.project_id) {
        return Err(policy_denied(&policy_rule("create_subnet", &[])));
    }
    let has_cidr = item.get("cidr").is_some_and(|c| !c.is_null());
    if has_cidr && item.contains_key("prefixlen") {
        return Err(bad_resource_request(
            "subnets",
            "cidr and prefixlen must not be supplied together",
        ));
    }
    if let Some(pool) = item.get("subnetpool_id").and_then(Value::as_str) {
        return Err(error(
            StatusCode::NOT_FOUND,
            "SubnetPoolNotFound",
            format!("Subnet pool {pool} could not be found."),
        ));
    }
    let version = item.get("ip_version").and_then(Value::as_i64).unwrap_or(4) as u8;
    if !has_cidr {
        if item.get("use_default_subnetpool") == Some(&Value::Bool(true)) {
            return Err(bad_resource_request(
                "subnets",
                &format!("No default subnetpool found for IPv{version}"),
            ));
        }
        return Err(bad_resource_request(
            "subnets",
            "a subnetpool must be specified in the absence of a cidr",
        ));
    }
    let input = item
        .get("cidr")
        .and_then(Value::as_str)
        .and_then(|c| ipam::parse_cidr(c).ok())
        .ok_or_else(|| invalid_input("cidr is not valid"))?;
    let cidr = input.network();
    if cidr.version != version {
        return Err(version_mismatch("cidr", &cidr.to_string(), version));
    }
    let enable_dhcp = item
        .get("enable_dhcp")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    validate_subnet(item, &cidr, enable_dhcp, false)?;
    let ra = item.get("ipv6_ra_mode").and_then(Value::as_str);
    let address_mode = item.get("ipv6_address_mode").and_then(Value::as_str);
    validate_ipv6_modes(&cidr, ra, address_mode, enable_dhcp)?;
    let gateway: Option<u128> = match item.get("gateway_ip") {
        None => Some(cidr.first().wrapping_add(1) & max_of(version)),
        Some(Value::Null) => None,
        Some(v) => ip_of(v).map(ipam::to_u128),
    };
    // No pools, null or an empty list alike, means the IPAM driver's
    // pools around the gateway.
    let pools = match item.get("allocation_pools") {
        Some(p @ Value::Array(list)) if !list.is_empty() => {
            check_requested_pools(p, &cidr, gateway)?
        }
        _ => ipam::generate_pools(&cidr, gateway),
    };
    if cidr.prefix == 0 {
        return Err(invalid_input("0 is not allowed as CIDR prefix length"));
    }
    let overlaps = d
        .subnets
        .values()
        .filter(|s| s.network_id == network_id)
        .filter_map(|s| Cidr::parse(&s.cidr))
        .any(|c| c.overlaps(&cidr));
    if overlaps {
        return Err(invalid_input(format!(
            "Requested subnet with cidr: {cidr} for network: {network_id} overlaps with another subnet"
        )));
    }
    let now = now_iso();
    let subnet = Subnet {
        id: new_id(),
        name: text("name").unwrap_or_default(),
        network_id: network_id.clone(),
        project_id: project,
        ip_version: version,
        cidr: cidr.to_string(),
        gateway_ip: gateway.map(|g| ipam::format(g, version)),
        allocation_pools: stored_pools(&pools),
        dns_nameservers: strings(item.get("dns_nameservers").unwrap_or(&Value::Null)),
        host_routes: stored_routes(item.get("host_routes")),
        enable_dhcp,
        ipv6_ra_mode: ra.map(str::to_string),
        ipv6_address_mode: address_mode.map(str::to_string),
        description: text("description").unwrap_or_default(),
        tags: strings(item.get("tags").unwrap_or(&Value::Null)),
        service_types: strings(item.get("service_types").unwrap_or(&Value::Null)),
        created_at: now.clone(),
        updated_at: now,
        revision_number: 0,
        seq: next_seq(d.subnets.values().map(|s| s.seq)),
    };
    let id = subnet.id.clone();
    d.subnets.insert(id.clone(), subnet);
    if let Some(n) = d.networks.get_mut(&network_id) {
        n.revision_number += 1;
        n.updated_at = now_iso();
    }
    Ok(id)
}

fn max_of(version: u8) -> u128 {
    if version == 4 {
        u32::MAX as u128
    } else {
        u128::MAX
    }
}

pub async fn create(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let Prepared { items, bulk } = prepare(&body, "subnet", "subnets", ATTRS, true, &auth)?;
    if !auth.is_admin() {
        for item in &items {
            let attrs: Vec<&str> = ADMIN_ATTRS
                .iter()
                .copied()
                .filter(|a| item.contains_key(*a))
                .collect();
            if !attrs.is_empty() {
                return Err(policy_denied(&policy_rule("create_subnet", &attrs)));
            }
        }
    }
    let docs = app.store.write(|d| -> ApiResult<Vec<Value>> {
        let mut created: Vec<String> = Vec::new();
        for item in &items {
            match create_one(d, item, &auth) {
                Ok(id) => created.push(id),
                Err(e) => {
                    for id in &created {
                        d.subnets.remove(id);
                    }
                    return Err(e);
                }
            }
        }
        Ok(created
            .iter()
            .filter_map(|id| d.subnets.get(id))
            .map(|s| Value::Object(render(d, s)))
            .collect())
    })?;
    Ok(created_response("subnet", "subnets", bulk, docs))
}

/// Whether the caller may change a subnet: its owner, the network's
/// owner, or an admin.
fn may_change(d: &Data, s: &Subnet, auth: &Auth) -> bool {
    auth.owns(&s.project_id)
        || d.networks
            .get(&s.network_id)
            .is_some_and(|n| auth.owns(&n.project_id))
}

pub async fn update(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let Prepared { items, .. } = prepare(&body, "subnet", "subnets", ATTRS, false, &auth)?;
    let mut item = items.into_iter().next().unwrap_or_default();
    app.store.write(|d| {
        let current = d
            .subnets
            .get(&id)
            .filter(|s| subnet_visible(d, s, &auth))
            .ok_or_else(|| not_found(&id))?;
        check_revision(&headers, current.revision_number)?;
        let admin_attrs: Vec<&str> = ADMIN_ATTRS
            .iter()
            .copied()
            .filter(|a| item.contains_key(*a))
            .collect();
        if !may_change(d, current, &auth) || (!auth.is_admin() && !admin_attrs.is_empty()) {
            return Err(policy_denied(&policy_rule("update_subnet", &admin_attrs)));
        }
        let cidr = Cidr::parse(&current.cidr).ok_or_else(|| not_found(&id))?;
        item.insert("id".into(), json!(id));
        let enable_dhcp = item
            .get("enable_dhcp")
            .and_then(Value::as_bool)
            .unwrap_or(current.enable_dhcp);
        if current.ip_version == 6
            && !enable_dhcp
            && (current.ipv6_ra_mode.is_some() || current.ipv6_address_mode.is_some())
        {
            return Err(invalid_input(
                "Cannot disable enable_dhcp with ipv6 attributes set",
            ));
        }
        validate_subnet(&item, &cidr, enable_dhcp, current.enable_dhcp)?;
        let gateway: Option<u128> = match item.get("gateway_ip") {
            None => current
                .gateway_ip
                .as_deref()
                .and_then(|g| g.parse::<IpAddr>().ok())
                .map(ipam::to_u128),
            Some(Value::Null) => None,
            Some(v) => ip_of(v).map(ipam::to_u128),
        };
        let pools = match item.get("allocation_pools") {
            Some(p) if !p.is_null() => Some(check_requested_pools(p, &cidr, gateway)?),
            _ => {
                if item.contains_key("gateway_ip")
                    && let Some(gw) = gateway
                {
                    check_gateway_outside(&pools_of(current), gw, cidr.version)?;
                }
                None
            }
        };
        let Some(s) = d.subnets.get_mut(&id) else {
            return Err(not_found(&id));
        };
        let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
        if let Some(v) = text("name") {
            s.name = v;
        }
        if let Some(v) = text("description") {
            s.description = v;
        }
        if item.contains_key("gateway_ip") {
            s.gateway_ip = gateway.map(|g| ipam::format(g, cidr.version));
        }
        if let Some(ranges) = pools {
            s.allocation_pools = stored_pools(&ranges);
        }
        if let Some(v) = item.get("dns_nameservers") {
            s.dns_nameservers = strings(v);
        }
        if item.contains_key("host_routes") {
            s.host_routes = stored_routes(item.get("host_routes"));
        }
        if let Some(v) = item.get("service_types") {
            s.service_types = strings(v);
        }
        s.enable_dhcp = enable_dhcp;
        s.revision_number += 1;
        s.updated_at = now_iso();
        let s = d.subnets.get(&id).ok_or_else(|| not_found(&id))?;
        Ok(Json(wrap("subnet", render(d, s))))
    })
}

/// Removes a subnet; ports of networks' own services (DHCP) lose their
/// addresses in it, any other port holding one blocks the delete, except
/// on SLAAC subnets, whose addresses ports were given automatically and
/// lose the same way.
pub fn delete_subnet(d: &mut Data, id: &str) -> ApiResult<()> {
    let automatic = d.subnets.get(id).is_some_and(is_auto_address);
    let in_use = !automatic
        && d.ports.values().any(|p| {
            !AUTO_DELETE_OWNERS.contains(&p.device_owner.as_str())
                && p.fixed_ips.iter().any(|ip| ip.subnet_id == id)
        });
    if in_use {
        return Err(error(
            StatusCode::CONFLICT,
            "SubnetInUse",
            format!(
                "Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."
            ),
        ));
    }
    for p in d.ports.values_mut() {
        p.fixed_ips.retain(|ip| ip.subnet_id != id);
    }
    if let Some(s) = d.subnets.remove(id)
        && let Some(n) = d.networks.get_mut(&s.network_id)
    {
        n.revision_number += 1;
        n.updated_at = now_iso();
    }
    Ok(())
}

pub async fn delete(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    app.store.write(|d| {
        let s = d
            .subnets
            .get(&id)
            .filter(|s| subnet_visible(d, s, &auth))
            .ok_or_else(|| not_found(&id))?;
        check_revision(&headers, s.revision_number)?;
        if !may_change(d, s, &auth) {
            return Err(policy_denied(&policy_rule("delete_subnet", &[])));
        }
        delete_subnet(d, &id)?;
        Ok(StatusCode::NO_CONTENT)
    })
}

impl Collection for Subnet {
    const SINGULAR: &'static str = "subnet";
    const PLURAL: &'static str = "subnets";
    const PATH: &'static str = "subnets";
    const KEYS: &'static [&'static str] = KEYS;

    fn table(d: &Data) -> &BTreeMap<String, Self> {
        &d.subnets
    }

    fn seq(&self) -> u64 {
        self.seq
    }

    fn visible(&self, d: &Data, auth: &Auth) -> bool {
        subnet_visible(d, self, auth)
    }

    fn render(&self, d: &Data, _auth: &Auth) -> Map<String, Value> {
        render(d, self)
    }

    fn not_found(id: &str) -> ApiError {
        not_found(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_mode_rules() {
        let v6 = Cidr::parse("2001:db8::/64").unwrap();
        let v6_48 = Cidr::parse("2001:db8::/48").unwrap();
        let v4 = Cidr::parse("10.0.0.0/24").unwrap();
        assert!(validate_ipv6_modes(&v6, Some("slaac"), Some("slaac"), true).is_ok());
        assert!(validate_ipv6_modes(&v6, Some("slaac"), Some("dhcpv6-stateful"), true).is_err());
        assert!(validate_ipv6_modes(&v6_48, None, Some("slaac"), true).is_err());
        assert!(validate_ipv6_modes(&v6, None, Some("slaac"), false).is_err());
        assert!(validate_ipv6_modes(&v4, Some("slaac"), None, true).is_err());
        assert!(validate_ipv6_modes(&v6_48, None, Some("dhcpv6-stateful"), true).is_ok());
    }
}
