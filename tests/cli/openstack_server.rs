//! `openstack_compute_instance_v2` end to end on the embedded devcloud:
//! builds that are waited for, in-place changes, replacement on a new
//! image, failed builds recorded as tainted, drift, import, user data
//! kept as a hash, retried polling, and destroy waiting for the servers
//! to be gone.

use super::Workspace;
use super::openstack::{Outside, PROVIDER, runtime, state_attrs};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const USER_DATA: &str = "#cloud-config\\nchpasswd:\\n  list: root:hunter2\\n";

/// The SHA1 of USER_DATA as HCL reads it (with real newlines).
fn user_data_sha1() -> String {
    use sha1::Digest;
    let text = USER_DATA.replace("\\n", "\n");
    sha1::Sha1::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The state file's record of a resource (status included).
fn state_record(ws: &Workspace, address: &str) -> Value {
    let state: Value =
        serde_json::from_slice(&ws.read("state/default.json").expect("state")).expect("json");
    state["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["address"] == address)
        .cloned()
        .unwrap_or(Value::Null)
}

/// A public image of a few bytes of raw data, made behind stackform's
/// back (Glance create, then upload).
pub(crate) async fn image(outside: &Outside, name: &str) -> String {
    let (status, made) = outside
        .call(
            "POST",
            "/image/v2/images",
            Some(json!({"name": name, "disk_format": "raw", "container_format": "bare", "visibility": "public"})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().expect("image id").to_string();
    let r = outside
        .http
        .put(format!("{}/image/v2/images/{id}/file", outside.cloud.url()))
        .header("X-Auth-Token", &outside.token)
        .header("Content-Type", "application/octet-stream")
        .body(b"a tiny disk".to_vec())
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status().as_u16(), 204);
    id
}

/// A network with one IPv4 subnet; answers the network's id.
async fn network(outside: &Outside, name: &str, cidr: &str) -> String {
    let (status, made) = outside
        .call(
            "POST",
            "/network/v2.0/networks",
            Some(json!({"network": {"name": name}})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let id = made["network"]["id"].as_str().expect("id").to_string();
    let (status, made) = outside
        .call(
            "POST",
            "/network/v2.0/subnets",
            Some(json!({"subnet": {"network_id": id, "cidr": cidr, "ip_version": 4}})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    id
}

/// The names of the servers the cloud shows (deleted ones until they
/// are gone).
async fn servers(outside: &Outside) -> Vec<String> {
    let (status, listed) = outside
        .call("GET", "/compute/v2.1/servers/detail", None)
        .await;
    assert_eq!(status, 200, "{listed}");
    listed["servers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect()
}

async fn wait_status(outside: &Outside, id: &str, wanted: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, body) = outside
            .call("GET", &format!("/compute/v2.1/servers/{id}"), None)
            .await;
        match wanted {
            "gone" if code == 404 => return,
            _ if body["server"]["status"] == wanted => return,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "server {id} never became {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn web(name: &str, image: &str, metadata: &str) -> String {
    web_tagged(name, image, metadata, "\"blue\"")
}

fn web_tagged(name: &str, image: &str, metadata: &str, tags: &str) -> String {
    format!(
        r#"
resource "openstack_compute_instance_v2" "web" {{
  name       = "{name}"
  image_name = "{image}"
  flavor_id  = "1"
  metadata   = {{ {metadata} }}
  tags       = [{tags}]
  user_data  = "{USER_DATA}"
  network {{
    name = "private"
  }}
  timeouts {{
    create = "2m"
  }}
}}
"#
    )
}

#[test]
fn a_server_is_built_changed_in_place_replaced_on_a_new_image_refreshed_imported_and_destroyed() {
    let ws = Workspace::new();
    let rt = runtime();
    let (image_a, image_b, net) = rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let a = image(&outside, "cirros-a").await;
        let b = image(&outside, "cirros-b").await;
        let net = network(&outside, "private", "10.20.0.0/24").await;
        outside.stop().await;
        (a, b, net)
    });

    ws.file(
        "main.tf",
        &format!("{PROVIDER}{}", web("web-1", "cirros-a", "role = \"web\"")),
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("+ resource \"openstack_compute_instance_v2\" \"web\"")
        .stdout_lacks("hunter2")
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    let created = state_attrs(&ws, "openstack_compute_instance_v2.web");
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["status"], "ACTIVE", "waited for the build");
    assert_eq!(created["image_id"], image_a.as_str());
    assert_eq!(created["flavor_name"], "m1.tiny");
    assert_eq!(created["network"][0]["uuid"], net.as_str());
    assert_eq!(created["network"][0]["name"], "private");
    let ip = created["network"][0]["fixed_ip_v4"].as_str().expect("ip");
    assert!(ip.starts_with("10.20.0."), "{ip}");
    assert!(
        created["network"][0]["mac"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(created["all_tags"], json!(["blue"]));
    // The user data is recorded as its hash, never as the text.
    assert_eq!(created["user_data"], user_data_sha1().as_str());
    let state_text =
        String::from_utf8(ws.read("state/default.json").expect("state")).expect("utf8");
    assert!(!state_text.contains("hunter2"));
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // Name and metadata change in place.
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}{}",
            web_tagged(
                "web-2",
                "cirros-a",
                "role = \"api\", tier = \"front\"",
                "\"green\", \"prod\""
            )
        ),
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("~ resource \"openstack_compute_instance_v2\" \"web\"")
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    let updated = state_attrs(&ws, "openstack_compute_instance_v2.web");
    assert_eq!(updated["id"], id.as_str(), "updated in place");
    assert_eq!(updated["name"], "web-2");
    assert_eq!(updated["metadata"], json!({"role": "api", "tier": "front"}));
    assert_eq!(updated["all_tags"], json!(["green", "prod"]));
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let (_, s) = outside
            .call("GET", &format!("/compute/v2.1/servers/{id}"), None)
            .await;
        assert_eq!(s["server"]["name"], "web-2");
        // The user's metadata, and the marker stackform wrote at create
        // (kept by the update).
        let lineage = ws_state_lineage(&ws);
        let metadata = &s["server"]["metadata"];
        assert_eq!(metadata["role"], "api");
        assert_eq!(metadata["tier"], "front");
        assert_eq!(
            metadata["stackform_address"],
            "openstack_compute_instance_v2.web"
        );
        assert_eq!(metadata["stackform_lineage"], lineage.as_str());
        assert_eq!(metadata["stackform_token"].as_str().map(str::len), Some(16));
        assert_eq!(metadata.as_object().map(|m| m.len()), Some(5), "{metadata}");
        outside.stop().await;
    });

    // A new image replaces the server: never an in-place rebuild.
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}{}",
            web("web-2", "cirros-b", "role = \"api\", tier = \"front\"")
        ),
    );
    ws.run(&["plan"])
        .ok()
        .stdout_has("-/+ resource \"openstack_compute_instance_v2\" \"web\"")
        .stdout_has("image_name")
        .stdout_has("# forces replacement")
        .stdout_lacks("~ resource \"openstack_compute_instance_v2\"");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 1 destroyed.");
    let replaced = state_attrs(&ws, "openstack_compute_instance_v2.web");
    assert_ne!(replaced["id"], id.as_str(), "replaced");
    assert_eq!(replaced["image_id"], image_b.as_str());
    let id = replaced["id"].as_str().expect("id").to_string();

    // Renamed behind stackform's back: planned back.
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let (status, _) = outside
            .call(
                "PUT",
                &format!("/compute/v2.1/servers/{id}"),
                Some(json!({"server": {"name": "renamed"}})),
            )
            .await;
        assert_eq!(status, 200);
        outside.stop().await;
    });
    ws.run(&["plan"])
        .ok()
        .stdout_has("Objects have changed outside of stackform")
        .stdout_has("~ resource \"openstack_compute_instance_v2\" \"web\"")
        .stdout_has("\"renamed\" -> \"web-2\"");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");

    // Deleted behind stackform's back: created again.
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let (status, _) = outside
            .call("DELETE", &format!("/compute/v2.1/servers/{id}"), None)
            .await;
        assert_eq!(status, 204);
        wait_status(&outside, &id, "gone").await;
        outside.stop().await;
    });
    ws.run(&["plan"])
        .ok()
        .stdout_has("+ resource \"openstack_compute_instance_v2\" \"web\"");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");

    // A server made by hand is imported with its network.
    let by_hand = rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let (status, made) = outside
            .call(
                "POST",
                "/compute/v2.1/servers",
                Some(json!({"server": {"name": "by-hand", "imageRef": image_a, "flavorRef": "1", "networks": [{"uuid": net}]}})),
            )
            .await;
        assert_eq!(status, 202, "{made}");
        let id = made["server"]["id"].as_str().expect("id").to_string();
        wait_status(&outside, &id, "ACTIVE").await;
        outside.stop().await;
        id
    });
    let by_hand_config = format!(
        "\nresource \"openstack_compute_instance_v2\" \"by_hand\" {{\n  name      = \"by-hand\"\n  image_id  = \"{image_a}\"\n  flavor_id = \"1\"\n  network {{\n    uuid = \"{net}\"\n  }}\n}}\n"
    );
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}{}{by_hand_config}",
            web("web-2", "cirros-b", "role = \"api\", tier = \"front\"")
        ),
    );
    ws.run(&["import", "openstack_compute_instance_v2.by_hand", &by_hand])
        .ok()
        .stdout_has("Import successful!");
    let imported = state_attrs(&ws, "openstack_compute_instance_v2.by_hand");
    assert_eq!(imported["flavor_id"], "1");
    assert_eq!(imported["image_name"], "cirros-a");
    assert_eq!(imported["network"][0]["uuid"], net.as_str());
    assert!(
        imported["network"][0]["fixed_ip_v4"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.20.0."))
    );
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    ws.run(&["destroy", "-auto-approve"])
        .ok()
        .stdout_has("Destroy complete! Resources: 2 destroyed.");
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        // Destroy waited for the servers to be gone (404), not only for
        // Nova to accept the deletes.
        assert_eq!(servers(&outside).await, Vec::<String>::new());
        outside.stop().await;
    });
}

#[test]
fn a_failed_build_fails_the_apply_with_novas_fault_and_is_replaced_next_time() {
    let ws = Workspace::new();
    let rt = runtime();
    let image_id = rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let id = image(&outside, "cirros").await;
        network(&outside, "private", "10.30.0.0/24").await;
        // The build's polling meets a 503 once: the client retries it.
        let (status, _) = outside
            .call(
                "POST",
                "/devcloud/faults",
                Some(json!({"method": "GET", "path": "/compute/v2.1/servers/*", "status": 503, "retry_after": 1, "count": 1})),
            )
            .await;
        assert_eq!(status, 201);
        let (status, _) = outside
            .call(
                "POST",
                "/devcloud/server-errors",
                Some(json!({"name": "broken*", "message": "No valid host was found."})),
            )
            .await;
        assert_eq!(status, 201);
        outside.stop().await;
        id
    });
    let server = |label: &str, name: &str| {
        format!(
            "\nresource \"openstack_compute_instance_v2\" \"{label}\" {{\n  name        = \"{name}\"\n  image_id    = \"{image_id}\"\n  flavor_name = \"m1.tiny\"\n}}\n"
        )
    };

    ws.file("main.tf", &format!("{PROVIDER}{}", server("app", "fine-1")));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    assert_eq!(
        state_attrs(&ws, "openstack_compute_instance_v2.app")["status"],
        "ACTIVE"
    );
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let (_, faults) = outside.call("GET", "/devcloud/faults", None).await;
        assert_eq!(faults["faults"], json!([]), "the 503 was met");
        outside.stop().await;
    });

    // A server whose build fails: the apply fails with Nova's fault.
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}{}{}",
            server("app", "fine-1"),
            server("bad", "broken-1")
        ),
    );
    let run = ws.run(&["apply", "-auto-approve"]);
    run.code(1).stderr_has("No valid host was found.");
    let record = state_record(&ws, "openstack_compute_instance_v2.bad");
    assert_eq!(record["status"], "tainted", "{record}");
    let broken = record["attributes"]["id"].as_str().expect("id").to_string();
    run.stderr_has(&broken);
    assert_eq!(record["attributes"]["status"], "ERROR");

    ws.run(&["plan"])
        .ok()
        .stdout_has("is tainted, so must be replaced")
        .stdout_has("-/+ resource \"openstack_compute_instance_v2\" \"bad\"")
        .stdout_has("Plan: 1 to add, 0 to change, 1 to destroy.");

    // Once the cloud builds it, the tainted server is replaced.
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let (status, _) = outside
            .call("DELETE", "/devcloud/server-errors", None)
            .await;
        assert_eq!(status, 204);
        outside.stop().await;
    });
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 1 destroyed.");
    let now = state_record(&ws, "openstack_compute_instance_v2.bad");
    assert_eq!(now["status"], "ok");
    assert_ne!(now["attributes"]["id"], broken.as_str());
    ws.run(&["destroy", "-auto-approve"]).ok();
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        assert_eq!(servers(&outside).await, Vec::<String>::new());
        outside.stop().await;
    });
}

/// The refresh of many servers takes a fixed number of API calls: one
/// server list and one ports list per 80 servers, none per server. The
/// cloud runs here, outside the commands, so that its request counts
/// cover a whole `plan`.
#[test]
fn refreshing_many_servers_takes_a_constant_number_of_requests() {
    const SERVERS: usize = 90;
    let ws = Workspace::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (outside, image_id) = rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let image_id = image(&outside, "cirros").await;
        network(&outside, "private", "10.40.0.0/24").await;
        (outside, image_id)
    });
    ws.file(
        "main.tf",
        &format!(
            "provider \"openstack\" {{\n  cloud = \"devcloud\"\n}}\n\nresource \"openstack_compute_instance_v2\" \"many\" {{\n  count     = {SERVERS}\n  name      = \"many-${{count.index}}\"\n  image_id  = \"{image_id}\"\n  flavor_id = \"1\"\n}}\n"
        ),
    );
    let clouds = ws.path().join("cloud/clouds.yaml");
    let run = |args: &[&str]| ws.cmd(args).env("OS_CLIENT_CONFIG_FILE", &clouds).run();
    run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has(&format!("Apply complete! Resources: {SERVERS} added"));
    let counts = |reset: bool| {
        rt.block_on(async {
            if reset {
                outside.call("DELETE", "/devcloud/requests", None).await;
            }
            outside.call("GET", "/devcloud/requests", None).await.1
        })
    };
    counts(true);
    run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
    let served = counts(false);
    let requests = &served["requests"];
    assert_eq!(requests["GET /compute/v2.1/servers/detail"], 1, "{served}");
    assert_eq!(requests["GET /network/v2.0/ports"], 2, "{served}");
    assert!(
        requests["GET /compute/v2.1/servers/{id}"].is_null(),
        "no server is read on its own: {served}"
    );
    assert!(served["total"].as_u64().is_some_and(|t| t <= 5), "{served}");

    // Deleted servers linger half a second: destroy waits them out.
    rt.block_on(async {
        let (status, _) = outside
            .call(
                "PUT",
                "/devcloud/settings",
                Some(json!({"delete_time": 0.5})),
            )
            .await;
        assert_eq!(status, 200);
    });
    run(&["destroy", "-auto-approve"]).ok();
    rt.block_on(async {
        assert_eq!(servers(&outside).await, Vec::<String>::new());
        outside.stop().await;
    });
}

#[test]
fn names_that_match_nothing_or_several_and_conflicting_arguments_are_errors() {
    let ws = Workspace::new();
    let rt = runtime();
    let image_id = rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let id = image(&outside, "cirros").await;
        network(&outside, "twin", "10.50.0.0/24").await;
        network(&outside, "twin", "10.51.0.0/24").await;
        outside.stop().await;
        id
    });
    let server = |body: &str| {
        format!(
            "{PROVIDER}\nresource \"openstack_compute_instance_v2\" \"s\" {{\n  name = \"s\"\n{body}\n}}\n"
        )
    };
    ws.file(
        "main.tf",
        &server("  image_name = \"nope\"\n  flavor_id = \"1\"\n  network_mode = \"none\""),
    );
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("No image is named \"nope\"");
    ws.file(
        "main.tf",
        &server(&format!(
            "  image_id = \"{image_id}\"\n  flavor_name = \"m1.huge\"\n  network_mode = \"none\""
        )),
    );
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("No flavor is named \"m1.huge\"");
    ws.file(
        "main.tf",
        &server(&format!(
            "  image_id = \"{image_id}\"\n  flavor_id = \"1\"\n  network {{\n    name = \"twin\"\n  }}"
        )),
    );
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("2 networks are named \"twin\"");
    ws.file(
        "main.tf",
        &server(&format!(
            "  image_id = \"{image_id}\"\n  flavor_id = \"1\"\n  network_mode = \"auto\"\n  network {{\n    name = \"twin\"\n  }}"
        )),
    );
    ws.run(&["plan"])
        .code(1)
        .stderr_has("network_mode and network blocks cannot be used together");
    // Nothing was left behind by the refused creates.
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        assert_eq!(servers(&outside).await, Vec::<String>::new());
        outside.stop().await;
    });
}

/// The Terraform provider's `changeFixedIP` scenario: a new fixed address
/// replaces the server (a port's address cannot move), and the new one
/// has the address asked for.
#[test]
fn a_new_fixed_ip_replaces_the_server() {
    let ws = Workspace::new();
    let rt = runtime();
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        image(&outside, "cirros").await;
        network(&outside, "private", "10.30.0.0/24").await;
        outside.stop().await;
    });
    let config = |ip: &str| {
        format!(
            "{PROVIDER}resource \"openstack_compute_instance_v2\" \"db\" {{\n  name       = \"db\"\n  image_name = \"cirros\"\n  flavor_id  = \"1\"\n  network {{\n    name        = \"private\"\n    fixed_ip_v4 = \"{ip}\"\n  }}\n}}\n"
        )
    };
    ws.file("main.tf", &config("10.30.0.50"));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added");
    let first = state_attrs(&ws, "openstack_compute_instance_v2.db");
    assert_eq!(first["network"][0]["fixed_ip_v4"], "10.30.0.50");
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    ws.file("main.tf", &config("10.30.0.51"));
    ws.run(&["plan"])
        .ok()
        .stdout_has("-/+ resource \"openstack_compute_instance_v2\" \"db\"")
        .stdout_has("# forces replacement");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 1 destroyed.");
    let second = state_attrs(&ws, "openstack_compute_instance_v2.db");
    assert_ne!(second["id"], first["id"], "a new server");
    assert_eq!(second["network"][0]["fixed_ip_v4"], "10.30.0.51");
    ws.run(&["destroy", "-auto-approve"]).ok();
}

/// Tokens that expire during an apply (1 s lifetime, 2.5 s builds): the
/// provider renews them and the apply succeeds, with more than one token
/// issued. The cloud is a separate, running devcloud found through
/// clouds.yaml and OS_CLOUD, as a real cloud would be.
#[test]
fn tokens_expiring_mid_apply_are_renewed() {
    let ws = Workspace::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut options = stackform::devcloud::Options::ephemeral(&ws.path().join("remote"));
    options.token_ttl = Duration::from_secs(1);
    options.build_time = Duration::from_millis(2500);
    let outside = rt.block_on(async {
        let outside = Outside::start_with(options).await;
        image(&outside, "cirros").await;
        network(&outside, "private", "10.40.0.0/24").await;
        outside.call("DELETE", "/devcloud/requests", None).await;
        outside
    });
    ws.file(
        "main.tf",
        "resource \"openstack_compute_instance_v2\" \"slow\" {\n  name       = \"slow\"\n  image_name = \"cirros\"\n  flavor_id  = \"1\"\n  network {\n    name = \"private\"\n  }\n}\n",
    );
    let clouds_yaml = ws.path().join("remote/clouds.yaml");
    ws.cmd(&["apply", "-auto-approve"])
        .env("OS_CLIENT_CONFIG_FILE", &clouds_yaml)
        .env("OS_CLOUD", "devcloud")
        .run()
        .ok()
        .stdout_has("Apply complete! Resources: 1 added");
    let (_, counted) = rt.block_on(outside.call("GET", "/devcloud/requests", None));
    let tokens = counted["requests"]["POST /identity/v3/auth/tokens"]
        .as_u64()
        .unwrap_or(0);
    assert!(tokens >= 2, "the token was renewed: {counted}");
    rt.block_on(outside.stop());
}

/// The server's status as the cloud shows it.
async fn status_of(outside: &Outside, id: &str) -> String {
    let (code, body) = outside
        .call("GET", &format!("/compute/v2.1/servers/{id}"), None)
        .await;
    assert_eq!(code, 200, "{body}");
    body["server"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The reference's scenario 7: power states set at create, changed in
/// place (stop, pause, shelve, start), drift planned back, and a value
/// Nova has no action for refused while planning.
#[test]
fn power_states_are_set_at_create_changed_in_place_and_planned_back() {
    let ws = Workspace::new();
    let rt = runtime();
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        image(&outside, "cirros").await;
        network(&outside, "private", "10.40.0.0/24").await;
        outside.stop().await;
    });
    let config = |power: &str| {
        format!(
            "{PROVIDER}resource \"openstack_compute_instance_v2\" \"vm\" {{\n  name       = \"vm\"\n  image_name = \"cirros\"\n  flavor_id  = \"1\"\n{power}  network {{\n    name = \"private\"\n  }}\n}}\n"
        )
    };
    ws.file("main.tf", &config("  power_state = \"shutoff\"\n"));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added");
    let created = state_attrs(&ws, "openstack_compute_instance_v2.vm");
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["power_state"], "shutoff");
    assert_eq!(created["status"], "SHUTOFF");
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    for (power, status) in [
        ("paused", "PAUSED"),
        ("shelved_offloaded", "SHELVED_OFFLOADED"),
        ("shutoff", "SHUTOFF"),
    ] {
        ws.file(
            "main.tf",
            &config(&format!("  power_state = \"{power}\"\n")),
        );
        ws.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("~ resource \"openstack_compute_instance_v2\" \"vm\"")
            .stdout_has(&format!("-> \"{power}\""))
            .stdout_lacks("forces replacement")
            .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
        let now = state_attrs(&ws, "openstack_compute_instance_v2.vm");
        assert_eq!(now["id"], id.as_str(), "{power}: changed in place");
        assert_eq!(now["power_state"], power);
        rt.block_on(async {
            let outside = Outside::start(&ws).await;
            assert_eq!(status_of(&outside, &id).await, status, "{power}");
            outside.stop().await;
        });
        ws.run(&["plan", "-detailed-exitcode"])
            .code(0)
            .stdout_has("No changes.");
    }

    // Left out, the server is wanted running.
    ws.file("main.tf", &config(""));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("\"shutoff\" -> \"active\"")
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");

    // Paused behind stackform's back: drift, planned back.
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let (code, body) = outside
            .call(
                "POST",
                &format!("/compute/v2.1/servers/{id}/action"),
                Some(json!({"pause": null})),
            )
            .await;
        assert_eq!(code, 202, "{body}");
        outside.stop().await;
    });
    ws.run(&["plan"])
        .ok()
        .stdout_has("Objects have changed outside of stackform")
        .stdout_has("\"paused\" -> \"active\"");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        assert_eq!(status_of(&outside, &id).await, "ACTIVE");
        outside.stop().await;
    });

    let before = ws.read("state/default.json").expect("state");
    ws.file("main.tf", &config("  power_state = \"hibernated\"\n"));
    ws.run(&["plan"])
        .code(1)
        .stderr_has("Invalid power_state")
        .stderr_has("openstack_compute_instance_v2.vm")
        .stderr_has("\"active\", \"shutoff\", \"shelved_offloaded\", \"paused\"");
    assert_eq!(ws.read("state/default.json").expect("state"), before);
    ws.file("main.tf", &config(""));
    ws.run(&["destroy", "-auto-approve"]).ok();
}

/// A new flavor resizes the server in place (resize, then confirm), a
/// new password and new security groups are set in place too, a resize
/// made outside is seen as drift, and Nova's refusal to shrink a disk is
/// reported with its message.
#[test]
fn a_new_flavor_password_or_security_group_changes_the_server_in_place() {
    let ws = Workspace::new();
    let rt = runtime();
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        image(&outside, "cirros").await;
        network(&outside, "private", "10.41.0.0/24").await;
        let (code, body) = outside
            .call(
                "POST",
                "/network/v2.0/security-groups",
                Some(json!({"security_group": {"name": "web"}})),
            )
            .await;
        assert_eq!(code, 201, "{body}");
        outside.stop().await;
    });
    let config = |flavor: &str, password: &str, groups: &str| {
        format!(
            "{PROVIDER}resource \"openstack_compute_instance_v2\" \"app\" {{\n  name            = \"app\"\n  image_name      = \"cirros\"\n  flavor_name     = \"{flavor}\"\n  admin_pass      = \"{password}\"\n  security_groups = [{groups}]\n  network {{\n    name = \"private\"\n  }}\n}}\n"
        )
    };
    ws.file(
        "main.tf",
        &config("m1.tiny", "first-Secret-1", "\"default\""),
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_lacks("first-Secret-1")
        .stdout_has("Apply complete! Resources: 1 added");
    let created = state_attrs(&ws, "openstack_compute_instance_v2.app");
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["flavor_id"], "1");

    ws.file(
        "main.tf",
        &config("m1.small", "second-Secret-2", "\"default\", \"web\""),
    );
    ws.run(&["plan"])
        .ok()
        .stdout_has("~ resource \"openstack_compute_instance_v2\" \"app\"")
        .stdout_has("\"m1.tiny\" -> \"m1.small\"")
        .stdout_has("(known after apply)")
        .stdout_has("+ \"web\"")
        .stdout_has("(sensitive value)")
        .stdout_lacks("Secret-")
        .stdout_lacks("forces replacement");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_lacks("Secret-")
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    let resized = state_attrs(&ws, "openstack_compute_instance_v2.app");
    assert_eq!(resized["id"], id.as_str(), "resized in place");
    assert_eq!(resized["flavor_id"], "2");
    assert_eq!(resized["flavor_name"], "m1.small");
    assert_eq!(resized["status"], "ACTIVE", "the resize was confirmed");
    assert_eq!(resized["security_groups"], json!(["default", "web"]));
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let (_, s) = outside
            .call("GET", &format!("/compute/v2.1/servers/{id}"), None)
            .await;
        assert_eq!(s["server"]["flavor"]["original_name"], "m1.small");
        let (_, ports) = outside
            .call("GET", &format!("/network/v2.0/ports?device_id={id}"), None)
            .await;
        assert_eq!(
            ports["ports"][0]["security_groups"]
                .as_array()
                .map(Vec::len),
            Some(2),
            "{ports}"
        );
        outside.stop().await;
    });
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // Resized outside to m1.medium: drift, and the way back would shrink
    // the disk, which Nova refuses.
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let action = format!("/compute/v2.1/servers/{id}/action");
        let resize = json!({"resize": {"flavorRef": "3"}});
        assert_eq!(outside.call("POST", &action, Some(resize)).await.0, 202);
        wait_status(&outside, &id, "VERIFY_RESIZE").await;
        let confirm = json!({"confirmResize": null});
        assert_eq!(outside.call("POST", &action, Some(confirm)).await.0, 202);
        outside.stop().await;
    });
    ws.run(&["plan"])
        .ok()
        .stdout_has("Objects have changed outside of stackform")
        .stdout_has("\"m1.medium\" -> \"m1.small\"");
    ws.run(&["apply", "-auto-approve"])
        .code(1)
        .stderr_has("Unable to resize disk down.")
        .stderr_has("openstack_compute_instance_v2.app");
    // The configuration follows the cloud: the flavor's id was read
    // again when its name changed.
    ws.file(
        "main.tf",
        &config("m1.medium", "second-Secret-2", "\"default\", \"web\""),
    );
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 0 changed, 0 destroyed.");
    assert_eq!(
        state_attrs(&ws, "openstack_compute_instance_v2.app")["flavor_id"],
        "3"
    );

    // Groups removed in place.
    ws.file(
        "main.tf",
        &config("m1.medium", "second-Secret-2", "\"default\""),
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("- \"web\"")
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    ws.run(&["destroy", "-auto-approve"]).ok();
    let state_text =
        String::from_utf8(ws.read("state/default.json").expect("state")).expect("utf8");
    assert!(!state_text.contains("Secret-1"));
}

/// A resize and a stop are in-place updates that disrupt the server: the
/// plan says so on the resource's header and under the summary, the
/// saved plan carries the reason into `show -json` and `show -markdown`,
/// and applying it resizes the same server.
#[test]
fn a_resize_or_a_stop_is_planned_as_a_disruptive_update() {
    let ws = Workspace::new();
    let rt = runtime();
    let image_id = rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let id = image(&outside, "cirros").await;
        outside.stop().await;
        id
    });
    let config = |flavor: &str, power: &str| {
        format!(
            "{PROVIDER}resource \"openstack_compute_instance_v2\" \"web\" {{\n  name         = \"web\"\n  image_id     = \"{image_id}\"\n  flavor_name  = \"{flavor}\"\n  power_state  = \"{power}\"\n  network_mode = \"none\"\n}}\n"
        )
    };
    ws.file("main.tf", &config("m1.tiny", "active"));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_lacks("disrupt")
        .stdout_has("Apply complete! Resources: 1 added");
    let id = state_attrs(&ws, "openstack_compute_instance_v2.web")["id"]
        .as_str()
        .expect("id")
        .to_string();

    ws.file("main.tf", &config("m1.small", "active"));
    ws.run(&["plan", "-out=resize.plan"])
        .ok()
        .stdout_has("# openstack_compute_instance_v2.web will be updated in-place, disruptively: the server is resized: Nova stops it, moves it to the new flavor and restarts it\n")
        .stdout_has("Plan: 0 to add, 1 to change, 0 to destroy.\nWarning: 1 in-place update disrupts its object.\n");
    let shown = ws.run(&["show", "-json", "resize.plan"]);
    shown.ok();
    let change = &shown.json()["resource_changes"][0];
    assert_eq!(change["change"]["actions"], json!(["update"]));
    assert_eq!(
        change["disruption"],
        "the server is resized: Nova stops it, moves it to the new flavor and restarts it"
    );
    ws.run(&["show", "-markdown", "resize.plan"])
        .ok()
        .stdout_has("> **1 in-place update disrupts its object**\n> - `openstack_compute_instance_v2.web`: the server is resized")
        .stdout_has("| ⚠️ **🟡 update in-place, disruptive** | `openstack_compute_instance_v2.web` | the server is resized");
    ws.run(&["apply", "resize.plan"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    let resized = state_attrs(&ws, "openstack_compute_instance_v2.web");
    assert_eq!(resized["id"], id.as_str(), "resized in place");
    assert_eq!(resized["flavor_name"], "m1.small");
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    ws.file("main.tf", &config("m1.small", "shutoff"));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("will be updated in-place, disruptively: the server is stopped\n")
        .stdout_has("Warning: 1 in-place update disrupts its object.")
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    // Starting it again disrupts nothing.
    ws.file("main.tf", &config("m1.small", "active"));
    ws.run(&["plan"])
        .ok()
        .stdout_has("# openstack_compute_instance_v2.web will be updated in-place\n")
        .stdout_lacks("disrupt");
    ws.run(&["destroy", "-auto-approve"]).ok();
}

/// The lineage of the workspace's state.
fn ws_state_lineage(ws: &Workspace) -> String {
    let state: Value =
        serde_json::from_slice(&ws.read("state/default.json").expect("state")).expect("json");
    state["lineage"].as_str().expect("lineage").to_string()
}
