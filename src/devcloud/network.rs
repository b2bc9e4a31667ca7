//! Neutron v2.0: version discovery, extensions, networks, subnets, ports,
//! security groups and their rules, tags, IP availability, quotas and
//! availability zones, as ML2 with Open vSwitch (VXLAN tenant networks,
//! MTU 1450) renders them. API reference:
//! https://docs.openstack.org/api-ref/network/v2/
//!
//! Visibility follows Neutron's defaults: a project sees its own
//! resources, shared and external networks (and their subnets) and ports
//! on its networks; admins see everything. What a caller may not see is
//! "not found"; what it may see but not change is a policy refusal.
//!
//! The functions at the bottom are what Nova calls to wire servers to
//! networks.

mod collection;
mod common;
mod discovery;
mod networks;
mod ports;
mod security_groups;
mod subnets;
mod tags;

use super::error::ApiError;
use super::model::{Data, Network, Port, SecurityGroup, SecurityGroupRule, Subnet};
use super::server::{App, Auth};
use axum::Router;
use axum::routing::get;
use std::sync::Arc;

/// The host Nova's ports are bound to (`binding:host_id`).
pub const COMPUTE_HOST: &str = "devcloud";

/// The availability zone Neutron reports for networks.
pub const AVAILABILITY_ZONE: &str = "nova";

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(discovery::versions))
        .route("/v2.0", get(discovery::resources))
        .route("/v2.0/extensions", get(discovery::extensions))
        .route("/v2.0/extensions/{alias}", get(discovery::extension))
        .route(
            "/v2.0/availability_zones",
            get(discovery::availability_zones),
        )
        .route("/v2.0/agents", get(discovery::agents))
        .route("/v2.0/quotas", get(discovery::quotas))
        .route("/v2.0/quotas/{project}", get(discovery::quota))
        .route("/v2.0/quotas/{project}/default", get(discovery::quota))
        .route(
            "/v2.0/quotas/{project}/details",
            get(discovery::quota_details),
        )
        .route(
            "/v2.0/network-ip-availabilities",
            get(networks::list_ip_availabilities),
        )
        .route(
            "/v2.0/network-ip-availabilities/{id}",
            get(networks::show_ip_availability),
        )
        .route(
            "/v2.0/networks",
            get(collection::list::<Network>).post(networks::create),
        )
        .route(
            "/v2.0/networks/{id}",
            get(collection::show::<Network>)
                .put(networks::update)
                .delete(networks::delete),
        )
        .route(
            "/v2.0/subnets",
            get(collection::list::<Subnet>).post(subnets::create),
        )
        .route(
            "/v2.0/subnets/{id}",
            get(collection::show::<Subnet>)
                .put(subnets::update)
                .delete(subnets::delete),
        )
        .route(
            "/v2.0/ports",
            get(collection::list::<Port>).post(ports::create),
        )
        .route(
            "/v2.0/ports/{id}",
            get(collection::show::<Port>)
                .put(ports::update)
                .delete(ports::delete),
        )
        .route(
            "/v2.0/security-groups",
            get(collection::list::<SecurityGroup>).post(security_groups::create),
        )
        .route(
            "/v2.0/security-groups/{id}",
            get(collection::show::<SecurityGroup>)
                .put(security_groups::update)
                .delete(security_groups::delete),
        )
        .route(
            "/v2.0/security-group-rules",
            get(collection::list::<SecurityGroupRule>).post(security_groups::create_rule),
        )
        .route(
            "/v2.0/security-group-rules/{id}",
            get(collection::show::<SecurityGroupRule>).delete(security_groups::delete_rule),
        )
        .route(
            "/v2.0/{collection}/{id}/tags",
            get(tags::list).put(tags::replace).delete(tags::clear),
        )
        .route(
            "/v2.0/{collection}/{id}/tags/{tag}",
            get(tags::check).put(tags::add).delete(tags::remove),
        )
}

/// The next creation-order number for a kind of resource.
fn next_seq<'a>(existing: impl Iterator<Item = u64> + 'a) -> u64 {
    existing.max().map_or(1, |m| m + 1)
}

/// Whether `project` sees a network: its own, shared and external ones.
fn network_visible_to(n: &Network, project: Option<&str>) -> bool {
    n.shared || n.external || project == Some(n.project_id.as_str())
}

fn network_visible(n: &Network, auth: &Auth) -> bool {
    auth.is_admin() || network_visible_to(n, auth.project_id.as_deref())
}

/// Subnets are seen with their network when it is shared or external.
fn subnet_visible(d: &Data, s: &Subnet, auth: &Auth) -> bool {
    auth.owns(&s.project_id)
        || d.networks
            .get(&s.network_id)
            .is_some_and(|n| n.shared || n.external || auth.owns(&n.project_id))
}

/// Ports are seen by their owner and by the owner of their network.
fn port_visible(d: &Data, p: &Port, auth: &Auth) -> bool {
    auth.owns(&p.project_id)
        || d.networks
            .get(&p.network_id)
            .is_some_and(|n| auth.owns(&n.project_id))
}

fn security_group_visible(sg: &SecurityGroup, auth: &Auth) -> bool {
    auth.owns(&sg.project_id)
}

/// Creates a port on `network_id` for server `device_id` (device_owner
/// `compute:nova`), status ACTIVE, with an address from each IP version's
/// first subnet that has a free address, or exactly `fixed_ip` (which
/// must lie in a subnet of the network). Security groups by name (or id),
/// looked up in the project (`default` if the list is empty).
///
/// The network must exist and be visible to the project (its own, shared
/// or external); whether a non-admin may boot on an external network is
/// Nova's check (see `usable_networks`).
pub fn allocate_port(
    d: &mut Data,
    network_id: &str,
    project_id: &str,
    device_id: &str,
    fixed_ip: Option<&str>,
    security_group_names: &[String],
) -> Result<String, ApiError> {
    ports::allocate_for_server(
        d,
        network_id,
        project_id,
        device_id,
        fixed_ip,
        security_group_names,
    )
}

/// Attaches an existing port to a server: device_id, device_owner
/// compute:nova, status ACTIVE, bound to `COMPUTE_HOST`. 409
/// (`PortInUse`) if the port is already in use by another device, 404
/// (`PortNotFound`) if there is no such port.
pub fn bind_port(d: &mut Data, port_id: &str, device_id: &str) -> Result<(), ApiError> {
    ports::bind(d, port_id, device_id)
}

/// Nova's `addSecurityGroup`/`removeSecurityGroup`: adds the project's
/// group `group` (by name or id) to each of a server's ports, or removes
/// it. Neutron's errors: the group does not exist (404) or is ambiguous
/// (409), or a port has no port security (400).
pub fn change_server_security_group(
    d: &mut Data,
    project_id: &str,
    port_ids: &[String],
    group: &str,
    adding: bool,
) -> Result<(), ApiError> {
    ports::change_security_group(d, project_id, port_ids, group, adding)
}

/// When a server goes: deletes the port (`delete`) or clears its device
/// (a user's pre-existing port). A port already gone is fine.
pub fn release_port(d: &mut Data, port_id: &str, delete: bool) {
    ports::release(d, port_id, delete)
}

/// Networks a project may attach servers to: its own and shared ones
/// (not external-only ones it does not own), in creation order.
pub fn usable_networks(d: &Data, project_id: &str) -> Vec<String> {
    let mut usable: Vec<&Network> = d
        .networks
        .values()
        .filter(|n| n.project_id == project_id || n.shared)
        .collect();
    usable.sort_by_key(|n| (n.seq, n.created_at.clone()));
    usable.into_iter().map(|n| n.id.clone()).collect()
}

/// Creates the project's `default` security group with Neutron's default
/// rules (egress IPv4/IPv6 to anywhere, ingress IPv4/IPv6 from the group
/// itself) unless it exists.
pub fn create_default_security_group(d: &mut Data, project_id: &str) {
    security_groups::ensure_default(d, project_id);
}

#[cfg(test)]
mod tests;
