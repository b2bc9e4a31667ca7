//! Collection functions: length, element, keys, values, merge, concat,
//! flatten, distinct, contains, lookup, range and the type conversions.

use super::{FuncContext, FuncError, FuncSpec};
use crate::lang::value::{Type, Value};

pub(super) static FUNCTIONS: &[&FuncSpec] = &[&LENGTH];

static LENGTH: FuncSpec = FuncSpec {
    name: "length",
    params: &["value"],
    allow_unknown: true,
    returns: Type::Number,
    keeps_marks: false,
    imp: length,
};
fn length(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let v = &a[0];
    if !v.is_known() {
        return Ok(Value::Unknown(Type::Number));
    }
    if v.is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    if let Some(s) = v.as_str() {
        return Ok(Value::from(s.chars().count() as i64));
    }
    v.length().map(|n| Value::from(n as i64)).ok_or_else(|| {
        FuncError::arg(
            0,
            "argument must be a string, a collection type, or a structural type",
        )
    })
}
