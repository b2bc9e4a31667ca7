//! Numeric functions: min, max, abs, ceil, floor, signum, pow, log and
//! parseint.
//!
//! `pow` and `log` compute in binary floating point, as Terraform does,
//! so `log(1000, 10)` is 2.9999999999999996 here too.

use super::{FuncContext, FuncError, FuncSpec, Marks, Message, args};
use crate::lang::number::{Number, NumberError};
use crate::lang::value::{Type, Value};

pub(super) static FUNCTIONS: &[&FuncSpec] = &[
    &ABS, &CEIL, &FLOOR, &LOG, &MAX, &MIN, &PARSEINT, &POW, &SIGNUM,
];

macro_rules! number_function {
    ($static:ident, $name:literal, [$($param:literal),*], $imp:ident) => {
        static $static: FuncSpec = FuncSpec {
            name: $name,
            params: &[$($param),*],
            allow_unknown: false,
            returns: Type::Number,
            marks: Marks::Strip,
            imp: $imp,
        };
    };
}

fn out_of_range(e: NumberError) -> FuncError {
    FuncError::new(e.to_string())
}

number_function!(MIN, "min", ["numbers..."], min);
fn min(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    extreme(a, |candidate, best| candidate.compare(best).is_lt())
}

number_function!(MAX, "max", ["numbers..."], max);
fn max(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    extreme(a, |candidate, best| candidate.compare(best).is_gt())
}

fn extreme(a: &[Value], better: fn(&Number, &Number) -> bool) -> Result<Value, FuncError> {
    if a.is_empty() {
        return Err(FuncError::new("must pass at least one number"));
    }
    let mut best = args::number(a, 0)?;
    for i in 1..a.len() {
        let n = args::number(a, i)?;
        if better(&n, &best) {
            best = n;
        }
    }
    Ok(Value::Number(best))
}

number_function!(ABS, "abs", ["num"], abs);
fn abs(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Number(args::number(a, 0)?.abs()))
}

number_function!(CEIL, "ceil", ["num"], ceil);
fn ceil(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Number(args::number(a, 0)?.ceil()))
}

number_function!(FLOOR, "floor", ["num"], floor);
fn floor(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::Number(args::number(a, 0)?.floor()))
}

number_function!(SIGNUM, "signum", ["num"], signum);
/// -1, 0 or 1; Terraform accepts only whole numbers here.
fn signum(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::from(args::integer(a, 0)?.signum()))
}

/// A binary floating-point result as a number, through its shortest
/// decimal form (what Terraform stores for such results).
fn from_float(f: f64) -> Result<Value, FuncError> {
    if !f.is_finite() {
        return Err(FuncError::new("the result is not a finite number"));
    }
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| out_of_range(NumberError::Overflow))
}

number_function!(POW, "pow", ["num", "power"], pow);
fn pow(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let num = args::number(a, 0)?.to_f64();
    let power = args::number(a, 1)?.to_f64();
    from_float(num.powf(power))
}

number_function!(LOG, "log", ["num", "base"], log);
fn log(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let num = args::number(a, 0)?.to_f64();
    let base = args::number(a, 1)?.to_f64();
    from_float(num.ln() / base.ln())
}

number_function!(PARSEINT, "parseint", ["number", "base"], parseint);
/// An integer written in base 2 to 62, with an optional sign. Up to base
/// 36 letters are digits regardless of case; above, lowercase letters
/// come first (a = 10) and uppercase after (A = 36).
fn parseint(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let text = match &a[0] {
        Value::String(s) => s.to_string(),
        Value::Null(_) => return Err(FuncError::arg(0, "argument must not be null")),
        other => {
            return Err(FuncError::arg(
                0,
                Message::text(format!(
                    "first argument must be a string, not {}",
                    other.type_of().friendly_name()
                )),
            ));
        }
    };
    let base = args::number(a, 1)?
        .to_i64()
        .ok_or_else(|| FuncError::arg(1, args::NOT_AN_INTEGER))?;
    if !(2..=62).contains(&base) {
        return Err(FuncError::arg(
            1,
            "base must be a whole number between 2 and 62 inclusive",
        ));
    }
    let cannot = || {
        FuncError::arg(
            0,
            Message::text("cannot parse ")
                .quoted(0, &text)
                .then(" as a base ")
                .value(1, base.to_string(), &Type::Number)
                .then(" integer"),
        )
    };
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text.as_str()),
    };
    if digits.is_empty() {
        return Err(cannot());
    }
    let base_number = Number::from_i64(base);
    let mut n = Number::zero();
    for c in digits.chars() {
        let digit = match c {
            '0'..='9' => u32::from(c) - u32::from('0'),
            'a'..='z' => u32::from(c) - u32::from('a') + 10,
            'A'..='Z' if base <= 36 => u32::from(c) - u32::from('A') + 10,
            'A'..='Z' => u32::from(c) - u32::from('A') + 36,
            _ => return Err(cannot()),
        };
        if i64::from(digit) >= base {
            return Err(cannot());
        }
        n = n
            .checked_mul(&base_number)
            .and_then(|n| n.checked_add(&Number::from_i64(i64::from(digit))))
            .map_err(out_of_range)?;
    }
    Ok(Value::Number(if negative { n.negate() } else { n }))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, err};
    use super::*;

    fn n(text: &str) -> Value {
        Value::Number(Number::parse(text).unwrap())
    }

    #[test]
    fn min_and_max() {
        assert_eq!(call("min", &[3.into(), 1.into(), 2.into()]), n("1"));
        assert_eq!(call("max", &[n("1.5"), 2.into()]), n("2"));
        assert_eq!(call("min", &["3".into(), 10.into()]), n("3"));
        assert_eq!(call("max", &[1.into()]).type_of(), Type::Number);
        assert_eq!(
            err("min", &[]),
            FuncError::new("must pass at least one number")
        );
        assert_eq!(
            err("max", &["x".into()]),
            FuncError::arg(0, "a number is required")
        );
        assert_eq!(
            err("max", &[1.into(), Value::Bool(true)]),
            FuncError::arg(1, "number required")
        );
    }

    #[test]
    fn rounding_and_sign() {
        assert_eq!(call("abs", &[(-3).into()]), n("3"));
        assert_eq!(call("abs", &[n("-1.5")]), n("1.5"));
        assert_eq!(call("ceil", &[n("1.2")]), n("2"));
        assert_eq!(call("ceil", &[n("-0.5")]), n("0"));
        assert_eq!(call("floor", &[n("-1.2")]), n("-2"));
        assert_eq!(call("ceil", &[n("1e20")]), n("100000000000000000000"));
        assert_eq!(call("signum", &[(-5).into()]), n("-1"));
        assert_eq!(call("signum", &[0.into()]), n("0"));
        assert_eq!(
            err("signum", &[n("0.1")]),
            FuncError::new(args::NOT_AN_INTEGER)
        );
        assert_eq!(
            err("abs", &[Value::Null(Type::Number)]),
            FuncError::arg(0, "argument must not be null")
        );
        for name in ["ceil", "floor"] {
            assert_eq!(
                err(name, &[Value::from("x")]),
                FuncError::arg(0, "a number is required"),
                "{name}"
            );
        }
    }

    #[test]
    fn pow_and_log_are_floating_point() {
        assert_eq!(call("pow", &[2.into(), 10.into()]), n("1024"));
        assert_eq!(call("pow", &[2.into(), n("0.5")]), n("1.4142135623730951"));
        assert_eq!(call("pow", &[10.into(), (-2).into()]), n("0.01"));
        assert_eq!(call("pow", &[0.into(), 0.into()]), n("1"));
        assert_eq!(call("pow", &[n("1.1"), 2.into()]), n("1.2100000000000002"));
        assert_eq!(
            call("pow", &[3.into(), 40.into()]),
            n("12157665459056929000")
        );
        assert_eq!(call("log", &[8.into(), 2.into()]), n("3"));
        assert_eq!(
            call("log", &[1000.into(), 10.into()]),
            n("2.9999999999999996")
        );
        assert_eq!(
            call("log", &[2.into(), 10.into()]),
            n("0.30102999566398114")
        );
        assert_eq!(call("log", &[n("0.5"), 2.into()]), n("-1"));
        // Terraform fails on these too (with a Go panic).
        assert_eq!(
            err("log", &[(-1).into(), 2.into()]),
            FuncError::new("the result is not a finite number")
        );
        assert_eq!(
            err("pow", &[2.into(), "x".into()]),
            FuncError::arg(1, "a number is required")
        );
    }

    #[test]
    fn parseint_bases() {
        let s = |t: &str| Value::from(t);
        assert_eq!(call("parseint", &[s("ff"), 16.into()]), n("255"));
        assert_eq!(call("parseint", &[s("FF"), 16.into()]), n("255"));
        assert_eq!(call("parseint", &[s("-101"), 2.into()]), n("-5"));
        assert_eq!(call("parseint", &[s("zZ"), 62.into()]), n("2231"));
        assert_eq!(call("parseint", &[s("+7"), 10.into()]), n("7"));
        for bad in ["g", "", "1_0", "0x10", "-", " 1"] {
            let base = if bad == "g" || bad == "0x10" { 16 } else { 10 };
            assert_eq!(
                err("parseint", &[s(bad), base.into()]),
                FuncError::arg(0, format!("cannot parse {bad:?} as a base {base} integer"))
            );
        }
        assert_eq!(
            err("parseint", &[12.into(), 10.into()]),
            FuncError::arg(0, "first argument must be a string, not number")
        );
        assert_eq!(
            err("parseint", &[s("12"), 63.into()]),
            FuncError::arg(1, "base must be a whole number between 2 and 62 inclusive")
        );
        assert_eq!(
            err("parseint", &[s("12"), n("2.5")]),
            FuncError::arg(1, args::NOT_AN_INTEGER)
        );
    }
}
