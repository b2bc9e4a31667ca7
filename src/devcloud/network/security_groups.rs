//! Security groups and their rules. Every project has a `default` group,
//! made on first use.

use super::collection::Collection;
use super::common::{
    Attr, Check, Prepared, attr, check_revision, created_response, error, invalid_input, new_id,
    policy_denied, policy_rule, prepare, py_list, py_str, required, strings, to_int, wrap,
};
use super::{next_seq, security_group_visible};
use crate::devcloud::error::{ApiError, ApiResult};
use crate::devcloud::ipam;
use crate::devcloud::model::{Data, SecurityGroup, SecurityGroupRule};
use crate::devcloud::server::{App, Auth};
use crate::devcloud::time::now_iso;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

const DEFAULT: &str = "default";

const GROUP_ATTRS: &[Attr] = &[
    attr("id", false, false, Check::Uuid),
    attr("name", true, true, Check::Str(255)),
    attr("description", true, true, Check::Str(255)),
    attr("tenant_id", true, false, Check::Str(255)),
    attr("project_id", true, false, Check::Str(255)),
    attr("security_group_rules", false, false, Check::Any),
    attr("stateful", true, true, Check::Bool),
    attr("shared", false, false, Check::Any),
    // Neutron takes tags at creation for ports only (its tagging
    // extension); other objects get them through `/tags`.
    attr("tags", false, false, Check::StrList(255)),
    attr("created_at", false, false, Check::Any),
    attr("updated_at", false, false, Check::Any),
    attr("revision_number", false, false, Check::Any),
];

const GROUP_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "tenant_id",
    "project_id",
    "stateful",
    "shared",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
];

const RULE_ATTRS: &[Attr] = &[
    attr("id", false, false, Check::Uuid),
    required("security_group_id", Check::Uuid),
    attr("remote_group_id", true, false, Check::OptUuid),
    attr("remote_address_group_id", true, false, Check::OptUuid),
    required("direction", Check::Values(&["ingress", "egress"])),
    attr("protocol", true, false, Check::Any),
    attr("port_range_min", true, false, Check::Any),
    attr("port_range_max", true, false, Check::Any),
    attr("ethertype", true, false, Check::Any),
    attr("remote_ip_prefix", true, false, Check::Any),
    attr("tenant_id", true, false, Check::Str(255)),
    attr("project_id", true, false, Check::Str(255)),
    attr("description", true, false, Check::Str(255)),
    attr("normalized_cidr", false, false, Check::Any),
    attr("belongs_to_default_sg", false, false, Check::Any),
    attr("created_at", false, false, Check::Any),
    attr("updated_at", false, false, Check::Any),
    attr("revision_number", false, false, Check::Any),
];

const RULE_KEYS: &[&str] = &[
    "id",
    "security_group_id",
    "remote_group_id",
    "remote_address_group_id",
    "direction",
    "protocol",
    "port_range_min",
    "port_range_max",
    "ethertype",
    "remote_ip_prefix",
    "tenant_id",
    "project_id",
    "description",
    "normalized_cidr",
    "belongs_to_default_sg",
    "created_at",
    "updated_at",
    "revision_number",
];

/// Protocol names Neutron accepts (besides numbers 0 to 255).
const PROTOCOLS: &[&str] = &[
    "ah",
    "any",
    "dccp",
    "egp",
    "esp",
    "gre",
    "hopopt",
    "icmp",
    "igmp",
    "ip",
    "ipip",
    "ipv6-encap",
    "ipv6-frag",
    "ipv6-icmp",
    "icmpv6",
    "ipv6-nonxt",
    "ipv6-opts",
    "ipv6-route",
    "ospf",
    "pgm",
    "rsvp",
    "sctp",
    "tcp",
    "udp",
    "udplite",
    "vrrp",
];

/// Protocols whose rules carry port ranges.
const PORT_PROTOCOLS: &[&str] = &[
    "tcp", "udp", "dccp", "sctp", "udplite", "6", "17", "33", "132", "136",
];
const ICMP_PROTOCOLS: &[&str] = &["icmp", "icmpv6", "ipv6-icmp", "1", "58"];

pub fn not_found(id: &str) -> ApiError {
    error(
        StatusCode::NOT_FOUND,
        "SecurityGroupNotFound",
        format!("Security group {id} does not exist"),
    )
}

pub fn rule_not_found(id: &str) -> ApiError {
    error(
        StatusCode::NOT_FOUND,
        "SecurityGroupRuleNotFound",
        format!("Security group rule {id} does not exist"),
    )
}

fn default_exists() -> ApiError {
    error(
        StatusCode::CONFLICT,
        "SecurityGroupDefaultAlreadyExists",
        "Default security group already exists.",
    )
}

/// The id of a project's `default` group, if it has one.
pub fn default_group_id(d: &Data, project_id: &str) -> Option<String> {
    d.security_groups
        .values()
        .find(|sg| sg.project_id == project_id && sg.name == DEFAULT)
        .map(|sg| sg.id.clone())
}

fn add_rule(
    d: &mut Data,
    group: &SecurityGroup,
    direction: &str,
    ethertype: &str,
    remote_group: Option<String>,
) {
    let now = now_iso();
    let rule = SecurityGroupRule {
        id: new_id(),
        security_group_id: group.id.clone(),
        project_id: group.project_id.clone(),
        direction: direction.into(),
        ethertype: ethertype.into(),
        protocol: None,
        port_range_min: None,
        port_range_max: None,
        remote_ip_prefix: None,
        remote_group_id: remote_group,
        description: String::new(),
        created_at: now.clone(),
        updated_at: now,
        revision_number: 0,
        seq: next_seq(d.security_group_rules.values().map(|r| r.seq)),
    };
    d.security_group_rules.insert(rule.id.clone(), rule);
}

fn new_group(d: &Data, project_id: &str, name: &str, description: &str) -> SecurityGroup {
    let now = now_iso();
    SecurityGroup {
        id: new_id(),
        name: name.into(),
        description: description.into(),
        project_id: project_id.into(),
        stateful: true,
        tags: Vec::new(),
        created_at: now.clone(),
        updated_at: now,
        revision_number: 1,
        seq: next_seq(d.security_groups.values().map(|s| s.seq)),
    }
}

/// Makes a project's `default` group (egress anywhere, ingress from
/// members of the group, for IPv4 and IPv6) unless it has one.
pub fn ensure_default(d: &mut Data, project_id: &str) {
    if project_id.is_empty() || default_group_id(d, project_id).is_some() {
        return;
    }
    let group = new_group(d, project_id, DEFAULT, "Default security group");
    for ethertype in ["IPv4", "IPv6"] {
        add_rule(d, &group, "egress", ethertype, None);
    }
    for ethertype in ["IPv4", "IPv6"] {
        add_rule(d, &group, "ingress", ethertype, Some(group.id.clone()));
    }
    d.security_groups.insert(group.id.clone(), group);
}

pub fn render_rule(d: &Data, r: &SecurityGroupRule) -> Map<String, Value> {
    let normalized = r
        .remote_ip_prefix
        .as_deref()
        .and_then(|p| ipam::parse_cidr(p).ok())
        .map(|c| c.network().to_string());
    let in_default = d
        .security_groups
        .get(&r.security_group_id)
        .is_some_and(|sg| sg.name == DEFAULT);
    let mut m = Map::new();
    m.insert("id".into(), json!(r.id));
    m.insert("tenant_id".into(), json!(r.project_id));
    m.insert("security_group_id".into(), json!(r.security_group_id));
    m.insert("ethertype".into(), json!(r.ethertype));
    m.insert("direction".into(), json!(r.direction));
    m.insert("protocol".into(), json!(r.protocol));
    m.insert("port_range_min".into(), json!(r.port_range_min));
    m.insert("port_range_max".into(), json!(r.port_range_max));
    m.insert("remote_ip_prefix".into(), json!(r.remote_ip_prefix));
    m.insert("remote_address_group_id".into(), Value::Null);
    m.insert("normalized_cidr".into(), json!(normalized));
    m.insert("remote_group_id".into(), json!(r.remote_group_id));
    m.insert("belongs_to_default_sg".into(), json!(in_default));
    m.insert("description".into(), json!(r.description));
    m.insert("created_at".into(), json!(r.created_at));
    m.insert("updated_at".into(), json!(r.updated_at));
    m.insert("revision_number".into(), json!(r.revision_number));
    m.insert("project_id".into(), json!(r.project_id));
    m
}

fn rules_of<'a>(d: &'a Data, group_id: &str) -> Vec<&'a SecurityGroupRule> {
    let mut rules: Vec<&SecurityGroupRule> = d
        .security_group_rules
        .values()
        .filter(|r| r.security_group_id == group_id)
        .collect();
    rules.sort_by_key(|r| r.seq);
    rules
}

pub fn render(d: &Data, sg: &SecurityGroup) -> Map<String, Value> {
    let rules: Vec<Value> = rules_of(d, &sg.id)
        .into_iter()
        .map(|r| Value::Object(render_rule(d, r)))
        .collect();
    let mut m = Map::new();
    m.insert("id".into(), json!(sg.id));
    m.insert("name".into(), json!(sg.name));
    m.insert("tenant_id".into(), json!(sg.project_id));
    m.insert("description".into(), json!(sg.description));
    m.insert("security_group_rules".into(), Value::Array(rules));
    m.insert("stateful".into(), json!(sg.stateful));
    m.insert("shared".into(), json!(false));
    m.insert("tags".into(), json!(sg.tags));
    m.insert("created_at".into(), json!(sg.created_at));
    m.insert("updated_at".into(), json!(sg.updated_at));
    m.insert("revision_number".into(), json!(sg.revision_number));
    m.insert("project_id".into(), json!(sg.project_id));
    m
}

fn create_group(d: &mut Data, item: &Map<String, Value>) -> ApiResult<String> {
    let text = |k: &str| {
        item.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let name = text("name");
    if name.eq_ignore_ascii_case(DEFAULT) {
        return Err(default_exists());
    }
    let project = text("project_id");
    ensure_default(d, &project);
    let mut group = new_group(d, &project, &name, &text("description"));
    group.stateful = item
        .get("stateful")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    group.tags = strings(item.get("tags").unwrap_or(&Value::Null));
    // Neutron opens new groups for egress.
    for ethertype in ["IPv4", "IPv6"] {
        add_rule(d, &group, "egress", ethertype, None);
    }
    let id = group.id.clone();
    d.security_groups.insert(id.clone(), group);
    Ok(id)
}

pub async fn create(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let Prepared { items, bulk } = prepare(
        &body,
        "security_group",
        "security_groups",
        GROUP_ATTRS,
        true,
        &auth,
    )?;
    let docs = app.store.write(|d| -> ApiResult<Vec<Value>> {
        let mut created: Vec<String> = Vec::new();
        for item in &items {
            match create_group(d, item) {
                Ok(id) => created.push(id),
                Err(e) => {
                    for id in &created {
                        d.security_groups.remove(id);
                        d.security_group_rules
                            .retain(|_, r| r.security_group_id != *id);
                    }
                    return Err(e);
                }
            }
        }
        Ok(created
            .iter()
            .filter_map(|id| d.security_groups.get(id))
            .map(|sg| Value::Object(render(d, sg)))
            .collect())
    })?;
    Ok(created_response(
        "security_group",
        "security_groups",
        bulk,
        docs,
    ))
}

pub async fn update(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let Prepared { items, .. } = prepare(
        &body,
        "security_group",
        "security_groups",
        GROUP_ATTRS,
        false,
        &auth,
    )?;
    let item = items.into_iter().next().unwrap_or_default();
    app.store.write(|d| {
        let sg = d
            .security_groups
            .get(&id)
            .filter(|sg| security_group_visible(sg, &auth))
            .ok_or_else(|| not_found(&id))?;
        check_revision(&headers, sg.revision_number)?;
        let new_name = item.get("name").and_then(Value::as_str);
        if let Some(name) = new_name {
            if sg.name == DEFAULT && name != DEFAULT {
                return Err(error(
                    StatusCode::CONFLICT,
                    "SecurityGroupCannotUpdateDefault",
                    "Updating default security group not allowed.",
                ));
            }
            if sg.name != DEFAULT && name.eq_ignore_ascii_case(DEFAULT) {
                return Err(default_exists());
            }
        }
        let Some(sg) = d.security_groups.get_mut(&id) else {
            return Err(not_found(&id));
        };
        if let Some(name) = new_name {
            sg.name = name.to_string();
        }
        if let Some(v) = item.get("description").and_then(Value::as_str) {
            sg.description = v.to_string();
        }
        if let Some(v) = item.get("stateful").and_then(Value::as_bool) {
            sg.stateful = v;
        }
        sg.revision_number += 1;
        sg.updated_at = now_iso();
        let sg = sg.clone();
        Ok(Json(wrap("security_group", render(d, &sg))))
    })
}

pub async fn delete(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    app.store.write(|d| {
        let sg = d
            .security_groups
            .get(&id)
            .filter(|sg| security_group_visible(sg, &auth))
            .ok_or_else(|| not_found(&id))?;
        check_revision(&headers, sg.revision_number)?;
        if sg.name == DEFAULT && !auth.is_admin() {
            return Err(error(
                StatusCode::CONFLICT,
                "SecurityGroupCannotRemoveDefault",
                "Insufficient rights for removing default security group.",
            ));
        }
        if d.ports.values().any(|p| p.security_groups.contains(&id)) {
            return Err(error(
                StatusCode::CONFLICT,
                "SecurityGroupInUse",
                format!("Security Group {id} in use."),
            ));
        }
        // Rules of this group and rules naming it as their remote go too.
        d.security_group_rules.retain(|_, r| {
            r.security_group_id != id && r.remote_group_id.as_deref() != Some(id.as_str())
        });
        d.security_groups.remove(&id);
        Ok(StatusCode::NO_CONTENT)
    })
}

fn invalid_protocol(value: &Value) -> ApiError {
    let mut names: Vec<&str> = vec!["None"];
    names.extend(PROTOCOLS);
    let shown: Vec<String> = names
        .iter()
        .map(|n| {
            if *n == "None" {
                n.to_string()
            } else {
                format!("'{n}'")
            }
        })
        .collect();
    error(
        StatusCode::BAD_REQUEST,
        "SecurityGroupRuleInvalidProtocol",
        format!(
            "Security group rule protocol {} not supported. Only protocol values [{}] and their integer representation (0 to 255) are supported.",
            py_str(value),
            shown.join(", ")
        ),
    )
}

/// `convert_protocol`: a known name (lower-cased) or a number 0 to 255.
fn protocol(value: Option<&Value>) -> ApiResult<Option<String>> {
    let Some(v) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    if let Some(n) = to_int(v).filter(|_| !v.is_boolean()) {
        if (0..=255).contains(&n) {
            return Ok(Some(n.to_string()));
        }
        return Err(invalid_protocol(v));
    }
    match v.as_str().map(str::to_ascii_lowercase) {
        Some(name) if PROTOCOLS.contains(&name.as_str()) => Ok(Some(name)),
        _ => Err(invalid_protocol(v)),
    }
}

/// IANA numbers of the protocol names Neutron accepts, for comparing
/// rules; `icmpv6` is Neutron's legacy name for `ipv6-icmp`.
const PROTOCOL_NUMBERS: &[(&str, &str)] = &[
    ("hopopt", "0"),
    ("icmp", "1"),
    ("igmp", "2"),
    ("ipip", "4"),
    ("tcp", "6"),
    ("egp", "8"),
    ("pgm", "113"),
    ("udp", "17"),
    ("ipv6-encap", "41"),
    ("ipv6-route", "43"),
    ("ipv6-frag", "44"),
    ("rsvp", "46"),
    ("gre", "47"),
    ("esp", "50"),
    ("ah", "51"),
    ("ipv6-icmp", "58"),
    ("icmpv6", "58"),
    ("ipv6-nonxt", "59"),
    ("ipv6-opts", "60"),
    ("ospf", "89"),
    ("vrrp", "112"),
    ("dccp", "33"),
    ("sctp", "132"),
    ("udplite", "136"),
];

/// A rule's protocol as a number where it has one.
fn protocol_number(protocol: Option<&str>) -> Option<&str> {
    protocol.map(|p| {
        PROTOCOL_NUMBERS
            .iter()
            .find(|(name, _)| *name == p)
            .map_or(p, |(_, number)| number)
    })
}

/// A remote prefix for comparing rules: "anywhere" is no prefix.
fn prefix_key(prefix: Option<&str>) -> Option<&str> {
    prefix.filter(|p| *p != "0.0.0.0/0" && *p != "::/0")
}

fn port_value(value: Option<&Value>) -> ApiResult<Option<u16>> {
    let Some(v) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    match to_int(v) {
        Some(n) if (0..=65535).contains(&n) && !v.is_boolean() => Ok(Some(n as u16)),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "SecurityGroupInvalidPortValue",
            format!("Invalid value for port {}", py_str(v)),
        )),
    }
}

fn create_rule_one(d: &mut Data, item: &Map<String, Value>, auth: &Auth) -> ApiResult<String> {
    let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
    let group_id = text("security_group_id").unwrap_or_default();
    let protocol = protocol(item.get("protocol"))?;
    let min = port_value(item.get("port_range_min"))?;
    let max = port_value(item.get("port_range_max"))?;
    let ethertype = match item.get("ethertype") {
        None | Some(Value::Null) => "IPv4".to_string(),
        Some(v) => match v.as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("ipv4") => "IPv4".into(),
            Some("ipv6") => "IPv6".into(),
            _ => {
                return Err(super::common::bad_request(format!(
                    "Invalid input for ethertype. Reason: None is not in {}.",
                    py_list(&["IPv4", "IPv6"])
                )));
            }
        },
    };
    let prefix = match item.get("remote_ip_prefix") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let text = v.as_str().unwrap_or_default();
            let parsed = ipam::parse_cidr(text)
                .ok()
                .or_else(|| {
                    ipam::parse_ip(text).ok().map(|ip| ipam::CidrInput {
                        addr: ipam::to_u128(ip),
                        prefix: ipam::bits(ipam::version_of(ip)) as u8,
                        version: ipam::version_of(ip),
                    })
                })
                .ok_or_else(|| {
                    error(
                        StatusCode::BAD_REQUEST,
                        "InvalidCIDR",
                        format!("Invalid CIDR {} given as IP prefix.", py_str(v)),
                    )
                })?;
            let shown = format!(
                "{}/{}",
                ipam::format(parsed.addr, parsed.version),
                parsed.prefix
            );
            let expected = if parsed.version == 4 { "IPv4" } else { "IPv6" };
            if expected != ethertype {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "SecurityGroupRuleParameterConflict",
                    format!("Conflicting value ethertype {ethertype} for CIDR {text}"),
                ));
            }
            Some(shown)
        }
    };
    let remote_group = text("remote_group_id");
    if prefix.is_some() && remote_group.is_some() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "SecurityGroupRemoteGroupAndRemoteIpPrefix",
            "Only remote_ip_prefix or remote_group_id may be provided.",
        ));
    }
    if (min.is_some() || max.is_some()) && protocol.is_none() {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "SecurityGroupProtocolRequiredWithPorts",
            "Must also specify protocol if port range is given.",
        ));
    }
    if let Some(p) = protocol.as_deref() {
        if PORT_PROTOCOLS.contains(&p) {
            if min == Some(0) || max == Some(0) {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "SecurityGroupInvalidPortValue",
                    "Invalid value for port 0",
                ));
            }
            // Both ends or neither: a port protocol with just one end
            // is not a range.
            let ordered = matches!((min, max), (Some(a), Some(b)) if a <= b);
            if (min.is_some() || max.is_some()) && !ordered {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "SecurityGroupInvalidPortRange",
                    "For TCP/UDP protocols, port_range_min must be <= port_range_max",
                ));
            }
        } else if ICMP_PROTOCOLS.contains(&p) {
            for (field, attr, value) in [
                ("type", "port_range_min", min),
                ("code", "port_range_max", max),
            ] {
                if let Some(v) = value
                    && v > 255
                {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        "SecurityGroupInvalidIcmpValue",
                        format!(
                            "Invalid value for ICMP {field} ({attr}) {v}. It must be 0 to 255."
                        ),
                    ));
                }
            }
            if let (None, Some(code)) = (min, max) {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "SecurityGroupMissingIcmpType",
                    format!(
                        "ICMP code (port-range-max) {code} is provided but ICMP type (port-range-min) is missing."
                    ),
                ));
            }
        }
    }
    let group = d
        .security_groups
        .get(&group_id)
        .filter(|sg| security_group_visible(sg, auth))
        .cloned()
        .ok_or_else(|| not_found(&group_id))?;
    if let Some(remote) = &remote_group
        && !d.security_groups.contains_key(remote)
    {
        return Err(not_found(remote));
    }
    let project = text("project_id").unwrap_or_default();
    if project != group.project_id && !auth.is_admin() {
        return Err(invalid_input(
            "Multiple tenant_ids in bulk security group rule create not allowed",
        ));
    }
    let description = text("description").unwrap_or_default();
    // Neutron compares rules with protocols by number and "anywhere"
    // prefixes as no prefix.
    let same = |r: &&SecurityGroupRule| {
        r.security_group_id == group.id
            && r.direction == item["direction"].as_str().unwrap_or_default()
            && r.ethertype == ethertype
            && protocol_number(r.protocol.as_deref()) == protocol_number(protocol.as_deref())
            && r.port_range_min == min
            && r.port_range_max == max
            && prefix_key(r.remote_ip_prefix.as_deref()) == prefix_key(prefix.as_deref())
            && r.remote_group_id == remote_group
    };
    if let Some(existing) = d.security_group_rules.values().find(same) {
        return Err(error(
            StatusCode::CONFLICT,
            "SecurityGroupRuleExists",
            format!(
                "Security group rule already exists. Rule id is {}.",
                existing.id
            ),
        ));
    }
    let now = now_iso();
    let rule = SecurityGroupRule {
        id: new_id(),
        security_group_id: group.id.clone(),
        project_id: group.project_id.clone(),
        direction: item["direction"].as_str().unwrap_or("ingress").to_string(),
        ethertype,
        protocol,
        port_range_min: min,
        port_range_max: max,
        remote_ip_prefix: prefix,
        remote_group_id: remote_group,
        description,
        created_at: now.clone(),
        updated_at: now,
        revision_number: 0,
        seq: next_seq(d.security_group_rules.values().map(|r| r.seq)),
    };
    let id = rule.id.clone();
    d.security_group_rules.insert(id.clone(), rule);
    if let Some(sg) = d.security_groups.get_mut(&group.id) {
        sg.revision_number += 1;
        sg.updated_at = now_iso();
    }
    Ok(id)
}

pub async fn create_rule(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let Prepared { items, bulk } = prepare(
        &body,
        "security_group_rule",
        "security_group_rules",
        RULE_ATTRS,
        true,
        &auth,
    )?;
    let docs = app.store.write(|d| -> ApiResult<Vec<Value>> {
        let mut created: Vec<String> = Vec::new();
        for item in &items {
            match create_rule_one(d, item, &auth) {
                Ok(id) => created.push(id),
                Err(e) => {
                    for id in &created {
                        d.security_group_rules.remove(id);
                    }
                    return Err(e);
                }
            }
        }
        Ok(created
            .iter()
            .filter_map(|id| d.security_group_rules.get(id))
            .map(|r| Value::Object(render_rule(d, r)))
            .collect())
    })?;
    Ok(created_response(
        "security_group_rule",
        "security_group_rules",
        bulk,
        docs,
    ))
}

fn rule_visible(r: &SecurityGroupRule, auth: &Auth) -> bool {
    auth.owns(&r.project_id)
}

pub async fn delete_rule(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    app.store.write(|d| {
        let r = d
            .security_group_rules
            .get(&id)
            .filter(|r| rule_visible(r, &auth))
            .ok_or_else(|| rule_not_found(&id))?;
        let group = r.security_group_id.clone();
        if !auth.owns(&r.project_id) {
            return Err(policy_denied(&policy_rule(
                "delete_security_group_rule",
                &[],
            )));
        }
        d.security_group_rules.remove(&id);
        if let Some(sg) = d.security_groups.get_mut(&group) {
            sg.revision_number += 1;
            sg.updated_at = now_iso();
        }
        Ok(StatusCode::NO_CONTENT)
    })
}

/// Listing groups or rules is one of the moments Neutron makes the
/// caller's default group.
fn ensure_callers_default(app: &App, auth: &Auth) {
    if let Some(project) = auth.project_id.as_deref()
        && app.store.read(|d| default_group_id(d, project).is_none())
    {
        app.store.write(|d| ensure_default(d, project));
    }
}

impl Collection for SecurityGroup {
    const SINGULAR: &'static str = "security_group";
    const PLURAL: &'static str = "security_groups";
    const PATH: &'static str = "security-groups";
    const KEYS: &'static [&'static str] = GROUP_KEYS;

    fn table(d: &Data) -> &BTreeMap<String, Self> {
        &d.security_groups
    }

    fn seq(&self) -> u64 {
        self.seq
    }

    fn visible(&self, _d: &Data, auth: &Auth) -> bool {
        security_group_visible(self, auth)
    }

    fn render(&self, d: &Data, _auth: &Auth) -> Map<String, Value> {
        render(d, self)
    }

    fn not_found(id: &str) -> ApiError {
        not_found(id)
    }

    fn before_listing(app: &App, auth: &Auth) {
        ensure_callers_default(app, auth);
    }
}

impl Collection for SecurityGroupRule {
    const SINGULAR: &'static str = "security_group_rule";
    const PLURAL: &'static str = "security_group_rules";
    const PATH: &'static str = "security-group-rules";
    const KEYS: &'static [&'static str] = RULE_KEYS;

    fn table(d: &Data) -> &BTreeMap<String, Self> {
        &d.security_group_rules
    }

    fn seq(&self) -> u64 {
        self.seq
    }

    fn visible(&self, _d: &Data, auth: &Auth) -> bool {
        rule_visible(self, auth)
    }

    fn render(&self, d: &Data, _auth: &Auth) -> Map<String, Value> {
        render_rule(d, self)
    }

    fn not_found(id: &str) -> ApiError {
        rule_not_found(id)
    }

    fn before_listing(app: &App, auth: &Auth) {
        ensure_callers_default(app, auth);
    }
}

#[cfg(test)]
pub mod tests_support {
    use super::*;

    /// Adds a group with no rules and returns its id.
    pub fn add_group(d: &mut Data, project_id: &str, name: &str) -> String {
        let group = new_group(d, project_id, name, "");
        let id = group.id.clone();
        d.security_groups.insert(id.clone(), group);
        id
    }
}
