//! clouds.yaml and secure.yaml, found and read as the OpenStack clients
//! (openstacksdk's `os-client-config`) do: `OS_CLIENT_CONFIG_FILE`, then
//! `./clouds.yaml`, `~/.config/openstack/clouds.yaml`,
//! `/etc/openstack/clouds.yaml`; the first that exists is used. A
//! secure.yaml found the same way (`OS_CLIENT_SECURE_FILE` first) is
//! merged over the cloud's entry, key by key, so passwords can live apart.

use super::error::ConfigError;
use super::secret::Secret;
use super::settings::{Environment, ProviderSettings, env_vars};
use crate::regular_file;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The places a file named `stem` (`clouds` or `secure`) is looked for,
/// in order.
pub fn search_paths(env: &Environment, stem: &str) -> Vec<PathBuf> {
    let override_var = match stem {
        "clouds" => env_vars::OS_CLIENT_CONFIG_FILE,
        _ => env_vars::OS_CLIENT_SECURE_FILE,
    };
    let mut paths: Vec<PathBuf> = env
        .var(override_var)
        .map(PathBuf::from)
        .into_iter()
        .collect();
    let config_home = env
        .var(env_vars::XDG_CONFIG_HOME)
        .map(PathBuf::from)
        .or_else(|| env.home.as_ref().map(|h| h.join(".config")));
    let dirs = [
        Some(env.cwd.clone()),
        config_home.map(|c| c.join("openstack")),
        Some(env.system_config_dir.clone()),
    ];
    for dir in dirs.into_iter().flatten() {
        for ext in ["yaml", "yml"] {
            paths.push(dir.join(format!("{stem}.{ext}")));
        }
    }
    paths
}

/// The settings of cloud `name` from the clouds.yaml (and secure.yaml)
/// the environment leads to.
pub fn load(name: &str, env: &Environment) -> Result<ProviderSettings, ConfigError> {
    let candidates = search_paths(env, "clouds");
    // Whatever exists there is read, so a FIFO or a directory in the way
    // is refused by name rather than passed over.
    let Some(path) = candidates.iter().find(|p| p.exists()) else {
        return Err(ConfigError::UnknownCloud {
            cloud: name.into(),
            searched: candidates,
            found: Vec::new(),
        });
    };
    let mut clouds = read_clouds(path)?;
    let Some(mut entry) = clouds.remove(name) else {
        return Err(ConfigError::UnknownCloud {
            cloud: name.into(),
            searched: vec![path.clone()],
            found: clouds.into_keys().collect(),
        });
    };
    if let Some(secure_path) = search_paths(env, "secure").into_iter().find(|p| p.exists()) {
        let mut secure = read_clouds(&secure_path)?;
        if let Some(secret_part) = secure.remove(name) {
            deep_merge(&mut entry, secret_part);
        }
    }
    entry_settings(path, name, &entry)
}

/// The settings of cloud `name` in one given file (no secure.yaml).
pub fn load_file(path: &Path, name: &str) -> Result<ProviderSettings, ConfigError> {
    let mut clouds = read_clouds(path)?;
    let entry = clouds
        .remove(name)
        .ok_or_else(|| ConfigError::UnknownCloud {
            cloud: name.into(),
            searched: vec![path.to_path_buf()],
            found: clouds.keys().cloned().collect(),
        })?;
    entry_settings(path, name, &entry)
}

#[derive(serde::Deserialize)]
struct CloudsFile {
    #[serde(default)]
    clouds: BTreeMap<String, Value>,
}

/// The largest clouds.yaml or secure.yaml read: 16 MiB, thousands of
/// times a file with dozens of clouds.
const MAX_CLOUDS_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The `clouds:` map of a file. YAML merge keys (`<<: *base`) are
/// applied by the parser.
fn read_clouds(path: &Path) -> Result<BTreeMap<String, Value>, ConfigError> {
    let read = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let text = regular_file::read_text(path, MAX_CLOUDS_FILE_BYTES).map_err(read)?;
    if text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let file: CloudsFile = serde_saphyr::from_str(&text).map_err(|e| {
        let location = e.location();
        ConfigError::InvalidYaml {
            path: path.to_path_buf(),
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            message: e.to_string().lines().next().unwrap_or_default().to_string(),
        }
    })?;
    Ok(file.clouds)
}

/// `over`'s keys replace `base`'s, recursively into maps.
fn deep_merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(&key) {
                    Some(existing) => deep_merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, over) => *base = over,
    }
}

/// Reads one cloud's entry.
fn entry_settings(
    path: &Path,
    cloud: &str,
    entry: &Value,
) -> Result<ProviderSettings, ConfigError> {
    let invalid = |message: String| ConfigError::InvalidCloud {
        path: path.to_path_buf(),
        cloud: cloud.into(),
        message,
    };
    if !entry.is_object() {
        return Err(invalid("expected a mapping of settings".into()));
    }
    let empty = Value::Object(Default::default());
    let auth = entry.get("auth").unwrap_or(&empty);
    if !auth.is_object() {
        return Err(invalid("auth: expected a mapping".into()));
    }
    // Scalars are read as text: a password of digits is still a password.
    let text = |v: &Value, key: &str, at: &str| -> Result<Option<String>, ConfigError> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(invalid(format!("{at}{key}: expected a string"))),
        }
    };
    let a = |key: &str| text(auth, key, "auth.");
    let e = |key: &str| text(entry, key, "");
    if let Some(version) = e("identity_api_version")?
        && !matches!(version.as_str(), "3" | "3.0")
    {
        return Err(invalid(format!(
            "identity_api_version: {version} is not supported; stackform speaks Keystone v3"
        )));
    }
    let insecure = match entry.get("verify") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(verify)) => Some(!verify),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(false),
        Some(_) => return Err(invalid("verify: expected true or false".into())),
    };
    Ok(ProviderSettings {
        cloud: None,
        auth_url: a("auth_url")?,
        auth_type: e("auth_type")?,
        user_name: a("username")?.or(a("user_name")?),
        user_id: a("user_id")?,
        password: a("password")?.map(Secret::from),
        tenant_name: a("project_name")?.or(a("tenant_name")?),
        tenant_id: a("project_id")?.or(a("tenant_id")?),
        user_domain_name: a("user_domain_name")?,
        user_domain_id: a("user_domain_id")?,
        project_domain_name: a("project_domain_name")?,
        project_domain_id: a("project_domain_id")?,
        domain_name: a("domain_name")?,
        domain_id: a("domain_id")?,
        default_domain: a("default_domain")?,
        application_credential_id: a("application_credential_id")?,
        application_credential_name: a("application_credential_name")?,
        application_credential_secret: a("application_credential_secret")?.map(Secret::from),
        token: a("token")?.map(Secret::from),
        region: e("region_name")?,
        endpoint_type: e("interface")?.or(e("endpoint_type")?),
        insecure,
        cacert_file: e("cacert")?.map(PathBuf::from),
        max_retries: None,
        endpoint_overrides: BTreeMap::new(),
    })
}
