//! `graph`: the dependency graph in DOT or SVG, in apply or destroy
//! order, coloured by a saved or a fresh plan.

use super::Workspace;

const CONFIG: &str = r#"
variable "servers" { default = 2 }
variable "size" { default = "small" }
variable "zone" { default = "a" }
resource "terraform_data" "net" {
  triggers_replace = [var.zone]
}
resource "terraform_data" "srv" {
  count = var.servers
  input = "${var.size}@${terraform_data.net.id}"
}
output "ids" { value = terraform_data.srv[*].id }
"#;

fn workspace() -> Workspace {
    let ws = Workspace::new();
    ws.file("main.tf", CONFIG);
    ws
}

#[test]
fn the_default_graph_is_in_apply_order_and_destroy_reverses_it() {
    let ws = workspace();
    let apply = ws.run(&["graph"]);
    apply.ok();
    assert_eq!(
        ws.run(&["graph", "-type=apply", "-format=dot"]).stdout,
        apply.stdout
    );
    insta::assert_snapshot!(apply.stdout, @r#"
    digraph {
      compound = "true"
      newrank = "true"
      subgraph "root" {
        "var.servers" [label = "var.servers", shape = "note"]
        "var.size" [label = "var.size", shape = "note"]
        "var.zone" [label = "var.zone", shape = "note"]
        "terraform_data.net" [label = "terraform_data.net", shape = "box"]
        "terraform_data.srv" [label = "terraform_data.srv", shape = "box"]
        "output.ids" [label = "output.ids", shape = "note"]
        "output.ids" -> "terraform_data.srv"
        "terraform_data.net" -> "var.zone"
        "terraform_data.srv" -> "terraform_data.net"
        "terraform_data.srv" -> "var.servers"
        "terraform_data.srv" -> "var.size"
      }
    }
    "#);
    let destroy = ws.run(&["graph", "-type=destroy"]);
    destroy.ok();
    insta::assert_snapshot!(destroy.stdout, @r#"
    digraph {
      compound = "true"
      newrank = "true"
      subgraph "root" {
        "var.servers" [label = "var.servers", shape = "note"]
        "var.size" [label = "var.size", shape = "note"]
        "var.zone" [label = "var.zone", shape = "note"]
        "terraform_data.net" [label = "terraform_data.net", shape = "box"]
        "terraform_data.srv" [label = "terraform_data.srv", shape = "box"]
        "output.ids" [label = "output.ids", shape = "note"]
        "terraform_data.net" -> "terraform_data.srv"
        "terraform_data.srv" -> "output.ids"
        "var.servers" -> "terraform_data.srv"
        "var.size" -> "terraform_data.srv"
        "var.zone" -> "terraform_data.net"
      }
    }
    "#);
}

/// Applies the configuration, then saves a plan that replaces the
/// network, updates the servers, deletes one of them and deletes a
/// resource that left the configuration.
fn saved_plan_with_every_kind_of_change() -> Workspace {
    let ws = Workspace::new();
    ws.file(
        "main.tf",
        &format!("{CONFIG}resource \"terraform_data\" \"old\" {{}}\n"),
    );
    ws.run(&["apply", "-auto-approve", "-var=servers=3"]).ok();
    ws.file("main.tf", CONFIG);
    ws.run(&[
        "plan",
        "-var=zone=b",
        "-var=size=large",
        "-out=changes.plan",
    ])
    .ok();
    ws
}

#[test]
fn a_saved_plan_colours_each_resource_by_its_action() {
    let ws = saved_plan_with_every_kind_of_change();
    let run = ws.run(&["graph", "-type=plan", "-plan=changes.plan"]);
    run.ok();
    insta::assert_snapshot!(run.stdout, @r##"
    digraph {
      compound = "true"
      newrank = "true"
      subgraph "root" {
        "var.servers" [label = "var.servers", shape = "note"]
        "var.size" [label = "var.size", shape = "note"]
        "var.zone" [label = "var.zone", shape = "note"]
        "terraform_data.net" [label = "terraform_data.net (replace)", shape = "box", style = "filled", color = "#c62828", fillcolor = "#ffcdd2"]
        "terraform_data.srv" [label = "terraform_data.srv (delete, 3 instances: 1 delete, 2 update)", shape = "box", style = "filled", color = "#c62828", fillcolor = "#ffcdd2"]
        "output.ids" [label = "output.ids", shape = "note"]
        "terraform_data.old" [label = "terraform_data.old (delete)", shape = "box", style = "filled", color = "#c62828", fillcolor = "#ffcdd2"]
        "output.ids" -> "terraform_data.srv"
        "terraform_data.net" -> "var.zone"
        "terraform_data.srv" -> "terraform_data.net"
        "terraform_data.srv" -> "var.servers"
        "terraform_data.srv" -> "var.size"
      }
    }
    "##);
}

#[test]
fn a_plan_graph_without_a_file_plans_as_plan_does() {
    let ws = workspace();
    let run = ws.run(&["graph", "-type=plan", "-var=servers=1"]);
    run.ok()
        .stdout_has(r##""terraform_data.net" [label = "terraform_data.net (create)", shape = "box", style = "filled", color = "#2e7d32", fillcolor = "#c8e6c9"]"##)
        .stdout_has(r#"label = "terraform_data.srv (create, 1 instance)""#);
    assert!(
        ws.read("state/default.json").is_none(),
        "a graph changes nothing"
    );
    ws.run(&["apply", "-auto-approve"]).ok();
    ws.run(&["graph", "-type=plan-destroy"])
        .ok()
        .stdout_has(r#"label = "terraform_data.srv (delete, 2 instances)""#)
        .stdout_has(r#""terraform_data.net" -> "terraform_data.srv""#);
}

#[test]
fn the_svg_is_well_formed_with_one_labelled_node_per_graph_node() {
    let ws = saved_plan_with_every_kind_of_change();
    let run = ws.run(&["graph", "-format=svg", "-type=plan", "-plan=changes.plan"]);
    run.ok();
    let document = roxmltree::Document::parse(&run.stdout).expect("the SVG is well-formed XML");
    let svg = document.root_element();
    assert_eq!(svg.tag_name().name(), "svg");
    assert_eq!(
        svg.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let nodes: Vec<String> = document
        .descendants()
        .filter_map(|n| {
            let name = n.attribute("data-node")?;
            Some(format!(
                "{name} {}",
                n.attribute("data-action").unwrap_or("-")
            ))
        })
        .collect();
    insta::assert_snapshot!(nodes.join("\n"), @"
    var.servers -
    var.size -
    var.zone -
    terraform_data.net replace
    terraform_data.srv delete
    output.ids -
    terraform_data.old delete
    ");
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
    assert!(
        texts.iter().any(|t| t == "terraform_data.net (replace)"),
        "{texts:?}"
    );
}

#[test]
fn unknown_types_and_formats_are_refused_with_the_valid_values() {
    let ws = workspace();
    ws.run(&["graph", "-type=plan-refresh-only"])
        .code(1)
        .stderr_has("invalid value 'plan-refresh-only'")
        .stderr_has("[possible values: plan, plan-destroy, apply, destroy]");
    ws.run(&["graph", "-format=png"])
        .code(1)
        .stderr_has("[possible values: dot, svg]");
}

#[test]
fn a_plan_file_that_is_missing_or_not_a_plan_is_named_in_the_error() {
    let ws = workspace();
    ws.run(&["graph", "-type=plan", "-plan=missing.plan"])
        .code(1)
        .stderr_has("missing.plan: No such file");
    ws.file("main.tfplan", "not a plan\n");
    ws.run(&["graph", "-plan=main.tfplan"])
        .code(1)
        .stderr_has("main.tfplan is not a stackform plan file");
}

#[test]
fn a_plan_file_older_than_the_configuration_is_drawn_with_a_warning() {
    let ws = workspace();
    ws.run(&["plan", "-out=first.plan"]).ok();
    ws.file(
        "main.tf",
        &format!("{CONFIG}output \"more\" {{ value = 1 }}\n"),
    );
    ws.run(&["graph", "-plan=first.plan"])
        .ok()
        .stderr_has("Saved plan does not match the configuration")
        .stderr_has("first.plan was made")
        .stdout_has(r#"label = "terraform_data.net (create)""#);
}
