//! Acceptance tests against a real OpenStack, gated as the Terraform
//! provider's are (`TF_ACC`): they run only with `STACKFORM_ACC=1`,
//! against each cloud named in `STACKFORM_ACC_CLOUDS` (comma-separated
//! names in the clouds.yaml that `OS_CLIENT_CONFIG_FILE` points at).
//! Scenarios that need an administrator (flavors, shared networks, the
//! examples) run on the cloud named by `STACKFORM_ACC_ADMIN_CLOUD` only.
//! The real-OpenStack harness (scripts/real-openstack) starts Keystone,
//! Glance, Neutron, Placement and Nova on loopback and writes such a
//! clouds.yaml, with the `stackform-admin` and `stackform-demo` clouds and
//! the fixtures these tests boot from: the image `cirros-acc`, the flavors
//! `m1.acctest` and `m1.resize` and the shared network `private`.
//!
//! Each scenario is the per-type cycle of the provider's own acceptance
//! tests: create, re-plan to no changes, change in place (id kept),
//! replace (id changed), drift made behind stackform's back and planned
//! back, import of an object made outside, and destroy (the cloud answers
//! 404 afterwards).

use super::openstack::runtime;
use super::{Run, Workspace};
use reqwest::Method;
use serde_json::{Value, json};
use stackform::provider::openstack::{Client, CloudConfig, Service, clouds};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The fixtures the harness makes.
const IMAGE: &str = "cirros-acc";
const FLAVOR: &str = "m1.acctest";
const FLAVOR_RESIZE: &str = "m1.resize";
const NETWORK: &str = "private";

/// The clouds to run on, or `None` (said loudly) when acceptance tests
/// are not asked for.
fn clouds_under_test(admin_only: bool) -> Option<Vec<String>> {
    if std::env::var("STACKFORM_ACC").ok().as_deref() != Some("1") {
        eprintln!(
            "SKIPPED: acceptance test against a real OpenStack (set STACKFORM_ACC=1, STACKFORM_ACC_CLOUDS and OS_CLIENT_CONFIG_FILE; see scripts/real-openstack)"
        );
        return None;
    }
    let all: Vec<String> = std::env::var("STACKFORM_ACC_CLOUDS")
        .expect("STACKFORM_ACC_CLOUDS names the clouds to test")
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    assert!(!all.is_empty(), "STACKFORM_ACC_CLOUDS is empty");
    if !admin_only {
        return Some(all);
    }
    let admin = std::env::var("STACKFORM_ACC_ADMIN_CLOUD").unwrap_or_default();
    Some(all.into_iter().filter(|c| *c == admin).collect())
}

fn config_file() -> String {
    std::env::var("OS_CLIENT_CONFIG_FILE").expect("OS_CLIENT_CONFIG_FILE names the clouds.yaml")
}

/// A name no other run uses: leftovers of a failed run never collide.
fn unique(what: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "acc-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A workspace whose commands reach `cloud`.
struct Acc {
    ws: Workspace,
    cloud: String,
}

impl Acc {
    fn new(cloud: &str) -> Acc {
        Acc {
            ws: Workspace::new(),
            cloud: cloud.to_string(),
        }
    }

    fn provider(&self) -> String {
        format!(
            "provider \"openstack\" {{\n  cloud = \"{}\"\n}}\n",
            self.cloud
        )
    }

    fn config(&self, body: &str) {
        self.ws
            .file("main.tf", &format!("{}{body}", self.provider()));
    }

    #[track_caller]
    fn run(&self, args: &[&str]) -> Run {
        self.ws
            .cmd(args)
            .env("OS_CLIENT_CONFIG_FILE", config_file())
            .run()
    }

    #[track_caller]
    fn no_changes(&self) {
        self.run(&["plan", "-detailed-exitcode"])
            .code(0)
            .stdout_has("No changes.");
    }

    fn attrs(&self, address: &str) -> Value {
        super::openstack::state_attrs(&self.ws, address)
    }

    fn id(&self, address: &str) -> String {
        self.attrs(address)["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{address} has an id"))
            .to_string()
    }

    /// A request made outside stackform, as the cloud's own user.
    fn call(&self, service: Service, method: Method, path: &str, body: Option<Value>) -> Value {
        let config = CloudConfig::from_settings(
            clouds::load_file(Path::new(&config_file()), &self.cloud).expect("the cloud"),
        )
        .expect("a complete cloud");
        let client = Client::new(config).expect("a client");
        runtime().block_on(async {
            let r = client
                .request(service, method.clone(), path, body.as_ref())
                .await
                .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
            r.json().unwrap_or(Value::Null)
        })
    }

    /// Whether the cloud still has the object at `path`: a destroyed
    /// object answers 404 within a minute (a Nova server shows status
    /// DELETED until its record is gone).
    fn exists(&self, service: Service, path: &str) -> bool {
        let config = CloudConfig::from_settings(
            clouds::load_file(Path::new(&config_file()), &self.cloud).expect("the cloud"),
        )
        .expect("a complete cloud");
        let client = Client::new(config).expect("a client");
        runtime().block_on(async {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            loop {
                match client.request(service, Method::GET, path, None).await {
                    Ok(_) if std::time::Instant::now() > deadline => return true,
                    Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
                    Err(e) if e.is_not_found() => return false,
                    Err(e) => panic!("GET {path}: {e}"),
                }
            }
        })
    }
}

#[test]
fn acc_network_and_subnet() {
    let Some(clouds) = clouds_under_test(false) else {
        return;
    };
    for cloud in clouds {
        let acc = Acc::new(&cloud);
        let (net, outside_net) = (unique("net"), unique("outside"));
        let stack = |name: &str, cidr: &str, dns: &str| {
            format!(
                r#"
resource "openstack_networking_network_v2" "n" {{
  name = "{name}"
  tags = ["acc"]
}}

resource "openstack_networking_subnet_v2" "s" {{
  name            = "{net}-sub"
  network_id      = openstack_networking_network_v2.n.id
  cidr            = "{cidr}"
  dns_nameservers = [{dns}]
  allocation_pool {{
    start = "{pool_start}"
    end   = "{pool_end}"
  }}
}}
"#,
                pool_start = cidr.replace("0/24", "10"),
                pool_end = cidr.replace("0/24", "50"),
            )
        };
        acc.config(&stack(&net, "10.81.0.0/24", "\"10.81.0.2\""));
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("Apply complete! Resources: 2 added");
        let (net_id, sub_id) = (
            acc.id("openstack_networking_network_v2.n"),
            acc.id("openstack_networking_subnet_v2.s"),
        );
        acc.no_changes();

        // In place: the network's name, the subnet's DNS servers.
        acc.config(&stack(
            &format!("{net}-2"),
            "10.81.0.0/24",
            "\"10.81.0.2\", \"10.81.0.3\"",
        ));
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("0 added, 2 changed, 0 destroyed");
        assert_eq!(acc.id("openstack_networking_network_v2.n"), net_id);
        assert_eq!(acc.id("openstack_networking_subnet_v2.s"), sub_id);
        acc.no_changes();

        // Replaced: a new CIDR.
        acc.config(&stack(&format!("{net}-2"), "10.82.0.0/24", "\"10.82.0.2\""));
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("1 added, 0 changed, 1 destroyed");
        assert_ne!(acc.id("openstack_networking_subnet_v2.s"), sub_id);
        assert!(!acc.exists(Service::Network, &format!("/subnets/{sub_id}")));

        // Drift: renamed outside, planned back.
        acc.call(
            Service::Network,
            Method::PUT,
            &format!("/networks/{net_id}"),
            Some(json!({"network": {"name": "renamed-outside"}})),
        );
        acc.run(&["plan"])
            .ok()
            .stdout_has("Objects have changed outside of stackform")
            .stdout_has(&format!("\"renamed-outside\" -> \"{net}-2\""));
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("0 added, 1 changed, 0 destroyed");

        // Import: a network made outside.
        let made = acc.call(
            Service::Network,
            Method::POST,
            "/networks",
            Some(json!({"network": {"name": outside_net}})),
        );
        let made_id = made["network"]["id"].as_str().expect("id").to_string();
        acc.config(&format!(
            "{}\nresource \"openstack_networking_network_v2\" \"imported\" {{\n  name = \"{outside_net}\"\n}}\n",
            stack(&format!("{net}-2"), "10.82.0.0/24", "\"10.82.0.2\"")
        ));
        acc.run(&[
            "import",
            "openstack_networking_network_v2.imported",
            &made_id,
        ])
        .ok()
        .stdout_has("Import successful!");
        acc.no_changes();

        acc.run(&["destroy", "-auto-approve"])
            .ok()
            .stdout_has("Destroy complete! Resources: 3 destroyed.");
        for id in [&net_id, &made_id] {
            assert!(!acc.exists(Service::Network, &format!("/networks/{id}")));
        }
    }
}

#[test]
fn acc_image() {
    let Some(clouds) = clouds_under_test(false) else {
        return;
    };
    for cloud in clouds {
        let acc = Acc::new(&cloud);
        let name = unique("img");
        let disk = acc.ws.path().join("disk.qcow2");
        let made = std::process::Command::new("qemu-img")
            .args(["create", "-q", "-f", "qcow2"])
            .arg(&disk)
            .arg("64M")
            .status()
            .expect("qemu-img runs");
        assert!(made.success());
        let image = |name: &str, tags: &str, format: &str| {
            format!(
                r#"
resource "openstack_images_image_v2" "i" {{
  name             = "{name}"
  local_file_path  = "disk.qcow2"
  container_format = "{format}"
  disk_format      = "qcow2"
  tags             = [{tags}]
  properties       = {{ os_distro = "cirros" }}
}}
"#
            )
        };
        acc.config(&image(&name, "\"a\"", "bare"));
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("Apply complete! Resources: 1 added");
        let id = acc.id("openstack_images_image_v2.i");
        let created = acc.attrs("openstack_images_image_v2.i");
        assert_eq!(created["status"], "active");
        assert!(
            created["checksum"].as_str().is_some_and(|c| c.len() == 32),
            "{created}"
        );
        acc.no_changes();

        acc.config(&image(&format!("{name}-2"), "\"a\", \"b\"", "bare"));
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("0 added, 1 changed, 0 destroyed");
        assert_eq!(acc.id("openstack_images_image_v2.i"), id);
        acc.no_changes();

        // Drift: a tag removed outside.
        acc.call(
            Service::Image,
            Method::DELETE,
            &format!("/images/{id}/tags/b"),
            None,
        );
        acc.run(&["plan"])
            .ok()
            .stdout_has("Objects have changed outside of stackform");
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("0 added, 1 changed, 0 destroyed");

        // Replaced: a new container format.
        acc.config(&image(&format!("{name}-2"), "\"a\", \"b\"", "ovf"));
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("1 added, 0 changed, 1 destroyed");
        let new_id = acc.id("openstack_images_image_v2.i");
        assert_ne!(new_id, id);
        assert!(!acc.exists(Service::Image, &format!("/images/{id}")));

        // Import: the same image, forgotten and brought back.
        let imported_ws = Acc::new(&cloud);
        std::fs::copy(&disk, imported_ws.ws.path().join("disk.qcow2")).expect("copy");
        imported_ws.config(&image(&format!("{name}-2"), "\"a\", \"b\"", "ovf"));
        imported_ws
            .run(&["import", "openstack_images_image_v2.i", &new_id])
            .ok()
            .stdout_has("Import successful!");
        assert_eq!(
            imported_ws.attrs("openstack_images_image_v2.i")["name"],
            format!("{name}-2")
        );

        acc.run(&["destroy", "-auto-approve"])
            .ok()
            .stdout_has("Destroy complete! Resources: 1 destroyed.");
        assert!(!acc.exists(Service::Image, &format!("/images/{new_id}")));
    }
}

#[test]
fn acc_flavor() {
    let Some(clouds) = clouds_under_test(true) else {
        return;
    };
    for cloud in clouds {
        let acc = Acc::new(&cloud);
        let name = unique("flavor");
        let flavor = |ram: u32, policy: &str| {
            format!(
                r#"
resource "openstack_compute_flavor_v2" "f" {{
  name        = "{name}"
  ram         = {ram}
  vcpus       = 1
  disk        = 1
  extra_specs = {{ "hw:cpu_policy" = "{policy}" }}
}}
"#
            )
        };
        acc.config(&flavor(256, "shared"));
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("Apply complete! Resources: 1 added");
        let id = acc.id("openstack_compute_flavor_v2.f");
        acc.no_changes();
        acc.config(&flavor(256, "dedicated"));
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("0 added, 1 changed, 0 destroyed");
        assert_eq!(acc.id("openstack_compute_flavor_v2.f"), id);
        let specs = acc.call(
            Service::Compute,
            Method::GET,
            &format!("/flavors/{id}/os-extra_specs"),
            None,
        );
        assert_eq!(specs["extra_specs"]["hw:cpu_policy"], "dedicated");

        // Drift: an extra spec added outside.
        acc.call(
            Service::Compute,
            Method::POST,
            &format!("/flavors/{id}/os-extra_specs"),
            Some(json!({"extra_specs": {"hw:numa_nodes": "1"}})),
        );
        acc.run(&["plan"])
            .ok()
            .stdout_has("Objects have changed outside of stackform")
            .stdout_has("hw:numa_nodes");
        acc.run(&["apply", "-auto-approve"]).ok();
        acc.no_changes();

        acc.config(&flavor(512, "dedicated"));
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("1 added, 0 changed, 1 destroyed");
        let new_id = acc.id("openstack_compute_flavor_v2.f");
        assert_ne!(new_id, id);

        let imported = Acc::new(&cloud);
        imported.config(&flavor(512, "dedicated"));
        imported
            .run(&["import", "openstack_compute_flavor_v2.f", &new_id])
            .ok()
            .stdout_has("Import successful!");
        imported.no_changes();

        acc.run(&["destroy", "-auto-approve"])
            .ok()
            .stdout_has("Destroy complete! Resources: 1 destroyed.");
        assert!(!acc.exists(Service::Compute, &format!("/flavors/{new_id}")));
    }
}

#[test]
fn acc_server() {
    let Some(clouds) = clouds_under_test(false) else {
        return;
    };
    for cloud in clouds {
        let acc = Acc::new(&cloud);
        let name = unique("vm");
        let server_with = |name: &str, flavor: &str, power: &str, role: &str, boot: &str| {
            format!(
                r##"
resource "openstack_compute_instance_v2" "vm" {{
  name        = "{name}"
  user_data   = "#cloud-config {boot}"
  image_name  = "{IMAGE}"
  flavor_name = "{flavor}"
  power_state = "{power}"
  metadata    = {{ role = "{role}" }}
  tags        = ["acc"]
  network {{
    name = "{NETWORK}"
  }}
  timeouts {{
    create = "5m"
    update = "5m"
    delete = "5m"
  }}
}}
"##
            )
        };
        let server = |name: &str, flavor: &str, power: &str, role: &str| {
            server_with(name, flavor, power, role, "v1")
        };
        acc.config(&server(&name, FLAVOR, "active", "web"));
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("Apply complete! Resources: 1 added");
        let id = acc.id("openstack_compute_instance_v2.vm");
        let built = acc.attrs("openstack_compute_instance_v2.vm");
        assert_eq!(built["status"], "ACTIVE");
        assert!(built["network"][0]["fixed_ip_v4"].is_string(), "{built}");
        acc.no_changes();

        // In place: name and metadata; stopped and started; resized.
        for (server_name, flavor, power, role) in [
            (format!("{name}-2"), FLAVOR, "active", "api"),
            (format!("{name}-2"), FLAVOR, "shutoff", "api"),
            (format!("{name}-2"), FLAVOR_RESIZE, "shutoff", "api"),
            (format!("{name}-2"), FLAVOR_RESIZE, "active", "api"),
        ] {
            acc.config(&server(&server_name, flavor, power, role));
            acc.run(&["apply", "-auto-approve"])
                .ok()
                .stdout_has("0 added, 1 changed, 0 destroyed");
            let now = acc.attrs("openstack_compute_instance_v2.vm");
            assert_eq!(now["id"], id.as_str(), "{flavor} {power}: in place");
            assert_eq!(now["power_state"], power);
            assert_eq!(now["flavor_name"], flavor);
            acc.no_changes();
        }

        // Drift: renamed outside.
        acc.call(
            Service::Compute,
            Method::PUT,
            &format!("/servers/{id}"),
            Some(json!({"server": {"name": "renamed-outside"}})),
        );
        acc.run(&["plan"])
            .ok()
            .stdout_has("Objects have changed outside of stackform")
            .stdout_has("\"renamed-outside\"");
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("0 added, 1 changed, 0 destroyed");

        // Import into another workspace.
        let imported = Acc::new(&cloud);
        imported.config(&server(
            &format!("{name}-2"),
            FLAVOR_RESIZE,
            "active",
            "api",
        ));
        imported
            .run(&["import", "openstack_compute_instance_v2.vm", &id])
            .ok()
            .stdout_has("Import successful!");
        let seen = imported.attrs("openstack_compute_instance_v2.vm");
        assert_eq!(seen["flavor_name"], FLAVOR_RESIZE);
        assert_eq!(seen["image_name"], IMAGE);

        // Replaced: new user data.
        acc.config(&server_with(
            &format!("{name}-2"),
            FLAVOR_RESIZE,
            "active",
            "api",
            "v2",
        ));
        acc.run(&["apply", "-auto-approve"])
            .ok()
            .stdout_has("1 added, 0 changed, 1 destroyed");
        let new_id = acc.id("openstack_compute_instance_v2.vm");
        assert_ne!(new_id, id);
        assert!(!acc.exists(Service::Compute, &format!("/servers/{id}")));

        acc.run(&["destroy", "-auto-approve"])
            .ok()
            .stdout_has("Destroy complete! Resources: 1 destroyed.");
        assert!(!acc.exists(Service::Compute, &format!("/servers/{new_id}")));
    }
}

/// The README's examples, with their provider blocks pointed at the real
/// cloud: applied, re-planned to no changes, destroyed.
#[test]
fn acc_examples() {
    let Some(clouds) = clouds_under_test(true) else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for cloud in clouds {
        let acc = Acc::new(&cloud);
        for example in ["quickstart", "multi-tier"] {
            let dir = acc.ws.path().join(example);
            copy_dir(&root.join(example), &dir);
            let main = dir.join("main.tf");
            let text = std::fs::read_to_string(&main).expect("main.tf");
            let start = text
                .find("provider \"openstack\" {")
                .expect("a provider block");
            let end = start + text[start..].find("\n}\n").expect("its end") + 3;
            let pointed = format!(
                "{}provider \"openstack\" {{\n  cloud = \"{cloud}\"\n}}\n{}",
                &text[..start],
                &text[end..]
            );
            std::fs::write(&main, pointed).expect("write main.tf");
        }
        // The multi-tier example boots with one of the cloud's flavors.
        let args = |example: &str, command: &[&str]| -> Vec<String> {
            let mut args = vec![format!("-chdir={example}")];
            args.extend(command.iter().map(|a| a.to_string()));
            if example == "multi-tier" {
                args.push(format!("-var=flavor_name={FLAVOR}"));
            }
            args
        };
        let run = |args: Vec<String>| acc.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let applied: Vec<Run> = ["quickstart", "multi-tier"]
            .iter()
            .map(|example| {
                let applied = run(args(example, &["apply", "-auto-approve"]));
                if applied.code == 0 {
                    run(args(example, &["plan", "-detailed-exitcode"]))
                        .code(0)
                        .stdout_has("No changes.");
                }
                applied
            })
            .collect();
        // Torn down in reverse whatever happened, so that a failure
        // leaves nothing behind in the cloud.
        for example in ["multi-tier", "quickstart"] {
            run(args(example, &["destroy", "-auto-approve"]))
                .ok()
                .stdout_has("Destroy complete!");
        }
        for run in applied {
            run.ok().stdout_has("Apply complete!");
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == ".stackform" || name == "state" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
