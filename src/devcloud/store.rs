//! The store: devcloud's data behind one lock, saved to
//! `<data>/devcloud.json` after changes. Writes are atomic (temp file,
//! fsync, rename) and coalesced: a burst of changes is one write of the
//! latest data, done off the request path. Image bytes live in
//! `<data>/images/<id>`.

use super::model::{DATA_VERSION, Data};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::Notify;

pub struct Store {
    data: Mutex<Data>,
    dir: PathBuf,
    dirty: AtomicBool,
    /// Held while saving: the persister and `stop` may flush at once, and
    /// both write the same temporary file.
    saving: Mutex<()>,
    changed: Notify,
    /// Unix milliseconds of the earliest pending timer (a build ending, a
    /// deleted server disappearing); `u64::MAX` when there is none, so
    /// requests skip the timer pass cheaply.
    next_timer: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a devcloud data file: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path} was written by a newer devcloud (data version {found})")]
    Version { path: String, found: u32 },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Milliseconds since the Unix epoch.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Store {
    /// Opens the data directory, creating it (and seeding it with
    /// `seed`) on first use.
    pub fn open(dir: &Path, seed: impl FnOnce() -> Data) -> Result<Store, StoreError> {
        let path = dir.join("devcloud.json");
        let shown = path.display().to_string();
        std::fs::create_dir_all(dir.join("images")).map_err(|source| StoreError::Write {
            path: shown.clone(),
            source,
        })?;
        let (data, fresh) = match std::fs::read(&path) {
            Ok(bytes) => {
                // The version first: a newer document may not parse as ours.
                #[derive(serde::Deserialize)]
                struct Header {
                    version: u32,
                }
                let parse_error = |source| StoreError::Parse {
                    path: shown.clone(),
                    source,
                };
                let header: Header = serde_json::from_slice(&bytes).map_err(parse_error)?;
                if header.version > DATA_VERSION {
                    return Err(StoreError::Version {
                        path: shown,
                        found: header.version,
                    });
                }
                let data: Data = serde_json::from_slice(&bytes).map_err(parse_error)?;
                (data, false)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (seed(), true),
            Err(source) => {
                return Err(StoreError::Read {
                    path: shown,
                    source,
                });
            }
        };
        let store = Store {
            data: Mutex::new(data),
            dir: dir.to_path_buf(),
            dirty: AtomicBool::new(fresh),
            saving: Mutex::new(()),
            changed: Notify::new(),
            next_timer: AtomicU64::new(0),
        };
        if fresh {
            store.flush()?;
        }
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file holding an image's bytes.
    pub fn image_path(&self, id: &str) -> PathBuf {
        self.dir.join("images").join(id)
    }

    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the data.
    pub fn read<R>(&self, f: impl FnOnce(&Data) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the data; it is saved soon after.
    pub fn write<R>(&self, f: impl FnOnce(&mut Data) -> R) -> R {
        let result = f(&mut self.lock());
        self.dirty.store(true, Ordering::Release);
        self.changed.notify_one();
        result
    }

    /// Runs `f` when a timer may be due (it returns the next deadline, or
    /// `u64::MAX`). Cheap when nothing is due.
    pub fn run_timers(&self, now: u64, f: impl FnOnce(&mut Data, u64) -> (bool, u64)) {
        if now < self.next_timer.load(Ordering::Acquire) {
            return;
        }
        let mut data = self.lock();
        let (changed, next) = f(&mut data, now);
        self.next_timer.store(next, Ordering::Release);
        drop(data);
        if changed {
            self.dirty.store(true, Ordering::Release);
            self.changed.notify_one();
        }
    }

    /// Brings the next timer forward to `at` when it is earlier.
    pub fn schedule(&self, at: u64) {
        self.next_timer.fetch_min(at, Ordering::AcqRel);
    }

    /// Saves the data now if it changed.
    pub fn flush(&self) -> Result<(), StoreError> {
        let _saving = self.saving.lock().unwrap_or_else(|e| e.into_inner());
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let bytes = {
            let data = self.lock();
            serde_json::to_vec(&*data).map_err(|e| StoreError::Write {
                path: self.dir.display().to_string(),
                source: std::io::Error::other(e),
            })?
        };
        let path = self.dir.join("devcloud.json");
        write_atomically(&path, &bytes).map_err(|source| {
            // Try again on the next change.
            self.dirty.store(true, Ordering::Release);
            StoreError::Write {
                path: path.display().to_string(),
                source,
            }
        })
    }

    /// Saves changes as they happen, until the task is dropped. Each
    /// wake-up writes whatever the latest data is, so a burst of changes
    /// costs one write.
    pub async fn persist(self: std::sync::Arc<Self>) {
        loop {
            self.changed.notified().await;
            let store = self.clone();
            // Writing and fsyncing block: keep them off the runtime's workers.
            let _ = tokio::task::spawn_blocking(move || store.flush()).await;
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same
/// directory, so the file is always either the old or the new content.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_survive_a_reopen_and_newer_data_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let seed = || Data {
            version: DATA_VERSION,
            token_key: "k".into(),
            ..Data::default()
        };
        let store = Store::open(dir.path(), seed).unwrap();
        store.write(|d| d.token_key = "changed".into());
        store.flush().unwrap();
        drop(store);
        let store = Store::open(dir.path(), seed).unwrap();
        assert_eq!(store.read(|d| d.token_key.clone()), "changed");
        std::fs::write(dir.path().join("devcloud.json"), r#"{"version": 99}"#).unwrap();
        assert!(matches!(
            Store::open(dir.path(), seed),
            Err(StoreError::Version { found: 99, .. })
        ));
        std::fs::write(dir.path().join("devcloud.json"), "{").unwrap();
        assert!(matches!(
            Store::open(dir.path(), seed),
            Err(StoreError::Parse { .. })
        ));
    }

    #[test]
    fn concurrent_flushes_do_not_trip_over_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Store::open(dir.path(), Data::default).unwrap());
        let workers: Vec<_> = (0..4)
            .map(|n| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        store.write(|d| d.token_key = format!("{n}-{i}"));
                        store.flush().expect("flush");
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        let saved = std::fs::read(dir.path().join("devcloud.json")).unwrap();
        let saved: Data = serde_json::from_slice(&saved).unwrap();
        assert_eq!(saved.token_key, store.read(|d| d.token_key.clone()));
    }
}
