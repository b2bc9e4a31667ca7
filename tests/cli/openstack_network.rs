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
