//! The verb language of `format` and `formatlist`.
//!
//! Terraform's verbs look like Go's `fmt` verbs but are a language of
//! their own: a verb is `%`, flags (` +-#0`), a width, an optional
//! argument index `[n]`, an optional precision `.p` and a letter. Values
//! are converted to what the verb needs (`%d` takes `"12"`), `%v` prints
//! strings as they are and collections as JSON, and numbers print from
//! their decimal digits, so `%d` of `1e20` shows all 21 digits.

use super::args::to_primitive;
use super::encoding::json_text;
use crate::lang::number::Number;
use crate::lang::value::{Type, Value};

/// Why a format string could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FormatError {
    /// The format string or an argument is at fault; Terraform reports
    /// these as a failed call.
    Call(String),
    /// Arguments were left over; Terraform blames the `args` parameter.
    TooMany { used: usize },
}

impl FormatError {
    pub(super) fn message(&self) -> String {
        match self {
            FormatError::Call(m) => m.clone(),
            FormatError::TooMany { used } => {
                format!("too many arguments; only {used} used by format string")
            }
        }
    }
}

/// The largest width or precision: far beyond any real use, small enough
/// that a typo cannot exhaust memory.
const MAX_PADDING: usize = 10_000_000;

#[derive(Default, Debug)]
struct Spec {
    minus: bool,
    plus: bool,
    space: bool,
    sharp: bool,
    zero: bool,
    width: Option<usize>,
    precision: Option<usize>,
}

/// Formats `args` by `fmt`. Arguments must be wholly known.
pub(super) fn format(fmt: &str, args: &[Value]) -> Result<String, FormatError> {
    let bytes = fmt.as_bytes();
    let mut out = String::with_capacity(fmt.len());
    let mut pos = 0;
    let mut next_arg = 0;
    let mut used = 0;
    while let Some(found) = fmt[pos..].find('%') {
        let start = pos + found;
        out.push_str(&fmt[pos..start]);
        let mut j = start + 1;
        if bytes.get(j) == Some(&b'%') {
            out.push('%');
            pos = j + 1;
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&b) = bytes.get(j) {
            match b {
                b'-' => spec.minus = true,
                b'+' => spec.plus = true,
                b' ' => spec.space = true,
                b'#' => spec.sharp = true,
                b'0' => spec.zero = true,
                _ => break,
            }
            j += 1;
        }
        if matches!(bytes.get(j), Some(b'1'..=b'9')) {
            spec.width = Some(read_digits(bytes, &mut j));
        }
        let mut explicit = None;
        if bytes.get(j) == Some(&b'[') {
            j += 1;
            if !matches!(bytes.get(j), Some(b'1'..=b'9')) {
                return Err(unexpected(fmt, j));
            }
            explicit = Some(read_digits(bytes, &mut j));
            if bytes.get(j) != Some(&b']') {
                return Err(unexpected(fmt, j));
            }
            j += 1;
        }
        if bytes.get(j) == Some(&b'.') {
            j += 1;
            spec.precision = Some(read_digits(bytes, &mut j));
        }
        let Some(verb) = fmt[j..].chars().next() else {
            return Err(unexpected(fmt, j));
        };
        if !verb.is_ascii_alphabetic() {
            return Err(unexpected(fmt, j));
        }
        let verb_text = &fmt[start..j + 1];
        pos = j + 1;
        if spec.width.max(spec.precision).unwrap_or(0) > MAX_PADDING {
            return Err(FormatError::Call(format!(
                "width or precision of {verb_text:?} at offset {start} is too large"
            )));
        }

        let index = explicit.map_or(next_arg, |n| n - 1);
        next_arg = index + 1;
        let Some(arg) = args.get(index) else {
            return Err(FormatError::Call(format!(
                "not enough arguments for {verb_text:?} at {start}: need index {} but have {} total",
                index + 1,
                args.len()
            )));
        };
        used = used.max(index + 1);
        let text = format_verb(verb, &spec, arg).map_err(|e| match e {
            VerbError::Unsupported => FormatError::Call(format!(
                "unsupported format verb '{verb}' in {verb_text:?} at offset {start}"
            )),
            VerbError::Value(m) => FormatError::Call(format!(
                "unsupported value for {verb_text:?} at {start}: {m}"
            )),
        })?;
        // Each verb is padded at most `MAX_PADDING`, but a format may
        // hold many verbs.
        crate::lang::limits::check_string(out.len().saturating_add(text.len()))
            .map_err(FormatError::Call)?;
        out.push_str(&text);
    }
    out.push_str(&fmt[pos..]);
    if used < args.len() {
        return Err(FormatError::TooMany { used });
    }
    Ok(out)
}

fn read_digits(bytes: &[u8], j: &mut usize) -> usize {
    let mut n: usize = 0;
    while let Some(d) = bytes.get(*j).filter(|b| b.is_ascii_digit()) {
        n = n.saturating_mul(10).saturating_add(usize::from(d - b'0'));
        *j += 1;
    }
    n
}

/// The error for a character that cannot continue a verb at byte `j`
/// (or for a format string that ends inside a verb).
fn unexpected(fmt: &str, j: usize) -> FormatError {
    match fmt[j..].chars().next() {
        Some(c) => FormatError::Call(format!("unrecognized format character '{c}' at offset {j}")),
        None => FormatError::Call(format!("invalid format string starting at offset {j}")),
    }
}

enum VerbError {
    Unsupported,
    Value(String),
}

fn format_verb(verb: char, spec: &Spec, arg: &Value) -> Result<String, VerbError> {
    let null = || VerbError::Value("null value cannot be formatted".into());
    let convert = |ty: &Type| to_primitive(arg, ty).map_err(VerbError::Value);
    match verb {
        'v' => {
            let text = if spec.sharp {
                json_text(arg)
            } else {
                match arg {
                    Value::Null(_) => "null".into(),
                    Value::String(s) => s.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => format_float(n.clone(), 'g', None),
                    other => json_text(other),
                }
            };
            Ok(pad(text, spec, spec.zero))
        }
        't' => {
            if arg.is_null() {
                return Err(null());
            }
            // Width and precision do not apply to %t.
            Ok(convert(&Type::Bool)?
                .as_bool()
                .unwrap_or_default()
                .to_string())
        }
        's' | 'q' => {
            if arg.is_null() {
                return Err(null());
            }
            let s = convert(&Type::String)?;
            let s = s.as_str().unwrap_or_default();
            let s = match spec.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s.to_string(),
            };
            let text = if verb == 'q' {
                json_text(&Value::string(s))
            } else {
                s
            };
            Ok(pad(text, spec, spec.zero))
        }
        'd' | 'b' | 'o' | 'x' | 'X' => {
            if arg.is_null() {
                return Err(null());
            }
            let n = convert(&Type::Number)?.as_number().unwrap_or_default();
            let i = n
                .is_integer()
                .then(|| n.to_string().parse::<i128>().ok())
                .flatten()
                .ok_or_else(|| VerbError::Value("an integer is required".into()))?;
            Ok(format_integer(i, verb, spec))
        }
        'e' | 'E' | 'f' | 'g' | 'G' => {
            if arg.is_null() {
                return Err(null());
            }
            let n = convert(&Type::Number)?.as_number().unwrap_or_default();
            let body = format_float(n, verb, spec.precision);
            let (sign, digits) = match body.strip_prefix('-') {
                Some(rest) => ("-", rest.to_string()),
                None if spec.plus => ("+", body),
                None if spec.space => (" ", body),
                None => ("", body),
            };
            let fill = spec
                .width
                .unwrap_or(0)
                .saturating_sub(sign.len() + digits.len());
            // Zero padding wins over '-' for numbers of this kind.
            Ok(if spec.zero {
                format!("{sign}{}{digits}", "0".repeat(fill))
            } else if spec.minus {
                format!("{sign}{digits}{}", " ".repeat(fill))
            } else {
                format!("{}{sign}{digits}", " ".repeat(fill))
            })
        }
        _ => Err(VerbError::Unsupported),
    }
}

/// Pads `text` to the width in characters: on the right with '-', else on
/// the left with zeros or spaces.
fn pad(text: String, spec: &Spec, zero: bool) -> String {
    let len = text.chars().count();
    let Some(fill) = spec.width.and_then(|w| w.checked_sub(len)) else {
        return text;
    };
    if spec.minus {
        format!("{text}{}", " ".repeat(fill))
    } else if zero {
        format!("{}{text}", "0".repeat(fill))
    } else {
        format!("{}{text}", " ".repeat(fill))
    }
}

fn format_integer(i: i128, verb: char, spec: &Spec) -> String {
    let magnitude = i.unsigned_abs();
    let mut digits = match verb {
        'b' => format!("{magnitude:b}"),
        'o' => format!("{magnitude:o}"),
        'x' => format!("{magnitude:x}"),
        'X' => format!("{magnitude:X}"),
        _ => magnitude.to_string(),
    };
    let sign = if i < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let prefix = match (spec.sharp, verb) {
        (true, 'b') => "0b",
        (true, 'o') => "0",
        (true, 'x') => "0x",
        (true, 'X') => "0X",
        _ => "",
    };
    let mut zeros = 0;
    if let Some(p) = spec.precision {
        if magnitude == 0 && p == 0 {
            // An explicit zero precision prints nothing for zero.
            digits.clear();
        }
        zeros = p.saturating_sub(digits.len());
    }
    let len = sign.len() + prefix.len() + zeros + digits.len();
    let fill = spec.width.unwrap_or(0).saturating_sub(len);
    let (mut left, mut right) = (0, 0);
    if spec.minus {
        right = fill;
    } else if spec.zero && spec.precision.is_none() {
        zeros += fill;
    } else {
        left = fill;
    }
    format!(
        "{}{sign}{prefix}{}{digits}{}",
        " ".repeat(left),
        "0".repeat(zeros),
        " ".repeat(right)
    )
}

/// A number as decimal digits: `0.mant × 10^exp`, without leading or
/// trailing zeros in `mant` (empty for zero).
struct Digits {
    negative: bool,
    mant: Vec<u8>,
    exp: i64,
}

impl Digits {
    fn of(n: Number) -> Digits {
        let text = n.to_string();
        let (negative, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest.to_string()),
            None => (false, text),
        };
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let all: Vec<u8> = int.bytes().chain(frac.bytes()).collect();
        let lead = all.iter().take_while(|&&d| d == b'0').count();
        let mut mant = all[lead..].to_vec();
        while mant.last() == Some(&b'0') {
            mant.pop();
        }
        let exp = int.len() as i64 - lead as i64;
        if mant.is_empty() {
            return Digits {
                negative: false,
                mant,
                exp: 0,
            };
        }
        Digits {
            negative,
            mant,
            exp,
        }
    }

    /// Rounds to `n` significant digits, half to even.
    fn round(&mut self, n: i64) {
        let Ok(n) = usize::try_from(n) else {
            return;
        };
        if n >= self.mant.len() {
            return;
        }
        let up = if self.mant[n] == b'5' && n + 1 == self.mant.len() {
            // A tie in the decimal digits. Terraform holds numbers in
            // binary, where most decimals are a little above or below
            // what they look like: that decides, and half to even only
            // when the binary value is exactly the decimal one.
            self.binary_above()
                .unwrap_or(n > 0 && (self.mant[n - 1] - b'0') % 2 == 1)
        } else {
            self.mant[n] >= b'5'
        };
        self.mant.truncate(n);
        if up {
            let mut k = n;
            while k > 0 && self.mant[k - 1] == b'9' {
                k -= 1;
            }
            if k == 0 {
                self.mant = vec![b'1'];
                self.exp += 1;
                return;
            }
            self.mant.truncate(k);
            self.mant[k - 1] += 1;
        }
        while self.mant.last() == Some(&b'0') {
            self.mant.pop();
        }
    }

    /// Whether the number as Terraform stores it (a binary float of
    /// `BINARY_PRECISION` bits, rounded to nearest even) is above these
    /// decimal digits; `None` when it is exactly them.
    fn binary_above(&self) -> Option<bool> {
        let places = u32::try_from(self.mant.len() as i64 - self.exp).ok()?;
        // Whole numbers (places 0) fit the precision exactly.
        if places == 0 || places > 36 {
            return None;
        }
        let digits = std::str::from_utf8(&self.mant).ok()?;
        let n: u128 = digits.parse().ok()?;
        let m = 10u128.pow(places);
        // n / 10^p is a binary fraction exactly when 5^p divides n.
        if n.is_multiple_of(5u128.pow(places)) {
            return None;
        }
        // The binary exponent e of the value (2^e <= n/m < 2^(e+1)).
        let bits = |x: u128| 127 - i64::from(x.leading_zeros());
        let guess = bits(n) - bits(m);
        // Whether n/m >= 2^e; a product too big for u128 is bigger than
        // the other side.
        let at_least = |e: i64| {
            let power = 1u128.checked_shl(e.unsigned_abs() as u32);
            if e >= 0 {
                power
                    .and_then(|p| m.checked_mul(p))
                    .is_some_and(|scaled| n >= scaled)
            } else {
                power
                    .and_then(|p| n.checked_mul(p))
                    .is_none_or(|scaled| scaled >= m)
            }
        };
        let e = if at_least(guess) { guess } else { guess - 1 };
        // Scaled so the integer part has exactly the precision's bits,
        // the value's fraction part is (n·2^shift mod m)/m; the binary
        // value rounds up from the decimal one when that is above 1/2.
        let shift = BINARY_PRECISION - 1 - e;
        let remainder = mul_mod(n % m, pow2_mod(shift, m), m);
        Some(2 * remainder > m)
    }

    fn digit_at(&self, i: i64) -> char {
        usize::try_from(i)
            .ok()
            .and_then(|i| self.mant.get(i))
            .map_or('0', |&d| char::from(d))
    }

    fn fixed(&self, precision: usize) -> String {
        let mut out = String::new();
        if self.exp > 0 {
            for i in 0..self.exp {
                out.push(self.digit_at(i));
            }
        } else {
            out.push('0');
        }
        if precision > 0 {
            out.push('.');
            for i in 0..precision as i64 {
                out.push(self.digit_at(self.exp + i));
            }
        }
        out
    }

    fn scientific(&self, precision: usize, e: char) -> String {
        let mut out = String::new();
        out.push(self.digit_at(0));
        if precision > 0 {
            out.push('.');
            for i in 1..=precision as i64 {
                out.push(self.digit_at(i));
            }
        }
        let exp = if self.mant.is_empty() {
            0
        } else {
            self.exp - 1
        };
        let sign = if exp < 0 { '-' } else { '+' };
        out.push(e);
        out.push(sign);
        out.push_str(&format!("{:02}", exp.abs()));
        out
    }
}

/// The bits of precision of Terraform's numbers.
const BINARY_PRECISION: i64 = 512;

/// 2^e mod m, for m below 2^126.
fn pow2_mod(e: i64, m: u128) -> u128 {
    (0..e).fold(1 % m, |p, _| (p << 1) % m)
}

/// a·b mod m without overflow, for a, b < m below 2^126.
fn mul_mod(a: u128, b: u128, m: u128) -> u128 {
    (0..128).rev().fold(0, |acc, bit| {
        let doubled = (acc << 1) % m;
        if b >> bit & 1 == 1 {
            (doubled + a) % m
        } else {
            doubled
        }
    })
}

/// `%e`, `%f` and `%g` (and `%v` of a number, which is `%g` with the
/// shortest precision): decimal rounding of the number's digits.
fn format_float(n: Number, verb: char, precision: Option<usize>) -> String {
    let mut d = Digits::of(n);
    let e = if verb.is_ascii_uppercase() { 'E' } else { 'e' };
    let body = match verb {
        'e' | 'E' => {
            let p = precision.unwrap_or(6);
            d.round(1 + p as i64);
            d.scientific(p, e)
        }
        'f' => {
            let p = precision.unwrap_or(6);
            d.round(d.exp + p as i64);
            d.fixed(p)
        }
        _ => {
            let shortest = precision.is_none();
            let mut p = match precision {
                Some(0) => 1,
                Some(p) => p,
                None => d.mant.len(),
            };
            d.round(p as i64);
            let mut exponent_limit = p as i64;
            if shortest {
                exponent_limit = 6;
            } else if exponent_limit > d.mant.len() as i64 && d.mant.len() as i64 >= d.exp {
                exponent_limit = d.mant.len() as i64;
            }
            let exp = d.exp - 1;
            if exp < -4 || exp >= exponent_limit {
                p = p.min(d.mant.len());
                d.scientific(p.saturating_sub(1), e)
            } else {
                if p as i64 > d.exp {
                    p = d.mant.len();
                }
                d.fixed((p as i64 - d.exp).max(0) as usize)
            }
        }
    };
    if d.negative { format!("-{body}") } else { body }
}
