//! devcloud under load: requests per second and latency for
//! `GET /compute/v2.1/servers/detail` with 100 servers, a small GET
//! (`GET /compute/v2.1/flavors/1`) and `POST /identity/v3/auth/tokens`,
//! each with 1 and with 32 concurrent clients, against a `stackform
//! devcloud serve` process on loopback. Run with `cargo bench --bench
//! devcloud`; figures are printed, nothing is asserted.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SECONDS_PER_RUN: u64 = 5;

struct Server {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_stackform"))
        .args([
            "devcloud",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--build-time",
            "0",
            "--delete-time",
            "0",
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
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let url = loop {
        let line = lines
            .next()
            .and_then(Result::ok)
            .expect("devcloud printed its address");
        if let Some(rest) = line.strip_prefix("devcloud is listening on ") {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server {
        child,
        url,
        _dir: dir,
    }
}

fn password(server: &Server, user: &str) -> String {
    let yaml =
        std::fs::read_to_string(server._dir.path().join("clouds.yaml")).expect("clouds.yaml");
    let section = yaml
        .split(&format!("username: {user}\n"))
        .nth(1)
        .expect("user in clouds.yaml");
    let line = section
        .lines()
        .find(|l| l.trim_start().starts_with("password:"))
        .expect("password");
    line.split('"').nth(1).expect("quoted password").to_string()
}

fn token_body(server: &Server) -> Value {
    json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": password(server, "admin")}}},
        "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}
    }})
}

async fn setup(http: &reqwest::Client, server: &Server) -> String {
    let r = http
        .post(format!("{}/identity/v3/auth/tokens", server.url))
        .json(&token_body(server))
        .send()
        .await
        .expect("token");
    let token = r.headers()["x-subject-token"]
        .to_str()
        .expect("token text")
        .to_string();
    let post = |path: &str, body: Value| {
        http.post(format!("{}{path}", server.url))
            .header("X-Auth-Token", &token)
            .json(&body)
            .send()
    };
    let image: Value = post(
        "/image/v2/images",
        json!({"name": "bench", "disk_format": "raw", "container_format": "bare"}),
    )
    .await
    .expect("image")
    .json()
    .await
    .expect("image json");
    let image_id = image["id"].as_str().expect("image id").to_string();
    http.put(format!("{}/image/v2/images/{image_id}/file", server.url))
        .header("X-Auth-Token", &token)
        .header("Content-Type", "application/octet-stream")
        .body(vec![0u8; 4096])
        .send()
        .await
        .expect("upload");
    let net: Value = post(
        "/network/v2.0/networks",
        json!({"network": {"name": "bench"}}),
    )
    .await
    .expect("network")
    .json()
    .await
    .expect("json");
    let net_id = net["network"]["id"]
        .as_str()
        .expect("network id")
        .to_string();
    post(
        "/network/v2.0/subnets",
        json!({"subnet": {"network_id": net_id, "cidr": "10.99.0.0/16", "ip_version": 4}}),
    )
    .await
    .expect("subnet");
    for i in 0..100 {
        let r = post(
            "/compute/v2.1/servers",
            json!({"server": {"name": format!("bench-{i}"), "imageRef": image_id, "flavorRef": "1", "networks": [{"uuid": net_id}]}}),
        )
        .await
        .expect("server");
        assert_eq!(
            r.status().as_u16(),
            202,
            "server create: {}",
            r.text().await.unwrap_or_default()
        );
    }
    token
}

struct Figures {
    requests: u64,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `concurrency` clients sending `make()` requests for a fixed time.
async fn run<F>(concurrency: usize, make: Arc<F>) -> Figures
where
    F: Fn() -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let deadline = Instant::now() + Duration::from_secs(SECONDS_PER_RUN);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let make = make.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let r = make().send().await.expect("request");
                let status = r.status();
                let _ = r.bytes().await;
                assert!(status.is_success(), "status {status}");
                latencies.push(t.elapsed());
            }
            latencies
        });
    }
    let mut all = Vec::new();
    while let Some(l) = tasks.join_next().await {
        all.extend(l.expect("client task"));
    }
    let elapsed = started.elapsed();
    all.sort();
    let at = |q: f64| {
        all.get(((all.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or_default()
    };
    Figures {
        requests: all.len() as u64,
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.5),
        p99: at(0.99),
    }
}

/// Builds the next request of a benchmark case.
type MakeRequest = dyn Fn() -> reqwest::RequestBuilder + Send + Sync;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let server = start();
        let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client");
        let token = setup(&http, &server).await;
        let body = Arc::new(token_body(&server));
        println!("devcloud benchmark: {SECONDS_PER_RUN} s per run, {} CPUs, server and clients on one machine", std::thread::available_parallelism().map_or(0, |n| n.get()));
        println!("{:<44} {:>8} {:>10} {:>10} {:>10}", "request", "clients", "req/s", "p50", "p99");
        let cases: Vec<(&str, Arc<MakeRequest>)> = vec![
            ("GET /compute/v2.1/servers/detail (100)", {
                let (http, url, token) = (http.clone(), format!("{}/compute/v2.1/servers/detail", server.url), token.clone());
                Arc::new(move || http.get(&url).header("X-Auth-Token", &token))
            }),
            ("GET /compute/v2.1/flavors/1", {
                let (http, url, token) = (http.clone(), format!("{}/compute/v2.1/flavors/1", server.url), token.clone());
                Arc::new(move || http.get(&url).header("X-Auth-Token", &token))
            }),
            ("POST /identity/v3/auth/tokens", {
                let (http, url) = (http.clone(), format!("{}/identity/v3/auth/tokens", server.url));
                Arc::new(move || http.post(&url).json(&*body))
            }),
        ];
        for (name, make) in cases {
            for clients in [1, 32] {
                let make = make.clone();
                let f = run(clients, Arc::new(move || make())).await;
                println!(
                    "{name:<44} {clients:>8} {:>10.0} {:>8.2}ms {:>8.2}ms   ({} requests)",
                    f.per_second,
                    f.p50.as_secs_f64() * 1000.0,
                    f.p99.as_secs_f64() * 1000.0,
                    f.requests
                );
            }
        }
    });
}
