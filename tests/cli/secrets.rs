//! No sensitive value is ever printed: errors about sensitive arguments,
//! `terraform_data` carrying a sensitive input through every command, a
//! server's `admin_pass`, a wrong provider password, conditions and
//! validation rules over secrets, sensitive `for_each` and `count`, and
//! sensitive names the cloud quotes back. Every command here runs
//! through the workspace's secret scan (see [`Workspace`]), which fails
//! the test if one of the secrets registered below shows anywhere.

use super::openstack::{Outside, PROVIDER, runtime};
use super::openstack_server::image;
use super::{Workspace, normalize};
use serde_json::json;

/// The value given to sensitive variables.
const SECRET: &str = "Hunter2-Kpqz7Rvtm";
/// A second one, for map keys and another variable.
const OTHER: &str = "Wxyn3Hlsj-Secret";

const FAILING_CALLS: &str = r#"
variable "pw" {
  type      = string
  sensitive = true
}

variable "m" {
  type      = map(string)
  sensitive = true
}

locals {
  tonumber     = tonumber(var.pw)
  tobool       = tobool(var.pw)
  parseint     = parseint(var.pw, 10)
  lookup       = lookup(tomap({ a = "b" }), var.pw)
  index        = var.m["nope"]
  attribute    = var.m.nope
  key          = { a = 1 }[var.pw]
  base64decode = base64decode(var.pw)
  cidrsubnet   = cidrsubnet(var.pw, 8, 1)
  cidrhost     = cidrhost(var.pw, 1)
  regex        = regex("${var.pw}(", "x")
  file         = file(var.pw)
  templatefile = templatefile(var.pw, {})
  in_template  = templatefile("t.tpl", { s = var.pw })
  jsondecode   = jsondecode(var.pw)
  for          = [for k, v in var.m : tonumber(k)]
  splat        = [for v in values(var.m) : { a = v }][*].a.b
  conditional  = var.pw ? 1 : 2
}
"#;

/// The summary and the first line of the detail of every error, in
/// order, without the source snippets.
fn details(stderr: &str) -> String {
    stderr
        .split('╷')
        .filter_map(|d| {
            let lines: Vec<&str> = d
                .lines()
                .map(|l| {
                    l.trim_start_matches('│')
                        .strip_prefix(' ')
                        .unwrap_or(l.trim_start_matches('│'))
                })
                .collect();
            let summary = lines.iter().find_map(|l| l.strip_prefix("Error: "))?;
            let detail = lines
                .iter()
                .skip_while(|l| !l.starts_with("  on ") && !l.starts_with("  with "))
                .skip_while(|l| !l.is_empty())
                .find(|l| !l.is_empty())
                .copied()
                .unwrap_or_default();
            Some(format!("{summary}: {detail}\n"))
        })
        .collect()
}

/// Each function, and each kind of expression, that fails on a sensitive
/// value says which argument and what type, never the value; so do
/// `validate` and a sensitive variable given a value of the wrong type.
#[test]
fn errors_about_sensitive_values_name_them_without_showing_them() {
    let ws = Workspace::new();
    ws.secret(SECRET).secret(OTHER);
    ws.file("main.tf", FAILING_CALLS)
        .file("t.tpl", "${tonumber(s)}");
    let map = format!("{{ \"{OTHER}\" = \"{SECRET}\" }}");
    let run = ws
        .cmd(&["plan"])
        .env("TF_VAR_pw", SECRET)
        .env("TF_VAR_m", &map)
        .run();
    run.code(1);
    insta::assert_snapshot!(details(&run.stderr), @r#"
    Missing map element: This map does not have an element with the key "nope".
    Error in function call: Call to function "base64decode" failed: failed to decode base64 data this sensitive string.
    Error in function call: Call to function "cidrhost" failed: invalid CIDR expression: invalid CIDR address: this sensitive string.
    Error in function call: Call to function "cidrsubnet" failed: invalid CIDR expression: invalid CIDR address: this sensitive string.
    Invalid operand: Unsuitable value for operand of "conditional": a bool is required.
    Invalid function argument: Invalid value for "path" parameter: no file exists at this sensitive string; this function works only with files that are distributed as part of the configuration source code, so if this file will be created by a resource in this configuration you must instead obtain this result from an attribute of that resource.
    Invalid function argument: Invalid value for "v" parameter: cannot convert this sensitive string to number; given string must be a decimal representation of a number.
    Error in function call: Call to function "templatefile" failed: t.tpl: Invalid function argument: Invalid value for "v" parameter: cannot convert this sensitive string to number; given string must be a decimal representation of a number.
    Invalid index: The given key does not identify an element in this collection value.
    Error in function call: Call to function "jsondecode" failed: the details are not shown, as they could reveal the sensitive string given for "str".
    Invalid index: The given key does not identify an element in this collection value.
    Error in function call: Call to function "lookup" failed: lookup failed to find key this sensitive string.
    Invalid function argument: Invalid value for "number" parameter: cannot parse this sensitive string as a base 10 integer.
    Invalid function argument: Invalid value for "pattern" parameter: invalid regexp pattern.
    Unsupported attribute: Can't access attributes on a primitive-typed value (string).
    Invalid function argument: Invalid value for "path" parameter: no file exists at this sensitive string; this function works only with files that are distributed as part of the configuration source code, so if this file will be created by a resource in this configuration you must instead obtain this result from an attribute of that resource.
    Invalid function argument: Invalid value for "v" parameter: cannot convert this sensitive string to bool; only the strings "true" or "false" are allowed.
    Invalid function argument: Invalid value for "v" parameter: cannot convert this sensitive string to number; given string must be a decimal representation of a number.
    "#);

    // validate evaluates with unknown variables: nothing fails, nothing
    // shows.
    ws.cmd(&["validate"])
        .env("TF_VAR_pw", SECRET)
        .run()
        .ok()
        .stdout_has("Success!");
    ws.cmd(&["validate", "-json"])
        .env("TF_VAR_pw", SECRET)
        .run()
        .ok();

    // The place of a wrong element in a sensitive map names no key,
    // whether the map is a variable's value or an attribute's.
    ws.file(
        "main.tf",
        "variable \"m\" {\n  type      = map(number)\n  sensitive = true\n}\n",
    );
    ws.cmd(&["plan"])
        .env("TF_VAR_m", &map)
        .run()
        .code(1)
        .stderr_has(
            "The value for var.m from an environment variable is not suitable for the variable declared at main.tf:1,1: an element: a number is required.",
        );
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}variable \"m\" {{\n  type      = any\n  sensitive = true\n}}\n\nresource \"openstack_compute_flavor_v2\" \"f\" {{\n  name        = \"f\"\n  ram         = 64\n  vcpus       = 1\n  disk        = 1\n  extra_specs = var.m\n}}\n"
        ),
    );
    ws.cmd(&["plan"])
        .env("TF_VAR_m", format!("{{ \"{OTHER}\" = {{ a = 1 }} }}"))
        .run()
        .code(1)
        .stderr_has(
            "Inappropriate value for attribute \"extra_specs\": an element: string required.",
        );
    ws.file(
        "main.tf",
        "variable \"m\" {\n  type      = any\n  sensitive = true\n}\n\nmodule \"child\" {\n  source = \"./child\"\n  specs  = var.m\n}\n",
    )
    .file(
        "child/main.tf",
        "variable \"specs\" {\n  type = map(number)\n}\n",
    );
    ws.cmd(&["plan"])
        .env("TF_VAR_m", &map)
        .run()
        .code(1)
        .stderr_has("input variable \"specs\" declared at child/main.tf:1,1: an element: a number is required.");
}

/// A state record that does not fit its type is refused without quoting
/// what it holds, which may be a secret.
#[test]
fn a_broken_state_record_is_not_quoted() {
    let ws = Workspace::new();
    ws.secret(SECRET);
    ws.file("main.tf", "resource \"terraform_data\" \"d\" {}\n");
    ws.run(&["apply", "-auto-approve"]).ok();
    let mut state: serde_json::Value =
        serde_json::from_slice(&ws.read("state/default.json").expect("state")).expect("json");
    state["resources"][0]["attributes"]["id"] = json!({ "password": SECRET });
    ws.file(
        "state/default.json",
        &serde_json::to_string_pretty(&state).expect("json"),
    );
    ws.run(&["show"])
        .code(1)
        .stderr_has("The state record of terraform_data.d cannot be read: attribute \"id\": expected string, found an object.");
}

const DATA: &str = r#"
variable "pw" {
  type      = string
  sensitive = true
}

resource "terraform_data" "d" {
  input = { a = var.pw, b = "plain", n = { c = [var.pw, "x"] } }
}

output "whole" {
  value     = terraform_data.d.output
  sensitive = true
}

output "plain" {
  value = terraform_data.d.output.b
}
"#;

/// `terraform_data`'s output is as sensitive as its input, path by
/// path: after apply, after the state is read back, in a saved plan, in
/// JSON, and when everything is destroyed.
#[test]
fn terraform_data_keeps_a_sensitive_input_hidden_in_its_output() {
    let ws = Workspace::new();
    ws.secret(SECRET);
    ws.file("main.tf", DATA);
    let run = |args: &[&str]| ws.cmd(args).env("TF_VAR_pw", SECRET).run();
    run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("+ a = (sensitive value)")
        .stdout_has("plain = \"plain\"\nwhole = <sensitive>");
    let shown = ws.run(&["show", "-no-color"]);
    shown.ok();
    assert_eq!(shown.stdout.matches("(sensitive value)").count(), 4);
    let json = ws.run(&["show", "-json"]).json();
    let d = &json["values"]["root_module"]["resources"][0];
    assert_eq!(
        d["sensitive_values"],
        json!({
            "input": {"a": true, "n": {"c": [true, false]}},
            "output": {"a": true, "n": {"c": [true, false]}},
        })
    );
    assert_eq!(d["values"]["output"]["a"], json!(null));
    assert_eq!(d["values"]["output"]["b"], json!("plain"));
    ws.run(&["output"]).ok().stdout_has("whole = <sensitive>");
    ws.run(&["output", "whole"]).ok().stdout_has("<sensitive>");
    assert_eq!(
        ws.run(&["output", "-json"]).json()["whole"]["value"],
        json!(null)
    );

    // A changed input: the plan and a saved plan show the output as
    // unknown, and applying it leaves it as hidden as before.
    ws.file("main.tf", &DATA.replace("\"x\"] } }", "\"x\"] }, d = 1 }"));
    run(&["plan", "-out=tfplan"])
        .ok()
        .stdout_has("~ output = {")
        .stdout_has("(known after apply)");
    ws.run(&["show", "tfplan"]).ok();
    ws.run(&["show", "-json", "tfplan"]).ok();
    ws.run(&["show", "-markdown", "tfplan"]).ok();
    run(&["plan", "-markdown"]).ok();
    run(&["graph", "-type=plan"]).ok();
    ws.run(&["apply", "tfplan"]).ok();
    ws.run(&["show"]).ok().stdout_has("a = (sensitive value)");

    // A state recorded before output's marks were: read back, output is
    // as hidden as input.
    let mut state: serde_json::Value =
        serde_json::from_slice(&ws.read("state/default.json").expect("state")).expect("json");
    let paths = state["resources"][0]["sensitive_paths"]
        .as_array_mut()
        .expect("sensitive paths");
    paths.retain(|p| p[0] == "input");
    assert_eq!(paths.len(), 2);
    ws.file(
        "state/default.json",
        &serde_json::to_string_pretty(&state).expect("json"),
    );
    ws.run(&["show"])
        .ok()
        .stdout_has("output = {\n        a = (sensitive value)");

    run(&["plan", "-destroy"])
        .ok()
        .stdout_has("- a = (sensitive value)");
    run(&["destroy", "-auto-approve"])
        .ok()
        .stdout_has("Destroy complete! Resources: 1 destroyed.");
}

/// An output that shows part of `terraform_data`'s output is refused
/// when that part turns out sensitive during apply, and by every plan
/// after.
#[test]
fn an_output_of_a_sensitive_part_is_refused_once_known() {
    let ws = Workspace::new();
    ws.secret(SECRET);
    ws.file(
        "main.tf",
        &format!("{DATA}\noutput \"leak\" {{\n  value = terraform_data.d.output.a\n}}\n"),
    );
    let run = |args: &[&str]| ws.cmd(args).env("TF_VAR_pw", SECRET).run();
    run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("Error: Output refers to sensitive values")
        .stderr_has("output.leak (Output refers to sensitive values)");
    run(&["plan"])
        .code(1)
        .stderr_has("Error: Output refers to sensitive values");
}

/// Conditions and validation rules whose values or messages are
/// sensitive: the rule fails with its place, never with the value.
#[test]
fn failed_conditions_over_secrets_do_not_show_them() {
    let ws = Workspace::new();
    ws.secret(SECRET);
    ws.file(
        "main.tf",
        r#"
variable "pw" {
  type      = string
  sensitive = true
  validation {
    condition     = length(var.pw) > 40
    error_message = "The password ${var.pw} is too short."
  }
}
"#,
    );
    let run = |args: &[&str]| ws.cmd(args).env("TF_VAR_pw", SECRET).run();
    insta::assert_snapshot!(normalize(&run(&["plan"]).code(1).stderr), @r#"
    ╷
    │ Error: Invalid value for variable
    │
    │   on main.tf:2:1, in var.pw:
    │      2: variable "pw" {
    │         ^^^^^^^^^^^^^
    │
    │ The value is not valid.
    │
    │ This was checked by the validation rule at main.tf:6,21.
    ╵
    "#);

    ws.file(
        "main.tf",
        r#"
variable "pw" {
  type      = string
  sensitive = true
}

resource "terraform_data" "d" {
  input = var.pw
  lifecycle {
    precondition {
      condition     = var.pw == "x"
      error_message = "Wrong password ${var.pw}."
    }
  }
}

output "o" {
  value     = var.pw
  sensitive = true
  precondition {
    condition     = tonumber(var.pw) > 1
    error_message = "Never shown."
  }
}
"#,
    );
    let plan = run(&["plan"]);
    plan.code(1);
    insta::assert_snapshot!(details(&plan.stderr), @r#"
    Resource precondition failed: (The error message refers to sensitive values.)
    Invalid function argument: Invalid value for "v" parameter: cannot convert this sensitive string to number; given string must be a decimal representation of a number.
    "#);

    ws.file(
        "main.tf",
        r#"
variable "pw" {
  type      = string
  sensitive = true
}

check "pw" {
  assert {
    condition     = startswith(var.pw, "x")
    error_message = "Starts with ${substr(var.pw, 0, 1)}."
  }
}
"#,
    );
    run(&["plan"])
        .ok()
        .stderr_has("Warning: Check block assertion failed")
        .stderr_has("(The error message refers to sensitive values.)");
}

/// Sensitive values cannot name instances: `for_each` and `count` refuse
/// them, so no instance address (as progress lines show them) can hold
/// a secret.
#[test]
fn sensitive_for_each_and_count_are_refused() {
    let ws = Workspace::new();
    ws.secret(SECRET);
    ws.file(
        "main.tf",
        r#"
variable "pw" {
  type      = string
  sensitive = true
}

resource "terraform_data" "keys" {
  for_each = toset([var.pw])
  input    = each.key
}

resource "terraform_data" "built" {
  for_each = { for k in [var.pw] : k => 1 }
  input    = each.value
}

resource "terraform_data" "n" {
  count = length(var.pw)
}
"#,
    );
    let plan = ws.cmd(&["plan"]).env("TF_VAR_pw", SECRET).run();
    plan.code(1);
    insta::assert_snapshot!(details(&plan.stderr), @r#"
    Invalid for_each argument: Sensitive values, or values derived from sensitive values, cannot be used as for_each arguments. If used, the sensitive value could be exposed as a resource instance key.
    Invalid for_each argument: Sensitive values, or values derived from sensitive values, cannot be used as for_each arguments. If used, the sensitive value could be exposed as a resource instance key.
    Invalid count argument: Sensitive values, or values derived from sensitive values, cannot be used as count arguments. If used, the sensitive value could be exposed as a resource instance key.
    "#);
}

/// A server's sensitive `admin_pass`, and sensitive names and CIDRs that
/// the provider or the cloud refuse and quote back: progress lines show
/// addresses and ids, and the errors show `(sensitive value)`.
#[test]
fn admin_pass_and_names_the_cloud_quotes_back_stay_hidden() {
    let ws = Workspace::new();
    let rt = runtime();
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        image(&outside, "cirros").await;
        let (code, body) = outside
            .call(
                "POST",
                "/network/v2.0/networks",
                Some(json!({"network": {"name": "private"}})),
            )
            .await;
        assert_eq!(code, 201, "{body}");
        let net = body["network"]["id"].as_str().expect("id").to_string();
        let (code, body) = outside
            .call(
                "POST",
                "/network/v2.0/subnets",
                Some(
                    json!({"subnet": {"network_id": net, "cidr": "10.44.0.0/24", "ip_version": 4}}),
                ),
            )
            .await;
        assert_eq!(code, 201, "{body}");
        outside.stop().await;
    });
    ws.secret(SECRET);
    let server = |password: &str| {
        format!(
            "{PROVIDER}variable \"pw\" {{\n  type      = string\n  sensitive = true\n}}\n\nresource \"openstack_compute_instance_v2\" \"app\" {{\n  name        = \"app\"\n  image_name  = \"cirros\"\n  flavor_name = \"m1.tiny\"\n  admin_pass  = {password}\n  network {{\n    name = \"private\"\n  }}\n}}\n"
        )
    };
    ws.file("main.tf", &server("var.pw"));
    let run = |args: &[&str], pw: &str| ws.cmd(args).env("TF_VAR_pw", pw).run();
    run(&["apply", "-auto-approve"], SECRET)
        .ok()
        .stdout_has("+ admin_pass")
        .stderr_has("openstack_compute_instance_v2.app: Creation complete");
    run(&["plan", "-detailed-exitcode"], SECRET).code(0);
    ws.secret(OTHER);
    run(&["plan"], OTHER)
        .ok()
        .stdout_has("~ admin_pass        = (sensitive value)");
    run(&["apply", "-auto-approve"], OTHER)
        .ok()
        .stdout_has("0 added, 1 changed, 0 destroyed");
    ws.run(&["show"]).ok();
    ws.run(&["show", "-json"]).ok();
    run(&["destroy", "-auto-approve"], OTHER).ok();

    // A name too long for the cloud, which says so quoting it, and a CIDR
    // the provider refuses, quoting it.
    let long = SECRET.repeat(16);
    ws.secret(&long);
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}variable \"pw\" {{\n  type      = string\n  sensitive = true\n}}\n\nresource \"openstack_networking_network_v2\" \"n\" {{\n  name = var.pw\n}}\n\nresource \"openstack_compute_flavor_v2\" \"f\" {{\n  name  = var.pw\n  ram   = 64\n  vcpus = 1\n  disk  = 1\n}}\n"
        ),
    );
    let failed = run(&["apply", "-auto-approve"], &long);
    failed
        .code(1)
        .stderr_has("openstack_networking_network_v2.n: Creating...")
        .stderr_has("Reason: '(sensitive value)' exceeds maximum length of 255.")
        .stderr_has("Invalid input for field/attribute name. Value: \"(sensitive value)\".");
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}variable \"pw\" {{\n  type      = string\n  sensitive = true\n}}\n\nresource \"openstack_networking_subnet_v2\" \"s\" {{\n  network_id = \"x\"\n  cidr       = var.pw\n}}\n"
        ),
    );
    run(&["plan"], SECRET)
        .code(1)
        .stderr_has("cidr = \"(sensitive value)\" is not a CIDR");
}

/// A wrong password, given sensitive in the provider block or in
/// `OS_PASSWORD`, fails authentication without being shown.
#[test]
fn a_wrong_provider_password_is_not_shown() {
    let ws = Workspace::new();
    ws.secret(SECRET);
    ws.file(
        "main.tf",
        r#"
variable "os_password" {
  type      = string
  sensitive = true
}

provider "openstack" {
  auth_url            = "devcloud://cloud"
  user_name           = "admin"
  password            = var.os_password
  tenant_name         = "admin"
  user_domain_name    = "Default"
  project_domain_name = "Default"
}

resource "openstack_networking_network_v2" "n" {
  name = "n"
}
"#,
    );
    ws.cmd(&["apply", "-auto-approve"])
        .env("TF_VAR_os_password", SECRET)
        .run()
        .code(1)
        .stderr_has("Error: Authentication failed")
        .stderr_has("401 Unauthorized");
    ws.file(
        "main.tf",
        "provider \"openstack\" {\n  auth_url  = \"devcloud://cloud\"\n  user_name = \"admin\"\n  tenant_name = \"admin\"\n  user_domain_name = \"Default\"\n  project_domain_name = \"Default\"\n}\n\nresource \"openstack_networking_network_v2\" \"n\" {\n  name = \"n\"\n}\n",
    );
    ws.cmd(&["apply", "-auto-approve"])
        .env("OS_PASSWORD", OTHER)
        .run()
        .code(1)
        .stderr_has("Error: Authentication failed");
}

/// A plan file that already exists is replaced by a private one.
#[cfg(unix)]
#[test]
fn a_plan_file_is_private_whatever_mode_it_had() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new();
    ws.secret(SECRET);
    ws.file("main.tf", DATA).file("tfplan", "old");
    let path = ws.path().join("tfplan");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    ws.cmd(&["plan", "-out=tfplan"])
        .env("TF_VAR_pw", SECRET)
        .run()
        .ok();
    let mode = std::fs::metadata(&path)
        .expect("plan file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    ws.run(&["apply", "tfplan"]).ok();
}

/// The scan itself: a secret in the output fails the test, naming the
/// command.
#[test]
#[should_panic(
    expected = "`stackform output -json -show-sensitive` shows a secret the test registered in stdout"
)]
fn the_scan_fails_a_command_that_shows_a_secret() {
    let ws = Workspace::new();
    ws.secret(SECRET);
    ws.file(
        "main.tf",
        "variable \"pw\" {\n  sensitive = true\n}\n\noutput \"pw\" {\n  value     = var.pw\n  sensitive = true\n}\n",
    );
    ws.cmd(&["apply", "-auto-approve"])
        .env("TF_VAR_pw", SECRET)
        .run()
        .ok();
    ws.run(&["output", "-json", "-show-sensitive"]);
}

/// The scan knows devcloud's passwords from the `clouds.yaml` it writes.
#[test]
#[should_panic(expected = "`stackform apply -auto-approve` shows the password in ")]
fn the_scan_knows_the_devcloud_passwords() {
    let ws = Workspace::new();
    runtime().block_on(async { Outside::start(&ws).await.stop().await });
    ws.file(
        "main.tf",
        "output \"clouds\" {\n  value = file(\"cloud/clouds.yaml\")\n}\n",
    );
    ws.run(&["apply", "-auto-approve"]);
}
