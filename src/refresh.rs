//! Reading the cloud before planning: reconciling the state with what an
//! interrupted run left behind.
//!
//! Every create is announced in the journal (an intent with a token)
//! before it is sent, and writes a marker naming the state's lineage, the
//! address and the token into the object it creates (see
//! `provider::Marker`). A run killed between the call and the record
//! leaves the intent pending in the state. Before the next plan:
//!
//! - each pending intent is resolved by finding the object that carries
//!   its token, with one list call per resource type: found, the object
//!   is adopted (recorded at the intent's address; tainted when its create
//!   never finished, so the plan replaces it); not found, the create made
//!   nothing and the intent is dropped;
//! - objects that carry this state's lineage but that neither the state
//!   nor an intent accounts for (strays: a crash under a journal that
//!   wrote no tokens, an object whose address another object took) are
//!   listed, for the plan to adopt or report.
//!
//! This module reads; deciding what to record is the caller's.

use crate::addr::ResourceAddr;
use crate::diag::{Diagnostic, Diagnostics};
use crate::lang::value::Value;
use crate::provider::{MarkedAddress, MarkedObject, Providers, ResourceType};
use crate::state::{Intent, State};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// An object a pending intent's create made, to be recorded at the
/// intent's address.
#[derive(Clone, Debug)]
pub struct Adopted {
    pub addr: ResourceAddr,
    pub provider: String,
    pub id: String,
    /// Its state, as `import` reads it.
    pub value: Value,
    /// Whether its create finished; one that did not is recorded as
    /// tainted.
    pub complete: bool,
    /// The object the state recorded at the address before, which a
    /// `create_before_destroy` replacement was to delete once the new one
    /// existed: no longer recorded, and left for the user to delete.
    pub displaced: Option<Displaced>,
}

/// An object whose record an adopted replacement took over.
#[derive(Clone, Debug)]
pub struct Displaced {
    pub id: String,
    pub delete_command: Option<String>,
}

/// An object carrying this state's lineage that the state does not
/// record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stray {
    pub type_name: String,
    pub object: MarkedObject,
    /// The address its marker names, when the marker spells it or its
    /// digest matches an address the state or an intent had (a marker
    /// in a description carries only the digest).
    pub addr: Option<ResourceAddr>,
}

/// What reconciling found.
#[derive(Clone, Debug, Default)]
pub struct Reconciliation {
    pub adopted: Vec<Adopted>,
    /// Intents whose create made nothing: dropped.
    pub dropped: Vec<Intent>,
    /// Intents that could not be resolved (their type is unknown to this
    /// version): kept.
    pub kept: Vec<Intent>,
    pub strays: Vec<Stray>,
}

impl Reconciliation {
    /// Whether the state must change: an intent was resolved.
    pub fn changes_state(&self) -> bool {
        !self.adopted.is_empty() || !self.dropped.is_empty()
    }
}

/// What to look at.
pub struct ReconcileRequest<'a> {
    pub state: &'a State,
    pub providers: &'a Providers,
    /// Also list every resource type of the providers in use for strays
    /// (a refreshing plan does; `-refresh=false` resolves intents only).
    pub find_strays: bool,
    /// Resource types the configuration declares, looked at for strays
    /// even when the state has none of them.
    pub configured_types: &'a BTreeSet<String>,
}

/// Resolves the state's pending intents and finds strays. Makes no API
/// call when there is nothing to resolve and strays are not asked for,
/// and lists only the types the configuration, the state or an intent
/// names, one list call each (a stack of `terraform_data` contacts no
/// cloud).
pub async fn reconcile(req: ReconcileRequest<'_>) -> Result<Reconciliation, Diagnostics> {
    let mut types: BTreeMap<&str, Arc<dyn ResourceType>> = BTreeMap::new();
    let mut diags = Diagnostics::default();
    let mut out = Reconciliation::default();
    let mut intents = Vec::new();
    for intent in &req.state.intents {
        let addr = match intent.address.parse::<ResourceAddr>() {
            Ok(addr) => addr,
            Err(_) => {
                out.kept.push(intent.clone());
                continue;
            }
        };
        match req.providers.resource(&addr.resource.type_name) {
            Some(rt) => {
                types.insert(rt.type_name(), rt.clone());
                intents.push((addr, intent));
            }
            None => out.kept.push(intent.clone()),
        }
    }
    if req.find_strays {
        // The types the stack uses: what an interrupted run can have
        // made is of one of them, or of an intent's type (above).
        let in_use = req
            .state
            .resources
            .iter()
            .map(|r| r.type_name.as_str())
            .chain(req.configured_types.iter().map(String::as_str));
        for name in in_use {
            if let Some(rt) = req.providers.resource(name) {
                types.insert(rt.type_name(), rt.clone());
            }
        }
    }
    let lineage = &req.state.lineage;
    let mut found: BTreeMap<&str, Vec<MarkedObject>> = BTreeMap::new();
    for (name, rt) in &types {
        match rt.find_marked(lineage).await {
            Ok(objects) => {
                found.insert(name, objects);
            }
            Err(e) => diags.push(Diagnostic::error(
                e.summary,
                format!(
                    "{} (while looking for objects of type {name} that an interrupted run may have created)",
                    e.detail
                ),
            )),
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }

    let occupied: HashMap<&str, String> = req
        .state
        .resources
        .iter()
        .map(|r| (r.address.as_str(), r.id.clone().unwrap_or_default()))
        .collect();
    let mut accounted: HashSet<String> = req
        .state
        .resources
        .iter()
        .filter_map(|r| r.id.clone())
        .collect();
    for (addr, intent) in intents {
        let type_name = addr.resource.type_name.as_str();
        let object = found.get(type_name).and_then(|objects| {
            objects
                .iter()
                .find(|o| !intent.token.is_empty() && o.marker.token == intent.token)
        });
        let Some(object) = object else {
            out.dropped.push(intent.clone());
            continue;
        };
        let Some(rt) = types.get(type_name) else {
            out.kept.push(intent.clone());
            continue;
        };
        let complete = match object.complete {
            true => Ok(true),
            false => rt.finish_create(&object.id).await,
        };
        let complete = match complete {
            Ok(complete) => complete,
            Err(e) => {
                diags.push(
                    Diagnostic::error(e.summary, e.detail).with_address(intent.address.clone()),
                );
                continue;
            }
        };
        match rt.import(&object.id).await {
            Ok(Some(value)) => {
                accounted.insert(object.id.clone());
                // The address still holds the object a create_before_destroy
                // replacement was replacing: the new one, which the
                // configuration asked for, takes its place, and the old
                // one is handed to the user to delete.
                let displaced = occupied.get(intent.address.as_str()).map(|id| Displaced {
                    id: id.clone(),
                    delete_command: rt.delete_command(id),
                });
                // No longer recorded: a stray if it carries a marker.
                if let Some(old) = &displaced {
                    accounted.remove(&old.id);
                }
                out.adopted.push(Adopted {
                    addr,
                    provider: rt.provider().to_string(),
                    id: object.id.clone(),
                    value,
                    complete,
                    displaced,
                });
            }
            // Gone between the list and the read: nothing to adopt.
            Ok(None) => out.dropped.push(intent.clone()),
            Err(e) => diags.push(
                Diagnostic::error(
                    e.summary,
                    format!(
                        "{} (while reading {} {}, which an interrupted run created)",
                        e.detail, type_name, object.id
                    ),
                )
                .with_address(intent.address.clone()),
            ),
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    if req.find_strays {
        let known: Vec<&str> = req
            .state
            .resources
            .iter()
            .map(|r| r.address.as_str())
            .chain(req.state.intents.iter().map(|i| i.address.as_str()))
            .collect();
        for (type_name, objects) in found {
            for object in objects {
                if accounted.contains(&object.id) {
                    continue;
                }
                let addr = match &object.marker.address {
                    MarkedAddress::Exact(text) => text.parse().ok(),
                    digest => known
                        .iter()
                        .find(|a| digest.names(a))
                        .and_then(|a| a.parse().ok()),
                };
                out.strays.push(Stray {
                    type_name: type_name.to_string(),
                    object,
                    addr,
                });
            }
        }
    }
    Ok(out)
}
