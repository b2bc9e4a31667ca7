//! What can go wrong talking to OpenStack, and how each service's error
//! body is read into one message.
//!
//! Every error names the service, the method and the path (never the
//! query string, which may carry filters users consider private), and the
//! request id a cloud operator can find in the service's logs. Secrets
//! never reach an error: the types holding them print `***`.

use super::service::Service;
use reqwest::{Method, StatusCode};
use std::fmt;
use std::path::PathBuf;

/// A configuration problem found while resolving the provider settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no auth_url: set auth_url in the provider block, OS_AUTH_URL, or a cloud from clouds.yaml (cloud or OS_CLOUD)"
    )]
    MissingAuthUrl,
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: crate::regular_file::FileError,
    },
    #[error("{path}{location}: invalid YAML: {message}", location = location_suffix(*.line, *.column))]
    InvalidYaml {
        path: PathBuf,
        line: Option<u64>,
        column: Option<u64>,
        message: String,
    },
    #[error("{path}: cloud {cloud:?}: {message}")]
    InvalidCloud {
        path: PathBuf,
        cloud: String,
        message: String,
    },
    #[error("cloud {cloud:?} is not defined in {searched}; clouds found: {found}", searched = searched_list(.searched), found = found_list(.found))]
    UnknownCloud {
        cloud: String,
        searched: Vec<PathBuf>,
        found: Vec<String>,
    },
    #[error("invalid {name}: {message}")]
    InvalidSetting { name: &'static str, message: String },
    #[error("incomplete credentials for {auth_url}: {message}")]
    MissingCredentials { auth_url: String, message: String },
    #[error(
        "auth_url {auth_url} asks for an embedded devcloud, which only the stackform command line can start"
    )]
    NoEmbeddedClouds { auth_url: String },
    #[error("cannot start the embedded devcloud in {dir}: {message}")]
    EmbeddedCloud { dir: PathBuf, message: String },
}

fn location_suffix(line: Option<u64>, column: Option<u64>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

fn searched_list(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "any clouds.yaml (none found)".into();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn found_list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// An answer of a service that is not a success.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub service: Service,
    pub method: Method,
    /// The path below the service's endpoint, without the query.
    pub path: String,
    pub status: StatusCode,
    /// The service's request id, or the one stackform sent.
    pub request_id: String,
    /// The service's explanation.
    pub message: String,
    /// Neutron's error type (`SubnetInUse`), Nova's fault name
    /// (`itemNotFound`), Keystone's title.
    pub kind: Option<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} {}: {}: {} (request {})",
            self.service, self.method, self.path, self.status, self.message, self.request_id
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OpenStackError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Api(Box<ApiError>),
    #[error("cannot authenticate {who} at {auth_url}: {status}: {message} (request {request_id})")]
    Authentication {
        auth_url: String,
        /// `user "admin" in domain "Default"`, `application credential …`.
        who: String,
        status: StatusCode,
        message: String,
        request_id: String,
    },
    #[error("{service}: {method} {path}: the cloud at {host} is unreachable: {reason}")]
    Unreachable {
        service: Service,
        method: Method,
        path: String,
        host: String,
        reason: String,
    },
    #[error("{service}: {method} {path}: {reason} (request {request_id})")]
    Transport {
        service: Service,
        method: Method,
        path: String,
        reason: String,
        request_id: String,
    },
    #[error("{service}: {method} {path}: unexpected response: {reason} (request {request_id})")]
    InvalidResponse {
        service: Service,
        method: Method,
        path: String,
        reason: String,
        request_id: String,
    },
    #[error("no {service} endpoint ({service_type}) {detail}", service_type = .service.catalog_type())]
    NoEndpoint { service: Service, detail: String },
    #[error("cannot set up HTTPS: {0}")]
    Tls(String),
}

impl OpenStackError {
    /// The service's answer, when there was one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            OpenStackError::Api(e) => Some(e),
            _ => None,
        }
    }

    /// The HTTP status the service answered with.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            OpenStackError::Api(e) => Some(e.status),
            OpenStackError::Authentication { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A 404: the object is gone (drop it from the state, plan a create).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }
}

/// The service's message (and error kind) in an error body, read the way
/// the service writes it, falling back to the other services' shapes
/// (a 401 from keystonemiddleware looks like Keystone's wherever it
/// comes from) and then to the body's text.
pub fn service_message(service: Service, body: &str) -> (String, Option<String>) {
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    if let Some(json) = &json {
        let own = match service {
            Service::Identity => keystone_message(json),
            Service::Compute => nova_message(json),
            Service::Network => neutron_message(json),
            Service::Image => glance_message(json),
        };
        if let Some(found) = own
            .or_else(|| keystone_message(json))
            .or_else(|| neutron_message(json))
            .or_else(|| glance_message(json))
            .or_else(|| nova_message(json))
        {
            return found;
        }
    }
    let text = if body.trim_start().starts_with('<') {
        html_text(body)
    } else {
        collapse_whitespace(body)
    };
    (truncate(&text, 1000), None)
}

fn str_of<'v>(v: &'v serde_json::Value, key: &str) -> Option<&'v str> {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `{"error": {"code": 401, "title": "Unauthorized", "message": "…"}}`
fn keystone_message(json: &serde_json::Value) -> Option<(String, Option<String>)> {
    let error = json.get("error")?;
    let message = str_of(error, "message")?;
    Some((
        message.to_string(),
        str_of(error, "title").map(String::from),
    ))
}

/// `{"itemNotFound": {"code": 404, "message": "…"}}`: one root key
/// naming the fault.
fn nova_message(json: &serde_json::Value) -> Option<(String, Option<String>)> {
    let object = json.as_object()?;
    if object.len() != 1 {
        return None;
    }
    let (fault, inner) = object.iter().next()?;
    let message = str_of(inner, "message")?;
    Some((message.to_string(), Some(fault.clone())))
}

/// `{"NeutronError": {"type": "SubnetInUse", "message": "…", "detail": ""}}`
fn neutron_message(json: &serde_json::Value) -> Option<(String, Option<String>)> {
    let error = json.get("NeutronError")?;
    if let Some(text) = error.as_str() {
        return Some((text.to_string(), None));
    }
    let mut message = str_of(error, "message")?.to_string();
    if let Some(detail) = str_of(error, "detail") {
        message = format!("{message} ({detail})");
    }
    Some((message, str_of(error, "type").map(String::from)))
}

/// webob's JSON error: `{"code": 404, "title": "Not Found", "message": "…"}`
/// (`code` may also be the status line).
fn glance_message(json: &serde_json::Value) -> Option<(String, Option<String>)> {
    let message = str_of(json, "message")?;
    Some((html_text(message), str_of(json, "title").map(String::from)))
}

/// The text of a webob HTML error page, without its title (the status
/// says it) and tags, whitespace collapsed.
fn html_text(html: &str) -> String {
    let mut text = html.to_string();
    for tag in ["head", "title", "h1"] {
        let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
        while let Some(start) = text.find(&open) {
            let Some(end) = text[start..].find(&close) else {
                break;
            };
            text.replace_range(start..start + end + close.len(), " ");
        }
    }
    let mut plain = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let plain = plain
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    collapse_whitespace(&plain)
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keystone_errors() {
        let body = r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#;
        assert_eq!(
            service_message(Service::Identity, body),
            (
                "The request you have made requires authentication.".into(),
                Some("Unauthorized".into())
            )
        );
    }

    #[test]
    fn nova_errors_name_the_fault() {
        let body = r#"{"badRequest": {"code": 400, "message": "Invalid flavorRef provided."}}"#;
        assert_eq!(
            service_message(Service::Compute, body),
            (
                "Invalid flavorRef provided.".into(),
                Some("badRequest".into())
            )
        );
    }

    #[test]
    fn neutron_errors_keep_the_type_and_detail() {
        let body = r#"{"NeutronError": {"type": "SubnetInUse", "message": "Unable to complete operation on subnet 1. One or more ports have an IP allocation from this subnet.", "detail": ""}}"#;
        let (message, kind) = service_message(Service::Network, body);
        assert!(message.starts_with("Unable to complete operation on subnet 1."));
        assert_eq!(kind.as_deref(), Some("SubnetInUse"));
        let body = r#"{"NeutronError": {"type": "X", "message": "m", "detail": "d"}}"#;
        assert_eq!(service_message(Service::Network, body).0, "m (d)");
    }

    #[test]
    fn glance_html_pages_become_text() {
        let body = "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  No image found with ID abc &amp; more<br /><br />\n\n\n\n </body>\n</html>";
        assert_eq!(
            service_message(Service::Image, body),
            ("No image found with ID abc & more".into(), None)
        );
    }

    #[test]
    fn glance_json_errors() {
        let body = r#"{"code": 409, "title": "Conflict", "message": "Image status transition from active to queued is not allowed"}"#;
        assert_eq!(
            service_message(Service::Image, body).0,
            "Image status transition from active to queued is not allowed"
        );
    }

    #[test]
    fn a_401_from_any_service_reads_like_keystone() {
        let body = r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#;
        assert_eq!(
            service_message(Service::Network, body).0,
            "The request you have made requires authentication."
        );
    }

    #[test]
    fn other_bodies_are_trimmed_text() {
        assert_eq!(
            service_message(Service::Compute, "  Bad   Gateway\n"),
            ("Bad Gateway".into(), None)
        );
        let long = "x".repeat(2000);
        assert_eq!(
            service_message(Service::Compute, &long).0.chars().count(),
            1001
        );
    }

    #[test]
    fn display_names_service_method_path_status_and_request() {
        let e = ApiError {
            service: Service::Compute,
            method: Method::POST,
            path: "/servers".into(),
            status: StatusCode::BAD_REQUEST,
            request_id: "req-1".into(),
            message: "Invalid flavorRef provided.".into(),
            kind: Some("badRequest".into()),
        };
        assert_eq!(
            e.to_string(),
            "Nova: POST /servers: 400 Bad Request: Invalid flavorRef provided. (request req-1)"
        );
    }
}
