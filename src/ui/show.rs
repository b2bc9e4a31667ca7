//! `show` of the state in the terminal: every resource's attributes, then
//! the outputs.

use super::plan::render_resource_state;
use super::values::format_outputs;
use crate::addr::ResourceAddr;
use crate::lang::value::Value;
use crate::state::State;
use std::collections::BTreeMap;

/// `values` holds each resource's decoded value (sensitive parts marked).
pub fn render(
    state: &State,
    values: &BTreeMap<String, Value>,
    outputs: &[(String, Value, bool)],
) -> String {
    let mut out = pending_intents(state);
    if state.resources.is_empty() && state.outputs.is_empty() {
        out.push_str("The state file is empty. No resources are represented.\n");
        return out;
    }
    for r in &state.resources {
        let addr: ResourceAddr = r.addr();
        let Some(v) = values.get(&r.address) else {
            continue;
        };
        out.push_str(&render_resource_state(&addr, v));
        if r.status == crate::state::Status::Tainted {
            out.push_str("# (tainted)\n");
        }
        out.push('\n');
    }
    if !outputs.is_empty() {
        out.push_str("\nOutputs:\n\n");
        out.push_str(&format_outputs(outputs));
    }
    out
}

/// The creates an interrupted run left unresolved, which the next locked
/// plan resolves.
fn pending_intents(state: &State) -> String {
    if state.intents.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "# Creates an interrupted run left unresolved (the next plan looks for their objects):\n",
    );
    for intent in &state.intents {
        out.push_str(&format!("#   {} {}\n", intent.action, intent.address));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Intent;

    #[test]
    fn unresolved_creates_are_listed_first() {
        let state = State {
            intents: vec![Intent {
                address: "openstack_compute_instance_v2.web[1]".into(),
                action: "create".into(),
                token: "t".into(),
            }],
            ..State::new()
        };
        assert_eq!(
            render(&state, &BTreeMap::new(), &[]),
            "# Creates an interrupted run left unresolved (the next plan looks for their objects):\n#   create openstack_compute_instance_v2.web[1]\n\nThe state file is empty. No resources are represented.\n"
        );
    }
}
