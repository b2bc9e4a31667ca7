//! The command line, as clap parses it. Terraform spells long flags with
//! one dash (`-auto-approve`, `-var`, `-chdir=DIR`); clap wants two.
//! [`normalize`] rewrites a single-dash spelling of any known long flag
//! to the two-dash one before clap sees it, so both spellings work.

use crate::devcloud::limits;
use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "stackform",
    version,
    about = "Plan and apply OpenStack infrastructure described in .tf files",
    disable_help_subcommand = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Switch to DIR before doing anything else.
    #[arg(long, value_name = "DIR", global = true)]
    pub chdir: Option<PathBuf>,
    /// Do not use colour in the output (NO_COLOR does the same).
    #[arg(long = "no-color", global = true)]
    pub no_color: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Prepare the working directory: check the configuration and the state location.
    Init(InitArgs),
    /// Check the configuration, without state or cloud.
    Validate(ValidateArgs),
    /// Rewrite .tf and .tfvars files in the canonical format (as terraform fmt).
    Fmt(FmtArgs),
    /// Show what apply would change.
    Plan(PlanArgs),
    /// Make the changes (from a fresh plan, or a saved one).
    Apply(ApplyArgs),
    /// Destroy everything the state holds.
    Destroy(DestroyArgs),
    /// Bring an existing object under management as ADDRESS.
    Import(ImportArgs),
    /// Show the state, or a saved plan.
    Show(ShowArgs),
    /// Show output values from the state.
    Output(OutputArgs),
    /// Draw the dependency graph (DOT or SVG), optionally coloured by a plan.
    Graph(GraphArgs),
    /// Print the version.
    Version(VersionArgs),
    /// The embedded OpenStack-compatible cloud.
    Devcloud(DevcloudArgs),
}

#[derive(Args, Debug)]
pub struct DevcloudArgs {
    #[command(subcommand)]
    pub command: DevcloudCommand,
}

#[derive(Subcommand, Debug)]
pub enum DevcloudCommand {
    /// Serve Keystone, Glance, Nova and Neutron on one loopback port until Ctrl-C.
    Serve(ServeArgs),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Where to listen (loopback only; port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8700")]
    pub listen: std::net::SocketAddr,
    /// Where the data and clouds.yaml live.
    #[arg(long, value_name = "DIR", default_value = ".stackform/devcloud")]
    pub data: PathBuf,
    /// Seconds a new server stays in BUILD (0 to 3600).
    #[arg(long = "build-time", value_name = "SECONDS", default_value = "2", value_parser = server_seconds)]
    pub build_time: Duration,
    /// Seconds a deleted server stays visible before it is gone (0 to 3600).
    #[arg(long = "delete-time", value_name = "SECONDS", default_value = "1", value_parser = server_seconds)]
    pub delete_time: Duration,
    /// Milliseconds added to every request (0 to 60000).
    #[arg(long = "latency-ms", value_name = "MS", default_value = "0", value_parser = cost_millis)]
    pub latency_ms: Duration,
    /// Seconds a token is valid (1 to 2592000, 30 days).
    #[arg(long = "token-ttl", value_name = "SECONDS", default_value = "3600", value_parser = token_seconds)]
    pub token_ttl: Duration,
    /// Milliseconds a password or application-credential authentication
    /// takes (Keystone's bcrypt check; 600-800 on a real Keystone; 0 to 60000).
    #[arg(long = "auth-ms", value_name = "MS", default_value = "0", value_parser = cost_millis)]
    pub auth_ms: Duration,
    /// Milliseconds a token's first request to each service takes (its
    /// validation with Keystone; ~1000 on the real services; 0 to 60000).
    #[arg(long = "token-first-use-ms", value_name = "MS", default_value = "0", value_parser = cost_millis)]
    pub token_first_use_ms: Duration,
    /// Do not log a line per request.
    #[arg(long)]
    pub quiet: bool,
}

/// The most operations `-parallelism` lets run at once. Each holds a task
/// and an HTTP connection; a thousand is past what any cloud's rate
/// limits let through at once.
pub const MAX_PARALLELISM: usize = 1000;

/// The longest `-lock-timeout`: a day. A run that waits longer for
/// another one is stuck, not patient.
pub const MAX_LOCK_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

fn parallelism(text: &str) -> Result<usize, String> {
    text.trim()
        .parse()
        .ok()
        .filter(|n| (1..=MAX_PARALLELISM).contains(n))
        .ok_or_else(|| format!("must be a whole number from 1 to {MAX_PARALLELISM}"))
}

fn lock_timeout(text: &str) -> Result<Duration, String> {
    super::parse_duration(text)
        .filter(|d| *d <= MAX_LOCK_TIMEOUT)
        .ok_or_else(|| "must be a duration from 0s to 24h, written like 30s, 2m or 1m30s".into())
}

/// `--build-time` and `--delete-time`: clap names the flag and the value,
/// devcloud's limits say what is accepted.
fn server_seconds(text: &str) -> Result<Duration, String> {
    let seconds = text.trim().parse().unwrap_or(f64::NAN);
    limits::server_time(seconds).map_err(|expected| format!("must be {expected}"))
}

fn token_seconds(text: &str) -> Result<Duration, String> {
    let seconds = text.trim().parse().unwrap_or(f64::NAN);
    limits::token_ttl(seconds).map_err(|expected| format!("must be {expected}"))
}

/// `--latency-ms`, `--auth-ms`, `--token-first-use-ms`; what is no whole
/// number from 0 reads as `u64::MAX`, past the range.
fn cost_millis(text: &str) -> Result<Duration, String> {
    let millis = text.trim().parse().unwrap_or(u64::MAX);
    limits::cost(millis).map_err(|expected| format!("must be {expected}"))
}

/// A boolean flag that Terraform writes as `-flag` or `-flag=false`.
fn bool_flag() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(["true", "false"])
}

#[derive(Args, Debug, Clone)]
pub struct VarArgs {
    /// Set a variable: NAME=VALUE (repeatable; later wins).
    #[arg(long = "var", value_name = "NAME=VALUE", action = ArgAction::Append, allow_hyphen_values = true)]
    pub var: Vec<String>,
    /// Read variable values from a .tfvars or .tfvars.json file (repeatable).
    #[arg(long = "var-file", value_name = "FILE", action = ArgAction::Append)]
    pub var_file: Vec<PathBuf>,
    /// Ask for missing variables (and approval) on the terminal; -input=false fails instead.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "true", value_parser = bool_flag())]
    pub input: String,
}

#[derive(Args, Debug, Clone)]
pub struct LockArgs {
    /// Lock the state for the run (-lock=false skips it; dangerous).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "true", value_parser = bool_flag())]
    pub lock: String,
    /// How long to wait for a lock held by another run (e.g. 30s, 2m; at most 24h).
    #[arg(long = "lock-timeout", value_name = "DURATION", default_value = "0s", value_parser = lock_timeout)]
    pub lock_timeout: Duration,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub lock: LockArgs,
    /// At most N operations at once (1 to 1000).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = parallelism)]
    pub parallelism: usize,
    /// Read every managed object from the cloud before planning (-refresh=false skips it).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "true", value_parser = bool_flag())]
    pub refresh: String,
    /// Replace this resource instance even if nothing forces it (repeatable).
    #[arg(long = "replace", value_name = "ADDRESS", action = ArgAction::Append)]
    pub replace: Vec<String>,
    /// Plan only this resource or instance and what it depends on (repeatable; for exceptional situations).
    #[arg(long = "target", value_name = "ADDRESS", action = ArgAction::Append)]
    pub target: Vec<String>,
    /// Plan everything but this resource or instance and what depends on it (repeatable).
    #[arg(long = "exclude", value_name = "ADDRESS", action = ArgAction::Append)]
    pub exclude: Vec<String>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "true", value_parser = bool_flag(), hide = true)]
    pub input: String,
    /// Accepted for Terraform compatibility; stackform has no plugins to upgrade.
    #[arg(long, hide = true)]
    pub upgrade: bool,
    /// Accepted for Terraform compatibility.
    #[arg(long, hide = true)]
    pub reconfigure: bool,
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "true", value_parser = bool_flag(), hide = true)]
    pub backend: String,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct FmtArgs {
    /// Write nothing; exit with status 3 when a file is not formatted.
    #[arg(long)]
    pub check: bool,
    /// Print what formatting changes as a unified diff.
    #[arg(long)]
    pub diff: bool,
    /// Also format the files of subdirectories.
    #[arg(long)]
    pub recursive: bool,
    /// List the files whose formatting changes (-list=false does not).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "true", value_parser = bool_flag())]
    pub list: String,
    /// Write the formatted files back (-write=false does not).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", default_value = "true", value_parser = bool_flag())]
    pub write: String,
    /// Files and directories to format (default: the working directory);
    /// `-` formats standard input to standard output.
    #[arg(value_name = "PATH", allow_hyphen_values = true)]
    pub paths: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PlanArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Save the plan to FILE, for `apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Plan to destroy everything.
    #[arg(long, conflicts_with = "refresh_only")]
    pub destroy: bool,
    /// Only record what changed outside stackform; change nothing.
    #[arg(long = "refresh-only")]
    pub refresh_only: bool,
    /// Exit 0 when there are no changes, 1 on error, 2 when there are changes.
    #[arg(long = "detailed-exitcode")]
    pub detailed_exitcode: bool,
    /// Print the plan as Markdown for a pull-request comment.
    #[arg(long)]
    pub markdown: bool,
    /// Write resource blocks for import targets the configuration lacks to FILE (which must not exist).
    #[arg(long = "generate-config-out", value_name = "FILE")]
    pub generate_config_out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub lock: LockArgs,
    /// The resource instance to import into, e.g. openstack_compute_instance_v2.web.
    #[arg(value_name = "ADDRESS")]
    pub address: String,
    /// The object's id in the cloud.
    #[arg(value_name = "ID")]
    pub id: String,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Do not ask for approval.
    #[arg(long = "auto-approve")]
    pub auto_approve: bool,
    /// Only record what changed outside stackform in the state; change nothing.
    #[arg(long = "refresh-only")]
    pub refresh_only: bool,
    /// A saved plan to apply.
    #[arg(value_name = "PLAN")]
    pub plan_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Do not ask for approval.
    #[arg(long = "auto-approve")]
    pub auto_approve: bool,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Print JSON.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print a saved plan as Markdown for a pull-request comment.
    #[arg(long, requires = "file")]
    pub markdown: bool,
    /// A saved plan to show (default: the state).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct OutputArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print a string, number or bool output as is, without quotes or newline.
    #[arg(long)]
    pub raw: bool,
    /// Print the values of sensitive outputs too. They are hidden otherwise.
    #[arg(long = "show-sensitive")]
    pub show_sensitive: bool,
    /// Only this output.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// The variables, lock and refresh of the plan that -type=plan makes.
    #[command(flatten)]
    pub run: RunArgs,
    /// apply: edges in creation order; destroy: edges reversed (what is
    /// destroyed first); plan and plan-destroy: as apply and destroy, with
    /// resources coloured by what a plan does to them.
    #[arg(long = "type", value_name = "TYPE", value_enum, default_value_t = GraphType::Apply)]
    pub graph_type: GraphType,
    /// dot (Graphviz text) or svg (a picture, drawn without Graphviz).
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Colour resources by this saved plan (from `plan -out=FILE`) instead
    /// of making a new plan.
    #[arg(long = "plan", value_name = "FILE")]
    pub plan_file: Option<PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphType {
    Plan,
    PlanDestroy,
    Apply,
    Destroy,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Dot,
    Svg,
}

#[derive(Args, Debug)]
pub struct VersionArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Every long flag name the command line knows, in any subcommand.
fn long_flag_names() -> BTreeSet<String> {
    fn collect(cmd: &clap::Command, out: &mut BTreeSet<String>) {
        for arg in cmd.get_arguments() {
            if let Some(long) = arg.get_long() {
                out.insert(long.to_string());
            }
        }
        for sub in cmd.get_subcommands() {
            collect(sub, out);
        }
    }
    let mut out = BTreeSet::new();
    collect(&Cli::command(), &mut out);
    out.insert("help".into());
    out.insert("version".into());
    out
}

/// Rewrites `-flag` and `-flag=value` to `--flag...` for every known long
/// flag, leaving everything else (values, `--`, unknown flags) alone.
pub fn normalize(args: Vec<OsString>) -> Vec<OsString> {
    let known = long_flag_names();
    let mut out = Vec::with_capacity(args.len());
    let mut rest_verbatim = false;
    for (i, arg) in args.into_iter().enumerate() {
        if i == 0 || rest_verbatim {
            out.push(arg);
            continue;
        }
        let Some(text) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if text == "--" {
            rest_verbatim = true;
            out.push(arg);
            continue;
        }
        if let Some(body) = text.strip_prefix('-')
            && !body.starts_with('-')
        {
            let name = body.split('=').next().unwrap_or(body);
            if known.contains(name) {
                out.push(OsString::from(format!("--{body}")));
                continue;
            }
            if name == "v" {
                out.push(OsString::from("--version"));
                continue;
            }
        }
        out.push(arg);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        let args: Vec<OsString> = std::iter::once("stackform")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        Cli::try_parse_from(normalize(args)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn accepts_one_or_two_dashes() {
        for flag in ["-auto-approve", "--auto-approve"] {
            let Command::Apply(a) = parse(&["apply", flag]).command else {
                panic!("apply expected")
            };
            assert!(a.auto_approve);
        }
        let cli = parse(&[
            "-chdir=examples/x",
            "plan",
            "-var",
            "a=1",
            "-var=b=-2",
            "-out=p.plan",
            "-input=false",
            "-no-color",
        ]);
        assert_eq!(
            cli.chdir.as_deref(),
            Some(std::path::Path::new("examples/x"))
        );
        assert!(cli.no_color);
        let Command::Plan(p) = cli.command else {
            panic!("plan expected")
        };
        assert_eq!(p.run.vars.var, ["a=1", "b=-2"]);
        assert_eq!(p.run.vars.input, "false");
        assert_eq!(p.out.as_deref(), Some(std::path::Path::new("p.plan")));
    }

    #[test]
    fn boolean_flags_take_an_optional_value() {
        let Command::Plan(p) = parse(&["plan", "-refresh=false", "-lock-timeout=30s"]).command
        else {
            panic!()
        };
        assert_eq!(p.run.refresh, "false");
        assert_eq!(p.run.lock.lock_timeout, Duration::from_secs(30));
        let Command::Plan(p) = parse(&["plan", "-input"]).command else {
            panic!()
        };
        assert_eq!(p.run.vars.input, "true");
    }

    #[test]
    fn leaves_values_and_unknown_flags_alone() {
        let args: Vec<OsString> = ["stackform", "plan", "-var", "-x=1", "-bogus", "--", "-var"]
            .iter()
            .map(OsString::from)
            .collect();
        let out: Vec<String> = normalize(args)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            out,
            ["stackform", "plan", "--var", "-x=1", "-bogus", "--", "-var"]
        );
    }

    /// The error clap gives for `args`, as printed (without its usage
    /// lines).
    fn refusal(args: &[&str]) -> String {
        let argv: Vec<OsString> = std::iter::once("stackform")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        match Cli::try_parse_from(normalize(argv)) {
            Ok(_) => panic!("{args:?} was accepted"),
            Err(e) => e.to_string().lines().next().unwrap_or_default().to_string(),
        }
    }

    #[test]
    fn numeric_flags_name_their_range() {
        assert_eq!(
            refusal(&["plan", "-parallelism=0"]),
            "error: invalid value '0' for '--parallelism <N>': must be a whole number from 1 to 1000"
        );
        assert_eq!(
            refusal(&["apply", "-parallelism=18446744073709551616"]),
            "error: invalid value '18446744073709551616' for '--parallelism <N>': must be a whole number from 1 to 1000"
        );
        assert_eq!(
            refusal(&["plan", "-lock-timeout=25h"]),
            "error: invalid value '25h' for '--lock-timeout <DURATION>': must be a duration from 0s to 24h, written like 30s, 2m or 1m30s"
        );
        assert_eq!(
            refusal(&["devcloud", "serve", "--build-time=3601"]),
            "error: invalid value '3601' for '--build-time <SECONDS>': must be a number of seconds from 0 to 3600"
        );
        assert_eq!(
            refusal(&["devcloud", "serve", "--delete-time=NaN"]),
            "error: invalid value 'NaN' for '--delete-time <SECONDS>': must be a number of seconds from 0 to 3600"
        );
        assert_eq!(
            refusal(&["devcloud", "serve", "--token-ttl=0"]),
            "error: invalid value '0' for '--token-ttl <SECONDS>': must be a number of seconds from 1 to 2592000"
        );
        for flag in ["--latency-ms", "--auth-ms", "--token-first-use-ms"] {
            let value_name = "<MS>";
            assert_eq!(
                refusal(&["devcloud", "serve", &format!("{flag}=60001")]),
                format!(
                    "error: invalid value '60001' for '{flag} {value_name}': must be a whole number of milliseconds from 0 to 60000"
                )
            );
        }
        let Command::Devcloud(d) =
            parse(&["devcloud", "serve", "--build-time=0.5", "--token-ttl=60"]).command
        else {
            panic!("devcloud expected")
        };
        let DevcloudCommand::Serve(s) = d.command;
        assert_eq!(s.build_time, Duration::from_millis(500));
        assert_eq!(s.delete_time, Duration::from_secs(1));
        assert_eq!(s.token_ttl, Duration::from_secs(60));
        let Command::Plan(p) = parse(&["plan", "-parallelism=1000", "-lock-timeout=24h"]).command
        else {
            panic!("plan expected")
        };
        assert_eq!(p.run.parallelism, 1000);
        assert_eq!(p.run.lock.lock_timeout, MAX_LOCK_TIMEOUT);
    }
}
