//! The apply journal: `state/<workspace>.journal`, an append-only record
//! of what an apply has done since the last snapshot.
//!
//! Rewriting the whole snapshot after every finished resource would cost
//! O(state) per step; appending one fsync'd line costs O(entry). The first
//! line is a header naming the snapshot the journal continues
//! (`{"journal":1,"lineage":..,"base_serial":N}`); each further line is one
//! [`JournalEntry`]. The run folds the journal into a new snapshot at its
//! end; if it dies first, the next run folds it (see `local`).
//!
//! This module owns the journal's format, parsing and replay; deciding
//! when a journal applies to a snapshot is `local`'s business.

use super::error::StateError;
use super::files::{StateFiles, io_error, remove_if_exists};
use super::local::{Session, SnapshotId};
use super::model::{Intent, ResourceState, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

/// The journal format this version writes and reads.
pub const JOURNAL_VERSION: u32 = 1;

/// One line of the journal after the header.
// Nearly every entry is a `Put`: boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum JournalEntry {
    /// Sent before a create call: if the run dies before the matching
    /// `Put` (or `Settle`), the folded state keeps it as pending, and the
    /// next run looks for the object that carries its token.
    Intent(Intent),
    /// A create that failed without creating anything: its intent is
    /// settled with nothing to record.
    Settle { address: String },
    /// The resource exists with these attributes (a create/update
    /// finished).
    Put(ResourceState),
    /// The resource is gone (a delete finished).
    Remove { address: String },
}

/// The first line of a journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JournalHeader {
    pub(crate) journal: u32,
    pub(crate) lineage: String,
    pub(crate) base_serial: u64,
}

/// A journal as read from disk.
#[derive(Debug, PartialEq)]
pub(crate) enum JournalFile {
    /// The header never reached the disk whole (it is written before any
    /// entry), so the file records nothing.
    Empty,
    Entries {
        header: JournalHeader,
        entries: Vec<JournalEntry>,
        /// The last line was cut short by a crash mid-append and ignored.
        torn: bool,
    },
}

/// Parses a journal. A damaged last line is what a crash during an append
/// leaves, and that append never returned, so it is ignored; damage
/// anywhere else means something other than a crash touched the file.
pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<JournalFile, StateError> {
    let shown = StateFiles::shown(path);
    let mut lines = bytes.split_inclusive(|b| *b == b'\n');
    let Some(header) = lines.next().and_then(|l| l.strip_suffix(b"\n")) else {
        return Ok(JournalFile::Empty);
    };
    let header: JournalHeader =
        serde_json::from_slice(header).map_err(|source| StateError::JournalHeader {
            path: shown.clone(),
            source,
        })?;
    if header.journal != JOURNAL_VERSION {
        return Err(StateError::UnsupportedFormat {
            path: shown,
            found: header.journal.into(),
        });
    }
    let lines: Vec<&[u8]> = lines.collect();
    let mut entries = Vec::with_capacity(lines.len());
    let mut torn = false;
    for (i, line) in lines.iter().enumerate() {
        let is_last = i + 1 == lines.len();
        // A last line with all its JSON but no newline is kept: the entry
        // reached the disk whole, and the object it records exists.
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        match serde_json::from_slice::<JournalEntry>(text) {
            Ok(entry) => {
                check_entry(&entry, path)?;
                entries.push(entry);
            }
            // Cut-off JSON (or the zeros some file systems show for an
            // append that did not finish) is a syntax or end-of-input
            // error; well-formed JSON of the wrong shape is not a crash.
            Err(e) if is_last && !e.is_data() => torn = true,
            Err(source) => {
                return Err(StateError::JournalEntry {
                    path: shown,
                    line: i + 2,
                    source,
                });
            }
        }
    }
    Ok(JournalFile::Entries {
        header,
        entries,
        torn,
    })
}

/// Refuses a put whose address disagrees with its mode, type, name and
/// index, as the snapshot does.
fn check_entry(entry: &JournalEntry, path: &Path) -> Result<(), StateError> {
    match entry {
        JournalEntry::Put(resource) if !resource.is_consistent() => {
            Err(StateError::InconsistentAddress {
                path: StateFiles::shown(path),
                address: resource.address.clone(),
                expected: resource.addr().to_string(),
            })
        }
        _ => Ok(()),
    }
}

/// What replaying a journal did to a state.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Replay {
    /// Puts and removes applied.
    pub(crate) changes: usize,
    /// Intents with no later put, remove or settle for their address: the
    /// state now holds them as pending.
    pub(crate) in_flight: BTreeMap<String, Intent>,
}

/// Applies `entries` to `state` in order: a put inserts or replaces by
/// address, a remove deletes, and an intent is settled by the next put,
/// remove or settle of its address. Intents left unsettled are added to
/// the state's pending intents: the object may exist, and only a look at
/// the cloud can tell.
pub(crate) fn replay(state: &mut State, entries: Vec<JournalEntry>) -> Replay {
    let mut replay = Replay::default();
    for entry in entries {
        match entry {
            JournalEntry::Intent(intent) => {
                replay.in_flight.insert(intent.address.clone(), intent);
            }
            JournalEntry::Put(resource) => {
                replay.in_flight.remove(&resource.address);
                state.put_resource(resource);
                replay.changes += 1;
            }
            JournalEntry::Remove { address } => {
                replay.in_flight.remove(&address);
                state.remove_resource(&address);
                replay.changes += 1;
            }
            JournalEntry::Settle { address } => {
                replay.in_flight.remove(&address);
            }
        }
    }
    for intent in replay.in_flight.values() {
        state.put_intent(intent.clone());
    }
    replay
}

/// The warning for a create that was in flight when a run stopped.
pub(crate) fn in_flight_warning(intent: &Intent) -> String {
    format!(
        "a {} of {} was in flight when the previous run stopped; the object it created, if any, \
         is looked for before the next plan",
        intent.action, intent.address
    )
}

/// Creates the journal for `base` with its header, atomically: the
/// journal exists whole or not at all. Returns the open file, positioned
/// at its end, and its length.
pub(crate) fn create(files: &StateFiles, base: &SnapshotId) -> Result<(File, u64), StateError> {
    let header = JournalHeader {
        journal: JOURNAL_VERSION,
        lineage: base.lineage.clone(),
        base_serial: base.serial,
    };
    let path = files.journal();
    let mut line = serde_json::to_vec(&header).map_err(|source| StateError::Encode {
        path: StateFiles::shown(&path),
        source,
    })?;
    line.push(b'\n');
    let file = files.replace(&path, &line)?;
    files.sync()?;
    Ok((file, line.len() as u64))
}

/// An open journal, for appending. Dropping it without `finish` leaves the
/// file in place, exactly as a crash would, and the next read folds it.
/// It keeps the state lock held until it is dropped.
#[derive(Debug)]
pub struct Journal {
    session: Arc<Session>,
    file: File,
    /// The snapshot the journal's header names.
    base: SnapshotId,
    /// Bytes the file holds up to the last complete append, so a failed
    /// append can be cut off again.
    len: u64,
    /// Entries appended on top of `base`.
    entries: usize,
    /// An fsync failed: what reached the disk is unknown, so no later
    /// append may claim to be durable.
    broken: bool,
}

impl Journal {
    pub(crate) fn new(session: Arc<Session>, file: File, base: SnapshotId, len: u64) -> Journal {
        Journal {
            session,
            file,
            base,
            len,
            entries: 0,
            broken: false,
        }
    }

    /// Appends all entries with one write and one fsync (group commit: the
    /// apply walker calls this once per batch of finished resources).
    /// O(entries), never rewrites the snapshot.
    pub fn append(&mut self, entries: &[JournalEntry]) -> Result<(), StateError> {
        let path = self.session.files.journal();
        if self.broken {
            return Err(StateError::JournalBroken {
                path: StateFiles::shown(&path),
            });
        }
        if entries.is_empty() {
            return Ok(());
        }
        // The next read refuses a journal with such an entry; better to
        // refuse it now than to leave a journal nobody can fold.
        for entry in entries {
            check_entry(entry, &path)?;
        }
        self.rebase_if_snapshot_moved()?;
        let mut batch = Vec::new();
        for entry in entries {
            serde_json::to_writer(&mut batch, entry).map_err(|source| StateError::Encode {
                path: StateFiles::shown(&path),
                source,
            })?;
            batch.push(b'\n');
        }
        if let Err(source) = self.file.write_all(&batch) {
            // Cut off whatever part of the batch got in, so that the next
            // append does not bury a torn line in the middle of the file.
            let len = self.len;
            let restored = self
                .file
                .set_len(len)
                .and_then(|()| self.file.seek(SeekFrom::Start(len)));
            if restored.is_err() {
                self.broken = true;
            }
            return Err(io_error("append to", &path, source));
        }
        // fdatasync is enough: it also flushes the new length.
        if let Err(source) = self.file.sync_data() {
            self.broken = true;
            return Err(io_error("sync", &path, source));
        }
        self.len += batch.len() as u64;
        self.entries += entries.len();
        Ok(())
    }

    /// Removes the journal file of a run whose entries, folded, change
    /// nothing (each intent settled by a failure that created nothing):
    /// the snapshot already says all there is, and is left untouched.
    pub fn discard(self) -> Result<(), StateError> {
        remove_if_exists(&self.session.files.journal())?;
        self.session.files.sync()
    }

    /// Removes the journal file; called after the final snapshot was
    /// written. Refuses, keeping the file, when entries were appended that
    /// no snapshot written since holds.
    pub fn finish(self) -> Result<(), StateError> {
        let path = self.session.files.journal();
        let snapshot_written = self.session.on_disk().is_some_and(|id| id != self.base);
        if self.entries > 0 && !snapshot_written {
            return Err(StateError::JournalNotFolded {
                path: StateFiles::shown(&path),
                entries: self.entries,
            });
        }
        remove_if_exists(&path)?;
        self.session.files.sync()
    }

    /// A snapshot written while the journal is open holds everything
    /// appended so far, and a journal based on an older serial than the
    /// snapshot is discarded on the next read as already folded. So before
    /// appending on top of a newer snapshot, start a fresh journal based on
    /// it (replacing the old one in one rename).
    fn rebase_if_snapshot_moved(&mut self) -> Result<(), StateError> {
        let Some(current) = self.session.on_disk() else {
            return Ok(());
        };
        if current == self.base {
            return Ok(());
        }
        let (file, len) = create(&self.session.files, &current)?;
        self.file = file;
        self.len = len;
        self.base = current;
        self.entries = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::local::tests::resource;

    fn line(entry: &JournalEntry) -> String {
        serde_json::to_string(entry).unwrap() + "\n"
    }

    const HEADER: &str = "{\"journal\":1,\"lineage\":\"L\",\"base_serial\":3}\n";

    #[test]
    fn entries_are_one_json_object_per_line() {
        let intent = JournalEntry::Intent(Intent {
            address: "terraform_data.a".into(),
            action: "create".into(),
            token: "5f1c".into(),
        });
        assert_eq!(
            line(&intent),
            "{\"intent\":{\"address\":\"terraform_data.a\",\"action\":\"create\",\"token\":\"5f1c\"}}\n"
        );
        let settle = JournalEntry::Settle {
            address: "terraform_data.a".into(),
        };
        assert_eq!(
            line(&settle),
            "{\"settle\":{\"address\":\"terraform_data.a\"}}\n"
        );
        let remove = JournalEntry::Remove {
            address: "terraform_data.a".into(),
        };
        assert_eq!(
            line(&remove),
            "{\"remove\":{\"address\":\"terraform_data.a\"}}\n"
        );
        let put = line(&JournalEntry::Put(resource("terraform_data.a")));
        assert!(put.starts_with("{\"put\":{\"address\":"), "{put}");
    }

    #[test]
    fn parses_header_and_entries() {
        let put = JournalEntry::Put(resource("terraform_data.a"));
        let text = format!("{HEADER}{}", line(&put));
        let parsed = parse(text.as_bytes(), Path::new("/x/default.journal")).unwrap();
        assert_eq!(
            parsed,
            JournalFile::Entries {
                header: JournalHeader {
                    journal: 1,
                    lineage: "L".into(),
                    base_serial: 3
                },
                entries: vec![put],
                torn: false,
            }
        );
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_reported() {
        let put = JournalEntry::Put(resource("terraform_data.a"));
        let full = line(&JournalEntry::Put(resource("terraform_data.b")));
        for torn_line in [&full[..full.len() / 2], "\0\0\0\0", "{\"put\":{\n"] {
            let text = format!("{HEADER}{}{torn_line}", line(&put));
            let Ok(JournalFile::Entries { entries, torn, .. }) =
                parse(text.as_bytes(), Path::new("j"))
            else {
                panic!("{torn_line:?}");
            };
            assert_eq!(entries.len(), 1, "{torn_line:?}");
            assert_eq!(entries[0], put, "{torn_line:?}");
            assert!(torn, "{torn_line:?}");
        }
    }

    #[test]
    fn a_whole_last_entry_without_its_newline_is_kept() {
        let put = JournalEntry::Put(resource("terraform_data.a"));
        let text = format!("{HEADER}{}", line(&put).trim_end());
        let Ok(JournalFile::Entries { entries, torn, .. }) = parse(text.as_bytes(), Path::new("j"))
        else {
            panic!();
        };
        assert_eq!(entries, [put]);
        assert!(!torn);
    }

    #[test]
    fn damage_before_the_last_line_is_an_error() {
        let put = line(&JournalEntry::Put(resource("terraform_data.a")));
        let text = format!("{HEADER}{put}{{\"put\":\n{put}");
        let err = parse(text.as_bytes(), Path::new("/x/default.journal")).unwrap_err();
        assert!(
            matches!(err, StateError::JournalEntry { line: 3, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("state/default.journal line 3 is not a valid journal entry"),
            "{err}"
        );
    }

    #[test]
    fn a_well_formed_last_line_of_the_wrong_shape_is_an_error() {
        let text = format!("{HEADER}{{\"rename\":{{}}}}\n");
        let err = parse(text.as_bytes(), Path::new("j")).unwrap_err();
        assert!(
            matches!(err, StateError::JournalEntry { line: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_torn_header_means_an_empty_journal() {
        for text in ["", "{\"journal\":1,\"lin"] {
            assert_eq!(
                parse(text.as_bytes(), Path::new("j")).unwrap(),
                JournalFile::Empty
            );
        }
    }

    #[test]
    fn a_bad_header_or_newer_journal_is_refused() {
        let err = parse(b"{\"journal\":1}\n", Path::new("j")).unwrap_err();
        assert!(matches!(err, StateError::JournalHeader { .. }), "{err:?}");
        let err = parse(
            b"{\"journal\":2,\"lineage\":\"L\",\"base_serial\":3}\n",
            Path::new("j"),
        )
        .unwrap_err();
        assert!(
            matches!(err, StateError::UnsupportedFormat { found: 2, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("newer version"), "{err}");
    }

    #[test]
    fn an_inconsistent_put_is_refused() {
        let mut r = resource("terraform_data.a[0]");
        r.index = crate::addr::InstanceKey::Int(1);
        let text = format!("{HEADER}{}", line(&JournalEntry::Put(r)));
        let err = parse(text.as_bytes(), Path::new("j")).unwrap_err();
        assert!(
            matches!(err, StateError::InconsistentAddress { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn replay_puts_removes_and_settles_intents() {
        let mut state = State::new();
        state.put_resource(resource("terraform_data.old"));
        let intent = |a: &str, action: &str| {
            JournalEntry::Intent(Intent {
                address: a.into(),
                action: action.into(),
                token: String::new(),
            })
        };
        let mut updated = resource("terraform_data.a");
        updated.id = Some("second".into());
        let replayed = replay(
            &mut state,
            vec![
                intent("terraform_data.a", "create"),
                JournalEntry::Put(resource("terraform_data.a")),
                intent("terraform_data.old", "delete"),
                JournalEntry::Remove {
                    address: "terraform_data.old".into(),
                },
                JournalEntry::Put(updated.clone()),
                intent("terraform_data.b", "create"),
            ],
        );
        assert_eq!(replayed.changes, 3);
        let pending = Intent {
            address: "terraform_data.b".into(),
            action: "create".into(),
            token: String::new(),
        };
        assert_eq!(
            replayed.in_flight,
            BTreeMap::from([("terraform_data.b".to_string(), pending.clone())])
        );
        assert_eq!(state.resources, [updated]);
        assert_eq!(state.intents, [pending]);
    }

    #[test]
    fn an_intent_of_an_older_journal_has_no_token() {
        let text = format!(
            "{HEADER}{{\"intent\":{{\"address\":\"terraform_data.a\",\"action\":\"create\"}}}}\n"
        );
        let Ok(JournalFile::Entries { entries, .. }) = parse(text.as_bytes(), Path::new("j"))
        else {
            panic!();
        };
        assert_eq!(
            entries,
            [JournalEntry::Intent(Intent {
                address: "terraform_data.a".into(),
                action: "create".into(),
                token: String::new(),
            })]
        );
    }

    #[test]
    fn in_flight_warnings_name_the_action_and_the_address() {
        let intent = Intent {
            address: "terraform_data.b".into(),
            action: "create".into(),
            token: "t".into(),
        };
        assert_eq!(
            in_flight_warning(&intent),
            "a create of terraform_data.b was in flight when the previous run stopped; the \
             object it created, if any, is looked for before the next plan"
        );
    }
}
