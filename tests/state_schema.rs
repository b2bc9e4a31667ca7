//! Every example under `state/examples/` is a state document this version
//! writes and reads: it validates against `state/schema.json`, reads as a
//! `State` (strictly: unknown fields are refused), passes the backend's own
//! checks, and is byte for byte what stackform would write for it.

use serde_json::Value;
use stackform::state::State;
use stackform::state::local::{decode_snapshot, encode_snapshot};
use std::fs;
use std::path::{Path, PathBuf};

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator() -> jsonschema::Validator {
    let schema = read_json(&repo_file("state/schema.json"));
    jsonschema::meta::validate(&schema).unwrap_or_else(|e| panic!("schema.json: {e}"));
    jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("schema.json: {e}"))
}

fn examples() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(repo_file("state/examples"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
}

fn schema_errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn every_example_matches_the_schema_and_the_model() {
    let validator = validator();
    let examples = examples();
    assert!(examples.len() >= 4, "{examples:?}");
    for path in examples {
        let name = path.display();
        let bytes = fs::read(&path).unwrap();
        let instance: Value = serde_json::from_slice(&bytes).unwrap();
        let errors = schema_errors(&validator, &instance);
        assert!(errors.is_empty(), "{name}: {errors:#?}");

        let state: State = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let checked = decode_snapshot(&bytes, &path).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(checked, state, "{name}: resources must already be sorted");
        let written = encode_snapshot(&state).unwrap();
        assert!(
            written == bytes,
            "{name} is not what stackform writes for it:\n{}",
            String::from_utf8_lossy(&written)
        );
    }
}

#[test]
fn the_examples_cover_what_the_format_holds() {
    let states: Vec<State> = examples()
        .iter()
        .map(|path| serde_json::from_slice(&fs::read(path).unwrap()).unwrap())
        .collect();
    let resources = || states.iter().flat_map(|s| &s.resources);
    assert!(states.iter().any(|s| s.is_empty()), "an empty state");
    assert!(resources().any(|r| matches!(r.index, stackform::addr::InstanceKey::Int(_))));
    assert!(resources().any(|r| matches!(r.index, stackform::addr::InstanceKey::Str(_))));
    assert!(resources().any(|r| r.status == stackform::state::Status::Tainted));
    assert!(resources().any(|r| !r.sensitive_paths.is_empty()));
    assert!(resources().any(|r| !r.dependencies.is_empty()));
    assert!(
        states.iter().any(|s| !s.intents.is_empty()),
        "a pending intent"
    );
    assert!(
        states
            .iter()
            .flat_map(|s| s.outputs.values())
            .any(|o| o.sensitive)
    );
}

/// The schema is as strict as the model: what one refuses, so does the other.
#[test]
fn the_schema_and_the_model_refuse_the_same_mistakes() {
    let validator = validator();
    let base = read_json(&repo_file("state/examples/count_and_for_each.json"));
    type Mutation = fn(&mut Value);
    let mutations: [(&str, Mutation); 9] = [
        ("unknown top-level field", |s| {
            s["colour"] = "blue".into();
        }),
        ("unknown resource field", |s| {
            s["resources"][0]["colour"] = "blue".into();
        }),
        ("unknown output field", |s| {
            s["outputs"]["x"] = serde_json::json!({"value": 1, "type": "number", "colour": 1});
        }),
        ("missing lineage", |s| {
            s.as_object_mut().unwrap().remove("lineage");
        }),
        ("missing attributes", |s| {
            s["resources"][0]
                .as_object_mut()
                .unwrap()
                .remove("attributes");
        }),
        ("unknown status", |s| {
            s["resources"][0]["status"] = "broken".into();
        }),
        ("unknown mode", |s| {
            s["resources"][0]["mode"] = "imaginary".into();
        }),
        ("negative serial", |s| {
            s["serial"] = (-1).into();
        }),
        ("negative index", |s| {
            s["resources"][2]["index"] = (-1).into();
        }),
    ];
    for (name, mutate) in mutations {
        let mut instance = base.clone();
        mutate(&mut instance);
        assert!(!validator.is_valid(&instance), "schema accepts {name}");
        assert!(
            serde_json::from_value::<State>(instance).is_err(),
            "model accepts {name}"
        );
    }
}

/// Rules the model leaves to the provider or the backend, which the schema
/// states for documentation and tools.
#[test]
fn the_schema_checks_terraform_data_and_types() {
    let validator = validator();
    let base = read_json(&repo_file("state/examples/count_and_for_each.json"));
    type Mutation = fn(&mut Value);
    let mutations: [(&str, Mutation); 5] = [
        ("format version 2", |s| s["format_version"] = 2.into()),
        ("unknown terraform_data attribute", |s| {
            s["resources"][0]["attributes"]["colour"] = "blue".into();
        }),
        ("dynamic attribute without its type", |s| {
            s["resources"][2]["attributes"]["triggers_replace"] = serde_json::json!(["a"]);
        }),
        ("unknown type name", |s| {
            s["resources"][2]["attributes"]["input"]["type"] = "text".into();
        }),
        ("list type without element type", |s| {
            s["resources"][2]["attributes"]["triggers_replace"]["type"] =
                serde_json::json!(["list"]);
        }),
    ];
    for (name, mutate) in mutations {
        let mut instance = base.clone();
        mutate(&mut instance);
        assert!(!validator.is_valid(&instance), "schema accepts {name}");
    }
}
