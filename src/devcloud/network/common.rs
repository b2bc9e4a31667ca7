//! What every Neutron resource shares: error bodies with Neutron's types
//! and messages, the request-body pipeline of `prepare_request_body`
//! (envelope, project, unknown and read-only attributes, conversions and
//! validators, in that order), and list queries (filters, `fields`,
//! sorting, pagination with `<collection>_links`).

use crate::devcloud::error::{ApiError, ApiResult, Service};
use crate::devcloud::ipam;
use crate::devcloud::server::Auth;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::cmp::Ordering;

pub const SERVICE: Service = Service::Network;

/// An error with Neutron's exception class name as its type.
pub fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(SERVICE, status, message).with_kind(kind)
}

/// webob's `HTTPBadRequest`, raised by the API layer.
pub fn bad_request(message: impl Into<String>) -> ApiError {
    error(StatusCode::BAD_REQUEST, "HTTPBadRequest", message)
}

/// neutron-lib's `InvalidInput`.
pub fn invalid_input(message: impl AsRef<str>) -> ApiError {
    error(
        StatusCode::BAD_REQUEST,
        "InvalidInput",
        format!("Invalid input for operation: {}.", message.as_ref()),
    )
}

/// neutron-lib's generic `BadRequest` for a resource.
pub fn bad_resource_request(resource: &str, message: &str) -> ApiError {
    error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("Bad {resource} request: {message}."),
    )
}

/// The 404 of the API layer for what a caller may not see.
pub fn resource_not_found() -> ApiError {
    error(
        StatusCode::NOT_FOUND,
        "HTTPNotFound",
        "The resource could not be found.",
    )
}

/// oslo.policy's refusal; `rule` is the rule as Neutron builds it
/// (`(rule:create_network and rule:create_network:shared)`).
pub fn policy_denied(rule: &str) -> ApiError {
    error(
        StatusCode::FORBIDDEN,
        "PolicyNotAuthorized",
        format!("{rule} is disallowed by policy"),
    )
}

/// The rule Neutron checks for `action` when `attributes` (those with
/// `enforce_policy`) are set in the request: each one is and-ed in turn.
pub fn policy_rule(action: &str, attributes: &[&str]) -> String {
    let mut rule = format!("rule:{action}");
    for attribute in attributes {
        rule = format!("({rule} and rule:{action}:{attribute})");
    }
    rule
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Python's `str()` of a JSON value, as Neutron's messages print request
/// data (`'%s' % data`).
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr()` of a JSON value.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if s.contains('\'') && !s.contains('"') {
                format!("\"{s}\"")
            } else {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(py_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_repr(&Value::String(k.clone())), py_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// A list of strings as Python prints it (`['ingress', 'egress']`).
pub fn py_list(items: &[&str]) -> String {
    let values: Vec<Value> = items.iter().map(|s| Value::String(s.to_string())).collect();
    py_repr(&Value::Array(values))
}

/// oslo's `is_uuid_like`: 32 hex digits, dashes optional.
pub fn is_uuid_like(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok()
        && (text.len() == 32 || text.len() == 36)
        && !text.starts_with('{')
}

/// `convert_to_boolean`: booleans, 0/1, and the strings oslo accepts.
pub fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_i64() {
            Some(1) => Some(true),
            Some(0) => Some(false),
            _ => None,
        },
        Value::String(s) => bool_from_str(s),
        _ => None,
    }
}

pub fn bool_from_str(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Some(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// `convert_to_int`: integers, integral floats and numeric strings.
pub fn to_int(v: &Value) -> Option<i64> {
    match v {
        Value::Bool(b) => Some(*b as i64),
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// How an attribute's value is converted and validated.
#[derive(Clone, Copy, Debug)]
pub enum Check {
    /// Any value; the resource code looks at it.
    Any,
    /// A string of at most so many characters.
    Str(usize),
    /// A string or null.
    OptStr(usize),
    Bool,
    /// An integer (converted from strings).
    Int,
    NonNegInt,
    Uuid,
    OptUuid,
    /// One of these strings.
    Values(&'static [&'static str]),
    /// A list of unique strings of at most so many characters.
    StrList(usize),
    /// A JSON object.
    Dict,
    /// A list of UUIDs (security groups).
    UuidList,
    IpVersion,
    /// A subnet CIDR or null.
    OptCidr,
    OptIp,
    IpPools,
    Nameservers,
    HostRoutes,
    FixedIps,
    Mac,
    AddressPairs,
    DhcpOpts,
}

/// One attribute of a resource, as in neutron-lib's attribute maps.
pub struct Attr {
    pub name: &'static str,
    pub post: bool,
    pub put: bool,
    /// Required on create (no default).
    pub required: bool,
    pub check: Check,
}

pub const fn attr(name: &'static str, post: bool, put: bool, check: Check) -> Attr {
    Attr {
        name,
        post,
        put,
        required: false,
        check,
    }
}

pub const fn required(name: &'static str, check: Check) -> Attr {
    Attr {
        name,
        post: true,
        put: false,
        required: true,
        check,
    }
}

/// A parsed create or update body: one item, or several for bulk create.
pub struct Prepared {
    pub items: Vec<Map<String, Value>>,
    pub bulk: bool,
}

/// Neutron's `prepare_request_body`: finds `resource` (or, for bulk
/// create, the collection) in the body, fills in and checks the project,
/// refuses unknown, missing and read-only attributes, then converts and
/// validates each attribute in the map's order.
pub fn prepare(
    body: &[u8],
    resource: &str,
    collection: &str,
    attrs: &[Attr],
    create: bool,
    auth: &Auth,
) -> ApiResult<Prepared> {
    let missing = || bad_request(format!("Unable to find '{resource}' in request body"));
    let parsed: Value = serde_json::from_slice(body).map_err(|_| missing())?;
    let Value::Object(mut top) = parsed else {
        return Err(missing());
    };
    let (raw_items, bulk) = if let Some(list) = top.remove(collection) {
        if !create {
            return Err(bad_request("Bulk operation not supported"));
        }
        match list {
            Value::Array(items) if !items.is_empty() => {
                let unwrapped = items
                    .into_iter()
                    .map(|item| match item {
                        Value::Object(mut m) if m.contains_key(resource) => {
                            m.remove(resource).unwrap_or(Value::Null)
                        }
                        other => other,
                    })
                    .collect();
                (unwrapped, true)
            }
            Value::Array(_) | Value::Null => return Err(bad_request("Resources required")),
            _ => return Err(bad_request("Body contains invalid data")),
        }
    } else {
        match top.remove(resource) {
            Some(Value::Null) | None => return Err(missing()),
            Some(item) => (vec![item], false),
        }
    };
    let mut items = Vec::with_capacity(raw_items.len());
    for raw in raw_items {
        let Value::Object(mut item) = raw else {
            return Err(bad_request(format!(
                "Object '{resource}' contains invalid data"
            )));
        };
        populate_project(&mut item, auth, create)?;
        let mut unknown: Vec<&str> = item
            .keys()
            .map(String::as_str)
            .filter(|k| !attrs.iter().any(|a| a.name == *k))
            .collect();
        if !unknown.is_empty() {
            unknown.dedup();
            return Err(bad_request(format!(
                "Unrecognized attribute(s) '{}'",
                unknown.join(", ")
            )));
        }
        for a in attrs {
            if create {
                if a.post && a.required && !item.contains_key(a.name) {
                    return Err(bad_request(format!(
                        "Failed to parse request. Required attribute '{}' not specified",
                        a.name
                    )));
                }
                if !a.post && item.contains_key(a.name) {
                    return Err(bad_request(format!(
                        "Attribute '{}' not allowed in POST",
                        a.name
                    )));
                }
            } else if !a.put && item.contains_key(a.name) {
                return Err(bad_request(format!(
                    "Cannot update read-only attribute {}",
                    a.name
                )));
            }
        }
        for a in attrs {
            if let Some(value) = item.get_mut(a.name) {
                convert(a, value)?;
            }
        }
        items.push(item);
    }
    Ok(Prepared { items, bulk })
}

/// Mirrors `tenant_id` and `project_id`, refuses a mismatch, refuses
/// another project to non-admins, and fills in the caller's project on
/// create.
fn populate_project(item: &mut Map<String, Value>, auth: &Auth, create: bool) -> ApiResult<()> {
    match (
        item.get("tenant_id").cloned(),
        item.get("project_id").cloned(),
    ) {
        (Some(t), None) => {
            item.insert("project_id".into(), t);
        }
        (None, Some(p)) => {
            item.insert("tenant_id".into(), p);
        }
        (Some(t), Some(p)) if t != p => {
            return Err(bad_request("'project_id' and 'tenant_id' do not match"));
        }
        _ => {}
    }
    if let Some(p) = item.get("project_id")
        && !auth.is_admin()
        && p.as_str() != auth.project_id.as_deref()
    {
        return Err(bad_request(
            "Specifying 'project_id' or 'tenant_id' other than the authenticated project in request is not allowed for current user.",
        ));
    }
    if create && !item.contains_key("project_id") {
        let project = auth.project(SERVICE)?.to_string();
        item.insert("project_id".into(), json!(project));
        item.insert("tenant_id".into(), json!(project));
    }
    Ok(())
}

fn invalid_attr(name: &str, reason: impl AsRef<str>) -> ApiError {
    bad_request(format!(
        "Invalid input for {name}. Reason: {}.",
        reason.as_ref()
    ))
}

fn string_reason(v: &Value, max: usize) -> Option<String> {
    match v {
        Value::String(s) if s.chars().count() > max => {
            Some(format!("'{s}' exceeds maximum length of {max}"))
        }
        Value::String(_) => None,
        other => Some(format!("'{}' is not a valid string", py_str(other))),
    }
}

/// `_validate_list_of_items`: a list, no duplicates, each item valid.
fn list_reason(v: &Value, item: impl Fn(&Value) -> Option<String>) -> Option<String> {
    let Value::Array(items) = v else {
        return Some(format!("'{}' is not a list", py_str(v)));
    };
    let mut dups: Vec<String> = Vec::new();
    for (i, x) in items.iter().enumerate() {
        if items[..i].contains(x) {
            let shown = py_str(x);
            if !dups.contains(&shown) {
                dups.push(shown);
            }
        }
    }
    if !dups.is_empty() {
        return Some(format!(
            "Duplicate items in the list: '{}'",
            dups.join(", ")
        ));
    }
    items.iter().find_map(item)
}

fn ip_reason(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => ipam::parse_ip(s).err(),
        other => Some(format!("'{}' is not a valid IP address", py_str(other))),
    }
}

fn cidr_reason(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => ipam::parse_cidr(s).err(),
        other => Some(format!("'{}' is not a valid IP subnet", py_str(other))),
    }
}

fn mac_reason(v: &Value) -> Option<String> {
    let ok = v.as_str().is_some_and(|s| {
        let parts: Vec<&str> = s.split(['-', ':']).collect();
        parts.len() == 6
            && parts
                .iter()
                .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
            && u8::from_str_radix(parts[0], 16).is_ok_and(|b| b & 1 == 0)
            && !s.eq_ignore_ascii_case("00:00:00:00:00:00")
    });
    (!ok).then(|| format!("'{}' is not a valid MAC address", py_str(v)))
}

/// `_verify_dict_keys` with Python's set printing.
fn dict_keys_reason(v: &Value, expected: &[&str], strict: bool) -> Option<String> {
    let expected_set = format!(
        "{{{}}}",
        expected
            .iter()
            .map(|k| format!("'{k}'"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let Value::Object(m) = v else {
        return Some(format!(
            "Invalid input. '{}' must be a dictionary with keys: {}",
            py_str(v),
            py_list(expected)
        ));
    };
    let ok = if strict {
        m.len() == expected.len() && expected.iter().all(|k| m.contains_key(*k))
    } else {
        expected.iter().all(|k| m.contains_key(*k))
    };
    (!ok).then(|| {
        let provided: Vec<String> = m.keys().map(|k| format!("'{k}'")).collect();
        format!(
            "Validation of dictionary's keys failed. Expected keys: {expected_set} Provided keys: {{{}}}",
            provided.join(", ")
        )
    })
}

/// Converts (normalising booleans and integers) and validates one value.
fn convert(a: &Attr, value: &mut Value) -> ApiResult<()> {
    let name = a.name;
    let reason: Option<String> = match a.check {
        Check::Dict => {
            (!value.is_object()).then(|| format!("'{}' is not a dictionary", py_str(value)))
        }
        Check::Str(max) => string_reason(value, max),
        Check::OptStr(max) => (!value.is_null())
            .then(|| string_reason(value, max))
            .flatten(),
        Check::Bool => {
            let b = to_bool(value).ok_or_else(|| {
                invalid_input(format!(
                    "'{}' cannot be converted to boolean",
                    py_str(value)
                ))
            })?;
            *value = Value::Bool(b);
            None
        }
        Check::Int | Check::NonNegInt => {
            let n = to_int(value)
                .ok_or_else(|| invalid_input(format!("'{}' is not an integer", py_str(value))))?;
            *value = json!(n);
            (matches!(a.check, Check::NonNegInt) && n < 0)
                .then(|| format!("'{n}' should be non-negative"))
        }
        Check::IpVersion => {
            let n = to_int(value)
                .ok_or_else(|| invalid_input(format!("'{}' is not an integer", py_str(value))))?;
            *value = json!(n);
            (n != 4 && n != 6).then(|| format!("{n} is not in [4, 6]"))
        }
        Check::Uuid => (!value.as_str().is_some_and(is_uuid_like))
            .then(|| format!("'{}' is not a valid UUID", py_str(value))),
        Check::OptUuid => (!value.is_null() && !value.as_str().is_some_and(is_uuid_like))
            .then(|| format!("'{}' is not a valid UUID", py_str(value))),
        Check::Values(allowed) => (!value.as_str().is_some_and(|s| allowed.contains(&s)))
            .then(|| format!("{} is not in {}", py_str(value), py_list(allowed))),
        Check::StrList(max) => list_reason(value, |x| string_reason(x, max)),
        Check::UuidList => {
            if value.is_null() {
                None
            } else if let Value::Array(items) = &*value {
                if let Some(bad) = items.iter().find(|x| !x.as_str().is_some_and(is_uuid_like)) {
                    return Err(invalid_input(format!(
                        "'{}' is not an integer or uuid",
                        py_str(bad)
                    )));
                }
                None
            } else {
                Some(format!("'{}' is not a list", py_str(value)))
            }
        }
        Check::OptCidr => (!value.is_null()).then(|| cidr_reason(value)).flatten(),
        Check::OptIp => (!value.is_null()).then(|| ip_reason(value)).flatten(),
        Check::Mac => mac_reason(value),
        Check::IpPools => match &*value {
            Value::Array(pools) => pools.iter().find_map(|p| {
                dict_keys_reason(p, &["start", "end"], true)
                    .or_else(|| ip_reason(&p["start"]))
                    .or_else(|| ip_reason(&p["end"]))
            }),
            other => Some(format!(
                "Invalid data format for IP pool: '{}'",
                py_str(other)
            )),
        },
        Check::Nameservers => {
            if value.is_null() {
                *value = json!([]);
            }
            match &*value {
                Value::Array(hosts) => {
                    let mut seen: Vec<&Value> = Vec::new();
                    let mut reason = None;
                    for host in hosts {
                        if let Some(msg) = ip_reason(host) {
                            reason = Some(format!(
                                "'{}' is not a valid nameserver. {msg}",
                                py_str(host)
                            ));
                            break;
                        }
                        if seen.contains(&host) {
                            reason = Some(format!("Duplicate nameserver '{}'", py_str(host)));
                            break;
                        }
                        seen.push(host);
                    }
                    reason
                }
                other => Some(format!(
                    "Invalid data format for nameserver: '{}'",
                    py_str(other)
                )),
            }
        }
        Check::HostRoutes => {
            if value.is_null() {
                *value = json!([]);
            }
            match &*value {
                Value::Array(routes) => {
                    let mut reason = None;
                    for (i, route) in routes.iter().enumerate() {
                        reason = dict_keys_reason(route, &["destination", "nexthop"], true)
                            .or_else(|| cidr_reason(&route["destination"]))
                            .or_else(|| ip_reason(&route["nexthop"]))
                            .or_else(|| {
                                routes[..i]
                                    .contains(route)
                                    .then(|| format!("Duplicate hostroute '{}'", py_str(route)))
                            });
                        if reason.is_some() {
                            break;
                        }
                    }
                    reason
                }
                other => Some(format!(
                    "Invalid data format for hostroute: '{}'",
                    py_str(other)
                )),
            }
        }
        Check::FixedIps => match &*value {
            Value::Array(ips) => {
                let mut seen: Vec<&Value> = Vec::new();
                let mut reason = None;
                for ip in ips {
                    let Value::Object(m) = ip else {
                        reason = Some(format!(
                            "Invalid data format for fixed IP: '{}'",
                            py_str(ip)
                        ));
                        break;
                    };
                    if let Some(addr) = m.get("ip_address") {
                        if seen.contains(&addr) {
                            reason = Some(format!("Duplicate IP address '{}'", py_str(addr)));
                        } else {
                            reason = ip_reason(addr);
                        }
                        if reason.is_some() {
                            break;
                        }
                        seen.push(addr);
                    }
                    if let Some(subnet) = m.get("subnet_id")
                        && !subnet.as_str().is_some_and(is_uuid_like)
                    {
                        reason = Some(format!("'{}' is not a valid UUID", py_str(subnet)));
                        break;
                    }
                }
                reason
            }
            other => Some(format!(
                "Invalid data format for fixed IP: '{}'",
                py_str(other)
            )),
        },
        Check::AddressPairs => {
            if value.is_null() {
                *value = json!([]);
            }
            address_pairs_check(value)?;
            None
        }
        Check::DhcpOpts => {
            if value.is_null() {
                *value = json!([]);
            }
            match &*value {
                Value::Array(opts) => opts.iter().find_map(|o| {
                    let Value::Object(m) = o else {
                        return Some(format!("'{}' is not a dictionary", py_str(o)));
                    };
                    if !m.get("opt_name").is_some_and(Value::is_string) {
                        return Some(format!(
                            "'{}' is not a valid string",
                            py_str(m.get("opt_name").unwrap_or(&Value::Null))
                        ));
                    }
                    None
                }),
                other => Some(format!("'{}' is not a list", py_str(other))),
            }
        }
        Check::Any => None,
    };
    match reason {
        Some(r) => Err(invalid_attr(name, r)),
        None => Ok(()),
    }
}

/// The allowed-address-pairs extension's own checks and messages.
fn address_pairs_check(value: &Value) -> ApiResult<()> {
    let Value::Array(pairs) = value else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "AllowedAddressPairsMissingIP",
            "AllowedAddressPair must contain ip_address",
        ));
    };
    let mut seen: Vec<(String, String)> = Vec::new();
    for pair in pairs {
        let Value::Object(m) = pair else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "AllowedAddressPairsMissingIP",
                "AllowedAddressPair must contain ip_address",
            ));
        };
        let Some(ip) = m.get("ip_address") else {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "AllowedAddressPairsMissingIP",
                "AllowedAddressPair must contain ip_address",
            ));
        };
        if let Some(bad) = m.keys().find(|k| *k != "ip_address" && *k != "mac_address") {
            return Err(invalid_input(format!("Unrecognized attribute(s) '{bad}'")));
        }
        if let Some(mac) = m.get("mac_address")
            && let Some(reason) = mac_reason(mac)
        {
            return Err(invalid_input(reason));
        }
        let text = py_str(ip);
        if ip_reason(ip).is_some() && cidr_reason(ip).is_some() {
            return Err(invalid_input(format!(
                "'{text}' is neither a valid IP address, nor is it a valid IP subnet"
            )));
        }
        let key = (text, m.get("mac_address").map(py_str).unwrap_or_default());
        if seen.contains(&key) {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "DuplicateAddressPairInRequest",
                format!(
                    "Request contains duplicate address pair: mac_address {} ip_address {}.",
                    key.1, key.0
                ),
            ));
        }
        seen.push(key);
    }
    Ok(())
}

/// A list query: filters, `fields`, sorting and pagination.
pub struct ListQuery {
    pub filters: Vec<(String, Vec<String>)>,
    pub fields: Vec<String>,
    sort_keys: Vec<String>,
    sort_dirs: Vec<String>,
    limit: Option<usize>,
    marker: Option<String>,
    page_reverse: bool,
    raw: Vec<(String, String)>,
}

impl ListQuery {
    pub fn parse(pairs: &[(String, String)]) -> ApiResult<ListQuery> {
        let mut q = ListQuery {
            filters: Vec::new(),
            fields: Vec::new(),
            sort_keys: Vec::new(),
            sort_dirs: Vec::new(),
            limit: None,
            marker: None,
            page_reverse: false,
            raw: pairs.to_vec(),
        };
        for (key, value) in pairs {
            match key.as_str() {
                "fields" => {
                    if !value.is_empty() {
                        q.fields.push(value.clone());
                    }
                }
                "sort_key" => {
                    if !value.is_empty() {
                        q.sort_keys.push(value.clone());
                    }
                }
                "sort_dir" => {
                    if !value.is_empty() {
                        q.sort_dirs.push(value.clone());
                    }
                }
                "limit" => {
                    let n: i64 = value.trim().parse().map_err(|_| limit_error())?;
                    if n < 0 {
                        return Err(limit_error());
                    }
                    q.limit = (n > 0).then_some(n as usize);
                }
                "marker" => q.marker = Some(value.clone()),
                "page_reverse" => q.page_reverse = value.eq_ignore_ascii_case("true"),
                _ => match q.filters.iter_mut().find(|(k, _)| k == key) {
                    Some((_, values)) => values.push(value.clone()),
                    None => q.filters.push((key.clone(), vec![value.clone()])),
                },
            }
        }
        Ok(q)
    }

    /// The values of a filter, if given.
    pub fn filter(&self, key: &str) -> Option<&[String]> {
        self.filters
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }
}

fn limit_error() -> ApiError {
    // Neutron's message really does print the format placeholder.
    bad_resource_request(
        "limit",
        "Limit must be an integer 0 or greater and not '%d'",
    )
}

/// Keeps only the requested `fields` of a rendered resource.
pub fn select_fields(mut item: Map<String, Value>, fields: &[String]) -> Map<String, Value> {
    if fields.is_empty() {
        return item;
    }
    item.retain(|k, _| fields.iter().any(|f| f == k));
    item
}

/// Filters that every resource accepts beyond its attributes.
const TAG_FILTERS: [&str; 4] = ["tags", "tags-any", "not-tags", "not-tags-any"];

fn tag_values(values: &[String]) -> Vec<&str> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .filter(|t| !t.is_empty())
        .collect()
}

/// Whether a rendered resource matches one filter.
fn matches(item: &Map<String, Value>, key: &str, values: &[String]) -> ApiResult<bool> {
    let tags: Vec<&str> = item
        .get("tags")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    match key {
        "tags" => return Ok(tag_values(values).iter().all(|t| tags.contains(t))),
        "tags-any" => return Ok(tag_values(values).iter().any(|t| tags.contains(t))),
        "not-tags" => return Ok(!tag_values(values).iter().all(|t| tags.contains(t))),
        "not-tags-any" => return Ok(!tag_values(values).iter().any(|t| tags.contains(t))),
        "fixed_ips" => return Ok(matches_fixed_ips(item, values)),
        _ => {}
    }
    let Some(actual) = item.get(key) else {
        return Ok(false);
    };
    for wanted in values {
        let hit = match actual {
            Value::String(s) => s == wanted,
            Value::Bool(b) => {
                let w = bool_from_str(wanted).ok_or_else(|| {
                    invalid_input(format!("'{wanted}' cannot be converted to boolean"))
                })?;
                *b == w
            }
            Value::Number(n) => wanted.trim().parse::<i64>().ok() == n.as_i64(),
            Value::Null => wanted.is_empty() || wanted == "None",
            Value::Array(list) => list.iter().any(|x| x.as_str() == Some(wanted.as_str())),
            Value::Object(_) => false,
        };
        if hit {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `fixed_ips=ip_address=...&fixed_ips=subnet_id=...`: one of the port's
/// addresses must match every kind of condition given.
fn matches_fixed_ips(item: &Map<String, Value>, values: &[String]) -> bool {
    let mut addresses = Vec::new();
    let mut subnets = Vec::new();
    let mut substrings = Vec::new();
    for v in values {
        match v.split_once('=') {
            Some(("ip_address", a)) => addresses.push(a),
            Some(("subnet_id", s)) => subnets.push(s),
            Some(("ip_address_substr", s)) => substrings.push(s),
            _ => {}
        }
    }
    let Some(Value::Array(ips)) = item.get("fixed_ips") else {
        return false;
    };
    ips.iter().any(|ip| {
        let addr = ip["ip_address"].as_str().unwrap_or_default();
        let subnet = ip["subnet_id"].as_str().unwrap_or_default();
        (addresses.is_empty() || addresses.contains(&addr))
            && (subnets.is_empty() || subnets.contains(&subnet))
            && (substrings.is_empty() || substrings.iter().any(|s| addr.contains(s)))
    })
}

fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None | Some(Value::Null), None | Some(Value::Null)) => Ordering::Equal,
        (None | Some(Value::Null), _) => Ordering::Less,
        (_, None | Some(Value::Null)) => Ordering::Greater,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

/// Query-string encoding as Python's `urlencode` does it.
fn url_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A create's answer: the resource under its singular name, or all of a
/// bulk create under the plural.
pub fn created_response(singular: &str, plural: &str, bulk: bool, docs: Vec<Value>) -> Response {
    let mut body = Map::new();
    if bulk {
        body.insert(plural.into(), Value::Array(docs));
    } else {
        let one = docs.into_iter().next().unwrap_or(Value::Null);
        body.insert(singular.into(), one);
    }
    (StatusCode::CREATED, Json(Value::Object(body))).into_response()
}

/// Where a list lives, for pagination links.
pub struct ListContext<'a> {
    /// `networks`, `security_groups`: the JSON key.
    pub collection: &'a str,
    /// `http://host:port/network/v2.0/networks`.
    pub url: String,
    /// Keys a client may filter and sort on.
    pub keys: &'a [&'a str],
    /// The 404 for an unknown marker.
    pub marker_missing: &'a dyn Fn(&str) -> ApiError,
}

/// Applies a list query to rendered resources (already in creation
/// order) and builds the response body.
pub fn list_response(
    ctx: &ListContext<'_>,
    q: &ListQuery,
    items: Vec<Map<String, Value>>,
) -> ApiResult<Value> {
    for (key, _) in &q.filters {
        let known = ctx.keys.contains(&key.as_str())
            || TAG_FILTERS.contains(&key.as_str())
            || key == "tenant_id"
            || key == "project_id";
        if !known {
            return Err(bad_request(format!(
                "[{key}] is invalid attribute for filtering"
            )));
        }
    }
    if q.sort_keys.len() != q.sort_dirs.len() {
        return Err(bad_request(
            "The number of sort_keys and sort_dirs must be same",
        ));
    }
    let absent: Vec<&str> = q
        .sort_keys
        .iter()
        .map(String::as_str)
        .filter(|k| !ctx.keys.contains(k))
        .collect();
    if !absent.is_empty() {
        return Err(bad_request(format!(
            "{} is invalid attribute for sort_keys",
            py_list(&absent)
        )));
    }
    let bad_dirs: Vec<&str> = q
        .sort_dirs
        .iter()
        .map(String::as_str)
        .filter(|d| *d != "asc" && *d != "desc")
        .collect();
    if !bad_dirs.is_empty() {
        return Err(bad_request(format!(
            "{} is invalid value for sort_dirs, valid value is 'asc' and 'desc'",
            py_list(&bad_dirs)
        )));
    }
    let mut kept = Vec::with_capacity(items.len());
    'items: for item in items {
        for (key, values) in &q.filters {
            if !matches(&item, key, values)? {
                continue 'items;
            }
        }
        kept.push(item);
    }
    let sorts: Vec<(&str, bool)> = q
        .sort_keys
        .iter()
        .zip(&q.sort_dirs)
        .map(|(k, d)| (k.as_str(), d == "asc"))
        .collect();
    if !sorts.is_empty() || q.limit.is_some() {
        // Neutron's native sorting and pagination end on the id so that
        // pages are stable.
        kept.sort_by(|a, b| {
            for (key, asc) in &sorts {
                let o = compare_values(a.get(*key), b.get(*key));
                if o != Ordering::Equal {
                    return if *asc { o } else { o.reverse() };
                }
            }
            compare_values(a.get("id"), b.get("id"))
        });
    }
    let mut links = Vec::new();
    let page = if let Some(limit) = q.limit {
        let len = kept.len();
        let marker_at = match &q.marker {
            Some(marker) => Some(
                kept.iter()
                    .position(|i| i.get("id").and_then(Value::as_str) == Some(marker.as_str()))
                    .ok_or_else(|| (ctx.marker_missing)(marker))?,
            ),
            None => None,
        };
        let (start, end) = match (marker_at, q.page_reverse) {
            (Some(at), false) => (at + 1, (at + 1 + limit).min(len)),
            (Some(at), true) => (at.saturating_sub(limit), at),
            (None, false) => (0, limit.min(len)),
            (None, true) => (len.saturating_sub(limit), len),
        };
        let page: Vec<Map<String, Value>> = kept
            .into_iter()
            .skip(start)
            .take(end.saturating_sub(start))
            .collect();
        let id_of = |i: &Map<String, Value>| {
            i.get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let link = |marker: Option<String>, reverse: bool| {
            let mut params: Vec<(String, String)> = q
                .raw
                .iter()
                .filter(|(k, _)| k != "marker" && (reverse || k != "page_reverse"))
                .cloned()
                .collect();
            if let Some(m) = marker {
                params.push(("marker".into(), m));
            }
            if reverse {
                params.retain(|(k, _)| k != "page_reverse");
                params.push(("page_reverse".into(), "True".into()));
            }
            let query: Vec<String> = params
                .iter()
                .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
                .collect();
            format!("{}?{}", ctx.url, query.join("&"))
        };
        if page.len() >= limit || q.page_reverse {
            links.push(json!({"rel": "next", "href": link(page.last().map(id_of), false)}));
        }
        if page.len() >= limit || !q.page_reverse {
            links.push(json!({"rel": "previous", "href": link(page.first().map(id_of), true)}));
        }
        page
    } else {
        kept
    };
    let rendered: Vec<Value> = page
        .into_iter()
        .map(|i| Value::Object(select_fields(i, &q.fields)))
        .collect();
    let mut body = Map::new();
    body.insert(ctx.collection.to_string(), Value::Array(rendered));
    if q.limit.is_some() {
        body.insert(format!("{}_links", ctx.collection), Value::Array(links));
    }
    Ok(Value::Object(body))
}

/// The `If-Match: revision_number=N` precondition of the
/// revision-if-match extension.
pub fn check_revision(headers: &axum::http::HeaderMap, current: u64) -> ApiResult<()> {
    for value in headers.get_all("if-match") {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split(',') {
            if let Some(n) = part.trim().strip_prefix("revision_number=") {
                let expected: u64 = n
                    .trim()
                    .parse()
                    .map_err(|_| bad_request(format!("Invalid If-Match header value: {text}")))?;
                if expected != current {
                    return Err(error(
                        StatusCode::PRECONDITION_FAILED,
                        "RevisionNumberConstraintFailed",
                        format!("Constrained to {expected}, but current revision is {current}"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The JSON envelope of one resource.
pub fn wrap(resource: &str, item: Map<String, Value>) -> Value {
    let mut body = Map::new();
    body.insert(resource.to_string(), Value::Object(item));
    Value::Object(body)
}

/// Strings from a JSON list (non-strings skipped; validated earlier).
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_printing() {
        assert_eq!(py_str(&json!("x")), "x");
        assert_eq!(py_str(&json!(true)), "True");
        assert_eq!(py_str(&json!(null)), "None");
        assert_eq!(py_repr(&json!(["a", 1])), "['a', 1]");
        assert_eq!(
            py_repr(&json!({"start": "10.0.0.9", "end": "10.0.0.2"})),
            "{'start': '10.0.0.9', 'end': '10.0.0.2'}"
        );
    }

    #[test]
    fn policy_rules_nest_like_oslo() {
        assert_eq!(policy_rule("delete_network", &[]), "rule:delete_network");
        assert_eq!(
            policy_rule("create_network", &["shared", "router:external"]),
            "((rule:create_network and rule:create_network:shared) and rule:create_network:router:external)"
        );
    }

    #[test]
    fn booleans_and_uuids() {
        assert_eq!(to_bool(&json!("True")), Some(true));
        assert_eq!(to_bool(&json!(0)), Some(false));
        assert_eq!(to_bool(&json!("maybe")), None);
        assert!(is_uuid_like("4e8e5957-649f-477b-9e5b-f1f75b21c03c"));
        assert!(is_uuid_like("4e8e5957649f477b9e5bf1f75b21c03c"));
        assert!(!is_uuid_like("net1"));
    }

    #[test]
    fn url_encoding_matches_python() {
        assert_eq!(url_encode("a b/c"), "a+b%2Fc");
        assert_eq!(url_encode("x_y-z.~"), "x_y-z.~");
    }
}
