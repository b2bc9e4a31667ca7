//! The HTTP side of devcloud: one listener, the four services under their
//! path prefixes, and a middleware every request goes through. In order,
//! it assigns a request id, counts the request by route, waits the
//! configured latency, applies fault rules, runs due timers (builds
//! ending, deleted servers disappearing), and checks the token of every
//! request that needs one (all but version documents, token issue and
//! the control API). Then it logs one line.

use super::error::{ApiError, Service};
use super::store::{Store, now_millis};
use super::token::{self, Claims};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How devcloud behaves, adjustable at run time through `/devcloud/`.
#[derive(Clone, Debug)]
pub struct Knobs {
    /// How long a server stays in BUILD.
    pub build_time: Duration,
    /// How long a deleted server is still visible (status DELETED) before
    /// it answers 404.
    pub delete_time: Duration,
    /// Added to every request.
    pub latency: Duration,
    pub token_ttl: Duration,
    /// What authenticating with a password or an application credential
    /// costs (Keystone hashes the secret with bcrypt: 0.6 to 0.8 s at its
    /// default 12 rounds).
    pub auth_cost: Duration,
    /// What a token's first request to each service costs (the service's
    /// keystonemiddleware validates it with Keystone once, then caches
    /// it: ~1 s, then ~10 ms).
    pub token_first_use: Duration,
    pub faults: Vec<FaultRule>,
    pub server_errors: Vec<ServerErrorRule>,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            build_time: Duration::from_secs(2),
            delete_time: Duration::from_secs(1),
            latency: Duration::ZERO,
            token_ttl: Duration::from_secs(3600),
            auth_cost: Duration::ZERO,
            token_first_use: Duration::ZERO,
            faults: Vec::new(),
            server_errors: Vec::new(),
        }
    }
}

/// Answer requests matching `method` and `path` with `status`, for the
/// next `count` of them or with probability `probability`.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FaultRule {
    #[serde(default)]
    pub id: String,
    /// `GET`, `POST`, ...; absent for any method.
    #[serde(default)]
    pub method: Option<String>,
    /// A path pattern where `*` matches anything (`/compute/v2.1/servers*`).
    pub path: String,
    pub status: u16,
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// How many more requests to fail; absent for no limit.
    #[serde(default)]
    pub count: Option<u64>,
    /// The chance each matching request fails (0..=1); absent for always.
    #[serde(default)]
    pub probability: Option<f64>,
    #[serde(default)]
    pub message: Option<String>,
}

/// Servers whose name matches `name` (`*` wildcards) go to ERROR with
/// this fault message instead of becoming ACTIVE.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ServerErrorRule {
    pub name: String,
    #[serde(default = "default_fault_message")]
    pub message: String,
}

fn default_fault_message() -> String {
    "No valid host was found. There are not enough hosts available.".into()
}

/// Hold the successful responses to requests matching `method` and
/// `path` after the handler has committed their work, for the next
/// `count` of them, until the holds are released: a client killed while
/// it waits for one dies exactly between the cloud's commit and its own
/// record of it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct HoldRule {
    #[serde(default)]
    pub id: String,
    /// `GET`, `POST`, ...; absent for any method.
    #[serde(default)]
    pub method: Option<String>,
    /// A path pattern where `*` matches anything.
    pub path: String,
    /// How many more responses to hold (default 1).
    #[serde(default = "one")]
    pub count: u64,
    /// Responses held now, waiting for the release.
    #[serde(default)]
    pub held: u64,
}

fn one() -> u64 {
    1
}

/// The hold rules and the release of what they hold. Not saved: a
/// restart releases everything.
#[derive(Default)]
pub struct Holds {
    pub rules: Mutex<Vec<HoldRule>>,
    /// Bumped by each release; held responses wait for it to change.
    pub released: tokio::sync::watch::Sender<u64>,
}

impl Holds {
    /// The rule that holds this response, if any (using up one of its
    /// count and counting the response as held).
    fn take(&self, method: &Method, path: &str) -> Option<String> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let rule = rules.iter_mut().find(|r| {
            r.count > 0
                && r.method
                    .as_ref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
                && glob_match(&r.path, path)
        })?;
        rule.count -= 1;
        rule.held += 1;
        Some(rule.id.clone())
    }

    /// Releases every held response and forgets the rules.
    pub fn release_all(&self) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.released.send_modify(|generation| *generation += 1);
    }
}

/// Where request log lines go.
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

pub struct App {
    pub store: Arc<Store>,
    pub knobs: RwLock<Knobs>,
    /// Requests served, by `METHOD /route/{template}`.
    pub requests: Mutex<BTreeMap<String, u64>>,
    /// `http://127.0.0.1:PORT`, for links and the catalog.
    pub base_url: String,
    /// The key tokens are signed with (fixed in the data at first start).
    pub token_key: String,
    pub log: Option<LogSink>,
    /// Tokens (by signature) that have been used with each service, for
    /// `Knobs::token_first_use`.
    pub validated: Mutex<std::collections::HashSet<(String, Service)>>,
    pub holds: Holds,
}

/// How many token-and-service pairs `App::validated` remembers before it
/// starts afresh (a cache, as keystonemiddleware's is).
const VALIDATED_CAPACITY: usize = 10_000;

impl App {
    /// Whether this is the token's first request to `service` (and
    /// remembers that it no longer is).
    fn first_use(&self, token: &str, service: Service) -> bool {
        let mut seen = self.validated.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= VALIDATED_CAPACITY {
            seen.clear();
        }
        let signature = token.rsplit('.').next().unwrap_or(token).to_string();
        seen.insert((signature, service))
    }
}

impl App {
    pub fn knobs(&self) -> Knobs {
        self.knobs.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Saves the fault and server-error rules with the data, so that a
    /// restarted cloud still applies them (and a used-up count stays
    /// used up).
    pub fn save_rules(&self) {
        let knobs = self.knobs();
        self.store.write(|d| {
            d.faults = knobs.faults;
            d.server_errors = knobs.server_errors;
        });
    }
}

/// Who is calling: set by the middleware on requests with a valid token.
#[derive(Clone, Debug)]
pub struct Auth {
    pub user_id: String,
    pub project_id: Option<String>,
    /// Role names on the project.
    pub roles: Vec<String>,
    pub claims: Claims,
    pub token: String,
}

impl Auth {
    /// A cloud administrator (the `admin` role).
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r == "admin")
    }

    /// The project the token is scoped to, or a 403 for unscoped tokens.
    pub fn project(&self, service: Service) -> Result<&str, ApiError> {
        self.project_id
            .as_deref()
            .ok_or_else(|| ApiError::forbidden(service, "A project-scoped token is required."))
    }

    /// Whether the caller may see or change what `owner` owns.
    pub fn owns(&self, owner: &str) -> bool {
        self.is_admin() || self.project_id.as_deref() == Some(owner)
    }
}

/// The service a path belongs to, for the shape of its error bodies.
pub fn service_of(path: &str) -> Service {
    match path.split('/').nth(1) {
        Some("identity") => Service::Identity,
        Some("image") => Service::Image,
        Some("compute") => Service::Compute,
        Some("network") => Service::Network,
        _ => Service::Control,
    }
}

/// Whether a request needs a token: everything but version documents,
/// token issue and devcloud's control API (loopback only).
fn needs_auth(method: &Method, path: &str) -> bool {
    let p = path.trim_end_matches('/');
    let public = matches!(
        p,
        "" | "/identity"
            | "/identity/v3"
            | "/image"
            | "/image/versions"
            | "/image/v2"
            | "/compute"
            | "/compute/v2.1"
            | "/compute/v2"
            | "/network"
    ) || p.starts_with("/devcloud")
        || p == "/identity/v3/auth/tokens" && method == Method::POST;
    !public
}

/// `*` matches any run of characters, everything else itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == t[ti] || p[pi] == '?') {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A random number in [0, 1).
fn random_unit() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

/// Checks a token and finds the caller's roles.
pub fn authenticate(app: &App, token_text: &str) -> Result<Auth, ApiError> {
    let claims = token::verify(&app.token_key, token_text).ok_or_else(ApiError::unauthorized)?;
    if claims.e <= now_millis() {
        return Err(ApiError::unauthorized());
    }
    app.store.read(|d| {
        if d.revoked.contains(&claims.a) {
            return Err(ApiError::unauthorized());
        }
        let user = d
            .users
            .get(&claims.u)
            .filter(|u| u.enabled)
            .ok_or_else(ApiError::unauthorized)?;
        let roles: Vec<String> = match (&claims.c, &claims.p) {
            (Some(cred), _) => {
                let cred = d.app_creds.get(cred).ok_or_else(ApiError::unauthorized)?;
                cred.role_ids
                    .iter()
                    .filter_map(|r| d.roles.get(r))
                    .map(|r| r.name.clone())
                    .collect()
            }
            (None, Some(project)) => d
                .assignments
                .iter()
                .filter(|a| a.user_id == user.id && a.project_id == *project)
                .filter_map(|a| d.roles.get(&a.role_id))
                .map(|r| r.name.clone())
                .collect(),
            (None, None) => Vec::new(),
        };
        Ok(Auth {
            user_id: user.id.clone(),
            project_id: claims.p.clone(),
            roles,
            claims: claims.clone(),
            token: token_text.to_string(),
        })
    })
}

/// The middleware every request passes through.
pub async fn middleware(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = format!("req-{}", uuid::Uuid::new_v4());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| path.clone(), |m| m.as_str().to_string());
    let service = service_of(&path);
    // The counts are of the cloud's API calls: asking for them, or
    // steering devcloud, is not one.
    if !path.starts_with("/devcloud") {
        let mut counts = app.requests.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry(format!("{method} {route}")).or_default() += 1;
    }
    let knobs = app.knobs();
    if !knobs.latency.is_zero() && !path.starts_with("/devcloud") {
        tokio::time::sleep(knobs.latency).await;
    }
    let mut response = match fault_for(&app, &method, &path) {
        Some(rule) => {
            let status =
                StatusCode::from_u16(rule.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut e = ApiError::new(
                service,
                status,
                rule.message.unwrap_or_else(|| "Injected fault.".into()),
            );
            e.retry_after = rule.retry_after;
            e.into_response()
        }
        None => {
            super::compute::run_timers(&app);
            let auth = if needs_auth(&method, &path) {
                let token = req
                    .headers()
                    .get("x-auth-token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                Some(authenticate(&app, token))
            } else {
                None
            };
            match auth {
                Some(Err(e)) => e.into_response(),
                Some(Ok(a)) => {
                    if !knobs.token_first_use.is_zero() && app.first_use(&a.token, service) {
                        tokio::time::sleep(knobs.token_first_use).await;
                    }
                    req.extensions_mut().insert(a);
                    next.run(req).await
                }
                None => next.run(req).await,
            }
        }
    };
    if response.status().is_success() && !path.starts_with("/devcloud") {
        // Subscribed first, so that a release between the two is seen.
        let mut released = app.holds.released.subscribe();
        if app.holds.take(&method, &path).is_some() {
            // The work is committed; the answer waits for the release.
            let _ = released.changed().await;
        }
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert("x-openstack-request-id", v.clone());
        if service == Service::Compute {
            response.headers_mut().insert("x-compute-request-id", v);
        }
    }
    if let Some(log) = &app.log {
        log(&format!(
            "{method} {path} {} {:.1}ms {request_id}",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        ));
    }
    response
}

/// The fault rule that applies to this request, if any (using up one of
/// its count).
fn fault_for(app: &App, method: &Method, path: &str) -> Option<FaultRule> {
    if path.starts_with("/devcloud") {
        return None;
    }
    let mut knobs = app.knobs.write().unwrap_or_else(|e| e.into_inner());
    let index = knobs.faults.iter().position(|r| {
        r.method
            .as_ref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
            && glob_match(&r.path, path)
            && r.count != Some(0)
            && r.probability.is_none_or(|p| random_unit() < p)
    })?;
    let rule = knobs.faults[index].clone();
    let counted = if let Some(n) = knobs.faults[index].count.as_mut() {
        *n -= 1;
        if *n == 0 {
            knobs.faults.remove(index);
        }
        true
    } else {
        false
    };
    drop(knobs);
    if counted {
        app.save_rules();
    }
    Some(rule)
}

/// Removes the trailing slash of a path (`/compute/v2.1/` is
/// `/compute/v2.1`), as the real services accept both.
pub fn normalize_path(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/');
        let new = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed.to_string(),
        };
        if let Ok(uri) = new.parse() {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// The answer for a path no service has.
pub async fn not_found(req: Request) -> Response {
    let service = service_of(req.uri().path());
    ApiError::not_found(service, "The resource could not be found.").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(
            "/compute/v2.1/servers*",
            "/compute/v2.1/servers/detail"
        ));
        assert!(glob_match("fail-*", "fail-web-1"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("fail-*", "web"));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
    }

    #[test]
    fn version_documents_and_token_issue_need_no_token() {
        assert!(!needs_auth(&Method::GET, "/compute/v2.1/"));
        assert!(!needs_auth(&Method::GET, "/image/v2/"));
        assert!(needs_auth(&Method::GET, "/image/v2/images"));
        assert!(!needs_auth(&Method::POST, "/identity/v3/auth/tokens"));
        assert!(needs_auth(&Method::GET, "/identity/v3/auth/tokens"));
        assert!(needs_auth(&Method::GET, "/network/v2.0/networks"));
        assert!(!needs_auth(&Method::GET, "/devcloud/requests"));
    }
}
