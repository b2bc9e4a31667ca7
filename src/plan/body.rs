//! A resource block's body against its type's schema: the structural
//! checks `validate` runs (unknown and missing arguments, misplaced
//! blocks), and evaluation into one object value of the schema's type.

use crate::config::{Config, FileId};
use crate::diag::{Diagnostic, Diagnostics};
use crate::lang::convert::convert;
use crate::lang::eval::Evaluator;
use crate::lang::value::{Type, Value};
use crate::provider::{AttrMode, Nesting, Schema};
use hcl::edit::Span;
use hcl::edit::structure::{Body, Structure};
use std::collections::BTreeMap;

/// Checks the shape of a body: every argument and block is in the schema,
/// required arguments are present, computed-only ones are not set, and
/// block counts are within bounds.
pub fn check_body(
    config: &Config,
    file: FileId,
    body: &Body,
    schema: &Schema,
    context: &str,
    diags: &mut Diagnostics,
) {
    let mut seen_blocks: BTreeMap<&str, usize> = BTreeMap::new();
    for s in body.iter() {
        match s {
            Structure::Attribute(a) => {
                let name = a.key.as_str();
                match schema.attributes.get(name) {
                    None => {
                        let detail = if schema.blocks.contains_key(name) {
                            format!("An argument named {name:?} is not expected here. Did you mean to define a block of type {name:?}?")
                        } else {
                            format!("An argument named {name:?} is not expected here.")
                        };
                        diags.push(
                            Diagnostic::error("Unsupported argument", detail)
                                .with_subject(config.range(file, a.key.span()))
                                .with_context(context),
                        );
                    }
                    Some(attr) if attr.mode == AttrMode::Computed => diags.push(
                        Diagnostic::error(
                            "Invalid argument",
                            format!("The argument {name:?} is set by the provider and cannot be set in the configuration."),
                        )
                        .with_subject(config.range(file, a.key.span()))
                        .with_context(context),
                    ),
                    Some(_) => {}
                }
            }
            Structure::Block(b) => {
                let name = b.ident.as_str();
                match schema.blocks.get(name) {
                    Some(block) => {
                        *seen_blocks.entry(name).or_default() += 1;
                        check_body(config, file, &b.body, &block.schema, context, diags);
                    }
                    None => diags.push(
                        Diagnostic::error(
                            "Unsupported block type",
                            format!("Blocks of type {name:?} are not expected here."),
                        )
                        .with_subject(config.range(file, b.ident.span()))
                        .with_context(context),
                    ),
                }
            }
        }
    }
    let header = body.span().map(|s| s.start.saturating_sub(1)..s.start);
    for (name, attr) in &schema.attributes {
        if attr.mode == AttrMode::Required && !body.has_attribute(name) {
            diags.push(
                Diagnostic::error(
                    "Missing required argument",
                    format!("The argument {name:?} is required, but no definition was found."),
                )
                .with_subject(config.range(file, header.clone()))
                .with_context(context),
            );
        }
    }
    for (name, block) in &schema.blocks {
        let n = seen_blocks.get(name.as_str()).copied().unwrap_or(0);
        if n < block.min_items {
            diags.push(
                Diagnostic::error(
                    "Insufficient blocks",
                    format!("At least {} {name:?} blocks are required.", block.min_items),
                )
                .with_subject(config.range(file, header.clone()))
                .with_context(context),
            );
        }
        if let Some(max) = block.max_items.filter(|m| n > *m) {
            diags.push(
                Diagnostic::error(
                    "Too many blocks",
                    format!("No more than {max} {name:?} blocks are allowed."),
                )
                .with_subject(config.range(file, header.clone()))
                .with_context(context),
            );
        }
    }
}

/// Evaluates a body into an object of the schema's type. Arguments not
/// set are null; values are converted to their attribute's type. The
/// body is assumed to have passed [`check_body`].
pub fn eval_body(
    config: &Config,
    file: FileId,
    body: &Body,
    schema: &Schema,
    eval: &mut Evaluator<'_>,
    context: &str,
    diags: &mut Diagnostics,
) -> Value {
    let mut attrs = BTreeMap::new();
    for (name, attr) in &schema.attributes {
        let value = match body.get_attribute(name) {
            Some(a) if attr.mode != AttrMode::Computed => match eval.eval(&a.value) {
                Ok(v) => match convert(&v, &attr.ty) {
                    Ok(v) => v,
                    Err(e) => {
                        diags.push(
                            Diagnostic::error(
                                "Incorrect attribute value type",
                                format!("Inappropriate value for attribute {name:?}: {e}."),
                            )
                            .with_subject(config.range(file, a.value.span()))
                            .with_context(context),
                        );
                        Value::Unknown(attr.ty.clone())
                    }
                },
                Err(e) => {
                    diags.push(
                        Diagnostic::error(e.summary, e.detail)
                            .with_subject(config.range(file, e.span))
                            .with_context(context),
                    );
                    Value::Unknown(attr.ty.clone())
                }
            },
            _ => Value::Null(attr.ty.clone()),
        };
        attrs.insert(name.clone(), value);
    }
    for (name, block) in &schema.blocks {
        let objects: Vec<Value> = body
            .get_blocks(name)
            .map(|b| eval_body(config, file, &b.body, &block.schema, eval, context, diags))
            .collect();
        let obj_type = block.schema.value_type();
        let value = match block.nesting {
            Nesting::Single => objects.into_iter().next().unwrap_or(Value::Null(obj_type)),
            Nesting::List => Value::list(obj_type, objects),
            Nesting::Set => Value::set(obj_type, objects),
        };
        attrs.insert(name.clone(), value);
    }
    Value::object(attrs)
}

/// A value of the schema's type that is entirely unknown except for
/// nothing: what validation uses for resources it cannot plan.
pub fn unknown_of(schema: &Schema) -> Value {
    match schema.value_type() {
        Type::Object(attrs) => Value::object(
            attrs
                .into_iter()
                .map(|(k, t)| (k, Value::Unknown(t)))
                .collect(),
        ),
        other => Value::Unknown(other),
    }
}
