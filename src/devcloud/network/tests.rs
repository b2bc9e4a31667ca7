//! Unit tests of the functions Nova calls and of address allocation.

use super::*;
use crate::devcloud::ipam::{self, Cidr};
use crate::devcloud::model::{AllocationPool, Network, Subnet};

const P1: &str = "project-one";
const P2: &str = "project-two";

fn kind(e: &ApiError) -> &str {
    e.kind.as_deref().unwrap_or_default()
}

fn add_network(d: &mut Data, project: &str, shared: bool, external: bool) -> String {
    let id = common::new_id();
    let seq = next_seq(d.networks.values().map(|n| n.seq));
    d.networks.insert(
        id.clone(),
        Network {
            id: id.clone(),
            name: format!("net{seq}"),
            project_id: project.into(),
            admin_state_up: true,
            mtu: 1450,
            status: "ACTIVE".into(),
            shared,
            external,
            description: String::new(),
            tags: Vec::new(),
            port_security_enabled: true,
            dns_domain: String::new(),
            availability_zone_hints: Vec::new(),
            is_default: false,
            network_type: "vxlan".into(),
            segmentation_id: Some(seq as u32),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            revision_number: 1,
            physical_network: None,
            seq,
        },
    );
    id
}

fn add_subnet(d: &mut Data, network: &str, cidr: &str, mode: Option<&str>) -> String {
    let c = Cidr::parse(cidr).unwrap();
    let gateway = c.first() + 1;
    let pools = ipam::generate_pools(&c, Some(gateway));
    let id = common::new_id();
    let project = d.networks[network].project_id.clone();
    let seq = next_seq(d.subnets.values().map(|s| s.seq));
    d.subnets.insert(
        id.clone(),
        Subnet {
            id: id.clone(),
            name: String::new(),
            network_id: network.into(),
            project_id: project,
            ip_version: c.version,
            cidr: c.to_string(),
            gateway_ip: Some(ipam::format(gateway, c.version)),
            allocation_pools: pools
                .iter()
                .map(|r| AllocationPool {
                    start: r.start_text(),
                    end: r.end_text(),
                })
                .collect(),
            dns_nameservers: Vec::new(),
            host_routes: Vec::new(),
            enable_dhcp: true,
            ipv6_ra_mode: mode.map(str::to_string),
            ipv6_address_mode: mode.map(str::to_string),
            description: String::new(),
            tags: Vec::new(),
            service_types: Vec::new(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            revision_number: 0,
            seq,
        },
    );
    id
}

fn addresses(d: &Data, port: &str) -> Vec<String> {
    d.ports[port]
        .fixed_ips
        .iter()
        .map(|f| f.ip_address.clone())
        .collect()
}

#[test]
fn allocate_port_takes_the_first_free_address_and_the_default_group() {
    let mut d = Data::default();
    let net = add_network(&mut d, P1, false, false);
    let subnet = add_subnet(&mut d, &net, "10.0.0.0/24", None);
    let a = allocate_port(&mut d, &net, P1, "server-a", None, &[]).unwrap();
    let b = allocate_port(&mut d, &net, P1, "server-b", None, &[]).unwrap();
    assert_eq!(addresses(&d, &a), ["10.0.0.2"]);
    assert_eq!(addresses(&d, &b), ["10.0.0.3"]);
    let port = &d.ports[&a];
    assert_eq!(port.fixed_ips[0].subnet_id, subnet);
    assert_eq!(port.device_id, "server-a");
    assert_eq!(port.device_owner, "compute:nova");
    assert_eq!(port.status, "ACTIVE");
    assert_eq!(port.binding_host_id, COMPUTE_HOST);
    assert!(port.mac_address.starts_with("fa:16:3e:"));
    assert_ne!(port.mac_address, d.ports[&b].mac_address);
    let default = security_groups::default_group_id(&d, P1).unwrap();
    assert_eq!(port.security_groups, [default]);
    // A freed address is handed out again.
    release_port(&mut d, &a, true);
    let c = allocate_port(&mut d, &net, P1, "server-c", None, &[]).unwrap();
    assert_eq!(addresses(&d, &c), ["10.0.0.2"]);
}

#[test]
fn allocate_port_honours_a_fixed_ip() {
    let mut d = Data::default();
    let net = add_network(&mut d, P1, false, false);
    add_subnet(&mut d, &net, "10.0.0.0/24", None);
    let port = allocate_port(&mut d, &net, P1, "s", Some("10.0.0.50"), &[]).unwrap();
    assert_eq!(addresses(&d, &port), ["10.0.0.50"]);
    // Outside the pools but inside the CIDR is fine: the gateway is.
    let gw = allocate_port(&mut d, &net, P1, "s", Some("10.0.0.1"), &[]).unwrap();
    assert_eq!(addresses(&d, &gw), ["10.0.0.1"]);
    let taken = allocate_port(&mut d, &net, P1, "s", Some("10.0.0.50"), &[]).unwrap_err();
    assert_eq!(taken.status.as_u16(), 409);
    assert_eq!(kind(&taken), "IpAddressAlreadyAllocated");
    let outside = allocate_port(&mut d, &net, P1, "s", Some("192.168.1.1"), &[]).unwrap_err();
    assert_eq!(outside.status.as_u16(), 400);
    assert_eq!(kind(&outside), "InvalidIpForNetwork");
    let broadcast = allocate_port(&mut d, &net, P1, "s", Some("10.0.0.255"), &[]).unwrap_err();
    assert_eq!(kind(&broadcast), "InvalidIpForNetwork");
    let garbage = allocate_port(&mut d, &net, P1, "s", Some("ten"), &[]).unwrap_err();
    assert_eq!(kind(&garbage), "InvalidInput");
    // Failed attempts leave nothing behind.
    assert_eq!(d.ports.len(), 2);
}

#[test]
fn allocate_port_reports_exhaustion_and_moves_to_the_next_subnet() {
    let mut d = Data::default();
    let net = add_network(&mut d, P1, false, false);
    // A /30 has one address besides the gateway.
    add_subnet(&mut d, &net, "10.0.0.0/30", None);
    let first = allocate_port(&mut d, &net, P1, "s", None, &[]).unwrap();
    assert_eq!(addresses(&d, &first), ["10.0.0.2"]);
    let full = allocate_port(&mut d, &net, P1, "s", None, &[]).unwrap_err();
    assert_eq!(full.status.as_u16(), 409);
    assert_eq!(kind(&full), "IpAddressGenerationFailure");
    assert_eq!(
        full.message,
        format!("No more IP addresses available on network {net}.")
    );
    add_subnet(&mut d, &net, "10.0.1.0/24", None);
    let next = allocate_port(&mut d, &net, P1, "s", None, &[]).unwrap();
    assert_eq!(addresses(&d, &next), ["10.0.1.2"]);
}

#[test]
fn allocate_port_gives_one_address_per_ip_version() {
    let mut d = Data::default();
    let net = add_network(&mut d, P1, false, false);
    add_subnet(&mut d, &net, "10.0.0.0/24", None);
    add_subnet(&mut d, &net, "10.0.1.0/24", None);
    add_subnet(&mut d, &net, "2001:db8::/64", None);
    add_subnet(&mut d, &net, "2001:db8:1::/64", Some("slaac"));
    let port = allocate_port(&mut d, &net, P1, "s", None, &[]).unwrap();
    let got = addresses(&d, &port);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0], "10.0.0.2");
    assert_eq!(got[1], "2001:db8::2");
    let mac = &d.ports[&port].mac_address;
    let c = Cidr::parse("2001:db8:1::/64").unwrap();
    let eui = ipam::format(ipam::eui64(&c, mac).unwrap(), 6);
    assert_eq!(got[2], eui);
}

#[test]
fn allocate_port_without_subnets_gives_no_address() {
    let mut d = Data::default();
    let net = add_network(&mut d, P1, false, false);
    let port = allocate_port(&mut d, &net, P1, "s", None, &[]).unwrap();
    assert!(d.ports[&port].fixed_ips.is_empty());
}

#[test]
fn allocate_port_checks_the_network_and_security_groups() {
    let mut d = Data::default();
    let private = add_network(&mut d, P2, false, false);
    let shared = add_network(&mut d, P2, true, false);
    let missing = allocate_port(&mut d, "nope", P1, "s", None, &[]).unwrap_err();
    assert_eq!(missing.status.as_u16(), 404);
    assert_eq!(kind(&missing), "NetworkNotFound");
    assert_eq!(missing.message, "Network nope could not be found.");
    let hidden = allocate_port(&mut d, &private, P1, "s", None, &[]).unwrap_err();
    assert_eq!(kind(&hidden), "NetworkNotFound");
    assert!(allocate_port(&mut d, &shared, P1, "s", None, &[]).is_ok());

    create_default_security_group(&mut d, P1);
    let web = security_groups::tests_support::add_group(&mut d, P1, "web");
    let port = allocate_port(&mut d, &shared, P1, "s", None, &["web".into()]).unwrap();
    assert_eq!(d.ports[&port].security_groups, std::slice::from_ref(&web));
    let by_id = allocate_port(&mut d, &shared, P1, "s", None, std::slice::from_ref(&web)).unwrap();
    assert_eq!(d.ports[&by_id].security_groups, [web]);
    let unknown = allocate_port(&mut d, &shared, P1, "s", None, &["db".into()]).unwrap_err();
    assert_eq!(unknown.status.as_u16(), 404);
    assert_eq!(kind(&unknown), "SecurityGroupNotFound");
    security_groups::tests_support::add_group(&mut d, P1, "web");
    let ambiguous = allocate_port(&mut d, &shared, P1, "s", None, &["web".into()]).unwrap_err();
    assert_eq!(ambiguous.status.as_u16(), 409);
    // Another project's groups are not looked at.
    let theirs = allocate_port(&mut d, &shared, P2, "s", None, &["web".into()]).unwrap_err();
    assert_eq!(kind(&theirs), "SecurityGroupNotFound");
}

#[test]
fn bind_port_attaches_a_free_port_only() {
    let mut d = Data::default();
    let net = add_network(&mut d, P1, false, false);
    add_subnet(&mut d, &net, "10.0.0.0/24", None);
    let mut spec = ports::NewPort::new(P1, &net);
    spec.name = "mine".into();
    let port = ports::build(&mut d, spec).unwrap();
    assert_eq!(d.ports[&port].status, "DOWN");
    let revision = d.ports[&port].revision_number;
    bind_port(&mut d, &port, "server-a").unwrap();
    let p = &d.ports[&port];
    assert_eq!(p.device_id, "server-a");
    assert_eq!(p.device_owner, "compute:nova");
    assert_eq!(p.status, "ACTIVE");
    assert!(p.revision_number > revision);
    // Binding again to the same server is harmless; another is refused.
    bind_port(&mut d, &port, "server-a").unwrap();
    let busy = bind_port(&mut d, &port, "server-b").unwrap_err();
    assert_eq!(busy.status.as_u16(), 409);
    assert_eq!(kind(&busy), "PortInUse");
    assert!(
        busy.message
            .contains("Port already has an attached device server-a")
    );
    let missing = bind_port(&mut d, "nope", "server-a").unwrap_err();
    assert_eq!(kind(&missing), "PortNotFound");
}

#[test]
fn release_port_deletes_or_detaches() {
    let mut d = Data::default();
    let net = add_network(&mut d, P1, false, false);
    add_subnet(&mut d, &net, "10.0.0.0/24", None);
    let ours = allocate_port(&mut d, &net, P1, "server", None, &[]).unwrap();
    let users = allocate_port(&mut d, &net, P1, "server", None, &[]).unwrap();
    release_port(&mut d, &ours, true);
    assert!(!d.ports.contains_key(&ours));
    release_port(&mut d, &users, false);
    let p = &d.ports[&users];
    assert_eq!(p.device_id, "");
    assert_eq!(p.device_owner, "");
    assert_eq!(p.status, "DOWN");
    assert!(p.binding_host_id.is_empty());
    assert_eq!(p.fixed_ips.len(), 1, "a detached port keeps its address");
    // Ports already gone are no error.
    release_port(&mut d, &ours, true);
    release_port(&mut d, &ours, false);
}

#[test]
fn usable_networks_are_own_and_shared_in_creation_order() {
    let mut d = Data::default();
    let shared = add_network(&mut d, P2, true, false);
    let own = add_network(&mut d, P1, false, false);
    add_network(&mut d, P2, false, false);
    add_network(&mut d, P2, false, true);
    let own_external = add_network(&mut d, P1, false, true);
    assert_eq!(usable_networks(&d, P1), [shared, own, own_external]);
    assert!(usable_networks(&d, "nobody").len() == 1);
}

#[test]
fn default_security_group_is_made_once_with_neutrons_rules() {
    let mut d = Data::default();
    create_default_security_group(&mut d, P1);
    create_default_security_group(&mut d, P1);
    assert_eq!(d.security_groups.len(), 1);
    let sg = d.security_groups.values().next().unwrap();
    assert_eq!(sg.name, "default");
    assert_eq!(sg.description, "Default security group");
    assert_eq!(sg.project_id, P1);
    let mut rules: Vec<(String, String, Option<String>)> = d
        .security_group_rules
        .values()
        .map(|r| {
            (
                r.direction.clone(),
                r.ethertype.clone(),
                r.remote_group_id.clone(),
            )
        })
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            ("egress".into(), "IPv4".into(), None),
            ("egress".into(), "IPv6".into(), None),
            ("ingress".into(), "IPv4".into(), Some(sg.id.clone())),
            ("ingress".into(), "IPv6".into(), Some(sg.id.clone())),
        ]
    );
    assert!(
        d.security_group_rules
            .values()
            .all(|r| r.protocol.is_none() && r.remote_ip_prefix.is_none() && r.project_id == P1)
    );
    create_default_security_group(&mut d, P2);
    assert_eq!(d.security_groups.len(), 2);
}
