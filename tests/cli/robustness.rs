//! Robustness: input at the edge of what stackform accepts, and clouds
//! that stumble. Each case either works or is refused with a message that
//! names the flag, file or expression at fault; nothing panics, hangs or
//! runs out of memory.

use super::openstack::{Outside, PROVIDER, runtime, state_attrs};
use super::{Run, Workspace};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs `stackform` with `args` (and `env`), failing the test if it has
/// not ended within a minute: what these tests guard against is a hang.
/// For commands whose output is short (it is read once they end).
#[track_caller]
fn run_bounded(ws: &Workspace, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = ws.cmd(args);
    for (key, value) in env {
        cmd = cmd.env(key, value);
    }
    let mut started = cmd.start();
    started.close_stdin();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match started.try_wait() {
            Ok(Some(_)) => return started.finish(),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            // Dropping the command stops it.
            _ => panic!("stackform {args:?} did not end within a minute"),
        }
    }
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.expect("mkfifo").success());
}

#[test]
fn token_issue_is_retried_when_keystone_is_briefly_unavailable() {
    let ws = Workspace::new();
    let rt = runtime();
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        // Three failed token requests in a row, then a good one: the
        // first asks to wait a second, the others leave the wait to
        // the client's backoff.
        for (status, retry_after) in [(503, Some(1)), (500, None), (429, None)] {
            let (code, _) = outside
                .call(
                    "POST",
                    "/devcloud/faults",
                    Some(json!({"method": "POST", "path": "/identity/v3/auth/tokens", "status": status, "retry_after": retry_after, "count": 1})),
                )
                .await;
            assert_eq!(code, 201);
        }
        outside.stop().await;
    });
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}\nresource \"openstack_networking_network_v2\" \"net\" {{\n  name = \"retried\"\n}}\n"
        ),
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    assert_eq!(
        state_attrs(&ws, "openstack_networking_network_v2.net")["name"],
        "retried"
    );
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let (_, faults) = outside.call("GET", "/devcloud/faults", None).await;
        assert_eq!(faults["faults"], json!([]), "every fault was met");
        outside.stop().await;
    });
}

#[test]
fn numeric_flags_out_of_range_are_refused_naming_the_flag_and_the_range() {
    let ws = Workspace::new();
    ws.file("main.tf", "resource \"terraform_data\" \"a\" {}\n");
    let first_line = |args: &[&str]| {
        let run = ws.run(args);
        run.code(1).stderr_lacks("panicked");
        run.stderr.lines().next().unwrap_or_default().to_string()
    };
    assert_eq!(
        first_line(&["apply", "-lock-timeout=18446744073709551615s"]),
        "error: invalid value '18446744073709551615s' for '--lock-timeout <DURATION>': must be a duration from 0s to 24h, written like 30s, 2m or 1m30s"
    );
    assert_eq!(
        first_line(&["plan", "-parallelism=0"]),
        "error: invalid value '0' for '--parallelism <N>': must be a whole number from 1 to 1000"
    );
    assert_eq!(
        first_line(&["destroy", "-parallelism=99999999999999999999"]),
        "error: invalid value '99999999999999999999' for '--parallelism <N>': must be a whole number from 1 to 1000"
    );
    assert_eq!(
        first_line(&["devcloud", "serve", "--token-ttl", "18446744073709551615"]),
        "error: invalid value '18446744073709551615' for '--token-ttl <SECONDS>': must be a number of seconds from 1 to 2592000"
    );
    assert_eq!(
        first_line(&["devcloud", "serve", "--build-time=1e9"]),
        "error: invalid value '1e9' for '--build-time <SECONDS>': must be a number of seconds from 0 to 3600"
    );
    assert_eq!(
        first_line(&["devcloud", "serve", "--latency-ms=18446744073709551616"]),
        "error: invalid value '18446744073709551616' for '--latency-ms <MS>': must be a whole number of milliseconds from 0 to 60000"
    );
    assert!(ws.read("state/default.json").is_none(), "nothing ran");
}

#[test]
fn a_timeout_out_of_range_stops_the_plan_at_the_resource() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}\nresource \"openstack_networking_network_v2\" \"net\" {{\n  name = \"n\"\n  timeouts {{\n    create = \"18446744073709551615s\"\n  }}\n}}\n"
        ),
    );
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("Error: Invalid timeout")
        .stderr_has("timeouts.create = \"18446744073709551615s\" is not a duration from 1s to 168h; write it like 30s, 10m or 1h30m.")
        .stderr_has("openstack_networking_network_v2.net")
        .stderr_lacks("panicked");
    assert!(ws.read("state/default.json").is_none());
}

#[test]
fn a_state_at_the_last_serial_is_refused_before_anything_is_destroyed() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        "resource \"terraform_data\" \"a\" {}\nresource \"terraform_data\" \"b\" {}\n",
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    let state = String::from_utf8(ws.read("state/default.json").expect("state")).expect("utf-8");
    let edited = state.replace("\"serial\": 1,", "\"serial\": 18446744073709551615,");
    assert_ne!(edited, state);
    ws.file("state/default.json", &edited);
    ws.file("main.tf", "resource \"terraform_data\" \"a\" {}\n");
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("state/default.json is at serial 18446744073709551615, the highest a state can have, so no run can write it again; nothing was changed.")
        .stdout_lacks("Destroying")
        .stderr_lacks("a bug in stackform");
    assert_eq!(ws.read("state/default.json"), Some(edited.into_bytes()));
    assert!(ws.read("state/default.journal").is_none());
}

#[cfg(unix)]
#[test]
fn a_device_or_fifo_given_as_a_plan_file_is_refused_at_once() {
    let ws = Workspace::new();
    ws.file("main.tf", "resource \"terraform_data\" \"a\" {}\n");
    let started = Instant::now();
    run_bounded(&ws, &["show", "/dev/zero"], &[])
        .code(1)
        .stderr_has("Error: Invalid plan file")
        .stderr_has(
            "cannot read plan file /dev/zero: it is a character device, not a regular file.",
        );
    mkfifo(&ws.path().join("p.plan"));
    for command in ["show", "apply"] {
        run_bounded(&ws, &[command, "p.plan"], &[])
            .code(1)
            .stderr_has("Error: Invalid plan file")
            .stderr_has("p.plan: it is a FIFO, not a regular file.");
    }
    run_bounded(&ws, &["graph", "-type=plan", "-plan=/dev/zero"], &[])
        .code(1)
        .stderr_has("it is a character device, not a regular file.");
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[cfg(unix)]
#[test]
fn state_files_that_are_not_regular_files_are_refused_at_once() {
    let ws = Workspace::new();
    ws.file("main.tf", "resource \"terraform_data\" \"a\" {}\n");
    std::fs::create_dir(ws.path().join("state")).expect("state dir");
    mkfifo(&ws.state_path());
    for args in [
        &["plan"][..],
        &["show"],
        &["output"],
        &["apply", "-auto-approve"],
    ] {
        run_bounded(&ws, args, &[])
            .code(1)
            .stderr_has("cannot read state/default.json: it is a FIFO, not a regular file.");
    }
    std::fs::remove_file(ws.state_path()).expect("remove fifo");
    ws.run(&["apply", "-auto-approve"]).ok();
    mkfifo(&ws.path().join("state/default.journal"));
    run_bounded(&ws, &["plan"], &[])
        .code(1)
        .stderr_has("cannot read state/default.journal: it is a FIFO, not a regular file.");
    std::fs::remove_file(ws.path().join("state/default.journal")).expect("remove fifo");
    std::fs::remove_file(ws.path().join("state/default.lock")).expect("remove lock");
    std::os::unix::fs::symlink("/dev/zero", ws.path().join("state/default.lock")).expect("link");
    run_bounded(&ws, &["plan"], &[]).code(1).stderr_has(
        "cannot lock state/default.lock: it is a character device, not a regular file.",
    );
}

#[cfg(unix)]
#[test]
fn variable_files_that_are_not_regular_files_are_refused_at_once() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        "variable \"x\" {\n  default = 1\n}\noutput \"x\" { value = var.x }\n",
    );
    run_bounded(&ws, &["plan", "-var-file=/dev/zero"], &[])
        .code(1)
        .stderr_has("Error: Failed to read variables file")
        .stderr_has("Cannot read /dev/zero: it is a character device, not a regular file.");
    mkfifo(&ws.path().join("terraform.tfvars"));
    run_bounded(&ws, &["plan"], &[])
        .code(1)
        .stderr_has("Cannot read terraform.tfvars: it is a FIFO, not a regular file.");
    std::fs::remove_file(ws.path().join("terraform.tfvars")).expect("remove fifo");
    mkfifo(&ws.path().join("extra.tf"));
    run_bounded(&ws, &["validate"], &[]).code(1).stderr_has(
        "The configuration file extra.tf could not be read: it is a FIFO, not a regular file.",
    );
    run_bounded(&ws, &["fmt", "-check"], &[])
        .code(1)
        .stderr_has("Cannot read extra.tf: it is a FIFO, not a regular file.");
}

#[cfg(unix)]
#[test]
fn files_read_by_functions_and_clouds_yaml_must_be_regular_files() {
    let ws = Workspace::new();
    mkfifo(&ws.path().join("t.tpl"));
    ws.file(
        "main.tf",
        "output \"zero\" {\n  value = file(\"/dev/zero\")\n}\noutput \"t\" {\n  value = templatefile(\"t.tpl\", {})\n}\n",
    );
    let run = run_bounded(&ws, &["plan"], &[]);
    run.code(1)
        .stderr_has("on main.tf:2:16, in output \"zero\":")
        .stderr_has("Invalid value for \"path\" parameter: failed to read file \"/dev/zero\": it is a character device, not a regular file.")
        .stderr_has("on main.tf:5:24, in output \"t\":")
        .stderr_has("failed to read file \"t.tpl\": it is a FIFO, not a regular file.");

    // A directory: the test harness itself reads the clouds.yaml a
    // command is given, and would wait on a FIFO.
    let ws = Workspace::new();
    std::fs::create_dir(ws.path().join("clouds.yaml")).expect("mkdir");
    ws.file(
        "main.tf",
        "provider \"openstack\" {\n  cloud = \"mine\"\n}\nresource \"openstack_networking_network_v2\" \"n\" {\n  name = \"n\"\n}\n",
    );
    let clouds = ws.path().join("clouds.yaml");
    let clouds = clouds.to_str().expect("utf-8 path");
    run_bounded(
        &ws,
        &["apply", "-auto-approve"],
        &[("OS_CLIENT_CONFIG_FILE", clouds)],
    )
    .code(1)
    .stderr_has("Invalid OpenStack provider configuration")
    .stderr_has("clouds.yaml: it is a directory, not a regular file");
}

#[cfg(unix)]
#[test]
fn an_image_file_that_is_a_fifo_is_refused_without_waiting_for_a_writer() {
    let ws = Workspace::new();
    mkfifo(&ws.path().join("disk.raw"));
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}\nresource \"openstack_images_image_v2\" \"img\" {{\n  name             = \"img\"\n  container_format = \"bare\"\n  disk_format      = \"raw\"\n  local_file_path  = \"disk.raw\"\n}}\n"
        ),
    );
    run_bounded(&ws, &["apply", "-auto-approve"], &[])
        .code(1)
        .stderr_has("Cannot read local_file_path")
        .stderr_has("disk.raw: it is a FIFO, not a regular file.");
}

#[test]
fn text_that_is_not_utf8_is_reported_at_its_file_line_and_column() {
    let ws = Workspace::new();
    let bytes = b"resource \"terraform_data\" \"a\" {\n  input = \"caf\xc3\xa9 \xff\"\n}\n";
    std::fs::write(ws.path().join("main.tf"), bytes).expect("write main.tf");
    let expected = "All input files must be UTF-8 encoded, and the byte 0xff at line 2, column 17 of main.tf is not. Ensure that UTF-8 encoding is selected in your editor.";
    for args in [&["validate"][..], &["plan"], &["fmt", "-check"]] {
        ws.run(args)
            .code(1)
            .stderr_has("Error: Invalid character encoding")
            .stderr_has("on main.tf:2:17:")
            .stderr_has(expected)
            .stderr_has("input = \"café \u{fffd}\"")
            .stderr_lacks("panicked");
    }

    ws.file("main.tf", "variable \"x\" {\n  default = \"\"\n}\n");
    std::fs::write(ws.path().join("a.auto.tfvars"), b"x = \"\xe9t\xe9\"\n").expect("write");
    ws.run(&["plan"])
        .code(1)
        .stderr_has("on a.auto.tfvars:1:6:")
        .stderr_has("the byte 0xe9 at line 1, column 6 of a.auto.tfvars is not.");
    std::fs::rename(
        ws.path().join("a.auto.tfvars"),
        ws.path().join("given.tfvars"),
    )
    .expect("rename");
    ws.run(&["plan", "-var-file=given.tfvars"])
        .code(1)
        .stderr_has("on given.tfvars:1:6:")
        .stderr_has("the byte 0xe9 at line 1, column 6 of given.tfvars is not.");
}

#[test]
fn expansions_and_collections_past_their_limits_are_refused_at_the_expression() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        "output \"product\" {\n  value = length(setproduct(range(1000), range(1000), range(1000)))\n}\n",
    );
    run_bounded(&ws, &["plan"], &[])
        .code(1)
        .stderr_has("Error: Error in function call")
        .stderr_has("on main.tf:2:18, in output \"product\":")
        .stderr_has("Call to function \"setproduct\" failed: the result would have 1000000000 elements, more than the 1000000 a collection may hold.");

    ws.file(
        "main.tf",
        "resource \"terraform_data\" \"many\" {\n  count = 10000000\n}\n",
    );
    run_bounded(&ws, &["plan"], &[])
        .code(1)
        .stderr_has("Error: Invalid count argument")
        .stderr_has("on main.tf:2:11, in resource \"terraform_data\" \"many\":")
        .stderr_has("The count of 10000000 gives more than 50000 instances, the most a resource or module block may have.");

    ws.file(
        "main.tf",
        "resource \"terraform_data\" \"many\" {\n  for_each = toset(formatlist(\"k%d\", flatten([for j in range(100) : [for i in range(1000) : j * 1000 + i]])))\n}\n",
    );
    run_bounded(&ws, &["plan"], &[])
        .code(1)
        .stderr_has("Error: Invalid for_each argument")
        .stderr_has("The for_each value of 100000 elements gives more than 50000 instances, the most a resource or module block may have.");

    ws.file(
        "main.tf",
        "module \"m\" {\n  source = \"./m\"\n  count  = 300\n}\n",
    );
    ws.file(
        "m/main.tf",
        "resource \"terraform_data\" \"r\" {\n  count = 200\n}\n",
    );
    run_bounded(&ws, &["plan"], &[])
        .code(1)
        .stderr_has("Error: Too many instances")
        .stderr_has("resource \"terraform_data\" \"r\", in all the instances of its module, gives more than 50000 instances, the most a resource or module block may have.");

    ws.file(
        "m/main.tf",
        "module \"inner\" {\n  source = \"./inner\"\n  count  = 200\n}\n",
    );
    ws.file("m/inner/main.tf", "resource \"terraform_data\" \"r\" {}\n");
    run_bounded(&ws, &["plan"], &[])
        .code(1)
        .stderr_has("Error: Too many instances")
        .stderr_has("module \"inner\", in all the instances of its caller, gives more than 50000 instances, the most a resource or module block may have.");
    assert!(ws.read("state/default.json").is_none());
}

#[test]
fn decoding_deeply_nested_text_is_refused_at_the_nesting_limit() {
    let ws = Workspace::new();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    ws.file(
        "main.tf",
        &format!(
            "output \"json\" {{\n  value = jsondecode(\"{deep}\")\n}}\noutput \"yaml\" {{\n  value = yamldecode(\"{deep}\")\n}}\noutput \"fine\" {{\n  value = jsondecode(\"[[[1]]]\")\n}}\n"
        ),
    );
    // Its output shows the whole long line: not a bounded run.
    let run = ws.run(&["plan"]);
    run.code(1)
        .stderr_has("on main.tf:2:11, in output \"json\":")
        .stderr_has("Call to function \"jsondecode\" failed: arrays and objects nest deeper than 50 levels at offset 50, the most jsondecode reads.")
        .stderr_has("on main.tf:5:11, in output \"yaml\":")
        .stderr_has("Call to function \"yamldecode\" failed: on line 1, column 51: sequences and mappings nest deeper than 50 levels, the most yamldecode reads.")
        .stderr_lacks("panicked")
        .stderr_lacks("overflow");
}

/// A plan file's JSON with its digest recomputed, as someone editing it
/// by hand could.
fn with_digest_recomputed(mut doc: serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    doc["digest"] = json!("");
    let digest = Sha256::digest(serde_json::to_vec(&doc).expect("json"));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    doc["digest"] = json!(format!("sha256:{hex}"));
    doc.to_string()
}

fn plan_file(ws: &Workspace) -> serde_json::Value {
    serde_json::from_slice(&ws.read("p.plan").expect("plan file")).expect("plan JSON")
}

#[test]
fn an_edited_plan_file_is_refused_and_changes_nothing() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        "variable \"n\" {\n  default = 2\n}\nresource \"terraform_data\" \"web\" {\n  count = var.n\n  input = count.index\n}\n",
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    let state = ws.read("state/default.json").expect("state");

    // A create changed into a delete by hand: the digest no longer fits.
    ws.run(&["plan", "-var", "n=3", "-out=p.plan"]).ok();
    let text = String::from_utf8(ws.read("p.plan").expect("plan")).expect("utf-8");
    let edited = text.replacen("\"action\":\"create\"", "\"action\":\"delete\"", 1);
    assert_ne!(edited, text);
    ws.file("p.plan", &edited);
    ws.run(&["apply", "p.plan"])
        .code(1)
        .stderr_has("Error: Invalid plan file")
        .stderr_has("p.plan does not match its digest: it was changed or damaged after stackform wrote it; make the plan again.");
    assert_eq!(ws.read("state/default.json"), Some(state.clone()));

    // The same edit with the digest recomputed: the state has nothing
    // to delete there.
    ws.file(
        "p.plan",
        &with_digest_recomputed(serde_json::from_str(&edited).expect("json")),
    );
    ws.run(&["apply", "p.plan"])
        .code(1)
        .stderr_has("Error: Saved plan does not match the state and configuration")
        .stderr_has("for terraform_data.web[2], the plan says to delete an object, but the state records none there.");
    assert_eq!(ws.read("state/default.json"), Some(state.clone()));

    // An unchanged instance turned into a delete of the object the state
    // does record: the configuration still declares it.
    ws.run(&["plan", "-out=p.plan"]).ok();
    let mut doc = plan_file(&ws);
    let changes = doc["changes"].as_array_mut().expect("changes");
    let web1 = changes
        .iter_mut()
        .find(|c| c["address"] == "terraform_data.web[1]")
        .expect("web[1]");
    // The fields in the order stackform writes them, with the reason
    // planning gives a delete of a count index.
    let mut forged = serde_json::Map::new();
    for (k, v) in web1.as_object().expect("change") {
        match k.as_str() {
            "action" => {
                forged.insert(k.clone(), json!("delete"));
                forged.insert("reason".into(), json!("count_index"));
            }
            "after" => {
                forged.insert(k.clone(), serde_json::Value::Null);
            }
            _ => {
                forged.insert(k.clone(), v.clone());
            }
        }
    }
    *web1 = serde_json::Value::Object(forged);
    ws.file("p.plan", &with_digest_recomputed(doc));
    ws.run(&["apply", "p.plan"])
        .code(1)
        .stderr_has("for terraform_data.web[1], the plan deletes an object the configuration still declares.")
        .stdout_lacks("Destroying");
    assert_eq!(ws.read("state/default.json"), Some(state));

    // Made as planning makes it, the same kind of file applies.
    ws.run(&["plan", "-var", "n=1", "-out=p.plan"]).ok();
    ws.run(&["apply", "p.plan"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 0 changed, 1 destroyed.");
}

#[test]
fn saved_plans_that_move_forget_and_destroy_apply_as_planned() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        "resource \"terraform_data\" \"a\" {\n  input = 1\n}\nresource \"terraform_data\" \"gone\" {\n  input = 2\n}\nresource \"terraform_data\" \"kept\" {\n  input = 3\n}\n",
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    ws.file(
        "main.tf",
        "resource \"terraform_data\" \"b\" {\n  input = 1\n}\nmoved {\n  from = terraform_data.a\n  to   = terraform_data.b\n}\nremoved {\n  from = terraform_data.kept\n  lifecycle {\n    destroy = false\n  }\n}\n",
    );
    ws.run(&["plan", "-out=p.plan"]).ok();
    ws.run(&["apply", "p.plan"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 0 changed, 1 destroyed.");
    ws.run(&["plan", "-destroy", "-out=p.plan"]).ok();
    ws.run(&["apply", "p.plan"])
        .ok()
        .stdout_has("Destroy complete! Resources: 1 destroyed.");
}

#[test]
fn a_saved_plan_made_after_changes_outside_stackform_applies() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}\nresource \"openstack_networking_network_v2\" \"net\" {{\n  name = \"mine\"\n}}\n"
        ),
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    let id = state_attrs(&ws, "openstack_networking_network_v2.net")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let rt = runtime();
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let (status, _) = outside
            .call(
                "PUT",
                &format!("/network/v2.0/networks/{id}"),
                Some(json!({"network": {"name": "renamed"}})),
            )
            .await;
        assert_eq!(status, 200);
        outside.stop().await;
    });
    ws.run(&["plan", "-out=p.plan"])
        .ok()
        .stdout_has("Objects have changed outside of stackform");
    let doc = plan_file(&ws);
    assert_eq!(doc["drift"].as_array().map(Vec::len), Some(1));
    ws.run(&["apply", "p.plan"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    assert_eq!(
        state_attrs(&ws, "openstack_networking_network_v2.net")["name"],
        "mine"
    );
}

#[test]
fn values_nested_deeper_than_the_state_records_are_refused_before_apply() {
    let ws = Workspace::new();
    let deep = format!("{}{}", "[".repeat(60), "]".repeat(60));
    ws.file(
        "main.tf",
        &format!("resource \"terraform_data\" \"x\" {{\n  input = {deep}\n}}\n"),
    );
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("Error: Value nests too deeply")
        .stderr_has("The value of terraform_data.x nests collections more than 50 levels deep, more than the state can record.")
        .stdout_lacks("Apply complete");
    assert!(ws.read("state/default.json").is_none());
    ws.file(
        "main.tf",
        &format!("output \"x\" {{\n  value = {deep}\n}}\n"),
    );
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("on main.tf:2:11, in output \"x\":")
        .stderr_has("The output's value nests collections more than 50 levels deep, more than the state can record.");
    // Fifty levels are recorded and read back.
    let fifty = format!("{}{}", "[".repeat(50), "]".repeat(50));
    ws.file(
        "main.tf",
        &format!("resource \"terraform_data\" \"x\" {{\n  input = {fifty}\n}}\noutput \"x\" {{\n  value = {fifty}\n}}\n"),
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    ws.run(&["plan", "-detailed-exitcode"]).code(0);
}

/// A sparse file of `len` bytes: it takes no room, and is never read.
fn sparse(path: &Path, len: u64) {
    let file = std::fs::File::create(path).expect("create");
    file.set_len(len).expect("set length");
}

#[test]
fn files_larger_than_their_limit_are_refused_unread() {
    let ws = Workspace::new();
    ws.file("main.tf", "variable \"x\" {\n  default = 1\n}\n");
    sparse(&ws.path().join("big.plan"), 256 * 1024 * 1024 + 1);
    run_bounded(&ws, &["show", "big.plan"], &[])
        .code(1)
        .stderr_has(
            "big.plan: it is larger than 256 MiB, the most stackform reads of such a file.",
        );
    sparse(&ws.path().join("big.tfvars"), 16 * 1024 * 1024 + 1);
    run_bounded(&ws, &["plan", "-var-file=big.tfvars"], &[])
        .code(1)
        .stderr_has("Cannot read big.tfvars: it is larger than 16 MiB, the most stackform reads of such a file.");
    sparse(&ws.path().join("big.tf"), 16 * 1024 * 1024 + 1);
    run_bounded(&ws, &["validate"], &[])
        .code(1)
        .stderr_has("The configuration file big.tf could not be read: it is larger than 16 MiB, the most stackform reads of such a file.");

    let ws = Workspace::new();
    ws.file(
        "main.tf",
        "provider \"openstack\" {\n  cloud = \"mine\"\n}\nresource \"openstack_networking_network_v2\" \"n\" {\n  name = \"n\"\n}\n",
    );
    let clouds = ws.path().join("clouds.yaml");
    sparse(&clouds, 16 * 1024 * 1024 + 1);
    let clouds = clouds.to_str().expect("utf-8 path");
    run_bounded(
        &ws,
        &["apply", "-auto-approve"],
        &[("OS_CLIENT_CONFIG_FILE", clouds)],
    )
    .code(1)
    .stderr_has("clouds.yaml: it is larger than 16 MiB, the most stackform reads of such a file");
}
