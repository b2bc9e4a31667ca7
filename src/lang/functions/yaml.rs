//! YAML both ways.
//!
//! `yamlencode` writes the way Terraform's encoder lays it out: block
//! style, every string double-quoted except strings with line breaks,
//! which become literal blocks (`|-`) when YAML allows; empty collections
//! as `[]` and `{}`; long double-quoted strings folded at the first space
//! past column 80; a document that is a single plain scalar ends with
//! `...`.
//!
//! `yamldecode` reads one document with YAML 1.2's core schema, as
//! Terraform does: mappings become objects, sequences tuples, `true` and
//! `false` (not `yes` and `no`) bools, `~`, `null` and nothing at all null.
//! The parser's budget bounds it: nesting, the number of nodes, alias
//! expansion and scalar bytes, so that its time and memory stay linear in
//! the text.

use crate::lang::limits;
use crate::lang::number::Number;
use crate::lang::value::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The column after which a double-quoted string is folded at a space.
const BEST_WIDTH: usize = 80;
/// Keys longer than this (in bytes) are written as `? key` / `: value`.
const MAX_SIMPLE_KEY: usize = 128;

pub(super) fn yaml_text(v: &Value) -> String {
    let mut w = Writer::default();
    match v.unmark().0 {
        Value::Null(_) | Value::Unknown(_) | Value::Bool(_) | Value::Number(_) => {
            w.push_str(&plain(v));
            w.push_str("\n...\n");
        }
        Value::String(s) => {
            w.scalar(s, 2, true);
            w.end_line();
        }
        _ => {
            w.node(v, 0);
            w.end_line();
        }
    }
    w.out
}

/// The text of a scalar that is not a string.
fn plain(v: &Value) -> String {
    match v.unmark().0 {
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => "null".into(),
    }
}

/// Decodes one YAML document; the message says what is wrong and where.
pub(super) fn decode(text: &str) -> Result<Value, String> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = limits::MAX_NESTING;
    budget.flow_nesting_limit = limits::MAX_NESTING;
    budget.max_nodes = limits::MAX_BUILT_ELEMENTS;
    budget.max_events = limits::MAX_BUILT_ELEMENTS.saturating_mul(2);
    budget.max_total_scalar_bytes = limits::MAX_STRING_BYTES;
    budget.max_documents = 1;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    // YAML 1.2: `yes`, `no`, `on` and `off` are strings.
    options.strict_booleans = true;
    serde_saphyr::from_str_with_options::<Decoded>(text, options)
        .map(|d| d.0)
        .map_err(|e| describe(&e))
}

/// A decoding error as `yamldecode` reports it: where, then what, with
/// the parser's budget breaches in the user's terms.
fn describe(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::budget::BudgetBreach;
    let at = e
        .location()
        .map(|l| format!("on line {}, column {}: ", l.line(), l.column()))
        .unwrap_or_default();
    let text = e.without_snippet().to_string();
    let first = text.lines().next().unwrap_or_default();
    // The parser's own wording, after its "error: line L column C: ".
    let said = first.strip_prefix("error: ").unwrap_or(first);
    let said = match said.split_once(": ") {
        Some((place, rest)) if place.starts_with("line ") => rest,
        _ => said,
    };
    // ... or before its " at line L, column C": the place comes first here.
    let said = said.rsplit_once(" at line ").map_or(said, |(said, _)| said);
    let nesting = format!(
        "sequences and mappings nest deeper than {} levels, the most yamldecode reads",
        limits::MAX_NESTING
    );
    let what = match e.without_snippet() {
        serde_saphyr::Error::Budget {
            breach: BudgetBreach::Depth { .. },
            ..
        } => nesting,
        serde_saphyr::Error::Budget {
            breach: BudgetBreach::Documents { .. },
            ..
        } => "the text holds more than one document; yamldecode reads one".to_string(),
        serde_saphyr::Error::Budget { .. } => format!(
            "the document is larger than yamldecode reads: more than {} nodes, {} of text, or aliases expanded past their limit",
            limits::MAX_BUILT_ELEMENTS,
            limits::bytes_text(limits::MAX_STRING_BYTES)
        ),
        // The flow-collection nesting limit is the parser's recursion limit.
        _ if said.contains("recursion limit") => nesting,
        _ => said.to_string(),
    };
    format!("{at}{what}")
}

/// A decoded YAML node.
struct Decoded(Value);

impl<'de> serde::Deserialize<'de> for Decoded {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Decoded, D::Error> {
        d.deserialize_any(NodeVisitor).map(Decoded)
    }
}

/// A mapping key: scalars as their text, as Terraform converts them.
struct Key(String);

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        use serde::de::Error;
        match d.deserialize_any(NodeVisitor)? {
            Value::String(s) => Ok(Key(s.to_string())),
            Value::Number(n) => Ok(Key(n.to_string())),
            Value::Bool(b) => Ok(Key(b.to_string())),
            Value::Null(_) => Ok(Key("null".into())),
            _ => Err(D::Error::custom(
                "mapping keys must be strings, numbers or bools",
            )),
        }
    }
}

struct NodeVisitor;

impl<'de> serde::de::Visitor<'de> for NodeVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML node")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::NULL)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::NULL)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(Number::from_i64(n)))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(Number::from_u64(n)))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Value, E> {
        Number::from_f64(n)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("the number {n} cannot be represented")))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::string(s))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::string(s))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        use serde::de::Error;
        let mut items = Vec::new();
        while let Some(Decoded(item)) = seq.next_element()? {
            items.push(item);
            limits::check_elements(items.len()).map_err(A::Error::custom)?;
        }
        Ok(Value::tuple(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        use serde::de::Error;
        let mut attrs = BTreeMap::new();
        while let Some((Key(k), Decoded(v))) = map.next_entry()? {
            attrs.insert(k, v);
            limits::check_elements(attrs.len()).map_err(A::Error::custom)?;
        }
        Ok(Value::object(attrs))
    }
}

#[derive(Default)]
struct Writer {
    out: String,
    /// Characters since the start of the line.
    column: usize,
}

impl Writer {
    fn push(&mut self, c: char) {
        self.out.push(c);
        if c == '\n' {
            self.column = 0;
        } else {
            self.column += 1;
        }
    }

    fn push_str(&mut self, s: &str) {
        for c in s.chars() {
            self.push(c);
        }
    }

    /// Moves to a new line (unless at the start of one already) indented
    /// by `indent`.
    fn line(&mut self, indent: usize) {
        if self.column > 0 {
            self.push('\n');
        }
        while self.column < indent {
            self.push(' ');
        }
    }

    fn end_line(&mut self) {
        if self.column > 0 {
            self.push('\n');
        }
    }

    /// Writes a value where the cursor is (after "- ", or at the start of
    /// a line). Collections lay out their entries at `indent`, the first
    /// one right here.
    fn node(&mut self, v: &Value, indent: usize) {
        let v = v.unmark().0;
        if let Some(items) = v.as_seq() {
            if items.is_empty() {
                self.push_str("[]");
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    self.line(indent);
                }
                self.push_str("- ");
                self.node(item, indent + 2);
            }
        } else if let Some(entries) = v.as_entries() {
            if entries.is_empty() {
                self.push_str("{}");
            }
            for (i, (key, value)) in entries.iter().enumerate() {
                if i > 0 {
                    self.line(indent);
                }
                self.entry(key, value, indent);
            }
        } else {
            self.scalar_value(v, indent);
        }
    }

    fn entry(&mut self, key: &str, value: &Value, indent: usize) {
        let nested = value.unmark().0.length().is_some_and(|n| n > 0);
        if key.len() <= MAX_SIMPLE_KEY && !has_break(key) {
            self.double_quoted(key, indent + 2, false);
            self.push(':');
            if !nested {
                self.push(' ');
                self.node(value, indent + 2);
            } else if value.as_seq().is_some() {
                // A sequence under a key lines its dashes up with the key.
                self.line(indent);
                self.node(value, indent);
            } else {
                self.line(indent + 2);
                self.node(value, indent + 2);
            }
        } else {
            self.push_str("? ");
            self.scalar(key, indent + 2, true);
            self.line(indent);
            // After "? key" any value starts on the ":" line.
            self.push_str(": ");
            self.node(value, indent + 2);
        }
    }

    fn scalar_value(&mut self, v: &Value, indent: usize) {
        match v.unmark().0 {
            Value::String(s) => self.scalar(s, indent, true),
            other => self.push_str(&plain(other)),
        }
    }

    /// A string: a literal block when it has a line break and YAML can
    /// keep it exactly that way, else double-quoted (folded when long).
    fn scalar(&mut self, s: &str, indent: usize, fold: bool) {
        if s.contains('\n') && literal_allowed(s) {
            self.literal(s, indent);
        } else {
            self.double_quoted(s, indent, fold);
        }
    }

    fn literal(&mut self, s: &str, indent: usize) {
        self.push('|');
        if s.starts_with(|c: char| c == ' ' || is_break(c)) {
            // The indentation cannot be read from a first line that starts
            // with a space, so it is given.
            self.push('2');
        }
        let mut rev = s.chars().rev();
        match (rev.next(), rev.next()) {
            (Some(last), _) if !is_break(last) => self.push('-'),
            (Some(_), None) => self.push('+'),
            (Some(_), Some(before)) if is_break(before) => self.push('+'),
            _ => {}
        }
        self.push('\n');
        let mut at_line_start = true;
        for c in s.chars() {
            if is_break(c) {
                self.out.push(c);
                self.column = 0;
                at_line_start = true;
            } else {
                if at_line_start {
                    self.line(indent);
                    at_line_start = false;
                }
                self.push(c);
            }
        }
    }

    fn double_quoted(&mut self, s: &str, indent: usize, fold: bool) {
        self.push('"');
        let chars: Vec<char> = s.chars().collect();
        let mut after_space = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                let foldable = fold
                    && !after_space
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i + 1 != chars.len();
                if foldable {
                    // The space becomes the line break; a space after it
                    // would be taken for indentation, so it is escaped.
                    self.line(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.push('\\');
                    }
                } else {
                    self.push(' ');
                }
                after_space = true;
                continue;
            }
            after_space = false;
            match escape(c) {
                Some(e) => self.push_str(&e),
                None => self.push(c),
            }
        }
        self.push('"');
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn has_break(s: &str) -> bool {
    s.chars().any(is_break)
}

/// Characters YAML can hold unescaped.
fn is_printable(c: char) -> bool {
    matches!(u32::from(c), 0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD) && c != '\u{FEFF}'
}

/// A literal block cannot hold characters that need escaping, nor a
/// space at the end of a line (or of the text), which it would lose.
fn literal_allowed(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    if chars.last() == Some(&' ') {
        return false;
    }
    !chars.iter().any(|&c| !is_printable(c))
        && !chars.windows(2).any(|w| w[0] == ' ' && is_break(w[1]))
}

/// The escape sequence of a character inside double quotes, if it needs
/// one.
fn escape(c: char) -> Option<String> {
    let short = match c {
        '\0' => '0',
        '\u{7}' => 'a',
        '\u{8}' => 'b',
        '\t' => 't',
        '\n' => 'n',
        '\u{b}' => 'v',
        '\u{c}' => 'f',
        '\r' => 'r',
        '\u{1b}' => 'e',
        '"' => '"',
        '\\' => '\\',
        '\u{85}' => 'N',
        '\u{a0}' => '_',
        '\u{2028}' => 'L',
        '\u{2029}' => 'P',
        c if is_printable(c) => return None,
        c => {
            let code = u32::from(c);
            return Some(if code <= 0xFF {
                format!("\\x{code:02X}")
            } else if code <= 0xFFFF {
                format!("\\u{code:04X}")
            } else {
                format!("\\U{code:08X}")
            });
        }
    };
    // A no-break space needs no escape when it is printable text.
    if c == '\u{a0}' {
        return None;
    }
    Some(format!("\\{short}"))
}
