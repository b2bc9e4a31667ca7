//! Conversion of values between types, and unification of several types
//! into one, following cty's rules as Terraform applies them: to variable
//! values, function arguments, conditional results and collections.

use super::number::Number;
use super::value::{Path, PathStep, Type, Value, path_to_string};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A value that cannot be converted: where inside it, and why (in
/// Terraform's words, e.g. "a number is required").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ConvertError {
    pub path: Path,
    pub message: String,
}

impl ConvertError {
    fn new(message: impl Into<String>) -> ConvertError {
        ConvertError {
            path: Vec::new(),
            message: message.into(),
        }
    }

    fn at(mut self, step: PathStep) -> ConvertError {
        self.path.insert(0, step);
        self
    }

    pub fn describe(&self) -> String {
        self.describe_path(true)
    }

    /// As [`describe`](Self::describe), for a sensitive value: map keys
    /// are part of the value, so the place does not name them.
    pub fn describe_sensitive(&self) -> String {
        self.describe_path(false)
    }

    fn describe_path(&self, with_keys: bool) -> String {
        if self.path.is_empty() {
            self.message.clone()
        } else {
            let mut out = String::new();
            let mut first = true;
            for step in &self.path {
                match step {
                    PathStep::Attr(a) if first => out.push_str(&format!("attribute {a:?}")),
                    PathStep::Attr(a) => out.push_str(&format!(".{a}")),
                    PathStep::Key(_) if first && !with_keys => out.push_str("an element"),
                    PathStep::Key(_) if !with_keys => out.push_str("[…]"),
                    PathStep::Key(k) if first => out.push_str(&format!("element {k:?}")),
                    PathStep::Index(i) if first => out.push_str(&format!("element {i}")),
                    other => out.push_str(&path_to_string(std::slice::from_ref(other))),
                }
                first = false;
            }
            format!("{out}: {}", self.message)
        }
    }
}

/// cty's message for a value of the wrong kind ("string required",
/// "list of number required").
fn required(ty: &Type) -> ConvertError {
    ConvertError::new(match ty {
        Type::List(e) | Type::Set(e) | Type::Map(e) if e.has_dynamic() => {
            let kind = match ty {
                Type::List(_) => "list",
                Type::Set(_) => "set",
                _ => "map",
            };
            format!("{kind} of any single type required")
        }
        Type::Dynamic => "a value is required".to_string(),
        other => format!("{} required", other.friendly_name()),
    })
}

/// Converts `value` to type `want`. Marks are kept on the converted value.
pub fn convert(value: &Value, want: &Type) -> Result<Value, ConvertError> {
    if let Value::Sensitive(inner) = value {
        return convert(inner, want).map(Value::mark_sensitive);
    }
    if *want == Type::Dynamic {
        return Ok(value.clone());
    }
    match value {
        Value::Null(_) => return Ok(Value::Null(want.clone())),
        Value::Unknown(t) => {
            return Ok(Value::Unknown(if *t == Type::Dynamic {
                want.clone()
            } else {
                unify_or(t, want)
            }));
        }
        _ => {}
    }
    match want {
        Type::Dynamic => Ok(value.clone()),
        Type::String => match value {
            Value::String(_) => Ok(value.clone()),
            Value::Number(n) => Ok(Value::string(n.to_string())),
            Value::Bool(b) => Ok(Value::string(if *b { "true" } else { "false" })),
            _ => Err(required(want)),
        },
        Type::Number => match value {
            Value::Number(_) => Ok(value.clone()),
            Value::String(s) => Number::parse(s)
                .map(Value::Number)
                .ok_or_else(|| ConvertError::new("a number is required")),
            _ => Err(required(want)),
        },
        Type::Bool => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(s) if &**s == "true" => Ok(Value::Bool(true)),
            Value::String(s) if &**s == "false" => Ok(Value::Bool(false)),
            Value::String(_) => Err(ConvertError::new("a bool is required")),
            _ => Err(required(want)),
        },
        Type::List(elem) | Type::Set(elem) => {
            let items = match value {
                Value::List(..) | Value::Set(..) | Value::Tuple(_) => value.as_seq().unwrap_or(&[]),
                _ => return Err(required(want)),
            };
            let elem = if elem.has_dynamic() {
                let types: Vec<Type> = items.iter().map(Value::type_of).collect();
                match unify_with(&types, elem) {
                    Some(t) => t,
                    None => return Err(required(want)),
                }
            } else {
                (**elem).clone()
            };
            let converted = items
                .iter()
                .enumerate()
                .map(|(i, v)| convert(v, &elem).map_err(|e| e.at(PathStep::Index(i))))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(if matches!(want, Type::Set(_)) {
                Value::set(elem, converted)
            } else {
                Value::list(elem, converted)
            })
        }
        Type::Map(elem) => {
            let items = match value {
                Value::Map(..) | Value::Object(_) => {
                    value.as_entries().cloned().unwrap_or_default()
                }
                _ => return Err(required(want)),
            };
            let elem = if elem.has_dynamic() {
                let types: Vec<Type> = items.values().map(Value::type_of).collect();
                match unify_with(&types, elem) {
                    Some(t) => t,
                    None => return Err(required(want)),
                }
            } else {
                (**elem).clone()
            };
            let converted = items
                .iter()
                .map(|(k, v)| {
                    Ok((
                        k.clone(),
                        convert(v, &elem).map_err(|e| e.at(PathStep::Key(k.clone())))?,
                    ))
                })
                .collect::<Result<BTreeMap<_, _>, ConvertError>>()?;
            Ok(Value::map(elem, converted))
        }
        Type::Tuple(types) => {
            let items = match value {
                Value::List(..) | Value::Tuple(_) => value.as_seq().unwrap_or(&[]),
                _ => return Err(required(want)),
            };
            if items.len() != types.len() {
                return Err(ConvertError::new(format!(
                    "tuple required with {} elements",
                    types.len()
                )));
            }
            Ok(Value::tuple(
                items
                    .iter()
                    .zip(types)
                    .enumerate()
                    .map(|(i, (v, t))| convert(v, t).map_err(|e| e.at(PathStep::Index(i))))
                    .collect::<Result<_, _>>()?,
            ))
        }
        Type::Object(attrs) => {
            let items = match value {
                Value::Map(..) | Value::Object(_) => {
                    value.as_entries().cloned().unwrap_or_default()
                }
                _ => return Err(required(want)),
            };
            let mut out = BTreeMap::new();
            for (name, ty) in attrs {
                let Some(v) = items.get(name) else {
                    return Err(ConvertError::new(format!("attribute {name:?} is required")));
                };
                out.insert(
                    name.clone(),
                    convert(v, ty).map_err(|e| e.at(PathStep::Attr(name.clone())))?,
                );
            }
            Ok(Value::object(out))
        }
    }
}

fn unify_or(a: &Type, b: &Type) -> Type {
    unify(&[a.clone(), b.clone()]).unwrap_or_else(|| b.clone())
}

/// Unifies element types towards a constraint that contains `Dynamic`
/// (e.g. `list(any)`): all elements must end up with one type.
fn unify_with(types: &[Type], constraint: &Type) -> Option<Type> {
    if types.is_empty() {
        return Some(constraint.clone());
    }
    match constraint {
        Type::Dynamic => unify(types),
        // `list(list(any))` and the like: unify, then check the shape.
        _ => {
            let t = unify(types)?;
            conforms(&t, constraint).then_some(t)
        }
    }
}

/// Whether a type has the shape of a constraint containing `Dynamic`.
fn conforms(t: &Type, constraint: &Type) -> bool {
    match (t, constraint) {
        (_, Type::Dynamic) => true,
        (Type::List(a), Type::List(b))
        | (Type::Set(a), Type::Set(b))
        | (Type::Map(a), Type::Map(b)) => conforms(a, b),
        (Type::Tuple(_), Type::List(_) | Type::Set(_)) | (Type::Object(_), Type::Map(_)) => true,
        (a, b) => a == b || a.is_primitive() && b.is_primitive(),
    }
}

/// The one type all `types` convert to, as cty's unification finds it
/// (`["a", 1]` unify to string; tuples of different lengths to a list;
/// objects with different attributes to a map). `None` when there is none.
pub fn unify(types: &[Type]) -> Option<Type> {
    if types.is_empty() {
        return None;
    }
    let mut known = types.iter().filter(|t| **t != Type::Dynamic).peekable();
    // Only nulls and unknowns of no type: they stay of no type.
    let Some(first) = known.peek() else {
        return Some(Type::Dynamic);
    };
    if types.contains(&Type::Dynamic) {
        // A null or unknown among the values: it converts to whatever the
        // others unify to.
        let rest: Vec<Type> = types
            .iter()
            .filter(|t| **t != Type::Dynamic)
            .cloned()
            .collect();
        return unify(&rest);
    }
    if types.iter().all(|t| t == *first) {
        return Some((*first).clone());
    }
    if types.iter().all(Type::is_primitive) {
        // Mixed primitives: string when every one converts to string;
        // number and bool do not convert to each other.
        let has_string = types.contains(&Type::String);
        return if has_string { Some(Type::String) } else { None };
    }
    // Collections: unify element types.
    let elem_types = |t: &Type| -> Option<Vec<Type>> {
        match t {
            Type::List(e) | Type::Set(e) | Type::Map(e) => Some(vec![(**e).clone()]),
            Type::Tuple(es) => Some(es.clone()),
            Type::Object(attrs) => Some(attrs.values().cloned().collect()),
            _ => None,
        }
    };
    let all_seq = types
        .iter()
        .all(|t| matches!(t, Type::List(_) | Type::Tuple(_) | Type::Set(_)));
    let all_map = types
        .iter()
        .all(|t| matches!(t, Type::Map(_) | Type::Object(_)));
    if all_seq {
        if types.iter().all(|t| matches!(t, Type::Tuple(_))) {
            let lens: Vec<usize> = types
                .iter()
                .map(|t| if let Type::Tuple(es) = t { es.len() } else { 0 })
                .collect();
            if lens.iter().all(|l| *l == lens[0]) {
                let mut out = Vec::with_capacity(lens[0]);
                for i in 0..lens[0] {
                    let col: Vec<Type> = types
                        .iter()
                        .map(|t| {
                            if let Type::Tuple(es) = t {
                                es[i].clone()
                            } else {
                                Type::Dynamic
                            }
                        })
                        .collect();
                    out.push(unify(&col)?);
                }
                return Some(Type::Tuple(out));
            }
        }
        let mut elems = Vec::new();
        for t in types {
            elems.extend(elem_types(t)?);
        }
        let elem = if elems.is_empty() {
            Type::Dynamic
        } else {
            unify(&elems)?
        };
        return Some(if types.iter().all(|t| matches!(t, Type::Set(_))) {
            Type::set(elem)
        } else {
            Type::list(elem)
        });
    }
    if all_map {
        if types.iter().all(|t| matches!(t, Type::Object(_))) {
            let keys: Vec<Vec<&String>> = types
                .iter()
                .map(|t| {
                    if let Type::Object(a) = t {
                        a.keys().collect()
                    } else {
                        vec![]
                    }
                })
                .collect();
            if keys.iter().all(|k| *k == keys[0]) {
                let mut out = BTreeMap::new();
                for k in &keys[0] {
                    let col: Vec<Type> = types
                        .iter()
                        .map(|t| {
                            if let Type::Object(a) = t {
                                a[*k].clone()
                            } else {
                                Type::Dynamic
                            }
                        })
                        .collect();
                    out.insert((*k).clone(), unify(&col)?);
                }
                return Some(Type::Object(out));
            }
        }
        let mut elems = Vec::new();
        for t in types {
            elems.extend(elem_types(t)?);
        }
        let elem = if elems.is_empty() {
            Type::Dynamic
        } else {
            unify(&elems)?
        };
        return Some(Type::map(elem));
    }
    None
}

/// Converts several values to their unified type (used for the two
/// results of a conditional). Values keep their own types when the
/// unified type is `Dynamic`.
pub fn unify_values(values: &[Value]) -> Option<Vec<Value>> {
    let types: Vec<Type> = values.iter().map(Value::type_of).collect();
    let ty = unify(&types)?;
    values.iter().map(|v| convert(v, &ty).ok()).collect()
}

/// A type constraint as written in a `variable` block: a type whose
/// objects may have optional attributes with defaults.
#[derive(Clone, Debug, PartialEq)]
pub enum Constraint {
    Any,
    Bool,
    Number,
    String,
    List(Box<Constraint>),
    Set(Box<Constraint>),
    Map(Box<Constraint>),
    Tuple(Vec<Constraint>),
    Object(BTreeMap<String, ObjectAttr>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectAttr {
    pub ty: Constraint,
    /// `optional(...)`: the attribute may be absent.
    pub optional: bool,
    /// The second argument of `optional(type, default)`.
    pub default: Option<Value>,
}

impl Constraint {
    /// The plain type (optional attributes dropped of their defaults).
    pub fn to_type(&self) -> Type {
        match self {
            Constraint::Any => Type::Dynamic,
            Constraint::Bool => Type::Bool,
            Constraint::Number => Type::Number,
            Constraint::String => Type::String,
            Constraint::List(e) => Type::list(e.to_type()),
            Constraint::Set(e) => Type::set(e.to_type()),
            Constraint::Map(e) => Type::map(e.to_type()),
            Constraint::Tuple(es) => Type::Tuple(es.iter().map(Constraint::to_type).collect()),
            Constraint::Object(attrs) => Type::Object(
                attrs
                    .iter()
                    .map(|(k, a)| (k.clone(), a.ty.to_type()))
                    .collect(),
            ),
        }
    }

    /// Converts a value to this constraint: missing optional attributes
    /// are added (with their default or null), then the value is converted
    /// to the plain type.
    pub fn convert(&self, value: &Value) -> Result<Value, ConvertError> {
        let filled = self.fill_defaults(value)?;
        convert(&filled, &self.to_type())
    }

    fn fill_defaults(&self, value: &Value) -> Result<Value, ConvertError> {
        let (inner, marked) = value.unmark();
        if inner.is_null() || !inner.is_known() {
            return Ok(value.clone());
        }
        let out = match self {
            Constraint::Object(attrs) => {
                let Some(items) = inner.as_entries() else {
                    return Err(required(&self.to_type()));
                };
                let mut out = BTreeMap::new();
                for (name, attr) in attrs {
                    match items.get(name) {
                        Some(v) if !(v.is_null() && attr.default.is_some()) => {
                            out.insert(
                                name.clone(),
                                attr.ty
                                    .fill_defaults(v)
                                    .map_err(|e| e.at(PathStep::Attr(name.clone())))?,
                            );
                        }
                        _ if attr.optional => {
                            let v = match &attr.default {
                                Some(d) => attr.ty.fill_defaults(d)?,
                                None => Value::Null(attr.ty.to_type()),
                            };
                            out.insert(name.clone(), v);
                        }
                        _ => {
                            return Err(ConvertError::new(format!(
                                "attribute {name:?} is required"
                            )));
                        }
                    }
                }
                Value::object(out)
            }
            Constraint::List(e) | Constraint::Set(e) => match inner {
                Value::List(..) | Value::Set(..) | Value::Tuple(_) => {
                    let items = inner.as_seq().unwrap_or(&[]);
                    let filled = items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| e.fill_defaults(v).map_err(|err| err.at(PathStep::Index(i))))
                        .collect::<Result<Vec<_>, _>>()?;
                    Value::Tuple(Arc::new(filled))
                }
                _ => inner.clone(),
            },
            Constraint::Map(e) => match inner.as_entries() {
                Some(items) => Value::object(
                    items
                        .iter()
                        .map(|(k, v)| {
                            Ok((
                                k.clone(),
                                e.fill_defaults(v)
                                    .map_err(|err| err.at(PathStep::Key(k.clone())))?,
                            ))
                        })
                        .collect::<Result<_, ConvertError>>()?,
                ),
                None => inner.clone(),
            },
            Constraint::Tuple(es) => match inner.as_seq() {
                Some(items) if items.len() == es.len() => Value::tuple(
                    items
                        .iter()
                        .zip(es)
                        .enumerate()
                        .map(|(i, (v, c))| {
                            c.fill_defaults(v).map_err(|err| err.at(PathStep::Index(i)))
                        })
                        .collect::<Result<_, _>>()?,
                ),
                _ => inner.clone(),
            },
            _ => inner.clone(),
        };
        Ok(out.marked_if(marked))
    }
}

impl std::fmt::Display for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Constraint::Any => f.write_str("any"),
            Constraint::Bool => f.write_str("bool"),
            Constraint::Number => f.write_str("number"),
            Constraint::String => f.write_str("string"),
            Constraint::List(e) => write!(f, "list({e})"),
            Constraint::Set(e) => write!(f, "set({e})"),
            Constraint::Map(e) => write!(f, "map({e})"),
            Constraint::Tuple(es) => {
                f.write_str("tuple([")?;
                for (i, e) in es.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str("])")
            }
            Constraint::Object(attrs) => {
                f.write_str("object({")?;
                for (i, (k, a)) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if a.optional {
                        write!(f, "{k}=optional({})", a.ty)?;
                    } else {
                        write!(f, "{k}={}", a.ty)?;
                    }
                }
                f.write_str("})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sensitive_value_s_place_does_not_name_its_keys() {
        let want = Type::map(Type::Object(
            [("a".to_string(), Type::map(Type::Number))].into(),
        ));
        let inner = Value::map(Type::String, [("k2".to_string(), "x".into())].into());
        let value = Value::map(
            Type::Dynamic,
            [(
                "k1".to_string(),
                Value::object([("a".to_string(), inner)].into()),
            )]
            .into(),
        );
        let err = convert(&value, &want).unwrap_err();
        assert_eq!(
            err.describe(),
            "element \"k1\".a[\"k2\"]: a number is required"
        );
        assert_eq!(
            err.describe_sensitive(),
            "an element.a[…]: a number is required"
        );
    }

    #[test]
    fn primitives_convert_as_in_terraform() {
        assert_eq!(
            convert(&Value::from("5"), &Type::Number).unwrap(),
            Value::from(5)
        );
        assert_eq!(
            convert(&Value::from(5), &Type::String).unwrap(),
            Value::from("5")
        );
        assert_eq!(
            convert(&Value::from("true"), &Type::Bool).unwrap(),
            Value::Bool(true)
        );
        let err = convert(&Value::from("x"), &Type::Number).unwrap_err();
        assert_eq!(err.to_string(), "a number is required");
        assert_eq!(
            convert(&Value::Bool(true), &Type::Number)
                .unwrap_err()
                .to_string(),
            "number required"
        );
        assert_eq!(
            convert(&Value::tuple(vec![]), &Type::String)
                .unwrap_err()
                .to_string(),
            "string required"
        );
    }

    #[test]
    fn tuples_become_lists_with_a_unified_element_type() {
        let v = Value::tuple(vec![1.into(), "a".into()]);
        let l = convert(&v, &Type::list(Type::Dynamic)).unwrap();
        assert_eq!(l.type_of(), Type::list(Type::String));
        let err = convert(
            &Value::tuple(vec![1.into(), "x".into()]),
            &Type::list(Type::Number),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "element 1: a number is required");
    }

    #[test]
    fn unification_matches_cty() {
        assert_eq!(unify(&[Type::String, Type::Number]), Some(Type::String));
        assert_eq!(unify(&[Type::Bool, Type::Number]), None);
        assert_eq!(
            unify(&[Type::Tuple(vec![Type::Number]), Type::Tuple(vec![])]),
            Some(Type::list(Type::Number))
        );
        let a = Type::Object([("a".into(), Type::Number)].into());
        let b = Type::Object([("b".into(), Type::Number)].into());
        assert_eq!(unify(&[a, b]), Some(Type::map(Type::Number)));
        assert_eq!(unify(&[Type::Dynamic, Type::String]), Some(Type::String));
        assert_eq!(unify(&[Type::Dynamic, Type::Dynamic]), Some(Type::Dynamic));
    }

    #[test]
    fn optional_attributes_get_defaults() {
        let c = Constraint::Object(
            [
                (
                    "a".to_string(),
                    ObjectAttr {
                        ty: Constraint::String,
                        optional: false,
                        default: None,
                    },
                ),
                (
                    "b".to_string(),
                    ObjectAttr {
                        ty: Constraint::Number,
                        optional: true,
                        default: Some(5.into()),
                    },
                ),
                (
                    "c".to_string(),
                    ObjectAttr {
                        ty: Constraint::List(Box::new(Constraint::String)),
                        optional: true,
                        default: None,
                    },
                ),
            ]
            .into(),
        );
        let v = c
            .convert(&Value::object([("a".to_string(), Value::from("x"))].into()))
            .unwrap();
        assert_eq!(
            v.to_json(),
            serde_json::json!({"a": "x", "b": 5, "c": null})
        );
        assert_eq!(v.get_attr("c").unwrap().type_of(), Type::list(Type::String));
        let err = c.convert(&Value::object(BTreeMap::new())).unwrap_err();
        assert_eq!(err.to_string(), "attribute \"a\" is required");
    }

    #[test]
    fn marks_survive_conversion() {
        let v = convert(&Value::from(5).mark_sensitive(), &Type::String).unwrap();
        assert!(v.is_sensitive());
        assert_eq!(v.as_str(), Some("5"));
    }
}
