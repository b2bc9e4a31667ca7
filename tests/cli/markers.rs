//! What the markers look like in the cloud, and that the user never sees
//! them in plans or the state: a network's and a flavor's description, an
//! image's properties and a server's metadata, through create, update and
//! refresh.

use super::Workspace;
use super::openstack::{Outside, PROVIDER, runtime, state_attrs};
use serde_json::Value;

fn lineage(ws: &Workspace) -> String {
    let state: Value =
        serde_json::from_slice(&ws.read("state/default.json").expect("state")).expect("json");
    state["lineage"].as_str().expect("lineage").to_string()
}

fn get(ws: &Workspace, path: &str) -> Value {
    runtime().block_on(async {
        let outside = Outside::start(ws).await;
        let (status, body) = outside.call("GET", path, None).await;
        outside.stop().await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    })
}

fn stack(network_description: &str) -> String {
    format!(
        r#"{PROVIDER}
resource "openstack_networking_network_v2" "net" {{
  name        = "marked"
  description = "{network_description}"
}}

resource "openstack_compute_flavor_v2" "flavor" {{
  name  = "marked.tiny"
  ram   = 256
  vcpus = 1
  disk  = 1
}}
"#
    )
}

#[test]
fn markers_live_in_the_cloud_and_never_show_in_plans_or_the_state() {
    let ws = Workspace::new();
    ws.file("main.tf", &stack("web tier"));
    ws.run(&["apply", "-auto-approve"]).ok();
    let lineage = lineage(&ws);
    let net = state_attrs(&ws, "openstack_networking_network_v2.net");
    let flavor = state_attrs(&ws, "openstack_compute_flavor_v2.flavor");
    assert_eq!(net["description"], "web tier");
    assert_eq!(flavor["description"], Value::Null);

    let shown = get(
        &ws,
        &format!("/network/v2.0/networks/{}", net["id"].as_str().unwrap()),
    );
    let description = shown["network"]["description"]
        .as_str()
        .unwrap()
        .to_string();
    let prefix = format!("web tier stackform:{lineage}:");
    assert!(description.starts_with(&prefix), "{description}");
    let token = description[prefix.len()..]
        .split(':')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(token.len(), 16, "{description}");
    let shown = get(
        &ws,
        &format!("/compute/v2.1/flavors/{}", flavor["id"].as_str().unwrap()),
    );
    let flavor_description = shown["flavor"]["description"].as_str().unwrap().to_string();
    assert!(
        flavor_description.starts_with(&format!("stackform:{lineage}:")),
        "{flavor_description}"
    );
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // A new description is the user's text with the marker kept.
    ws.file("main.tf", &stack("db tier"));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("description             = \"web tier\" -> \"db tier\"")
        .stdout_lacks("stackform:");
    let shown = get(
        &ws,
        &format!("/network/v2.0/networks/{}", net["id"].as_str().unwrap()),
    );
    let description = shown["network"]["description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("db tier stackform:{lineage}:")),
        "{description}"
    );
    assert_eq!(
        state_attrs(&ws, "openstack_networking_network_v2.net")["description"],
        "db tier"
    );
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
    let show = ws.run(&["show", "-json"]);
    show.ok()
        .stdout_lacks("stackform:")
        .stdout_lacks("stackform_token");
    ws.run(&["destroy", "-auto-approve"]).ok();
}

#[test]
fn a_description_that_leaves_no_room_for_the_marker_is_refused_while_planning() {
    let ws = Workspace::new();
    ws.file("main.tf", &stack(&"d".repeat(179)));
    ws.run(&["plan"])
        .code(1)
        .stderr_has("Description too long")
        .stderr_has("description has 179 characters; Neutron keeps at most 255, and stackform adds a 77-character marker to it")
        .stderr_has("openstack_networking_network_v2.net");
    assert!(
        ws.read("state/default.json").is_none() || {
            let state: Value =
                serde_json::from_slice(&ws.read("state/default.json").unwrap()).unwrap();
            state["resources"].as_array().is_none_or(Vec::is_empty)
        }
    );
    ws.file("main.tf", &stack(&"d".repeat(178)));
    ws.run(&["apply", "-auto-approve"]).ok();
    ws.run(&["destroy", "-auto-approve"]).ok();
}
