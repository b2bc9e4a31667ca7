//! Version discovery, the resource index, extensions, availability
//! zones, agents and quotas.

use super::common::{SERVICE, error};
use crate::devcloud::error::ApiResult;
use crate::devcloud::server::{App, Auth};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde_json::{Value, json};
use std::sync::Arc;

/// `GET /network`: the one version, public.
pub async fn versions(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({"versions": [{
        "id": "v2.0",
        "status": "CURRENT",
        "links": [{"href": format!("{}/network/v2.0/", app.base_url), "rel": "self"}],
    }]}))
}

/// `GET /network/v2.0/`: the core resources.
pub async fn resources(State(app): State<Arc<App>>) -> Json<Value> {
    let base = format!("{}/network/v2.0/", app.base_url);
    let resources: Vec<Value> = [
        ("network", "networks"),
        ("subnet", "subnets"),
        ("port", "ports"),
    ]
    .iter()
    .map(|(name, collection)| {
        json!({"name": name, "collection": collection, "links": [{"rel": "self", "href": format!("{base}{collection}")}]})
    })
    .collect();
    Json(json!({ "resources": resources }))
}

/// The extensions ML2 with Open vSwitch loads that devcloud implements
/// (routers, floating IPs and subnet pools it does not, so it does not
/// claim them):
/// (alias, name, description, updated).
const EXTENSIONS: &[(&str, &str, &str, &str)] = &[
    (
        "agent",
        "agent",
        "The agent management extension.",
        "2013-02-03T10:00:00-00:00",
    ),
    (
        "allowed-address-pairs",
        "Allowed Address Pairs",
        "Provides allowed address pairs",
        "2013-07-23T10:00:00-00:00",
    ),
    (
        "availability_zone",
        "Availability Zone",
        "The availability zone extension.",
        "2015-01-01T10:00:00-00:00",
    ),
    (
        "binding",
        "Port Binding",
        "Expose port bindings of a virtual port to external application",
        "2014-02-03T10:00:00-00:00",
    ),
    (
        "empty-string-filtering",
        "Empty String Filtering Extension",
        "Allow filtering by attributes with empty string value",
        "2018-05-01T10:00:00-00:00",
    ),
    (
        "external-net",
        "Neutron external network",
        "Adds external network attribute to network resource.",
        "2013-01-14T10:00:00-00:00",
    ),
    (
        "extra_dhcp_opt",
        "Neutron Extra DHCP options",
        "Extra options configuration for DHCP. For example PXE boot options to DHCP clients can be specified (e.g. tftp-server, server-ip-address, bootfile-name)",
        "2013-03-17T12:00:00-00:00",
    ),
    (
        "filter-validation",
        "Filter parameters validation",
        "Provides validation on filter parameters.",
        "2018-03-21T10:00:00-00:00",
    ),
    (
        "ip-substring-filtering",
        "IP address substring filtering",
        "Provides IP address substring filtering when listing ports",
        "2017-11-28T09:00:00-00:00",
    ),
    (
        "net-mtu",
        "Network MTU",
        "Provides MTU attribute for a network resource.",
        "2015-03-25T10:00:00-00:00",
    ),
    (
        "net-mtu-writable",
        "Network MTU (writable)",
        "Provides a writable MTU attribute for a network resource.",
        "2017-07-12T00:00:00-00:00",
    ),
    (
        "network-ip-availability",
        "Network IP Availability",
        "Provides IP availability data for each network and subnet.",
        "2015-09-24T00:00:00-00:00",
    ),
    (
        "network_availability_zone",
        "Network Availability Zone",
        "Availability zone support for network.",
        "2015-01-01T10:00:00-00:00",
    ),
    (
        "pagination",
        "Pagination support",
        "Extension that indicates that pagination is enabled.",
        "2016-06-12T00:00:00-00:00",
    ),
    (
        "port-security",
        "Port Security",
        "Provides port security",
        "2012-07-23T10:00:00-00:00",
    ),
    (
        "project-id",
        "project_id field enabled",
        "Extension that indicates that project_id field is enabled.",
        "2016-09-09T09:09:09-09:09",
    ),
    (
        "provider",
        "Provider Network",
        "Expose mapping of virtual networks to physical networks",
        "2012-09-07T10:00:00-00:00",
    ),
    (
        "quotas",
        "Quota management support",
        "Expose functions for quotas management per project",
        "2012-07-29T10:00:00-00:00",
    ),
    (
        "quota_details",
        "Quota details management support",
        "Expose functions for quotas usage statistics per project",
        "2017-02-10T10:00:00-00:00",
    ),
    (
        "revision-if-match",
        "If-Match constraints based on revision_number",
        "Extension indicating that If-Match based on revision_number is supported.",
        "2016-12-11T00:00:00-00:00",
    ),
    (
        "security-group",
        "security-group",
        "The security groups extension.",
        "2012-10-05T10:00:00-00:00",
    ),
    (
        "sorting",
        "Sorting support",
        "Extension that indicates that sorting is enabled.",
        "2016-06-12T00:00:00-00:00",
    ),
    (
        "standard-attr-description",
        "standard-attr-description",
        "Extension to add descriptions to standard attributes",
        "2016-02-10T10:00:00-00:00",
    ),
    (
        "standard-attr-revisions",
        "Resource revision numbers",
        "This extension will display the revision number of neutron resources.",
        "2016-04-11T10:00:00-00:00",
    ),
    (
        "standard-attr-tag",
        "Tag support for resources with standard attribute: subnet, network, port, security_group",
        "Enables to set tag on resources with standard attribute.",
        "2017-01-01T00:00:00-00:00",
    ),
    (
        "standard-attr-timestamp",
        "Resource timestamps",
        "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.",
        "2016-09-12T10:00:00-00:00",
    ),
    (
        "stateful-security-group",
        "Stateful security group",
        "Indicates if the security group is stateful or not",
        "2019-11-26T09:00:00-00:00",
    ),
    (
        "subnet-service-types",
        "Subnet service types",
        "Provides ability to set the subnet service_types field",
        "2016-03-03T10:00:00-00:00",
    ),
    (
        "subnet_allocation",
        "Subnet Allocation",
        "Enables allocation of subnets from a subnet pool",
        "2015-03-30T10:00:00-00:00",
    ),
    (
        "tag-ports-during-bulk-creation",
        "Tag Ports During Bulk Creation",
        "Allow to tag ports during bulk port creation",
        "2019-12-29T19:00:00-00:00",
    ),
];

fn extension_doc(e: &(&str, &str, &str, &str)) -> Value {
    json!({"alias": e.0, "name": e.1, "description": e.2, "updated": e.3, "links": []})
}

pub async fn extensions(Extension(_auth): Extension<Auth>) -> Json<Value> {
    let list: Vec<Value> = EXTENSIONS.iter().map(extension_doc).collect();
    Json(json!({ "extensions": list }))
}

pub async fn extension(
    Extension(_auth): Extension<Auth>,
    Path(alias): Path<String>,
) -> ApiResult<Json<Value>> {
    EXTENSIONS
        .iter()
        .find(|e| e.0 == alias)
        .map(|e| Json(json!({"extension": extension_doc(e)})))
        .ok_or_else(|| {
            error(
                StatusCode::NOT_FOUND,
                "HTTPNotFound",
                format!("Extension with alias {alias} does not exist"),
            )
        })
}

pub async fn availability_zones(Extension(_auth): Extension<Auth>) -> Json<Value> {
    let zone = super::AVAILABILITY_ZONE;
    Json(json!({"availability_zones": [
        {"name": zone, "resource": "network", "state": "available"},
    ]}))
}

/// No agents: devcloud's dataplane is imaginary.
pub async fn agents(Extension(auth): Extension<Auth>) -> ApiResult<Json<Value>> {
    if !auth.is_admin() {
        return Err(super::common::policy_denied("rule:get_agent"));
    }
    Ok(Json(json!({"agents": []})))
}

/// Neutron's default quotas (neutron.conf `[quotas]`).
const QUOTAS: &[(&str, i64)] = &[
    ("network", 100),
    ("subnet", 100),
    ("subnetpool", -1),
    ("port", 500),
    ("router", 10),
    ("floatingip", 50),
    ("security_group", 10),
    ("security_group_rule", 100),
    ("rbac_policy", 10),
];

fn may_read_quota(auth: &Auth, project: &str) -> ApiResult<()> {
    if auth.is_admin() || auth.project_id.as_deref() == Some(project) {
        Ok(())
    } else {
        Err(super::common::policy_denied("rule:get_quota"))
    }
}

/// Projects with quotas set differently from the defaults: none.
pub async fn quotas(Extension(auth): Extension<Auth>) -> ApiResult<Json<Value>> {
    auth.project(SERVICE)?;
    Ok(Json(json!({"quotas": []})))
}

pub async fn quota(
    Extension(auth): Extension<Auth>,
    Path(project): Path<String>,
) -> ApiResult<Json<Value>> {
    may_read_quota(&auth, &project)?;
    let quota: serde_json::Map<String, Value> = QUOTAS
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    Ok(Json(json!({ "quota": quota })))
}

pub async fn quota_details(
    State(app): State<Arc<App>>,
    Extension(auth): Extension<Auth>,
    Path(project): Path<String>,
) -> ApiResult<Json<Value>> {
    may_read_quota(&auth, &project)?;
    let used = app.store.read(|d| {
        let count = |kind: &str| -> usize {
            match kind {
                "network" => d
                    .networks
                    .values()
                    .filter(|x| x.project_id == project)
                    .count(),
                "subnet" => d
                    .subnets
                    .values()
                    .filter(|x| x.project_id == project)
                    .count(),
                "port" => d.ports.values().filter(|x| x.project_id == project).count(),
                "security_group" => d
                    .security_groups
                    .values()
                    .filter(|x| x.project_id == project)
                    .count(),
                "security_group_rule" => d
                    .security_group_rules
                    .values()
                    .filter(|x| x.project_id == project)
                    .count(),
                _ => 0,
            }
        };
        QUOTAS
            .iter()
            .map(|(k, limit)| {
                (
                    k.to_string(),
                    json!({"limit": limit, "used": count(k), "reserved": 0}),
                )
            })
            .collect::<serde_json::Map<String, Value>>()
    });
    Ok(Json(json!({ "quota": used })))
}
