//! Reading `.tf` files into typed blocks.
//!
//! Every `*.tf` file of a directory is parsed with hcl-rs's lossless
//! parser (`hcl::edit`), which keeps byte spans, and sorted into
//! `variable`, `locals`, `resource`, `data`, `output`, `provider` and
//! `terraform` blocks. Expressions stay unevaluated: evaluation needs
//! values that exist only at plan or apply time. Structural problems
//! (syntax, unknown blocks and arguments, duplicates) are collected as
//! diagnostics so that all of them are reported at once.
//!
//! Checking resource bodies against their type's schema and checking
//! references is `validate`'s job: it needs the providers and the graph.

pub mod fmt;
pub mod variables;

use crate::addr::{ConfigAddr, ModulePath, Target, module_path_string};
use crate::diag::{Diagnostic, Diagnostics, SourceFile, SourceRange};
use crate::lang::convert::Constraint;
use crate::lang::refs::{Reference, ResourceMode, parse_reference};
use crate::lang::typeexpr::{constant_value, parse_constraint};
use crate::lang::value::Value;
use hcl::edit::Span;
use hcl::edit::expr::{Expression, TraversalOperator};
use hcl::edit::structure::{Attribute, Block, Body, Structure};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which loaded file a block came from (an index into `Config::files`).
pub type FileId = usize;

/// An unevaluated expression and the file its spans refer to.
#[derive(Clone, Debug)]
pub struct Expr {
    pub file: FileId,
    pub expr: Expression,
}

#[derive(Debug, Default)]
pub struct Config {
    /// The directory the configuration was read from (`path.module`).
    pub dir: PathBuf,
    pub files: Vec<Arc<SourceFile>>,
    pub terraform: TerraformSettings,
    pub providers: Vec<ProviderBlock>,
    /// The root module's input variables, locals and outputs.
    pub variables: BTreeMap<String, Variable>,
    pub locals: BTreeMap<String, Local>,
    pub outputs: BTreeMap<String, Output>,
    /// Managed resources and data sources of every module, by address.
    pub resources: BTreeMap<ConfigAddr, Resource>,
    /// The modules `module` blocks call, by path from the root (the root
    /// module itself is not among them).
    pub modules: BTreeMap<ModulePath, Module>,
    /// `moved` blocks, in the order they are written.
    pub moved: Vec<Moved>,
    /// `removed` blocks.
    pub removed: Vec<Removed>,
    pub checks: Vec<Check>,
    /// `import` blocks.
    pub imports: Vec<Import>,
}

/// A module called by a `module` block, with its contents.
#[derive(Debug)]
pub struct Module {
    pub call: ModuleCall,
    /// `path.module`: the module's directory relative to the root
    /// module's (`modules/net`).
    pub rel_dir: String,
    pub variables: BTreeMap<String, Variable>,
    pub locals: BTreeMap<String, Local>,
    pub outputs: BTreeMap<String, Output>,
}

/// `module "name" { source = "./modules/x" ... }`.
#[derive(Debug)]
pub struct ModuleCall {
    pub name: String,
    pub source: String,
    pub file: FileId,
    /// The block header, for messages.
    pub span: Option<Range<usize>>,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<DependsOn>,
    /// The values of the module's input variables, by name.
    pub arguments: BTreeMap<String, Argument>,
}

/// One argument of a `module` block.
#[derive(Debug)]
pub struct Argument {
    pub value: Expr,
    /// The argument's name, for messages.
    pub span: Option<Range<usize>>,
}

/// A module's variables, locals and outputs, whichever module it is.
#[derive(Clone, Copy)]
pub struct ModuleItems<'c> {
    pub variables: &'c BTreeMap<String, Variable>,
    pub locals: &'c BTreeMap<String, Local>,
    pub outputs: &'c BTreeMap<String, Output>,
}

/// `import { to = ... id = ... }`: the existing object `id` becomes the
/// state of `to` when the state has nothing there yet.
#[derive(Debug, Clone)]
pub struct Import {
    /// The resource block imported into.
    pub to: ConfigAddr,
    /// The instance key of each module call on the way to it.
    pub module_keys: Vec<crate::addr::InstanceKey>,
    /// The instance key expression, when `to` has one (it may use
    /// `each.key` and `each.value`).
    pub key: Option<Expression>,
    pub id: Expr,
    pub for_each: Option<Expr>,
    pub file: FileId,
    pub span: Option<Range<usize>>,
}

/// `moved { from = ... to = ... }`: the objects recorded at `from` are
/// now those of `to`.
#[derive(Debug, Clone)]
pub struct Moved {
    pub from: Target,
    pub to: Target,
    pub file: FileId,
    pub span: Option<Range<usize>>,
}

/// `removed { from = ... }`: the resource or module left the
/// configuration on purpose; with `lifecycle { destroy = false }` its
/// objects are forgotten rather than destroyed.
#[derive(Debug, Clone)]
pub struct Removed {
    pub from: Target,
    pub destroy: bool,
    pub file: FileId,
    pub span: Option<Range<usize>>,
}

#[derive(Debug, Default)]
pub struct TerraformSettings {
    pub required_version: Option<String>,
    pub backend: Option<String>,
}

#[derive(Debug)]
pub struct ProviderBlock {
    pub name: String,
    pub file: FileId,
    pub span: Option<Range<usize>>,
    pub body: Body,
}

#[derive(Debug)]
pub struct Variable {
    pub name: String,
    pub file: FileId,
    pub span: Option<Range<usize>>,
    pub constraint: Option<Constraint>,
    /// The default, already converted to the type constraint.
    pub default: Option<Value>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    pub validations: Vec<Validation>,
}

#[derive(Debug)]
pub struct Validation {
    pub condition: Expr,
    pub error_message: Expr,
}

#[derive(Debug)]
pub struct Local {
    pub name: String,
    pub value: Expr,
    pub span: Option<Range<usize>>,
}

#[derive(Debug)]
pub struct Output {
    pub name: String,
    pub file: FileId,
    pub span: Option<Range<usize>>,
    pub value: Expr,
    pub description: Option<String>,
    pub sensitive: bool,
    pub depends_on: Vec<DependsOn>,
    pub preconditions: Vec<Condition>,
}

/// A `precondition`, `postcondition` or `assert` block: a condition that
/// must hold, and what to say when it does not.
#[derive(Debug, Clone)]
pub struct Condition {
    pub condition: Expr,
    pub error_message: Expr,
}

/// `check "name" { assert { ... } }`: conditions whose failure is a
/// warning, checked after plan and after apply.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    /// The module it is written in: its assertions are checked in every
    /// instance of that module.
    pub module: ModulePath,
    pub file: FileId,
    pub span: Option<Range<usize>>,
    pub asserts: Vec<Condition>,
}

/// One entry of `depends_on`: a resource, or every resource of a module.
#[derive(Debug, Clone)]
pub struct DependsOn {
    pub target: DependsOnTarget,
    pub file: FileId,
    pub span: Option<Range<usize>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependsOnTarget {
    /// `T.N` or `data.T.N`, in the module of the `depends_on`.
    Resource(ConfigAddr),
    /// `module.NAME`: the path of the module called.
    Module(ModulePath),
}

impl std::fmt::Display for DependsOnTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DependsOnTarget::Resource(a) => write!(f, "{a}"),
            DependsOnTarget::Module(p) => f.write_str(&module_path_string(p)),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Lifecycle {
    pub create_before_destroy: bool,
    pub prevent_destroy: bool,
    /// Attribute names whose changes are ignored (`all` ignores every one).
    pub ignore_changes: IgnoreChanges,
    /// References to resources, instances or attributes whose planned
    /// change replaces this resource.
    pub replace_triggered_by: Vec<Expr>,
    pub preconditions: Vec<Condition>,
    /// Conditions on the object itself (`self`).
    pub postconditions: Vec<Condition>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum IgnoreChanges {
    #[default]
    None,
    All,
    Attributes(Vec<String>),
}

#[derive(Debug)]
pub struct Resource {
    pub addr: ConfigAddr,
    pub file: FileId,
    /// The block header (`resource "t" "n"`), for messages.
    pub span: Option<Range<usize>>,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<DependsOn>,
    pub provider: Option<String>,
    pub lifecycle: Lifecycle,
    /// The body without meta-arguments: what the resource type's schema
    /// describes.
    pub body: Body,
    /// The `check` block a data source is written in: only its
    /// assertions may refer to it, and a failed read is a warning.
    pub check: Option<String>,
}

impl Resource {
    /// `resource "terraform_data" "web"`, as messages name the block.
    pub fn describe(&self) -> String {
        let kind = if self.addr.mode == ResourceMode::Data {
            "data"
        } else {
            "resource"
        };
        format!("{kind} \"{}\" \"{}\"", self.addr.type_name, self.addr.name)
    }
}

impl Config {
    /// The import blocks whose target resource has no block in the
    /// configuration (for which `-generate-config-out` can write one).
    pub fn imports_without_config(&self) -> Vec<&Import> {
        self.imports
            .iter()
            .filter(|i| !self.resources.contains_key(&i.to))
            .collect()
    }

    /// The variables, locals and outputs of a module (`[]` for the root).
    pub fn module_items(&self, module: &[String]) -> Option<ModuleItems<'_>> {
        if module.is_empty() {
            return Some(ModuleItems {
                variables: &self.variables,
                locals: &self.locals,
                outputs: &self.outputs,
            });
        }
        self.modules.get(module).map(|m| ModuleItems {
            variables: &m.variables,
            locals: &m.locals,
            outputs: &m.outputs,
        })
    }

    pub fn variable(&self, module: &[String], name: &str) -> Option<&Variable> {
        self.module_items(module)?.variables.get(name)
    }

    pub fn local(&self, module: &[String], name: &str) -> Option<&Local> {
        self.module_items(module)?.locals.get(name)
    }

    pub fn output(&self, module: &[String], name: &str) -> Option<&Output> {
        self.module_items(module)?.outputs.get(name)
    }

    /// The modules `module` calls directly, by call name.
    pub fn calls_of<'c>(&'c self, module: &'c [String]) -> impl Iterator<Item = &'c Module> + 'c {
        self.modules
            .iter()
            .filter(move |(p, _)| p.len() == module.len() + 1 && p.starts_with(module))
            .map(|(_, m)| m)
    }

    /// `path.module` of a module: its directory relative to the root's.
    pub fn module_dir(&self, module: &[String]) -> &str {
        self.modules.get(module).map_or(".", |m| m.rel_dir.as_str())
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }

    /// The source range of a span in a file, for diagnostics.
    pub fn range(&self, file: FileId, span: Option<Range<usize>>) -> Option<SourceRange> {
        span.map(|s| self.files[file].range(s))
    }

    /// A digest of every configuration file, so a saved plan can tell
    /// whether the configuration changed since it was made.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for f in &self.files {
            hasher.update(f.name.as_bytes());
            hasher.update([0]);
            hasher.update(f.text.as_bytes());
            hasher.update([0]);
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// The largest `.tf` or `.tfvars` file read: 16 MiB. Files generated for
/// thousands of resources stay under a few MiB, and parsing one takes
/// many times its size in memory.
pub const MAX_CONFIG_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads a configuration or variables file named `name` in messages:
/// a regular file of at most `MAX_CONFIG_FILE_BYTES` of UTF-8 text.
/// `Err(Ok(d))` is text that is not UTF-8, with its place; `Err(Err(e))`
/// a file that could not be read, for the caller to word.
pub fn read_source(
    path: &Path,
    name: &str,
) -> Result<SourceFile, Result<Diagnostic, crate::regular_file::FileError>> {
    let bytes = crate::regular_file::read(path, MAX_CONFIG_FILE_BYTES).map_err(Err)?;
    SourceFile::from_bytes(name, path, bytes).map_err(Ok)
}

/// Reads every `*.tf` file of `dir`, in name order, and the modules it
/// calls.
pub fn load_dir(dir: &Path) -> Result<Config, Diagnostics> {
    let sources = read_sources(dir, "")?;
    load_sources(dir, sources)
}

/// Reads every `*.tf` file of `dir`, in name order; each is named by
/// `prefix` and its file name (`modules/net/main.tf`).
fn read_sources(dir: &Path, prefix: &str) -> Result<Vec<SourceFile>, Diagnostics> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Diagnostics::from(Diagnostic::error(
            "Failed to read configuration directory",
            format!("Cannot read {}: {e}.", dir.display()),
        ))
    })?;
    // Directories are passed over; anything else named `*.tf` is read, so
    // that a FIFO or a device there is refused by name, not skipped.
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| !p.is_dir() && p.extension().is_some_and(|e| e == "tf"))
        .collect();
    paths.sort();
    let mut sources = Vec::new();
    let mut diags = Diagnostics::default();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| format!("{prefix}{}", n.to_string_lossy()))
            .unwrap_or_default();
        match read_source(&path, &name) {
            Ok(source) => sources.push(source),
            Err(Ok(d)) => diags.push(d),
            Err(Err(e)) => diags.push(Diagnostic::error(
                "Failed to read file",
                format!("The configuration file {name} could not be read: {e}."),
            )),
        }
    }
    if sources.is_empty() && !diags.has_errors() {
        diags.push(Diagnostic::error(
            "No configuration files",
            format!("There are no .tf files in {}.", dir.display()),
        ));
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(sources)
}

/// Builds a configuration from already-read files.
pub fn load_sources(dir: &Path, sources: Vec<SourceFile>) -> Result<Config, Diagnostics> {
    let mut loader = Loader {
        config: Config {
            dir: dir.to_path_buf(),
            ..Config::default()
        },
        diags: Diagnostics::default(),
        module: ModulePath::new(),
        calls: Vec::new(),
    };
    loader.files(sources);
    let root = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    loader.load_calls(dir, ".", &[root]);
    loader.check_moves_and_removals();
    if loader.diags.has_errors() {
        return Err(loader.diags);
    }
    Ok(loader.config)
}

/// What a `dynamic "TYPE"` block generates: the block type, and the name
/// its `content` refers to each element by (`iterator`, or the type).
/// None when the block has no label, or an `iterator` that is not a name.
pub fn dynamic_block(block: &Block) -> Option<(String, String)> {
    let label = block.labels.first()?.as_str().to_string();
    let iterator = match block.body.get_attribute("iterator") {
        Some(a) => match &a.value {
            Expression::Variable(v) => v.as_str().to_string(),
            _ => return None,
        },
        None => label.clone(),
    };
    Some((label, iterator))
}

/// Parses one file, or says where its syntax is wrong.
pub fn parse_file(source: &SourceFile) -> Result<Body, Diagnostic> {
    hcl::edit::parser::parse_body(&source.text).map_err(|e| {
        let range = source.range_at(e.location().line(), e.location().column());
        Diagnostic::error("Invalid syntax", describe_parse_error(e.message()))
            .with_subject(Some(range))
    })
}

/// hcl-edit's messages list what the parser expected; say it in prose.
fn describe_parse_error(message: &str) -> String {
    let message = message.trim();
    if message.is_empty() {
        "The configuration could not be parsed here.".to_string()
    } else {
        let mut m = message.to_string();
        if let Some(first) = m.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        if !m.ends_with('.') {
            m.push('.');
        }
        m
    }
}

struct Loader {
    config: Config,
    diags: Diagnostics,
    /// The module whose files are being read.
    module: ModulePath,
    /// The `module` blocks of that module, to load once its files are read.
    calls: Vec<ModuleCall>,
}

/// Splits the `module.NAME[KEY].` steps off the front of a reference:
/// the module path, the keys (literal numbers or strings), and the rest.
/// `None` when a key is not a literal.
#[allow(clippy::type_complexity)]
fn module_prefix<'t, 'o>(
    root: &'t str,
    ops: &'o [&'t TraversalOperator],
) -> Option<(
    ModulePath,
    Vec<crate::addr::InstanceKey>,
    &'t str,
    &'o [&'t TraversalOperator],
)> {
    use crate::addr::InstanceKey;
    let (mut root, mut ops) = (root, ops);
    let (mut module, mut keys) = (Vec::new(), Vec::new());
    while root == "module" {
        let Some(TraversalOperator::GetAttr(name)) = ops.first() else {
            return Some((module, keys, root, ops));
        };
        module.push(name.as_str().to_string());
        ops = &ops[1..];
        let key = match ops.first() {
            Some(TraversalOperator::Index(e)) => {
                let v = constant_value(e).ok()?;
                let key = match (v.as_str(), &v) {
                    (Some(s), _) => InstanceKey::Str(s.to_string()),
                    (None, Value::Number(n)) => InstanceKey::Int(n.to_u64()?),
                    _ => return None,
                };
                ops = &ops[1..];
                key
            }
            Some(TraversalOperator::LegacyIndex(n)) => {
                let key = InstanceKey::Int(*n.value());
                ops = &ops[1..];
                key
            }
            _ => InstanceKey::None,
        };
        keys.push(key);
        match ops.first() {
            Some(TraversalOperator::GetAttr(next)) => {
                root = next.as_str();
                ops = &ops[1..];
            }
            _ => return None,
        }
    }
    Some((module, keys, root, ops))
}

/// What a `moved` or `removed` address names, in messages.
fn target_kind(target: &Target) -> &'static str {
    if target.resource.is_some() {
        "resource"
    } else {
        "module"
    }
}

/// Joins a relative `source` to a module directory relative to the root,
/// resolving `.` and `..` as text: `modules/a` and `../b` give
/// `modules/b`.
fn join_module_dir(parent: &str, source: &str) -> String {
    let mut parts: Vec<&str> = parent
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for part in source.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// The span from a block's type keyword to its last label.
fn header_span(block: &Block) -> Option<Range<usize>> {
    let start = block.ident.span()?.start;
    let end = block
        .labels
        .last()
        .and_then(|l| l.span())
        .map_or(block.ident.span()?.end, |s| s.end);
    Some(start..end)
}

fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

impl Loader {
    fn files(&mut self, sources: Vec<SourceFile>) {
        for source in sources {
            let file = self.config.files.len();
            let parsed = parse_file(&source);
            self.config.files.push(Arc::new(source));
            match parsed {
                Ok(body) => self.body(file, body),
                Err(d) => self.diags.push(d),
            }
        }
    }

    /// Loads the modules that the module just read calls, and the modules
    /// they call. `chain` holds the directories of the modules on the way
    /// from the root, to find cycles.
    fn load_calls(&mut self, dir: &Path, rel_dir: &str, chain: &[PathBuf]) {
        let parent = self.module.clone();
        for call in std::mem::take(&mut self.calls) {
            let path: ModulePath = parent.iter().cloned().chain([call.name.clone()]).collect();
            let child_dir = dir.join(&call.source);
            let canonical = match std::fs::canonicalize(&child_dir) {
                Ok(c) if c.is_dir() => c,
                _ => {
                    let source = call.source.clone();
                    self.error(
                        call.file,
                        call.span.clone(),
                        "Module not found",
                        format!(
                            "The module {} calls {source:?}, which is not a directory (looked for {}).",
                            module_path_string(&path),
                            child_dir.display()
                        ),
                    );
                    continue;
                }
            };
            if let Some(at) = chain.iter().position(|d| *d == canonical) {
                let callers = if at == 0 {
                    "the root module".to_string()
                } else {
                    module_path_string(&path[..at])
                };
                self.error(
                    call.file,
                    call.span.clone(),
                    "Module cycle",
                    format!(
                        "{} calls {:?}, the directory of {callers}, which leads back to this call; a module cannot call itself.",
                        module_path_string(&path),
                        call.source
                    ),
                );
                continue;
            }
            let child_rel = join_module_dir(rel_dir, &call.source);
            let prefix = if child_rel == "." {
                String::new()
            } else {
                format!("{child_rel}/")
            };
            let sources = match read_sources(&child_dir, &prefix) {
                Ok(s) => s,
                Err(d) => {
                    let subject = self.config.range(call.file, call.span.clone());
                    for d in d.0 {
                        self.diags.push(d.with_subject(subject.clone()));
                    }
                    continue;
                }
            };
            self.config.modules.insert(
                path.clone(),
                Module {
                    call,
                    rel_dir: child_rel.clone(),
                    variables: BTreeMap::new(),
                    locals: BTreeMap::new(),
                    outputs: BTreeMap::new(),
                },
            );
            self.module = path.clone();
            self.files(sources);
            let mut chain = chain.to_vec();
            chain.push(canonical);
            self.load_calls(&child_dir, &child_rel, &chain);
            self.check_arguments(&path);
            self.module = parent.clone();
        }
    }

    /// A `module` block's arguments must be the module's variables, and
    /// every variable without a default must be given.
    fn check_arguments(&mut self, path: &[String]) {
        let module = &self.config.modules[path];
        let mut problems = Vec::new();
        for (name, arg) in &module.call.arguments {
            if !module.variables.contains_key(name) {
                problems.push((
                    arg.value.file,
                    arg.span.clone(),
                    "Unsupported argument",
                    format!("An argument named {name:?} is not expected here: the module at {:?} declares no variable {name:?}.", module.call.source),
                ));
            }
        }
        for (name, var) in &module.variables {
            if var.default.is_none() && !module.call.arguments.contains_key(name) {
                problems.push((
                    module.call.file,
                    module.call.span.clone(),
                    "Missing required argument",
                    format!("The argument {name:?} is required, but no definition was found."),
                ));
            }
        }
        for (file, span, summary, detail) in problems {
            self.error(file, span, summary, detail);
        }
    }

    fn variables_mut(&mut self) -> &mut BTreeMap<String, Variable> {
        match self.config.modules.get_mut(&self.module) {
            Some(m) => &mut m.variables,
            None => &mut self.config.variables,
        }
    }

    fn locals_mut(&mut self) -> &mut BTreeMap<String, Local> {
        match self.config.modules.get_mut(&self.module) {
            Some(m) => &mut m.locals,
            None => &mut self.config.locals,
        }
    }

    fn outputs_mut(&mut self) -> &mut BTreeMap<String, Output> {
        match self.config.modules.get_mut(&self.module) {
            Some(m) => &mut m.outputs,
            None => &mut self.config.outputs,
        }
    }

    fn error(
        &mut self,
        file: FileId,
        span: Option<Range<usize>>,
        summary: &str,
        detail: impl Into<String>,
    ) -> &mut Diagnostic {
        let subject = self.config.range(file, span);
        self.diags
            .push(Diagnostic::error(summary, detail).with_subject(subject));
        self.diags.0.last_mut().expect("just pushed")
    }

    fn body(&mut self, file: FileId, body: Body) {
        for structure in body.into_iter() {
            match structure {
                Structure::Attribute(attr) => {
                    self.error(
                        file,
                        attr.key.span(),
                        "Unsupported argument",
                        format!(
                            "An argument named {:?} is not expected here.",
                            attr.key.as_str()
                        ),
                    );
                }
                Structure::Block(block) => self.top_block(file, block),
            }
        }
    }

    fn labels(&mut self, file: FileId, block: &Block, names: &[&str]) -> Option<Vec<String>> {
        let labels: Vec<String> = block
            .labels
            .iter()
            .map(|l| l.as_str().to_string())
            .collect();
        let kind = block.ident.as_str();
        if labels.len() != names.len() {
            let detail = if labels.len() < names.len() {
                format!(
                    "All {kind} blocks must have {} labels ({}).",
                    names.len(),
                    names.join(", ")
                )
            } else {
                format!(
                    "Extraneous label for {kind}. Only {} labels are expected.",
                    names.len()
                )
            };
            let summary = if labels.len() < names.len() {
                "Missing name for "
            } else {
                "Extraneous label for "
            };
            self.error(
                file,
                header_span(block),
                &format!("{summary}{kind}"),
                detail,
            );
            return None;
        }
        for (label, block_label) in labels.iter().zip(&block.labels) {
            if !is_valid_name(label) {
                self.error(
                    file,
                    block_label.span(),
                    &format!("Invalid {kind} name"),
                    "A name must start with a letter or underscore and may contain only letters, digits, underscores, and dashes.",
                );
                return None;
            }
        }
        Some(labels)
    }

    fn top_block(&mut self, file: FileId, block: Block) {
        match block.ident.as_str() {
            "terraform" => self.terraform_block(file, block),
            "variable" => self.variable_block(file, block),
            "locals" => self.locals_block(file, block),
            "resource" => {
                self.resource_block(file, block, ResourceMode::Managed);
            }
            "data" => {
                self.resource_block(file, block, ResourceMode::Data);
            }
            "output" => self.output_block(file, block),
            "module" => self.module_block(file, block),
            kind @ ("provider" | "import") if !self.module.is_empty() => {
                let kind = kind.to_string();
                self.error(
                    file,
                    header_span(&block),
                    "Unsupported block in a module",
                    format!(
                        "Blocks of type {kind:?} belong in the root module; stackform does not read them inside {}.",
                        module_path_string(&self.module)
                    ),
                );
            }
            "provider" => {
                if let Some(labels) = self.labels(file, &block, &["name"]) {
                    self.config.providers.push(ProviderBlock {
                        name: labels[0].clone(),
                        file,
                        span: header_span(&block),
                        body: block.body,
                    });
                }
            }
            "moved" => self.moved_block(file, block),
            "removed" => self.removed_block(file, block),
            "check" => self.check_block(file, block),
            "import" => self.import_block(file, block),
            other => {
                let other = other.to_string();
                self.error(
                    file,
                    block.ident.span(),
                    "Unsupported block type",
                    format!("Blocks of type {other:?} are not expected here."),
                );
            }
        }
    }

    /// Reports every attribute and block of `body` that is not in `allowed`.
    fn only(&mut self, file: FileId, body: &Body, attrs: &[&str], blocks: &[&str]) {
        for s in body.iter() {
            match s {
                Structure::Attribute(a) if !attrs.contains(&a.key.as_str()) => {
                    let name = a.key.as_str().to_string();
                    self.error(
                        file,
                        a.key.span(),
                        "Unsupported argument",
                        format!("An argument named {name:?} is not expected here."),
                    );
                }
                Structure::Block(b) if !blocks.contains(&b.ident.as_str()) => {
                    let name = b.ident.as_str().to_string();
                    self.error(
                        file,
                        b.ident.span(),
                        "Unsupported block type",
                        format!("Blocks of type {name:?} are not expected here."),
                    );
                }
                _ => {}
            }
        }
    }

    fn constant(&mut self, file: FileId, attr: &Attribute) -> Option<Value> {
        match constant_value(&attr.value) {
            Ok(v) => Some(v),
            Err(detail) => {
                self.error(file, attr.value.span(), "Invalid expression", detail);
                None
            }
        }
    }

    fn constant_bool(&mut self, file: FileId, attr: Option<&Attribute>, default: bool) -> bool {
        let Some(attr) = attr else { return default };
        match self
            .constant(file, attr)
            .map(|v| crate::lang::convert::convert(&v, &crate::lang::value::Type::Bool))
        {
            Some(Ok(b)) if b.as_bool().is_some() => b.as_bool().unwrap_or(default),
            Some(_) => {
                let name = attr.key.as_str().to_string();
                self.error(
                    file,
                    attr.value.span(),
                    "Incorrect attribute value type",
                    format!("Inappropriate value for attribute {name:?}: bool required."),
                );
                default
            }
            None => default,
        }
    }

    fn constant_string(&mut self, file: FileId, attr: Option<&Attribute>) -> Option<String> {
        let attr = attr?;
        match self.constant(file, attr) {
            Some(v) if v.as_str().is_some() => v.as_str().map(str::to_string),
            Some(_) => {
                let name = attr.key.as_str().to_string();
                self.error(
                    file,
                    attr.value.span(),
                    "Incorrect attribute value type",
                    format!("Inappropriate value for attribute {name:?}: string required."),
                );
                None
            }
            None => None,
        }
    }

    fn terraform_block(&mut self, file: FileId, block: Block) {
        self.labels(file, &block, &[]);
        self.only(
            file,
            &block.body,
            &["required_version", "experiments"],
            &["required_providers", "backend", "cloud"],
        );
        let body = &block.body;
        if let Some(v) = self.constant_string(file, body.get_attribute("required_version")) {
            self.config.terraform.required_version = Some(v);
        }
        for b in body.get_blocks("backend") {
            let label = b.labels.first().map(|l| l.as_str().to_string());
            match label.as_deref() {
                Some("local") => self.config.terraform.backend = Some("local".into()),
                Some(other) => {
                    let other = other.to_string();
                    self.error(
                        file,
                        header_span(b),
                        "Unsupported backend type",
                        format!("There is no backend type named {other:?}; stackform keeps state locally (\"local\")."),
                    );
                }
                None => {
                    self.error(
                        file,
                        header_span(b),
                        "Missing name for backend",
                        "A backend block needs one label: the backend type.",
                    );
                }
            }
        }
    }

    fn variable_block(&mut self, file: FileId, block: Block) {
        let Some(labels) = self.labels(file, &block, &["name"]) else {
            return;
        };
        let name = labels[0].clone();
        if [
            "source",
            "version",
            "providers",
            "count",
            "for_each",
            "lifecycle",
            "depends_on",
            "locals",
        ]
        .contains(&name.as_str())
        {
            self.error(
                file,
                block.labels[0].span(),
                "Invalid variable name",
                format!("The variable name {name:?} is reserved due to its special meaning inside module blocks."),
            );
            return;
        }
        self.only(
            file,
            &block.body,
            &[
                "type",
                "default",
                "description",
                "sensitive",
                "nullable",
                "ephemeral",
            ],
            &["validation"],
        );
        let body = &block.body;
        let constraint = match body.get_attribute("type") {
            Some(attr) => match parse_constraint(&attr.value) {
                Ok(c) => Some(c),
                Err(e) => {
                    self.error(file, e.span, "Invalid type specification", e.detail);
                    None
                }
            },
            None => None,
        };
        let nullable = self.constant_bool(file, body.get_attribute("nullable"), true);
        let default = match body.get_attribute("default") {
            Some(attr) => match self.constant(file, attr) {
                Some(v) => match &constraint {
                    Some(c) if !v.is_null() => match c.convert(&v) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            self.error(
                                file,
                                attr.value.span(),
                                "Invalid default value for variable",
                                format!("This default value is not compatible with the variable's type constraint: {e}."),
                            );
                            None
                        }
                    },
                    Some(c) => Some(Value::Null(c.to_type())),
                    None => Some(v),
                },
                None => None,
            },
            None => None,
        };
        if !nullable && default.as_ref().is_some_and(Value::is_null) {
            let span = body.get_attribute("default").and_then(|a| a.value.span());
            self.error(
                file,
                span,
                "Invalid default value for variable",
                "A null default value is not valid when nullable=false.",
            );
        }
        let mut validations = Vec::new();
        for v in body.get_blocks("validation") {
            self.only(file, &v.body, &["condition", "error_message"], &[]);
            let condition = v.body.get_attribute("condition");
            let message = v.body.get_attribute("error_message");
            match (condition, message) {
                (Some(c), Some(m)) => {
                    validations.push(Validation {
                        condition: Expr {
                            file,
                            expr: c.value.clone(),
                        },
                        error_message: Expr {
                            file,
                            expr: m.value.clone(),
                        },
                    });
                }
                _ => {
                    let missing = if condition.is_none() {
                        "condition"
                    } else {
                        "error_message"
                    };
                    self.error(
                        file,
                        v.ident.span(),
                        "Missing required argument",
                        format!(
                            "The argument {missing:?} is required, but no definition was found."
                        ),
                    );
                }
            }
        }
        let description = self.constant_string(file, body.get_attribute("description"));
        let sensitive = self.constant_bool(file, body.get_attribute("sensitive"), false);
        let span = header_span(&block);
        if let Some(prev) = self.config.variable(&self.module, &name) {
            let at = self.config.range(prev.file, prev.span.clone());
            self.duplicate(file, span, "variable", &format!("variable {name:?}"), at);
            return;
        }
        self.variables_mut().insert(
            name.clone(),
            Variable {
                name,
                file,
                span,
                constraint,
                default,
                description,
                sensitive,
                nullable,
                validations,
            },
        );
    }

    fn duplicate(
        &mut self,
        file: FileId,
        span: Option<Range<usize>>,
        kind: &str,
        what: &str,
        previous: Option<SourceRange>,
    ) {
        let at = previous.map_or(String::new(), |r| {
            format!(" at {}:{},{}", r.filename, r.start.line, r.start.column)
        });
        self.error(
            file,
            span,
            &format!("Duplicate {kind} declaration"),
            format!(
                "A {what} was already declared{at}. Names must be unique within a configuration."
            ),
        );
    }

    fn locals_block(&mut self, file: FileId, block: Block) {
        self.labels(file, &block, &[]);
        for s in block.body.into_iter() {
            match s {
                Structure::Attribute(attr) => {
                    let name = attr.key.as_str().to_string();
                    if let Some(prev) = self.config.local(&self.module, &name) {
                        let at = self.config.range(prev.value.file, prev.span.clone());
                        self.duplicate(
                            file,
                            attr.key.span(),
                            "local value",
                            &format!("local value named {name:?}"),
                            at,
                        );
                        continue;
                    }
                    let span = attr.key.span();
                    self.locals_mut().insert(
                        name.clone(),
                        Local {
                            name,
                            value: Expr {
                                file,
                                expr: attr.value,
                            },
                            span,
                        },
                    );
                }
                Structure::Block(b) => {
                    self.error(
                        file,
                        b.ident.span(),
                        "Unsupported block type",
                        "Blocks are not allowed in a locals block.",
                    );
                }
            }
        }
    }

    fn depends_on(&mut self, file: FileId, attr: Option<&Attribute>) -> Vec<DependsOn> {
        let Some(attr) = attr else { return Vec::new() };
        let Expression::Array(items) = &attr.value else {
            self.error(
                file,
                attr.value.span(),
                "Invalid depends_on",
                "The depends_on argument must be a list of references to resources.",
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            let parsed = match item {
                Expression::Traversal(t) => match &t.expr {
                    Expression::Variable(root) => {
                        let ops: Vec<&TraversalOperator> =
                            t.operators.iter().map(|o| o.value()).collect();
                        parse_reference(root.as_str(), &ops).ok().map(|(r, _)| r)
                    }
                    _ => None,
                },
                _ => None,
            };
            let target = match parsed {
                Some(Reference::Resource {
                    mode,
                    type_name,
                    name,
                }) => Some(DependsOnTarget::Resource(ConfigAddr {
                    module: self.module.clone(),
                    mode,
                    type_name,
                    name,
                })),
                Some(Reference::Module { name, output: None }) => Some(DependsOnTarget::Module(
                    self.module.iter().cloned().chain([name]).collect(),
                )),
                _ => None,
            };
            match target {
                Some(target) => {
                    out.push(DependsOn {
                        target,
                        file,
                        span: item.span(),
                    });
                }
                _ => {
                    self.error(
                        file,
                        item.span(),
                        "Invalid depends_on reference",
                        "References in depends_on must be to a whole resource or data source (TYPE.NAME) or module (module.NAME), without attributes.",
                    );
                }
            }
        }
        out
    }

    /// Takes `count` and `for_each` out of a block's body; both at once
    /// is an error. `what` names what they make ("resources").
    fn repetition(
        &mut self,
        file: FileId,
        body: &mut Body,
        what: &str,
    ) -> (Option<Expr>, Option<Expr>) {
        let mut take = |name: &str| {
            body.remove_attribute(name).map(|a| Expr {
                file,
                expr: a.value,
            })
        };
        let (count, for_each) = (take("count"), take("for_each"));
        if let (Some(_), Some(fe)) = (&count, &for_each) {
            self.error(
                file,
                fe.expr.span(),
                "Invalid combination of \"count\" and \"for_each\"",
                format!("The \"count\" and \"for_each\" meta-arguments are mutually-exclusive, only one should be used to be explicit about the number of {what} to be created."),
            );
        }
        (count, for_each)
    }

    /// Reads a resource or data block; returns its address once added.
    fn resource_block(
        &mut self,
        file: FileId,
        mut block: Block,
        mode: ResourceMode,
    ) -> Option<ConfigAddr> {
        let labels = self.labels(file, &block, &["type", "name"])?;
        let addr = ConfigAddr {
            module: self.module.clone(),
            mode,
            type_name: labels[0].clone(),
            name: labels[1].clone(),
        };
        let span = header_span(&block);
        let (count, for_each) = self.repetition(file, &mut block.body, "resources");
        let depends_on_attr = block.body.remove_attribute("depends_on");
        let depends_on = self.depends_on(file, depends_on_attr.as_ref());
        let provider = block
            .body
            .remove_attribute("provider")
            .map(|a| a.value.to_string().trim().to_string());
        let mut lifecycle = Lifecycle::default();
        for lc in block.body.remove_blocks("lifecycle") {
            self.only(
                file,
                &lc.body,
                &[
                    "create_before_destroy",
                    "prevent_destroy",
                    "ignore_changes",
                    "replace_triggered_by",
                ],
                &["precondition", "postcondition"],
            );
            lifecycle.create_before_destroy =
                self.constant_bool(file, lc.body.get_attribute("create_before_destroy"), false);
            lifecycle.prevent_destroy =
                self.constant_bool(file, lc.body.get_attribute("prevent_destroy"), false);
            if let Some(attr) = lc.body.get_attribute("ignore_changes") {
                lifecycle.ignore_changes = self.ignore_changes(file, attr);
            }
            if let Some(attr) = lc.body.get_attribute("replace_triggered_by") {
                lifecycle.replace_triggered_by = self.replace_triggered_by(file, attr);
            }
            lifecycle.preconditions = self.conditions(file, &lc.body, "precondition");
            lifecycle.postconditions = self.conditions(file, &lc.body, "postcondition");
        }
        for kind in ["provisioner", "connection"] {
            for b in block.body.get_blocks(kind) {
                self.error(
                    file,
                    b.ident.span(),
                    "Unsupported block type",
                    format!("Blocks of type {kind:?} are not supported: stackform does not run provisioners."),
                );
            }
        }
        if let Some(prev) = self.config.resources.get(&addr) {
            let at = self.config.range(prev.file, prev.span.clone());
            let kind = if mode == ResourceMode::Data {
                "data source"
            } else {
                "resource"
            };
            let what = format!(
                "{} named {:?} of type {:?}",
                kind, addr.name, addr.type_name
            );
            let at = at.map_or(String::new(), |r| {
                format!(" at {}:{},{}", r.filename, r.start.line, r.start.column)
            });
            self.error(
                file,
                span,
                &format!("Duplicate {kind} \"{}\" configuration", addr.type_name),
                format!("A {what} was already declared{at}. Resource names must be unique per type in each module."),
            );
            return None;
        }
        self.config.resources.insert(
            addr.clone(),
            Resource {
                addr: addr.clone(),
                file,
                span,
                count,
                for_each,
                depends_on,
                provider,
                lifecycle,
                body: block.body,
                check: None,
            },
        );
        Some(addr)
    }

    /// `replace_triggered_by = [aws_thing.a, aws_thing.b[0].attr, ...]`:
    /// a list of references to managed resources.
    fn replace_triggered_by(&mut self, file: FileId, attr: &Attribute) -> Vec<Expr> {
        let Expression::Array(items) = &attr.value else {
            self.error(
                file,
                attr.value.span(),
                "Invalid replace_triggered_by expression",
                "replace_triggered_by must be a list of references to resources or their attributes.",
            );
            return Vec::new();
        };
        let mut triggers = Vec::new();
        for item in items.iter() {
            let refers_to_resource = match item {
                Expression::Traversal(t) => matches!(&t.expr, Expression::Variable(v)
                    if !matches!(v.as_str(), "var" | "local" | "count" | "each" | "self" | "path" | "terraform" | "data")),
                _ => false,
            };
            if !refers_to_resource {
                self.error(
                    file,
                    item.span(),
                    "Invalid replace_triggered_by expression",
                    "Only references to managed resources, their instances and their attributes can trigger a replacement.",
                );
                continue;
            }
            triggers.push(Expr {
                file,
                expr: item.clone(),
            });
        }
        triggers
    }

    fn ignore_changes(&mut self, file: FileId, attr: &Attribute) -> IgnoreChanges {
        match &attr.value {
            Expression::Variable(v) if v.as_str() == "all" => IgnoreChanges::All,
            Expression::String(s) if s.value() == "all" => IgnoreChanges::All,
            Expression::Array(items) => {
                let mut names = Vec::new();
                for item in items.iter() {
                    match item {
                        Expression::Variable(v) => names.push(v.as_str().to_string()),
                        Expression::Traversal(t) => match &t.expr {
                            Expression::Variable(v) => names.push(v.as_str().to_string()),
                            _ => {
                                self.error(
                                    file,
                                    item.span(),
                                    "Invalid ignore_changes",
                                    "Expected an attribute name.",
                                );
                            }
                        },
                        _ => {
                            self.error(
                                file,
                                item.span(),
                                "Invalid ignore_changes",
                                "Expected an attribute name.",
                            );
                        }
                    }
                }
                IgnoreChanges::Attributes(names)
            }
            other => {
                self.error(
                    file,
                    other.span(),
                    "Invalid ignore_changes",
                    "Expected a list of attribute names, or all.",
                );
                IgnoreChanges::None
            }
        }
    }

    /// A `from` or `to` address: a reference to a resource or one of its
    /// instances, written as an expression.
    fn endpoint(&mut self, file: FileId, block: &Block, name: &str) -> Option<Target> {
        let Some(attr) = block.body.get_attribute(name) else {
            self.error(
                file,
                header_span(block),
                "Missing required argument",
                format!("The argument {name:?} is required, but no definition was found."),
            );
            return None;
        };
        let text = attr.value.to_string();
        // In a module, addresses are the module's: they name objects in
        // every instance of it.
        let parsed = text.trim().parse::<Target>().map(|mut t| {
            let prefix = self.module.iter().map(|m| (m.clone(), None));
            t.module = prefix.chain(t.module).collect();
            t
        });
        match parsed {
            Ok(t)
                if t.resource
                    .as_ref()
                    .is_none_or(|r| r.mode == ResourceMode::Managed) =>
            {
                Some(t)
            }
            Ok(_) => {
                self.error(
                    file,
                    attr.value.span(),
                    "Invalid address",
                    "Data sources cannot be moved or removed: they hold nothing to keep.",
                );
                None
            }
            Err(e) => {
                self.error(
                    file,
                    attr.value.span(),
                    "Invalid address",
                    format!("{name} must be a resource or module address such as openstack_compute_instance_v2.web, openstack_compute_instance_v2.web[0] or module.net: {e}."),
                );
                None
            }
        }
    }

    fn moved_block(&mut self, file: FileId, block: Block) {
        if self.labels(file, &block, &[]).is_none() {
            return;
        }
        self.only(file, &block.body, &["from", "to"], &[]);
        let from = self.endpoint(file, &block, "from");
        let to = self.endpoint(file, &block, "to");
        let (Some(from), Some(to)) = (from, to) else {
            return;
        };
        let span = header_span(&block);
        let problem = if from == to {
            Some("A move must go somewhere else: from and to are the same address.".to_string())
        } else {
            match (&from.resource, &to.resource) {
                (Some(f), Some(t)) if f.type_name != t.type_name => Some(format!(
                    "An object of type {:?} cannot become one of type {:?}.",
                    f.type_name, t.type_name
                )),
                (Some(_), Some(_)) | (None, None) => None,
                _ => Some(
                    "A move goes from a resource to a resource, or from a module to a module."
                        .to_string(),
                ),
            }
        };
        let (mut from, mut to) = (from, to);
        // When one side names an instance and the other does not, the
        // other means the single instance a block without count or
        // for_each has (`T.N` to `T.N[0]` adopts count).
        fn last_key(t: &mut Target) -> Option<&mut Option<crate::addr::InstanceKey>> {
            match &mut t.resource {
                Some(r) => Some(&mut r.key),
                None => t.module.last_mut().map(|(_, k)| k),
            }
        }
        if let (Some(f), Some(t)) = (last_key(&mut from), last_key(&mut to)) {
            if f.is_some() && t.is_none() {
                *t = Some(crate::addr::InstanceKey::None);
            } else if t.is_some() && f.is_none() {
                *f = Some(crate::addr::InstanceKey::None);
            }
        }
        if let Some(problem) = problem {
            self.error(file, span, "Invalid move", problem);
            return;
        }
        self.config.moved.push(Moved {
            from,
            to,
            file,
            span,
        });
    }

    fn removed_block(&mut self, file: FileId, block: Block) {
        if self.labels(file, &block, &[]).is_none() {
            return;
        }
        self.only(file, &block.body, &["from"], &["lifecycle"]);
        let Some(from) = self.endpoint(file, &block, "from") else {
            return;
        };
        let span = header_span(&block);
        let keyed = from.module.iter().any(|(_, k)| k.is_some())
            || from.resource.as_ref().is_some_and(|r| r.key.is_some());
        if keyed {
            self.error(
                file,
                block
                    .body
                    .get_attribute("from")
                    .and_then(|a| a.value.span()),
                "Invalid address",
                "A removed block names a whole resource or module, without an instance key.",
            );
            return;
        }
        let mut destroy = true;
        for lc in block.body.get_blocks("lifecycle") {
            self.only(file, &lc.body, &["destroy"], &[]);
            destroy = self.constant_bool(file, lc.body.get_attribute("destroy"), true);
        }
        self.config.removed.push(Removed {
            from,
            destroy,
            file,
            span,
        });
    }

    /// Where the block a whole-resource or whole-module `target` names is
    /// still declared, if it is.
    fn still_declared(&self, target: &Target) -> Option<(FileId, Option<Range<usize>>)> {
        let keyed = |k: &Option<crate::addr::InstanceKey>| k.is_some();
        match target.config_addr() {
            Some(addr) if !target.resource.as_ref().is_some_and(|r| keyed(&r.key)) => self
                .config
                .resources
                .get(&addr)
                .map(|r| (r.file, r.span.clone())),
            Some(_) => None,
            None if target.module.last().is_some_and(|(_, k)| keyed(k)) => None,
            None => self
                .config
                .modules
                .get(&target.module_path())
                .map(|m| (m.call.file, m.call.span.clone())),
        }
    }

    /// What `moved` and `removed` blocks say must agree with the rest of
    /// the configuration.
    fn check_moves_and_removals(&mut self) {
        let mut froms: BTreeMap<String, (FileId, Option<Range<usize>>)> = BTreeMap::new();
        for m in self.config.moved.clone() {
            if let Some((prev_file, prev_span)) = froms.get(&m.from.to_string()).cloned() {
                let at = self
                    .config
                    .range(prev_file, prev_span)
                    .map_or(String::new(), |r| {
                        format!(" at {}:{}", r.filename, r.start.line)
                    });
                self.error(
                    m.file,
                    m.span.clone(),
                    "Ambiguous move statements",
                    format!("A move from {} is already declared{at}; each address can move to only one place.", m.from),
                );
                continue;
            }
            froms.insert(m.from.to_string(), (m.file, m.span.clone()));
            if let Some((still_file, still_span)) = self.still_declared(&m.from) {
                let at = self
                    .config
                    .range(still_file, still_span)
                    .map_or(String::new(), |r| {
                        format!(" at {}:{}", r.filename, r.start.line)
                    });
                self.error(
                    m.file,
                    m.span.clone(),
                    "Moved object still exists",
                    format!(
                        "This statement declares a move from {}, but that {} is still declared{at}. Change your configuration so that this {} is declared as {} instead.",
                        m.from,
                        target_kind(&m.from),
                        target_kind(&m.from),
                        m.to
                    ),
                );
            }
        }
        // A cycle of whole-resource moves has no end to move to.
        let next: BTreeMap<String, &Moved> = self
            .config
            .moved
            .iter()
            .map(|m| (m.from.to_string(), m))
            .collect();
        let mut cyclic: Option<Moved> = None;
        for start in next.keys() {
            let mut at = start.clone();
            for _ in 0..next.len() {
                let Some(m) = next.get(&at) else { break };
                at = m.to.to_string();
                if at == *start {
                    cyclic = Some((*m).clone());
                    break;
                }
            }
            if cyclic.is_some() {
                break;
            }
        }
        if let Some(m) = cyclic {
            self.error(
                m.file,
                m.span.clone(),
                "Cyclic dependency in move statements",
                format!(
                    "The moves starting at {} lead back to it, so no address is the last.",
                    m.to
                ),
            );
        }
        for r in self.config.removed.clone() {
            if let Some((still_file, still_span)) = self.still_declared(&r.from) {
                let at = self
                    .config
                    .range(still_file, still_span)
                    .map_or(String::new(), |r| {
                        format!(" at {}:{}", r.filename, r.start.line)
                    });
                self.error(
                    r.file,
                    r.span.clone(),
                    &format!("Removed {} block still exists", target_kind(&r.from)),
                    format!(
                        "This statement declares that {} was removed, but it is still declared{at}. Remove its block, or this removed block.",
                        r.from
                    ),
                );
            }
        }
    }

    /// The `kind` blocks of a body, each with `condition` and
    /// `error_message`.
    fn conditions(&mut self, file: FileId, body: &Body, kind: &str) -> Vec<Condition> {
        let mut found = Vec::new();
        for b in body.get_blocks(kind) {
            self.only(file, &b.body, &["condition", "error_message"], &[]);
            let mut part = |name: &str| match b.body.get_attribute(name) {
                Some(a) => Some(Expr {
                    file,
                    expr: a.value.clone(),
                }),
                None => {
                    self.error(
                        file,
                        header_span(b),
                        "Missing required argument",
                        format!("The argument {name:?} is required, but no definition was found."),
                    );
                    None
                }
            };
            if let (Some(condition), Some(error_message)) =
                (part("condition"), part("error_message"))
            {
                found.push(Condition {
                    condition,
                    error_message,
                });
            }
        }
        found
    }

    fn import_block(&mut self, file: FileId, block: Block) {
        if self.labels(file, &block, &[]).is_none() {
            return;
        }
        self.only(
            file,
            &block.body,
            &["to", "id", "for_each", "provider"],
            &[],
        );
        let span = header_span(&block);
        let (Some(to), Some(id)) = (
            block.body.get_attribute("to"),
            block.body.get_attribute("id"),
        ) else {
            self.error(
                file,
                span,
                "Missing required argument",
                "An import block needs both to (the resource instance) and id (the object's id in the cloud).",
            );
            return;
        };
        let target = match &to.value {
            Expression::Traversal(t) => match &t.expr {
                Expression::Variable(root) => {
                    let ops: Vec<&TraversalOperator> =
                        t.operators.iter().map(|o| o.value()).collect();
                    let (module, module_keys, root, ops) = match module_prefix(root.as_str(), &ops)
                    {
                        Some(found) => found,
                        None => {
                            self.error(
                                file,
                                to.value.span(),
                                "Invalid import address",
                                "Each module.NAME in to may be followed by a literal instance key, such as module.net[\"a\"], and then by the resource.",
                            );
                            return;
                        }
                    };
                    match parse_reference(root, ops) {
                        Ok((
                            Reference::Resource {
                                mode: ResourceMode::Managed,
                                type_name,
                                name,
                            },
                            used,
                        )) => {
                            let key = match &ops[used..] {
                                [] => Some(None),
                                [TraversalOperator::Index(key)] => Some(Some(key.clone())),
                                [TraversalOperator::LegacyIndex(n)] => {
                                    Some(Some(Expression::from(*n.value() as i64)))
                                }
                                _ => None,
                            };
                            key.map(|key| {
                                (
                                    ConfigAddr::managed(type_name, name),
                                    key,
                                    module,
                                    module_keys,
                                )
                            })
                        }
                        _ => None,
                    }
                }
                _ => None,
            },
            _ => None,
        };
        let Some((to_addr, key, module, module_keys)) = target else {
            self.error(
                file,
                to.value.span(),
                "Invalid import address",
                "to must name a managed resource or one of its instances, such as openstack_networking_network_v2.net or openstack_networking_network_v2.net[each.key].",
            );
            return;
        };
        self.config.imports.push(Import {
            to: to_addr.in_module(&module),
            module_keys,
            key,
            id: Expr {
                file,
                expr: id.value.clone(),
            },
            for_each: block.body.get_attribute("for_each").map(|a| Expr {
                file,
                expr: a.value.clone(),
            }),
            file,
            span,
        });
    }

    fn check_block(&mut self, file: FileId, block: Block) {
        let Some(labels) = self.labels(file, &block, &["name"]) else {
            return;
        };
        self.only(file, &block.body, &[], &["assert", "data"]);
        for (i, data) in block.body.get_blocks("data").enumerate() {
            if i > 0 {
                self.error(
                    file,
                    header_span(data),
                    "Multiple data resource blocks",
                    "A check block can contain at most one nested data block.",
                );
                continue;
            }
            if let Some(addr) = self.resource_block(file, data.clone(), ResourceMode::Data)
                && let Some(scoped) = self.config.resources.get_mut(&addr)
            {
                scoped.check = Some(labels[0].clone());
            }
        }
        let asserts = self.conditions(file, &block.body, "assert");
        let span = header_span(&block);
        if asserts.is_empty() {
            self.error(
                file,
                span.clone(),
                "Missing required block",
                "A check block needs at least one assert block.",
            );
        }
        self.config.checks.push(Check {
            name: labels[0].clone(),
            module: self.module.clone(),
            file,
            span,
            asserts,
        });
    }

    fn module_block(&mut self, file: FileId, mut block: Block) {
        let Some(labels) = self.labels(file, &block, &["name"]) else {
            return;
        };
        let name = labels[0].clone();
        let span = header_span(&block);
        if let Some(prev) = self.calls.iter().find(|c| c.name == name) {
            let at = self.config.range(prev.file, prev.span.clone());
            self.duplicate(
                file,
                span,
                "module",
                &format!("module call named {name:?}"),
                at,
            );
            return;
        }
        for b in block.body.blocks() {
            let kind = b.ident.as_str().to_string();
            self.error(
                file,
                b.ident.span(),
                "Unsupported block type",
                format!("Blocks of type {kind:?} are not expected in a module block."),
            );
        }
        if let Some(v) = block.body.remove_attribute("version") {
            self.error(
                file,
                v.key.span(),
                "Invalid module version",
                "A version constraint applies to modules from a registry; this module is read from a local directory, which has no versions.",
            );
        }
        let source_attr = block.body.remove_attribute("source");
        let Some(source) = self.constant_string(file, source_attr.as_ref()) else {
            if source_attr.is_none() {
                self.error(
                    file,
                    span,
                    "Missing required argument",
                    "The argument \"source\" is required, but no definition was found.",
                );
            }
            return;
        };
        if !(source.starts_with("./") || source.starts_with("../")) {
            self.error(
                file,
                source_attr.as_ref().and_then(|a| a.value.span()),
                "Unsupported module source",
                format!("stackform reads modules from local directories, written as a path starting with ./ or ../; {source:?} would have to be downloaded."),
            );
            return;
        }
        let (count, for_each) = self.repetition(file, &mut block.body, "module instances");
        let depends_on_attr = block.body.remove_attribute("depends_on");
        let depends_on = self.depends_on(file, depends_on_attr.as_ref());
        if let Some(providers) = block.body.remove_attribute("providers") {
            self.module_providers(file, &providers);
        }
        let arguments = block
            .body
            .into_iter()
            .filter_map(|s| match s {
                Structure::Attribute(a) => Some((
                    a.key.as_str().to_string(),
                    Argument {
                        span: a.key.span(),
                        value: Expr {
                            file,
                            expr: a.value,
                        },
                    },
                )),
                Structure::Block(_) => None,
            })
            .collect();
        self.calls.push(ModuleCall {
            name,
            source,
            file,
            span,
            count,
            for_each,
            depends_on,
            arguments,
        });
    }

    /// `providers = { openstack = openstack }`: stackform has one
    /// configuration per provider, which every module uses, so the map
    /// may only pass each provider on under its own name.
    fn module_providers(&mut self, file: FileId, attr: &Attribute) {
        let Expression::Object(map) = &attr.value else {
            self.error(
                file,
                attr.value.span(),
                "Invalid providers argument",
                "providers must be a map from the module's provider names to this module's providers.",
            );
            return;
        };
        for (key, value) in map.iter() {
            let key_text = match key {
                hcl::edit::expr::ObjectKey::Ident(i) => i.as_str().to_string(),
                hcl::edit::expr::ObjectKey::Expression(e) => e.to_string().trim().to_string(),
            };
            let value_text = value.expr().to_string().trim().to_string();
            if key_text != value_text {
                self.error(
                    file,
                    value.expr().span(),
                    "Unsupported provider mapping",
                    format!("stackform has a single configuration of each provider, used by every module; {key_text} can only be passed as {key_text}, not {value_text}."),
                );
            }
        }
    }

    fn output_block(&mut self, file: FileId, block: Block) {
        let Some(labels) = self.labels(file, &block, &["name"]) else {
            return;
        };
        let name = labels[0].clone();
        self.only(
            file,
            &block.body,
            &[
                "value",
                "description",
                "sensitive",
                "depends_on",
                "ephemeral",
            ],
            &["precondition"],
        );
        let span = header_span(&block);
        let Some(value) = block.body.get_attribute("value") else {
            self.error(
                file,
                span,
                "Missing required argument",
                "The argument \"value\" is required, but no definition was found.",
            );
            return;
        };
        let value = Expr {
            file,
            expr: value.value.clone(),
        };
        let description = self.constant_string(file, block.body.get_attribute("description"));
        let sensitive = self.constant_bool(file, block.body.get_attribute("sensitive"), false);
        let depends_on = self.depends_on(file, block.body.get_attribute("depends_on"));
        let preconditions = self.conditions(file, &block.body, "precondition");
        if let Some(prev) = self.config.output(&self.module, &name) {
            let at = self.config.range(prev.file, prev.span.clone());
            self.duplicate(file, span, "output", &format!("output named {name:?}"), at);
            return;
        }
        self.outputs_mut().insert(
            name.clone(),
            Output {
                name,
                file,
                span,
                value,
                description,
                sensitive,
                depends_on,
                preconditions,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)]) -> Result<Config, Diagnostics> {
        let sources = files
            .iter()
            .map(|(n, t)| SourceFile::new(*n, *n, *t))
            .collect();
        load_sources(Path::new("."), sources)
    }

    fn summaries(d: &Diagnostics) -> Vec<String> {
        d.iter()
            .map(|d| {
                let at = d.subject.as_ref().map_or(String::new(), |s| {
                    format!("{}:{}:{} ", s.filename, s.start.line, s.start.column)
                });
                format!("{at}{}", d.summary)
            })
            .collect()
    }

    #[test]
    fn sorts_blocks_by_kind() {
        let c = load(&[(
            "main.tf",
            r#"
variable "n" {
  type    = number
  default = 2
}
locals { a = var.n + 1 }
resource "terraform_data" "x" {
  count = var.n
  input = local.a
  depends_on = [terraform_data.y]
  lifecycle { prevent_destroy = true }
}
resource "terraform_data" "y" {}
output "o" { value = terraform_data.x[*].output }
"#,
        )])
        .unwrap();
        assert_eq!(c.variables["n"].default, Some(Value::from(2)));
        assert_eq!(c.locals.len(), 1);
        let x = &c.resources[&ConfigAddr::managed("terraform_data", "x")];
        assert!(x.count.is_some() && x.lifecycle.prevent_destroy);
        assert!(
            x.body.get_attribute("count").is_none(),
            "meta-arguments are removed from the body"
        );
        assert_eq!(x.depends_on[0].target.to_string(), "terraform_data.y");
        assert!(c.modules.is_empty());
        assert_eq!(c.outputs.len(), 1);
    }

    #[test]
    fn reports_every_structural_problem_at_once() {
        let err = load(&[
            (
                "a.tf",
                "resource \"terraform_data\" \"x\" {}\nfoo \"bar\" {}\nvariable \"v\" {\n  typo = 1\n}\n",
            ),
            ("b.tf", "resource \"terraform_data\" \"x\" {}\noutput \"o\" {}\n"),
            ("c.tf", "resource \"x\" {\n"),
        ])
        .unwrap_err();
        assert_eq!(
            summaries(&err),
            [
                "a.tf:2:1 Unsupported block type",
                "a.tf:4:3 Unsupported argument",
                "b.tf:1:1 Duplicate resource \"terraform_data\" configuration",
                "b.tf:2:1 Missing required argument",
                "c.tf:1:15 Invalid syntax",
            ]
        );
    }

    #[test]
    fn checks_variable_defaults_against_their_type() {
        let err = load(&[(
            "v.tf",
            "variable \"n\" {\n  type    = number\n  default = \"x\"\n}\n",
        )])
        .unwrap_err();
        assert_eq!(
            summaries(&err),
            ["v.tf:3:13 Invalid default value for variable"]
        );
        let err = load(&[("v.tf", "variable \"n\" {\n  default = var.other\n}\n")]).unwrap_err();
        assert!(err.0[0].detail.contains("Variables may not be used here"));
    }

    #[test]
    fn module_directories_join_as_text() {
        assert_eq!(join_module_dir(".", "./modules/net"), "modules/net");
        assert_eq!(join_module_dir("modules/net", "../sub"), "modules/sub");
        assert_eq!(join_module_dir("modules/net", "./x/../y"), "modules/net/y");
        assert_eq!(join_module_dir(".", "../shared/net"), "../shared/net");
        assert_eq!(join_module_dir("modules", "../"), ".");
    }

    #[test]
    fn modules_load_from_their_directories_and_keep_root_blocks_at_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write(
            "main.tf",
            "module \"net\" {\n  source = \"./modules/net\"\n  count  = 2\n  name   = \"x\"\n}\n",
        );
        write(
            "modules/net/main.tf",
            "variable \"name\" {}\nresource \"terraform_data\" \"n\" {\n  input = var.name\n}\nmodule \"sub\" {\n  source = \"../sub\"\n}\n",
        );
        write(
            "modules/sub/main.tf",
            "provider \"openstack\" {}\noutput \"o\" {\n  value = path.module\n}\n",
        );
        let err = load_dir(dir.path()).unwrap_err();
        assert_eq!(
            summaries(&err),
            ["modules/sub/main.tf:1:1 Unsupported block in a module"]
        );
        write(
            "modules/sub/main.tf",
            "output \"o\" {\n  value = path.module\n}\n",
        );
        let config = load_dir(dir.path()).unwrap();
        let net = &config.modules[&vec!["net".to_string()]];
        assert_eq!(net.rel_dir, "modules/net");
        assert!(net.call.count.is_some() && net.call.arguments.contains_key("name"));
        assert!(net.variables.contains_key("name"));
        let sub = vec!["net".to_string(), "sub".to_string()];
        assert_eq!(config.module_dir(&sub), "modules/sub");
        assert!(config.output(&sub, "o").is_some());
        let block = ConfigAddr::managed("terraform_data", "n").in_module(&["net".to_string()]);
        assert_eq!(
            config.resources[&block].addr.to_string(),
            "module.net.terraform_data.n"
        );
        assert_eq!(config.calls_of(&[]).count(), 1);
    }

    #[test]
    fn the_digest_changes_with_any_file() {
        let a = load(&[("main.tf", "locals { a = 1 }\n")]).unwrap();
        let b = load(&[("main.tf", "locals { a = 2 }\n")]).unwrap();
        assert_ne!(a.digest(), b.digest());
        assert_eq!(
            a.digest(),
            load(&[("main.tf", "locals { a = 1 }\n")]).unwrap().digest()
        );
    }
}
