//! The OpenStack resource types end to end: the real binary against the
//! embedded devcloud (`auth_url = "devcloud://cloud"`), which each command
//! starts on a free loopback port and stops, saving its data, when it
//! ends. Between commands a test may start the same cloud itself to look
//! at it or to change things behind stackform's back.

use super::Workspace;
use serde_json::{Value, json};
use stackform::devcloud::{DevCloud, Options};

pub(crate) const PROVIDER: &str =
    "provider \"openstack\" {\n  auth_url = \"devcloud://cloud\"\n}\n";

/// The workspace's cloud, started in-process between two commands.
pub(crate) struct Outside {
    pub(crate) cloud: DevCloud,
    pub(crate) http: reqwest::Client,
    pub(crate) token: String,
}

impl Outside {
    pub(crate) async fn start(ws: &Workspace) -> Outside {
        Outside::start_with(Options::ephemeral(&ws.path().join("cloud"))).await
    }

    /// A cloud with other options (token lifetime, build time), which may
    /// keep serving while stackform runs when started on a multi-threaded
    /// runtime.
    pub(crate) async fn start_with(options: Options) -> Outside {
        let cloud = DevCloud::start(options).await.expect("devcloud starts");
        let http = reqwest::Client::new();
        let password = cloud.password("admin").expect("admin password");
        let body = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}
        }});
        let r = http
            .post(format!("{}/identity/v3/auth/tokens", cloud.url()))
            .json(&body)
            .send()
            .await
            .expect("token");
        let token = r
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .expect("X-Subject-Token")
            .to_string();
        Outside { cloud, http, token }
    }

    pub(crate) async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.cloud.url()))
            .header("X-Auth-Token", &self.token)
            .header("OpenStack-API-Version", "compute 2.79");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub(crate) async fn stop(self) {
        self.cloud.stop().await.expect("devcloud stops");
    }
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The attributes of a resource in the state file.
pub(crate) fn state_attrs(ws: &Workspace, address: &str) -> Value {
    let state: Value =
        serde_json::from_slice(&ws.read("state/default.json").expect("state")).expect("json");
    state["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["address"] == address)
        .map(|r| r["attributes"].clone())
        .unwrap_or(Value::Null)
}

const FLAVOR: &str = r#"
resource "openstack_compute_flavor_v2" "small" {
  name        = "stack.small"
  ram         = 512
  vcpus       = 1
  disk        = 5
  description = "for tests"
  extra_specs = {
    "hw:cpu_policy" = "shared"
    "quota:cpu_shares" = "1024"
  }
}
"#;

#[test]
fn a_flavor_is_created_updated_in_place_replaced_refreshed_imported_and_destroyed() {
    let ws = Workspace::new();
    ws.file("main.tf", &format!("{PROVIDER}{FLAVOR}"));
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("+ resource \"openstack_compute_flavor_v2\" \"small\"")
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    let created = state_attrs(&ws, "openstack_compute_flavor_v2.small");
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["swap"], 0);
    assert_eq!(created["is_public"], true);
    assert_eq!(created["extra_specs"]["hw:cpu_policy"], "shared");
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    // Description and extra specs change in place.
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}{}",
            FLAVOR.replace("for tests", "for the tests").replace(
                "    \"quota:cpu_shares\" = \"1024\"\n",
                "    \"hw:mem_page_size\" = \"large\"\n"
            )
        ),
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("~ resource \"openstack_compute_flavor_v2\" \"small\"")
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    let updated = state_attrs(&ws, "openstack_compute_flavor_v2.small");
    assert_eq!(updated["id"], id.as_str(), "updated in place");
    assert_eq!(updated["description"], "for the tests");
    assert_eq!(
        updated["extra_specs"],
        json!({"hw:cpu_policy": "shared", "hw:mem_page_size": "large"})
    );

    // The shape replaces it.
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}{}",
            FLAVOR.replace("ram         = 512", "ram         = 1024")
        ),
    );
    ws.run(&["plan"])
        .ok()
        .stdout_has("-/+ resource \"openstack_compute_flavor_v2\" \"small\"")
        .stdout_has("# forces replacement");
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 1 destroyed.");
    let replaced = state_attrs(&ws, "openstack_compute_flavor_v2.small");
    assert_ne!(replaced["id"], id.as_str(), "replaced");
    let id = replaced["id"].as_str().expect("id").to_string();

    // Behind stackform's back: an extra spec is removed, and a flavor is
    // made by hand to be imported.
    let rt = runtime();
    let imported_id = rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let (status, _) = outside
            .call(
                "DELETE",
                &format!("/compute/v2.1/flavors/{id}/os-extra_specs/hw:cpu_policy"),
                None,
            )
            .await;
        assert_eq!(status, 200);
        let (status, made) = outside
            .call(
                "POST",
                "/compute/v2.1/flavors",
                Some(json!({"flavor": {"name": "by.hand", "ram": 256, "vcpus": 1, "disk": 1}})),
            )
            .await;
        assert_eq!(status, 200);
        outside.stop().await;
        made["flavor"]["id"].as_str().expect("id").to_string()
    });
    ws.run(&["plan"])
        .ok()
        .stdout_has("Objects have changed outside of stackform")
        .stdout_has("# openstack_compute_flavor_v2.small has changed")
        .stdout_has("~ resource \"openstack_compute_flavor_v2\" \"small\"")
        .stdout_has("+ \"hw:cpu_policy\"    = \"shared\"");

    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}{}\nresource \"openstack_compute_flavor_v2\" \"by_hand\" {{\n  name  = \"by.hand\"\n  ram   = 256\n  vcpus = 1\n  disk  = 1\n}}\n",
            FLAVOR.replace("ram         = 512", "ram         = 1024")
        ),
    );
    ws.run(&[
        "import",
        "openstack_compute_flavor_v2.by_hand",
        &imported_id,
    ])
    .ok()
    .stdout_has("Import successful!");
    assert_eq!(
        state_attrs(&ws, "openstack_compute_flavor_v2.by_hand")["name"],
        "by.hand"
    );
    ws.run(&["apply", "-auto-approve"])
        .ok()
        .stdout_has("Apply complete! Resources: 0 added, 1 changed, 0 destroyed.");
    ws.run(&["plan", "-detailed-exitcode"])
        .code(0)
        .stdout_has("No changes.");

    ws.run(&["destroy", "-auto-approve"])
        .ok()
        .stdout_has("Destroy complete! Resources: 2 destroyed.");
    rt.block_on(async {
        let outside = Outside::start(&ws).await;
        let (_, listed) = outside
            .call("GET", "/compute/v2.1/flavors?is_public=None", None)
            .await;
        let names: Vec<&str> = listed["flavors"]
            .as_array()
            .expect("flavors")
            .iter()
            .filter_map(|f| f["name"].as_str())
            .collect();
        assert!(
            !names.contains(&"stack.small") && !names.contains(&"by.hand"),
            "{names:?}"
        );
        outside.stop().await;
    });
}

/// Bad credentials, an unreachable cloud and a reference to an image that
/// does not exist: each a clear error naming what failed (with the
/// request id for API errors), no secret shown, and nothing half-written
/// to the state.
#[test]
fn cloud_errors_are_clear_and_leave_the_state_alone() {
    let ws = Workspace::new();
    ws.file("main.tf", &format!("{PROVIDER}{FLAVOR}"));
    ws.run(&["apply", "-auto-approve"]).ok();
    let state = ws.read("state/default.json").expect("state");

    // A wrong password, given explicitly over the embedded cloud's own.
    ws.file(
        "main.tf",
        &format!(
            "provider \"openstack\" {{\n  auth_url  = \"devcloud://cloud\"\n  user_name = \"admin\"\n  password  = \"not-the-password\"\n  tenant_name = \"admin\"\n}}\n{FLAVOR}"
        ),
    );
    let run = ws.run(&["plan"]);
    run.code(1)
        .stderr_has("Error: Authentication failed")
        .stderr_has("admin");
    assert!(!run.stderr.contains("not-the-password") && !run.stdout.contains("not-the-password"));
    assert!(
        ws.read("state/default.json").expect("state") == state,
        "the state changed"
    );

    // Nobody listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    ws.file(
        "main.tf",
        &format!(
            "provider \"openstack\" {{\n  auth_url  = \"http://127.0.0.1:{port}/identity/v3\"\n  user_name = \"admin\"\n  password  = \"secret\"\n  tenant_name = \"admin\"\n}}\n{FLAVOR}"
        ),
    );
    ws.run(&["plan"])
        .code(1)
        .stderr_has(&format!("127.0.0.1:{port}"))
        .stderr_has("unreachable");
    assert!(
        ws.read("state/default.json").expect("state") == state,
        "the state changed"
    );

    // A server on an image that does not exist: Nova's refusal, with its
    // request id; the flavor already there stays as it was.
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}{FLAVOR}\nresource \"openstack_compute_instance_v2\" \"vm\" {{\n  name      = \"vm\"\n  image_id  = \"9b9a7a4e-0000-4000-8000-000000000000\"\n  flavor_id = openstack_compute_flavor_v2.small.id\n  network_mode = \"none\"\n}}\n"
        ),
    );
    let run = ws.run(&["apply", "-auto-approve"]);
    run.code(1)
        .stderr_has("9b9a7a4e-0000-4000-8000-000000000000")
        .stderr_has("req-");
    let after: Value =
        serde_json::from_slice(&ws.read("state/default.json").expect("state")).expect("json");
    let addresses: Vec<&str> = after["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["address"].as_str())
        .collect();
    assert_eq!(
        addresses,
        ["openstack_compute_flavor_v2.small"],
        "no server recorded"
    );
}

/// `STACKFORM_API_RECORD` records the shape of every answer (service,
/// method, path, status, field names and types) and never a value: the
/// server's generated admin password and the token stay out of it.
#[test]
fn api_recordings_hold_shapes_and_no_secrets() {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        &format!(
            "{PROVIDER}resource \"openstack_networking_network_v2\" \"n\" {{\n  name = \"recorded\"\n}}\n"
        ),
    );
    let recording = ws.path().join("api.jsonl");
    ws.cmd(&["apply", "-auto-approve"])
        .env("STACKFORM_API_RECORD", &recording)
        .run()
        .ok();
    let text = std::fs::read_to_string(&recording).expect("a recording");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let token = lines
        .iter()
        .find(|l| l["path"] == "/auth/tokens")
        .expect("the token request");
    assert_eq!(token["service"], "identity");
    assert_eq!(token["status"], 201);
    assert_eq!(token["body"]["token"]["expires_at"], "string");
    let created = lines
        .iter()
        .find(|l| l["method"] == "POST" && l["path"] == "/networks")
        .expect("the network create");
    assert_eq!(created["service"], "network");
    assert_eq!(created["status"], 201);
    assert_eq!(created["content_type"], "application/json");
    assert_eq!(created["body"]["network"]["mtu"], "integer");
    assert_eq!(created["body"]["network"]["name"], "string");
    assert!(!text.contains("recorded"), "no values: {text}");
    ws.run(&["destroy", "-auto-approve"]).ok();
}
