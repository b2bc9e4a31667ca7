//! References in expressions: `var.x`, `local.y`, `count.index`,
//! `each.key`, `path.module`, `data.T.N`, `T.N`. One parser serves the
//! evaluator (to look values up) and the graph builder (to draw edges and
//! report undeclared names with their place in the source).

use hcl::edit::Span;
use hcl::edit::expr::{Expression, TraversalOperator};
use hcl::edit::template::{Directive, Element, Template};
use std::fmt;
use std::ops::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceMode {
    // Data resources order first, as in Terraform's plans and states.
    Data,
    Managed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PathAttr {
    Module,
    Root,
    Cwd,
}

/// What a reference names, without any attributes or indexes after it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reference {
    Var(String),
    Local(String),
    CountIndex,
    EachKey,
    EachValue,
    Path(PathAttr),
    Workspace,
    Resource {
        mode: ResourceMode,
        type_name: String,
        name: String,
    },
    /// `module.NAME`: the outputs of a module call. `output` is the
    /// output named right after it (`module.net.id`, `module.net[0].id`),
    /// which is what the reference depends on.
    Module {
        name: String,
        output: Option<String>,
    },
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Var(n) => write!(f, "var.{n}"),
            Reference::Local(n) => write!(f, "local.{n}"),
            Reference::CountIndex => f.write_str("count.index"),
            Reference::EachKey => f.write_str("each.key"),
            Reference::EachValue => f.write_str("each.value"),
            Reference::Path(PathAttr::Module) => f.write_str("path.module"),
            Reference::Path(PathAttr::Root) => f.write_str("path.root"),
            Reference::Path(PathAttr::Cwd) => f.write_str("path.cwd"),
            Reference::Workspace => f.write_str("terraform.workspace"),
            Reference::Resource {
                mode: ResourceMode::Managed,
                type_name,
                name,
            } => write!(f, "{type_name}.{name}"),
            Reference::Resource {
                mode: ResourceMode::Data,
                type_name,
                name,
            } => {
                write!(f, "data.{type_name}.{name}")
            }
            Reference::Module { name, .. } => write!(f, "module.{name}"),
        }
    }
}

/// A reference that does not follow the language's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefError {
    pub summary: String,
    pub detail: String,
}

fn invalid(detail: impl Into<String>) -> RefError {
    RefError {
        summary: "Invalid reference".into(),
        detail: detail.into(),
    }
}

fn attr_name(op: Option<&TraversalOperator>) -> Option<&str> {
    match op {
        Some(TraversalOperator::GetAttr(id)) => Some(id.as_str()),
        _ => None,
    }
}

/// Parses the reference at the start of a traversal `root.ops...`.
/// Returns the reference and how many operators it used.
pub fn parse_reference(
    root: &str,
    ops: &[&TraversalOperator],
) -> Result<(Reference, usize), RefError> {
    let first = attr_name(ops.first().copied());
    let need_attr = |what: &str| {
        invalid(format!(
            "The \"{root}\" object cannot be accessed directly. Instead, access one of its attributes{what}."
        ))
    };
    match root {
        "var" => first
            .map(|n| (Reference::Var(n.to_string()), 1))
            .ok_or_else(|| need_attr("")),
        "local" => first
            .map(|n| (Reference::Local(n.to_string()), 1))
            .ok_or_else(|| need_attr("")),
        "count" => match first {
            Some("index") => Ok((Reference::CountIndex, 1)),
            Some(other) => Err(invalid(format!(
                "The \"count\" object does not have an attribute named {other:?}. The only supported attribute is count.index, which is the index of each instance of a resource block that has the \"count\" argument set."
            ))),
            None => Err(invalid(
                "The \"count\" object cannot be accessed directly. Instead, access it from one of its root module attributes.",
            )),
        },
        "each" => match first {
            Some("key") => Ok((Reference::EachKey, 1)),
            Some("value") => Ok((Reference::EachValue, 1)),
            Some(other) => Err(invalid(format!(
                "The \"each\" object does not have an attribute named {other:?}. The supported attributes are each.key and each.value, the current key and value pair of the \"for_each\" attribute set."
            ))),
            None => Err(invalid(
                "The \"each\" object cannot be accessed directly. Instead, access one of its attributes.",
            )),
        },
        "path" => match first {
            Some("module") => Ok((Reference::Path(PathAttr::Module), 1)),
            Some("root") => Ok((Reference::Path(PathAttr::Root), 1)),
            Some("cwd") => Ok((Reference::Path(PathAttr::Cwd), 1)),
            Some(other) => Err(invalid(format!(
                "The \"path\" object does not have an attribute named {other:?}. The supported attributes are path.cwd, path.module, and path.root."
            ))),
            None => Err(need_attr("")),
        },
        "terraform" => match first {
            Some("workspace") => Ok((Reference::Workspace, 1)),
            _ => Err(invalid(
                "The \"terraform\" object has only one attribute: terraform.workspace.",
            )),
        },
        "data" => {
            let Some(type_name) = first else {
                return Err(invalid(
                    "The \"data\" object must be followed by two attribute names: the data source type and the resource name.",
                ));
            };
            let Some(name) = attr_name(ops.get(1).copied()) else {
                return Err(invalid(
                    "The \"data\" object must be followed by two attribute names: the data source type and the resource name.",
                ));
            };
            Ok((
                Reference::Resource {
                    mode: ResourceMode::Data,
                    type_name: type_name.into(),
                    name: name.into(),
                },
                2,
            ))
        }
        "self" => Err(invalid(
            "The \"self\" object is not available in this context.",
        )),
        "module" => {
            let Some(name) = first else {
                return Err(invalid(
                    "The \"module\" object cannot be accessed directly. Instead, access one of its attributes: the name of a module call.",
                ));
            };
            let output = match (ops.get(1), ops.get(2)) {
                (Some(TraversalOperator::GetAttr(o)), _) => Some(o.to_string()),
                (
                    Some(TraversalOperator::Index(_) | TraversalOperator::LegacyIndex(_)),
                    Some(TraversalOperator::GetAttr(o)),
                ) => Some(o.to_string()),
                _ => None,
            };
            Ok((
                Reference::Module {
                    name: name.to_string(),
                    output,
                },
                1,
            ))
        }
        type_name => match first {
            Some(name) => Ok((
                Reference::Resource {
                    mode: ResourceMode::Managed,
                    type_name: type_name.into(),
                    name: name.into(),
                },
                1,
            )),
            None => Err(invalid(format!(
                "A reference to a resource type must be followed by at least one attribute access, specifying the resource name (\"{type_name}\")."
            ))),
        },
    }
}

/// A reference found in an expression, with its place in the source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundRef {
    pub reference: Reference,
    pub span: Option<Range<usize>>,
}

/// What a walk over an expression found: the references, and the
/// traversals that are not valid references.
#[derive(Clone, Debug, Default)]
pub struct FoundRefs {
    pub refs: Vec<FoundRef>,
    pub errors: Vec<(RefError, Option<Range<usize>>)>,
}

/// Collects the references of an expression. Names bound by `for`
/// expressions and template `for` directives are not references.
pub fn references(expr: &Expression) -> FoundRefs {
    references_binding(expr, &[])
}

/// Collects the references of an expression in which `bound` names are
/// local (a `dynamic` block's iterator).
pub fn references_binding(expr: &Expression, bound: &[String]) -> FoundRefs {
    let mut walker = RefWalker {
        bound: bound.to_vec(),
        found: FoundRefs::default(),
    };
    walker.expr(expr);
    walker.found
}

struct RefWalker {
    bound: Vec<String>,
    found: FoundRefs,
}

impl RefWalker {
    fn is_bound(&self, name: &str) -> bool {
        self.bound.iter().any(|b| b == name)
    }

    fn root(&mut self, name: &str, ops: &[&TraversalOperator], span: Option<Range<usize>>) {
        if self.is_bound(name) {
            return;
        }
        match parse_reference(name, ops) {
            Ok((reference, _)) => self.found.refs.push(FoundRef { reference, span }),
            Err(e) => self.found.errors.push((e, span)),
        }
    }

    fn expr(&mut self, expr: &Expression) {
        match expr {
            Expression::Null(_)
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_) => {}
            Expression::Array(items) => items.iter().for_each(|e| self.expr(e)),
            Expression::Object(obj) => {
                for (key, value) in obj.iter() {
                    if let hcl::edit::expr::ObjectKey::Expression(k) = key {
                        self.object_key(k);
                    }
                    self.expr(value.expr());
                }
            }
            Expression::StringTemplate(t) => self.template(t),
            Expression::HeredocTemplate(h) => self.template(&h.template),
            Expression::Parenthesis(p) => self.expr(p.inner()),
            Expression::Variable(v) => self.root(v.as_str(), &[], expr.span()),
            Expression::Conditional(c) => {
                self.expr(&c.cond_expr);
                self.expr(&c.true_expr);
                self.expr(&c.false_expr);
            }
            Expression::FuncCall(f) => f.args.iter().for_each(|a| self.expr(a)),
            Expression::Traversal(t) => {
                if let Expression::Variable(root) = &t.expr {
                    let ops: Vec<&TraversalOperator> =
                        t.operators.iter().map(|o| o.value()).collect();
                    self.root(root.as_str(), &ops, expr.span());
                } else {
                    self.expr(&t.expr);
                }
                for op in &t.operators {
                    if let TraversalOperator::Index(index) = op.value() {
                        self.expr(index);
                    }
                }
            }
            Expression::UnaryOp(u) => self.expr(&u.expr),
            Expression::BinaryOp(b) => {
                self.expr(&b.lhs_expr);
                self.expr(&b.rhs_expr);
            }
            Expression::ForExpr(f) => {
                self.expr(&f.intro.collection_expr);
                let depth = self.bound.len();
                self.bound.push(f.intro.value_var.as_str().to_string());
                if let Some(k) = &f.intro.key_var {
                    self.bound.push(k.as_str().to_string());
                }
                if let Some(k) = &f.key_expr {
                    self.expr(k);
                }
                self.expr(&f.value_expr);
                if let Some(c) = &f.cond {
                    self.expr(&c.expr);
                }
                self.bound.truncate(depth);
            }
        }
    }

    /// An object key in parentheses or quotes is an expression; a bare
    /// name (`{ foo = 1 }`) is a literal string, and so is a lone variable
    /// written as a key.
    fn object_key(&mut self, key: &Expression) {
        match key {
            Expression::Variable(_) => {}
            Expression::Parenthesis(p) => self.expr(p.inner()),
            other => self.expr(other),
        }
    }

    fn template(&mut self, t: &Template) {
        for element in t.iter() {
            match element {
                Element::Literal(_) => {}
                Element::Interpolation(i) => self.expr(&i.expr),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(i) => {
                        self.expr(&i.if_expr.cond_expr);
                        self.template(&i.if_expr.template);
                        if let Some(e) = &i.else_expr {
                            self.template(&e.template);
                        }
                    }
                    Directive::For(f) => {
                        self.expr(&f.for_expr.collection_expr);
                        let depth = self.bound.len();
                        self.bound.push(f.for_expr.value_var.as_str().to_string());
                        if let Some(k) = &f.for_expr.key_var {
                            self.bound.push(k.as_str().to_string());
                        }
                        self.template(&f.for_expr.template);
                        self.bound.truncate(depth);
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs_of(src: &str) -> Vec<String> {
        let expr: Expression = src.parse().expect("expression parses");
        references(&expr)
            .refs
            .iter()
            .map(|r| r.reference.to_string())
            .collect()
    }

    #[test]
    fn finds_references_everywhere_but_in_bound_names() {
        assert_eq!(
            refs_of(r#"[for k, v in var.m : "${k}-${v}-${local.p}" if v != count.index]"#),
            ["var.m", "local.p", "count.index"]
        );
        assert_eq!(
            refs_of(r#"terraform_data.net[count.index % 20].output.name"#),
            ["terraform_data.net", "count.index"]
        );
        assert_eq!(refs_of(r#"data.x_y.z.id"#), ["data.x_y.z"]);
        assert_eq!(
            refs_of(r#""%{ for s in var.l }${s}%{ endfor }""#),
            ["var.l"]
        );
    }

    #[test]
    fn reports_invalid_references() {
        let expr: Expression = "count.foo".parse().unwrap();
        let found = references(&expr);
        assert!(found.refs.is_empty());
        assert!(found.errors[0].0.detail.contains("count.index"));
    }
}
