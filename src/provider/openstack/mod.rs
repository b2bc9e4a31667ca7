//! The OpenStack provider's foundation: settings and clouds.yaml
//! resolution, Keystone v3 authentication, and the HTTP client the
//! OpenStack resource types use. It speaks to clouds over HTTP only and
//! knows nothing of devcloud: a `devcloud://DIR` auth_url goes through
//! the [`EmbeddedClouds`] hook the command line supplies.

pub mod auth;
pub mod catalog;
pub mod client;
pub mod clouds;
pub mod data_flavor;
pub mod data_image;
pub mod data_network;
pub mod embedded;
pub mod error;
pub mod flavor;
pub mod image;
pub mod instance;
pub mod marker;
pub mod network;
pub mod neutron;
pub mod provider;
pub mod recorder;
pub mod retry;
pub mod secret;
pub mod server_actions;
pub mod service;
pub mod settings;
pub mod subnet;
pub mod types;

pub use client::{Client, DEFAULT_COMPUTE_MICROVERSION, Request, Response};
pub use embedded::{EmbeddedCloud, EmbeddedClouds};
pub use error::{ApiError, ConfigError, OpenStackError};
pub use retry::RetryPolicy;
pub use secret::Secret;
pub use service::Service;
pub use settings::{CloudConfig, Environment, ProviderSettings, resolve};

use crate::provider::Providers;
use std::sync::Arc;

/// Registers the `openstack` provider with its resource types and data
/// sources, all sharing one session (one client, one token per run).
pub fn register(
    providers: &mut Providers,
    environment: Environment,
    embedded: Option<Arc<dyn EmbeddedClouds>>,
) -> Arc<provider::Session> {
    let session = Arc::new(provider::Session::new(environment, embedded));
    providers.register_provider(Arc::new(provider::OpenStackProvider::new(session.clone())));
    providers.register(Arc::new(flavor::Flavor::new(session.clone())));
    providers.register(Arc::new(image::Image::new(session.clone())));
    providers.register_data_source(Arc::new(data_image::ImageData::new(session.clone())));
    providers.register_data_source(Arc::new(data_flavor::FlavorData::new(session.clone())));
    providers.register(Arc::new(network::Network::new(session.clone())));
    providers.register(Arc::new(subnet::Subnet::new(session.clone())));
    providers.register_data_source(Arc::new(data_network::NetworkData::new(session.clone())));
    providers.register_data_source(Arc::new(data_network::SubnetData::new(session.clone())));
    providers.register(Arc::new(instance::Instance::new(session.clone())));
    session
}
