//! Nova v2.1.

use super::server::App;
use axum::Router;
use std::sync::Arc;

pub fn router() -> Router<Arc<App>> {
    Router::new()
}

/// Applies due timers.
pub fn run_timers(_app: &App) {}
