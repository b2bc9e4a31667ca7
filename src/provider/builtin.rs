//! `terraform_data`, Terraform's built-in resource that stores a value:
//! `input` is copied to `output` on apply, `id` is a random UUID, and a
//! change of `triggers_replace` replaces the object. It needs no cloud,
//! which makes it the engine's test subject and benchmark.

use super::{
    ApplyFailure, AttrMode, AttributeSchema, Marker, PlannedState, ProviderError, ResourceType,
    Schema,
};
use crate::lang::value::{Path, PathStep, Type, Value};
use async_trait::async_trait;
use std::collections::BTreeMap;

pub struct TerraformData {
    schema: Schema,
}

impl TerraformData {
    pub fn new() -> TerraformData {
        let mut schema = Schema::default();
        schema.attributes.insert(
            "id".into(),
            AttributeSchema::new(Type::String, AttrMode::Computed)
                .describe("A unique id, set when the object is created."),
        );
        schema.attributes.insert(
            "input".into(),
            AttributeSchema::new(Type::Dynamic, AttrMode::Optional)
                .describe("A value to store; it is copied to output on apply."),
        );
        schema.attributes.insert(
            "output".into(),
            AttributeSchema::new(Type::Dynamic, AttrMode::Computed)
                .describe("The value of input after apply."),
        );
        schema.attributes.insert(
            "triggers_replace".into(),
            AttributeSchema::new(Type::Dynamic, AttrMode::Optional)
                .describe("A value whose change replaces the object."),
        );
        TerraformData { schema }
    }
}

impl Default for TerraformData {
    fn default() -> Self {
        TerraformData::new()
    }
}

fn attr(v: &Value, name: &str) -> Value {
    v.get_attr(name).cloned().unwrap_or(Value::NULL)
}

fn state(id: Value, input: Value, output: Value, triggers: Value) -> Value {
    let mut attrs = BTreeMap::new();
    attrs.insert("id".to_string(), id);
    attrs.insert("input".to_string(), input);
    attrs.insert("output".to_string(), output);
    attrs.insert("triggers_replace".to_string(), triggers);
    Value::object(attrs)
}

#[async_trait]
impl ResourceType for TerraformData {
    fn type_name(&self) -> &'static str {
        "terraform_data"
    }

    fn provider(&self) -> &'static str {
        "builtin"
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    /// As Terraform plans it: `output` is unknown whenever `input` is new
    /// or changed (it is set by apply), and a change of `triggers_replace`
    /// (or of the type of `input`'s value) replaces the object.
    fn plan(&self, prior: Option<&Value>, config: &Value) -> Result<PlannedState, ProviderError> {
        let input = attr(config, "input");
        let triggers = attr(config, "triggers_replace");
        let Some(prior) = prior else {
            let output = if input.is_null() {
                Value::NULL
            } else {
                Value::Unknown(input.type_of())
            };
            return Ok(PlannedState {
                planned: state(Value::Unknown(Type::String), input, output, triggers),
                requires_replace: Vec::new(),
            });
        };
        let mut requires_replace = Vec::new();
        if !attr(prior, "triggers_replace").same_as(&triggers) {
            requires_replace.push(vec![PathStep::Attr("triggers_replace".into())]);
        }
        let input_changed = !attr(prior, "input").same_as(&input);
        let id = if requires_replace.is_empty() {
            attr(prior, "id")
        } else {
            Value::Unknown(Type::String)
        };
        let output = if !input_changed && requires_replace.is_empty() {
            attr(prior, "output")
        } else if input.is_null() {
            Value::NULL
        } else {
            Value::Unknown(input.type_of())
        };
        Ok(PlannedState {
            planned: state(id, input, output, triggers),
            requires_replace,
        })
    }

    /// `output` is a copy of `input`, so it is as sensitive as `input`.
    /// (Terraform drops the mark here and prints the secret; we do not.)
    fn derived_sensitive_paths(&self, config_marks: &[Path]) -> Vec<Path> {
        config_marks
            .iter()
            .filter(|p| p.first() == Some(&PathStep::Attr("input".into())))
            .map(|p| {
                let mut out = p.clone();
                out[0] = PathStep::Attr("output".into());
                out
            })
            .collect()
    }

    /// Nothing exists outside the state, so there is nothing to mark.
    async fn create(&self, planned: &Value, _marker: &Marker) -> Result<Value, ApplyFailure> {
        let input = attr(planned, "input");
        Ok(state(
            Value::string(uuid::Uuid::new_v4().to_string()),
            input.clone(),
            input,
            attr(planned, "triggers_replace"),
        ))
    }

    async fn update(
        &self,
        prior: &Value,
        planned: &Value,
        _marker: &Marker,
    ) -> Result<Value, ApplyFailure> {
        let input = attr(planned, "input");
        Ok(state(
            attr(prior, "id"),
            input.clone(),
            input,
            attr(planned, "triggers_replace"),
        ))
    }

    async fn delete(&self, _prior: &Value) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn read(&self, current: &Value) -> Result<Option<Value>, ProviderError> {
        Ok(Some(current.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(input: Value, triggers: Value) -> Value {
        Value::object(
            [
                ("input".to_string(), input),
                ("triggers_replace".to_string(), triggers),
            ]
            .into(),
        )
    }

    fn marker() -> Marker {
        Marker {
            lineage: "l".into(),
            address: "terraform_data.a".into(),
            token: "t".into(),
        }
    }

    #[tokio::test]
    async fn create_copies_input_to_output() {
        let td = TerraformData::new();
        let plan = td.plan(None, &config("x".into(), Value::NULL)).unwrap();
        assert!(!attr(&plan.planned, "output").is_known());
        assert!(!attr(&plan.planned, "id").is_known());
        let created = td.create(&plan.planned, &marker()).await.unwrap();
        assert_eq!(attr(&created, "output").as_str(), Some("x"));
        assert_eq!(attr(&created, "id").as_str().map(str::len), Some(36));
    }

    #[test]
    fn output_is_sensitive_where_input_is() {
        let attr = |a: &str| PathStep::Attr(a.into());
        let marks = [
            vec![attr("input"), attr("a")],
            vec![attr("input"), PathStep::Key("k".into()), PathStep::Index(2)],
            vec![attr("input")],
            vec![attr("triggers_replace")],
        ];
        assert_eq!(
            TerraformData::new().derived_sensitive_paths(&marks),
            [
                vec![attr("output"), attr("a")],
                vec![
                    attr("output"),
                    PathStep::Key("k".into()),
                    PathStep::Index(2)
                ],
                vec![attr("output")],
            ]
        );
    }

    #[tokio::test]
    async fn a_changed_input_updates_and_a_changed_trigger_replaces() {
        let td = TerraformData::new();
        let prior = td
            .create(&config("x".into(), "t1".into()), &marker())
            .await
            .unwrap();
        let same = td
            .plan(Some(&prior), &config("x".into(), "t1".into()))
            .unwrap();
        assert!(same.planned.same_as(&prior));
        let update = td
            .plan(Some(&prior), &config("y".into(), "t1".into()))
            .unwrap();
        assert!(update.requires_replace.is_empty());
        assert_eq!(
            attr(&update.planned, "id").as_str(),
            attr(&prior, "id").as_str()
        );
        assert!(!attr(&update.planned, "output").is_known());
        let replace = td
            .plan(Some(&prior), &config("x".into(), "t2".into()))
            .unwrap();
        assert_eq!(
            replace.requires_replace,
            vec![vec![PathStep::Attr("triggers_replace".into())]]
        );
        assert!(!attr(&replace.planned, "id").is_known());
    }
}
