//! The parts of the Terraform language real configurations use beyond
//! resources and variables (dynamic blocks, -replace and
//! replace_triggered_by, -target and -exclude, moved and removed blocks,
//! -refresh-only, preconditions, postconditions and check blocks, import
//! blocks and -generate-config-out),
//! through the real binary
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

const TRIGGERS: &str = r#"
variable "v" {
  default = "one"
}

resource "terraform_data" "a" {
  input = var.v
}

resource "terraform_data" "by_resource" {
  input = "b"
  lifecycle {
    replace_triggered_by = [terraform_data.a]
  }
}

resource "terraform_data" "by_attribute" {
  input = "c"
  lifecycle {
    replace_triggered_by = [terraform_data.a.output]
  }
}

resource "terraform_data" "by_id" {
  input = "d"
  lifecycle {
    replace_triggered_by = [terraform_data.a.id]
  }
}
"#;

fn data_id(ws: &Workspace, address: &str) -> String {
    state_attrs(ws, address)["id"]
        .as_str()
        .expect("an id")
        .to_string()
}

#[test]
fn replace_and_replace_triggered_by_replace_what_nothing_else_would() {
    let ws = Workspace::new();
    ws.file("main.tf", TRIGGERS);
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Resources: 4 added");
    let before: Vec<String> = ["a", "by_resource", "by_attribute", "by_id"]
        .iter()
        .map(|n| data_id(&ws, &format!("terraform_data.{n}")))
        .collect();

    let run = ws.run(&["plan", "-replace=terraform_data.by_id"]);
    run.ok()
        .stdout_has("# terraform_data.by_id will be replaced, as requested")
        .stdout_has("-/+ resource \"terraform_data\" \"by_id\"")
        .stdout_has("Plan: 1 to add, 0 to change, 1 to destroy.");
    ws.run(&["plan", "-markdown", "-replace=terraform_data.by_id"])
        .ok()
        .stdout_has("| ⚠️ **🟠 replace** | `terraform_data.by_id` | requested with -replace |");

    // An in-place change of `a` replaces what refers to it or to its
    // changing output, but not what refers to its unchanged id.
    ws.run(&["plan", "-var", "v=two"])
        .ok()
        .stdout_has("# terraform_data.a will be updated in-place")
        .stdout_has(
            "# terraform_data.by_resource will be replaced due to changes in replace_triggered_by",
        )
        .stdout_has(
            "# terraform_data.by_attribute will be replaced due to changes in replace_triggered_by",
        )
        .stdout_lacks("# terraform_data.by_id will be replaced")
        .stdout_has("Plan: 2 to add, 1 to change, 2 to destroy.");
    ws.run(&["apply", "-auto-approve", "-var", "v=two"]).ok();
    let after: Vec<String> = ["a", "by_resource", "by_attribute", "by_id"]
        .iter()
        .map(|n| data_id(&ws, &format!("terraform_data.{n}")))
        .collect();
    assert_eq!(after[0], before[0], "a is updated in place");
    assert_ne!(after[1], before[1]);
    assert_ne!(after[2], before[2]);
    assert_eq!(after[3], before[3]);
    ws.run(&["plan", "-detailed-exitcode", "-var", "v=two"])
        .code(0)
        .stdout_has("No changes.");
    let json = ws.run(&[
        "plan",
        "-replace=terraform_data.a",
        "-var",
        "v=two",
        "-out=p.plan",
    ]);
    json.ok();
    let shown = ws.run(&["show", "-json", "p.plan"]);
    let changes = shown.ok().json()["resource_changes"].clone();
    let reason = |address: &str| {
        changes
            .as_array()
            .expect("resource_changes")
            .iter()
            .find(|c| c["address"] == address)
            .map(|c| c["action_reason"].clone())
    };
    assert_eq!(
        reason("terraform_data.a"),
        Some(json!("replace_by_request"))
    );
    assert_eq!(
        reason("terraform_data.by_resource"),
        Some(json!("replace_by_triggers"))
    );
}

#[test]
fn a_bad_replace_address_is_refused_and_an_unknown_one_warned_about() {
    let ws = Workspace::new();
    ws.file("main.tf", TRIGGERS);
    ws.run(&["plan", "-replace=terraform_data.a[oops"])
        .code(1)
        .stderr_has("Invalid replace address")
        .stderr_has("-replace=terraform_data.a[oops");
    ws.run(&["plan", "-replace=terraform_data.nothing"])
        .ok()
        .stderr_has("Replace target not found")
        .stderr_has("terraform_data.nothing");
    ws.file(
        "main.tf",
        "resource \"terraform_data\" \"x\" {\n  lifecycle {\n    replace_triggered_by = [var.v]\n  }\n}\n",
    );
    ws.run(&["validate"])
        .code(1)
        .stderr_has("Invalid replace_triggered_by expression")
        .stderr_has("main.tf:3:29");
}

const TARGETS: &str = r#"
resource "terraform_data" "base" {
  input = "base"
}

resource "terraform_data" "app" {
  count = 2
  input = "${terraform_data.base.output}-${count.index}"
}

resource "terraform_data" "other" {
  input = "other"
}

output "apps" {
  value = terraform_data.app[*].output
}
"#;

pub(crate) fn addresses(ws: &Workspace) -> Vec<String> {
    let state: serde_json::Value =
        serde_json::from_slice(&ws.read("state/default.json").expect("a state")).expect("JSON");
    let mut found: Vec<String> = state["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["address"].as_str().map(str::to_string))
        .collect();
    found.sort();
    found
}

#[test]
fn target_and_exclude_plan_and_apply_part_of_the_configuration() {
    let ws = Workspace::new();
    ws.file("main.tf", TARGETS);
    ws.run(&["plan", "-target=terraform_data.app[1]", "-out=t.plan"])
        .ok()
        .stderr_has("Resource targeting is in effect")
        .stdout_has("# terraform_data.base will be created")
        .stdout_has("# terraform_data.app[1] will be created")
        .stdout_lacks("terraform_data.app[0]")
        .stdout_lacks("terraform_data.other")
        .stdout_has("Plan: 2 to add, 0 to change, 0 to destroy.");
    ws.run(&["apply", "t.plan"])
        .ok()
        .stderr_has("Applied changes may be incomplete")
        .stdout_has("Apply complete! Resources: 2 added");
    assert_eq!(
        addresses(&ws),
        ["terraform_data.app[1]", "terraform_data.base"]
    );

    // Excluding base leaves out what depends on it.
    ws.run(&["apply", "-auto-approve", "-exclude=terraform_data.base"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    assert!(addresses(&ws).contains(&"terraform_data.other".to_string()));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.")
        .stdout_has("\"base-0\"");
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // Destroying a target destroys what depends on it; excluding an
    // instance keeps what it depends on.
    ws.run(&["destroy", "-auto-approve", "-target=terraform_data.base"])
        .ok()
        .stdout_has("Destroy complete! Resources: 3 destroyed.");
    assert_eq!(addresses(&ws), ["terraform_data.other"]);
    ws.run(&["apply", "-auto-approve"]).ok();
    ws.run(&["destroy", "-auto-approve", "-exclude=terraform_data.app[0]"])
        .ok()
        .stdout_has("Destroy complete! Resources: 2 destroyed.");
    assert_eq!(
        addresses(&ws),
        ["terraform_data.app[0]", "terraform_data.base"]
    );

    ws.run(&["plan", "-target=terraform_data.app["])
        .code(1)
        .stderr_has("Invalid target address")
        .stderr_has("-target=terraform_data.app[");
}

#[test]
fn moved_blocks_rename_objects_without_replacing_them() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        r#"
resource "terraform_data" "old" {
  input = "x"
}

resource "terraform_data" "list" {
  count = 2
  input = "l${count.index}"
}
"#,
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    let id = |address: &str| data_id(&ws, address);
    let (old, l0, l1) = (
        id("terraform_data.old"),
        id("terraform_data.list[0]"),
        id("terraform_data.list[1]"),
    );
    ws.file(
        "main.tf",
        r#"
resource "terraform_data" "new" {
  input = "y"
}

moved {
  from = terraform_data.old
  to   = terraform_data.middle
}

moved {
  from = terraform_data.middle
  to   = terraform_data.new
}

resource "terraform_data" "map" {
  for_each = { a = 0, b = 1 }
  input    = "l${each.value}"
}

moved {
  from = terraform_data.list[0]
  to   = terraform_data.map["a"]
}

moved {
  from = terraform_data.list[1]
  to   = terraform_data.map["b"]
}
"#,
    );
    let plan = ws.run(&["plan", "-out=m.plan"]);
    plan.ok()
        .stdout_has("# terraform_data.list[0] has moved to terraform_data.map[\"a\"]")
        .stdout_has("# terraform_data.list[1] has moved to terraform_data.map[\"b\"]")
        .stdout_has(
            "# terraform_data.new will be updated in-place\n  # (moved from terraform_data.old)",
        )
        .stdout_has("Plan: 0 to add, 1 to change, 0 to destroy.");
    let shown = ws.run(&["show", "-json", "m.plan"]);
    let changes = shown.ok().json()["resource_changes"].clone();
    let previous: Vec<(String, String)> = changes
        .as_array()
        .expect("resource_changes")
        .iter()
        .filter_map(|c| {
            Some((
                c["address"].as_str()?.to_string(),
                c["previous_address"].as_str()?.to_string(),
            ))
        })
        .collect();
    assert_eq!(
        previous,
        [
            (
                "terraform_data.map[\"a\"]".to_string(),
                "terraform_data.list[0]".to_string()
            ),
            (
                "terraform_data.map[\"b\"]".to_string(),
                "terraform_data.list[1]".to_string()
            ),
            (
                "terraform_data.new".to_string(),
                "terraform_data.old".to_string()
            ),
        ]
    );
    ws.run(&["apply", "m.plan"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    assert_eq!(id("terraform_data.new"), old);
    assert_eq!(id("terraform_data.map[\"a\"]"), l0);
    assert_eq!(id("terraform_data.map[\"b\"]"), l1);
    assert_eq!(
        addresses(&ws),
        [
            "terraform_data.map[\"a\"]",
            "terraform_data.map[\"b\"]",
            "terraform_data.new"
        ]
    );
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
}

#[test]
fn moves_that_cannot_be_are_refused_with_their_place() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        r#"resource "terraform_data" "a" {}

moved {
  from = terraform_data.a
  to   = terraform_data.b
}

moved {
  from = terraform_data.c
  to   = terraform_data.d
}

moved {
  from = terraform_data.c
  to   = terraform_data.e
}

moved {
  from = terraform_data.x[0]
  to   = module.y
}
"#,
    );
    ws.run(&["validate"])
        .code(1)
        .stderr_has("Moved object still exists")
        .stderr_has("on main.tf:3:1")
        .stderr_has("but that resource is still declared at main.tf:1")
        .stderr_has("Ambiguous move statements")
        .stderr_has("on main.tf:13:1")
        .stderr_has("Invalid move")
        .stderr_has("on main.tf:18:1")
        .stderr_has("from a resource to a resource, or from a module to a module");
    ws.file(
        "main.tf",
        "moved {\n  from = terraform_data.p\n  to   = terraform_data.q\n}\n\nmoved {\n  from = terraform_data.q\n  to   = terraform_data.p\n}\n",
    );
    ws.run(&["validate"])
        .code(1)
        .stderr_has("Cyclic dependency in move statements");
}

#[test]
fn removed_blocks_forget_objects_or_destroy_them() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        "resource \"terraform_data\" \"kept\" {\n  count = 2\n  input = \"k\"\n}\n\nresource \"terraform_data\" \"gone\" {\n  input = \"g\"\n}\n\nresource \"terraform_data\" \"stays\" {\n  input = \"s\"\n}\n",
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    ws.file(
        "main.tf",
        "removed {\n  from = terraform_data.kept\n  lifecycle {\n    destroy = false\n  }\n}\n\nremoved {\n  from = terraform_data.gone\n}\n\nresource \"terraform_data\" \"stays\" {\n  input = \"s\"\n}\n",
    );
    let plan = ws.run(&["plan", "-out=r.plan"]);
    plan.ok()
        .stdout_has("# terraform_data.kept[0] will no longer be managed by stackform, but will not be destroyed\n  # (destroy = false is set in the configuration)\n  . resource \"terraform_data\" \"kept\" {")
        .stdout_has("# terraform_data.gone will be destroyed\n  # (because terraform_data.gone is in a removed block)")
        .stdout_has("Plan: 0 to add, 0 to change, 1 to destroy.\n\nWarning: Some objects will no longer be managed by stackform\n\nIf you apply this plan, stackform will discard its tracking information for\nthe following objects, but it will not delete them:\n - terraform_data.kept[0]\n - terraform_data.kept[1]\n");
    let shown = ws.run(&["show", "-json", "r.plan"]);
    let changes = shown.ok().json()["resource_changes"].clone();
    let actions: Vec<(String, serde_json::Value)> = changes
        .as_array()
        .expect("resource_changes")
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap_or("").to_string(),
                c["change"]["actions"].clone(),
            )
        })
        .collect();
    assert!(
        actions.contains(&("terraform_data.kept[1]".to_string(), json!(["forget"]))),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("terraform_data.gone".to_string(), json!(["delete"]))),
        "{actions:?}"
    );
    ws.run(&["apply", "r.plan"]).ok();
    assert_eq!(addresses(&ws), ["terraform_data.stays"]);
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    ws.file(
        "main.tf",
        "resource \"terraform_data\" \"stays\" {\n  input = \"s\"\n}\n\nremoved {\n  from = terraform_data.stays\n}\n",
    );
    ws.run(&["validate"])
        .code(1)
        .stderr_has("Removed resource block still exists")
        .stderr_has("on main.tf:5:1")
        .stderr_has("still declared at main.tf:1");
}

#[test]
fn a_forgotten_network_stays_in_the_cloud() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        &format!("{PROVIDER}resource \"openstack_networking_network_v2\" \"n\" {{\n  name = \"forget-me-not\"\n}}\n"),
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    let id = data_id(&ws, "openstack_networking_network_v2.n");
    ws.file(
        "main.tf",
        &format!("{PROVIDER}removed {{\n  from = openstack_networking_network_v2.n\n  lifecycle {{\n    destroy = false\n  }}\n}}\n"),
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("will no longer be managed by stackform, but will not be destroyed");
    assert!(addresses(&ws).is_empty());
    let status = runtime().block_on(async {
        let outside = Outside::start(&ws).await;
        let (status, _) = outside
            .call("GET", &format!("/network/v2.0/networks/{id}"), None)
            .await;
        outside.stop().await;
        status
    });
    assert_eq!(status, 200, "the network is still there");
}

#[test]
fn refresh_only_records_drift_and_changes_nothing() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        &format!("{PROVIDER}resource \"openstack_networking_network_v2\" \"n\" {{\n  name = \"before\"\n}}\n\noutput \"name\" {{\n  value = openstack_networking_network_v2.n.name\n}}\n"),
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    ws.run(&["plan", "-refresh-only"])
        .ok()
        .stdout_has("No changes. Your infrastructure still matches the configuration.");
    let id = data_id(&ws, "openstack_networking_network_v2.n");
    runtime().block_on(async {
        let outside = Outside::start(&ws).await;
        let (status, _) = outside
            .call(
                "PUT",
                &format!("/network/v2.0/networks/{id}"),
                Some(json!({"network": {"name": "after"}})),
            )
            .await;
        assert_eq!(status, 200);
        outside.stop().await;
    });
    ws.run(&["plan", "-refresh-only", "-detailed-exitcode"])
        .code(2)
        .stdout_has("Note: Objects have changed outside of stackform")
        .stdout_has("~ name")
        .stdout_has("This is a refresh-only plan, so stackform will not take any actions to undo")
        .stdout_lacks("will be updated in-place");
    ws.run(&["apply", "-refresh-only", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 0 changed, 0 destroyed.")
        .stdout_has("name = \"after\"");
    assert_eq!(
        state_attrs(&ws, "openstack_networking_network_v2.n")["name"],
        "after"
    );
    // The next ordinary plan puts the configuration's name back.
    ws.run(&["plan"])
        .ok()
        .stdout_has("~ name")
        .stdout_has("\"after\" -> \"before\"");
    ws.run(&["plan", "-refresh-only", "-refresh=false"])
        .code(1)
        .stderr_has("Incompatible refresh options");
}

const CONDITIONS: &str = r#"variable "size" {
  default = 3
}

variable "b" {
  default = "ok"
}

resource "terraform_data" "a" {
  input = var.size
  lifecycle {
    precondition {
      condition     = var.size < 10
      error_message = "The size must be under 10, not ${var.size}."
    }
  }
}

resource "terraform_data" "b" {
  input = var.b
  lifecycle {
    postcondition {
      condition     = self.output != "boom"
      error_message = "The output must not be boom."
    }
  }
}

output "o" {
  value = terraform_data.a.output
  precondition {
    condition     = var.size > 0
    error_message = "The size must be positive."
  }
}

check "luck" {
  assert {
    condition     = var.size != 3
    error_message = "A size of 3 is unlucky."
  }
}

check "echo" {
  assert {
    condition     = terraform_data.b.output != var.b
    error_message = "The output echoes the input."
  }
}
"#;

#[test]
fn a_check_reads_its_own_data_source_and_a_failed_read_only_warns() {
    let ws = Workspace::new();
    outside_network(&ws, "probe");
    let check = |name: &str| {
        format!(
            r#"{PROVIDER}
check "probe" {{
  data "openstack_networking_network_v2" "probe" {{
    name = "{name}"
  }}

  assert {{
    condition     = data.openstack_networking_network_v2.probe.admin_state_up
    error_message = "The probe network is down."
  }}
}}

resource "terraform_data" "app" {{}}
"#
        )
    };
    ws.file("main.tf", &check("probe"));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stderr_lacks("Warning")
        .stdout_has("Resources: 1 added");
    ws.file("main.tf", &check("missing"));
    ws.run(&["plan"])
        .ok()
        .stderr_has("Warning: No network found")
        .stderr_has("with data.openstack_networking_network_v2.probe,")
        .stdout_has("No changes.");
    ws.file(
        "main.tf",
        &format!(
            "{}\nresource \"terraform_data\" \"uses\" {{\n  input = data.openstack_networking_network_v2.probe.id\n}}\n",
            check("probe")
        ),
    );
    ws.run(&["validate"])
        .code(1)
        .stderr_has("Error: Reference to scoped resource")
        .stderr_has("on main.tf:19:11");
}

#[test]
fn conditions_and_checks_stop_or_warn_with_their_message() {
    let ws = Workspace::new();
    ws.file("main.tf", CONDITIONS);
    ws.run(&["plan", "-var", "size=20"])
        .code(1)
        .stderr_has("Error: Resource precondition failed")
        .stderr_has("on main.tf:13:23, in resource \"terraform_data\" \"a\"")
        .stderr_has("The size must be under 10, not 20.");
    ws.run(&["plan", "-var", "size=0"])
        .code(1)
        .stderr_has("Module output value precondition failed")
        .stderr_has("The size must be positive.");
    ws.run(&["plan"])
        .ok()
        .stderr_has("Warning: Check block assertion failed")
        .stderr_has("A size of 3 is unlucky.");
    ws.run(&["plan", "-var", "size=4"])
        .ok()
        .stderr_lacks("unlucky")
        .stderr_lacks("echoes");

    // Unknown while planning, the postcondition is checked after the
    // create, which is kept in the state.
    ws.run(&["apply", "-auto-approve", "-var", "b=boom"])
        .code(1)
        .stderr_has("Resource postcondition failed")
        .stderr_has("The output must not be boom.");
    assert!(addresses(&ws).contains(&"terraform_data.b".to_string()));
    // Known now, it stops the next plan.
    ws.run(&["plan", "-var", "b=boom"])
        .code(1)
        .stderr_has("Resource postcondition failed");
    // A check that only apply can answer is answered after it.
    ws.run(&["apply", "-auto-approve", "-var", "size=4"])
        .ok()
        .stderr_has("Warning: Check block assertion failed")
        .stderr_has("The output echoes the input.");
}

/// Creates a network behind stackform's back and returns its id.
pub(crate) fn outside_network(ws: &Workspace, name: &str) -> String {
    runtime().block_on(async {
        let outside = Outside::start(ws).await;
        let (status, made) = outside
            .call(
                "POST",
                "/network/v2.0/networks",
                Some(json!({"network": {"name": name}})),
            )
            .await;
        assert_eq!(status, 201, "{made}");
        outside.stop().await;
        made["network"]["id"].as_str().expect("an id").to_string()
    })
}

#[test]
fn import_blocks_bring_existing_objects_under_management_while_planning() {
    let ws = Workspace::new();
    let single = outside_network(&ws, "single");
    let a = outside_network(&ws, "net-a");
    let b = outside_network(&ws, "net-b");
    ws.file(
        "main.tf",
        &format!(
            r#"{PROVIDER}
variable "ids" {{
  default = {{ a = "{a}", b = "{b}" }}
}}

import {{
  to = openstack_networking_network_v2.single
  id = "{single}"
}}

resource "openstack_networking_network_v2" "single" {{
  name = "single"
}}

import {{
  for_each = var.ids
  to       = openstack_networking_network_v2.n[each.key]
  id       = each.value
}}

resource "openstack_networking_network_v2" "n" {{
  for_each = var.ids
  name     = each.key == "a" ? "net-a" : "net-b-renamed"
}}
"#
        ),
    );
    ws.run(&["plan", "-out=i.plan"])
        .ok()
        .stdout_has("# openstack_networking_network_v2.single will be imported")
        .stdout_has("# openstack_networking_network_v2.n[\"a\"] will be imported")
        .stdout_has(&format!(
            "# openstack_networking_network_v2.n[\"b\"] will be updated in-place\n  # (imported from \"{b}\")"
        ))
        .stdout_has("Plan: 3 to import, 0 to add, 1 to change, 0 to destroy.");
    let shown = ws.run(&["show", "-json", "i.plan"]);
    let changes = shown.ok().json()["resource_changes"].clone();
    let single_change = changes
        .as_array()
        .expect("resource_changes")
        .iter()
        .find(|c| c["address"] == "openstack_networking_network_v2.single")
        .expect("the single network")
        .clone();
    assert_eq!(
        single_change["change"]["importing"],
        json!({ "id": single })
    );
    assert_eq!(single_change["change"]["actions"], json!(["no-op"]));
    ws.run(&["apply", "i.plan"])
        .ok()
        .stdout_has("Apply complete! Resources: 3 imported, 0 added, 1 changed, 0 destroyed.");
    assert_eq!(
        data_id(&ws, "openstack_networking_network_v2.single"),
        single
    );
    assert_eq!(data_id(&ws, "openstack_networking_network_v2.n[\"b\"]"), b);
    assert_eq!(
        state_attrs(&ws, "openstack_networking_network_v2.n[\"b\"]")["name"],
        "net-b-renamed"
    );
    // Managed now, the import blocks do nothing more.
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
}

#[test]
fn imports_that_cannot_happen_are_refused_before_anything_changes() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}import {{\n  to = openstack_networking_network_v2.ghost\n  id = \"00000000-0000-4000-8000-000000000000\"\n}}\n\nresource \"openstack_networking_network_v2\" \"ghost\" {{\n  name = \"ghost\"\n}}\n"
        ),
    );
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("Cannot import non-existent remote object")
        .stderr_has("00000000-0000-4000-8000-000000000000")
        .stderr_has("on main.tf:4:1");
    assert!(
        ws.read("state/default.json").is_none(),
        "no state was written"
    );
    ws.file(
        "main.tf",
        "import {\n  to = terraform_data.nowhere\n  id = \"x\"\n}\n",
    );
    ws.run(&["validate"])
        .code(1)
        .stderr_has("Configuration for import target does not exist")
        .stderr_has("on main.tf:1:1");
}

#[test]
fn generate_config_out_writes_the_resource_blocks_imports_need() {
    let ws = Workspace::new();
    let id = outside_network(&ws, "found");
    ws.file(
        "main.tf",
        &format!("{PROVIDER}import {{\n  to = openstack_networking_network_v2.found\n  id = \"{id}\"\n}}\n"),
    );
    ws.run(&["plan"])
        .code(1)
        .stderr_has("Configuration for import target does not exist");
    ws.run(&["plan", "-generate-config-out=generated.tf"])
        .ok()
        .stdout_has("# openstack_networking_network_v2.found will be imported")
        .stdout_has("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.")
        .stdout_has("stackform has generated configuration and written it to generated.tf.");
    let generated = String::from_utf8(ws.read("generated.tf").expect("the file")).expect("UTF-8");
    assert!(
        generated.starts_with("# __generated__ by stackform\n"),
        "{generated}"
    );
    assert!(
        generated.contains(&format!(
            "# imported from \"{id}\"\nresource \"openstack_networking_network_v2\" \"found\" {{\n"
        )),
        "{generated}"
    );
    assert!(
        generated
            .lines()
            .any(|l| l.starts_with("  name ") && l.ends_with("= \"found\"")),
        "{generated}"
    );
    assert!(
        !generated.contains("  id "),
        "computed-only attributes are the provider's: {generated}"
    );
    ws.run(&["fmt", "-check", "generated.tf"]).ok();
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 imported, 0 added, 0 changed, 0 destroyed.");
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
    ws.run(&["plan", "-generate-config-out=generated.tf"])
        .code(1)
        .stderr_has("Target generated file already exists");
}

#[test]
fn generate_config_out_asks_for_a_variable_once() {
    let ws = Workspace::new();
    let id = outside_network(&ws, "asked");
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}variable \"network_id\" {{}}\n\nimport {{\n  to = openstack_networking_network_v2.asked\n  id = var.network_id\n}}\n"
        ),
    );
    let run = ws.run_with_input(
        &["plan", "-generate-config-out=generated.tf"],
        &format!("{id}\n"),
    );
    run.ok()
        .stdout_has("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.");
    assert_eq!(
        run.stderr.matches("var.network_id").count(),
        1,
        "{}",
        run.stderr
    );
}
