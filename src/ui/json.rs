//! Machine-readable output, in the shapes of Terraform's JSON formats so
//! that tools written for Terraform read ours: `output -json`, `show
//! -json` of a plan (`resource_changes`, `output_changes`, ...) and of the
//! state (`values.root_module.resources`). Sensitive values are replaced
//! by `null` and flagged in the `*_sensitive` mirrors, unless the user
//! explicitly asked to see them.

use crate::addr::ModuleInstance;
use crate::lang::value::Value;
use crate::plan::{Action, Plan, ResourceChange};
use crate::state::{OutputState, State};
use serde_json::{Map, Value as J, json};
use std::collections::{BTreeMap, BTreeSet};

/// Pretty JSON with a trailing newline.
pub fn to_text(v: &J) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into());
    s.push('\n');
    s
}

/// `output -json` (all outputs) as Terraform prints it.
pub fn outputs(outputs: &BTreeMap<String, OutputState>, show_sensitive: bool) -> J {
    J::Object(
        outputs
            .iter()
            .map(|(name, o)| (name.clone(), output(o, show_sensitive)))
            .collect(),
    )
}

/// One output as `output -json NAME` prints it (the value alone).
pub fn output_value(o: &OutputState, show_sensitive: bool) -> J {
    if o.sensitive && !show_sensitive {
        J::Null
    } else {
        o.value.clone()
    }
}

fn output(o: &OutputState, show_sensitive: bool) -> J {
    json!({
        "sensitive": o.sensitive,
        "type": o.value_type,
        "value": output_value(o, show_sensitive),
    })
}

/// Plain JSON of a value: unknowns and sensitive parts as `null`.
fn plain(v: &Value) -> J {
    match v {
        Value::Sensitive(_) | Value::Unknown(_) | Value::Null(_) => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => J::Number(n.to_json()),
        Value::String(s) => J::String(s.to_string()),
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            J::Array(items.iter().map(plain).collect())
        }
        Value::Map(_, items) | Value::Object(items) => {
            J::Object(items.iter().map(|(k, v)| (k.clone(), plain(v))).collect())
        }
    }
}

/// Terraform's "mirror" of a value: `true` where `test` holds, objects
/// and arrays following the value's shape, `false` elsewhere (objects
/// drop their `false` entries).
fn mirror(v: &Value, test: &dyn Fn(&Value) -> bool) -> J {
    if test(v) {
        return J::Bool(true);
    }
    let (inner, _) = v.unmark();
    match inner {
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            J::Array(items.iter().map(|i| mirror(i, test)).collect())
        }
        Value::Map(_, items) | Value::Object(items) => {
            let mut m = Map::new();
            for (k, item) in items.iter() {
                let sub = mirror(item, test);
                if sub != J::Bool(false) {
                    m.insert(k.clone(), sub);
                }
            }
            J::Object(m)
        }
        _ => J::Bool(false),
    }
}

fn unknown_mirror(v: Option<&Value>) -> J {
    v.map_or(J::Bool(false), |v| mirror(v, &|x| !x.is_known()))
}

fn sensitive_mirror(v: Option<&Value>) -> J {
    v.map_or(J::Bool(false), |v| mirror(v, &Value::is_sensitive))
}

fn actions(action: Action) -> J {
    json!(match action {
        Action::NoOp => vec!["no-op"],
        Action::Create => vec!["create"],
        Action::Read => vec!["read"],
        Action::Update => vec!["update"],
        Action::DeleteThenCreate => vec!["delete", "create"],
        Action::CreateThenDelete => vec!["create", "delete"],
        Action::Delete => vec!["delete"],
        Action::Forget => vec!["forget"],
    })
}

fn index_json(key: &crate::addr::InstanceKey) -> Option<J> {
    match key {
        crate::addr::InstanceKey::None => None,
        crate::addr::InstanceKey::Int(i) => Some(json!(i)),
        crate::addr::InstanceKey::Str(s) => Some(json!(s)),
    }
}

fn mode_name(c: &crate::addr::ResourceAddr) -> &'static str {
    match c.resource.mode {
        crate::lang::refs::ResourceMode::Managed => "managed",
        crate::lang::refs::ResourceMode::Data => "data",
    }
}

fn resource_change(c: &ResourceChange) -> J {
    let mut change = Map::new();
    change.insert("actions".into(), actions(c.action));
    change.insert("before".into(), c.before.as_ref().map_or(J::Null, plain));
    change.insert("after".into(), c.after.as_ref().map_or(J::Null, plain));
    change.insert("after_unknown".into(), unknown_mirror(c.after.as_ref()));
    change.insert(
        "before_sensitive".into(),
        sensitive_mirror(c.before.as_ref()),
    );
    change.insert("after_sensitive".into(), sensitive_mirror(c.after.as_ref()));
    if let Some(id) = &c.importing {
        change.insert("importing".into(), json!({ "id": id }));
    }
    if !c.replace_paths.is_empty() {
        change.insert(
            "replace_paths".into(),
            J::Array(
                c.replace_paths
                    .iter()
                    .map(|p| json!(crate::plan::stored::path_to_json(p)))
                    .collect(),
            ),
        );
    }
    let mut out = Map::new();
    out.insert("address".into(), json!(c.addr.to_string()));
    if !c.addr.module_keys.is_empty() {
        out.insert(
            "module_address".into(),
            json!(c.addr.module_instance().to_string()),
        );
    }
    out.insert("mode".into(), json!(mode_name(&c.addr)));
    out.insert("type".into(), json!(c.addr.resource.type_name));
    out.insert("name".into(), json!(c.addr.resource.name));
    if let Some(i) = index_json(&c.addr.key) {
        out.insert("index".into(), i);
    }
    if let Some(from) = &c.previous_address {
        out.insert("previous_address".into(), json!(from.to_string()));
    }
    out.insert("provider_name".into(), json!(c.provider));
    out.insert("change".into(), J::Object(change));
    if let Some(reason) = &c.reason {
        let r = match reason {
            crate::plan::Reason::Tainted => "replace_because_tainted",
            crate::plan::Reason::RemovedConfig => "delete_because_no_resource_config",
            crate::plan::Reason::NoResourceConfig => "delete_because_no_resource_config",
            crate::plan::Reason::NoModule => "delete_because_no_module",
            crate::plan::Reason::CountIndex => "delete_because_count_index",
            crate::plan::Reason::EachKey => "delete_because_each_key",
            crate::plan::Reason::WrongRepetition => "delete_because_wrong_repetition",
            crate::plan::Reason::DeletedOutside => "create_because_deleted_outside",
            crate::plan::Reason::ConfigUnknown => "read_because_config_unknown",
            crate::plan::Reason::DependencyPending => "read_because_dependency_pending",
            crate::plan::Reason::ReplaceByRequest => "replace_by_request",
            crate::plan::Reason::ReplaceByTriggers => "replace_by_triggers",
        };
        out.insert("action_reason".into(), json!(r));
    }
    // Not in Terraform's format; its consumers ignore unknown fields.
    if let Some(why) = &c.disruption {
        out.insert("disruption".into(), json!(why));
    }
    J::Object(out)
}

/// `show -json FILE`: the plan in Terraform's JSON plan shape.
pub fn plan(plan: &Plan, prior: Option<(&State, &BTreeMap<String, Value>)>) -> J {
    let variables: Map<String, J> = plan
        .variables
        .iter()
        .map(|(k, v)| (k.clone(), json!({ "value": plain(v) })))
        .collect();
    let resource_changes: Vec<J> = plan.changes.iter().map(resource_change).collect();
    let drift: Vec<J> = plan
        .drift
        .iter()
        .map(|d| {
            let mut entry = json!({
                "address": d.addr.to_string(),
                "mode": mode_name(&d.addr),
                "type": d.addr.resource.type_name,
                "name": d.addr.resource.name,
                "change": {
                    "actions": if d.after.is_some() { json!(["update"]) } else { json!(["delete"]) },
                    "before": plain(&d.before),
                    "after": d.after.as_ref().map_or(J::Null, plain),
                    "before_sensitive": sensitive_mirror(Some(&d.before)),
                    "after_sensitive": sensitive_mirror(d.after.as_ref()),
                }
            });
            if !d.addr.module_keys.is_empty() {
                entry["module_address"] = json!(d.addr.module_instance().to_string());
            }
            entry
        })
        .collect();
    let output_changes: Map<String, J> = plan
        .outputs
        .iter()
        .map(|o| {
            let mask = |v: &Option<Value>| {
                v.as_ref().map(|v| {
                    if o.sensitive {
                        v.clone().mark_sensitive()
                    } else {
                        v.clone()
                    }
                })
            };
            let (b, a) = (mask(&o.before), mask(&o.after));
            (
                o.name.clone(),
                json!({
                    "actions": actions(o.action),
                    "before": b.as_ref().map_or(J::Null, plain),
                    "after": a.as_ref().map_or(J::Null, plain),
                    "after_unknown": a.as_ref().is_some_and(|v| !v.is_wholly_known()),
                    "before_sensitive": o.sensitive,
                    "after_sensitive": o.sensitive,
                }),
            )
        })
        .collect();
    let mut out = Map::new();
    out.insert("format_version".into(), json!("1.2"));
    out.insert("stackform_version".into(), json!(crate::VERSION));
    out.insert("variables".into(), J::Object(variables));
    out.insert("resource_changes".into(), J::Array(resource_changes));
    if !drift.is_empty() {
        out.insert("resource_drift".into(), J::Array(drift));
    }
    out.insert("output_changes".into(), J::Object(output_changes));
    if let Some((prior, values)) = prior {
        out.insert("prior_state".into(), state(prior, values));
    }
    out.insert("errored".into(), json!(false));
    J::Object(out)
}

/// `show -json`: the state in Terraform's JSON state shape. `values`
/// gives each resource's decoded value, when its type is known.
pub fn state(state: &State, values: &BTreeMap<String, Value>) -> J {
    // Terraform nests each module instance's resources under the
    // instance that calls it: `child_modules`, each with its `address`.
    let mut by_module: BTreeMap<ModuleInstance, Vec<J>> = BTreeMap::new();
    for (module, resource) in state.resources.iter().map(|r| {
        let addr = r.addr();
        let (vals, sens) = match values.get(&r.address) {
            Some(v) => (plain(v), sensitive_mirror(Some(v))),
            None => undecoded(r),
        };
        let mut m = Map::new();
        m.insert("address".into(), json!(r.address));
        m.insert("mode".into(), json!(mode_name(&addr)));
        m.insert("type".into(), json!(r.type_name));
        m.insert("name".into(), json!(r.name));
        if let Some(i) = index_json(&r.index) {
            m.insert("index".into(), i);
        }
        m.insert("provider_name".into(), json!(r.provider));
        m.insert("schema_version".into(), json!(r.schema_version));
        m.insert("values".into(), vals);
        m.insert("sensitive_values".into(), sens);
        if !r.dependencies.is_empty() {
            m.insert("depends_on".into(), json!(r.dependencies));
        }
        if r.status == crate::state::Status::Tainted {
            m.insert("tainted".into(), json!(true));
        }
        (addr.module_instance(), J::Object(m))
    }) {
        by_module.entry(module).or_default().push(resource);
    }
    let outputs: Map<String, J> = state
        .outputs
        .iter()
        .map(|(k, o)| (k.clone(), json!({ "sensitive": o.sensitive, "value": output_value(o, false), "type": o.value_type })))
        .collect();
    json!({
        "format_version": "1.0",
        "stackform_version": crate::VERSION,
        "values": {
            "outputs": outputs,
            "root_module": module_json(&ModuleInstance::root(), &mut by_module),
        }
    })
}

/// The values of a resource whose type could not decode them: the
/// recorded attributes, each that holds a sensitive path left out whole.
fn undecoded(r: &crate::state::ResourceState) -> (J, J) {
    let mut values = r.attributes.clone();
    let mut sensitive = Map::new();
    for path in &r.sensitive_paths {
        if let Some(crate::state::PathStepJson::Name(attr)) = path.first() {
            values.insert(attr.clone(), J::Null);
            sensitive.insert(attr.clone(), J::Bool(true));
        }
    }
    (J::Object(values), J::Object(sensitive))
}

/// A module instance of the JSON state: its resources, and the module
/// instances it calls that hold resources.
fn module_json(module: &ModuleInstance, by_module: &mut BTreeMap<ModuleInstance, Vec<J>>) -> J {
    let mut m = Map::new();
    if !module.is_root() {
        m.insert("address".into(), json!(module.to_string()));
    }
    m.insert(
        "resources".into(),
        J::Array(by_module.remove(module).unwrap_or_default()),
    );
    let children: BTreeSet<ModuleInstance> = by_module
        .keys()
        .filter(|k| k.0.len() > module.0.len() && k.0.starts_with(&module.0))
        .map(|k| ModuleInstance(k.0[..module.0.len() + 1].to_vec()))
        .collect();
    if !children.is_empty() {
        let children: Vec<J> = children.iter().map(|c| module_json(c, by_module)).collect();
        m.insert("child_modules".into(), J::Array(children));
    }
    J::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::value::Type;

    #[test]
    fn mirrors_mark_unknown_and_sensitive_leaves() {
        let v = Value::object(
            [
                ("id".to_string(), Value::Unknown(Type::String)),
                ("input".to_string(), Value::from("pw").mark_sensitive()),
                (
                    "list".to_string(),
                    Value::tuple(vec![1.into(), Value::unknown()]),
                ),
            ]
            .into(),
        );
        assert_eq!(
            unknown_mirror(Some(&v)),
            json!({"id": true, "list": [false, true]})
        );
        assert_eq!(
            sensitive_mirror(Some(&v)),
            json!({"input": true, "list": [false, false]})
        );
        assert_eq!(
            plain(&v),
            json!({"id": null, "input": null, "list": [1, null]})
        );
    }

    #[test]
    fn recorded_values_that_cannot_be_decoded_leave_out_what_is_sensitive() {
        use crate::state::{Mode, PathStepJson, ResourceState, State, Status};
        let mut recorded = State::new();
        recorded.put_resource(ResourceState {
            address: "gone_type.x".into(),
            module: String::new(),
            mode: Mode::Managed,
            type_name: "gone_type".into(),
            name: "x".into(),
            index: crate::addr::InstanceKey::None,
            provider: "gone".into(),
            id: Some("1".into()),
            status: Status::Ok,
            schema_version: 0,
            attributes: [
                ("id".to_string(), json!("1")),
                (
                    "auth".to_string(),
                    json!({"user": "u", "password": "hunter2"}),
                ),
            ]
            .into_iter()
            .collect(),
            sensitive_paths: vec![vec![
                PathStepJson::Name("auth".into()),
                PathStepJson::Name("password".into()),
            ]],
            dependencies: vec![],
        });
        let shown = state(&recorded, &BTreeMap::new());
        let r = &shown["values"]["root_module"]["resources"][0];
        assert_eq!(r["values"], json!({"id": "1", "auth": null}));
        assert_eq!(r["sensitive_values"], json!({"auth": true}));
    }

    #[test]
    fn sensitive_outputs_are_masked_unless_asked_for() {
        let o = OutputState {
            value: json!("hunter2"),
            value_type: json!("string"),
            sensitive: true,
        };
        let all: BTreeMap<String, OutputState> = [("pw".to_string(), o)].into();
        assert_eq!(
            outputs(&all, false),
            json!({"pw": {"sensitive": true, "type": "string", "value": null}})
        );
        assert_eq!(outputs(&all, true)["pw"]["value"], json!("hunter2"));
    }
}
