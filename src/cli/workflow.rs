//! `plan`, `apply` and `destroy`: load and validate the configuration,
//! resolve variables, lock and read the state, plan, show the plan, ask,
//! apply with progress, record the new state, report.

use super::args::{ApplyArgs, DestroyArgs, ImportArgs, LockArgs, PlanArgs, RunArgs, VarArgs};
use super::interrupt::{self, Tracked};
use super::{CliError, Settings, display_path, prompt};
use crate::addr::ResourceAddr;
use crate::apply::{self, ApplyRequest, Recorder, Step};
use crate::config::variables::{self, VarInputs};
use crate::config::{self, Config};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::ConfigGraph;
use crate::graph::walk::Cancel;
use crate::lang::refs::ResourceMode;
use crate::lang::value::Value;
use crate::plan::{self, Plan, PlanMode, PlanOptions, PlanRequest, Reason, Target};
use crate::provider::Providers;
use crate::refresh::{self, ReconcileRequest, Stray};
use crate::state::{Journal, JournalEntry, LocalBackend, LockedState, State, Status};
use crate::ui::progress::TerminalProgress;
use crate::ui::style::{self, paint};
use crate::ui::{self, Output, diagnostics};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A configuration that loaded and validated.
pub(super) struct Prepared {
    pub config: Arc<Config>,
    pub graph: Arc<ConfigGraph>,
    pub providers: Providers,
}

pub(super) fn prepare(settings: &Settings) -> Result<Prepared, CliError> {
    let providers = settings.providers();
    let config = config::load_dir(&settings.dir)?;
    let graph = crate::validate::validate(&config, &providers)?;
    Ok(Prepared {
        config: Arc::new(config),
        graph: Arc::new(graph),
        providers,
    })
}

fn input_enabled(settings: &Settings, vars: &VarArgs) -> bool {
    settings.env_input && vars.input == "true"
}

fn resolve_vars(
    settings: &Settings,
    config: &Config,
    vars: &VarArgs,
    inputs: &VarInputs,
    output: &mut Output,
) -> Result<BTreeMap<String, Value>, CliError> {
    resolve_vars_answered(settings, config, vars, inputs, output, &mut BTreeMap::new())
}

/// Resolves the variables, adding what the prompt was answered to
/// `answers`.
fn resolve_vars_answered(
    settings: &Settings,
    config: &Config,
    vars: &VarArgs,
    inputs: &VarInputs,
    output: &mut Output,
    answers: &mut BTreeMap<String, String>,
) -> Result<BTreeMap<String, Value>, CliError> {
    if input_enabled(settings, vars) {
        let mut ask = |v: &config::Variable| {
            let answer = prompt::variable(output, v);
            if let Some(text) = &answer {
                answers.insert(v.name.clone(), text.clone());
            }
            answer
        };
        Ok(variables::resolve(config, inputs, Some(&mut ask))?)
    } else {
        Ok(variables::resolve(config, inputs, None)?)
    }
}

/// Locks the state for the whole run and reads it (a new, empty state
/// when there is none yet). Warnings about a previous run that died are
/// shown.
fn lock_and_read(
    settings: &Settings,
    lock: &LockArgs,
    operation: &str,
    output: &mut Output,
) -> Result<(LockedState, State), CliError> {
    let backend = LocalBackend::new(&settings.dir, "default");
    let mut locked = backend.lock(operation, lock.lock_timeout)?;
    let (state, warnings) = locked.read()?;
    for w in warnings {
        output.err(&diagnostics::render(&Diagnostic::warning(
            "Recovered an interrupted run",
            w,
        )));
    }
    Ok((locked, state.unwrap_or_default()))
}

/// Resolves what an interrupted run left behind before planning (see
/// `refresh`): the objects pending intents created are recorded, intents
/// whose create made nothing are dropped, and the state is written when
/// it holds the lock. Returns the strays for the plan.
async fn reconcile(
    p: &Prepared,
    variables: &BTreeMap<String, Value>,
    state: &mut State,
    locked: Option<&mut LockedState>,
    run: &RunArgs,
    output: &mut Output,
) -> Result<Vec<Stray>, CliError> {
    let find_strays = run.refresh == "true";
    if state.intents.is_empty() && !find_strays {
        return Ok(Vec::new());
    }
    let configured_types: BTreeSet<String> = p
        .config
        .resources
        .keys()
        .filter(|a| a.mode == ResourceMode::Managed)
        .map(|a| a.type_name.clone())
        .collect();
    if state.intents.is_empty() && state.resources.is_empty() && configured_types.is_empty() {
        return Ok(Vec::new());
    }
    plan::configure_providers(&p.config, &p.graph, &p.providers, variables)?;
    let found = refresh::reconcile(ReconcileRequest {
        state,
        providers: &p.providers,
        find_strays,
        configured_types: &configured_types,
    })
    .await?;
    for adopted in &found.adopted {
        let Some(rt) = p.providers.resource(&adopted.addr.resource.type_name) else {
            continue;
        };
        let status = if adopted.complete {
            Status::Ok
        } else {
            Status::Tainted
        };
        let record = plan::stored::encode(
            &adopted.addr,
            &adopted.provider,
            &adopted.value,
            rt.schema(),
            status,
            Vec::new(),
        );
        state.remove_intent(&record.address);
        state.put_resource(record);
        let mut note = if adopted.complete {
            "it is now recorded in the state".to_string()
        } else {
            "its create never finished, so it is recorded as tainted and the plan replaces it"
                .to_string()
        };
        if let Some(old) = &adopted.displaced {
            note.push_str(&format!(
                ". It replaces {}, which the state recorded there and which was to be deleted once the new one existed: stackform no longer manages it{}",
                old.id,
                old.delete_command
                    .as_ref()
                    .map(|c| format!("; delete it with `{c}`"))
                    .unwrap_or_default()
            ));
        }
        output.err(&diagnostics::render(&Diagnostic::warning(
            "Recovered an interrupted create",
            format!(
                "The interrupted run had created {} (id {}) before it stopped: {note}.",
                adopted.addr, adopted.id
            ),
        )));
    }
    for dropped in &found.dropped {
        state.remove_intent(&dropped.address);
        output.err(&diagnostics::render(&Diagnostic::warning(
            "Recovered an interrupted create",
            format!(
                "The interrupted run's {} of {} left no object in the cloud: nothing to recover.",
                dropped.action, dropped.address
            ),
        )));
    }
    if found.changes_state()
        && let Some(locked) = locked
    {
        locked.write(state)?;
    }
    Ok(found.strays)
}

async fn make_plan(
    p: &Prepared,
    variables: BTreeMap<String, Value>,
    state: &State,
    strays: &[Stray],
    mode: PlanMode,
    run: &RunArgs,
    output: &mut Output,
) -> Result<Plan, CliError> {
    let options = plan_options(run, mode)?;
    let plan = plan::plan(PlanRequest {
        config: &p.config,
        graph: &p.graph,
        providers: &p.providers,
        variables,
        prior: state,
        mode,
        refresh: run.refresh == "true",
        parallelism: run.parallelism.max(1),
        options: options.clone(),
        strays,
    })
    .await?;
    if let Some(warning) = targeting_warning(run) {
        output.err(&diagnostics::render(&warning));
    }
    for addr in &options.replace {
        if plan
            .change(addr)
            .is_none_or(|c| c.reason != Some(Reason::ReplaceByRequest))
        {
            output.err(&diagnostics::render(&Diagnostic::warning(
                "Replace target not found",
                format!("The -replace address {addr} matches no existing resource instance in the configuration, so nothing is replaced for it."),
            )));
        }
    }
    Ok(plan)
}

/// What the plan found worth a warning (failed `check` assertions),
/// after the plan itself, as Terraform shows them.
fn print_plan_warnings(plan: &Plan, output: &mut Output) {
    for warning in &plan.warnings {
        output.err(&diagnostics::render(warning));
    }
}

/// The plan options the command line gives, with its addresses checked.
fn plan_options(run: &RunArgs, mode: PlanMode) -> Result<PlanOptions, CliError> {
    if mode == PlanMode::RefreshOnly && run.refresh == "false" {
        return Err(CliError::message(
            "Incompatible refresh options",
            "It doesn't make sense to use -refresh-only at the same time as -refresh=false, because stackform would have nothing to do.",
        ));
    }
    let mut options = PlanOptions::default();
    for text in &run.replace {
        let addr = text.parse::<ResourceAddr>().map_err(|e| {
            CliError::message("Invalid replace address", format!("-replace={text}: {e}."))
        })?;
        options.replace.insert(addr);
    }
    for (flag, texts, into) in [
        ("target", &run.target, &mut options.targets),
        ("exclude", &run.exclude, &mut options.excludes),
    ] {
        for text in texts {
            let target = text.parse::<Target>().map_err(|e| {
                CliError::message(
                    format!("Invalid {flag} address"),
                    format!("-{flag}={text}: {e}."),
                )
            })?;
            into.push(target);
        }
    }
    Ok(options)
}

/// Terraform's warning for a plan made with -target or -exclude.
fn targeting_warning(run: &RunArgs) -> Option<Diagnostic> {
    if run.target.is_empty() && run.exclude.is_empty() {
        return None;
    }
    Some(Diagnostic::warning(
        "Resource targeting is in effect",
        "You are creating a plan with the -target or -exclude option, which means that the result of this plan may not represent all of the changes requested by the current configuration.\n\nThese options are not for routine use: they are for exceptional situations such as recovering from errors or mistakes.",
    ))
}

/// Reads a plan saved by `plan -out=FILE`; a relative FILE is in the
/// working directory.
pub(super) fn read_saved_plan(settings: &Settings, file: &Path) -> Result<Plan, CliError> {
    Ok(plan::file::read(&settings.dir.join(file))?)
}

/// `plan -generate-config-out=FILE`: writes resource blocks for the
/// import targets the configuration does not declare, before planning
/// with them. Returns the file written, if any.
async fn generate_config(
    settings: &Settings,
    a: &PlanArgs,
    inputs: &VarInputs,
    path: &Path,
    output: &mut Output,
    answers: &mut BTreeMap<String, String>,
) -> Result<Option<PathBuf>, CliError> {
    let full = settings.dir.join(path);
    if full.exists() {
        return Err(CliError::message(
            "Target generated file already exists",
            format!(
                "-generate-config-out does not overwrite files, and {} exists. Move it away or name another file.",
                display_path(&settings.dir, &full)
            ),
        ));
    }
    let config = config::load_dir(&settings.dir)?;
    let graph = crate::graph::build(&config)?;
    let providers = settings.providers();
    let variables = resolve_vars_answered(settings, &config, &a.run.vars, inputs, output, answers)?;
    let prior = State::new();
    let request = PlanRequest {
        config: &config,
        graph: &graph,
        providers: &providers,
        variables,
        prior: &prior,
        mode: PlanMode::Normal,
        refresh: false,
        parallelism: a.run.parallelism.max(1),
        options: PlanOptions::default(),
        strays: &[],
    };
    let Some(text) = plan::generate::generated_config(&request).await? else {
        return Ok(None);
    };
    std::fs::write(&full, text).map_err(|e| {
        CliError::message(
            "Cannot write the generated configuration",
            format!("{}: {e}.", display_path(&settings.dir, &full)),
        )
    })?;
    Ok(Some(full))
}

/// Plans the way `plan` does: resolves the variables, then reads the
/// state under the lock (unless -lock=false) and plans against it. The
/// lock, when taken, is returned so that the caller decides how long it
/// is held.
pub(super) async fn plan_as_plan_does(
    settings: &Settings,
    p: &Prepared,
    run: &RunArgs,
    inputs: &VarInputs,
    mode: PlanMode,
    output: &mut Output,
) -> Result<(Plan, Option<LockedState>), CliError> {
    let variables = resolve_vars(settings, &p.config, &run.vars, inputs, output)?;
    if run.lock.lock == "false" {
        // Without the lock nothing is written: what an interrupted run
        // left is resolved in memory, for this plan only.
        let mut state = LocalBackend::new(&settings.dir, "default")
            .read_unlocked()?
            .unwrap_or_default();
        let strays = reconcile(p, &variables, &mut state, None, run, output).await?;
        Ok((
            make_plan(p, variables, &state, &strays, mode, run, output).await?,
            None,
        ))
    } else {
        let (mut locked, mut state) = lock_and_read(settings, &run.lock, "plan", output)?;
        let strays = reconcile(p, &variables, &mut state, Some(&mut locked), run, output).await?;
        Ok((
            make_plan(p, variables, &state, &strays, mode, run, output).await?,
            Some(locked),
        ))
    }
}

pub async fn plan(
    settings: &Settings,
    a: &PlanArgs,
    inputs: VarInputs,
    output: &mut Output,
) -> Result<i32, CliError> {
    let mut inputs = inputs;
    let mut answers = BTreeMap::new();
    let generated = match &a.generate_config_out {
        Some(path) => generate_config(settings, a, &inputs, path, output, &mut answers).await?,
        None => None,
    };
    // The plan that follows asks for nothing generating asked for.
    inputs.answers.extend(answers);
    let p = prepare(settings)?;
    let mode = if a.destroy {
        PlanMode::Destroy
    } else if a.refresh_only {
        PlanMode::RefreshOnly
    } else {
        PlanMode::Normal
    };
    // The lock stays held until the plan is saved.
    let (plan, _lock) = plan_as_plan_does(settings, &p, &a.run, &inputs, mode, output).await?;
    let exit_code = if a.detailed_exitcode && plan.has_changes() {
        2
    } else {
        0
    };
    if a.markdown {
        // Standard output is the comment alone; where the plan went is
        // news for the terminal.
        output.out(&ui::markdown::render(&plan));
        print_plan_warnings(&plan, output);
        if let Some(path) = &a.out {
            let full = if path.is_absolute() {
                path.clone()
            } else {
                settings.dir.join(path)
            };
            plan::file::write(&plan, &full)?;
            output.err(&format!(
                "Saved the plan to: {}\n",
                display_path(&settings.dir, &full)
            ));
        }
        return Ok(exit_code);
    }
    output.out(&ui::plan::render(&plan));
    print_plan_warnings(&plan, output);
    match &a.out {
        Some(path) => {
            let full = if path.is_absolute() { path.clone() } else { settings.dir.join(path) };
            plan::file::write(&plan, &full)?;
            let shown = display_path(&settings.dir, &full);
            output.out(&format!(
                "\n{}\n\nSaved the plan to: {shown}\n\nTo perform exactly these actions, run the following command to apply:\n    stackform apply {:?}\n",
                ui::plan::rule(),
                shown
            ));
        }
        None if plan.has_changes() => output.out(&format!(
            "\n{}\n\nNote: You didn't use the -out option to save this plan, so stackform can't\nguarantee to take exactly these actions if you run \"stackform apply\" now.\n",
            ui::plan::rule()
        )),
        None => {}
    }
    if let Some(file) = generated {
        output.out(&format!(
            "\nstackform has generated configuration and written it to {}. Please review\nthe configuration and edit it as necessary before adding it to version control.\n",
            display_path(&settings.dir, &file)
        ));
    }
    Ok(exit_code)
}

pub async fn apply(
    settings: &Settings,
    a: &ApplyArgs,
    inputs: VarInputs,
    output: &mut Output,
) -> Result<i32, CliError> {
    let p = prepare(settings)?;
    if let Some(file) = &a.plan_file {
        let saved = read_saved_plan(settings, file)?;
        if saved.config_digest != p.config.digest() {
            return Err(CliError::message(
                "Saved plan does not match the configuration",
                "The configuration files changed after this plan was made, so the plan may not do what the configuration now says. Make a new plan.",
            ));
        }
        let (mut locked, state) = lock_and_read(settings, &a.run.lock, "apply", output)?;
        if !state.intents.is_empty() {
            return Err(CliError::message(
                "Saved plan is stale",
                "An interrupted run left creates whose outcome the state does not know yet, so this plan may create objects twice. Make a new plan: planning looks for those objects first.",
            ));
        }
        let made_against = (saved.state_lineage.as_deref(), saved.state_serial);
        let now = (
            (state.serial > 0).then_some(state.lineage.as_str()),
            state.serial,
        );
        if made_against != now {
            return Err(CliError::message(
                "Saved plan is stale",
                format!(
                    "The given plan file can no longer be applied because the state changed after the plan was made (plan made against {}, state is now {}). Make a new plan.",
                    describe_state(made_against),
                    describe_state(now)
                ),
            ));
        }
        // The file may have been edited, its digest recomputed: each change
        // must be one this state and configuration support.
        plan::saved::check(&saved, &state, &p.config, &p.graph, &p.providers)?;
        return run_apply(
            settings,
            &p,
            saved,
            state,
            &mut locked,
            a.run.parallelism,
            output,
        )
        .await;
    }
    let mode = if a.refresh_only {
        PlanMode::RefreshOnly
    } else {
        PlanMode::Normal
    };
    plan_approve_apply(settings, &p, &a.run, &inputs, mode, a.auto_approve, output).await
}

pub async fn destroy(
    settings: &Settings,
    a: &DestroyArgs,
    inputs: VarInputs,
    output: &mut Output,
) -> Result<i32, CliError> {
    let p = prepare(settings)?;
    plan_approve_apply(
        settings,
        &p,
        &a.run,
        &inputs,
        PlanMode::Destroy,
        a.auto_approve,
        output,
    )
    .await
}

/// `import ADDRESS ID`: reads the object under the lock and records it in
/// the state; nothing is written unless the import succeeds.
pub async fn import(
    settings: &Settings,
    a: &ImportArgs,
    inputs: VarInputs,
    output: &mut Output,
) -> Result<i32, CliError> {
    let p = prepare(settings)?;
    let addr: crate::addr::ResourceAddr = a.address.parse().map_err(
        |e: crate::addr::AddrParseError| {
            CliError::message(
                "Invalid resource address",
                format!(
                    "{}. Write the address as TYPE.NAME, TYPE.NAME[INDEX] or TYPE.NAME[\"KEY\"].",
                    e.reason
                ),
            )
        },
    )?;
    let variables = resolve_vars(settings, &p.config, &a.vars, &inputs, output)?;
    let (mut locked, mut state) = lock_and_read(settings, &a.lock, "import", output)?;
    output.out(&format!(
        "{}\n",
        paint(
            style::HEADING,
            &format!("{addr}: Importing from ID {:?}...", a.id)
        )
    ));
    let record = plan::import::import(plan::import::ImportRequest {
        config: &p.config,
        graph: &p.graph,
        providers: &p.providers,
        variables: &variables,
        state: &state,
        addr: &addr,
        id: &a.id,
    })
    .await?;
    output.out(&format!(
        "{}\n  Prepared {} for import\n",
        paint(style::SUCCESS, &format!("{addr}: Import prepared!")),
        addr.resource.type_name
    ));
    state.put_resource(record);
    locked.write(&mut state)?;
    output.out(&format!(
        "\n{}\n\nThe resources that were imported are shown above. These resources are now in\nyour state and will henceforth be managed by stackform.\n",
        paint(style::SUCCESS, "Import successful!")
    ));
    Ok(0)
}

/// `apply` without a saved plan, and `destroy`: plan under the lock, show
/// the plan, ask (unless approved already), apply.
async fn plan_approve_apply(
    settings: &Settings,
    p: &Prepared,
    run: &RunArgs,
    inputs: &VarInputs,
    mode: PlanMode,
    auto_approve: bool,
    output: &mut Output,
) -> Result<i32, CliError> {
    let variables = resolve_vars(settings, &p.config, &run.vars, inputs, output)?;
    let operation = if mode == PlanMode::Destroy {
        "destroy"
    } else {
        "apply"
    };
    let (mut locked, mut state) = lock_and_read(settings, &run.lock, operation, output)?;
    let strays = reconcile(p, &variables, &mut state, Some(&mut locked), run, output).await?;
    let plan = make_plan(p, variables, &state, &strays, mode, run, output).await?;
    output.out(&ui::plan::render(&plan));
    print_plan_warnings(&plan, output);
    if plan.has_changes() && !auto_approve {
        let (question, explanation, cancelled) = if mode == PlanMode::Destroy {
            (
                "Do you really want to destroy all resources?",
                "stackform will destroy all your managed infrastructure, as shown above.\n  There is no undo.",
                "Destroy cancelled.",
            )
        } else if mode == PlanMode::RefreshOnly {
            (
                "Would you like to update the stackform state to reflect these detected changes?",
                "stackform will write these changes to the state without modifying any real\n  infrastructure.",
                "Apply cancelled.",
            )
        } else {
            (
                "Do you want to perform these actions?",
                "stackform will perform the actions described above.",
                "Apply cancelled.",
            )
        };
        approve(settings, run, output, question, explanation, cancelled)?;
    }
    run_apply(
        settings,
        p,
        plan,
        state,
        &mut locked,
        run.parallelism,
        output,
    )
    .await
}

fn describe_state((lineage, serial): (Option<&str>, u64)) -> String {
    match lineage {
        Some(l) => format!("lineage {l} serial {serial}"),
        None => "no state".into(),
    }
}

fn approve(
    settings: &Settings,
    run: &RunArgs,
    output: &mut Output,
    question: &str,
    explanation: &str,
    cancelled: &str,
) -> Result<(), CliError> {
    if !input_enabled(settings, &run.vars) {
        return Err(CliError::message(
            "Approval required",
            "Input is disabled (-input=false), so the plan cannot be approved interactively. Run again with -auto-approve to apply it without asking.",
        ));
    }
    if prompt::approve(output, question, explanation) {
        Ok(())
    } else {
        Err(CliError::Cancelled(cancelled.to_string()))
    }
}

/// Sends apply's steps to the state journal.
struct JournalRecorder {
    journal: Arc<Mutex<Option<Journal>>>,
}

impl Recorder for JournalRecorder {
    fn record(&mut self, steps: &[Step]) -> Result<(), String> {
        let entries: Vec<JournalEntry> = steps
            .iter()
            .map(|s| match s {
                Step::Intent(intent) => JournalEntry::Intent(intent.clone()),
                Step::Put(r) => JournalEntry::Put(r.clone()),
                Step::Remove { address } => JournalEntry::Remove {
                    address: address.clone(),
                },
                Step::Settle { address } => JournalEntry::Settle {
                    address: address.clone(),
                },
            })
            .collect();
        let mut guard = self
            .journal
            .lock()
            .map_err(|_| "the journal lock is poisoned".to_string())?;
        match guard.as_mut() {
            Some(j) => j.append(&entries).map_err(|e| super::error_chain(&e)),
            None => Ok(()),
        }
    }
}

async fn run_apply(
    settings: &Settings,
    p: &Prepared,
    plan: Plan,
    base: State,
    locked: &mut LockedState,
    parallelism: usize,
    output: &mut Output,
) -> Result<i32, CliError> {
    let destroying = plan.mode == PlanMode::Destroy;
    let targeted = plan.targeted;
    let imported = plan.counts().import;
    let journal = if plan.has_resource_changes() {
        Some(locked.begin_journal(&base)?)
    } else {
        None
    };
    let journal = Arc::new(Mutex::new(journal));
    let cancel = Cancel::new();
    let hooks = Arc::new(Tracked::new(TerminalProgress::new(Output::new(
        settings.color,
    ))));
    let interrupt = interrupt::watch(cancel.clone(), hooks.clone(), settings.color);
    let result = apply::apply(ApplyRequest {
        config: p.config.clone(),
        graph: p.graph.clone(),
        providers: p.providers.clone(),
        plan: Arc::new(plan),
        base,
        parallelism: parallelism.max(1),
        cancel: cancel.clone(),
        hooks,
        recorder: Box::new(JournalRecorder {
            journal: journal.clone(),
        }),
    })
    .await;
    interrupt.abort();
    let mut result = result?;
    let mut state = std::mem::take(&mut result.state);
    // A run that changed nothing (every create it tried failed without
    // making anything) writes nothing: serial and backup stay as they
    // were, and its journal, whose entries cancel out, goes.
    if result.state_changed {
        locked.write(&mut state)?;
    }
    let finished_journal = journal.lock().ok().and_then(|mut j| j.take());
    if let Some(j) = finished_journal {
        if result.state_changed {
            j.finish()?;
        } else {
            j.discard()?;
        }
    }

    let mut diags = Diagnostics::default();
    for f in &result.failures {
        let mut d = f.diagnostic.clone();
        if d.address.is_none() && !f.address.starts_with("output.") {
            d.address = Some(f.address.clone());
        }
        diags.push(d);
    }
    if let Some(e) = &result.record_error {
        diags.push(Diagnostic::error("Failed to record the state", e.clone()));
    }
    diags.extend(result.warnings.iter().cloned());
    if !diags.is_empty() {
        output.err(&diagnostics::render_all(diags.iter()));
    }
    let c = result.counts;
    // An interrupted run fails even when everything it started finished:
    // it did not do all it was asked to.
    if result.succeeded() && !cancel.is_cancelled() {
        let line = if destroying {
            format!("Destroy complete! Resources: {} destroyed.", c.destroy)
        } else {
            let imported = if imported > 0 {
                format!("{imported} imported, ")
            } else {
                String::new()
            };
            format!(
                "Apply complete! Resources: {imported}{} added, {} changed, {} destroyed.",
                c.add, c.change, c.destroy
            )
        };
        if targeted {
            output.err(&diagnostics::render(&Diagnostic::warning(
                "Applied changes may be incomplete",
                "The plan was made with -target or -exclude, so it may not have applied everything the configuration asks for. Run plan to see what is left.",
            )));
        }
        output.out(&format!("\n{}\n", paint(style::SUCCESS, &line)));
        if !destroying {
            print_outputs(&state, output);
        }
        return Ok(0);
    }
    let mut summary = format!(
        "\n{} {} added, {} changed, {} destroyed before stopping.\n",
        paint(
            style::ERROR,
            if destroying {
                "Destroy failed."
            } else {
                "Apply failed."
            }
        ),
        c.add,
        c.change,
        c.destroy
    );
    for f in &result.failures {
        summary.push_str(&format!(
            "  failed:      {} ({})\n",
            f.address, f.diagnostic.summary
        ));
    }
    for s in &result.skipped {
        summary.push_str(&format!(
            "  skipped:     {s} (depends on something that failed)\n"
        ));
    }
    for s in &result.not_started {
        summary.push_str(&format!("  not started: {s}\n"));
    }
    for s in &result.abandoned {
        summary.push_str(&format!(
            "  abandoned:   {s} (the next run looks for what it made)\n"
        ));
    }
    if cancel.is_cancelled() {
        summary.push_str("The run was interrupted; what finished is recorded in the state.\n");
    }
    output.err(&summary);
    Ok(1)
}

fn print_outputs(state: &State, output: &mut Output) {
    if state.outputs.is_empty() {
        return;
    }
    let values: Vec<(String, Value, bool)> = state
        .outputs
        .iter()
        .map(|(k, o)| (k.clone(), plan::decode_output(o), o.sensitive))
        .collect();
    output.out(&format!(
        "\n{}\n\n{}",
        paint(style::SUCCESS, "Outputs:"),
        ui::values::format_outputs(&values)
    ));
}
