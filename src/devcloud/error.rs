//! API errors, in each service's own error body, because clients parse
//! them: Keystone `{"error": {code, title, message}}`, Nova
//! `{"<faultName>": {code, message}}`, Neutron `{"NeutronError": {type,
//! message, detail}}`, Glance webob's page (JSON when JSON is accepted).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    Identity,
    Image,
    Compute,
    Network,
    /// devcloud's own control API.
    Control,
}

#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub service: Service,
    /// Neutron's error type (`NetworkNotFound`); Nova's fault name when it
    /// is not the one its status implies.
    pub kind: Option<String>,
    pub message: String,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u64>,
    /// Glance wants HTML unless the client asked for JSON.
    pub json: bool,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(service: Service, status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            service,
            kind: None,
            message: message.into(),
            retry_after: None,
            json: true,
        }
    }

    pub fn with_kind(mut self, kind: impl Into<String>) -> ApiError {
        self.kind = Some(kind.into());
        self
    }

    pub fn bad_request(service: Service, message: impl Into<String>) -> ApiError {
        ApiError::new(service, StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(service: Service, message: impl Into<String>) -> ApiError {
        ApiError::new(service, StatusCode::NOT_FOUND, message)
    }

    pub fn forbidden(service: Service, message: impl Into<String>) -> ApiError {
        ApiError::new(service, StatusCode::FORBIDDEN, message)
    }

    pub fn conflict(service: Service, message: impl Into<String>) -> ApiError {
        ApiError::new(service, StatusCode::CONFLICT, message)
    }

    pub fn unsupported_media_type(service: Service, message: impl Into<String>) -> ApiError {
        ApiError::new(service, StatusCode::UNSUPPORTED_MEDIA_TYPE, message)
    }

    /// The 401 keystonemiddleware (and Keystone) answer for a missing,
    /// bad or expired token, whatever the service.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            Service::Identity,
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        )
    }

    /// Neutron's policy refusal.
    pub fn neutron_policy(action: &str) -> ApiError {
        ApiError::new(
            Service::Network,
            StatusCode::FORBIDDEN,
            format!("rule:{action} is disallowed by policy"),
        )
        .with_kind("PolicyNotAuthorized")
    }
}

fn reason(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

/// Nova's fault name for a status (nova/api/openstack/wsgi.py).
fn nova_fault_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

/// Neutron's error type for a status when the handler gave none.
fn neutron_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "HTTPBadRequest",
        403 => "HTTPForbidden",
        404 => "HTTPNotFound",
        409 => "HTTPConflict",
        _ => "HTTPInternalServerError",
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.status.as_u16();
        let mut response = match self.service {
            Service::Identity | Service::Control => (
                self.status,
                axum::Json(json!({"error": {"code": code, "title": reason(self.status), "message": self.message}})),
            )
                .into_response(),
            Service::Compute => {
                let name = self.kind.as_deref().unwrap_or(nova_fault_name(self.status));
                (self.status, axum::Json(json!({ name: {"code": code, "message": self.message} }))).into_response()
            }
            Service::Network => {
                let kind = self.kind.as_deref().unwrap_or(neutron_type(self.status));
                (self.status, axum::Json(json!({"NeutronError": {"type": kind, "message": self.message, "detail": ""}})))
                    .into_response()
            }
            // webob's JSON error page: the code with its reason, and the
            // message as its HTML page has it.
            Service::Image if self.json => (
                self.status,
                axum::Json(json!({
                    "code": format!("{code} {}", reason(self.status)),
                    "title": reason(self.status),
                    "message": format!("{}\n<br /><br />\n", self.message),
                })),
            )
                .into_response(),
            Service::Image => {
                let title = format!("{code} {}", reason(self.status));
                let body = format!(
                    "<html>\n <head>\n  <title>{title}</title>\n </head>\n <body>\n  <h1>{title}</h1>\n  {}<br /><br />\n\n\n\n </body>\n</html>",
                    html_escape(&self.message)
                );
                let mut r = (self.status, body).into_response();
                r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=UTF-8"));
                r
            }
        };
        if let Some(seconds) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Keystone uri=\"/identity\""),
            );
        }
        response
    }
}
