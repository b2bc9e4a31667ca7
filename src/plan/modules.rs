//! The values that are not resources, in every module instance: module
//! calls (how many instances each has), the input variables a call's
//! arguments give, locals, and the outputs a module gives its caller.
//! Plan and apply both evaluate them here, node by node, in graph order.

use super::conditions::{self, Checked};
use super::expand;
use super::values::{Expansion, RunValues};
use crate::addr::{ModuleInstance, module_path_string};
use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::NodeId;
use crate::lang::eval::Evaluator;
use crate::lang::value::Value;
use hcl::edit::Span;
use std::collections::BTreeMap;

/// Evaluates a variable, local, module call or module output in every
/// instance of its module. What fails is unknown to what depends on it,
/// and reported. Resources and root outputs are not evaluated here.
pub fn evaluate_node(config: &Config, run: &RunValues, node: &NodeId) -> Diagnostics {
    let mut diags = Diagnostics::default();
    match node {
        NodeId::Module(path) => {
            let Some((name, parent)) = path.split_last() else {
                return diags;
            };
            let call = &config.modules[path].call;
            // Calls in modules with many instances multiply: the limit
            // holds for all the instances of the module together.
            let mut instances = 0;
            for caller in run.module_instances(parent) {
                let scope = run.module_scope(&caller);
                match expand::expand_call(config, call, &scope) {
                    Ok(expansion) => {
                        instances += expansion.instance_count();
                        if instances > expand::MAX_INSTANCES {
                            diags.push(
                                Diagnostic::error(
                                    "Too many instances",
                                    expand::too_many_instances(&format!(
                                        "module \"{}\", in all the instances of its caller,",
                                        call.name
                                    )),
                                )
                                .with_subject(config.range(call.file, call.span.clone())),
                            );
                            return diags;
                        }
                        run.set_call_expansion(&caller, name, expansion)
                    }
                    Err(d) => diags
                        .push(d.with_address(caller.child(name, Default::default()).to_string())),
                }
            }
        }
        NodeId::Variable(path, name) if !path.is_empty() => {
            for module in run.module_instances(path) {
                let value = variable_value(config, run, &module, name).unwrap_or_else(|d| {
                    diags.push(d);
                    Value::unknown()
                });
                run.set_variable(&module, name, value);
            }
        }
        NodeId::Local(path, name) => {
            let Some(local) = config.local(path, name) else {
                return diags;
            };
            for module in run.module_instances(path) {
                let scope = run.module_scope(&module);
                let value = Evaluator::new(&scope)
                    .eval(&local.value.expr)
                    .unwrap_or_else(|e| {
                        diags.push(
                            Diagnostic::error(e.summary, e.detail)
                                .with_subject(config.range(local.value.file, e.span))
                                .with_context(prefixed(&module, &format!("local.{name}"))),
                        );
                        Value::unknown()
                    });
                run.set_local(&module, name, value);
            }
        }
        NodeId::Output(path, name) if !path.is_empty() => {
            for module in run.module_instances(path) {
                let value = output_value(config, run, &module, name).unwrap_or_else(|d| {
                    diags.push(d);
                    Value::unknown()
                });
                run.set_output(&module, name, value);
            }
        }
        NodeId::Variable(..) | NodeId::Output(..) | NodeId::Resource(_) => {}
    }
    diags
}

/// `module.net[0].local.x` for a module instance, `local.x` for the root.
fn prefixed(module: &ModuleInstance, what: &str) -> String {
    if module.is_root() {
        what.to_string()
    } else {
        format!("{module}.{what}")
    }
}

/// The value of a called module's input variable: the call's argument
/// (evaluated in the caller, with the call's `count.index` or `each`),
/// or the variable's default, converted to its type.
fn variable_value(
    config: &Config,
    run: &RunValues,
    module: &ModuleInstance,
    name: &str,
) -> Result<Value, Diagnostic> {
    let path = module.path();
    let (Some(var), Some(called)) = (config.variable(&path, name), config.modules.get(&path))
    else {
        return Ok(Value::unknown());
    };
    let Some((caller, call_name, key)) = module.split_last() else {
        return Ok(Value::unknown());
    };
    let argument = called.call.arguments.get(name);
    let given = match argument {
        Some(arg) => {
            let expansion = run
                .call_expansion(&caller, call_name)
                .unwrap_or(Expansion::Single);
            let scope = run.instance_scope(&caller, key, &expansion);
            let value = Evaluator::new(&scope).eval(&arg.value.expr).map_err(|e| {
                Diagnostic::error(e.summary, e.detail)
                    .with_subject(config.range(arg.value.file, e.span))
                    .with_context(format!("module \"{call_name}\""))
            })?;
            Some(value)
        }
        None => None,
    };
    let value = match given {
        Some(v) if !v.is_null() || var.nullable => v,
        _ => var.default.clone().unwrap_or(Value::NULL),
    };
    let subject = match argument {
        Some(arg) => config.range(arg.value.file, arg.value.expr.span()),
        None => config.range(called.call.file, called.call.span.clone()),
    };
    if value.is_null() && !var.nullable {
        return Err(Diagnostic::error(
            "Invalid value for input variable",
            format!(
                "The variable {name:?} of {} is not nullable, and has no default: a value is required.",
                module_path_string(&path)
            ),
        )
        .with_subject(subject));
    }
    let converted = match &var.constraint {
        Some(c) if !value.is_null() => c.convert(&value).map_err(|e| {
            let at = crate::config::variables::declared_at(config, var);
            let why = if var.sensitive || value.contains_sensitive() {
                e.describe_sensitive()
            } else {
                e.describe()
            };
            Diagnostic::error(
                "Invalid value for input variable",
                format!(
                    "The given value is not suitable for {}'s input variable {name:?}{at}: {why}.",
                    module_path_string(&path)
                ),
            )
            .with_subject(subject.clone())
        })?,
        _ => value,
    };
    // Rules are checked once the value is known (during apply if not
    // while planning).
    if converted.is_wholly_known() && !var.validations.is_empty() {
        let mut failed = Diagnostics::default();
        // Rules may name the module's other variables, which the graph
        // evaluates first.
        let mut values: BTreeMap<String, Value> = config
            .module_items(&path)
            .map(|items| {
                items
                    .variables
                    .keys()
                    .map(|v| (v.clone(), Value::unknown()))
                    .collect()
            })
            .unwrap_or_default();
        values.extend(run.variables_of(module));
        values.insert(name.to_string(), converted.clone());
        crate::config::variables::check_rules(config, name, var, &values, &mut failed);
        if let Some(d) = failed.0.into_iter().next() {
            return Err(d.with_context(format!("{module}.var.{name}")));
        }
    }
    Ok(converted.marked_if(var.sensitive))
}

/// The value a called module's output gives its caller, once its
/// preconditions hold.
fn output_value(
    config: &Config,
    run: &RunValues,
    module: &ModuleInstance,
    name: &str,
) -> Result<Value, Diagnostic> {
    let Some(output) = config.output(&module.path(), name) else {
        return Ok(Value::unknown());
    };
    let scope = run.module_scope(module);
    let context = prefixed(module, &format!("output.{name}"));
    for c in &output.preconditions {
        let checked = conditions::check(
            config,
            c,
            &mut Evaluator::new(&scope),
            "Module output value precondition failed",
            &context,
        );
        if let Checked::Failed(d) | Checked::Invalid(d) = checked {
            return Err(d);
        }
    }
    let value = Evaluator::new(&scope)
        .eval(&output.value.expr)
        .map_err(|e| {
            Diagnostic::error(e.summary, e.detail)
                .with_subject(config.range(output.value.file, e.span))
                .with_context(context.clone())
        })?;
    if value.contains_sensitive() && !output.sensitive {
        return Err(sensitive_output(config, output));
    }
    Ok(value.marked_if(output.sensitive))
}

/// An output whose value holds sensitive values must say so.
pub fn sensitive_output(config: &Config, output: &crate::config::Output) -> Diagnostic {
    Diagnostic::error(
        "Output refers to sensitive values",
        "To reduce the risk of accidentally exporting sensitive data that was intended to be only internal, stackform requires that any root module output containing sensitive data be explicitly marked as sensitive, to confirm your intent.\n\nIf you do intend to export this data, annotate the output value as sensitive by adding the following argument:\n    sensitive = true",
    )
    .with_subject(config.range(output.file, output.span.clone()))
}
