//! The crash harness: stackform killed at any instant of an apply or a
//! destroy loses nothing and duplicates nothing.
//!
//! A stack of 30 resources (2 images, 2 flavors, 3 networks, 3 subnets
//! and 20 servers, with dependencies between them) on a devcloud that
//! runs in this test process, with latency injected, while stackform runs
//! as its own process and is killed:
//!
//! - with SIGKILL at seeded random points of destroys and applies
//!   (`STACKFORM_CRASH_KILLS`, default 20; `STACKFORM_CRASH_SEED` picks
//!   the points);
//! - with SIGKILL right after devcloud committed each kind of create and
//!   delete: devcloud holds the response (`/devcloud/holds`), so the kill
//!   lands in the window between the cloud's commit and stackform's record
//!   every time;
//! - with SIGINT, once and twice.
//!
//! After each kill the next apply must converge, and then devcloud holds
//! exactly one object per address, no object the state does not record
//! (no orphan, no duplicate), the state records no object that is gone
//! (no ghost), the state parses and names exactly the configuration's
//! addresses; at the end `plan` shows no changes and `destroy` empties
//! the cloud.

use super::Workspace;
use super::openstack::Outside;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const IMAGES: usize = 2;
const FLAVORS: usize = 2;
const NETWORKS: usize = 3;
const SERVERS: usize = 20;

fn config() -> String {
    format!(
        r#"
resource "openstack_images_image_v2" "img" {{
  count            = {IMAGES}
  name             = "crash-img-${{count.index}}"
  container_format = "bare"
  disk_format      = "raw"
  local_file_path  = "disk${{count.index}}.raw"
}}

resource "openstack_compute_flavor_v2" "flavor" {{
  count = {FLAVORS}
  name  = "crash-flavor-${{count.index}}"
  ram   = 256
  vcpus = 1
  disk  = 1
}}

resource "openstack_networking_network_v2" "net" {{
  count = {NETWORKS}
  name  = "crash-net-${{count.index}}"
}}

resource "openstack_networking_subnet_v2" "sub" {{
  count      = {NETWORKS}
  name       = "crash-sub-${{count.index}}"
  network_id = openstack_networking_network_v2.net[count.index].id
  cidr       = "10.7${{count.index}}.0.0/24"
}}

resource "openstack_compute_instance_v2" "vm" {{
  count     = {SERVERS}
  name      = "crash-vm-${{count.index}}"
  image_id  = openstack_images_image_v2.img[count.index % {IMAGES}].id
  flavor_id = openstack_compute_flavor_v2.flavor[count.index % {FLAVORS}].id
  network {{
    uuid = openstack_networking_subnet_v2.sub[count.index % {NETWORKS}].network_id
  }}
}}
"#
    )
}

/// Every address of the stack, with the name its object has in the
/// cloud and the kind of object.
fn expected() -> BTreeMap<String, (Kind, String)> {
    let mut out = BTreeMap::new();
    let mut add = |kind: Kind, block: &str, prefix: &str, n: usize| {
        for i in 0..n {
            out.insert(
                format!("{}.{block}[{i}]", kind.type_name()),
                (kind, format!("crash-{prefix}-{i}")),
            );
        }
    };
    add(Kind::Image, "img", "img", IMAGES);
    add(Kind::Flavor, "flavor", "flavor", FLAVORS);
    add(Kind::Network, "net", "net", NETWORKS);
    add(Kind::Subnet, "sub", "sub", NETWORKS);
    add(Kind::Server, "vm", "vm", SERVERS);
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Image,
    Flavor,
    Network,
    Subnet,
    Server,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Image,
        Kind::Flavor,
        Kind::Network,
        Kind::Subnet,
        Kind::Server,
    ];

    fn type_name(self) -> &'static str {
        match self {
            Kind::Image => "openstack_images_image_v2",
            Kind::Flavor => "openstack_compute_flavor_v2",
            Kind::Network => "openstack_networking_network_v2",
            Kind::Subnet => "openstack_networking_subnet_v2",
            Kind::Server => "openstack_compute_instance_v2",
        }
    }

    /// Where its objects are created (POST) and deleted (DELETE .../id).
    fn collection(self) -> &'static str {
        match self {
            Kind::Image => "/image/v2/images",
            Kind::Flavor => "/compute/v2.1/flavors",
            Kind::Network => "/network/v2.0/networks",
            Kind::Subnet => "/network/v2.0/subnets",
            Kind::Server => "/compute/v2.1/servers",
        }
    }

    /// What `-replace` recreates to create and delete an object of this
    /// kind: its block's first instance, but for a subnet its network (a
    /// subnet replaced alone stays held by its servers' ports, as it
    /// would on any cloud, while a new network replaces all three).
    fn replace_target(self) -> String {
        match self {
            Kind::Subnet => Kind::Network.first(),
            _ => self.first(),
        }
    }

    /// The first instance of its block.
    fn first(self) -> String {
        let block = match self {
            Kind::Image => "img",
            Kind::Flavor => "flavor",
            Kind::Network => "net",
            Kind::Subnet => "sub",
            Kind::Server => "vm",
        };
        format!("{}.{block}[0]", self.type_name())
    }
}

/// A small, seedable random source (xorshift64*): the kill points are
/// the same for the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        Err(_) => default,
    }
}

struct Harness {
    ws: Workspace,
    rt: tokio::runtime::Runtime,
    outside: Option<Outside>,
    clouds: PathBuf,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_config(&config())
    }

    fn with_config(config: &str) -> Harness {
        Harness::build(config, |_| {})
    }

    fn build(config: &str, tune: impl FnOnce(&mut stackform::devcloud::Options)) -> Harness {
        let ws = Workspace::new();
        // The cloud serves while stackform runs: its own threads.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut options = stackform::devcloud::Options::ephemeral(&ws.path().join("cloud"));
        options.latency = Duration::from_millis(5);
        options.build_time = Duration::from_millis(300);
        options.delete_time = Duration::from_millis(150);
        tune(&mut options);
        let outside = rt.block_on(Outside::start_with(options));
        for i in 0..IMAGES {
            // Bytes of no known disk format: they inspect as raw.
            let data: Vec<u8> = (0..4096u32).map(|b| (b % 251) as u8 ^ i as u8).collect();
            std::fs::write(ws.path().join(format!("disk{i}.raw")), data).expect("image file");
        }
        ws.file("main.tf", config);
        let clouds = ws.path().join("cloud/clouds.yaml");
        Harness {
            ws,
            rt,
            outside: Some(outside),
            clouds,
        }
    }

    fn outside(&self) -> &Outside {
        self.outside.as_ref().expect("the cloud runs")
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.rt.block_on(self.outside().call(method, path, body))
    }

    fn command(&self, args: &[&str]) -> super::Cmd<'_> {
        self.ws
            .cmd(args)
            .env("OS_CLIENT_CONFIG_FILE", &self.clouds)
            .env("OS_CLOUD", "devcloud")
    }

    #[track_caller]
    fn run(&self, args: &[&str]) -> super::Run {
        self.command(args).run()
    }

    fn spawn(&self, args: &[&str]) -> super::Started<'_> {
        self.command(args).start()
    }

    /// Runs `args` and kills it with SIGKILL after `delay` (unless it
    /// finished first). Returns whether the kill landed.
    fn kill_after(&self, args: &[&str], delay: Duration) -> bool {
        let mut child = self.spawn(args);
        let deadline = Instant::now() + delay;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let killed = matches!(child.try_wait(), Ok(None));
        let _ = child.kill();
        let _ = child.wait();
        killed
    }

    fn hold(&self, method: &str, path: &str) {
        let (status, body) = self.call(
            "POST",
            "/devcloud/holds",
            Some(serde_json::json!({"method": method, "path": path})),
        );
        assert_eq!(status, 201, "{body}");
    }

    /// Waits until devcloud holds a response; panics naming what ran
    /// when none comes.
    #[track_caller]
    fn wait_held(&self, child: &mut super::Started<'_>, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            let (_, holds) = self.call("GET", "/devcloud/holds", None);
            if holds["holds"][0]["held"].as_u64().unwrap_or(0) > 0 {
                return;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let output = collect(child);
                panic!("{what}: stackform ended ({status}) before the held call\n{output}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        panic!("{what}: no response was held\n{}", collect(child));
    }

    fn release(&self) {
        let (status, _) = self.call("DELETE", "/devcloud/holds", None);
        assert_eq!(status, 204);
    }

    /// The next apply converges: it succeeds, and the cloud and the
    /// state agree with the configuration.
    #[track_caller]
    fn converge(&self, after: &str) -> super::Run {
        let run = self.run(&["apply", "-auto-approve", "-input=false"]);
        assert_eq!(
            run.code, 0,
            "after {after}, the next apply failed\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        );
        self.check(after, true);
        run
    }

    /// The stack's objects alive in the cloud, by name: (kind, id) for
    /// each object (so that duplicates show).
    fn live(&self) -> BTreeMap<String, Vec<(Kind, String)>> {
        let mut out: BTreeMap<String, Vec<(Kind, String)>> = BTreeMap::new();
        let lists = [
            (Kind::Image, "/image/v2/images?limit=1000", "images"),
            (
                Kind::Flavor,
                "/compute/v2.1/flavors/detail?is_public=None",
                "flavors",
            ),
            (Kind::Network, "/network/v2.0/networks", "networks"),
            (Kind::Subnet, "/network/v2.0/subnets", "subnets"),
            (Kind::Server, "/compute/v2.1/servers/detail", "servers"),
        ];
        for (kind, path, key) in lists {
            let (status, body) = self.call("GET", path, None);
            assert_eq!(status, 200, "{path}: {body}");
            for item in body[key].as_array().into_iter().flatten() {
                let name = item["name"].as_str().unwrap_or_default();
                let going = matches!(
                    item["status"].as_str(),
                    Some("DELETED" | "deleted" | "pending_delete")
                ) || item["OS-EXT-STS:task_state"] == "deleting";
                if name.starts_with("crash-") && !going {
                    out.entry(name.to_string())
                        .or_default()
                        .push((kind, item["id"].as_str().unwrap_or_default().to_string()));
                }
            }
        }
        out
    }

    /// The state file, which must parse.
    fn state(&self) -> Value {
        let bytes = self.ws.read("state/default.json").unwrap_or_default();
        if bytes.is_empty() {
            return Value::Null;
        }
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "the state does not parse ({e}):\n{}",
                String::from_utf8_lossy(&bytes)
            )
        })
    }

    /// The cloud holds exactly the objects named, once each, and the
    /// state records each of them and nothing else.
    #[track_caller]
    fn check_only(&self, names: &[&str]) {
        let live = self.live();
        let state = self.state();
        let recorded: BTreeMap<String, String> = state["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    r["attributes"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    r["id"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let wanted: BTreeSet<String> = names.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            live.keys().cloned().collect::<BTreeSet<_>>(),
            wanted,
            "{live:?}"
        );
        assert_eq!(
            recorded.keys().cloned().collect::<BTreeSet<_>>(),
            wanted,
            "{recorded:?}"
        );
        for name in names {
            let objects = &live[*name];
            assert_eq!(objects.len(), 1, "{name}: {live:?}");
            assert_eq!(recorded[*name], objects[0].1, "{name}");
        }
        assert!(state.get("intents").is_none(), "{state}");
    }

    /// Cloud and state against the configuration: with `full`, every
    /// address once; without, nothing at all.
    #[track_caller]
    fn check(&self, after: &str, full: bool) {
        let live = self.live();
        let state = self.state();
        let recorded: BTreeMap<String, String> = state["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["mode"] == "managed")
            .map(|r| {
                (
                    r["address"].as_str().unwrap_or_default().to_string(),
                    r["id"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let context = || format!("after {after}\nlive: {live:?}\nstate: {recorded:?}");
        assert!(
            state.get("intents").is_none(),
            "no intent is left pending: {}",
            context()
        );
        let expected = if full { expected() } else { BTreeMap::new() };
        let names: BTreeSet<&String> = expected.values().map(|(_, n)| n).collect();
        for (name, objects) in &live {
            assert!(
                names.contains(name),
                "orphan {name} {objects:?}: {}",
                context()
            );
        }
        assert_eq!(
            recorded.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "the state names the configuration's addresses: {}",
            context()
        );
        for (address, (kind, name)) in &expected {
            let objects = live.get(name).cloned().unwrap_or_default();
            assert_eq!(
                objects.len(),
                1,
                "exactly one {name} for {address}: {}",
                context()
            );
            assert_eq!(objects[0].0, *kind);
            assert_eq!(
                recorded.get(address),
                Some(&objects[0].1),
                "the state records the live {name} (no ghost): {}",
                context()
            );
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(outside) = self.outside.take() {
            self.rt.block_on(async {
                outside.cloud.stop().await.ok();
            });
        }
    }
}

fn collect(child: &mut Child) -> String {
    use std::io::Read;
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        out.push_str("\n--- stderr\n");
        let _ = s.read_to_string(&mut out);
    }
    out
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

#[test]
fn an_apply_or_destroy_killed_anywhere_converges_with_no_orphan_duplicate_or_ghost() {
    let h = Harness::new();
    let started = Instant::now();
    h.converge("the first apply");
    // Kill points spread over a whole apply or destroy.
    let span = started.elapsed().as_millis().max(500) as u64;

    // Right after devcloud commits each kind of create and of delete.
    let mut deterministic = 0;
    for kind in Kind::ALL {
        for (method, path) in [
            ("POST", kind.collection().to_string()),
            ("DELETE", format!("{}/*", kind.collection())),
        ] {
            let what = format!("a kill right after {method} {path}");
            h.hold(method, &path);
            let replace = format!("-replace={}", kind.replace_target());
            let mut child = h.spawn(&["apply", "-auto-approve", "-input=false", &replace]);
            h.wait_held(&mut child, &what);
            let _ = child.kill();
            let _ = child.wait();
            h.release();
            let run = h.converge(&what);
            if method == "POST" {
                // Found by its intent's token, not created again.
                run.stderr_has(&format!("The interrupted run had created {}", kind.first()));
            }
            deterministic += 1;
        }
    }

    // At seeded random points, of destroys and of applies.
    let kills = env_number("STACKFORM_CRASH_KILLS", 20);
    let seed = env_number("STACKFORM_CRASH_SEED", 0x5eed_c4a5);
    let mut rng = Rng(seed | 1);
    let mut landed = 0;
    let mut tried = 0;
    while tried < kills {
        for args in [
            ["destroy", "-auto-approve", "-input=false"],
            ["apply", "-auto-approve", "-input=false"],
        ] {
            if tried == kills {
                break;
            }
            let delay = Duration::from_millis(rng.below(span));
            if h.kill_after(&args, delay) {
                landed += 1;
            }
            tried += 1;
        }
        h.converge(&format!("random kill {tried} (seed {seed:#x})"));
    }
    eprintln!(
        "crash harness: {deterministic} deterministic kills, {tried} random kill points ({landed} landed mid-run, seed {seed:#x}); 0 duplicates, orphans or ghosts"
    );

    h.run(&["plan", "-detailed-exitcode", "-input=false"])
        .code(0)
        .stdout_has("No changes.");
    h.run(&["destroy", "-auto-approve", "-input=false"]).ok();
    h.check("the final destroy", false);
}

#[test]
fn an_interrupted_apply_finishes_what_is_in_flight_and_a_second_interrupt_abandons_it() {
    let h = Harness::new();
    h.converge("the first apply");

    // One interrupt: the create in flight finishes and is recorded.
    h.hold("POST", "/compute/v2.1/servers");
    let replace = format!("-replace={}", Kind::Server.first());
    let mut child = h.spawn(&["apply", "-auto-approve", "-input=false", &replace]);
    h.wait_held(&mut child, "the server create");
    signal(&child, "INT");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        matches!(child.try_wait(), Ok(None)),
        "stackform waits for the create in flight"
    );
    h.release();
    let run = child.finish();
    let stderr = run.stderr.clone();
    assert_eq!(run.code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "waiting for 1 operation(s) in progress to finish:\n  creating {}",
            Kind::Server.first()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("The run was interrupted; what finished is recorded in the state."),
        "{stderr}"
    );
    // Recorded by the interrupted run itself: nothing to recover.
    h.check("one interrupt", true);
    let plan = h.run(&["plan", "-detailed-exitcode", "-input=false"]);
    plan.code(0).stderr_lacks("Recovered");

    // Two interrupts: the wait is abandoned, the intent stays pending,
    // and the next run adopts what the create made.
    h.hold("POST", "/compute/v2.1/servers");
    let replace = "-replace=openstack_compute_instance_v2.vm[1]";
    let mut child = h.spawn(&["apply", "-auto-approve", "-input=false", replace]);
    h.wait_held(&mut child, "the server create");
    signal(&child, "TERM");
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, "INT");
    let deadline = Instant::now() + Duration::from_secs(30);
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = child.finish();
    let stderr = run.stderr.clone();
    assert_eq!(run.code, 1, "{stderr}");
    assert!(
        stderr.contains("Second interrupt: no longer waiting for 1 operation(s)."),
        "{stderr}"
    );
    assert!(
        stderr.contains("abandoned:   openstack_compute_instance_v2.vm[1]"),
        "{stderr}"
    );
    let pending = h.state()["intents"].clone();
    assert_eq!(
        pending[0]["address"],
        "openstack_compute_instance_v2.vm[1]",
        "{}\n{stderr}",
        h.state()
    );
    h.release();
    let run = h.run(&["apply", "-auto-approve", "-input=false"]);
    run.ok()
        .stderr_has("The interrupted run had created openstack_compute_instance_v2.vm[1] (id ");
    h.check("two interrupts", true);

    // Interrupts at random points converge too.
    let mut rng = Rng(0x001e_7e55 | 1);
    for i in 0..4 {
        let args = if i % 2 == 0 {
            ["destroy", "-auto-approve", "-input=false"]
        } else {
            ["apply", "-auto-approve", "-input=false"]
        };
        let mut child = h.spawn(&args);
        std::thread::sleep(Duration::from_millis(200 + rng.below(1500)));
        if matches!(child.try_wait(), Ok(None)) {
            signal(&child, "INT");
        }
        let _ = child.wait();
        if i % 2 == 0 {
            continue;
        }
        h.converge(&format!("random interrupt {i}"));
    }
    h.converge("the random interrupts");
}

const TWO_NETWORKS: &str = r#"
resource "openstack_networking_network_v2" "net" {
  count = 2
  name  = "crash-net-${count.index}"
}

resource "openstack_compute_flavor_v2" "flavor" {
  name  = "crash-flavor-0"
  ram   = 256
  vcpus = 1
  disk  = 1
}
"#;

/// Kills `args` right after devcloud committed `method path`.
fn kill_when_held(h: &Harness, method: &str, path: &str, args: &[&str]) {
    h.hold(method, path);
    let mut child = h.spawn(args);
    h.wait_held(&mut child, path);
    let _ = child.kill();
    let _ = child.wait();
    h.release();
}

/// Kills an apply that replaces `address` right after devcloud made the
/// new network.
fn kill_after_new_network(h: &Harness, address: &str) {
    let replace = format!("-replace={address}");
    kill_when_held(
        h,
        "POST",
        "/network/v2.0/networks",
        &["apply", "-auto-approve", "-input=false", &replace],
    );
}

/// Takes the tokens out of the journal's intents, as a journal written
/// before markers existed would have them: nothing resolves the intent,
/// and what the create made is a stray.
fn strip_journal_tokens(h: &Harness) {
    let journal = h.ws.read("state/default.journal").expect("a journal");
    let mut intents = 0;
    let lines: Vec<String> = String::from_utf8_lossy(&journal)
        .lines()
        .map(|line| {
            let mut entry: Value = serde_json::from_str(line).expect("journal line");
            if let Some(intent) = entry.get_mut("intent").and_then(Value::as_object_mut) {
                intent.remove("token");
                intents += 1;
            }
            entry.to_string()
        })
        .collect();
    assert_eq!(intents, 1);
    h.ws.file("state/default.journal", &(lines.join("\n") + "\n"));
}

#[test]
fn objects_of_this_state_that_it_does_not_record_are_adopted_or_reported() {
    let h = Harness::with_config(TWO_NETWORKS);
    h.run(&["apply", "-auto-approve", "-input=false"]).ok();
    h.check_only(&["crash-net-0", "crash-net-1", "crash-flavor-0"]);
    kill_after_new_network(&h, "openstack_networking_network_v2.net[1]");
    // The fold of the killed run's journal keeps the intent; without it
    // the new network is a stray, found by the lineage its marker names.
    strip_journal_tokens(&h);
    let plan = h.run(&["plan", "-detailed-exitcode", "-input=false"]);
    plan.code(2)
        .stdout_has("Note: Objects stackform created are missing from the state")
        .stdout_has("is adopted as openstack_networking_network_v2.net[1]")
        .stdout_has("# openstack_networking_network_v2.net[1] will be imported")
        .stdout_has("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.");
    h.run(&["apply", "-auto-approve", "-input=false"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 imported, 0 added, 0 changed, 0 destroyed.");
    h.check_only(&["crash-net-0", "crash-net-1", "crash-flavor-0"]);
    h.run(&["plan", "-detailed-exitcode", "-input=false"])
        .code(0)
        .stdout_has("No changes.");

    // A stray whose address the configuration no longer declares is
    // reported with the commands that delete or import it, every plan,
    // until someone decides.
    kill_after_new_network(&h, "openstack_networking_network_v2.net[1]");
    strip_journal_tokens(&h);
    h.ws.file("main.tf", &TWO_NETWORKS.replace("count = 2", "count = 1"));
    let plan = h.run(&["plan", "-detailed-exitcode", "-input=false"]);
    plan.code(2)
        .stdout_has("is not adopted: the configuration does not declare openstack_networking_network_v2.net[1].")
        .stdout_has("Delete it:  openstack network delete ")
        .stdout_has("stackform import 'openstack_networking_network_v2.net[1]' ");
    let apply = h.run(&["apply", "-auto-approve", "-input=false"]);
    apply.ok().stdout_has("is not adopted");
}

#[test]
fn a_flavor_name_taken_by_an_earlier_attempt_of_the_same_resource_is_taken_over() {
    let h = Harness::with_config(TWO_NETWORKS);
    h.run(&["apply", "-auto-approve", "-input=false"]).ok();
    h.check_only(&["crash-net-0", "crash-net-1", "crash-flavor-0"]);
    kill_when_held(
        &h,
        "POST",
        "/compute/v2.1/flavors",
        &[
            "apply",
            "-auto-approve",
            "-input=false",
            "-replace=openstack_compute_flavor_v2.flavor",
        ],
    );
    strip_journal_tokens(&h);
    // Without refresh nothing looks for strays: the create is sent, Nova
    // answers that the name is taken, and the flavor there carries this
    // resource's marker.
    h.run(&["apply", "-auto-approve", "-input=false", "-refresh=false"])
        .ok()
        .stdout_has("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    h.check_only(&["crash-net-0", "crash-net-1", "crash-flavor-0"]);
    // A flavor of that name made by someone else is still refused.
    h.run(&["destroy", "-auto-approve", "-input=false"]).ok();
    let (status, body) = h.call(
        "POST",
        "/compute/v2.1/flavors",
        Some(serde_json::json!({"flavor": {"name": "crash-flavor-0", "ram": 256, "vcpus": 1, "disk": 1}})),
    );
    assert_eq!(status, 200, "{body}");
    h.run(&["apply", "-auto-approve", "-input=false"])
        .code(1)
        .stderr_has("Cannot create the flavor")
        .stderr_has("already exists");
}

const ONE_SERVER: &str = r#"
resource "openstack_images_image_v2" "img" {
  name             = "crash-img-0"
  container_format = "bare"
  disk_format      = "raw"
  local_file_path  = "disk0.raw"
}

resource "openstack_networking_network_v2" "net" {
  name = "crash-net-0"
}

resource "openstack_networking_subnet_v2" "sub" {
  name       = "crash-sub-0"
  network_id = openstack_networking_network_v2.net.id
  cidr       = "10.70.0.0/24"
}

resource "openstack_compute_instance_v2" "vm" {
  name      = "crash-vm-0"
  image_id  = openstack_images_image_v2.img.id
  flavor_id = "1"
  network {
    uuid = openstack_networking_subnet_v2.sub.network_id
  }
}
"#;

#[test]
fn a_server_nova_is_deleting_is_read_as_gone_never_as_live() {
    // Deleted servers linger 3 s, as Nova's do while their host cleans up.
    let h = Harness::build(ONE_SERVER, |o| o.delete_time = Duration::from_secs(3));
    h.run(&["apply", "-auto-approve", "-input=false"]).ok();
    kill_when_held(
        &h,
        "DELETE",
        "/compute/v2.1/servers/*",
        &["destroy", "-auto-approve", "-input=false"],
    );
    // The server still lists, task `deleting`: refresh waits it out and
    // plans it anew rather than taking it for the live one.
    h.run(&["plan", "-detailed-exitcode", "-input=false"])
        .code(2)
        .stdout_has("# openstack_compute_instance_v2.vm has been deleted")
        .stdout_has("# openstack_compute_instance_v2.vm will be created");
    // An apply killed right after the new server's create: the record
    // of the deleted one left the state before the create was sent, so
    // the new server is adopted as the only one at its address.
    kill_when_held(
        &h,
        "POST",
        "/compute/v2.1/servers",
        &["apply", "-auto-approve", "-input=false"],
    );
    h.run(&["apply", "-auto-approve", "-input=false"])
        .ok()
        .stderr_has("The interrupted run had created openstack_compute_instance_v2.vm")
        .stderr_lacks("It replaces");
    h.check_only(&["crash-img-0", "crash-net-0", "crash-sub-0", "crash-vm-0"]);
    // A destroy killed the same way resumes cleanly.
    kill_when_held(
        &h,
        "DELETE",
        "/compute/v2.1/servers/*",
        &["destroy", "-auto-approve", "-input=false"],
    );
    h.run(&["destroy", "-auto-approve", "-input=false"])
        .ok()
        .stdout_has("# openstack_compute_instance_v2.vm has been deleted");
    h.check_only(&[]);
}

#[test]
fn an_apply_whose_creates_all_fail_without_making_anything_writes_nothing() {
    let h = Harness::with_config(TWO_NETWORKS);
    h.run(&["apply", "-auto-approve", "-input=false"]).ok();
    let state = h.ws.read("state/default.json").expect("state");
    let backup = h.ws.read("state/default.json.backup");
    let (status, body) = h.call(
        "POST",
        "/devcloud/faults",
        Some(serde_json::json!({"method": "POST", "path": "/network/v2.0/networks", "status": 400, "message": "Invalid input for operation."})),
    );
    assert_eq!(status, 201, "{body}");
    h.ws.file("main.tf", &TWO_NETWORKS.replace("count = 2", "count = 3"));
    h.run(&["apply", "-auto-approve", "-input=false"])
        .code(1)
        .stderr_has("Cannot create the network");
    assert_eq!(
        h.ws.read("state/default.json"),
        Some(state),
        "serial untouched"
    );
    assert_eq!(
        h.ws.read("state/default.json.backup"),
        backup,
        "backup untouched"
    );
    assert!(h.ws.read("state/default.journal").is_none());
}

#[test]
fn a_saved_plan_is_refused_while_an_interrupted_create_is_unresolved() {
    let h = Harness::with_config(TWO_NETWORKS);
    h.run(&["apply", "-auto-approve", "-input=false"]).ok();
    h.ws.file("main.tf", &TWO_NETWORKS.replace("count = 2", "count = 3"));
    kill_when_held(
        &h,
        "POST",
        "/network/v2.0/networks",
        &["apply", "-auto-approve", "-input=false"],
    );
    // Without the lock, planning resolves the intent in memory only.
    h.run(&["plan", "-lock=false", "-input=false", "-out=p.plan"])
        .ok()
        .stderr_has("The interrupted run had created openstack_networking_network_v2.net[2]");
    h.run(&["apply", "-input=false", "p.plan"])
        .code(1)
        .stderr_has("Saved plan is stale")
        .stderr_has("creates whose outcome the state does not know yet");
    h.run(&["apply", "-auto-approve", "-input=false"])
        .ok()
        .stderr_has("The interrupted run had created openstack_networking_network_v2.net[2]");
    h.check_only(&[
        "crash-net-0",
        "crash-net-1",
        "crash-net-2",
        "crash-flavor-0",
    ]);
}

/// The networks of `TWO_NETWORKS` with `create_before_destroy`.
fn replaced_first_then_deleted() -> String {
    TWO_NETWORKS.replace(
        "  name  = \"crash-net-${count.index}\"\n",
        "  name  = \"crash-net-${count.index}\"\n  lifecycle {\n    create_before_destroy = true\n  }\n",
    )
}

#[test]
fn a_create_before_destroy_replacement_killed_after_the_create_keeps_the_new_object() {
    let config = replaced_first_then_deleted();
    let h = Harness::with_config(&config);
    h.run(&["apply", "-auto-approve", "-input=false"]).ok();
    let old = super::openstack::state_attrs(&h.ws, "openstack_networking_network_v2.net[0]")["id"]
        .as_str()
        .expect("id")
        .to_string();
    kill_after_new_network(&h, "openstack_networking_network_v2.net[0]");
    let run = h.run(&["apply", "-auto-approve", "-input=false"]);
    run.ok()
        .stderr_has("The interrupted run had created openstack_networking_network_v2.net[0]")
        .stderr_has(&format!("It replaces {old}, which the state recorded there"))
        .stderr_has(&format!("delete it with `openstack network delete {old}`"))
        // The old network carries this state's marker: every plan names it
        // until it is gone.
        .stdout_has(&format!("openstack_networking_network_v2 {old} (\"crash-net-0\") is not adopted: another object is recorded at openstack_networking_network_v2.net[0]."));
    let new = super::openstack::state_attrs(&h.ws, "openstack_networking_network_v2.net[0]")["id"]
        .as_str()
        .expect("id")
        .to_string();
    assert_ne!(new, old);
    let (status, _) = h.call("DELETE", &format!("/network/v2.0/networks/{old}"), None);
    assert_eq!(status, 204);
    h.run(&["plan", "-detailed-exitcode", "-input=false"])
        .code(0)
        .stdout_has("No changes.");
    h.check_only(&["crash-net-0", "crash-net-1", "crash-flavor-0"]);
}

#[test]
fn an_old_object_a_create_before_destroy_replacement_fails_to_delete_is_named_not_forgotten() {
    let config = replaced_first_then_deleted();
    let h = Harness::with_config(&config);
    h.run(&["apply", "-auto-approve", "-input=false"]).ok();
    let old = super::openstack::state_attrs(&h.ws, "openstack_networking_network_v2.net[0]")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let (status, body) = h.call(
        "POST",
        "/devcloud/faults",
        Some(serde_json::json!({"method": "DELETE", "path": "/network/v2.0/networks/*", "status": 400, "count": 1})),
    );
    assert_eq!(status, 201, "{body}");
    h.run(&[
        "apply",
        "-auto-approve",
        "-input=false",
        "-replace=openstack_networking_network_v2.net[0]",
    ])
    .code(1)
    .stderr_has(&format!(
        "the old object {old} is no longer managed: delete it with `openstack network delete {old}`"
    ));
    h.run(&["plan", "-detailed-exitcode", "-input=false"])
        .code(2)
        .stdout_has(&format!(
            "openstack_networking_network_v2 {old} (\"crash-net-0\") is not adopted"
        ));
}

#[test]
fn a_server_still_building_when_its_creator_died_is_waited_for_and_kept() {
    // Builds take 3 s: the kill lands long before the server is ready.
    let h = Harness::build(ONE_SERVER, |o| o.build_time = Duration::from_secs(3));
    kill_when_held(
        &h,
        "POST",
        "/compute/v2.1/servers",
        &["apply", "-auto-approve", "-input=false"],
    );
    let (_, servers) = h.call("GET", "/compute/v2.1/servers/detail", None);
    assert_eq!(servers["servers"][0]["status"], "BUILD", "{servers}");
    // Nova finishes the build on its own: the next run waits for it, as
    // the create would have, and keeps the server.
    h.run(&["plan", "-detailed-exitcode", "-input=false"])
        .code(0)
        .stderr_has("The interrupted run had created openstack_compute_instance_v2.vm (id ")
        .stderr_has("it is now recorded in the state.")
        .stdout_has("No changes.");
    h.check_only(&["crash-img-0", "crash-net-0", "crash-sub-0", "crash-vm-0"]);
}
