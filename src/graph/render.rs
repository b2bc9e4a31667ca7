//! Drawing a configuration's dependency graph for `graph`: as Graphviz
//! DOT text, or as an SVG document laid out in-process (by the
//! `layout-rs` crate) so that it can be looked at without Graphviz.
//!
//! A drawing can show edges in creation order or in destruction order,
//! and can colour each resource by what a plan does to it. The action is
//! also written in the node's label, because colour alone is not
//! accessible.

use super::{ConfigGraph, NodeId};
use crate::addr::{ConfigAddr, InstanceKey};
use crate::plan::{Action, Plan};
use std::collections::{BTreeMap, HashMap};

/// Which way the edges point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EdgeOrder {
    /// From each node to what it depends on: what must exist first.
    #[default]
    Apply,
    /// From each node to what depends on it: what must be destroyed
    /// first.
    Destroy,
}

/// A planned action as the graph shows it, in increasing severity: a
/// configuration node expanded into several instances is drawn with the
/// most severe action among them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PlannedAction {
    NoOp,
    Read,
    Create,
    Update,
    Replace,
    Delete,
}

impl PlannedAction {
    pub fn of(action: Action) -> PlannedAction {
        match action {
            Action::NoOp | Action::Forget => PlannedAction::NoOp,
            Action::Read => PlannedAction::Read,
            Action::Create => PlannedAction::Create,
            Action::Update => PlannedAction::Update,
            Action::DeleteThenCreate | Action::CreateThenDelete => PlannedAction::Replace,
            Action::Delete => PlannedAction::Delete,
        }
    }

    /// The word written in a node's label.
    pub fn name(self) -> &'static str {
        match self {
            PlannedAction::NoOp => "no-op",
            PlannedAction::Read => "read",
            PlannedAction::Create => "create",
            PlannedAction::Update => "update",
            PlannedAction::Replace => "replace",
            PlannedAction::Delete => "delete",
        }
    }

    /// Outline and fill colours: a saturated outline, and a light fill
    /// that keeps black label text readable.
    fn colours(self) -> (&'static str, &'static str) {
        match self {
            PlannedAction::NoOp => ("#757575", "#eeeeee"),
            PlannedAction::Read => ("#1565c0", "#bbdefb"),
            PlannedAction::Create => ("#2e7d32", "#c8e6c9"),
            PlannedAction::Update => ("#ff8f00", "#ffe082"),
            PlannedAction::Replace | PlannedAction::Delete => ("#c62828", "#ffcdd2"),
        }
    }
}

/// What a plan does to the instances of one resource block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceActions {
    /// How many instances take each action.
    pub counts: BTreeMap<PlannedAction, usize>,
    /// Whether the instances have keys (the block has count or for_each),
    /// so that the label says how many there are even when there is one.
    pub expanded: bool,
}

impl ResourceActions {
    /// The most severe action, or no-op when there are no instances.
    pub fn most_severe(&self) -> PlannedAction {
        self.counts
            .keys()
            .next_back()
            .copied()
            .unwrap_or(PlannedAction::NoOp)
    }

    pub fn instances(&self) -> usize {
        self.counts.values().sum()
    }

    /// The text after the address in a node's label, e.g. `replace`,
    /// `create, 3 instances`, or `delete, 3 instances: 2 create, 1 delete`.
    fn describe(&self) -> String {
        let action = self.most_severe().name();
        let instances = self.instances();
        if !self.expanded && instances == 1 {
            return action.to_string();
        }
        let noun = if instances == 1 {
            "instance"
        } else {
            "instances"
        };
        let mut text = format!("{action}, {instances} {noun}");
        if self.counts.len() > 1 {
            let parts: Vec<String> = self
                .counts
                .iter()
                .rev()
                .map(|(a, n)| format!("{n} {}", a.name()))
                .collect();
            text.push_str(&format!(": {}", parts.join(", ")));
        }
        text
    }
}

/// The planned actions of every resource block a plan touches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlannedActions {
    pub resources: BTreeMap<ConfigAddr, ResourceActions>,
}

impl PlannedActions {
    pub fn from_plan(plan: &Plan) -> PlannedActions {
        let mut resources: BTreeMap<ConfigAddr, ResourceActions> = BTreeMap::new();
        for change in &plan.changes {
            let entry = resources.entry(change.addr.resource.clone()).or_default();
            *entry
                .counts
                .entry(PlannedAction::of(change.action))
                .or_default() += 1;
            entry.expanded |= change.addr.key != InstanceKey::None;
        }
        PlannedActions { resources }
    }
}

/// How to draw a graph.
#[derive(Clone, Copy, Debug, Default)]
pub struct DrawOptions<'a> {
    pub edges: EdgeOrder,
    /// Colour resources by these actions; `None` draws them uncoloured.
    pub actions: Option<&'a PlannedActions>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Resources and data sources.
    Box,
    /// Variables, locals and outputs.
    Note,
}

impl Shape {
    fn dot_name(self) -> &'static str {
        match self {
            Shape::Box => "box",
            Shape::Note => "note",
        }
    }
}

/// One node as drawn.
#[derive(Debug)]
struct DrawnNode {
    /// The node's address: its DOT name, and the end of its edges.
    name: String,
    label: String,
    shape: Shape,
    action: Option<PlannedAction>,
}

/// The nodes and edges of a drawing, independent of its format.
#[derive(Debug)]
struct Drawing {
    nodes: Vec<DrawnNode>,
    /// Sorted and without duplicates, so the output is the same on
    /// every run.
    edges: Vec<(String, String)>,
}

fn drawing(graph: &ConfigGraph, options: &DrawOptions) -> Drawing {
    let mut nodes: Vec<DrawnNode> = graph
        .order
        .iter()
        .map(|&ix| {
            let id = &graph.graph[ix];
            let name = id.to_string();
            match (id, options.actions) {
                (NodeId::Resource(addr), Some(actions)) => {
                    let planned = actions.resources.get(addr).cloned().unwrap_or_default();
                    resource_node(name, &planned)
                }
                (NodeId::Resource(_), None) => DrawnNode {
                    label: name.clone(),
                    name,
                    shape: Shape::Box,
                    action: None,
                },
                _ => DrawnNode {
                    label: name.clone(),
                    name,
                    shape: Shape::Note,
                    action: None,
                },
            }
        })
        .collect();
    // Resources the plan deletes because they left the configuration are
    // not in the configuration's graph; a plan's drawing shows them alone.
    if let Some(actions) = options.actions {
        for (addr, planned) in &actions.resources {
            if graph.node(&NodeId::Resource(addr.clone())).is_none() {
                nodes.push(resource_node(addr.to_string(), planned));
            }
        }
    }
    let mut edges: Vec<(String, String)> = graph
        .graph
        .edge_indices()
        .filter_map(|e| graph.graph.edge_endpoints(e))
        .map(|(dependency, dependent)| {
            let dependency = graph.graph[dependency].to_string();
            let dependent = graph.graph[dependent].to_string();
            match options.edges {
                EdgeOrder::Apply => (dependent, dependency),
                EdgeOrder::Destroy => (dependency, dependent),
            }
        })
        .collect();
    edges.sort();
    edges.dedup();
    Drawing { nodes, edges }
}

fn resource_node(name: String, planned: &ResourceActions) -> DrawnNode {
    DrawnNode {
        label: format!("{name} ({})", planned.describe()),
        name,
        shape: Shape::Box,
        action: Some(planned.most_severe()),
    }
}

/// The graph in Graphviz DOT. Without actions and in apply order, this
/// is what `graph` has always printed.
pub fn dot(graph: &ConfigGraph, options: &DrawOptions) -> String {
    let drawing = drawing(graph, options);
    let mut out = String::from(
        "digraph {\n  compound = \"true\"\n  newrank = \"true\"\n  subgraph \"root\" {\n",
    );
    for node in &drawing.nodes {
        out.push_str(&format!(
            "    {} [label = {}, shape = \"{}\"",
            dot_quote(&node.name),
            dot_quote(&node.label),
            node.shape.dot_name()
        ));
        if let Some(action) = node.action {
            let (outline, fill) = action.colours();
            out.push_str(&format!(
                ", style = \"filled\", color = \"{outline}\", fillcolor = \"{fill}\""
            ));
        }
        out.push_str("]\n");
    }
    for (from, to) in &drawing.edges {
        out.push_str(&format!("    {} -> {}\n", dot_quote(from), dot_quote(to)));
    }
    out.push_str("  }\n}\n");
    out
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The graph as an SVG document, laid out top to bottom. Each node is a
/// `<g>` element with `data-node` (its address) and, when coloured,
/// `data-action` attributes, so that tools can find it.
pub fn svg(graph: &ConfigGraph, options: &DrawOptions) -> String {
    use layout::backends::svg::SVGWriter;
    use layout::core::base::Orientation;
    use layout::core::color::Color;
    use layout::core::style::StyleAttr;
    use layout::std_shapes::render::get_shape_size;
    use layout::std_shapes::shapes::{Arrow, Element, ShapeKind};
    use layout::topo::layout::VisualGraph;

    const FONT_SIZE: usize = 14;
    let drawing = drawing(graph, options);
    if drawing.nodes.is_empty() {
        // The layout needs at least one node; an empty configuration is
        // an empty picture.
        return format!(
            "{EMPTY_SVG_HEADER}<svg width=\"0\" height=\"0\" viewBox=\"0 0 0 0\" xmlns=\"http://www.w3.org/2000/svg\"></svg>\n"
        );
    }
    let orientation = Orientation::TopToBottom;
    // As layout-rs's own DOT builder does: a node's text runs across the
    // direction the graph grows in.
    let shape_orientation = orientation.flip();
    let mut visual = VisualGraph::new(orientation);
    let mut handles = HashMap::new();
    for node in &drawing.nodes {
        let (outline, fill) = node
            .action
            .map_or(("black", "white"), PlannedAction::colours);
        // Rounded corners stand in for DOT's note shape, which layout-rs
        // does not draw.
        let rounded = match node.shape {
            Shape::Box => 0,
            Shape::Note => 10,
        };
        let look = StyleAttr::new(
            Color::fast(outline),
            1,
            Some(Color::fast(fill)),
            rounded,
            FONT_SIZE,
        );
        let shape = ShapeKind::new_box(&node.label);
        let size = get_shape_size(shape_orientation, &shape, FONT_SIZE, false);
        let mut attributes = format!("data-node=\"{}\"", xml_escape(&node.name));
        if let Some(action) = node.action {
            attributes.push_str(&format!(" data-action=\"{}\"", action.name()));
        }
        let element =
            Element::create_with_properties(shape, look, shape_orientation, size, attributes);
        handles.insert(node.name.as_str(), visual.add_node(element));
    }
    for (from, to) in &drawing.edges {
        if let (Some(&from), Some(&to)) = (handles.get(from.as_str()), handles.get(to.as_str())) {
            visual.add_edge(Arrow::simple(""), from, to);
        }
    }
    let mut writer = SVGWriter::new();
    visual.do_it(false, false, false, &mut writer);
    let mut text = writer.finalize();
    text.push('\n');
    text
}

const EMPTY_SVG_HEADER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n";

/// Text made safe inside a double-quoted XML attribute.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::ResourceAddr;
    use crate::config::load_sources;
    use crate::diag::SourceFile;
    use crate::plan::{PlanMode, ResourceChange};
    use std::path::Path;

    fn graph_of(src: &str) -> ConfigGraph {
        let config = load_sources(
            Path::new("."),
            vec![SourceFile::new("main.tf", "main.tf", src)],
        )
        .expect("configuration loads");
        super::super::build(&config).expect("graph builds")
    }

    const CONFIG: &str = r#"
resource "terraform_data" "net" {}
resource "terraform_data" "srv" {
  count = 3
  input = terraform_data.net.id
}
data "terraform_remote_state" "old" {
  backend = "local"
}
output "ids" { value = terraform_data.srv[*].id }
"#;

    fn change(address: &str, action: Action) -> ResourceChange {
        ResourceChange::new(
            address.parse::<ResourceAddr>().expect("address parses"),
            "terraform.io/builtin/terraform",
            action,
        )
    }

    /// A plan that replaces the network, creates two servers and deletes
    /// a third, reads the data source, and deletes a resource no longer
    /// in the configuration.
    fn hand_made_plan() -> Plan {
        Plan::with_changes(
            PlanMode::Normal,
            vec![
                change("data.terraform_remote_state.old", Action::Read),
                change("terraform_data.gone", Action::Delete),
                change("terraform_data.net", Action::DeleteThenCreate),
                change("terraform_data.srv[0]", Action::Create),
                change("terraform_data.srv[1]", Action::Create),
                change("terraform_data.srv[2]", Action::Delete),
            ],
        )
    }

    #[test]
    fn the_default_drawing_is_the_plain_dependency_graph() {
        let graph = graph_of(CONFIG);
        insta::assert_snapshot!(dot(&graph, &DrawOptions::default()), @r##"
        digraph {
          compound = "true"
          newrank = "true"
          subgraph "root" {
            "data.terraform_remote_state.old" [label = "data.terraform_remote_state.old", shape = "box"]
            "terraform_data.net" [label = "terraform_data.net", shape = "box"]
            "terraform_data.srv" [label = "terraform_data.srv", shape = "box"]
            "output.ids" [label = "output.ids", shape = "note"]
            "output.ids" -> "terraform_data.srv"
            "terraform_data.srv" -> "terraform_data.net"
          }
        }
        "##);
    }

    #[test]
    fn destroy_order_reverses_every_edge() {
        let graph = graph_of(CONFIG);
        let options = DrawOptions {
            edges: EdgeOrder::Destroy,
            actions: None,
        };
        insta::assert_snapshot!(dot(&graph, &options), @r##"
        digraph {
          compound = "true"
          newrank = "true"
          subgraph "root" {
            "data.terraform_remote_state.old" [label = "data.terraform_remote_state.old", shape = "box"]
            "terraform_data.net" [label = "terraform_data.net", shape = "box"]
            "terraform_data.srv" [label = "terraform_data.srv", shape = "box"]
            "output.ids" [label = "output.ids", shape = "note"]
            "terraform_data.net" -> "terraform_data.srv"
            "terraform_data.srv" -> "output.ids"
          }
        }
        "##);
    }

    #[test]
    fn a_plan_colours_each_resource_by_its_most_severe_action() {
        let graph = graph_of(CONFIG);
        let actions = PlannedActions::from_plan(&hand_made_plan());
        let options = DrawOptions {
            edges: EdgeOrder::Apply,
            actions: Some(&actions),
        };
        insta::assert_snapshot!(dot(&graph, &options), @r##"
        digraph {
          compound = "true"
          newrank = "true"
          subgraph "root" {
            "data.terraform_remote_state.old" [label = "data.terraform_remote_state.old (read)", shape = "box", style = "filled", color = "#1565c0", fillcolor = "#bbdefb"]
            "terraform_data.net" [label = "terraform_data.net (replace)", shape = "box", style = "filled", color = "#c62828", fillcolor = "#ffcdd2"]
            "terraform_data.srv" [label = "terraform_data.srv (delete, 3 instances: 1 delete, 2 create)", shape = "box", style = "filled", color = "#c62828", fillcolor = "#ffcdd2"]
            "output.ids" [label = "output.ids", shape = "note"]
            "terraform_data.gone" [label = "terraform_data.gone (delete)", shape = "box", style = "filled", color = "#c62828", fillcolor = "#ffcdd2"]
            "output.ids" -> "terraform_data.srv"
            "terraform_data.srv" -> "terraform_data.net"
          }
        }
        "##);
    }

    #[test]
    fn every_action_has_its_own_colour_and_name() {
        let graph = graph_of(
            "resource \"terraform_data\" \"a\" {\n  count = 1\n}\nresource \"terraform_data\" \"b\" {}\nresource \"terraform_data\" \"c\" {}\nresource \"terraform_data\" \"d\" {\n  count = 0\n}\n",
        );
        let plan = Plan {
            changes: vec![
                change("terraform_data.a[0]", Action::Update),
                change("terraform_data.b", Action::NoOp),
                change("terraform_data.c", Action::CreateThenDelete),
            ],
            ..hand_made_plan()
        };
        let actions = PlannedActions::from_plan(&plan);
        let options = DrawOptions {
            edges: EdgeOrder::Apply,
            actions: Some(&actions),
        };
        insta::assert_snapshot!(dot(&graph, &options), @r##"
        digraph {
          compound = "true"
          newrank = "true"
          subgraph "root" {
            "terraform_data.a" [label = "terraform_data.a (update, 1 instance)", shape = "box", style = "filled", color = "#ff8f00", fillcolor = "#ffe082"]
            "terraform_data.b" [label = "terraform_data.b (no-op)", shape = "box", style = "filled", color = "#757575", fillcolor = "#eeeeee"]
            "terraform_data.c" [label = "terraform_data.c (replace)", shape = "box", style = "filled", color = "#c62828", fillcolor = "#ffcdd2"]
            "terraform_data.d" [label = "terraform_data.d (no-op, 0 instances)", shape = "box", style = "filled", color = "#757575", fillcolor = "#eeeeee"]
          }
        }
        "##);
    }

    #[test]
    fn the_svg_is_an_xml_document_with_one_labelled_node_per_graph_node() {
        let graph = graph_of(CONFIG);
        let actions = PlannedActions::from_plan(&hand_made_plan());
        let options = DrawOptions {
            edges: EdgeOrder::Apply,
            actions: Some(&actions),
        };
        let text = svg(&graph, &options);
        let document = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
        assert_eq!(document.root_element().tag_name().name(), "svg");
        let nodes: Vec<(String, Option<String>)> = document
            .descendants()
            .filter_map(|n| {
                let name = n.attribute("data-node")?;
                Some((
                    name.to_string(),
                    n.attribute("data-action").map(String::from),
                ))
            })
            .collect();
        let expect =
            |name: &str, action: Option<&str>| (name.to_string(), action.map(String::from));
        assert_eq!(
            nodes,
            [
                expect("data.terraform_remote_state.old", Some("read")),
                expect("terraform_data.net", Some("replace")),
                expect("terraform_data.srv", Some("delete")),
                expect("output.ids", None),
                expect("terraform_data.gone", Some("delete")),
            ]
        );
        let texts: Vec<String> = document
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .map(|n| {
                n.descendants()
                    .filter(|t| t.is_text())
                    .filter_map(|t| t.text())
                    .collect()
            })
            .collect();
        for label in [
            "terraform_data.net (replace)",
            "terraform_data.srv (delete, 3 instances: 1 delete, 2 create)",
            "output.ids",
        ] {
            assert!(texts.iter().any(|t| t == label), "{label:?} in {texts:?}");
        }
        // The replaced network is filled red.
        assert!(text.contains("#ffcdd2ff"), "{text}");
    }

    #[test]
    fn an_empty_configuration_is_an_empty_svg() {
        let text = svg(&graph_of(""), &DrawOptions::default());
        let document = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
        assert_eq!(document.root_element().tag_name().name(), "svg");
    }
}
