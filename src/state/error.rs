//! What can go wrong reading, writing and locking the state.
//!
//! One enum for the whole `state` layer. Every message names the file as
//! the user sees it (`state/default.json`, relative to the working
//! directory) and says what to do when there is something to do; the
//! underlying cause travels in `#[source]` for the CLI to print once.

use super::lock::LockHolder;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done: `read`, `write`, `rename`, `lock`, ...
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot {action} {}", path.display())]
    File {
        /// What was being done: `read`, `write`, `lock`.
        action: &'static str,
        path: PathBuf,
        #[source]
        source: crate::regular_file::FileError,
    },

    #[error(
        "{} does not parse at line {line}, column {column}; it was left untouched",
        path.display()
    )]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        #[source]
        source: serde_json::Error,
    },

    #[error("{}", unsupported_format(path, *found))]
    UnsupportedFormat { path: PathBuf, found: u64 },

    #[error(
        "{}: the resource {address:?} disagrees with its mode, type, name and index, which spell {expected:?}",
        path.display()
    )]
    InconsistentAddress {
        path: PathBuf,
        address: String,
        expected: String,
    },

    #[error("{}: the resource {address:?} appears more than once", path.display())]
    DuplicateAddress { path: PathBuf, address: String },

    #[error("{}: the intent for {address:?} names no resource instance: {reason}", path.display())]
    InvalidIntent {
        path: PathBuf,
        address: String,
        reason: String,
    },

    #[error(
        "{} belongs to another state: its lineage is {journal_lineage}, the snapshot's is {state_lineage}; \
         move one of them aside",
        path.display()
    )]
    ForeignJournal {
        path: PathBuf,
        journal_lineage: String,
        state_lineage: String,
    },

    #[error("{}", journal_ahead(path, *base_serial, *snapshot_serial))]
    JournalAhead {
        path: PathBuf,
        base_serial: u64,
        /// None when there is no snapshot at all.
        snapshot_serial: Option<u64>,
    },

    #[error("{} does not start with a valid journal header", path.display())]
    JournalHeader {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error(
        "{} line {line} is not a valid journal entry, and it is not the last line, so it is no \
         interrupted write",
        path.display()
    )]
    JournalEntry {
        path: PathBuf,
        line: usize,
        #[source]
        source: serde_json::Error,
    },

    #[error(
        "{} has lineage {found}, but the state being written has lineage {writing}: they \
         describe different stacks; refusing to overwrite it",
        path.display()
    )]
    LineageMismatch {
        path: PathBuf,
        found: String,
        writing: String,
    },

    #[error("{}", serial_mismatch(path, *read, *found))]
    SerialMismatch {
        path: PathBuf,
        /// The serial this run read; None when there was no state.
        read: Option<u64>,
        found: u64,
    },

    #[error(
        "{} is at serial {serial}, the highest a state can have, so no run can write it again; \
         nothing was changed. stackform counts serials up by one per write and never gets \
         there: restore the state from its .backup file or lower its serial by hand",
        path.display()
    )]
    SerialExhausted { path: PathBuf, serial: u64 },

    #[error("{}", locked(path, holder.as_deref(), *waited))]
    Locked {
        /// The state file the lock protects.
        path: PathBuf,
        /// Who holds it, when the holder left readable information
        /// (boxed: it is large, and every `Result` of the layer carries it).
        holder: Option<Box<LockHolder>>,
        waited: Duration,
    },

    #[error(
        "cannot start a journal for {}: it is based on {base}, but this run last read or wrote \
         {known} (a bug in stackform)",
        path.display()
    )]
    StaleBase {
        path: PathBuf,
        /// The base state's lineage and serial, as `lineage L serial N`.
        base: String,
        known: String,
    },

    #[error(
        "{} already exists: read the state first, which folds it into the snapshot",
        path.display()
    )]
    JournalExists { path: PathBuf },

    #[error(
        "{} holds {entries} change(s) that no snapshot records yet: write the state before \
         finishing the journal (a bug in stackform); the journal was kept",
        path.display()
    )]
    JournalNotFolded { path: PathBuf, entries: usize },

    #[error(
        "{} can no longer be appended to after a failed write; write the state to save what \
         this run did",
        path.display()
    )]
    JournalBroken { path: PathBuf },

    #[error("{} must be read before it is written (a bug in stackform)", path.display())]
    NotRead { path: PathBuf },

    #[error(
        "invalid workspace name {name:?}: use letters, digits, '-' and '_', starting with a \
         letter or digit"
    )]
    InvalidWorkspace { name: String },

    #[error("cannot encode the state for {}", path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

fn unsupported_format(path: &std::path::Path, found: u64) -> String {
    let supported = super::model::FORMAT_VERSION;
    if found > u64::from(supported) {
        format!(
            "{} has format version {found}, written by a newer version of stackform; this \
             version reads format version {supported}",
            path.display()
        )
    } else {
        format!(
            "{} has format version {found}, which no version of stackform writes; this version \
             reads format version {supported}",
            path.display()
        )
    }
}

fn journal_ahead(path: &std::path::Path, base_serial: u64, snapshot: Option<u64>) -> String {
    match snapshot {
        Some(serial) => format!(
            "{} continues serial {base_serial}, but the snapshot is at serial {serial}: the \
             snapshot is older than the journal (was it restored from a backup?); put the newer \
             snapshot back or move the journal aside",
            path.display()
        ),
        None => format!(
            "{} continues serial {base_serial}, but the snapshot beside it is missing; put the \
             snapshot back or move the journal aside",
            path.display()
        ),
    }
}

fn serial_mismatch(path: &std::path::Path, read: Option<u64>, found: u64) -> String {
    match read {
        Some(read) => format!(
            "{} is at serial {found}, but this run read serial {read}: something else wrote it \
             since; refusing to overwrite it",
            path.display()
        ),
        None => format!(
            "{} appeared (at serial {found}) after this run found no state; refusing to \
             overwrite it",
            path.display()
        ),
    }
}

fn locked(path: &std::path::Path, holder: Option<&LockHolder>, waited: Duration) -> String {
    let who = match holder {
        Some(holder) => format!("is locked by {holder}"),
        None => "is locked by another process, which left no holder information".to_string(),
    };
    let hint = if waited.is_zero() {
        "try again later or pass -lock-timeout".to_string()
    } else {
        format!(
            "still locked after waiting {}; try again later or pass a longer -lock-timeout",
            humantime::format_duration(waited)
        )
    };
    format!("{} {who}; {hint}", path.display())
}
