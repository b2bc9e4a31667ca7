//! The state lock: an OS-level exclusive lock on `state/<workspace>.lock`,
//! held for a whole run, with who holds it written inside so that a second
//! run can say whom it is waiting for.
//!
//! The lock is `flock(2)` (on Unix) through std's `File::try_lock`. The
//! kernel drops it when the process dies, however it dies, so a crashed
//! run never leaves a stale lock and there is nothing to force-unlock. The
//! holder information is only for messages: the kernel's lock is the truth.
//!
//! This module must not read or write the state itself.

use super::error::StateError;
use super::files::{StateFiles, io_error, opened_regular, private_file};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// How often a waiting run tries the lock again.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The environment variable naming the user, recorded in the holder
/// information.
pub const USER_ENV: &str = "USER";

/// Who holds the lock: written into the lock file while it is held.
/// Unknown fields are ignored so that an older stackform can still name a
/// holder that a newer one described.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The command that took the lock: `plan`, `apply`, `import`, ...
    pub operation: String,
    /// When the lock was taken, RFC 3339 in UTC.
    pub created: String,
    pub tool_version: String,
}

impl LockHolder {
    /// This process, taking the lock now for `operation`.
    pub fn current(operation: &str) -> LockHolder {
        LockHolder {
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            user: std::env::var(USER_ENV).ok().filter(|u| !u.is_empty()),
            operation: operation.to_string(),
            created: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            tool_version: crate::VERSION.to_string(),
        }
    }
}

impl fmt::Display for LockHolder {
    /// `pid 1234 on host h (user alice, operation "apply", since 2026-11-23T10:00:00Z)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {} on host {} (", self.pid, self.host)?;
        if let Some(user) = &self.user {
            write!(f, "user {user}, ")?;
        }
        write!(f, "operation {:?}, since {})", self.operation, self.created)
    }
}

/// The held lock. Dropping it clears the holder information and releases
/// the lock.
#[derive(Debug)]
pub(crate) struct StateLock {
    file: File,
}

impl StateLock {
    /// Takes the lock on `lock_path`, trying every `POLL_INTERVAL` until
    /// `timeout` has passed (zero: try once). `state_path` is what the
    /// "locked by" message names.
    pub(crate) fn acquire(
        lock_path: &Path,
        state_path: &Path,
        operation: &str,
        timeout: Duration,
    ) -> Result<StateLock, StateError> {
        // Opened without truncating: the file may be another run's lock,
        // and its content is how we learn who that is.
        let mut file = private_file()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(lock_path)
            .map_err(|source| io_error("open", lock_path, source))?;
        opened_regular(&file, "lock", lock_path)?;
        let started = Instant::now();
        // None: the timeout is too long to represent, so wait for ever.
        let deadline = started.checked_add(timeout);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let now = Instant::now();
                    let remaining = deadline.map(|d| d.saturating_duration_since(now));
                    if remaining.is_some_and(|r| r.is_zero()) {
                        return Err(StateError::Locked {
                            path: StateFiles::shown(state_path),
                            holder: read_holder(&mut file).map(Box::new),
                            waited: timeout,
                        });
                    }
                    std::thread::sleep(remaining.map_or(POLL_INTERVAL, |r| r.min(POLL_INTERVAL)));
                }
                Err(TryLockError::Error(source)) => {
                    return Err(io_error("lock", lock_path, source));
                }
            }
        }
        let mut info = serde_json::to_vec(&LockHolder::current(operation)).map_err(|source| {
            StateError::Encode {
                path: StateFiles::shown(lock_path),
                source,
            }
        })?;
        info.push(b'\n');
        // Dropping `file` on the error path releases the lock again.
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(&info))
            .map_err(|source| io_error("write", lock_path, source))?;
        Ok(StateLock { file })
    }
}

impl Drop for StateLock {
    /// Clears the holder information, then unlocks. The file itself stays:
    /// deleting it would let a run that opened it just before the deletion
    /// lock the orphaned inode while a third run locks a new file of the
    /// same name, and both would believe they hold the lock.
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// The most of a lock file read for the holder information, which is one
/// short line: whatever else was written there is not read.
const MAX_HOLDER_BYTES: u64 = 64 * 1024;

/// The holder information in a lock file, if it is readable: the holder
/// may be between truncating and writing it.
fn read_holder(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(MAX_HOLDER_BYTES).read_to_string(&mut text).ok()?;
    serde_json::from_str(text.trim_end()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_names_pid_host_user_operation_and_time() {
        let holder = LockHolder {
            pid: 1234,
            host: "h".into(),
            user: Some("alice".into()),
            operation: "apply".into(),
            created: "2026-11-23T10:00:00Z".into(),
            tool_version: "0.1.0".into(),
        };
        assert_eq!(
            holder.to_string(),
            r#"pid 1234 on host h (user alice, operation "apply", since 2026-11-23T10:00:00Z)"#
        );
        let anonymous = LockHolder {
            user: None,
            ..holder
        };
        assert_eq!(
            anonymous.to_string(),
            r#"pid 1234 on host h (operation "apply", since 2026-11-23T10:00:00Z)"#
        );
    }

    #[test]
    fn the_current_holder_is_this_process() {
        let holder = LockHolder::current("plan");
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.operation, "plan");
        assert_eq!(holder.tool_version, crate::VERSION);
        assert!(holder.created.ends_with('Z'), "{}", holder.created);
        assert!(humantime::parse_rfc3339(&holder.created).is_ok());
    }

    #[test]
    fn a_second_lock_waits_then_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let lock_path = dir.path().join("default.lock");
        let state_path = dir.path().join("default.json");
        let first = StateLock::acquire(&lock_path, &state_path, "apply", Duration::ZERO).unwrap();

        let started = Instant::now();
        let err = StateLock::acquire(&lock_path, &state_path, "plan", Duration::from_millis(200))
            .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(200));
        let StateError::Locked { holder, waited, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(*waited, Duration::from_millis(200));
        let holder = holder.as_ref().expect("holder information");
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.operation, "apply");
        assert!(
            err.to_string().contains("pass a longer -lock-timeout"),
            "{err}"
        );

        drop(first);
        assert_eq!(
            std::fs::read(&lock_path).unwrap(),
            b"",
            "holder info cleared"
        );
        assert!(lock_path.exists(), "the lock file stays");
        StateLock::acquire(&lock_path, &state_path, "plan", Duration::ZERO).unwrap();
    }

    #[test]
    fn an_unreadable_holder_still_reports_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let lock_path = dir.path().join("default.lock");
        let state_path = dir.path().join("default.json");
        let _first = StateLock::acquire(&lock_path, &state_path, "apply", Duration::ZERO).unwrap();
        std::fs::write(&lock_path, "{\"pid\":").unwrap();
        let err = StateLock::acquire(&lock_path, &state_path, "plan", Duration::ZERO).unwrap_err();
        assert!(matches!(err, StateError::Locked { holder: None, .. }));
        assert!(
            err.to_string().contains("left no holder information"),
            "{err}"
        );
    }
}
