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
    if state.resources.is_empty() && state.outputs.is_empty() {
        return "The state file is empty. No resources are represented.\n".into();
    }
    let mut out = String::new();
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
