//! devcloud over HTTP: each test starts a devcloud in-process on a free
//! loopback port with its own data directory, talks to it with reqwest,
//! and stops it.

mod compute;
mod control;
mod identity;
mod image;
mod network;
mod servers;

use serde_json::Value;
use stackform::devcloud::{DevCloud, Options};

pub struct Cloud {
    pub cloud: DevCloud,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// A response's status, headers and JSON body (Null when there is none
/// or it is not JSON).
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    /// Glance's error message without the `<br /><br />` webob's JSON
    /// error page ends it with.
    pub fn glance_message(&self) -> &str {
        let m = self.json["message"].as_str().unwrap_or_default();
        m.strip_suffix("\n<br /><br />\n").unwrap_or(m)
    }

    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Cloud {
    pub async fn start() -> Cloud {
        let dir = tempfile::tempdir().expect("temp dir");
        Cloud::start_in(dir).await
    }

    pub async fn start_in(dir: tempfile::TempDir) -> Cloud {
        let cloud = DevCloud::start(Options::ephemeral(dir.path()))
            .await
            .expect("devcloud starts");
        Cloud {
            cloud,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.cloud.url())
    }

    /// A project-scoped token for a seeded user (`admin` or `demo`).
    pub async fn token(&self, user: &str) -> String {
        let password = self.cloud.password(user).expect("seeded user");
        let body = serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {"name": user, "domain": {"name": "Default"}, "password": password}}},
            "scope": {"project": {"name": user, "domain": {"name": "Default"}}}
        }});
        let r = self
            .call("POST", "/identity/v3/auth/tokens", None, Some(body))
            .await;
        r.expect(201);
        r.header("x-subject-token")
            .expect("X-Subject-Token")
            .to_string()
    }

    /// Sends a request; `body` as JSON when given.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        self.send(
            method,
            path,
            token,
            body.map(|b| {
                (
                    "application/json".to_string(),
                    serde_json::to_vec(&b).unwrap_or_default(),
                )
            }),
            &[],
        )
        .await
    }

    /// Sends a request with raw bytes and extra headers.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(String, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.header("X-Auth-Token", t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some((content_type, bytes)) = body {
            req = req.header("Content-Type", content_type).body(bytes);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn stop(self) {
        self.cloud.stop().await.expect("devcloud stops");
    }
}
