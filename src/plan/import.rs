//! `import`: bringing an object that already exists under management, as
//! the state record of a resource instance the configuration declares.

use super::{configure_providers, stored};
use crate::addr::{InstanceKey, ResourceAddr};
use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::{ConfigGraph, NodeId};
use crate::lang::refs::ResourceMode;
use crate::lang::value::Value;
use crate::provider::Providers;
use crate::state::{ResourceState, State, Status};
use std::collections::BTreeMap;

pub struct ImportRequest<'a> {
    pub config: &'a Config,
    pub graph: &'a ConfigGraph,
    pub providers: &'a Providers,
    pub variables: &'a BTreeMap<String, Value>,
    pub state: &'a State,
    pub addr: &'a ResourceAddr,
    pub id: &'a str,
}

/// Reads the object `id` and returns the state record for `addr`; the
/// caller stores it. Nothing is written when anything is wrong.
pub async fn import(req: ImportRequest<'_>) -> Result<ResourceState, Diagnostics> {
    let addr = req.addr;
    let fail = |summary: &str, detail: String| {
        Diagnostics::from(Diagnostic::error(summary, detail).with_address(addr.to_string()))
    };
    if addr.resource.mode == ResourceMode::Data {
        return Err(fail(
            "Invalid import address",
            format!("{addr} is a data source; only managed resources can be imported."),
        ));
    }
    let Some(resource) = req.config.resources.get(&addr.resource) else {
        return Err(fail(
            "Configuration for import target does not exist",
            format!(
                "The configuration has no resource block for {addr}. Add one, e.g.\n\n  resource \"{}\" \"{}\" {{\n    # (the object's arguments)\n  }}\n\nthen run import again.",
                addr.resource.type_name, addr.resource.name
            ),
        ));
    };
    let key_fits = match &addr.key {
        InstanceKey::None => resource.count.is_none() && resource.for_each.is_none(),
        InstanceKey::Int(_) => resource.count.is_some(),
        InstanceKey::Str(_) => resource.for_each.is_some(),
    };
    if !key_fits {
        let expected = if resource.count.is_some() {
            format!("{}[N], as it sets count", addr.resource)
        } else if resource.for_each.is_some() {
            format!("{}[\"KEY\"], as it sets for_each", addr.resource)
        } else {
            format!("{}, without an index", addr.resource)
        };
        return Err(fail(
            "Invalid import address",
            format!("{addr} does not name an instance of its resource block: write {expected}."),
        ));
    }
    if req.state.resource(&addr.to_string()).is_some() {
        return Err(fail(
            "Resource already managed by stackform",
            format!(
                "{addr} is already in the state. To import another object in its place, remove it from the state first."
            ),
        ));
    }
    let Some(rt) = req.providers.resource(&addr.resource.type_name) else {
        return Err(fail(
            "Invalid resource type",
            format!(
                "There is no resource type named {:?}.",
                addr.resource.type_name
            ),
        ));
    };
    configure_providers(req.config, req.graph, req.providers, req.variables)?;
    let value = match rt.import(req.id).await {
        Ok(Some(v)) => v,
        Ok(None) => {
            return Err(fail(
                "Cannot import non-existent remote object",
                format!(
                    "No object of type {} with id {:?} exists in the cloud stackform is configured for. Only existing objects can be imported: check the id, the project and the region, or let apply create the object.",
                    addr.resource.type_name, req.id
                ),
            ));
        }
        Err(e) => {
            return Err(Diagnostics::from(
                Diagnostic::error(e.summary, e.detail).with_address(addr.to_string()),
            ));
        }
    };
    let dependencies = req
        .graph
        .resource_dependencies_transitive(&NodeId::Resource(addr.resource.clone()))
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(stored::encode(
        addr,
        rt.provider(),
        &value,
        rt.schema(),
        Status::Ok,
        dependencies,
    ))
}
