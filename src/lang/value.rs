//! Values and types of the configuration language.
//!
//! These follow Terraform's type system (cty) closely because users see it:
//! `output -json` prints types, `[1, "a"]` is a tuple while `tolist(...)` is a
//! list, and `==` between a list and a tuple is false. Beyond plain data a
//! value can be *unknown* (known only after apply; it still has a type) and
//! *sensitive* (a mark that travels with everything computed from it).
//!
//! Collections are reference-counted so that a value referenced by thousands
//! of resource instances is shared, not copied.

use super::number::Number;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A type, as cty has them. `Dynamic` is both "any type" in constraints and
/// the type of a value whose type is not known yet (`null`, unknown).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    Dynamic,
    Bool,
    Number,
    String,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Tuple(Vec<Type>),
    Object(BTreeMap<String, Type>),
}

impl Type {
    pub fn list(elem: Type) -> Type {
        Type::List(Box::new(elem))
    }
    pub fn set(elem: Type) -> Type {
        Type::Set(Box::new(elem))
    }
    pub fn map(elem: Type) -> Type {
        Type::Map(Box::new(elem))
    }

    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::Bool | Type::Number | Type::String)
    }

    /// Whether the type contains `Dynamic` anywhere.
    pub fn has_dynamic(&self) -> bool {
        match self {
            Type::Dynamic => true,
            Type::Bool | Type::Number | Type::String => false,
            Type::List(e) | Type::Set(e) | Type::Map(e) => e.has_dynamic(),
            Type::Tuple(es) => es.iter().any(Type::has_dynamic),
            Type::Object(attrs) => attrs.values().any(Type::has_dynamic),
        }
    }

    /// The friendly name used in error messages ("a number is required").
    pub fn friendly_name(&self) -> String {
        match self {
            Type::Dynamic => "any value".into(),
            Type::Bool => "bool".into(),
            Type::Number => "number".into(),
            Type::String => "string".into(),
            Type::List(e) => format!("list of {}", e.friendly_name()),
            Type::Set(e) => format!("set of {}", e.friendly_name()),
            Type::Map(e) => format!("map of {}", e.friendly_name()),
            Type::Tuple(_) => "tuple".into(),
            Type::Object(_) => "object".into(),
        }
    }

    /// cty's JSON encoding of types, as `output -json` prints them.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{Value as J, json};
        match self {
            Type::Dynamic => J::from("dynamic"),
            Type::Bool => J::from("bool"),
            Type::Number => J::from("number"),
            Type::String => J::from("string"),
            Type::List(e) => json!(["list", e.to_json()]),
            Type::Set(e) => json!(["set", e.to_json()]),
            Type::Map(e) => json!(["map", e.to_json()]),
            Type::Tuple(es) => json!(["tuple", es.iter().map(Type::to_json).collect::<Vec<_>>()]),
            Type::Object(attrs) => {
                let attrs: serde_json::Map<String, J> = attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                json!(["object", attrs])
            }
        }
    }

    pub fn from_json(json: &serde_json::Value) -> Option<Type> {
        use serde_json::Value as J;
        match json {
            J::String(s) => match s.as_str() {
                "dynamic" => Some(Type::Dynamic),
                "bool" => Some(Type::Bool),
                "number" => Some(Type::Number),
                "string" => Some(Type::String),
                _ => None,
            },
            J::Array(parts) if parts.len() >= 2 => {
                let kind = parts[0].as_str()?;
                match kind {
                    "list" => Some(Type::list(Type::from_json(&parts[1])?)),
                    "set" => Some(Type::set(Type::from_json(&parts[1])?)),
                    "map" => Some(Type::map(Type::from_json(&parts[1])?)),
                    "tuple" => parts[1]
                        .as_array()?
                        .iter()
                        .map(Type::from_json)
                        .collect::<Option<Vec<_>>>()
                        .map(Type::Tuple),
                    "object" => parts[1]
                        .as_object()?
                        .iter()
                        .map(|(k, t)| Type::from_json(t).map(|t| (k.clone(), t)))
                        .collect::<Option<BTreeMap<_, _>>>()
                        .map(Type::Object),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl fmt::Display for Type {
    /// The type-constraint syntax (`list(string)`, `object({a=number})`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Dynamic => f.write_str("dynamic"),
            Type::Bool => f.write_str("bool"),
            Type::Number => f.write_str("number"),
            Type::String => f.write_str("string"),
            Type::List(e) => write!(f, "list({e})"),
            Type::Set(e) => write!(f, "set({e})"),
            Type::Map(e) => write!(f, "map({e})"),
            Type::Tuple(es) => {
                f.write_str("tuple([")?;
                for (i, e) in es.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{e}")?;
                }
                f.write_str("])")
            }
            Type::Object(attrs) => {
                f.write_str("object({")?;
                for (i, (k, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={t}")?;
                }
                f.write_str("})")
            }
        }
    }
}

/// One step of a path into a value: an attribute of an object, a key of a
/// map, or an index of a list or tuple.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    Attr(String),
    Key(String),
    Index(usize),
}

pub type Path = Vec<PathStep>;

/// Renders a path the way Terraform's messages do: `.a["k"][0]`.
pub fn path_to_string(path: &[PathStep]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            PathStep::Attr(a) => {
                out.push('.');
                out.push_str(a);
            }
            PathStep::Key(k) => out.push_str(&format!("[{k:?}]")),
            PathStep::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A string in the language's quoted form.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    // `${` and `%{` would start a template sequence if pasted back.
    out.replace("${", "$${").replace("%{", "%%{") + "\""
}

#[derive(Clone, Debug)]
pub enum Value {
    /// `null` of a type (`Dynamic` when the type is not known).
    Null(Type),
    /// A value known only after apply.
    Unknown(Type),
    Bool(bool),
    Number(Number),
    String(Arc<str>),
    List(Type, Arc<Vec<Value>>),
    /// Elements are unique and kept in the set order (see `compare_for_set`).
    Set(Type, Arc<Vec<Value>>),
    Map(Type, Arc<BTreeMap<String, Value>>),
    Tuple(Arc<Vec<Value>>),
    Object(Arc<BTreeMap<String, Value>>),
    /// The sensitive mark. Never nested directly in another `Sensitive`.
    Sensitive(Arc<Value>),
}

impl Value {
    /// What a diagnostic says about a value it lists: `is 20`, `is "a"`,
    /// `is list of string with 2 elements`, `has a sensitive value`
    /// (never the secret itself), `is a string, known only after apply`.
    pub fn statement(&self) -> String {
        let count =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        match self {
            Value::Sensitive(_) => "has a sensitive value".into(),
            Value::Null(_) => "is null".into(),
            Value::Unknown(Type::Dynamic) => "will be known only after apply".into(),
            Value::Unknown(t) => format!("is a {}, known only after apply", t.friendly_name()),
            Value::Bool(b) => format!("is {b}"),
            Value::Number(n) => format!("is {n}"),
            Value::String(s) => format!("is {}", quote(s)),
            Value::List(t, items) | Value::Set(t, items) => {
                let kind = if matches!(self, Value::List(..)) {
                    "list"
                } else {
                    "set"
                };
                match items.len() {
                    0 => format!("is empty {kind} of {}", t.friendly_name()),
                    n => format!(
                        "is {kind} of {} with {}",
                        t.friendly_name(),
                        count(n, "element", "elements")
                    ),
                }
            }
            Value::Map(t, items) => match items.len() {
                0 => format!("is empty map of {}", t.friendly_name()),
                n => format!(
                    "is map of {} with {}",
                    t.friendly_name(),
                    count(n, "element", "elements")
                ),
            },
            Value::Tuple(items) => match items.len() {
                0 => "is empty tuple".into(),
                n => format!("is tuple with {}", count(n, "element", "elements")),
            },
            Value::Object(attrs) => match attrs.len() {
                0 => "is object with no attributes".into(),
                n => format!("is object with {}", count(n, "attribute", "attributes")),
            },
        }
    }

    pub const NULL: Value = Value::Null(Type::Dynamic);

    pub fn string(s: impl Into<Arc<str>>) -> Value {
        Value::String(s.into())
    }

    pub fn number(n: impl Into<Number>) -> Value {
        Value::Number(n.into())
    }

    pub fn unknown() -> Value {
        Value::Unknown(Type::Dynamic)
    }

    pub fn tuple(items: Vec<Value>) -> Value {
        Value::Tuple(Arc::new(items))
    }

    pub fn object(attrs: BTreeMap<String, Value>) -> Value {
        Value::Object(Arc::new(attrs))
    }

    /// A list whose element type is taken from its elements, which must
    /// already share one type (or be empty, giving `elem`).
    pub fn list(elem: Type, items: Vec<Value>) -> Value {
        Value::List(elem, Arc::new(items))
    }

    pub fn map(elem: Type, items: BTreeMap<String, Value>) -> Value {
        Value::Map(elem, Arc::new(items))
    }

    /// A set of values of one type: sorted and deduplicated.
    pub fn set(elem: Type, mut items: Vec<Value>) -> Value {
        items.sort_by(compare_for_set);
        // Unknowns may turn out equal to anything or each other: keep them.
        items.dedup_by(|a, b| {
            a.is_wholly_known() && b.is_wholly_known() && compare_for_set(a, b) == Ordering::Equal
        });
        Value::Set(elem, Arc::new(items))
    }

    /// Wraps the value in the sensitive mark (idempotent).
    pub fn mark_sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            other => Value::Sensitive(Arc::new(other)),
        }
    }

    /// Marks the value if `sensitive`.
    pub fn marked_if(self, sensitive: bool) -> Value {
        if sensitive {
            self.mark_sensitive()
        } else {
            self
        }
    }

    /// The value without its top-level mark, and whether it had one.
    pub fn unmark(&self) -> (&Value, bool) {
        match self {
            Value::Sensitive(inner) => (inner, true),
            other => (other, false),
        }
    }

    pub fn is_sensitive(&self) -> bool {
        matches!(self, Value::Sensitive(_))
    }

    /// Whether the value or anything inside it is sensitive.
    pub fn contains_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                items.iter().any(Value::contains_sensitive)
            }
            Value::Map(_, items) | Value::Object(items) => {
                items.values().any(Value::contains_sensitive)
            }
            _ => false,
        }
    }

    /// `text`, a message from code that saw this value without its marks
    /// (a provider quoting what it was given), with the text of every
    /// sensitive part of the value replaced by `(sensitive value)`, also
    /// where it appears quoted with escapes. Values shorter than three
    /// characters and booleans are left alone: replacing them would
    /// garble the message and reveal next to nothing.
    pub fn hide_secrets_in(&self, text: &str) -> String {
        let mut secrets = Vec::new();
        self.sensitive_texts(false, &mut secrets);
        let mut forms: Vec<String> = secrets
            .iter()
            .filter(|s| s.chars().count() >= 3)
            .flat_map(|s| {
                let debug = format!("{s:?}");
                let json = serde_json::Value::from(s.as_str()).to_string();
                let quoted = quote(s);
                [debug, json, quoted]
                    .into_iter()
                    .map(|q| q[1..q.len() - 1].to_string())
                    .chain([s.clone()])
                    .collect::<Vec<_>>()
            })
            .collect();
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        forms.dedup();
        let mut out = text.to_string();
        for form in forms {
            if out.contains(&form) {
                out = out.replace(&form, "(sensitive value)");
            }
        }
        out
    }

    /// The texts of the strings, numbers and map keys under a mark.
    fn sensitive_texts(&self, marked: bool, out: &mut Vec<String>) {
        match self {
            Value::Sensitive(inner) => inner.sensitive_texts(true, out),
            Value::String(s) if marked => out.push(s.to_string()),
            Value::Number(n) if marked => out.push(n.to_string()),
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                items.iter().for_each(|v| v.sensitive_texts(marked, out))
            }
            Value::Map(_, items) => {
                if marked {
                    out.extend(items.keys().cloned());
                }
                items.values().for_each(|v| v.sensitive_texts(marked, out))
            }
            Value::Object(items) => items.values().for_each(|v| v.sensitive_texts(marked, out)),
            _ => {}
        }
    }

    /// The value with every mark removed, and whether there was any.
    pub fn unmark_deep(&self) -> (Value, bool) {
        if !self.contains_sensitive() {
            return (self.clone(), false);
        }
        let mut paths = Vec::new();
        let v = self.unmark_collect(&mut Vec::new(), &mut paths);
        (v, true)
    }

    /// The value with every mark removed, and the paths that were marked.
    pub fn unmark_with_paths(&self) -> (Value, Vec<Path>) {
        let mut paths = Vec::new();
        if !self.contains_sensitive() {
            return (self.clone(), paths);
        }
        let v = self.unmark_collect(&mut Vec::new(), &mut paths);
        (v, paths)
    }

    fn unmark_collect(&self, at: &mut Path, paths: &mut Vec<Path>) -> Value {
        match self {
            Value::Sensitive(inner) => {
                paths.push(at.clone());
                inner.unmark_collect(at, paths)
            }
            Value::List(t, items) => Value::List(t.clone(), Arc::new(unmark_seq(items, at, paths))),
            Value::Set(t, items) => Value::Set(t.clone(), Arc::new(unmark_seq(items, at, paths))),
            Value::Tuple(items) => Value::Tuple(Arc::new(unmark_seq(items, at, paths))),
            Value::Map(t, items) => {
                Value::Map(t.clone(), Arc::new(unmark_attrs(items, at, paths, false)))
            }
            Value::Object(items) => Value::Object(Arc::new(unmark_attrs(items, at, paths, true))),
            other => other.clone(),
        }
    }

    /// Applies the sensitive mark at each of `paths` (paths that do not
    /// exist in the value are ignored).
    pub fn mark_paths(self, paths: &[Path]) -> Value {
        paths.iter().fold(self, |v, p| v.mark_path(p))
    }

    fn mark_path(self, path: &[PathStep]) -> Value {
        self.map_at(path, Value::mark_sensitive)
    }

    /// The paths of every unknown inside the value, with their types.
    pub fn unknown_paths(&self) -> Vec<(Path, Type)> {
        fn walk(v: &Value, at: &mut Path, out: &mut Vec<(Path, Type)>) {
            match v {
                Value::Unknown(t) => out.push((at.clone(), t.clone())),
                Value::Sensitive(inner) => walk(inner, at, out),
                Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                    for (i, item) in items.iter().enumerate() {
                        at.push(PathStep::Index(i));
                        walk(item, at, out);
                        at.pop();
                    }
                }
                Value::Map(_, items) | Value::Object(items) => {
                    for (k, item) in items.iter() {
                        at.push(PathStep::Attr(k.clone()));
                        walk(item, at, out);
                        at.pop();
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(self, &mut Vec::new(), &mut out);
        out
    }

    /// Replaces the value at `path` (if it exists) with `f` of it. A path
    /// into a set cannot address one element: `f` applies to the set.
    pub fn map_at(self, path: &[PathStep], f: impl FnOnce(Value) -> Value) -> Value {
        let Some((step, rest)) = path.split_first() else {
            return f(self);
        };
        match (self, step) {
            (Value::Sensitive(inner), _) => {
                Value::Sensitive(Arc::new(Arc::unwrap_or_clone(inner).map_at(path, f)))
            }
            (Value::Object(mut attrs), PathStep::Attr(a) | PathStep::Key(a)) => {
                if let Some(v) = Arc::make_mut(&mut attrs).get_mut(a) {
                    *v = std::mem::replace(v, Value::NULL).map_at(rest, f);
                }
                Value::Object(attrs)
            }
            (Value::Map(t, mut items), PathStep::Attr(a) | PathStep::Key(a)) => {
                if let Some(v) = Arc::make_mut(&mut items).get_mut(a) {
                    *v = std::mem::replace(v, Value::NULL).map_at(rest, f);
                }
                Value::Map(t, items)
            }
            (Value::List(t, mut items), PathStep::Index(i)) => {
                if let Some(v) = Arc::make_mut(&mut items).get_mut(*i) {
                    *v = std::mem::replace(v, Value::NULL).map_at(rest, f);
                }
                Value::List(t, items)
            }
            (Value::Tuple(mut items), PathStep::Index(i)) => {
                if let Some(v) = Arc::make_mut(&mut items).get_mut(*i) {
                    *v = std::mem::replace(v, Value::NULL).map_at(rest, f);
                }
                Value::Tuple(items)
            }
            (set @ Value::Set(..), _) => f(set),
            (other, _) => other,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.unmark().0, Value::Null(_))
    }

    /// Whether the value itself (not its contents) is known.
    pub fn is_known(&self) -> bool {
        !matches!(self.unmark().0, Value::Unknown(_))
    }

    /// Whether no part of the value is unknown.
    pub fn is_wholly_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::Sensitive(inner) => inner.is_wholly_known(),
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                items.iter().all(Value::is_wholly_known)
            }
            Value::Map(_, items) | Value::Object(items) => {
                items.values().all(Value::is_wholly_known)
            }
            _ => true,
        }
    }

    pub fn type_of(&self) -> Type {
        match self {
            Value::Null(t) | Value::Unknown(t) => t.clone(),
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(t, _) => Type::list(t.clone()),
            Value::Set(t, _) => Type::set(t.clone()),
            Value::Map(t, _) => Type::map(t.clone()),
            Value::Tuple(items) => Type::Tuple(items.iter().map(Value::type_of).collect()),
            Value::Object(attrs) => Type::Object(
                attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.type_of()))
                    .collect(),
            ),
            Value::Sensitive(inner) => inner.type_of(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unmark().0 {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.unmark().0 {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<Number> {
        match self.unmark().0 {
            Value::Number(n) => Some(n.clone()),
            _ => None,
        }
    }

    /// The elements of a list, set or tuple.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self.unmark().0 {
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// The entries of a map or object.
    pub fn as_entries(&self) -> Option<&BTreeMap<String, Value>> {
        match self.unmark().0 {
            Value::Map(_, items) | Value::Object(items) => Some(items),
            _ => None,
        }
    }

    /// Attribute of an object (or entry of a map) by name.
    pub fn get_attr(&self, name: &str) -> Option<&Value> {
        self.as_entries().and_then(|e| e.get(name))
    }

    /// Number of elements of a collection or structural value.
    pub fn length(&self) -> Option<usize> {
        self.as_seq()
            .map(<[Value]>::len)
            .or_else(|| self.as_entries().map(BTreeMap::len))
    }

    /// Equality as the diff sees it: same type and same content; nulls
    /// are equal whatever their type; marks are ignored; an unknown equals
    /// nothing.
    pub fn same_as(&self, other: &Value) -> bool {
        let (a, b) = (self.unmark().0, other.unmark().0);
        match (a, b) {
            (Value::Null(_), Value::Null(_)) => true,
            (Value::Unknown(_), _) | (_, Value::Unknown(_)) => false,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Number(x), Value::Number(y)) => x == y,
            (Value::String(x), Value::String(y)) => x == y,
            (Value::List(_, x), Value::List(_, y))
            | (Value::Set(_, x), Value::Set(_, y))
            | (Value::Tuple(x), Value::Tuple(y)) => {
                Arc::ptr_eq(x, y)
                    || x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| a.same_as(b))
            }
            (Value::Map(_, x), Value::Map(_, y)) | (Value::Object(x), Value::Object(y)) => {
                Arc::ptr_eq(x, y)
                    || x.len() == y.len()
                        && x.iter()
                            .zip(y.iter())
                            .all(|((ka, va), (kb, vb))| ka == kb && va.same_as(vb))
            }
            _ => false,
        }
    }

    /// The language's `==`: `Some(bool)` when both sides are known enough
    /// to decide, `None` when the answer is unknown. Types must match
    /// (`1 == "1"` is false, as in Terraform).
    pub fn equals(&self, other: &Value) -> Option<bool> {
        let (a, b) = (self.unmark().0, other.unmark().0);
        match (a, b) {
            (Value::Unknown(_), _) | (_, Value::Unknown(_)) => None,
            (Value::Null(_), Value::Null(_)) => Some(true),
            (Value::Null(_), _) | (_, Value::Null(_)) => Some(false),
            (Value::Bool(x), Value::Bool(y)) => Some(x == y),
            (Value::Number(x), Value::Number(y)) => Some(x == y),
            (Value::String(x), Value::String(y)) => Some(x == y),
            (Value::List(_, x), Value::List(_, y))
            | (Value::Set(_, x), Value::Set(_, y))
            | (Value::Tuple(x), Value::Tuple(y)) => {
                if x.len() != y.len() {
                    return Some(false);
                }
                let mut unknown = false;
                for (p, q) in x.iter().zip(y.iter()) {
                    match p.equals(q) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown { None } else { Some(true) }
            }
            (Value::Map(_, x), Value::Map(_, y)) | (Value::Object(x), Value::Object(y)) => {
                if x.len() != y.len() || x.keys().ne(y.keys()) {
                    return Some(false);
                }
                let mut unknown = false;
                for (p, q) in x.values().zip(y.values()) {
                    match p.equals(q) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown { None } else { Some(true) }
            }
            _ => Some(false),
        }
    }

    /// The value as plain JSON. Unknowns become `null` and marks are
    /// dropped: callers that care check `is_wholly_known` and the marks
    /// first.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null(_) | Value::Unknown(_) => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Number(n.to_json()),
            Value::String(s) => J::String(s.to_string()),
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                J::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Map(_, items) | Value::Object(items) => J::Object(
                items
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Sensitive(inner) => inner.to_json(),
        }
    }

    /// Decodes JSON without a type, as `jsondecode` does: objects become
    /// objects, arrays tuples, `null` a null of unknown type.
    pub fn from_json_dynamic(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match json {
            J::Null => Value::NULL,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => Number::from_json(n)
                .map(Value::Number)
                .unwrap_or(Value::NULL),
            J::String(s) => Value::string(s.as_str()),
            J::Array(items) => Value::tuple(items.iter().map(Value::from_json_dynamic).collect()),
            J::Object(attrs) => Value::object(
                attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from_json_dynamic(v)))
                    .collect(),
            ),
        }
    }

    /// Decodes JSON that was written for a value of type `ty`.
    pub fn from_json_typed(json: &serde_json::Value, ty: &Type) -> Result<Value, String> {
        use serde_json::Value as J;
        if json.is_null() {
            return Ok(Value::Null(ty.clone()));
        }
        match (ty, json) {
            (Type::Dynamic, _) => Ok(Value::from_json_dynamic(json)),
            (Type::Bool, J::Bool(b)) => Ok(Value::Bool(*b)),
            (Type::Number, J::Number(n)) => Number::from_json(n)
                .map(Value::Number)
                .ok_or_else(|| format!("invalid number {n}")),
            (Type::String, J::String(s)) => Ok(Value::string(s.as_str())),
            (Type::List(e), J::Array(items)) => Ok(Value::list(
                (**e).clone(),
                items
                    .iter()
                    .map(|i| Value::from_json_typed(i, e))
                    .collect::<Result<_, _>>()?,
            )),
            (Type::Set(e), J::Array(items)) => Ok(Value::set(
                (**e).clone(),
                items
                    .iter()
                    .map(|i| Value::from_json_typed(i, e))
                    .collect::<Result<_, _>>()?,
            )),
            (Type::Map(e), J::Object(items)) => Ok(Value::map(
                (**e).clone(),
                items
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), Value::from_json_typed(v, e)?)))
                    .collect::<Result<_, String>>()?,
            )),
            (Type::Tuple(ts), J::Array(items)) if ts.len() == items.len() => Ok(Value::tuple(
                items
                    .iter()
                    .zip(ts)
                    .map(|(i, t)| Value::from_json_typed(i, t))
                    .collect::<Result<_, _>>()?,
            )),
            (Type::Object(attrs), J::Object(items)) => Ok(Value::object(
                attrs
                    .iter()
                    .map(|(k, t)| {
                        let v = items.get(k).unwrap_or(&J::Null);
                        Ok((k.clone(), Value::from_json_typed(v, t)?))
                    })
                    .collect::<Result<_, String>>()?,
            )),
            // Only the kind of what was found: the text may be a secret
            // (a state's sensitive attribute).
            (ty, json) => Err(format!(
                "expected {}, found {}",
                ty.friendly_name(),
                match json {
                    J::Null => "null",
                    J::Bool(_) => "a bool",
                    J::Number(_) => "a number",
                    J::String(_) => "a string",
                    J::Array(_) => "an array",
                    J::Object(_) => "an object",
                }
            )),
        }
    }
}

fn unmark_seq(items: &[Value], at: &mut Path, paths: &mut Vec<Path>) -> Vec<Value> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            at.push(PathStep::Index(i));
            let v = v.unmark_collect(at, paths);
            at.pop();
            v
        })
        .collect()
}

fn unmark_attrs(
    items: &BTreeMap<String, Value>,
    at: &mut Path,
    paths: &mut Vec<Path>,
    object: bool,
) -> BTreeMap<String, Value> {
    items
        .iter()
        .map(|(k, v)| {
            at.push(if object {
                PathStep::Attr(k.clone())
            } else {
                PathStep::Key(k.clone())
            });
            let v = v.unmark_collect(at, paths);
            at.pop();
            (k.clone(), v)
        })
        .collect()
}

/// The order of set elements: booleans false before true, numbers
/// ascending, strings by bytes (as cty iterates sets of primitives); other
/// values by their JSON text so the order is at least stable; unknowns and
/// nulls last.
pub fn compare_for_set(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v.unmark().0 {
            Value::Bool(_) => 0,
            Value::Number(_) => 1,
            Value::String(_) => 2,
            Value::Null(_) => 4,
            Value::Unknown(_) => 5,
            _ => 3,
        }
    }
    let (ua, ub) = (a.unmark().0, b.unmark().0);
    match (ua, ub) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x.compare(y),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        _ => rank(a).cmp(&rank(b)).then_with(|| {
            if rank(a) == 3 {
                ua.to_json().to_string().cmp(&ub.to_json().to_string())
            } else {
                Ordering::Equal
            }
        }),
    }
}

impl PartialEq for Value {
    /// Structural equality including types and marks; for tests and for
    /// detecting that nothing changed at all.
    fn eq(&self, other: &Value) -> bool {
        self.is_sensitive() == other.is_sensitive()
            && self.type_of() == other.type_of()
            && match (self.unmark().0, other.unmark().0) {
                (Value::Unknown(_), Value::Unknown(_)) => true,
                (Value::List(_, x), Value::List(_, y))
                | (Value::Set(_, x), Value::Set(_, y))
                | (Value::Tuple(x), Value::Tuple(y)) => x == y,
                (Value::Map(_, x), Value::Map(_, y)) | (Value::Object(x), Value::Object(y)) => {
                    x == y
                }
                (a, b) => a.same_as(b),
            }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::string(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::string(s)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Number(Number::from_i64(n))
    }
}

impl From<Number> for Value {
    fn from(n: Number) -> Self {
        Value::Number(n)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn statements_describe_values_as_terraform_diagnostics_do() {
        let cases = [
            (Value::from(20), "is 20"),
            (Value::string("a\"b"), "is \"a\\\"b\""),
            (Value::Bool(true), "is true"),
            (Value::NULL, "is null"),
            (
                Value::string("pw").mark_sensitive(),
                "has a sensitive value",
            ),
            (
                Value::Unknown(Type::String),
                "is a string, known only after apply",
            ),
            (Value::tuple(vec![1.into()]), "is tuple with 1 element"),
            (
                Value::object(BTreeMap::new()),
                "is object with no attributes",
            ),
            (
                Value::List(
                    Type::String,
                    Arc::new(vec![Value::string("a"), Value::string("b")]),
                ),
                "is list of string with 2 elements",
            ),
        ];
        for (value, statement) in cases {
            assert_eq!(value.statement(), statement, "{value:?}");
        }
    }

    use super::*;

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn secrets_are_hidden_in_messages_about_the_value() {
        let v = obj(&[
            ("cidr", Value::from("10.9.8.0/33").mark_sensitive()),
            ("name", Value::from("web")),
            (
                "meta",
                Value::map(
                    Type::String,
                    [("k\"ey".to_string(), "v\"alue".into())].into(),
                )
                .mark_sensitive(),
            ),
            ("n", Value::from(4096).mark_sensitive()),
            ("short", Value::from("ab").mark_sensitive()),
        ]);
        assert_eq!(
            v.hide_secrets_in(r#"cidr = "10.9.8.0/33" on web: k"ey=v\"alue, 4096 MB, ab"#),
            "cidr = \"(sensitive value)\" on web: (sensitive value)=(sensitive value), (sensitive value) MB, ab"
        );
        let plain = obj(&[("name", Value::from("web"))]);
        assert_eq!(plain.hide_secrets_in("web"), "web");
    }

    #[test]
    fn types_encode_as_cty_json() {
        let v = obj(&[
            ("a", Value::tuple(vec![Value::from(1), Value::from("x")])),
            ("b", Value::list(Type::String, vec![])),
            ("c", Value::NULL),
        ]);
        let json = v.type_of().to_json();
        assert_eq!(
            json.to_string(),
            r#"["object",{"a":["tuple",["number","string"]],"b":["list","string"],"c":"dynamic"}]"#
        );
        assert_eq!(Type::from_json(&json), Some(v.type_of()));
    }

    #[test]
    fn sets_are_sorted_and_unique() {
        let s = Value::set(Type::String, vec!["b".into(), "a".into(), "b".into()]);
        assert_eq!(s.to_json().to_string(), r#"["a","b"]"#);
        let n = Value::set(Type::Number, vec![10.into(), 9.into()]);
        assert_eq!(n.to_json().to_string(), "[9,10]");
    }

    #[test]
    fn equality_follows_types() {
        let tuple = Value::tuple(vec![1.into()]);
        let list = Value::list(Type::Number, vec![1.into()]);
        assert_eq!(tuple.equals(&Value::tuple(vec![1.into()])), Some(true));
        assert_eq!(Value::from(1).equals(&Value::from("1")), Some(false));
        assert_eq!(
            list.equals(&Value::list(Type::Number, vec![1.into()])),
            Some(true)
        );
        assert_eq!(Value::unknown().equals(&1.into()), None);
        assert_eq!(Value::NULL.equals(&Value::Null(Type::String)), Some(true));
    }

    #[test]
    fn marks_are_collected_and_restored_by_path() {
        let v = obj(&[
            ("a", Value::from("x").mark_sensitive()),
            (
                "b",
                Value::tuple(vec![1.into(), Value::from(2).mark_sensitive()]),
            ),
        ]);
        let (plain, paths) = v.unmark_with_paths();
        assert!(!plain.contains_sensitive());
        assert_eq!(
            paths,
            vec![
                vec![PathStep::Attr("a".into())],
                vec![PathStep::Attr("b".into()), PathStep::Index(1)]
            ]
        );
        assert_eq!(plain.mark_paths(&paths), v);
    }

    #[test]
    fn typed_json_round_trips() {
        let ty = Type::Object(
            [
                ("l".to_string(), Type::list(Type::Number)),
                ("s".to_string(), Type::set(Type::String)),
            ]
            .into(),
        );
        let json = serde_json::json!({"l": [1, 2], "s": ["b", "a"]});
        let v = Value::from_json_typed(&json, &ty).unwrap();
        assert_eq!(v.type_of(), ty);
        assert_eq!(
            v.to_json(),
            serde_json::json!({"l": [1, 2], "s": ["a", "b"]})
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_is_not_quoted() {
        let err = Value::from_json_typed(
            &serde_json::json!({"pw": "hunter2"}),
            &Type::Object([("pw".to_string(), Type::Number)].into()),
        )
        .unwrap_err();
        assert_eq!(err, "expected number, found a string");
    }

    #[test]
    fn unknown_parts_make_a_value_partly_known() {
        let v = obj(&[("id", Value::Unknown(Type::String)), ("name", "x".into())]);
        assert!(v.is_known());
        assert!(!v.is_wholly_known());
        assert_eq!(
            v.type_of(),
            Type::Object([("id".into(), Type::String), ("name".into(), Type::String)].into())
        );
    }
}
