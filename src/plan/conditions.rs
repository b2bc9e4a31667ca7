//! Custom conditions: `precondition` and `postcondition` blocks of
//! resources and outputs, and the `assert` blocks of `check` blocks.
//! A condition whose value is not known yet is checked later (during
//! apply) rather than guessed at.

use super::values::RunValues;
use crate::config::{Condition, Config};
use crate::diag::Diagnostic;
use crate::lang::eval::{Evaluator, reference_values};
use crate::lang::value::Value;
use hcl::edit::Span;

/// The `check` blocks' assertions that fail, as warnings: checks report,
/// they never stop a run. Those not known yet are left for apply.
pub fn failed_assertions(config: &Config, run: &RunValues) -> Vec<Diagnostic> {
    let mut warnings = Vec::new();
    for block in &config.checks {
        let context = format!("check \"{}\"", block.name);
        for module in run.module_instances(&block.module) {
            let scope = run.module_scope(&module);
            let mut eval = Evaluator::new(&scope);
            for a in &block.asserts {
                if let Checked::Failed(d) | Checked::Invalid(d) = check(
                    config,
                    a,
                    &mut eval,
                    "Check block assertion failed",
                    &context,
                ) {
                    let d = Diagnostic {
                        severity: crate::diag::Severity::Warning,
                        ..d
                    };
                    warnings.push(if module.is_root() {
                        d
                    } else {
                        d.with_address(module.to_string())
                    });
                }
            }
        }
    }
    warnings
}

/// What checking a condition came to.
#[derive(Debug)]
pub enum Checked {
    Passed,
    /// Its value depends on something known only after apply.
    NotYetKnown,
    /// False: the diagnostic carries the error message.
    Failed(Diagnostic),
    /// The condition or its message could not be evaluated.
    Invalid(Diagnostic),
}

/// Checks one condition. `failure` is the summary a false condition
/// gets ("Resource precondition failed"); `context` names the block.
pub fn check(
    config: &Config,
    condition: &Condition,
    eval: &mut Evaluator<'_>,
    failure: &str,
    context: &str,
) -> Checked {
    let at = |span| config.range(condition.condition.file, span);
    let value = match eval.eval(&condition.condition.expr) {
        Ok(v) => v,
        Err(e) => {
            return Checked::Invalid(
                Diagnostic::error(e.summary, e.detail)
                    .with_subject(at(e.span))
                    .with_context(context),
            );
        }
    };
    let (value, _) = value.unmark_deep();
    if !value.is_wholly_known() {
        return Checked::NotYetKnown;
    }
    let passed = match value {
        Value::Bool(b) => b,
        other => {
            return Checked::Invalid(
                Diagnostic::error(
                    "Invalid condition result",
                    format!(
                        "The condition must be true or false, not {}.",
                        if other.is_null() {
                            "null".to_string()
                        } else {
                            format!("a {}", other.type_of().friendly_name())
                        }
                    ),
                )
                .with_subject(at(condition.condition.expr.span()))
                .with_context(context),
            );
        }
    };
    if passed {
        return Checked::Passed;
    }
    let message = match eval.eval(&condition.error_message.expr) {
        Ok(m) => {
            let (m, sensitive) = m.unmark_deep();
            match m.as_str() {
                // A message built from a secret would print it.
                Some(_) if sensitive => {
                    "(The error message refers to sensitive values.)".to_string()
                }
                Some(s) => s.to_string(),
                None => "(The error message is not a string.)".to_string(),
            }
        }
        Err(e) => format!("(The error message cannot be evaluated: {}.)", e.summary),
    };
    let values = reference_values(
        &config.file(condition.condition.file).text,
        &condition.condition.expr,
        eval,
    );
    Checked::Failed(
        Diagnostic::error(failure, message)
            .with_subject(at(condition.condition.expr.span()))
            .with_context(context)
            .with_values(values),
    )
}
