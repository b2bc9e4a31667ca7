//! Static checks of a configuration, with no state and no cloud: every
//! resource type exists, every body fits its type's schema, every
//! reference names something declared, there are no cycles, and every
//! expression evaluates (with unknown inputs) without error — which finds
//! misspelt functions and attributes, wrong argument types and sensitive
//! values flowing into unmarked outputs. All problems are reported at
//! once.

use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::{self, ConfigGraph, NodeId};
use crate::lang::eval::Evaluator;
use crate::lang::refs::ResourceMode;
use crate::lang::value::{Type, Value};
use crate::plan::body::{check_body, eval_body, unknown_of};
use crate::plan::modules::{self, sensitive_output};
use crate::plan::values::{Expansion, RunValues};
use crate::provider::Providers;
use hcl::edit::Span;
use std::collections::BTreeMap;

/// Validates a configuration; on success returns its dependency graph.
pub fn validate(config: &Config, providers: &Providers) -> Result<ConfigGraph, Diagnostics> {
    let mut diags = Diagnostics::default();
    for i in config.imports_without_config() {
        diags.push(
            Diagnostic::error(
                "Configuration for import target does not exist",
                format!(
                    "The configuration has no resource block for {}. Add one, or run plan with -generate-config-out=FILE to have stackform write it from the imported object.",
                    i.to
                ),
            )
            .with_subject(config.range(i.file, i.span.clone())),
        );
    }
    for (addr, resource) in &config.resources {
        let context = resource.describe();
        let type_span = resource.span.clone().map(|s| s.start..s.end);
        match providers.schema(addr.mode, &addr.type_name) {
            Some(schema) => check_body(
                config,
                resource.file,
                &resource.body,
                schema,
                &context,
                &mut diags,
            ),
            None => {
                let (what, kinds, known): (_, _, Vec<&str>) = match addr.mode {
                    ResourceMode::Managed => (
                        "Invalid resource type",
                        "resource type",
                        providers.resource_type_names().collect(),
                    ),
                    ResourceMode::Data => (
                        "Invalid data source",
                        "data source",
                        providers.data_source_type_names().collect(),
                    ),
                };
                let listed = if known.is_empty() {
                    format!("This version of stackform knows no {kinds}s.")
                } else {
                    format!(
                        "The {kinds}s this version of stackform knows are: {}.",
                        known.join(", ")
                    )
                };
                diags.push(
                    Diagnostic::error(
                        what,
                        format!("There is no {kinds} named {:?}. {listed}", addr.type_name),
                    )
                    .with_subject(config.range(resource.file, type_span))
                    .with_context(context),
                );
            }
        }
    }
    check_provider_blocks(config, providers, &mut diags);
    let graph = match graph::build(config) {
        Ok(g) => Some(g),
        Err(d) => {
            diags.extend(d);
            None
        }
    };
    if let Some(g) = &graph
        && !diags.has_errors()
    {
        type_check(config, g, providers, &mut diags);
    }
    diags.sort_by_position();
    match graph {
        Some(g) if !diags.has_errors() => Ok(g),
        _ => Err(diags),
    }
}

/// Every `provider` block names a known provider, once, and fits its
/// schema.
fn check_provider_blocks(config: &Config, providers: &Providers, diags: &mut Diagnostics) {
    let mut seen = BTreeMap::new();
    for block in &config.providers {
        let context = format!("provider \"{}\"", block.name);
        let subject = config.range(block.file, block.span.clone());
        if let Some(first) = seen.insert(block.name.as_str(), subject.clone()) {
            let at = first.map_or_else(String::new, |r| {
                format!(" at {}:{}", r.filename, r.start.line)
            });
            diags.push(
                Diagnostic::error(
                    "Duplicate provider configuration",
                    format!(
                        "A provider \"{}\" block was already given{at}. Each provider is configured once.",
                        block.name
                    ),
                )
                .with_subject(subject),
            );
            continue;
        }
        match providers.provider(&block.name) {
            Some(p) => check_body(config, block.file, &block.body, p.schema(), &context, diags),
            None => {
                let known: Vec<&str> = providers.provider_names().collect();
                let listed = if known.is_empty() {
                    "This version of stackform has no configurable providers.".to_string()
                } else {
                    format!(
                        "The providers this version of stackform knows are: {}.",
                        known.join(", ")
                    )
                };
                diags.push(
                    Diagnostic::error(
                        "Invalid provider",
                        format!("There is no provider named {:?}. {listed}", block.name),
                    )
                    .with_subject(subject),
                );
            }
        }
    }
}

/// Evaluates every expression with unknown variables, unknown resource
/// attributes and unknown `count.index`/`each`: what fails here fails for
/// every possible input.
fn type_check(
    config: &Config,
    graph: &ConfigGraph,
    providers: &Providers,
    diags: &mut Diagnostics,
) {
    let vars: BTreeMap<String, Value> = config
        .variables
        .iter()
        .map(|(name, v)| {
            let ty = v.constraint.as_ref().map_or(Type::Dynamic, |c| c.to_type());
            (name.clone(), Value::Unknown(ty).marked_if(v.sensitive))
        })
        .collect();
    let run = RunValues::for_config(config, vars);
    for &ix in &graph.order {
        match &graph.graph[ix] {
            NodeId::Variable(path, _) if path.is_empty() => {}
            NodeId::Module(path) => {
                let Some((name, parent)) = path.split_last() else {
                    continue;
                };
                let call = &config.modules[path].call;
                let context = format!("module \"{name}\"");
                for caller in run.module_instances(parent) {
                    let scope = run.module_scope(&caller);
                    for meta in [&call.count, &call.for_each].into_iter().flatten() {
                        if let Err(e) = Evaluator::new(&scope).eval(&meta.expr) {
                            diags.push(
                                Diagnostic::error(e.summary, e.detail)
                                    .with_subject(
                                        config.range(meta.file, e.span.or(meta.expr.span())),
                                    )
                                    .with_context(context.clone()),
                            );
                        }
                    }
                    // Without inputs the instances are not known: the
                    // module is checked once, and what refers to a
                    // repeated call sees an unknown value.
                    run.set_call_expansion(&caller, name, Expansion::Single);
                    if call.count.is_some() || call.for_each.is_some() {
                        run.set_call_opaque(&caller, name);
                    }
                }
            }
            NodeId::Variable(path, name) => {
                let (Some(var), Some(called)) =
                    (config.variable(path, name), config.modules.get(path))
                else {
                    continue;
                };
                let caller_path = &path[..path.len() - 1];
                for module in run.module_instances(path) {
                    if let Some(arg) = called.call.arguments.get(name) {
                        for caller in run.module_instances(caller_path) {
                            let scope = run.module_scope(&caller).with_unknown_repetition();
                            if let Err(e) = Evaluator::new(&scope).eval(&arg.value.expr) {
                                diags.push(
                                    Diagnostic::error(e.summary, e.detail)
                                        .with_subject(config.range(arg.value.file, e.span))
                                        .with_context(format!("module \"{}\"", called.call.name)),
                                );
                            }
                        }
                    }
                    let ty = var
                        .constraint
                        .as_ref()
                        .map_or(Type::Dynamic, |c| c.to_type());
                    run.set_variable(&module, name, Value::Unknown(ty).marked_if(var.sensitive));
                }
            }
            node @ NodeId::Local(..) => {
                diags.extend(modules::evaluate_node(config, &run, node));
            }
            NodeId::Resource(addr) => {
                let resource = &config.resources[addr];
                let Some(schema) = providers.schema(addr.mode, &addr.type_name) else {
                    continue;
                };
                let Some(module) = run.module_instances(&addr.module).into_iter().next() else {
                    continue;
                };
                let context = resource.describe();
                let scope = run.module_scope(&module);
                for meta in [&resource.count, &resource.for_each].into_iter().flatten() {
                    if let Err(e) = Evaluator::new(&scope).eval(&meta.expr) {
                        diags.push(
                            Diagnostic::error(e.summary, e.detail)
                                .with_subject(config.range(meta.file, e.span.or(meta.expr.span())))
                                .with_context(context.clone()),
                        );
                    }
                }
                let scope = run.module_scope(&module).with_unknown_repetition();
                let mut eval = Evaluator::new(&scope);
                eval_body(
                    config,
                    resource.file,
                    &resource.body,
                    schema,
                    &mut eval,
                    &context,
                    diags,
                );
                let instance = unknown_of(schema);
                let value = if resource.count.is_some() {
                    Value::Unknown(Type::list(instance.type_of()))
                } else if resource.for_each.is_some() {
                    Value::Unknown(Type::map(instance.type_of()))
                } else {
                    instance
                };
                run.set_resource(&module, addr, value);
            }
            NodeId::Output(path, name) => {
                let Some(output) = config.output(path, name) else {
                    continue;
                };
                for module in run.module_instances(path) {
                    let scope = run.module_scope(&module);
                    let value = match Evaluator::new(&scope).eval(&output.value.expr) {
                        Ok(v) if v.contains_sensitive() && !output.sensitive => {
                            diags.push(sensitive_output(config, output));
                            Value::unknown()
                        }
                        Ok(v) => v.marked_if(output.sensitive),
                        Err(e) => {
                            diags.push(
                                Diagnostic::error(e.summary, e.detail)
                                    .with_subject(config.range(output.value.file, e.span))
                                    .with_context(format!("output \"{name}\"")),
                            );
                            Value::unknown()
                        }
                    };
                    run.set_output(&module, name, value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_sources;
    use crate::diag::SourceFile;
    use std::path::Path;

    fn check(src: &str) -> Vec<String> {
        let config = load_sources(
            Path::new("."),
            vec![SourceFile::new("main.tf", "main.tf", src)],
        )
        .unwrap();
        match validate(&config, &Providers::builtin()) {
            Ok(_) => Vec::new(),
            Err(d) => d
                .iter()
                .map(|d| {
                    let at = d.subject.as_ref().map_or(String::new(), |s| {
                        format!("{}:{} ", s.start.line, s.start.column)
                    });
                    format!("{at}{}", d.summary)
                })
                .collect(),
        }
    }

    #[test]
    fn a_valid_configuration_passes() {
        assert!(
            check(
                r#"
variable "names" { type = list(string) }
resource "terraform_data" "a" {
  count = length(var.names)
  input = upper(var.names[count.index])
}
output "first" { value = terraform_data.a[0].output }
"#
            )
            .is_empty()
        );
    }

    #[test]
    fn reports_schema_and_expression_errors_together() {
        let got = check(
            "resource \"terraform_data\" \"a\" {\n  inptu = 1\n  id = \"x\"\n}\nresource \"nope_thing\" \"b\" {}\nresource \"terraform_data\" \"c\" {\n  input = uper(\"x\")\n}\noutput \"o\" { value = terraform_data.c.nope }\n",
        );
        assert_eq!(
            got,
            [
                "2:3 Unsupported argument",
                "3:3 Invalid argument",
                "5:1 Invalid resource type",
            ]
        );
        let got = check(
            "resource \"terraform_data\" \"c\" {\n  input = uper(\"x\")\n}\noutput \"o\" { value = terraform_data.c.nope }\n",
        );
        assert_eq!(
            got,
            [
                "2:11 Call to unknown function",
                "4:22 Unsupported attribute"
            ]
        );
    }

    #[test]
    fn sensitive_values_need_a_sensitive_output() {
        let got = check(
            "variable \"pw\" {\n  sensitive = true\n}\noutput \"o\" { value = \"x${var.pw}\" }\n",
        );
        assert_eq!(got, ["4:1 Output refers to sensitive values"]);
    }
}
