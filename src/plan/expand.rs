//! `count` and `for_each`: how many instances a resource block has and
//! what their keys are. Both must be known at plan time, not sensitive,
//! and of the right shape, or the plan stops with Terraform's message.

use super::values::Expansion;
use crate::config::{Config, Expr, ModuleCall, Resource};
use crate::diag::Diagnostic;
use crate::lang::convert::convert;
use crate::lang::eval::{Evaluator, Scope};
use crate::lang::value::{Type, Value};
use hcl::edit::Span;
use std::collections::BTreeMap;

/// The most instances a resource or module block may have, from one
/// `count` or `for_each` and in all across the instances of the module it
/// is in. Each instance is planned, recorded and refreshed: fifty
/// thousand servers is more than one state should hold, and a mistaken
/// `count = 10000000` is refused before anything is built for it.
pub const MAX_INSTANCES: usize = 50_000;

/// The message for a block with more than `MAX_INSTANCES` instances.
pub fn too_many_instances(given: &str) -> String {
    format!(
        "{given} gives more than {MAX_INSTANCES} instances, the most a resource or module block may have."
    )
}

pub fn expand(
    config: &Config,
    resource: &Resource,
    scope: &dyn Scope,
) -> Result<Expansion, Diagnostic> {
    expand_repetition(
        config,
        resource.count.as_ref(),
        resource.for_each.as_ref(),
        &resource.describe(),
        scope,
    )
}

/// The instances of a module call.
pub fn expand_call(
    config: &Config,
    call: &ModuleCall,
    scope: &dyn Scope,
) -> Result<Expansion, Diagnostic> {
    expand_repetition(
        config,
        call.count.as_ref(),
        call.for_each.as_ref(),
        &format!("module \"{}\"", call.name),
        scope,
    )
}

/// The instances that `count` or `for_each` (or neither) give the block
/// `context` names.
fn expand_repetition(
    config: &Config,
    count: Option<&Expr>,
    for_each: Option<&Expr>,
    context: &str,
    scope: &dyn Scope,
) -> Result<Expansion, Diagnostic> {
    let context = context.to_string();
    if let Some(count) = count {
        let at = config.range(count.file, count.expr.span());
        let fail = |summary: &str, detail: &str| {
            Diagnostic::error(summary, detail)
                .with_subject(at.clone())
                .with_context(context.clone())
        };
        let v = Evaluator::new(scope).eval(&count.expr).map_err(|e| {
            Diagnostic::error(e.summary, e.detail)
                .with_subject(config.range(count.file, e.span))
                .with_context(context.clone())
        })?;
        if v.contains_sensitive() {
            return Err(fail(
                "Invalid count argument",
                "Sensitive values, or values derived from sensitive values, cannot be used as count arguments. If used, the sensitive value could be exposed as a resource instance key.",
            ));
        }
        if !v.is_known() {
            return Err(fail(
                "Invalid count argument",
                "The \"count\" value depends on resource attributes that cannot be determined until apply, so stackform cannot predict how many instances will be created. To work around this, use -target to first apply only the resources that the count depends on.",
            ));
        }
        if v.is_null() {
            return Err(fail(
                "Invalid count argument",
                "The given \"count\" argument value is null. An integer is required.",
            ));
        }
        let n = convert(&v, &Type::Number)
            .ok()
            .and_then(|n| n.as_number())
            .ok_or_else(|| {
                fail(
                    "Invalid count argument",
                    "The given \"count\" argument value is unsuitable: a number is required.",
                )
            })?;
        if !n.is_integer() {
            return Err(fail(
                "Invalid count argument",
                "The given \"count\" argument value is unsuitable: the value must be a whole number.",
            ));
        }
        if n.is_negative() {
            return Err(fail(
                "Invalid count argument",
                "The given \"count\" argument value is unsuitable: must be greater than or equal to zero.",
            ));
        }
        return match n.to_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) if n <= MAX_INSTANCES => Ok(Expansion::Count(n)),
            _ => Err(fail(
                "Invalid count argument",
                &too_many_instances(&format!("The count of {n}")),
            )),
        };
    }
    let Some(for_each) = for_each else {
        return Ok(Expansion::Single);
    };
    let at = config.range(for_each.file, for_each.expr.span());
    let fail = |summary: &str, detail: String| {
        Diagnostic::error(summary, detail)
            .with_subject(at.clone())
            .with_context(context.clone())
    };
    let v = Evaluator::new(scope).eval(&for_each.expr).map_err(|e| {
        Diagnostic::error(e.summary, e.detail)
            .with_subject(config.range(for_each.file, e.span))
            .with_context(context.clone())
    })?;
    if v.is_sensitive() {
        return Err(fail(
            "Invalid for_each argument",
            "Sensitive values, or values derived from sensitive values, cannot be used as for_each arguments. If used, the sensitive value could be exposed as a resource instance key.".into(),
        ));
    }
    if !v.is_known() {
        return Err(fail(
            "Invalid for_each argument",
            "The \"for_each\" map includes keys derived from resource attributes that cannot be determined until apply, and so stackform cannot determine the full set of keys that will identify the instances of this resource.".into(),
        ));
    }
    if v.is_null() {
        return Err(fail(
            "Invalid for_each argument",
            "The given \"for_each\" argument value is null. A map, or set of strings is allowed."
                .into(),
        ));
    }
    if v.length().is_some_and(|n| n > MAX_INSTANCES) {
        return Err(fail(
            "Invalid for_each argument",
            too_many_instances(&format!(
                "The for_each value of {} elements",
                v.length().unwrap_or_default()
            )),
        ));
    }
    match &v {
        Value::Map(_, items) | Value::Object(items) => {
            Ok(Expansion::ForEach(items.as_ref().clone()))
        }
        Value::Set(_, items) => {
            let mut keys = BTreeMap::new();
            for item in items.iter() {
                if !item.is_known() {
                    return Err(fail(
                        "Invalid for_each argument",
                        "The \"for_each\" set includes values derived from resource attributes that cannot be determined until apply, and so stackform cannot determine the full set of keys that will identify the instances of this resource.".into(),
                    ));
                }
                if item.contains_sensitive() {
                    return Err(fail(
                        "Invalid for_each argument",
                        "Sensitive values cannot be used as for_each keys.".into(),
                    ));
                }
                match item.as_str() {
                    Some(s) => {
                        keys.insert(s.to_string(), item.clone());
                    }
                    None if item.is_null() => {
                        return Err(fail("Invalid for_each set argument", "The given \"for_each\" argument value is unsuitable: \"for_each\" sets must not contain null values.".into()));
                    }
                    None => {
                        return Err(fail(
                            "Invalid for_each set argument",
                            format!(
                                "The given \"for_each\" argument value is unsuitable: \"for_each\" supports sets of strings, but you have provided a set containing type {}.",
                                item.type_of().friendly_name()
                            ),
                        ));
                    }
                }
            }
            Ok(Expansion::ForEach(keys))
        }
        other => Err(fail(
            "Invalid for_each argument",
            format!(
                "The given \"for_each\" argument value is unsuitable: the \"for_each\" argument must be a map, or set of strings, and you have provided a value of type {}.",
                other.type_of().friendly_name()
            ),
        )),
    }
}
