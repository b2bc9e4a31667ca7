//! The dependency graph of a configuration: variables, locals, resources
//! (and data sources) and outputs, with an edge for every reference. It
//! gives the order of evaluation, reports undeclared references and
//! cycles (naming every address in the cycle and where each reference is
//! written), and is drawn by `graph`. The concurrent walker that apply
//! uses lives in [`walk`].

pub mod render;
pub mod walk;

use crate::addr::{ConfigAddr, ModulePath, module_path_string};
use crate::config::{Config, DependsOnTarget, Expr, FileId};
use crate::diag::{Diagnostic, Diagnostics};
use crate::lang::refs::{Reference, references_binding};
use hcl::edit::structure::{Body, Structure};
use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::ops::Range;

/// A node of the graph. Variables, locals and outputs belong to the
/// module at their path (empty for the root module).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeId {
    Variable(ModulePath, String),
    Local(ModulePath, String),
    Resource(ConfigAddr),
    Output(ModulePath, String),
    /// A `module` block: the instances of the module at this path, from
    /// its `count` or `for_each`. Everything in the module comes after it.
    Module(ModulePath),
}

impl NodeId {
    /// The module the node belongs to (a module call belongs to its own
    /// path).
    pub fn module(&self) -> &[String] {
        match self {
            NodeId::Variable(m, _) | NodeId::Local(m, _) | NodeId::Output(m, _) => m,
            NodeId::Resource(a) => &a.module,
            NodeId::Module(m) => m,
        }
    }

    /// The module whose names the node's expressions use: a module's
    /// input variables and its call are written in the calling module.
    pub fn scope(&self) -> &[String] {
        match self {
            NodeId::Variable(m, _) | NodeId::Module(m) if !m.is_empty() => &m[..m.len() - 1],
            other => other.module(),
        }
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = |m: &[String]| {
            if m.is_empty() {
                String::new()
            } else {
                format!("{}.", module_path_string(m))
            }
        };
        match self {
            NodeId::Variable(m, n) => write!(f, "{}var.{n}", prefix(m)),
            NodeId::Local(m, n) => write!(f, "{}local.{n}", prefix(m)),
            NodeId::Resource(a) => write!(f, "{a}"),
            NodeId::Output(m, n) => write!(f, "{}output.{n}", prefix(m)),
            NodeId::Module(m) => f.write_str(&module_path_string(m)),
        }
    }
}

/// How messages name a module: "the root module" or `module.net`.
pub fn module_name(module: &[String]) -> String {
    if module.is_empty() {
        "the root module".to_string()
    } else {
        module_path_string(module)
    }
}

/// Where a reference that makes an edge is written.
#[derive(Clone, Debug)]
pub struct RefSite {
    pub file: FileId,
    pub span: Option<Range<usize>>,
}

#[derive(Debug)]
pub struct ConfigGraph {
    /// Edges go from a dependency to what depends on it.
    pub graph: DiGraph<NodeId, RefSite>,
    pub index: HashMap<NodeId, NodeIndex>,
    /// Every node in an order where dependencies come first (ties broken
    /// by node id, so the order is the same on every run).
    pub order: Vec<NodeIndex>,
}

impl ConfigGraph {
    pub fn node(&self, id: &NodeId) -> Option<NodeIndex> {
        self.index.get(id).copied()
    }

    /// The resources a node depends on directly.
    pub fn resource_dependencies(&self, id: &NodeId) -> Vec<ConfigAddr> {
        let Some(ix) = self.node(id) else {
            return Vec::new();
        };
        let mut deps: Vec<ConfigAddr> = self
            .graph
            .neighbors_directed(ix, Direction::Incoming)
            .filter_map(|n| match &self.graph[n] {
                NodeId::Resource(a) => Some(a.clone()),
                _ => None,
            })
            .collect();
        deps.sort();
        deps.dedup();
        deps
    }

    /// The resources a node depends on, directly or through locals and
    /// variables (what the state records as its dependencies).
    pub fn resource_dependencies_transitive(&self, id: &NodeId) -> Vec<ConfigAddr> {
        let Some(ix) = self.node(id) else {
            return Vec::new();
        };
        let mut seen = vec![false; self.graph.node_count()];
        let mut queue: VecDeque<NodeIndex> = self
            .graph
            .neighbors_directed(ix, Direction::Incoming)
            .collect();
        let mut deps = Vec::new();
        while let Some(n) = queue.pop_front() {
            if std::mem::replace(&mut seen[n.index()], true) {
                continue;
            }
            match &self.graph[n] {
                NodeId::Resource(a) => deps.push(a.clone()),
                _ => queue.extend(self.graph.neighbors_directed(n, Direction::Incoming)),
            }
        }
        deps.sort();
        deps.dedup();
        deps
    }

    /// The graph in Graphviz DOT, edges in creation order, uncoloured.
    pub fn to_dot(&self) -> String {
        render::dot(self, &render::DrawOptions::default())
    }
}

/// A graph node's expressions: the places its references can be.
fn node_expressions<'c>(config: &'c Config, id: &NodeId) -> Vec<(FileId, Vec<BoundExpr<'c>>)> {
    match id {
        NodeId::Variable(m, n) => match config.modules.get(m).and_then(|c| c.call.arguments.get(n))
        {
            Some(arg) => vec![(arg.value.file, vec![(&arg.value.expr, Vec::new())])],
            None => Vec::new(),
        },
        NodeId::Module(m) => {
            let call = &config.modules[m].call;
            let exprs = call
                .count
                .iter()
                .chain(call.for_each.iter())
                .map(|e| (&e.expr, Vec::new()))
                .collect();
            vec![(call.file, exprs)]
        }
        NodeId::Local(m, n) => {
            let Some(l) = config.local(m, n) else {
                return Vec::new();
            };
            vec![(l.value.file, vec![(&l.value.expr, Vec::new())])]
        }
        NodeId::Output(m, n) => {
            let Some(o) = config.output(m, n) else {
                return Vec::new();
            };
            let mut exprs = vec![(&o.value.expr, Vec::new())];
            for c in &o.preconditions {
                exprs.push((&c.condition.expr, Vec::new()));
                exprs.push((&c.error_message.expr, Vec::new()));
            }
            vec![(o.file, exprs)]
        }
        NodeId::Resource(a) => {
            let r = &config.resources[a];
            let mut exprs: Vec<BoundExpr<'c>> = Vec::new();
            exprs.extend(r.count.as_ref().map(|e: &Expr| (&e.expr, Vec::new())));
            exprs.extend(r.for_each.as_ref().map(|e: &Expr| (&e.expr, Vec::new())));
            exprs.extend(
                r.lifecycle
                    .replace_triggered_by
                    .iter()
                    .map(|e| (&e.expr, Vec::new())),
            );
            for c in &r.lifecycle.preconditions {
                exprs.push((&c.condition.expr, Vec::new()));
                exprs.push((&c.error_message.expr, Vec::new()));
            }
            // A postcondition speaks of the object as `self`.
            let this = vec!["self".to_string()];
            for c in &r.lifecycle.postconditions {
                exprs.push((&c.condition.expr, this.clone()));
                exprs.push((&c.error_message.expr, this.clone()));
            }
            body_expressions(&r.body, &[], &mut exprs);
            vec![(r.file, exprs)]
        }
    }
}

/// An expression and the names that are local where it stands (the
/// iterators of the `dynamic` blocks around it).
pub type BoundExpr<'b> = (&'b hcl::edit::expr::Expression, Vec<String>);

/// Every expression of a body, nested blocks included.
pub fn body_expressions<'b>(body: &'b Body, bound: &[String], out: &mut Vec<BoundExpr<'b>>) {
    for s in body.iter() {
        match s {
            Structure::Attribute(a) => out.push((&a.value, bound.to_vec())),
            Structure::Block(b) if b.ident.as_str() == "dynamic" => {
                let Some((_, iterator)) = crate::config::dynamic_block(b) else {
                    continue;
                };
                for inner in b.body.iter() {
                    match inner {
                        // `iterator` names the binding; it refers to nothing.
                        Structure::Attribute(a) if a.key.as_str() == "iterator" => {}
                        Structure::Attribute(a) => out.push((&a.value, bound.to_vec())),
                        Structure::Block(content) => {
                            let mut bound = bound.to_vec();
                            bound.push(iterator.clone());
                            body_expressions(&content.body, &bound, out);
                        }
                    }
                }
            }
            Structure::Block(b) => body_expressions(&b.body, bound, out),
        }
    }
}

/// Builds the graph of a configuration. Undeclared references, `count`
/// and `each` outside the blocks that define them, and cycles are
/// diagnostics.
pub fn build(config: &Config) -> Result<ConfigGraph, Diagnostics> {
    let mut graph: DiGraph<NodeId, RefSite> = DiGraph::new();
    let mut index = HashMap::new();
    let mut ids: Vec<NodeId> = config
        .resources
        .keys()
        .map(|a| NodeId::Resource(a.clone()))
        .collect();
    let modules = std::iter::once(ModulePath::new()).chain(config.modules.keys().cloned());
    for path in modules {
        let Some(items) = config.module_items(&path) else {
            continue;
        };
        let p = || path.clone();
        ids.extend(
            items
                .variables
                .keys()
                .map(|n| NodeId::Variable(p(), n.clone())),
        );
        ids.extend(items.locals.keys().map(|n| NodeId::Local(p(), n.clone())));
        ids.extend(items.outputs.keys().map(|n| NodeId::Output(p(), n.clone())));
        if !path.is_empty() {
            ids.push(NodeId::Module(p()));
        }
    }
    for id in ids {
        let ix = graph.add_node(id.clone());
        index.insert(id, ix);
    }
    let mut diags = Diagnostics::default();
    let nodes: Vec<(NodeId, NodeIndex)> = index
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    for (id, ix) in &nodes {
        let (has_count, has_each, context) = match id {
            NodeId::Resource(a) => {
                let r = &config.resources[a];
                (r.count.is_some(), r.for_each.is_some(), r.describe())
            }
            NodeId::Variable(m, _) if !m.is_empty() => {
                let call = &config.modules[m].call;
                (
                    call.count.is_some(),
                    call.for_each.is_some(),
                    format!("module \"{}\"", call.name),
                )
            }
            NodeId::Module(m) => (
                false,
                false,
                format!("module \"{}\"", config.modules[m].call.name),
            ),
            NodeId::Output(m, n) if m.is_empty() => (false, false, format!("output \"{n}\"")),
            NodeId::Variable(m, n) if m.is_empty() => (false, false, format!("variable \"{n}\"")),
            other => (false, false, other.to_string()),
        };
        let scope = id.scope().to_vec();
        let module = module_name(&scope);
        // Everything in a module waits for the module's instances.
        let container = match id {
            NodeId::Module(_) => id.scope(),
            other => other.module(),
        };
        if !container.is_empty() {
            let call = &config.modules[container].call;
            let site = RefSite {
                file: call.file,
                span: call.span.clone(),
            };
            graph.add_edge(index[&NodeId::Module(container.to_vec())], *ix, site);
        }
        for (file, exprs) in node_expressions(config, id) {
            for (expr, bound) in exprs {
                let found = references_binding(expr, &bound);
                for (err, span) in found.errors {
                    diags.push(
                        Diagnostic::error(err.summary, err.detail)
                            .with_subject(config.range(file, span))
                            .with_context(context.clone()),
                    );
                }
                for r in found.refs {
                    let site = RefSite {
                        file,
                        span: r.span.clone(),
                    };
                    let target = match &r.reference {
                        Reference::Var(n) if config.variable(&scope, n).is_some() => {
                            Some(NodeId::Variable(scope.clone(), n.clone()))
                        }
                        Reference::Var(n) => {
                            diags.push(undeclared(config, &site, "Reference to undeclared input variable", format!("An input variable with the name {n:?} has not been declared. This variable can be declared with a variable \"{n}\" {{}} block."), &context));
                            None
                        }
                        Reference::Local(n) if config.local(&scope, n).is_some() => {
                            Some(NodeId::Local(scope.clone(), n.clone()))
                        }
                        Reference::Local(n) => {
                            diags.push(undeclared(
                                config,
                                &site,
                                "Reference to undeclared local value",
                                format!("A local value with the name {n:?} has not been declared."),
                                &context,
                            ));
                            None
                        }
                        Reference::Resource {
                            mode,
                            type_name,
                            name,
                        } => {
                            let addr = ConfigAddr {
                                module: scope.clone(),
                                mode: *mode,
                                type_name: type_name.clone(),
                                name: name.clone(),
                            };
                            if config
                                .resources
                                .get(&addr)
                                .is_some_and(|r| r.check.is_some())
                            {
                                diags.push(undeclared(
                                    config,
                                    &site,
                                    "Reference to scoped resource",
                                    format!("The referenced data resource \"{type_name}\" \"{name}\" is not available from this context: it is scoped to a check block, whose assertions alone may refer to it."),
                                    &context,
                                ));
                                None
                            } else if config.resources.contains_key(&addr) {
                                Some(NodeId::Resource(addr))
                            } else {
                                let kind = if *mode == crate::lang::refs::ResourceMode::Data {
                                    "data source"
                                } else {
                                    "resource"
                                };
                                diags.push(undeclared(
                                    config,
                                    &site,
                                    &format!("Reference to undeclared {kind}"),
                                    format!("A {kind} \"{type_name}\" \"{name}\" has not been declared in {module}."),
                                    &context,
                                ));
                                None
                            }
                        }
                        Reference::Module { name, output } => {
                            let path: ModulePath =
                                scope.iter().cloned().chain([name.clone()]).collect();
                            match (config.module_items(&path), output) {
                                (None, _) => {
                                    diags.push(undeclared(
                                        config,
                                        &site,
                                        "Reference to undeclared module",
                                        format!(
                                            "No module call named {name:?} is declared in {module}."
                                        ),
                                        &context,
                                    ));
                                }
                                (Some(items), Some(o)) if !items.outputs.contains_key(o) => {
                                    diags.push(undeclared(config, &site, "Unsupported attribute", format!("This object does not have an attribute named {o:?}: the module {} declares no output {o:?}.", module_path_string(&path)), &context));
                                }
                                (Some(items), output) => {
                                    for o in items
                                        .outputs
                                        .keys()
                                        .filter(|o| output.as_ref().is_none_or(|w| w == *o))
                                    {
                                        graph.add_edge(
                                            index[&NodeId::Output(path.clone(), o.clone())],
                                            *ix,
                                            site.clone(),
                                        );
                                    }
                                }
                            }
                            None
                        }
                        Reference::CountIndex if !has_count => {
                            diags.push(undeclared(config, &site, "Reference to \"count\" in non-counted context", "The \"count\" object can only be used in \"module\", \"resource\", and \"data\" blocks, and only when the \"count\" argument is set.".into(), &context));
                            None
                        }
                        Reference::EachKey | Reference::EachValue if !has_each => {
                            diags.push(undeclared(config, &site, "Reference to \"each\" in context without for_each", "The \"each\" object can be used only in \"module\" or \"resource\" blocks, and only when the \"for_each\" argument is set.".into(), &context));
                            None
                        }
                        _ => None,
                    };
                    if let Some(target) = target {
                        if target == *id {
                            diags.push(undeclared(
                                config,
                                &site,
                                "Self-referential block",
                                format!("Configuration for {id} may not refer to itself."),
                                &context,
                            ));
                            continue;
                        }
                        graph.add_edge(index[&target], *ix, site);
                    }
                }
            }
        }
        // A called module's variable is checked by its validation rules,
        // which may name the module's other variables: those come first.
        if let NodeId::Variable(m, n) = id
            && let Some(var) = config.variable(m, n).filter(|_| !m.is_empty())
        {
            for rule in &var.validations {
                for r in crate::lang::refs::references(&rule.condition.expr).refs {
                    if let Reference::Var(other) = &r.reference
                        && other != n
                        && let Some(&from) = index.get(&NodeId::Variable(m.clone(), other.clone()))
                    {
                        let site = RefSite {
                            file: rule.condition.file,
                            span: r.span.clone(),
                        };
                        graph.add_edge(from, *ix, site);
                    }
                }
            }
        }
        let depends_on = match id {
            NodeId::Resource(a) => &config.resources[a].depends_on,
            NodeId::Output(m, n) => match config.output(m, n) {
                Some(o) => &o.depends_on,
                None => continue,
            },
            NodeId::Module(m) => &config.modules[m].call.depends_on,
            _ => continue,
        };
        for d in depends_on {
            let site = RefSite {
                file: d.file,
                span: d.span.clone(),
            };
            match &d.target {
                DependsOnTarget::Resource(a) => match index.get(&NodeId::Resource(a.clone())) {
                    Some(&t) => {
                        graph.add_edge(t, *ix, site);
                    }
                    None => diags.push(undeclared(
                        config,
                        &site,
                        "Reference to undeclared resource",
                        format!(
                            "A resource {} has not been declared in {module}.",
                            a.local_name()
                        ),
                        &context,
                    )),
                },
                DependsOnTarget::Module(path) if config.modules.contains_key(path) => {
                    for a in config
                        .resources
                        .keys()
                        .filter(|a| a.module.starts_with(path))
                    {
                        graph.add_edge(index[&NodeId::Resource(a.clone())], *ix, site.clone());
                    }
                }
                DependsOnTarget::Module(path) => diags.push(undeclared(
                    config,
                    &site,
                    "Reference to undeclared module",
                    format!(
                        "No module call named {:?} is declared in {module}.",
                        path.last().cloned().unwrap_or_default()
                    ),
                    &context,
                )),
            }
        }
    }
    if diags.has_errors() {
        diags.sort_by_position();
        return Err(diags);
    }
    let cycles = cycle_reports(config, &graph);
    if !cycles.is_empty() {
        return Err(Diagnostics(cycles));
    }
    let order = stable_topological_order(&graph);
    Ok(ConfigGraph {
        graph,
        index,
        order,
    })
}

fn undeclared(
    config: &Config,
    site: &RefSite,
    summary: &str,
    detail: String,
    context: &str,
) -> Diagnostic {
    Diagnostic::error(summary, detail)
        .with_subject(config.range(site.file, site.span.clone()))
        .with_context(context)
}

/// Kahn's algorithm, always taking the smallest ready node.
pub fn stable_topological_order<N: Ord, E>(graph: &DiGraph<N, E>) -> Vec<NodeIndex> {
    let mut indegree: Vec<usize> = graph
        .node_indices()
        .map(|n| graph.neighbors_directed(n, Direction::Incoming).count())
        .collect();
    // Parallel edges count once per edge on both sides, so they balance.
    let mut ready: BinaryHeap<Reverse<(&N, NodeIndex)>> = graph
        .node_indices()
        .filter(|n| indegree[n.index()] == 0)
        .map(|n| Reverse((&graph[n], n)))
        .collect();
    let mut order = Vec::with_capacity(graph.node_count());
    while let Some(Reverse((_, n))) = ready.pop() {
        order.push(n);
        for m in graph.neighbors_directed(n, Direction::Outgoing) {
            indegree[m.index()] -= 1;
            if indegree[m.index()] == 0 {
                ready.push(Reverse((&graph[m], m)));
            }
        }
    }
    order
}

/// One diagnostic per cycle: every address in it, and where each
/// reference along it is written.
fn cycle_reports(config: &Config, graph: &DiGraph<NodeId, RefSite>) -> Vec<Diagnostic> {
    let mut reports = Vec::new();
    let mut sccs = petgraph::algo::tarjan_scc(graph);
    for scc in &mut sccs {
        scc.sort_by(|a, b| graph[*a].cmp(&graph[*b]));
    }
    sccs.sort_by(|a, b| graph[a[0]].cmp(&graph[b[0]]));
    for scc in sccs {
        let self_loop = scc.len() == 1 && graph.find_edge(scc[0], scc[0]).is_some();
        if scc.len() < 2 && !self_loop {
            continue;
        }
        let path = cycle_path(graph, &scc);
        let names: Vec<String> = path.iter().map(|n| graph[*n].to_string()).collect();
        let mut detail = format!("{} -> {}\n", names.join(" -> "), names[0]);
        let mut first_site = None;
        for (i, &n) in path.iter().enumerate() {
            let next = path[(i + 1) % path.len()];
            // The path follows references: `n` refers to `next`, so the
            // edge runs from `next` (the dependency) to `n`.
            if let Some(e) = graph.find_edge(next, n) {
                let site = &graph[e];
                let at = config
                    .range(site.file, site.span.clone())
                    .map_or_else(String::new, |r| {
                        format!(" at {}:{}:{}", r.filename, r.start.line, r.start.column)
                    });
                detail.push_str(&format!("\n  {} refers to {}{at}", graph[n], graph[next]));
                if first_site.is_none() {
                    first_site = config.range(site.file, site.span.clone());
                }
            }
        }
        reports.push(
            Diagnostic::error(format!("Cycle: {}", names.join(", ")), detail)
                .with_subject(first_site),
        );
    }
    reports
}

/// A cycle through the smallest node of a strongly connected component,
/// following references (from a node to what it refers to).
fn cycle_path(graph: &DiGraph<NodeId, RefSite>, scc: &[NodeIndex]) -> Vec<NodeIndex> {
    let start = scc[0];
    let in_scc = |n: NodeIndex| scc.contains(&n);
    let mut prev: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        // What `n` refers to: edges come into `n` from its dependencies.
        let mut next: Vec<NodeIndex> = graph
            .neighbors_directed(n, Direction::Incoming)
            .filter(|m| in_scc(*m))
            .collect();
        next.sort_by(|a, b| graph[*a].cmp(&graph[*b]));
        for m in next {
            if m == start {
                let mut path = vec![n];
                let mut cur = n;
                while cur != start {
                    cur = prev[&cur];
                    path.push(cur);
                }
                path.reverse();
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(m) {
                e.insert(n);
                queue.push_back(m);
            }
        }
    }
    scc.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_sources;
    use crate::diag::SourceFile;
    use std::path::Path;

    fn graph_of(src: &str) -> Result<ConfigGraph, Diagnostics> {
        let config = load_sources(
            Path::new("."),
            vec![SourceFile::new("main.tf", "main.tf", src)],
        )
        .unwrap();
        build(&config)
    }

    #[test]
    fn orders_dependencies_first_and_deterministically() {
        let g = graph_of(
            r#"
variable "n" { default = 1 }
locals { name = "x-${var.n}" }
resource "terraform_data" "b" { input = terraform_data.a.output }
resource "terraform_data" "a" { input = local.name }
resource "terraform_data" "c" { depends_on = [terraform_data.b] }
output "o" { value = terraform_data.c.id }
"#,
        )
        .unwrap();
        let order: Vec<String> = g.order.iter().map(|n| g.graph[*n].to_string()).collect();
        assert_eq!(
            order,
            [
                "var.n",
                "local.name",
                "terraform_data.a",
                "terraform_data.b",
                "terraform_data.c",
                "output.o"
            ]
        );
        assert!(
            g.to_dot()
                .contains("\"terraform_data.b\" -> \"terraform_data.a\"")
        );
    }

    #[test]
    fn reports_undeclared_references_with_their_place() {
        let err = graph_of("resource \"terraform_data\" \"a\" {\n  input = var.nope\n}\noutput \"o\" { value = count.index }\n").unwrap_err();
        let got: Vec<String> = err
            .iter()
            .map(|d| {
                format!(
                    "{}:{} {}",
                    d.subject.as_ref().unwrap().start.line,
                    d.subject.as_ref().unwrap().start.column,
                    d.summary
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "2:11 Reference to undeclared input variable",
                "4:22 Reference to \"count\" in non-counted context"
            ]
        );
    }

    #[test]
    fn module_items_resolve_names_in_their_own_module() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("m")).unwrap();
        std::fs::write(
            dir.path().join("main.tf"),
            "locals { x = 1 }\nmodule \"a\" {\n  source = \"./m\"\n  v      = local.x\n}\noutput \"o\" { value = module.a.out }\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("m/main.tf"),
            "variable \"v\" {}\nlocals { x = var.v }\nresource \"terraform_data\" \"r\" { input = local.x }\noutput \"out\" { value = terraform_data.r.id }\noutput \"unused\" { value = 1 }\n",
        )
        .unwrap();
        let config = crate::config::load_dir(dir.path()).unwrap();
        let g = build(&config).unwrap();
        let order: Vec<String> = g.order.iter().map(|n| g.graph[*n].to_string()).collect();
        let at = |name: &str| order.iter().position(|n| n == name).unwrap();
        // The call's argument is written in the root, with the root's x.
        assert!(at("local.x") < at("module.a.var.v"));
        assert!(at("module.a") < at("module.a.var.v"));
        assert!(at("module.a.var.v") < at("module.a.local.x"));
        assert!(at("module.a.local.x") < at("module.a.terraform_data.r"));
        assert!(at("module.a.output.out") < at("output.o"));
        let o = g.node(&NodeId::Output(Vec::new(), "o".into())).unwrap();
        let from: Vec<String> = g
            .graph
            .neighbors_directed(o, Direction::Incoming)
            .map(|n| g.graph[n].to_string())
            .collect();
        assert_eq!(from, ["module.a.output.out"], "only the output it names");
        assert_eq!(
            g.resource_dependencies_transitive(&NodeId::Output(Vec::new(), "o".into())),
            [ConfigAddr::managed("terraform_data", "r").in_module(&["a".to_string()])]
        );
    }

    #[test]
    fn a_cycle_names_every_address_and_reference() {
        let err = graph_of(
            "resource \"terraform_data\" \"a\" {\n  input = terraform_data.c.id\n}\nresource \"terraform_data\" \"b\" {\n  input = terraform_data.a.id\n}\nresource \"terraform_data\" \"c\" {\n  input = local.x\n}\nlocals {\n  x = terraform_data.b.output\n}\n",
        )
        .unwrap_err();
        assert_eq!(err.0.len(), 1);
        let d = &err.0[0];
        assert_eq!(
            d.summary,
            "Cycle: local.x, terraform_data.b, terraform_data.a, terraform_data.c"
        );
        assert!(
            d.detail.starts_with(
                "local.x -> terraform_data.b -> terraform_data.a -> terraform_data.c -> local.x"
            ),
            "{}",
            d.detail
        );
        assert!(
            d.detail
                .contains("local.x refers to terraform_data.b at main.tf:11:7"),
            "{}",
            d.detail
        );
        assert!(
            d.detail
                .contains("terraform_data.c refers to local.x at main.tf:8:11"),
            "{}",
            d.detail
        );
    }
}
