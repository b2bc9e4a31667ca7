//! The hook through which an `auth_url` of `devcloud://DIR` starts a cloud
//! embedded in the process. The provider does not know devcloud: the
//! command line passes an implementation, and without one such a URL is
//! an error.

use async_trait::async_trait;
use std::path::{Path, PathBuf};

/// The URL scheme that asks for an embedded cloud.
pub const SCHEME: &str = "devcloud://";

/// A running embedded cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbeddedCloud {
    /// Its Keystone endpoint (`http://127.0.0.1:PORT/identity/v3`).
    pub auth_url: String,
    /// The clouds.yaml it wrote, with a cloud named [`CLOUD_NAME`].
    pub clouds_yaml: PathBuf,
}

/// The cloud in the embedded cloud's clouds.yaml whose credentials are
/// used when the settings give none.
pub const CLOUD_NAME: &str = "devcloud";

#[async_trait]
pub trait EmbeddedClouds: Send + Sync {
    /// Starts (or returns the already running) cloud whose data lives in
    /// `dir`; it keeps running while the implementation lives.
    async fn start(&self, dir: &Path) -> Result<EmbeddedCloud, String>;
}

/// The data directory of a `devcloud://DIR` URL, relative to `cwd`.
pub fn embedded_dir(auth_url: &str, cwd: &Path) -> Option<PathBuf> {
    let dir = auth_url.strip_prefix(SCHEME)?;
    let dir = if dir.is_empty() { "." } else { dir };
    Some(cwd.join(dir))
}
