//! The OpenStack provider's foundation: settings and clouds.yaml
//! resolution, Keystone v3 authentication, and the HTTP client the
//! OpenStack resource types use. It speaks to clouds over HTTP only and
//! knows nothing of devcloud: a `devcloud://DIR` auth_url goes through
//! the [`EmbeddedClouds`] hook the command line supplies.

pub mod auth;
pub mod catalog;
pub mod client;
pub mod clouds;
pub mod embedded;
pub mod error;
pub mod retry;
pub mod secret;
pub mod service;
pub mod settings;

pub use client::{Client, DEFAULT_COMPUTE_MICROVERSION, Request, Response};
pub use embedded::{EmbeddedCloud, EmbeddedClouds};
pub use error::{ApiError, ConfigError, OpenStackError};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use service::Service;
pub use settings::{CloudConfig, Environment, ProviderSettings, resolve};
