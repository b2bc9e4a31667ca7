//! Planning: what would change if the configuration were applied.
//!
//! The planner decodes the prior state, refreshes it from the providers
//! (drift), then walks the configuration graph in dependency order:
//! locals are evaluated, each resource block is expanded (`count`,
//! `for_each`) and every instance's configuration is handed to its
//! resource type, which proposes the new state. Comparing proposal and
//! prior gives one action per instance. Instances in the state that the
//! configuration no longer has are deleted. The result is data: `ui`
//! renders it and `apply` executes it.

pub mod body;
pub mod conditions;
pub mod expand;
pub mod file;
pub mod generate;
pub mod import;
pub mod modules;
pub mod saved;
pub mod stored;
pub mod values;

pub use crate::addr::Target;
use crate::addr::{ConfigAddr, InstanceKey, ModuleInstance, ResourceAddr};
use crate::config::{Config, DependsOnTarget, IgnoreChanges, Resource};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::{ConfigGraph, NodeId};
use crate::lang::eval::{Evaluator, get_attr, index};
use crate::lang::limits;
use crate::lang::refs::{Reference, ResourceMode, parse_reference};
use crate::lang::value::{Path, Type, Value};
use crate::provider::{
    MarkedAddress, ProviderError, Providers, ResourceType, Schema, address_digest, plan_by_schema,
};
use crate::refresh::Stray;
use crate::state::{State, Status};
use conditions::Checked;
use hcl::edit::Span;
use hcl::edit::expr::{Expression, TraversalOperator};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use values::{Expansion, RunValues};

/// What happens to one resource instance. The symbol is how plans show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NoOp,
    Create,
    Read,
    Update,
    /// Replace: destroy the old object, then create the new one.
    DeleteThenCreate,
    /// Replace with `create_before_destroy`: the new object first.
    CreateThenDelete,
    Delete,
    /// Drop the object from the state and leave it in the cloud
    /// (`removed` with `destroy = false`).
    Forget,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Read => "<=",
            Action::Update => "~",
            Action::DeleteThenCreate => "-/+",
            Action::CreateThenDelete => "+/-",
            Action::Delete => "-",
            Action::Forget => ".",
        }
    }

    pub fn is_replace(self) -> bool {
        matches!(self, Action::DeleteThenCreate | Action::CreateThenDelete)
    }

    /// Whether the action destroys an object.
    pub fn destroys(self) -> bool {
        self.is_replace() || self == Action::Delete
    }
}

/// Why an action was chosen, when the plan should say so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The object is tainted (a create that failed halfway).
    Tainted,
    /// A `removed` block says the resource left the configuration.
    RemovedConfig,
    /// The resource block is gone from the configuration.
    NoResourceConfig,
    /// The module instance it belongs to is gone from the configuration.
    NoModule,
    /// The count no longer includes this index.
    CountIndex,
    /// The for_each value no longer includes this key.
    EachKey,
    /// The block switched between count, for_each and neither.
    WrongRepetition,
    /// The resource was deleted outside stackform.
    DeletedOutside,
    /// A data source's arguments are known only once apply has made
    /// what they refer to: it is read during apply.
    ConfigUnknown,
    /// A data source `depends_on` a resource with planned changes: it is
    /// read during apply, after them.
    DependencyPending,
    /// `-replace=ADDRESS` asked for it.
    ReplaceByRequest,
    /// Something its `replace_triggered_by` refers to changes.
    ReplaceByTriggers,
}

#[derive(Clone, Debug)]
pub struct ResourceChange {
    pub addr: ResourceAddr,
    pub provider: String,
    pub action: Action,
    pub reason: Option<Reason>,
    /// The object as it is now (refreshed); `None` when it does not exist.
    pub before: Option<Value>,
    /// The object as it will be (unknowns where only apply can tell);
    /// `None` when it will not exist.
    pub after: Option<Value>,
    /// The attributes whose change forces replacement.
    pub replace_paths: Vec<Path>,
    /// The address the state held the object at, when a `moved` block
    /// moved it here.
    pub previous_address: Option<ResourceAddr>,
    /// The id an `import` block imports the object from.
    pub importing: Option<String>,
    /// For an in-place update that disrupts the object (a server resized
    /// or stopped), what the resource type says happens to it.
    pub disruption: Option<String>,
    /// The resource blocks this one depends on, directly or through
    /// locals: the state records them to order a later destroy.
    pub dependencies: Vec<ConfigAddr>,
    pub create_before_destroy: bool,
}

#[derive(Clone, Debug)]
pub struct OutputChange {
    pub name: String,
    pub action: Action,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub sensitive: bool,
}

/// A managed object that changed outside stackform since the last run.
#[derive(Clone, Debug)]
pub struct ResourceDrift {
    pub addr: ResourceAddr,
    pub before: Value,
    /// `None` when the object was deleted.
    pub after: Option<Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanMode {
    Normal,
    Destroy,
    /// `-refresh-only`: record what refresh found, change nothing.
    #[serde(rename = "refresh-only")]
    RefreshOnly,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub mode: PlanMode,
    /// One entry per resource instance, no-ops included, sorted by address.
    pub changes: Vec<ResourceChange>,
    pub outputs: Vec<OutputChange>,
    pub drift: Vec<ResourceDrift>,
    /// The variable values the plan was made with (apply uses them again).
    pub variables: BTreeMap<String, Value>,
    /// The state the plan was made against.
    pub state_lineage: Option<String>,
    pub state_serial: u64,
    pub config_digest: String,
    /// Made with `-target` or `-exclude`: it leaves some of the
    /// configuration unplanned, so apply takes the instances it planned
    /// as they are rather than expanding every block again.
    pub targeted: bool,
    /// What planning found worth saying without stopping: failed `check`
    /// assertions. Not saved with the plan.
    pub warnings: Vec<Diagnostic>,
    /// Which attributes of each resource type's objects are nested
    /// blocks, so that plans show them as blocks.
    pub layouts: BTreeMap<String, BlockLayout>,
    /// Objects that carry this state's marker but that the state did not
    /// record, and whether this plan adopts them. Not saved with the plan:
    /// the adopted ones are its imports.
    pub strays: Vec<StrayObject>,
}

#[cfg(test)]
impl StrayObject {
    /// One adopted stray and one reported, for the renderers' tests.
    pub(crate) fn samples() -> Vec<StrayObject> {
        vec![
            StrayObject {
                type_name: "openstack_compute_instance_v2".into(),
                id: "5d8e0c1a".into(),
                name: Some("web-3".into()),
                addr: "openstack_compute_instance_v2.web[3]".parse().ok(),
                adopted: true,
                reason: None,
                delete_command: Some("openstack server delete 5d8e0c1a".into()),
            },
            StrayObject {
                type_name: "openstack_networking_network_v2".into(),
                id: "77aa0b2c".into(),
                name: Some("old-net".into()),
                addr: "openstack_networking_network_v2.old[\"a\"]".parse().ok(),
                adopted: false,
                reason: Some(
                    "the configuration does not declare openstack_networking_network_v2.old[\"a\"]"
                        .into(),
                ),
                delete_command: Some("openstack network delete 77aa0b2c".into()),
            },
        ]
    }
}

/// An object in the cloud that carries this state's marker (stackform
/// created it for this stack) but that the state does not record: a run
/// stopped before recording it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StrayObject {
    pub type_name: String,
    pub id: String,
    /// Its name in the cloud.
    pub name: Option<String>,
    /// The address its marker names, when that can be told (a marker in
    /// a description names it by digest, matched against the addresses
    /// the configuration and the state have).
    pub addr: Option<ResourceAddr>,
    /// Adopted by this plan: the change at `addr` imports it.
    pub adopted: bool,
    /// Why it is not adopted.
    pub reason: Option<String>,
    /// The command that deletes it, when its type names one.
    pub delete_command: Option<String>,
}

/// The nested blocks of an object (recursively), by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockLayout(pub BTreeMap<String, BlockLayout>);

impl BlockLayout {
    pub fn of(schema: &Schema) -> BlockLayout {
        BlockLayout(
            schema
                .blocks
                .iter()
                .map(|(name, block)| (name.clone(), BlockLayout::of(&block.schema)))
                .collect(),
        )
    }
}

/// The plan's summary line: how many objects are added, changed and
/// destroyed (a replacement counts as one added and one destroyed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub import: usize,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub forget: usize,
}

impl ResourceChange {
    /// A change with nothing but its address, provider and action: no
    /// values, reasons or dependencies yet.
    pub fn new(addr: ResourceAddr, provider: impl Into<String>, action: Action) -> ResourceChange {
        ResourceChange {
            addr,
            provider: provider.into(),
            action,
            reason: None,
            before: None,
            after: None,
            replace_paths: Vec::new(),
            previous_address: None,
            importing: None,
            disruption: None,
            dependencies: Vec::new(),
            create_before_destroy: false,
        }
    }
}

impl Plan {
    /// A plan of `mode` with the given changes and nothing else: no
    /// outputs, drift, variables or state it was made against.
    pub fn with_changes(mode: PlanMode, changes: Vec<ResourceChange>) -> Plan {
        Plan {
            mode,
            changes,
            outputs: Vec::new(),
            drift: Vec::new(),
            variables: BTreeMap::new(),
            state_lineage: None,
            state_serial: 0,
            config_digest: String::new(),
            targeted: false,
            warnings: Vec::new(),
            layouts: BTreeMap::new(),
            strays: Vec::new(),
        }
    }

    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for ch in &self.changes {
            if ch.importing.is_some() {
                c.import += 1;
            }
            match ch.action {
                Action::Create => c.add += 1,
                Action::Update => c.change += 1,
                Action::Delete => c.destroy += 1,
                Action::DeleteThenCreate | Action::CreateThenDelete => {
                    c.add += 1;
                    c.destroy += 1;
                }
                Action::Forget => c.forget += 1,
                Action::NoOp | Action::Read => {}
            }
        }
        c
    }

    /// The in-place updates that disrupt their objects.
    pub fn disruptive_updates(&self) -> impl Iterator<Item = &ResourceChange> {
        self.changes
            .iter()
            .filter(|c| c.action == Action::Update && c.disruption.is_some())
    }

    /// Whether applying changes any object or record: moved objects
    /// count, as the state records them at new addresses.
    pub fn has_resource_changes(&self) -> bool {
        self.changes.iter().any(|c| {
            !matches!(c.action, Action::NoOp | Action::Read)
                || c.previous_address.is_some()
                || c.importing.is_some()
        })
    }

    pub fn has_output_changes(&self) -> bool {
        self.outputs.iter().any(|o| o.action != Action::NoOp)
    }

    /// Whether applying the plan would change anything at all. A
    /// refresh-only plan changes the state when refresh found drift.
    /// Objects stackform made that the state does not record count too:
    /// someone must decide about them.
    pub fn has_changes(&self) -> bool {
        if !self.strays.is_empty() {
            return true;
        }
        if self.mode == PlanMode::RefreshOnly {
            return !self.drift.is_empty();
        }
        self.has_resource_changes() || self.has_output_changes()
    }

    pub fn change(&self, addr: &ResourceAddr) -> Option<&ResourceChange> {
        self.changes
            .binary_search_by(|c| c.addr.cmp(addr))
            .ok()
            .map(|i| &self.changes[i])
    }
}

/// What planning needs.
pub struct PlanRequest<'a> {
    pub config: &'a Config,
    pub graph: &'a ConfigGraph,
    pub providers: &'a Providers,
    pub variables: BTreeMap<String, Value>,
    pub prior: &'a State,
    pub mode: PlanMode,
    pub refresh: bool,
    pub parallelism: usize,
    pub options: PlanOptions,
    /// Objects carrying the state's marker that the state does not record
    /// (see `refresh`): the plan adopts those whose address the
    /// configuration declares and nothing else holds.
    pub strays: &'a [Stray],
}

/// What the command line narrows or forces in a plan.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Instances to replace even though nothing forces it (`-replace`).
    pub replace: BTreeSet<ResourceAddr>,
    /// `-target`: only these, and what they depend on, are planned.
    pub targets: Vec<Target>,
    /// `-exclude`: these, and what depends on them, are not planned.
    pub excludes: Vec<Target>,
}

impl PlanOptions {
    pub fn is_targeted(&self) -> bool {
        !self.targets.is_empty() || !self.excludes.is_empty()
    }
}

/// Which instances a targeted plan covers.
struct Scope {
    targets: Vec<Target>,
    excludes: Vec<Target>,
    /// Blocks the targets depend on, each with the module instance keys
    /// the need is limited to (a target in `module.a["x"]` needs what it
    /// depends on in that module instance only; `None` is any key).
    needed: Vec<(ConfigAddr, Vec<Option<InstanceKey>>)>,
    /// Blocks excluded whole: excluded ones, and what depends on them.
    excluded: BTreeSet<ConfigAddr>,
}

impl Scope {
    fn new(options: &PlanOptions, config: &Config, graph: &ConfigGraph) -> Option<Scope> {
        if !options.is_targeted() {
            return None;
        }
        let deps = |block: &ConfigAddr| {
            graph.resource_dependencies_transitive(&NodeId::Resource(block.clone()))
        };
        let blocks_of = |t: &Target| -> Vec<ConfigAddr> {
            config
                .resources
                .keys()
                .filter(|b| t.touches(b))
                .cloned()
                .collect()
        };
        let mut needed = Vec::new();
        for t in &options.targets {
            for block in blocks_of(t) {
                for dep in deps(&block) {
                    let common = block
                        .module
                        .iter()
                        .zip(&dep.module)
                        .take_while(|(a, b)| a == b)
                        .count();
                    let keys = (0..dep.module.len())
                        .map(|i| {
                            t.module
                                .get(i)
                                .filter(|_| i < common)
                                .and_then(|(_, k)| k.clone())
                        })
                        .collect();
                    needed.push((dep, keys));
                }
            }
        }
        let excluded_blocks: BTreeSet<ConfigAddr> =
            options.excludes.iter().flat_map(blocks_of).collect();
        let mut excluded: BTreeSet<ConfigAddr> = config
            .resources
            .keys()
            .filter(|b| options.excludes.iter().any(|x| x.covers_whole(b)))
            .cloned()
            .collect();
        for block in config.resources.keys() {
            if deps(block).iter().any(|d| excluded_blocks.contains(d)) {
                excluded.insert(block.clone());
            }
        }
        Some(Scope {
            targets: options.targets.clone(),
            excludes: options.excludes.clone(),
            needed,
            excluded,
        })
    }

    fn targeted(&self, block: &ConfigAddr) -> bool {
        self.targets.is_empty()
            || self.needed.iter().any(|(b, _)| b == block)
            || self.targets.iter().any(|t| t.touches(block))
    }

    /// Whether some instance of the block may be planned.
    fn touches(&self, block: &ConfigAddr) -> bool {
        self.targeted(block) && !self.excluded.contains(block)
    }

    /// Whether every instance of the block is planned.
    fn covers(&self, block: &ConfigAddr) -> bool {
        let whole_target = self.targets.is_empty()
            || self
                .needed
                .iter()
                .any(|(b, keys)| b == block && keys.iter().all(Option::is_none))
            || self.targets.iter().any(|t| t.covers_whole(block));
        whole_target
            && !self.excluded.contains(block)
            && !self.excludes.iter().any(|x| x.touches(block))
    }

    fn includes(&self, addr: &ResourceAddr) -> bool {
        let targeted = self.targets.is_empty()
            || self.needed.iter().any(|(b, keys)| {
                *b == addr.resource
                    && keys
                        .iter()
                        .zip(&addr.module_keys)
                        .all(|(want, have)| want.as_ref().is_none_or(|k| k == have))
            })
            || self.targets.iter().any(|t| t.matches(addr));
        targeted
            && !self.excluded.contains(&addr.resource)
            && !self.excludes.iter().any(|x| x.matches(addr))
    }
}

/// A resource instance as the prior state has it, decoded.
#[derive(Clone, Debug)]
pub struct PriorInstance {
    pub value: Value,
    pub status: Status,
    pub provider: String,
    pub dependencies: Vec<String>,
}

/// Decodes every resource of a state with its type's schema.
pub fn decode_state(
    state: &State,
    providers: &Providers,
) -> Result<BTreeMap<ResourceAddr, PriorInstance>, Diagnostics> {
    let mut out = BTreeMap::new();
    let mut diags = Diagnostics::default();
    for r in &state.resources {
        let addr = r.addr();
        let Some(rt) = providers.resource(&r.type_name) else {
            diags.push(Diagnostic::error(
                "Unknown resource type in state",
                format!("The state holds {} of type {:?}, which this version of stackform does not know.", r.address, r.type_name),
            ).with_address(r.address.clone()));
            continue;
        };
        match stored::decode(r, rt.schema()) {
            Ok(value) => {
                // What the type computes from a sensitive attribute is
                // sensitive too, also in a state recorded without saying so.
                let (_, marks) = value.unmark_with_paths();
                let value = value.mark_paths(&rt.derived_sensitive_paths(&marks));
                out.insert(
                    addr,
                    PriorInstance {
                        value,
                        status: r.status,
                        provider: r.provider.clone(),
                        dependencies: r.dependencies.clone(),
                    },
                );
            }
            Err(e) => diags.push(
                Diagnostic::error(
                    "Invalid resource in state",
                    format!("The state record of {} cannot be read: {e}.", r.address),
                )
                .with_address(r.address.clone()),
            ),
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
    }
}

/// What is known before anything is planned: the variables, and the
/// locals built from them (a local that refers to more is unknown here;
/// the plan reports its errors).
pub(crate) fn values_before_planning(
    config: &Config,
    graph: &ConfigGraph,
    variables: &BTreeMap<String, Value>,
) -> RunValues {
    let run = RunValues::for_config(config, variables.clone());
    for &ix in &graph.order {
        if let NodeId::Local(module, name) = &graph.graph[ix]
            && module.is_empty()
        {
            let scope = run.scope();
            let value = Evaluator::new(&scope)
                .eval(&config.locals[name].value.expr)
                .unwrap_or_else(|_| Value::unknown());
            run.set_local(&ModuleInstance::root(), name, value);
        }
    }
    run
}

/// Reads the objects `import` blocks name into the prior state, for the
/// instances the state has nothing at yet. Returns the id each was
/// imported from.
async fn import_objects(
    req: &PlanRequest<'_>,
    run: &RunValues,
    prior: &mut BTreeMap<ResourceAddr, PriorInstance>,
) -> Result<BTreeMap<ResourceAddr, String>, Diagnostics> {
    let mut imported = BTreeMap::new();
    if req.config.imports.is_empty() || req.mode != PlanMode::Normal {
        return Ok(imported);
    }
    let mut diags = Diagnostics::default();
    for import in &req.config.imports {
        let subject = req.config.range(import.file, import.span.clone());
        let fail = |summary: &str, detail: String| {
            Diagnostic::error(summary, detail).with_subject(subject.clone())
        };
        let expansion = match &import.for_each {
            None => Expansion::Single,
            Some(for_each) => {
                let value = Evaluator::new(&run.scope())
                    .eval(&for_each.expr)
                    .map(|v| v.unmark_deep().0);
                match value.as_ref().ok().and_then(import_elements) {
                    Some(elements) => Expansion::ForEach(elements),
                    None => {
                        diags.push(fail(
                            "Invalid import for_each",
                            "The for_each of an import block must be a map, or a set or list of strings, known before planning.".into(),
                        ));
                        continue;
                    }
                }
            }
        };
        for each in expansion.keys() {
            let scope = run.instance_scope(&ModuleInstance::root(), &each, &expansion);
            let mut eval = Evaluator::new(&scope);
            let key = match &import.key {
                None => Some(InstanceKey::None),
                Some(k) => eval.eval(k).ok().and_then(|v| instance_key_of(&v)),
            };
            let id = eval
                .eval(&import.id.expr)
                .ok()
                .map(|v| v.unmark_deep().0)
                .and_then(|v| v.as_str().map(str::to_string));
            let (Some(key), Some(id)) = (key, id) else {
                diags.push(fail(
                    "Invalid import",
                    "The import block's id must be a string, and its instance key a number or string, both known before planning.".into(),
                ));
                continue;
            };
            let module = ModuleInstance::from_parts(&import.to.module, &import.module_keys);
            let addr = import.to.instance_in(&module, key);
            if prior.contains_key(&addr) || imported.contains_key(&addr) {
                // Already managed: the import block has done its work.
                continue;
            }
            let Some(rt) = req.providers.resource(&addr.resource.type_name) else {
                continue;
            };
            match rt.import(&id).await {
                Ok(Some(value)) => {
                    prior.insert(
                        addr.clone(),
                        PriorInstance {
                            value,
                            status: Status::Ok,
                            provider: rt.provider().to_string(),
                            dependencies: Vec::new(),
                        },
                    );
                    imported.insert(addr, id);
                }
                Ok(None) => diags.push(
                    fail(
                        "Cannot import non-existent remote object",
                        format!(
                            "No object of type {} with id {id:?} exists in the cloud stackform is configured for. Only existing objects can be imported: check the id, the project and the region.",
                            addr.resource.type_name
                        ),
                    )
                    .with_address(addr.to_string()),
                ),
                Err(e) => diags.push(
                    Diagnostic::error(e.summary, e.detail)
                        .with_subject(subject.clone())
                        .with_address(addr.to_string()),
                ),
            }
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(imported)
}

/// An import block's `for_each` as keys and `each.value`s.
fn import_elements(v: &Value) -> Option<BTreeMap<String, Value>> {
    match v {
        Value::Map(_, items) | Value::Object(items) => Some(items.as_ref().clone()),
        Value::Set(_, items) | Value::List(_, items) | Value::Tuple(items) => items
            .iter()
            .map(|i| i.as_str().map(|s| (s.to_string(), i.clone())))
            .collect(),
        _ => None,
    }
}

/// Evaluates each `provider` block and configures every provider (with
/// null when it has no block). Provider blocks may refer to variables and
/// locals: nothing else is known before planning.
pub fn configure_providers(
    config: &Config,
    graph: &ConfigGraph,
    providers: &Providers,
    variables: &BTreeMap<String, Value>,
) -> Result<(), Diagnostics> {
    configure_providers_with(
        config,
        providers,
        &values_before_planning(config, graph, variables),
    )
}

/// Configures every provider with the values known before planning.
fn configure_providers_with(
    config: &Config,
    providers: &Providers,
    run: &RunValues,
) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::default();
    for provider in providers.all_providers() {
        let block = config.providers.iter().find(|b| b.name == provider.name());
        let (value, subject) = match block {
            Some(block) => {
                let scope = run.scope();
                let mut eval = Evaluator::new(&scope);
                let before = diags.0.len();
                let value = body::eval_body(
                    config,
                    block.file,
                    &block.body,
                    provider.schema(),
                    &mut eval,
                    &format!("provider \"{}\"", block.name),
                    &mut diags,
                );
                if diags.0.len() > before {
                    continue;
                }
                (value, config.range(block.file, block.span.clone()))
            }
            None => (Value::NULL, None),
        };
        if !value.is_wholly_known() {
            diags.push(
                Diagnostic::error(
                    "Provider configuration depends on values known only after apply",
                    format!(
                        "The provider \"{}\" is configured before anything is planned, so its block may refer only to variables and to locals built from them.",
                        provider.name()
                    ),
                )
                .with_subject(subject),
            );
            continue;
        }
        let (plain, _) = value.unmark_deep();
        if let Err(e) = provider.configure(&plain) {
            diags.push(Diagnostic::error(e.summary, e.detail).with_subject(subject));
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(())
    }
}

/// Makes a plan.
pub async fn plan(req: PlanRequest<'_>) -> Result<Plan, Diagnostics> {
    // Providers and import blocks see the same values, evaluated once.
    let early = values_before_planning(req.config, req.graph, &req.variables);
    configure_providers_with(req.config, req.providers, &early)?;
    let mut prior = decode_state(req.prior, req.providers)?;
    let moved = apply_moves(req.config, &mut prior)?;
    let mut imported = import_objects(&req, &early, &mut prior).await?;
    let drift = if req.refresh {
        refresh(&mut prior, req.providers, req.parallelism).await?
    } else {
        Vec::new()
    };
    let strays = adopt_strays(&req, &mut prior, &mut imported).await?;
    let mut planner = Planner::new(&req, prior);
    match req.mode {
        PlanMode::Normal => planner.plan_config().await,
        PlanMode::Destroy => {}
        PlanMode::RefreshOnly => planner.keep_everything(),
    }
    if req.mode != PlanMode::RefreshOnly {
        planner.plan_orphans(req.mode);
        planner.plan_removed_outputs(req.prior, req.mode);
    }
    // An object imported to an instance the configuration does not have
    // would be planned for deletion: refuse rather than destroy it.
    for c in &planner.changes {
        if imported.contains_key(&c.addr) && c.action == Action::Delete {
            let import = req.config.imports.iter().find(|i| i.to == c.addr.resource);
            planner.diags.push(
                Diagnostic::error(
                    "Configuration for import target does not exist",
                    format!(
                        "The configuration has no instance {}: its count, for_each or module does not give it, so the imported object would be destroyed. Import to an instance the configuration declares.",
                        c.addr
                    ),
                )
                .with_subject(import.and_then(|i| req.config.range(i.file, i.span.clone())))
                .with_address(c.addr.to_string()),
            );
        }
    }
    if planner.diags.has_errors() {
        return Err(planner.diags);
    }
    if req.mode == PlanMode::Normal {
        planner.check_assertions();
    }
    let mut changes = planner.changes;
    for change in &mut changes {
        change.previous_address = moved.get(&change.addr).cloned();
        change.importing = imported.get(&change.addr).cloned();
    }
    changes.sort_by(|a, b| a.addr.cmp(&b.addr));
    let layouts = changes
        .iter()
        .map(|c| &c.addr)
        .chain(drift.iter().map(|d| &d.addr))
        .filter_map(|addr| {
            let schema = req
                .providers
                .schema(addr.resource.mode, &addr.resource.type_name)?;
            Some((addr.resource.type_name.clone(), BlockLayout::of(schema)))
        })
        .collect();
    let mut outputs = planner.outputs;
    outputs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Plan {
        mode: req.mode,
        changes,
        outputs,
        drift,
        variables: req.variables,
        state_lineage: (req.prior.serial > 0).then(|| req.prior.lineage.clone()),
        state_serial: req.prior.serial,
        config_digest: req.config.digest(),
        targeted: req.options.is_targeted(),
        warnings: planner.warnings,
        layouts,
        strays,
    })
}

/// A stray's state as `import` reads it, once the cloud has finished its
/// create where it does so on its own, and whether it is complete.
async fn adopt(
    rt: &dyn ResourceType,
    object: &crate::provider::MarkedObject,
) -> Result<Option<(Value, bool)>, ProviderError> {
    let complete = object.complete || rt.finish_create(&object.id).await?;
    Ok(rt.import(&object.id).await?.map(|value| (value, complete)))
}

/// Adopts the strays whose address the configuration declares and the
/// prior state leaves free: each is read as `import` reads an object and
/// joins the prior state (tainted when its create never finished, so it
/// is replaced), and its change imports it. The others are reported.
/// Which addresses the configuration declares takes a planning pass of
/// its own (`count` and `for_each` decide), made only when there are
/// strays.
async fn adopt_strays(
    req: &PlanRequest<'_>,
    prior: &mut BTreeMap<ResourceAddr, PriorInstance>,
    imported: &mut BTreeMap<ResourceAddr, String>,
) -> Result<Vec<StrayObject>, Diagnostics> {
    if req.strays.is_empty() {
        return Ok(Vec::new());
    }
    let declared: BTreeSet<ResourceAddr> = if req.mode == PlanMode::RefreshOnly {
        BTreeSet::new()
    } else {
        let mut first = Planner::new(req, prior.clone());
        first.plan_config().await;
        first
            .changes
            .into_iter()
            .filter(|c| !matches!(c.action, Action::Delete | Action::Forget))
            .map(|c| c.addr)
            .collect()
    };
    let mut diags = Diagnostics::default();
    let mut out = Vec::new();
    for stray in req.strays {
        let object = &stray.object;
        let addr = match (&stray.addr, &object.marker.address) {
            (Some(addr), _) => Some(addr.clone()),
            (None, MarkedAddress::Exact(_)) => None,
            (None, MarkedAddress::Digest(digest)) => declared
                .iter()
                .chain(prior.keys())
                .find(|a| address_digest(&a.to_string()) == *digest)
                .cloned(),
        };
        let mut report = StrayObject {
            type_name: stray.type_name.clone(),
            id: object.id.clone(),
            name: object.name.clone(),
            addr: addr.clone(),
            adopted: false,
            reason: None,
            delete_command: req
                .providers
                .resource(&stray.type_name)
                .and_then(|rt| rt.delete_command(&object.id)),
        };
        let rt = req.providers.resource(&stray.type_name);
        report.reason = match (&addr, rt) {
            _ if req.mode == PlanMode::RefreshOnly => {
                Some("a refresh-only plan adopts nothing".into())
            }
            (None, _) => Some("the address it was created for is not in the configuration".into()),
            (Some(a), _) if prior.contains_key(a) => {
                Some(format!("another object is recorded at {a}"))
            }
            (Some(a), _) if !declared.contains(a) => {
                Some(format!("the configuration does not declare {a}"))
            }
            (Some(a), _) if a.resource.type_name != stray.type_name => {
                Some(format!("{a} is not of type {}", stray.type_name))
            }
            (Some(_), None) => Some(format!(
                "this version of stackform does not know type {}",
                stray.type_name
            )),
            (Some(a), Some(rt)) => match adopt(rt.as_ref(), object).await {
                Ok(Some((value, complete))) => {
                    prior.insert(
                        a.clone(),
                        PriorInstance {
                            value,
                            status: if complete {
                                Status::Ok
                            } else {
                                Status::Tainted
                            },
                            provider: rt.provider().to_string(),
                            dependencies: Vec::new(),
                        },
                    );
                    imported.insert(a.clone(), object.id.clone());
                    report.adopted = true;
                    None
                }
                Ok(None) => continue,
                Err(e) => {
                    diags.push(Diagnostic::error(e.summary, e.detail).with_address(a.to_string()));
                    continue;
                }
            },
        };
        out.push(report);
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(out)
}

/// Moves prior instances as the `moved` blocks say. A chain (a to b, b
/// to c) ends at its last address whatever order the blocks are written
/// in. Returns, for each moved instance, where the state recorded it.
pub(crate) fn apply_moves(
    config: &Config,
    prior: &mut BTreeMap<ResourceAddr, PriorInstance>,
) -> Result<BTreeMap<ResourceAddr, ResourceAddr>, Diagnostics> {
    let mut previous: BTreeMap<ResourceAddr, ResourceAddr> = BTreeMap::new();
    let mut diags = Diagnostics::default();
    // Each pass follows one more link of the longest chain.
    for _ in 0..config.moved.len() {
        let mut moved_any = false;
        for m in &config.moved {
            let from: Vec<ResourceAddr> = prior
                .keys()
                .filter(|a| a.resource.mode == ResourceMode::Managed && m.from.matches(a))
                .cloned()
                .collect();
            for old in from {
                let new = m.from.moved_to(&m.to, &old);
                if prior.contains_key(&new) {
                    diags.push(
                        Diagnostic::error(
                            "Moved object already exists",
                            format!(
                                "The state holds objects at both {old} and {new}, so the move cannot happen. Remove one of them from the state, or this moved block."
                            ),
                        )
                        .with_subject(config.range(m.file, m.span.clone())),
                    );
                    continue;
                }
                if let Some(instance) = prior.remove(&old) {
                    prior.insert(new.clone(), instance);
                    let origin = previous.remove(&old).unwrap_or(old);
                    previous.insert(new, origin);
                    moved_any = true;
                }
            }
        }
        if !moved_any || diags.has_errors() {
            break;
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(previous)
}

/// Reads every managed object from its provider, in parallel, and
/// replaces the prior values with what was read. Returns what changed.
async fn refresh(
    prior: &mut BTreeMap<ResourceAddr, PriorInstance>,
    providers: &Providers,
    parallelism: usize,
) -> Result<Vec<ResourceDrift>, Diagnostics> {
    let permits = Arc::new(tokio::sync::Semaphore::new(parallelism.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    // Types that read in bulk get all their instances in one task.
    type BulkRead = (Arc<dyn ResourceType>, Vec<ResourceAddr>, Vec<Value>);
    let mut bulk: BTreeMap<&str, BulkRead> = BTreeMap::new();
    for (addr, p) in prior.iter() {
        if addr.resource.mode != ResourceMode::Managed {
            continue;
        }
        let Some(rt) = providers.resource(&addr.resource.type_name).cloned() else {
            continue;
        };
        let (plain, _) = p.value.unmark_deep();
        if rt.reads_in_bulk() {
            let entry = bulk
                .entry(rt.type_name())
                .or_insert_with(|| (rt.clone(), Vec::new(), Vec::new()));
            entry.1.push(addr.clone());
            entry.2.push(plain);
            continue;
        }
        let addr = addr.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let read = rt.read(&plain).await;
            vec![(addr, read)]
        });
    }
    for (_, (rt, addrs, values)) in bulk {
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            match rt.read_all(&values).await {
                Ok(read) if read.len() == addrs.len() => {
                    addrs.into_iter().zip(read.into_iter().map(Ok)).collect()
                }
                Ok(_) => addrs
                    .into_iter()
                    .map(|a| {
                        let e = ProviderError::new(
                            "Refresh failed",
                            format!(
                                "The provider's bulk read of {} gave a wrong number of answers.",
                                rt.type_name()
                            ),
                        );
                        (a, Err(e))
                    })
                    .collect(),
                // One failed list call is one error, not one per instance.
                Err(e) => addrs
                    .into_iter()
                    .next()
                    .map(|a| (a, Err(e)))
                    .into_iter()
                    .collect(),
            }
        });
    }
    let mut drift = Vec::new();
    let mut diags = Diagnostics::default();
    let mut reads = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(batch) => reads.extend(batch),
            Err(_) => diags.push(Diagnostic::error(
                "Refresh failed",
                "A provider read panicked.",
            )),
        }
    }
    for (addr, read) in reads {
        let Some(p) = prior.get_mut(&addr) else {
            continue;
        };
        match read {
            Ok(Some(now)) => {
                let (_, marks) = p.value.unmark_with_paths();
                let now = now.mark_paths(&marks);
                if !now.same_as(&p.value) {
                    drift.push(ResourceDrift {
                        addr: addr.clone(),
                        before: p.value.clone(),
                        after: Some(now.clone()),
                    });
                    p.value = now;
                }
            }
            Ok(None) => {
                drift.push(ResourceDrift {
                    addr: addr.clone(),
                    before: p.value.clone(),
                    after: None,
                });
                prior.remove(&addr);
            }
            Err(e) => {
                let e = e.without_secrets_of(&p.value);
                diags.push(Diagnostic::error(e.summary, e.detail).with_address(addr.to_string()))
            }
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    drift.sort_by(|a, b| a.addr.cmp(&b.addr));
    Ok(drift)
}

struct Planner<'a> {
    config: &'a Config,
    graph: &'a ConfigGraph,
    providers: &'a Providers,
    run: RunValues,
    prior: BTreeMap<ResourceAddr, PriorInstance>,
    prior_outputs: &'a BTreeMap<String, crate::state::OutputState>,
    /// Prior instances the configuration still has.
    visited: BTreeSet<ResourceAddr>,
    changes: Vec<ResourceChange>,
    outputs: Vec<OutputChange>,
    diags: Diagnostics,
    warnings: Vec<Diagnostic>,
    options: PlanOptions,
    scope: Option<Scope>,
}

impl<'a> Planner<'a> {
    fn new(req: &PlanRequest<'a>, prior: BTreeMap<ResourceAddr, PriorInstance>) -> Planner<'a> {
        Planner {
            config: req.config,
            graph: req.graph,
            providers: req.providers,
            run: RunValues::for_config(req.config, req.variables.clone()),
            prior,
            prior_outputs: &req.prior.outputs,
            visited: BTreeSet::new(),
            changes: Vec::new(),
            outputs: Vec::new(),
            diags: Diagnostics::default(),
            warnings: Vec::new(),
            options: req.options.clone(),
            scope: Scope::new(&req.options, req.config, req.graph),
        }
    }

    async fn plan_config(&mut self) {
        for &ix in &self.graph.order {
            match self.graph.graph[ix].clone() {
                NodeId::Output(module, name) if module.is_empty() => {
                    if self.output_in_scope(&name) {
                        self.plan_output(&name);
                    }
                }
                node @ (NodeId::Variable(..)
                | NodeId::Local(..)
                | NodeId::Module(_)
                | NodeId::Output(..)) => {
                    let diags = modules::evaluate_node(self.config, &self.run, &node);
                    self.diags.extend(diags);
                }
                NodeId::Resource(addr)
                    if self.scope.as_ref().is_some_and(|s| !s.touches(&addr)) =>
                {
                    self.keep_prior(&addr);
                }
                NodeId::Resource(addr) if addr.mode == ResourceMode::Data => {
                    self.read_data_source(&addr).await;
                }
                NodeId::Resource(addr) => self.plan_resource(&addr),
            }
        }
    }

    /// A block a targeted plan leaves alone: its instances stay as the
    /// state has them, as no-ops, and are what references to it see.
    fn keep_prior(&mut self, addr: &ConfigAddr) {
        let kept: Vec<(ResourceAddr, PriorInstance)> = self
            .prior
            .iter()
            .filter(|(a, _)| a.resource == *addr)
            .map(|(a, p)| (a.clone(), p.clone()))
            .collect();
        let mut by_module: BTreeMap<ModuleInstance, HashMap<InstanceKey, Value>> = BTreeMap::new();
        for module in self.run.module_instances(&addr.module) {
            by_module.entry(module).or_default();
        }
        for (instance, prior) in kept {
            by_module
                .entry(instance.module_instance())
                .or_default()
                .insert(instance.key.clone(), prior.value.clone());
            self.keep_instance(&instance, &prior);
        }
        let resource = &self.config.resources[addr];
        for (module, instances) in by_module {
            // Nothing recorded: what refers to it waits for a plan that
            // covers it, rather than seeing an empty block.
            let value = if instances.is_empty() {
                Value::unknown()
            } else {
                expansion_of(resource, &instances).aggregate(&instances)
            };
            self.run.set_resource(&module, addr, value);
        }
    }

    /// A refresh-only plan: every object as refresh read it, unchanged.
    fn keep_everything(&mut self) {
        let all: Vec<(ResourceAddr, PriorInstance)> = self
            .prior
            .iter()
            .map(|(a, p)| (a.clone(), p.clone()))
            .collect();
        for (instance, prior) in all {
            self.keep_instance(&instance, &prior);
        }
    }

    fn keep_instance(&mut self, instance: &ResourceAddr, prior: &PriorInstance) {
        self.visited.insert(instance.clone());
        if instance.resource.mode == ResourceMode::Data {
            return;
        }
        self.changes.push(ResourceChange {
            addr: instance.clone(),
            provider: prior.provider.clone(),
            action: Action::NoOp,
            reason: None,
            before: Some(prior.value.clone()),
            after: Some(prior.value.clone()),
            replace_paths: Vec::new(),
            dependencies: prior
                .dependencies
                .iter()
                .filter_map(|d| parse_config_addr(d))
                .collect(),
            create_before_destroy: false,
            disruption: None,
            previous_address: None,
            importing: None,
        });
    }

    /// A targeted plan plans an output only when everything it refers to
    /// is planned whole.
    fn output_in_scope(&self, name: &str) -> bool {
        let Some(scope) = &self.scope else {
            return true;
        };
        self.graph
            .resource_dependencies_transitive(&NodeId::Output(Vec::new(), name.to_string()))
            .iter()
            .all(|d| scope.covers(d))
    }

    /// A block's instances (from `count`/`for_each`) and the resource
    /// blocks it depends on; `None` (with the error reported and the
    /// block's value unknown) when the expansion fails.
    fn expand_block(
        &mut self,
        module: &ModuleInstance,
        addr: &ConfigAddr,
    ) -> Option<(Expansion, Vec<ConfigAddr>)> {
        let resource = &self.config.resources[addr];
        match expand::expand(self.config, resource, &self.run.module_scope(module)) {
            Ok(expansion) => Some((
                expansion,
                self.graph
                    .resource_dependencies_transitive(&NodeId::Resource(addr.clone())),
            )),
            Err(d) => {
                self.diags.push(d);
                self.run.set_resource(module, addr, Value::unknown());
                None
            }
        }
    }

    fn plan_resource(&mut self, addr: &ConfigAddr) {
        // Blocks in modules with many instances multiply: the limit holds
        // for all of a block's instances together.
        let mut planned = 0;
        for module in self.run.module_instances(&addr.module) {
            if !self.plan_resource_in(&module, addr, &mut planned) {
                return;
            }
        }
    }

    /// Plans the instances of a block in one module instance, counting
    /// them into `planned`; false when that passes the limit (reported),
    /// and no more should be planned.
    fn plan_resource_in(
        &mut self,
        module: &ModuleInstance,
        addr: &ConfigAddr,
        planned: &mut usize,
    ) -> bool {
        let resource = &self.config.resources[addr];
        let Some(rt) = self.providers.resource(&addr.type_name).cloned() else {
            // `validate` reported it.
            self.run.set_resource(module, addr, Value::unknown());
            return true;
        };
        let Some((expansion, dependencies)) = self.expand_block(module, addr) else {
            return true;
        };
        *planned += expansion.instance_count();
        if *planned > expand::MAX_INSTANCES {
            self.diags.push(
                Diagnostic::error(
                    "Too many instances",
                    expand::too_many_instances(&format!(
                        "{}, in all the instances of its module,",
                        resource.describe()
                    )),
                )
                .with_subject(self.config.range(resource.file, resource.span.clone())),
            );
            self.run.set_resource(module, addr, Value::unknown());
            return false;
        }
        let mut instances = HashMap::new();
        for key in expansion.keys() {
            let instance = addr.instance_in(module, key.clone());
            let Some(config_value) = instance_config(
                self.config,
                resource,
                rt.schema(),
                &instance,
                &expansion,
                &self.run,
                &mut self.diags,
            ) else {
                instances.insert(key, Value::unknown());
                continue;
            };
            let prior = self.prior.get(&instance).cloned();
            if self.scope.as_ref().is_some_and(|s| !s.includes(&instance)) {
                match &prior {
                    Some(p) => {
                        instances.insert(key, p.value.clone());
                        self.keep_instance(&instance, p);
                    }
                    None => {
                        instances.insert(key, Value::unknown());
                    }
                }
                continue;
            }
            if prior.is_some() {
                self.visited.insert(instance.clone());
            }
            let forced = if self.options.replace.contains(&instance) {
                Some(Reason::ReplaceByRequest)
            } else if self.replacement_triggered(resource, &instance, &expansion) {
                Some(Reason::ReplaceByTriggers)
            } else {
                None
            };
            if !self.preconditions_hold(resource, &instance, &expansion) {
                instances.insert(key, Value::unknown());
                continue;
            }
            match plan_instance(
                rt.as_ref(),
                resource,
                &instance,
                &config_value,
                prior.as_ref(),
                dependencies.clone(),
                forced,
            ) {
                Ok(change) => {
                    if let Some(after) = &change.after {
                        self.check_postconditions(resource, &instance, &expansion, after);
                    }
                    instances.insert(key, change.after.clone().unwrap_or(Value::NULL));
                    self.changes.push(change);
                }
                Err(d) => {
                    self.diags.push(d);
                    instances.insert(key, Value::unknown());
                }
            }
        }
        self.run
            .set_resource(module, addr, expansion.aggregate(&instances));
        true
    }

    /// Checks an instance's preconditions; false when one fails (it is
    /// reported) and the instance must not be planned.
    fn preconditions_hold(
        &mut self,
        resource: &Resource,
        instance: &ResourceAddr,
        expansion: &Expansion,
    ) -> bool {
        let scope = self
            .run
            .instance_scope(&instance.module_instance(), &instance.key, expansion);
        let mut eval = Evaluator::new(&scope);
        let mut hold = true;
        for c in &resource.lifecycle.preconditions {
            match conditions::check(
                self.config,
                c,
                &mut eval,
                "Resource precondition failed",
                &resource.describe(),
            ) {
                Checked::Passed | Checked::NotYetKnown => {}
                Checked::Failed(d) | Checked::Invalid(d) => {
                    self.diags.push(d.with_address(instance.to_string()));
                    hold = false;
                }
            }
        }
        hold
    }

    /// Checks an instance's postconditions against its planned value;
    /// those that depend on what only apply can tell wait for it.
    fn check_postconditions(
        &mut self,
        resource: &Resource,
        instance: &ResourceAddr,
        expansion: &Expansion,
        planned: &Value,
    ) {
        let scope = self
            .run
            .instance_scope(&instance.module_instance(), &instance.key, expansion);
        let mut eval = Evaluator::new(&scope);
        for c in &resource.lifecycle.postconditions {
            let checked = eval.with_binding("self", planned.clone(), |eval| {
                conditions::check(
                    self.config,
                    c,
                    eval,
                    "Resource postcondition failed",
                    &resource.describe(),
                )
            });
            if let Checked::Failed(d) | Checked::Invalid(d) = checked {
                self.diags.push(d.with_address(instance.to_string()));
            }
        }
    }

    /// `check` blocks: a failed assertion is a warning, not an error.
    fn check_assertions(&mut self) {
        let failed = conditions::failed_assertions(self.config, &self.run);
        self.warnings.extend(failed);
    }

    /// Whether a planned change of something the instance's
    /// `replace_triggered_by` refers to replaces it: an update or
    /// replacement of a referenced resource (any of its instances) or
    /// instance, or any change of a referenced attribute.
    fn replacement_triggered(
        &mut self,
        resource: &Resource,
        instance: &ResourceAddr,
        expansion: &Expansion,
    ) -> bool {
        let module = instance.module_instance();
        for trigger in &resource.lifecycle.replace_triggered_by {
            let Expression::Traversal(t) = &trigger.expr else {
                continue;
            };
            let Expression::Variable(root) = &t.expr else {
                continue;
            };
            let ops: Vec<&TraversalOperator> = t.operators.iter().map(|o| o.value()).collect();
            let Ok((
                Reference::Resource {
                    mode,
                    type_name,
                    name,
                },
                used,
            )) = parse_reference(root.as_str(), &ops)
            else {
                continue;
            };
            let target = ConfigAddr {
                module: resource.addr.module.clone(),
                mode,
                type_name,
                name,
            };
            let mut rest = &ops[used..];
            let scope = self.run.instance_scope(&module, &instance.key, expansion);
            let mut eval = Evaluator::new(&scope);
            let wanted_key = match rest.first() {
                Some(TraversalOperator::Index(index)) => {
                    rest = &rest[1..];
                    match eval.eval(index).map(|v| instance_key_of(&v)) {
                        Ok(Some(k)) => Some(k),
                        _ => {
                            self.diags.push(
                                Diagnostic::error(
                                    "Invalid replace_triggered_by expression",
                                    "The instance key must be a known number or string.",
                                )
                                .with_subject(self.config.range(trigger.file, index.span()))
                                .with_context(resource.describe()),
                            );
                            continue;
                        }
                    }
                }
                Some(TraversalOperator::LegacyIndex(n)) => {
                    rest = &rest[1..];
                    Some(InstanceKey::Int(*n.value()))
                }
                _ => None,
            };
            let changed = self.changes.iter().filter(|c| {
                c.addr.resource == target
                    && c.addr.module_keys == instance.module_keys
                    && wanted_key.as_ref().is_none_or(|k| &c.addr.key == k)
            });
            for change in changed {
                let triggered = if rest.is_empty() {
                    change.action == Action::Update || change.action.is_replace()
                } else {
                    !matches!(change.action, Action::NoOp | Action::Read)
                        && attribute_changed(change, rest, &mut eval)
                };
                if triggered {
                    return true;
                }
            }
        }
        false
    }

    /// Reads each instance of a data source now, so that the plan shows
    /// what the configuration will be built from; the plan carries the
    /// values read (as no-op changes) to apply. An instance whose
    /// arguments are not known yet is planned as a read during apply.
    async fn read_data_source(&mut self, addr: &ConfigAddr) {
        for module in self.run.module_instances(&addr.module) {
            self.read_data_source_in(&module, addr).await;
        }
    }

    async fn read_data_source_in(&mut self, module: &ModuleInstance, addr: &ConfigAddr) {
        let resource = &self.config.resources[addr];
        let Some(ds) = self.providers.data_source(&addr.type_name).cloned() else {
            // `validate` reported it.
            self.run.set_resource(module, addr, Value::unknown());
            return;
        };
        let Some((expansion, dependencies)) = self.expand_block(module, addr) else {
            return;
        };
        // As in Terraform: what a data source explicitly depends on must
        // be applied before it is read.
        let dependency_pending = resource.depends_on.iter().any(|d| {
            self.changes.iter().any(|c| {
                c.action != Action::NoOp
                    && match &d.target {
                        DependsOnTarget::Resource(a) => c.addr.resource == *a,
                        DependsOnTarget::Module(p) => c.addr.resource.module.starts_with(p),
                    }
            })
        });
        let mut instances = HashMap::new();
        for key in expansion.keys() {
            let instance = addr.instance_in(module, key.clone());
            let subject = self.config.range(resource.file, resource.span.clone());
            let Some(config_value) = instance_config(
                self.config,
                resource,
                ds.schema(),
                &instance,
                &expansion,
                &self.run,
                &mut self.diags,
            ) else {
                instances.insert(key, Value::unknown());
                continue;
            };
            let deferred = if !config_value.is_wholly_known() {
                Some(Reason::ConfigUnknown)
            } else if dependency_pending {
                Some(Reason::DependencyPending)
            } else {
                None
            };
            if let Some(reason) = deferred {
                // Read during apply, once what it refers to exists; until
                // then what it will find is unknown.
                let after = plan_by_schema(ds.schema(), None, &config_value).planned;
                instances.insert(key, after.clone());
                self.changes.push(ResourceChange {
                    addr: instance,
                    provider: ds.provider().to_string(),
                    action: Action::Read,
                    reason: Some(reason),
                    before: None,
                    after: Some(after),
                    replace_paths: Vec::new(),
                    disruption: None,
                    previous_address: None,
                    importing: None,
                    dependencies: dependencies.clone(),
                    create_before_destroy: false,
                });
                continue;
            }
            let (plain, marks) = config_value.unmark_with_paths();
            match ds.read(&plain).await {
                Ok(read) => {
                    let value = read.mark_paths(&marks);
                    instances.insert(key, value.clone());
                    self.changes.push(ResourceChange {
                        addr: instance,
                        provider: ds.provider().to_string(),
                        action: Action::NoOp,
                        reason: None,
                        before: None,
                        after: Some(value),
                        replace_paths: Vec::new(),
                        disruption: None,
                        previous_address: None,
                        importing: None,
                        dependencies: dependencies.clone(),
                        create_before_destroy: false,
                    });
                }
                Err(e) => {
                    let e = e.without_secrets_of(&config_value);
                    let d = Diagnostic::error(e.summary, e.detail)
                        .with_subject(subject)
                        .with_address(instance.to_string());
                    // A check's own data source failing is the check
                    // failing: a warning, as its assertions would give.
                    if resource.check.is_some() {
                        self.warnings.push(Diagnostic {
                            severity: crate::diag::Severity::Warning,
                            ..d
                        });
                    } else {
                        self.diags.push(d);
                    }
                    instances.insert(key, Value::unknown());
                }
            }
        }
        self.run
            .set_resource(module, addr, expansion.aggregate(&instances));
    }

    fn plan_output(&mut self, name: &str) {
        let output = &self.config.outputs[name];
        let scope = self.run.scope();
        for c in &output.preconditions {
            let checked = conditions::check(
                self.config,
                c,
                &mut Evaluator::new(&scope),
                "Module output value precondition failed",
                &format!("output \"{name}\""),
            );
            if let Checked::Failed(d) | Checked::Invalid(d) = checked {
                self.diags.push(d);
                return;
            }
        }
        let value = match Evaluator::new(&scope).eval(&output.value.expr) {
            Ok(v) => v,
            Err(e) => {
                self.diags.push(
                    Diagnostic::error(e.summary, e.detail)
                        .with_subject(self.config.range(output.value.file, e.span))
                        .with_context(format!("output \"{name}\"")),
                );
                return;
            }
        };
        if value.contains_sensitive() && !output.sensitive {
            self.diags
                .push(modules::sensitive_output(self.config, output));
            return;
        }
        if limits::nests_deeper_than(&value, limits::MAX_NESTING) {
            self.diags.push(
                Diagnostic::error(
                    "Value nests too deeply",
                    format!("{}.", limits::too_deep("The output's value")),
                )
                .with_subject(
                    self.config
                        .range(output.value.file, output.value.expr.span()),
                )
                .with_context(format!("output \"{name}\"")),
            );
            return;
        }
        let after = value.marked_if(output.sensitive);
        let before = self.prior_outputs.get(name).map(decode_output);
        // Terraform keeps no null outputs in the state: a null output is
        // absent.
        if after.is_null() {
            if before.is_some() {
                self.outputs.push(OutputChange {
                    name: name.to_string(),
                    action: Action::Delete,
                    before,
                    after: None,
                    sensitive: output.sensitive,
                });
            }
            return;
        }
        let action = match &before {
            None => Action::Create,
            Some(b)
                if b.same_as(&after)
                    && after.is_wholly_known()
                    && b.is_sensitive() == after.is_sensitive() =>
            {
                Action::NoOp
            }
            Some(_) => Action::Update,
        };
        self.outputs.push(OutputChange {
            name: name.to_string(),
            action,
            before,
            after: Some(after),
            sensitive: output.sensitive,
        });
    }

    fn plan_orphans(&mut self, mode: PlanMode) {
        let orphans: Vec<(ResourceAddr, PriorInstance)> = self
            .prior
            .iter()
            .filter(|(addr, _)| mode == PlanMode::Destroy || !self.visited.contains(*addr))
            .filter(|(addr, _)| self.orphan_in_scope(addr, mode))
            .map(|(a, p)| (a.clone(), p.clone()))
            .collect();
        for (addr, prior) in orphans {
            if addr.resource.mode == ResourceMode::Data {
                continue;
            }
            let reason = if mode == PlanMode::Destroy {
                None
            } else {
                let module = addr.module_instance();
                let module_gone = !module.is_root()
                    && !self
                        .run
                        .module_instances(&addr.resource.module)
                        .contains(&module);
                Some(match self.config.resources.get(&addr.resource) {
                    _ if module_gone => Reason::NoModule,
                    None => Reason::NoResourceConfig,
                    Some(r) => match (&addr.key, r.count.is_some(), r.for_each.is_some()) {
                        (InstanceKey::Int(_), true, _) => Reason::CountIndex,
                        (InstanceKey::Str(_), _, true) => Reason::EachKey,
                        _ => Reason::WrongRepetition,
                    },
                })
            };
            let forgotten = self
                .config
                .removed
                .iter()
                .any(|r| r.from.touches(&addr.resource) && !r.destroy);
            let (action, reason) = match reason {
                _ if forgotten => (Action::Forget, Some(Reason::RemovedConfig)),
                Some(Reason::NoResourceConfig)
                    if self
                        .config
                        .removed
                        .iter()
                        .any(|r| r.from.touches(&addr.resource)) =>
                {
                    (Action::Delete, Some(Reason::RemovedConfig))
                }
                reason => (Action::Delete, reason),
            };
            self.changes.push(ResourceChange {
                addr,
                provider: prior.provider.clone(),
                action,
                reason,
                before: Some(prior.value.clone()),
                after: None,
                replace_paths: Vec::new(),
                disruption: None,
                previous_address: None,
                importing: None,
                dependencies: prior
                    .dependencies
                    .iter()
                    .filter_map(|d| parse_config_addr(d))
                    .collect(),
                create_before_destroy: false,
            });
        }
    }

    /// Whether a targeted plan deletes this instance. Destroying, the
    /// targets go with everything that depends on them, and an excluded
    /// instance stays with everything it depends on; otherwise an
    /// instance the configuration no longer has goes when it is targeted
    /// (or not excluded).
    fn orphan_in_scope(&self, addr: &ResourceAddr, mode: PlanMode) -> bool {
        let Some(scope) = &self.scope else {
            return true;
        };
        if mode == PlanMode::Normal {
            return scope.includes(addr);
        }
        let depends_on =
            |from: &ResourceAddr, block: &ConfigAddr| self.prior_dependencies(from).contains(block);
        let targeted = scope.targets.is_empty()
            || scope.targets.iter().any(|t| {
                t.matches(addr) || self.prior_dependencies(addr).iter().any(|d| t.touches(d))
            });
        let kept = self.prior.keys().any(|other| {
            scope.excludes.iter().any(|x| x.matches(other))
                && (other == addr || depends_on(other, &addr.resource))
        });
        targeted && !kept
    }

    /// The blocks a prior instance depends on, directly or through them.
    fn prior_dependencies(&self, addr: &ResourceAddr) -> BTreeSet<ConfigAddr> {
        let mut found = BTreeSet::new();
        let mut queue = vec![addr.resource.clone()];
        while let Some(block) = queue.pop() {
            for (a, p) in &self.prior {
                if a.resource != block {
                    continue;
                }
                for d in p.dependencies.iter().filter_map(|d| parse_config_addr(d)) {
                    if found.insert(d.clone()) {
                        queue.push(d);
                    }
                }
            }
        }
        found
    }

    /// Outputs in the state that the configuration no longer has (all of
    /// them when destroying).
    fn plan_removed_outputs(&mut self, prior: &State, mode: PlanMode) {
        for (name, out) in &prior.outputs {
            if mode == PlanMode::Normal && self.config.outputs.contains_key(name) {
                continue;
            }
            let before = decode_output(out);
            self.outputs.push(OutputChange {
                name: name.clone(),
                action: Action::Delete,
                before: Some(before),
                after: None,
                sensitive: out.sensitive,
            });
        }
    }
}

/// An output as the state records it.
pub fn decode_output(out: &crate::state::OutputState) -> Value {
    let ty = Type::from_json(&out.value_type).unwrap_or(Type::Dynamic);
    Value::from_json_typed(&out.value, &ty)
        .unwrap_or_else(|_| Value::from_json_dynamic(&out.value))
        .marked_if(out.sensitive)
}

/// The expansion that gives a block the instances it has.
pub fn expansion_of(resource: &Resource, instances: &HashMap<InstanceKey, Value>) -> Expansion {
    if resource.count.is_some() {
        let n = instances
            .keys()
            .filter_map(|k| match k {
                InstanceKey::Int(i) => Some(*i as usize + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        Expansion::Count(n)
    } else if resource.for_each.is_some() {
        Expansion::ForEach(
            instances
                .keys()
                .filter_map(|k| match k {
                    InstanceKey::Str(s) => Some((s.clone(), Value::NULL)),
                    _ => None,
                })
                .collect(),
        )
    } else {
        Expansion::Single
    }
}

fn parse_config_addr(text: &str) -> Option<ConfigAddr> {
    text.parse::<ResourceAddr>().ok().map(|a| a.resource)
}

/// Evaluates the configuration of one instance of a resource block.
pub fn instance_config(
    config: &Config,
    resource: &Resource,
    schema: &Schema,
    addr: &ResourceAddr,
    expansion: &Expansion,
    run: &RunValues,
    diags: &mut Diagnostics,
) -> Option<Value> {
    let scope = run.instance_scope(&addr.module_instance(), &addr.key, expansion);
    let mut eval = Evaluator::new(&scope);
    let before = diags.0.len();
    let value = body::eval_body(
        config,
        resource.file,
        &resource.body,
        schema,
        &mut eval,
        &resource.describe(),
        diags,
    );
    for d in &mut diags.0[before..] {
        if !addr.key.is_none() || !addr.module_keys.is_empty() {
            d.address.get_or_insert_with(|| addr.to_string());
        }
    }
    (diags.0.len() == before).then_some(value)
}

/// The instance key an index value names.
fn instance_key_of(v: &Value) -> Option<InstanceKey> {
    let (v, _) = v.unmark();
    if let Some(s) = v.as_str() {
        return Some(InstanceKey::Str(s.to_string()));
    }
    match v {
        Value::Number(n) => n.to_u64().map(InstanceKey::Int),
        _ => None,
    }
}

/// Whether the attribute `path` leads to differs between the change's
/// before and after values (unknown after counts as a change).
fn attribute_changed(
    change: &ResourceChange,
    path: &[&TraversalOperator],
    eval: &mut Evaluator<'_>,
) -> bool {
    let mut at = |value: Option<&Value>| -> Option<Value> {
        let mut v = value?.clone();
        for op in path {
            v = match op {
                TraversalOperator::GetAttr(name) => get_attr(&v, name.as_str(), None).ok()?,
                TraversalOperator::Index(e) => index(&v, &eval.eval(e).ok()?, None).ok()?,
                TraversalOperator::LegacyIndex(n) => {
                    index(&v, &Value::from(*n.value() as i64), None).ok()?
                }
                _ => return None,
            };
        }
        Some(v)
    };
    match (at(change.before.as_ref()), at(change.after.as_ref())) {
        (Some(b), Some(a)) => !a.is_wholly_known() || !a.same_as(&b),
        (None, None) => false,
        _ => true,
    }
}

/// Plans one instance: asks the resource type for the new state and
/// chooses the action. `forced` replaces an instance that nothing in its
/// configuration would (`-replace`, `replace_triggered_by`).
pub fn plan_instance(
    rt: &dyn ResourceType,
    resource: &Resource,
    addr: &ResourceAddr,
    config_value: &Value,
    prior: Option<&PriorInstance>,
    dependencies: Vec<ConfigAddr>,
    forced: Option<Reason>,
) -> Result<ResourceChange, Diagnostic> {
    let (config_plain, config_marks) = config_value.unmark_with_paths();
    let prior_plain = prior.map(|p| p.value.unmark_deep().0);
    let tainted = prior.is_some_and(|p| p.status == Status::Tainted);
    let forced = forced.filter(|_| prior.is_some() && !tainted);
    // A replacement is planned as a new object, as for a tainted one.
    let fresh = tainted || forced.is_some();
    let config_plain = match (&prior_plain, &resource.lifecycle.ignore_changes) {
        (Some(p), ignore) if !fresh => apply_ignore_changes(&config_plain, p, ignore),
        _ => config_plain,
    };
    let basis = if fresh { None } else { prior_plain.as_ref() };
    let planned = rt.plan(basis, &config_plain).map_err(|e| {
        let e = e.without_secrets_of(config_value);
        Diagnostic::error(e.summary, e.detail).with_address(addr.to_string())
    })?;
    let mut marks = config_marks.clone();
    marks.extend(rt.derived_sensitive_paths(&config_marks));
    marks.extend(rt.schema().sensitive_paths());
    let after = planned.planned.mark_paths(&marks);
    // The object itself is the state record: its attributes may nest as
    // deep as any value.
    if limits::nests_deeper_than(&after, limits::MAX_NESTING + 1) {
        return Err(Diagnostic::error(
            "Value nests too deeply",
            format!("{}.", limits::too_deep(&format!("The value of {addr}"))),
        )
        .with_address(addr.to_string()));
    }
    let (action, reason) = match prior {
        None => (Action::Create, None),
        Some(_) if tainted => (replace_action(resource), Some(Reason::Tainted)),
        Some(_) if forced.is_some() => (replace_action(resource), forced),
        Some(_) if !planned.requires_replace.is_empty() => (replace_action(resource), None),
        Some(p) if after.same_as(&p.value) => (Action::NoOp, None),
        Some(_) => (Action::Update, None),
    };
    if action.destroys() && resource.lifecycle.prevent_destroy {
        return Err(Diagnostic::error(
            "Instance cannot be destroyed",
            format!(
                "Resource {addr} has lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed. To avoid this error and continue with the plan, either disable lifecycle.prevent_destroy or reduce the scope of the plan using the -target flag."
            ),
        )
        .with_address(addr.to_string()));
    }
    // An unchanged object keeps the prior value itself: thousands of
    // unchanged instances then share their values with the prior state
    // instead of holding a second copy. Only when the marks agree, so a
    // value that became sensitive is shown as such.
    let after = match prior {
        Some(p)
            if action == Action::NoOp
                && after.unmark_with_paths().1 == p.value.unmark_with_paths().1 =>
        {
            p.value.clone()
        }
        _ => after,
    };
    let disruption = match (action, &prior_plain) {
        (Action::Update, Some(before)) => rt.update_disruption(before, &after.unmark_deep().0),
        _ => None,
    };
    Ok(ResourceChange {
        addr: addr.clone(),
        provider: rt.provider().to_string(),
        action,
        reason,
        before: prior.map(|p| p.value.clone()),
        after: Some(after),
        replace_paths: planned.requires_replace,
        disruption,
        previous_address: None,
        importing: None,
        dependencies,
        create_before_destroy: resource.lifecycle.create_before_destroy,
    })
}

fn replace_action(resource: &Resource) -> Action {
    if resource.lifecycle.create_before_destroy {
        Action::CreateThenDelete
    } else {
        Action::DeleteThenCreate
    }
}

/// `lifecycle { ignore_changes = [...] }`: the prior value of an ignored
/// attribute stands in for the configured one.
fn apply_ignore_changes(config: &Value, prior: &Value, ignore: &IgnoreChanges) -> Value {
    let names: Vec<&String> = match ignore {
        IgnoreChanges::None => return config.clone(),
        IgnoreChanges::All => config
            .as_entries()
            .map(|e| e.keys().collect())
            .unwrap_or_default(),
        IgnoreChanges::Attributes(names) => names.iter().collect(),
    };
    let Some(entries) = config.as_entries() else {
        return config.clone();
    };
    let mut entries = entries.clone();
    for name in names {
        if let (Some(slot), Some(p)) = (entries.get_mut(name), prior.get_attr(name)) {
            *slot = p.clone();
        }
    }
    Value::object(entries)
}
