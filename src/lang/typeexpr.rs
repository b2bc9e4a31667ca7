//! Type constraints as written in `variable` blocks: `string`,
//! `list(number)`, `map(any)`, `object({ name = string, size =
//! optional(number, 10) })`, `tuple([string, number])`, and the legacy
//! bare `list`/`map` (meaning `list(any)`/`map(any)`).

use super::convert::{Constraint, ObjectAttr};
use super::eval::{Evaluator, Scope, ScopeError};
use super::refs::Reference;
use super::value::Value;
use hcl::edit::Span;
use hcl::edit::expr::{Expression, ObjectKey};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

/// A type expression that is not one, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeExprError {
    pub span: Option<Range<usize>>,
    pub detail: String,
}

fn err(expr: &Expression, detail: impl Into<String>) -> TypeExprError {
    TypeExprError {
        span: expr.span(),
        detail: detail.into(),
    }
}

/// Parses a type constraint expression.
pub fn parse_constraint(expr: &Expression) -> Result<Constraint, TypeExprError> {
    parse(expr)
}

fn parse(expr: &Expression) -> Result<Constraint, TypeExprError> {
    match expr {
        Expression::Variable(v) => match v.as_str() {
            "any" => Ok(Constraint::Any),
            "string" => Ok(Constraint::String),
            "number" => Ok(Constraint::Number),
            "bool" => Ok(Constraint::Bool),
            "list" => Ok(Constraint::List(Box::new(Constraint::Any))),
            "map" => Ok(Constraint::Map(Box::new(Constraint::Any))),
            "set" | "object" | "tuple" => Err(err(
                expr,
                format!(
                    "The {} type constructor requires one argument specifying the element type.",
                    v.as_str()
                ),
            )),
            other => Err(err(
                expr,
                format!("The keyword {other:?} is not a valid type specification."),
            )),
        },
        // Terraform 0.11 wrote types as strings; Terraform still accepts
        // the three old spellings.
        Expression::String(s) => match s.value().as_str() {
            "string" => Ok(Constraint::String),
            "list" => Ok(Constraint::List(Box::new(Constraint::Any))),
            "map" => Ok(Constraint::Map(Box::new(Constraint::Any))),
            _ => Err(err(
                expr,
                "A type specification is either a primitive type keyword (bool, number, string) or a complex type constructor call, like list(string).",
            )),
        },
        Expression::FuncCall(call) => {
            let name = call.name.name.as_str();
            let args: Vec<&Expression> = call.args.iter().collect();
            let one_arg = |what: &str| -> Result<&Expression, TypeExprError> {
                if args.len() == 1 {
                    Ok(args[0])
                } else {
                    Err(err(
                        expr,
                        format!(
                            "The {name} type constructor requires one argument specifying the {what}."
                        ),
                    ))
                }
            };
            match name {
                "list" => Ok(Constraint::List(Box::new(parse(one_arg("element type")?)?))),
                "set" => Ok(Constraint::Set(Box::new(parse(one_arg("element type")?)?))),
                "map" => Ok(Constraint::Map(Box::new(parse(one_arg("element type")?)?))),
                "tuple" => {
                    let Expression::Array(items) = one_arg("element types")? else {
                        return Err(err(
                            expr,
                            "The tuple type constructor requires a list of element types.",
                        ));
                    };
                    Ok(Constraint::Tuple(
                        items.iter().map(parse).collect::<Result<_, _>>()?,
                    ))
                }
                "object" => {
                    let Expression::Object(obj) = one_arg("attribute types")? else {
                        return Err(err(
                            expr,
                            "The object type constructor requires an object of attribute names and their types.",
                        ));
                    };
                    let mut attrs = BTreeMap::new();
                    for (key, value) in obj.iter() {
                        let name = match key {
                            ObjectKey::Ident(id) => id.as_str().to_string(),
                            ObjectKey::Expression(Expression::String(s)) => s.value().to_string(),
                            ObjectKey::Expression(Expression::Variable(v)) => {
                                v.as_str().to_string()
                            }
                            ObjectKey::Expression(e) => {
                                return Err(err(
                                    e,
                                    "Object constructor map keys must be attribute names.",
                                ));
                            }
                        };
                        attrs.insert(name, parse_attr(value.expr())?);
                    }
                    Ok(Constraint::Object(attrs))
                }
                // `optional(...)` directly on an attribute is handled by
                // `parse_attr`; here it is nested inside something else.
                "optional" => Err(err(
                    expr,
                    "Keyword \"optional\" is valid only as a modifier for object type attributes.",
                )),
                other => Err(err(
                    expr,
                    format!("Keyword {other:?} is not a valid type constructor."),
                )),
            }
        }
        _ => Err(err(
            expr,
            "A type specification is either a primitive type keyword (bool, number, string) or a complex type constructor call, like list(string).",
        )),
    }
}

fn parse_attr(expr: &Expression) -> Result<ObjectAttr, TypeExprError> {
    if let Expression::FuncCall(call) = expr
        && call.name.name.as_str() == "optional"
    {
        let args: Vec<&Expression> = call.args.iter().collect();
        return match args.as_slice() {
            [ty] => Ok(ObjectAttr {
                ty: parse(ty)?,
                optional: true,
                default: None,
            }),
            [ty, default] => {
                let ty = parse(ty)?;
                let value = constant_value(default).map_err(|detail| TypeExprError {
                    span: default.span(),
                    detail,
                })?;
                let converted = ty.convert(&value).map_err(|e| TypeExprError {
                    span: default.span(),
                    detail: format!("Invalid default value for optional attribute: {e}."),
                })?;
                Ok(ObjectAttr {
                    ty,
                    optional: true,
                    default: Some(converted),
                })
            }
            _ => Err(err(
                expr,
                "Optional attribute modifier expects at most two arguments: an attribute type, and a default value.",
            )),
        };
    }
    Ok(ObjectAttr {
        ty: parse(expr)?,
        optional: false,
        default: None,
    })
}

/// A scope where no reference is allowed: for defaults of variables and
/// of optional attributes, which Terraform requires to be constants.
pub struct ConstantScope<'a> {
    pub base_dir: &'a Path,
}

impl Scope for ConstantScope<'_> {
    fn resolve(&self, reference: &Reference) -> Result<Value, ScopeError> {
        Err(ScopeError {
            summary: "Variables not allowed".into(),
            detail: format!("Variables may not be used here ({reference})."),
        })
    }

    fn base_dir(&self) -> &Path {
        self.base_dir
    }
}

/// Evaluates an expression that may not refer to anything.
pub fn constant_value(expr: &Expression) -> Result<Value, String> {
    let scope = ConstantScope {
        base_dir: Path::new("."),
    };
    Evaluator::new(&scope)
        .eval(expr)
        .map_err(|e| format!("{}: {}", e.summary, e.detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraint(src: &str) -> Result<Constraint, TypeExprError> {
        let expr: Expression = src.parse().unwrap();
        parse_constraint(&expr)
    }

    #[test]
    fn parses_type_constraints() {
        for src in [
            "string",
            "list(number)",
            "map(any)",
            "set(string)",
            "tuple([string, number])",
            "list(map(bool))",
        ] {
            assert_eq!(constraint(src).unwrap().to_string(), src);
        }
        assert_eq!(constraint("list").unwrap().to_string(), "list(any)");
        assert_eq!(constraint("\"string\"").unwrap(), Constraint::String);
    }

    #[test]
    fn parses_optional_attributes_with_defaults() {
        let c = constraint(
            "object({ a = string, b = optional(number, 5), c = optional(list(string)) })",
        )
        .unwrap();
        let Constraint::Object(attrs) = &c else {
            panic!("object expected")
        };
        assert!(!attrs["a"].optional);
        assert_eq!(attrs["b"].default, Some(Value::from(5)));
        assert!(attrs["c"].optional && attrs["c"].default.is_none());
    }

    #[test]
    fn rejects_what_is_not_a_type() {
        assert!(
            constraint("strin")
                .unwrap_err()
                .detail
                .contains("not a valid type specification")
        );
        assert!(constraint("optional(string)").is_err());
        assert!(constraint("object({ a = optional(optional(string)) })").is_err());
        assert!(
            constraint("object({ a = optional(number, \"x\") })")
                .unwrap_err()
                .detail
                .contains("Invalid default")
        );
        assert!(constraint("list(string, number)").is_err());
    }
}
