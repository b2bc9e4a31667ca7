//! Ports: addresses from the network's subnets, MAC addresses, security
//! groups, bindings; and the port side of Nova's calls.

use super::collection::Collection;
use super::common::{
    Attr, Check, Prepared, attr, check_revision, created_response, error, invalid_input, new_id,
    policy_denied, policy_rule, prepare, required, resource_not_found, strings, wrap,
};
use super::security_groups;
use super::subnets::{self, is_auto_address, pools_of};
use super::{COMPUTE_HOST, network_visible, network_visible_to, networks, next_seq, port_visible};
use crate::devcloud::error::{ApiError, ApiResult};
use crate::devcloud::ipam::{self, Cidr};
use crate::devcloud::model::{AddressPair, Data, ExtraDhcpOpt, FixedIp, Network, Port, Subnet};
use crate::devcloud::server::{App, Auth};
use crate::devcloud::time::now_iso;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Nova's device owner for a server in the default availability zone.
pub const NOVA_OWNER: &str = "compute:nova";

const VNIC_TYPES: &[&str] = &[
    "normal",
    "direct",
    "macvtap",
    "baremetal",
    "direct-physical",
    "virtio-forwarder",
    "smart-nic",
    "vdpa",
    "remote-managed",
];

const ATTRS: &[Attr] = &[
    attr("id", false, false, Check::Uuid),
    attr("name", true, true, Check::Str(255)),
    required("network_id", Check::Uuid),
    attr("admin_state_up", true, true, Check::Bool),
    attr("mac_address", true, true, Check::Mac),
    attr("fixed_ips", true, true, Check::FixedIps),
    attr("device_id", true, true, Check::Str(255)),
    attr("device_owner", true, true, Check::Str(255)),
    attr("tenant_id", true, false, Check::Str(255)),
    attr("status", false, false, Check::Any),
    attr("project_id", true, false, Check::Str(255)),
    attr("security_groups", true, true, Check::UuidList),
    attr("description", true, true, Check::Str(255)),
    attr("port_security_enabled", true, true, Check::Bool),
    attr("allowed_address_pairs", true, true, Check::AddressPairs),
    attr("binding:host_id", true, true, Check::Str(255)),
    attr("binding:profile", true, true, Check::Dict),
    attr("binding:vnic_type", true, true, Check::Values(VNIC_TYPES)),
    attr("binding:vif_type", false, false, Check::Any),
    attr("binding:vif_details", false, false, Check::Any),
    attr("extra_dhcp_opts", true, true, Check::DhcpOpts),
    attr("dns_name", true, true, Check::Str(255)),
    attr("dns_assignment", false, false, Check::Any),
    attr("ip_allocation", false, false, Check::Any),
    attr("tags", true, false, Check::StrList(255)),
    attr("created_at", false, false, Check::Any),
    attr("updated_at", false, false, Check::Any),
    attr("revision_number", false, false, Check::Any),
];

/// Attributes only admins may set on ports.
const ADMIN_ATTRS: &[&str] = &["binding:host_id", "binding:profile"];

const KEYS: &[&str] = &[
    "id",
    "name",
    "network_id",
    "tenant_id",
    "project_id",
    "mac_address",
    "admin_state_up",
    "status",
    "device_id",
    "device_owner",
    "fixed_ips",
    "allowed_address_pairs",
    "extra_dhcp_opts",
    "security_groups",
    "description",
    "port_security_enabled",
    "ip_allocation",
    "dns_name",
    "binding:vnic_type",
    "binding:host_id",
    "binding:vif_type",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
];

pub fn not_found(id: &str) -> ApiError {
    error(
        StatusCode::NOT_FOUND,
        "PortNotFound",
        format!("Port {id} could not be found."),
    )
}

/// A port as ML2 renders it; binding details other than the VNIC type
/// only for admins.
pub fn render(p: &Port, admin: bool) -> Map<String, Value> {
    let fixed: Vec<Value> = p
        .fixed_ips
        .iter()
        .map(|f| json!({"subnet_id": f.subnet_id, "ip_address": f.ip_address}))
        .collect();
    let pairs: Vec<Value> = p
        .allowed_address_pairs
        .iter()
        .map(|a| json!({"ip_address": a.ip_address, "mac_address": a.mac_address}))
        .collect();
    let opts: Vec<Value> = p
        .extra_dhcp_opts
        .iter()
        .map(|o| json!({"opt_name": o.opt_name, "opt_value": o.opt_value, "ip_version": o.ip_version}))
        .collect();
    // With no dns_name, dnsmasq names hosts after their address.
    let assignment: Vec<Value> = p
        .fixed_ips
        .iter()
        .map(|f| {
            let host = format!("host-{}", f.ip_address.replace(['.', ':'], "-"));
            json!({"hostname": host, "ip_address": f.ip_address, "fqdn": format!("{host}.openstacklocal.")})
        })
        .collect();
    let vnic = if p.binding_vnic_type.is_empty() {
        "normal"
    } else {
        p.binding_vnic_type.as_str()
    };
    let mut m = Map::new();
    m.insert("id".into(), json!(p.id));
    m.insert("name".into(), json!(p.name));
    m.insert("network_id".into(), json!(p.network_id));
    m.insert("tenant_id".into(), json!(p.project_id));
    m.insert("mac_address".into(), json!(p.mac_address));
    m.insert("admin_state_up".into(), json!(p.admin_state_up));
    m.insert("status".into(), json!(p.status));
    m.insert("device_id".into(), json!(p.device_id));
    m.insert("device_owner".into(), json!(p.device_owner));
    m.insert("fixed_ips".into(), Value::Array(fixed));
    m.insert("allowed_address_pairs".into(), Value::Array(pairs));
    m.insert("extra_dhcp_opts".into(), Value::Array(opts));
    m.insert("security_groups".into(), json!(p.security_groups));
    m.insert("description".into(), json!(p.description));
    m.insert(
        "port_security_enabled".into(),
        json!(p.port_security_enabled),
    );
    m.insert("ip_allocation".into(), json!("immediate"));
    m.insert("dns_name".into(), json!(""));
    m.insert("dns_assignment".into(), Value::Array(assignment));
    m.insert("binding:vnic_type".into(), json!(vnic));
    if admin {
        let bound = !p.binding_host_id.is_empty();
        m.insert("binding:host_id".into(), json!(p.binding_host_id));
        m.insert(
            "binding:profile".into(),
            Value::Object(p.binding_profile.clone()),
        );
        m.insert(
            "binding:vif_type".into(),
            json!(if bound { "ovs" } else { "unbound" }),
        );
        m.insert(
            "binding:vif_details".into(),
            if bound {
                json!({"connectivity": "l2", "port_filter": true, "ovs_hybrid_plug": false, "datapath_type": "system", "bridge_name": "br-int"})
            } else {
                json!({})
            },
        );
    }
    m.insert("resource_request".into(), Value::Null);
    m.insert("tags".into(), json!(p.tags));
    m.insert("created_at".into(), json!(p.created_at));
    m.insert("updated_at".into(), json!(p.updated_at));
    m.insert("revision_number".into(), json!(p.revision_number));
    m.insert("project_id".into(), json!(p.project_id));
    m
}

/// A port is up once a device uses it.
fn status_for(device_id: &str) -> String {
    if device_id.is_empty() {
        "DOWN"
    } else {
        "ACTIVE"
    }
    .into()
}

/// A random OpenStack MAC (`fa:16:3e:xx:xx:xx`) unused on the network.
fn generate_mac(d: &Data, network_id: &str) -> ApiResult<String> {
    for _ in 0..16 {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        let mac = format!(
            "fa:16:3e:{:02x}:{:02x}:{:02x}",
            bytes[0], bytes[1], bytes[2]
        );
        if !mac_in_use(d, network_id, &mac, None) {
            return Ok(mac);
        }
    }
    Err(error(
        StatusCode::SERVICE_UNAVAILABLE,
        "MacAddressGenerationFailure",
        format!("Unable to generate unique mac on network {network_id}."),
    ))
}

fn mac_in_use(d: &Data, network_id: &str, mac: &str, except: Option<&str>) -> bool {
    d.ports.values().any(|p| {
        p.network_id == network_id
            && p.mac_address.eq_ignore_ascii_case(mac)
            && Some(p.id.as_str()) != except
    })
}

/// A network's subnets in creation order.
fn subnets_of<'a>(d: &'a Data, network_id: &str) -> Vec<&'a Subnet> {
    let mut list: Vec<&Subnet> = d
        .subnets
        .values()
        .filter(|s| s.network_id == network_id)
        .collect();
    list.sort_by_key(|s| s.seq);
    list
}

/// Addresses in use on a subnet, by any port but `except`.
fn taken(d: &Data, subnet_id: &str, except: Option<&str>) -> BTreeSet<u128> {
    d.ports
        .values()
        .filter(|p| Some(p.id.as_str()) != except)
        .flat_map(|p| &p.fixed_ips)
        .filter(|ip| ip.subnet_id == subnet_id)
        .filter_map(|ip| ip.ip_address.parse().ok().map(ipam::to_u128))
        .collect()
}

fn generation_failure_network(network_id: &str) -> ApiError {
    error(
        StatusCode::CONFLICT,
        "IpAddressGenerationFailure",
        format!("No more IP addresses available on network {network_id}."),
    )
}

fn generation_failure_subnet(subnet_id: &str) -> ApiError {
    error(
        StatusCode::CONFLICT,
        "IpAddressGenerationFailure",
        format!("No more IP addresses available for subnet {subnet_id}."),
    )
}

fn already_allocated(ip: &str, subnet_id: &str) -> ApiError {
    error(
        StatusCode::CONFLICT,
        "IpAddressAlreadyAllocated",
        format!("IP address {ip} already allocated in subnet {subnet_id}"),
    )
}

fn invalid_ip_for_network(ip: &str) -> ApiError {
    error(
        StatusCode::BAD_REQUEST,
        "InvalidIpForNetwork",
        format!(
            "IP address {ip} is not a valid IP for any of the subnets on the specified network."
        ),
    )
}

/// One requested address: a subnet, an address, or both.
#[derive(Clone, Debug, Default)]
pub struct IpRequest {
    pub subnet_id: Option<String>,
    pub ip_address: Option<String>,
}

impl IpRequest {
    fn from_value(v: &Value) -> IpRequest {
        IpRequest {
            subnet_id: v["subnet_id"].as_str().map(str::to_string),
            ip_address: v["ip_address"].as_str().map(str::to_string),
        }
    }
}

/// Picks a port's addresses. `requested` None means Neutron's default:
/// one address from the first IPv4 subnet with room, one from the first
/// stateful IPv6 subnet with room, and the EUI-64 address on every
/// SLAAC subnet. On updates, `port_id` is the port, whose current
/// addresses do not count as taken, and `keep` the addresses it keeps
/// (returned first).
pub fn allocate_ips(
    d: &Data,
    network: &Network,
    mac: &str,
    device_owner: &str,
    requested: Option<&[IpRequest]>,
    port_id: Option<&str>,
    keep: Vec<FixedIp>,
) -> ApiResult<Vec<FixedIp>> {
    let subnets = subnets_of(d, &network.id);
    let mut chosen: Vec<FixedIp> = keep;
    let used = |subnet: &Subnet, chosen: &[FixedIp]| {
        let mut set = taken(d, &subnet.id, port_id);
        set.extend(
            chosen
                .iter()
                .filter(|f| f.subnet_id == subnet.id)
                .filter_map(|f| f.ip_address.parse().ok().map(ipam::to_u128)),
        );
        set
    };
    let Some(requested) = requested else {
        for version in [4u8, 6] {
            let stateful: Vec<&&Subnet> = subnets
                .iter()
                .filter(|s| s.ip_version == version && !is_auto_address(s))
                .collect();
            if stateful.is_empty() {
                continue;
            }
            let mut found = None;
            for s in stateful {
                if let Some(addr) = ipam::first_free(&pools_of(s), &used(s, &chosen)) {
                    found = Some(FixedIp {
                        subnet_id: s.id.clone(),
                        ip_address: ipam::format(addr, version),
                    });
                    break;
                }
            }
            chosen.push(found.ok_or_else(|| generation_failure_network(&network.id))?);
        }
        for s in subnets.iter().filter(|s| is_auto_address(s)) {
            if let Some(addr) = Cidr::parse(&s.cidr).and_then(|c| ipam::eui64(&c, mac)) {
                chosen.push(FixedIp {
                    subnet_id: s.id.clone(),
                    ip_address: ipam::format(addr, 6),
                });
            }
        }
        return Ok(chosen);
    };
    if requested.is_empty() {
        return Ok(chosen);
    }
    if subnets.is_empty() {
        return Err(invalid_input("IP allocation requires subnets for network"));
    }
    // Neutron checks every request's subnet first, then allocates.
    let mut resolved: Vec<(&Subnet, Option<u128>)> = Vec::new();
    for r in requested {
        let addr = r
            .ip_address
            .as_deref()
            .map(|a| ipam::parse_ip(a).map_err(invalid_input))
            .transpose()?;
        let subnet = match &r.subnet_id {
            Some(sid) => {
                let Some(s) = subnets.iter().find(|s| s.id == *sid) else {
                    return match d.subnets.get(sid) {
                        Some(other) => Err(invalid_input(format!(
                            "Failed to create port on network {}, because fixed_ips included invalid subnet {sid}",
                            other.network_id
                        ))),
                        None => Err(subnets::not_found(sid)),
                    };
                };
                if let Some(ip) = addr {
                    let valid = Cidr::parse(&s.cidr).is_some_and(|c| {
                        ipam::valid_for_subnet(&c, ipam::to_u128(ip), "")
                            && ipam::version_of(ip) == c.version
                    });
                    if !valid {
                        return Err(error(
                            StatusCode::BAD_REQUEST,
                            "InvalidIpForSubnet",
                            format!(
                                "IP address {} is not a valid IP for the specified subnet.",
                                r.ip_address.as_deref().unwrap_or_default()
                            ),
                        ));
                    }
                }
                *s
            }
            None => {
                let Some(ip) = addr else {
                    return Err(invalid_input(
                        "IP allocation requires subnet_id or ip_address",
                    ));
                };
                subnets
                    .iter()
                    .find(|s| {
                        Cidr::parse(&s.cidr).is_some_and(|c| {
                            c.version == ipam::version_of(ip)
                                && ipam::valid_for_subnet(&c, ipam::to_u128(ip), "")
                        })
                    })
                    .copied()
                    .ok_or_else(|| {
                        invalid_ip_for_network(r.ip_address.as_deref().unwrap_or_default())
                    })?
            }
        };
        resolved.push((subnet, addr.map(ipam::to_u128)));
    }
    for (subnet, addr) in resolved {
        let version = subnet.ip_version;
        let cidr = Cidr::parse(&subnet.cidr);
        let address = match addr {
            Some(a) => {
                let text = ipam::format(a, version);
                if is_auto_address(subnet) && !device_owner.starts_with("network:router") {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "AllocationOnAutoAddressSubnet",
                        format!(
                            "IPv6 address {text} cannot be directly assigned to a port on subnet {} as the subnet is configured for automatic addresses",
                            subnet.id
                        ),
                    ));
                }
                let owner_ok = cidr.is_some_and(|c| ipam::valid_for_subnet(&c, a, device_owner));
                if !owner_ok {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "InvalidIpForSubnet",
                        format!("IP address {text} does not belong to subnet {}", subnet.id),
                    ));
                }
                if used(subnet, &chosen).contains(&a) {
                    return Err(already_allocated(&text, &subnet.id));
                }
                a
            }
            None if is_auto_address(subnet) => cidr
                .and_then(|c| ipam::eui64(&c, mac))
                .ok_or_else(|| generation_failure_subnet(&subnet.id))?,
            None => ipam::first_free(&pools_of(subnet), &used(subnet, &chosen))
                .ok_or_else(|| generation_failure_subnet(&subnet.id))?,
        };
        chosen.push(FixedIp {
            subnet_id: subnet.id.clone(),
            ip_address: ipam::format(address, version),
        });
    }
    Ok(chosen)
}

/// Everything a new port needs, whoever asks for it.
pub struct NewPort {
    pub project_id: String,
    pub network_id: String,
    pub name: String,
    pub admin_state_up: bool,
    pub mac_address: Option<String>,
    pub fixed_ips: Option<Vec<IpRequest>>,
    pub device_id: String,
    pub device_owner: String,
    /// Security group ids; None for the project's default group.
    pub security_groups: Option<Vec<String>>,
    pub description: String,
    pub port_security_enabled: Option<bool>,
    pub allowed_address_pairs: Vec<(String, Option<String>)>,
    pub binding_host_id: String,
    pub binding_vnic_type: String,
    pub binding_profile: Map<String, Value>,
    pub extra_dhcp_opts: Vec<ExtraDhcpOpt>,
    pub tags: Vec<String>,
}

impl NewPort {
    pub fn new(project_id: &str, network_id: &str) -> NewPort {
        NewPort {
            project_id: project_id.into(),
            network_id: network_id.into(),
            name: String::new(),
            admin_state_up: true,
            mac_address: None,
            fixed_ips: None,
            device_id: String::new(),
            device_owner: String::new(),
            security_groups: None,
            description: String::new(),
            port_security_enabled: None,
            allowed_address_pairs: Vec::new(),
            binding_host_id: String::new(),
            binding_vnic_type: String::new(),
            binding_profile: Map::new(),
            extra_dhcp_opts: Vec::new(),
            tags: Vec::new(),
        }
    }
}

fn security_requires_port_security() -> ApiError {
    error(
        StatusCode::CONFLICT,
        "PortSecurityAndIPRequiredForSecurityGroups",
        "Port security must be enabled and port must have an IP address in order to use security groups.",
    )
}

fn pairs_require_port_security() -> ApiError {
    error(
        StatusCode::CONFLICT,
        "AddressPairAndPortSecurityRequired",
        "Port Security must be enabled in order to have allowed address pairs on a port.",
    )
}

/// Checks that security groups exist for the port's project.
fn check_security_groups(d: &Data, project_id: &str, ids: &[String]) -> ApiResult<()> {
    for id in ids {
        let ok = d
            .security_groups
            .get(id)
            .is_some_and(|sg| sg.project_id == project_id);
        if !ok {
            return Err(security_groups::not_found(id));
        }
    }
    Ok(())
}

/// Creates a port: the network must exist (the caller checked who may
/// use it).
pub fn build(d: &mut Data, spec: NewPort) -> ApiResult<String> {
    let network = d
        .networks
        .get(&spec.network_id)
        .cloned()
        .ok_or_else(|| networks::not_found(&spec.network_id))?;
    let port_security = spec
        .port_security_enabled
        .unwrap_or(network.port_security_enabled);
    let security_groups = match spec.security_groups {
        Some(ids) => {
            if !port_security && !ids.is_empty() {
                return Err(security_requires_port_security());
            }
            check_security_groups(d, &spec.project_id, &ids)?;
            ids
        }
        None if !port_security || spec.device_owner.starts_with("network:") => Vec::new(),
        None => {
            security_groups::ensure_default(d, &spec.project_id);
            security_groups::default_group_id(d, &spec.project_id)
                .into_iter()
                .collect()
        }
    };
    if !port_security && !spec.allowed_address_pairs.is_empty() {
        return Err(pairs_require_port_security());
    }
    let mac = match spec.mac_address {
        Some(mac) => {
            let mac = mac.to_ascii_lowercase().replace('-', ":");
            if mac_in_use(d, &network.id, &mac, None) {
                return Err(error(
                    StatusCode::CONFLICT,
                    "MacAddressInUse",
                    format!(
                        "Unable to complete operation for network {}. The mac address {mac} is in use.",
                        network.id
                    ),
                ));
            }
            mac
        }
        None => generate_mac(d, &network.id)?,
    };
    let fixed_ips = allocate_ips(
        d,
        &network,
        &mac,
        &spec.device_owner,
        spec.fixed_ips.as_deref(),
        None,
        Vec::new(),
    )?;
    let now = now_iso();
    let port = Port {
        id: new_id(),
        name: spec.name,
        network_id: network.id.clone(),
        project_id: spec.project_id,
        mac_address: mac.clone(),
        admin_state_up: spec.admin_state_up,
        status: status_for(&spec.device_id),
        device_id: spec.device_id,
        device_owner: spec.device_owner,
        fixed_ips,
        security_groups,
        port_security_enabled: port_security,
        description: spec.description,
        tags: spec.tags,
        created_at: now.clone(),
        updated_at: now,
        // ML2 binds (or tries to) right after creating.
        revision_number: 1,
        seq: next_seq(d.ports.values().map(|p| p.seq)),
        allowed_address_pairs: spec
            .allowed_address_pairs
            .into_iter()
            .map(|(ip, m)| AddressPair {
                ip_address: ip,
                mac_address: m.unwrap_or_else(|| mac.clone()),
            })
            .collect(),
        binding_host_id: spec.binding_host_id,
        binding_vnic_type: spec.binding_vnic_type,
        binding_profile: spec.binding_profile,
        extra_dhcp_opts: spec.extra_dhcp_opts,
    };
    let id = port.id.clone();
    d.ports.insert(id.clone(), port);
    Ok(id)
}

fn pairs_from(v: Option<&Value>) -> Vec<(String, Option<String>)> {
    v.and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|p| {
                    (
                        super::common::py_str(&p["ip_address"]),
                        p["mac_address"].as_str().map(str::to_ascii_lowercase),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn dhcp_opts_from(v: Option<&Value>) -> Vec<ExtraDhcpOpt> {
    v.and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|o| ExtraDhcpOpt {
                    opt_name: o["opt_name"].as_str().unwrap_or_default().into(),
                    opt_value: o["opt_value"]
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| super::common::py_str(&o["opt_value"])),
                    ip_version: o["ip_version"].as_i64().unwrap_or(4) as u8,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The enforced attributes a non-owner of the network may not set.
fn owner_attrs(item: &Map<String, Value>) -> Vec<&'static str> {
    let mut attrs = Vec::new();
    if item.contains_key("mac_address") {
        attrs.push("mac_address");
    }
    let specific_ip = item
        .get("fixed_ips")
        .and_then(Value::as_array)
        .is_some_and(|ips| ips.iter().any(|ip| ip.get("ip_address").is_some()));
    if specific_ip {
        attrs.push("fixed_ips:ip_address");
    }
    attrs
}

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
        return Err(resource_not_found());
    }
    if !auth.is_admin() && !auth.owns(&network.project_id) {
        let attrs = owner_attrs(item);
        if !attrs.is_empty() {
            return Err(policy_denied(&policy_rule("create_port", &attrs)));
        }
    }
    let mut spec = NewPort::new(&project, &network_id);
    spec.name = text("name").unwrap_or_default();
    spec.admin_state_up = item
        .get("admin_state_up")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    spec.mac_address = text("mac_address");
    spec.fixed_ips = item
        .get("fixed_ips")
        .and_then(Value::as_array)
        .map(|ips| ips.iter().map(IpRequest::from_value).collect());
    spec.device_id = text("device_id").unwrap_or_default();
    spec.device_owner = text("device_owner").unwrap_or_default();
    spec.security_groups = item
        .get("security_groups")
        .filter(|v| !v.is_null())
        .map(strings);
    spec.description = text("description").unwrap_or_default();
    spec.port_security_enabled = item.get("port_security_enabled").and_then(Value::as_bool);
    spec.allowed_address_pairs = pairs_from(item.get("allowed_address_pairs"));
    spec.binding_host_id = text("binding:host_id").unwrap_or_default();
    spec.binding_vnic_type = text("binding:vnic_type").unwrap_or_default();
    spec.binding_profile = item
        .get("binding:profile")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    spec.extra_dhcp_opts = dhcp_opts_from(item.get("extra_dhcp_opts"));
    spec.tags = strings(item.get("tags").unwrap_or(&Value::Null));
    build(d, spec)
}

pub async fn create(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let Prepared { items, bulk } = prepare(&body, "port", "ports", ATTRS, true, &auth)?;
    if !auth.is_admin() {
        for item in &items {
            let attrs: Vec<&str> = ADMIN_ATTRS
                .iter()
                .copied()
                .filter(|a| item.contains_key(*a))
                .collect();
            if !attrs.is_empty() {
                return Err(policy_denied(&policy_rule("create_port", &attrs)));
            }
        }
    }
    let admin = auth.is_admin();
    let docs = app.store.write(|d| -> ApiResult<Vec<Value>> {
        let mut created: Vec<String> = Vec::new();
        for item in &items {
            match create_one(d, item, &auth) {
                Ok(id) => created.push(id),
                Err(e) => {
                    for id in &created {
                        d.ports.remove(id);
                    }
                    return Err(e);
                }
            }
        }
        Ok(created
            .iter()
            .filter_map(|id| d.ports.get(id))
            .map(|p| Value::Object(render(p, admin)))
            .collect())
    })?;
    Ok(created_response("port", "ports", bulk, docs))
}

/// New addresses for a port whose `fixed_ips` are replaced: addresses
/// it keeps stay, subnet-only requests reuse its address on that subnet.
fn reallocate(
    d: &Data,
    port: &Port,
    network: &Network,
    requested: &[IpRequest],
) -> ApiResult<Vec<FixedIp>> {
    let mut keep: Vec<FixedIp> = Vec::new();
    let mut fresh: Vec<IpRequest> = Vec::new();
    let mut spare: Vec<&FixedIp> = port.fixed_ips.iter().collect();
    for r in requested {
        let existing = match (&r.ip_address, &r.subnet_id) {
            (Some(ip), _) => spare.iter().position(|f| {
                f.ip_address == *ip && r.subnet_id.as_ref().is_none_or(|s| *s == f.subnet_id)
            }),
            (None, Some(sid)) => spare.iter().position(|f| f.subnet_id == *sid),
            (None, None) => None,
        };
        match existing {
            Some(i) => keep.push(spare.remove(i).clone()),
            None => fresh.push(r.clone()),
        }
    }
    allocate_ips(
        d,
        network,
        &port.mac_address,
        &port.device_owner,
        Some(&fresh),
        Some(&port.id),
        keep,
    )
}

pub async fn update(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let Prepared { items, .. } = prepare(&body, "port", "ports", ATTRS, false, &auth)?;
    let item = items.into_iter().next().unwrap_or_default();
    let admin = auth.is_admin();
    app.store.write(|d| {
        let current = d
            .ports
            .get(&id)
            .filter(|p| port_visible(d, p, &auth))
            .cloned()
            .ok_or_else(|| not_found(&id))?;
        check_revision(&headers, current.revision_number)?;
        let network = d
            .networks
            .get(&current.network_id)
            .cloned()
            .ok_or_else(|| networks::not_found(&current.network_id))?;
        if !admin {
            let mut attrs: Vec<&str> = ADMIN_ATTRS
                .iter()
                .copied()
                .filter(|a| item.contains_key(*a))
                .collect();
            if !auth.owns(&network.project_id) {
                attrs.extend(owner_attrs(&item));
            }
            if !attrs.is_empty() {
                return Err(policy_denied(&policy_rule("update_port", &attrs)));
            }
        }
        let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
        let port_security = item
            .get("port_security_enabled")
            .and_then(Value::as_bool)
            .unwrap_or(current.port_security_enabled);
        let groups = match item.get("security_groups") {
            Some(v) => {
                let ids = strings(v);
                check_security_groups(d, &current.project_id, &ids)?;
                ids
            }
            None => current.security_groups.clone(),
        };
        if !port_security && !groups.is_empty() {
            return Err(if item.contains_key("security_groups") {
                security_requires_port_security()
            } else {
                error(
                    StatusCode::CONFLICT,
                    "PortSecurityPortHasSecurityGroup",
                    "Port has security group associated. Cannot disable port security or IP address until security group is removed",
                )
            });
        }
        let pairs = match item.get("allowed_address_pairs") {
            Some(v) => pairs_from(Some(v))
                .into_iter()
                .map(|(ip, m)| AddressPair {
                    ip_address: ip,
                    mac_address: m.unwrap_or_else(|| current.mac_address.clone()),
                })
                .collect(),
            None => current.allowed_address_pairs.clone(),
        };
        if !port_security && !pairs.is_empty() {
            return Err(pairs_require_port_security());
        }
        let mac = match text("mac_address") {
            Some(m) => {
                let m = m.to_ascii_lowercase().replace('-', ":");
                if !current.binding_host_id.is_empty() && m != current.mac_address {
                    return Err(error(
                        StatusCode::CONFLICT,
                        "PortBound",
                        format!(
                            "Unable to complete operation on port {id}, port is already bound, port type: ovs, old_mac {}, new_mac {m}.",
                            current.mac_address
                        ),
                    ));
                }
                if mac_in_use(d, &network.id, &m, Some(&id)) {
                    return Err(error(
                        StatusCode::CONFLICT,
                        "MacAddressInUse",
                        format!(
                            "Unable to complete operation for network {}. The mac address {m} is in use.",
                            network.id
                        ),
                    ));
                }
                m
            }
            None => current.mac_address.clone(),
        };
        let fixed_ips = match item.get("fixed_ips").and_then(Value::as_array) {
            Some(list) => {
                let requested: Vec<IpRequest> = list.iter().map(IpRequest::from_value).collect();
                reallocate(d, &current, &network, &requested)?
            }
            None => current.fixed_ips.clone(),
        };
        let Some(p) = d.ports.get_mut(&id) else {
            return Err(not_found(&id));
        };
        if let Some(v) = text("name") {
            p.name = v;
        }
        if let Some(v) = text("description") {
            p.description = v;
        }
        if let Some(v) = item.get("admin_state_up").and_then(Value::as_bool) {
            p.admin_state_up = v;
        }
        if let Some(v) = text("device_id") {
            p.device_id = v;
        }
        if let Some(v) = text("device_owner") {
            p.device_owner = v;
        }
        if let Some(v) = text("binding:host_id") {
            p.binding_host_id = v;
        }
        if let Some(v) = text("binding:vnic_type") {
            p.binding_vnic_type = v;
        }
        if let Some(v) = item.get("binding:profile").and_then(Value::as_object) {
            p.binding_profile = v.clone();
        }
        if item.contains_key("extra_dhcp_opts") {
            p.extra_dhcp_opts = dhcp_opts_from(item.get("extra_dhcp_opts"));
        }
        p.mac_address = mac;
        p.port_security_enabled = port_security;
        p.security_groups = groups;
        p.allowed_address_pairs = pairs;
        p.fixed_ips = fixed_ips;
        p.status = status_for(&p.device_id);
        p.revision_number += 1;
        p.updated_at = now_iso();
        Ok(Json(wrap("port", render(p, admin))))
    })
}

pub async fn delete(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    app.store.write(|d| {
        let p = d
            .ports
            .get(&id)
            .filter(|p| port_visible(d, p, &auth))
            .ok_or_else(|| not_found(&id))?;
        check_revision(&headers, p.revision_number)?;
        d.ports.remove(&id);
        Ok(StatusCode::NO_CONTENT)
    })
}

/// Finds security groups by id or name among a project's.
fn resolve_security_groups(d: &Data, project_id: &str, names: &[String]) -> ApiResult<Vec<String>> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        let owned = || {
            d.security_groups
                .values()
                .filter(|sg| sg.project_id == project_id)
        };
        if let Some(sg) = owned().find(|sg| sg.id == *name) {
            ids.push(sg.id.clone());
            continue;
        }
        let matching: Vec<&String> = owned()
            .filter(|sg| sg.name == *name)
            .map(|sg| &sg.id)
            .collect();
        match matching.as_slice() {
            [one] => ids.push((*one).clone()),
            [] => return Err(security_groups::not_found(name)),
            _ => {
                return Err(error(
                    StatusCode::CONFLICT,
                    "NoUniqueMatch",
                    format!(
                        "Multiple security groups found matching '{name}'. Use an ID to be more specific."
                    ),
                ));
            }
        }
    }
    Ok(ids)
}

/// `allocate_port`'s work (see `network::allocate_port`).
pub fn allocate_for_server(
    d: &mut Data,
    network_id: &str,
    project_id: &str,
    device_id: &str,
    fixed_ip: Option<&str>,
    security_group_names: &[String],
) -> ApiResult<String> {
    let network = d
        .networks
        .get(network_id)
        .filter(|n| network_visible_to(n, Some(project_id)))
        .ok_or_else(|| networks::not_found(network_id))?;
    let port_security = network.port_security_enabled;
    security_groups::ensure_default(d, project_id);
    let groups = if !port_security {
        if !security_group_names.is_empty() {
            return Err(security_requires_port_security());
        }
        Vec::new()
    } else if security_group_names.is_empty() {
        security_groups::default_group_id(d, project_id)
            .into_iter()
            .collect()
    } else {
        resolve_security_groups(d, project_id, security_group_names)?
    };
    let mut spec = NewPort::new(project_id, network_id);
    spec.device_id = device_id.to_string();
    spec.device_owner = NOVA_OWNER.to_string();
    spec.security_groups = Some(groups);
    spec.binding_host_id = COMPUTE_HOST.to_string();
    spec.fixed_ips = fixed_ip.map(|ip| {
        vec![IpRequest {
            subnet_id: None,
            ip_address: Some(ip.to_string()),
        }]
    });
    build(d, spec)
}

/// `bind_port`'s work.
pub fn bind(d: &mut Data, port_id: &str, device_id: &str) -> ApiResult<()> {
    let p = d.ports.get_mut(port_id).ok_or_else(|| not_found(port_id))?;
    if !p.device_id.is_empty() && p.device_id != device_id {
        return Err(error(
            StatusCode::CONFLICT,
            "PortInUse",
            format!(
                "Unable to complete operation on port {port_id} for network {}. Port already has an attached device {}.",
                p.network_id, p.device_id
            ),
        ));
    }
    p.device_id = device_id.to_string();
    p.device_owner = NOVA_OWNER.to_string();
    p.binding_host_id = COMPUTE_HOST.to_string();
    p.status = status_for(device_id);
    p.revision_number += 1;
    p.updated_at = now_iso();
    Ok(())
}

/// `change_server_security_group`'s work.
pub fn change_security_group(
    d: &mut Data,
    project_id: &str,
    port_ids: &[String],
    group: &str,
    adding: bool,
) -> ApiResult<()> {
    let group_id = match resolve_security_groups(d, project_id, &[group.to_string()])?.pop() {
        Some(id) => id,
        None => return Err(security_groups::not_found(group)),
    };
    if adding
        && port_ids
            .iter()
            .filter_map(|id| d.ports.get(id))
            .any(|p| !p.port_security_enabled)
    {
        return Err(security_requires_port_security());
    }
    for id in port_ids {
        let Some(p) = d.ports.get_mut(id) else {
            continue;
        };
        let has = p.security_groups.contains(&group_id);
        if adding && !has {
            p.security_groups.push(group_id.clone());
        } else if !adding && has {
            p.security_groups.retain(|g| *g != group_id);
        } else {
            continue;
        }
        p.revision_number += 1;
        p.updated_at = now_iso();
    }
    Ok(())
}

/// `release_port`'s work.
pub fn release(d: &mut Data, port_id: &str, delete: bool) {
    if delete {
        d.ports.remove(port_id);
        return;
    }
    if let Some(p) = d.ports.get_mut(port_id) {
        p.device_id.clear();
        p.device_owner.clear();
        p.binding_host_id.clear();
        p.binding_profile.clear();
        p.status = status_for("");
        p.revision_number += 1;
        p.updated_at = now_iso();
    }
}

impl Collection for Port {
    const SINGULAR: &'static str = "port";
    const PLURAL: &'static str = "ports";
    const PATH: &'static str = "ports";
    const KEYS: &'static [&'static str] = KEYS;

    fn table(d: &Data) -> &BTreeMap<String, Self> {
        &d.ports
    }

    fn seq(&self) -> u64 {
        self.seq
    }

    fn visible(&self, d: &Data, auth: &Auth) -> bool {
        port_visible(d, self, auth)
    }

    fn render(&self, _d: &Data, auth: &Auth) -> Map<String, Value> {
        render(self, auth.is_admin())
    }

    fn not_found(id: &str) -> ApiError {
        not_found(id)
    }
}
