//! The embedded clouds behind `devcloud://DIR` auth URLs: each directory
//! gets one devcloud, on a free loopback port, started on first use and
//! running until [`EmbeddedDevClouds::stop`] saves its data and shuts it
//! down at the end of the command.

use crate::devcloud::{DevCloud, Options};
use crate::provider::openstack::{EmbeddedCloud, EmbeddedClouds};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Default)]
pub struct EmbeddedDevClouds {
    /// Running clouds by data directory. The lock is held while one
    /// starts, so two resources asking at once share a single cloud.
    running: tokio::sync::Mutex<BTreeMap<PathBuf, DevCloud>>,
}

impl EmbeddedDevClouds {
    pub fn new() -> EmbeddedDevClouds {
        EmbeddedDevClouds::default()
    }

    /// Stops every cloud, saving its data; the first failure is returned
    /// after all have been stopped.
    pub async fn stop(&self) -> Result<(), String> {
        let clouds = std::mem::take(&mut *self.running.lock().await);
        let mut first_error = None;
        for (dir, cloud) in clouds {
            if let Err(e) = cloud.stop().await {
                first_error.get_or_insert(format!("devcloud in {}: {e}", dir.display()));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[async_trait]
impl EmbeddedClouds for EmbeddedDevClouds {
    async fn start(&self, dir: &Path) -> Result<EmbeddedCloud, String> {
        let mut running = self.running.lock().await;
        if let Some(cloud) = running.get(dir) {
            return Ok(EmbeddedCloud {
                auth_url: cloud.auth_url(),
                clouds_yaml: cloud.clouds_yaml(),
            });
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // A free loopback port each run, the data kept in `dir`.
        let cloud = DevCloud::start(Options::ephemeral(dir))
            .await
            .map_err(|e| e.to_string())?;
        let started = EmbeddedCloud {
            auth_url: cloud.auth_url(),
            clouds_yaml: cloud.clouds_yaml(),
        };
        running.insert(dir.to_path_buf(), cloud);
        Ok(started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::openstack::{
        Client, Environment, ProviderSettings, RetryPolicy, Service, resolve,
    };
    use std::sync::Arc;

    #[tokio::test]
    async fn a_devcloud_url_starts_one_cloud_per_directory_that_clients_use() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let clouds = Arc::new(EmbeddedDevClouds::new());
        let env = Environment::new(
            [("OS_AUTH_URL".to_string(), "devcloud://data".to_string())],
            dir.path(),
            None,
        );
        let hook: Arc<dyn EmbeddedClouds> = clouds.clone();
        let config = resolve(&ProviderSettings::default(), &env, Some(hook.clone()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(config.auth_url.starts_with("http://127.0.0.1:"));
        assert!(config.auth_url.ends_with("/identity/v3"));
        assert!(dir.path().join("data/clouds.yaml").is_file());
        let again = resolve(&ProviderSettings::default(), &env, Some(hook))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.auth_url, config.auth_url);
        // No retries: the last call must fail at once when the cloud is gone.
        let client = Client::with_retry_policy(config, RetryPolicy::new(0))
            .unwrap_or_else(|e| panic!("{e}"));
        let flavors: serde_json::Value = client
            .get_json(Service::Compute, "/flavors")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(flavors["flavors"].is_array());
        let token = client.token().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(token.project_name.as_deref(), Some("admin"));
        clouds.stop().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            client
                .get_json::<serde_json::Value>(Service::Compute, "/flavors/1")
                .await
                .is_err(),
            "the cloud is stopped"
        );
    }
}
