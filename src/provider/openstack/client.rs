//! The HTTP client every OpenStack resource type uses: it authenticates
//! once per run, finds each service's endpoint in the catalog, sends
//! requests with the headers OpenStack expects, retries what is safe to
//! retry, and turns failures into [`OpenStackError`]s.

use super::auth::{self, Token};
use super::error::{ApiError, OpenStackError, service_message};
use super::recorder;
use super::retry::{self, Failure, Repeat, RetryPolicy};
use super::secret::Secret;
use super::service::Service;
use super::settings::{AuthMethod, CloudConfig};
use crate::regular_file;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, RETRY_AFTER, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The compute microversion requests use unless they ask for another:
/// 2.79 (Train) has server tags, descriptions, `networks: "none"`, and
/// flavor extra specs in flavor bodies, and every supported Nova serves it.
pub const DEFAULT_COMPUTE_MICROVERSION: &str = "2.79";

/// JSON Patch as Glance wants it for `PATCH /v2/images/{id}`.
pub const GLANCE_JSON_PATCH: &str = "application/openstack-images-v2.1-json-patch";

const REQUEST_ID_HEADER: &str = "X-OpenStack-Request-Id";

/// The largest `cacert_file` read: 16 MiB, a hundred times the system's
/// whole bundle of trusted roots.
const MAX_CACERT_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// What a request carries.
enum Payload {
    Empty,
    Bytes {
        data: Vec<u8>,
        content_type: String,
    },
    /// Sent once: a stream cannot be replayed.
    Stream {
        body: Option<reqwest::Body>,
        content_type: String,
    },
}

impl Payload {
    fn replayable(&self) -> bool {
        !matches!(self, Payload::Stream { .. })
    }

    fn attach(&mut self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Payload::Empty => builder,
            Payload::Bytes { data, content_type } => builder
                .header(CONTENT_TYPE, content_type.as_str())
                .body(data.clone()),
            Payload::Stream { body, content_type } => {
                let builder = builder.header(CONTENT_TYPE, content_type.as_str());
                match body.take() {
                    Some(body) => builder.body(body),
                    None => builder,
                }
            }
        }
    }
}

/// The request an attempt belongs to, as errors name it.
#[derive(Clone, Copy)]
struct Attempted<'a> {
    service: Service,
    method: &'a Method,
    /// As errors show it: without the query.
    path: &'a str,
    request_id: &'a str,
}

/// One logical request to a service.
pub struct Request {
    service: Service,
    method: Method,
    /// Below the service's versioned endpoint, with any query
    /// (`/servers/detail?name=web`).
    path: String,
    payload: Payload,
    microversion: Option<String>,
    headers: Vec<(String, String)>,
}

impl Request {
    pub fn new(service: Service, method: Method, path: impl Into<String>) -> Request {
        Request {
            service,
            method,
            path: path.into(),
            payload: Payload::Empty,
            microversion: None,
            headers: Vec::new(),
        }
    }

    pub fn json(self, body: &Value) -> Request {
        self.json_as(body, "application/json")
    }

    /// A JSON body with another media type (Glance's JSON Patch).
    pub fn json_as(mut self, body: &Value, content_type: &str) -> Request {
        self.payload = Payload::Bytes {
            data: body.to_string().into_bytes(),
            content_type: content_type.into(),
        };
        self
    }

    /// A streamed body (image data), sent at most once.
    pub fn stream(mut self, body: reqwest::Body, content_type: &str) -> Request {
        self.payload = Payload::Stream {
            body: Some(body),
            content_type: content_type.into(),
        };
        self
    }

    /// The compute microversion (default [`DEFAULT_COMPUTE_MICROVERSION`]).
    pub fn microversion(mut self, microversion: impl Into<String>) -> Request {
        self.microversion = Some(microversion.into());
        self
    }

    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The path as errors show it: without the query.
    fn display_path(&self) -> String {
        self.path.split('?').next().unwrap_or_default().to_string()
    }
}

/// A successful answer, read in full.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The service's request id, or ours.
    pub request_id: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// A client for one cloud; cheap to clone, all clones share the token.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    config: CloudConfig,
    retry: RetryPolicy,
    /// The run's one token. The lock is held while authenticating, so
    /// requests that find the token missing or stale wait for one new
    /// token instead of each asking Keystone for theirs.
    token: tokio::sync::Mutex<Option<Arc<Token>>>,
}

/// `req-<uuid4>`, the form OpenStack services use for request ids.
pub fn new_request_id() -> String {
    format!("req-{}", uuid::Uuid::new_v4())
}

fn user_agent() -> String {
    format!("stackform/{}", crate::VERSION)
}

impl Client {
    /// A client for `config`; nothing is sent until the first request.
    pub fn new(config: CloudConfig) -> Result<Client, OpenStackError> {
        let retry = RetryPolicy::new(config.max_retries);
        Client::with_retry_policy(config, retry)
    }

    /// A client that retries by `retry` instead of the default policy
    /// for `config.max_retries` (tests shorten the waits).
    pub fn with_retry_policy(
        config: CloudConfig,
        retry: RetryPolicy,
    ) -> Result<Client, OpenStackError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(user_agent())
            .connect_timeout(Duration::from_secs(30))
            .read_timeout(Duration::from_secs(300));
        if config.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        if let Some(path) = &config.cacert_file {
            let pem = regular_file::read(path, MAX_CACERT_FILE_BYTES).map_err(|e| {
                OpenStackError::Tls(format!("cannot read cacert_file {}: {e}", path.display()))
            })?;
            for cert in reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                OpenStackError::Tls(format!("{} is not a PEM certificate: {e}", path.display()))
            })? {
                builder = builder.add_root_certificate(cert);
            }
        }
        let http = builder
            .build()
            .map_err(|e| OpenStackError::Tls(e.to_string()))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                config,
                retry,
                token: tokio::sync::Mutex::new(None),
            }),
        })
    }

    pub fn config(&self) -> &CloudConfig {
        &self.inner.config
    }

    /// The current token, authenticating first when there is none or it
    /// is about to expire.
    pub async fn token(&self) -> Result<Arc<Token>, OpenStackError> {
        let mut slot = self.inner.token.lock().await;
        if let Some(token) = slot.as_ref()
            && !token.needs_renewal(Instant::now())
        {
            return Ok(token.clone());
        }
        let token = Arc::new(self.authenticate().await?);
        *slot = Some(token.clone());
        Ok(token)
    }

    /// A new token after a service refused `rejected`, unless another
    /// request already replaced it.
    async fn renew(&self, rejected: &Arc<Token>) -> Result<Arc<Token>, OpenStackError> {
        let mut slot = self.inner.token.lock().await;
        if let Some(current) = slot.as_ref()
            && !Arc::ptr_eq(current, rejected)
        {
            return Ok(current.clone());
        }
        let token = Arc::new(self.authenticate().await?);
        *slot = Some(token.clone());
        Ok(token)
    }

    /// Asks Keystone for a token (or validates the given one).
    async fn authenticate(&self) -> Result<Token, OpenStackError> {
        let config = &self.inner.config;
        let url = format!("{}/auth/tokens", config.auth_url.trim_end_matches('/'));
        let request_id = new_request_id();
        let (method, mut payload, given) = match (&config.auth, auth::token_request(&config.auth)) {
            (AuthMethod::Token { token }, _) => (Method::GET, Payload::Empty, Some(token.clone())),
            (_, Some(body)) => (
                Method::POST,
                Payload::Bytes {
                    data: body.to_string().into_bytes(),
                    content_type: "application/json".into(),
                },
                None,
            ),
            (_, None) => (Method::POST, Payload::Empty, None),
        };
        let http = &self.inner.http;
        let response = self
            .attempts(
                Attempted {
                    service: Service::Identity,
                    method: &method,
                    path: "/auth/tokens",
                    request_id: &request_id,
                },
                &mut payload,
                Repeat::Harmless,
                || {
                    let mut b = http
                        .request(method.clone(), &url)
                        .header(ACCEPT, "application/json")
                        .header(REQUEST_ID_HEADER, &request_id);
                    if let Some(token) = &given {
                        b = b
                            .header("X-Auth-Token", token.expose())
                            .header("X-Subject-Token", token.expose());
                    }
                    b
                },
            )
            .await?;
        let received = Instant::now();
        let status = response.status();
        let request_id = response_request_id(response.headers(), &request_id);
        let subject = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(Secret::from);
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default();
        recorder::record(
            Service::Identity,
            &method,
            "/auth/tokens",
            status,
            &headers,
            &body,
        );
        let text = String::from_utf8_lossy(&body);
        if !status.is_success() {
            let (message, _) = service_message(Service::Identity, &text);
            return Err(OpenStackError::Authentication {
                auth_url: config.auth_url.clone(),
                who: config.auth.describe(),
                status,
                message,
                request_id,
            });
        }
        let invalid = |reason: String| OpenStackError::InvalidResponse {
            service: Service::Identity,
            method: method.clone(),
            path: "/auth/tokens".into(),
            reason,
            request_id: request_id.clone(),
        };
        let value = given
            .or(subject)
            .ok_or_else(|| invalid("no X-Subject-Token header".into()))?;
        let json: Value =
            serde_json::from_slice(&body).map_err(|e| invalid(format!("not JSON: {e}")))?;
        auth::parse_token(value, &json, received).map_err(invalid)
    }

    /// The base URL of a service: the override, else the catalog's, with
    /// the API version the client speaks.
    pub fn endpoint(&self, service: Service, token: &Token) -> Result<String, OpenStackError> {
        let config = &self.inner.config;
        if let Some(url) = config.endpoint_overrides.get(service.catalog_type()) {
            return Ok(service.versioned_url(url));
        }
        match token
            .catalog
            .endpoint(service, config.interface, config.region.as_deref())
        {
            Ok(url) => Ok(service.versioned_url(url)),
            // Keystone is where we authenticated even when the catalog
            // does not list it.
            Err(_) if service == Service::Identity => Ok(service.versioned_url(&config.auth_url)),
            Err(e) => Err(e),
        }
    }

    /// The request as it goes on the wire, without its body.
    fn build(
        &self,
        request: &Request,
        base: &str,
        token: &Token,
        request_id: &str,
    ) -> reqwest::RequestBuilder {
        let url = format!(
            "{}/{}",
            base.trim_end_matches('/'),
            request.path.trim_start_matches('/')
        );
        let mut b = self
            .inner
            .http
            .request(request.method.clone(), url)
            .header("X-Auth-Token", token.value.expose())
            .header(REQUEST_ID_HEADER, request_id)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, user_agent());
        if request.service == Service::Compute {
            let mv = request
                .microversion
                .as_deref()
                .unwrap_or(DEFAULT_COMPUTE_MICROVERSION);
            b = b
                .header("OpenStack-API-Version", format!("compute {mv}"))
                .header("X-OpenStack-Nova-API-Version", mv);
        }
        for (name, value) in &request.headers {
            b = b.header(name.as_str(), value.as_str());
        }
        b
    }

    /// Sends a request: retries transient failures, renews the token once
    /// if a service refuses it, and returns the answer when it is a
    /// success.
    pub async fn send(&self, mut request: Request) -> Result<Response, OpenStackError> {
        let request_id = new_request_id();
        let path = request.display_path();
        let mut token = self.token().await?;
        let mut renewed = false;
        loop {
            let base = self.endpoint(request.service, &token)?;
            let mut payload = std::mem::replace(&mut request.payload, Payload::Empty);
            let response = self
                .attempts(
                    Attempted {
                        service: request.service,
                        method: &request.method,
                        path: &path,
                        request_id: &request_id,
                    },
                    &mut payload,
                    Repeat::ByMethod,
                    || self.build(&request, &base, &token, &request_id),
                )
                .await;
            request.payload = payload;
            let response = response?;
            if response.status() == StatusCode::UNAUTHORIZED
                && !renewed
                && request.payload.replayable()
            {
                renewed = true;
                token = self.renew(&token).await?;
                continue;
            }
            return self
                .finish(
                    request.service,
                    &request.method,
                    &path,
                    &request_id,
                    response,
                )
                .await;
        }
    }

    /// Sends attempts until one gets an answer that is not worth
    /// retrying, or the retries run out.
    async fn attempts(
        &self,
        request: Attempted<'_>,
        payload: &mut Payload,
        repeat: Repeat,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, OpenStackError> {
        let Attempted {
            service,
            method,
            path,
            request_id,
        } = request;
        let policy = &self.inner.retry;
        let mut retry = 0;
        loop {
            let builder = payload.attach(build());
            let (failure, retry_after, outcome) = match builder.send().await {
                Ok(response) if retry::is_transient(response.status(), repeat) => (
                    Failure::Status(response.status()),
                    retry_after(response.headers()),
                    Ok(response),
                ),
                Ok(response) => return Ok(response),
                Err(e) if e.is_connect() => (Failure::Connect, None, Err(e)),
                Err(e) => (Failure::Lost, None, Err(e)),
            };
            if retry >= policy.max_retries
                || !retry::is_retryable(method, payload.replayable(), repeat, failure)
            {
                return match outcome {
                    Ok(response) => Ok(response),
                    Err(e) => Err(transport_error(service, method, path, request_id, e)),
                };
            }
            tokio::time::sleep(policy.delay(retry, retry_after, retry::random_unit())).await;
            retry += 1;
        }
    }

    /// Reads the answer: a success, or the service's error.
    async fn finish(
        &self,
        service: Service,
        method: &Method,
        path: &str,
        request_id: &str,
        response: reqwest::Response,
    ) -> Result<Response, OpenStackError> {
        let status = response.status();
        let headers = response.headers().clone();
        let request_id = response_request_id(&headers, request_id);
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(service, method, path, &request_id, e))?
            .to_vec();
        recorder::record(service, method, path, status, &headers, &body);
        if status.is_success() {
            return Ok(Response {
                status,
                headers,
                body,
                request_id,
            });
        }
        let (message, kind) = service_message(service, &String::from_utf8_lossy(&body));
        let message = if message.is_empty() {
            status.canonical_reason().unwrap_or("error").to_string()
        } else {
            message
        };
        Err(OpenStackError::Api(Box::new(ApiError {
            service,
            method: method.clone(),
            path: path.to_string(),
            status,
            request_id,
            message,
            kind,
        })))
    }

    /// Sends `method path` to `service` with an optional JSON body.
    pub async fn request(
        &self,
        service: Service,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Response, OpenStackError> {
        let request = Request::new(service, method, path);
        self.send(match body {
            Some(body) => request.json(body),
            None => request,
        })
        .await
    }

    pub async fn get_json<T: DeserializeOwned>(
        &self,
        service: Service,
        path: &str,
    ) -> Result<T, OpenStackError> {
        let response = self.request(service, Method::GET, path, None).await?;
        decode(service, Method::GET, path, &response)
    }

    pub async fn post_json<T: DeserializeOwned>(
        &self,
        service: Service,
        path: &str,
        body: &Value,
    ) -> Result<T, OpenStackError> {
        let response = self
            .request(service, Method::POST, path, Some(body))
            .await?;
        decode(service, Method::POST, path, &response)
    }

    pub async fn put_json<T: DeserializeOwned>(
        &self,
        service: Service,
        path: &str,
        body: &Value,
    ) -> Result<T, OpenStackError> {
        let response = self.request(service, Method::PUT, path, Some(body)).await?;
        decode(service, Method::PUT, path, &response)
    }

    /// A PATCH with a JSON body of `content_type` (Glance:
    /// [`GLANCE_JSON_PATCH`]).
    pub async fn patch(
        &self,
        service: Service,
        path: &str,
        body: &Value,
        content_type: &str,
    ) -> Result<Response, OpenStackError> {
        self.send(Request::new(service, Method::PATCH, path).json_as(body, content_type))
            .await
    }

    pub async fn delete(&self, service: Service, path: &str) -> Result<(), OpenStackError> {
        self.request(service, Method::DELETE, path, None)
            .await
            .map(drop)
    }

    /// Streams `body` with PUT (Glance's `/images/{id}/file`). Sent once:
    /// never retried, and the token is renewed before if it is close to
    /// expiring, since a 401 cannot be answered by sending again.
    pub async fn upload(
        &self,
        service: Service,
        path: &str,
        body: reqwest::Body,
        content_type: &str,
    ) -> Result<Response, OpenStackError> {
        self.send(Request::new(service, Method::PUT, path).stream(body, content_type))
            .await
    }
}

fn decode<T: DeserializeOwned>(
    service: Service,
    method: Method,
    path: &str,
    response: &Response,
) -> Result<T, OpenStackError> {
    // An empty body (204) reads as JSON null.
    let parsed = if response.body.is_empty() {
        serde_json::from_value(Value::Null)
    } else {
        response.json()
    };
    parsed.map_err(|e| OpenStackError::InvalidResponse {
        service,
        method,
        path: path.split('?').next().unwrap_or_default().to_string(),
        reason: e.to_string(),
        request_id: response.request_id.clone(),
    })
}

/// `Retry-After` in seconds (the HTTP-date form is not used by OpenStack
/// services and is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// The service's id for the request, else ours.
fn response_request_id(headers: &HeaderMap, ours: &str) -> String {
    ["x-openstack-request-id", "x-compute-request-id"]
        .iter()
        .find_map(|name| headers.get(*name).and_then(|v| v.to_str().ok()))
        .unwrap_or(ours)
        .to_string()
}

fn transport_error(
    service: Service,
    method: &Method,
    path: &str,
    request_id: &str,
    e: reqwest::Error,
) -> OpenStackError {
    let host = e
        .url()
        .map(|u| match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => u.to_string(),
        })
        .unwrap_or_default();
    let connect = e.is_connect();
    let reason = error_chain(&e.without_url());
    if connect {
        OpenStackError::Unreachable {
            service,
            method: method.clone(),
            path: path.to_string(),
            host,
            reason,
        }
    } else {
        OpenStackError::Transport {
            service,
            method: method.clone(),
            path: path.to_string(),
            reason,
            request_id: request_id.to_string(),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::openstack::settings::{Interface, Scope, UserRef};

    fn client() -> Client {
        Client::new(CloudConfig {
            auth_url: "http://keystone/v3".into(),
            auth: AuthMethod::Password {
                user: UserRef::Id("u".into()),
                password: Secret::new("pw"),
                scope: Scope::Unscoped,
            },
            region: None,
            interface: Interface::Public,
            insecure: false,
            cacert_file: None,
            max_retries: 5,
            endpoint_overrides: Default::default(),
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn token() -> Token {
        auth::parse_token(
            Secret::new("tok"),
            &serde_json::json!({"token": {}}),
            Instant::now(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn header<'r>(r: &'r reqwest::Request, name: &str) -> Option<&'r str> {
        r.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn every_request_carries_token_request_id_accept_and_user_agent() {
        let c = client();
        let request = Request::new(Service::Image, Method::GET, "/images?name=x");
        let built = c
            .build(&request, "http://glance/v2", &token(), "req-42")
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(built.url().as_str(), "http://glance/v2/images?name=x");
        assert_eq!(header(&built, "x-auth-token"), Some("tok"));
        assert_eq!(header(&built, "x-openstack-request-id"), Some("req-42"));
        assert_eq!(header(&built, "accept"), Some("application/json"));
        assert_eq!(
            header(&built, "user-agent").map(String::from),
            Some(format!("stackform/{}", crate::VERSION))
        );
        assert_eq!(header(&built, "openstack-api-version"), None);
        assert_eq!(request.display_path(), "/images");
    }

    #[test]
    fn compute_requests_carry_the_microversion() {
        let c = client();
        let default = Request::new(Service::Compute, Method::GET, "/servers");
        let built = c
            .build(&default, "http://nova/v2.1", &token(), "req-1")
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            header(&built, "openstack-api-version"),
            Some("compute 2.79")
        );
        assert_eq!(header(&built, "x-openstack-nova-api-version"), Some("2.79"));
        let chosen = Request::new(Service::Compute, Method::GET, "/servers").microversion("2.90");
        let built = c
            .build(&chosen, "http://nova/v2.1", &token(), "req-1")
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            header(&built, "openstack-api-version"),
            Some("compute 2.90")
        );
    }

    #[test]
    fn request_ids_look_like_openstack_ones() {
        let id = new_request_id();
        assert!(id.starts_with("req-"));
        assert!(uuid::Uuid::parse_str(&id[4..]).is_ok());
        assert_ne!(id, new_request_id());
    }
}
