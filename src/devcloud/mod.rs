//! devcloud: a local cloud that speaks Keystone v3, Glance v2, Nova v2.1
//! and Neutron v2.0 over real HTTP on loopback, so that stackform (and
//! any OpenStack client) can run without a cloud.
//!
//! One port serves every service under a path prefix (`/identity/v3`,
//! `/image`, `/compute/v2.1`, `/network`) and a control API under
//! `/devcloud/` (latency, faults, build times, request counts). Data lives
//! in a directory and survives restarts.
//!
//! devcloud uses nothing of the engine: it is a separate server that
//! happens to ship in the same binary, and a real OpenStack can stand in
//! for it without anything else noticing.

pub mod compute;
pub mod control;
pub mod error;
pub mod identity;
pub mod image;
pub mod ipam;
pub mod limits;
pub mod model;
pub mod network;
pub mod server;
pub mod store;
pub mod time;
pub mod token;

use model::{Assignment, CatalogService, DATA_VERSION, Data, Domain, Flavor, Project, Role, User};
use server::{App, Knobs, LogSink};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use store::Store;

/// The cloud names written to `clouds.yaml`.
pub const ADMIN_CLOUD: &str = "devcloud";
pub const DEMO_CLOUD: &str = "devcloud-demo";

/// How to run devcloud.
#[derive(Clone)]
pub struct Options {
    /// Where to listen; a loopback address (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Where the data and `clouds.yaml` live.
    pub data_dir: PathBuf,
    pub build_time: Duration,
    pub delete_time: Duration,
    pub latency: Duration,
    pub token_ttl: Duration,
    /// See `Knobs::auth_cost`.
    pub auth_cost: Duration,
    /// See `Knobs::token_first_use`.
    pub token_first_use: Duration,
    /// Where to log one line per request; `None` for silence.
    pub log: Option<LogSink>,
}

impl Options {
    /// Loopback on a free port, quick builds and deletes: for tests and
    /// for the in-process cloud.
    pub fn ephemeral(data_dir: &Path) -> Options {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.to_path_buf(),
            build_time: Duration::from_millis(200),
            delete_time: Duration::from_millis(100),
            latency: Duration::ZERO,
            token_ttl: Duration::from_secs(3600),
            auth_cost: Duration::ZERO,
            token_first_use: Duration::ZERO,
            log: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DevCloudError {
    #[error("devcloud listens on loopback addresses only, not {0}")]
    NotLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot write {path}: {source}")]
    CloudsYaml {
        path: String,
        source: std::io::Error,
    },
}

/// A running devcloud.
pub struct DevCloud {
    addr: SocketAddr,
    base_url: String,
    data_dir: PathBuf,
    app: Arc<App>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<()>,
    persister: tokio::task::JoinHandle<()>,
}

impl DevCloud {
    /// Starts devcloud on the current tokio runtime.
    pub async fn start(options: Options) -> Result<DevCloud, DevCloudError> {
        if !options.listen.ip().is_loopback() {
            return Err(DevCloudError::NotLoopback(options.listen));
        }
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| DevCloudError::Bind {
                addr: options.listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| DevCloudError::Bind {
                addr: options.listen,
                source,
            })?;
        let base_url = format!("http://{addr}");
        let store = Arc::new(Store::open(&options.data_dir, seed)?);
        let token_key = store.read(|d| d.token_key.clone());
        let knobs = Knobs {
            build_time: options.build_time,
            delete_time: options.delete_time,
            latency: options.latency,
            token_ttl: options.token_ttl,
            auth_cost: options.auth_cost,
            token_first_use: options.token_first_use,
            faults: store.read(|d| d.faults.clone()),
            server_errors: store.read(|d| d.server_errors.clone()),
        };
        let app = Arc::new(App {
            store: store.clone(),
            knobs: RwLock::new(knobs),
            requests: Mutex::default(),
            base_url: base_url.clone(),
            token_key,
            log: options.log.clone(),
            validated: Mutex::default(),
            holds: server::Holds::default(),
        });
        write_clouds_yaml(&app, &options.data_dir)?;
        let persister = tokio::spawn(store.clone().persist());
        let router = router(app.clone());
        let service = tower::Layer::layer(
            &tower::util::MapRequestLayer::new(server::normalize_path),
            router,
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let make = axum::ServiceExt::<axum::extract::Request>::into_make_service(service);
            let _ = axum::serve(listener, make)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(DevCloud {
            addr,
            base_url,
            data_dir: options.data_dir,
            app,
            shutdown: Some(tx),
            server,
            persister,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.base_url
    }

    /// The Keystone endpoint clients authenticate against.
    pub fn auth_url(&self) -> String {
        format!("{}/identity/v3", self.base_url)
    }

    pub fn clouds_yaml(&self) -> PathBuf {
        self.data_dir.join("clouds.yaml")
    }

    /// The password of a user devcloud created (`admin`, `demo`).
    pub fn password(&self, user: &str) -> Option<String> {
        self.app.store.read(|d| d.seed_passwords.get(user).cloned())
    }

    /// Stops serving (requests in flight finish) and saves the data.
    pub async fn stop(mut self) -> Result<(), DevCloudError> {
        // Held responses would keep the graceful shutdown waiting.
        self.app.holds.release_all();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.server).await;
        self.persister.abort();
        self.app.store.flush()?;
        Ok(())
    }
}

fn router(app: Arc<App>) -> axum::Router {
    axum::Router::new()
        .nest("/identity", identity::router())
        .nest("/image", image::router())
        .nest("/compute", compute::router())
        .nest("/network", network::router())
        .nest("/devcloud", control::router())
        .fallback(server::not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            server::middleware,
        ))
        .with_state(app)
}

/// What a new devcloud starts with: the `Default` domain, projects
/// `admin`, `demo` and `service`, users `admin` (role admin on admin) and
/// `demo` (member on demo), the catalog, DevStack's flavors, and each
/// project's `default` security group.
fn seed() -> Data {
    let now = time::now_iso();
    let mut d = Data {
        version: DATA_VERSION,
        token_key: token::random_hex(32),
        ..Data::default()
    };
    d.domains.insert(
        "default".into(),
        Domain {
            id: "default".into(),
            name: "Default".into(),
            description: "The default domain".into(),
            enabled: true,
        },
    );
    let mut project_ids = BTreeMap::new();
    for name in ["admin", "demo", "service"] {
        let id = uuid::Uuid::new_v4().simple().to_string();
        d.projects.insert(
            id.clone(),
            Project {
                id: id.clone(),
                name: name.into(),
                domain_id: "default".into(),
                description: String::new(),
                enabled: true,
            },
        );
        project_ids.insert(name, id);
    }
    let mut role_ids = BTreeMap::new();
    for name in ["admin", "member", "reader"] {
        let id = uuid::Uuid::new_v4().simple().to_string();
        d.roles.insert(
            id.clone(),
            Role {
                id: id.clone(),
                name: name.into(),
            },
        );
        role_ids.insert(name, id);
    }
    for (user, project, roles) in [
        ("admin", "admin", &["admin", "member", "reader"][..]),
        ("demo", "demo", &["member", "reader"][..]),
    ] {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let password = token::random_hex(12);
        d.users.insert(
            id.clone(),
            User {
                id: id.clone(),
                name: user.into(),
                domain_id: "default".into(),
                enabled: true,
                default_project_id: Some(project_ids[project].clone()),
                password_hash: token::hash_secret(&password),
            },
        );
        d.seed_passwords.insert(user.into(), password);
        for role in roles {
            d.assignments.push(Assignment {
                user_id: id.clone(),
                project_id: project_ids[project].clone(),
                role_id: role_ids[role].clone(),
            });
        }
    }
    for (service_type, name) in [
        ("identity", "keystone"),
        ("image", "glance"),
        ("compute", "nova"),
        ("network", "neutron"),
    ] {
        let endpoint_ids = ["public", "internal", "admin"]
            .iter()
            .map(|i| (i.to_string(), uuid::Uuid::new_v4().simple().to_string()))
            .collect();
        d.catalog.push(CatalogService {
            id: uuid::Uuid::new_v4().simple().to_string(),
            service_type: service_type.into(),
            name: name.into(),
            endpoint_ids,
        });
    }
    // DevStack's flavors, with its ids.
    for (id, name, ram, disk, vcpus) in [
        ("1", "m1.tiny", 512, 1, 1),
        ("2", "m1.small", 2048, 20, 1),
        ("3", "m1.medium", 4096, 40, 2),
        ("4", "m1.large", 8192, 80, 4),
        ("5", "m1.xlarge", 16384, 160, 8),
        ("42", "m1.nano", 128, 1, 1),
        ("84", "m1.micro", 192, 1, 1),
    ] {
        d.flavors.insert(
            id.into(),
            Flavor {
                id: id.into(),
                name: name.into(),
                ram,
                vcpus,
                disk,
                ephemeral: 0,
                swap: 0,
                rxtx_factor: 1.0,
                is_public: true,
                disabled: false,
                description: None,
                extra_specs: BTreeMap::new(),
                access: BTreeSet::new(),
                created_at: now.clone(),
            },
        );
    }
    for project in [&project_ids["admin"], &project_ids["demo"]] {
        network::create_default_security_group(&mut d, project);
    }
    d
}

/// `clouds.yaml` with the two clouds, written on every start (the port
/// may differ), mode 0600 since it holds passwords.
fn write_clouds_yaml(app: &App, dir: &Path) -> Result<(), DevCloudError> {
    let (admin, demo) = app.store.read(|d| {
        (
            d.seed_passwords.get("admin").cloned(),
            d.seed_passwords.get("demo").cloned(),
        )
    });
    let auth_url = format!("{}/identity/v3", app.base_url);
    let cloud = |name: &str, user: &str, password: Option<String>| {
        format!(
            "  {name}:\n    auth:\n      auth_url: {auth_url}\n      username: {user}\n      password: \"{}\"\n      project_name: {user}\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: {}\n    interface: public\n    identity_api_version: 3\n",
            password.unwrap_or_default(),
            identity::REGION
        )
    };
    let text = format!(
        "# Written by stackform devcloud each time it starts.\nclouds:\n{}{}",
        cloud(ADMIN_CLOUD, "admin", admin),
        cloud(DEMO_CLOUD, "demo", demo)
    );
    let path = dir.join("clouds.yaml");
    store::write_atomically(&path, text.as_bytes()).map_err(|source| DevCloudError::CloudsYaml {
        path: path.display().to_string(),
        source,
    })
}

/// Serves until `stop` resolves (Ctrl-C for `devcloud serve`).
pub async fn serve_until(
    options: Options,
    stop: impl std::future::Future<Output = ()>,
    on_start: impl FnOnce(&DevCloud),
) -> Result<(), DevCloudError> {
    let cloud = DevCloud::start(options).await?;
    on_start(&cloud);
    stop.await;
    cloud.stop().await
}
