//! Everything devcloud knows, as one serializable document: identity
//! (projects, users, roles, application credentials), images, flavors,
//! keypairs, servers, networks, subnets, ports and security groups.
//!
//! Field names follow the APIs where they can so that handlers stay thin;
//! what an API renders differently (Nova's `OS-FLV-EXT-DATA:ephemeral`,
//! Neutron's `router:external`) is mapped by the handler.

use super::server::{FaultRule, ServerErrorRule};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The document format version of `devcloud.json`.
pub const DATA_VERSION: u32 = 1;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Data {
    pub version: u32,
    /// The key tokens are signed with (hex).
    pub token_key: String,
    /// Ids of the catalog's services and endpoints, fixed at first start.
    pub catalog: Vec<CatalogService>,
    pub domains: BTreeMap<String, Domain>,
    pub projects: BTreeMap<String, Project>,
    pub users: BTreeMap<String, User>,
    pub roles: BTreeMap<String, Role>,
    pub assignments: Vec<Assignment>,
    pub app_creds: BTreeMap<String, AppCredential>,
    /// Audit ids of revoked tokens.
    pub revoked: BTreeSet<String>,
    pub images: BTreeMap<String, Image>,
    pub flavors: BTreeMap<String, Flavor>,
    /// Keyed by `<user_id>/<name>`.
    pub keypairs: BTreeMap<String, Keypair>,
    pub servers: BTreeMap<String, Server>,
    pub networks: BTreeMap<String, Network>,
    pub subnets: BTreeMap<String, Subnet>,
    pub ports: BTreeMap<String, Port>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
    pub security_group_rules: BTreeMap<String, SecurityGroupRule>,
    /// Plain-text passwords of the users devcloud created itself, so that
    /// `clouds.yaml` can be written again on every start.
    pub seed_passwords: BTreeMap<String, String>,
    /// The control API's fault and server-error rules: kept with the data
    /// so that rules a test sets still apply when the cloud is restarted
    /// (by each command of a tool that embeds it).
    pub faults: Vec<FaultRule>,
    pub server_errors: Vec<ServerErrorRule>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CatalogService {
    pub id: String,
    /// `identity`, `image`, `compute`, `network`.
    #[serde(rename = "type")]
    pub service_type: String,
    /// `keystone`, `glance`, `nova`, `neutron`.
    pub name: String,
    /// Endpoint ids by interface (`public`, `internal`, `admin`).
    pub endpoint_ids: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Domain {
    pub id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub description: String,
    pub enabled: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub domain_id: String,
    pub enabled: bool,
    pub default_project_id: Option<String>,
    /// `salt$hex(sha256(salt || password))`.
    pub password_hash: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Role {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Assignment {
    pub user_id: String,
    pub project_id: String,
    pub role_id: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AppCredential {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub user_id: String,
    pub project_id: String,
    /// Hash of the secret, like a password's.
    pub secret_hash: String,
    pub role_ids: Vec<String>,
    pub expires_at: Option<String>,
    pub unrestricted: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Image {
    pub id: String,
    pub name: Option<String>,
    /// queued, saving, active, killed, deleted, deactivated.
    pub status: String,
    /// public, community, shared, private.
    pub visibility: String,
    pub protected: bool,
    pub os_hidden: bool,
    pub checksum: Option<String>,
    pub os_hash_algo: Option<String>,
    pub os_hash_value: Option<String>,
    pub size: Option<u64>,
    pub virtual_size: Option<u64>,
    pub container_format: Option<String>,
    pub disk_format: Option<String>,
    pub min_disk: u64,
    pub min_ram: u64,
    pub owner: String,
    pub created_at: String,
    pub updated_at: String,
    pub tags: Vec<String>,
    /// User properties (`os_distro`, `hw_disk_bus`, ...): Glance stores
    /// them as strings.
    pub properties: BTreeMap<String, String>,
    /// Projects the image is shared with (visibility `shared`), whatever
    /// their member status.
    pub members: BTreeSet<String>,
    /// Each member's status and times, by project id (added after data
    /// version 1 shipped, hence the default).
    #[serde(default)]
    pub member_details: BTreeMap<String, ImageMember>,
    /// Unix milliseconds of creation, made strictly increasing:
    /// `created_at` has whole seconds only, and listing sorts images made
    /// within one second by this (added after data version 1 shipped,
    /// hence the default).
    #[serde(default)]
    pub created_millis: u64,
}

/// A project's membership of a shared image.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImageMember {
    /// pending, accepted or rejected.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Flavor {
    pub id: String,
    pub name: String,
    /// MiB.
    pub ram: u64,
    pub vcpus: u64,
    /// GiB.
    pub disk: u64,
    /// GiB.
    pub ephemeral: u64,
    /// MiB; 0 means none.
    pub swap: u64,
    pub rxtx_factor: f64,
    pub is_public: bool,
    pub disabled: bool,
    pub description: Option<String>,
    pub extra_specs: BTreeMap<String, String>,
    /// Projects that may use a private flavor.
    pub access: BTreeSet<String>,
    pub created_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Keypair {
    pub name: String,
    pub user_id: String,
    pub public_key: String,
    pub fingerprint: String,
    /// `ssh` or `x509`.
    pub key_type: String,
    pub created_at: String,
    pub id: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fault {
    pub code: u16,
    pub message: String,
    pub created: String,
    pub details: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Server {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    pub image_id: Option<String>,
    pub flavor_id: String,
    /// BUILD, ACTIVE, ERROR, DELETED (what the API shows, once
    /// `advance` has applied the timers).
    pub status: String,
    pub vm_state: String,
    pub task_state: Option<String>,
    pub power_state: u8,
    /// Unix milliseconds when a BUILD ends.
    pub ready_at: Option<u64>,
    /// Unix milliseconds when a deleted server disappears (404).
    pub gone_at: Option<u64>,
    /// Set when the build will fail (a fault rule matched its name).
    pub build_fault: Option<String>,
    pub fault: Option<Fault>,
    pub created: String,
    pub updated: String,
    pub launched_at: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub key_name: Option<String>,
    pub user_data: Option<String>,
    pub availability_zone: String,
    pub security_groups: Vec<String>,
    /// Ports attached, in order, and whether Nova created them (those are
    /// deleted with the server).
    pub ports: Vec<ServerPort>,
    pub config_drive: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub hostname: String,
    pub access_ipv4: String,
    pub access_ipv6: String,
    pub locked: bool,
    /// A resize under way (RESIZE) or waiting for its confirmation
    /// (VERIFY_RESIZE).
    #[serde(default)]
    pub resize: Option<Resize>,
}

/// What a resize needs to finish, be confirmed or be reverted.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Resize {
    pub old_flavor_id: String,
    pub new_flavor_id: String,
    /// Unix milliseconds when RESIZE ends in VERIFY_RESIZE; `None` once
    /// it has.
    pub ready_at: Option<u64>,
    /// The status the server returns to once the resize is confirmed or
    /// reverted: ACTIVE, or SHUTOFF for a stopped server.
    pub resumes: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServerPort {
    pub port_id: String,
    pub created_by_nova: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub admin_state_up: bool,
    pub mtu: u32,
    /// ACTIVE, DOWN, BUILD, ERROR.
    pub status: String,
    pub shared: bool,
    pub external: bool,
    pub description: String,
    pub tags: Vec<String>,
    pub port_security_enabled: bool,
    pub dns_domain: String,
    pub availability_zone_hints: Vec<String>,
    pub is_default: bool,
    pub network_type: String,
    pub segmentation_id: Option<u32>,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
    /// `provider:physical_network` (flat and VLAN networks).
    #[serde(default)]
    pub physical_network: Option<String>,
    /// Creation order among networks (lists and `usable_networks`).
    #[serde(default)]
    pub seq: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AllocationPool {
    pub start: String,
    pub end: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HostRoute {
    pub destination: String,
    pub nexthop: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub project_id: String,
    pub ip_version: u8,
    pub cidr: String,
    pub gateway_ip: Option<String>,
    pub allocation_pools: Vec<AllocationPool>,
    pub dns_nameservers: Vec<String>,
    pub host_routes: Vec<HostRoute>,
    pub enable_dhcp: bool,
    pub ipv6_ra_mode: Option<String>,
    pub ipv6_address_mode: Option<String>,
    pub description: String,
    pub tags: Vec<String>,
    pub service_types: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
    /// Creation order among subnets (a network's `subnets`, allocation).
    #[serde(default)]
    pub seq: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FixedIp {
    pub subnet_id: String,
    pub ip_address: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Port {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub project_id: String,
    pub mac_address: String,
    pub admin_state_up: bool,
    /// ACTIVE or DOWN.
    pub status: String,
    pub device_id: String,
    pub device_owner: String,
    pub fixed_ips: Vec<FixedIp>,
    pub security_groups: Vec<String>,
    pub port_security_enabled: bool,
    pub description: String,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
    /// Creation order among ports.
    #[serde(default)]
    pub seq: u64,
    #[serde(default)]
    pub allowed_address_pairs: Vec<AddressPair>,
    /// `binding:host_id`; empty while unbound.
    #[serde(default)]
    pub binding_host_id: String,
    /// `binding:vnic_type`; empty means `normal`.
    #[serde(default)]
    pub binding_vnic_type: String,
    /// `binding:profile`.
    #[serde(default)]
    pub binding_profile: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub extra_dhcp_opts: Vec<ExtraDhcpOpt>,
}

/// An address (and optionally a MAC) a port may also use.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AddressPair {
    pub ip_address: String,
    pub mac_address: String,
}

/// A DHCP option sent to a port.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExtraDhcpOpt {
    pub opt_name: String,
    pub opt_value: String,
    pub ip_version: u8,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub project_id: String,
    pub stateful: bool,
    pub tags: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
    /// Creation order among security groups.
    #[serde(default)]
    pub seq: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SecurityGroupRule {
    pub id: String,
    pub security_group_id: String,
    pub project_id: String,
    /// ingress or egress.
    pub direction: String,
    /// IPv4 or IPv6.
    pub ethertype: String,
    pub protocol: Option<String>,
    pub port_range_min: Option<u16>,
    pub port_range_max: Option<u16>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
    pub revision_number: u64,
    /// Creation order among rules.
    #[serde(default)]
    pub seq: u64,
}
