//! Built-in functions of the configuration language.
//!
//! Each function is a plain `fn` over already-evaluated arguments. The
//! machinery here does what every function needs, once: arity checks,
//! sensitive marks (arguments arrive unmarked; the result is marked when
//! any argument was) and unknown arguments (the result is unknown unless
//! the function declares it can look inside unknowns).
//!
//! `try` and `can` are not here: they must see errors of their argument
//! expressions, so the evaluator implements them.

mod collections;
mod encoding;
mod filesystem;
mod network;
mod numeric;
mod strings;

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
}

impl FuncError {
    pub fn new(message: impl Into<String>) -> FuncError {
        FuncError {
            arg: None,
            message: message.into(),
        }
    }

    pub fn arg(index: usize, message: impl Into<String>) -> FuncError {
        FuncError {
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
    pub imp: FuncImpl,
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
    if args.len() < min || !spec.variadic() && args.len() > spec.params.len() {
        let expected = if spec.variadic() {
            format!("at least {min}")
        } else {
            format!("exactly {}", spec.params.len())
        };
        let noun = if spec.variadic() && min == 1 || !spec.variadic() && spec.params.len() == 1 {
            "argument"
        } else {
            "arguments"
        };
        return Err(FuncError::new(format!(
            "Function \"{}\" expects {expected} {noun}, but {} {} given.",
            spec.name,
            args.len(),
            if args.len() == 1 { "was" } else { "were" }
        )));
    }
    let mut sensitive = false;
    let plain: Vec<Value> = args
        .iter()
        .map(|a| {
            let (v, marked) = a.unmark_deep();
            sensitive |= marked;
            v
        })
        .collect();
    if !spec.allow_unknown && plain.iter().any(|a| !a.is_wholly_known()) {
        return Ok(Value::Unknown(spec.returns.clone()).marked_if(sensitive));
    }
    (spec.imp)(ctx, &plain).map(|v| v.marked_if(sensitive))
}

/// Argument accessors shared by the implementations: each converts the
/// argument as Terraform would and names it in the error.
#[allow(dead_code)] // used by the function files as they grow
pub(crate) mod args {
    use super::FuncError;
    use crate::lang::convert::convert;
    use crate::lang::number::Number;
    use crate::lang::value::{Type, Value};

    pub fn string(args: &[Value], i: usize) -> Result<String, FuncError> {
        let v = &args[i];
        if v.is_null() {
            return Err(FuncError::arg(i, "argument must not be null"));
        }
        match convert(v, &Type::String) {
            Ok(s) => Ok(s.as_str().unwrap_or_default().to_string()),
            Err(e) => Err(FuncError::arg(i, e.to_string())),
        }
    }

    pub fn number(args: &[Value], i: usize) -> Result<Number, FuncError> {
        let v = &args[i];
        if v.is_null() {
            return Err(FuncError::arg(i, "argument must not be null"));
        }
        match convert(v, &Type::Number) {
            Ok(n) => Ok(n.as_number().unwrap_or_default()),
            Err(e) => Err(FuncError::arg(i, e.to_string())),
        }
    }

    pub fn integer(args: &[Value], i: usize) -> Result<i64, FuncError> {
        let n = number(args, i)?;
        n.to_i64()
            .ok_or_else(|| FuncError::arg(i, "value must be a whole number"))
    }

    pub fn bool(args: &[Value], i: usize) -> Result<bool, FuncError> {
        let v = &args[i];
        if v.is_null() {
            return Err(FuncError::arg(i, "argument must not be null"));
        }
        match convert(v, &Type::Bool) {
            Ok(b) => Ok(b.as_bool().unwrap_or_default()),
            Err(e) => Err(FuncError::arg(i, e.to_string())),
        }
    }
}

#[cfg(test)]
#[allow(dead_code)]
pub(crate) mod testing {
    use super::*;

    /// Calls a built-in by name with a base directory of `.`.
    pub fn call_named(name: &str, args: &[Value]) -> Result<Value, FuncError> {
        let spec = lookup(name).unwrap_or_else(|| panic!("no function {name}"));
        call(
            spec,
            &FuncContext {
                base_dir: Path::new("."),
            },
            args,
        )
    }
}
