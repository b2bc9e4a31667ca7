//! A resource block's body against its type's schema: the structural
//! checks `validate` runs (unknown and missing arguments, misplaced
//! blocks), and evaluation into one object value of the schema's type.

use crate::config::dynamic_block;
use crate::config::{Config, FileId};
use crate::diag::{Diagnostic, Diagnostics};
use crate::lang::convert::convert;
use crate::lang::eval::Evaluator;
use crate::lang::value::{Type, Value};
use crate::provider::{AttrMode, Nesting, Schema};
use hcl::edit::Span;
use hcl::edit::structure::{Block, Body, Structure};
use std::collections::{BTreeMap, BTreeSet};

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
    // How many blocks a `dynamic` block makes is known only when it is
    // evaluated, so the types it makes are exempt from the count checks.
    let mut generated: BTreeSet<String> = BTreeSet::new();
    for s in body.iter() {
        match s {
            Structure::Block(b) if b.ident.as_str() == "dynamic" => {
                if let Some(block_type) = check_dynamic(config, file, b, schema, context, diags) {
                    generated.insert(block_type);
                }
            }
            Structure::Attribute(a) => {
                let name = a.key.as_str();
                match schema.attributes.get(name) {
                    None => {
                        let detail = if schema.blocks.contains_key(name) {
                            format!("An argument named {name:?} is not expected here. Did you mean to define a block of type {name:?}?")
                        } else if let Some(close) = closest(name, schema.attributes.keys()) {
                            format!("An argument named {name:?} is not expected here. Did you mean {close:?}?")
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
        if generated.contains(name) {
            continue;
        }
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

/// The candidate a misspelt name most likely meant: the nearest by edit
/// distance, if it is less than 3 edits away.
fn closest<'a>(given: &str, candidates: impl Iterator<Item = &'a String>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(given, c), c.as_str()))
        .filter(|(d, _)| *d < 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == *cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Checks a `dynamic` block: its label names a block type of the schema,
/// it has `for_each` and one `content` block, and the content fits the
/// generated type's schema. Returns the generated type.
fn check_dynamic(
    config: &Config,
    file: FileId,
    dynamic: &Block,
    schema: &Schema,
    context: &str,
    diags: &mut Diagnostics,
) -> Option<String> {
    let at = |span| config.range(file, span);
    let Some((block_type, _)) = dynamic_block(dynamic) else {
        diags.push(
            Diagnostic::error(
                "Invalid dynamic block",
                "A dynamic block needs one label, the type of the blocks it generates, and its iterator (if given) must be a name.",
            )
            .with_subject(at(dynamic.ident.span()))
            .with_context(context),
        );
        return None;
    };
    let label_span = dynamic.labels.first().and_then(|l| l.span());
    let Some(generated) = schema.blocks.get(&block_type) else {
        diags.push(
            Diagnostic::error(
                "Unsupported block type",
                format!("Blocks of type {block_type:?} are not expected here, so a dynamic block cannot generate them."),
            )
            .with_subject(at(label_span.clone()))
            .with_context(context),
        );
        return None;
    };
    let mut contents = 0;
    for s in dynamic.body.iter() {
        match s {
            Structure::Attribute(a) if DYNAMIC_ARGUMENTS.contains(&a.key.as_str()) => {}
            Structure::Attribute(a) => diags.push(
                Diagnostic::error(
                    "Unsupported argument",
                    format!(
                        "An argument named {:?} is not expected in a dynamic block; its arguments are for_each and iterator, and the generated block's go in its content block.",
                        a.key.as_str()
                    ),
                )
                .with_subject(at(a.key.span()))
                .with_context(context),
            ),
            Structure::Block(b) if b.ident.as_str() == "content" => {
                contents += 1;
                check_body(config, file, &b.body, &generated.schema, context, diags);
            }
            Structure::Block(b) => diags.push(
                Diagnostic::error(
                    "Unsupported block type",
                    format!(
                        "Blocks of type {:?} are not expected in a dynamic block, which holds one content block.",
                        b.ident.as_str()
                    ),
                )
                .with_subject(at(b.ident.span()))
                .with_context(context),
            ),
        }
    }
    if !dynamic.body.has_attribute("for_each") {
        diags.push(
            Diagnostic::error(
                "Missing required argument",
                "The argument \"for_each\" is required, but no definition was found.",
            )
            .with_subject(at(label_span.clone()))
            .with_context(context),
        );
    }
    if contents != 1 {
        diags.push(
            Diagnostic::error(
                "Invalid dynamic block",
                format!(
                    "A dynamic block must have exactly one content block; this one has {contents}."
                ),
            )
            .with_subject(at(label_span))
            .with_context(context),
        );
    }
    Some(block_type)
}

const DYNAMIC_ARGUMENTS: [&str; 3] = ["for_each", "iterator", "labels"];

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
                        let why = if v.contains_sensitive() {
                            e.describe_sensitive()
                        } else {
                            e.describe()
                        };
                        diags.push(
                            Diagnostic::error(
                                "Incorrect attribute value type",
                                format!("Inappropriate value for attribute {name:?}: {why}."),
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
        let mut objects = Vec::new();
        let mut all_known = true;
        let mut sensitive = false;
        // Written blocks and generated ones, in the order they appear.
        for b in body.blocks() {
            if b.ident.as_str() == name {
                objects.push(eval_body(
                    config,
                    file,
                    &b.body,
                    &block.schema,
                    eval,
                    context,
                    diags,
                ));
                continue;
            }
            let Some((block_type, iterator)) =
                dynamic_block(b).filter(|_| b.ident.as_str() == "dynamic")
            else {
                continue;
            };
            if block_type != *name {
                continue;
            }
            let Some(content) = b.body.get_blocks("content").next() else {
                continue;
            };
            let Some(for_each) = b.body.get_attribute("for_each") else {
                continue;
            };
            let elements = match eval.eval(&for_each.value) {
                Ok(v) => v,
                Err(e) => {
                    diags.push(
                        Diagnostic::error(e.summary, e.detail)
                            .with_subject(config.range(file, e.span))
                            .with_context(context),
                    );
                    continue;
                }
            };
            let (elements, marked) = elements.unmark_deep();
            sensitive |= marked;
            let Some(elements) = dynamic_elements(&elements) else {
                if elements.is_known() {
                    diags.push(
                        Diagnostic::error(
                            "Invalid dynamic for_each value",
                            format!(
                                "Cannot use a {} value in for_each. An iterable collection is required.",
                                elements.type_of().friendly_name()
                            ),
                        )
                        .with_subject(config.range(file, for_each.value.span()))
                        .with_context(context),
                    );
                } else {
                    all_known = false;
                }
                continue;
            };
            for (key, value) in elements {
                let each = Value::object(BTreeMap::from([
                    ("key".to_string(), key),
                    ("value".to_string(), value),
                ]));
                objects.push(eval.with_binding(&iterator, each, |eval| {
                    eval_body(
                        config,
                        file,
                        &content.body,
                        &block.schema,
                        eval,
                        context,
                        diags,
                    )
                }));
            }
        }
        let obj_type = block.schema.value_type();
        if !all_known {
            let ty = match block.nesting {
                Nesting::Single => obj_type,
                Nesting::List => Type::list(obj_type),
                Nesting::Set => Type::set(obj_type),
            };
            attrs.insert(name.clone(), Value::Unknown(ty));
            continue;
        }
        let objects: Vec<Value> = objects
            .into_iter()
            .map(|o| o.marked_if(sensitive))
            .collect();
        let value = match block.nesting {
            Nesting::Single => objects.into_iter().next().unwrap_or(Value::Null(obj_type)),
            Nesting::List => Value::list(obj_type, objects),
            Nesting::Set => Value::set(obj_type, objects),
        };
        attrs.insert(name.clone(), value);
    }
    Value::object(attrs)
}

/// The (key, value) pairs a dynamic block iterates: index and element of
/// a list or tuple, element and element of a set, key and value of a map
/// or object. None for a value that is unknown or not a collection.
fn dynamic_elements(collection: &Value) -> Option<Vec<(Value, Value)>> {
    if !collection.is_known() {
        return None;
    }
    match collection {
        Value::List(_, items) | Value::Tuple(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::number(i as i64), v.clone()))
                .collect(),
        ),
        Value::Set(_, items) => Some(items.iter().map(|v| (v.clone(), v.clone())).collect()),
        Value::Map(_, items) | Value::Object(items) => Some(
            items
                .iter()
                .map(|(k, v)| (Value::string(k.as_str()), v.clone()))
                .collect(),
        ),
        Value::Null(_) => Some(Vec::new()),
        _ => None,
    }
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

#[cfg(test)]
mod tests {
    use super::{closest, edit_distance};

    #[test]
    fn a_misspelt_argument_is_matched_to_the_nearest_name() {
        assert_eq!(edit_distance("inptu", "input"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        let names = ["input".to_string(), "triggers_replace".to_string()];
        assert_eq!(closest("inptu", names.iter()), Some("input"));
        assert_eq!(closest("outptu_xyz", names.iter()), None);
    }
}
