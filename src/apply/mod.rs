//! Executing a plan.
//!
//! The plan's changes become an instance-level graph: for each resource
//! block with changes, an *expand* node (re-evaluates `count`/`for_each`
//! now that its inputs are known), one node per create, update or delete,
//! and a *join* node (the block's value for whoever refers to it); locals
//! are nodes too. Deletes run in reverse dependency order. The graph is
//! walked concurrently (`graph::walk`); every instance re-evaluates its
//! configuration with the real values of what it depends on, checks that
//! the result agrees with the plan, and calls its resource type. Every
//! finished step is recorded (the journal) before anything that depends
//! on it starts.

pub mod hooks;

use crate::addr::{ConfigAddr, InstanceKey, ModuleInstance, ResourceAddr};
use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::walk::{self, Cancel, Outcome};
use crate::graph::{ConfigGraph, NodeId};
use crate::lang::eval::Evaluator;
use crate::lang::value::{Path, Value, path_to_string};
use crate::plan::modules;
use crate::plan::values::{Expansion, RunValues};
use crate::plan::{
    Action, Counts, Plan, PlanMode, PriorInstance, ResourceChange, expand, instance_config,
    plan_instance, stored,
};
use crate::provider::Marker;
use crate::provider::{Providers, ResourceType};
use crate::state::{Intent, OutputState, ResourceState, State, Status};
use hooks::{ApplyHooks, Operation};
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A step of the apply that the state must remember.
// Nearly every step is a `Put`: boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Step {
    /// About to send a create: if the run dies before the matching
    /// `Put` or `Settle`, the object may exist without being recorded,
    /// and the next run looks for the one carrying the intent's token.
    Intent(Intent),
    /// The object exists with this state.
    Put(ResourceState),
    /// The object is gone.
    Remove { address: String },
    /// A create failed without creating anything: its intent is done.
    Settle { address: String },
}

/// Where steps go: the state journal, in practice. `record` must make
/// the steps durable before it returns.
pub trait Recorder: Send {
    fn record(&mut self, steps: &[Step]) -> Result<(), String>;
}

/// A recorder that keeps steps in memory (tests, and runs whose state
/// is written only at the end).
#[derive(Default)]
pub struct MemoryRecorder {
    pub steps: Vec<Step>,
}

impl Recorder for MemoryRecorder {
    fn record(&mut self, steps: &[Step]) -> Result<(), String> {
        self.steps.extend_from_slice(steps);
        Ok(())
    }
}

pub struct ApplyRequest {
    pub config: Arc<Config>,
    pub graph: Arc<ConfigGraph>,
    pub providers: Providers,
    pub plan: Arc<Plan>,
    /// The state the plan was made against.
    pub base: State,
    pub parallelism: usize,
    pub cancel: Cancel,
    pub hooks: Arc<dyn ApplyHooks>,
    pub recorder: Box<dyn Recorder>,
}

/// A resource instance whose step failed, and why.
#[derive(Debug, Clone)]
pub struct Failure {
    pub address: String,
    pub diagnostic: Diagnostic,
}

#[derive(Debug)]
pub struct ApplyResult {
    /// The new state (serial not bumped: the backend does that).
    pub state: State,
    /// Whether the new state differs from the base.
    pub state_changed: bool,
    /// What was done.
    pub counts: Counts,
    pub failures: Vec<Failure>,
    /// Instances not touched because something they depend on failed.
    pub skipped: Vec<String>,
    /// Instances not touched because the run was interrupted.
    pub not_started: Vec<String>,
    /// Instances whose operation was under way when a second interrupt
    /// abandoned it: a create among them stays a pending intent.
    pub abandoned: Vec<String>,
    /// Recording a step failed: the journal could not be written.
    pub record_error: Option<String>,
    /// `check` assertions that fail once the changes are made.
    pub warnings: Vec<Diagnostic>,
}

impl ApplyResult {
    pub fn succeeded(&self) -> bool {
        self.failures.is_empty()
            && self.skipped.is_empty()
            && self.not_started.is_empty()
            && self.abandoned.is_empty()
            && self.record_error.is_none()
    }
}

#[derive(Clone, Debug)]
enum Task {
    /// The instances of a block in one module instance.
    Expand(ModuleInstance, ConfigAddr),
    /// The block's value in one module instance, once its changes are made.
    Join(ModuleInstance, ConfigAddr),
    /// A variable, local, module call or module output, evaluated in
    /// every instance of its module.
    Node(NodeId),
    Create(ResourceAddr),
    Update(ResourceAddr),
    Delete(ResourceAddr),
    /// A data source read deferred to apply.
    Read(ResourceAddr),
}

impl Task {
    fn instance(&self) -> Option<&ResourceAddr> {
        match self {
            Task::Create(a) | Task::Update(a) | Task::Delete(a) | Task::Read(a) => Some(a),
            _ => None,
        }
    }
}

struct Ctx {
    /// The state's lineage, which every object created is marked with.
    lineage: String,
    config: Arc<Config>,
    config_graph: Arc<ConfigGraph>,
    providers: Providers,
    plan: Arc<Plan>,
    run: RunValues,
    tasks: Vec<Task>,
    expansions: Mutex<HashMap<(ModuleInstance, ConfigAddr), Expansion>>,
    /// New values of instances created or updated in this run.
    results: Mutex<HashMap<ResourceAddr, Value>>,
    /// Steps of finished visits, recorded when the walker settles them.
    pending: Mutex<HashMap<NodeIndex, Vec<Step>>>,
    /// Every step recorded so far, in the journal's order (taken with
    /// the recorder held): the final state replays them.
    recorded: Mutex<Vec<Step>>,
    recorder: Mutex<Box<dyn Recorder>>,
    hooks: Arc<dyn ApplyHooks>,
    done: Mutex<Counts>,
    /// Problems that do not stop the run (a check's data source that
    /// failed to read).
    warnings: Mutex<Vec<Diagnostic>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking visit cannot leave these maps half-updated in a way that
    // matters more than losing the run; keep going with what is there.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Applies a plan.
pub async fn apply(req: ApplyRequest) -> Result<ApplyResult, Diagnostics> {
    let plan = req.plan.clone();
    crate::plan::configure_providers(&req.config, &req.graph, &req.providers, &plan.variables)?;
    let (graph, tasks) = build_graph(&req.config, &req.graph, &plan)?;
    let run = RunValues::for_config(&req.config, plan.variables.clone());
    seed_values(&req.config, &plan, &run, &ModuleInstance::root());
    let ctx = Arc::new(Ctx {
        lineage: req.base.lineage.clone(),
        config: req.config.clone(),
        config_graph: req.graph.clone(),
        providers: req.providers.clone(),
        plan: plan.clone(),
        run,
        tasks,
        expansions: Mutex::default(),
        results: Mutex::default(),
        pending: Mutex::default(),
        recorded: Mutex::default(),
        recorder: Mutex::new(req.recorder),
        hooks: req.hooks.clone(),
        done: Mutex::default(),
        warnings: Mutex::default(),
    });
    // What changes only the state is recorded before anything else:
    // objects `moved` blocks moved are recorded at their new addresses
    // (so a run cut short leaves no object recorded twice), and objects
    // `removed` blocks forget leave it.
    let state_only: Vec<Step> = state_only_steps(&plan, &req.base);
    if !state_only.is_empty() {
        lock(&ctx.recorder).record(&state_only).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Failed to record the state",
                format!("The state journal could not be written: {e}. Nothing was changed."),
            ))
        })?;
        lock(&ctx.recorded).extend(state_only);
    }
    let settle_ctx = ctx.clone();
    let visit_ctx = ctx.clone();
    let (outcomes, record_error) = walk::walk(
        &graph,
        req.parallelism,
        &req.cancel,
        move |n| {
            let ctx = visit_ctx.clone();
            async move { visit(ctx, n).await }
        },
        |batch| {
            let mut steps = Vec::new();
            {
                let mut pending = lock(&settle_ctx.pending);
                for (n, _) in batch {
                    if let Some(s) = pending.remove(n) {
                        steps.extend(s);
                    }
                }
            }
            if steps.is_empty() {
                return Ok(());
            }
            let mut recorder = lock(&settle_ctx.recorder);
            recorder.record(&steps).map_err(|e| {
                Diagnostic::error(
                    "Failed to record the state",
                    format!(
                        "The state journal could not be written: {e}. Nothing more will be started."
                    ),
                )
            })?;
            lock(&settle_ctx.recorded).extend(steps);
            Ok(())
        },
    )
    .await;

    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let mut not_started = Vec::new();
    let mut abandoned = Vec::new();
    let mut order: Vec<NodeIndex> = outcomes.keys().copied().collect();
    order.sort();
    for n in order {
        let task = &ctx.tasks[n.index()];
        let name = match task.instance() {
            Some(a) => a.to_string(),
            None => match task {
                Task::Node(node) => node.to_string(),
                Task::Expand(m, a) | Task::Join(m, a) => {
                    a.instance_in(m, InstanceKey::None).to_string()
                }
                _ => continue,
            },
        };
        match &outcomes[&n] {
            Outcome::Done => {}
            Outcome::Failed(d) => failures.push(Failure {
                address: name,
                diagnostic: d.clone(),
            }),
            Outcome::Panicked => failures.push(Failure {
                address: name,
                diagnostic: Diagnostic::error(
                    "Internal error",
                    "This step panicked; please report it as a bug.",
                ),
            }),
            Outcome::Skipped if task.instance().is_some() => skipped.push(name),
            Outcome::NotStarted if task.instance().is_some() => not_started.push(name),
            Outcome::Abandoned if task.instance().is_some() => abandoned.push(name),
            Outcome::Skipped | Outcome::NotStarted | Outcome::Abandoned => {}
        }
    }

    let recorded = std::mem::take(&mut *lock(&ctx.recorded));
    let (state, state_changed) = final_state(&ctx, req.base, recorded, &mut failures);
    let counts = *lock(&ctx.done);
    let mut warnings = std::mem::take(&mut *lock(&ctx.warnings));
    if plan.mode != PlanMode::Destroy {
        warnings.extend(crate::plan::conditions::failed_assertions(
            &ctx.config,
            &ctx.run,
        ));
    }
    Ok(ApplyResult {
        state,
        state_changed,
        counts,
        failures,
        skipped,
        not_started,
        abandoned,
        record_error: record_error.map(|d| d.detail),
        warnings,
    })
}

/// Builds the instance-level graph of the plan's changes.
fn build_graph(
    config: &Config,
    cg: &ConfigGraph,
    plan: &Plan,
) -> Result<(DiGraph<(), ()>, Vec<Task>), Diagnostics> {
    let mut graph: DiGraph<(), ()> = DiGraph::new();
    let mut tasks = Vec::new();
    let mut add = |graph: &mut DiGraph<(), ()>, t: Task| {
        tasks.push(t);
        graph.add_node(())
    };
    let mut creates: HashMap<ResourceAddr, NodeIndex> = HashMap::new();
    let mut deletes: HashMap<ResourceAddr, NodeIndex> = HashMap::new();
    // Blocks with changes, in each module instance: a failure in one
    // instance of a module holds back only what depends on it there.
    let mut changed_blocks: BTreeSet<(ModuleInstance, ConfigAddr)> = BTreeSet::new();
    let block_of = |a: &ResourceAddr| (a.module_instance(), a.resource.clone());
    for c in &plan.changes {
        match c.action {
            Action::Create | Action::Update => {
                let t = if c.action == Action::Create {
                    Task::Create(c.addr.clone())
                } else {
                    Task::Update(c.addr.clone())
                };
                creates.insert(c.addr.clone(), add(&mut graph, t));
                changed_blocks.insert(block_of(&c.addr));
            }
            Action::DeleteThenCreate | Action::CreateThenDelete => {
                let d = add(&mut graph, Task::Delete(c.addr.clone()));
                let cr = add(&mut graph, Task::Create(c.addr.clone()));
                if c.action == Action::DeleteThenCreate {
                    graph.add_edge(d, cr, ());
                } else {
                    graph.add_edge(cr, d, ());
                }
                deletes.insert(c.addr.clone(), d);
                creates.insert(c.addr.clone(), cr);
                changed_blocks.insert(block_of(&c.addr));
            }
            Action::Delete => {
                deletes.insert(
                    c.addr.clone(),
                    add(&mut graph, Task::Delete(c.addr.clone())),
                );
            }
            Action::Read => {
                creates.insert(c.addr.clone(), add(&mut graph, Task::Read(c.addr.clone())));
                changed_blocks.insert(block_of(&c.addr));
            }
            // Forgetting touches only the state: recorded before the walk.
            Action::NoOp | Action::Forget => {}
        }
    }
    let changed_blocks: Vec<(ModuleInstance, ConfigAddr)> = changed_blocks
        .into_iter()
        .filter(|(_, a)| config.resources.contains_key(a))
        .collect();
    let mut expands = HashMap::new();
    let mut joins = HashMap::new();
    for (module, addr) in &changed_blocks {
        let key = (module.clone(), addr.clone());
        expands.insert(
            key.clone(),
            add(&mut graph, Task::Expand(module.clone(), addr.clone())),
        );
        joins.insert(
            key,
            add(&mut graph, Task::Join(module.clone(), addr.clone())),
        );
    }
    // Locals, and in called modules variables and outputs, are
    // evaluated again with what apply learns; module calls give the
    // modules their instances.
    let mut nodes = HashMap::new();
    if plan.mode != PlanMode::Destroy {
        // In the graph's order, so that tasks (and the failures listed
        // after a run) come in the same order every time.
        for id in cg.order.iter().map(|&ix| &cg.graph[ix]) {
            let evaluated = match id {
                NodeId::Local(..) | NodeId::Module(_) => true,
                NodeId::Variable(m, _) | NodeId::Output(m, _) => !m.is_empty(),
                NodeId::Resource(_) => false,
            };
            if evaluated {
                nodes.insert(id.clone(), add(&mut graph, Task::Node(id.clone())));
            }
        }
    }
    // What a node must wait for: the join of each changed resource block
    // it refers to (in `within`, the module instance it is evaluated in,
    // when it is one; in every instance otherwise) and each evaluated
    // node it refers to.
    let upstream = |id: &NodeId, within: Option<&ModuleInstance>| -> Vec<NodeIndex> {
        let Some(ix) = cg.node(id) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for n in cg
            .graph
            .neighbors_directed(ix, petgraph::Direction::Incoming)
        {
            match &cg.graph[n] {
                NodeId::Resource(a) => found.extend(
                    joins
                        .iter()
                        .filter(|((m, b), _)| {
                            b == a && within.is_none_or(|w| w.path() != a.module || w == m)
                        })
                        .map(|(_, &j)| j),
                ),
                other => found.extend(nodes.get(other).copied()),
            }
        }
        found
    };
    for ((module, addr), &e) in &expands {
        for u in upstream(&NodeId::Resource(addr.clone()), Some(module)) {
            graph.add_edge(u, e, ());
        }
    }
    for (id, &t) in &nodes {
        for u in upstream(id, None) {
            graph.add_edge(u, t, ());
        }
    }
    for (addr, &c) in &creates {
        if let Some(&e) = expands.get(&block_of(addr)) {
            graph.add_edge(e, c, ());
        }
        if let Some(&j) = joins.get(&block_of(addr)) {
            graph.add_edge(c, j, ());
        }
    }
    // Deletes: what depends on an object goes first. A destroyed object
    // waits for the destruction of everything that depends on it, and an
    // object that is going away for good (or replaced create-first) also
    // waits for its dependents' creates and updates, which stop using it.
    let depends_on = |c: &ResourceChange, target: &ConfigAddr| c.dependencies.contains(target);
    for c in &plan.changes {
        for (x, &dx) in &deletes {
            if c.addr == *x || !depends_on(c, &x.resource) {
                continue;
            }
            if let Some(&dy) = deletes.get(&c.addr) {
                graph.add_edge(dy, dx, ());
            }
            let x_change = plan.change(x).map(|ch| ch.action);
            if matches!(x_change, Some(Action::Delete | Action::CreateThenDelete))
                && let Some(&cy) = creates.get(&c.addr)
            {
                graph.add_edge(cy, dx, ());
            }
        }
    }
    if petgraph::algo::toposort(&graph, None).is_err() {
        return Err(Diagnostics::from(Diagnostic::error(
            "Cycle in the apply order",
            "The changes of this plan depend on each other in a cycle; this is a bug in stackform.",
        )));
    }
    Ok((graph, tasks))
}

/// The steps that move each record a `moved` block moved to its new
/// address, and drop those a `removed` block forgets.
fn state_only_steps(plan: &Plan, base: &State) -> Vec<Step> {
    let mut steps = Vec::new();
    for c in &plan.changes {
        if c.action == Action::Forget {
            if let Some(from) = c.previous_address.as_ref().or(Some(&c.addr)) {
                steps.push(Step::Remove {
                    address: from.to_string(),
                });
            }
            continue;
        }
        let Some(from) = &c.previous_address else {
            continue;
        };
        let Some(record) = base.resource(&from.to_string()) else {
            continue;
        };
        let mut moved = record.clone();
        moved.relocate(&c.addr);
        steps.push(Step::Remove {
            address: record.address.clone(),
        });
        steps.push(Step::Put(moved));
    }
    // What refresh found deleted leaves the state before anything else
    // happens, so that a run killed later records no ghost (a destroy
    // plans nothing for it; a create puts it back).
    for drift in plan.drift.iter().filter(|d| d.after.is_none()) {
        let address = drift.addr.to_string();
        let recorded = base.resource(&address).is_some()
            || steps
                .iter()
                .any(|s| matches!(s, Step::Put(r) if r.address == address));
        if recorded {
            steps.push(Step::Remove { address });
        }
    }
    steps
}

/// Gives every resource block of a module instance its value as the
/// plan leaves it (no-ops keep theirs; what changes is replaced at its
/// join).
fn seed_values(config: &Config, plan: &Plan, run: &RunValues, module: &ModuleInstance) {
    let path = module.path();
    let mut by_block: BTreeMap<&ConfigAddr, HashMap<InstanceKey, Value>> = BTreeMap::new();
    for c in &plan.changes {
        if c.action != Action::Delete && c.addr.module_instance() == *module {
            by_block
                .entry(&c.addr.resource)
                .or_default()
                .insert(c.addr.key.clone(), c.after.clone().unwrap_or(Value::NULL));
        }
    }
    for (addr, resource) in config.resources.iter().filter(|(a, _)| a.module == path) {
        let instances = by_block.remove(addr).unwrap_or_default();
        let value = if instances.is_empty() && plan.targeted {
            // Left out of a targeted plan: unknown, as it was planned.
            Value::unknown()
        } else {
            crate::plan::expansion_of(resource, &instances).aggregate(&instances)
        };
        run.set_resource(module, addr, value);
    }
}

async fn visit(ctx: Arc<Ctx>, n: NodeIndex) -> Result<(), Diagnostic> {
    match ctx.tasks[n.index()].clone() {
        Task::Node(node) => {
            let diags = modules::evaluate_node(&ctx.config, &ctx.run, &node);
            if let Some(d) = diags.0.into_iter().next() {
                return Err(d);
            }
            if let NodeId::Module(path) = &node {
                for module in ctx.run.module_instances(path) {
                    seed_values(&ctx.config, &ctx.plan, &ctx.run, &module);
                }
            }
            Ok(())
        }
        Task::Expand(module, addr) => expand_in(&ctx, &module, &addr),
        Task::Join(module, addr) => {
            // A targeted plan may leave a module instance out: what was
            // seeded stays.
            let Some(expansion) = lock(&ctx.expansions)
                .get(&(module.clone(), addr.clone()))
                .cloned()
            else {
                return Ok(());
            };
            let results = lock(&ctx.results);
            let instances: HashMap<InstanceKey, Value> = expansion
                .keys()
                .into_iter()
                .map(|k| {
                    let a = addr.instance_in(&module, k.clone());
                    let v = results
                        .get(&a)
                        .cloned()
                        .or_else(|| ctx.plan.change(&a).and_then(|c| c.after.clone()))
                        .unwrap_or(Value::NULL);
                    (k, v)
                })
                .collect();
            drop(results);
            ctx.run
                .set_resource(&module, &addr, expansion.aggregate(&instances));
            Ok(())
        }
        Task::Create(addr) => create_or_update(&ctx, n, &addr).await,
        Task::Update(addr) => create_or_update(&ctx, n, &addr).await,
        Task::Delete(addr) => delete(&ctx, n, &addr).await,
        Task::Read(addr) => read_data_source(&ctx, &addr).await,
    }
}

/// The instances of a block in one module instance: those the plan holds,
/// which `count` or `for_each` must still give.
fn expand_in(ctx: &Ctx, module: &ModuleInstance, addr: &ConfigAddr) -> Result<(), Diagnostic> {
    let resource = &ctx.config.resources[addr];
    let planned: BTreeSet<InstanceKey> = ctx
        .plan
        .changes
        .iter()
        .filter(|c| {
            c.addr.resource == *addr
                && c.addr.module_instance() == *module
                && c.action != Action::Delete
        })
        .map(|c| c.addr.key.clone())
        .collect();
    let key = (module.clone(), addr.clone());
    if ctx.plan.targeted && planned.is_empty() {
        return Ok(());
    }
    if ctx.plan.targeted {
        // A targeted plan left instances unplanned on purpose: the block
        // has the instances the plan holds.
        let instances: HashMap<InstanceKey, Value> =
            planned.into_iter().map(|k| (k, Value::NULL)).collect();
        let expansion = crate::plan::expansion_of(resource, &instances);
        lock(&ctx.expansions).insert(key, expansion);
        return Ok(());
    }
    let expansion = expand::expand(&ctx.config, resource, &ctx.run.module_scope(module))?;
    let now: BTreeSet<InstanceKey> = expansion.keys().into_iter().collect();
    if planned != now {
        let block = addr.instance_in(module, InstanceKey::None);
        return Err(Diagnostic::error(
            "Inconsistent instances",
            format!("The instances of {block} changed between plan and apply. Make a new plan."),
        )
        .with_address(block.to_string()));
    }
    lock(&ctx.expansions).insert(key, expansion);
    Ok(())
}

/// An instance's configuration evaluated with what apply has learnt so
/// far, and its block's expansion.
fn config_during_apply(
    ctx: &Ctx,
    addr: &ResourceAddr,
    schema: &crate::provider::Schema,
) -> Result<(Value, Expansion), Diagnostic> {
    let resource = &ctx.config.resources[&addr.resource];
    let expansion = lock(&ctx.expansions)
        .get(&(addr.module_instance(), addr.resource.clone()))
        .cloned()
        .unwrap_or(Expansion::Single);
    let mut diags = Diagnostics::default();
    match instance_config(
        &ctx.config,
        resource,
        schema,
        addr,
        &expansion,
        &ctx.run,
        &mut diags,
    ) {
        Some(value) => Ok((value, expansion)),
        None => Err(diags
            .0
            .into_iter()
            .next()
            .unwrap_or_else(|| Diagnostic::error("Invalid configuration", addr.to_string()))),
    }
}

/// Reads a data source whose arguments became known during apply.
async fn read_data_source(ctx: &Ctx, addr: &ResourceAddr) -> Result<(), Diagnostic> {
    let ds = ctx
        .providers
        .data_source(&addr.resource.type_name)
        .cloned()
        .ok_or_else(|| {
            Diagnostic::error(
                "Unknown data source",
                format!("No data source {:?} is available.", addr.resource.type_name),
            )
            .with_address(addr.to_string())
        })?;
    let (config_value, _) = config_during_apply(ctx, addr, ds.schema())?;
    ctx.hooks.started(addr, Operation::Read, None);
    let started = Instant::now();
    let (plain, marks) = config_value.unmark_with_paths();
    match ds.read(&plain).await {
        Ok(read) => {
            let id = read
                .get_attr("id")
                .and_then(Value::as_str)
                .map(str::to_string);
            lock(&ctx.results).insert(addr.clone(), read.mark_paths(&marks));
            ctx.hooks
                .finished(addr, Operation::Read, id.as_deref(), started.elapsed());
            Ok(())
        }
        Err(e) => {
            let e = e.without_secrets_of(&config_value);
            let d = Diagnostic::error(e.summary, e.detail).with_address(addr.to_string());
            ctx.hooks.failed(addr, Operation::Read, &d);
            let scoped = ctx
                .config
                .resources
                .get(&addr.resource)
                .is_some_and(|r| r.check.is_some());
            if scoped {
                // A check's own data source: its failure is a warning.
                lock(&ctx.warnings).push(Diagnostic {
                    severity: crate::diag::Severity::Warning,
                    ..d
                });
                return Ok(());
            }
            Err(d)
        }
    }
}

fn resource_type(ctx: &Ctx, addr: &ResourceAddr) -> Result<Arc<dyn ResourceType>, Diagnostic> {
    ctx.providers
        .resource(&addr.resource.type_name)
        .cloned()
        .ok_or_else(|| {
            Diagnostic::error(
                "Unknown resource type",
                format!(
                    "No resource type {:?} is available.",
                    addr.resource.type_name
                ),
            )
            .with_address(addr.to_string())
        })
}

async fn create_or_update(ctx: &Ctx, n: NodeIndex, addr: &ResourceAddr) -> Result<(), Diagnostic> {
    let change = ctx
        .plan
        .change(addr)
        .ok_or_else(|| Diagnostic::error("Missing change", addr.to_string()))?;
    let rt = resource_type(ctx, addr)?;
    let resource = &ctx.config.resources[&addr.resource];
    let (config_value, expansion) = config_during_apply(ctx, addr, rt.schema())?;
    let is_create = change.action != Action::Update;
    let prior = if is_create {
        None
    } else {
        change.before.clone().map(|value| PriorInstance {
            value,
            status: Status::Ok,
            provider: change.provider.clone(),
            dependencies: Vec::new(),
        })
    };
    let dependencies = change.dependencies.clone();
    let final_change = plan_instance(
        rt.as_ref(),
        resource,
        addr,
        &config_value,
        prior.as_ref(),
        dependencies.clone(),
        // A replacement's final plan is a create (no prior): nothing to force.
        None,
    )?;
    if let (Some(planned), Some(now)) = (&change.after, &final_change.after)
        && let Some((path, was, is)) = first_inconsistency(planned, now)
    {
        return Err(Diagnostic::error(
            "Provider produced inconsistent final plan",
            format!(
                "When expanding the plan for {addr} to include new values learned so far during apply, the value of {} changed: it was planned as {was}, but now is {is}. This usually means the configuration depends on something that changed after the plan was made; make a new plan.",
                if path.is_empty() { "the object".to_string() } else { path_to_string(&path).trim_start_matches('.').to_string() }
            ),
        )
        .with_address(addr.to_string()));
    }
    if !is_create && final_change.action == Action::NoOp {
        return Ok(());
    }
    let after = final_change.after.clone().unwrap_or(Value::NULL);
    // The planned value cannot carry marks inside what is still unknown
    // (terraform_data's output): the type says where they go once known.
    let (_, mut marks) = after.unmark_with_paths();
    marks.extend(rt.derived_sensitive_paths(&marks));
    let (planned_plain, _) = after.unmark_deep();
    let op = if is_create {
        Operation::Create
    } else {
        Operation::Update
    };
    let id = change
        .before
        .as_ref()
        .and_then(|b| b.get_attr("id"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    ctx.hooks
        .started(addr, op, if is_create { None } else { id.as_deref() });
    let marker = Marker {
        lineage: ctx.lineage.clone(),
        address: addr.to_string(),
        token: new_token(),
    };
    if is_create {
        // Durable before the call is sent: a run killed from here on
        // leaves the intent, and its token finds the object.
        let intent = Intent {
            address: addr.to_string(),
            action: if change.action == Action::Create {
                "create"
            } else {
                "replace"
            }
            .to_string(),
            token: marker.token.clone(),
        };
        let mut recorder = lock(&ctx.recorder);
        recorder
            .record(&[Step::Intent(intent.clone())])
            .map_err(|e| {
                Diagnostic::error(
                    "Failed to record the state",
                    format!("The state journal could not be written: {e}."),
                )
                .with_address(addr.to_string())
            })?;
        lock(&ctx.recorded).push(Step::Intent(intent));
        drop(recorder);
    }
    let started = Instant::now();
    let call = async {
        if is_create {
            rt.create(&planned_plain, &marker).await
        } else {
            let before = change
                .before
                .as_ref()
                .map(|b| b.unmark_deep().0)
                .unwrap_or(Value::NULL);
            rt.update(&before, &planned_plain, &marker).await
        }
    };
    let result = with_progress(ctx, addr, op, call).await;
    let deps: Vec<String> = dependencies.iter().map(ToString::to_string).collect();
    match result {
        Ok(new) => {
            let new = new.mark_paths(&marks);
            let record = stored::encode(addr, rt.provider(), &new, rt.schema(), Status::Ok, deps);
            let new_id = record.id.clone();
            lock(&ctx.results).insert(addr.clone(), new);
            lock(&ctx.pending)
                .entry(n)
                .or_default()
                .push(Step::Put(record));
            {
                let mut done = lock(&ctx.done);
                if is_create {
                    done.add += 1
                } else {
                    done.change += 1
                }
            }
            ctx.hooks
                .finished(addr, op, new_id.as_deref(), started.elapsed());
            // Postconditions whose values were unknown when planning are
            // checked now; the object stays recorded either way.
            let scope = ctx
                .run
                .instance_scope(&addr.module_instance(), &addr.key, &expansion);
            let mut eval = Evaluator::new(&scope);
            let this = lock(&ctx.results).get(addr).cloned().unwrap_or(Value::NULL);
            for c in &resource.lifecycle.postconditions {
                let checked = eval.with_binding("self", this.clone(), |eval| {
                    crate::plan::conditions::check(
                        &ctx.config,
                        c,
                        eval,
                        "Resource postcondition failed",
                        &resource.describe(),
                    )
                });
                if let crate::plan::conditions::Checked::Failed(d)
                | crate::plan::conditions::Checked::Invalid(d) = checked
                {
                    return Err(d.with_address(addr.to_string()));
                }
            }
            Ok(())
        }
        Err(failure) => {
            if let Some(partial) = failure.partial {
                let partial = partial.mark_paths(&marks);
                let record = stored::encode(
                    addr,
                    rt.provider(),
                    &partial,
                    rt.schema(),
                    Status::Tainted,
                    deps,
                );
                lock(&ctx.pending)
                    .entry(n)
                    .or_default()
                    .push(Step::Put(record));
            } else if is_create && !failure.may_exist {
                lock(&ctx.pending).entry(n).or_default().push(Step::Settle {
                    address: addr.to_string(),
                });
            }
            let e = failure.error.without_secrets_of(&after);
            let d = Diagnostic::error(e.summary, e.detail).with_address(addr.to_string());
            ctx.hooks.failed(addr, op, &d);
            Err(d)
        }
    }
}

async fn delete(ctx: &Ctx, n: NodeIndex, addr: &ResourceAddr) -> Result<(), Diagnostic> {
    let change = ctx
        .plan
        .change(addr)
        .ok_or_else(|| Diagnostic::error("Missing change", addr.to_string()))?;
    let rt = resource_type(ctx, addr)?;
    let before = change
        .before
        .as_ref()
        .map(|b| b.unmark_deep().0)
        .unwrap_or(Value::NULL);
    let id = before
        .get_attr("id")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    ctx.hooks.started(addr, Operation::Delete, id.as_deref());
    let started = Instant::now();
    let result = with_progress(ctx, addr, Operation::Delete, async {
        rt.delete(&before).await.map_err(Into::into)
    })
    .await;
    match result {
        Ok(()) => {
            // With create_before_destroy the new object already holds the
            // address: the old one leaves no record to remove.
            if change.action != Action::CreateThenDelete {
                lock(&ctx.pending).entry(n).or_default().push(Step::Remove {
                    address: addr.to_string(),
                });
            }
            lock(&ctx.done).destroy += 1;
            ctx.hooks
                .finished(addr, Operation::Delete, None, started.elapsed());
            Ok(())
        }
        Err(failure) => {
            let e = failure
                .error
                .without_secrets_of(change.before.as_ref().unwrap_or(&Value::NULL));
            let mut detail = e.detail;
            // The replacement already holds the address, so the state no
            // longer records the old object: say which it is and how to
            // delete it (stackform's own objects also show as strays in
            // the next plan, by their marker).
            if change.action == Action::CreateThenDelete
                && let Some(id) = &id
            {
                detail.push_str(&format!(
                    " The replacement of {addr} exists and is recorded; the old object {id} is no longer managed{}.",
                    rt.delete_command(id)
                        .map(|c| format!(": delete it with `{c}`"))
                        .unwrap_or_default()
                ));
            }
            let d = Diagnostic::error(e.summary, detail).with_address(addr.to_string());
            ctx.hooks.failed(addr, Operation::Delete, &d);
            Err(d)
        }
    }
}

/// A token unique to one create attempt: 64 random bits in hex, which
/// the journal's intent and the object's marker both carry.
fn new_token() -> String {
    let mut token = uuid::Uuid::new_v4().simple().to_string();
    token.truncate(16);
    token
}

/// Runs a provider call, reporting "still running" every ten seconds.
async fn with_progress<T>(
    ctx: &Ctx,
    addr: &ResourceAddr,
    op: Operation,
    call: impl std::future::Future<Output = Result<T, crate::provider::ApplyFailure>>,
) -> Result<T, crate::provider::ApplyFailure> {
    let started = Instant::now();
    let mut call = std::pin::pin!(call);
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_secs(10),
        Duration::from_secs(10),
    );
    loop {
        tokio::select! {
            result = &mut call => return result,
            _ = ticker.tick() => ctx.hooks.still_running(addr, op, started.elapsed()),
        }
    }
}

/// The first place where a known part of `planned` differs from `now`.
fn first_inconsistency(planned: &Value, now: &Value) -> Option<(Path, String, String)> {
    /// `marked`: whether a mark was met on the way down, so that the
    /// values found are described as sensitive.
    fn walk(p: &Value, n: &Value, at: &mut Path, marked: bool) -> Option<(Path, String, String)> {
        let (p, p_marked) = p.unmark();
        let (n, n_marked) = n.unmark();
        let marked = marked || p_marked || n_marked;
        if !p.is_known() {
            return None;
        }
        match (p, n) {
            (Value::Object(pa), Value::Object(na)) => {
                for (k, pv) in pa.iter() {
                    let nv = na.get(k).cloned().unwrap_or(Value::NULL);
                    at.push(crate::lang::value::PathStep::Attr(k.clone()));
                    if let Some(found) = walk(pv, &nv, at, marked) {
                        return Some(found);
                    }
                    at.pop();
                }
                None
            }
            (Value::Tuple(pi), Value::Tuple(ni)) | (Value::List(_, pi), Value::List(_, ni))
                if pi.len() == ni.len() =>
            {
                for (i, (pv, nv)) in pi.iter().zip(ni.iter()).enumerate() {
                    at.push(crate::lang::value::PathStep::Index(i));
                    if let Some(found) = walk(pv, nv, at, marked) {
                        return Some(found);
                    }
                    at.pop();
                }
                None
            }
            _ if p.is_wholly_known() && !p.same_as(n) => {
                Some((at.clone(), describe(p, marked), describe(n, marked)))
            }
            _ => None,
        }
    }
    fn describe(v: &Value, marked: bool) -> String {
        if marked || v.contains_sensitive() {
            "(sensitive value)".into()
        } else if !v.is_wholly_known() {
            "(known after apply)".into()
        } else {
            v.to_json().to_string()
        }
    }
    walk(planned, now, &mut Vec::new(), false)
}

/// The state after the run: the base with every recorded step, the
/// refreshed values and dependencies of unchanged instances, and the
/// outputs evaluated with the final values.
/// Also says whether it differs from the base at all (a run that changes
/// nothing leaves the state file alone).
fn final_state(
    ctx: &Ctx,
    base: State,
    recorded: Vec<Step>,
    failures: &mut Vec<Failure>,
) -> (State, bool) {
    let prior_outputs = base.outputs.clone();
    let mut changed = recorded
        .iter()
        .any(|s| matches!(s, Step::Put(_) | Step::Remove { .. }));
    let mut state = base;
    for step in recorded {
        match step {
            Step::Put(r) => {
                state.remove_intent(&r.address);
                state.put_resource(r);
            }
            Step::Remove { address } => {
                state.remove_intent(&address);
                state.remove_resource(&address);
            }
            Step::Intent(intent) => state.put_intent(intent),
            Step::Settle { address } => {
                state.remove_intent(&address);
            }
        }
    }
    // A create that may have made its object without saying so leaves
    // its intent for the next run to resolve.
    changed |= !state.intents.is_empty();
    for c in &ctx.plan.changes {
        if c.action != Action::NoOp {
            continue;
        }
        let (Some(after), Ok(rt)) = (&c.after, resource_type(ctx, &c.addr)) else {
            continue;
        };
        let status = state
            .resource(&c.addr.to_string())
            .map_or(Status::Ok, |r| r.status);
        let deps = c.dependencies.iter().map(ToString::to_string).collect();
        let record = stored::encode(&c.addr, rt.provider(), after, rt.schema(), status, deps);
        // Refresh may have read new values, or the dependencies changed.
        if state.resource(&record.address) != Some(&record) {
            changed = true;
            state.put_resource(record);
        }
    }
    if ctx.plan.mode == PlanMode::Destroy {
        changed |= !state.outputs.is_empty();
        state.outputs.clear();
        return (state, changed);
    }
    let mut outputs = BTreeMap::new();
    let order: Vec<String> = ctx
        .config_graph
        .order
        .iter()
        .filter_map(|ix| match &ctx.config_graph.graph[*ix] {
            NodeId::Output(module, name) if module.is_empty() => Some(name.clone()),
            _ => None,
        })
        .collect();
    for name in order {
        // A targeted plan planned only the outputs of what it covered.
        if ctx.plan.targeted && !ctx.plan.outputs.iter().any(|o| o.name == name) {
            if let Some(prev) = prior_outputs.get(&name) {
                outputs.insert(name, prev.clone());
            }
            continue;
        }
        let output = &ctx.config.outputs[&name];
        let scope = ctx.run.scope();
        match Evaluator::new(&scope).eval(&output.value.expr) {
            Ok(v) if v.is_null() => {}
            // Known to be sensitive only now that apply made it known.
            Ok(v) if v.contains_sensitive() && !output.sensitive => {
                failures.push(Failure {
                    address: format!("output.{name}"),
                    diagnostic: crate::plan::modules::sensitive_output(&ctx.config, output),
                });
                if let Some(prev) = prior_outputs.get(&name) {
                    outputs.insert(name, prev.clone());
                }
            }
            Ok(v) if v.is_wholly_known() => {
                let (plain, _) = v.unmark_deep();
                outputs.insert(
                    name,
                    OutputState {
                        value: plain.to_json(),
                        value_type: plain.type_of().to_json(),
                        sensitive: output.sensitive,
                    },
                );
            }
            // Something it refers to failed: keep what the state had.
            Ok(_) => {
                if let Some(prev) = prior_outputs.get(&name) {
                    outputs.insert(name, prev.clone());
                }
            }
            Err(e) => {
                failures.push(Failure {
                    address: format!("output.{name}"),
                    diagnostic: Diagnostic::error(e.summary, e.detail)
                        .with_subject(ctx.config.range(output.value.file, e.span))
                        .with_context(format!("output \"{name}\"")),
                });
                if let Some(prev) = prior_outputs.get(&name) {
                    outputs.insert(name, prev.clone());
                }
            }
        }
    }
    changed |= outputs != prior_outputs;
    state.outputs = outputs;
    (state, changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_sources;
    use crate::diag::SourceFile;
    use crate::plan::{PlanRequest, plan};
    use std::path::Path as FsPath;

    struct Run {
        config: Arc<Config>,
        graph: Arc<ConfigGraph>,
    }

    fn load(src: &str) -> Run {
        let config = load_sources(
            FsPath::new("."),
            vec![SourceFile::new("main.tf", "main.tf", src)],
        )
        .unwrap();
        let graph = crate::validate::validate(&config, &Providers::builtin()).unwrap();
        Run {
            config: Arc::new(config),
            graph: Arc::new(graph),
        }
    }

    async fn plan_for(run: &Run, state: &State, mode: PlanMode) -> Plan {
        plan(PlanRequest {
            config: &run.config,
            graph: &run.graph,
            providers: &Providers::builtin(),
            variables: crate::config::variables::resolve(&run.config, &Default::default(), None)
                .unwrap(),
            prior: state,
            mode,
            refresh: true,
            parallelism: 4,
            options: Default::default(),
            strays: &[],
        })
        .await
        .unwrap()
    }

    async fn apply_plan(run: &Run, state: &State, plan: Plan) -> (ApplyResult, Vec<String>, usize) {
        let hooks = Arc::new(hooks::Recording::default());
        let result = apply(ApplyRequest {
            config: run.config.clone(),
            graph: run.graph.clone(),
            providers: Providers::builtin(),
            plan: Arc::new(plan),
            base: state.clone(),
            parallelism: 4,
            cancel: Cancel::new(),
            hooks: hooks.clone(),
            recorder: Box::new(MemoryRecorder::default()),
        })
        .await
        .unwrap();
        let events = hooks.events();
        let n = events.len();
        (result, events, n)
    }

    /// Remembers steps where the test can see them; fails from the
    /// `fail_from`-th call on.
    struct SharedRecorder {
        steps: Arc<Mutex<Vec<Step>>>,
        calls: usize,
        fail_from: usize,
    }

    impl Recorder for SharedRecorder {
        fn record(&mut self, steps: &[Step]) -> Result<(), String> {
            self.calls += 1;
            if self.calls >= self.fail_from {
                return Err("disk full".into());
            }
            lock(&self.steps).extend_from_slice(steps);
            Ok(())
        }
    }

    async fn apply_recorded(run: &Run, plan: Plan, fail_from: usize) -> (ApplyResult, Vec<Step>) {
        let steps = Arc::new(Mutex::new(Vec::new()));
        let result = apply(ApplyRequest {
            config: run.config.clone(),
            graph: run.graph.clone(),
            providers: Providers::builtin(),
            plan: Arc::new(plan),
            base: State::new(),
            parallelism: 1,
            cancel: Cancel::new(),
            hooks: Arc::new(hooks::Silent),
            recorder: Box::new(SharedRecorder {
                steps: steps.clone(),
                calls: 0,
                fail_from,
            }),
        })
        .await
        .unwrap();
        let steps = lock(&steps).clone();
        (result, steps)
    }

    /// A data source that "finds" an object by name: `id` is derived
    /// from the name; the name `missing` finds nothing.
    struct LookupByName(crate::provider::Schema);

    #[async_trait::async_trait]
    impl crate::provider::DataSourceType for LookupByName {
        fn type_name(&self) -> &'static str {
            "test_lookup"
        }
        fn provider(&self) -> &'static str {
            "test"
        }
        fn schema(&self) -> &crate::provider::Schema {
            &self.0
        }
        async fn read(&self, config: &Value) -> Result<Value, crate::provider::ProviderError> {
            let name = config
                .get_attr("name")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            if name == "missing" {
                return Err(crate::provider::ProviderError::new(
                    "No object found",
                    format!("No object matches name = {name:?}."),
                ));
            }
            Ok(Value::object(
                [
                    ("name".to_string(), Value::from(name)),
                    ("id".to_string(), Value::string(format!("id-of-{name}"))),
                ]
                .into_iter()
                .collect(),
            ))
        }
    }

    fn with_lookup() -> Providers {
        let mut providers = Providers::builtin();
        providers.register_data_source(Arc::new(LookupByName(name_and_id())));
        providers
    }

    async fn plan_with_lookup(src: &str) -> Result<(Run, Plan), Diagnostics> {
        let config = load_sources(
            FsPath::new("."),
            vec![SourceFile::new("main.tf", "main.tf", src)],
        )
        .unwrap();
        let providers = with_lookup();
        let graph = crate::validate::validate(&config, &providers)?;
        let run = Run {
            config: Arc::new(config),
            graph: Arc::new(graph),
        };
        let plan = plan(PlanRequest {
            config: &run.config,
            graph: &run.graph,
            providers: &providers,
            variables: BTreeMap::new(),
            prior: &State::new(),
            mode: PlanMode::Normal,
            refresh: true,
            parallelism: 4,
            options: Default::default(),
            strays: &[],
        })
        .await?;
        Ok((run, plan))
    }

    #[tokio::test]
    async fn data_sources_are_read_while_planning_and_feed_resources() {
        let (run, plan) = plan_with_lookup(
            r#"
data "test_lookup" "img" {
  name = "cirros"
}
resource "terraform_data" "vm" {
  input = data.test_lookup.img.id
}
output "image_id" {
  value = data.test_lookup.img.id
}
"#,
        )
        .await
        .unwrap();
        let vm = plan
            .changes
            .iter()
            .find(|c| c.addr.to_string() == "terraform_data.vm")
            .unwrap();
        assert_eq!(vm.action, Action::Create);
        let input = vm.after.as_ref().and_then(|a| a.get_attr("input")).unwrap();
        assert_eq!(input.as_str(), Some("id-of-cirros"), "known at plan time");
        let read = plan
            .changes
            .iter()
            .find(|c| c.addr.to_string() == "data.test_lookup.img")
            .unwrap();
        assert_eq!(read.action, Action::NoOp);

        let result = apply(ApplyRequest {
            config: run.config.clone(),
            graph: run.graph.clone(),
            providers: with_lookup(),
            plan: Arc::new(plan),
            base: State::new(),
            parallelism: 4,
            cancel: Cancel::new(),
            hooks: Arc::new(hooks::Silent),
            recorder: Box::new(MemoryRecorder::default()),
        })
        .await
        .unwrap();
        assert!(result.succeeded());
        let vm = result.state.resource("terraform_data.vm").unwrap();
        assert_eq!(vm.attributes["input"]["value"], "id-of-cirros");
        assert_eq!(result.state.outputs["image_id"].value, "id-of-cirros");
    }

    #[tokio::test]
    async fn a_data_source_whose_arguments_are_unknown_is_read_during_apply() {
        let (run, plan) = plan_with_lookup(
            r#"
resource "terraform_data" "net" {
  input = "private"
}
data "test_lookup" "net" {
  name = terraform_data.net.output
}
resource "terraform_data" "vm" {
  input = data.test_lookup.net.id
}
"#,
        )
        .await
        .unwrap();
        let change = |addr: &str| {
            plan.changes
                .iter()
                .find(|c| c.addr.to_string() == addr)
                .cloned()
                .unwrap()
        };
        let read = change("data.test_lookup.net");
        assert_eq!(read.action, Action::Read);
        assert_eq!(read.reason, Some(crate::plan::Reason::ConfigUnknown));
        let after = read.after.unwrap();
        assert!(!after.get_attr("id").unwrap().is_known(), "{after:?}");
        let vm = change("terraform_data.vm");
        assert!(!vm.after.unwrap().get_attr("input").unwrap().is_known());

        let hooks = Arc::new(hooks::Recording::default());
        let result = apply(ApplyRequest {
            config: run.config.clone(),
            graph: run.graph.clone(),
            providers: with_lookup(),
            plan: Arc::new(plan),
            base: State::new(),
            parallelism: 4,
            cancel: Cancel::new(),
            hooks: hooks.clone(),
            recorder: Box::new(MemoryRecorder::default()),
        })
        .await
        .unwrap();
        assert!(result.succeeded(), "{:?}", result.failures);
        let vm = result.state.resource("terraform_data.vm").unwrap();
        assert_eq!(vm.attributes["input"]["value"], "id-of-private");
        let events = hooks.events();
        let pos = |e: &str| {
            events
                .iter()
                .position(|x| x == e)
                .unwrap_or_else(|| panic!("{e} in {events:?}"))
        };
        assert!(pos("done Create terraform_data.net") < pos("start Read data.test_lookup.net"));
        assert!(pos("done Read data.test_lookup.net") < pos("start Create terraform_data.vm"));
        assert_eq!(result.counts.add, 2, "reads are not counted as changes");
    }

    #[tokio::test]
    async fn a_data_source_that_depends_on_pending_changes_is_read_after_them() {
        let (run, plan) = plan_with_lookup(
            r#"
resource "terraform_data" "img" {
  input = "made"
}
data "test_lookup" "img" {
  name       = "cirros"
  depends_on = [terraform_data.img]
}
"#,
        )
        .await
        .unwrap();
        let read = plan
            .changes
            .iter()
            .find(|c| c.addr.to_string() == "data.test_lookup.img")
            .unwrap();
        assert_eq!(read.action, Action::Read);
        assert_eq!(read.reason, Some(crate::plan::Reason::DependencyPending));
        let hooks = Arc::new(hooks::Recording::default());
        let result = apply(ApplyRequest {
            config: run.config.clone(),
            graph: run.graph.clone(),
            providers: with_lookup(),
            plan: Arc::new(plan),
            base: State::new(),
            parallelism: 4,
            cancel: Cancel::new(),
            hooks: hooks.clone(),
            recorder: Box::new(MemoryRecorder::default()),
        })
        .await
        .unwrap();
        assert!(result.succeeded(), "{:?}", result.failures);
        let events = hooks.events();
        let pos = |e: &str| {
            events
                .iter()
                .position(|x| x == e)
                .unwrap_or_else(|| panic!("{e} in {events:?}"))
        };
        assert!(pos("done Create terraform_data.img") < pos("start Read data.test_lookup.img"));
    }

    #[tokio::test]
    async fn a_failed_read_or_an_unknown_type_is_an_error_naming_the_data_source() {
        let missing = plan_with_lookup("data \"test_lookup\" \"img\" {\n  name = \"missing\"\n}\n")
            .await
            .err()
            .expect("the plan fails");
        let d = &missing.0[0];
        assert_eq!(d.summary, "No object found");
        assert!(d.detail.contains("name = \"missing\""), "{}", d.detail);
        assert_eq!(d.address.as_deref(), Some("data.test_lookup.img"));

        let unknown_type = plan_with_lookup("data \"test_nothing\" \"x\" {}\n")
            .await
            .err()
            .expect("the plan fails");
        assert_eq!(unknown_type.0[0].summary, "Invalid data source");
        assert!(
            unknown_type.0[0].detail.contains("test_lookup"),
            "lists the known ones"
        );
    }

    /// A provider that remembers the configuration it was given, and
    /// refuses the region `nowhere`.
    struct RememberingProvider {
        schema: crate::provider::Schema,
        configured: Mutex<Vec<Value>>,
    }

    impl crate::provider::ProviderType for RememberingProvider {
        fn name(&self) -> &'static str {
            "test"
        }
        fn schema(&self) -> &crate::provider::Schema {
            &self.schema
        }
        fn configure(&self, config: &Value) -> Result<(), crate::provider::ProviderError> {
            if config.get_attr("region").and_then(|r| r.as_str()) == Some("nowhere") {
                return Err(crate::provider::ProviderError::new(
                    "Invalid provider configuration",
                    "There is no region \"nowhere\".",
                ));
            }
            lock(&self.configured).push(config.clone());
            Ok(())
        }
    }

    async fn plan_with_provider(src: &str) -> (Result<Plan, Diagnostics>, Vec<Value>) {
        use crate::provider::{AttrMode, AttributeSchema};
        let mut schema = crate::provider::Schema::default();
        schema.attributes.insert(
            "region".into(),
            AttributeSchema::new(crate::lang::value::Type::String, AttrMode::Optional),
        );
        let provider = Arc::new(RememberingProvider {
            schema,
            configured: Mutex::default(),
        });
        let mut providers = Providers::builtin();
        providers.register_provider(provider.clone());
        let config = load_sources(
            FsPath::new("."),
            vec![SourceFile::new("main.tf", "main.tf", src)],
        )
        .unwrap();
        let result = match crate::validate::validate(&config, &providers) {
            Err(d) => Err(d),
            Ok(graph) => {
                let variables =
                    crate::config::variables::resolve(&config, &Default::default(), None).unwrap();
                plan(PlanRequest {
                    config: &config,
                    graph: &graph,
                    providers: &providers,
                    variables,
                    prior: &State::new(),
                    mode: PlanMode::Normal,
                    refresh: true,
                    parallelism: 1,
                    options: Default::default(),
                    strays: &[],
                })
                .await
            }
        };
        let configured = lock(&provider.configured).clone();
        (result, configured)
    }

    #[tokio::test]
    async fn providers_are_configured_from_their_block_before_planning() {
        let (plan, configured) = plan_with_provider(
            "variable \"region\" {\n  default = \"RegionOne\"\n}\nlocals {\n  r = upper(var.region)\n}\nprovider \"test\" {\n  region = local.r\n}\n",
        )
        .await;
        assert!(plan.is_ok());
        assert_eq!(configured.len(), 1);
        assert_eq!(
            configured[0].get_attr("region").and_then(|r| r.as_str()),
            Some("REGIONONE")
        );
        // Without a block, the provider is configured with null.
        let (_, configured) = plan_with_provider("").await;
        assert_eq!(configured.len(), 1);
        assert!(configured[0].is_null());
    }

    #[tokio::test]
    async fn bad_provider_blocks_are_errors_at_the_block() {
        let errors = |r: Result<Plan, Diagnostics>| -> Vec<(String, String, Option<usize>)> {
            r.expect_err("the plan fails")
                .0
                .into_iter()
                .map(|d| (d.summary, d.detail, d.subject.map(|s| s.start.line)))
                .collect()
        };
        let unknown = errors(plan_with_provider("provider \"nope\" {}\n").await.0);
        assert_eq!(unknown[0].0, "Invalid provider");
        assert!(unknown[0].1.contains("test"), "lists the known providers");
        assert_eq!(unknown[0].2, Some(1));

        let twice = errors(
            plan_with_provider("provider \"test\" {}\n\nprovider \"test\" {}\n")
                .await
                .0,
        );
        assert_eq!(twice[0].0, "Duplicate provider configuration");
        assert!(twice[0].1.contains("main.tf:1"), "{}", twice[0].1);
        assert_eq!(twice[0].2, Some(3));

        let unknown_arg = errors(
            plan_with_provider("provider \"test\" {\n  zone = 1\n}\n")
                .await
                .0,
        );
        assert_eq!(unknown_arg[0].0, "Unsupported argument");

        let late = errors(
            plan_with_provider(
                "resource \"terraform_data\" \"a\" {}\nprovider \"test\" {\n  region = terraform_data.a.id\n}\n",
            )
            .await
            .0,
        );
        assert!(late[0].0.contains("known only after apply"), "{late:?}");
        assert_eq!(late[0].2, Some(2));

        let refused = errors(
            plan_with_provider("provider \"test\" {\n  region = \"nowhere\"\n}\n")
                .await
                .0,
        );
        assert_eq!(refused[0].0, "Invalid provider configuration");
        assert_eq!(refused[0].2, Some(1));
    }

    /// A resource type whose objects live in a shared map (id → name)
    /// and which refreshes them all with one bulk read.
    struct BulkReader {
        schema: crate::provider::Schema,
        cloud: Arc<Mutex<BTreeMap<String, String>>>,
        single_reads: Arc<Mutex<usize>>,
        bulk_reads: Arc<Mutex<Vec<usize>>>,
    }

    /// `name` (required) and `id` (computed): the schema of the test types.
    fn name_and_id() -> crate::provider::Schema {
        use crate::lang::value::Type;
        use crate::provider::{AttrMode, AttributeSchema};
        let mut schema = crate::provider::Schema::default();
        schema.attributes.insert(
            "name".into(),
            AttributeSchema::new(Type::String, AttrMode::Required),
        );
        schema.attributes.insert(
            "id".into(),
            AttributeSchema::new(Type::String, AttrMode::Computed),
        );
        schema
    }

    impl BulkReader {
        fn new() -> Arc<BulkReader> {
            Arc::new(BulkReader {
                schema: name_and_id(),
                cloud: Arc::default(),
                single_reads: Arc::default(),
                bulk_reads: Arc::default(),
            })
        }
    }

    fn named(id: &str, name: &str) -> Value {
        Value::object(
            [
                ("id".to_string(), Value::from(id)),
                ("name".to_string(), Value::from(name)),
            ]
            .into_iter()
            .collect(),
        )
    }

    #[async_trait::async_trait]
    impl ResourceType for BulkReader {
        fn type_name(&self) -> &'static str {
            "test_bulk"
        }
        fn provider(&self) -> &'static str {
            "test"
        }
        fn schema(&self) -> &crate::provider::Schema {
            &self.schema
        }
        async fn create(
            &self,
            planned: &Value,
            _marker: &Marker,
        ) -> Result<Value, crate::provider::ApplyFailure> {
            let name = planned
                .get_attr("name")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            let id = format!("id-{name}");
            lock(&self.cloud).insert(id.clone(), name.clone());
            Ok(named(&id, &name))
        }
        async fn update(
            &self,
            prior: &Value,
            planned: &Value,
            _marker: &Marker,
        ) -> Result<Value, crate::provider::ApplyFailure> {
            let id = prior
                .get_attr("id")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            let name = planned
                .get_attr("name")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            lock(&self.cloud).insert(id.clone(), name.clone());
            Ok(named(&id, &name))
        }
        async fn delete(&self, prior: &Value) -> Result<(), crate::provider::ProviderError> {
            let id = prior
                .get_attr("id")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            lock(&self.cloud).remove(id);
            Ok(())
        }
        async fn read(
            &self,
            _current: &Value,
        ) -> Result<Option<Value>, crate::provider::ProviderError> {
            *lock(&self.single_reads) += 1;
            Err(crate::provider::ProviderError::new(
                "read",
                "refresh should read in bulk",
            ))
        }
        fn reads_in_bulk(&self) -> bool {
            true
        }
        async fn import(&self, id: &str) -> Result<Option<Value>, crate::provider::ProviderError> {
            Ok(lock(&self.cloud).get(id).map(|name| named(id, name)))
        }
        async fn read_all(
            &self,
            current: &[Value],
        ) -> Result<Vec<Option<Value>>, crate::provider::ProviderError> {
            lock(&self.bulk_reads).push(current.len());
            let cloud = lock(&self.cloud);
            Ok(current
                .iter()
                .map(|c| {
                    let id = c
                        .get_attr("id")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default();
                    cloud.get(id).map(|name| named(id, name))
                })
                .collect())
        }
    }

    #[tokio::test]
    async fn refresh_reads_bulk_types_in_one_call_and_plans_drift_back() {
        let bulk = BulkReader::new();
        let mut providers = Providers::builtin();
        providers.register(bulk.clone());
        let config = load_sources(
            FsPath::new("."),
            vec![SourceFile::new(
                "main.tf",
                "main.tf",
                "resource \"test_bulk\" \"n\" {\n  count = 3\n  name  = \"n${count.index}\"\n}\n",
            )],
        )
        .unwrap();
        let graph = crate::validate::validate(&config, &providers).unwrap();
        let run = Run {
            config: Arc::new(config),
            graph: Arc::new(graph),
        };
        let plan_from = |state: State| {
            let (run, providers) = (&run, &providers);
            async move {
                plan(PlanRequest {
                    config: &run.config,
                    graph: &run.graph,
                    providers,
                    variables: BTreeMap::new(),
                    prior: &state,
                    mode: PlanMode::Normal,
                    refresh: true,
                    parallelism: 4,
                    options: Default::default(),
                    strays: &[],
                })
                .await
                .unwrap()
            }
        };
        let first = plan_from(State::new()).await;
        let applied = apply(ApplyRequest {
            config: run.config.clone(),
            graph: run.graph.clone(),
            providers: providers.clone(),
            plan: Arc::new(first),
            base: State::new(),
            parallelism: 4,
            cancel: Cancel::new(),
            hooks: Arc::new(hooks::Silent),
            recorder: Box::new(MemoryRecorder::default()),
        })
        .await
        .unwrap();
        assert!(applied.succeeded());
        assert_eq!(lock(&bulk.cloud).len(), 3);

        // Outside stackform: n0 is deleted, n1 renamed.
        lock(&bulk.cloud).remove("id-n0");
        lock(&bulk.cloud).insert("id-n1".into(), "renamed".into());
        let second = plan_from(applied.state).await;
        assert_eq!(
            *lock(&bulk.bulk_reads),
            vec![3],
            "one bulk read of all three"
        );
        assert_eq!(*lock(&bulk.single_reads), 0);
        let action = |a: &str| {
            second
                .changes
                .iter()
                .find(|c| c.addr.to_string() == a)
                .map(|c| c.action)
        };
        assert_eq!(action("test_bulk.n[0]"), Some(Action::Create));
        assert_eq!(action("test_bulk.n[1]"), Some(Action::Update));
        assert_eq!(action("test_bulk.n[2]"), Some(Action::NoOp));
        let drifted: Vec<String> = second.drift.iter().map(|d| d.addr.to_string()).collect();
        assert_eq!(drifted, ["test_bulk.n[0]", "test_bulk.n[1]"]);
    }

    #[tokio::test]
    async fn import_records_an_existing_object_or_says_why_not() {
        use crate::plan::import::{ImportRequest, import};
        let bulk = BulkReader::new();
        lock(&bulk.cloud).insert("abc".into(), "web".into());
        let mut providers = Providers::builtin();
        providers.register(bulk.clone());
        let config = load_sources(
            FsPath::new("."),
            vec![SourceFile::new(
                "main.tf",
                "main.tf",
                "resource \"test_bulk\" \"one\" {\n  name = \"web\"\n}\nresource \"test_bulk\" \"many\" {\n  count = 2\n  name  = \"x\"\n}\nresource \"terraform_data\" \"d\" {}\n",
            )],
        )
        .unwrap();
        let graph = crate::validate::validate(&config, &providers).unwrap();
        let variables = BTreeMap::new();
        let run = |addr: &str, id: &str, state: &State| {
            let addr: ResourceAddr = addr.parse().unwrap();
            let (config, graph, providers, variables) = (&config, &graph, &providers, &variables);
            let state = state.clone();
            let id = id.to_string();
            async move {
                import(ImportRequest {
                    config,
                    graph,
                    providers,
                    variables,
                    state: &state,
                    addr: &addr,
                    id: &id,
                })
                .await
                .map_err(|d| d.0[0].summary.clone())
            }
        };
        let record = run("test_bulk.one", "abc", &State::new()).await.unwrap();
        assert_eq!(record.address, "test_bulk.one");
        assert_eq!(record.attributes["id"], "abc");
        assert_eq!(record.attributes["name"], "web");
        assert_eq!(
            run("test_bulk.many[1]", "abc", &State::new())
                .await
                .unwrap()
                .address,
            "test_bulk.many[1]"
        );

        let mut state = State::new();
        state.put_resource(record);
        let refusals = [
            (
                "test_bulk.one",
                "abc",
                "Resource already managed by stackform",
            ),
            (
                "test_bulk.many[0]",
                "nope",
                "Cannot import non-existent remote object",
            ),
            (
                "test_bulk.other",
                "abc",
                "Configuration for import target does not exist",
            ),
            ("test_bulk.many", "abc", "Invalid import address"),
            ("test_bulk.one[0]", "abc", "Invalid import address"),
            ("data.test_bulk.one", "abc", "Invalid import address"),
            (
                "terraform_data.d",
                "abc",
                "Resource type does not support import",
            ),
        ];
        for (addr, id, why) in refusals {
            assert_eq!(run(addr, id, &state).await.unwrap_err(), why, "{addr}");
        }
    }

    #[tokio::test]
    async fn every_create_is_announced_before_it_is_recorded() {
        let v1 = load(V1);
        let plan = plan_for(&v1, &State::new(), PlanMode::Normal).await;
        let (result, steps) = apply_recorded(&v1, plan, usize::MAX).await;
        assert!(result.succeeded());
        let puts: Vec<(usize, &str)> = steps
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Step::Put(r) => Some((i, r.address.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(puts.len(), 3);
        for (i, address) in puts {
            let announced = steps[..i]
                .iter()
                .any(|s| matches!(s, Step::Intent(i) if i.address == address));
            assert!(
                announced,
                "{address} was recorded without an intent before it"
            );
        }
    }

    #[tokio::test]
    async fn a_journal_that_cannot_be_written_stops_the_run() {
        let v1 = load(V1);
        let plan = plan_for(&v1, &State::new(), PlanMode::Normal).await;
        // The first call (an intent) succeeds; everything after fails.
        let (result, steps) = apply_recorded(&v1, plan, 2).await;
        assert_eq!(
            result
                .record_error
                .as_deref()
                .map(|e| e.contains("disk full")),
            Some(true)
        );
        assert_eq!(steps.len(), 1, "only the first intent was recorded");
        assert_eq!(
            result.not_started,
            ["terraform_data.srv[0]", "terraform_data.srv[1]"],
            "nothing new starts"
        );
    }

    fn actions(plan: &Plan) -> Vec<String> {
        plan.changes
            .iter()
            .filter(|c| c.action != Action::NoOp)
            .map(|c| format!("{:?} {}", c.action, c.addr))
            .collect()
    }

    fn output(state: &State, name: &str) -> serde_json::Value {
        state.outputs[name].value.clone()
    }

    const V1: &str = r#"
variable "names" { default = ["a", "b"] }
resource "terraform_data" "net" {
  input = "net"
}
resource "terraform_data" "srv" {
  count            = length(var.names)
  input            = "${var.names[count.index]}-${terraform_data.net.output}"
  triggers_replace = [var.names[count.index]]
}
locals { joined = "%{ for s in terraform_data.srv[*].output }${s};%{ endfor }" }
output "joined" { value = local.joined }
"#;

    #[test]
    fn an_inconsistent_final_plan_does_not_show_a_sensitive_value() {
        let obj = |pw: &str| {
            Value::object(
                [
                    ("name".to_string(), Value::from("web")),
                    ("pw".to_string(), Value::from(pw).mark_sensitive()),
                ]
                .into(),
            )
        };
        let (path, was, is) =
            first_inconsistency(&obj("hunter2"), &obj("hunter3")).expect("an inconsistency");
        assert_eq!(path, [crate::lang::value::PathStep::Attr("pw".into())]);
        assert_eq!(
            (was.as_str(), is.as_str()),
            ("(sensitive value)", "(sensitive value)")
        );
        let plain = |n: &str| Value::object([("name".to_string(), Value::from(n))].into());
        let (_, was, is) = first_inconsistency(&plain("a"), &plain("b")).expect("inconsistent");
        assert_eq!((was.as_str(), is.as_str()), ("\"a\"", "\"b\""));
    }

    #[tokio::test]
    async fn terraform_data_output_is_as_sensitive_as_its_input_once_applied() {
        let run = load(
            r#"
variable "pw" {
  sensitive = true
  default   = "hunter2"
}
resource "terraform_data" "d" {
  input = { a = var.pw, b = "plain", n = { c = [var.pw, "x"] } }
}
output "whole" {
  value     = terraform_data.d.output
  sensitive = true
}
output "leak" { value = terraform_data.d.output.n.c[0] }
output "plain" { value = terraform_data.d.output.b }
"#,
        );
        let empty = State::new();
        let p = plan_for(&run, &empty, PlanMode::Normal).await;
        let (r, _, _) = apply_plan(&run, &empty, p).await;
        let paths: Vec<String> = r
            .state
            .resource("terraform_data.d")
            .map(|d| d.sensitive_paths.iter().map(|p| format!("{p:?}")).collect())
            .unwrap_or_default();
        assert_eq!(
            paths,
            [
                r#"[Name("input"), Name("a")]"#,
                r#"[Name("input"), Name("n"), Name("c"), Index(0)]"#,
                r#"[Name("output"), Name("a")]"#,
                r#"[Name("output"), Name("n"), Name("c"), Index(0)]"#,
            ]
        );
        // Known to be sensitive only after apply: refused then, as a plan
        // would have refused it.
        let failed: Vec<&str> = r.failures.iter().map(|f| f.address.as_str()).collect();
        assert_eq!(failed, ["output.leak"]);
        assert!(!r.state.outputs.contains_key("leak"));
        assert_eq!(output(&r.state, "plain"), serde_json::json!("plain"));
        assert!(r.state.outputs["whole"].sensitive);
    }

    #[tokio::test]
    async fn create_then_no_changes_then_update_replace_and_destroy() {
        let v1 = load(V1);
        let empty = State::new();
        let p = plan_for(&v1, &empty, PlanMode::Normal).await;
        assert_eq!(
            actions(&p),
            [
                "Create terraform_data.net",
                "Create terraform_data.srv[0]",
                "Create terraform_data.srv[1]"
            ]
        );
        let (r, events, _) = apply_plan(&v1, &empty, p).await;
        assert!(r.succeeded(), "{:?}", r.failures);
        assert_eq!(
            r.counts,
            Counts {
                import: 0,
                add: 3,
                change: 0,
                destroy: 0,
                forget: 0
            }
        );
        let pos = |e: &str| events.iter().position(|x| x == e).unwrap();
        assert!(pos("done Create terraform_data.net") < pos("start Create terraform_data.srv[0]"));
        assert_eq!(
            output(&r.state, "joined"),
            serde_json::json!("a-net;b-net;")
        );
        assert_eq!(r.state.resources.len(), 3);
        assert_eq!(
            r.state
                .resource("terraform_data.srv[1]")
                .unwrap()
                .dependencies,
            ["terraform_data.net"]
        );

        let again = plan_for(&v1, &r.state, PlanMode::Normal).await;
        assert!(!again.has_changes(), "{:?}", actions(&again));

        let v2 = load(
            &V1.replace("input = \"net\"", "input = \"lan\"")
                .replace("[\"a\", \"b\"]", "[\"a\", \"c\"]"),
        );
        let p2 = plan_for(&v2, &r.state, PlanMode::Normal).await;
        assert_eq!(
            actions(&p2),
            [
                "Update terraform_data.net",
                "Update terraform_data.srv[0]",
                "DeleteThenCreate terraform_data.srv[1]"
            ]
        );
        assert_eq!(
            p2.counts(),
            Counts {
                import: 0,
                add: 1,
                change: 2,
                destroy: 1,
                forget: 0
            }
        );
        let (r2, events, _) = apply_plan(&v2, &r.state, p2).await;
        assert!(r2.succeeded(), "{:?}", r2.failures);
        assert_eq!(
            output(&r2.state, "joined"),
            serde_json::json!("a-lan;c-lan;")
        );
        let pos = |e: &str| events.iter().position(|x| x == e).unwrap();
        assert!(
            pos("done Delete terraform_data.srv[1]") < pos("start Create terraform_data.srv[1]")
        );

        let d = plan_for(&v2, &r2.state, PlanMode::Destroy).await;
        assert_eq!(
            d.counts(),
            Counts {
                import: 0,
                add: 0,
                change: 0,
                destroy: 3,
                forget: 0
            }
        );
        let (r3, events, _) = apply_plan(&v2, &r2.state, d).await;
        assert!(r3.succeeded());
        assert!(r3.state.resources.is_empty() && r3.state.outputs.is_empty());
        let pos = |e: &str| events.iter().position(|x| x == e).unwrap();
        assert!(pos("done Delete terraform_data.srv[0]") < pos("start Delete terraform_data.net"));
    }

    #[tokio::test]
    async fn a_smaller_count_deletes_the_extra_instances() {
        let v1 = load(V1);
        let (r, _, _) = apply_plan(
            &v1,
            &State::new(),
            plan_for(&v1, &State::new(), PlanMode::Normal).await,
        )
        .await;
        let v2 = load(&V1.replace("[\"a\", \"b\"]", "[\"a\"]"));
        let p = plan_for(&v2, &r.state, PlanMode::Normal).await;
        assert_eq!(actions(&p), ["Delete terraform_data.srv[1]"]);
        assert_eq!(
            p.changes
                .iter()
                .find(|c| c.action == Action::Delete)
                .unwrap()
                .reason,
            Some(crate::plan::Reason::CountIndex)
        );
        let (r2, _, _) = apply_plan(&v2, &r.state, p).await;
        assert_eq!(output(&r2.state, "joined"), serde_json::json!("a-net;"));
    }
}
