//! The OpenStack client against an in-process devcloud: authentication,
//! one token shared across services and renewed when it expires or is
//! refused, retries, and each service's errors.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use stackform::devcloud::{DevCloud, Options};
use stackform::provider::openstack::{
    Client, CloudConfig, Environment, OpenStackError, ProviderSettings, RetryPolicy, Secret,
    Service, resolve,
};
use std::time::Duration;

struct Fixture {
    cloud: DevCloud,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn start() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let cloud = DevCloud::start(Options::ephemeral(dir.path()))
            .await
            .expect("devcloud starts");
        Fixture {
            cloud,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    fn admin_password(&self) -> String {
        self.cloud.password("admin").expect("seeded admin")
    }

    /// The environment an openrc for the admin user would set.
    fn admin_env(&self) -> Environment {
        Environment::new(
            [
                ("OS_AUTH_URL", self.cloud.auth_url()),
                ("OS_USERNAME", "admin".into()),
                ("OS_PASSWORD", self.admin_password()),
                ("OS_PROJECT_NAME", "admin".into()),
                ("OS_USER_DOMAIN_NAME", "Default".into()),
                ("OS_PROJECT_DOMAIN_ID", "default".into()),
            ]
            .map(|(k, v)| (k.to_string(), v)),
            self._dir.path(),
            None,
        )
    }

    async fn config(&self, explicit: ProviderSettings, env: &Environment) -> CloudConfig {
        resolve(&explicit, env, None)
            .await
            .expect("settings resolve")
    }

    async fn admin_client(&self) -> Client {
        let config = self
            .config(ProviderSettings::default(), &self.admin_env())
            .await;
        quick(config)
    }

    async fn control(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut r = self
            .http
            .request(method, format!("{}/devcloud/{path}", self.cloud.url()));
        if let Some(body) = body {
            r = r.json(&body);
        }
        let r = r.send().await.expect("control API answers");
        assert!(r.status().is_success(), "control API: {}", r.status());
        r.json().await.unwrap_or(Value::Null)
    }

    async fn reset_counts(&self) {
        self.control(Method::DELETE, "requests", None).await;
    }

    async fn count(&self, route: &str) -> u64 {
        self.control(Method::GET, "requests", None).await["requests"][route]
            .as_u64()
            .unwrap_or(0)
    }

    async fn fault(&self, rule: Value) {
        self.control(Method::POST, "faults", Some(rule)).await;
    }

    async fn stop(self) {
        self.cloud.stop().await.expect("devcloud stops");
    }
}

/// A client whose backoff waits are milliseconds.
fn quick(config: CloudConfig) -> Client {
    let mut policy = RetryPolicy::new(config.max_retries);
    policy.base_delay = Duration::from_millis(5);
    policy.max_delay = Duration::from_millis(20);
    Client::with_retry_policy(config, policy).expect("client builds")
}

const TOKENS: &str = "POST /identity/v3/auth/tokens";

fn api_error(e: &OpenStackError) -> &stackform::provider::openstack::ApiError {
    e.api()
        .unwrap_or_else(|| panic!("expected an API error, got {e}"))
}

#[tokio::test]
async fn password_auth_by_name_and_one_token_serves_every_service() {
    let f = Fixture::start().await;
    let client = f.admin_client().await;
    f.reset_counts().await;
    let flavors: Value = client
        .get_json(Service::Compute, "/flavors")
        .await
        .expect("flavors");
    assert!(flavors["flavors"].as_array().is_some_and(|a| !a.is_empty()));
    let networks: Value = client
        .get_json(Service::Network, "/networks")
        .await
        .expect("networks");
    assert!(networks["networks"].is_array());
    let images: Value = client
        .get_json(Service::Image, "/images")
        .await
        .expect("images");
    assert!(images["images"].is_array());
    let projects: Value = client
        .get_json(Service::Identity, "/auth/projects")
        .await
        .expect("projects");
    assert!(projects["projects"].is_array());
    // A clone shares the token too.
    let clone = client.clone();
    clone
        .get_json::<Value>(Service::Compute, "/flavors/1")
        .await
        .expect("flavor");
    assert_eq!(f.count(TOKENS).await, 1);
    let token = client.token().await.expect("token");
    assert_eq!(token.project_name.as_deref(), Some("admin"));
    assert!(token.user_id.is_some());
    assert!(token.expires_at.is_some());
    f.stop().await;
}

#[tokio::test]
async fn password_auth_by_ids() {
    let f = Fixture::start().await;
    let admin = f.admin_client().await;
    let token = admin.token().await.expect("token");
    let explicit = ProviderSettings {
        auth_url: Some(f.cloud.auth_url()),
        user_id: token.user_id.clone(),
        password: Some(Secret::new(f.admin_password())),
        tenant_id: token.project_id.clone(),
        ..ProviderSettings::default()
    };
    let env = Environment::new([], f._dir.path(), None);
    let client = quick(f.config(explicit, &env).await);
    let by_id = client.token().await.expect("token by ids");
    assert_eq!(by_id.project_id, token.project_id);
    f.stop().await;
}

#[tokio::test]
async fn application_credential_auth() {
    let f = Fixture::start().await;
    let admin = f.admin_client().await;
    let user_id = admin
        .token()
        .await
        .expect("token")
        .user_id
        .clone()
        .expect("user id");
    let created: Value = admin
        .post_json(
            Service::Identity,
            &format!("/users/{user_id}/application_credentials"),
            &json!({"application_credential": {"name": "ci"}}),
        )
        .await
        .expect("credential created");
    let id = created["application_credential"]["id"]
        .as_str()
        .expect("id");
    let secret = created["application_credential"]["secret"]
        .as_str()
        .expect("secret");
    let env = Environment::new(
        [
            ("OS_AUTH_URL", f.cloud.auth_url()),
            ("OS_APPLICATION_CREDENTIAL_ID", id.to_string()),
            ("OS_APPLICATION_CREDENTIAL_SECRET", secret.to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
        f._dir.path(),
        None,
    );
    let client = quick(f.config(ProviderSettings::default(), &env).await);
    let servers: Value = client
        .get_json(Service::Compute, "/servers")
        .await
        .expect("servers with an application credential");
    assert!(servers["servers"].is_array());
    // By name and user.
    let explicit = ProviderSettings {
        application_credential_name: Some("ci".into()),
        user_name: Some("admin".into()),
        application_credential_secret: Some(Secret::new(secret)),
        auth_url: Some(f.cloud.auth_url()),
        ..ProviderSettings::default()
    };
    let env = Environment::new([], f._dir.path(), None);
    let client = quick(f.config(explicit, &env).await);
    client.token().await.expect("token by credential name");
    f.stop().await;
}

#[tokio::test]
async fn a_given_token_is_validated_for_its_catalog() {
    let f = Fixture::start().await;
    let admin = f.admin_client().await;
    let token = admin.token().await.expect("token");
    let explicit = ProviderSettings {
        auth_url: Some(f.cloud.auth_url()),
        token: Some(token.value.clone()),
        ..ProviderSettings::default()
    };
    let env = Environment::new([], f._dir.path(), None);
    let client = quick(f.config(explicit, &env).await);
    let networks: Value = client
        .get_json(Service::Network, "/networks")
        .await
        .expect("networks with the given token");
    assert!(networks["networks"].is_array());
    f.stop().await;
}

#[tokio::test]
async fn an_expired_token_is_renewed_once() {
    let f = Fixture::start().await;
    f.control(Method::PUT, "settings", Some(json!({"token_ttl": 1})))
        .await;
    let client = f.admin_client().await;
    client
        .get_json::<Value>(Service::Compute, "/flavors")
        .await
        .expect("first call");
    f.reset_counts().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    client
        .get_json::<Value>(Service::Compute, "/flavors")
        .await
        .expect("call after expiry");
    assert_eq!(f.count(TOKENS).await, 1);
    assert_eq!(f.count("GET /compute/v2.1/flavors").await, 1);
    f.stop().await;
}

#[tokio::test]
async fn a_refused_token_is_renewed_once_and_the_request_sent_again() {
    let f = Fixture::start().await;
    let client = f.admin_client().await;
    let token = client.token().await.expect("token");
    // Revoke the client's token behind its back.
    let other = f.admin_client().await;
    let revoked = other
        .send(
            stackform::provider::openstack::Request::new(
                Service::Identity,
                Method::DELETE,
                "/auth/tokens",
            )
            .header("X-Subject-Token", token.value.expose()),
        )
        .await
        .expect("revoked");
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    f.reset_counts().await;
    client
        .get_json::<Value>(Service::Network, "/networks")
        .await
        .expect("call with a revoked token");
    assert_eq!(f.count(TOKENS).await, 1);
    assert_eq!(f.count("GET /network/v2.0/networks").await, 2);
    f.stop().await;
}

#[tokio::test]
async fn service_unavailable_with_retry_after_is_retried() {
    let f = Fixture::start().await;
    let client = f.admin_client().await;
    client.token().await.expect("token");
    f.fault(json!({"method": "GET", "path": "/compute/v2.1/flavors", "status": 503, "retry_after": 1, "count": 1}))
        .await;
    f.reset_counts().await;
    let started = std::time::Instant::now();
    client
        .get_json::<Value>(Service::Compute, "/flavors")
        .await
        .expect("succeeds on the retry");
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert_eq!(f.count("GET /compute/v2.1/flavors").await, 2);
    f.stop().await;
}

#[tokio::test]
async fn retries_stop_at_max_retries() {
    let f = Fixture::start().await;
    let mut config = f.config(ProviderSettings::default(), &f.admin_env()).await;
    config.max_retries = 2;
    let client = quick(config);
    client.token().await.expect("token");
    f.fault(json!({"method": "GET", "path": "/network/v2.0/networks", "status": 502}))
        .await;
    f.reset_counts().await;
    let e = client
        .get_json::<Value>(Service::Network, "/networks")
        .await
        .expect_err("502 every time");
    assert_eq!(api_error(&e).status, StatusCode::BAD_GATEWAY);
    assert_eq!(f.count("GET /network/v2.0/networks").await, 3);
    f.stop().await;
}

#[tokio::test]
async fn internal_errors_are_not_retried() {
    let f = Fixture::start().await;
    let client = f.admin_client().await;
    client.token().await.expect("token");
    f.fault(json!({"method": "GET", "path": "/image/v2/images", "status": 500, "count": 1, "message": "boom"}))
        .await;
    f.reset_counts().await;
    let e = client
        .get_json::<Value>(Service::Image, "/images")
        .await
        .expect_err("500");
    assert_eq!(api_error(&e).status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(api_error(&e).message, "boom");
    assert_eq!(f.count("GET /image/v2/images").await, 1);
    f.stop().await;
}

#[tokio::test]
async fn a_post_is_not_sent_again_after_503_but_is_after_429() {
    let f = Fixture::start().await;
    let client = f.admin_client().await;
    client.token().await.expect("token");
    f.fault(json!({"method": "POST", "path": "/network/v2.0/networks", "status": 503, "count": 1}))
        .await;
    f.reset_counts().await;
    let e = client
        .post_json::<Value>(
            Service::Network,
            "/networks",
            &json!({"network": {"name": "n1"}}),
        )
        .await
        .expect_err("503 on POST is final");
    assert_eq!(api_error(&e).status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(f.count("POST /network/v2.0/networks").await, 1);
    f.fault(json!({"method": "POST", "path": "/network/v2.0/networks", "status": 429, "count": 1}))
        .await;
    f.reset_counts().await;
    let created: Value = client
        .post_json(
            Service::Network,
            "/networks",
            &json!({"network": {"name": "n2"}}),
        )
        .await
        .expect("429 is retried");
    assert_eq!(created["network"]["name"], "n2");
    assert_eq!(f.count("POST /network/v2.0/networks").await, 2);
    f.stop().await;
}

#[tokio::test]
async fn each_service_error_reads_as_the_service_wrote_it() {
    let f = Fixture::start().await;
    let client = f.admin_client().await;
    let missing = "00000000-0000-0000-0000-000000000000";

    let e = client
        .get_json::<Value>(Service::Compute, &format!("/servers/{missing}"))
        .await
        .expect_err("no such server");
    let api = api_error(&e);
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.kind.as_deref(), Some("itemNotFound"));
    assert!(e.is_not_found());
    assert!(api.request_id.starts_with("req-"));
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("Nova: GET /servers/{missing}: 404 Not Found: ")),
        "{shown}"
    );
    assert!(
        shown.ends_with(&format!("(request {})", api.request_id)),
        "{shown}"
    );

    let e = client
        .get_json::<Value>(Service::Network, &format!("/networks/{missing}?fields=id"))
        .await
        .expect_err("no such network");
    let api = api_error(&e);
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.kind.as_deref(), Some("NetworkNotFound"));
    assert_eq!(api.path, format!("/networks/{missing}"));
    assert!(api.message.contains(missing), "{}", api.message);

    let e = client
        .get_json::<Value>(Service::Image, &format!("/images/{missing}"))
        .await
        .expect_err("no such image");
    let api = api_error(&e);
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(!api.message.contains('<'), "{}", api.message);
    assert!(!api.message.is_empty());

    let e = client
        .get_json::<Value>(Service::Identity, &format!("/projects/{missing}"))
        .await
        .expect_err("no such project");
    let api = api_error(&e);
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert!(e.to_string().starts_with("Keystone: GET /projects/"), "{e}");
    f.stop().await;
}

#[tokio::test]
async fn a_wrong_password_names_the_user_and_auth_url_but_not_the_password() {
    let f = Fixture::start().await;
    let explicit = ProviderSettings {
        password: Some(Secret::new("not-the-password-xyzzy")),
        ..ProviderSettings::default()
    };
    let config = f.config(explicit, &f.admin_env()).await;
    let e = quick(config)
        .get_json::<Value>(Service::Compute, "/flavors")
        .await
        .expect_err("wrong password");
    let shown = e.to_string();
    assert_eq!(e.status(), Some(StatusCode::UNAUTHORIZED));
    assert!(
        shown.contains("The request you have made requires authentication."),
        "{shown}"
    );
    assert!(shown.contains(&f.cloud.auth_url()), "{shown}");
    assert!(shown.contains("user \"admin\""), "{shown}");
    assert!(!shown.contains("xyzzy"), "{shown}");
    assert!(!format!("{e:?}").contains("xyzzy"));
    f.stop().await;
}

#[tokio::test]
async fn an_unreachable_cloud_is_named() {
    // A port that was free a moment ago: nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let env = Environment::new(
        [
            (
                "OS_AUTH_URL",
                format!("http://127.0.0.1:{port}/identity/v3"),
            ),
            ("OS_USERNAME", "admin".into()),
            ("OS_PASSWORD", "secret-pw".into()),
        ]
        .map(|(k, v)| (k.to_string(), v)),
        ".",
        None,
    );
    let mut config = resolve(&ProviderSettings::default(), &env, None)
        .await
        .expect("settings");
    config.max_retries = 1;
    let e = quick(config)
        .get_json::<Value>(Service::Compute, "/flavors")
        .await
        .expect_err("nothing listens");
    let shown = e.to_string();
    assert!(matches!(e, OpenStackError::Unreachable { .. }), "{shown}");
    assert!(
        shown.contains(&format!("the cloud at 127.0.0.1:{port} is unreachable")),
        "{shown}"
    );
    assert!(!shown.contains("secret-pw"));
}

#[tokio::test]
async fn endpoint_overrides_and_regions() {
    let f = Fixture::start().await;
    let explicit = ProviderSettings {
        region: Some("Elsewhere".into()),
        ..ProviderSettings::default()
    };
    let config = f.config(explicit, &f.admin_env()).await;
    let e = quick(config)
        .get_json::<Value>(Service::Compute, "/flavors")
        .await
        .expect_err("no such region");
    assert_eq!(
        e.to_string(),
        "no Nova endpoint (compute) in region \"Elsewhere\"; regions with one: RegionOne"
    );
    let mut overrides = std::collections::BTreeMap::new();
    overrides.insert("compute".to_string(), format!("{}/compute/", f.cloud.url()));
    let explicit = ProviderSettings {
        region: Some("Elsewhere".into()),
        endpoint_overrides: overrides,
        ..ProviderSettings::default()
    };
    let config = f.config(explicit, &f.admin_env()).await;
    quick(config)
        .get_json::<Value>(Service::Compute, "/flavors")
        .await
        .expect("the override needs no catalog entry");
    f.stop().await;
}
