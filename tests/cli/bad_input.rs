//! Bad input: each case exits 1 with a message that names the file, line
//! and column or the resource address, does not panic, and leaves the
//! state file byte-identical.

use super::{Workspace, normalize};

const GOOD: &str = r#"
variable "n" {
  type    = number
  default = 2
}
resource "terraform_data" "a" {
  count = var.n
  input = "a-${count.index}"
}
output "n" { value = length(terraform_data.a) }
"#;

/// A workspace with a state written by a successful apply.
fn applied() -> (Workspace, Vec<u8>) {
    let ws = Workspace::new();
    ws.file("main.tf", GOOD);
    ws.run(&["apply", "-auto-approve"]).ok();
    let state = ws.read("state/default.json").expect("state written");
    (ws, state)
}

#[track_caller]
fn assert_state_untouched(ws: &Workspace, before: &[u8]) {
    let after = ws.read("state/default.json").expect("state still there");
    assert!(after == before, "the state file changed");
}

#[test]
fn a_syntax_error_names_the_place() {
    let (ws, state) = applied();
    ws.file(
        "main.tf",
        "resource \"terraform_data\" \"a\" {\n  input = [1, \n}\n",
    );
    let run = ws.run(&["plan"]);
    run.code(1)
        .stderr_has("Error: Invalid syntax")
        .stderr_has("on main.tf:3:1");
    assert!(!run.stderr.contains("panicked"));
    assert_state_untouched(&ws, &state);
}

#[test]
fn an_unknown_reference_names_the_place() {
    let (ws, state) = applied();
    ws.file("main.tf", &GOOD.replace("\"a-${count.index}\"", "var.nope"));
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("Error: Reference to undeclared input variable")
        .stderr_has("on main.tf:8:11, in resource \"terraform_data\" \"a\":")
        .stderr_has("^^^^^^^^");
    assert_state_untouched(&ws, &state);
}

#[test]
fn a_variable_type_mismatch_names_the_variable() {
    let (ws, state) = applied();
    ws.run(&["plan", "-var", "n=two"])
        .code(1)
        .stderr_has("Error: Invalid value for input variable")
        .stderr_has("a number is required")
        .stderr_has("on main.tf:2:1");
    assert_state_untouched(&ws, &state);
}

#[test]
fn a_failed_validation_rule_shows_its_message() {
    let (ws, state) = applied();
    ws.file(
        "main.tf",
        &GOOD.replace(
            "default = 2\n",
            "default = 2\n  validation {\n    condition     = var.n < 5\n    error_message = \"At most 4 servers.\"\n  }\n",
        ),
    );
    ws.run(&["apply", "-auto-approve", "-var", "n=9"])
        .code(1)
        .stderr_has("Error: Invalid value for variable")
        .stderr_has("At most 4 servers.")
        .stderr_has("on main.tf:2:1")
        .stderr_has("│ var.n is 9");
    assert_state_untouched(&ws, &state);
}

#[test]
fn a_failed_precondition_shows_what_its_references_held_but_no_secret() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        r#"variable "size" {
  default = 20
}

variable "names" {
  default = ["a", "b"]
}

variable "password" {
  default   = "hunter2"
  sensitive = true
}

resource "terraform_data" "a" {
  input = var.size

  lifecycle {
    precondition {
      condition     = var.size < 10 && length(var.names) > 3 && var.password != ""
      error_message = "The size is too big."
    }
  }
}
"#,
    );
    let run = ws.run(&["plan"]);
    run.code(1);
    insta::assert_snapshot!(run.stderr, @r#"
    ╷
    │ Error: Resource precondition failed
    │
    │   with terraform_data.a,
    │   on main.tf:19:23, in resource "terraform_data" "a":
    │     19:       condition     = var.size < 10 && length(var.names) > 3 && var.password != ""
    │                               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    │       ├────────────────
    │       │ var.names is tuple with 2 elements
    │       │ var.size is 20
    │
    │ The size is too big.
    ╵
    "#);
}

#[test]
fn a_cycle_names_every_address_and_reference() {
    let (ws, state) = applied();
    ws.file(
        "main.tf",
        "resource \"terraform_data\" \"a\" {\n  input = terraform_data.b.output\n}\nresource \"terraform_data\" \"b\" {\n  input = terraform_data.a.output\n}\n",
    );
    ws.run(&["plan"])
        .code(1)
        .stderr_has("Error: Cycle: terraform_data.a, terraform_data.b")
        .stderr_has("terraform_data.a refers to terraform_data.b at main.tf:2:11")
        .stderr_has("terraform_data.b refers to terraform_data.a at main.tf:5:11");
    assert_state_untouched(&ws, &state);
}

#[test]
fn a_missing_variable_without_input_is_an_error() {
    let (ws, state) = applied();
    ws.file("main.tf", &GOOD.replace("  default = 2\n", ""));
    ws.run(&["plan", "-input=false"])
        .code(1)
        .stderr_has("Error: No value for required variable")
        .stderr_has("on main.tf:2:1");
    assert_state_untouched(&ws, &state);
}

#[test]
fn an_unparseable_state_is_refused_and_left_alone() {
    let ws = Workspace::new();
    ws.file("main.tf", GOOD);
    ws.file(
        "state/default.json",
        "{\"format_version\": 1, \"lineage\": ",
    );
    let before = ws.read("state/default.json").expect("state");
    let run = ws.run(&["apply", "-auto-approve"]);
    run.code(1).stderr_has("state/default.json");
    assert!(!run.stderr.contains("panicked"));
    assert_state_untouched(&ws, &before);
}

#[test]
fn a_plan_made_against_another_lineage_is_refused() {
    let (ws, _) = applied();
    ws.run(&["plan", "-var", "n=3", "-out=next.plan"]).ok();
    // Another stack's state takes this one's place.
    let other = Workspace::new();
    other.file("main.tf", GOOD);
    other.run(&["apply", "-auto-approve"]).ok();
    let foreign = other.read("state/default.json").expect("other state");
    ws.file(
        "state/default.json",
        std::str::from_utf8(&foreign).expect("utf-8"),
    );
    ws.run(&["apply", "next.plan"])
        .code(1)
        .stderr_has("Saved plan is stale")
        .stderr_has("lineage");
    assert_state_untouched(&ws, &foreign);
}

#[test]
fn a_stale_plan_is_refused() {
    let (ws, _) = applied();
    ws.run(&["plan", "-var", "n=3", "-out=first.plan"]).ok();
    ws.run(&["apply", "-auto-approve", "-var", "n=1"]).ok();
    let state = ws.read("state/default.json").expect("state");
    ws.run(&["apply", "first.plan"])
        .code(1)
        .stderr_has("Saved plan is stale");
    assert_state_untouched(&ws, &state);
}

#[test]
fn a_plan_for_another_configuration_is_refused() {
    let (ws, state) = applied();
    ws.run(&["plan", "-var", "n=3", "-out=p.plan"]).ok();
    ws.file(
        "main.tf",
        &GOOD.replace("\"a-${count.index}\"", "\"b-${count.index}\""),
    );
    ws.run(&["apply", "p.plan"])
        .code(1)
        .stderr_has("Saved plan does not match the configuration");
    assert_state_untouched(&ws, &state);
}

#[test]
fn a_second_run_waits_for_or_reports_the_lock() {
    let (ws, state) = applied();
    // The first run holds the lock while it waits for approval.
    let mut first = ws.start(&["apply", "-var", "n=3"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while ws.read("state/default.lock").is_none_or(|l| l.is_empty()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let second = ws.run(&["plan", "-lock-timeout=200ms"]);
    second
        .code(1)
        .stderr_has("locked by pid")
        .stderr_has("\"apply\"");
    assert_state_untouched(&ws, &state);
    // Declining releases the lock; the next run goes through.
    first.write_stdin("no\n");
    first.finish().code(1).stderr_has("Apply cancelled.");
    ws.run(&["plan", "-lock-timeout=5s"]).ok();
    assert_state_untouched(&ws, &state);
}

#[test]
fn diagnostics_are_rendered_with_a_caret() {
    let ws = Workspace::new();
    ws.file("main.tf", "resource \"terraform_data\" \"a\" {\n  inptu = 1\n}\n\noutput \"o\" { value = uper(\"x\") }\n");
    let run = ws.run(&["validate"]);
    run.code(1);
    insta::assert_snapshot!(normalize(&run.stderr), @r#"
    ╷
    │ Error: Unsupported argument
    │
    │   on main.tf:2:3, in resource "terraform_data" "a":
    │      2:   inptu = 1
    │           ^^^^^
    │
    │ An argument named "inptu" is not expected here. Did you mean "input"?
    ╵
    "#);
    let run = ws.run(&["validate", "-json"]);
    run.code(1);
    let v = run.json();
    assert_eq!(v["valid"], false);
    assert_eq!(v["error_count"], 1);
    assert_eq!(v["diagnostics"][0]["range"]["start"]["line"], 2);
    assert_eq!(v["diagnostics"][0]["range"]["filename"], "main.tf");
}

#[test]
fn imports_that_cannot_happen_say_why_and_write_nothing() {
    let (ws, state) = applied();
    ws.run(&["import", "terraform_data.a[0]", "some-id"])
        .code(1)
        .stderr_has("Error: Resource already managed by stackform")
        .stderr_has("terraform_data.a[0] is already in the state");
    ws.run(&["import", "terraform_data.a[5]", "some-id"])
        .code(1)
        .stderr_has("Error: Resource type does not support import")
        .stderr_has("Objects of type terraform_data cannot be imported");
    ws.run(&["import", "terraform_data.b", "some-id"])
        .code(1)
        .stderr_has("Error: Configuration for import target does not exist")
        .stderr_has("resource \"terraform_data\" \"b\" {");
    ws.run(&["import", "terraform_data.a", "some-id"])
        .code(1)
        .stderr_has("Error: Invalid import address")
        .stderr_has("write terraform_data.a[N], as it sets count");
    ws.run(&["import", "not-an-address", "some-id"])
        .code(1)
        .stderr_has("Error: Invalid resource address");
    assert_state_untouched(&ws, &state);
}

#[test]
fn the_openstack_provider_block_is_checked_and_costs_nothing_unused() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        "provider \"openstack\" {\n  auth_url = \"devcloud://cloud\"\n  region   = \"RegionOne\"\n}\nresource \"terraform_data\" \"a\" {}\n",
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added");
    assert!(
        !ws.path().join("cloud").exists(),
        "no cloud is started when no OpenStack type is used"
    );
    ws.file(
        "main.tf",
        "provider \"openstack\" {\n  auth_url = \"devcloud://cloud\"\n  regoin   = \"RegionOne\"\n}\n",
    );
    ws.run(&["validate"])
        .code(1)
        .stderr_has("Error: Unsupported argument")
        .stderr_has("on main.tf:3:3, in provider \"openstack\":");
    ws.file("main.tf", "provider \"openstak\" {}\n");
    ws.run(&["plan"])
        .code(1)
        .stderr_has("Error: Invalid provider")
        .stderr_has("The providers this version of stackform knows are: openstack.");
}

#[test]
fn validate_json_reports_every_problem_in_terraforms_shape() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        "resource \"terraform_data\" \"a\" {\n  inptu = 1\n}\n\noutput \"o\" {\n  value = var.missing\n}\n",
    );
    let run = ws.run(&["validate", "-json"]);
    run.code(1);
    // Terraform's own output for this file.
    insta::assert_snapshot!(run.stdout, @r#"
    {
      "format_version": "1.0",
      "valid": false,
      "error_count": 2,
      "warning_count": 0,
      "diagnostics": [
        {
          "severity": "error",
          "summary": "Unsupported argument",
          "detail": "An argument named \"inptu\" is not expected here. Did you mean \"input\"?",
          "range": {
            "filename": "main.tf",
            "start": {
              "line": 2,
              "column": 3,
              "byte": 34
            },
            "end": {
              "line": 2,
              "column": 8,
              "byte": 39
            }
          },
          "snippet": {
            "context": "resource \"terraform_data\" \"a\"",
            "code": "  inptu = 1",
            "start_line": 2,
            "highlight_start_offset": 2,
            "highlight_end_offset": 7,
            "values": []
          }
        },
        {
          "severity": "error",
          "summary": "Reference to undeclared input variable",
          "detail": "An input variable with the name \"missing\" has not been declared. This variable can be declared with a variable \"missing\" {} block.",
          "range": {
            "filename": "main.tf",
            "start": {
              "line": 6,
              "column": 11,
              "byte": 70
            },
            "end": {
              "line": 6,
              "column": 22,
              "byte": 81
            }
          },
          "snippet": {
            "context": "output \"o\"",
            "code": "  value = var.missing",
            "start_line": 6,
            "highlight_start_offset": 10,
            "highlight_end_offset": 21,
            "values": []
          }
        }
      ]
    }
    "#);
}
