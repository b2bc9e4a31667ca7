//! `fmt`: rewrites configuration files in the canonical format, lists
//! what changed, shows it as a diff, or (`-check`) only reports it with
//! exit status 3, as `terraform fmt` does.

use super::args::FmtArgs;
use super::{CliError, Settings};
use crate::config::{self, fmt::format_source};
use crate::diag::{Diagnostic, Diagnostics, SourceFile};
use crate::ui::Output;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Exit status of `fmt -check` when some input is not formatted.
const NOT_FORMATTED: i32 = 3;

const EXTENSIONS: [&str; 3] = [".tf", ".tfvars", ".tftest.hcl"];

struct Options {
    list: bool,
    write: bool,
    diff: bool,
    check: bool,
    recursive: bool,
}

/// What the files seen so far came to.
#[derive(Default)]
struct Outcome {
    changed: bool,
    diags: Diagnostics,
}

pub fn fmt(settings: &Settings, a: &FmtArgs, output: &mut Output) -> Result<i32, CliError> {
    let options = Options {
        list: a.list == "true",
        write: a.write == "true" && !a.check,
        diff: a.diff,
        check: a.check,
        recursive: a.recursive,
    };
    if a.paths.iter().any(|p| p.as_os_str() == "-") {
        if a.paths.len() > 1 {
            return Err(CliError::message(
                "Invalid arguments",
                "Standard input (-) cannot be formatted together with files.",
            ));
        }
        return stdin(&options, output);
    }
    let paths = if a.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        a.paths.clone()
    };
    let mut outcome = Outcome::default();
    for path in &paths {
        let full = settings.dir.join(path);
        if full.is_dir() {
            directory(&full, path, &options, &mut outcome, output);
        } else if full.is_file() {
            if EXTENSIONS.iter().any(|e| display(path).ends_with(e)) {
                file(&full, &display(path), &options, &mut outcome, output);
            } else {
                outcome.diags.push(Diagnostic::error(
                    "Only .tf, .tfvars, and .tftest.hcl files can be processed with stackform fmt",
                    format!("{} is none of these.", display(path)),
                ));
            }
        } else {
            outcome.diags.push(Diagnostic::error(
                format!("No file or directory at {}", display(path)),
                "",
            ));
        }
    }
    if outcome.diags.has_errors() {
        return Err(CliError::Diagnostics(outcome.diags));
    }
    Ok(if options.check && outcome.changed {
        NOT_FORMATTED
    } else {
        0
    })
}

/// The name a file is listed under: as the user gave it, without a
/// leading `./`.
fn display(path: &Path) -> String {
    let text = path.to_string_lossy();
    text.strip_prefix("./").unwrap_or(&text).to_string()
}

fn directory(
    full: &Path,
    shown: &Path,
    options: &Options,
    outcome: &mut Outcome,
    output: &mut Output,
) {
    let entries = match std::fs::read_dir(full) {
        Ok(entries) => entries,
        Err(e) => {
            outcome.diags.push(Diagnostic::error(
                "Failed to read directory",
                format!("Cannot read {}: {e}.", display(shown)),
            ));
            return;
        }
    };
    let mut names: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for name in names {
        if is_ignored(&name.to_string_lossy()) {
            continue;
        }
        let (full, shown) = (full.join(&name), shown.join(&name));
        if full.is_dir() {
            if options.recursive {
                directory(&full, &shown, options, outcome, output);
            }
        } else if EXTENSIONS
            .iter()
            .any(|e| name.to_string_lossy().ends_with(e))
        {
            file(&full, &display(&shown), options, outcome, output);
        }
    }
}

/// What Terraform leaves out of a directory: hidden entries (`.terraform`
/// among them) and editors' backup and lock files.
fn is_ignored(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || (name.starts_with('#') && name.ends_with('#'))
}

fn file(full: &Path, shown: &str, options: &Options, outcome: &mut Outcome, output: &mut Output) {
    let source = match config::read_source(full, shown) {
        Ok(source) => source,
        Err(Ok(d)) => {
            outcome.diags.push(d);
            return;
        }
        Err(Err(e)) => {
            outcome.diags.push(Diagnostic::error(
                "Failed to read file",
                format!("Cannot read {shown}: {e}."),
            ));
            return;
        }
    };
    let formatted = match format_source(&source) {
        Ok(formatted) => formatted,
        Err(d) => {
            outcome.diags.push(d);
            return;
        }
    };
    if formatted == *source.text {
        return;
    }
    outcome.changed = true;
    if options.list {
        output.out(&format!("{shown}\n"));
    }
    if options.write
        && let Err(e) = std::fs::write(full, &formatted)
    {
        outcome.diags.push(Diagnostic::error(
            "Failed to write file",
            format!("Cannot write {shown}: {e}."),
        ));
    }
    if options.diff {
        output.out(&unified_diff(&source.text, &formatted, shown));
    }
}

/// Standard input to standard output: the formatted text, or its diff,
/// or with `-check` nothing but the exit status.
fn stdin(options: &Options, output: &mut Output) -> Result<i32, CliError> {
    // Read as a file would be: at most as much as a configuration file
    // may hold, so `fmt - < /dev/zero` ends.
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(config::MAX_CONFIG_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::message("Failed to read standard input", e.to_string()))?;
    if bytes.len() as u64 > config::MAX_CONFIG_FILE_BYTES {
        return Err(CliError::message(
            "Failed to read standard input",
            format!(
                "Standard input holds more than {}, the most a configuration file may hold.",
                crate::regular_file::size_text(config::MAX_CONFIG_FILE_BYTES)
            ),
        ));
    }
    let source = SourceFile::from_bytes("<stdin>", "<stdin>", bytes).map_err(Diagnostics::from)?;
    let formatted = format_source(&source).map_err(Diagnostics::from)?;
    let changed = formatted != *source.text;
    if options.diff {
        if changed {
            output.out(&unified_diff(&source.text, &formatted, "<stdin>"));
        }
    } else if !options.check {
        output.out(&formatted);
    }
    Ok(if options.check && changed {
        NOT_FORMATTED
    } else {
        0
    })
}

fn unified_diff(old: &str, new: &str, name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("old/{name}"), &format!("new/{name}"))
        .to_string()
}
