//! The files of one workspace under `<working_dir>/state/`, and the one
//! way whole files are written there: a temp file in the same directory,
//! fsync'd, then renamed over the old one, so a reader or a crash sees the
//! old file or the new one and never a mix. Files are created with mode
//! 0600 and the directory with 0700: the state holds secrets.
//!
//! This module knows paths and bytes, not what is in them.

use super::error::StateError;
use crate::regular_file::{self, FileError};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The directory under the working directory that holds the state files.
pub const STATE_DIR: &str = "state";

/// The largest snapshot or journal stackform reads: 256 MiB. A state of
/// ten thousand servers is a few tens of MiB; decoding one this size
/// already takes a gigabyte of memory.
pub const MAX_STATE_FILE_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Clone, Debug)]
pub(crate) struct StateFiles {
    dir: PathBuf,
    workspace: String,
}

impl StateFiles {
    pub(crate) fn new(working_dir: &Path, workspace: &str) -> StateFiles {
        StateFiles {
            dir: working_dir.join(STATE_DIR),
            workspace: workspace.to_string(),
        }
    }

    /// Workspace names become file names: letters, digits, `-` and `_`
    /// only, so no name can reach outside the directory or collide with
    /// another workspace's `.backup` or `.tmp` files.
    pub(crate) fn check_workspace(&self) -> Result<(), StateError> {
        let name = self.workspace.as_str();
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if valid {
            Ok(())
        } else {
            Err(StateError::InvalidWorkspace {
                name: name.to_string(),
            })
        }
    }

    fn file(&self, suffix: &str) -> PathBuf {
        self.dir.join(format!("{}{suffix}", self.workspace))
    }

    pub(crate) fn snapshot(&self) -> PathBuf {
        self.file(".json")
    }

    pub(crate) fn backup(&self) -> PathBuf {
        self.file(".json.backup")
    }

    pub(crate) fn journal(&self) -> PathBuf {
        self.file(".journal")
    }

    pub(crate) fn lock(&self) -> PathBuf {
        self.file(".lock")
    }

    /// A path as messages show it: `state/<file>`, relative to the working
    /// directory the user runs in.
    pub(crate) fn shown(path: &Path) -> PathBuf {
        match path.file_name() {
            Some(name) => Path::new(STATE_DIR).join(name),
            None => path.to_path_buf(),
        }
    }

    /// Creates the directory (mode 0700) unless it exists.
    pub(crate) fn create_dir(&self) -> Result<(), StateError> {
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        match builder.create(&self.dir) {
            Ok(()) => {
                // The new directory entry lives in the working directory:
                // make it durable before anything inside relies on it.
                if let Some(parent) = self.dir.parent() {
                    sync_dir(parent)?;
                }
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && self.dir.is_dir() => Ok(()),
            Err(source) => Err(StateError::Io {
                action: "create directory",
                path: self.dir.clone(),
                source,
            }),
        }
    }

    /// Makes renames and removals in the directory durable.
    pub(crate) fn sync(&self) -> Result<(), StateError> {
        sync_dir(&self.dir)
    }

    /// Replaces `path` with `bytes` (temp file, fsync, rename) and returns
    /// the open file, positioned at its end. The caller syncs the directory
    /// once it has renamed everything it wanted to.
    pub(crate) fn replace(&self, path: &Path, bytes: &[u8]) -> Result<File, StateError> {
        let temp = temp_path(path);
        let file = write_synced(&temp, bytes)?;
        rename(&temp, path)?;
        Ok(file)
    }

    /// Writes `bytes` to the temp file of `path` and fsyncs it, without
    /// renaming: the caller renames it when everything else is ready.
    pub(crate) fn prepare(&self, path: &Path, bytes: &[u8]) -> Result<PathBuf, StateError> {
        let temp = temp_path(path);
        write_synced(&temp, bytes)?;
        Ok(temp)
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

pub(crate) fn io_error(action: &'static str, path: &Path, source: io::Error) -> StateError {
    StateError::Io {
        action,
        path: StateFiles::shown(path),
        source,
    }
}

/// Options for a file only its owner may read: the state holds secrets.
/// Opening never blocks (a FIFO in the way is refused, see
/// `opened_regular`).
pub(crate) fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    regular_file::non_blocking(&mut options);
    options
}

/// Refuses a file that was opened where a regular file belongs but is
/// something else (a FIFO, a device, a directory).
/// `action` says what the file was opened for (`lock`, `write`).
pub(crate) fn opened_regular(
    file: &File,
    action: &'static str,
    path: &Path,
) -> Result<(), StateError> {
    regular_file::check_regular(file).map_err(|source| file_error(action, path, source))
}

pub(crate) fn file_error(action: &'static str, path: &Path, source: FileError) -> StateError {
    StateError::File {
        action,
        path: StateFiles::shown(path),
        source,
    }
}

/// Creates or truncates `path` with mode 0600, writes `bytes` and fsyncs.
/// On failure the half-written file is removed so it takes no space.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<File, StateError> {
    // Something other than a file in the way is not ours to remove.
    regular_file::check_if_exists(path).map_err(|source| file_error("write", path, source))?;
    let result = (|| {
        let mut file = private_file()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| ("create", e))?;
        if !file.metadata().map_err(|e| ("check", e))?.is_file() {
            // Swapped for something else since the check above.
            return Err((
                "create a regular file at",
                std::io::Error::other("not a regular file"),
            ));
        }
        // A leftover temp file from a crashed run keeps its old mode when
        // reopened; the state must not become readable through it.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(0o600))
                .map_err(|e| ("set permissions of", e))?;
        }
        file.write_all(bytes).map_err(|e| ("write", e))?;
        file.sync_all().map_err(|e| ("sync", e))?;
        Ok(file)
    })();
    result.map_err(|(action, source)| {
        let _ = fs::remove_file(path);
        io_error(action, path, source)
    })
}

pub(crate) fn rename(from: &Path, to: &Path) -> Result<(), StateError> {
    fs::rename(from, to).map_err(|source| io_error("rename a file over", to, source))
}

/// The contents of `path`, or None when it does not exist. Anything but
/// a regular file of at most `MAX_STATE_FILE_BYTES` is refused.
pub(crate) fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    match regular_file::read(path, MAX_STATE_FILE_BYTES) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(source) => Err(file_error("read", path, source)),
    }
}

/// Removes `path`; a file already gone is fine.
pub(crate) fn remove_if_exists(path: &Path) -> Result<(), StateError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(io_error("remove", path, source)),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| StateError::Io {
            action: "sync directory",
            path: dir.to_path_buf(),
            source,
        })
}

/// Other systems have no way to fsync a directory through std; their
/// renames are as durable as the file system makes them.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), StateError> {
    Ok(())
}
