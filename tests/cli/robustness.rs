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
