//! Numbers of the configuration language.
//!
//! Terraform's numbers are arbitrary-precision, and users see it: a
//! 30-digit integer or `0.1 + 0.2` prints exactly. We use an
//! arbitrary-precision decimal (`bigdecimal`): every literal and every
//! sum, difference and product is exact. Quotients that do not terminate
//! keep 100 significant digits (Terraform's binary floats keep about 150,
//! so the last digits of `1/3` differ). Numbers are limited to
//! [`MAX_DIGITS`] digits so that `1e1000000000` cannot exhaust memory.

use bigdecimal::{BigDecimal, RoundingMode, ToPrimitive, Zero};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The most digits a number may have (before or after the point).
pub const MAX_DIGITS: i64 = 10_000;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Number(BigDecimal);

/// An arithmetic result that does not fit the number representation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("number is out of range")]
    Overflow,
    #[error("division by zero")]
    DivisionByZero,
}

impl Number {
    pub fn zero() -> Number {
        Number(BigDecimal::zero())
    }

    pub fn one() -> Number {
        Number(BigDecimal::from(1))
    }

    /// Parses the number syntax of the language and of `tonumber`:
    /// decimal digits with an optional fraction and exponent.
    pub fn parse(text: &str) -> Option<Number> {
        if text.is_empty() || text.starts_with('+') && text[1..].starts_with(['+', '-']) {
            return None;
        }
        let body = text.strip_prefix('+').unwrap_or(text);
        if !body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
            || !body.chars().any(|c| c.is_ascii_digit())
        {
            return None;
        }
        let value = BigDecimal::from_str(body).ok()?;
        Number::bounded(value).ok()
    }

    /// Refuses numbers too large or too small to print in full.
    fn bounded(value: BigDecimal) -> Result<Number, NumberError> {
        let (digits, scale) = value.as_bigint_and_exponent();
        let length = digits.to_string().trim_start_matches('-').len() as i64;
        // The number has `length - scale` digits before the point and
        // `scale` after it.
        if scale > MAX_DIGITS || length - scale > MAX_DIGITS {
            return Err(NumberError::Overflow);
        }
        Ok(Number(value))
    }

    pub fn from_i64(n: i64) -> Number {
        Number(BigDecimal::from(n))
    }

    pub fn from_u64(n: u64) -> Number {
        Number(BigDecimal::from(n))
    }

    pub fn from_usize(n: usize) -> Number {
        Number(BigDecimal::from(n as u64))
    }

    /// Converts a binary float through its shortest decimal representation,
    /// so that `0.1f64` becomes exactly `0.1`.
    pub fn from_f64(f: f64) -> Option<Number> {
        if !f.is_finite() {
            return None;
        }
        Number::parse(&format!("{f:e}")).or_else(|| Number::parse(&format!("{f}")))
    }

    pub fn is_integer(&self) -> bool {
        self.0.is_integer()
    }

    pub fn is_negative(&self) -> bool {
        self.0 < BigDecimal::zero()
    }

    pub fn to_i64(&self) -> Option<i64> {
        if self.is_integer() {
            self.0.to_i64()
        } else {
            None
        }
    }

    pub fn to_u64(&self) -> Option<u64> {
        if self.is_integer() {
            self.0.to_u64()
        } else {
            None
        }
    }

    pub fn to_f64(&self) -> f64 {
        self.0.to_f64().unwrap_or(f64::NAN)
    }

    pub fn checked_add(&self, other: &Number) -> Result<Number, NumberError> {
        Number::bounded(&self.0 + &other.0)
    }

    pub fn checked_sub(&self, other: &Number) -> Result<Number, NumberError> {
        Number::bounded(&self.0 - &other.0)
    }

    pub fn checked_mul(&self, other: &Number) -> Result<Number, NumberError> {
        Number::bounded(&self.0 * &other.0)
    }

    pub fn checked_div(&self, other: &Number) -> Result<Number, NumberError> {
        if other.0.is_zero() {
            return Err(NumberError::DivisionByZero);
        }
        Number::bounded((&self.0 / &other.0).normalized())
    }

    /// The remainder with the sign of the dividend, as Terraform's `%`.
    pub fn checked_rem(&self, other: &Number) -> Result<Number, NumberError> {
        if other.0.is_zero() {
            return Err(NumberError::DivisionByZero);
        }
        Number::bounded(&self.0 % &other.0)
    }

    pub fn negate(&self) -> Number {
        Number(-&self.0)
    }

    pub fn abs(&self) -> Number {
        Number(self.0.abs())
    }

    pub fn ceil(&self) -> Number {
        Number(self.0.with_scale_round(0, RoundingMode::Ceiling))
    }

    pub fn floor(&self) -> Number {
        Number(self.0.with_scale_round(0, RoundingMode::Floor))
    }

    pub fn compare(&self, other: &Number) -> Ordering {
        self.0.cmp(&other.0)
    }

    /// JSON number with the exact decimal digits (serde_json is built with
    /// `arbitrary_precision`, so the text is kept as written).
    pub fn to_json(&self) -> serde_json::Number {
        serde_json::Number::from_str(&self.to_string())
            .unwrap_or_else(|_| serde_json::Number::from(0))
    }

    pub fn from_json(n: &serde_json::Number) -> Option<Number> {
        Number::parse(&n.to_string())
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            return f.write_str("0");
        }
        f.write_str(&self.0.normalized().to_plain_string())
    }
}

impl From<i64> for Number {
    fn from(n: i64) -> Self {
        Number::from_i64(n)
    }
}

impl From<usize> for Number {
    fn from(n: usize) -> Self {
        Number::from_usize(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).expect("valid number")
    }

    #[test]
    fn decimal_literals_add_exactly() {
        assert_eq!(n("0.1").checked_add(&n("0.2")).unwrap().to_string(), "0.3");
    }

    #[test]
    fn exponents_and_large_integers_print_in_full() {
        assert_eq!(n("1e20").to_string(), "100000000000000000000");
        assert_eq!(n("9007199254740993").to_string(), "9007199254740993");
        assert_eq!(
            n("123456789012345678901234567890").to_string(),
            "123456789012345678901234567890"
        );
        assert!(
            Number::parse("1e1000000000").is_none(),
            "too many digits to print"
        );
        assert_eq!(n("1.50").to_string(), "1.5");
        assert_eq!(n("-0").to_string(), "0");
    }

    #[test]
    fn remainder_keeps_the_sign_of_the_dividend() {
        assert_eq!(n("-5").checked_rem(&n("3")).unwrap().to_string(), "-2");
        assert_eq!(n("5.5").checked_rem(&n("2")).unwrap().to_string(), "1.5");
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        for bad in ["", "abc", "1x", "0x10", "--1", "1.2.3"] {
            assert!(Number::parse(bad).is_none(), "{bad}");
        }
        assert!(
            Number::parse(" 42 ").is_none(),
            "spaces are not part of a number"
        );
        assert_eq!(n("+3").to_string(), "3");
    }

    #[test]
    fn division_by_zero_is_an_error() {
        assert_eq!(
            n("1").checked_div(&n("0")),
            Err(NumberError::DivisionByZero)
        );
    }

    #[test]
    fn json_keeps_the_digits() {
        assert_eq!(n("1e20").to_json().to_string(), "100000000000000000000");
        assert_eq!(Number::from_json(&n("2.5").to_json()), Some(n("2.5")));
    }
}
