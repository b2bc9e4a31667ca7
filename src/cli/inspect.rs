//! The commands that change nothing: `init`, `validate`, `show`,
//! `output`, `version` (and `graph`, in its own module, because it
//! may plan).

use super::args::{InitArgs, OutputArgs, ShowArgs, ValidateArgs, VersionArgs};
use super::{CliError, Settings};
use crate::config;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::lang::value::Value;
use crate::plan;
use crate::state::{LocalBackend, State};
use crate::ui::style::{self, paint};
use crate::ui::{self, Output, diagnostics};
use serde_json::json;
use std::collections::BTreeMap;

pub fn init(settings: &Settings, _a: &InitArgs, output: &mut Output) -> Result<i32, CliError> {
    config::load_dir(&settings.dir)?;
    output.out(&format!(
        "\n{}\n\nYou may now begin working with stackform. Try running \"stackform plan\" to see\nany changes that are required for your infrastructure.\n",
        paint(style::SUCCESS, "stackform has been successfully initialized!")
    ));
    Ok(0)
}

pub fn validate(
    settings: &Settings,
    a: &ValidateArgs,
    output: &mut Output,
) -> Result<i32, CliError> {
    let result = config::load_dir(&settings.dir)
        .and_then(|c| crate::validate::validate(&c, &settings.providers()).map(|_| ()));
    let diags = match result {
        Ok(()) => Diagnostics::default(),
        Err(d) => d,
    };
    if a.json {
        output.out(&ui::json::to_text(&validate_json(&diags)));
        return Ok(if diags.has_errors() { 1 } else { 0 });
    }
    if diags.has_errors() {
        return Err(CliError::Diagnostics(diags));
    }
    if !diags.is_empty() {
        output.err(&diagnostics::render_all(diags.iter()));
    }
    output.out(&format!(
        "{} The configuration is valid.\n",
        paint(style::SUCCESS, "Success!")
    ));
    Ok(0)
}

/// Terraform's `validate -json` document.
fn validate_json(diags: &Diagnostics) -> serde_json::Value {
    let items: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let mut item = json!({
                "severity": if d.severity == Severity::Error { "error" } else { "warning" },
                "summary": d.summary,
                "detail": d.detail,
            });
            if let Some(s) = &d.subject {
                item["range"] = json!({
                    "filename": &*s.filename,
                    "start": { "line": s.start.line, "column": s.start.column, "byte": s.start.byte },
                    "end": { "line": s.end.line, "column": s.end.column, "byte": s.end.byte },
                });
                // The source line and where in it the range lies, in bytes,
                // as Terraform's "snippet" gives them.
                let code = &s.line_text;
                let start = code
                    .char_indices()
                    .nth(s.start.column.saturating_sub(1))
                    .map_or(code.len(), |(i, _)| i);
                let end = (start + s.end.byte.saturating_sub(s.start.byte)).min(code.len());
                item["snippet"] = json!({
                    "context": d.context,
                    "code": code,
                    "start_line": s.start.line,
                    "highlight_start_offset": start,
                    "highlight_end_offset": end,
                    "values": [],
                });
            }
            if let Some(a) = &d.address {
                item["address"] = json!(a);
            }
            item
        })
        .collect();
    let errors = diags.iter().filter(|d| d.is_error()).count();
    json!({
        "format_version": "1.0",
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": diags.iter().count() - errors,
        "diagnostics": items,
    })
}

fn read_state(settings: &Settings) -> Result<Option<State>, CliError> {
    Ok(LocalBackend::new(&settings.dir, "default").read_unlocked()?)
}

/// Each resource's value, decoded with its type's schema.
fn decoded_values(settings: &Settings, state: &State) -> Result<BTreeMap<String, Value>, CliError> {
    let decoded = plan::decode_state(state, &settings.providers())?;
    Ok(decoded
        .into_iter()
        .map(|(addr, p)| (addr.to_string(), p.value))
        .collect())
}

fn output_values(state: &State) -> Vec<(String, Value, bool)> {
    state
        .outputs
        .iter()
        .map(|(k, o)| (k.clone(), plan::decode_output(o), o.sensitive))
        .collect()
}

pub fn show(settings: &Settings, a: &ShowArgs, output: &mut Output) -> Result<i32, CliError> {
    if let Some(file) = &a.file {
        let saved = super::workflow::read_saved_plan(settings, file)?;
        if a.json {
            let prior = read_state(settings).ok().flatten();
            // Undecodable values are shown without their sensitive parts.
            let values = prior
                .as_ref()
                .and_then(|s| decoded_values(settings, s).ok())
                .unwrap_or_default();
            let prior = prior.as_ref().map(|s| (s, &values));
            output.out(&ui::json::to_text(&ui::json::plan(&saved, prior)));
        } else if a.markdown {
            output.out(&ui::markdown::render(&saved));
        } else {
            output.out(&ui::plan::render(&saved));
        }
        return Ok(0);
    }
    let Some(state) = read_state(settings)? else {
        if a.json {
            output.out(&ui::json::to_text(&json!({ "format_version": "1.0" })));
        } else {
            output.out("No state.\n");
        }
        return Ok(0);
    };
    let values = decoded_values(settings, &state)?;
    if a.json {
        output.out(&ui::json::to_text(&ui::json::state(&state, &values)));
    } else {
        output.out(&ui::show::render(&state, &values, &output_values(&state)));
    }
    Ok(0)
}

pub fn output(settings: &Settings, a: &OutputArgs, output: &mut Output) -> Result<i32, CliError> {
    let state = read_state(settings)?.unwrap_or_default();
    if let Some(name) = &a.name {
        let Some(o) = state.outputs.get(name) else {
            return Err(CliError::Diagnostics(Diagnostics::from(Diagnostic::error(
                format!("Output {name:?} not found"),
                "The output variable requested could not be found in the state. If you recently added this to your configuration, be sure to run `stackform apply`, since the state won't be updated with new output values until that command is run.",
            ))));
        };
        let hidden = o.sensitive && !a.show_sensitive;
        if a.json {
            output.out(&ui::json::to_text(&ui::json::output_value(
                o,
                a.show_sensitive,
            )));
        } else if a.raw {
            if hidden {
                return Err(CliError::message(
                    "Sensitive output",
                    format!(
                        "The output {name:?} is sensitive; pass -show-sensitive to print its value."
                    ),
                ));
            }
            match &o.value {
                serde_json::Value::String(s) => output.out(s),
                serde_json::Value::Number(n) => output.out(&n.to_string()),
                serde_json::Value::Bool(b) => output.out(&b.to_string()),
                _ => {
                    return Err(CliError::message(
                        "Unsupported value for raw output",
                        format!(
                            "The -raw option only supports strings, numbers, and boolean values, but output value {name:?} is {}.",
                            plan::decode_output(o).type_of().friendly_name()
                        ),
                    ));
                }
            }
        } else if hidden {
            output.out("<sensitive>\n");
        } else {
            output.out(&format!(
                "{}\n",
                ui::values::format_value(&plan::decode_output(o), 0)
            ));
        }
        return Ok(0);
    }
    if a.json {
        output.out(&ui::json::to_text(&ui::json::outputs(
            &state.outputs,
            a.show_sensitive,
        )));
        return Ok(0);
    }
    if state.outputs.is_empty() {
        output.err(&diagnostics::render(&Diagnostic::warning(
            "No outputs found",
            "The state file either has no outputs defined, or all the defined outputs are empty. Please define an output in your configuration with the `output` keyword and run `stackform apply` for it to become available.",
        )));
        return Ok(0);
    }
    let values: Vec<(String, Value, bool)> = output_values(&state)
        .into_iter()
        .map(|(k, v, s)| {
            if a.show_sensitive {
                (k, v, false)
            } else {
                (k, v, s)
            }
        })
        .collect();
    output.out(&ui::values::format_outputs(&values));
    Ok(0)
}

pub fn version(a: &VersionArgs, output: &mut Output) -> Result<i32, CliError> {
    let platform = format!(
        "{}_{}",
        std::env::consts::OS,
        std::env::consts::ARCH
            .replace("x86_64", "amd64")
            .replace("aarch64", "arm64")
    );
    if a.json {
        output.out(&ui::json::to_text(
            &json!({ "stackform_version": crate::VERSION, "platform": platform }),
        ));
    } else {
        output.out(&format!("stackform v{}\non {platform}\n", crate::VERSION));
    }
    Ok(0)
}
