//! The plan → apply → change → destroy workflow through the binary.

use super::{Workspace, normalize};

const STACK: &str = r#"
variable "names" {
  type    = list(string)
  default = ["a", "b"]
}
variable "password" {
  type      = string
  default   = "hunter2"
  sensitive = true
}
resource "terraform_data" "net" {
  input = { cidr = cidrsubnet("10.0.0.0/8", 8, 1), name = "net" }
}
resource "terraform_data" "srv" {
  count            = length(var.names)
  input            = "${var.names[count.index]}@${terraform_data.net.output.cidr}"
  triggers_replace = [var.names[count.index]]
}
resource "terraform_data" "secret" {
  input = var.password
}
output "servers" { value = terraform_data.srv[*].output }
output "password" {
  value     = terraform_data.secret.output
  sensitive = true
}
"#;

fn stack() -> Workspace {
    let ws = Workspace::new();
    ws.file("main.tf", STACK);
    ws
}

#[test]
fn plan_shows_the_changes_in_terraforms_layout() {
    let ws = stack();
    let run = ws.run(&["plan"]);
    run.ok();
    insta::assert_snapshot!(normalize(&run.stdout), @r#"

    Resource actions are indicated with the following symbols:
      + create

    stackform will perform the following actions:

      # terraform_data.net will be created
      + resource "terraform_data" "net" {
          + id     = (known after apply)
          + input  = {
              + cidr = "10.1.0.0/16"
              + name = "net"
            }
          + output = (known after apply)
        }

      # terraform_data.secret will be created
      + resource "terraform_data" "secret" {
          + id     = (known after apply)
          + input  = (sensitive value)
          + output = (sensitive value)
        }

      # terraform_data.srv[0] will be created
      + resource "terraform_data" "srv" {
          + id               = (known after apply)
          + input            = (known after apply)
          + output           = (known after apply)
          + triggers_replace = [
              + "a",
            ]
        }

      # terraform_data.srv[1] will be created
      + resource "terraform_data" "srv" {
          + id               = (known after apply)
          + input            = (known after apply)
          + output           = (known after apply)
          + triggers_replace = [
              + "b",
            ]
        }

    Plan: 4 to add, 0 to change, 0 to destroy.

    Changes to Outputs:
      + password = (sensitive value)
      + servers  = [
          + (known after apply),
          + (known after apply),
        ]

    ─────────────────────────────────────────────────────────────────────────────

    Note: You didn't use the -out option to save this plan, so stackform can't
    guarantee to take exactly these actions if you run "stackform apply" now.
    "#);
}

#[test]
fn apply_then_nothing_to_do_then_update_replace_and_destroy() {
    let ws = stack();
    let run = ws.run(&["apply", "-auto-approve"]);
    run.ok()
        .stdout_has("Apply complete! Resources: 4 added, 0 changed, 0 destroyed.")
        .stdout_has("password = <sensitive>")
        .stderr_has("terraform_data.net: Creation complete after")
        .stdout_lacks("hunter2")
        .stderr_lacks("hunter2");
    let outputs = ws.run(&["output", "-json"]);
    outputs.ok();
    let v = outputs.json();
    assert_eq!(
        v["servers"]["value"],
        serde_json::json!(["a@10.1.0.0/16", "b@10.1.0.0/16"])
    );
    assert_eq!(
        v["servers"]["type"],
        serde_json::json!(["tuple", ["string", "string"]])
    );
    assert_eq!(v["password"]["sensitive"], true);
    assert_eq!(v["password"]["value"], serde_json::Value::Null);
    assert_eq!(
        ws.run(&["output", "-json", "-show-sensitive"]).json()["password"]["value"],
        "hunter2"
    );
    ws.run(&["output", "-raw", "password"])
        .code(1)
        .stderr_has("-show-sensitive");

    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
    let serial = |ws: &Workspace| -> serde_json::Value {
        serde_json::from_slice::<serde_json::Value>(&ws.read("state/default.json").unwrap())
            .unwrap()["serial"]
            .clone()
    };
    let before = serial(&ws);
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Resources: 0 added, 0 changed, 0 destroyed.");
    assert_eq!(
        serial(&ws),
        before,
        "a run that changes nothing does not rewrite the state"
    );

    let run = ws.run(&["plan", "-detailed-exitcode", "-var", "names=[\"a\", \"c\"]"]);
    run.code(2)
        .stdout_has("# terraform_data.srv[1] must be replaced")
        .stdout_has("~ triggers_replace = [ # forces replacement")
        .stdout_has("Plan: 1 to add, 0 to change, 1 to destroy.");
    ws.run(&["apply", "-auto-approve", "-var", "names=[\"a\", \"c\"]"])
        .ok();
    assert_eq!(
        ws.run(&["output", "-json", "servers"]).json(),
        serde_json::json!(["a@10.1.0.0/16", "c@10.1.0.0/16"])
    );

    let run = ws.run(&["destroy", "-auto-approve"]);
    run.ok()
        .stdout_has("Destroy complete! Resources: 4 destroyed.");
    let state: serde_json::Value =
        serde_json::from_slice(&ws.read("state/default.json").unwrap()).unwrap();
    assert_eq!(state["resources"], serde_json::json!([]));
    ws.run(&["output"]).ok().stderr_has("No outputs found");
}

#[test]
fn a_saved_plan_applies_exactly() {
    let ws = stack();
    ws.run(&["plan", "-out=tf.plan"])
        .ok()
        .stdout_has("Saved the plan to: tf.plan");
    let shown = ws.run(&["show", "-json", "tf.plan"]);
    shown.ok();
    let v = shown.json();
    let changes = v["resource_changes"].as_array().expect("resource_changes");
    assert_eq!(changes.len(), 4);
    assert_eq!(changes[0]["address"], "terraform_data.net");
    assert_eq!(
        changes[0]["change"]["actions"],
        serde_json::json!(["create"])
    );
    assert_eq!(changes[0]["change"]["after_unknown"]["id"], true);
    assert_eq!(changes[1]["change"]["after_sensitive"]["input"], true);
    assert_eq!(
        changes[1]["change"]["after"]["input"],
        serde_json::Value::Null,
        "sensitive values are masked"
    );
    assert!(!shown.stdout.contains("hunter2"));
    ws.run(&["show", "tf.plan"])
        .ok()
        .stdout_has("Plan: 4 to add, 0 to change, 0 to destroy.");
    ws.run(&["apply", "tf.plan"])
        .ok()
        .stdout_has("Apply complete! Resources: 4 added");
    // Applied once, the plan is stale.
    ws.run(&["apply", "tf.plan"])
        .code(1)
        .stderr_has("Saved plan is stale");
}

#[test]
fn approval_is_asked_and_only_yes_approves() {
    let ws = stack();
    ws.run_with_input(&["apply"], "no\n")
        .code(1)
        .stderr_has("Do you want to perform these actions?")
        .stderr_has("Apply cancelled.");
    assert!(
        ws.read("state/default.json")
            .is_none_or(|s| !String::from_utf8_lossy(&s).contains("terraform_data.net"))
    );
    ws.run(&["apply", "-input=false"])
        .code(1)
        .stderr_has("-auto-approve");
    ws.run_with_input(&["apply"], "yes\n")
        .ok()
        .stdout_has("Apply complete!");
    ws.run_with_input(&["destroy"], "yes\n")
        .ok()
        .stdout_has("Destroy complete! Resources: 4 destroyed.");
}

#[test]
fn missing_variables_are_prompted_for() {
    let ws = Workspace::new();
    ws.file("main.tf", "variable \"who\" {\n  description = \"Who to greet\"\n}\noutput \"hi\" { value = \"hello ${var.who}\" }\n");
    let run = ws.run_with_input(&["apply", "-auto-approve"], "world\n");
    run.ok()
        .stderr_has("var.who")
        .stderr_has("Who to greet")
        .stdout_has("hi = \"hello world\"");
}

#[test]
fn show_and_graph() {
    let ws = stack();
    ws.run(&["show"]).ok().stdout_has("No state.");
    ws.run(&["apply", "-auto-approve"]).ok();
    let run = ws.run(&["show"]);
    run.ok()
        .stdout_has("# terraform_data.net:")
        .stdout_has("resource \"terraform_data\" \"net\" {")
        .stdout_lacks("hunter2");
    let v = ws.run(&["show", "-json"]).json();
    let resources = v["values"]["root_module"]["resources"]
        .as_array()
        .expect("resources");
    assert_eq!(resources.len(), 4);
    assert_eq!(resources[0]["values"]["input"]["cidr"], "10.1.0.0/16");
    assert!(!ws.run(&["show", "-json"]).stdout.contains("hunter2"));
    ws.run(&["graph"])
        .ok()
        .stdout_has("\"terraform_data.srv\" -> \"terraform_data.net\"");
}

#[test]
fn chdir_and_version() {
    let ws = Workspace::new();
    ws.file("sub/main.tf", "output \"x\" { value = 1 }\n");
    ws.run(&["-chdir=sub", "apply", "-auto-approve"])
        .ok()
        .stdout_has("x = 1");
    assert!(
        ws.read("sub/state/default.json").is_some(),
        "state lives under the -chdir directory"
    );
    ws.run(&["--chdir", "sub", "output", "x"])
        .ok()
        .stdout_has("1");
    ws.run(&["version"]).ok().stdout_has("stackform v");
    ws.run(&["-version"]).ok().stdout_has("stackform");
}

#[test]
fn state_files_are_private() {
    let ws = stack();
    ws.run(&["apply", "-auto-approve"]).ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ws.state_path())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
    ws.run(&["apply", "-auto-approve", "-var", "names=[\"x\"]"])
        .ok();
    assert!(
        ws.read("state/default.json.backup").is_some(),
        "the previous state is kept as a backup"
    );
}

#[test]
fn a_failure_skips_only_what_depends_on_it() {
    let ws = Workspace::new();
    // `tonumber` of an id fails only once the id is known, at apply time.
    ws.file(
        "main.tf",
        r#"
resource "terraform_data" "a" {
  input = "a"
}
resource "terraform_data" "bad" {
  input = tonumber(terraform_data.a.id)
}
resource "terraform_data" "after_bad" {
  input = terraform_data.bad.output
}
resource "terraform_data" "independent" {
  input = "fine"
}
"#,
    );
    let run = ws.run(&["apply", "-auto-approve"]);
    run.code(1)
        .stderr_has("with terraform_data.bad,")
        .stderr_has("Invalid value for \"v\" parameter")
        .stderr_has("Apply failed. 2 added, 0 changed, 0 destroyed before stopping.")
        .stderr_has("failed:      terraform_data.bad")
        .stderr_has("skipped:     terraform_data.after_bad");
    let state: serde_json::Value =
        serde_json::from_slice(&ws.read("state/default.json").unwrap()).unwrap();
    let addrs: Vec<&str> = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addrs,
        ["terraform_data.a", "terraform_data.independent"],
        "what finished is recorded"
    );
    assert!(
        ws.read("state/default.journal").is_none(),
        "the journal is folded away"
    );
}

#[test]
fn the_journal_of_a_run_that_died_is_replayed() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        "resource \"terraform_data\" \"a\" {\n  count = 2\n  input = count.index\n}\n",
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    let state: serde_json::Value =
        serde_json::from_slice(&ws.read("state/default.json").unwrap()).unwrap();
    // What a run that removed a[1] and was about to create a[2] leaves behind.
    let journal = format!(
        "{}\n{}\n{}\n",
        serde_json::json!({"journal": 1, "lineage": state["lineage"], "base_serial": state["serial"]}),
        serde_json::json!({"remove": {"address": "terraform_data.a[1]"}}),
        serde_json::json!({"intent": {"address": "terraform_data.a[2]", "action": "create"}}),
    );
    ws.file("state/default.journal", &journal);
    let run = ws.run(&["plan"]);
    run.ok()
        .stderr_has("Warning: Recovered an interrupted run")
        .stderr_has("terraform_data.a[2]")
        // terraform_data makes nothing outside the state: the intent goes.
        .stderr_has("The interrupted run's create of terraform_data.a[2] left no object in the cloud: nothing to recover.")
        .stdout_has("# terraform_data.a[1] will be created");
    assert!(
        ws.read("state/default.journal").is_none(),
        "the journal was folded into the snapshot"
    );
    let after: serde_json::Value =
        serde_json::from_slice(&ws.read("state/default.json").unwrap()).unwrap();
    // Folded (with the intent pending), then the intent resolved.
    assert_eq!(
        after["serial"].as_u64(),
        state["serial"].as_u64().map(|s| s + 2)
    );
    assert!(after.get("intents").is_none(), "{after}");
}

#[test]
fn init_checks_the_configuration() {
    let ws = stack();
    ws.run(&["init", "-input=false"])
        .ok()
        .stdout_has("stackform has been successfully initialized!");
    ws.file("main.tf", "resource \"terraform_data\" \"a\" {\n");
    ws.run(&["init"])
        .code(1)
        .stderr_has("Error: Invalid syntax");
}

#[test]
fn version_as_json() {
    let v = Workspace::new().run(&["version", "-json"]).json();
    assert_eq!(v["stackform_version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn output_raw_prints_primitives_only() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        "output \"s\" { value = \"plain\" }\noutput \"l\" { value = [1] }\n",
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    let run = ws.run(&["output", "-raw", "s"]);
    run.ok();
    assert_eq!(run.stdout, "plain");
    ws.run(&["output", "-raw", "l"])
        .code(1)
        .stderr_has("only supports strings, numbers, and boolean values");
    ws.run(&["output", "s"]).ok().stdout_has("\"plain\"");
    ws.run(&["output", "nope"])
        .code(1)
        .stderr_has("Output \"nope\" not found");
}

#[test]
fn tf_input_disables_prompts() {
    let ws = stack();
    ws.cmd(&["apply"])
        .env("TF_INPUT", "0")
        .run()
        .code(1)
        .stderr_has("-auto-approve");
}

#[test]
fn output_to_a_pipe_has_no_colour() {
    let ws = stack();
    let out = ws.cmd(&["plan"]).env_remove("NO_COLOR").run();
    out.ok();
    assert!(!out.stdout.contains('\x1b'), "escape codes in piped output");
}

#[test]
fn plan_without_lock_reads_a_locked_state() {
    let ws = stack();
    ws.run(&["apply", "-auto-approve"]).ok();
    let mut holder = ws.start(&["apply", "-var", "names=[\"z\"]"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while ws.read("state/default.lock").is_none_or(|l| l.is_empty()) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    ws.run(&["plan"]).code(1).stderr_has("locked by pid");
    ws.run(&["plan", "-lock=false"])
        .ok()
        .stdout_has("No changes.");
    holder.close_stdin();
    holder.finish();
}

/// Terraform's JSON plan format as a consumer written against its
/// documentation reads it: only the fields such a consumer uses, unknown
/// fields ignored as Terraform's compatibility promise asks.
mod terraform_plan_json {
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    pub struct Plan {
        pub format_version: String,
        pub resource_changes: Vec<ResourceChange>,
        #[serde(default)]
        pub resource_drift: Option<Vec<ResourceChange>>,
        pub output_changes: BTreeMap<String, Change>,
        #[serde(default)]
        pub prior_state: Option<serde_json::Value>,
    }

    #[derive(Deserialize)]
    pub struct ResourceChange {
        pub address: String,
        pub mode: String,
        #[serde(rename = "type")]
        pub type_name: String,
        pub name: String,
        #[serde(default)]
        pub index: Option<serde_json::Value>,
        pub change: Change,
    }

    #[derive(Deserialize)]
    pub struct Change {
        pub actions: Vec<String>,
        pub before: serde_json::Value,
        pub after: serde_json::Value,
        pub after_unknown: serde_json::Value,
        pub before_sensitive: serde_json::Value,
        pub after_sensitive: serde_json::Value,
        #[serde(default)]
        pub replace_paths: Option<Vec<Vec<serde_json::Value>>>,
    }
}

/// `plan -markdown` prints the comment alone (the saved plan's path goes
/// to stderr) and keeps -out and -detailed-exitcode; `show -markdown`
/// of the saved plan is the same text; and `show -json` of it loads in a
/// consumer of Terraform's documented plan format.
#[test]
fn plans_as_markdown_and_as_terraforms_json_plan() {
    let ws = stack();
    let first = ws.run(&["plan", "-markdown", "-out=tf.plan", "-detailed-exitcode"]);
    first
        .code(2)
        .stdout_has("### stackform plan\n\n**Plan:** 4 to add, 0 to change, 0 to destroy.")
        .stdout_has("| 🟢 create | `terraform_data.net` |  |")
        .stdout_lacks("Saved the plan")
        .stdout_lacks("[!WARNING]")
        .stdout_lacks("hunter2")
        .stderr_has("Saved the plan to: tf.plan");
    let shown = ws.run(&["show", "-markdown", "tf.plan"]);
    shown.ok();
    assert_eq!(shown.stdout, first.stdout);
    ws.run(&["apply", "tf.plan"]).ok();

    // srv[1] is replaced (a new trigger), srv[2] created; the password
    // changes.
    ws.run(&[
        "plan",
        "-out=tf.plan",
        "-var=names=[\"a\", \"c\", \"d\"]",
        "-var=password=swordfish",
    ])
    .ok();
    let run = ws.run(&["show", "-markdown", "tf.plan"]);
    run.ok().stdout_lacks("swordfish").stdout_lacks("hunter2");
    insta::assert_snapshot!(normalize(&run.stdout), @r#"
    ### stackform plan

    **Plan:** 2 to add, 1 to change, 1 to destroy.

    > [!WARNING]
    > **1 object will be destroyed** (deleted, or replaced by a new one):
    > - `terraform_data.srv[1]` (replaced)

    | Action | Resource | Reason |
    |---|---|---|
    | ⚠️ **🟠 replace** | `terraform_data.srv[1]` | forces replacement: triggers\_replace |
    | 🟡 update in-place | `terraform_data.secret` |  |
    | 🟢 create | `terraform_data.srv[2]` |  |

    <details><summary>⚠️ terraform_data.srv[1] — replace</summary>

    ```diff
      # terraform_data.srv[1] must be replaced
    -/+ resource "terraform_data" "srv" {
    !       id               = "<uuid>" -> (known after apply)
    !       input            = "b@10.1.0.0/16" -> "c@10.1.0.0/16"
    !       output           = "b@10.1.0.0/16" -> (known after apply)
    !       triggers_replace = [ # forces replacement
    !           "b" -> "c",
            ]
        }
    ```

    </details>

    <details><summary>terraform_data.secret — update in-place</summary>

    ```diff
      # terraform_data.secret will be updated in-place
    !   resource "terraform_data" "secret" {
            id     = "<uuid>"
    !       input  = (sensitive value)
    !       output = (sensitive value)
        }
    ```

    </details>

    <details><summary>terraform_data.srv[2] — create</summary>

    ```diff
      # terraform_data.srv[2] will be created
    +   resource "terraform_data" "srv" {
    +       id               = (known after apply)
    +       input            = "d@10.1.0.0/16"
    +       output           = (known after apply)
    +       triggers_replace = [
    +           "d",
            ]
        }
    ```

    </details>

    #### Changes to Outputs

    ```diff
    !   password = (sensitive value)
    !   servers  = [
            "a@10.1.0.0/16",
    !       "b@10.1.0.0/16" -> (known after apply),
    +       (known after apply),
        ]
    ```
    "#);

    let json = ws.run(&["show", "-json", "tf.plan"]);
    json.ok().stdout_lacks("swordfish");
    let plan: terraform_plan_json::Plan =
        serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}\n{}", json.stdout));
    assert!(plan.format_version.starts_with("1."));
    assert!(plan.prior_state.is_some());
    assert!(plan.resource_drift.is_none_or(|d| d.is_empty()));
    let actions: Vec<(String, Vec<String>)> = plan
        .resource_changes
        .iter()
        .map(|c| (c.address.clone(), c.change.actions.clone()))
        .collect();
    let expect = |a: &str, acts: &[&str]| {
        (
            a.to_string(),
            acts.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        actions,
        [
            expect("terraform_data.net", &["no-op"]),
            expect("terraform_data.secret", &["update"]),
            expect("terraform_data.srv[0]", &["no-op"]),
            expect("terraform_data.srv[1]", &["delete", "create"]),
            expect("terraform_data.srv[2]", &["create"]),
        ]
    );
    let srv1 = &plan.resource_changes[3];
    assert_eq!(
        (
            srv1.mode.as_str(),
            srv1.type_name.as_str(),
            srv1.name.as_str()
        ),
        ("managed", "terraform_data", "srv")
    );
    assert_eq!(srv1.index, Some(serde_json::json!(1)));
    assert_eq!(
        srv1.change.replace_paths,
        Some(vec![vec![serde_json::json!("triggers_replace")]])
    );
    assert_eq!(srv1.change.after_unknown["id"], true);
    assert!(srv1.change.before.is_object() && srv1.change.after.is_object());
    let secret = &plan.resource_changes[1].change;
    assert_eq!(secret.before_sensitive["input"], true);
    assert_eq!(secret.after_sensitive["input"], true);
    assert_eq!(plan.output_changes["password"].actions, ["update"]);
}
