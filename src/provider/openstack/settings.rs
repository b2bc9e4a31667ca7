//! The provider's settings: the arguments of the `provider "openstack"`
//! block, the `OS_*` environment and a clouds.yaml entry, merged in that
//! order of precedence into one [`CloudConfig`] before any request is
//! made.
//!
//! The environment is passed in ([`Environment`]): this module never
//! reads the process environment, so tests and the command line decide
//! what it contains.

use super::clouds;
use super::embedded::{self, EmbeddedClouds};
use super::error::ConfigError;
use super::secret::Secret;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The `OS_*` variables the provider reads, as the OpenStack clients and
/// the Terraform provider name them.
pub mod env_vars {
    pub const OS_CLOUD: &str = "OS_CLOUD";
    pub const OS_CLIENT_CONFIG_FILE: &str = "OS_CLIENT_CONFIG_FILE";
    pub const OS_CLIENT_SECURE_FILE: &str = "OS_CLIENT_SECURE_FILE";
    pub const OS_AUTH_URL: &str = "OS_AUTH_URL";
    pub const OS_AUTH_TYPE: &str = "OS_AUTH_TYPE";
    pub const OS_USERNAME: &str = "OS_USERNAME";
    pub const OS_USER_ID: &str = "OS_USER_ID";
    pub const OS_PASSWORD: &str = "OS_PASSWORD";
    pub const OS_PROJECT_NAME: &str = "OS_PROJECT_NAME";
    pub const OS_TENANT_NAME: &str = "OS_TENANT_NAME";
    pub const OS_PROJECT_ID: &str = "OS_PROJECT_ID";
    pub const OS_TENANT_ID: &str = "OS_TENANT_ID";
    pub const OS_USER_DOMAIN_NAME: &str = "OS_USER_DOMAIN_NAME";
    pub const OS_USER_DOMAIN_ID: &str = "OS_USER_DOMAIN_ID";
    pub const OS_PROJECT_DOMAIN_NAME: &str = "OS_PROJECT_DOMAIN_NAME";
    pub const OS_PROJECT_DOMAIN_ID: &str = "OS_PROJECT_DOMAIN_ID";
    pub const OS_DOMAIN_NAME: &str = "OS_DOMAIN_NAME";
    pub const OS_DOMAIN_ID: &str = "OS_DOMAIN_ID";
    pub const OS_DEFAULT_DOMAIN: &str = "OS_DEFAULT_DOMAIN";
    pub const OS_APPLICATION_CREDENTIAL_ID: &str = "OS_APPLICATION_CREDENTIAL_ID";
    pub const OS_APPLICATION_CREDENTIAL_NAME: &str = "OS_APPLICATION_CREDENTIAL_NAME";
    pub const OS_APPLICATION_CREDENTIAL_SECRET: &str = "OS_APPLICATION_CREDENTIAL_SECRET";
    pub const OS_TOKEN: &str = "OS_TOKEN";
    pub const OS_AUTH_TOKEN: &str = "OS_AUTH_TOKEN";
    pub const OS_REGION_NAME: &str = "OS_REGION_NAME";
    pub const OS_ENDPOINT_TYPE: &str = "OS_ENDPOINT_TYPE";
    pub const OS_INTERFACE: &str = "OS_INTERFACE";
    pub const OS_INSECURE: &str = "OS_INSECURE";
    pub const OS_CACERT: &str = "OS_CACERT";
    /// Where the user's configuration lives (`~/.config` when unset).
    pub const XDG_CONFIG_HOME: &str = "XDG_CONFIG_HOME";
}

/// How many times a failed request is tried again when the settings do
/// not say: enough to ride out a short API restart or rate limit
/// (backoff grows to about 16 s by the fifth retry).
pub const DEFAULT_MAX_RETRIES: u32 = 5;

/// The domain users and projects belong to when nothing names one:
/// Keystone's `Default` domain, whose id is `default`.
pub const DEFAULT_DOMAIN_ID: &str = "default";

/// The world outside the settings: environment variables and the
/// directories clouds.yaml is looked for in.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    pub vars: BTreeMap<String, String>,
    /// Where `./clouds.yaml` and relative `devcloud://` paths are.
    pub cwd: PathBuf,
    /// The user's home, for `~/.config/openstack`.
    pub home: Option<PathBuf>,
    /// `/etc/openstack`.
    pub system_config_dir: PathBuf,
}

impl Environment {
    pub fn new(
        vars: impl IntoIterator<Item = (String, String)>,
        cwd: impl Into<PathBuf>,
        home: Option<PathBuf>,
    ) -> Environment {
        Environment {
            vars: vars.into_iter().collect(),
            cwd: cwd.into(),
            home,
            system_config_dir: PathBuf::from("/etc/openstack"),
        }
    }

    /// A variable's value; empty counts as unset, as in the OpenStack
    /// clients.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn first(&self, names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| self.var(n)).map(String::from)
    }
}

/// The provider arguments, each optional: one layer of configuration.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProviderSettings {
    pub cloud: Option<String>,
    pub auth_url: Option<String>,
    /// `password`, `v3password`, `v3applicationcredential`, `token`,
    /// `v3token`; inferred from the credentials given when absent.
    pub auth_type: Option<String>,
    pub user_name: Option<String>,
    pub user_id: Option<String>,
    pub password: Option<Secret>,
    pub tenant_name: Option<String>,
    pub tenant_id: Option<String>,
    pub user_domain_name: Option<String>,
    pub user_domain_id: Option<String>,
    pub project_domain_name: Option<String>,
    pub project_domain_id: Option<String>,
    pub domain_name: Option<String>,
    pub domain_id: Option<String>,
    pub default_domain: Option<String>,
    pub application_credential_id: Option<String>,
    pub application_credential_name: Option<String>,
    pub application_credential_secret: Option<Secret>,
    pub token: Option<Secret>,
    pub region: Option<String>,
    /// `public`, `internal`/`internalURL`, `admin`/`adminURL`.
    pub endpoint_type: Option<String>,
    pub insecure: Option<bool>,
    pub cacert_file: Option<PathBuf>,
    pub max_retries: Option<u32>,
    /// Service type (`compute`, `image`, ...) → endpoint URL, used instead
    /// of the catalog's.
    pub endpoint_overrides: BTreeMap<String, String>,
}

impl ProviderSettings {
    /// The layer the `OS_*` variables make.
    pub fn from_env(env: &Environment) -> Result<ProviderSettings, ConfigError> {
        use env_vars::*;
        let insecure = match env.var(OS_INSECURE) {
            Some(v) => Some(parse_bool(v).ok_or_else(|| ConfigError::InvalidSetting {
                name: OS_INSECURE,
                message: format!("expected true or false, not {v:?}"),
            })?),
            None => None,
        };
        Ok(ProviderSettings {
            cloud: env.first(&[OS_CLOUD]),
            auth_url: env.first(&[OS_AUTH_URL]),
            auth_type: env.first(&[OS_AUTH_TYPE]),
            user_name: env.first(&[OS_USERNAME]),
            user_id: env.first(&[OS_USER_ID]),
            password: env.first(&[OS_PASSWORD]).map(Secret::from),
            tenant_name: env.first(&[OS_PROJECT_NAME, OS_TENANT_NAME]),
            tenant_id: env.first(&[OS_PROJECT_ID, OS_TENANT_ID]),
            user_domain_name: env.first(&[OS_USER_DOMAIN_NAME]),
            user_domain_id: env.first(&[OS_USER_DOMAIN_ID]),
            project_domain_name: env.first(&[OS_PROJECT_DOMAIN_NAME]),
            project_domain_id: env.first(&[OS_PROJECT_DOMAIN_ID]),
            domain_name: env.first(&[OS_DOMAIN_NAME]),
            domain_id: env.first(&[OS_DOMAIN_ID]),
            default_domain: env.first(&[OS_DEFAULT_DOMAIN]),
            application_credential_id: env.first(&[OS_APPLICATION_CREDENTIAL_ID]),
            application_credential_name: env.first(&[OS_APPLICATION_CREDENTIAL_NAME]),
            application_credential_secret: env
                .first(&[OS_APPLICATION_CREDENTIAL_SECRET])
                .map(Secret::from),
            token: env.first(&[OS_TOKEN, OS_AUTH_TOKEN]).map(Secret::from),
            region: env.first(&[OS_REGION_NAME]),
            endpoint_type: env.first(&[OS_ENDPOINT_TYPE, OS_INTERFACE]),
            insecure,
            cacert_file: env.first(&[OS_CACERT]).map(PathBuf::from),
            max_retries: None,
            endpoint_overrides: BTreeMap::new(),
        })
    }

    /// This layer over `lower`: each setting from here when set, else
    /// from `lower`; endpoint overrides merge by service.
    pub fn over(self, lower: ProviderSettings) -> ProviderSettings {
        let mut endpoint_overrides = lower.endpoint_overrides;
        endpoint_overrides.extend(self.endpoint_overrides);
        ProviderSettings {
            cloud: self.cloud.or(lower.cloud),
            auth_url: self.auth_url.or(lower.auth_url),
            auth_type: self.auth_type.or(lower.auth_type),
            user_name: self.user_name.or(lower.user_name),
            user_id: self.user_id.or(lower.user_id),
            password: self.password.or(lower.password),
            tenant_name: self.tenant_name.or(lower.tenant_name),
            tenant_id: self.tenant_id.or(lower.tenant_id),
            user_domain_name: self.user_domain_name.or(lower.user_domain_name),
            user_domain_id: self.user_domain_id.or(lower.user_domain_id),
            project_domain_name: self.project_domain_name.or(lower.project_domain_name),
            project_domain_id: self.project_domain_id.or(lower.project_domain_id),
            domain_name: self.domain_name.or(lower.domain_name),
            domain_id: self.domain_id.or(lower.domain_id),
            default_domain: self.default_domain.or(lower.default_domain),
            application_credential_id: self
                .application_credential_id
                .or(lower.application_credential_id),
            application_credential_name: self
                .application_credential_name
                .or(lower.application_credential_name),
            application_credential_secret: self
                .application_credential_secret
                .or(lower.application_credential_secret),
            token: self.token.or(lower.token),
            region: self.region.or(lower.region),
            endpoint_type: self.endpoint_type.or(lower.endpoint_type),
            insecure: self.insecure.or(lower.insecure),
            cacert_file: self.cacert_file.or(lower.cacert_file),
            max_retries: self.max_retries.or(lower.max_retries),
            endpoint_overrides,
        }
    }

    /// Whether this layer says who the user is (then a lower layer's
    /// identity must not mix in).
    fn names_credentials(&self) -> bool {
        self.user_name.is_some()
            || self.user_id.is_some()
            || self.password.is_some()
            || self.application_credential_id.is_some()
            || self.application_credential_name.is_some()
            || self.token.is_some()
    }

    /// Drops who the user is and what they work on, keeping where and how
    /// to connect.
    fn without_credentials(self) -> ProviderSettings {
        ProviderSettings {
            auth_url: self.auth_url,
            region: self.region,
            endpoint_type: self.endpoint_type,
            insecure: self.insecure,
            cacert_file: self.cacert_file,
            max_retries: self.max_retries,
            endpoint_overrides: self.endpoint_overrides,
            ..ProviderSettings::default()
        }
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Which endpoint of a service to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Interface {
    #[default]
    Public,
    Internal,
    Admin,
}

impl Interface {
    /// As gophercloud reads `endpoint_type`: `internal`/`internalURL`,
    /// `admin`/`adminURL`, anything else public.
    pub fn from_endpoint_type(endpoint_type: &str) -> Interface {
        match endpoint_type {
            "internal" | "internalURL" => Interface::Internal,
            "admin" | "adminURL" => Interface::Admin,
            _ => Interface::Public,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainRef {
    Id(String),
    Name(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectRef {
    Id(String),
    Name { name: String, domain: DomainRef },
}

/// What a password token is scoped to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Project(ProjectRef),
    Domain(DomainRef),
    Unscoped,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplicationCredentialRef {
    Id(String),
    Name { name: String, user: UserRef },
}

/// How to get a token from Keystone.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthMethod {
    Password {
        user: UserRef,
        password: Secret,
        scope: Scope,
    },
    /// Scope and roles come from the credential.
    ApplicationCredential {
        credential: ApplicationCredentialRef,
        secret: Secret,
    },
    /// A token the user already has; validated to get the catalog.
    Token { token: Secret },
}

impl AuthMethod {
    /// Who is authenticating, for messages (never a secret).
    pub fn describe(&self) -> String {
        fn domain(d: &DomainRef) -> String {
            match d {
                DomainRef::Id(id) => format!("domain id {id:?}"),
                DomainRef::Name(name) => format!("domain {name:?}"),
            }
        }
        fn user(u: &UserRef) -> String {
            match u {
                UserRef::Id(id) => format!("user id {id:?}"),
                UserRef::Name { name, domain: d } => format!("user {name:?} in {}", domain(d)),
            }
        }
        match self {
            AuthMethod::Password { user: u, .. } => user(u),
            AuthMethod::ApplicationCredential { credential, .. } => match credential {
                ApplicationCredentialRef::Id(id) => format!("application credential {id:?}"),
                ApplicationCredentialRef::Name { name, user: u } => {
                    format!("application credential {name:?} of {}", user(u))
                }
            },
            AuthMethod::Token { .. } => "the given token".into(),
        }
    }
}

/// Everything needed to connect, resolved.
#[derive(Clone, Debug)]
pub struct CloudConfig {
    /// Keystone's endpoint (`https://keystone.example:5000/v3`).
    pub auth_url: String,
    pub auth: AuthMethod,
    pub region: Option<String>,
    pub interface: Interface,
    pub insecure: bool,
    pub cacert_file: Option<PathBuf>,
    pub max_retries: u32,
    pub endpoint_overrides: BTreeMap<String, String>,
}

/// Merges the explicit settings over the environment over the named
/// clouds.yaml entry, starts an embedded cloud for a `devcloud://DIR`
/// auth_url through `embedded`, and checks that the result can
/// authenticate.
pub async fn resolve(
    explicit: &ProviderSettings,
    env: &Environment,
    embedded: Option<Arc<dyn EmbeddedClouds>>,
) -> Result<CloudConfig, ConfigError> {
    let upper = explicit.clone().over(ProviderSettings::from_env(env)?);
    let mut merged = match upper.cloud.clone() {
        Some(name) => upper.over(clouds::load(&name, env)?),
        None => upper,
    };
    if let Some(auth_url) = merged.auth_url.clone()
        && let Some(dir) = embedded::embedded_dir(&auth_url, &env.cwd)
    {
        let hook = embedded.ok_or(ConfigError::NoEmbeddedClouds {
            auth_url: auth_url.clone(),
        })?;
        let cloud = hook
            .start(&dir)
            .await
            .map_err(|message| ConfigError::EmbeddedCloud {
                dir: dir.clone(),
                message,
            })?;
        let mut lower = clouds::load_file(&cloud.clouds_yaml, embedded::CLOUD_NAME)?;
        if merged.names_credentials() {
            lower = lower.without_credentials();
        }
        merged = merged.over(lower);
        merged.auth_url = Some(cloud.auth_url);
    }
    CloudConfig::from_settings(merged)
}

impl CloudConfig {
    /// Checks a merged set of settings and decides how to authenticate.
    pub fn from_settings(s: ProviderSettings) -> Result<CloudConfig, ConfigError> {
        let auth_url = s
            .auth_url
            .clone()
            .filter(|u| !u.is_empty())
            .ok_or(ConfigError::MissingAuthUrl)?;
        if !(auth_url.starts_with("http://") || auth_url.starts_with("https://")) {
            return Err(ConfigError::InvalidSetting {
                name: "auth_url",
                message: format!("{auth_url:?} is not an http:// or https:// URL"),
            });
        }
        let missing = |message: &str| ConfigError::MissingCredentials {
            auth_url: auth_url.clone(),
            message: message.to_string(),
        };
        let default_domain = || {
            DomainRef::Id(
                s.default_domain
                    .clone()
                    .unwrap_or_else(|| DEFAULT_DOMAIN_ID.into()),
            )
        };
        // domain_id and domain_name stand for the user's and the
        // project's domain when those are not given (as in the
        // Terraform provider), then default_domain.
        let domain_of = |id: &Option<String>, name: &Option<String>| {
            id.clone()
                .map(DomainRef::Id)
                .or_else(|| name.clone().map(DomainRef::Name))
                .or_else(|| s.domain_id.clone().map(DomainRef::Id))
                .or_else(|| s.domain_name.clone().map(DomainRef::Name))
                .unwrap_or_else(default_domain)
        };
        let user = match (&s.user_id, &s.user_name) {
            (Some(id), _) => Some(UserRef::Id(id.clone())),
            (None, Some(name)) => Some(UserRef::Name {
                name: name.clone(),
                domain: domain_of(&s.user_domain_id, &s.user_domain_name),
            }),
            (None, None) => None,
        };
        let kind = match s.auth_type.as_deref() {
            Some("password" | "v3password") => AuthKind::Password,
            Some("v3applicationcredential" | "applicationcredential") => AuthKind::AppCredential,
            Some("token" | "v3token" | "v3tokenlessauth") => AuthKind::Token,
            Some(other) => {
                return Err(ConfigError::InvalidSetting {
                    name: "auth_type",
                    message: format!(
                        "{other:?} is not supported; use password, v3applicationcredential or token"
                    ),
                });
            }
            None if s.application_credential_id.is_some()
                || s.application_credential_name.is_some() =>
            {
                AuthKind::AppCredential
            }
            None if s.token.is_some() && s.password.is_none() => AuthKind::Token,
            None => AuthKind::Password,
        };
        let auth = match kind {
            AuthKind::Password => {
                let user = user.ok_or_else(|| missing("user_name or user_id is required"))?;
                let password = s
                    .password
                    .clone()
                    .ok_or_else(|| missing("password is required"))?;
                let scope = match (&s.tenant_id, &s.tenant_name) {
                    (Some(id), _) => Scope::Project(ProjectRef::Id(id.clone())),
                    (None, Some(name)) => Scope::Project(ProjectRef::Name {
                        name: name.clone(),
                        domain: domain_of(&s.project_domain_id, &s.project_domain_name),
                    }),
                    (None, None) => match (&s.domain_id, &s.domain_name) {
                        (Some(id), _) => Scope::Domain(DomainRef::Id(id.clone())),
                        (None, Some(name)) => Scope::Domain(DomainRef::Name(name.clone())),
                        (None, None) => Scope::Unscoped,
                    },
                };
                AuthMethod::Password {
                    user,
                    password,
                    scope,
                }
            }
            AuthKind::AppCredential => {
                let secret = s
                    .application_credential_secret
                    .clone()
                    .ok_or_else(|| missing("application_credential_secret is required"))?;
                let credential = match (&s.application_credential_id, &s.application_credential_name) {
                    (Some(id), _) => ApplicationCredentialRef::Id(id.clone()),
                    (None, Some(name)) => ApplicationCredentialRef::Name {
                        name: name.clone(),
                        user: user.ok_or_else(|| {
                            missing("an application credential given by name needs user_name or user_id")
                        })?,
                    },
                    (None, None) => {
                        return Err(missing(
                            "application_credential_id or application_credential_name is required",
                        ));
                    }
                };
                AuthMethod::ApplicationCredential { credential, secret }
            }
            AuthKind::Token => AuthMethod::Token {
                token: s
                    .token
                    .clone()
                    .ok_or_else(|| missing("token is required"))?,
            },
        };
        Ok(CloudConfig {
            auth_url,
            auth,
            region: s.region,
            interface: s
                .endpoint_type
                .as_deref()
                .map_or(Interface::Public, Interface::from_endpoint_type),
            insecure: s.insecure.unwrap_or(false),
            cacert_file: s.cacert_file,
            max_retries: s.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
            endpoint_overrides: s.endpoint_overrides,
        })
    }
}

enum AuthKind {
    Password,
    AppCredential,
    Token,
}

#[cfg(test)]
mod tests;
