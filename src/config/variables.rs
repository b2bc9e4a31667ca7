//! Values of input variables, from every place Terraform takes them, in
//! Terraform's order (later wins): `TF_VAR_name` environment variables,
//! `terraform.tfvars`, `terraform.tfvars.json`, `*.auto.tfvars` and
//! `*.auto.tfvars.json` in lexical order, then `-var` and `-var-file` in
//! the order given on the command line. Then defaults, prompts, type
//! conversion, `nullable`, `sensitive` and `validation` rules.

use super::{Config, Variable};
use crate::diag::{Diagnostic, Diagnostics};
use crate::lang::convert::Constraint;
use crate::lang::eval::{Evaluator, Scope, ScopeError, reference_values};
use crate::lang::refs::Reference;
use crate::lang::typeexpr::constant_value;
use crate::lang::value::{Type, Value};
use hcl::edit::Span;
use hcl::edit::structure::Structure;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One `-var` or `-var-file` argument, kept in command-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarArg {
    /// `-var 'name=value'`
    Assign(String),
    /// `-var-file=path`, relative to the working directory.
    File(PathBuf),
}

/// What the command line and the environment say about variables.
#[derive(Clone, Debug, Default)]
pub struct VarInputs {
    /// `TF_VAR_<name>` values, keyed by `<name>`.
    pub env: BTreeMap<String, String>,
    pub args: Vec<VarArg>,
    /// What the prompt was already answered in this run, by variable
    /// name, so that no variable is asked for twice.
    pub answers: BTreeMap<String, String>,
}

/// Asks the user for a variable that has no value; `None` when input is
/// disabled or ended.
pub type Prompt<'a> = &'a mut dyn FnMut(&Variable) -> Option<String>;

/// Where a value came from, for messages.
#[derive(Clone, Debug)]
enum Origin {
    Env,
    File(String),
    CommandLine,
    Prompt,
}

impl Origin {
    fn describe(&self) -> String {
        match self {
            Origin::Env => "an environment variable".into(),
            Origin::File(f) => format!("file {f:?}"),
            Origin::CommandLine => "the command line".into(),
            Origin::Prompt => "the interactive prompt".into(),
        }
    }
}

/// A value before it is matched with its declaration: either text from
/// the command line or environment (whose meaning depends on the declared
/// type) or a value already evaluated from a file.
#[derive(Clone, Debug)]
enum Raw {
    Text(String),
    Value(Value),
}

/// Resolves every declared variable to a value.
pub fn resolve(
    config: &Config,
    inputs: &VarInputs,
    prompt: Option<Prompt<'_>>,
) -> Result<BTreeMap<String, Value>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut raw: BTreeMap<String, (Raw, Origin)> = BTreeMap::new();

    for (name, text) in &inputs.env {
        if config.variables.contains_key(name) {
            raw.insert(name.clone(), (Raw::Text(text.clone()), Origin::Env));
        }
    }
    let mut auto_files = vec![
        config.dir.join("terraform.tfvars"),
        config.dir.join("terraform.tfvars.json"),
    ];
    let mut auto_vars: Vec<PathBuf> = std::fs::read_dir(&config.dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.ends_with(".auto.tfvars") || n.ends_with(".auto.tfvars.json")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    auto_vars.sort();
    auto_files.extend(auto_vars);
    // What exists there is read: a FIFO or a device named like a
    // variables file is refused by name rather than passed over.
    for path in auto_files.iter().filter(|p| p.exists()) {
        read_var_file(config, path, false, &mut raw, &mut diags);
    }
    for arg in &inputs.args {
        match arg {
            VarArg::Assign(assign) => {
                let Some((name, value)) = assign.split_once('=') else {
                    diags.push(Diagnostic::error(
                        "Invalid -var option",
                        format!("The given -var option {assign:?} is not correctly specified. It must be a variable name and value separated by an equals sign, like -var=\"key=value\"."),
                    ));
                    continue;
                };
                let name = name.trim();
                if !config.variables.contains_key(name) {
                    diags.push(Diagnostic::error(
                        "Value for undeclared variable",
                        format!("A variable named {name:?} was assigned on the command line, but the root module does not declare a variable of that name. To use this value, add a \"variable\" block to the configuration."),
                    ));
                    continue;
                }
                raw.insert(
                    name.to_string(),
                    (Raw::Text(value.to_string()), Origin::CommandLine),
                );
            }
            VarArg::File(path) => {
                let path = if path.is_absolute() {
                    path.clone()
                } else {
                    config.dir.join(path)
                };
                if !path.exists() {
                    diags.push(Diagnostic::error(
                        "Failed to read variables file",
                        format!("Given variables file {} does not exist.", path.display()),
                    ));
                    continue;
                }
                read_var_file(config, &path, true, &mut raw, &mut diags);
            }
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }

    let mut prompt = prompt;
    let mut values = BTreeMap::new();
    for (name, var) in &config.variables {
        let given = match raw.remove(name) {
            Some(r) => Some(r),
            None if var.default.is_none() => inputs
                .answers
                .get(name)
                .cloned()
                .or_else(|| prompt.as_mut().and_then(|p| p(var)))
                .map(|text| (Raw::Text(text), Origin::Prompt)),
            None => None,
        };
        let value = match given {
            Some((r, origin)) => match interpret(var, r) {
                Ok(v) => match convert_to(var, &v) {
                    Ok(v) => v,
                    Err(detail) => {
                        diags.push(invalid_value(config, var, &origin, &detail));
                        continue;
                    }
                },
                Err(detail) => {
                    diags.push(invalid_value(config, var, &origin, &detail));
                    continue;
                }
            },
            None => match &var.default {
                Some(d) => d.clone(),
                None => {
                    diags.push(
                        Diagnostic::error(
                            "No value for required variable",
                            format!(
                                "The root module input variable {name:?} is not set, and has no default value. Use a -var or -var-file command line argument to provide a value for this variable."
                            ),
                        )
                        .with_subject(config.range(var.file, var.span.clone())),
                    );
                    continue;
                }
            },
        };
        let value = if value.is_null() && !var.nullable {
            match &var.default {
                Some(d) if !d.is_null() => d.clone(),
                _ => {
                    diags.push(
                        Diagnostic::error(
                            "Required variable not set",
                            format!("Unsuitable value for var.{name} set from outside of the configuration: required variable may not be set to null."),
                        )
                        .with_subject(config.range(var.file, var.span.clone())),
                    );
                    continue;
                }
            }
        } else {
            value
        };
        values.insert(name.clone(), value.marked_if(var.sensitive));
    }
    if diags.has_errors() {
        return Err(diags);
    }
    check_validations(config, &values, &mut diags);
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(values)
    }
}

/// ` declared at main.tf:3,1`, for messages about a variable's value.
pub fn declared_at(config: &Config, var: &Variable) -> String {
    config
        .range(var.file, var.span.clone())
        .map_or(String::new(), |r| {
            format!(
                " declared at {}:{},{}",
                r.filename, r.start.line, r.start.column
            )
        })
}

fn invalid_value(config: &Config, var: &Variable, origin: &Origin, detail: &str) -> Diagnostic {
    let decl = declared_at(config, var);
    Diagnostic::error(
        "Invalid value for input variable",
        format!(
            "The value for var.{} from {} is not suitable for the variable{decl}: {detail}.",
            var.name,
            origin.describe()
        ),
    )
    .with_subject(config.range(var.file, var.span.clone()))
}

/// Text from the command line, environment or prompt is a literal string
/// for variables of a primitive type (or no type), and an expression for
/// the others, as in Terraform.
fn interpret(var: &Variable, raw: Raw) -> Result<Value, String> {
    match raw {
        Raw::Value(v) => Ok(v),
        Raw::Text(text) => {
            let literal = matches!(
                var.constraint,
                None | Some(Constraint::String | Constraint::Number | Constraint::Bool)
            );
            if literal {
                return Ok(Value::string(text));
            }
            let expr = hcl::edit::parser::parse_expr(text.trim()).map_err(|e| {
                format!(
                    "the value could not be parsed as an expression: {}",
                    e.message()
                )
            })?;
            constant_value(&expr)
        }
    }
}

fn convert_to(var: &Variable, value: &Value) -> Result<Value, String> {
    match &var.constraint {
        Some(c) if var.sensitive => c.convert(value).map_err(|e| e.describe_sensitive()),
        Some(c) => c.convert(value).map_err(|e| e.to_string()),
        None => Ok(value.clone()),
    }
}

/// Reads a `.tfvars` (HCL) or `.tfvars.json` file into `raw`.
fn read_var_file(
    config: &Config,
    path: &Path,
    explicit: bool,
    raw: &mut BTreeMap<String, (Raw, Origin)>,
    diags: &mut Diagnostics,
) {
    let display = path
        .strip_prefix(&config.dir)
        .unwrap_or(path)
        .display()
        .to_string();
    let source = match super::read_source(path, &display) {
        Ok(source) => source,
        Err(Ok(d)) => {
            diags.push(d);
            return;
        }
        Err(Err(e)) => {
            diags.push(Diagnostic::error(
                "Failed to read variables file",
                format!("Cannot read {display}: {e}."),
            ));
            return;
        }
    };
    let text = source.text.clone();
    let mut assign = |name: String,
                      value: Value,
                      span: Option<std::ops::Range<usize>>,
                      diags: &mut Diagnostics| {
        if config.variables.contains_key(&name) {
            raw.insert(name, (Raw::Value(value), Origin::File(display.clone())));
        } else {
            let d = if explicit {
                Diagnostic::error(
                    "Value for undeclared variable",
                    format!(
                        "The root module does not declare a variable named {name:?} but a value was found in file {display:?}. To use this value, add a \"variable\" block to the configuration."
                    ),
                )
            } else {
                Diagnostic::warning(
                    "Value for undeclared variable",
                    format!(
                        "The root module does not declare a variable named {name:?} but a value was found in file {display:?}. If you meant to use this value, add a \"variable\" block to the configuration."
                    ),
                )
            };
            diags.push(d.with_subject(span.map(|s| source.range(s))));
        }
    };
    if display.ends_with(".json") {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(map)) => {
                for (name, v) in map {
                    assign(name, Value::from_json_dynamic(&v), None, diags);
                }
            }
            Ok(_) => diags.push(Diagnostic::error(
                "Invalid variables file",
                format!("The file {display:?} must contain a JSON object of variable values."),
            )),
            Err(e) => diags.push(
                Diagnostic::error(
                    "Invalid variables file",
                    format!("The file {display:?} is not valid JSON: {e}."),
                )
                .with_subject(Some(source.range_at(e.line(), e.column()))),
            ),
        }
        return;
    }
    let body = match hcl::edit::parser::parse_body(&text) {
        Ok(b) => b,
        Err(e) => {
            diags.push(
                Diagnostic::error("Invalid syntax", e.message().to_string()).with_subject(Some(
                    source.range_at(e.location().line(), e.location().column()),
                )),
            );
            return;
        }
    };
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => match constant_value(&attr.value) {
                Ok(v) => assign(attr.key.as_str().to_string(), v, attr.key.span(), diags),
                Err(detail) => diags.push(
                    Diagnostic::error("Invalid expression", detail)
                        .with_subject(attr.value.span().map(|s| source.range(s))),
                ),
            },
            Structure::Block(b) => diags.push(
                Diagnostic::error(
                    "Unexpected block",
                    "Blocks are not allowed in variables files.",
                )
                .with_subject(b.ident.span().map(|s| source.range(s))),
            ),
        }
    }
}

/// The scope of validation conditions: the variables and nothing else.
struct VariableScope<'a> {
    values: &'a BTreeMap<String, Value>,
    dir: &'a Path,
}

impl Scope for VariableScope<'_> {
    fn resolve(&self, reference: &Reference) -> Result<Value, ScopeError> {
        match reference {
            Reference::Var(name) => self.values.get(name).cloned().ok_or_else(|| ScopeError {
                summary: "Reference to undeclared input variable".into(),
                detail: format!("An input variable with the name {name:?} has not been declared."),
            }),
            Reference::Path(_) => Ok(Value::string(self.dir.to_string_lossy().as_ref())),
            other => Err(ScopeError {
                summary: "Invalid reference in variable validation".into(),
                detail: format!(
                    "The condition for a variable can only refer to input variables, not to {other}."
                ),
            }),
        }
    }

    fn base_dir(&self) -> &Path {
        self.dir
    }
}

fn check_validations(config: &Config, values: &BTreeMap<String, Value>, diags: &mut Diagnostics) {
    for (name, var) in &config.variables {
        check_rules(config, name, var, values, diags);
    }
}

/// Checks one variable's `validation` rules, whose conditions see the
/// variables `values` (a module's variable is checked with its own
/// module's).
pub fn check_rules(
    config: &Config,
    name: &str,
    var: &Variable,
    values: &BTreeMap<String, Value>,
    diags: &mut Diagnostics,
) {
    let scope = VariableScope {
        values,
        dir: &config.dir,
    };
    for rule in &var.validations {
        let mut eval = Evaluator::new(&scope);
        let at = |span| config.range(rule.condition.file, span);
        let result = match eval.eval(&rule.condition.expr) {
            Ok(v) => v,
            Err(e) => {
                diags.push(Diagnostic::error(e.summary, e.detail).with_subject(at(e.span)));
                continue;
            }
        };
        let (result, _) = result.unmark();
        // A module's rule may refer to a variable not known yet: it is
        // checked when it is.
        if !result.is_known() {
            continue;
        }
        let ok = match crate::lang::convert::convert(result, &Type::Bool) {
            Ok(b) if !b.is_null() => b.as_bool(),
            _ => None,
        };
        match ok {
            Some(true) => {}
            Some(false) => {
                let message = eval
                    .eval(&rule.error_message.expr)
                    .ok()
                    .and_then(|m| {
                        // A message computed from a sensitive value would print it.
                        if m.contains_sensitive() {
                            None
                        } else {
                            m.as_str().map(str::to_string)
                        }
                    })
                    .unwrap_or_else(|| "The value is not valid.".to_string());
                let failed = Diagnostic::error(
                    "Invalid value for variable",
                    format!(
                        "{message}\n\nThis was checked by the validation rule at {}.",
                        describe_at(config, rule.condition.file, rule.condition.expr.span())
                    ),
                )
                .with_subject(at(var.span.clone()))
                .with_context(format!("var.{name}"));
                let values = reference_values(
                    &config.file(rule.condition.file).text,
                    &rule.condition.expr,
                    &mut eval,
                );
                diags.push(failed.with_values(values));
            }
            None => diags.push(
                Diagnostic::error(
                    "Invalid validation result",
                    "The validation condition must produce true or false.",
                )
                .with_subject(at(rule.condition.expr.span())),
            ),
        }
    }
}

fn describe_at(
    config: &Config,
    file: super::FileId,
    span: Option<std::ops::Range<usize>>,
) -> String {
    config.range(file, span).map_or_else(
        || "its declaration".into(),
        |r| format!("{}:{},{}", r.filename, r.start.line, r.start.column),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_dir;

    fn setup(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        dir
    }

    fn resolve_in(dir: &Path, inputs: &VarInputs) -> Result<BTreeMap<String, Value>, Diagnostics> {
        let config = load_dir(dir).unwrap();
        resolve(&config, inputs, None)
    }

    #[test]
    fn later_sources_win_in_terraforms_order() {
        let dir = setup(&[
            (
                "main.tf",
                "variable \"a\" {}\nvariable \"b\" {}\nvariable \"c\" {}\nvariable \"d\" {}\nvariable \"e\" {}\n",
            ),
            (
                "terraform.tfvars",
                "b = \"tfvars\"\nc = \"tfvars\"\nd = \"tfvars\"\ne = \"tfvars\"\n",
            ),
            (
                "x.auto.tfvars",
                "c = \"auto-x\"\nd = \"auto-x\"\ne = \"auto-x\"\n",
            ),
            ("a.auto.tfvars", "c = \"auto-a\"\n"),
            ("extra.tfvars", "d = \"file\"\ne = \"file\"\n"),
        ]);
        let inputs = VarInputs {
            env: [
                ("a".to_string(), "env".to_string()),
                ("b".to_string(), "env".to_string()),
            ]
            .into(),
            args: vec![
                VarArg::Assign("e=cli".into()),
                VarArg::File("extra.tfvars".into()),
            ],
            ..Default::default()
        };
        let v = resolve_in(dir.path(), &inputs).unwrap();
        let got: Vec<&str> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|n| v[*n].as_str().unwrap())
            .collect();
        assert_eq!(got, ["env", "tfvars", "auto-x", "file", "file"]);
    }

    #[test]
    fn text_is_parsed_as_an_expression_for_complex_types_only() {
        let dir = setup(&[(
            "main.tf",
            "variable \"s\" {}\nvariable \"l\" { type = list(number) }\n",
        )]);
        let inputs = VarInputs {
            env: BTreeMap::new(),
            args: vec![
                VarArg::Assign("s=[1]".into()),
                VarArg::Assign("l=[1, 2]".into()),
            ],
            ..Default::default()
        };
        let v = resolve_in(dir.path(), &inputs).unwrap();
        assert_eq!(v["s"].as_str(), Some("[1]"));
        assert_eq!(v["l"].type_of(), Type::list(Type::Number));
    }

    #[test]
    fn reports_type_mismatches_and_missing_values() {
        let dir = setup(&[(
            "main.tf",
            "variable \"n\" { type = number }\nvariable \"req\" {}\n",
        )]);
        let inputs = VarInputs {
            env: BTreeMap::new(),
            args: vec![VarArg::Assign("n=abc".into())],
            ..Default::default()
        };
        let err = resolve_in(dir.path(), &inputs).unwrap_err();
        let summaries: Vec<&str> = err.iter().map(|d| d.summary.as_str()).collect();
        assert_eq!(
            summaries,
            [
                "Invalid value for input variable",
                "No value for required variable"
            ]
        );
        assert!(err.0[0].detail.contains("a number is required"));
    }

    #[test]
    fn validation_rules_report_their_message() {
        let dir = setup(&[(
            "main.tf",
            "variable \"n\" {\n  type = number\n  validation {\n    condition     = var.n > 3\n    error_message = \"n must be more than 3.\"\n  }\n}\n",
        )]);
        let inputs = VarInputs {
            env: BTreeMap::new(),
            args: vec![VarArg::Assign("n=2".into())],
            ..Default::default()
        };
        let err = resolve_in(dir.path(), &inputs).unwrap_err();
        assert!(err.0[0].detail.starts_with("n must be more than 3."));
        let inputs = VarInputs {
            env: BTreeMap::new(),
            args: vec![VarArg::Assign("n=4".into())],
            ..Default::default()
        };
        assert!(resolve_in(dir.path(), &inputs).is_ok());
    }

    #[test]
    fn sensitive_variables_are_marked() {
        let dir = setup(&[(
            "main.tf",
            "variable \"pw\" {\n  sensitive = true\n  default = \"x\"\n}\n",
        )]);
        let v = resolve_in(dir.path(), &VarInputs::default()).unwrap();
        assert!(v["pw"].is_sensitive());
    }

    #[test]
    fn prompts_for_missing_values() {
        let dir = setup(&[("main.tf", "variable \"name\" {}\n")]);
        let config = load_dir(dir.path()).unwrap();
        let mut asked = Vec::new();
        let mut prompt = |v: &Variable| {
            asked.push(v.name.clone());
            Some("typed".to_string())
        };
        let v = resolve(&config, &VarInputs::default(), Some(&mut prompt)).unwrap();
        assert_eq!(v["name"].as_str(), Some("typed"));
        assert_eq!(asked, ["name"]);
    }
}
