//! Robustness: input at the edge of what stackform accepts, and clouds
//! that stumble. Each case either works or is refused with a message that
//! names the flag, file or expression at fault; nothing panics, hangs or
//! runs out of memory.

use super::Workspace;
use super::openstack::{Outside, PROVIDER, runtime, state_attrs};
use serde_json::json;

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
