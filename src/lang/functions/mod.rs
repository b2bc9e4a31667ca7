//! Built-in functions of the configuration language.
//!
//! Each function is a plain `fn` over already-evaluated arguments. The
//! machinery here does what every function needs, once: arity checks,
//! sensitive marks (see [`Marks`]) and unknown arguments (the result is
//! unknown unless the function declares it can look inside unknowns).
//!
//! `try` and `can` are not here: they must see errors of their argument
//! expressions, so the evaluator implements them.

mod collections;
mod encoding;
mod filesystem;
mod format;
mod network;
mod numeric;
mod strings;
mod yaml;

use super::value::{Type, Value};
use std::path::Path;

/// What a function may know about where it runs.
pub struct FuncContext<'a> {
    /// The directory `file()` and `templatefile()` resolve relative paths
    /// against: the module's directory (`path.module`).
    pub base_dir: &'a Path,
}

/// A failed call. `arg` names the argument at fault (0-based) when there
/// is one, so the message can say which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncError {
    pub arg: Option<usize>,
    pub message: String,
    /// The diagnostic's summary when it is not the usual "Invalid
    /// function argument" / "Error in function call".
    pub summary: Option<&'static str>,
}

impl FuncError {
    pub fn new(message: impl Into<String>) -> FuncError {
        FuncError {
            summary: None,
            arg: None,
            message: message.into(),
        }
    }

    pub fn arg(index: usize, message: impl Into<String>) -> FuncError {
        FuncError {
            summary: None,
            arg: Some(index),
            message: message.into(),
        }
    }
}

pub type FuncImpl = fn(&FuncContext<'_>, &[Value]) -> Result<Value, FuncError>;

pub struct FuncSpec {
    pub name: &'static str,
    /// Names of the parameters, for messages ("Invalid value for "prefix"
    /// parameter"). A trailing `...` marks the last one as variadic.
    pub params: &'static [&'static str],
    /// The function accepts unknown values (inside its arguments) and
    /// decides itself what is known about the result.
    pub allow_unknown: bool,
    /// The type of the result when an argument is unknown and the function
    /// does not allow unknowns; `Dynamic` when it depends on the arguments.
    pub returns: Type,
    /// What the function sees of sensitive marks.
    pub marks: Marks,
    pub imp: FuncImpl,
}

/// How sensitive marks pass through a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marks {
    /// Arguments arrive without any mark, and the result is marked as a
    /// whole when any argument had a mark anywhere. The safe default.
    Strip,
    /// Only the arguments' own marks are removed (and mark the result);
    /// marks inside collections stay with their elements. For functions
    /// that only move elements around, where Terraform keeps
    /// `concat([sensitive(a)], [b])[1]` unmarked.
    Nested,
    /// Arguments arrive exactly as given and the function marks its
    /// result itself: `sensitive` and `nonsensitive`.
    Keep,
}

impl FuncSpec {
    fn variadic(&self) -> bool {
        self.params.last().is_some_and(|p| p.ends_with("..."))
    }

    fn min_args(&self) -> usize {
        if self.variadic() {
            self.params.len() - 1
        } else {
            self.params.len()
        }
    }

    /// The name of parameter `i` (the variadic one for any index past it).
    pub fn param_name(&self, i: usize) -> &'static str {
        let name = self
            .params
            .get(i)
            .or(self.params.last())
            .copied()
            .unwrap_or("");
        name.trim_end_matches("...")
    }
}

/// Every built-in function, sorted by name.
static FUNCTIONS: std::sync::LazyLock<Vec<&'static FuncSpec>> = std::sync::LazyLock::new(|| {
    let mut all: Vec<&'static FuncSpec> = Vec::new();
    all.extend(collections::FUNCTIONS);
    all.extend(encoding::FUNCTIONS);
    all.extend(filesystem::FUNCTIONS);
    all.extend(network::FUNCTIONS);
    all.extend(numeric::FUNCTIONS);
    all.extend(strings::FUNCTIONS);
    all.sort_by_key(|f| f.name);
    all
});

pub fn lookup(name: &str) -> Option<&'static FuncSpec> {
    FUNCTIONS
        .binary_search_by_key(&name, |f| f.name)
        .ok()
        .map(|i| FUNCTIONS[i])
}

pub fn names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|f| f.name)
}

/// Calls a function: checks the number of arguments, strips marks and
/// re-applies them to the result, and short-circuits unknown arguments.
pub fn call(spec: &FuncSpec, ctx: &FuncContext<'_>, args: &[Value]) -> Result<Value, FuncError> {
    let min = spec.min_args();
    if args.len() < min {
        return Err(FuncError {
            summary: Some("Not enough function arguments"),
            arg: None,
            message: format!(
                "Function \"{}\" expects {} argument(s). Missing value for \"{}\".",
                spec.name,
                min,
                spec.param_name(args.len())
            ),
        });
    }
    if !spec.variadic() && args.len() > spec.params.len() {
        return Err(FuncError {
            summary: Some("Too many function arguments"),
            arg: None,
            message: format!(
                "Function \"{}\" expects only {} argument(s).",
                spec.name,
                spec.params.len()
            ),
        });
    }
    if !spec.allow_unknown && args.iter().any(|a| !a.is_wholly_known()) {
        let sensitive = spec.marks != Marks::Keep && args.iter().any(Value::contains_sensitive);
        return Ok(Value::Unknown(spec.returns.clone()).marked_if(sensitive));
    }
    let mut sensitive = false;
    let plain: Vec<Value> = match spec.marks {
        Marks::Keep => return (spec.imp)(ctx, args),
        Marks::Nested => args
            .iter()
            .map(|a| {
                let (v, marked) = a.unmark();
                sensitive |= marked;
                v.clone()
            })
            .collect(),
        Marks::Strip => args
            .iter()
            .map(|a| {
                let (v, marked) = a.unmark_deep();
                sensitive |= marked;
                v
            })
            .collect(),
    };
    (spec.imp)(ctx, &plain).map(|v| v.marked_if(sensitive))
}

/// Argument accessors shared by the implementations: each converts the
/// argument as Terraform would and names it in the error.
pub(crate) mod args {
    use super::FuncError;
    use crate::lang::convert::convert;
    use crate::lang::number::Number;
    use crate::lang::value::{Type, Value};

    /// How cty names a type constraint in "... required" messages: an
    /// element type left open is "any single type".
    pub fn constraint_name(ty: &Type) -> String {
        match ty {
            Type::Dynamic => "any single type".into(),
            Type::List(e) => format!("list of {}", constraint_name(e)),
            Type::Set(e) => format!("set of {}", constraint_name(e)),
            Type::Map(e) => format!("map of {}", constraint_name(e)),
            other => other.friendly_name(),
        }
    }

    /// Converts a value to a primitive type with cty's messages: a value
    /// of the wrong kind gets "number required", a string that does not
    /// parse gets "a number is required".
    pub fn to_primitive(v: &Value, want: &Type) -> Result<Value, String> {
        let from = v.type_of();
        let convertible = from == Type::Dynamic || from.is_primitive();
        match convert(v, want) {
            Ok(converted) if convertible => Ok(converted),
            _ if from == Type::String && *want == Type::Number => {
                Err("a number is required".into())
            }
            _ if from == Type::String && *want == Type::Bool => Err("a bool is required".into()),
            _ => Err(format!("{} required", want.friendly_name())),
        }
    }

    fn primitive(args: &[Value], i: usize, want: &Type) -> Result<Value, FuncError> {
        let v = &args[i];
        if v.is_null() {
            return Err(FuncError::arg(i, "argument must not be null"));
        }
        to_primitive(v, want).map_err(|e| FuncError::arg(i, e))
    }

    pub fn string(args: &[Value], i: usize) -> Result<String, FuncError> {
        let v = primitive(args, i, &Type::String)?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    pub fn number(args: &[Value], i: usize) -> Result<Number, FuncError> {
        Ok(primitive(args, i, &Type::Number)?
            .as_number()
            .unwrap_or_default())
    }

    /// A whole number that fits 64 bits; the message is cty's, which
    /// Terraform reports as a failed call rather than a bad argument.
    pub fn integer(args: &[Value], i: usize) -> Result<i64, FuncError> {
        number(args, i)?
            .to_i64()
            .ok_or_else(|| FuncError::new(NOT_AN_INTEGER))
    }

    pub const NOT_AN_INTEGER: &str =
        "value must be a whole number, between -9223372036854775808 and 9223372036854775807";

    /// The elements of a list, set or tuple argument converted to the
    /// primitive type `elem`, as a `list(elem)` parameter receives them.
    /// Null elements stay null: what they mean is up to the function.
    pub fn primitive_elements(
        args: &[Value],
        i: usize,
        elem: &Type,
    ) -> Result<Vec<Value>, FuncError> {
        let v = &args[i];
        if v.is_null() {
            return Err(FuncError::arg(i, "argument must not be null"));
        }
        let Some(items) = v.as_seq() else {
            return Err(FuncError::arg(
                i,
                format!("{} required", constraint_name(&Type::list(elem.clone()))),
            ));
        };
        items
            .iter()
            .enumerate()
            .map(|(n, item)| {
                to_primitive(item, elem).map_err(|e| FuncError::arg(i, format!("element {n}: {e}")))
            })
            .collect()
    }

    /// Converts argument `i` to a collection type with an open element
    /// type, as a `list(any)`, `set(any)` or `map(any)` parameter does.
    pub fn collection(args: &[Value], i: usize, want: &Type) -> Result<Value, FuncError> {
        let v = &args[i];
        if v.is_null() {
            return Err(FuncError::arg(i, "argument must not be null"));
        }
        convert(v, want).map_err(|e| {
            let kind_matches = match want {
                Type::Map(_) => v.as_entries().is_some(),
                _ => v.as_seq().is_some(),
            };
            if !e.path.is_empty() {
                FuncError::arg(i, e.to_string())
            } else if kind_matches {
                let kind = if matches!(want, Type::Map(_)) {
                    "map"
                } else {
                    "list"
                };
                FuncError::arg(i, format!("all {kind} elements must have the same type"))
            } else {
                FuncError::arg(i, format!("{} required", constraint_name(want)))
            }
        })
    }

    /// `Some(unknown of type ty)` when any argument is not wholly known:
    /// for functions that allow unknowns only to compute a precise type.
    pub fn unknown_result(args: &[Value], ty: impl FnOnce() -> Type) -> Option<Value> {
        if args.iter().all(Value::is_wholly_known) {
            None
        } else {
            Some(Value::Unknown(ty()))
        }
    }
}

#[cfg(test)]
#[allow(dead_code)]
pub(crate) mod testing {
    use super::*;

    /// Calls a built-in that must succeed.
    pub fn call(name: &str, a: &[Value]) -> Value {
        call_named(name, a).unwrap_or_else(|e| panic!("{name}: {e:?}"))
    }

    /// Calls a built-in that must fail.
    pub fn err(name: &str, a: &[Value]) -> FuncError {
        call_named(name, a).expect_err(name)
    }

    /// A string value.
    pub fn s(v: &str) -> Value {
        Value::from(v)
    }

    /// Calls a built-in by name with a base directory of `.`.
    pub fn call_named(name: &str, args: &[Value]) -> Result<Value, FuncError> {
        let spec = lookup(name).unwrap_or_else(|| panic!("no function {name}"));
        super::call(
            spec,
            &FuncContext {
                base_dir: Path::new("."),
            },
            args,
        )
    }
}
