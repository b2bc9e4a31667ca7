//! The command line: parses arguments, resolves settings from flags and
//! environment once, runs the command through the library, and renders
//! results with `ui`. Exit codes: 0 success, 1 error, 2 changes present
//! with `plan -detailed-exitcode`.

pub mod args;
mod devcloud;
pub mod embedded;
mod env;
mod fmt;
mod graph;
mod inspect;
mod interrupt;
mod prompt;
mod workflow;

use crate::config::variables::{VarArg, VarInputs};
use crate::diag::{Diagnostic, Diagnostics};
use crate::provider::Providers;
use crate::provider::openstack::{self, EmbeddedClouds, Environment};
use crate::ui::{ColorMode, Output, diagnostics};
use args::{Cli, Command};
use clap::{CommandFactory, FromArgMatches};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Everything a command needs from the outside world, resolved before
/// any work starts.
pub struct Settings {
    /// The working directory: `-chdir` or the current directory.
    pub dir: PathBuf,
    pub color: ColorMode,
    /// `TF_VAR_*` values by variable name.
    pub env_vars: BTreeMap<String, String>,
    /// False when `TF_INPUT` disables prompts.
    pub env_input: bool,
    /// The clouds `devcloud://DIR` auth URLs start, stopped (and saved)
    /// when the command ends.
    pub clouds: Arc<embedded::EmbeddedDevClouds>,
}

impl Settings {
    fn resolve(cli: &Cli) -> Result<Settings, CliError> {
        let cwd = std::env::current_dir()
            .map_err(|e| CliError::message("Cannot read the current directory", e.to_string()))?;
        let dir = match &cli.chdir {
            Some(d) if d.is_absolute() => d.clone(),
            Some(d) => cwd.join(d),
            None => cwd,
        };
        if !dir.is_dir() {
            return Err(CliError::message(
                "Invalid -chdir option",
                format!(
                    "The directory {} does not exist or is not a directory.",
                    dir.display()
                ),
            ));
        }
        // As Terraform does: relative paths in the configuration
        // (`file("x")`, an image's `local_file_path`) are relative to the
        // -chdir directory.
        if cli.chdir.is_some() {
            std::env::set_current_dir(&dir).map_err(|e| {
                CliError::message(
                    "Invalid -chdir option",
                    format!("Cannot change to {}: {e}.", dir.display()),
                )
            })?;
        }
        let no_color_env = std::env::var_os(env::NO_COLOR).is_some_and(|v| !v.is_empty());
        let color = if cli.no_color || no_color_env {
            ColorMode::Never
        } else {
            ColorMode::Auto
        };
        let env_vars = std::env::vars_os()
            .filter_map(|(k, v)| {
                let k = k.into_string().ok()?;
                let name = k.strip_prefix(env::TF_VAR_PREFIX)?;
                Some((name.to_string(), v.into_string().ok()?))
            })
            .collect();
        let env_input = !matches!(
            std::env::var(env::TF_INPUT).as_deref(),
            Ok("0" | "false" | "FALSE" | "False")
        );
        Ok(Settings {
            dir,
            color,
            env_vars,
            env_input,
            clouds: Arc::new(embedded::EmbeddedDevClouds::new()),
        })
    }

    /// Every provider, resource type and data source this build knows,
    /// with the OpenStack ones reading `OS_*` and clouds.yaml as the
    /// OpenStack CLI would from the working directory.
    pub fn providers(&self) -> Providers {
        let mut providers = Providers::builtin();
        let environment = Environment::new(
            std::env::vars(),
            self.dir.clone(),
            std::env::var_os("HOME").map(PathBuf::from),
        );
        let clouds: Arc<dyn EmbeddedClouds> = self.clouds.clone();
        openstack::register(&mut providers, environment, Some(clouds));
        providers
    }
}

/// What stops a command: diagnostics to show, then exit status 1.
#[derive(Debug)]
pub enum CliError {
    Diagnostics(Diagnostics),
    /// The user declined or the run was cancelled: a message, no box.
    Cancelled(String),
}

impl CliError {
    pub fn message(summary: impl Into<String>, detail: impl Into<String>) -> CliError {
        CliError::Diagnostics(Diagnostics::from(Diagnostic::error(summary, detail)))
    }
}

impl From<Diagnostics> for CliError {
    fn from(d: Diagnostics) -> Self {
        CliError::Diagnostics(d)
    }
}

impl From<Diagnostic> for CliError {
    fn from(d: Diagnostic) -> Self {
        CliError::Diagnostics(Diagnostics::from(d))
    }
}

impl From<crate::state::StateError> for CliError {
    fn from(e: crate::state::StateError) -> Self {
        CliError::message("State error", error_chain(&e))
    }
}

impl From<crate::plan::file::PlanFileError> for CliError {
    fn from(e: crate::plan::file::PlanFileError) -> Self {
        CliError::message("Invalid plan file", error_chain(&e))
    }
}

/// An error and its causes, each once.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

/// Parses a duration as Terraform writes them: `0`, `500ms`, `30s`, `2m`,
/// `1m30s`, `1h`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    if text.is_empty() {
        return None;
    }
    // Summed as seconds in floating point: a number too large for a
    // Duration is refused below instead of overflowing.
    let mut seconds = 0.0_f64;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let number: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        seconds += match unit {
            "ns" => number / 1e9,
            "us" | "µs" => number / 1e6,
            "ms" => number / 1e3,
            "s" => number,
            "m" => number * 60.0,
            "h" => number * 3600.0,
            _ => return None,
        };
    }
    Duration::try_from_secs_f64(seconds).ok()
}

/// The variable inputs of a run: `TF_VAR_*` and the `-var`/`-var-file`
/// flags in the order they were given.
fn var_inputs(settings: &Settings, sub: Option<&clap::ArgMatches>) -> VarInputs {
    let mut args: Vec<(usize, VarArg)> = Vec::new();
    if let Some(m) = sub {
        if let (Some(idx), Some(vals)) = (m.indices_of("var"), m.get_many::<String>("var")) {
            args.extend(idx.zip(vals).map(|(i, v)| (i, VarArg::Assign(v.clone()))));
        }
        if let (Some(idx), Some(vals)) =
            (m.indices_of("var_file"), m.get_many::<PathBuf>("var_file"))
        {
            args.extend(idx.zip(vals).map(|(i, v)| (i, VarArg::File(v.clone()))));
        }
    }
    args.sort_by_key(|(i, _)| *i);
    VarInputs {
        env: settings.env_vars.clone(),
        args: args.into_iter().map(|(_, a)| a).collect(),
        answers: BTreeMap::new(),
    }
}

/// Runs the command line; returns the exit status.
pub fn run(argv: Vec<OsString>) -> i32 {
    let argv = args::normalize(argv);
    let matches = match Cli::command().try_get_matches_from(&argv) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 1 } else { 0 };
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return 1;
        }
    };
    let mut output = Output::new(if cli.no_color {
        ColorMode::Never
    } else {
        ColorMode::Auto
    });
    let settings = match Settings::resolve(&cli) {
        Ok(s) => s,
        Err(e) => return report(&mut output, e),
    };
    let mut output = Output::new(settings.color);
    let sub = matches.subcommand().map(|(_, m)| m);
    let result = dispatch(&cli.command, &settings, sub, &mut output);
    match result {
        Ok(code) => code,
        Err(e) => report(&mut output, e),
    }
}

fn report(output: &mut Output, e: CliError) -> i32 {
    match e {
        CliError::Diagnostics(d) => output.err(&diagnostics::render_all(d.iter())),
        CliError::Cancelled(message) => output.err(&format!("{message}\n")),
    }
    1
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::message("Cannot start the async runtime", e.to_string()))
}

/// Runs a command that may start embedded clouds, and stops them after
/// it (saving their data) whatever its outcome.
fn with_clouds(
    settings: &Settings,
    command: impl std::future::Future<Output = Result<i32, CliError>>,
) -> Result<i32, CliError> {
    runtime()?.block_on(async {
        let result = command.await;
        if let Err(e) = settings.clouds.stop().await {
            Output::new(settings.color).err(&diagnostics::render(&Diagnostic::warning(
                "The embedded devcloud did not stop cleanly",
                e,
            )));
        }
        result
    })
}

fn dispatch(
    command: &Command,
    settings: &Settings,
    sub: Option<&clap::ArgMatches>,
    output: &mut Output,
) -> Result<i32, CliError> {
    match command {
        Command::Init(a) => inspect::init(settings, a, output),
        Command::Validate(a) => inspect::validate(settings, a, output),
        Command::Fmt(a) => fmt::fmt(settings, a, output),
        Command::Show(a) => inspect::show(settings, a, output),
        Command::Output(a) => inspect::output(settings, a, output),
        Command::Version(a) => inspect::version(a, output),
        Command::Devcloud(a) => match &a.command {
            args::DevcloudCommand::Serve(s) => {
                runtime()?.block_on(devcloud::serve(settings, s, output))
            }
        },
        Command::Plan(a) => with_clouds(
            settings,
            workflow::plan(settings, a, var_inputs(settings, sub), output),
        ),
        Command::Apply(a) => with_clouds(
            settings,
            workflow::apply(settings, a, var_inputs(settings, sub), output),
        ),
        Command::Import(a) => with_clouds(
            settings,
            workflow::import(settings, a, var_inputs(settings, sub), output),
        ),
        // A graph of -type=plan plans, which may start an embedded cloud.
        Command::Graph(a) => with_clouds(
            settings,
            graph::graph(settings, a, var_inputs(settings, sub), output),
        ),
        Command::Destroy(a) => with_clouds(
            settings,
            workflow::destroy(settings, a, var_inputs(settings, sub), output),
        ),
    }
}

/// A path as the user should see it: relative to the working directory
/// when it is inside it.
pub fn display_path(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_terraform_writes_them() {
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration("5x"), None);
    }

    #[test]
    fn durations_too_long_to_hold_are_refused_not_a_panic() {
        assert_eq!(parse_duration("18446744073709551615s"), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
        assert_eq!(parse_duration(&format!("{}s", "9".repeat(400))), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("1.5.5s"), None);
    }
}
