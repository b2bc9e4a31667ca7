//! Neutron networks and subnets end to end, and the network and subnet
//! data sources: the real binary against the embedded devcloud, with
//! changes made behind stackform's back through `Outside`.

use super::Workspace;
use super::openstack::{Outside, PROVIDER, runtime, state_attrs};
use serde_json::{Value, json};

const NETWORK: &str = r#"
resource "openstack_networking_network_v2" "net" {
  name        = "stack-net"
  description = "for tests"
  mtu         = 1400
  tags        = ["blue", "green"]
}
"#;

fn config(ws: &Workspace, body: &str) {
    ws.file("main.tf", &format!("{PROVIDER}{body}"));
}

/// The names of the networks in the workspace's cloud.
fn network_names(ws: &Workspace) -> Vec<String> {
    runtime().block_on(async {
        let outside = Outside::start(ws).await;
        let (status, listed) = outside.call("GET", "/network/v2.0/networks", None).await;
        assert_eq!(status, 200, "{listed}");
        outside.stop().await;
        listed["networks"]
            .as_array()
            .expect("networks")
            .iter()
            .filter_map(|n| n["name"].as_str().map(str::to_string))
            .collect()
    })
}

/// Sends one request to the workspace's cloud between two commands.
fn outside_call(ws: &Workspace, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    runtime().block_on(async {
        let outside = Outside::start(ws).await;
        let answer = outside.call(method, path, body).await;
        outside.stop().await;
        answer
    })
}

#[test]
fn a_network_is_created_updated_replaced_refreshed_imported_and_destroyed() {
    let ws = Workspace::new();
    config(&ws, NETWORK);
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("+ resource \"openstack_networking_network_v2\" \"net\"")
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    let created = state_attrs(&ws, "openstack_networking_network_v2.net");
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["mtu"], 1400);
    assert_eq!(created["admin_state_up"], true);
    assert_eq!(created["external"], false);
    assert_eq!(created["tags"], json!(["blue", "green"]));
    assert_eq!(created["all_tags"], json!(["blue", "green"]));
    let (_, shown) = outside_call(&ws, "GET", &format!("/network/v2.0/networks/{id}"), None);
    assert_eq!(shown["network"]["tags"], json!(["blue", "green"]));
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // Name, admin state, MTU and tags change in place.
    config(
        &ws,
        &NETWORK
            .replace("\"stack-net\"", "\"stack-net-2\"")
            .replace(
                "mtu         = 1400",
                "mtu         = 1300\n  admin_state_up = false",
            )
            .replace("[\"blue\", \"green\"]", "[\"blue\", \"red\"]"),
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("~ resource \"openstack_networking_network_v2\" \"net\"")
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    let updated = state_attrs(&ws, "openstack_networking_network_v2.net");
    assert_eq!(updated["id"], id.as_str(), "updated in place");
    assert_eq!(updated["name"], "stack-net-2");
    assert_eq!(updated["mtu"], 1300);
    assert_eq!(updated["admin_state_up"], false);
    let (_, shown) = outside_call(&ws, "GET", &format!("/network/v2.0/networks/{id}"), None);
    assert_eq!(shown["network"]["tags"], json!(["blue", "red"]));
    assert_eq!(shown["network"]["name"], "stack-net-2");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("No changes.");

    // Availability zone hints replace it.
    let replacing = NETWORK.replace(
        "  mtu         = 1400\n",
        "  mtu         = 1400\n  availability_zone_hints = [\"nova\"]\n",
    );
    config(&ws, &replacing);
    ws.run(&["plan"])
        .ok()
        .stdout_has("-/+ resource \"openstack_networking_network_v2\" \"net\"")
        .stdout_has("# forces replacement");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 1 destroyed.");
    let replaced = state_attrs(&ws, "openstack_networking_network_v2.net");
    assert_ne!(replaced["id"], id.as_str(), "replaced");
    assert_eq!(replaced["availability_zone_hints"], json!(["nova"]));
    let (status, _) = outside_call(&ws, "GET", &format!("/network/v2.0/networks/{id}"), None);
    assert_eq!(status, 404, "the old network is gone");
    let id = replaced["id"].as_str().expect("id").to_string();

    // Renamed and stripped of a tag behind stackform's back: the plan
    // shows it and changes it back. A tag someone else added is not ours.
    let (status, _) = outside_call(
        &ws,
        "PUT",
        &format!("/network/v2.0/networks/{id}"),
        Some(json!({"network": {"name": "renamed"}})),
    );
    assert_eq!(status, 200);
    let (status, _) = outside_call(
        &ws,
        "PUT",
        &format!("/network/v2.0/networks/{id}/tags"),
        Some(json!({"tags": ["blue", "theirs"]})),
    );
    assert_eq!(status, 200);
    ws.run(&["plan"])
        .ok()
        .stdout_has("Objects have changed outside of stackform")
        .stdout_has("# openstack_networking_network_v2.net has changed")
        .stdout_has("~ name")
        .stdout_has("\"renamed\" -> \"stack-net\"")
        .stdout_has("+ \"green\"");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    let (_, shown) = outside_call(&ws, "GET", &format!("/network/v2.0/networks/{id}"), None);
    assert_eq!(shown["network"]["name"], "stack-net");
    assert_eq!(shown["network"]["tags"], json!(["blue", "green"]));

    // Deleted behind its back: planned again.
    let (status, _) = outside_call(&ws, "DELETE", &format!("/network/v2.0/networks/{id}"), None);
    assert_eq!(status, 204);
    ws.run(&["plan"])
        .ok()
        .stdout_has("+ resource \"openstack_networking_network_v2\" \"net\"")
        .stdout_has("1 to add, 0 to change, 0 to destroy");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");

    // Made by hand, then imported.
    let (status, made) = outside_call(
        &ws,
        "POST",
        "/network/v2.0/networks",
        Some(json!({"network": {"name": "by-hand", "mtu": 1280}})),
    );
    assert_eq!(status, 201, "{made}");
    let imported_id = made["network"]["id"].as_str().expect("id").to_string();
    config(
        &ws,
        &format!(
            "{replacing}\nresource \"openstack_networking_network_v2\" \"by_hand\" {{\n  name = \"by-hand\"\n}}\n"
        ),
    );
    ws.run(&[
        "import",
        "openstack_networking_network_v2.by_hand",
        &imported_id,
    ])
    .ok()
    .stdout_has("Import successful!");
    let imported = state_attrs(&ws, "openstack_networking_network_v2.by_hand");
    assert_eq!(imported["name"], "by-hand");
    assert_eq!(imported["mtu"], 1280);
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    ws.run(&["destroy", "-auto-approve"])
        .ok()
        .stdout_has("Destroy complete! Resources: 2 destroyed.");
    assert_eq!(network_names(&ws), Vec::<String>::new());
}

const SUBNET: &str = r#"
resource "openstack_networking_network_v2" "net" {
  name = "subnet-net"
}

resource "openstack_networking_subnet_v2" "sub" {
  network_id      = openstack_networking_network_v2.net.id
  name            = "stack-sub"
  cidr            = "10.10.0.0/24"
  dns_nameservers = ["10.0.0.53"]
  tags            = ["blue"]

  allocation_pool {
    start = "10.10.0.100"
    end   = "10.10.0.150"
  }

  allocation_pool {
    start = "10.10.0.10"
    end   = "10.10.0.20"
  }

  host_routes {
    destination_cidr = "192.168.0.0/16"
    next_hop         = "10.10.0.254"
  }
}
"#;

#[test]
fn a_subnet_is_created_updated_replaced_refreshed_imported_and_destroyed() {
    let ws = Workspace::new();
    config(&ws, SUBNET);
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("+ resource \"openstack_networking_subnet_v2\" \"sub\"")
        .stdout_has("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.");
    let created = state_attrs(&ws, "openstack_networking_subnet_v2.sub");
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["gateway_ip"], "10.10.0.1");
    assert_eq!(created["ip_version"], 4);
    assert_eq!(created["enable_dhcp"], true);
    let pools = created["allocation_pool"].as_array().expect("pools");
    assert_eq!(pools.len(), 2, "{pools:?}");
    assert!(pools.contains(&json!({"start": "10.10.0.10", "end": "10.10.0.20"})));
    assert!(pools.contains(&json!({"start": "10.10.0.100", "end": "10.10.0.150"})));
    assert_eq!(
        created["host_routes"],
        json!([{"destination_cidr": "192.168.0.0/16", "next_hop": "10.10.0.254"}])
    );
    let (_, shown) = outside_call(&ws, "GET", &format!("/network/v2.0/subnets/{id}"), None);
    assert_eq!(shown["subnet"]["tags"], json!(["blue"]));
    assert_eq!(shown["subnet"]["dns_nameservers"], json!(["10.0.0.53"]));
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // Name, DHCP, DNS servers, gateway, pools and routes change in place.
    let updated_config = SUBNET
        .replace("\"stack-sub\"", "\"stack-sub-2\"")
        .replace(
            "[\"10.0.0.53\"]",
            "[\"10.0.0.54\", \"10.0.0.55\"]\n  enable_dhcp = false\n  gateway_ip = \"10.10.0.254\"",
        )
        .replace("\"10.10.0.150\"", "\"10.10.0.160\"")
        .replace(
            "next_hop         = \"10.10.0.254\"",
            "next_hop         = \"10.10.0.253\"",
        );
    config(&ws, &updated_config);
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("~ resource \"openstack_networking_subnet_v2\" \"sub\"")
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    let updated = state_attrs(&ws, "openstack_networking_subnet_v2.sub");
    assert_eq!(updated["id"], id.as_str(), "updated in place");
    let (_, shown) = outside_call(&ws, "GET", &format!("/network/v2.0/subnets/{id}"), None);
    let s = &shown["subnet"];
    assert_eq!(s["name"], "stack-sub-2");
    assert_eq!(s["enable_dhcp"], false);
    assert_eq!(s["gateway_ip"], "10.10.0.254");
    assert_eq!(s["dns_nameservers"], json!(["10.0.0.54", "10.0.0.55"]));
    assert_eq!(
        s["allocation_pools"],
        json!([
            {"start": "10.10.0.100", "end": "10.10.0.160"},
            {"start": "10.10.0.10", "end": "10.10.0.20"}
        ])
    );
    assert_eq!(
        s["host_routes"],
        json!([{"destination": "192.168.0.0/16", "nexthop": "10.10.0.253"}])
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("No changes.");

    // No gateway at all, and no DNS servers.
    let no_gateway = updated_config
        .replace("  gateway_ip = \"10.10.0.254\"", "  no_gateway = true")
        .replace("  dns_nameservers = [\"10.0.0.54\", \"10.0.0.55\"]\n", "");
    config(&ws, &no_gateway);
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    let (_, shown) = outside_call(&ws, "GET", &format!("/network/v2.0/subnets/{id}"), None);
    assert_eq!(shown["subnet"]["gateway_ip"], Value::Null);
    assert_eq!(shown["subnet"]["dns_nameservers"], json!([]));
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // Without no_gateway the subnet gets Neutron's default gateway back.
    config(&ws, &no_gateway.replace("  no_gateway = true\n", ""));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("+ gateway_ip      = (known after apply)")
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    let (_, shown) = outside_call(&ws, "GET", &format!("/network/v2.0/subnets/{id}"), None);
    assert_eq!(shown["subnet"]["gateway_ip"], "10.10.0.1");
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // The CIDR replaces it.
    let replacing = no_gateway.replace("10.10.0.", "10.11.0.");
    config(&ws, &replacing);
    ws.run(&["plan"])
        .ok()
        .stdout_has("-/+ resource \"openstack_networking_subnet_v2\" \"sub\"")
        .stdout_has("# forces replacement");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 1 destroyed.");
    let replaced = state_attrs(&ws, "openstack_networking_subnet_v2.sub");
    assert_ne!(replaced["id"], id.as_str(), "replaced");
    assert_eq!(replaced["cidr"], "10.11.0.0/24");
    let id = replaced["id"].as_str().expect("id").to_string();

    // Changed behind stackform's back: shown and changed back.
    let (status, _) = outside_call(
        &ws,
        "PUT",
        &format!("/network/v2.0/subnets/{id}"),
        Some(json!({"subnet": {"name": "renamed", "enable_dhcp": true}})),
    );
    assert_eq!(status, 200);
    ws.run(&["plan"])
        .ok()
        .stdout_has("Objects have changed outside of stackform")
        .stdout_has("# openstack_networking_subnet_v2.sub has changed")
        .stdout_has("\"renamed\" -> \"stack-sub-2\"")
        .stdout_has("true -> false");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    let (_, shown) = outside_call(&ws, "GET", &format!("/network/v2.0/subnets/{id}"), None);
    assert_eq!(shown["subnet"]["name"], "stack-sub-2");
    assert_eq!(shown["subnet"]["enable_dhcp"], false);

    // Deleted behind its back: planned again.
    let (status, _) = outside_call(&ws, "DELETE", &format!("/network/v2.0/subnets/{id}"), None);
    assert_eq!(status, 204);
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("+ resource \"openstack_networking_subnet_v2\" \"sub\"")
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");

    // Made by hand on the same network, then imported.
    let network_id = state_attrs(&ws, "openstack_networking_network_v2.net")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (status, made) = outside_call(
        &ws,
        "POST",
        "/network/v2.0/subnets",
        Some(
            json!({"subnet": {"network_id": network_id, "ip_version": 4, "cidr": "10.12.0.0/24", "name": "by-hand"}}),
        ),
    );
    assert_eq!(status, 201, "{made}");
    let imported_id = made["subnet"]["id"].as_str().expect("id").to_string();
    config(
        &ws,
        &format!(
            "{replacing}\nresource \"openstack_networking_subnet_v2\" \"by_hand\" {{\n  network_id = openstack_networking_network_v2.net.id\n  name       = \"by-hand\"\n  cidr       = \"10.12.0.0/24\"\n}}\n"
        ),
    );
    ws.run(&[
        "import",
        "openstack_networking_subnet_v2.by_hand",
        &imported_id,
    ])
    .ok()
    .stdout_has("Import successful!");
    assert_eq!(
        state_attrs(&ws, "openstack_networking_subnet_v2.by_hand")["gateway_ip"],
        "10.12.0.1"
    );
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    ws.run(&["destroy", "-auto-approve"])
        .ok()
        .stdout_has("Destroy complete! Resources: 3 destroyed.");
    assert_eq!(network_names(&ws), Vec::<String>::new());
}

#[test]
fn a_cidr_with_host_bits_set_is_refused_before_anything_is_created() {
    let ws = Workspace::new();
    config(&ws, &SUBNET.replace("10.10.0.0/24", "10.10.0.5/24"));
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("openstack_networking_subnet_v2.sub")
        .stderr_has("cidr = \"10.10.0.5/24\" has host bits set")
        .stderr_has("Write cidr = \"10.10.0.0/24\".");
    assert_eq!(network_names(&ws), Vec::<String>::new());

    config(
        &ws,
        &SUBNET.replace(
            "  name            = \"stack-sub\"\n",
            "  gateway_ip = \"10.10.0.1\"\n  no_gateway = true\n",
        ),
    );
    ws.run(&["plan"])
        .code(1)
        .stderr_has("gateway_ip and no_gateway = true cannot be set together");
    assert_eq!(network_names(&ws), Vec::<String>::new());
}

#[test]
fn a_subnet_whose_address_a_port_holds_is_deleted_once_the_port_is_gone() {
    let ws = Workspace::new();
    let body = SUBNET.replace(
        "  tags            = [\"blue\"]\n",
        "  tags            = [\"blue\"]\n\n  timeouts {\n    delete = \"3s\"\n  }\n",
    );
    config(&ws, &body);
    ws.run(&["apply", "-auto-approve"]).ok();
    let subnet = state_attrs(&ws, "openstack_networking_subnet_v2.sub");
    let (status, port) = outside_call(
        &ws,
        "POST",
        "/network/v2.0/ports",
        Some(json!({"port": {
            "network_id": subnet["network_id"],
            "fixed_ips": [{"subnet_id": subnet["id"]}]
        }})),
    );
    assert_eq!(status, 201, "{port}");
    let port_id = port["port"]["id"].as_str().expect("id").to_string();

    let started = std::time::Instant::now();
    ws.run(&["destroy", "-auto-approve"])
        .code(1)
        .stderr_has("Cannot delete the subnet")
        .stderr_has("One or more ports have an IP allocation from this subnet.")
        .stderr_has("(request req-")
        .stderr_has("still refused after 3s of retrying");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "the delete was retried for its timeout"
    );
    assert_eq!(network_names(&ws), vec!["subnet-net".to_string()]);

    let (status, _) = outside_call(
        &ws,
        "DELETE",
        &format!("/network/v2.0/ports/{port_id}"),
        None,
    );
    assert_eq!(status, 204);
    ws.run(&["destroy", "-auto-approve"])
        .ok()
        .stdout_has("Destroy complete! Resources: 2 destroyed.");
    assert_eq!(network_names(&ws), Vec::<String>::new());
}

#[test]
fn data_sources_find_one_network_and_subnet_or_say_why_not() {
    let ws = Workspace::new();
    // Made by hand: a shared network with a subnet, and two networks with
    // the same name.
    let (status, made) = outside_call(
        &ws,
        "POST",
        "/network/v2.0/networks",
        Some(json!({"network": {"name": "shared-net", "mtu": 1450}})),
    );
    assert_eq!(status, 201, "{made}");
    let shared_id = made["network"]["id"].as_str().expect("id").to_string();
    let (status, made) = outside_call(
        &ws,
        "POST",
        "/network/v2.0/subnets",
        Some(
            json!({"subnet": {"network_id": shared_id, "ip_version": 4, "cidr": "10.30.0.0/24", "name": "shared-sub"}}),
        ),
    );
    assert_eq!(status, 201, "{made}");
    let shared_subnet = made["subnet"]["id"].as_str().expect("id").to_string();
    for _ in 0..2 {
        let (status, _) = outside_call(
            &ws,
            "POST",
            "/network/v2.0/networks",
            Some(json!({"network": {"name": "twin"}})),
        );
        assert_eq!(status, 201);
    }

    config(
        &ws,
        r#"
data "openstack_networking_network_v2" "shared" {
  name     = "shared-net"
  external = false
}

data "openstack_networking_subnet_v2" "shared" {
  network_id = data.openstack_networking_network_v2.shared.id
  cidr       = "10.30.0.0/24"
}

resource "openstack_networking_subnet_v2" "mine" {
  network_id = data.openstack_networking_network_v2.shared.id
  name       = "mine"
  cidr       = "10.31.0.0/24"
}

output "network_mtu" {
  value = data.openstack_networking_network_v2.shared.mtu
}

output "subnets" {
  value = data.openstack_networking_network_v2.shared.subnets
}

output "subnet" {
  value = data.openstack_networking_subnet_v2.shared.id
}

output "gateway" {
  value = data.openstack_networking_subnet_v2.shared.gateway_ip
}
"#,
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    assert_eq!(
        state_attrs(&ws, "openstack_networking_subnet_v2.mine")["network_id"],
        shared_id.as_str()
    );
    let outputs = ws.run(&["output", "-json"]).ok().json();
    assert_eq!(outputs["network_mtu"]["value"], 1450);
    assert_eq!(outputs["subnets"]["value"], json!([shared_subnet]));
    assert_eq!(outputs["subnet"]["value"], shared_subnet.as_str());
    assert_eq!(outputs["gateway"]["value"], "10.30.0.1");
    // The network was read before "mine" was added to it: the next run
    // reads it again and sees both subnets, and then nothing changes.
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("~ subnets = [")
        .stdout_has("Resources: 0 added, 0 changed, 0 destroyed.");
    let mine = state_attrs(&ws, "openstack_networking_subnet_v2.mine")["id"].clone();
    let outputs = ws.run(&["output", "-json"]).ok().json();
    assert_eq!(outputs["subnets"]["value"], json!([shared_subnet, mine]));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("No changes.");

    config(
        &ws,
        r#"
data "openstack_networking_network_v2" "x" {
  name     = "nope"
  external = true
}
"#,
    );
    ws.run(&["plan"])
        .code(1)
        .stderr_has("No network matches name = \"nope\", external = true.");
    config(
        &ws,
        r#"
data "openstack_networking_network_v2" "x" {
  name = "twin"
}
"#,
    );
    ws.run(&["plan"])
        .code(1)
        .stderr_has("2 networks match name = \"twin\"; add filters to narrow it to one.");
    config(
        &ws,
        r#"
data "openstack_networking_subnet_v2" "x" {
  cidr = "10.99.0.0/24"
}
"#,
    );
    ws.run(&["plan"])
        .code(1)
        .stderr_has("No subnet matches cidr = \"10.99.0.0/24\".");
}

/// The Terraform provider's `adminStateUp` scenarios: omitted, Neutron's
/// `true` is recorded; set to false, it changes in place (same id) and
/// the cloud agrees; omitted again, the cloud's value is kept, not
/// "changed back".
#[test]
fn admin_state_up_omitted_set_and_omitted_again() {
    let ws = Workspace::new();
    let with = |admin: &str| {
        format!(
            "resource \"openstack_networking_network_v2\" \"net\" {{\n  name = \"admin-state\"\n{admin}}}\n"
        )
    };
    config(&ws, &with(""));
    ws.run(&["apply", "-auto-approve"]).ok();
    let first = state_attrs(&ws, "openstack_networking_network_v2.net");
    assert_eq!(first["admin_state_up"], true);

    config(&ws, &with("  admin_state_up = false\n"));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("~ admin_state_up")
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    let second = state_attrs(&ws, "openstack_networking_network_v2.net");
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["admin_state_up"], false);
    let id = second["id"].as_str().expect("id").to_string();
    runtime().block_on(async {
        let outside = Outside::start(&ws).await;
        let (_, shown) = outside
            .call("GET", &format!("/network/v2.0/networks/{id}"), None)
            .await;
        assert_eq!(shown["network"]["admin_state_up"], false);
        outside.stop().await;
    });

    config(&ws, &with(""));
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
    ws.run(&["destroy", "-auto-approve"]).ok();
}

/// A data source that refers to a resource not created yet is read
/// during apply, after it, and what uses it waits for the read; once the
/// resource exists it is read while planning again.
#[test]
fn a_data_source_that_refers_to_a_new_resource_is_read_during_apply() {
    let ws = Workspace::new();
    config(
        &ws,
        r#"
resource "openstack_networking_network_v2" "app" {
  name = "app"
  mtu  = 1400
}

data "openstack_networking_network_v2" "app" {
  network_id = openstack_networking_network_v2.app.id
}

resource "openstack_networking_subnet_v2" "app" {
  network_id = data.openstack_networking_network_v2.app.id
  cidr       = "10.44.0.0/24"
}

output "mtu" {
  value = data.openstack_networking_network_v2.app.mtu
}
"#,
    );
    let planned = ws.run(&["plan", "-out=tfplan"]);
    planned
        .ok()
        .stdout_has("# data.openstack_networking_network_v2.app will be read during apply")
        .stdout_has("# (config refers to values not yet known)")
        .stdout_has(" <= data \"openstack_networking_network_v2\" \"app\" {")
        .stdout_has("Plan: 2 to add, 0 to change, 0 to destroy.");
    // As in Terraform's plans, data resources come first.
    let at = |text: &str| planned.stdout.find(text).expect(text);
    assert!(at("<= data") < at("+ resource \"openstack_networking_network_v2\""));
    ws.run(&["apply", "tfplan"])
        .ok()
        .stderr_has("data.openstack_networking_network_v2.app: Reading...")
        .stderr_has("data.openstack_networking_network_v2.app: Read complete after")
        .stdout_has("Apply complete! Resources: 2 added, 0 changed, 0 destroyed.")
        .stdout_has("mtu = 1400");
    let network = state_attrs(&ws, "openstack_networking_network_v2.app");
    let subnet = state_attrs(&ws, "openstack_networking_subnet_v2.app");
    assert_eq!(subnet["network_id"], network["id"]);
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_lacks("will be read during apply")
        .stdout_has("No changes.");
    ws.run(&["destroy", "-auto-approve"])
        .ok()
        .stdout_has("Destroy complete! Resources: 2 destroyed.");
}
