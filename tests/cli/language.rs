//! The parts of the Terraform language real configurations use beyond
//! resources and variables (`dynamic` blocks), through the real binary
//! against the embedded devcloud.

use super::Workspace;
use super::openstack::{Outside, PROVIDER, runtime, state_attrs};
use super::openstack_server::image;
use serde_json::json;

const DYNAMIC: &str = r#"
variable "networks" {
  default = { front = "10.41.0.0/24", back = "10.42.0.0/24" }
}

variable "pools" {
  type = list(object({ start = string, end = string }))
  default = [
    { start = "10.41.0.10", end = "10.41.0.20" },
    { start = "10.41.0.30", end = "10.41.0.40" },
  ]
}

resource "openstack_networking_network_v2" "net" {
  for_each = var.networks
  name     = each.key
}

resource "openstack_networking_subnet_v2" "sub" {
  for_each   = var.networks
  network_id = openstack_networking_network_v2.net[each.key].id
  cidr       = each.value

  dynamic "allocation_pool" {
    for_each = each.key == "front" ? var.pools : []
    iterator = pool
    content {
      start = pool.value.start
      end   = pool.value.end
    }
  }
}

resource "openstack_compute_instance_v2" "vm" {
  name       = "vm"
  image_name = "cirros"
  flavor_id  = "1"

  dynamic "network" {
    for_each = openstack_networking_subnet_v2.sub
    content {
      uuid = network.value.network_id
    }
  }
}
"#;

#[test]
fn dynamic_blocks_generate_nested_blocks_from_collections() {
    let ws = Workspace::new();
    runtime().block_on(async {
        let outside = Outside::start(&ws).await;
        image(&outside, "cirros").await;
        outside.stop().await;
    });
    ws.file("main.tf", &format!("{PROVIDER}{DYNAMIC}"));
    ws.run(&["plan"])
        .ok()
        .stdout_has("+ start = \"10.41.0.30\"")
        .stdout_has("+ uuid        = (known after apply)");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 5 added");
    let front = state_attrs(&ws, "openstack_networking_subnet_v2.sub[\"front\"]");
    assert_eq!(
        front["allocation_pool"],
        json!([
            { "start": "10.41.0.10", "end": "10.41.0.20" },
            { "start": "10.41.0.30", "end": "10.41.0.40" }
        ])
    );
    let back = state_attrs(&ws, "openstack_networking_subnet_v2.sub[\"back\"]");
    assert_eq!(
        back["allocation_pool"][0]["start"], "10.42.0.2",
        "Neutron's default pool"
    );
    let vm = state_attrs(&ws, "openstack_compute_instance_v2.vm");
    let net = |key: &str| {
        state_attrs(
            &ws,
            &format!("openstack_networking_network_v2.net[\"{key}\"]"),
        )["id"]
            .clone()
    };
    assert_eq!(vm["network"][0]["uuid"], net("back"), "map keys in order");
    assert_eq!(vm["network"][1]["uuid"], net("front"));
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // One pool fewer is an in-place change of the subnet.
    ws.run(&[
        "plan",
        "-var",
        r#"pools=[{start="10.41.0.10",end="10.41.0.20"}]"#,
    ])
    .ok()
    .stdout_has("~ resource \"openstack_networking_subnet_v2\" \"sub\"")
    .stdout_has("- start = \"10.41.0.30\"")
    .stdout_has("Plan: 0 to add, 1 to change, 0 to destroy.");
}

#[test]
fn a_malformed_dynamic_block_is_refused_with_its_place() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}resource \"openstack_networking_subnet_v2\" \"s\" {{\n  network_id = \"n\"\n  cidr       = \"10.0.0.0/24\"\n  dynamic \"pool\" {{\n    for_each = []\n    content {{}}\n  }}\n  dynamic \"allocation_pool\" {{\n    for_each = [1]\n  }}\n}}\n"
        ),
    );
    ws.run(&["validate"])
        .code(1)
        .stderr_has("Blocks of type \"pool\" are not expected here, so a dynamic block cannot generate them.")
        .stderr_has("main.tf:7:11")
        .stderr_has("A dynamic block must have exactly one content block; this one has 0.")
        .stderr_has("main.tf:11:11");
}
