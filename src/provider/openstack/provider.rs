//! The `openstack` provider: its block's arguments, and the session every
//! OpenStack resource type and data source shares. Configuring stores the
//! settings only; the first API call resolves them (explicit > `OS_*` >
//! clouds.yaml), authenticates and builds the one client of the run, so a
//! plan that needs no API call makes none.

use super::embedded::EmbeddedClouds;
use super::error::OpenStackError;
use super::settings::{Environment, ProviderSettings, resolve};
use super::{Client, Secret};
use crate::lang::value::{Type, Value};
use crate::provider::{AttrMode, AttributeSchema, ProviderError, ProviderType, Schema};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// What the OpenStack types share: the provider's settings and, once
/// needed, its client.
pub struct Session {
    settings: Mutex<ProviderSettings>,
    environment: Environment,
    embedded: Option<Arc<dyn EmbeddedClouds>>,
    client: OnceCell<Arc<Client>>,
}

impl Session {
    pub fn new(environment: Environment, embedded: Option<Arc<dyn EmbeddedClouds>>) -> Session {
        Session {
            settings: Mutex::new(ProviderSettings::default()),
            environment,
            embedded,
            client: OnceCell::new(),
        }
    }

    /// The run's client, made on first use.
    pub async fn client(&self) -> Result<Arc<Client>, ProviderError> {
        self.client
            .get_or_try_init(|| async {
                let settings = self
                    .settings
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let config = resolve(&settings, &self.environment, self.embedded.clone())
                    .await
                    .map_err(|e| {
                        ProviderError::new(
                            "Invalid OpenStack provider configuration",
                            e.to_string(),
                        )
                    })?;
                let client =
                    Client::new(config).map_err(|e| api_error("Cannot reach the cloud", &e))?;
                // Authenticate now, so that bad credentials are one clear
                // error rather than one per resource.
                client
                    .token()
                    .await
                    .map_err(|e| api_error("Authentication failed", &e))?;
                Ok(Arc::new(client))
            })
            .await
            .cloned()
    }

    fn configure(&self, settings: ProviderSettings) {
        *self.settings.lock().unwrap_or_else(|e| e.into_inner()) = settings;
    }
}

/// An OpenStack failure as the user sees it: the service's message with
/// its method, path, status and request id.
pub fn api_error(summary: &str, e: &OpenStackError) -> ProviderError {
    ProviderError::new(summary, e.to_string())
}

pub struct OpenStackProvider {
    schema: Schema,
    session: Arc<Session>,
}

const STRING_ARGUMENTS: &[&str] = &[
    "cloud",
    "auth_url",
    "user_name",
    "user_id",
    "tenant_name",
    "tenant_id",
    "user_domain_name",
    "user_domain_id",
    "project_domain_name",
    "project_domain_id",
    "domain_name",
    "domain_id",
    "default_domain",
    "application_credential_id",
    "application_credential_name",
    "region",
    "endpoint_type",
    "cacert_file",
];

const SECRET_ARGUMENTS: &[&str] = &["password", "application_credential_secret", "token"];

impl OpenStackProvider {
    pub fn new(session: Arc<Session>) -> OpenStackProvider {
        let mut schema = Schema::default();
        for name in STRING_ARGUMENTS {
            schema.attributes.insert(
                (*name).into(),
                AttributeSchema::new(Type::String, AttrMode::Optional),
            );
        }
        for name in SECRET_ARGUMENTS {
            schema.attributes.insert(
                (*name).into(),
                AttributeSchema::new(Type::String, AttrMode::Optional).sensitive(),
            );
        }
        schema.attributes.insert(
            "insecure".into(),
            AttributeSchema::new(Type::Bool, AttrMode::Optional),
        );
        schema.attributes.insert(
            "max_retries".into(),
            AttributeSchema::new(Type::Number, AttrMode::Optional),
        );
        schema.attributes.insert(
            "endpoint_overrides".into(),
            AttributeSchema::new(Type::map(Type::String), AttrMode::Optional),
        );
        OpenStackProvider { schema, session }
    }
}

fn string(config: &Value, name: &str) -> Option<String> {
    config
        .get_attr(name)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// The provider block's values as settings (all unset for no block).
fn settings_of(config: &Value) -> Result<ProviderSettings, ProviderError> {
    let max_retries = match config.get_attr("max_retries").map(Value::to_json) {
        None | Some(serde_json::Value::Null) => None,
        Some(n) => Some(
            n.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    ProviderError::new(
                        "Invalid provider configuration",
                        format!("max_retries must be a whole number from 0, not {n}."),
                    )
                })?,
        ),
    };
    let endpoint_overrides: BTreeMap<String, String> =
        match config.get_attr("endpoint_overrides").map(Value::to_json) {
            Some(serde_json::Value::Object(m)) => m
                .into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                .collect(),
            _ => BTreeMap::new(),
        };
    Ok(ProviderSettings {
        cloud: string(config, "cloud"),
        auth_url: string(config, "auth_url"),
        auth_type: None,
        user_name: string(config, "user_name"),
        user_id: string(config, "user_id"),
        password: string(config, "password").map(Secret::from),
        tenant_name: string(config, "tenant_name"),
        tenant_id: string(config, "tenant_id"),
        user_domain_name: string(config, "user_domain_name"),
        user_domain_id: string(config, "user_domain_id"),
        project_domain_name: string(config, "project_domain_name"),
        project_domain_id: string(config, "project_domain_id"),
        domain_name: string(config, "domain_name"),
        domain_id: string(config, "domain_id"),
        default_domain: string(config, "default_domain"),
        application_credential_id: string(config, "application_credential_id"),
        application_credential_name: string(config, "application_credential_name"),
        application_credential_secret: string(config, "application_credential_secret")
            .map(Secret::from),
        token: string(config, "token").map(Secret::from),
        region: string(config, "region"),
        endpoint_type: string(config, "endpoint_type"),
        insecure: config.get_attr("insecure").and_then(|v| v.as_bool()),
        cacert_file: string(config, "cacert_file").map(Into::into),
        max_retries,
        endpoint_overrides,
    })
}

impl ProviderType for OpenStackProvider {
    fn name(&self) -> &'static str {
        "openstack"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn configure(&self, config: &Value) -> Result<(), ProviderError> {
        self.session.configure(settings_of(config)?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(pairs: &[(&str, Value)]) -> Value {
        Value::object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn the_block_becomes_settings_with_secrets_wrapped() {
        let settings = settings_of(&block(&[
            ("cloud", "devcloud".into()),
            ("password", "hunter2".into()),
            ("insecure", Value::Bool(true)),
            (
                "max_retries",
                Value::from_json_dynamic(&serde_json::json!(3)),
            ),
            (
                "endpoint_overrides",
                Value::from_json_dynamic(&serde_json::json!({"compute": "http://nova/v2.1"})),
            ),
        ]))
        .unwrap();
        assert_eq!(settings.cloud.as_deref(), Some("devcloud"));
        assert_eq!(
            settings.password.as_ref().map(Secret::expose),
            Some("hunter2")
        );
        assert!(!format!("{settings:?}").contains("hunter2"));
        assert_eq!(settings.insecure, Some(true));
        assert_eq!(settings.max_retries, Some(3));
        assert_eq!(settings.endpoint_overrides["compute"], "http://nova/v2.1");
        // No block: nothing set, so OS_* and clouds.yaml decide.
        assert_eq!(
            settings_of(&Value::NULL).unwrap(),
            ProviderSettings::default()
        );
    }

    #[test]
    fn max_retries_must_be_a_whole_number() {
        let e = settings_of(&block(&[(
            "max_retries",
            Value::from_json_dynamic(&serde_json::json!(-1)),
        )]))
        .unwrap_err();
        assert!(e.detail.contains("max_retries"), "{e}");
    }

    #[tokio::test]
    async fn configuring_contacts_nothing_and_a_bad_configuration_fails_on_first_use() {
        let session = Arc::new(Session::new(
            Environment::new(Vec::<(String, String)>::new(), "/nonexistent", None),
            None,
        ));
        let provider = OpenStackProvider::new(session.clone());
        provider
            .configure(&block(&[(
                "auth_url",
                "http://127.0.0.1:9/identity/v3".into(),
            )]))
            .unwrap();
        let e = session.client().await.err().expect("no credentials");
        assert_eq!(e.summary, "Invalid OpenStack provider configuration");
    }
}
