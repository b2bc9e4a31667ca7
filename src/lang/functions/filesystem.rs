//! Filesystem functions: file, fileexists, templatefile, the file hash
//! and base64 variants, and the path functions (abspath, basename,
//! dirname, pathexpand).
//!
//! Relative paths given to the file functions resolve against the
//! module's directory. Paths are handled as text the way Go's `filepath`
//! does on Unix (what Terraform users get): `dirname("a/b/")` is `"a/b"`,
//! and `..` is resolved lexically.

use super::encoding::hex_digest;
use super::{FuncContext, FuncError, FuncSpec, Marks, Message, args};
use crate::lang::eval::eval_template_source;
use crate::lang::limits;
use crate::lang::value::{Type, Value};
use crate::regular_file::{self, FileError};
use base64::Engine;
use hcl::edit::Span;
use hcl::edit::expr::{Expression, ForExpr};
use hcl::edit::template::ForTemplateExpr;
use hcl::edit::visit::{self, Visit};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(super) static FUNCTIONS: &[&FuncSpec] = &[
    &ABSPATH,
    &BASENAME,
    &DIRNAME,
    &FILE,
    &FILEBASE64,
    &FILEEXISTS,
    &FILEMD5,
    &FILESHA1,
    &FILESHA256,
    &FILESHA512,
    &PATHEXPAND,
    &TEMPLATEFILE,
];

macro_rules! function {
    ($static:ident, $name:literal, [$($param:literal),*], $returns:expr, $imp:expr) => {
        static $static: FuncSpec = FuncSpec {
            name: $name,
            params: &[$($param),*],
            allow_unknown: false,
            returns: $returns,
            marks: Marks::Strip,
            imp: $imp,
        };
    };
}

/// `~` or `~/...` with the home directory in place of the `~`.
fn expand_home(path: &str) -> Result<String, String> {
    let Some(rest) = path.strip_prefix('~') else {
        return Ok(path.to_string());
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return Err("cannot expand user-specific home dir".into());
    }
    let home = std::env::var("HOME")
        .ok()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| "cannot expand the home directory: HOME is not set".to_string())?;
    Ok(clean(&format!("{home}/{rest}")))
}

/// Where a path argument of a file function points.
fn resolve(ctx: &FuncContext<'_>, a: &[Value], i: usize) -> Result<(PathBuf, String), FuncError> {
    let given = args::string(a, i)?;
    let expanded = expand_home(&given)
        .map_err(|e| FuncError::arg(i, Message::text(format!("failed to expand ~: {e}"))))?;
    let path = Path::new(&expanded);
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        ctx.base_dir.join(path)
    };
    Ok((full, given))
}

/// The bytes of the file at argument `i`, at most `limit` of them, with
/// Terraform's messages. Anything but a regular file is refused before
/// it is read: `file("/dev/zero")` would read for ever.
fn read(
    ctx: &FuncContext<'_>,
    a: &[Value],
    i: usize,
    limit: u64,
) -> Result<(Vec<u8>, String), FuncError> {
    let (path, given) = resolve(ctx, a, i)?;
    match regular_file::read(&path, limit) {
        Ok(bytes) => Ok((bytes, given)),
        Err(e) if e.is_not_found() => Err(FuncError::arg(
            i,
            Message::text("no file exists at ").quoted(i, &given).then(
                "; this function works only with files that are distributed as part of the configuration source code, so if this file will be created by a resource in this configuration you must instead obtain this result from an attribute of that resource",
            ),
        )),
        Err(FileError::NotRegular {
            kind: "a directory",
        }) => Err(FuncError::arg(
            i,
            Message::text("failed to read file: read ")
                .value(i, given, &Type::String)
                .then(": is a directory"),
        )),
        // Neither an I/O error's text nor the kind of file names the path:
        // the path is shown as an argument, hidden when it is sensitive.
        Err(e) => Err(FuncError::arg(
            i,
            Message::text("failed to read file ")
                .quoted(i, &given)
                .then(format!(": {e}")),
        )),
    }
}

fn read_text(ctx: &FuncContext<'_>, a: &[Value], i: usize) -> Result<(String, String), FuncError> {
    let (bytes, given) = read(ctx, a, i, limits::MAX_FILE_BYTES)?;
    String::from_utf8(bytes).map(|s| (s, given.clone())).map_err(|_| {
        FuncError::new(Message::text("contents of ").quoted(i, &given).then(
            " are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents or the other file functions (e.g. filemd5, filesha256) to obtain file hashing results instead",
        ))
    })
}

function!(FILE, "file", ["path"], Type::String, file);
fn file(ctx: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::string(read_text(ctx, a, 0)?.0))
}

function!(FILEBASE64, "filebase64", ["path"], Type::String, filebase64);
fn filebase64(ctx: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let (bytes, _) = read(ctx, a, 0, limits::MAX_BASE64_FILE_BYTES)?;
    Ok(Value::string(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

/// A hash of a file's bytes, in lowercase hex.
macro_rules! file_hash {
    ($static:ident, $name:literal, $digest:ty) => {
        function!($static, $name, ["path"], Type::String, |ctx, a| {
            // Hashed, not kept: the only bound is reading in memory.
            let (bytes, _) = read(ctx, a, 0, limits::MAX_FILE_BYTES)?;
            Ok(Value::string(hex_digest::<$digest>(&bytes)))
        });
    };
}

file_hash!(FILEMD5, "filemd5", md5::Md5);
file_hash!(FILESHA1, "filesha1", sha1::Sha1);
file_hash!(FILESHA256, "filesha256", sha2::Sha256);
file_hash!(FILESHA512, "filesha512", sha2::Sha512);

function!(FILEEXISTS, "fileexists", ["path"], Type::Bool, fileexists);
/// Whether a regular file exists at the path; a directory is an error.
fn fileexists(ctx: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let (path, given) = resolve(ctx, a, 0)?;
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(Value::Bool(true)),
        Ok(meta) if meta.is_dir() => Err(FuncError::new(
            Message::default()
                .quoted(0, &given)
                .then(" is a directory, not a file"),
        )),
        Ok(_) => Err(FuncError::new(
            Message::default()
                .quoted(0, &given)
                .then(" is not a regular file"),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Bool(false)),
        Err(e) => Err(FuncError::new(
            Message::text("failed to stat ")
                .quoted(0, &given)
                .then(format!(": {e}")),
        )),
    }
}

thread_local! {
    /// Set while a template is being rendered: templates may call
    /// functions, but not `templatefile` itself.
    static IN_TEMPLATE: Cell<bool> = const { Cell::new(false) };
}

/// Clears `IN_TEMPLATE` when the render ends, however it ends.
struct TemplateGuard;

impl Drop for TemplateGuard {
    fn drop(&mut self) {
        IN_TEMPLATE.with(|flag| flag.set(false));
    }
}

/// Its arguments keep their marks, so that the template sees which
/// variables are sensitive and its messages leave their values out.
static TEMPLATEFILE: FuncSpec = FuncSpec {
    name: "templatefile",
    params: &["path", "vars"],
    allow_unknown: false,
    returns: Type::String,
    marks: Marks::Keep,
    imp: templatefile,
};
/// Renders the template file with `vars` as its only variables.
fn templatefile(ctx: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    if IN_TEMPLATE.with(Cell::get) {
        return Err(FuncError::new(
            "cannot recursively call templatefile from inside another template function",
        ));
    }
    if a[1].is_null() {
        return Err(FuncError::arg(1, "argument must not be null"));
    }
    let Some(entries) = a[1].as_entries() else {
        return Err(FuncError::arg(1, "invalid vars value: must be a map"));
    };
    for name in entries.keys() {
        if !is_identifier(name) {
            return Err(FuncError::arg(
                1,
                Message::text("invalid template variable name ").quoted(1, name).then(
                    ": must start with a letter, followed by zero or more letters, digits, and underscores",
                ),
            ));
        }
    }
    let (source, given) = read_text(ctx, a, 0)?;
    // A mark on the whole map marks each variable in the template.
    let vars_marked = a[1].is_sensitive();
    let vars: BTreeMap<String, Value> = entries
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().marked_if(vars_marked)))
        .collect();
    if let Some((name, span)) = first_missing_variable(&source, &vars) {
        // The name is the template's own text, not a value.
        return Err(FuncError::arg(
            1,
            Message::text(format!(
                "vars map does not contain key {name:?}, referenced at "
            ))
            .value(0, given, &Type::String)
            .then(format!(":{}", position(&source, span))),
        ));
    }
    IN_TEMPLATE.with(|flag| flag.set(true));
    let _guard = TemplateGuard;
    let marked = a.iter().any(Value::contains_sensitive);
    // The evaluator's messages leave out what the marks say is sensitive,
    // so they may follow the path.
    eval_template_source(&source, &vars, ctx.base_dir)
        .map(|v| v.marked_if(marked))
        .map_err(|e| {
            FuncError::new(
                Message::default()
                    .value(0, given, &Type::String)
                    .then(format!(": {e}")),
            )
        })
}

/// The first variable the template refers to that `vars` does not have
/// (names bound by `for` inside the template aside), with its span. None
/// when there is none, or when the template does not parse (rendering
/// reports that).
fn first_missing_variable(
    source: &str,
    vars: &BTreeMap<String, Value>,
) -> Option<(String, std::ops::Range<usize>)> {
    let template = hcl::edit::parser::parse_template(source).ok()?;
    let mut finder = MissingVariables {
        vars,
        bound: Vec::new(),
        missing: None,
    };
    finder.visit_template(&template);
    finder.missing
}

struct MissingVariables<'a> {
    vars: &'a BTreeMap<String, Value>,
    /// Iteration variables of the `for`s around the current point.
    bound: Vec<String>,
    missing: Option<(String, std::ops::Range<usize>)>,
}

impl Visit for MissingVariables<'_> {
    fn visit_expr(&mut self, expr: &Expression) {
        if let Expression::Variable(name) = expr {
            let name = name.as_str();
            let known = self.vars.contains_key(name) || self.bound.iter().any(|b| b == name);
            if !known && self.missing.is_none() {
                self.missing = Some((name.to_string(), expr.span().unwrap_or(0..0)));
            }
        }
        visit::visit_expr(self, expr);
    }

    fn visit_for_expr(&mut self, node: &ForExpr) {
        self.visit_expr(&node.intro.collection_expr);
        let depth = self.bound.len();
        self.bound
            .extend(node.intro.key_var.iter().map(|k| k.as_str().to_string()));
        self.bound.push(node.intro.value_var.as_str().to_string());
        if let Some(key) = &node.key_expr {
            self.visit_expr(key);
        }
        self.visit_expr(&node.value_expr);
        if let Some(cond) = &node.cond {
            self.visit_expr(&cond.expr);
        }
        self.bound.truncate(depth);
    }

    fn visit_for_template_expr(&mut self, node: &ForTemplateExpr) {
        self.visit_expr(&node.collection_expr);
        let depth = self.bound.len();
        self.bound
            .extend(node.key_var.iter().map(|k| k.as_str().to_string()));
        self.bound.push(node.value_var.as_str().to_string());
        self.visit_template(&node.template);
        self.bound.truncate(depth);
    }
}

/// `line,column-column` of a span, 1-based, as HCL reports positions.
fn position(source: &str, span: std::ops::Range<usize>) -> String {
    let line_col = |offset: usize| {
        let before = source.get(..offset).unwrap_or(source);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    };
    let (line, start) = line_col(span.start);
    let (_, end) = line_col(span.end);
    format!("{line},{start}-{end}")
}

/// A name HCL can refer to: a letter or underscore, then letters,
/// digits, underscores and dashes.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// Go's lexical `Clean`: one slash between elements, no `.` elements, a
/// `..` removes the element before it (and is dropped at the root), no
/// trailing slash; the empty path is `.`.
fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

function!(BASENAME, "basename", ["path"], Type::String, basename);
/// The last element of the path, trailing slashes ignored.
fn basename(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let path = args::string(a, 0)?;
    if path.is_empty() {
        return Ok(Value::from("."));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Value::from("/"));
    }
    let last = trimmed.rsplit('/').next().unwrap_or(trimmed);
    Ok(Value::from(last))
}

function!(DIRNAME, "dirname", ["path"], Type::String, dirname);
/// Everything but the last element, cleaned.
fn dirname(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let path = args::string(a, 0)?;
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    Ok(Value::string(clean(dir)))
}

function!(PATHEXPAND, "pathexpand", ["path"], Type::String, pathexpand);
fn pathexpand(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let path = args::string(a, 0)?;
    expand_home(&path)
        .map(Value::string)
        .map_err(FuncError::new)
}

function!(ABSPATH, "abspath", ["path"], Type::String, abspath);
/// The path made absolute against the working directory (not the
/// module's), and cleaned.
fn abspath(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let path = args::string(a, 0)?;
    if path.starts_with('/') {
        return Ok(Value::string(clean(&path)));
    }
    let cwd = std::env::current_dir()
        .map_err(|e| FuncError::new(format!("cannot find the working directory: {e}")))?;
    let cwd = cwd.to_string_lossy();
    Ok(Value::string(clean(&format!("{cwd}/{path}"))))
}

#[cfg(test)]
mod tests {
    use super::super::testing::s;
    use super::super::{call, lookup};
    use super::*;

    fn call_in(dir: &Path, name: &str, a: &[Value]) -> Result<Value, FuncError> {
        let spec = lookup(name).unwrap_or_else(|| panic!("no function {name}"));
        call(spec, &FuncContext { base_dir: dir }, a)
    }

    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, content: &[u8]| {
            std::fs::write(dir.path().join(name), content).expect("write fixture");
        };
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        write("hello.txt", b"hello\n");
        write("bin.dat", b"\xff\xfe");
        write(
            "t.tpl",
            b"Hi ${name}!%{ for x in items } [${x}]%{ endfor }\n${upper(name)}",
        );
        write(
            "rec.tpl",
            b"${templatefile(\"t.tpl\", {name=\"x\", items=[]})}",
        );
        write("sub/s.txt", b"x");
        write(
            "scope.tpl",
            b"a\n%{for k, v in m}${k}=${v} ${join(\",\", [for z in l: z+q])}%{endfor}\n${nope}",
        );
        dir
    }

    #[test]
    fn file_reads_relative_to_the_module() {
        let dir = fixture();
        let d = dir.path();
        assert_eq!(call_in(d, "file", &[s("hello.txt")]), Ok(s("hello\n")));
        assert_eq!(
            call_in(d, "file", &[s("sub/../hello.txt")]),
            Ok(s("hello\n"))
        );
        assert_eq!(call_in(d, "file", &[s("./sub//s.txt")]), Ok(s("x")));
        let missing = call_in(d, "file", &[s("nope")]).unwrap_err();
        assert_eq!(missing.arg, Some(0));
        assert!(
            missing
                .message
                .starts_with("no file exists at \"nope\"; this function works only with files")
        );
        assert_eq!(
            call_in(d, "file", &[s("sub")]),
            Err(FuncError::arg(
                0,
                "failed to read file: read sub: is a directory"
            ))
        );
        let binary = call_in(d, "file", &[s("bin.dat")]).unwrap_err();
        assert!(
            binary
                .message
                .starts_with("contents of \"bin.dat\" are not valid UTF-8")
        );
        assert_eq!(call_in(d, "filebase64", &[s("bin.dat")]), Ok(s("//4=")));
        assert_eq!(
            call_in(d, "filesha256", &[s("sub/s.txt")]),
            Ok(s(
                "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
            ))
        );
        assert_eq!(
            call_in(d, "filemd5", &[s("sub/s.txt")]),
            Ok(s("9dd4e461268c8034f5c8564e155c67a6"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_fifos_and_oversized_files_are_refused_unread() {
        let dir = fixture();
        let d = dir.path();
        let fifo = d.join("pipe.tpl");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        for name in ["file", "filebase64", "filesha256"] {
            assert_eq!(
                call_in(d, name, &[s("/dev/zero")]),
                Err(FuncError::arg(
                    0,
                    "failed to read file \"/dev/zero\": it is a character device, not a regular file"
                )),
                "{name}"
            );
        }
        // No writer ever opens the FIFO: a blocking open would hang here.
        let vars = Value::object(BTreeMap::new());
        assert_eq!(
            call_in(d, "templatefile", &[s("pipe.tpl"), vars]),
            Err(FuncError::arg(
                0,
                "failed to read file \"pipe.tpl\": it is a FIFO, not a regular file"
            ))
        );
        // Sparse: nothing is stored, and nothing is read.
        let big = std::fs::File::create(d.join("big.txt")).unwrap();
        big.set_len(limits::MAX_FILE_BYTES + 1).unwrap();
        assert_eq!(
            call_in(d, "file", &[s("big.txt")]),
            Err(FuncError::arg(
                0,
                "failed to read file \"big.txt\": it is larger than 64 MiB, the most stackform reads of such a file"
            ))
        );
        big.set_len(limits::MAX_BASE64_FILE_BYTES + 1).unwrap();
        assert_eq!(
            call_in(d, "filebase64", &[s("big.txt")]),
            Err(FuncError::arg(
                0,
                "failed to read file \"big.txt\": it is larger than 48 MiB, the most stackform reads of such a file"
            ))
        );
    }

    #[test]
    fn templatefile_knows_the_names_bound_by_for() {
        let dir = fixture();
        let vars = |extra: &[&str]| {
            let mut v: BTreeMap<String, Value> = [
                (
                    "m".to_string(),
                    Value::object([("a".to_string(), 1.into())].into()),
                ),
                ("l".to_string(), Value::tuple(vec![1.into()])),
            ]
            .into();
            for name in extra {
                v.insert(name.to_string(), 1.into());
            }
            Value::object(v)
        };
        let missing = |extra: &[&str]| {
            call_in(dir.path(), "templatefile", &[s("scope.tpl"), vars(extra)])
                .unwrap_err()
                .message
        };
        assert_eq!(
            missing(&[]),
            "vars map does not contain key \"q\", referenced at scope.tpl:2,54-55"
        );
        assert_eq!(
            missing(&["q"]),
            "vars map does not contain key \"nope\", referenced at scope.tpl:3,3-7"
        );
        assert_eq!(
            call_in(
                dir.path(),
                "templatefile",
                &[s("scope.tpl"), vars(&["q", "nope"])]
            ),
            Ok(s("a\na=1 2\n1"))
        );
    }

    #[test]
    fn fileexists_is_for_regular_files() {
        let dir = fixture();
        let d = dir.path();
        assert_eq!(
            call_in(d, "fileexists", &[s("hello.txt")]),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            call_in(d, "fileexists", &[s("nope")]),
            Ok(Value::Bool(false))
        );
        assert_eq!(
            call_in(d, "fileexists", &[s("sub")]),
            Err(FuncError::new("\"sub\" is a directory, not a file"))
        );
    }

    #[test]
    fn templatefile_renders_with_its_variables_only() {
        let dir = fixture();
        let d = dir.path();
        let vars = |items: Vec<Value>| {
            Value::object(
                [
                    ("name".to_string(), s("bob")),
                    ("items".to_string(), Value::tuple(items)),
                ]
                .into(),
            )
        };
        let out = call_in(
            d,
            "templatefile",
            &[s("t.tpl"), vars(vec![1.into(), 2.into()])],
        );
        assert_eq!(out, Ok(s("Hi bob! [1] [2]\nBOB")));
        assert_eq!(
            call_in(d, "templatefile", &[s("t.tpl"), s("x")]),
            Err(FuncError::arg(1, "invalid vars value: must be a map"))
        );
        let bad_name = Value::object([("1a".to_string(), 1.into())].into());
        assert_eq!(
            call_in(d, "templatefile", &[s("t.tpl"), bad_name]),
            Err(FuncError::arg(
                1,
                "invalid template variable name \"1a\": must start with a letter, followed by zero or more letters, digits, and underscores"
            ))
        );
        let recursive = call_in(
            d,
            "templatefile",
            &[s("rec.tpl"), Value::object(BTreeMap::new())],
        );
        let message = recursive.unwrap_err().message;
        assert!(
            message.contains("cannot recursively call templatefile"),
            "{message}"
        );
        let only_name = Value::object([("name".to_string(), s("bob"))].into());
        assert_eq!(
            call_in(d, "templatefile", &[s("t.tpl"), only_name]),
            Err(FuncError::arg(
                1,
                "vars map does not contain key \"items\", referenced at t.tpl:1,24-29"
            ))
        );
        // The guard is released after a failed render.
        assert!(call_in(d, "templatefile", &[s("t.tpl"), vars(vec![])]).is_ok());
        let secret = Value::object(
            [
                ("name".to_string(), s("x").mark_sensitive()),
                ("items".to_string(), Value::tuple(vec![])),
            ]
            .into(),
        );
        let marked = call_in(d, "templatefile", &[s("t.tpl"), secret]).unwrap();
        assert!(marked.is_sensitive());
    }

    #[test]
    fn path_parameters_reject_collections() {
        let d = Path::new(".");
        for name in [
            "abspath",
            "basename",
            "dirname",
            "pathexpand",
            "file",
            "fileexists",
        ] {
            assert_eq!(
                call_in(d, name, &[Value::tuple(vec![])]),
                Err(FuncError::arg(0, "string required")),
                "{name}"
            );
        }
    }

    #[test]
    fn path_functions_work_on_text() {
        let d = Path::new(".");
        let one = |name: &str, path: &str| call_in(d, name, &[s(path)]).unwrap();
        for (path, base) in [
            ("a/b/", "b"),
            ("", "."),
            ("/", "/"),
            ("//", "/"),
            ("a/b.txt", "b.txt"),
            ("a//b//", "b"),
        ] {
            assert_eq!(one("basename", path), s(base), "basename({path:?})");
        }
        for (path, dir) in [
            ("a/b/", "a/b"),
            ("a/b", "a"),
            ("", "."),
            ("/a", "/"),
            ("a", "."),
            ("a//b/./c/../d", "a/b"),
            ("/", "/"),
            ("a/", "a"),
            ("./a", "."),
            ("../a", ".."),
        ] {
            assert_eq!(one("dirname", path), s(dir), "dirname({path:?})");
        }
        assert_eq!(one("abspath", "/x/./y/"), s("/x/y"));
        assert_eq!(one("abspath", "/../../x"), s("/x"));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            one("abspath", "a/../b"),
            s(&format!("{}/b", cwd.to_string_lossy()))
        );
        assert_eq!(one("pathexpand", "a/~"), s("a/~"));
        assert_eq!(
            call_in(d, "pathexpand", &[s("~other/x")]),
            Err(FuncError::new("cannot expand user-specific home dir"))
        );
        if let Ok(home) = std::env::var("HOME") {
            assert_eq!(one("pathexpand", "~/x"), s(&clean(&format!("{home}/x"))));
        }
    }
}
