//! Interoperability: the official python-openstackclient against
//! `stackform devcloud serve`, asserting on its JSON output.
//!
//! The client comes from `STACKFORM_OPENSTACK_CLI`, else
//! `target/osc-venv/bin/openstack` (where `.ci/run` installs it), else
//! `openstack` on PATH. Without it the tests are skipped with a notice,
//! unless `STACKFORM_REQUIRE_INTEROP=1` (CI sets it), which makes a
//! missing client a failure.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn openstack_cli() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("STACKFORM_OPENSTACK_CLI") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/osc-venv/bin/openstack");
    if venv.is_file() {
        return Some(venv);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("openstack"))
        .find(|p| p.is_file())
}

/// The CLI, or `None` after a loud notice (a failure when required).
fn cli_or_skip(test: &str) -> Option<PathBuf> {
    match openstack_cli() {
        Some(p) => Some(p),
        None if std::env::var("STACKFORM_REQUIRE_INTEROP").is_ok_and(|v| v == "1") => {
            panic!(
                "python-openstackclient is required (STACKFORM_REQUIRE_INTEROP=1) but was not found"
            )
        }
        None => {
            eprintln!(
                "NOTICE: {test} skipped: python-openstackclient not found (run .ci/run, or set STACKFORM_OPENSTACK_CLI)"
            );
            None
        }
    }
}

/// A `stackform devcloud serve` child on a free loopback port, stopped
/// (by pid) when dropped.
struct Served {
    child: Child,
    dir: tempfile::TempDir,
    url: String,
}

impl Served {
    fn start() -> Served {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_stackform"))
            .args([
                "devcloud",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--build-time",
                "1",
                "--delete-time",
                "1",
                "--quiet",
            ])
            .arg("--data")
            .arg(dir.path())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start devcloud");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let url = loop {
            let line = lines
                .next()
                .and_then(Result::ok)
                .expect("devcloud printed where it listens");
            if let Some(rest) = line.strip_prefix("devcloud is listening on ") {
                break rest.trim().to_string();
            }
        };
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Served { child, dir, url }
    }

    fn clouds_yaml(&self) -> PathBuf {
        self.dir.path().join("clouds.yaml")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Osc<'a> {
    cli: PathBuf,
    served: &'a Served,
    cloud: &'static str,
}

/// What one `openstack` command did.
struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Out {
    #[track_caller]
    fn json(&self) -> Value {
        assert!(self.ok, "openstack failed:\n{}", self.stderr);
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

impl Osc<'_> {
    fn run(&self, args: &[&str]) -> Out {
        let out = Command::new(&self.cli)
            .args(args)
            .env("OS_CLIENT_CONFIG_FILE", self.served.clouds_yaml())
            .env("OS_CLOUD", self.cloud)
            .env_remove("OS_AUTH_URL")
            .env_remove("OS_USERNAME")
            .env_remove("OS_PASSWORD")
            .env_remove("OS_PROJECT_NAME")
            .output()
            .expect("run openstack");
        Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    #[track_caller]
    fn json(&self, args: &[&str]) -> Value {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-f", "json"]);
        let out = self.run(&all);
        assert!(
            out.ok,
            "openstack {} failed:\n{}",
            args.join(" "),
            out.stderr
        );
        out.json()
    }

    #[track_caller]
    fn ok(&self, args: &[&str]) {
        let out = self.run(args);
        assert!(
            out.ok,
            "openstack {} failed:\n{}",
            args.join(" "),
            out.stderr
        );
    }

    #[track_caller]
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.ok,
            "openstack {} should have failed:\n{}",
            args.join(" "),
            out.stdout
        );
        out.stderr
    }
}

fn qcow2(dir: &Path) -> Option<PathBuf> {
    let path = dir.join("cirros.qcow2");
    let status = Command::new("qemu-img")
        .args(["create", "-f", "qcow2"])
        .arg(&path)
        .arg("64M")
        .stdout(Stdio::null())
        .status()
        .ok()?;
    status.success().then_some(path)
}

#[test]
fn identity_token_and_catalog() {
    let Some(cli) = cli_or_skip("identity_token_and_catalog") else {
        return;
    };
    let served = Served::start();
    let osc = Osc {
        cli,
        served: &served,
        cloud: "devcloud",
    };
    let token = osc.json(&["token", "issue"]);
    assert!(token["id"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(token["project_id"].as_str().is_some());
    let catalog = osc.json(&["catalog", "list"]);
    let names: Vec<&str> = catalog
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["Name"].as_str())
        .collect();
    for n in ["keystone", "glance", "nova", "neutron"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let compute = catalog
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Type"] == "compute")
        .expect("compute");
    let url = compute["Endpoints"][0]["url"].as_str().unwrap_or_default();
    assert_eq!(url, format!("{}/compute/v2.1", served.url));
    let projects = osc.json(&["project", "list"]);
    assert_eq!(projects.as_array().map(Vec::len), Some(3));
    let demo = Osc {
        cli: osc.cli.clone(),
        served: &served,
        cloud: "devcloud-demo",
    };
    assert!(demo.fails(&["project", "list"]).contains("403"));
}

#[test]
fn images_flavors_networks_and_a_server_end_to_end() {
    let Some(cli) = cli_or_skip("images_flavors_networks_and_a_server_end_to_end") else {
        return;
    };
    let served = Served::start();
    let osc = Osc {
        cli,
        served: &served,
        cloud: "devcloud",
    };
    let work = tempfile::tempdir().expect("temp dir");

    // Image from a real qcow2.
    let Some(image_file) = qcow2(work.path()) else {
        panic!("qemu-img is needed to make a qcow2 image (Debian package qemu-utils)");
    };
    let image_file = image_file.to_string_lossy().to_string();
    let image = osc.json(&[
        "image",
        "create",
        "--disk-format",
        "qcow2",
        "--container-format",
        "bare",
        "--file",
        &image_file,
        "cirros",
    ]);
    assert_eq!(image["status"], "active");
    assert_eq!(image["disk_format"], "qcow2");
    let listed = osc.json(&["image", "list"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["Name"] == "cirros")
    );
    let shown = osc.json(&["image", "show", "cirros"]);
    assert_eq!(shown["virtual_size"], 67108864);
    assert_eq!(
        shown["size"].as_u64(),
        std::fs::metadata(&image_file).ok().map(|m| m.len())
    );

    // Flavor.
    let flavor = osc.json(&[
        "flavor",
        "create",
        "--ram",
        "256",
        "--vcpus",
        "1",
        "--disk",
        "1",
        "interop.small",
    ]);
    assert_eq!(flavor["ram"], 256);
    assert!(
        osc.json(&["flavor", "list"])
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["Name"] == "interop.small")
    );
    assert_eq!(osc.json(&["flavor", "show", "interop.small"])["vcpus"], 1);

    // Network and subnet.
    let net = osc.json(&["network", "create", "interop-net"]);
    assert_eq!(net["status"], "ACTIVE");
    let subnet = osc.json(&[
        "subnet",
        "create",
        "--network",
        "interop-net",
        "--subnet-range",
        "10.42.0.0/24",
        "--allocation-pool",
        "start=10.42.0.10,end=10.42.0.100",
        "--gateway",
        "10.42.0.1",
        "--dns-nameserver",
        "192.0.2.53",
        "interop-subnet",
    ]);
    assert_eq!(subnet["cidr"], "10.42.0.0/24");
    assert_eq!(subnet["gateway_ip"], "10.42.0.1");
    assert_eq!(subnet["allocation_pools"][0]["start"], "10.42.0.10");
    let bad = osc.fails(&[
        "subnet",
        "create",
        "--network",
        "interop-net",
        "--subnet-range",
        "10.43.0.0/33",
        "bad",
    ]);
    assert!(
        bad.contains("Invalid input for cidr") && bad.contains("is not a valid IP subnet"),
        "{bad}"
    );
    let normalised = osc.json(&[
        "subnet",
        "create",
        "--network",
        "interop-net",
        "--subnet-range",
        "10.44.0.5/24",
        "hostbits",
    ]);
    assert_eq!(normalised["cidr"], "10.44.0.0/24");
    osc.ok(&["subnet", "delete", "hostbits"]);

    // Server.
    let server = osc.json(&[
        "server",
        "create",
        "--image",
        "cirros",
        "--flavor",
        "interop.small",
        "--network",
        "interop-net",
        "--wait",
        "vm1",
    ]);
    assert_eq!(server["status"], "ACTIVE");
    let shown = osc.json(&["server", "show", "vm1"]);
    assert_eq!(shown["status"], "ACTIVE");
    let addresses = shown["addresses"].to_string();
    assert!(
        addresses.contains("interop-net") && addresses.contains("10.42.0."),
        "{addresses}"
    );

    // A subnet in use cannot go.
    let in_use = osc.fails(&["subnet", "delete", "interop-subnet"]);
    assert!(
        in_use.contains("One or more ports have an IP allocation from this subnet"),
        "{in_use}"
    );

    osc.ok(&["server", "delete", "--wait", "vm1"]);
    osc.fails(&["server", "show", "vm1"]);
    osc.ok(&["subnet", "delete", "interop-subnet"]);
    osc.ok(&["network", "delete", "interop-net"]);
    osc.ok(&["flavor", "delete", "interop.small"]);
    osc.ok(&["image", "delete", "cirros"]);
    assert!(
        !osc.json(&["image", "list"])
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["Name"] == "cirros")
    );
}
