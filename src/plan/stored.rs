//! Between the state's JSON attributes and typed values, driven by the
//! resource type's schema. Attributes of a dynamic type are stored with
//! their type (`{"value": ..., "type": ...}`) so that a list stays a list
//! and a tuple a tuple across runs.

use crate::addr::ResourceAddr;
use crate::lang::value::{Path, PathStep, Type, Value};
use crate::provider::{Nesting, Schema};
use crate::state::{Mode, PathStepJson, ResourceState, Status};
use std::collections::BTreeMap;

/// The value of a resource as the state records it, sensitive paths
/// marked.
pub fn decode(resource: &ResourceState, schema: &Schema) -> Result<Value, String> {
    let mut attrs = BTreeMap::new();
    for (name, attr) in &schema.attributes {
        let json = resource
            .attributes
            .get(name)
            .unwrap_or(&serde_json::Value::Null);
        let value = decode_attr(json, &attr.ty).map_err(|e| format!("attribute {name:?}: {e}"))?;
        attrs.insert(name.clone(), value);
    }
    for (name, block) in &schema.blocks {
        let json = resource
            .attributes
            .get(name)
            .unwrap_or(&serde_json::Value::Null);
        let ty = match block.nesting {
            Nesting::Single => block.schema.value_type(),
            Nesting::List => Type::list(block.schema.value_type()),
            Nesting::Set => Type::set(block.schema.value_type()),
        };
        let value =
            Value::from_json_typed(json, &ty).map_err(|e| format!("block {name:?}: {e}"))?;
        attrs.insert(name.clone(), value);
    }
    let paths: Vec<Path> = resource
        .sensitive_paths
        .iter()
        .map(|p| path_from_json(p))
        .collect();
    Ok(Value::object(attrs).mark_paths(&paths))
}

fn decode_attr(json: &serde_json::Value, ty: &Type) -> Result<Value, String> {
    if *ty != Type::Dynamic {
        return Value::from_json_typed(json, ty);
    }
    match json {
        serde_json::Value::Null => Ok(Value::NULL),
        serde_json::Value::Object(wrapper) if wrapper.contains_key("type") => {
            let ty = Type::from_json(&wrapper["type"])
                .ok_or_else(|| format!("invalid type {}", wrapper["type"]))?;
            Value::from_json_typed(
                wrapper.get("value").unwrap_or(&serde_json::Value::Null),
                &ty,
            )
        }
        other => Ok(Value::from_json_dynamic(other)),
    }
}

/// The state record of a resource instance with `value` (which must be
/// wholly known).
pub fn encode(
    addr: &ResourceAddr,
    provider: &str,
    value: &Value,
    schema: &Schema,
    status: Status,
    dependencies: Vec<String>,
) -> ResourceState {
    let (plain, mut marked) = value.unmark_with_paths();
    for p in schema.sensitive_paths() {
        if !marked.contains(&p) {
            marked.push(p);
        }
    }
    marked.sort();
    let mut attributes = serde_json::Map::new();
    for (name, attr) in &schema.attributes {
        let v = plain.get_attr(name).cloned().unwrap_or(Value::NULL);
        let json = if attr.ty == Type::Dynamic && !v.is_null() {
            serde_json::json!({ "value": v.to_json(), "type": v.type_of().to_json() })
        } else {
            v.to_json()
        };
        attributes.insert(name.clone(), json);
    }
    for name in schema.blocks.keys() {
        attributes.insert(
            name.clone(),
            plain
                .get_attr(name)
                .map_or(serde_json::Value::Null, Value::to_json),
        );
    }
    ResourceState {
        address: addr.to_string(),
        module: addr.module_instance().to_string(),
        mode: match addr.resource.mode {
            crate::lang::refs::ResourceMode::Managed => Mode::Managed,
            crate::lang::refs::ResourceMode::Data => Mode::Data,
        },
        type_name: addr.resource.type_name.clone(),
        name: addr.resource.name.clone(),
        index: addr.key.clone(),
        provider: provider.to_string(),
        id: plain
            .get_attr("id")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        status,
        schema_version: 0,
        attributes,
        sensitive_paths: marked.iter().map(|p| path_to_json(p)).collect(),
        dependencies,
    }
}

pub fn path_to_json(path: &[PathStep]) -> Vec<PathStepJson> {
    path.iter()
        .map(|s| match s {
            PathStep::Attr(a) | PathStep::Key(a) => PathStepJson::Name(a.clone()),
            PathStep::Index(i) => PathStepJson::Index(*i as u64),
        })
        .collect()
}

pub fn path_from_json(path: &[PathStepJson]) -> Path {
    path.iter()
        .map(|s| match s {
            PathStepJson::Name(a) => PathStep::Attr(a.clone()),
            PathStepJson::Index(i) => PathStep::Index(*i as usize),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ResourceType;
    use crate::provider::builtin::TerraformData;

    #[test]
    fn dynamic_attributes_keep_their_type_and_marks() {
        let schema = TerraformData::new().schema().clone();
        let value = Value::object(
            [
                ("id".to_string(), Value::from("abc")),
                (
                    "input".to_string(),
                    Value::list(Type::String, vec!["a".into()]).mark_sensitive(),
                ),
                (
                    "output".to_string(),
                    Value::tuple(vec![1.into(), "x".into()]),
                ),
                ("triggers_replace".to_string(), Value::NULL),
            ]
            .into(),
        );
        let addr: ResourceAddr = "terraform_data.x[0]".parse().unwrap();
        let stored = encode(&addr, "builtin", &value, &schema, Status::Ok, vec![]);
        assert_eq!(stored.id.as_deref(), Some("abc"));
        assert_eq!(
            stored.attributes["input"],
            serde_json::json!({"value": ["a"], "type": ["list", "string"]})
        );
        assert_eq!(
            stored.attributes["triggers_replace"],
            serde_json::Value::Null
        );
        let back = decode(&stored, &schema).unwrap();
        assert_eq!(back, value);
    }
}
