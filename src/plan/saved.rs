//! A saved plan checked, change by change, against the state and the
//! configuration it is about to be applied to.
//!
//! A plan file is data anyone can edit, and its digest can be recomputed
//! by hand. Apply does what the plan's changes say, so before it starts
//! every change must be one that this state and this configuration could
//! have produced: an object is updated, replaced or deleted only when the
//! state records it with the value the plan shows as `before` (or, when
//! refresh found it changed, the same object as refresh read it), created
//! only where the state holds nothing, moved only where `moved` blocks
//! move it, and deleted only for a reason the configuration gives.
//!
//! Pure: no I/O. What it refuses is reported as diagnostics naming the
//! address.

use super::{Action, Plan, PlanMode, PriorInstance, Reason, ResourceChange, expand};
use crate::addr::{InstanceKey, ModuleInstance, ResourceAddr};
use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::ConfigGraph;
use crate::lang::refs::ResourceMode;
use crate::lang::value::Value;
use crate::provider::Providers;
use crate::state::State;
use std::collections::BTreeMap;

/// Refuses a saved plan whose changes the state and configuration do not
/// support. `state` is the state the plan was made against (its lineage
/// and serial already checked).
pub fn check(
    plan: &Plan,
    state: &State,
    config: &Config,
    graph: &ConfigGraph,
    providers: &Providers,
) -> Result<(), Diagnostics> {
    let mut diags = Diagnostics::default();
    if let Some(pair) = plan.changes.windows(2).find(|p| p[0].addr >= p[1].addr) {
        // Apply looks changes up by address: they must be sorted, each once.
        diags.push(refused(
            &pair[1].addr,
            "the plan lists its changes out of order or one address twice",
        ));
        return Err(diags);
    }
    let mut prior = super::decode_state(state, providers)?;
    let moved = super::apply_moves(config, &mut prior)?;
    let checker = Checker {
        plan,
        config,
        prior: &prior,
        moved: &moved,
        drift: plan.drift.iter().map(|d| (&d.addr, d)).collect(),
        counted: Expansions::new(config, graph, plan),
    };
    for change in &plan.changes {
        if let Err(reason) = checker.change(change) {
            diags.push(refused(&change.addr, &reason));
        }
    }
    if diags.is_empty() { Ok(()) } else { Err(diags) }
}

fn refused(addr: &ResourceAddr, reason: &str) -> Diagnostic {
    Diagnostic::error(
        "Saved plan does not match the state and configuration",
        format!(
            "The plan file cannot be applied: for {addr}, {reason}. It was changed after stackform wrote it; make a new plan."
        ),
    )
    .with_address(addr.to_string())
}

struct Checker<'a> {
    plan: &'a Plan,
    config: &'a Config,
    /// The state decoded, with `moved` blocks applied as planning applies
    /// them.
    prior: &'a BTreeMap<ResourceAddr, PriorInstance>,
    /// Where each moved object was recorded.
    moved: &'a BTreeMap<ResourceAddr, ResourceAddr>,
    drift: BTreeMap<&'a ResourceAddr, &'a super::ResourceDrift>,
    counted: Expansions<'a>,
}

type Checked = Result<(), String>;

impl Checker<'_> {
    fn change(&self, c: &ResourceChange) -> Checked {
        if c.previous_address.as_ref() != self.moved.get(&c.addr) {
            return Err(match &c.previous_address {
                Some(from) => format!(
                    "the plan moves the object from {from}, which no moved block in the configuration does"
                ),
                None => "a moved block moves an object here, which the plan does not show".into(),
            });
        }
        if c.addr.resource.mode == ResourceMode::Data {
            return self.data_source(c);
        }
        match self.plan.mode {
            PlanMode::RefreshOnly if c.action != Action::NoOp => {
                return Err(format!(
                    "a refresh-only plan changes nothing, but this one says {}",
                    describe(c.action)
                ));
            }
            PlanMode::Destroy if !matches!(c.action, Action::Delete | Action::Forget) => {
                return Err(format!(
                    "a destroy plan only destroys, but this one says {}",
                    describe(c.action)
                ));
            }
            _ => {}
        }
        let existing = self.existing(c)?;
        if let Some(id) = &c.importing {
            return self.import(c, id, existing);
        }
        match c.action {
            Action::Create => {
                if existing.is_some() || c.before.is_some() {
                    return Err(
                        "the plan creates an object where the state already records one".into(),
                    );
                }
                self.declared(c)
            }
            Action::NoOp | Action::Update | Action::DeleteThenCreate | Action::CreateThenDelete => {
                self.same_object(c, existing)?;
                self.declared(c)?;
                if c.action.is_replace() {
                    self.destroyable(c)?;
                }
                Ok(())
            }
            Action::Delete => {
                self.same_object(c, existing)?;
                self.deletion_reason(c)
            }
            Action::Forget => {
                self.same_object(c, existing)?;
                let forgotten = self
                    .config
                    .removed
                    .iter()
                    .any(|r| !r.destroy && r.from.touches(&c.addr.resource));
                if forgotten {
                    Ok(())
                } else {
                    Err("the plan forgets the object, but no removed block with destroy = false says so".into())
                }
            }
            Action::Read => {
                Err("the plan reads a managed resource as if it were a data source".into())
            }
        }
    }

    /// A data source is only ever read; its block must be there.
    fn data_source(&self, c: &ResourceChange) -> Checked {
        if !matches!(c.action, Action::Read | Action::NoOp) {
            return Err(format!(
                "data sources are only read, but the plan says {}",
                describe(c.action)
            ));
        }
        self.declared(c)
    }

    /// The object at the change's address as planning saw it: the state's
    /// record (at the address a `moved` block took it from), or what refresh
    /// read of it. `None` when there is none, or refresh found it gone.
    fn existing(&self, c: &ResourceChange) -> Result<Option<Value>, String> {
        let Some(recorded) = self.prior.get(&c.addr) else {
            if self.drift.contains_key(&c.addr) {
                return Err("the plan shows a change outside stackform to an object the state does not record".into());
            }
            return Ok(None);
        };
        let Some(drift) = self.drift.get(&c.addr) else {
            return Ok(Some(recorded.value.clone()));
        };
        if !drift.before.same_as(&recorded.value) {
            return Err(
                "the plan shows the object before refresh differently from the state".into(),
            );
        }
        match &drift.after {
            None => Ok(None),
            Some(read) if id_of(read) == id_of(&recorded.value) => Ok(Some(read.clone())),
            Some(_) => Err(
                "the plan shows refresh reading another object than the one the state records"
                    .into(),
            ),
        }
    }

    /// The plan's `before` must be the object planning saw there.
    fn same_object(&self, c: &ResourceChange, existing: Option<Value>) -> Checked {
        match (existing, &c.before) {
            (None, _) => Err(format!(
                "the plan says {} an object, but the state records none there",
                describe(c.action)
            )),
            (Some(_), None) => {
                Err("the plan shows no object before the change, but the state records one".into())
            }
            (Some(now), Some(before)) if before.same_as(&now) => Ok(()),
            (Some(_), Some(_)) => Err(
                "the object the plan shows before the change is not the one the state records"
                    .into(),
            ),
        }
    }

    /// The block must be in the configuration for anything but a delete.
    fn declared(&self, c: &ResourceChange) -> Checked {
        if self.config.resources.contains_key(&c.addr.resource) {
            Ok(())
        } else {
            Err(format!(
                "the plan says {}, but the configuration has no such block",
                describe(c.action)
            ))
        }
    }

    /// `prevent_destroy` holds for replacements whatever the plan file
    /// says, as planning holds it.
    fn destroyable(&self, c: &ResourceChange) -> Checked {
        let protected = self
            .config
            .resources
            .get(&c.addr.resource)
            .is_some_and(|r| r.lifecycle.prevent_destroy);
        if protected {
            Err("the plan destroys an object whose block has lifecycle.prevent_destroy set".into())
        } else {
            Ok(())
        }
    }

    /// An imported object comes from the cloud, not the state: the state
    /// must hold nothing there and the plan must not remove it. An
    /// `import` block that names it must name this id when its id is known
    /// before planning. Without one, the object is one planning adopted:
    /// it carries this state's marker, which only the cloud can tell, so a
    /// saved plan may keep or update it but not destroy it.
    fn import(&self, c: &ResourceChange, id: &str, existing: Option<Value>) -> Checked {
        if existing.is_some() {
            return Err("the plan imports an object where the state already records one".into());
        }
        if matches!(c.action, Action::Delete | Action::Forget) {
            return Err("the plan imports an object only to remove it".into());
        }
        if c.before.as_ref().and_then(id_of).is_some_and(|b| b != id) {
            return Err(format!("the plan imports {id:?} but shows another object"));
        }
        let blocks: Vec<_> = self
            .config
            .imports
            .iter()
            .filter(|i| i.to == c.addr.resource)
            .collect();
        if blocks.is_empty() {
            if c.action.destroys() {
                return Err("the plan replaces an object it adopts from the cloud, which neither the state nor the configuration vouches for; apply without a saved plan".into());
            }
        } else {
            let known: Vec<String> = blocks
                .iter()
                .filter_map(|i| self.counted.import_id(i))
                .collect();
            if known.len() == blocks.len() && !known.iter().any(|k| k == id) {
                return Err(format!(
                    "the plan imports {id:?}, but the import block names {}",
                    known.join(", ")
                ));
            }
        }
        self.declared(c)
    }

    /// Why a normal plan deletes an instance, checked against the
    /// configuration: its block or module is gone, or a `removed` block
    /// says so, or `count`/`for_each` no longer gives its key.
    fn deletion_reason(&self, c: &ResourceChange) -> Checked {
        if self.plan.mode == PlanMode::Destroy {
            return Ok(());
        }
        let block = self.config.resources.get(&c.addr.resource);
        let module_declared = c.addr.resource.module.is_empty()
            || self.config.modules.contains_key(&c.addr.resource.module);
        let (count, for_each) = block.map_or((false, false), |r| {
            (r.count.is_some(), r.for_each.is_some())
        });
        let key_fits = match &c.addr.key {
            InstanceKey::Int(_) => count,
            InstanceKey::Str(_) => for_each,
            InstanceKey::None => !count && !for_each,
        };
        let supported = match &c.reason {
            Some(Reason::NoResourceConfig) => block.is_none(),
            Some(Reason::RemovedConfig) => {
                block.is_none()
                    && self
                        .config
                        .removed
                        .iter()
                        .any(|r| r.from.touches(&c.addr.resource))
            }
            // A module instance can go only when the call is gone or has
            // instances of its own.
            Some(Reason::NoModule) => !module_declared || self.repeated_call(c),
            Some(Reason::WrongRepetition) => block.is_some() && !key_fits,
            Some(Reason::CountIndex) | Some(Reason::EachKey) => {
                block.is_some() && key_fits && !self.counted.still_gives(&c.addr)
            }
            _ => false,
        };
        if supported {
            Ok(())
        } else {
            Err("the plan deletes an object the configuration still declares".into())
        }
    }

    /// Whether a module call on the way to the instance has `count` or
    /// `for_each`.
    fn repeated_call(&self, c: &ResourceChange) -> bool {
        (1..=c.addr.resource.module.len()).any(|n| {
            c.addr
                .resource
                .module
                .get(..n)
                .and_then(|path| self.config.modules.get(path))
                .is_some_and(|m| m.call.count.is_some() || m.call.for_each.is_some())
        })
    }
}

/// The instances `count` and `for_each` give root-module blocks, from the
/// values known before planning (the plan's variables and the locals
/// built from them). A block whose repetition depends on more is not
/// judged here: apply checks its instances again as it expands it.
struct Expansions<'a> {
    config: &'a Config,
    run: super::values::RunValues,
}

impl<'a> Expansions<'a> {
    fn new(config: &'a Config, graph: &ConfigGraph, plan: &Plan) -> Expansions<'a> {
        Expansions {
            config,
            run: super::values_before_planning(config, graph, &plan.variables),
        }
    }

    /// The id a root-module `import` block without `for_each` names, when
    /// it is known before planning.
    fn import_id(&self, import: &crate::config::Import) -> Option<String> {
        if import.for_each.is_some() || !import.module_keys.is_empty() {
            return None;
        }
        let scope = self.run.module_scope(&ModuleInstance::root());
        let id = crate::lang::eval::Evaluator::new(&scope)
            .eval(&import.id.expr)
            .ok()?;
        id.unmark_deep().0.as_str().map(str::to_string)
    }

    /// Whether the instance's block still gives its key (false when that
    /// cannot be known before planning).
    fn still_gives(&self, addr: &ResourceAddr) -> bool {
        if !addr.resource.module.is_empty() {
            return false;
        }
        let Some(resource) = self.config.resources.get(&addr.resource) else {
            return false;
        };
        let scope = self.run.module_scope(&ModuleInstance::root());
        expand::expand(self.config, resource, &scope)
            .is_ok_and(|expansion| expansion.keys().contains(&addr.key))
    }
}

fn id_of(v: &Value) -> Option<&str> {
    v.unmark().0.get_attr("id").and_then(Value::as_str)
}

fn describe(action: Action) -> &'static str {
    match action {
        Action::NoOp => "to keep",
        Action::Create => "to create",
        Action::Read => "to read",
        Action::Update => "to update",
        Action::DeleteThenCreate | Action::CreateThenDelete => "to replace",
        Action::Delete => "to delete",
        Action::Forget => "to forget",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_sources;
    use crate::diag::SourceFile;
    use crate::plan::{PlanRequest, ResourceDrift, plan, stored};
    use crate::state::Status;
    use std::path::Path;

    const CONFIG: &str = r#"
variable "n" {
  default = 2
}
resource "terraform_data" "web" {
  count = var.n
}
resource "terraform_data" "keep" {
  lifecycle {
    prevent_destroy = true
  }
}
"#;

    struct Setup {
        config: Config,
        graph: ConfigGraph,
        providers: Providers,
    }

    fn setup(src: &str) -> Setup {
        let config = load_sources(
            Path::new("."),
            vec![SourceFile::new("main.tf", "main.tf", src)],
        )
        .unwrap();
        let providers = Providers::builtin();
        let graph = crate::validate::validate(&config, &providers).unwrap();
        Setup {
            config,
            graph,
            providers,
        }
    }

    /// A terraform_data object as the state records it.
    fn record(s: &Setup, address: &str, id: &str) -> crate::state::ResourceState {
        let rt = s.providers.resource("terraform_data").unwrap();
        let value = Value::object(
            [
                ("id".to_string(), Value::from(id)),
                ("input".to_string(), Value::NULL),
                ("output".to_string(), Value::NULL),
                ("triggers_replace".to_string(), Value::NULL),
            ]
            .into(),
        );
        stored::encode(
            &address.parse().unwrap(),
            "builtin",
            &value,
            rt.schema(),
            Status::Ok,
            Vec::new(),
        )
    }

    /// The state after `terraform_data.web[0]`, `web[1]` and `keep` were
    /// created.
    fn applied(s: &Setup) -> State {
        let mut state = State::new();
        state.serial = 1;
        for (address, id) in [
            ("terraform_data.web[0]", "w0"),
            ("terraform_data.web[1]", "w1"),
            ("terraform_data.keep", "k"),
        ] {
            state.put_resource(record(s, address, id));
        }
        state
    }

    async fn planned(s: &Setup, state: &State, mode: PlanMode, n: i64) -> Plan {
        let mut variables = BTreeMap::new();
        variables.insert("n".to_string(), Value::from(n));
        plan(PlanRequest {
            config: &s.config,
            graph: &s.graph,
            providers: &s.providers,
            variables,
            prior: state,
            mode,
            refresh: true,
            parallelism: 1,
            options: Default::default(),
            strays: &[],
        })
        .await
        .unwrap()
    }

    fn checked(s: &Setup, plan: &Plan, state: &State) -> Result<(), Vec<String>> {
        check(plan, state, &s.config, &s.graph, &s.providers)
            .map_err(|d| d.iter().map(|d| d.detail.clone()).collect())
    }

    fn change<'p>(plan: &'p mut Plan, address: &str) -> &'p mut ResourceChange {
        let addr: ResourceAddr = address.parse().unwrap();
        plan.changes.iter_mut().find(|c| c.addr == addr).unwrap()
    }

    fn refusal(address: &str, reason: &str) -> Vec<String> {
        vec![format!(
            "The plan file cannot be applied: for {address}, {reason}. It was changed after stackform wrote it; make a new plan."
        )]
    }

    #[tokio::test]
    async fn plans_as_planning_makes_them_pass() {
        let s = setup(CONFIG);
        let state = applied(&s);
        for (mode, n) in [
            (PlanMode::Normal, 2),
            (PlanMode::Normal, 1),
            (PlanMode::Normal, 3),
            (PlanMode::RefreshOnly, 2),
        ] {
            let plan = planned(&s, &state, mode, n).await;
            assert_eq!(checked(&s, &plan, &state), Ok(()), "{mode:?} n={n}");
        }
        let empty = State::new();
        let plan = planned(&s, &empty, PlanMode::Normal, 2).await;
        assert_eq!(checked(&s, &plan, &empty), Ok(()));
        let plan = planned(&s, &state, PlanMode::Destroy, 2).await;
        assert_eq!(checked(&s, &plan, &state), Ok(()));
    }

    #[tokio::test]
    async fn a_create_turned_into_a_delete_is_refused() {
        let s = setup(CONFIG);
        let state = applied(&s);
        let mut plan = planned(&s, &state, PlanMode::Normal, 3).await;
        change(&mut plan, "terraform_data.web[2]").action = Action::Delete;
        assert_eq!(
            checked(&s, &plan, &state),
            Err(refusal(
                "terraform_data.web[2]",
                "the plan says to delete an object, but the state records none there"
            ))
        );
    }

    #[tokio::test]
    async fn a_delete_of_an_instance_the_configuration_declares_is_refused() {
        let s = setup(CONFIG);
        let state = applied(&s);
        let plan = planned(&s, &state, PlanMode::Normal, 2).await;
        for reason in [
            None,
            Some(Reason::CountIndex),
            Some(Reason::NoResourceConfig),
            Some(Reason::WrongRepetition),
        ] {
            let mut forged = plan.clone();
            let c = change(&mut forged, "terraform_data.web[1]");
            c.action = Action::Delete;
            c.after = None;
            c.reason = reason.clone();
            assert_eq!(
                checked(&s, &forged, &state),
                Err(refusal(
                    "terraform_data.web[1]",
                    "the plan deletes an object the configuration still declares"
                )),
                "{reason:?}"
            );
        }
        // With count = 1 the same delete is what planning gives.
        let plan = planned(&s, &state, PlanMode::Normal, 1).await;
        let c = plan
            .change(&"terraform_data.web[1]".parse().unwrap())
            .unwrap();
        assert_eq!(
            (c.action, c.reason.clone()),
            (Action::Delete, Some(Reason::CountIndex))
        );
        assert_eq!(checked(&s, &plan, &state), Ok(()));
    }

    #[tokio::test]
    async fn a_before_that_names_another_object_is_refused() {
        let s = setup(CONFIG);
        let state = applied(&s);
        let mut plan = planned(&s, &state, PlanMode::Normal, 1).await;
        // The delete of web[1] aimed at web[0]'s object.
        let other = change(&mut plan, "terraform_data.web[0]").before.clone();
        change(&mut plan, "terraform_data.web[1]").before = other;
        assert_eq!(
            checked(&s, &plan, &state),
            Err(refusal(
                "terraform_data.web[1]",
                "the object the plan shows before the change is not the one the state records"
            ))
        );
    }

    #[tokio::test]
    async fn refresh_cannot_be_shown_reading_another_object() {
        let s = setup(CONFIG);
        let state = applied(&s);
        let mut plan = planned(&s, &state, PlanMode::Normal, 1).await;
        let web0 = change(&mut plan, "terraform_data.web[0]").before.clone();
        let web1 = change(&mut plan, "terraform_data.web[1]").before.clone();
        plan.drift.push(ResourceDrift {
            addr: "terraform_data.web[1]".parse().unwrap(),
            before: web1.unwrap(),
            after: web0.clone(),
        });
        change(&mut plan, "terraform_data.web[1]").before = web0;
        assert_eq!(
            checked(&s, &plan, &state),
            Err(refusal(
                "terraform_data.web[1]",
                "the plan shows refresh reading another object than the one the state records"
            ))
        );
    }

    #[tokio::test]
    async fn creates_updates_and_destroys_need_what_they_change() {
        let s = setup(CONFIG);
        let state = applied(&s);
        let plan = planned(&s, &state, PlanMode::Normal, 2).await;

        let mut forged = plan.clone();
        let c = change(&mut forged, "terraform_data.web[0]");
        c.action = Action::Create;
        c.before = None;
        assert_eq!(
            checked(&s, &forged, &state),
            Err(refusal(
                "terraform_data.web[0]",
                "the plan creates an object where the state already records one"
            ))
        );

        let mut forged = plan.clone();
        change(&mut forged, "terraform_data.keep").action = Action::DeleteThenCreate;
        assert_eq!(
            checked(&s, &forged, &state),
            Err(refusal(
                "terraform_data.keep",
                "the plan destroys an object whose block has lifecycle.prevent_destroy set"
            ))
        );

        let mut forged = plan.clone();
        let mut extra = ResourceChange::new(
            "terraform_data.zzz".parse().unwrap(),
            "builtin",
            Action::Create,
        );
        extra.after = Some(Value::NULL);
        forged.changes.push(extra);
        assert_eq!(
            checked(&s, &forged, &state),
            Err(refusal(
                "terraform_data.zzz",
                "the plan says to create, but the configuration has no such block"
            ))
        );

        let mut forged = plan.clone();
        forged.changes.reverse();
        assert!(
            checked(&s, &forged, &state).is_err(),
            "changes out of order"
        );

        let mut forged = planned(&s, &state, PlanMode::Destroy, 2).await;
        change(&mut forged, "terraform_data.web[0]").action = Action::Update;
        assert_eq!(
            checked(&s, &forged, &state),
            Err(refusal(
                "terraform_data.web[0]",
                "a destroy plan only destroys, but this one says to update"
            ))
        );
    }

    #[tokio::test]
    async fn moves_imports_forgets_and_refresh_only_need_the_configuration() {
        let s = setup(CONFIG);
        let state = applied(&s);
        let plan = planned(&s, &state, PlanMode::Normal, 2).await;

        let mut forged = plan.clone();
        change(&mut forged, "terraform_data.web[1]").previous_address =
            Some("terraform_data.web[0]".parse().unwrap());
        assert_eq!(
            checked(&s, &forged, &state),
            Err(refusal(
                "terraform_data.web[1]",
                "the plan moves the object from terraform_data.web[0], which no moved block in the configuration does"
            ))
        );

        // An object adopted from the cloud may be kept, not destroyed: only
        // the cloud could tell it is this state's.
        let mut forged = planned(&s, &state, PlanMode::Normal, 3).await;
        let victim = change(&mut forged, "terraform_data.web[0]").before.clone();
        let c = change(&mut forged, "terraform_data.web[2]");
        c.importing = Some("w0".into());
        c.action = Action::DeleteThenCreate;
        c.before = victim;
        assert_eq!(
            checked(&s, &forged, &state),
            Err(refusal(
                "terraform_data.web[2]",
                "the plan replaces an object it adopts from the cloud, which neither the state nor the configuration vouches for; apply without a saved plan"
            ))
        );

        let mut forged = plan.clone();
        let c = change(&mut forged, "terraform_data.web[0]");
        c.action = Action::Forget;
        c.after = None;
        assert_eq!(
            checked(&s, &forged, &state),
            Err(refusal(
                "terraform_data.web[0]",
                "the plan forgets the object, but no removed block with destroy = false says so"
            ))
        );

        let mut forged = planned(&s, &state, PlanMode::RefreshOnly, 2).await;
        change(&mut forged, "terraform_data.web[0]").action = Action::Update;
        assert_eq!(
            checked(&s, &forged, &state),
            Err(refusal(
                "terraform_data.web[0]",
                "a refresh-only plan changes nothing, but this one says to update"
            ))
        );
    }

    #[tokio::test]
    async fn what_moved_blocks_and_removed_blocks_say_is_supported() {
        let s = setup(
            r#"
resource "terraform_data" "new" {}
moved {
  from = terraform_data.old
  to   = terraform_data.new
}
removed {
  from = terraform_data.kept
  lifecycle {
    destroy = false
  }
}
"#,
        );
        let mut state = State::new();
        state.serial = 1;
        state.put_resource(record(&s, "terraform_data.old", "o"));
        state.put_resource(record(&s, "terraform_data.kept", "k"));
        let plan = planned(&s, &state, PlanMode::Normal, 0).await;
        let actions: Vec<(String, Action)> = plan
            .changes
            .iter()
            .map(|c| (c.addr.to_string(), c.action))
            .collect();
        assert_eq!(
            actions,
            [
                ("terraform_data.kept".to_string(), Action::Forget),
                ("terraform_data.new".to_string(), Action::NoOp)
            ]
        );
        assert_eq!(checked(&s, &plan, &state), Ok(()));
        // Without the move, the object at the old address is not the
        // plan's to keep at the new one.
        let mut forged = plan.clone();
        change(&mut forged, "terraform_data.new").previous_address = None;
        assert_eq!(
            checked(&s, &forged, &state),
            Err(refusal(
                "terraform_data.new",
                "a moved block moves an object here, which the plan does not show"
            ))
        );
    }

    #[tokio::test]
    async fn an_import_must_be_of_the_id_its_block_names() {
        let s = setup(
            r#"
resource "terraform_data" "a" {}
import {
  to = terraform_data.a
  id = "i-9"
}
"#,
        );
        let state = State::new();
        let mut plan = Plan::with_changes(PlanMode::Normal, Vec::new());
        let mut c =
            ResourceChange::new("terraform_data.a".parse().unwrap(), "builtin", Action::NoOp);
        c.importing = Some("i-1".into());
        plan.changes.push(c);
        assert_eq!(
            checked(&s, &plan, &state),
            Err(refusal(
                "terraform_data.a",
                "the plan imports \"i-1\", but the import block names i-9"
            ))
        );
        plan.changes[0].importing = Some("i-9".into());
        assert_eq!(checked(&s, &plan, &state), Ok(()));
    }
}
