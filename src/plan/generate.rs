//! `plan -generate-config-out=FILE`: resource blocks written from the
//! objects `import` blocks import, for resources the configuration does
//! not declare yet. Only what a user may set is written (computed-only
//! attributes are the provider's), sensitive values are left out with a
//! comment, and the result is formatted as `fmt` would.

use super::{PlanRequest, values_before_planning};
use crate::config::fmt::format;
use crate::diag::{Diagnostic, Diagnostics};
use crate::lang::eval::Evaluator;
use crate::lang::value::{Value, quote};
use crate::provider::{AttrMode, Nesting, Schema};

/// The text of the generated file, or None when no import block needs
/// configuration.
pub async fn generated_config(req: &PlanRequest<'_>) -> Result<Option<String>, Diagnostics> {
    let missing = req.config.imports_without_config();
    if missing.is_empty() {
        return Ok(None);
    }
    super::configure_providers(req.config, req.graph, req.providers, &req.variables)?;
    let run = values_before_planning(req.config, req.graph, &req.variables);
    let mut diags = Diagnostics::default();
    let mut out = String::from(
        "# __generated__ by stackform\n# Review these resource blocks and move them into your main configuration.\n",
    );
    for import in missing {
        let subject = req.config.range(import.file, import.span.clone());
        let fail = |summary: &str, detail: String| {
            Diagnostic::error(summary, detail).with_subject(subject.clone())
        };
        if !import.to.module.is_empty() {
            diags.push(fail(
                "Cannot generate configuration",
                format!("Configuration is generated for the root module only; write the resource block for {} in its module.", import.to),
            ));
            continue;
        }
        if import.for_each.is_some() || import.key.is_some() {
            diags.push(fail(
                "Cannot generate configuration",
                "Configuration can be generated only for an import into a resource without count or for_each; write the resource block for this one.".into(),
            ));
            continue;
        }
        let Some(rt) = req.providers.resource(&import.to.type_name) else {
            diags.push(fail(
                "Invalid resource type",
                format!("There is no resource type named {:?}.", import.to.type_name),
            ));
            continue;
        };
        let scope = run.scope();
        let id = Evaluator::new(&scope)
            .eval(&import.id.expr)
            .ok()
            .map(|v| v.unmark_deep().0)
            .and_then(|v| v.as_str().map(str::to_string));
        let Some(id) = id else {
            diags.push(fail(
                "Invalid import",
                "The import block's id must be a string known before planning.".into(),
            ));
            continue;
        };
        match rt.import(&id).await {
            Ok(Some(value)) => {
                out.push('\n');
                out.push_str(&format!(
                    "# imported from {}\nresource {} {} {{\n",
                    quote(&id),
                    quote(&import.to.type_name),
                    quote(&import.to.name)
                ));
                body(&mut out, rt.schema(), &value);
                out.push_str("}\n");
            }
            Ok(None) => diags.push(fail(
                "Cannot import non-existent remote object",
                format!(
                    "No object of type {} with id {id:?} exists in the cloud stackform is configured for.",
                    import.to.type_name
                ),
            )),
            Err(e) => diags.push(Diagnostic::error(e.summary, e.detail).with_subject(subject)),
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(Some(format(&out)))
}

/// The arguments and nested blocks of one object.
fn body(out: &mut String, schema: &Schema, value: &Value) {
    let (value, _) = value.unmark_deep();
    let Value::Object(attrs) = &value else {
        return;
    };
    for (name, attr) in &schema.attributes {
        if attr.mode == AttrMode::Computed {
            continue;
        }
        let Some(v) = attrs
            .get(name)
            .filter(|v| !v.is_null() && v.is_wholly_known())
        else {
            continue;
        };
        if attr.sensitive {
            out.push_str(&format!("# {name} = (sensitive value: set it yourself)\n"));
            continue;
        }
        out.push_str(&format!("{name} = {}\n", literal(v)));
    }
    for (name, block) in &schema.blocks {
        let Some(v) = attrs.get(name) else {
            continue;
        };
        let items: Vec<Value> = match (&block.nesting, v) {
            (Nesting::Single, v) if !v.is_null() => vec![v.clone()],
            (_, Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items)) => {
                items.as_ref().clone()
            }
            _ => Vec::new(),
        };
        for item in items {
            out.push_str(&format!("{name} {{\n"));
            body(out, &block.schema, &item);
            out.push_str("}\n");
        }
    }
}

/// A value written as an HCL literal.
fn literal(v: &Value) -> String {
    match v {
        Value::Null(_) | Value::Unknown(_) => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => quote(s),
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            let items: Vec<String> = items.iter().map(literal).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Map(_, items) | Value::Object(items) => {
            if items.is_empty() {
                return "{}".into();
            }
            let mut text = String::from("{\n");
            for (k, v) in items.iter() {
                text.push_str(&format!("{} = {}\n", quote(k), literal(v)));
            }
            text.push('}');
            text
        }
        Value::Sensitive(inner) => literal(inner),
    }
}
