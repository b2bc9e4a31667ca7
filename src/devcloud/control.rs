//! devcloud's own control API, under `/devcloud/`, for tests and
//! benchmarks (documented in the README):
//!
//! - `GET|PUT /devcloud/settings`: `build_time` and `delete_time`
//!   (seconds), `latency_ms`, `token_ttl` (seconds), `auth_ms`,
//!   `token_first_use_ms`; PUT changes the fields it is given;
//! - `GET|DELETE /devcloud/requests`: requests served, by method and
//!   route template, and their total; DELETE resets the counts;
//! - `GET|POST|DELETE /devcloud/faults`, `DELETE /devcloud/faults/{id}`:
//!   fault rules (respond to a method and path pattern with a status,
//!   for the next N requests or with a probability);
//! - `GET|POST|DELETE /devcloud/server-errors`: servers whose name
//!   matches a pattern go to ERROR with a fault message;
//! - `GET|POST|DELETE /devcloud/holds`: hold the responses to matching
//!   requests after their work is committed, until DELETE releases them
//!   (for tests that kill a client in that window).
//!
//! Fault and server-error rules are saved with the data: they survive a
//! restart. The settings are the options the cloud was started with.
//!
//! It needs no token: devcloud listens on loopback only.

use super::error::{ApiError, ApiResult, Service};
use super::limits;
use super::server::{App, FaultRule, HoldRule, ServerErrorRule};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(index))
        .route("/settings", get(settings).put(change_settings))
        .route("/requests", get(requests).delete(reset_requests))
        .route("/faults", get(faults).post(add_fault).delete(clear_faults))
        .route("/faults/{id}", delete(remove_fault))
        .route(
            "/server-errors",
            get(server_errors)
                .post(add_server_error)
                .delete(clear_server_errors),
        )
        .route("/holds", get(holds).post(add_hold).delete(release_holds))
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(Service::Control, message)
}

fn json_body(body: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON: {e}")))
}

async fn index(State(app): State<Arc<App>>) -> Json<Value> {
    let base = format!("{}/devcloud", app.base_url);
    Json(json!({
        "settings": format!("{base}/settings"),
        "requests": format!("{base}/requests"),
        "faults": format!("{base}/faults"),
        "server_errors": format!("{base}/server-errors"),
        "holds": format!("{base}/holds"),
    }))
}

fn settings_doc(app: &App) -> Value {
    let k = app.knobs();
    json!({
        "build_time": k.build_time.as_secs_f64(),
        "delete_time": k.delete_time.as_secs_f64(),
        "latency_ms": k.latency.as_millis() as u64,
        "token_ttl": k.token_ttl.as_secs(),
        "auth_ms": k.auth_cost.as_millis() as u64,
        "token_first_use_ms": k.token_first_use.as_millis() as u64,
    })
}

async fn settings(State(app): State<Arc<App>>) -> Json<Value> {
    Json(settings_doc(&app))
}

/// A setting in seconds, checked by `check`. Anything but a number reads
/// as NaN, which no range holds, so it is refused in the same words.
fn seconds(
    name: &str,
    v: &Value,
    check: fn(f64) -> Result<Duration, limits::Expected>,
) -> ApiResult<Duration> {
    check(v.as_f64().unwrap_or(f64::NAN))
        .map_err(|expected| bad(format!("{name} must be {expected}, not {v}")))
}

/// A setting in milliseconds. Anything but a whole number from 0 reads
/// as `u64::MAX`, past every range.
fn millis(name: &str, v: &Value) -> ApiResult<Duration> {
    limits::cost(v.as_u64().unwrap_or(u64::MAX))
        .map_err(|expected| bad(format!("{name} must be {expected}, not {v}")))
}

async fn change_settings(
    State(app): State<Arc<App>>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let body = json_body(&body)?;
    let obj = body
        .as_object()
        .ok_or_else(|| bad("expected a JSON object"))?;
    let mut knobs = app.knobs();
    for (key, value) in obj {
        match key.as_str() {
            "build_time" => knobs.build_time = seconds(key, value, limits::server_time)?,
            "delete_time" => knobs.delete_time = seconds(key, value, limits::server_time)?,
            "token_ttl" => knobs.token_ttl = seconds(key, value, limits::token_ttl)?,
            "latency_ms" => knobs.latency = millis(key, value)?,
            "auth_ms" => knobs.auth_cost = millis(key, value)?,
            "token_first_use_ms" => knobs.token_first_use = millis(key, value)?,
            other => return Err(bad(format!("unknown setting {other:?}"))),
        }
    }
    *app.knobs.write().unwrap_or_else(|e| e.into_inner()) = knobs;
    Ok(Json(settings_doc(&app)))
}

async fn requests(State(app): State<Arc<App>>) -> Json<Value> {
    let counts = app
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let total: u64 = counts.values().sum();
    Json(json!({"requests": counts, "total": total}))
}

async fn reset_requests(State(app): State<Arc<App>>) -> StatusCode {
    app.requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    StatusCode::NO_CONTENT
}

async fn faults(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({"faults": app.knobs().faults}))
}

async fn add_fault(State(app): State<Arc<App>>, body: axum::body::Bytes) -> ApiResult<Response> {
    let raw = json_body(&body)?;
    check_fault_numbers(&raw)?;
    let mut rule: FaultRule =
        serde_json::from_value(raw).map_err(|e| bad(format!("invalid fault rule: {e}")))?;
    rule.id = uuid::Uuid::new_v4().to_string();
    app.knobs
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .faults
        .push(rule.clone());
    app.save_rules();
    Ok((StatusCode::CREATED, Json(json!({"fault": rule}))).into_response())
}

/// Refuses a fault rule whose numbers are out of range, naming the field
/// and the value, before the rule is read (a negative count would only
/// say "expected u64").
fn check_fault_numbers(raw: &Value) -> ApiResult<()> {
    // As for settings, anything but a whole number from 0 reads as
    // `u64::MAX`, past every range.
    let whole = |name: &str, range: &std::ops::RangeInclusive<u64>, what: &str| {
        let v = raw.get(name).unwrap_or(&Value::Null);
        limits::whole(v.as_u64().unwrap_or(u64::MAX), range, what)
            .map(drop)
            .map_err(|expected| bad(format!("{name} must be {expected}, not {v}")))
    };
    whole("status", &limits::FAULT_STATUS, "an HTTP error status")?;
    for (name, range, what) in [
        (
            "retry_after",
            &limits::FAULT_RETRY_AFTER,
            "a whole number of seconds",
        ),
        ("count", &limits::FAULT_COUNT, "a whole number of requests"),
    ] {
        if raw.get(name).is_some_and(|v| !v.is_null()) {
            whole(name, range, what)?;
        }
    }
    if let Some(p) = raw.get("probability").filter(|v| !v.is_null())
        && !p.as_f64().is_some_and(|p| (0.0..=1.0).contains(&p))
    {
        return Err(bad(format!(
            "probability must be a number from 0 to 1, not {p}"
        )));
    }
    Ok(())
}

async fn clear_faults(State(app): State<Arc<App>>) -> StatusCode {
    app.knobs
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .faults
        .clear();
    app.save_rules();
    StatusCode::NO_CONTENT
}

async fn remove_fault(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let removed = {
        let mut knobs = app.knobs.write().unwrap_or_else(|e| e.into_inner());
        let before = knobs.faults.len();
        knobs.faults.retain(|r| r.id != id);
        knobs.faults.len() < before
    };
    if !removed {
        return Err(ApiError::not_found(
            Service::Control,
            format!("no fault rule {id}"),
        ));
    }
    app.save_rules();
    Ok(StatusCode::NO_CONTENT)
}

async fn server_errors(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({"server_errors": app.knobs().server_errors}))
}

async fn add_server_error(
    State(app): State<Arc<App>>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let rule: ServerErrorRule = serde_json::from_slice(&body)
        .map_err(|e| bad(format!("invalid server error rule: {e}")))?;
    app.knobs
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .server_errors
        .push(rule.clone());
    app.save_rules();
    Ok((StatusCode::CREATED, Json(json!({"server_error": rule}))).into_response())
}

async fn clear_server_errors(State(app): State<Arc<App>>) -> StatusCode {
    app.knobs
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .server_errors
        .clear();
    app.save_rules();
    StatusCode::NO_CONTENT
}

async fn holds(State(app): State<Arc<App>>) -> Json<Value> {
    let rules = app
        .holds
        .rules
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Json(json!({"holds": rules}))
}

async fn add_hold(State(app): State<Arc<App>>, body: axum::body::Bytes) -> ApiResult<Response> {
    let mut rule: HoldRule =
        serde_json::from_slice(&body).map_err(|e| bad(format!("invalid hold rule: {e}")))?;
    limits::whole(
        rule.count,
        &limits::FAULT_COUNT,
        "a whole number of requests",
    )
    .map_err(|expected| bad(format!("count must be {expected}, not {}", rule.count)))?;
    rule.id = uuid::Uuid::new_v4().to_string();
    rule.held = 0;
    app.holds
        .rules
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(rule.clone());
    Ok((StatusCode::CREATED, Json(json!({"hold": rule}))).into_response())
}

async fn release_holds(State(app): State<Arc<App>>) -> StatusCode {
    app.holds.release_all();
    StatusCode::NO_CONTENT
}
