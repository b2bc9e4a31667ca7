//! Neutron v2.0.

use super::model::Data;
use super::server::App;
use axum::Router;
use std::sync::Arc;

pub fn router() -> Router<Arc<App>> {
    Router::new()
}

/// Creates a project's `default` security group, with Neutron's default
/// rules, unless it has one.
pub fn create_default_security_group(_d: &mut Data, _project_id: &str) {}

// The functions below stand in for the Neutron module being written on
// its own branch; they are replaced when it is merged.

pub fn allocate_port(
    _d: &mut Data,
    _network_id: &str,
    _project_id: &str,
    _device_id: &str,
    _fixed_ip: Option<&str>,
    _security_group_names: &[String],
) -> Result<String, super::error::ApiError> {
    Err(super::error::ApiError::new(
        super::error::Service::Network,
        axum::http::StatusCode::NOT_IMPLEMENTED,
        "ports are not available yet",
    ))
}

pub fn bind_port(
    _d: &mut Data,
    _port_id: &str,
    _device_id: &str,
) -> Result<(), super::error::ApiError> {
    Err(super::error::ApiError::new(
        super::error::Service::Network,
        axum::http::StatusCode::NOT_IMPLEMENTED,
        "ports are not available yet",
    ))
}

pub fn release_port(_d: &mut Data, _port_id: &str, _delete: bool) {}

pub fn usable_networks(_d: &Data, _project_id: &str) -> Vec<String> {
    Vec::new()
}
