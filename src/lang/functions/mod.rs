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
mod message;
mod network;
mod numeric;
mod strings;
mod yaml;

use super::limits;
use super::value::{Type, Value};
pub use message::Message;
use std::path::Path;

/// What a function may know about where it runs.
pub struct FuncContext<'a> {
    /// The directory `file()` and `templatefile()` resolve relative paths
    /// against: the module's directory (`path.module`).
    pub base_dir: &'a Path,
}

/// A failed call. `arg` names the argument at fault (0-based) when there
/// is one, so the message can say which.
#[derive(Debug, Clone)]
pub struct FuncError {
    pub arg: Option<usize>,
    /// The message with every value in it shown; `call` replaces it with
    /// [`Message::shown`] when an argument is sensitive.
    pub message: String,
    /// The diagnostic's summary when it is not the usual "Invalid
    /// function argument" / "Error in function call".
    pub summary: Option<&'static str>,
    pieces: Message,
}

impl PartialEq for FuncError {
    /// Errors are equal when they read the same.
    fn eq(&self, other: &FuncError) -> bool {
        self.arg == other.arg && self.message == other.message && self.summary == other.summary
    }
}

impl Eq for FuncError {}

impl FuncError {
    pub fn new(message: impl Into<Message>) -> FuncError {
        let pieces = message.into();
        FuncError {
            summary: None,
            arg: None,
            message: pieces.to_string(),
            pieces,
        }
    }

    pub fn arg(index: usize, message: impl Into<Message>) -> FuncError {
        FuncError {
            arg: Some(index),
            ..FuncError::new(message)
        }
    }

    fn with_summary(summary: &'static str, message: impl Into<Message>) -> FuncError {
        FuncError {
            summary: Some(summary),
            ..FuncError::new(message)
        }
    }

    /// The error as it may be shown when the arguments flagged in
    /// `sensitive` are: their values left out, the argument named.
    fn without_secrets(mut self, spec: &FuncSpec, args: &[Value], sensitive: &[bool]) -> FuncError {
        if !sensitive.iter().any(|s| *s) {
            return self;
        }
        self.message = self.pieces.shown(sensitive).unwrap_or_else(|| {
            let at_fault = self.arg.and_then(|i| {
                let ty = args.get(i)?.type_of();
                Some((sensitive.get(i).copied().unwrap_or(false), ty))
            });
            let named: Vec<(&str, Type)> = args
                .iter()
                .zip(sensitive)
                .enumerate()
                .filter(|(_, (_, s))| **s)
                .map(|(i, (a, _))| (spec.param_name(i), a.type_of()))
                .collect();
            message::withheld(at_fault.as_ref().map(|(s, t)| (*s, t)), &named)
        });
        self.pieces = Message::text(self.message.clone());
        self
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
        return Err(FuncError::with_summary(
            "Not enough function arguments",
            Message::text(format!(
                "Function \"{}\" expects {} argument(s). Missing value for \"{}\".",
                spec.name,
                min,
                spec.param_name(args.len())
            )),
        ));
    }
    if !spec.variadic() && args.len() > spec.params.len() {
        return Err(FuncError::with_summary(
            "Too many function arguments",
            Message::text(format!(
                "Function \"{}\" expects only {} argument(s).",
                spec.name,
                spec.params.len()
            )),
        ));
    }
    if !spec.allow_unknown && args.iter().any(|a| !a.is_wholly_known()) {
        let sensitive = args.iter().any(Value::contains_sensitive);
        return Ok(Value::Unknown(spec.returns.clone()).marked_if(sensitive));
    }
    let mut sensitive = false;
    let plain: Vec<Value> = match spec.marks {
        Marks::Keep => args.to_vec(),
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
    (spec.imp)(ctx, &plain)
        // Every result is held to the limits, whether or not the function
        // could check its size before building it.
        .and_then(|v| limits::check_value(&v).map(|()| v).map_err(FuncError::new))
        .map(|v| v.marked_if(sensitive))
        .map_err(|e| {
            let marked: Vec<bool> = args.iter().map(Value::contains_sensitive).collect();
            e.without_secrets(spec, args, &marked)
        })
}

/// Argument accessors shared by the implementations: each converts the
/// argument as Terraform would and names it in the error.
pub(crate) mod args {
    use super::{FuncError, Message};
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
        to_primitive(v, want).map_err(|e| FuncError::arg(i, Message::text(e)))
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
                Message::text(format!(
                    "{} required",
                    constraint_name(&Type::list(elem.clone()))
                )),
            ));
        };
        items
            .iter()
            .enumerate()
            .map(|(n, item)| {
                to_primitive(item, elem)
                    .map_err(|e| FuncError::arg(i, Message::text(format!("element {n}: {e}"))))
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
                FuncError::arg(i, Message::conversion(i, &e))
            } else if kind_matches {
                let kind = if matches!(want, Type::Map(_)) {
                    "map"
                } else {
                    "list"
                };
                FuncError::arg(
                    i,
                    Message::text(format!("all {kind} elements must have the same type")),
                )
            } else {
                FuncError::arg(
                    i,
                    Message::text(format!("{} required", constraint_name(want))),
                )
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

#[cfg(test)]
mod tests {
    use super::testing::call_named;
    use super::*;
    use crate::lang::number::Number;
    use std::collections::BTreeMap;

    /// Arguments that make functions fail, built around a secret `word`.
    /// Two words with the same shape (case, digits, length) give two sets
    /// of arguments that fail in the same ways.
    fn secret_shapes(word: &str, number: i64) -> Vec<Value> {
        let string = |s: String| Value::from(s).mark_sensitive();
        let entries = |v: Value| BTreeMap::from([(word.to_string(), v)]);
        vec![
            string(word.to_string()),
            string(format!("{word}(")),
            string(format!("10.0.0.0/{word}")),
            string(format!("{{\"{word}\": tru}}")),
            string(format!("%{word}")),
            string(format!("{word}/missing.tpl")),
            string(format!("{word}==")),
            Value::from(number).mark_sensitive(),
            Value::number(Number::parse(&format!("{number}.5")).unwrap_or_default())
                .mark_sensitive(),
            Value::tuple(vec![word.into(), "x".into()]).mark_sensitive(),
            Value::list(Type::String, vec![word.into(), "x".into()]).mark_sensitive(),
            Value::set(Type::String, vec![word.into()]).mark_sensitive(),
            Value::map(Type::String, entries(word.into())).mark_sensitive(),
            Value::object(entries(Value::from(number))).mark_sensitive(),
            // Sensitive inside, not as a whole.
            Value::tuple(vec![Value::from(word).mark_sensitive(), 1.into()]),
            Value::object(BTreeMap::from([(
                "k".to_string(),
                Value::from(word).mark_sensitive(),
            )])),
        ]
    }

    fn plain_arguments() -> Vec<Value> {
        vec![
            Value::from("x"),
            Value::from("10.0.0.0/24"),
            Value::from(2),
            Value::from(-1),
            Value::Bool(true),
            Value::NULL,
            Value::tuple(vec![]),
            Value::list(Type::String, vec!["a".into(), "b".into()]),
            Value::map(Type::String, BTreeMap::from([("a".into(), "b".into())])),
            Value::object(BTreeMap::from([("a".into(), 1.into())])),
        ]
    }

    /// Every way to call `spec` with one to three arguments of which at
    /// least one comes from `secret` (index into the shapes) and the rest
    /// from `plain`; with three arguments only one is secret, to keep the
    /// count down.
    fn argument_lists(spec: &FuncSpec, shapes: usize, plain: usize) -> Vec<Vec<(bool, usize)>> {
        let min = spec.min_args();
        let max = if spec.variadic() {
            (min + 1).min(3)
        } else {
            spec.params.len().min(3)
        };
        let mut lists = Vec::new();
        for n in min.max(1)..=max {
            let mut list: Vec<Vec<(bool, usize)>> = vec![Vec::new()];
            for _ in 0..n {
                list = list
                    .into_iter()
                    .flat_map(|prefix| {
                        let secrets = (0..shapes).map(|i| (true, i));
                        let plains = (0..plain).map(|i| (false, i));
                        secrets.chain(plains).map(move |arg| {
                            let mut next = prefix.clone();
                            next.push(arg);
                            next
                        })
                    })
                    .filter(|l| n < 3 || l.iter().filter(|(s, _)| *s).count() <= 1)
                    .collect();
            }
            lists.extend(list.into_iter().filter(|l| l.iter().any(|(s, _)| *s)));
        }
        lists
    }

    /// No function's error says anything about the content of a
    /// sensitive argument: the same call with a secret of the same shape
    /// but other letters and digits fails with the very same message, and
    /// the message holds neither secret.
    #[test]
    fn no_error_message_depends_on_a_sensitive_argument() {
        let (word_a, number_a) = ("Kpqz7Rvtm", 7351);
        let (word_b, number_b) = ("Wxyn3Hlsj", 4862);
        let shapes_a = secret_shapes(word_a, number_a);
        let shapes_b = secret_shapes(word_b, number_b);
        let plain = plain_arguments();
        let mut checked = 0;
        for name in names() {
            let Some(spec) = lookup(name) else { continue };
            for list in argument_lists(spec, shapes_a.len(), plain.len()) {
                let pick = |shapes: &[Value]| -> Vec<Value> {
                    list.iter()
                        .map(|&(secret, i)| {
                            if secret {
                                shapes[i].clone()
                            } else {
                                plain[i].clone()
                            }
                        })
                        .collect()
                };
                let (Err(a), Err(b)) = (
                    call_named(name, &pick(&shapes_a)),
                    call_named(name, &pick(&shapes_b)),
                ) else {
                    continue;
                };
                checked += 1;
                for secret in [word_a, word_b, "7351", "4862"] {
                    assert!(
                        !a.message.contains(secret) && !b.message.contains(secret),
                        "{name}{:?}: {}",
                        pick(&shapes_a),
                        a.message
                    );
                }
                assert_eq!(a, b, "{name}{:?}", pick(&shapes_a));
            }
        }
        assert!(checked > 1000, "only {checked} failing calls");
    }

    #[track_caller]
    fn message(name: &str, args: &[Value]) -> String {
        match call_named(name, args) {
            Err(e) => e.message,
            Ok(v) => panic!("{name} succeeded with {v:?}"),
        }
    }

    #[test]
    fn a_sensitive_argument_is_described_by_its_type() {
        let secret = || Value::from("hunter2").mark_sensitive();
        assert_eq!(
            message("tonumber", &[secret()]),
            "cannot convert this sensitive string to number; given string must be a decimal representation of a number"
        );
        assert_eq!(
            message("tonumber", &[Value::from("hunter2")]),
            "cannot convert \"hunter2\" to number; given string must be a decimal representation of a number"
        );
        assert_eq!(
            message("tobool", &[secret()]),
            "cannot convert this sensitive string to bool; only the strings \"true\" or \"false\" are allowed"
        );
        assert_eq!(
            message("parseint", &[secret(), 10.into()]),
            "cannot parse this sensitive string as a base 10 integer"
        );
        assert_eq!(
            message("base64decode", &[secret()]),
            "failed to decode base64 data this sensitive string"
        );
        assert_eq!(
            message("cidrhost", &[secret(), 1.into()]),
            "invalid CIDR expression: invalid CIDR address: this sensitive string"
        );
        assert_eq!(
            message(
                "lookup",
                &[
                    Value::map(Type::String, BTreeMap::from([("a".into(), "b".into())])),
                    secret()
                ]
            ),
            "lookup failed to find key this sensitive string"
        );
        // The key is not the secret: it is shown.
        let secret_map = Value::map(Type::String, BTreeMap::from([("a".into(), "pw".into())]));
        assert_eq!(
            message("lookup", &[secret_map.mark_sensitive(), "zz".into()]),
            "lookup failed to find key \"zz\""
        );
        assert_eq!(
            message("regex", &[Value::from("(x").mark_sensitive(), "x".into()]),
            "invalid regexp pattern"
        );
        assert_eq!(
            message("file", &[secret()]),
            "no file exists at this sensitive string; this function works only with files that are distributed as part of the configuration source code, so if this file will be created by a resource in this configuration you must instead obtain this result from an attribute of that resource"
        );
    }

    #[test]
    fn a_message_that_could_quote_a_secret_is_withheld() {
        let e = call_named("jsondecode", &[Value::from("{hunter2").mark_sensitive()])
            .expect_err("invalid JSON");
        assert_eq!(e.arg, None);
        assert_eq!(
            e.message,
            "the details are not shown, as they could reveal the sensitive string given for \"str\""
        );
        let e = call_named(
            "cidrhost",
            &[
                Value::from("10.0.0.0/24"),
                Value::from(9999).mark_sensitive(),
            ],
        )
        .expect_err("too big");
        assert_eq!(
            e.message,
            "the details are not shown, as they could reveal the sensitive number given for \"hostnum\""
        );
        // Without a sensitive argument the message is the function's.
        let e = call_named("cidrhost", &[Value::from("10.0.0.0/24"), 9999.into()])
            .expect_err("too big");
        assert_eq!(
            e.message,
            "prefix of 24 does not accommodate a host numbered 9999"
        );
    }
}
