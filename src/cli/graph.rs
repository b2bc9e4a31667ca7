//! `graph`: draws the configuration's dependency graph, in creation or
//! destruction order, as DOT or SVG, with resources coloured by a plan
//! (a saved one, or one made as `plan` makes it). The drawing itself is
//! `graph::render`'s; this only gathers what it needs.

use super::args::{GraphArgs, GraphFormat, GraphType};
use super::workflow::{Prepared, plan_as_plan_does, prepare, read_saved_plan};
use super::{CliError, Settings, display_path};
use crate::config::variables::VarInputs;
use crate::diag::Diagnostic;
use crate::graph::render::{self, DrawOptions, EdgeOrder, PlannedActions};
use crate::plan::{Plan, PlanMode};
use crate::ui::{Output, diagnostics};

pub async fn graph(
    settings: &Settings,
    a: &GraphArgs,
    inputs: VarInputs,
    output: &mut Output,
) -> Result<i32, CliError> {
    let p = prepare(settings)?;
    let edges = match a.graph_type {
        GraphType::Apply | GraphType::Plan => EdgeOrder::Apply,
        GraphType::Destroy | GraphType::PlanDestroy => EdgeOrder::Destroy,
    };
    let plan = planned(settings, &p, a, &inputs, output).await?;
    let actions = plan.as_ref().map(PlannedActions::from_plan);
    let options = DrawOptions {
        edges,
        actions: actions.as_ref(),
    };
    output.out(&match a.format {
        GraphFormat::Dot => render::dot(&p.graph, &options),
        GraphFormat::Svg => drawn_svg(|| render::svg(&p.graph, &options))?,
    });
    Ok(0)
}

/// Runs the SVG layout, which is another crate's and may panic on a
/// graph it cannot lay out: that is an error with a way out, not a crash.
fn drawn_svg(draw: impl FnOnce() -> String) -> Result<String, CliError> {
    let hook = std::panic::take_hook();
    // Its panic message would only confuse; the error below says it all.
    std::panic::set_hook(Box::new(|_| {}));
    let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(draw));
    std::panic::set_hook(hook);
    drawn.map_err(|_| {
        CliError::message(
            "Failed to lay out the graph",
            "The built-in SVG layout could not draw this graph. Use -format=dot and draw it with Graphviz (dot -Tsvg) instead.",
        )
    })
}

/// The plan that colours the graph: the saved one given with -plan, else
/// a new one for -type=plan and plan-destroy, else none.
async fn planned(
    settings: &Settings,
    p: &Prepared,
    a: &GraphArgs,
    inputs: &VarInputs,
    output: &mut Output,
) -> Result<Option<Plan>, CliError> {
    if let Some(file) = &a.plan_file {
        let saved = read_saved_plan(settings, file)?;
        if saved.config_digest != p.config.digest() {
            output.err(&diagnostics::render(&Diagnostic::warning(
                "Saved plan does not match the configuration",
                format!(
                    "The configuration files changed after {} was made, so the colours may not be what applying the configuration now would do.",
                    display_path(&settings.dir, &settings.dir.join(file))
                ),
            )));
        }
        return Ok(Some(saved));
    }
    let mode = match a.graph_type {
        GraphType::Plan => PlanMode::Normal,
        GraphType::PlanDestroy => PlanMode::Destroy,
        GraphType::Apply | GraphType::Destroy => return Ok(None),
    };
    // The lock is let go as soon as the plan is made: nothing is saved.
    let (plan, _lock) = plan_as_plan_does(settings, p, &a.run, inputs, mode, output).await?;
    Ok(Some(plan))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_layout_is_an_error() {
        assert!(drawn_svg(|| "<svg/>".to_string()).is_ok());
        let failed = drawn_svg(|| panic!("layout"));
        let Err(CliError::Diagnostics(d)) = failed else {
            panic!("expected an error");
        };
        assert!(d.0[0].detail.contains("-format=dot"));
    }
}
