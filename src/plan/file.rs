//! Saved plans (`plan -out=FILE`, then `apply FILE`).
//!
//! A plan file records what the plan decided and what it was decided
//! against: the state's lineage and serial and a digest of the
//! configuration files, so that applying it later refuses when either
//! moved on. It holds variable values and planned attributes, sensitive
//! ones included, so it is written with mode 0600 like the state.
//!
//! The file carries a digest of its own content, checked when it is read:
//! a file damaged or edited after stackform wrote it is refused. A digest
//! can be recomputed by hand, so apply also checks every change against
//! the state and configuration (`saved`).

use super::{
    Action, BlockLayout, OutputChange, Plan, PlanMode, Reason, ResourceChange, ResourceDrift,
};
use crate::addr::ResourceAddr;
use crate::lang::value::{Path, Type, Value};
use crate::state::PathStepJson;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path as FsPath;

const FORMAT: &str = "stackform-plan";
const FORMAT_VERSION: u32 = 1;

/// The largest plan file read: 256 MiB, as for the state, whose every
/// value a plan may hold again.
pub const MAX_PLAN_FILE_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    #[error("cannot read plan file {path}: {source}")]
    Read {
        path: String,
        source: crate::regular_file::FileError,
    },
    #[error("cannot write plan file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a stackform plan file: {reason}")]
    Invalid { path: String, reason: String },
    #[error(
        "plan file {path} does not match its digest: it was changed or damaged after stackform wrote it; make the plan again"
    )]
    Digest { path: String },
    #[error(
        "plan file {path} was made by stackform {found}; this is stackform {expected}, make the plan again"
    )]
    Version {
        path: String,
        found: String,
        expected: String,
    },
}

/// A value with its type, its unknowns and its sensitive paths.
#[derive(Serialize, Deserialize)]
struct EncodedValue {
    value: serde_json::Value,
    #[serde(rename = "type")]
    value_type: serde_json::Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unknown: Vec<(Vec<PathStepJson>, serde_json::Value)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    sensitive: Vec<Vec<PathStepJson>>,
}

fn encode_value(v: &Value) -> EncodedValue {
    let (plain, sensitive) = v.unmark_with_paths();
    EncodedValue {
        value: plain.to_json(),
        value_type: plain.type_of().to_json(),
        unknown: plain
            .unknown_paths()
            .iter()
            .map(|(p, t)| (super::stored::path_to_json(p), t.to_json()))
            .collect(),
        sensitive: sensitive
            .iter()
            .map(|p| super::stored::path_to_json(p))
            .collect(),
    }
}

fn decode_value(e: &EncodedValue) -> Result<Value, String> {
    let ty =
        Type::from_json(&e.value_type).ok_or_else(|| format!("invalid type {}", e.value_type))?;
    let mut v = Value::from_json_typed(&e.value, &ty)?;
    for (path, t) in &e.unknown {
        let t = Type::from_json(t).ok_or_else(|| format!("invalid type {t}"))?;
        v = v.map_at(&super::stored::path_from_json(path), |_| Value::Unknown(t));
    }
    let marks: Vec<Path> = e
        .sensitive
        .iter()
        .map(|p| super::stored::path_from_json(p))
        .collect();
    Ok(v.mark_paths(&marks))
}

#[derive(Serialize, Deserialize)]
struct StateRef {
    lineage: Option<String>,
    serial: u64,
}

#[derive(Serialize, Deserialize)]
struct EncodedChange {
    address: String,
    provider: String,
    action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<Reason>,
    before: Option<EncodedValue>,
    after: Option<EncodedValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    replace_paths: Vec<Vec<PathStepJson>>,
    /// Absent in plan files written before disruptions were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    disruption: Option<String>,
    /// Where a `moved` block moved the object from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_address: Option<String>,
    /// The id an `import` block imports the object from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    importing: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    dependencies: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    create_before_destroy: bool,
}

#[derive(Serialize, Deserialize)]
struct EncodedOutput {
    name: String,
    action: Action,
    before: Option<EncodedValue>,
    after: Option<EncodedValue>,
    sensitive: bool,
}

#[derive(Serialize, Deserialize)]
struct EncodedDrift {
    address: String,
    before: EncodedValue,
    after: Option<EncodedValue>,
}

#[derive(Serialize, Deserialize)]
struct PlanDocument {
    format: String,
    format_version: u32,
    tool_version: String,
    /// `sha256:` and the hex SHA-256 of the document written with this
    /// field empty (see `content_digest`).
    #[serde(default)]
    digest: String,
    mode: PlanMode,
    config_digest: String,
    state: StateRef,
    variables: BTreeMap<String, EncodedValue>,
    changes: Vec<EncodedChange>,
    outputs: Vec<EncodedOutput>,
    #[serde(default)]
    drift: Vec<EncodedDrift>,
    #[serde(default)]
    targeted: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    layouts: BTreeMap<String, BlockLayout>,
}

/// Writes a plan file (mode 0600).
pub fn write(plan: &Plan, path: &FsPath) -> Result<(), PlanFileError> {
    let doc = PlanDocument {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        tool_version: crate::VERSION.into(),
        digest: String::new(),
        mode: plan.mode,
        targeted: plan.targeted,
        layouts: plan.layouts.clone(),
        config_digest: plan.config_digest.clone(),
        state: StateRef {
            lineage: plan.state_lineage.clone(),
            serial: plan.state_serial,
        },
        variables: plan
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), encode_value(v)))
            .collect(),
        changes: plan
            .changes
            .iter()
            .map(|c| EncodedChange {
                address: c.addr.to_string(),
                provider: c.provider.clone(),
                action: c.action,
                reason: c.reason.clone(),
                before: c.before.as_ref().map(encode_value),
                after: c.after.as_ref().map(encode_value),
                replace_paths: c
                    .replace_paths
                    .iter()
                    .map(|p| super::stored::path_to_json(p))
                    .collect(),
                disruption: c.disruption.clone(),
                previous_address: c.previous_address.as_ref().map(ToString::to_string),
                importing: c.importing.clone(),
                dependencies: c.dependencies.iter().map(ToString::to_string).collect(),
                create_before_destroy: c.create_before_destroy,
            })
            .collect(),
        outputs: plan
            .outputs
            .iter()
            .map(|o| EncodedOutput {
                name: o.name.clone(),
                action: o.action,
                before: o.before.as_ref().map(encode_value),
                after: o.after.as_ref().map(encode_value),
                sensitive: o.sensitive,
            })
            .collect(),
        drift: plan
            .drift
            .iter()
            .map(|d| EncodedDrift {
                address: d.addr.to_string(),
                before: encode_value(&d.before),
                after: d.after.as_ref().map(encode_value),
            })
            .collect(),
    };
    let display = path.display().to_string();
    let encoding_failed = |e: serde_json::Error| PlanFileError::Invalid {
        path: display.clone(),
        reason: e.to_string(),
    };
    let mut doc = doc;
    doc.digest = content_digest(&doc).map_err(encoding_failed)?;
    let mut text = serde_json::to_string(&doc).map_err(encoding_failed)?;
    text.push('\n');
    write_private(path, text.as_bytes()).map_err(|source| PlanFileError::Write {
        path: display,
        source,
    })
}

/// The digest of a document: SHA-256 of its JSON with the digest field
/// empty. Reading a file back gives the same JSON for the same content
/// (keys keep their order, numbers their digits), so the digest is of
/// what the file says, whatever its spacing.
fn content_digest(doc: &PlanDocument) -> Result<String, serde_json::Error> {
    use sha2::{Digest, Sha256};
    let mut unsigned = serde_json::to_value(doc)?;
    if let Some(fields) = unsigned.as_object_mut() {
        fields.insert("digest".into(), serde_json::Value::String(String::new()));
    }
    let digest = Sha256::digest(serde_json::to_vec(&unsigned)?);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("sha256:{hex}"))
}

/// Writes a new file created 0600 beside `path` and renames it over
/// `path`: an existing file's mode (which `open` would keep) never
/// applies, no one can open the file before it is private, and a reader
/// sees the old plan or the new one, never part of one.
fn write_private(path: &FsPath, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    // Only a plan file (or nothing) is replaced: never a FIFO, a device
    // or a directory that happens to have the name given to -out.
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it exists and is not a regular file",
            ));
        }
        _ => {}
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&temp, path)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Reads a plan file.
pub fn read(path: &FsPath) -> Result<Plan, PlanFileError> {
    let display = path.display().to_string();
    let text = crate::regular_file::read_text(path, MAX_PLAN_FILE_BYTES).map_err(|source| {
        PlanFileError::Read {
            path: display.clone(),
            source,
        }
    })?;
    let invalid = |reason: String| PlanFileError::Invalid {
        path: display.clone(),
        reason,
    };
    let doc: PlanDocument = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if doc.format != FORMAT || doc.format_version != FORMAT_VERSION {
        return Err(invalid(format!(
            "format {} version {}",
            doc.format, doc.format_version
        )));
    }
    if doc.tool_version != crate::VERSION {
        return Err(PlanFileError::Version {
            path: display,
            found: doc.tool_version,
            expected: crate::VERSION.into(),
        });
    }
    let digest_matches = content_digest(&doc).is_ok_and(|d| d == doc.digest);
    if !digest_matches {
        return Err(PlanFileError::Digest { path: display });
    }
    let value = |e: &EncodedValue| decode_value(e).map_err(|r| invalid(r.clone()));
    let opt = |e: &Option<EncodedValue>| {
        e.as_ref()
            .map(|e| decode_value(e).map_err(|r| invalid(r.clone())))
            .transpose()
    };
    let addr = |a: &str| {
        a.parse::<ResourceAddr>()
            .map_err(|e| invalid(e.to_string()))
    };
    let mut changes = Vec::with_capacity(doc.changes.len());
    for c in &doc.changes {
        changes.push(ResourceChange {
            addr: addr(&c.address)?,
            provider: c.provider.clone(),
            action: c.action,
            reason: c.reason.clone(),
            before: opt(&c.before)?,
            after: opt(&c.after)?,
            replace_paths: c
                .replace_paths
                .iter()
                .map(|p| super::stored::path_from_json(p))
                .collect(),
            disruption: c.disruption.clone(),
            previous_address: c.previous_address.as_deref().map(addr).transpose()?,
            importing: c.importing.clone(),
            dependencies: c
                .dependencies
                .iter()
                .map(|d| addr(d).map(|a| a.resource))
                .collect::<Result<_, _>>()?,
            create_before_destroy: c.create_before_destroy,
        });
    }
    let mut outputs = Vec::with_capacity(doc.outputs.len());
    for o in &doc.outputs {
        outputs.push(OutputChange {
            name: o.name.clone(),
            action: o.action,
            before: opt(&o.before)?,
            after: opt(&o.after)?,
            sensitive: o.sensitive,
        });
    }
    let mut drift = Vec::with_capacity(doc.drift.len());
    for d in &doc.drift {
        drift.push(ResourceDrift {
            addr: addr(&d.address)?,
            before: value(&d.before)?,
            after: opt(&d.after)?,
        });
    }
    let mut variables = BTreeMap::new();
    for (k, v) in &doc.variables {
        variables.insert(k.clone(), value(v)?);
    }
    Ok(Plan {
        mode: doc.mode,
        changes,
        outputs,
        drift,
        variables,
        state_lineage: doc.state.lineage,
        state_serial: doc.state.serial,
        config_digest: doc.config_digest,
        targeted: doc.targeted,
        warnings: Vec::new(),
        layouts: doc.layouts,
        strays: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_types_unknowns_and_marks() {
        let v = Value::object(
            [
                ("id".to_string(), Value::Unknown(Type::String)),
                ("l".to_string(), Value::list(Type::Number, vec![1.into()])),
                ("s".to_string(), Value::from("pw").mark_sensitive()),
                (
                    "t".to_string(),
                    Value::tuple(vec![Value::unknown(), "x".into()]),
                ),
            ]
            .into(),
        );
        let back = decode_value(&encode_value(&v)).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn a_plan_round_trips_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.plan");
        let plan = Plan {
            mode: PlanMode::Normal,
            changes: vec![ResourceChange {
                addr: "terraform_data.a[0]".parse().unwrap(),
                provider: "builtin".into(),
                action: Action::Create,
                reason: None,
                before: None,
                after: Some(Value::object(
                    [("id".to_string(), Value::Unknown(Type::String))].into(),
                )),
                replace_paths: vec![],
                disruption: None,
                previous_address: None,
                importing: None,
                dependencies: vec!["terraform_data.b".parse::<ResourceAddr>().unwrap().resource],
                create_before_destroy: false,
            }],
            outputs: vec![],
            drift: vec![],
            variables: [("n".to_string(), Value::from(3))].into(),
            state_lineage: Some("l".into()),
            state_serial: 4,
            config_digest: "d".into(),
            targeted: false,
            warnings: Vec::new(),
            layouts: BTreeMap::new(),
            strays: Vec::new(),
        };
        write(&plan, &path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let back = read(&path).unwrap();
        assert_eq!(back.changes[0].addr.to_string(), "terraform_data.a[0]");
        assert_eq!(back.state_serial, 4);
        assert_eq!(back.variables["n"], Value::from(3));
        std::fs::write(&path, "{}").unwrap();
        assert!(matches!(read(&path), Err(PlanFileError::Invalid { .. })));
    }

    /// A one-change plan to save and read back.
    fn one_create() -> Plan {
        let mut change = ResourceChange::new(
            "terraform_data.a".parse().unwrap(),
            "builtin",
            Action::Create,
        );
        change.after = Some(Value::object(
            [("input".to_string(), Value::from("x"))].into(),
        ));
        Plan::with_changes(PlanMode::Normal, vec![change])
    }

    #[test]
    fn a_file_changed_after_it_was_written_is_refused_by_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.plan");
        write(&one_create(), &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"digest\":\"sha256:"), "{text}");

        // Spacing is not content: the same document pretty-printed reads.
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        assert_eq!(read(&path).unwrap().changes[0].action, Action::Create);

        // An action changed by hand is not.
        let edited = text.replace("\"action\":\"create\"", "\"action\":\"delete\"");
        assert_ne!(edited, text);
        std::fs::write(&path, &edited).unwrap();
        let err = read(&path).unwrap_err();
        assert!(matches!(err, PlanFileError::Digest { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "plan file {} does not match its digest: it was changed or damaged after stackform wrote it; make the plan again",
                path.display()
            )
        );

        // Neither is a file without a digest, or with a damaged one.
        let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        doc.as_object_mut().unwrap().remove("digest");
        std::fs::write(&path, doc.to_string()).unwrap();
        assert!(matches!(read(&path), Err(PlanFileError::Digest { .. })));
        std::fs::write(&path, text.replace("sha256:", "sha256:0")).unwrap();
        assert!(matches!(read(&path), Err(PlanFileError::Digest { .. })));
    }

    #[test]
    fn a_digest_recomputed_by_hand_reads_back() {
        // What the digest cannot stop: the checks against the state
        // (`saved`) must.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.plan");
        write(&one_create(), &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut doc: PlanDocument = serde_json::from_str(&text).unwrap();
        doc.changes[0].action = Action::Delete;
        doc.digest = content_digest(&doc).unwrap();
        std::fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
        assert_eq!(read(&path).unwrap().changes[0].action, Action::Delete);
    }

    #[test]
    fn a_disruption_round_trips_and_older_files_without_it_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.plan");
        let server = |flavor: &str| {
            Value::object(
                [
                    ("id".to_string(), Value::from("s1")),
                    ("flavor_name".to_string(), Value::from(flavor)),
                ]
                .into(),
            )
        };
        let mut plan = Plan {
            mode: PlanMode::Normal,
            changes: vec![ResourceChange {
                addr: "openstack_compute_instance_v2.web".parse().unwrap(),
                provider: "openstack".into(),
                action: Action::Update,
                reason: None,
                before: Some(server("m1.tiny")),
                after: Some(server("m1.small")),
                replace_paths: vec![],
                disruption: Some("the server is resized".into()),
                previous_address: None,
                importing: None,
                dependencies: vec![],
                create_before_destroy: false,
            }],
            outputs: vec![],
            drift: vec![],
            variables: BTreeMap::new(),
            state_lineage: None,
            state_serial: 0,
            config_digest: "d".into(),
            targeted: false,
            warnings: Vec::new(),
            layouts: BTreeMap::new(),
            strays: Vec::new(),
        };
        write(&plan, &path).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(
            back.changes[0].disruption.as_deref(),
            Some("the server is resized")
        );
        // A file written before the field existed has no such key.
        plan.changes[0].disruption = None;
        write(&plan, &path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("disruption"), "{text}");
        assert_eq!(read(&path).unwrap().changes[0].disruption, None);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_directory_named_as_the_plan_file_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.plan");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let sub = dir.path().join("sub.plan");
        std::fs::create_dir(&sub).unwrap();
        let plan = Plan::with_changes(PlanMode::Normal, vec![]);
        for path in [&fifo, &sub] {
            let err = write(&plan, path).unwrap_err();
            assert!(
                err.to_string()
                    .ends_with("it exists and is not a regular file"),
                "{err}"
            );
        }
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert!(sub.is_dir());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp file stays"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_plan_file_becomes_private_and_no_temp_file_stays() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.plan");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"secret").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["old.plan"]);
        // A path that cannot be replaced leaves nothing behind.
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        assert!(write_private(&sub, b"secret").is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
