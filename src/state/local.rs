//! The local backend: the state of a workspace in files under
//! `<working_dir>/state/` (format and guarantees in `state/README.md`):
//!
//! - `<ws>.json`: the snapshot, replaced whole (temp file, fsync, rename,
//!   fsync of the directory), so it is never half-written;
//! - `<ws>.json.backup`: the snapshot before the last write;
//! - `<ws>.journal`: what the running apply did since the snapshot
//!   (see `journal`), folded into the next snapshot;
//! - `<ws>.lock`: the lock held for a whole run (see `lock`).
//!
//! Every refusal happens before anything is written, so a state this
//! version cannot make sense of stays exactly as it was for a person (or a
//! newer stackform) to look at.

use super::error::StateError;
#[cfg(test)]
use super::files::MAX_STATE_FILE_BYTES;
use super::files::{StateFiles, read_if_exists, remove_if_exists, rename};
use super::journal::{self, Journal, JournalFile};
use super::lock::StateLock;
use super::model::{FORMAT_VERSION, State};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The local state of one workspace.
#[derive(Clone, Debug)]
pub struct LocalBackend {
    files: StateFiles,
}

impl LocalBackend {
    pub fn new(working_dir: &Path, workspace: &str) -> LocalBackend {
        LocalBackend {
            files: StateFiles::new(working_dir, workspace),
        }
    }

    /// `<working_dir>/state/<workspace>.json`
    pub fn state_path(&self) -> PathBuf {
        self.files.snapshot()
    }

    /// Reads the state without locking, for read-only commands (show,
    /// output): the snapshot with any leftover journal folded in memory
    /// only (nothing written). Ok(None) when there is no state yet.
    pub fn read_unlocked(&self) -> Result<Option<State>, StateError> {
        self.files.check_workspace()?;
        // A locked run may write a new snapshot and start a journal on top
        // of it between our reading the snapshot and reading the journal;
        // the journal then looks ahead of the snapshot we hold. That is a
        // race, not damage, and reading again resolves it.
        let mut attempts_left = 3;
        let recovered = loop {
            attempts_left -= 1;
            match recover(&self.files) {
                Err(StateError::JournalAhead { .. }) if attempts_left > 0 => continue,
                result => break result?,
            }
        };
        let mut state = recovered.state;
        if let (JournalFate::Fold { changes }, Some(state)) = (&recovered.journal, &mut state)
            && *changes > 0
        {
            // What the next locked read will write.
            state.serial = next_serial(state.serial);
        }
        Ok(state)
    }

    /// Takes the exclusive lock for a whole run, waiting up to `timeout`
    /// (zero: try once). Creates the state directory (mode 0700) if needed.
    pub fn lock(&self, operation: &str, timeout: Duration) -> Result<LockedState, StateError> {
        self.files.check_workspace()?;
        self.files.create_dir()?;
        let lock = StateLock::acquire(
            &self.files.lock(),
            &self.files.snapshot(),
            operation,
            timeout,
        )?;
        Ok(LockedState {
            session: Arc::new(Session {
                files: self.files.clone(),
                on_disk: Mutex::new(None),
                _lock: lock,
            }),
            read: false,
        })
    }
}

/// Which snapshot: its lineage and serial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SnapshotId {
    pub(crate) lineage: String,
    pub(crate) serial: u64,
}

impl SnapshotId {
    fn of(state: &State) -> SnapshotId {
        SnapshotId {
            lineage: state.lineage.clone(),
            serial: state.serial,
        }
    }
}

impl fmt::Display for SnapshotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "serial {} of lineage {}", self.serial, self.lineage)
    }
}

/// What a locked run shares between its `LockedState` and its `Journal`:
/// the lock, held until both are dropped, and the snapshot as the run last
/// read or wrote it, which the journal checks before appending and
/// finishing.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) files: StateFiles,
    on_disk: Mutex<Option<SnapshotId>>,
    _lock: StateLock,
}

impl Session {
    pub(crate) fn on_disk(&self) -> Option<SnapshotId> {
        // The value is replaced whole, so a panic elsewhere cannot have
        // left it half-updated.
        self.on_disk
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_on_disk(&self, id: Option<SnapshotId>) {
        *self.on_disk.lock().unwrap_or_else(PoisonError::into_inner) = id;
    }
}

/// The state of a workspace with its lock held. Dropping it releases the
/// lock (once a journal begun from it is dropped too).
#[derive(Debug)]
pub struct LockedState {
    session: Arc<Session>,
    /// Whether `read` succeeded: writing needs to know what was read.
    read: bool,
}

impl LockedState {
    /// The current state: the snapshot, with the journal of a run that
    /// died folded in and persisted as a new snapshot (serial + 1) and the
    /// journal removed. Also returns warnings (e.g. "a create of X was in
    /// flight when the previous run stopped").
    pub fn read(&mut self) -> Result<(Option<State>, Vec<String>), StateError> {
        let recovered = recover(&self.session.files)?;
        check_serial_room(&self.session.files, &recovered)?;
        self.session.set_on_disk(recovered.on_disk);
        // Writing the folded snapshot needs the read done; a failure
        // undoes it, so nothing is written on top of a half-finished read.
        self.read = true;
        let mut state = recovered.state;
        let settled = self.settle_journal(recovered.journal, state.as_mut());
        if settled.is_err() {
            self.read = false;
        }
        settled?;
        Ok((state, recovered.warnings))
    }

    /// Removes the journal `read` found, writing first what it folded.
    fn settle_journal(
        &mut self,
        fate: JournalFate,
        folded: Option<&mut State>,
    ) -> Result<(), StateError> {
        match fate {
            JournalFate::Absent => return Ok(()),
            JournalFate::Discard => {}
            JournalFate::Fold { changes } => {
                if let Some(state) = folded
                    && changes > 0
                {
                    self.write(state)?;
                }
            }
        }
        // Only after the write: a crash before this line leaves a journal
        // older than the snapshot, which the next read discards.
        let files = &self.session.files;
        remove_if_exists(&files.journal())?;
        files.sync()
    }

    /// Writes `state` as the new snapshot: sets `state.serial` to the
    /// serial last read or written plus one, refuses if the file on disk
    /// now has another lineage or a serial other than the one last read
    /// (someone replaced it behind our back); writes a temp file in the
    /// same directory, fsyncs it, copies the previous snapshot to the
    /// backup, renames the temp over the snapshot, fsyncs the directory.
    ///
    /// Also sorts the resources by address and refuses a state this
    /// version would refuse to read back (an address that disagrees with
    /// its parts, a duplicate).
    ///
    /// A snapshot that vanished since it was read is written again rather
    /// than refused: nothing is overwritten, and refusing would lose the
    /// state in memory.
    pub fn write(&mut self, state: &mut State) -> Result<(), StateError> {
        let known = self.known()?;
        let files = &self.session.files;
        let path = files.snapshot();
        let shown = StateFiles::shown(&path);
        state.format_version = FORMAT_VERSION;
        state.tool_version = crate::VERSION.to_string();
        sort_and_check(state, &shown)?;

        let current = read_if_exists(&path)?;
        let on_disk = match &current {
            Some(bytes) => Some(snapshot_id(bytes, &shown)?),
            None => None,
        };
        check_unchanged(&shown, known.as_ref(), on_disk.as_ref(), &state.lineage)?;

        let read_serial = known.as_ref().map_or(0, |id| id.serial);
        let serial = read_serial
            .checked_add(1)
            .ok_or_else(|| StateError::SerialExhausted {
                path: shown.clone(),
                serial: read_serial,
            })?;
        let previous_serial = std::mem::replace(&mut state.serial, serial);
        if let Err(e) = persist(files, state, current.as_deref()) {
            state.serial = previous_serial;
            return Err(e);
        }
        self.session.set_on_disk(Some(SnapshotId::of(state)));
        Ok(())
    }

    /// Starts an append-only journal for an apply on top of `base` (the
    /// state as read, or a new state when there was none). The journal
    /// keeps the lock held until it is dropped too.
    pub fn begin_journal(&mut self, base: &State) -> Result<Journal, StateError> {
        let known = self.known()?;
        let files = &self.session.files;
        let path = files.journal();
        let base_id = SnapshotId::of(base);
        let is_current = match &known {
            Some(id) => *id == base_id,
            None => base.serial == 0,
        };
        if !is_current {
            return Err(StateError::StaleBase {
                path: StateFiles::shown(&path),
                base: base_id.to_string(),
                known: known.map_or_else(|| "no state".to_string(), |id| id.to_string()),
            });
        }
        // Creating the journal replaces any file of that name, and a
        // journal nobody folded yet holds changes no snapshot has.
        let exists = path
            .try_exists()
            .map_err(|source| super::files::io_error("check", &path, source))?;
        if exists {
            return Err(StateError::JournalExists {
                path: StateFiles::shown(&path),
            });
        }
        let (file, len) = journal::create(files, &base_id)?;
        Ok(Journal::new(Arc::clone(&self.session), file, base_id, len))
    }

    /// The snapshot as last read or written: None when there was none.
    fn known(&self) -> Result<Option<SnapshotId>, StateError> {
        if !self.read {
            return Err(StateError::NotRead {
                path: StateFiles::shown(&self.session.files.snapshot()),
            });
        }
        Ok(self.session.on_disk())
    }
}

/// The serial after `serial`, for what a read-only command shows. A
/// serial at the very top stays there: locked runs refuse such a state
/// before they change anything (see `check_serial_room`).
fn next_serial(serial: u64) -> u64 {
    serial.saturating_add(1)
}

/// Refuses a state whose serial cannot count the writes a run may make:
/// folding a journal left by a run that died, then the run's own write.
/// Checked when the state is read, before anything is changed, so that
/// an apply never does work it cannot record.
fn check_serial_room(files: &StateFiles, recovered: &Recovered) -> Result<(), StateError> {
    let Some(on_disk) = &recovered.on_disk else {
        return Ok(());
    };
    let folding = match recovered.journal {
        JournalFate::Fold { changes } if changes > 0 => 1,
        _ => 0,
    };
    match on_disk.serial.checked_add(folding + 1) {
        Some(_) => Ok(()),
        None => Err(StateError::SerialExhausted {
            path: StateFiles::shown(&files.snapshot()),
            serial: on_disk.serial,
        }),
    }
}

/// The snapshot as stackform writes it: pretty-printed JSON with two-space
/// indents and a trailing newline. Deterministic: fields in model order,
/// maps sorted by key, resources sorted by address.
pub fn encode_snapshot(state: &State) -> Result<Vec<u8>, serde_json::Error> {
    let mut bytes = serde_json::to_vec_pretty(state)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Reads a snapshot document, refusing what this version cannot trust: a
/// document that does not parse, another format version, an address that
/// disagrees with its parts, a duplicate address. `shown` is the file name
/// for messages. The resources come back sorted by address.
pub fn decode_snapshot(bytes: &[u8], shown: &Path) -> Result<State, StateError> {
    let mut state: State = match serde_json::from_slice(bytes) {
        Ok(state) => state,
        Err(source) => {
            // A document of another format version need not fit this model
            // at all: say that, rather than which field surprised the parser.
            if let Ok(probe) = serde_json::from_slice::<FormatProbe>(bytes)
                && probe.format_version != u64::from(FORMAT_VERSION)
            {
                return Err(StateError::UnsupportedFormat {
                    path: shown.to_path_buf(),
                    found: probe.format_version,
                });
            }
            return Err(StateError::Parse {
                path: shown.to_path_buf(),
                line: source.line(),
                column: source.column(),
                source,
            });
        }
    };
    if state.format_version != FORMAT_VERSION {
        return Err(StateError::UnsupportedFormat {
            path: shown.to_path_buf(),
            found: state.format_version.into(),
        });
    }
    sort_and_check(&mut state, shown)?;
    Ok(state)
}

#[derive(Deserialize)]
struct FormatProbe {
    format_version: u64,
}

/// The lineage and serial of a snapshot, without the rest.
fn snapshot_id(bytes: &[u8], shown: &Path) -> Result<SnapshotId, StateError> {
    #[derive(Deserialize)]
    struct IdProbe {
        lineage: String,
        serial: u64,
    }
    let probe: IdProbe = serde_json::from_slice(bytes).map_err(|source| StateError::Parse {
        path: shown.to_path_buf(),
        line: source.line(),
        column: source.column(),
        source,
    })?;
    Ok(SnapshotId {
        lineage: probe.lineage,
        serial: probe.serial,
    })
}

/// Sorts resources and intents by address (as `State::put_resource` and
/// `put_intent` keep them) and refuses inconsistent or duplicate
/// addresses, and intents for addresses that do not parse.
fn sort_and_check(state: &mut State, shown: &Path) -> Result<(), StateError> {
    state.intents.sort_by(|a, b| a.address.cmp(&b.address));
    for intent in &state.intents {
        if let Err(e) = intent.address.parse::<crate::addr::ResourceAddr>() {
            return Err(StateError::InvalidIntent {
                path: shown.to_path_buf(),
                address: intent.address.clone(),
                reason: e.reason,
            });
        }
    }
    if let Some(pair) = state
        .intents
        .windows(2)
        .find(|p| p[0].address == p[1].address)
    {
        return Err(StateError::DuplicateAddress {
            path: shown.to_path_buf(),
            address: pair[0].address.clone(),
        });
    }
    let resources = &mut state.resources;
    resources.sort_by(|a, b| a.address.cmp(&b.address));
    for resource in resources.iter() {
        if !resource.is_consistent() {
            return Err(StateError::InconsistentAddress {
                path: shown.to_path_buf(),
                address: resource.address.clone(),
                expected: resource.addr().to_string(),
            });
        }
    }
    if let Some(pair) = resources.windows(2).find(|p| p[0].address == p[1].address) {
        return Err(StateError::DuplicateAddress {
            path: shown.to_path_buf(),
            address: pair[0].address.clone(),
        });
    }
    Ok(())
}

/// Refuses to overwrite a snapshot that is not the one this run read:
/// another lineage, or another serial (someone wrote it behind our back).
fn check_unchanged(
    shown: &Path,
    known: Option<&SnapshotId>,
    on_disk: Option<&SnapshotId>,
    writing: &str,
) -> Result<(), StateError> {
    let lineage_mismatch = |found: &str| StateError::LineageMismatch {
        path: shown.to_path_buf(),
        found: found.to_string(),
        writing: writing.to_string(),
    };
    if let Some(disk) = on_disk
        && disk.lineage != writing
    {
        return Err(lineage_mismatch(&disk.lineage));
    }
    if let Some(known) = known
        && known.lineage != writing
    {
        return Err(lineage_mismatch(&known.lineage));
    }
    match (known, on_disk) {
        (Some(known), Some(disk)) if disk.serial != known.serial => {
            Err(StateError::SerialMismatch {
                path: shown.to_path_buf(),
                read: Some(known.serial),
                found: disk.serial,
            })
        }
        (None, Some(disk)) => Err(StateError::SerialMismatch {
            path: shown.to_path_buf(),
            read: None,
            found: disk.serial,
        }),
        _ => Ok(()),
    }
}

/// Writes the snapshot: temp file (fsync'd), backup of the previous
/// snapshot, rename of the temp over the snapshot, fsync of the directory.
/// The rename is the commit point: before it the old snapshot is intact.
fn persist(files: &StateFiles, state: &State, previous: Option<&[u8]>) -> Result<(), StateError> {
    let path = files.snapshot();
    let bytes = encode_snapshot(state).map_err(|source| StateError::Encode {
        path: StateFiles::shown(&path),
        source,
    })?;
    let temp = files.prepare(&path, &bytes)?;
    if let Some(previous) = previous
        && let Err(e) = files.replace(&files.backup(), previous)
    {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    rename(&temp, &path)?;
    files.sync()
}

/// What to do with the journal found beside the snapshot.
#[derive(Debug, PartialEq)]
enum JournalFate {
    Absent,
    /// Already in the snapshot (the run died between writing the snapshot
    /// and removing the journal), or recording nothing.
    Discard,
    /// Folded into `Recovered::state`, with this many puts and removes.
    Fold {
        changes: usize,
    },
}

/// The state as the files on disk say, journal folded in memory.
#[derive(Debug)]
struct Recovered {
    /// The snapshot file's lineage and serial.
    on_disk: Option<SnapshotId>,
    /// The snapshot with the journal folded in; its serial is still the
    /// snapshot's.
    state: Option<State>,
    journal: JournalFate,
    warnings: Vec<String>,
}

/// Reads the snapshot and the journal and folds the one into the other, in
/// memory: a journal continues the snapshot whose lineage and serial its
/// header names.
fn recover(files: &StateFiles) -> Result<Recovered, StateError> {
    let snapshot_path = files.snapshot();
    let snapshot = match read_if_exists(&snapshot_path)? {
        Some(bytes) => Some(decode_snapshot(&bytes, &StateFiles::shown(&snapshot_path))?),
        None => None,
    };
    let journal_path = files.journal();
    let journal = match read_if_exists(&journal_path)? {
        Some(bytes) => Some(journal::parse(&bytes, &journal_path)?),
        None => None,
    };
    let unchanged = |snapshot: Option<State>, journal| Recovered {
        on_disk: snapshot.as_ref().map(SnapshotId::of),
        state: snapshot,
        journal,
        warnings: Vec::new(),
    };
    let (header, entries, torn) = match journal {
        None => return Ok(unchanged(snapshot, JournalFate::Absent)),
        Some(JournalFile::Empty) => return Ok(unchanged(snapshot, JournalFate::Discard)),
        Some(JournalFile::Entries {
            header,
            entries,
            torn,
        }) => (header, entries, torn),
    };
    let shown_journal = StateFiles::shown(&journal_path);
    if let Some(state) = &snapshot
        && state.lineage != header.lineage
    {
        return Err(StateError::ForeignJournal {
            path: shown_journal,
            journal_lineage: header.lineage,
            state_lineage: state.lineage.clone(),
        });
    }
    // Without a snapshot, only a journal begun on a state never written
    // (serial 0) can apply.
    let snapshot_serial = snapshot.as_ref().map_or(0, |s| s.serial);
    if header.base_serial > snapshot_serial {
        return Err(StateError::JournalAhead {
            path: shown_journal,
            base_serial: header.base_serial,
            snapshot_serial: snapshot.as_ref().map(|s| s.serial),
        });
    }
    if header.base_serial < snapshot_serial {
        return Ok(unchanged(snapshot, JournalFate::Discard));
    }

    let on_disk = snapshot.as_ref().map(SnapshotId::of);
    let had_snapshot = snapshot.is_some();
    let mut state = snapshot.unwrap_or_else(|| State {
        lineage: header.lineage.clone(),
        ..State::new()
    });
    let replay = journal::replay(&mut state, entries);
    let mut warnings = Vec::new();
    if replay.changes > 0 {
        warnings.push(format!(
            "recovered {} change(s) from {}, left by a run that stopped before finishing",
            replay.changes,
            shown_journal.display()
        ));
    }
    if torn {
        warnings.push(format!(
            "ignored the incomplete last line of {}: the previous run stopped while writing it",
            shown_journal.display()
        ));
    }
    warnings.extend(replay.in_flight.values().map(journal::in_flight_warning));
    // A pending intent changes the state as much as a put: the snapshot
    // must keep it until the next run resolves it.
    let changes = replay.changes + replay.in_flight.len();
    Ok(Recovered {
        on_disk,
        state: (had_snapshot || changes > 0).then_some(state),
        journal: JournalFate::Fold { changes },
        warnings,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::state::journal::JournalEntry;
    use crate::state::model::{Intent, ResourceState};
    use crate::state::model::{Mode, OutputState, Status};
    use std::collections::BTreeMap;
    use std::fs;
    use tempfile::TempDir;

    fn backend(dir: &TempDir) -> LocalBackend {
        LocalBackend::new(dir.path(), "default")
    }

    fn locked(dir: &TempDir) -> LockedState {
        backend(dir).lock("apply", Duration::ZERO).unwrap()
    }

    fn state_dir(dir: &TempDir) -> PathBuf {
        dir.path().join("state")
    }

    /// A consistent resource at `address`, with its id as an attribute.
    pub(crate) fn resource(address: &str) -> ResourceState {
        let addr: crate::addr::ResourceAddr = address.parse().unwrap();
        let mut attributes = serde_json::Map::new();
        attributes.insert("id".into(), format!("id-{address}").into());
        ResourceState {
            address: address.to_string(),
            module: addr.module_instance().to_string(),
            mode: Mode::Managed,
            type_name: addr.resource.type_name.clone(),
            name: addr.resource.name.clone(),
            index: addr.key.clone(),
            provider: "builtin".into(),
            id: Some(format!("id-{address}")),
            status: Status::Ok,
            schema_version: 0,
            attributes,
            sensitive_paths: vec![],
            dependencies: vec![],
        }
    }

    fn addresses(state: &State) -> Vec<&str> {
        state.resources.iter().map(|r| r.address.as_str()).collect()
    }

    /// Every file in the state directory but the lock, by name: what a
    /// refusal must leave byte-identical.
    fn state_files(dir: &TempDir) -> BTreeMap<String, Vec<u8>> {
        let Ok(entries) = fs::read_dir(state_dir(dir)) else {
            return BTreeMap::new();
        };
        entries
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| e.file_name().into_string().unwrap())
            .filter(|name| !name.ends_with(".lock"))
            .map(|name| {
                let bytes = fs::read(state_dir(dir).join(&name)).unwrap();
                (name, bytes)
            })
            .collect()
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Locks, reads (expecting no journal to fold), writes `state`, and
    /// returns it as written.
    fn write_new(dir: &TempDir, mut state: State) -> State {
        let mut locked = locked(dir);
        locked.read().unwrap();
        locked.write(&mut state).unwrap();
        state
    }

    #[test]
    fn no_state_yet() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(backend(&dir).read_unlocked().unwrap(), None);
        assert!(
            !state_dir(&dir).exists(),
            "an unlocked read creates nothing"
        );
        let (state, warnings) = locked(&dir).read().unwrap();
        assert_eq!(state, None);
        assert!(warnings.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn the_first_write_creates_the_directory_and_private_files() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        let mut locked = backend.lock("apply", Duration::ZERO).unwrap();
        assert_eq!(mode(&state_dir(&dir)), 0o700);
        assert_eq!(mode(&state_dir(&dir).join("default.lock")), 0o600);
        locked.read().unwrap();
        let mut state = State::new();
        state.put_resource(resource("terraform_data.a"));
        locked.write(&mut state).unwrap();
        assert_eq!(backend.state_path(), state_dir(&dir).join("default.json"));
        assert_eq!(mode(&backend.state_path()), 0o600);
        assert!(!state_dir(&dir).join("default.json.backup").exists());

        locked.write(&mut state).unwrap();
        assert_eq!(mode(&state_dir(&dir).join("default.json.backup")), 0o600);
        let names: Vec<String> = state_files(&dir).into_keys().collect();
        assert_eq!(
            names,
            ["default.json", "default.json.backup"],
            "no temp files left"
        );
    }

    #[test]
    fn every_write_bumps_the_serial_and_backs_up_the_previous_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        let mut locked = backend.lock("apply", Duration::ZERO).unwrap();
        locked.read().unwrap();
        let mut state = State::new();
        state.serial = 41; // ignored: the serial is the backend's to set
        locked.write(&mut state).unwrap();
        assert_eq!(state.serial, 1);
        let first = fs::read(backend.state_path()).unwrap();

        state.put_resource(resource("terraform_data.a"));
        locked.write(&mut state).unwrap();
        assert_eq!(state.serial, 2);
        let backup = fs::read(state_dir(&dir).join("default.json.backup")).unwrap();
        assert_eq!(backup, first);

        locked.write(&mut state).unwrap();
        assert_eq!(state.serial, 3);
        drop(locked);
        let read = backend.read_unlocked().unwrap().unwrap();
        assert_eq!(read, state);
        let backup = fs::read(state_dir(&dir).join("default.json.backup")).unwrap();
        let backup = decode_snapshot(&backup, Path::new("backup")).unwrap();
        assert_eq!(backup.serial, 2);
    }

    #[test]
    fn the_snapshot_is_pretty_sorted_and_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::new();
        state.lineage = "0b6f3a0e-0000-4000-8000-000000000000".into();
        state.put_resource(resource("terraform_data.b"));
        // Pushed out of order on purpose: the backend sorts.
        state.resources.push(resource("terraform_data.a"));
        state.outputs.insert(
            "z".into(),
            OutputState {
                value: "v".into(),
                value_type: "string".into(),
                sensitive: true,
            },
        );
        let written = write_new(&dir, state);
        assert_eq!(
            addresses(&written),
            ["terraform_data.a", "terraform_data.b"]
        );
        let bytes = fs::read(backend(&dir).state_path()).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.starts_with("{\n  \"format_version\": 1,\n  \"lineage\": \"0b6f3a0e-"),
            "{text}"
        );
        assert!(text.ends_with("]\n}\n"), "{text}");
        assert_eq!(encode_snapshot(&written).unwrap(), bytes);
    }

    #[test]
    fn a_state_that_would_be_refused_on_reading_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut locked = locked(&dir);
        locked.read().unwrap();
        let mut state = State::new();
        state.resources.push(resource("terraform_data.a"));
        state.resources.push(resource("terraform_data.a"));
        let err = locked.write(&mut state).unwrap_err();
        assert!(matches!(err, StateError::DuplicateAddress { .. }), "{err}");
        let mut state = State::new();
        let mut r = resource("terraform_data.a");
        r.name = "b".into();
        state.resources.push(r);
        let err = locked.write(&mut state).unwrap_err();
        assert!(
            matches!(err, StateError::InconsistentAddress { .. }),
            "{err}"
        );
        assert!(state_files(&dir).is_empty());
    }

    #[test]
    fn writing_before_reading_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut locked = locked(&dir);
        let err = locked.write(&mut State::new()).unwrap_err();
        assert!(matches!(err, StateError::NotRead { .. }), "{err}");
        let err = locked.begin_journal(&State::new()).unwrap_err();
        assert!(matches!(err, StateError::NotRead { .. }), "{err}");
    }

    #[test]
    fn a_foreign_lineage_is_refused_on_write() {
        let dir = tempfile::tempdir().unwrap();
        let ours = write_new(&dir, State::new());
        let mut locked = locked(&dir);
        let (read, _) = locked.read().unwrap();
        assert_eq!(read.as_ref(), Some(&ours));

        // Writing another stack's state over ours.
        let mut theirs = State::new();
        let err = locked.write(&mut theirs).unwrap_err();
        assert!(matches!(err, StateError::LineageMismatch { .. }), "{err}");
        assert_eq!(theirs.serial, 0, "the serial is left as it was");

        // Someone replacing the file with another stack's state.
        let mut other = State::new();
        other.serial = 1;
        let replaced = encode_snapshot(&other).unwrap();
        fs::write(backend(&dir).state_path(), &replaced).unwrap();
        let before = state_files(&dir);
        let mut ours = read.unwrap();
        let err = locked.write(&mut ours).unwrap_err();
        let StateError::LineageMismatch { found, writing, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!((found, writing), (&other.lineage, &ours.lineage));
        assert!(
            err.to_string()
                .starts_with("state/default.json has lineage "),
            "{err}"
        );
        assert_eq!(state_files(&dir), before);
    }

    #[test]
    fn a_snapshot_written_behind_our_back_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = write_new(&dir, State::new());
        let mut locked = locked(&dir);
        locked.read().unwrap();
        // Another writer, ignoring the lock.
        let mut newer = state.clone();
        newer.serial = 5;
        fs::write(backend(&dir).state_path(), encode_snapshot(&newer).unwrap()).unwrap();
        let before = state_files(&dir);
        let err = locked.write(&mut state).unwrap_err();
        assert!(
            matches!(
                err,
                StateError::SerialMismatch {
                    read: Some(1),
                    found: 5,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(state_files(&dir), before);

        // A state that appeared after we found none.
        let dir = tempfile::tempdir().unwrap();
        let mut locked_empty = super::tests::locked(&dir);
        locked_empty.read().unwrap();
        let mut mine = State::new();
        write_new_unlocked(&dir, &mine);
        let err = locked_empty.write(&mut mine).unwrap_err();
        assert!(
            matches!(err, StateError::SerialMismatch { read: None, .. }),
            "{err:?}"
        );
    }

    /// Puts a snapshot in place the way another tool would, ignoring the lock.
    fn write_new_unlocked(dir: &TempDir, state: &State) {
        let mut state = state.clone();
        state.serial = 1;
        fs::write(backend(dir).state_path(), encode_snapshot(&state).unwrap()).unwrap();
    }

    #[test]
    fn a_snapshot_removed_behind_our_back_is_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut locked = locked(&dir);
        locked.read().unwrap();
        let mut state = State::new();
        locked.write(&mut state).unwrap();
        fs::remove_file(backend(&dir).state_path()).unwrap();
        locked.write(&mut state).unwrap();
        assert_eq!(state.serial, 2);
        assert_eq!(backend(&dir).read_unlocked().unwrap(), Some(state));
    }

    /// Damaged or foreign files, each refused by both readers with every
    /// file left byte-identical.
    #[test]
    fn refusals_leave_every_file_byte_identical() {
        let lineage = "11111111-1111-4111-8111-111111111111";
        let snapshot = |serial: u64, resources: &[ResourceState]| {
            let mut state = State::new();
            state.lineage = lineage.into();
            state.serial = serial;
            state.resources = resources.to_vec();
            String::from_utf8(encode_snapshot(&state).unwrap()).unwrap()
        };
        let header = |lineage: &str, base: u64| {
            format!("{{\"journal\":1,\"lineage\":\"{lineage}\",\"base_serial\":{base}}}\n")
        };
        let put =
            serde_json::to_string(&JournalEntry::Put(resource("terraform_data.a"))).unwrap() + "\n";
        let mut inconsistent = resource("terraform_data.a[0]");
        inconsistent.index = crate::addr::InstanceKey::Int(1);

        // Name, snapshot, journal, the expected error, and what its message says.
        type Case = (
            &'static str,
            Option<String>,
            Option<String>,
            fn(&StateError) -> bool,
            &'static str,
        );
        let cases: Vec<Case> =
            vec![
            (
                "not json",
                Some("{\n  \"format_version\": 1,\n  \"lineage\": oops\n}\n".into()),
                None,
                |e| matches!(e, StateError::Parse { line: 3, column: 14, .. }),
                "state/default.json does not parse at line 3, column 14",
            ),
            (
                "empty file",
                Some(String::new()),
                None,
                |e| matches!(e, StateError::Parse { .. }),
                "does not parse",
            ),
            (
                "missing field",
                Some("{\"format_version\":1,\"lineage\":\"x\",\"serial\":1}".into()),
                None,
                |e| matches!(e, StateError::Parse { .. }),
                "does not parse at line 1",
            ),
            (
                "newer format",
                Some(
                    "{\"format_version\":2,\"lineage\":\"x\",\"serial\":1,\"tool_version\":\"9\",\
                     \"shiny\":true}"
                        .into(),
                ),
                None,
                |e| matches!(e, StateError::UnsupportedFormat { found: 2, .. }),
                "state/default.json has format version 2, written by a newer version of stackform",
            ),
            (
                "format 0",
                Some(snapshot(1, &[]).replace("\"format_version\": 1", "\"format_version\": 0")),
                None,
                |e| matches!(e, StateError::UnsupportedFormat { found: 0, .. }),
                "which no version of stackform writes",
            ),
            (
                "inconsistent address",
                Some(snapshot(1, &[inconsistent])),
                None,
                |e| matches!(e, StateError::InconsistentAddress { .. }),
                "state/default.json: the resource \"terraform_data.a[0]\" disagrees with its \
                 mode, type, name and index, which spell \"terraform_data.a[1]\"",
            ),
            (
                "duplicate address",
                Some(snapshot(
                    1,
                    &[resource("terraform_data.a"), resource("terraform_data.a")],
                )),
                None,
                |e| matches!(e, StateError::DuplicateAddress { .. }),
                "appears more than once",
            ),
            (
                "journal of another state",
                Some(snapshot(2, &[])),
                Some(header("22222222-2222-4222-8222-222222222222", 2) + &put),
                |e| matches!(e, StateError::ForeignJournal { .. }),
                "state/default.journal belongs to another state",
            ),
            (
                "journal ahead of the snapshot",
                Some(snapshot(2, &[])),
                Some(header(lineage, 3) + &put),
                |e| {
                    matches!(
                        e,
                        StateError::JournalAhead {
                            base_serial: 3,
                            snapshot_serial: Some(2),
                            ..
                        }
                    )
                },
                "state/default.journal continues serial 3, but the snapshot is at serial 2",
            ),
            (
                "journal without its snapshot",
                None,
                Some(header(lineage, 3) + &put),
                |e| {
                    matches!(
                        e,
                        StateError::JournalAhead {
                            snapshot_serial: None,
                            ..
                        }
                    )
                },
                "the snapshot beside it is missing",
            ),
            (
                "damaged journal line",
                Some(snapshot(2, &[])),
                Some(header(lineage, 2) + "{\"put\":\n" + &put),
                |e| matches!(e, StateError::JournalEntry { line: 2, .. }),
                "state/default.journal line 2 is not a valid journal entry",
            ),
            (
                "damaged journal header",
                Some(snapshot(2, &[])),
                Some("{\"journal\":1,\"lineage\":3}\n".to_string() + &put),
                |e| matches!(e, StateError::JournalHeader { .. }),
                "state/default.journal does not start with a valid journal header",
            ),
        ];
        for (name, snapshot, journal, check, message) in cases {
            let dir = tempfile::tempdir().unwrap();
            fs::create_dir(state_dir(&dir)).unwrap();
            if let Some(snapshot) = snapshot {
                fs::write(state_dir(&dir).join("default.json"), snapshot).unwrap();
                fs::write(state_dir(&dir).join("default.json.backup"), "old").unwrap();
            }
            if let Some(journal) = journal {
                fs::write(state_dir(&dir).join("default.journal"), journal).unwrap();
            }
            let before = state_files(&dir);

            let err = backend(&dir).read_unlocked().unwrap_err();
            assert!(check(&err), "{name}: {err:?}");
            assert!(err.to_string().contains(message), "{name}: {err}");
            assert_eq!(state_files(&dir), before, "{name}");

            let mut locked = locked(&dir);
            let err = locked.read().unwrap_err();
            assert!(check(&err), "{name}: {err:?}");
            assert_eq!(state_files(&dir), before, "{name}");
            let err = locked.write(&mut State::new()).unwrap_err();
            assert!(matches!(err, StateError::NotRead { .. }), "{name}: {err:?}");
            assert_eq!(state_files(&dir), before, "{name}");
        }
    }

    #[test]
    fn a_crashed_apply_is_folded_by_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        let mut base = State::new();
        base.put_resource(resource("terraform_data.old"));
        let base = write_new(&dir, base);
        let first_snapshot = fs::read(backend.state_path()).unwrap();

        {
            let mut locked = backend.lock("apply", Duration::ZERO).unwrap();
            let (state, _) = locked.read().unwrap();
            let state = state.unwrap();
            let mut journal = locked.begin_journal(&state).unwrap();
            let intent = |address: &str, action: &str| {
                JournalEntry::Intent(Intent {
                    address: address.into(),
                    action: action.into(),
                    token: format!("token-{address}"),
                })
            };
            journal
                .append(&[
                    intent("terraform_data.a", "create"),
                    intent("terraform_data.old", "delete"),
                ])
                .unwrap();
            journal
                .append(&[
                    JournalEntry::Put(resource("terraform_data.a")),
                    JournalEntry::Remove {
                        address: "terraform_data.old".into(),
                    },
                ])
                .unwrap();
            journal
                .append(&[intent("terraform_data.b", "create")])
                .unwrap();
            // The run dies here: neither the final write nor finish().
            drop(journal);
            drop(locked);
        }
        let journal_path = state_dir(&dir).join("default.journal");
        let journal_text = fs::read_to_string(&journal_path).unwrap();
        assert_eq!(journal_text.lines().count(), 6, "{journal_text}");
        assert!(journal_text.starts_with(&format!(
            "{{\"journal\":1,\"lineage\":\"{}\",\"base_serial\":1}}\n",
            base.lineage
        )));

        // A read-only command sees the folded state and writes nothing.
        let before = state_files(&dir);
        let unlocked = backend.read_unlocked().unwrap().unwrap();
        assert_eq!(addresses(&unlocked), ["terraform_data.a"]);
        assert_eq!(
            unlocked.intents,
            [Intent {
                address: "terraform_data.b".into(),
                action: "create".into(),
                token: "token-terraform_data.b".into(),
            }]
        );
        assert_eq!(unlocked.serial, 2);
        assert_eq!(state_files(&dir), before);

        let mut locked = backend.lock("plan", Duration::ZERO).unwrap();
        let (state, warnings) = locked.read().unwrap();
        let state = state.unwrap();
        assert_eq!(state, unlocked);
        assert_eq!(
            warnings,
            [
                "recovered 2 change(s) from state/default.journal, left by a run that stopped \
                 before finishing",
                "a create of terraform_data.b was in flight when the previous run stopped; the \
                 object it created, if any, is looked for before the next plan",
            ]
        );
        assert!(!journal_path.exists());
        assert_eq!(
            fs::read(state_dir(&dir).join("default.json.backup")).unwrap(),
            first_snapshot
        );
        assert_eq!(backend.read_unlocked().unwrap(), Some(state.clone()));

        // Nothing left to recover.
        let (again, warnings) = locked.read().unwrap();
        assert_eq!(again, Some(state));
        assert!(warnings.is_empty());
    }

    #[test]
    fn a_crash_during_the_first_apply_is_recovered_without_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        let lineage;
        {
            let mut locked = backend.lock("apply", Duration::ZERO).unwrap();
            assert_eq!(locked.read().unwrap().0, None);
            let state = State::new();
            lineage = state.lineage.clone();
            let mut journal = locked.begin_journal(&state).unwrap();
            journal
                .append(&[JournalEntry::Put(resource("terraform_data.a"))])
                .unwrap();
        }
        assert!(!backend.state_path().exists());
        let (state, _) = locked(&dir).read().unwrap();
        let state = state.unwrap();
        assert_eq!(
            (state.lineage.as_str(), state.serial),
            (lineage.as_str(), 1)
        );
        assert_eq!(addresses(&state), ["terraform_data.a"]);
    }

    #[test]
    fn an_unsettled_intent_is_kept_as_pending_in_the_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        let intent = |address: &str| Intent {
            address: address.into(),
            action: "create".into(),
            token: format!("token-{address}"),
        };
        {
            let mut locked = backend.lock("apply", Duration::ZERO).unwrap();
            locked.read().unwrap();
            let mut journal = locked.begin_journal(&State::new()).unwrap();
            journal
                .append(&[
                    JournalEntry::Intent(intent("terraform_data.a")),
                    JournalEntry::Intent(intent("terraform_data.b")),
                    JournalEntry::Settle {
                        address: "terraform_data.b".into(),
                    },
                ])
                .unwrap();
        }
        let (state, warnings) = locked(&dir).read().unwrap();
        let state = state.unwrap();
        assert_eq!(state.intents, [intent("terraform_data.a")]);
        assert!(state.resources.is_empty());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("terraform_data.a"), "{warnings:?}");
        // Written: the intent survives whatever happens to this run.
        assert_eq!(
            state_files(&dir).keys().collect::<Vec<_>>(),
            ["default.json"]
        );
        let reread = backend.read_unlocked().unwrap().unwrap();
        assert_eq!(reread.intents, [intent("terraform_data.a")]);
    }

    #[test]
    fn intents_with_a_bad_or_repeated_address_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let intent = |address: &str| Intent {
            address: address.into(),
            action: "create".into(),
            token: "t".into(),
        };
        for (intents, message) in [
            (
                vec![intent("terraform_data.a"), intent("terraform_data.a")],
                "the resource \"terraform_data.a\" appears more than once",
            ),
            (
                vec![intent("not an address")],
                "the intent for \"not an address\" names no resource instance",
            ),
        ] {
            let state = State {
                intents,
                ..State::new()
            };
            let bytes = encode_snapshot(&state).unwrap();
            let err = decode_snapshot(&bytes, Path::new("state/default.json")).unwrap_err();
            assert!(err.to_string().contains(message), "{err}");
            let mut state = state;
            let mut locked = locked(&dir);
            locked.read().unwrap();
            let err = locked.write(&mut state).unwrap_err();
            assert!(err.to_string().contains(message), "{err}");
            assert!(!backend(&dir).state_path().exists());
        }
    }

    #[test]
    fn a_journal_whose_intents_all_settled_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        {
            let mut locked = backend.lock("apply", Duration::ZERO).unwrap();
            locked.read().unwrap();
            let mut journal = locked.begin_journal(&State::new()).unwrap();
            journal
                .append(&[
                    JournalEntry::Intent(Intent {
                        address: "terraform_data.a".into(),
                        action: "create".into(),
                        token: "t".into(),
                    }),
                    JournalEntry::Settle {
                        address: "terraform_data.a".into(),
                    },
                ])
                .unwrap();
        }
        let (state, warnings) = locked(&dir).read().unwrap();
        assert_eq!(state, None);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(
            state_files(&dir).is_empty(),
            "{:?}",
            state_files(&dir).keys()
        );
    }

    #[test]
    fn a_torn_last_journal_line_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        write_new(&dir, State::new());
        {
            let mut locked = backend.lock("apply", Duration::ZERO).unwrap();
            let state = locked.read().unwrap().0.unwrap();
            let mut journal = locked.begin_journal(&state).unwrap();
            journal
                .append(&[JournalEntry::Put(resource("terraform_data.a"))])
                .unwrap();
        }
        // The crash came in the middle of the next append.
        let journal_path = state_dir(&dir).join("default.journal");
        let next = serde_json::to_string(&JournalEntry::Put(resource("terraform_data.b"))).unwrap();
        let mut bytes = fs::read(&journal_path).unwrap();
        bytes.extend_from_slice(&next.as_bytes()[..next.len() / 2]);
        fs::write(&journal_path, bytes).unwrap();

        let (state, warnings) = locked(&dir).read().unwrap();
        assert_eq!(addresses(&state.unwrap()), ["terraform_data.a"]);
        assert!(
            warnings.iter().any(|w| w.starts_with(
                "ignored the incomplete last line of state/default.journal"
            )),
            "{warnings:?}"
        );
        assert!(!journal_path.exists());
    }

    #[test]
    fn a_journal_already_folded_is_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        write_new(&dir, State::new());
        let written = {
            let mut locked = backend.lock("apply", Duration::ZERO).unwrap();
            let mut state = locked.read().unwrap().0.unwrap();
            let mut journal = locked.begin_journal(&state).unwrap();
            journal
                .append(&[JournalEntry::Put(resource("terraform_data.a"))])
                .unwrap();
            state.put_resource(resource("terraform_data.a"));
            state.put_resource(resource("terraform_data.b"));
            locked.write(&mut state).unwrap();
            // The run dies between the final snapshot and finish().
            state
        };
        assert!(state_dir(&dir).join("default.journal").exists());
        let (state, warnings) = locked(&dir).read().unwrap();
        assert_eq!(state, Some(written));
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(!state_dir(&dir).join("default.journal").exists());
    }

    #[test]
    fn appends_after_a_snapshot_continue_from_it() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        write_new(&dir, State::new());
        {
            let mut locked = backend.lock("apply", Duration::ZERO).unwrap();
            let mut state = locked.read().unwrap().0.unwrap();
            let mut journal = locked.begin_journal(&state).unwrap();
            journal
                .append(&[JournalEntry::Put(resource("terraform_data.a"))])
                .unwrap();
            state.put_resource(resource("terraform_data.a"));
            locked.write(&mut state).unwrap(); // serial 2, mid-apply
            journal
                .append(&[JournalEntry::Put(resource("terraform_data.b"))])
                .unwrap();
            // The run dies.
        }
        let journal = fs::read_to_string(state_dir(&dir).join("default.journal")).unwrap();
        assert!(journal.contains("\"base_serial\":2"), "{journal}");
        assert_eq!(journal.lines().count(), 2, "{journal}");
        let (state, _) = locked(&dir).read().unwrap();
        let state = state.unwrap();
        assert_eq!(addresses(&state), ["terraform_data.a", "terraform_data.b"]);
        assert_eq!(state.serial, 3);
    }

    #[test]
    fn finishing_removes_the_journal_only_once_a_snapshot_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut locked = locked(&dir);
        locked.read().unwrap();
        let mut state = State::new();
        let journal_path = state_dir(&dir).join("default.journal");

        let mut journal = locked.begin_journal(&state).unwrap();
        journal
            .append(&[JournalEntry::Put(resource("terraform_data.a"))])
            .unwrap();
        let err = journal.finish().unwrap_err();
        assert!(
            matches!(err, StateError::JournalNotFolded { entries: 1, .. }),
            "{err:?}"
        );
        assert!(journal_path.exists());

        // The same run cannot start another journal over it ...
        let err = locked.begin_journal(&state).unwrap_err();
        assert!(matches!(err, StateError::JournalExists { .. }), "{err:?}");
        // ... but reading folds it, after which the apply goes on.
        let (read, _) = locked.read().unwrap();
        state = read.unwrap();
        assert_eq!(state.serial, 1);
        let mut journal = locked.begin_journal(&state).unwrap();
        journal
            .append(&[JournalEntry::Put(resource("terraform_data.b"))])
            .unwrap();
        state.put_resource(resource("terraform_data.b"));
        locked.write(&mut state).unwrap();
        journal.finish().unwrap();
        assert!(!journal_path.exists());
        assert_eq!(
            addresses(&backend(&dir).read_unlocked().unwrap().unwrap()),
            ["terraform_data.a", "terraform_data.b"]
        );

        // A journal nothing was appended to goes without a snapshot.
        let journal = locked.begin_journal(&state).unwrap();
        journal.finish().unwrap();
        assert!(!journal_path.exists());
    }

    #[test]
    fn an_entry_the_next_read_would_refuse_is_not_appended() {
        let dir = tempfile::tempdir().unwrap();
        let mut locked = locked(&dir);
        locked.read().unwrap();
        let mut journal = locked.begin_journal(&State::new()).unwrap();
        let journal_path = state_dir(&dir).join("default.journal");
        let before = fs::read(&journal_path).unwrap();
        let mut wrong = resource("terraform_data.a");
        wrong.name = "b".into();
        let err = journal
            .append(&[
                JournalEntry::Put(resource("terraform_data.ok")),
                JournalEntry::Put(wrong),
            ])
            .unwrap_err();
        assert!(
            matches!(err, StateError::InconsistentAddress { .. }),
            "{err:?}"
        );
        assert_eq!(
            fs::read(&journal_path).unwrap(),
            before,
            "none of the batch"
        );
    }

    #[test]
    fn a_journal_must_start_from_the_state_as_read() {
        let dir = tempfile::tempdir().unwrap();
        write_new(&dir, State::new());
        let mut locked = locked(&dir);
        let mut state = locked.read().unwrap().0.unwrap();
        state.serial = 7;
        let err = locked.begin_journal(&state).unwrap_err();
        assert!(matches!(err, StateError::StaleBase { .. }), "{err:?}");
        let err = locked.begin_journal(&State::new()).unwrap_err();
        assert!(matches!(err, StateError::StaleBase { .. }), "{err:?}");
    }

    #[test]
    fn a_second_lock_fails_with_the_holder_and_waits_for_its_release() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        let first = backend.lock("apply", Duration::ZERO).unwrap();

        let err = backend.lock("plan", Duration::ZERO).unwrap_err();
        let StateError::Locked {
            holder: Some(holder),
            ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.operation, "apply");
        let message = err.to_string();
        let expected_start = format!(
            "state/default.json is locked by pid {} on host {} (",
            holder.pid, holder.host
        );
        assert!(message.starts_with(&expected_start), "{message}");
        assert!(
            message.ends_with("); try again later or pass -lock-timeout"),
            "{message}"
        );
        assert!(message.contains("operation \"apply\", since "), "{message}");

        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(first);
        });
        let second = backend.lock("plan", Duration::from_secs(10));
        releaser.join().unwrap();
        assert!(second.is_ok(), "{:?}", second.err());
    }

    #[test]
    fn an_open_journal_keeps_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        let mut locked = backend.lock("apply", Duration::ZERO).unwrap();
        locked.read().unwrap();
        let journal = locked.begin_journal(&State::new()).unwrap();
        drop(locked);
        assert!(backend.lock("plan", Duration::ZERO).is_err());
        drop(journal);
        assert!(backend.lock("plan", Duration::ZERO).is_ok());
    }

    /// Puts a directory where a temp file goes, so creating it fails (even
    /// for root, unlike permissions).
    fn block(dir: &TempDir, file: &str) {
        fs::create_dir_all(state_dir(dir).join(file)).unwrap();
    }

    fn unblock(dir: &TempDir, file: &str) {
        fs::remove_dir(state_dir(dir).join(file)).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_snapshot_and_the_serial_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        write_new(&dir, State::new());
        let mut locked = locked(&dir);
        let mut state = locked.read().unwrap().0.unwrap();
        state.put_resource(resource("terraform_data.a"));
        let before = state_files(&dir);

        for in_the_way in ["default.json.tmp", "default.json.backup.tmp"] {
            block(&dir, in_the_way);
            let err = locked.write(&mut state).unwrap_err();
            assert!(matches!(err, StateError::File { .. }), "{err:?}");
            assert_eq!(
                chain(&err),
                format!("cannot write state/{in_the_way}: it is a directory, not a regular file")
            );
            assert_eq!(state.serial, 1);
            unblock(&dir, in_the_way);
            assert_eq!(state_files(&dir), before, "{in_the_way}");
        }

        // Nothing was half-done: the next write goes through as usual.
        locked.write(&mut state).unwrap();
        assert_eq!(state.serial, 2);
    }

    #[test]
    fn a_journal_that_cannot_be_folded_stays_for_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let backend = backend(&dir);
        write_new(&dir, State::new());
        {
            let mut locked = backend.lock("apply", Duration::ZERO).unwrap();
            let state = locked.read().unwrap().0.unwrap();
            let mut journal = locked.begin_journal(&state).unwrap();
            journal
                .append(&[JournalEntry::Put(resource("terraform_data.a"))])
                .unwrap();
        }
        block(&dir, "default.json.tmp");
        let before = state_files(&dir);
        let mut locked = backend.lock("apply", Duration::ZERO).unwrap();
        let err = locked.read().unwrap_err();
        assert!(matches!(err, StateError::File { .. }), "{err:?}");
        assert_eq!(state_files(&dir), before);
        // The failed read does not count as one.
        let err = locked.write(&mut State::new()).unwrap_err();
        assert!(matches!(err, StateError::NotRead { .. }), "{err:?}");

        unblock(&dir, "default.json.tmp");
        let (state, warnings) = locked.read().unwrap();
        assert_eq!(addresses(&state.unwrap()), ["terraform_data.a"]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn a_journal_that_cannot_start_over_a_new_snapshot_keeps_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        write_new(&dir, State::new());
        let mut locked = locked(&dir);
        let mut state = locked.read().unwrap().0.unwrap();
        let mut journal = locked.begin_journal(&state).unwrap();
        journal
            .append(&[JournalEntry::Put(resource("terraform_data.a"))])
            .unwrap();
        state.put_resource(resource("terraform_data.a"));
        locked.write(&mut state).unwrap();

        block(&dir, "default.journal.tmp");
        let put_b = JournalEntry::Put(resource("terraform_data.b"));
        assert!(journal.append(std::slice::from_ref(&put_b)).is_err());
        unblock(&dir, "default.journal.tmp");
        // The old journal is intact and already in the snapshot; the append
        // can be retried.
        journal.append(&[put_b]).unwrap();
        drop((journal, locked));
        let (state, _) = super::tests::locked(&dir).read().unwrap();
        assert_eq!(
            addresses(&state.unwrap()),
            ["terraform_data.a", "terraform_data.b"]
        );
    }

    /// A snapshot at `serial`, and optionally a journal continuing it
    /// with one put, written as a crashed run would leave them.
    fn snapshot_at(dir: &TempDir, serial: u64, journal: bool) -> State {
        let mut state = State::new();
        state.serial = serial;
        fs::create_dir_all(state_dir(dir)).unwrap();
        fs::write(backend(dir).state_path(), encode_snapshot(&state).unwrap()).unwrap();
        if journal {
            let header = format!(
                "{{\"journal\":1,\"lineage\":\"{}\",\"base_serial\":{serial}}}\n",
                state.lineage
            );
            let put =
                serde_json::to_string(&JournalEntry::Put(resource("terraform_data.a"))).unwrap();
            fs::write(
                state_dir(dir).join("default.journal"),
                format!("{header}{put}\n"),
            )
            .unwrap();
        }
        state
    }

    #[test]
    fn a_serial_with_no_room_for_the_run_is_refused_before_anything_changes() {
        let dir = tempfile::tempdir().unwrap();
        snapshot_at(&dir, u64::MAX, false);
        let before = state_files(&dir);
        let err = locked(&dir).read().unwrap_err();
        assert!(
            matches!(
                err,
                StateError::SerialExhausted {
                    serial: u64::MAX,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "state/default.json is at serial 18446744073709551615, the highest a state can have, \
             so no run can write it again; nothing was changed. stackform counts serials up by \
             one per write and never gets there: restore the state from its .backup file or \
             lower its serial by hand"
        );
        assert_eq!(state_files(&dir), before);
        // Read-only commands still show it.
        assert_eq!(
            backend(&dir).read_unlocked().unwrap().map(|s| s.serial),
            Some(u64::MAX)
        );

        // A journal to fold takes a write of its own: one below the top
        // leaves no room for the run's write after it.
        let dir = tempfile::tempdir().unwrap();
        snapshot_at(&dir, u64::MAX - 1, true);
        let before = state_files(&dir);
        let err = locked(&dir).read().unwrap_err();
        assert!(
            matches!(err, StateError::SerialExhausted { serial, .. } if serial == u64::MAX - 1),
            "{err:?}"
        );
        assert_eq!(state_files(&dir), before, "the journal is kept");
    }

    #[test]
    fn the_last_serial_is_written_once_and_never_wraps() {
        let dir = tempfile::tempdir().unwrap();
        snapshot_at(&dir, u64::MAX - 1, false);
        let mut locked = locked(&dir);
        let mut state = locked.read().unwrap().0.unwrap();
        locked.write(&mut state).unwrap();
        assert_eq!(state.serial, u64::MAX);
        let written = state_files(&dir);
        state.put_resource(resource("terraform_data.a"));
        let err = locked.write(&mut state).unwrap_err();
        assert!(matches!(err, StateError::SerialExhausted { .. }), "{err:?}");
        assert_eq!(state.serial, u64::MAX);
        assert_eq!(state_files(&dir), written, "nothing was written");
    }

    #[cfg(unix)]
    fn mkfifo(path: &Path) {
        let made = std::process::Command::new("mkfifo").arg(path).status();
        assert!(made.unwrap().success());
    }

    /// The error chain as the CLI prints it.
    fn chain(e: &StateError) -> String {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            text.push_str(": ");
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }

    #[cfg(unix)]
    #[test]
    fn state_files_that_are_not_regular_files_are_refused_without_waiting() {
        for (name, make) in [
            ("default.json", "fifo"),
            ("default.json", "dir"),
            ("default.json", "device"),
            ("default.journal", "fifo"),
            ("default.journal", "device"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            fs::create_dir(state_dir(&dir)).unwrap();
            if name != "default.json" {
                write_new(&dir, State::new());
            }
            let path = state_dir(&dir).join(name);
            let kind = match make {
                "fifo" => {
                    mkfifo(&path);
                    "a FIFO"
                }
                "dir" => {
                    fs::create_dir(&path).unwrap();
                    "a directory"
                }
                _ => {
                    std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
                    "a character device"
                }
            };
            let expected = format!("cannot read state/{name}: it is {kind}, not a regular file");
            let err = backend(&dir).read_unlocked().unwrap_err();
            assert_eq!(chain(&err), expected);
            let err = locked(&dir).read().unwrap_err();
            assert_eq!(chain(&err), expected);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_or_temp_file_that_is_a_fifo_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(state_dir(&dir)).unwrap();
        mkfifo(&state_dir(&dir).join("default.lock"));
        let err = backend(&dir).lock("plan", Duration::ZERO).unwrap_err();
        assert_eq!(
            chain(&err),
            "cannot lock state/default.lock: it is a FIFO, not a regular file"
        );

        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(state_dir(&dir)).unwrap();
        mkfifo(&state_dir(&dir).join("default.json.tmp"));
        let mut locked = locked(&dir);
        locked.read().unwrap();
        let err = locked.write(&mut State::new()).unwrap_err();
        assert_eq!(
            chain(&err),
            "cannot write state/default.json.tmp: it is a FIFO, not a regular file"
        );
        assert!(!backend(&dir).state_path().exists());
    }

    #[test]
    fn a_state_file_past_the_size_limit_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(state_dir(&dir)).unwrap();
        // Sparse: no disk space is used, and nothing is read.
        let file = fs::File::create(backend(&dir).state_path()).unwrap();
        file.set_len(MAX_STATE_FILE_BYTES + 1).unwrap();
        let err = backend(&dir).read_unlocked().unwrap_err();
        assert_eq!(
            chain(&err),
            "cannot read state/default.json: it is larger than 256 MiB, the most stackform reads of such a file"
        );
    }

    #[test]
    fn a_run_can_hand_its_state_and_journal_to_other_threads() {
        fn assert_send<T: Send + 'static>() {}
        assert_send::<LockedState>();
        assert_send::<Journal>();
    }

    #[test]
    fn workspace_names_stay_inside_the_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["", "../x", "a/b", ".hidden", "a.b", "-x"] {
            let backend = LocalBackend::new(dir.path(), name);
            let err = backend.lock("plan", Duration::ZERO).unwrap_err();
            assert!(
                matches!(err, StateError::InvalidWorkspace { .. }),
                "{name}: {err:?}"
            );
            assert!(backend.read_unlocked().is_err(), "{name}");
        }
        assert!(!state_dir(&dir).exists());
        for name in ["default", "prod-eu_1"] {
            assert!(
                LocalBackend::new(dir.path(), name)
                    .lock("plan", Duration::ZERO)
                    .is_ok()
            );
        }
    }
}
