//! Encoding functions: JSON and YAML, base64, URL encoding, hashes and
//! `uuid`.

use super::yaml::{self, yaml_text};
use super::{FuncContext, FuncError, FuncSpec, Marks, Message, args};
use crate::lang::limits;
use crate::lang::number::Number;
use crate::lang::value::{Type, Value};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::BTreeMap;

pub(super) static FUNCTIONS: &[&FuncSpec] = &[
    &BASE64DECODE,
    &BASE64ENCODE,
    &BASE64GZIP,
    &JSONDECODE,
    &JSONENCODE,
    &MD5,
    &SHA1,
    &SHA256,
    &SHA512,
    &TEXTDECODEBASE64,
    &TEXTENCODEBASE64,
    &URLENCODE,
    &UUID,
    &YAMLDECODE,
    &YAMLENCODE,
];

/// A function of one string to a string.
macro_rules! string_function {
    ($static:ident, $name:literal, $param:literal, $imp:expr) => {
        static $static: FuncSpec = FuncSpec {
            name: $name,
            params: &[$param],
            allow_unknown: false,
            returns: Type::String,
            marks: Marks::Strip,
            imp: $imp,
        };
    };
}

string_function!(JSONENCODE, "jsonencode", "val", jsonencode);
fn jsonencode(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(json_text(&a[0])))
}

/// A value as JSON the way Terraform writes it: object keys sorted,
/// numbers with all their digits, and `<`, `>`, `&`, U+2028 and U+2029
/// escaped so the text is safe inside HTML and JavaScript.
pub(super) fn json_text(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Null(_) | Value::Unknown(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_json_string(s, out),
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Map(_, items) | Value::Object(items) => {
            out.push('{');
            for (i, (k, item)) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
        Value::Sensitive(inner) => write_json(inner, out),
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

static JSONDECODE: FuncSpec = FuncSpec {
    name: "jsondecode",
    params: &["str"],
    allow_unknown: false,
    returns: Type::Dynamic,
    marks: Marks::Strip,
    imp: jsondecode,
};
/// Objects become objects, arrays tuples and `null` a null of unknown
/// type, as Terraform decodes JSON without a type to aim for.
fn jsondecode(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let text = args::string(a, 0)?;
    JsonParser::new(&text).document().map_err(FuncError::new)
}

/// A JSON reader whose messages are those Terraform users see (they come
/// from Go's decoder): "invalid character 'x' looking for beginning of
/// value", "EOF" when the text ends between values, "unexpected EOF"
/// inside one.
///
/// It reads each byte once, so its time is linear in the text. Arrays and
/// objects nest at most `MAX_NESTING` levels (which also bounds its
/// recursion), and what it builds is held to the limits of collections
/// and of one evaluation as it goes.
struct JsonParser<'a> {
    text: &'a str,
    pos: usize,
    /// Arrays and objects open around `pos`.
    depth: usize,
    /// Values built so far.
    values: usize,
}

type ParseResult<T> = Result<T, String>;

impl<'a> JsonParser<'a> {
    fn new(text: &'a str) -> JsonParser<'a> {
        JsonParser {
            text,
            pos: 0,
            depth: 0,
            values: 0,
        }
    }

    /// Enters an array or object, refusing to nest past the limit.
    fn enter(&mut self) -> ParseResult<()> {
        if self.depth >= limits::MAX_NESTING {
            return Err(format!(
                "arrays and objects nest deeper than {} levels at offset {}, the most jsondecode reads",
                limits::MAX_NESTING,
                self.pos
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// Counts a value about to be built, refusing a document that builds
    /// more than one evaluation may.
    fn built(&mut self, v: Value) -> ParseResult<Value> {
        self.values += 1;
        if self.values > limits::MAX_BUILT_ELEMENTS {
            return Err(format!(
                "the document holds more than {} values, the most one expression may build",
                limits::MAX_BUILT_ELEMENTS
            ));
        }
        Ok(v)
    }

    fn document(&mut self) -> ParseResult<Value> {
        let v = self.value()?;
        self.skip_space();
        // Go's decoder stops at a closing bracket as if the input ended.
        match self.peek() {
            None | Some(b']' | b'}') => Ok(v),
            Some(_) => Err("extraneous data after JSON object".into()),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// The next byte after white space; the text ending here is "EOF".
    fn next_token_byte(&mut self) -> ParseResult<u8> {
        self.skip_space();
        self.peek().ok_or_else(|| "EOF".to_string())
    }

    fn invalid(b: u8, context: &str) -> String {
        let c = match b {
            b'\'' => "\\'".to_string(),
            b'\t' => "\\t".to_string(),
            b'\n' => "\\n".to_string(),
            b'\r' => "\\r".to_string(),
            b if b < 0x20 => format!("\\x{b:02x}"),
            // Go names the offending byte, not the character it starts.
            b => char::from(b).to_string(),
        };
        if context.is_empty() {
            format!("invalid character '{c}'")
        } else {
            format!("invalid character '{c}' {context}")
        }
    }

    fn value(&mut self) -> ParseResult<Value> {
        let v = self.unbuilt_value()?;
        self.built(v)
    }

    fn unbuilt_value(&mut self) -> ParseResult<Value> {
        let b = self.next_token_byte()?;
        match b {
            b'{' => {
                self.enter()?;
                let v = self.object();
                self.depth -= 1;
                v
            }
            b'[' => {
                self.enter()?;
                let v = self.array();
                self.depth -= 1;
                v
            }
            b'"' => Ok(Value::string(self.string()?)),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::NULL),
            b'-' | b'0'..=b'9' => self.number(),
            b => Err(Self::invalid(b, "looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> ParseResult<Value> {
        for want in word.bytes() {
            match self.peek() {
                None => return Err("unexpected EOF".into()),
                Some(b) if b == want => self.pos += 1,
                Some(b) => {
                    return Err(Self::invalid(
                        b,
                        &format!("in literal {word} (expecting '{}')", char::from(want)),
                    ));
                }
            }
        }
        Ok(v)
    }

    fn number(&mut self) -> ParseResult<Value> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            while matches!(p.peek(), Some(b'0'..=b'9')) {
                p.pos += 1;
            }
        };
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => digits(self),
            Some(b) => return Err(Self::invalid(b, "in numeric literal")),
            None => return Err("unexpected EOF".into()),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            match self.peek() {
                Some(b'0'..=b'9') => digits(self),
                Some(b) => {
                    return Err(Self::invalid(b, "after decimal point in numeric literal"));
                }
                None => return Err("unexpected EOF".into()),
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            match self.peek() {
                Some(b'0'..=b'9') => digits(self),
                Some(b) => return Err(Self::invalid(b, "in exponent of numeric literal")),
                None => return Err("unexpected EOF".into()),
            }
        }
        let text = &self.text[start..self.pos];
        Number::parse(text)
            .map(Value::Number)
            .ok_or_else(|| format!("number {text} is out of the supported range"))
    }

    /// A string literal; the opening quote is at `pos`.
    fn string(&mut self) -> ParseResult<String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(c) = rest.chars().next() else {
                return Err("unexpected EOF".into());
            };
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return Err("unexpected EOF".into());
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let unit = self.hex4()?;
                            out.push(self.code_point(unit));
                        }
                        e => return Err(Self::invalid(e, "in string escape code")),
                    }
                }
                c if u32::from(c) < 0x20 => {
                    return Err(Self::invalid(c as u8, "in string literal"));
                }
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> ParseResult<u32> {
        let mut unit = 0;
        for _ in 0..4 {
            let Some(h) = self.peek() else {
                return Err("unexpected EOF".into());
            };
            let digit = char::from(h)
                .to_digit(16)
                .ok_or_else(|| Self::invalid(h, "in \\u hexadecimal character escape"))?;
            unit = unit * 16 + digit;
            self.pos += 1;
        }
        Ok(unit)
    }

    /// The character of a `\u` escape, pairing surrogates; a lone
    /// surrogate becomes U+FFFD.
    fn code_point(&mut self, unit: u32) -> char {
        if (0xD800..0xDC00).contains(&unit) && self.text[self.pos..].starts_with("\\u") {
            let save = self.pos;
            self.pos += 2;
            if let Ok(low) = self.hex4()
                && (0xDC00..0xE000).contains(&low)
            {
                let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return char::from_u32(c).unwrap_or('\u{FFFD}');
            }
            self.pos = save;
        }
        char::from_u32(unit).unwrap_or('\u{FFFD}')
    }

    fn array(&mut self) -> ParseResult<Value> {
        self.pos += 1;
        let mut items = Vec::new();
        if self.next_token_byte()? == b']' {
            self.pos += 1;
            return Ok(Value::tuple(items));
        }
        loop {
            items.push(self.value()?);
            limits::check_elements(items.len())?;
            match self.next_token_byte()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Ok(Value::tuple(items));
                }
                b => return Err(Self::invalid(b, "after array element")),
            }
        }
    }

    fn object(&mut self) -> ParseResult<Value> {
        self.pos += 1;
        let mut attrs = BTreeMap::new();
        match self.next_token_byte()? {
            b'}' => {
                self.pos += 1;
                return Ok(Value::object(attrs));
            }
            b'"' => {}
            b => return Err(Self::invalid(b, "")),
        }
        loop {
            let key = self.string()?;
            match self.next_token_byte()? {
                b':' => self.pos += 1,
                b => return Err(Self::invalid(b, "after object key")),
            }
            // A repeated key keeps its last value.
            attrs.insert(key, self.value()?);
            limits::check_elements(attrs.len())?;
            match self.next_token_byte()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Ok(Value::object(attrs));
                }
                b => return Err(Self::invalid(b, "after object key:value pair")),
            }
            match self.next_token_byte()? {
                b'"' => {}
                b => {
                    return Err(Self::invalid(
                        b,
                        "looking for beginning of object key string",
                    ));
                }
            }
        }
    }
}

static YAMLDECODE: FuncSpec = FuncSpec {
    name: "yamldecode",
    params: &["src"],
    allow_unknown: false,
    returns: Type::Dynamic,
    marks: Marks::Strip,
    imp: yamldecode,
};
/// One YAML document as a value: mappings become objects, sequences
/// tuples, as `jsondecode` gives them.
fn yamldecode(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let text = args::string(a, 0)?;
    yaml::decode(&text).map_err(FuncError::new)
}

string_function!(YAMLENCODE, "yamlencode", "value", yamlencode);
fn yamlencode(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(yaml_text(&a[0])))
}

string_function!(BASE64ENCODE, "base64encode", "str", base64encode);
fn base64encode(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(BASE64.encode(args::string(a, 0)?)))
}

string_function!(BASE64DECODE, "base64decode", "str", base64decode);
fn base64decode(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let bytes = BASE64.decode(&s).map_err(|_| {
        FuncError::new(Message::text("failed to decode base64 data ").quoted(0, &s))
    })?;
    String::from_utf8(bytes).map(Value::string).map_err(|_| {
        FuncError::new("the result of decoding the provided string is not valid UTF-8")
    })
}

string_function!(BASE64GZIP, "base64gzip", "str", base64gzip);
/// The string gzip-compressed, then base64-encoded. (Any gzip reader
/// gets the text back; the compressed bytes are not Terraform's, whose
/// compressor differs.)
fn base64gzip(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    use std::io::Write;
    let s = args::string(a, 0)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let compressed = gz
        .write_all(s.as_bytes())
        .and_then(|()| gz.finish())
        .map_err(|e| FuncError::new(format!("failed to compress: {e}")))?;
    Ok(Value::string(BASE64.encode(compressed)))
}

/// The text encodings `textencodebase64` and `textdecodebase64` know: a
/// few of the IANA character sets Terraform supports.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum TextEncoding {
    Utf8,
    /// Big-endian with a byte order mark when encoding; decoding follows
    /// the mark if there is one.
    Utf16,
    Utf16Le,
    Utf16Be,
    Latin1,
    Ascii,
    Windows1252,
}

impl TextEncoding {
    /// By IANA name or alias, ignoring case.
    fn named(name: &str) -> Option<TextEncoding> {
        let lower = name.to_ascii_lowercase();
        Some(match lower.as_str() {
            "utf-8" | "csutf8" => TextEncoding::Utf8,
            "utf-16" | "csutf16" => TextEncoding::Utf16,
            "utf-16le" | "csutf16le" => TextEncoding::Utf16Le,
            "utf-16be" | "csutf16be" => TextEncoding::Utf16Be,
            "iso_8859-1:1987" | "iso-ir-100" | "iso_8859-1" | "iso-8859-1" | "latin1" | "l1"
            | "ibm819" | "cp819" | "csisolatin1" => TextEncoding::Latin1,
            "us-ascii" | "iso-ir-6" | "ansi_x3.4-1968" | "ansi_x3.4-1986" | "iso_646.irv:1991"
            | "iso646-us" | "us" | "ibm367" | "cp367" | "csascii" => TextEncoding::Ascii,
            "windows-1252" | "cswindows1252" => TextEncoding::Windows1252,
            _ => return None,
        })
    }

    /// The name Terraform's messages use.
    fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf16 => "UTF-16",
            TextEncoding::Utf16Le => "UTF-16LE",
            TextEncoding::Utf16Be => "UTF-16BE",
            TextEncoding::Latin1 => "ISO_8859-1:1987",
            TextEncoding::Ascii => "US-ASCII",
            TextEncoding::Windows1252 => "windows-1252",
        }
    }

    fn encode(self, s: &str) -> Option<Vec<u8>> {
        let utf16 = |big_endian: bool| {
            s.encode_utf16()
                .flat_map(|u| {
                    if big_endian {
                        u.to_be_bytes()
                    } else {
                        u.to_le_bytes()
                    }
                })
                .collect::<Vec<u8>>()
        };
        match self {
            TextEncoding::Utf8 => Some(s.as_bytes().to_vec()),
            TextEncoding::Utf16 => Some([&[0xFE, 0xFF][..], &utf16(true)].concat()),
            TextEncoding::Utf16Le => Some(utf16(false)),
            TextEncoding::Utf16Be => Some(utf16(true)),
            TextEncoding::Latin1 => s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect(),
            TextEncoding::Ascii => s.chars().map(|c| c.is_ascii().then_some(c as u8)).collect(),
            TextEncoding::Windows1252 => s.chars().map(windows1252_byte).collect(),
        }
    }

    fn decode(self, bytes: &[u8]) -> Option<String> {
        let utf16 = |bytes: &[u8], big_endian: bool| {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units = bytes.chunks(2).map(|p| {
                let pair = [p[0], p[1]];
                if big_endian {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            });
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .ok()
        };
        match self {
            TextEncoding::Utf8 => String::from_utf8(bytes.to_vec()).ok(),
            TextEncoding::Utf16 => match bytes {
                [0xFF, 0xFE, rest @ ..] => utf16(rest, false),
                [0xFE, 0xFF, rest @ ..] => utf16(rest, true),
                _ => utf16(bytes, true),
            },
            TextEncoding::Utf16Le => utf16(bytes, false),
            TextEncoding::Utf16Be => utf16(bytes, true),
            TextEncoding::Latin1 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
            TextEncoding::Ascii => bytes
                .iter()
                .map(|&b| b.is_ascii().then_some(char::from(b)))
                .collect(),
            TextEncoding::Windows1252 => bytes.iter().map(|&b| windows1252_char(b)).collect(),
        }
    }
}

/// The characters of windows-1252 bytes 0x80 to 0x9F (None where the
/// code page leaves a byte undefined); the other bytes are Latin-1.
const WINDOWS_1252_HIGH: [Option<char>; 32] = [
    Some('\u{20AC}'),
    None,
    Some('\u{201A}'),
    Some('\u{0192}'),
    Some('\u{201E}'),
    Some('\u{2026}'),
    Some('\u{2020}'),
    Some('\u{2021}'),
    Some('\u{02C6}'),
    Some('\u{2030}'),
    Some('\u{0160}'),
    Some('\u{2039}'),
    Some('\u{0152}'),
    None,
    Some('\u{017D}'),
    None,
    None,
    Some('\u{2018}'),
    Some('\u{2019}'),
    Some('\u{201C}'),
    Some('\u{201D}'),
    Some('\u{2022}'),
    Some('\u{2013}'),
    Some('\u{2014}'),
    Some('\u{02DC}'),
    Some('\u{2122}'),
    Some('\u{0161}'),
    Some('\u{203A}'),
    Some('\u{0153}'),
    None,
    Some('\u{017E}'),
    Some('\u{0178}'),
];

fn windows1252_char(b: u8) -> Option<char> {
    match b {
        0x80..=0x9F => WINDOWS_1252_HIGH[usize::from(b - 0x80)],
        b => Some(char::from(b)),
    }
}

fn windows1252_byte(c: char) -> Option<u8> {
    match u32::from(c) {
        0x80..=0x9F => None,
        n @ 0..=0xFF => Some(n as u8),
        _ => WINDOWS_1252_HIGH
            .iter()
            .position(|&h| h == Some(c))
            .map(|i| 0x80 + i as u8),
    }
}

fn encoding_arg(a: &[Value], i: usize) -> Result<TextEncoding, FuncError> {
    let name = args::string(a, i)?;
    TextEncoding::named(&name).ok_or_else(|| {
        FuncError::arg(
            i,
            Message::default()
                .quoted(i, &name)
                .then(" is not a supported IANA encoding name or alias in this Terraform version"),
        )
    })
}

static TEXTENCODEBASE64: FuncSpec = FuncSpec {
    name: "textencodebase64",
    params: &["string", "encoding"],
    allow_unknown: false,
    returns: Type::String,
    marks: Marks::Strip,
    imp: textencodebase64,
};
fn textencodebase64(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let encoding = encoding_arg(a, 1)?;
    let bytes = encoding.encode(&s).ok_or_else(|| {
        FuncError::arg(
            0,
            Message::text("the given string contains characters that cannot be represented in ")
                .value(1, encoding.name(), &Type::String),
        )
    })?;
    Ok(Value::string(BASE64.encode(bytes)))
}

static TEXTDECODEBASE64: FuncSpec = FuncSpec {
    name: "textdecodebase64",
    params: &["source", "encoding"],
    allow_unknown: false,
    returns: Type::String,
    marks: Marks::Strip,
    imp: textdecodebase64,
};
fn textdecodebase64(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let source = args::string(a, 0)?;
    let encoding = encoding_arg(a, 1)?;
    let bytes = BASE64.decode(&source).map_err(|e| {
        let offset = match e {
            base64::DecodeError::InvalidByte(at, _)
            | base64::DecodeError::InvalidLastSymbol(at, _) => at,
            // A truncated group is reported where it starts.
            _ => source.len() - source.len() % 4,
        };
        FuncError::arg(
            0,
            Message::text("the given value is has an invalid base64 symbol")
                .detail(0, format!(" at offset {offset}")),
        )
    })?;
    encoding.decode(&bytes).map(Value::string).ok_or_else(|| {
        FuncError::arg(
            0,
            Message::text("the given string contains symbols that are not defined for ").value(
                1,
                encoding.name(),
                &Type::String,
            ),
        )
    })
}

string_function!(URLENCODE, "urlencode", "str", urlencode);
/// Query-string encoding: unreserved characters stay, spaces become `+`,
/// every other byte `%XX`.
fn urlencode(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::string(out))
}

/// The digest of `bytes` in lowercase hex, as the hash functions give it.
pub(super) fn hex_digest<D: sha2::Digest>(bytes: &[u8]) -> String {
    D::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn digest<D: sha2::Digest>(a: &[Value]) -> Result<Value, FuncError> {
    let s = args::string(a, 0)?;
    Ok(Value::string(hex_digest::<D>(s.as_bytes())))
}

string_function!(MD5, "md5", "str", |_, a| digest::<md5::Md5>(a));
string_function!(SHA1, "sha1", "str", |_, a| digest::<sha1::Sha1>(a));
string_function!(SHA256, "sha256", "str", |_, a| digest::<sha2::Sha256>(a));
string_function!(SHA512, "sha512", "str", |_, a| digest::<sha2::Sha512>(a));

static UUID: FuncSpec = FuncSpec {
    name: "uuid",
    params: &[],
    allow_unknown: false,
    returns: Type::String,
    marks: Marks::Strip,
    imp: uuid,
};
/// A new random (version 4) UUID at every call.
fn uuid(_: &FuncContext<'_>, _: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(uuid::Uuid::new_v4().to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, call_named, err, s};
    use super::*;

    fn obj(pairs: Vec<(&str, Value)>) -> Value {
        Value::object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn n(text: &str) -> Value {
        Value::Number(Number::parse(text).unwrap())
    }

    #[test]
    fn jsonencode_sorts_keys_and_escapes_html() {
        let v = obj(vec![
            (
                "b",
                Value::tuple(vec![1.into(), s("x"), Value::NULL, Value::Bool(true)]),
            ),
            ("a", obj(vec![("z", n("1.5"))])),
        ]);
        assert_eq!(
            call("jsonencode", &[v]),
            s(r#"{"a":{"z":1.5},"b":[1,"x",null,true]}"#)
        );
        assert_eq!(
            call(
                "jsonencode",
                &[s(
                    "\u{8}\u{c}\u{7f}\u{0}\r\t\n\\/<>&\u{2028}\u{2029}\u{feff}\u{1f}"
                )]
            ),
            s(
                "\"\\b\\f\u{7f}\\u0000\\r\\t\\n\\\\/\\u003c\\u003e\\u0026\\u2028\\u2029\u{feff}\\u001f\""
            )
        );
        assert_eq!(
            call("jsonencode", &[n("1e25")]),
            s("10000000000000000000000000")
        );
        assert_eq!(call("jsonencode", &[Value::NULL]), s("null"));
        assert_eq!(
            call("jsonencode", &[Value::unknown()]),
            Value::Unknown(Type::String)
        );
    }

    /// Arrays nested `depth` deep, closed or not.
    fn nested(open: &str, close: &str, depth: usize, closed: bool) -> Value {
        let tail = if closed {
            close.repeat(depth)
        } else {
            String::new()
        };
        s(&format!("{}{}", open.repeat(depth), tail))
    }

    #[test]
    fn jsondecode_nests_at_most_fifty_levels() {
        let fifty = call("jsondecode", &[nested("[", "]", 50, true)]);
        assert_eq!(
            fifty.to_json().to_string(),
            format!("{}{}", "[".repeat(50), "]".repeat(50))
        );
        let refused = FuncError::new(
            "arrays and objects nest deeper than 50 levels at offset 50, the most jsondecode reads",
        );
        assert_eq!(err("jsondecode", &[nested("[", "]", 51, true)]), refused);
        // However deep the text, the refusal comes at the limit: no
        // recursion past it, nothing read beyond it.
        for depth in [10_000, 100_000, 1_000_000] {
            assert_eq!(err("jsondecode", &[nested("[", "]", depth, true)]), refused);
            assert_eq!(err("jsondecode", &[nested("[", "", depth, false)]), refused);
        }
        assert_eq!(
            err("jsondecode", &[nested("{\"a\":", "}", 60, true)]),
            FuncError::new(
                "arrays and objects nest deeper than 50 levels at offset 250, the most jsondecode reads"
            )
        );
    }

    #[test]
    fn jsondecode_holds_collections_to_their_limit() {
        let items = vec!["0"; 1_000_001].join(",");
        assert_eq!(
            err("jsondecode", &[s(&format!("[{items}]"))]),
            FuncError::new(
                "the result would have 1000001 elements, more than the 1000000 a collection may hold"
            )
        );
    }

    #[test]
    fn yamldecode_reads_one_document_with_the_core_schema() {
        let v = call(
            "yamldecode",
            &[s(
                "a: 1\nb: [true, yes, ~, 2.5, \"x\"]\nc:\n  d: null\n  e: |\n    text\n  1: one\n",
            )],
        );
        assert_eq!(
            v.to_json(),
            serde_json::json!({
                "a": 1,
                "b": [true, "yes", null, 2.5, "x"],
                "c": {"d": null, "e": "text\n", "1": "one"}
            })
        );
        assert!(matches!(v.type_of(), Type::Object(_)));
        assert!(matches!(
            v.get_attr("b").map(Value::type_of),
            Some(Type::Tuple(_))
        ));
        assert_eq!(call("yamldecode", &[s("")]), Value::NULL);
        assert_eq!(call("yamldecode", &[s("hello")]), s("hello"));
        let merged = call(
            "yamldecode",
            &[s("base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n")],
        );
        assert_eq!(
            merged.to_json(),
            serde_json::json!({"base": {"x": 1, "y": 2}, "use": {"x": 1, "y": 3}})
        );
        assert_eq!(
            err("yamldecode", &[s("a: 1\n---\nb: 2\n")]),
            FuncError::new(
                "on line 2, column 1: the text holds more than one document; yamldecode reads one"
            )
        );
        assert_eq!(
            err("yamldecode", &[s("a: [1, 2\n")]),
            FuncError::new("on line 1, column 4: unclosed bracket '['")
        );
    }

    #[test]
    fn yamldecode_nests_at_most_fifty_levels() {
        let fifty = call("yamldecode", &[nested("[", "]", 50, true)]);
        assert_eq!(
            fifty.to_json().to_string(),
            format!("{}{}", "[".repeat(50), "]".repeat(50))
        );
        let refused = |at: &str| {
            Err(FuncError::new(format!(
                "{at}sequences and mappings nest deeper than 50 levels, the most yamldecode reads"
            )))
        };
        for depth in [51, 10_000, 100_000] {
            let e = call_named("yamldecode", &[nested("[", "]", depth, true)]);
            assert_eq!(e, refused("on line 1, column 51: "), "{depth}");
            let e = call_named("yamldecode", &[nested("[", "", depth, false)]);
            assert_eq!(e, refused("on line 1, column 51: "), "{depth}");
        }
        // Block style nests by indentation.
        let block: String = (0..60).map(|i| format!("{}- \n", "  ".repeat(i))).collect();
        let e = call_named("yamldecode", &[s(&block)]);
        assert_eq!(e, refused("on line 51, column 101: "));
    }

    #[test]
    fn jsondecode_gives_objects_and_tuples() {
        let v = call(
            "jsondecode",
            &[s(
                r#" {"a": [1, 2.50, "x", null, true, {}], "a2": "\ud83d\ude00\ud800"} "#,
            )],
        );
        assert_eq!(
            v.type_of(),
            Type::Object(
                [
                    (
                        "a".to_string(),
                        Type::Tuple(vec![
                            Type::Number,
                            Type::Number,
                            Type::String,
                            Type::Dynamic,
                            Type::Bool,
                            Type::Object(BTreeMap::new()),
                        ])
                    ),
                    ("a2".to_string(), Type::String),
                ]
                .into()
            )
        );
        assert_eq!(
            v.to_json(),
            serde_json::json!({"a": [1, 2.5, "x", null, true, {}], "a2": "😀\u{fffd}"})
        );
        assert_eq!(call("jsondecode", &[s("null")]), Value::NULL);
        assert_eq!(
            call("jsondecode", &[s(r#"{"a":1,"a":2}"#)]),
            obj(vec![("a", 2.into())])
        );
        assert_eq!(
            call("jsondecode", &[s("[1e2, 0.5e-3]")]),
            Value::tuple(vec![100.into(), n("0.0005")])
        );
    }

    #[test]
    fn jsondecode_errors_read_like_terraform() {
        let cases = [
            ("{", "EOF"),
            ("", "EOF"),
            ("[1,2", "EOF"),
            ("\"abc", "unexpected EOF"),
            ("tru", "unexpected EOF"),
            ("1.", "unexpected EOF"),
            ("x", "invalid character 'x' looking for beginning of value"),
            ("{\"a\" 1}", "invalid character '1' after object key"),
            (
                "{\"a\":1 \"b\"}",
                "invalid character '\"' after object key:value pair",
            ),
            ("[1 2]", "invalid character '2' after array element"),
            ("{1:2}", "invalid character '1'"),
            (
                "{\"a\":1,}",
                "invalid character '}' looking for beginning of object key string",
            ),
            ("\"a\\x\"", "invalid character 'x' in string escape code"),
            (
                "\"\\u12g4\"",
                "invalid character 'g' in \\u hexadecimal character escape",
            ),
            ("\"a\tb\"", "invalid character '\\t' in string literal"),
            (
                "trux",
                "invalid character 'x' in literal true (expecting 'e')",
            ),
            ("-x", "invalid character 'x' in numeric literal"),
            (
                "1.x",
                "invalid character 'x' after decimal point in numeric literal",
            ),
            (
                "1ex",
                "invalid character 'x' in exponent of numeric literal",
            ),
            ("1 2", "extraneous data after JSON object"),
            ("01", "extraneous data after JSON object"),
        ];
        for (text, want) in cases {
            assert_eq!(
                err("jsondecode", &[s(text)]),
                FuncError::new(want),
                "{text}"
            );
        }
        // Go's decoder ignores a closing bracket after the value.
        assert_eq!(
            call("jsondecode", &[s("{\"a\":1}}")]),
            obj(vec![("a", 1.into())])
        );
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(call("base64encode", &[s("hi")]), s("aGk="));
        assert_eq!(call("base64encode", &[s("héllo")]), s("aMOpbGxv"));
        assert_eq!(call("base64decode", &[s("aGk=")]), s("hi"));
        assert_eq!(
            err("base64decode", &[s("aGk")]),
            FuncError::new("failed to decode base64 data \"aGk\"")
        );
        assert_eq!(
            err("base64decode", &[s("/w==")]),
            FuncError::new("the result of decoding the provided string is not valid UTF-8")
        );
    }

    #[test]
    fn hashes_are_lowercase_hex() {
        assert_eq!(
            call("sha256", &[s("x")]),
            s("2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881")
        );
        assert_eq!(
            call("md5", &[s("x")]),
            s("9dd4e461268c8034f5c8564e155c67a6")
        );
        assert_eq!(
            call("md5", &[5.into()]),
            s("e4da3b7fbbce2345d7772b0674a318d5")
        );
        assert_eq!(
            call("sha1", &[s("x")]),
            s("11f6ad8ec52a2984abaafd7c3b516503785c2072")
        );
        assert_eq!(
            call("sha512", &[s("x")]),
            s(
                "a4abd4448c49562d828115d13a1fccea927f52b4d5459297f8b43e42da89238bc13626e43dcb38ddb082488927ec904fb42057443983e88585179d50551afe62"
            )
        );
        assert_eq!(
            err("sha256", &[Value::tuple(vec![])]),
            FuncError::arg(0, "string required")
        );
    }

    #[test]
    fn string_parameters_reject_collections() {
        for name in [
            "md5",
            "sha1",
            "sha512",
            "urlencode",
            "base64encode",
            "jsondecode",
        ] {
            assert_eq!(
                err(name, &[Value::tuple(vec![])]),
                FuncError::arg(0, "string required"),
                "{name}"
            );
        }
        // Anything encodes; only the number of arguments can be wrong.
        for name in ["jsonencode", "yamlencode"] {
            assert_eq!(err(name, &[]).arg, None, "{name}");
        }
    }

    #[test]
    fn urlencode_is_query_escaping() {
        assert_eq!(
            call("urlencode", &[s("a b&c=d/é~-_.*")]),
            s("a+b%26c%3Dd%2F%C3%A9~-_.%2A")
        );
    }

    #[test]
    fn uuids_are_random_v4() {
        let a = call("uuid", &[]);
        let b = call("uuid", &[]);
        assert_ne!(a, b);
        let text = a.as_str().unwrap();
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "4");
        assert_eq!(err("uuid", &[1.into()]).arg, None);
    }

    #[test]
    fn yamlencode_lays_out_blocks_like_terraform() {
        let v = obj(vec![
            (
                "b",
                Value::tuple(vec![1.into(), s("x"), Value::NULL, Value::Bool(true)]),
            ),
            ("a", obj(vec![("z", n("1.5")), ("y", s("multi\nline"))])),
            ("c", Value::tuple(vec![])),
            ("d", obj(vec![])),
            ("e", s("yes")),
            ("f", s("1")),
        ]);
        let out = call("yamlencode", &[v]);
        assert_eq!(
            out,
            s(
                "\"a\":\n  \"y\": |-\n    multi\n    line\n  \"z\": 1.5\n\"b\":\n- 1\n- \"x\"\n- null\n- true\n\"c\": []\n\"d\": {}\n\"e\": \"yes\"\n\"f\": \"1\"\n"
            )
        );
        assert_eq!(out.type_of(), Type::String);
        assert_eq!(
            call("yamlencode", &[Value::unknown()]),
            Value::Unknown(Type::String)
        );
    }

    #[test]
    fn yamlencode_scalars() {
        let cases = [
            (s("x"), "\"x\"\n"),
            (1.into(), "1\n...\n"),
            (Value::NULL, "null\n...\n"),
            (Value::tuple(vec![]), "[]\n"),
            (s("a\n"), "|\n  a\n"),
            (s("a\n\n"), "|+\n  a\n\n"),
            (s("\n"), "|2+\n\n"),
            (s("  lead\nx"), "|2-\n    lead\n  x\n"),
            (s(""), "\"\"\n"),
            (s("tab\there"), "\"tab\\there\"\n"),
            // A space before a line break rules out a literal block.
            (s("trailing space \nx"), "\"trailing space \\nx\"\n"),
            (s("a\r\nb"), "\"a\\r\\nb\"\n"),
            (
                s("é ☃ \u{1} \u{7f} \u{85} \u{2028} \u{feff} 😀"),
                "\"é ☃ \\x01 \\x7F \\N \\L \\uFEFF \\U0001F600\"\n",
            ),
            (
                s(
                    "a very long string with many words that goes on and on past the eighty column limit of the emitter for sure yes",
                ),
                "\"a very long string with many words that goes on and on past the eighty column limit\n  of the emitter for sure yes\"\n",
            ),
            (
                s(&format!("{}  two spaces", "x".repeat(84))),
                &format!("\"{}\n  \\ two spaces\"\n", "x".repeat(84)),
            ),
        ];
        for (v, want) in cases {
            assert_eq!(
                call("yamlencode", std::slice::from_ref(&v)),
                s(want),
                "{v:?}"
            );
        }
    }

    #[test]
    fn yamlencode_nesting_and_complex_keys() {
        let nested = Value::tuple(vec![
            Value::tuple(vec![1.into(), 2.into()]),
            Value::tuple(vec![Value::tuple(vec![])]),
            obj(vec![("a", obj(vec![]))]),
        ]);
        assert_eq!(
            call("yamlencode", &[nested]),
            s("- - 1\n  - 2\n- - []\n- \"a\": {}\n")
        );
        let keys = obj(vec![
            ("multi\nkey", obj(vec![("a", 1.into())])),
            ("m2\nk", Value::tuple(vec![1.into()])),
            (&"k".repeat(130), 1.into()),
        ]);
        assert_eq!(
            call("yamlencode", &[keys]),
            s(&format!(
                "? \"{}\"\n: 1\n? |-\n  m2\n  k\n: - 1\n? |-\n  multi\n  key\n: \"a\": 1\n",
                "k".repeat(130)
            ))
        );
        let folded_deep = obj(vec![(
            "a",
            obj(vec![(
                "b",
                Value::tuple(vec![obj(vec![(
                    "c",
                    s(
                        "this is a long string with many words that goes on and on past the eighty column limit of the emitter",
                    ),
                )])]),
            )]),
        )]);
        assert_eq!(
            call("yamlencode", &[folded_deep]),
            s(
                "\"a\":\n  \"b\":\n  - \"c\": \"this is a long string with many words that goes on and on past the eighty\n      column limit of the emitter\"\n"
            )
        );
    }

    #[test]
    fn base64gzip_round_trips_through_gzip() {
        use std::io::Read;
        let encoded = call("base64gzip", &[s("hello")]);
        let bytes = BASE64.decode(encoded.as_str().unwrap()).unwrap();
        // The gzip header Terraform writes too: no name, no time.
        assert_eq!(&bytes[..4], &[0x1f, 0x8b, 8, 0]);
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello");
        assert_eq!(
            err("base64gzip", &[Value::tuple(vec![])]),
            FuncError::arg(0, "string required")
        );
    }

    #[test]
    fn text_encodings() {
        let enc = |text: &str, name: &str| call("textencodebase64", &[s(text), s(name)]);
        let dec = |b64: &str, name: &str| call("textdecodebase64", &[s(b64), s(name)]);
        assert_eq!(enc("hé", "UTF-16LE"), s("aADpAA=="));
        assert_eq!(enc("hé", "UTF-16"), s("/v8AaADp"));
        assert_eq!(enc("hé", "utf-16be"), s("AGgA6Q=="));
        assert_eq!(enc("hé", "csUTF8"), s("aMOp"));
        assert_eq!(enc("hé", "l1"), s("aOk="));
        assert_eq!(enc("h€", "windows-1252"), s("aIA="));
        assert_eq!(dec("aADpAA==", "UTF-16LE"), s("hé"));
        // UTF-16 follows a byte order mark, else reads big-endian.
        assert_eq!(dec("/v8AaA==", "UTF-16"), s("h"));
        assert_eq!(dec("//5oAA==", "UTF-16"), s("h"));
        assert_eq!(dec("aAA=", "UTF-16"), s("栀"));
        assert_eq!(dec("aMOp", "ISO-8859-1"), s("hÃ©"));
        assert_eq!(
            err("textencodebase64", &[s("h☃"), s("ISO-8859-1")]),
            FuncError::arg(
                0,
                "the given string contains characters that cannot be represented in ISO_8859-1:1987"
            )
        );
        assert_eq!(
            err("textencodebase64", &[s("x"), s("UTF-32")]),
            FuncError::arg(
                1,
                "\"UTF-32\" is not a supported IANA encoding name or alias in this Terraform version"
            )
        );
        assert_eq!(
            err("textdecodebase64", &[s("gQ=="), s("windows-1252")]),
            FuncError::arg(
                0,
                "the given string contains symbols that are not defined for windows-1252"
            )
        );
        assert_eq!(
            err("textdecodebase64", &[s("a!=="), s("UTF-8")]),
            FuncError::arg(
                0,
                "the given value is has an invalid base64 symbol at offset 1"
            )
        );
        assert_eq!(
            err("textdecodebase64", &[s("aA"), s("UTF-8")]),
            FuncError::arg(
                0,
                "the given value is has an invalid base64 symbol at offset 0"
            )
        );
    }
}
