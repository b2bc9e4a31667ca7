//! Local modules through the real binary: calls with arguments and
//! outputs, `count` and `for_each` on calls, nested modules, addresses
//! such as `module.net["a"].openstack_networking_network_v2.this`,
//! `moved` into, out of and between modules, `-target` of a module, and
//! the errors a bad module call gets.

use super::language::{addresses, outside_network};
use super::openstack::{PROVIDER, state_attrs};
use super::{Workspace, normalize};

/// A module of terraform_data resources, called once per environment,
/// that calls a module of its own.
fn write_modules(ws: &Workspace) {
    ws.file(
        "modules/app/main.tf",
        r#"
variable "name" {
  type = string
}

variable "size" {
  type    = number
  default = 1
}

locals {
  prefix = "${var.name}-node"
}

resource "terraform_data" "node" {
  count = var.size
  input = "${local.prefix}-${count.index}"
}

module "tag" {
  source = "../tag"
  value  = terraform_data.node[0].output
}

output "nodes" {
  value = terraform_data.node[*].output
}

output "tag" {
  value = module.tag.label
}
"#,
    );
    ws.file(
        "modules/tag/main.tf",
        r#"
variable "value" {
  type = string
}

resource "terraform_data" "label" {
  input = "tag:${var.value}"
}

output "label" {
  value = terraform_data.label.output
}
"#,
    );
}

const ROOT: &str = r#"
variable "envs" {
  type    = set(string)
  default = ["dev", "prod"]
}

module "app" {
  source   = "./modules/app"
  for_each = var.envs
  name     = each.key
  size     = each.key == "prod" ? 2 : 1
}

module "one" {
  source = "./modules/app"
  count  = 1
  name   = "one"
}

resource "terraform_data" "summary" {
  input = { for env, m in module.app : env => m.nodes }
}

output "tags" {
  value = { for env, m in module.app : env => m.tag }
}

output "one" {
  value = module.one[0].nodes
}
"#;

#[test]
fn modules_with_count_for_each_and_nesting_plan_apply_and_shrink() {
    let ws = Workspace::new();
    write_modules(&ws);
    ws.file("main.tf", ROOT);
    ws.run(&["validate"]).ok();
    let plan = ws.run(&["plan", "-out=first.plan"]);
    plan.ok();
    insta::assert_snapshot!(normalize(plan.stdout.trim_start()), @r#"
    Resource actions are indicated with the following symbols:
      + create

    stackform will perform the following actions:

      # terraform_data.summary will be created
      + resource "terraform_data" "summary" {
          + id     = (known after apply)
          + input  = {
              + dev  = [
                  + (known after apply),
                ]
              + prod = [
                  + (known after apply),
                  + (known after apply),
                ]
            }
          + output = (known after apply)
        }

      # module.app["dev"].terraform_data.node[0] will be created
      + resource "terraform_data" "node" {
          + id     = (known after apply)
          + input  = "dev-node-0"
          + output = (known after apply)
        }

      # module.app["prod"].terraform_data.node[0] will be created
      + resource "terraform_data" "node" {
          + id     = (known after apply)
          + input  = "prod-node-0"
          + output = (known after apply)
        }

      # module.app["prod"].terraform_data.node[1] will be created
      + resource "terraform_data" "node" {
          + id     = (known after apply)
          + input  = "prod-node-1"
          + output = (known after apply)
        }

      # module.one[0].terraform_data.node[0] will be created
      + resource "terraform_data" "node" {
          + id     = (known after apply)
          + input  = "one-node-0"
          + output = (known after apply)
        }

      # module.app["dev"].module.tag.terraform_data.label will be created
      + resource "terraform_data" "label" {
          + id     = (known after apply)
          + input  = (known after apply)
          + output = (known after apply)
        }

      # module.app["prod"].module.tag.terraform_data.label will be created
      + resource "terraform_data" "label" {
          + id     = (known after apply)
          + input  = (known after apply)
          + output = (known after apply)
        }

      # module.one[0].module.tag.terraform_data.label will be created
      + resource "terraform_data" "label" {
          + id     = (known after apply)
          + input  = (known after apply)
          + output = (known after apply)
        }

    Plan: 8 to add, 0 to change, 0 to destroy.

    Changes to Outputs:
      + one  = [
          + (known after apply),
        ]
      + tags = {
          + dev  = (known after apply)
          + prod = (known after apply)
        }

    ─────────────────────────────────────────────────────────────────────────────

    Saved the plan to: first.plan

    To perform exactly these actions, run the following command to apply:
        stackform apply "first.plan"
    "#);

    // The JSON plan names each change's module instance, as Terraform's.
    let shown = ws.run(&["show", "-json", "first.plan"]);
    let changes = shown.ok().json()["resource_changes"].clone();
    let label = changes
        .as_array()
        .expect("resource_changes")
        .iter()
        .find(|c| c["address"] == "module.app[\"prod\"].module.tag.terraform_data.label")
        .expect("the nested module's resource");
    assert_eq!(label["module_address"], "module.app[\"prod\"].module.tag");
    assert_eq!(label["name"], "label");

    ws.run(&["apply", "first.plan"])
        .ok()
        .stdout_has("Apply complete! Resources: 8 added, 0 changed, 0 destroyed.");
    let outputs = ws.run(&["output", "-json"]).ok().json();
    assert_eq!(outputs["tags"]["value"]["prod"], "tag:prod-node-0");
    assert_eq!(outputs["one"]["value"], serde_json::json!(["one-node-0"]));
    let summary = state_attrs(&ws, "terraform_data.summary");
    assert_eq!(
        summary["output"]["value"]["prod"],
        serde_json::json!(["prod-node-0", "prod-node-1"])
    );

    // The state records the module instance of each resource, as
    // Terraform's does, and show -json nests them as child modules.
    let state: serde_json::Value =
        serde_json::from_slice(&ws.read("state/default.json").expect("state")).expect("JSON");
    let nested = state["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["address"] == "module.one[0].module.tag.terraform_data.label")
        .expect("nested record");
    assert_eq!(nested["module"], "module.one[0].module.tag");
    let shown = ws.run(&["show", "-json"]).ok().json();
    let children = &shown["values"]["root_module"]["child_modules"];
    assert_eq!(children[0]["address"], "module.app[\"dev\"]");
    assert_eq!(
        children[0]["child_modules"][0]["address"],
        "module.app[\"dev\"].module.tag"
    );
    assert_eq!(
        children[0]["child_modules"][0]["resources"][0]["address"],
        "module.app[\"dev\"].module.tag.terraform_data.label"
    );

    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // One environment fewer: its module instance goes, nested module and
    // all, with Terraform's reason.
    ws.file("shrink.tfvars", "envs = [\"dev\"]\n");
    ws.run(&["plan", "-var-file=shrink.tfvars"])
        .ok()
        .stdout_has(
            "# module.app[\"prod\"].terraform_data.node[1] will be destroyed\n  # (because module.app[\"prod\"] is not in configuration)",
        )
        .stdout_has(
            "# module.app[\"prod\"].module.tag.terraform_data.label will be destroyed\n  # (because module.app[\"prod\"].module.tag is not in configuration)",
        )
        .stdout_has("# terraform_data.summary will be updated in-place")
        .stdout_has("Plan: 0 to add, 1 to change, 3 to destroy.");
    ws.run(&["destroy", "-auto-approve"])
        .ok()
        .stdout_has("Destroy complete! Resources: 8 destroyed.");
    assert!(addresses(&ws).is_empty());
}

#[test]
fn moved_blocks_move_objects_into_out_of_and_between_modules() {
    let ws = Workspace::new();
    ws.file(
        "modules/box/main.tf",
        "resource \"terraform_data\" \"inner\" {\n  input = \"inner\"\n}\n",
    );
    ws.file(
        "main.tf",
        r#"
resource "terraform_data" "outer" {
  input = "outer"
}

module "old" {
  source = "./modules/box"
}
"#,
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    let id = |address: &str| state_attrs(&ws, address)["id"].clone();
    let (outer, inner) = (
        id("terraform_data.outer"),
        id("module.old.terraform_data.inner"),
    );

    // The root resource moves into a module, and the module is renamed
    // and called with for_each.
    ws.file(
        "modules/box/main.tf",
        r#"
resource "terraform_data" "inner" {
  input = "inner"
}

resource "terraform_data" "outer" {
  input = "outer"
}
"#,
    );
    ws.file(
        "main.tf",
        r#"
module "boxes" {
  source   = "./modules/box"
  for_each = toset(["a"])
}

moved {
  from = terraform_data.outer
  to   = module.boxes["a"].terraform_data.outer
}

moved {
  from = module.old
  to   = module.boxes["a"]
}
"#,
    );
    ws.run(&["plan"])
        .ok()
        .stdout_has("# terraform_data.outer has moved to module.boxes[\"a\"].terraform_data.outer")
        .stdout_has(
            "# module.old.terraform_data.inner has moved to module.boxes[\"a\"].terraform_data.inner",
        )
        .stdout_has("Plan: 0 to add, 0 to change, 0 to destroy.");
    ws.run(&["apply", "-auto-approve"]).ok();
    assert_eq!(id("module.boxes[\"a\"].terraform_data.outer"), outer);
    assert_eq!(id("module.boxes[\"a\"].terraform_data.inner"), inner);

    // And back out of the module to the root.
    ws.file(
        "modules/box/main.tf",
        "resource \"terraform_data\" \"inner\" {\n  input = \"inner\"\n}\n",
    );
    ws.file(
        "main.tf",
        r#"
module "boxes" {
  source   = "./modules/box"
  for_each = toset(["a"])
}

resource "terraform_data" "outer" {
  input = "outer"
}

moved {
  from = module.boxes["a"].terraform_data.outer
  to   = terraform_data.outer
}
"#,
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Resources: 0 added, 0 changed, 0 destroyed.");
    assert_eq!(id("terraform_data.outer"), outer);
    let found = addresses(&ws);
    assert_eq!(
        found,
        [
            "module.boxes[\"a\"].terraform_data.inner",
            "terraform_data.outer"
        ]
    );
}

#[test]
fn a_removed_module_is_forgotten_and_its_objects_stay() {
    let ws = Workspace::new();
    ws.file(
        "modules/box/main.tf",
        "resource \"terraform_data\" \"inner\" {\n  count = 2\n}\n",
    );
    ws.file(
        "main.tf",
        "module \"old\" {\n  source = \"./modules/box\"\n}\n\nresource \"terraform_data\" \"keep\" {}\n",
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    ws.file(
        "main.tf",
        "removed {\n  from = module.old\n\n  lifecycle {\n    destroy = false\n  }\n}\n\nresource \"terraform_data\" \"keep\" {}\n",
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("# module.old.terraform_data.inner[1] will no longer be managed by stackform")
        .stdout_has("Resources: 0 added, 0 changed, 0 destroyed.");
    assert_eq!(addresses(&ws), ["terraform_data.keep"]);
}

#[test]
fn target_names_a_module_and_everything_in_it() {
    let ws = Workspace::new();
    write_modules(&ws);
    ws.file("main.tf", ROOT);
    ws.run(&["apply", "-auto-approve", "-target=module.app[\"dev\"]"])
        .ok()
        .stderr_has("Resource targeting is in effect")
        .stdout_has("Resources: 2 added");
    let found = addresses(&ws);
    assert_eq!(
        found,
        [
            "module.app[\"dev\"].module.tag.terraform_data.label",
            "module.app[\"dev\"].terraform_data.node[0]",
        ]
    );
    ws.run(&["plan", "-exclude=module.one"])
        .ok()
        .stdout_lacks("module.one")
        .stdout_has("Plan: 4 to add, 0 to change, 0 to destroy.");
}

#[test]
fn a_module_of_openstack_resources_is_applied_per_instance_against_devcloud() {
    let ws = Workspace::new();
    ws.file(
        "modules/network/main.tf",
        r#"
variable "name" {
  type = string
}

variable "cidr" {
  type = string
}

resource "openstack_networking_network_v2" "this" {
  name = var.name
}

resource "openstack_networking_subnet_v2" "this" {
  name       = "${var.name}-subnet"
  network_id = openstack_networking_network_v2.this.id
  cidr       = var.cidr
}

output "network_id" {
  value = openstack_networking_network_v2.this.id
}

output "subnet_id" {
  value = openstack_networking_subnet_v2.this.id
}
"#,
    );
    ws.file(
        "main.tf",
        &format!(
            r#"{PROVIDER}
module "tier" {{
  source = "./modules/network"
  for_each = {{
    front = "10.51.0.0/24"
    back  = "10.52.0.0/24"
  }}
  name = "tier-${{each.key}}"
  cidr = each.value
}}

output "subnets" {{
  value = {{ for k, t in module.tier : k => t.subnet_id }}
}}
"#
        ),
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 4 added, 0 changed, 0 destroyed.");
    for tier in ["front", "back"] {
        let net = state_attrs(
            &ws,
            &format!("module.tier[\"{tier}\"].openstack_networking_network_v2.this"),
        );
        let sub = state_attrs(
            &ws,
            &format!("module.tier[\"{tier}\"].openstack_networking_subnet_v2.this"),
        );
        assert_eq!(net["name"], format!("tier-{tier}"));
        assert_eq!(sub["network_id"], net["id"]);
        let outputs = ws.run(&["output", "-json"]).ok().json();
        assert_eq!(outputs["subnets"]["value"][tier], sub["id"]);
    }
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
    ws.run(&["destroy", "-auto-approve"])
        .ok()
        .stdout_has("Destroy complete! Resources: 4 destroyed.");
}

#[test]
fn bad_module_calls_are_refused_with_their_place_and_nothing_changes() {
    let ws = Workspace::new();
    ws.file(
        "modules/needs/main.tf",
        "variable \"size\" {\n  type = number\n\n  validation {\n    condition     = var.size > 0\n    error_message = \"The size must be positive.\"\n  }\n}\n\noutput \"double\" {\n  value = var.size * 2\n}\n",
    );
    ws.file(
        "modules/loop/main.tf",
        "module \"again\" {\n  source = \"../loop\"\n}\n",
    );
    ws.file("main.tf", "resource \"terraform_data\" \"keep\" {}\n");
    ws.run(&["apply", "-auto-approve"]).ok();
    let state_before = ws.read("state/default.json").expect("state");
    for (config, place, message) in [
        (
            "module \"gone\" {\n  source = \"./modules/nope\"\n}\n",
            "on main.tf:3:1",
            "Module not found",
        ),
        (
            "module \"loop\" {\n  source = \"./modules/loop\"\n}\n",
            "on modules/loop/main.tf:1:1",
            "Module cycle",
        ),
        (
            "module \"needs\" {\n  source = \"./modules/needs\"\n  colour = 1\n}\n",
            "on main.tf:5:3",
            "Unsupported argument",
        ),
        (
            "module \"needs\" {\n  source = \"./modules/needs\"\n}\n",
            "on main.tf:3:1",
            "The argument \"size\" is required",
        ),
        (
            "module \"needs\" {\n  source = \"./modules/needs\"\n  size   = \"big\"\n}\n",
            "on main.tf:5:12",
            "module.needs's input variable \"size\"",
        ),
        (
            "module \"needs\" {\n  source = \"./modules/needs\"\n  size   = -1\n}\n",
            "on modules/needs/main.tf:1:1",
            "The size must be positive.",
        ),
        (
            "module \"needs\" {\n  source    = \"./modules/needs\"\n  size      = 1\n  providers = { openstack = openstack.east }\n}\n",
            "on main.tf:6:29",
            "Unsupported provider mapping",
        ),
        (
            "module \"needs\" {\n  source  = \"./modules/needs\"\n  version = \"1.0.0\"\n  size    = 1\n}\n",
            "on main.tf:5:3",
            "Invalid module version",
        ),
        (
            "module \"reg\" {\n  source = \"terraform-openstack-modules/network/openstack\"\n}\n",
            "on main.tf:4:12",
            "Unsupported module source",
        ),
        (
            "output \"x\" {\n  value = module.needs.triple\n}\nmodule \"needs\" {\n  source = \"./modules/needs\"\n  size   = 1\n}\n",
            "on main.tf:4:11",
            "declares no output \"triple\"",
        ),
        (
            "output \"x\" {\n  value = module.absent.y\n}\n",
            "on main.tf:4:11",
            "Reference to undeclared module",
        ),
    ] {
        ws.file(
            "main.tf",
            &format!("resource \"terraform_data\" \"keep\" {{}}\n\n{config}"),
        );
        ws.run(&["plan"])
            .code(1)
            .stderr_has(place)
            .stderr_has(message);
        ws.run(&["apply", "-auto-approve"]).code(1);
        assert_eq!(
            ws.read("state/default.json").expect("state"),
            state_before,
            "{message}"
        );
    }
}

#[test]
fn import_blocks_import_into_module_instances_and_only_into_declared_ones() {
    let ws = Workspace::new();
    let a = outside_network(&ws, "found-a");
    ws.file(
        "modules/net/main.tf",
        "variable \"name\" {}\n\nresource \"openstack_networking_network_v2\" \"this\" {\n  name = var.name\n}\n",
    );
    let config = |key: &str| {
        format!(
            r#"{PROVIDER}
module "net" {{
  source   = "./modules/net"
  for_each = toset(["a"])
  name     = "found-${{each.key}}"
}}

import {{
  to = module.net["{key}"].openstack_networking_network_v2.this
  id = "{a}"
}}
"#
        )
    };
    // An instance the for_each does not give: importing it would only
    // destroy the object.
    ws.file("main.tf", &config("zzz"));
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("Configuration for import target does not exist")
        .stderr_has("module.net[\"zzz\"].openstack_networking_network_v2.this");
    assert!(ws.read("state/default.json").is_none(), "nothing recorded");

    ws.file("main.tf", &config("a"));
    ws.run(&["plan"])
        .ok()
        .stdout_has("# module.net[\"a\"].openstack_networking_network_v2.this will be imported")
        .stdout_has("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Resources: 1 imported, 0 added, 0 changed, 0 destroyed.");
    assert_eq!(
        state_attrs(
            &ws,
            "module.net[\"a\"].openstack_networking_network_v2.this"
        )["id"],
        a.as_str()
    );
}

#[test]
fn a_moved_block_in_a_module_moves_objects_in_every_instance_of_it() {
    let ws = Workspace::new();
    ws.file(
        "modules/box/main.tf",
        "resource \"terraform_data\" \"old\" {\n  input = \"x\"\n}\n",
    );
    ws.file(
        "main.tf",
        "module \"box\" {\n  source   = \"./modules/box\"\n  for_each = toset([\"a\", \"b\"])\n}\n",
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    let id = |address: &str| state_attrs(&ws, address)["id"].clone();
    let before = [
        id("module.box[\"a\"].terraform_data.old"),
        id("module.box[\"b\"].terraform_data.old"),
    ];
    ws.file(
        "modules/box/main.tf",
        "resource \"terraform_data\" \"new\" {\n  input = \"x\"\n}\n\nmoved {\n  from = terraform_data.old\n  to   = terraform_data.new\n}\n",
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("# module.box[\"a\"].terraform_data.old has moved to module.box[\"a\"].terraform_data.new")
        .stdout_has("# module.box[\"b\"].terraform_data.old has moved to module.box[\"b\"].terraform_data.new")
        .stdout_has("Resources: 0 added, 0 changed, 0 destroyed.");
    assert_eq!(
        [
            id("module.box[\"a\"].terraform_data.new"),
            id("module.box[\"b\"].terraform_data.new")
        ],
        before
    );
}

#[test]
fn a_check_block_in_a_module_is_checked_in_every_instance() {
    let ws = Workspace::new();
    ws.file(
        "modules/sized/main.tf",
        r#"variable "size" {
  type = number
}

resource "terraform_data" "this" {
  input = var.size
}

check "small" {
  assert {
    condition     = var.size < 10
    error_message = "The size is ${var.size}, more than 9."
  }
}
"#,
    );
    ws.file(
        "main.tf",
        "module \"sized\" {\n  source   = \"./modules/sized\"\n  for_each = { a = 1, b = 20 }\n  size     = each.value\n}\n",
    );
    let plan = ws.run(&["plan"]);
    plan.ok()
        .stderr_has("Warning: Check block assertion failed")
        .stderr_has("with module.sized[\"b\"],")
        .stderr_has("on modules/sized/main.tf:11:21, in check \"small\":")
        .stderr_has("The size is 20, more than 9.")
        .stderr_has("│ var.size is 20")
        .stderr_lacks("module.sized[\"a\"]");
}

#[test]
fn outputs_of_a_module_whose_apply_failed_are_unknown_not_missing() {
    let ws = Workspace::new();
    ws.file(
        "modules/fails/main.tf",
        r#"resource "terraform_data" "x" {
  lifecycle {
    postcondition {
      condition     = self.id == "never"
      error_message = "The object is not what was wanted."
    }
  }
}

output "id" {
  value = terraform_data.x.id
}
"#,
    );
    ws.file(
        "main.tf",
        "module \"m\" {\n  source = \"./modules/fails\"\n}\n\noutput \"id\" {\n  value = module.m.id\n}\n",
    );
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("The object is not what was wanted.")
        .stderr_lacks("Unsupported attribute");
}

#[test]
fn a_failure_in_one_module_instance_holds_back_only_that_instance() {
    let ws = Workspace::new();
    ws.file(
        "modules/pair/main.tf",
        r#"variable "name" {
  type = string
}

resource "terraform_data" "first" {
  input = var.name

  lifecycle {
    postcondition {
      condition     = var.name != "bad" || self.id == "never"
      error_message = "The bad instance fails."
    }
  }
}

resource "terraform_data" "second" {
  input = terraform_data.first.output
}
"#,
    );
    ws.file(
        "main.tf",
        "module \"pair\" {\n  source   = \"./modules/pair\"\n  for_each = toset([\"good\", \"bad\"])\n  name     = each.key\n}\n",
    );
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("The bad instance fails.")
        .stderr_has("Apply failed. 3 added")
        .stderr_has("skipped:     module.pair[\"bad\"].terraform_data.second");
    let found = addresses(&ws);
    assert!(
        found.contains(&"module.pair[\"good\"].terraform_data.second".to_string()),
        "{found:?}"
    );
    assert!(!found.contains(&"module.pair[\"bad\"].terraform_data.second".to_string()));
}

#[test]
fn a_module_variable_rule_may_name_the_modules_other_variables() {
    let ws = Workspace::new();
    ws.file(
        "modules/range/main.tf",
        r#"variable "max" {
  type = number

  validation {
    condition     = var.max >= var.min
    error_message = "max must be at least min."
  }
}

variable "min" {
  type = number
}
"#,
    );
    let call = |min: u32, max: u32| {
        format!(
            "module \"range\" {{\n  source = \"./modules/range\"\n  min    = {min}\n  max    = {max}\n}}\n"
        )
    };
    ws.file("main.tf", &call(5, 3));
    ws.run(&["plan"])
        .code(1)
        .stderr_has("max must be at least min.")
        .stderr_has("│ var.max is 3")
        .stderr_has("│ var.min is 5");
    ws.file("main.tf", &call(3, 5));
    ws.run(&["plan"]).ok();
}
