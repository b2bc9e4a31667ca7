use super::*;
use std::path::Path;

fn env_in(dir: &Path, vars: &[(&str, &str)]) -> Environment {
    let mut env = Environment::new(
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        dir.join("cwd"),
        Some(dir.join("home")),
    );
    env.system_config_dir = dir.join("etc");
    env
}

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{e}"));
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

async fn resolve_ok(explicit: &ProviderSettings, env: &Environment) -> CloudConfig {
    resolve(explicit, env, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn resolve_err(explicit: &ProviderSettings, env: &Environment) -> String {
    match resolve(explicit, env, None).await {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e.to_string(),
    }
}

const CLOUDS: &str = "\
base: &base
  region_name: RegionOne
  interface: internal
  identity_api_version: 3
clouds:
  prod:
    <<: *base
    auth:
      auth_url: https://keystone.example/v3
      username: alice
      project_name: web
      user_domain_name: Corp
      project_domain_id: corp-id
    verify: false
    cacert: /etc/ssl/ca.pem
  appcred:
    identity_api_version: \"3\"
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example/v3
      application_credential_id: ac1
      application_credential_secret: s3cret
";

#[tokio::test]
async fn explicit_settings_win_over_env_which_wins_over_clouds_yaml() {
    let dir = tempdir();
    write(&dir.path().join("cwd/clouds.yaml"), CLOUDS);
    write(
        &dir.path().join("cwd/secure.yaml"),
        "clouds:\n  prod:\n    auth:\n      password: 12345\n",
    );
    let env = env_in(
        dir.path(),
        &[
            ("OS_CLOUD", "prod"),
            ("OS_USERNAME", "bob"),
            ("OS_REGION_NAME", ""),
        ],
    );
    let config = resolve_ok(&ProviderSettings::default(), &env).await;
    assert_eq!(config.auth_url, "https://keystone.example/v3");
    assert_eq!(config.region.as_deref(), Some("RegionOne"));
    assert_eq!(config.interface, Interface::Internal);
    assert!(config.insecure);
    assert_eq!(config.cacert_file, Some(PathBuf::from("/etc/ssl/ca.pem")));
    assert_eq!(config.max_retries, DEFAULT_MAX_RETRIES);
    assert_eq!(
        config.auth,
        AuthMethod::Password {
            user: UserRef::Name {
                name: "bob".into(),
                domain: DomainRef::Name("Corp".into())
            },
            password: Secret::new("12345"),
            scope: Scope::Project(ProjectRef::Name {
                name: "web".into(),
                domain: DomainRef::Id("corp-id".into())
            }),
        }
    );
    let explicit = ProviderSettings {
        user_name: Some("carol".into()),
        region: Some("RegionTwo".into()),
        ..ProviderSettings::default()
    };
    let config = resolve_ok(&explicit, &env).await;
    assert_eq!(config.region.as_deref(), Some("RegionTwo"));
    assert!(
        matches!(config.auth, AuthMethod::Password { user: UserRef::Name { ref name, .. }, .. } if name == "carol")
    );
}

#[tokio::test]
async fn env_alone_with_default_domain_and_aliases() {
    let dir = tempdir();
    let env = env_in(
        dir.path(),
        &[
            ("OS_AUTH_URL", "http://k/v3"),
            ("OS_USERNAME", "u"),
            ("OS_PASSWORD", "p"),
            ("OS_TENANT_NAME", "t"),
            ("OS_INTERFACE", "adminURL"),
            ("OS_INSECURE", "true"),
        ],
    );
    let config = resolve_ok(&ProviderSettings::default(), &env).await;
    assert_eq!(config.interface, Interface::Admin);
    assert!(config.insecure);
    assert_eq!(
        config.auth,
        AuthMethod::Password {
            user: UserRef::Name {
                name: "u".into(),
                domain: DomainRef::Id("default".into())
            },
            password: Secret::new("p"),
            scope: Scope::Project(ProjectRef::Name {
                name: "t".into(),
                domain: DomainRef::Id("default".into())
            }),
        }
    );
    let env = env_in(
        dir.path(),
        &[("OS_AUTH_URL", "http://k/v3"), ("OS_TOKEN", "tok")],
    );
    let config = resolve_ok(&ProviderSettings::default(), &env).await;
    assert_eq!(
        config.auth,
        AuthMethod::Token {
            token: Secret::new("tok")
        }
    );
    let env = env_in(dir.path(), &[("OS_INSECURE", "maybe")]);
    assert_eq!(
        resolve_err(&ProviderSettings::default(), &env).await,
        "invalid OS_INSECURE: expected true or false, not \"maybe\""
    );
}

#[tokio::test]
async fn application_credentials_from_clouds_yaml() {
    let dir = tempdir();
    write(
        &dir.path().join("home/.config/openstack/clouds.yaml"),
        CLOUDS,
    );
    let env = env_in(dir.path(), &[]);
    let explicit = ProviderSettings {
        cloud: Some("appcred".into()),
        ..ProviderSettings::default()
    };
    let config = resolve_ok(&explicit, &env).await;
    assert_eq!(
        config.auth,
        AuthMethod::ApplicationCredential {
            credential: ApplicationCredentialRef::Id("ac1".into()),
            secret: Secret::new("s3cret"),
        }
    );
    assert!(!format!("{config:?}").contains("s3cret"));
}

#[test]
fn search_order_follows_the_openstack_clients() {
    let dir = tempdir();
    let d = dir.path();
    let env = env_in(d, &[("OS_CLIENT_CONFIG_FILE", "/x/my.yaml")]);
    let paths = clouds::search_paths(&env, "clouds");
    assert_eq!(
        paths,
        vec![
            PathBuf::from("/x/my.yaml"),
            d.join("cwd/clouds.yaml"),
            d.join("cwd/clouds.yml"),
            d.join("home/.config/openstack/clouds.yaml"),
            d.join("home/.config/openstack/clouds.yml"),
            d.join("etc/clouds.yaml"),
            d.join("etc/clouds.yml"),
        ]
    );
}

#[tokio::test]
async fn the_first_clouds_yaml_found_is_used() {
    let dir = tempdir();
    let d = dir.path();
    let cloud = |url: &str| {
        format!(
            "clouds:\n  c:\n    auth:\n      auth_url: {url}\n      username: u\n      password: p\n"
        )
    };
    write(&d.join("etc/clouds.yaml"), &cloud("http://etc/v3"));
    let explicit = ProviderSettings {
        cloud: Some("c".into()),
        ..ProviderSettings::default()
    };
    let url = |env: &Environment| {
        let env = env.clone();
        let explicit = explicit.clone();
        async move { resolve_ok(&explicit, &env).await.auth_url }
    };
    assert_eq!(url(&env_in(d, &[])).await, "http://etc/v3");
    write(
        &d.join("home/.config/openstack/clouds.yaml"),
        &cloud("http://home/v3"),
    );
    assert_eq!(url(&env_in(d, &[])).await, "http://home/v3");
    write(&d.join("cwd/clouds.yaml"), &cloud("http://cwd/v3"));
    assert_eq!(url(&env_in(d, &[])).await, "http://cwd/v3");
    let file = d.join("elsewhere.yaml");
    write(&file, &cloud("http://file/v3"));
    let file_text = file.display().to_string();
    assert_eq!(
        url(&env_in(d, &[("OS_CLIENT_CONFIG_FILE", &file_text)])).await,
        "http://file/v3"
    );
}

#[tokio::test]
async fn unknown_clouds_list_the_clouds_found() {
    let dir = tempdir();
    write(&dir.path().join("cwd/clouds.yaml"), CLOUDS);
    let env = env_in(dir.path(), &[("OS_CLOUD", "staging")]);
    let path = dir.path().join("cwd/clouds.yaml");
    assert_eq!(
        resolve_err(&ProviderSettings::default(), &env).await,
        format!(
            "cloud \"staging\" is not defined in {}; clouds found: appcred, prod",
            path.display()
        )
    );
}

#[tokio::test]
async fn invalid_yaml_names_the_file_and_line() {
    let dir = tempdir();
    let path = dir.path().join("cwd/clouds.yaml");
    write(&path, "clouds:\n  a:\n    auth: [unclosed\n");
    let env = env_in(dir.path(), &[("OS_CLOUD", "a")]);
    let message = resolve_err(&ProviderSettings::default(), &env).await;
    let prefix = format!("{}:", path.display());
    assert!(message.starts_with(&prefix), "{message}");
    assert!(
        message.contains(":3:") || message.contains(":4:"),
        "{message}"
    );
    assert!(message.contains("invalid YAML"), "{message}");
}

#[tokio::test]
async fn invalid_entries_name_the_field() {
    let dir = tempdir();
    let path = dir.path().join("cwd/clouds.yaml");
    write(
        &path,
        "clouds:\n  a:\n    identity_api_version: 2\n    auth:\n      auth_url: http://k\n",
    );
    let env = env_in(dir.path(), &[("OS_CLOUD", "a")]);
    assert_eq!(
        resolve_err(&ProviderSettings::default(), &env).await,
        format!(
            "{}: cloud \"a\": identity_api_version: 2 is not supported; stackform speaks Keystone v3",
            path.display()
        )
    );
}

#[tokio::test]
async fn missing_pieces_are_named() {
    let dir = tempdir();
    assert_eq!(
        resolve_err(&ProviderSettings::default(), &env_in(dir.path(), &[])).await,
        ConfigError::MissingAuthUrl.to_string()
    );
    let env = env_in(
        dir.path(),
        &[("OS_AUTH_URL", "http://k/v3"), ("OS_USERNAME", "u")],
    );
    assert_eq!(
        resolve_err(&ProviderSettings::default(), &env).await,
        "incomplete credentials for http://k/v3: password is required"
    );
    let env = env_in(dir.path(), &[("OS_AUTH_URL", "devcloud://data")]);
    assert!(
        resolve_err(&ProviderSettings::default(), &env)
            .await
            .contains("only the stackform command line can start")
    );
}

struct FakeEmbedded {
    clouds_yaml: PathBuf,
}

#[async_trait::async_trait]
impl EmbeddedClouds for FakeEmbedded {
    async fn start(&self, dir: &std::path::Path) -> Result<embedded::EmbeddedCloud, String> {
        assert!(dir.ends_with("data"));
        Ok(embedded::EmbeddedCloud {
            auth_url: "http://127.0.0.1:9/identity/v3".into(),
            clouds_yaml: self.clouds_yaml.clone(),
        })
    }
}

#[tokio::test]
async fn devcloud_urls_use_the_hook_and_its_credentials() {
    let dir = tempdir();
    let yaml = dir.path().join("data/clouds.yaml");
    write(
        &yaml,
        "clouds:\n  devcloud:\n    auth:\n      auth_url: http://127.0.0.1:9/identity/v3\n      username: admin\n      password: \"pw\"\n      project_name: admin\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n",
    );
    let hook: Arc<dyn EmbeddedClouds> = Arc::new(FakeEmbedded { clouds_yaml: yaml });
    let env = env_in(dir.path(), &[("OS_AUTH_URL", "devcloud://data")]);
    let config = resolve(&ProviderSettings::default(), &env, Some(hook.clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.auth_url, "http://127.0.0.1:9/identity/v3");
    assert_eq!(config.region.as_deref(), Some("RegionOne"));
    assert!(
        matches!(&config.auth, AuthMethod::Password { password, .. } if password.expose() == "pw")
    );
    // The user's own credentials replace devcloud's admin.
    let explicit = ProviderSettings {
        user_name: Some("demo".into()),
        password: Some(Secret::new("demo-pw")),
        tenant_name: Some("demo".into()),
        ..ProviderSettings::default()
    };
    let config = resolve(&explicit, &env, Some(hook))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        config.auth,
        AuthMethod::Password {
            user: UserRef::Name {
                name: "demo".into(),
                domain: DomainRef::Id("default".into())
            },
            password: Secret::new("demo-pw"),
            scope: Scope::Project(ProjectRef::Name {
                name: "demo".into(),
                domain: DomainRef::Id("default".into())
            }),
        }
    );
}
