//! String functions: format, join, split, replace, case, trimming, regex.
//!
//! Terraform measures strings in grapheme clusters (what a reader sees as
//! one character: `"🇩🇪"` has length 1), and its case mappings are the
//! simple one-character ones (`upper("ß")` is `"ß"`); both are followed
//! here.

use super::format::{FormatError, format};
use super::{FuncContext, FuncError, FuncSpec, Marks, Message, args};
use crate::lang::limits;
use crate::lang::value::{Type, Value};
use regex::Regex;
use std::collections::BTreeMap;
use unicode_segmentation::UnicodeSegmentation;

pub(super) static FUNCTIONS: &[&FuncSpec] = &[
    &CHOMP,
    &ENDSWITH,
    &FORMAT,
    &FORMATLIST,
    &INDENT,
    &JOIN,
    &LOWER,
    &REGEX,
    &REGEXALL,
    &REPLACE,
    &SPLIT,
    &STARTSWITH,
    &STRREV,
    &SUBSTR,
    &TITLE,
    &TRIM,
    &TRIMPREFIX,
    &TRIMSPACE,
    &TRIMSUFFIX,
    &UPPER,
];

/// A function of strings to a string that knows nothing of unknowns.
macro_rules! string_function {
    ($static:ident, $name:literal, [$($param:literal),*], $imp:ident) => {
        static $static: FuncSpec = FuncSpec {
            name: $name,
            params: &[$($param),*],
            allow_unknown: false,
            returns: Type::String,
            marks: Marks::Strip,
            imp: $imp,
        };
    };
}

string_function!(UPPER, "upper", ["str"], upper);
fn upper(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(
        args::string(a, 0)?
            .chars()
            .map(simple_upper)
            .collect::<String>(),
    ))
}

string_function!(LOWER, "lower", ["str"], lower);
fn lower(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(
        args::string(a, 0)?
            .chars()
            .map(simple_lower)
            .collect::<String>(),
    ))
}

string_function!(TITLE, "title", ["str"], title);
/// Upper-cases (title-cases) the first letter of every word; a word
/// starts after anything that is not a letter, digit or underscore in
/// ASCII, and after white space elsewhere.
fn title(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let mut out = String::with_capacity(s.len());
    let mut after_separator = true;
    for c in s.chars() {
        out.push(if after_separator { simple_title(c) } else { c });
        after_separator = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            c.is_whitespace()
        };
    }
    Ok(Value::string(out))
}

/// The simple (one character) uppercase mapping: a character whose full
/// mapping has several characters (ß → SS) stays as it is, except the
/// Greek letters with ypogegrammeni, whose simple mapping is their
/// prosgegrammeni form.
fn simple_upper(c: char) -> char {
    match u32::from(c) {
        0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => {
            char::from_u32(u32::from(c) + 8).unwrap_or(c)
        }
        0x1FB3 => '\u{1FBC}',
        0x1FC3 => '\u{1FCC}',
        0x1FF3 => '\u{1FFC}',
        _ => single(c.to_uppercase()).unwrap_or(c),
    }
}

fn simple_lower(c: char) -> char {
    match c {
        '\u{130}' => 'i',
        _ => single(c.to_lowercase()).unwrap_or(c),
    }
}

/// The titlecase mapping, which differs from the uppercase one for the
/// Latin digraphs (ǆ → ǅ) and Georgian letters (which have no title
/// case).
fn simple_title(c: char) -> char {
    match u32::from(c) {
        0x1C4..=0x1C6 => '\u{1C5}',
        0x1C7..=0x1C9 => '\u{1C8}',
        0x1CA..=0x1CC => '\u{1CB}',
        0x1F1..=0x1F3 => '\u{1F2}',
        0x10D0..=0x10FA | 0x10FD..=0x10FF => c,
        _ => simple_upper(c),
    }
}

fn single(mut chars: impl Iterator<Item = char>) -> Option<char> {
    let first = chars.next()?;
    chars.next().is_none().then_some(first)
}

string_function!(TRIMSPACE, "trimspace", ["str"], trimspace);
fn trimspace(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(args::string(a, 0)?.trim()))
}

string_function!(TRIM, "trim", ["str", "cutset"], trim);
fn trim(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let cutset = args::string(a, 1)?;
    Ok(Value::string(s.trim_matches(|c| cutset.contains(c))))
}

string_function!(TRIMPREFIX, "trimprefix", ["str", "prefix"], trimprefix);
fn trimprefix(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let prefix = args::string(a, 1)?;
    Ok(Value::string(s.strip_prefix(&*prefix).unwrap_or(&s)))
}

string_function!(TRIMSUFFIX, "trimsuffix", ["str", "suffix"], trimsuffix);
fn trimsuffix(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let suffix = args::string(a, 1)?;
    Ok(Value::string(s.strip_suffix(&*suffix).unwrap_or(&s)))
}

string_function!(CHOMP, "chomp", ["str"], chomp);
/// Removes every line ending at the end, however many and of whatever
/// kind (`\n`, `\r\n`, `\r`).
fn chomp(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(
        args::string(a, 0)?.trim_end_matches(['\r', '\n']),
    ))
}

string_function!(INDENT, "indent", ["spaces", "str"], indent);
/// Indents every line but the first (the caller's expression is already
/// where the first line goes).
fn indent(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let spaces = args::integer(a, 0)?;
    let s = args::string(a, 1)?;
    let spaces = usize::try_from(spaces).map_err(|_| FuncError::arg(0, "must not be negative"))?;
    // Far beyond any real use, small enough that a typo cannot exhaust
    // memory.
    if spaces > 10_000 {
        return Err(FuncError::arg(0, "must not be more than 10000"));
    }
    let lines = s.bytes().filter(|&b| b == b'\n').count();
    limits::check_string(s.len().saturating_add(lines.saturating_mul(spaces)))
        .map_err(FuncError::new)?;
    let pad = format!("\n{}", " ".repeat(spaces));
    Ok(Value::string(s.replace('\n', &pad)))
}

string_function!(STRREV, "strrev", ["str"], strrev);
fn strrev(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    Ok(Value::string(s.graphemes(true).rev().collect::<String>()))
}

string_function!(SUBSTR, "substr", ["str", "offset", "length"], substr);
/// Characters (grapheme clusters) from `offset` (from the end when
/// negative), `length` of them or all the rest when `length` is -1 (or
/// any negative number). Out-of-range requests shrink to what exists.
fn substr(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let offset = args::integer(a, 1)?;
    let length = args::integer(a, 2)?;
    let graphemes: Vec<&str> = s.graphemes(true).collect();
    let total = graphemes.len() as i64;
    let start = if offset < 0 {
        (total + offset).max(0)
    } else {
        offset.min(total)
    };
    let end = if length < 0 {
        total
    } else {
        start.saturating_add(length).min(total)
    };
    let (start, end) = (start as usize, end as usize);
    Ok(Value::string(graphemes[start..end].concat()))
}

static STARTSWITH: FuncSpec = FuncSpec {
    name: "startswith",
    params: &["str", "prefix"],
    allow_unknown: false,
    returns: Type::Bool,
    marks: Marks::Strip,
    imp: startswith,
};
fn startswith(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let prefix = args::string(a, 1)?;
    Ok(Value::Bool(s.starts_with(&*prefix)))
}

static ENDSWITH: FuncSpec = FuncSpec {
    name: "endswith",
    params: &["str", "suffix"],
    allow_unknown: false,
    returns: Type::Bool,
    marks: Marks::Strip,
    imp: endswith,
};
fn endswith(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let suffix = args::string(a, 1)?;
    Ok(Value::Bool(s.ends_with(&*suffix)))
}

string_function!(FORMAT, "format", ["format", "args..."], format_fn);
fn format_fn(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let fmt = args::string(a, 0)?;
    match format(&fmt, &a[1..]) {
        Ok(s) => Ok(Value::string(s)),
        Err(e @ FormatError::Call(_)) => Err(FuncError::new(e.message())),
        Err(e @ FormatError::TooMany { used }) => Err(FuncError::arg(used + 1, e.message())),
    }
}

static FORMATLIST: FuncSpec = FuncSpec {
    name: "formatlist",
    params: &["format", "args..."],
    allow_unknown: true,
    returns: Type::Dynamic,
    marks: Marks::Strip,
    imp: formatlist,
};
/// `format` once per element of the list (or tuple, or set) arguments,
/// which must all have the same length; other arguments repeat.
fn formatlist(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let list_of_strings = || Type::list(Type::String);
    if a.iter().any(|v| !v.is_known()) {
        return Ok(Value::Unknown(list_of_strings()));
    }
    let fmt_known = a[0].is_wholly_known();
    let fmt = if fmt_known {
        args::string(a, 0)?
    } else {
        String::new()
    };
    let mut count: Option<(usize, usize)> = None;
    for (i, v) in a.iter().enumerate().skip(1) {
        if let Some(items) = v.as_seq() {
            match count {
                None => count = Some((i, items.len())),
                Some((first, n)) if n != items.len() => {
                    return Err(FuncError::arg(
                        i,
                        format!(
                            "argument {i} has length {}, which is inconsistent with argument {first} of length {n}",
                            items.len()
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    let n = count.map_or(1, |(_, n)| n);
    let mut out = Vec::with_capacity(n);
    // Each string is held to a string's limit by `format`; together they
    // are held to what one expression may build.
    let mut text_bytes: usize = 0;
    for iteration in 0..n {
        let row: Vec<Value> = a[1..]
            .iter()
            .map(|v| match v.as_seq() {
                Some(items) => items[iteration].clone(),
                None => v.clone(),
            })
            .collect();
        if !fmt_known || !row.iter().all(Value::is_wholly_known) {
            out.push(Value::Unknown(Type::String));
            continue;
        }
        match format(&fmt, &row) {
            Ok(s) => {
                text_bytes = text_bytes.saturating_add(s.len());
                if text_bytes > limits::MAX_BUILT_BYTES {
                    return Err(FuncError::new(format!(
                        "the results would hold more than {} of text, the most one call may build",
                        limits::bytes_text(limits::MAX_BUILT_BYTES)
                    )));
                }
                out.push(Value::string(s))
            }
            Err(e) => {
                let message = format!("error on format iteration {iteration}: {}", e.message());
                return Err(match e {
                    FormatError::Call(_) => FuncError::new(message),
                    FormatError::TooMany { used } => FuncError::arg(used + 1, message),
                });
            }
        }
    }
    Ok(Value::list(Type::String, out))
}

static JOIN: FuncSpec = FuncSpec {
    name: "join",
    params: &["separator", "lists..."],
    allow_unknown: false,
    returns: Type::String,
    marks: Marks::Strip,
    imp: join,
};
fn join(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let sep = args::string(a, 0)?;
    if a.len() < 2 {
        return Err(FuncError::new("at least one list is required"));
    }
    let mut lists = Vec::with_capacity(a.len() - 1);
    for i in 1..a.len() {
        let items = args::primitive_elements(a, i, &Type::String)?;
        if let Some(n) = items.iter().position(Value::is_null) {
            return Err(FuncError::arg(
                i,
                format!("element {n} of list {i} is null; cannot concatenate null values"),
            ));
        }
        lists.push(items);
    }
    let parts: Vec<&str> = lists
        .iter()
        .flatten()
        .map(|item| item.as_str().unwrap_or_default())
        .collect();
    // The length is known before a byte is copied.
    let length = parts
        .iter()
        .map(|p| p.len())
        .fold(0, usize::saturating_add)
        .saturating_add(sep.len().saturating_mul(parts.len().saturating_sub(1)));
    limits::check_string(length).map_err(FuncError::new)?;
    Ok(Value::string(parts.join(&sep)))
}

static SPLIT: FuncSpec = FuncSpec {
    name: "split",
    params: &["separator", "str"],
    allow_unknown: true,
    returns: Type::Dynamic,
    marks: Marks::Strip,
    imp: split,
};
fn split(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    if let Some(unknown) = args::unknown_result(a, || Type::list(Type::String)) {
        return Ok(unknown);
    }
    let sep = args::string(a, 0)?;
    let s = args::string(a, 1)?;
    // Counted before they are built: a long string split into characters
    // is tens of millions of values.
    let count = if sep.is_empty() {
        s.chars().count()
    } else {
        s.matches(&*sep).count() + 1
    };
    limits::check_elements(count).map_err(FuncError::new)?;
    let parts: Vec<Value> = if sep.is_empty() {
        // An empty separator splits into characters (code points), and an
        // empty string into nothing.
        s.chars().map(|c| Value::string(c.to_string())).collect()
    } else {
        s.split(&*sep).map(Value::string).collect()
    };
    Ok(Value::list(Type::String, parts))
}

string_function!(REPLACE, "replace", ["str", "substr", "replace"], replace);
/// Replaces every occurrence of `substr`; a `substr` in slashes is a
/// regular expression and the replacement may refer to its groups (`$1`,
/// `${name}`).
fn replace(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let substr = args::string(a, 1)?;
    let replacement = args::string(a, 2)?;
    let pattern = substr
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix('/'))
        .filter(|_| substr.len() > 1);
    match pattern {
        Some(pattern) => {
            let re = compile(pattern).map_err(|e| {
                FuncError::new(
                    Message::text("error parsing regexp").detail(1, format!(": {e}: `{pattern}`")),
                )
            })?;
            replace_all(&re, &s, &replacement).map(Value::string)
        }
        None => {
            // Every match grows the text by the difference: the length is
            // known before a byte is copied.
            let matches = if substr.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(&*substr).count()
            };
            let grown = matches.saturating_mul(replacement.len().saturating_sub(substr.len()));
            limits::check_string(s.len().saturating_add(grown)).map_err(FuncError::new)?;
            Ok(Value::string(s.replace(&*substr, &replacement)))
        }
    }
}

/// `Regex::replace_all`, refusing a result longer than a string may be
/// as soon as it grows past that: a replacement that repeats its groups
/// (`$1$1$1`) at every match can multiply the text.
fn replace_all(re: &Regex, s: &str, replacement: &str) -> Result<String, FuncError> {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for caps in re.captures_iter(s) {
        let Some(whole) = caps.get(0) else {
            continue;
        };
        out.push_str(s.get(last..whole.start()).unwrap_or_default());
        caps.expand(replacement, &mut out);
        last = whole.end();
        limits::check_string(out.len()).map_err(FuncError::new)?;
    }
    out.push_str(s.get(last..).unwrap_or_default());
    limits::check_string(out.len()).map_err(FuncError::new)?;
    Ok(out)
}

/// Compiles a pattern with RE2's meaning of the Perl classes: `\d`, `\w`,
/// `\s` and `\b` are ASCII-only there, Unicode-aware in Rust's `regex`.
/// `\Q...\E` (literal text), which `regex` lacks, is spelled out too.
fn compile(pattern: &str) -> Result<Regex, String> {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('d') => out.push_str("[0-9]"),
                Some('D') => out.push_str("[^0-9]"),
                Some('w') => out.push_str("[0-9A-Za-z_]"),
                Some('W') => out.push_str("[^0-9A-Za-z_]"),
                Some('s') => out.push_str("[\\t\\n\\f\\r ]"),
                Some('S') => out.push_str("[^\\t\\n\\f\\r ]"),
                Some('b') if !in_class => out.push_str("(?-u:\\b)"),
                Some('B') if !in_class => out.push_str("(?-u:\\B)"),
                Some('Q') => {
                    let mut literal = String::new();
                    while let Some(q) = chars.next() {
                        if q == '\\' && chars.peek() == Some(&'E') {
                            chars.next();
                            break;
                        }
                        literal.push(q);
                    }
                    out.push_str(&regex::escape(&literal));
                }
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                // A ']' right after the opening bracket is a literal.
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            '[' if chars.peek() == Some(&':') => {
                // A POSIX class such as [:alpha:] inside a class.
                out.push('[');
                for p in chars.by_ref() {
                    out.push(p);
                    if p == ']' {
                        break;
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            other => out.push(other),
        }
    }
    Regex::new(&out).map_err(|e| regex_error_message(&e))
}

/// The one-line reason out of `regex`'s multi-line error report.
fn regex_error_message(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .find_map(|l| l.strip_prefix("error: "))
        .map(str::to_string)
        .unwrap_or(text)
}

/// What a match of a pattern produces: the matched text when the pattern
/// has no groups, a tuple of the groups, or an object of named groups.
enum Shape {
    Whole,
    Groups(usize),
    Named(Vec<String>),
}

impl Shape {
    fn of(re: &Regex) -> Result<Shape, String> {
        let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
        if names.is_empty() {
            Ok(Shape::Whole)
        } else if names.iter().all(Option::is_none) {
            Ok(Shape::Groups(names.len()))
        } else if names.iter().all(Option::is_some) {
            Ok(Shape::Named(
                names.into_iter().flatten().map(String::from).collect(),
            ))
        } else {
            Err("invalid regexp pattern: cannot mix both named and unnamed capture groups".into())
        }
    }

    fn result_type(&self) -> Type {
        match self {
            Shape::Whole => Type::String,
            Shape::Groups(n) => Type::Tuple(vec![Type::String; *n]),
            Shape::Named(names) => {
                Type::Object(names.iter().map(|n| (n.clone(), Type::String)).collect())
            }
        }
    }

    fn value(&self, caps: &regex::Captures<'_>) -> Value {
        // A group that took no part in the match is null.
        let group = |m: Option<regex::Match<'_>>| {
            m.map_or(Value::Null(Type::String), |m| Value::string(m.as_str()))
        };
        match self {
            Shape::Whole => group(caps.get(0)),
            Shape::Groups(n) => Value::tuple((1..=*n).map(|i| group(caps.get(i))).collect()),
            Shape::Named(names) => Value::object(
                names
                    .iter()
                    .map(|n| (n.clone(), group(caps.name(n))))
                    .collect::<BTreeMap<_, _>>(),
            ),
        }
    }
}

/// The compiled pattern of argument 0 and its shape, or the unknown
/// result when the pattern is not known yet.
fn pattern_arg(
    a: &[Value],
    wrap: fn(Type) -> Type,
) -> Result<Result<(Regex, Shape), Value>, FuncError> {
    if !a[0].is_wholly_known() {
        return Ok(Err(Value::Unknown(Type::Dynamic)));
    }
    let pattern = args::string(a, 0)?;
    let re = compile(&pattern).map_err(|e| {
        FuncError::arg(
            0,
            Message::text("invalid regexp pattern").detail(0, format!(": {e} in {pattern}")),
        )
    })?;
    let shape = Shape::of(&re).map_err(|e| FuncError::arg(0, Message::text(e)))?;
    if !a[1].is_wholly_known() {
        return Ok(Err(Value::Unknown(wrap(shape.result_type()))));
    }
    Ok(Ok((re, shape)))
}

static REGEX: FuncSpec = FuncSpec {
    name: "regex",
    params: &["pattern", "string"],
    allow_unknown: true,
    returns: Type::Dynamic,
    marks: Marks::Strip,
    imp: regex_fn,
};
fn regex_fn(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let (re, shape) = match pattern_arg(a, |t| t)? {
        Ok(compiled) => compiled,
        Err(unknown) => return Ok(unknown),
    };
    let s = args::string(a, 1)?;
    match re.captures(&s) {
        Some(caps) => Ok(shape.value(&caps)),
        None => Err(FuncError::new(
            "pattern did not match any part of the given string",
        )),
    }
}

static REGEXALL: FuncSpec = FuncSpec {
    name: "regexall",
    params: &["pattern", "string"],
    allow_unknown: true,
    returns: Type::Dynamic,
    marks: Marks::Strip,
    imp: regexall,
};
fn regexall(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let (re, shape) = match pattern_arg(a, Type::list)? {
        Ok(compiled) => compiled,
        Err(unknown) => return Ok(unknown),
    };
    let s = args::string(a, 1)?;
    let mut matches = Vec::new();
    for caps in re.captures_iter(&s) {
        matches.push(shape.value(&caps));
        limits::check_elements(matches.len()).map_err(FuncError::new)?;
    }
    Ok(Value::list(shape.result_type(), matches))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, err, s};
    use super::*;

    fn strings(items: &[&str]) -> Value {
        Value::list(Type::String, items.iter().map(|i| s(i)).collect())
    }

    #[test]
    fn string_results_past_the_limit_are_refused_before_they_are_built() {
        use super::super::testing::call_named;
        // Compared as messages: a failure must not print 64 MiB.
        let refusal = |name: &str, a: &[Value]| call_named(name, a).err().map(|e| e.message);
        let too_long =
            Some("the result would be longer than 64 MiB, the most a string may hold".to_string());
        assert_eq!(
            refusal("indent", &[10_000.into(), s(&"\n".repeat(10_000))]),
            too_long
        );
        let mib = "x".repeat(1024 * 1024);
        let many = Value::list(Type::String, vec![s(&mib); 65]);
        assert_eq!(refusal("join", &[s(""), many]), too_long);
        // A thousand matches, each replaced by 70 KiB.
        let replacement = s(&"y".repeat(70 * 1024));
        assert_eq!(
            refusal(
                "replace",
                &[s(&"x".repeat(1000)), s("x"), replacement.clone()]
            ),
            too_long
        );
        assert_eq!(
            refusal("replace", &[s(&"x".repeat(1000)), s("/x/"), replacement]),
            too_long
        );
        // One match, its group repeated 65 times.
        assert_eq!(
            refusal("replace", &[s(&mib), s("/(x+)/"), s(&"$1".repeat(65))]),
            too_long
        );
        let mut format_args = vec![s(&"%9000000d".repeat(8))];
        format_args.extend((1..=8).map(Value::from));
        assert_eq!(refusal("format", &format_args), too_long);
        let too_many = Some(
            "the result would have 1000001 elements, more than the 1000000 a collection may hold"
                .to_string(),
        );
        assert_eq!(
            refusal("split", &[s(""), s(&"x".repeat(1_000_001))]),
            too_many
        );
        assert_eq!(
            refusal("regexall", &[s("x"), s(&"x".repeat(1_000_001))]),
            too_many
        );
        let rows = Value::list(Type::String, vec![s("row"); 300]);
        assert_eq!(
            refusal("formatlist", &[s("%s%1000000s"), rows, 1.into()]),
            Some(
                "the results would hold more than 256 MiB of text, the most one call may build"
                    .to_string()
            )
        );
        // Within the limits the same functions work as ever.
        assert_eq!(
            call("replace", &[s("a-b"), s("/(\\w)/"), s("$1$1")]),
            s("aa-bb")
        );
        assert_eq!(call("replace", &[s("ab"), s(""), s("-")]), s("-a-b-"));
        assert_eq!(
            call(
                "join",
                &[s(", "), Value::list(Type::String, vec![s("a"), s("b")])]
            ),
            s("a, b")
        );
        assert_eq!(call("indent", &[2.into(), s("a\nb")]), s("a\n  b"));
    }

    #[test]
    fn case_mappings_are_one_character_each() {
        assert_eq!(call("upper", &[s("héllo ß ǆ ᾳ")]), s("HÉLLO ß Ǆ ᾼ"));
        assert_eq!(call("lower", &[s("İ ǅ Ω")]), s("i ǆ ω"));
        assert_eq!(
            call("title", &[s("hello wORLD-foo_bar x.y émile ǆx a\u{a0}b")]),
            s("Hello WORLD-Foo_bar X.Y Émile ǅx A\u{a0}B")
        );
        assert_eq!(
            err("upper", &[Value::tuple(vec![1.into()])]),
            FuncError::arg(0, "string required")
        );
        assert_eq!(
            err("lower", &[Value::Null(Type::String)]),
            FuncError::arg(0, "argument must not be null")
        );
        assert_eq!(call("upper", &[5.into()]), s("5"));
    }

    #[test]
    fn string_parameters_reject_collections() {
        let not_a_string = Value::tuple(vec![]);
        for (name, arity) in [
            ("title", 1),
            ("trim", 2),
            ("trimprefix", 2),
            ("trimsuffix", 2),
            ("chomp", 1),
            ("strrev", 1),
            ("endswith", 2),
            ("split", 2),
            ("replace", 3),
        ] {
            let mut a = vec![s("x"); arity];
            a[arity - 1] = not_a_string.clone();
            assert_eq!(
                err(name, &a),
                FuncError::arg(arity - 1, "string required"),
                "{name}"
            );
        }
    }

    #[test]
    fn trimming() {
        assert_eq!(call("trimspace", &[s("\u{a0} x \n")]), s("x"));
        assert_eq!(call("trim", &[s("  xax  "), s(" x")]), s("a"));
        assert_eq!(call("trimprefix", &[s("aaa"), s("a")]), s("aa"));
        assert_eq!(call("trimsuffix", &[s("a.tf"), s(".tf")]), s("a"));
        assert_eq!(call("chomp", &[s("a\n\r\n\n")]), s("a"));
        assert_eq!(call("chomp", &[s("a\nb")]), s("a\nb"));
        assert_eq!(call("trim", &[s("x"), s("")]), s("x"));
        assert!(err("trimspace", &[Value::object(BTreeMap::new())]).arg == Some(0));
    }

    #[test]
    fn prefixes_and_suffixes() {
        assert_eq!(call("startswith", &[s("abc"), s("ab")]), Value::Bool(true));
        assert_eq!(call("startswith", &[s("abc"), s("")]), Value::Bool(true));
        assert_eq!(call("endswith", &[s("abc"), s("b")]), Value::Bool(false));
        assert_eq!(call("endswith", &[s("abc"), s("bc")]).type_of(), Type::Bool);
        assert_eq!(
            err("startswith", &[s("abc"), Value::Null(Type::String)]),
            FuncError::arg(1, "argument must not be null")
        );
    }

    #[test]
    fn indent_pads_every_line_but_the_first() {
        assert_eq!(call("indent", &[2.into(), s("a\nb\n")]), s("a\n  b\n  "));
        assert_eq!(call("indent", &[2.into(), s("")]), s(""));
        assert_eq!(
            err("indent", &[(-1).into(), s("a")]),
            FuncError::arg(0, "must not be negative")
        );
        assert_eq!(
            err("indent", &[100_000_000.into(), s("a")]),
            FuncError::arg(0, "must not be more than 10000")
        );
    }

    #[test]
    fn characters_are_grapheme_clusters() {
        assert_eq!(call("strrev", &[s("🇩🇪🇫🇷x")]), s("x🇫🇷🇩🇪"));
        assert_eq!(call("strrev", &[s("")]), s(""));
        assert_eq!(call("substr", &[s("hello"), 1.into(), 3.into()]), s("ell"));
        assert_eq!(
            call("substr", &[s("hello"), (-3).into(), (-1).into()]),
            s("llo")
        );
        assert_eq!(call("substr", &[s("héllo"), 0.into(), 2.into()]), s("hé"));
        assert_eq!(call("substr", &[s("🇩🇪🇫🇷x"), 1.into(), 1.into()]), s("🇫🇷"));
        assert_eq!(call("substr", &[s("hello"), 10.into(), 2.into()]), s(""));
        assert_eq!(
            call("substr", &[s("hello"), (-10).into(), 2.into()]),
            s("he")
        );
        assert_eq!(
            call("substr", &[s("hello"), 1.into(), 10.into()]),
            s("ello")
        );
        assert_eq!(
            call("substr", &[s("hello"), 1.into(), (-2).into()]),
            s("ello")
        );
        assert_eq!(call("substr", &[s("hello"), (-1).into(), 5.into()]), s("o"));
        let half = Value::Number(crate::lang::Number::parse("1.5").unwrap());
        assert_eq!(
            err("substr", &[s("x"), half, 1.into()]),
            FuncError::new(args::NOT_AN_INTEGER)
        );
    }

    #[test]
    fn split_and_join() {
        let v = call("split", &[s(","), s("a,b,,c")]);
        assert_eq!(v, strings(&["a", "b", "", "c"]));
        assert_eq!(v.type_of(), Type::list(Type::String));
        assert_eq!(call("split", &[s(","), s("")]), strings(&[""]));
        assert_eq!(call("split", &[s(""), s("abc")]), strings(&["a", "b", "c"]));
        assert_eq!(call("split", &[s(""), s("")]), strings(&[]));
        assert_eq!(
            call("split", &[s(","), Value::Unknown(Type::String)]),
            Value::Unknown(Type::list(Type::String))
        );

        let tuple = Value::tuple(vec![s("a"), 1.into()]);
        assert_eq!(call("join", &[s("-"), tuple, strings(&["b"])]), s("a-1-b"));
        assert_eq!(call("join", &[s(","), strings(&[]), strings(&[])]), s(""));
        assert_eq!(
            err("join", &[s(",")]),
            FuncError::new("at least one list is required")
        );
        assert_eq!(
            err("join", &[s(","), s("x")]),
            FuncError::arg(1, "list of string required")
        );
        assert_eq!(
            err(
                "join",
                &[s(","), Value::tuple(vec![Value::tuple(vec![1.into()])])]
            ),
            FuncError::arg(1, "element 0: string required")
        );
        let with_null = Value::tuple(vec![s("b"), Value::NULL]);
        assert_eq!(
            err("join", &[s(","), strings(&["a"]), with_null]),
            FuncError::arg(
                2,
                "element 1 of list 2 is null; cannot concatenate null values"
            )
        );
    }

    #[test]
    fn replace_plain_and_regex() {
        assert_eq!(
            call("replace", &[s("abc123"), s("/[0-9]+/"), s("N")]),
            s("abcN")
        );
        assert_eq!(
            call("replace", &[s("hello"), s("/(l+)/"), s("[$1]")]),
            s("he[ll]o")
        );
        assert_eq!(
            call(
                "replace",
                &[s("abc"), s("/(?P<n>b)/"), s("[$n]$$-$0-$1-$x")]
            ),
            s("a[b]$-b-b-c")
        );
        assert_eq!(call("replace", &[s("abc"), s("/"), s("x")]), s("abc"));
        assert_eq!(
            call("replace", &[s("a/b/"), s("//"), s("x")]),
            s("xax/xbx/x")
        );
        assert_eq!(call("replace", &[s("abc"), s(""), s("-")]), s("-a-b-c-"));
        let e = err("replace", &[s("abc"), s("/[/"), s("x")]);
        assert_eq!(e.arg, None);
        assert!(e.message.starts_with("error parsing regexp: "), "{e:?}");
    }

    #[test]
    fn regex_results_follow_the_groups() {
        assert_eq!(call("regex", &[s("[a-z]+"), s("123abc456")]), s("abc"));
        let groups = call("regex", &[s("(\\d+)-(\\d+)"), s("12-34")]);
        assert_eq!(groups, Value::tuple(vec![s("12"), s("34")]));
        let named = call("regex", &[s("(?P<a>\\d+)"), s("x99")]);
        assert_eq!(named, Value::object([("a".to_string(), s("99"))].into()));
        assert_eq!(
            call("regex", &[s("(a)|(b)"), s("b")]),
            Value::tuple(vec![Value::Null(Type::String), s("b")])
        );
        // RE2's \w and \d are ASCII-only.
        assert_eq!(call("regex", &[s("\\w+"), s("héllo")]), s("h"));
        assert_eq!(call("regex", &[s("[\\d.]+"), s("v١2.5")]), s("2.5"));
        assert_eq!(call("regex", &[s("\\Qa.b\\E"), s("xa.b")]), s("a.b"));
        assert_eq!(
            err("regex", &[s("x"), s("y")]),
            FuncError::new("pattern did not match any part of the given string")
        );
        assert_eq!(
            err("regex", &[s("(a)(?P<x>b)"), s("ab")]),
            FuncError::arg(
                0,
                "invalid regexp pattern: cannot mix both named and unnamed capture groups"
            )
        );
        assert_eq!(err("regex", &[s("["), s("ab")]).arg, Some(0));
        assert_eq!(
            call("regex", &[s("(a)"), Value::Unknown(Type::String)]),
            Value::Unknown(Type::Tuple(vec![Type::String]))
        );
    }

    #[test]
    fn regexall_lists_every_match() {
        let all = call("regexall", &[s("[a-z]+"), s("a1bc2")]);
        assert_eq!(all, strings(&["a", "bc"]));
        let none = call("regexall", &[s("(?P<x>z)"), s("ab")]);
        assert_eq!(
            none.type_of(),
            Type::list(Type::Object([("x".to_string(), Type::String)].into()))
        );
        let pairs = call("regexall", &[s("(a)|(b)"), s("ab")]);
        assert_eq!(
            pairs.type_of(),
            Type::list(Type::Tuple(vec![Type::String, Type::String]))
        );
        assert_eq!(
            call("regexall", &[s("x"), Value::Unknown(Type::String)]),
            Value::Unknown(Type::list(Type::String))
        );
        assert_eq!(err("regexall", &[s("("), s("ab")]).arg, Some(0));
    }

    #[test]
    fn format_verbs() {
        let args = vec![
            s("%05.2f|%d|%s|%q|%v|%t|%x|%X|%o|%b|%e|%-5s|%5s|"),
            Value::Number(crate::lang::Number::parse("3.14159").unwrap()),
            42.into(),
            s("s"),
            s("q"),
            Value::tuple(vec![1.into()]),
            Value::Bool(true),
            255.into(),
            255.into(),
            8.into(),
            5.into(),
            Value::Number(crate::lang::Number::parse("1234.5").unwrap()),
            s("l"),
            s("r"),
        ];
        assert_eq!(
            call("format", &args),
            s("03.14|42|s|\"q\"|[1]|true|ff|FF|10|101|1.234500e+03|l    |    r|")
        );
    }

    #[test]
    fn format_numbers_strings_and_indexes() {
        let n = |t: &str| Value::Number(crate::lang::Number::parse(t).unwrap());
        let cases: Vec<(Vec<Value>, &str)> = vec![
            (
                vec![
                    s("%.2s|%5s|%-4s|%05s|%.1q|%6.2f|%+d|% d|%+.1e|%g|%G|%g|%g|%.3g"),
                    s("héllo"),
                    s("é"),
                    s("ab"),
                    s("ab"),
                    s("abc"),
                    n("-3.14159"),
                    5.into(),
                    5.into(),
                    n("12345.678"),
                    n("0.000012345"),
                    n("1e21"),
                    100000.into(),
                    1000000.into(),
                    n("3.14159"),
                ],
                "hé|    é|ab  |000ab|\"a\"| -3.14|+5| 5|+1.2e+04|1.2345e-05|1E+21|100000|1e+06|3.14",
            ),
            (vec![s("%[2]s %[1]s %s"), s("a"), s("b")], "b a b"),
            (vec![s("%d"), n("1e20")], "100000000000000000000"),
            (
                vec![
                    s("%x|%#x|%#o|%b|%08b|%-8d|%08d|%+08d"),
                    (-255).into(),
                    255.into(),
                    8.into(),
                    (-5).into(),
                    5.into(),
                    42.into(),
                    (-42).into(),
                    42.into(),
                ],
                "-ff|0xff|010|-101|00000101|42      |-0000042|+0000042",
            ),
            (
                vec![
                    s("%f|%.0f|%.10f|%e|%E|%.0e|%f"),
                    1.into(),
                    n("2.5"),
                    n("0.1"),
                    0.into(),
                    n("1e-7"),
                    15.into(),
                    n("1e20"),
                ],
                "1.000000|2|0.1000000000|0.000000e+00|1.000000E-07|2e+01|100000000000000000000.000000",
            ),
            (
                vec![
                    s("%v|%v|%#v|%v|%v|%v"),
                    Value::Bool(true),
                    Value::object([("a".to_string(), 1.into()), ("b".to_string(), s("<"))].into()),
                    s("s"),
                    n("1e20"),
                    1234567.into(),
                    n("0.00001"),
                ],
                "true|{\"a\":1,\"b\":\"\\u003c\"}|\"s\"|1e+20|1.234567e+06|1e-05",
            ),
            (
                vec![s("%t|%s|%d"), s("true"), n("12.50"), s("12")],
                "true|12.5|12",
            ),
            (vec![s("%%|%s"), s("a")], "%|a"),
            (
                vec![
                    s("%3d|%-3d|%03d|%.3d"),
                    5.into(),
                    5.into(),
                    (-5).into(),
                    7.into(),
                ],
                "  5|5  |-05|007",
            ),
            (
                vec![
                    s("%5v|%-5v|%5t|%5q|%.2v"),
                    s("a"),
                    1.into(),
                    Value::Bool(true),
                    s("b"),
                    s("abc"),
                ],
                "    a|1    |true|  \"b\"|abc",
            ),
            (
                vec![
                    s("%05v|%-05d|% 05d|%#b|%#X|%#o"),
                    (-1).into(),
                    3.into(),
                    5.into(),
                    5.into(),
                    255.into(),
                    0.into(),
                ],
                "000-1|3    | 0005|0b101|0XFF|00",
            ),
            (
                vec![
                    s("%5.f|%.f|%.d|%.0d|"),
                    n("1.5"),
                    n("2.5"),
                    0.into(),
                    0.into(),
                ],
                "    2|2|||",
            ),
            (
                vec![
                    s("%010.3e|%-10.3e|%+.0f|%#.0f|%#g"),
                    n("1234.5"),
                    n("1234.5"),
                    n("2.5"),
                    3.into(),
                    1.into(),
                ],
                "01.234e+03|1.234e+03 |+2|3|1",
            ),
            (
                vec![
                    s("%v|%#v|%v"),
                    Value::Null(Type::String),
                    Value::Null(Type::String),
                    Value::tuple(vec![Value::NULL]),
                ],
                "null|null|[null]",
            ),
            (
                vec![
                    s("%.1f|%.0f|%.0f|%.2e"),
                    n("0.25"),
                    n("0.5"),
                    n("1.5"),
                    n("1.125"),
                ],
                "0.2|0|2|1.12e+00",
            ),
        ];
        for (args, want) in cases {
            assert_eq!(call("format", &args), s(want), "{args:?}");
        }
    }

    #[test]
    fn format_rounds_ties_like_binary_numbers() {
        let n = |t: &str| Value::Number(crate::lang::Number::parse(t).unwrap());
        // 2.675 is a little below itself in binary, 1.015 a little above,
        // 0.25 exactly itself (so half to even).
        let args = vec![
            s("%.2f|%.2f|%.1f|%.1f|%.1f|%.0f|%.0f|%.1e|%.2f"),
            n("2.675"),
            n("1.015"),
            n("0.25"),
            n("0.35"),
            n("0.05"),
            n("2.5"),
            n("3.5"),
            n("2.45e20"),
            n("-1.125"),
        ];
        assert_eq!(
            call("format", &args),
            s("2.67|1.02|0.2|0.3|0.1|2|4|2.4e+20|-1.12")
        );
    }

    #[test]
    fn format_errors() {
        let cases: Vec<(Vec<Value>, FuncError)> = vec![
            (
                vec![s("%d %d"), 1.into()],
                FuncError::new(
                    "not enough arguments for \"%d\" at 3: need index 2 but have 1 total",
                ),
            ),
            (
                vec![s("%d"), 1.into(), 2.into()],
                FuncError::arg(2, "too many arguments; only 1 used by format string"),
            ),
            (
                vec![s("%z"), 1.into()],
                FuncError::new("unsupported format verb 'z' in \"%z\" at offset 0"),
            ),
            (
                vec![s("%"), 1.into()],
                FuncError::new("invalid format string starting at offset 1"),
            ),
            (
                vec![s("%5."), 1.into()],
                FuncError::new("invalid format string starting at offset 3"),
            ),
            (
                vec![s("%[0]d"), 1.into()],
                FuncError::new("unrecognized format character '0' at offset 2"),
            ),
            (
                vec![s("%[2]5d"), 1.into(), 2.into()],
                FuncError::new("unrecognized format character '5' at offset 4"),
            ),
            (
                vec![s("%5%")],
                FuncError::new("unrecognized format character '%' at offset 2"),
            ),
            (
                vec![s("%99999999999d"), 1.into()],
                FuncError::new("width or precision of \"%99999999999d\" at offset 0 is too large"),
            ),
            (
                vec![s("%d"), Value::Bool(true)],
                FuncError::new("unsupported value for \"%d\" at 0: number required"),
            ),
            (
                vec![s("%x"), s("hi")],
                FuncError::new("unsupported value for \"%x\" at 0: a number is required"),
            ),
            (
                vec![
                    s("%x"),
                    Value::Number(crate::lang::Number::parse("1.5").unwrap()),
                ],
                FuncError::new("unsupported value for \"%x\" at 0: an integer is required"),
            ),
            (
                vec![s("%s"), Value::Null(Type::String)],
                FuncError::new("unsupported value for \"%s\" at 0: null value cannot be formatted"),
            ),
            (
                vec![s("%s"), Value::tuple(vec![])],
                FuncError::new("unsupported value for \"%s\" at 0: string required"),
            ),
        ];
        for (args, want) in cases {
            assert_eq!(err("format", &args), want, "{args:?}");
        }
    }

    #[test]
    fn formatlist_iterates_over_lists() {
        let v = call("formatlist", &[s("%s-%s"), strings(&["a", "b"]), s("x")]);
        assert_eq!(v, strings(&["a-x", "b-x"]));
        assert_eq!(call("formatlist", &[s("%s"), s("x")]), strings(&["x"]));
        assert_eq!(call("formatlist", &[s("%s"), strings(&[])]), strings(&[]));
        let with_unknown = Value::tuple(vec![Value::unknown(), s("a")]);
        assert_eq!(
            call("formatlist", &[s("%s"), with_unknown]),
            Value::list(Type::String, vec![Value::Unknown(Type::String), s("a")])
        );
        assert_eq!(
            err(
                "formatlist",
                &[s("%s-%s"), strings(&["a", "b"]), strings(&["x"])]
            ),
            FuncError::arg(
                2,
                "argument 2 has length 1, which is inconsistent with argument 1 of length 2"
            )
        );
        assert_eq!(
            err(
                "formatlist",
                &[s("%s"), Value::tuple(vec![Value::Null(Type::String)])]
            ),
            FuncError::new(
                "error on format iteration 0: unsupported value for \"%s\" at 0: null value cannot be formatted"
            )
        );
    }
}
