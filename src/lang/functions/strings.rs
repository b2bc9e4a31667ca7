//! String functions: format, join, split, replace, case, trimming, regex.

use super::{FuncContext, FuncError, FuncSpec, args};
use crate::lang::value::{Type, Value};

pub(super) static FUNCTIONS: &[&FuncSpec] = &[&UPPER, &LOWER];

static UPPER: FuncSpec = FuncSpec {
    name: "upper",
    params: &["str"],
    allow_unknown: false,
    returns: Type::String,
    imp: upper,
};
fn upper(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(args::string(a, 0)?.to_uppercase()))
}

static LOWER: FuncSpec = FuncSpec {
    name: "lower",
    params: &["str"],
    allow_unknown: false,
    returns: Type::String,
    imp: lower,
};
fn lower(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(args::string(a, 0)?.to_lowercase()))
}
