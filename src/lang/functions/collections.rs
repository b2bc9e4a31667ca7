//! Collection functions: length, element, keys, values, merge, concat,
//! flatten, distinct, contains, lookup, range, the set functions and the
//! type conversions (`tolist`, `tostring`, `sensitive`, ...).
//!
//! Result types follow Terraform: functions over tuples and objects keep
//! them (`concat` of tuples is a tuple, `merge` of objects an object),
//! over lists and maps they give lists and maps. Many functions here look
//! inside partly unknown arguments, because what is known (a length, the
//! keys of an object) is worth keeping for the plan.

use super::{FuncContext, FuncError, FuncSpec, Marks, Message, args};
use crate::lang::convert::{convert, unify};
use crate::lang::limits;
use crate::lang::number::Number;
use crate::lang::value::{Type, Value, compare_for_set};
use std::collections::BTreeMap;
use unicode_segmentation::UnicodeSegmentation;

pub(super) static FUNCTIONS: &[&FuncSpec] = &[
    &ALLTRUE,
    &ANYTRUE,
    &CHUNKLIST,
    &COALESCE,
    &COALESCELIST,
    &COMPACT,
    &CONCAT,
    &CONTAINS,
    &DISTINCT,
    &ELEMENT,
    &FLATTEN,
    &INDEX,
    &KEYS,
    &LENGTH,
    &LOOKUP,
    &MERGE,
    &NONSENSITIVE,
    &ONE,
    &RANGE,
    &REVERSE,
    &SENSITIVE,
    &SETINTERSECTION,
    &SETPRODUCT,
    &SETSUBTRACT,
    &SETUNION,
    &SLICE,
    &SORT,
    &SUM,
    &TOBOOL,
    &TOLIST,
    &TOMAP,
    &TONUMBER,
    &TOSET,
    &TOSTRING,
    &VALUES,
    &ZIPMAP,
];

/// A function whose result type depends on its arguments: `unknown`
/// when it looks inside unknown arguments itself, `nested` when marks
/// inside its arguments stay with their elements (`Marks::Nested`).
macro_rules! function {
    ($static:ident, $name:literal, [$($param:literal),*], $imp:ident) => {
        function!(@spec $static, $name, [$($param),*], $imp, false, Marks::Strip);
    };
    ($static:ident, $name:literal, [$($param:literal),*], $imp:ident, unknown) => {
        function!(@spec $static, $name, [$($param),*], $imp, true, Marks::Strip);
    };
    ($static:ident, $name:literal, [$($param:literal),*], $imp:ident, unknown, nested) => {
        function!(@spec $static, $name, [$($param),*], $imp, true, Marks::Nested);
    };
    (@spec $static:ident, $name:literal, [$($param:literal),*], $imp:ident, $allow:expr, $marks:expr) => {
        static $static: FuncSpec = FuncSpec {
            name: $name,
            params: &[$($param),*],
            allow_unknown: $allow,
            returns: Type::Dynamic,
            marks: $marks,
            imp: $imp,
        };
    };
}

/// The unified type of `types`, `Dynamic` when there is nothing to go by
/// (no types, or only nulls and unknowns of unknown type).
fn unify_or_dynamic(types: &[Type]) -> Option<Type> {
    if types.iter().all(|t| *t == Type::Dynamic) {
        Some(Type::Dynamic)
    } else {
        unify(types)
    }
}

/// Converts to a list, set or map type with an open element type: like
/// `convert`, but also for elements that are all untyped nulls.
fn to_collection(v: &Value, want: &Type) -> Result<Value, String> {
    let elems_untyped = v
        .as_seq()
        .map(|items| items.iter().all(|i| i.type_of() == Type::Dynamic))
        .or_else(|| {
            v.as_entries()
                .map(|e| e.values().all(|i| i.type_of() == Type::Dynamic))
        })
        .unwrap_or(false);
    if elems_untyped && v.is_known() && !v.is_null() {
        match (want, v.as_seq(), v.as_entries()) {
            (Type::List(_), Some(items), _) => {
                return Ok(Value::list(Type::Dynamic, items.to_vec()));
            }
            (Type::Set(_), Some(items), _) => return Ok(Value::set(Type::Dynamic, items.to_vec())),
            (Type::Map(_), _, Some(entries)) => {
                return Ok(Value::map(Type::Dynamic, entries.clone()));
            }
            _ => {}
        }
    }
    convert(v, want).map_err(|e| e.to_string())
}

/// `args::collection` with the untyped-nulls case of `to_collection`.
fn collection_arg(a: &[Value], i: usize, want: &Type) -> Result<Value, FuncError> {
    if a[i].is_null() {
        return Err(FuncError::arg(i, "argument must not be null"));
    }
    match to_collection(&a[i], want) {
        Ok(v) => Ok(v),
        Err(_) => args::collection(a, i, want),
    }
}

fn element_type(v: &Value) -> Type {
    match v.type_of() {
        Type::List(e) | Type::Set(e) | Type::Map(e) => *e,
        _ => Type::Dynamic,
    }
}

function!(LENGTH, "length", ["value"], length, unknown, nested);
/// Characters (grapheme clusters) of a string, elements of a collection
/// or structural value. A list's length is known even when its elements
/// are not; a set's is not, as unknown elements may turn out equal.
fn length(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let v = &a[0];
    if v.is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    let unknown_set = matches!(v, Value::Set(..)) && !v.is_wholly_known();
    if !v.is_known() || unknown_set {
        return Ok(Value::Unknown(Type::Number));
    }
    if let Value::String(s) = v {
        return Ok(Value::from(s.graphemes(true).count() as i64));
    }
    v.length().map(|n| Value::from(n as i64)).ok_or_else(|| {
        FuncError::new("argument must be a string, a collection type, or a structural type")
    })
}

function!(
    ELEMENT,
    "element",
    ["list", "index"],
    element,
    unknown,
    nested
);
/// The element at `index`, wrapping around the end (and from the end for
/// negative indexes).
fn element(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let list = &a[0];
    if list.is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    if a[1].is_null() {
        return Err(FuncError::arg(1, "argument must not be null"));
    }
    let items = match list {
        Value::List(..) | Value::Tuple(_) => list.as_seq().unwrap_or_default(),
        Value::Unknown(t) => {
            let elem = match t {
                Type::List(e) => (**e).clone(),
                _ => Type::Dynamic,
            };
            return Ok(Value::Unknown(elem));
        }
        other => {
            return Err(FuncError::new(Message::text(format!(
                "cannot read elements from {}",
                other.type_of().friendly_name()
            ))));
        }
    };
    if !a[1].is_known() {
        return Ok(Value::Unknown(element_type(list)));
    }
    let index = args::number(a, 1)?
        .to_i64()
        .ok_or_else(|| FuncError::new(format!("invalid index: {}", args::NOT_AN_INTEGER)))?;
    if items.is_empty() {
        return Err(FuncError::new(
            "cannot use element function with an empty list",
        ));
    }
    let at = index.rem_euclid(items.len() as i64) as usize;
    Ok(items[at].clone())
}

function!(KEYS, "keys", ["inputMap"], keys, unknown, nested);
/// The keys in order: a tuple of an object's attribute names, a list of a
/// map's keys.
fn keys(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let v = &a[0];
    if v.is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    match v {
        Value::Map(_, entries) => Ok(Value::list(
            Type::String,
            entries.keys().map(|k| Value::string(k.as_str())).collect(),
        )),
        Value::Object(entries) => Ok(Value::tuple(
            entries.keys().map(|k| Value::string(k.as_str())).collect(),
        )),
        // An object's attribute names are in its type.
        Value::Unknown(Type::Object(attrs)) => Ok(Value::tuple(
            attrs.keys().map(|k| Value::string(k.as_str())).collect(),
        )),
        Value::Unknown(Type::Map(_)) => Ok(Value::Unknown(Type::list(Type::String))),
        Value::Unknown(Type::Dynamic) => Ok(Value::unknown()),
        _ => Err(FuncError::arg(0, "must have map or object type")),
    }
}

function!(VALUES, "values", ["mapping"], values, unknown, nested);
/// The values in the order of their keys: a tuple for an object, a list
/// for a map.
fn values(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let v = &a[0];
    if v.is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    match v {
        Value::Map(elem, entries) => Ok(Value::list(
            elem.clone(),
            entries.values().cloned().collect(),
        )),
        Value::Object(entries) => Ok(Value::tuple(entries.values().cloned().collect())),
        Value::Unknown(Type::Object(attrs)) => Ok(Value::Unknown(Type::Tuple(
            attrs.values().cloned().collect(),
        ))),
        Value::Unknown(Type::Map(elem)) => Ok(Value::Unknown(Type::list((**elem).clone()))),
        Value::Unknown(Type::Dynamic) => Ok(Value::unknown()),
        _ => Err(FuncError::new(
            "values() requires a map as the first argument",
        )),
    }
}

function!(
    LOOKUP,
    "lookup",
    ["inputMap", "key", "default..."],
    lookup,
    unknown,
    nested
);
/// The value of `key` in a map or object, else `default` (converted to
/// the map's element type).
fn lookup(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    if a.len() > 3 {
        return Err(FuncError::new(format!(
            "lookup() takes two or three arguments, got {}",
            a.len()
        )));
    }
    let map = &a[0];
    if map.is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    let result_type = match map.type_of() {
        Type::Map(e) => *e,
        _ => Type::Dynamic,
    };
    if !map.is_known() || !a[1].is_known() {
        return Ok(Value::Unknown(result_type));
    }
    let key = args::string(a, 1)?;
    let default = a.get(2);
    match map {
        Value::Object(entries) => match (entries.get(&key), default) {
            (Some(v), _) => Ok(v.clone()),
            (None, Some(d)) => Ok(d.clone()),
            (None, None) => Err(FuncError::arg(
                0,
                Message::text("the given object has no attribute ").quoted(1, &key),
            )),
        },
        Value::Map(elem, entries) => {
            // The default must suit the map even when it is not needed.
            let default = default.map(|d| convert(d, elem)).transpose().map_err(|_| {
                FuncError::arg(
                    2,
                    "the default value must have the same type as the map elements",
                )
            })?;
            match (entries.get(&key), default) {
                (Some(v), _) => Ok(v.clone()),
                (None, Some(d)) => Ok(d),
                (None, None) => Err(FuncError::new(
                    Message::text("lookup failed to find key ").quoted(1, &key),
                )),
            }
        }
        _ => Err(FuncError::arg(
            0,
            "lookup() requires a map as the first argument",
        )),
    }
}

function!(MERGE, "merge", ["maps..."], merge, unknown, nested);
/// Later arguments win. Maps of one type merge into a map of that type;
/// anything else (objects, or maps of different types) into an object.
fn merge(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    for v in a {
        let ty = v.type_of();
        if !matches!(ty, Type::Map(_) | Type::Object(_) | Type::Dynamic) {
            return Err(FuncError::new(Message::text(format!(
                "arguments must be maps or objects, got {:?}",
                ty.friendly_name()
            ))));
        }
    }
    let types: Vec<Type> = a.iter().map(Value::type_of).collect();
    let same_type = types
        .first()
        .filter(|first| **first != Type::Dynamic && types.iter().all(|t| t == *first));
    if a.iter().any(|v| !v.is_known()) {
        return Ok(Value::Unknown(same_type.cloned().unwrap_or(Type::Dynamic)));
    }
    let mut merged = BTreeMap::new();
    for v in a {
        if let Some(entries) = v.as_entries() {
            merged.extend(entries.iter().map(|(k, v)| (k.clone(), v.clone())));
            limits::check_elements(merged.len()).map_err(FuncError::new)?;
        }
    }
    Ok(match same_type {
        Some(Type::Map(elem)) => Value::map((**elem).clone(), merged),
        _ => Value::object(merged),
    })
}

function!(CONCAT, "concat", ["seqs..."], concat, unknown, nested);
/// Lists concatenate into a list (of their unified element type), a mix
/// with tuples into a tuple.
fn concat(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    if a.is_empty() {
        return Err(FuncError::new("at least one argument is required"));
    }
    for (i, v) in a.iter().enumerate() {
        if v.is_null() {
            return Err(FuncError::arg(i, "argument must not be null"));
        }
        if !matches!(v.type_of(), Type::List(_) | Type::Tuple(_) | Type::Dynamic) {
            return Err(FuncError::arg(
                i,
                Message::text(format!(
                    "all arguments must be lists or tuples; got {}",
                    v.type_of().friendly_name()
                )),
            ));
        }
    }
    let all_lists = a.iter().all(|v| matches!(v.type_of(), Type::List(_)));
    let list_elem = if all_lists {
        let elems: Vec<Type> = a.iter().map(element_type).collect();
        unify_or_dynamic(&elems)
    } else {
        None
    };
    if a.iter().any(|v| !v.is_known()) {
        return Ok(Value::Unknown(list_elem.map_or(Type::Dynamic, Type::list)));
    }
    let total = a
        .iter()
        .map(|v| v.length().unwrap_or(0))
        .fold(0, usize::saturating_add);
    limits::check_elements(total).map_err(FuncError::new)?;
    let items: Vec<Value> = a
        .iter()
        .flat_map(|v| v.as_seq().unwrap_or_default().iter().cloned())
        .collect();
    match list_elem {
        Some(elem) => {
            let converted = items
                .iter()
                .map(|i| convert(i, &elem))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| FuncError::new(e.to_string()))?;
            Ok(Value::list(elem, converted))
        }
        None => Ok(Value::tuple(items)),
    }
}

function!(FLATTEN, "flatten", ["list"], flatten, unknown, nested);
/// Elements of nested lists, sets and tuples, in order, as one tuple.
fn flatten(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let v = &a[0];
    if v.is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    if !v.is_known() {
        return Ok(Value::unknown());
    }
    let Some(items) = v.as_seq() else {
        return Err(FuncError::new("can only flatten lists, sets and tuples"));
    };
    let mut out = Vec::new();
    let mut marked = false;
    if flatten_into(items, &mut out, &mut marked)? {
        Ok(Value::tuple(out).marked_if(marked))
    } else {
        Ok(Value::unknown().marked_if(marked))
    }
}

/// Appends the flattened `items` to `out`; false when an unknown element
/// might be a list, so the result's length is unknown. Marks on the
/// elements stay, but a marked list among them marks the whole result
/// (`marked`), as in Terraform. The result is refused as soon as it
/// grows past what a collection may hold.
fn flatten_into(
    items: &[Value],
    out: &mut Vec<Value>,
    marked: &mut bool,
) -> Result<bool, FuncError> {
    for item in items {
        let (inner, item_marked) = item.unmark();
        match inner {
            Value::Unknown(Type::Dynamic | Type::List(_) | Type::Set(_) | Type::Tuple(_)) => {
                *marked |= item_marked;
                return Ok(false);
            }
            Value::Set(..) if !inner.is_wholly_known() => {
                *marked |= item_marked;
                return Ok(false);
            }
            Value::List(..) | Value::Set(..) | Value::Tuple(_) => {
                *marked |= item_marked;
                if !flatten_into(inner.as_seq().unwrap_or_default(), out, marked)? {
                    return Ok(false);
                }
            }
            _ => {
                out.push(item.clone());
                if out.len() > limits::MAX_ELEMENTS {
                    return Err(FuncError::new(format!(
                        "the result would have more than {} elements, the most a collection may hold",
                        limits::MAX_ELEMENTS
                    )));
                }
            }
        }
    }
    Ok(true)
}

function!(DISTINCT, "distinct", ["list"], distinct, unknown);
/// The list without repeated elements, first occurrences kept in order.
fn distinct(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    if !a[0].is_known() {
        return Ok(Value::Unknown(Type::list(element_type(&a[0]))));
    }
    let list = collection_arg(a, 0, &Type::list(Type::Dynamic))?;
    if !list.is_wholly_known() {
        // Unknown elements may equal others: the length is unknown.
        return Ok(Value::Unknown(list.type_of()));
    }
    let items = list.as_seq().unwrap_or_default();
    // Sorted, equal elements sit side by side: each is compared with its
    // neighbours, not with every element before it, so a long list takes
    // n log n comparisons rather than n squared.
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&i, &j| compare_for_set(&items[i], &items[j]).then(i.cmp(&j)));
    let mut keep = vec![false; items.len()];
    let mut run: Vec<usize> = Vec::new();
    for (n, &i) in order.iter().enumerate() {
        let starts_run = n == 0
            || order
                .get(n - 1)
                .is_none_or(|&p| compare_for_set(&items[p], &items[i]).is_ne());
        if starts_run {
            run.clear();
        }
        // Within a run of elements that sort alike, the first of each
        // group of equal ones (the lowest index: the sort is stable on it)
        // is kept.
        if !run
            .iter()
            .any(|&k| items[k].equals(&items[i]) == Some(true))
        {
            keep[i] = true;
            run.push(i);
        }
    }
    let out = items
        .iter()
        .zip(keep)
        .filter(|(_, kept)| *kept)
        .map(|(item, _)| item.clone())
        .collect();
    Ok(Value::list(element_type(&list), out))
}

function!(CONTAINS, "contains", ["list", "value"], contains, unknown);
fn contains(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let list = &a[0];
    if list.is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    if !list.is_known() || !a[1].is_wholly_known() {
        return Ok(Value::Unknown(Type::Bool));
    }
    let Some(items) = list.as_seq() else {
        return Err(FuncError::new("argument must be list, tuple, or set"));
    };
    let mut unknown = false;
    for item in items {
        match item.equals(&a[1]) {
            Some(true) => return Ok(Value::Bool(true)),
            Some(false) => {}
            None => unknown = true,
        }
    }
    Ok(if unknown {
        Value::Unknown(Type::Bool)
    } else {
        Value::Bool(false)
    })
}

function!(INDEX, "index", ["list", "value"], index, unknown);
/// The position of the first element equal to `value`.
fn index(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let list = &a[0];
    if list.is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    if !list.is_known() || !a[1].is_wholly_known() {
        return Ok(Value::Unknown(Type::Number));
    }
    let items = match list {
        Value::List(..) | Value::Tuple(_) => list.as_seq().unwrap_or_default(),
        _ => return Err(FuncError::new("argument must be a list or tuple")),
    };
    for (i, item) in items.iter().enumerate() {
        match item.equals(&a[1]) {
            Some(true) => return Ok(Value::from(i as i64)),
            Some(false) => {}
            // An earlier unknown element might be the one.
            None => return Ok(Value::Unknown(Type::Number)),
        }
    }
    Err(FuncError::new("item not found"))
}

static RANGE: FuncSpec = FuncSpec {
    name: "range",
    params: &["params..."],
    allow_unknown: true,
    returns: Type::Dynamic,
    marks: Marks::Strip,
    imp: range,
};
/// The most numbers `range` generates: a guard against endless ranges.
const RANGE_LIMIT: usize = 1024;

/// `range(end)`, `range(start, end)` or `range(start, end, step)`; the
/// step defaults to 1, or -1 when `end` is below `start`.
fn range(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    if a.is_empty() || a.len() > 3 {
        return Err(FuncError::new("must have one, two, or three arguments"));
    }
    if let Some(unknown) = args::unknown_result(a, || Type::list(Type::Number)) {
        return Ok(unknown);
    }
    let numbers = (0..a.len())
        .map(|i| args::number(a, i))
        .collect::<Result<Vec<_>, _>>()?;
    let (start, end) = match &numbers[..] {
        [end] => (Number::zero(), end.clone()),
        [start, end, ..] => (start.clone(), end.clone()),
        [] => return Err(FuncError::new("must have one, two, or three arguments")),
    };
    let step = match numbers.get(2) {
        Some(step) => {
            if step.is_negative() && end.compare(&start).is_gt() {
                return Err(FuncError::arg(
                    2,
                    "end must be less than start when step is negative",
                ));
            }
            if !step.is_negative() && *step != Number::zero() && end.compare(&start).is_lt() {
                return Err(FuncError::arg(
                    2,
                    "end must be greater than start when step is positive",
                ));
            }
            step.clone()
        }
        None if end.compare(&start).is_lt() => Number::one().negate(),
        None => Number::one(),
    };
    let mut out = Vec::new();
    let mut n = start;
    let more = |n: &Number| {
        if step.is_negative() {
            n.compare(&end).is_gt()
        } else {
            n.compare(&end).is_lt()
        }
    };
    while more(&n) {
        if out.len() >= RANGE_LIMIT {
            return Err(FuncError::new(format!(
                "more than {RANGE_LIMIT} values were generated; either decrease the difference between start and end or use a smaller step"
            )));
        }
        let next = n
            .checked_add(&step)
            .map_err(|e| FuncError::new(e.to_string()))?;
        out.push(Value::Number(std::mem::replace(&mut n, next)));
    }
    Ok(Value::list(Type::Number, out))
}

function!(COALESCE, "coalesce", ["vals..."], coalesce, unknown);
/// The first argument that is neither null nor an empty string, converted
/// to the type all arguments unify to.
fn coalesce(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let types: Vec<Type> = a.iter().map(Value::type_of).collect();
    let ty = if a.is_empty() {
        None
    } else {
        unify_or_dynamic(&types)
    };
    let Some(ty) = ty else {
        return Err(FuncError::new("all arguments must have the same type"));
    };
    for v in a {
        if !v.is_known() {
            return Ok(Value::Unknown(ty));
        }
        if v.is_null() || v.as_str() == Some("") {
            continue;
        }
        return convert(v, &ty).map_err(|e| FuncError::new(e.to_string()));
    }
    Err(FuncError::new("no non-null, non-empty-string arguments"))
}

function!(
    COALESCELIST,
    "coalescelist",
    ["vals..."],
    coalescelist,
    unknown
);
/// The first list or tuple argument that has elements.
fn coalescelist(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    if a.is_empty() {
        return Err(FuncError::new("at least one argument is required"));
    }
    for v in a {
        if v.is_null() {
            continue;
        }
        if !v.is_known() {
            return Ok(Value::unknown());
        }
        match v {
            Value::List(_, items) | Value::Tuple(items) => {
                if !items.is_empty() {
                    return Ok(v.clone());
                }
            }
            _ => {
                return Err(FuncError::new(
                    "coalescelist arguments must be lists or tuples",
                ));
            }
        }
    }
    Err(FuncError::new("no non-null arguments"))
}

static CHUNKLIST: FuncSpec = FuncSpec {
    name: "chunklist",
    params: &["list", "size"],
    allow_unknown: true,
    returns: Type::Dynamic,
    marks: Marks::Nested,
    imp: chunklist,
};
/// Consecutive chunks of `size` elements (one chunk of all when 0).
fn chunklist(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    if !a[0].is_known() || !a[1].is_known() {
        return Ok(Value::Unknown(Type::list(Type::list(element_type(&a[0])))));
    }
    let list = collection_arg(a, 0, &Type::list(Type::Dynamic))?;
    let size = args::integer(a, 1)?;
    if size < 0 {
        return Err(FuncError::new("the size argument must be positive"));
    }
    let elem = element_type(&list);
    let items = list.as_seq().unwrap_or_default();
    let chunk = if size == 0 {
        items.len().max(1)
    } else {
        size as usize
    };
    let chunks = items
        .chunks(chunk)
        .map(|c| Value::list(elem.clone(), c.to_vec()))
        .collect();
    Ok(Value::list(Type::list(elem), chunks))
}

function!(COMPACT, "compact", ["list"], compact, unknown);
/// The strings of a list that are neither null nor empty.
fn compact(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let list_of_strings = Type::list(Type::String);
    if a[0].is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    if !a[0].is_known() {
        return Ok(Value::Unknown(list_of_strings));
    }
    let items = args::primitive_elements(a, 0, &Type::String)?;
    // Any unknown string may be empty, so the length is unknown.
    if !a[0].is_wholly_known() {
        return Ok(Value::Unknown(list_of_strings));
    }
    let kept = items
        .into_iter()
        .filter(|v| !v.is_null() && v.as_str() != Some(""))
        .collect();
    Ok(Value::list(Type::String, kept))
}

function!(REVERSE, "reverse", ["list"], reverse, unknown, nested);
/// A tuple reversed is a tuple; a list or set gives a list.
fn reverse(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let v = &a[0];
    if v.is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    match v {
        Value::Tuple(items) => Ok(Value::tuple(items.iter().rev().cloned().collect())),
        Value::List(elem, items) | Value::Set(elem, items) => Ok(Value::list(
            elem.clone(),
            items.iter().rev().cloned().collect(),
        )),
        Value::Unknown(Type::List(e) | Type::Set(e)) => {
            Ok(Value::Unknown(Type::list((**e).clone())))
        }
        Value::Unknown(Type::Tuple(ts)) => Ok(Value::Unknown(Type::Tuple(
            ts.iter().rev().cloned().collect(),
        ))),
        Value::Unknown(_) => Ok(Value::unknown()),
        other => Err(FuncError::arg(
            0,
            Message::text(format!(
                "can only reverse list or tuple values, not {}",
                other.type_of().friendly_name()
            )),
        )),
    }
}

function!(
    SLICE,
    "slice",
    ["list", "start_index", "end_index"],
    slice,
    unknown,
    nested
);
/// Elements from `start_index` up to (not including) `end_index`.
fn slice(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let list = &a[0];
    if list.is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    if matches!(list.type_of(), Type::Set(_)) {
        return Err(FuncError::arg(
            0,
            "cannot slice a set, because its elements do not have indices; explicitly convert to a list if the ordering of the result is not important",
        ));
    }
    if !list.is_known() || !a[1].is_known() || !a[2].is_known() {
        return Ok(Value::Unknown(match list.type_of() {
            Type::List(e) => Type::List(e),
            _ => Type::Dynamic,
        }));
    }
    let start = args::integer(a, 1)?;
    let end = args::integer(a, 2)?;
    let items = match list {
        Value::List(..) | Value::Tuple(_) => list.as_seq().unwrap_or_default(),
        _ => return Err(FuncError::arg(0, "must be a list or tuple value")),
    };
    if start < 0 {
        return Err(FuncError::arg(1, "start index must not be less than zero"));
    }
    if end > items.len() as i64 {
        return Err(FuncError::arg(
            2,
            "end index must not be greater than the length of the list",
        ));
    }
    if start > end {
        return Err(FuncError::arg(
            1,
            "start index must not be greater than end index",
        ));
    }
    let part = items[start as usize..end as usize].to_vec();
    Ok(match list {
        Value::List(elem, _) => Value::list(elem.clone(), part),
        _ => Value::tuple(part),
    })
}

function!(SORT, "sort", ["list"], sort, unknown);
/// Strings in lexical (byte) order; numbers are sorted as strings too.
fn sort(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    if !a[0].is_known() {
        return Ok(Value::Unknown(Type::list(Type::String)));
    }
    let items = args::primitive_elements(a, 0, &Type::String)?;
    if !a[0].is_wholly_known() {
        // Where each element goes is unknown, but not how many there are.
        return Ok(Value::list(
            Type::String,
            vec![Value::Unknown(Type::String); items.len()],
        ));
    }
    let mut strings = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.as_str() {
            Some(s) => strings.push(s.to_string()),
            None => {
                return Err(FuncError::new(format!(
                    "given list element {i} is null; a null string cannot be sorted"
                )));
            }
        }
    }
    strings.sort();
    Ok(Value::list(
        Type::String,
        strings.into_iter().map(Value::from).collect(),
    ))
}

static SUM: FuncSpec = FuncSpec {
    name: "sum",
    params: &["list"],
    allow_unknown: false,
    returns: Type::Number,
    marks: Marks::Strip,
    imp: sum,
};
fn sum(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    if a[0].is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    let Some(items) = a[0].as_seq() else {
        return Err(FuncError::arg(0, "cannot sum noniterable"));
    };
    if items.is_empty() {
        return Err(FuncError::arg(0, "cannot sum an empty list"));
    }
    let mut total = Number::zero();
    for item in items {
        let n = args::to_primitive(item, &Type::Number)
            .ok()
            .and_then(|v| v.as_number())
            .ok_or_else(|| {
                FuncError::arg(0, "argument must be list, set, or tuple of number values")
            })?;
        total = total
            .checked_add(&n)
            .map_err(|e| FuncError::new(e.to_string()))?;
    }
    Ok(Value::Number(total))
}

function!(
    ZIPMAP,
    "zipmap",
    ["keys", "values"],
    zipmap,
    unknown,
    nested
);
/// A map from keys to values: an object when the values are a tuple, a
/// map when they are a list.
fn zipmap(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    if a[0].is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    if a[1].is_null() {
        return Err(FuncError::arg(1, "argument must not be null"));
    }
    let keys = args::primitive_elements(a, 0, &Type::String)?;
    let values = &a[1];
    let map_elem = match values.type_of() {
        Type::List(e) => Some(*e),
        _ => None,
    };
    if !a[0].is_wholly_known() || !values.is_known() {
        return Ok(Value::Unknown(map_elem.map_or(Type::Dynamic, Type::map)));
    }
    let items = match values {
        Value::List(..) | Value::Tuple(_) => values.as_seq().unwrap_or_default(),
        _ => return Err(FuncError::arg(1, "must be a list or tuple value")),
    };
    if keys.len() != items.len() {
        return Err(FuncError::new(format!(
            "number of keys ({}) does not match number of values ({})",
            keys.len(),
            items.len()
        )));
    }
    // A marked key marks the whole result: keys carry no marks.
    let marked = keys.iter().any(Value::is_sensitive);
    let mut entries = BTreeMap::new();
    for (i, (k, v)) in keys.iter().zip(items).enumerate() {
        let Some(k) = k.as_str() else {
            return Err(FuncError::new(format!(
                "keys list has null value at index {i}"
            )));
        };
        entries.insert(k.to_string(), v.clone());
    }
    let result = match map_elem {
        Some(elem) => Value::map(elem, entries),
        None => Value::object(entries),
    };
    Ok(result.marked_if(marked))
}

function!(
    SETPRODUCT,
    "setproduct",
    ["sets..."],
    setproduct,
    unknown,
    nested
);
/// Every combination of one element from each argument, as tuples: a set
/// when all arguments are sets, else a list.
fn setproduct(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    if a.len() < 2 {
        return Err(FuncError::new("at least two arguments are required"));
    }
    if let Some(unknown) = args::unknown_result(a, || Type::Dynamic) {
        return Ok(unknown);
    }
    let mut columns = Vec::with_capacity(a.len());
    let mut elem_types = Vec::with_capacity(a.len());
    for (i, v) in a.iter().enumerate() {
        if v.is_null() {
            return Err(FuncError::arg(i, "argument must not be null"));
        }
        let Some(items) = v.as_seq() else {
            return Err(FuncError::arg(i, "a set or a list is required"));
        };
        let ty = match v.type_of() {
            Type::List(e) | Type::Set(e) => *e,
            Type::Tuple(ts) => unify_or_dynamic(&ts)
                .ok_or_else(|| FuncError::arg(i, "all elements must be of the same type"))?,
            _ => Type::Dynamic,
        };
        let items = items
            .iter()
            .map(|item| convert(item, &ty))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| FuncError::arg(i, e.to_string()))?;
        columns.push(items);
        elem_types.push(ty);
    }
    let combinations = columns
        .iter()
        .map(Vec::len)
        .fold(1usize, usize::saturating_mul);
    limits::check_elements(combinations).map_err(FuncError::new)?;
    let mut rows: Vec<Vec<Value>> = vec![Vec::new()];
    for column in &columns {
        rows = rows
            .iter()
            .flat_map(|row| {
                column.iter().map(move |item| {
                    let mut next = row.clone();
                    next.push(item.clone());
                    next
                })
            })
            .collect();
    }
    let tuple_type = Type::Tuple(elem_types);
    let tuples = rows.into_iter().map(Value::tuple).collect();
    Ok(if a.iter().all(|v| matches!(v.type_of(), Type::Set(_))) {
        Value::set(tuple_type, tuples)
    } else {
        Value::list(tuple_type, tuples)
    })
}

/// The element type and elements of set arguments.
type Sets = (Type, Vec<Vec<Value>>);

/// The arguments as sets of one element type, for the set functions;
/// `Err(Ok(unknown))` when some are not known, as unknown elements may
/// equal others.
fn sets(a: &[Value]) -> Result<Sets, Result<Value, FuncError>> {
    if a.iter().any(|v| !v.is_known()) {
        return Err(Ok(Value::Unknown(Type::set(Type::Dynamic))));
    }
    let (elem, sets) = known_sets(a).map_err(Err)?;
    if a.iter().all(Value::is_wholly_known) {
        Ok((elem, sets))
    } else {
        Err(Ok(Value::Unknown(Type::set(elem))))
    }
}

fn known_sets(a: &[Value]) -> Result<Sets, FuncError> {
    let sets = (0..a.len())
        .map(|i| collection_arg(a, i, &Type::set(Type::Dynamic)))
        .collect::<Result<Vec<_>, _>>()?;
    let types: Vec<Type> = sets.iter().map(element_type).collect();
    let elem = unify_or_dynamic(&types)
        .ok_or_else(|| FuncError::new("given sets must all have compatible element types"))?;
    let converted = sets
        .iter()
        .map(|s| {
            s.as_seq()
                .unwrap_or_default()
                .iter()
                .map(|v| convert(v, &elem))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| FuncError::new("given sets must all have compatible element types"))?;
    Ok((elem, converted))
}

/// A set's elements in set order, to look elements up in by bisection:
/// a set of a million elements is searched in twenty steps, not a million.
fn sorted(set: &[Value]) -> Vec<&Value> {
    let mut sorted: Vec<&Value> = set.iter().collect();
    sorted.sort_by(|x, y| compare_for_set(x, y));
    sorted
}

/// Whether `sorted` (from `sorted`) holds an element equal to `v`: equal
/// elements sort alike, so only those that do are compared.
fn set_contains(sorted: &[&Value], v: &Value) -> bool {
    let start = sorted.partition_point(|x| compare_for_set(x, v).is_lt());
    sorted
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|x| compare_for_set(x, v).is_eq())
        .any(|x| x.equals(v) == Some(true))
}

function!(
    SETUNION,
    "setunion",
    ["first_set", "other_sets..."],
    setunion,
    unknown
);
fn setunion(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let (elem, sets) = match sets(a) {
        Ok(sets) => sets,
        Err(result) => return result,
    };
    // The union is no larger than its parts together; those parts are
    // gathered before repeats go, so they are held to what one
    // expression may build.
    let gathered = sets.iter().map(Vec::len).fold(0, usize::saturating_add);
    if gathered > limits::MAX_BUILT_ELEMENTS {
        return Err(FuncError::new(format!(
            "the sets have {gathered} elements together, more than the {} one call may gather",
            limits::MAX_BUILT_ELEMENTS
        )));
    }
    Ok(Value::set(elem, sets.into_iter().flatten().collect()))
}

function!(
    SETINTERSECTION,
    "setintersection",
    ["first_set", "other_sets..."],
    setintersection,
    unknown
);
fn setintersection(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let (elem, sets) = match sets(a) {
        Ok(sets) => sets,
        Err(result) => return result,
    };
    let Some((first, others)) = sets.split_first() else {
        return Ok(Value::set(elem, Vec::new()));
    };
    let others: Vec<Vec<&Value>> = others.iter().map(|o| sorted(o)).collect();
    let common = first
        .iter()
        .filter(|v| others.iter().all(|o| set_contains(o, v)))
        .cloned()
        .collect();
    Ok(Value::set(elem, common))
}

function!(SETSUBTRACT, "setsubtract", ["a", "b"], setsubtract, unknown);
fn setsubtract(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let (elem, sets) = match sets(a) {
        Ok(sets) => sets,
        Err(result) => return result,
    };
    let (Some(from), Some(taken)) = (sets.first(), sets.get(1)) else {
        return Ok(Value::set(elem, Vec::new()));
    };
    let taken = sorted(taken);
    let rest = from
        .iter()
        .filter(|v| !set_contains(&taken, v))
        .cloned()
        .collect();
    Ok(Value::set(elem, rest))
}

function!(ONE, "one", ["list"], one, unknown);
/// The only element of a collection, or null when it is empty.
fn one(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    let v = &a[0];
    if v.is_null() {
        return Err(FuncError::arg(0, "argument must not be null"));
    }
    let elem = match v.type_of() {
        Type::Tuple(ts) if ts.len() == 1 => ts[0].clone(),
        other => match other {
            Type::List(e) | Type::Set(e) => *e,
            _ => Type::Dynamic,
        },
    };
    if !v.is_known() || matches!(v, Value::Set(..)) && !v.is_wholly_known() {
        return Ok(Value::Unknown(elem));
    }
    match v.as_seq() {
        Some([]) => Ok(Value::Null(elem)),
        Some([only]) => Ok(only.clone()),
        _ => Err(FuncError::arg(
            0,
            "must be a list, set, or tuple value with either zero or one elements",
        )),
    }
}

function!(ALLTRUE, "alltrue", ["list"], alltrue, unknown);
/// Whether every element is true (a null counts as false).
fn alltrue(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    all_or_any(a, true)
}

function!(ANYTRUE, "anytrue", ["list"], anytrue, unknown);
/// Whether some element is true (nulls are skipped).
fn anytrue(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    all_or_any(a, false)
}

/// `alltrue` (looking for a false) or `anytrue` (looking for a true): the
/// element that decides wins even when others are unknown.
fn all_or_any(a: &[Value], all: bool) -> Result<Value, FuncError> {
    if !a[0].is_known() {
        return Ok(Value::Unknown(Type::Bool));
    }
    let items = args::primitive_elements(a, 0, &Type::Bool)?;
    let mut unknown = false;
    for item in &items {
        match item {
            Value::Unknown(_) => unknown = true,
            Value::Null(_) if all => return Ok(Value::Bool(false)),
            Value::Bool(b) if *b != all => return Ok(Value::Bool(!all)),
            _ => {}
        }
    }
    Ok(if unknown {
        Value::Unknown(Type::Bool)
    } else {
        Value::Bool(all)
    })
}

/// A `to...` conversion function: converts `v`, or fails with "cannot
/// convert ..." in Terraform's words.
macro_rules! conversion {
    ($static:ident, $name:literal, $imp:ident, $target:expr, $marks:expr) => {
        static $static: FuncSpec = FuncSpec {
            name: $name,
            params: &["v"],
            allow_unknown: true,
            returns: Type::Dynamic,
            marks: $marks,
            imp: $imp,
        };
        fn $imp(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
            convert_to(&a[0], &$target)
        }
    };
}

conversion!(TOSTRING, "tostring", tostring, Type::String, Marks::Strip);
conversion!(TONUMBER, "tonumber", tonumber, Type::Number, Marks::Strip);
conversion!(TOBOOL, "tobool", tobool, Type::Bool, Marks::Strip);
conversion!(
    TOLIST,
    "tolist",
    tolist,
    Type::list(Type::Dynamic),
    Marks::Nested
);
// Set elements cannot carry marks of their own: a marked element marks
// the whole set.
conversion!(
    TOSET,
    "toset",
    toset,
    Type::set(Type::Dynamic),
    Marks::Strip
);
conversion!(
    TOMAP,
    "tomap",
    tomap,
    Type::map(Type::Dynamic),
    Marks::Nested
);

fn convert_to(v: &Value, want: &Type) -> Result<Value, FuncError> {
    let from = v.type_of();
    let cannot = || {
        FuncError::arg(
            0,
            Message::text(format!(
                "cannot convert {} to {}",
                from.friendly_name(),
                args::constraint_name(want)
            )),
        )
    };
    if want.is_primitive() {
        if !(from.is_primitive() || from == Type::Dynamic) {
            return Err(cannot());
        }
        // The number syntax has no surrounding spaces (convert's parser
        // would accept them).
        let padded = v.as_str().is_some_and(|s| s.trim() != s);
        return match convert(v, want) {
            Ok(converted) if !(padded && *want == Type::Number) => Ok(converted),
            _ => Err(match (v.as_str(), want) {
                (Some(s), Type::Number) => FuncError::arg(
                    0,
                    Message::text("cannot convert ").quoted(0, s).then(
                        " to number; given string must be a decimal representation of a number",
                    ),
                ),
                (Some(s), Type::Bool) => FuncError::arg(
                    0,
                    Message::text("cannot convert ")
                        .quoted(0, s)
                        .then(" to bool; only the strings \"true\" or \"false\" are allowed"),
                ),
                _ => cannot(),
            }),
        };
    }
    to_collection(v, want).map_err(|_| cannot())
}

static SENSITIVE: FuncSpec = FuncSpec {
    name: "sensitive",
    params: &["value"],
    allow_unknown: true,
    returns: Type::Dynamic,
    marks: Marks::Keep,
    imp: sensitive,
};
fn sensitive(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(a[0].clone().mark_sensitive())
}

static NONSENSITIVE: FuncSpec = FuncSpec {
    name: "nonsensitive",
    params: &["value"],
    allow_unknown: true,
    returns: Type::Dynamic,
    marks: Marks::Keep,
    imp: nonsensitive,
};
/// Removes the mark of the value itself; marks deeper inside stay, so
/// that revealing a whole object does not reveal its secrets.
fn nonsensitive(_: &FuncContext<'_>, a: &[Value]) -> Result<Value, FuncError> {
    Ok(a[0].unmark().0.clone())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{call, err, s};
    use super::*;

    fn first_numbers(n: usize) -> Value {
        Value::list(
            Type::Number,
            (0..n).map(|i| Value::from(i as i64)).collect(),
        )
    }

    #[test]
    fn results_past_a_collections_limit_are_refused_before_they_are_built() {
        let thousand = call("range", &[Value::from(1000)]);
        assert_eq!(
            err(
                "setproduct",
                &[thousand.clone(), thousand.clone(), thousand.clone()]
            ),
            FuncError::new(
                "the result would have 1000000000 elements, more than the 1000000 a collection may hold"
            )
        );
        let big = first_numbers(600_000);
        assert_eq!(
            err("concat", &[big.clone(), big.clone()]),
            FuncError::new(
                "the result would have 1200000 elements, more than the 1000000 a collection may hold"
            )
        );
        assert_eq!(
            err("flatten", &[Value::tuple(vec![big.clone(), big.clone()])]),
            FuncError::new(
                "the result would have more than 1000000 elements, the most a collection may hold"
            )
        );
        let keys = |from: usize| {
            Value::map(
                Type::Number,
                (from..from + 600_000)
                    .map(|i| (i.to_string(), Value::from(i as i64)))
                    .collect(),
            )
        };
        assert_eq!(
            err("merge", &[keys(0), keys(600_000)]),
            FuncError::new(
                "the result would have 1200000 elements, more than the 1000000 a collection may hold"
            )
        );
        // Repeated keys are not counted twice.
        assert_eq!(
            call("length", &[call("merge", &[keys(0), keys(0)])]),
            Value::from(600_000)
        );
        assert_eq!(
            call(
                "length",
                &[call("concat", &[big.clone(), first_numbers(400_000)])]
            ),
            Value::from(1_000_000)
        );
    }

    #[test]
    fn long_lists_are_deduplicated_and_intersected_in_n_log_n() {
        // Quadratic algorithms would take hours here.
        let n = 200_000;
        let doubled = Value::list(
            Type::Number,
            (0..2 * n).map(|i| Value::from((i % n) as i64)).collect(),
        );
        assert_eq!(call("distinct", &[doubled]), first_numbers(n));
        let set = |from: usize| {
            Value::set(
                Type::Number,
                (from..from + n).map(|i| Value::from(i as i64)).collect(),
            )
        };
        let common = call("setintersection", &[set(0), set(n / 2)]);
        assert_eq!(common.length(), Some(n / 2));
        let rest = call("setsubtract", &[set(0), set(n / 2)]);
        assert_eq!(rest.length(), Some(n / 2));
        let words = Value::list(
            Type::String,
            ["b", "a", "b", "c", "a"]
                .into_iter()
                .map(Value::from)
                .collect(),
        );
        assert_eq!(
            call("distinct", &[words]),
            Value::list(
                Type::String,
                ["b", "a", "c"].into_iter().map(Value::from).collect()
            )
        );
    }

    fn n(text: &str) -> Value {
        Value::Number(Number::parse(text).unwrap())
    }

    fn tuple(items: Vec<Value>) -> Value {
        Value::tuple(items)
    }

    fn strings(items: &[&str]) -> Value {
        Value::list(Type::String, items.iter().map(|i| s(i)).collect())
    }

    fn numbers(items: &[i64]) -> Value {
        Value::list(
            Type::Number,
            items.iter().map(|i| Value::from(*i)).collect(),
        )
    }

    fn obj(pairs: Vec<(&str, Value)>) -> Value {
        Value::object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }

    fn map(elem: Type, pairs: Vec<(&str, Value)>) -> Value {
        Value::map(
            elem,
            pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        )
    }

    fn unknown(t: Type) -> Value {
        Value::Unknown(t)
    }

    #[test]
    fn length_counts_what_is_known() {
        assert_eq!(call("length", &[s("héllo")]), n("5"));
        assert_eq!(call("length", &[s("🇩🇪")]), n("1"));
        assert_eq!(call("length", &[obj(vec![("a", 1.into())])]), n("1"));
        assert_eq!(call("length", &[tuple(vec![Value::unknown()])]), n("1"));
        assert_eq!(call("length", &[Value::unknown()]), unknown(Type::Number));
        assert_eq!(
            err("length", &[Value::NULL]),
            FuncError::arg(0, "argument must not be null")
        );
        assert_eq!(
            err("length", &[1.into()]),
            FuncError::new("argument must be a string, a collection type, or a structural type")
        );
    }

    #[test]
    fn element_wraps_around() {
        let ab = tuple(vec![s("a"), s("b")]);
        assert_eq!(call("element", &[ab.clone(), 3.into()]), s("b"));
        assert_eq!(call("element", &[ab.clone(), (-1).into()]), s("b"));
        // Terraform panics on this one; wrapping is the sane reading.
        assert_eq!(call("element", &[ab.clone(), (-3).into()]), s("b"));
        assert_eq!(
            call(
                "element",
                &[tuple(vec![Value::unknown(), s("a")]), 1.into()]
            ),
            s("a")
        );
        assert_eq!(
            call("element", &[strings(&["a"]), unknown(Type::Number)]),
            unknown(Type::String)
        );
        assert_eq!(
            err("element", &[tuple(vec![]), 0.into()]),
            FuncError::new("cannot use element function with an empty list")
        );
        assert_eq!(
            err(
                "element",
                &[Value::set(Type::String, vec![s("a")]), 0.into()]
            ),
            FuncError::new("cannot read elements from set of string")
        );
        assert_eq!(
            err("element", &[ab, n("1.5")]),
            FuncError::new(format!("invalid index: {}", args::NOT_AN_INTEGER))
        );
    }

    #[test]
    fn keys_and_values_follow_key_order() {
        let o = obj(vec![("b", 1.into()), ("a", s("x"))]);
        let k = call("keys", std::slice::from_ref(&o));
        assert_eq!(k, tuple(vec![s("a"), s("b")]));
        assert_eq!(k.type_of(), Type::Tuple(vec![Type::String, Type::String]));
        assert_eq!(call("values", &[o]), tuple(vec![s("x"), 1.into()]));
        let m = map(Type::Number, vec![("b", 1.into()), ("a", 2.into())]);
        assert_eq!(call("keys", std::slice::from_ref(&m)), strings(&["a", "b"]));
        assert_eq!(call("values", &[m]), numbers(&[2, 1]));
        assert_eq!(
            call("keys", &[obj(vec![("a", Value::unknown())])]),
            tuple(vec![s("a")])
        );
        assert_eq!(
            err("keys", &[s("x")]),
            FuncError::arg(0, "must have map or object type")
        );
        assert_eq!(
            err("values", &[s("x")]),
            FuncError::new("values() requires a map as the first argument")
        );
    }

    #[test]
    fn lookup_with_and_without_default() {
        let o = obj(vec![("a", 1.into()), ("b", s("x"))]);
        assert_eq!(call("lookup", &[o.clone(), s("a")]), n("1"));
        assert_eq!(call("lookup", &[o.clone(), s("c"), s("dflt")]), s("dflt"));
        let m = map(Type::Number, vec![("a", 1.into())]);
        // The default takes the map's element type.
        assert_eq!(call("lookup", &[m.clone(), s("b"), s("2")]), n("2"));
        assert_eq!(
            err("lookup", &[m.clone(), s("a"), s("x")]),
            FuncError::arg(
                2,
                "the default value must have the same type as the map elements"
            )
        );
        assert_eq!(
            err("lookup", &[m, s("b")]),
            FuncError::new("lookup failed to find key \"b\"")
        );
        assert_eq!(
            err("lookup", &[o.clone(), s("c")]),
            FuncError::arg(0, "the given object has no attribute \"c\"")
        );
        assert_eq!(
            err("lookup", &[o.clone(), s("c"), 1.into(), 2.into()]),
            FuncError::new("lookup() takes two or three arguments, got 4")
        );
        let partly = obj(vec![("a", Value::unknown()), ("b", 1.into())]);
        assert_eq!(call("lookup", &[partly, s("b")]), n("1"));
    }

    #[test]
    fn merge_keeps_objects_and_maps_apart() {
        let m = |v: i64| map(Type::Number, vec![("k", v.into())]);
        let merged = call("merge", &[m(1), map(Type::Number, vec![("b", 2.into())])]);
        assert_eq!(merged.type_of(), Type::map(Type::Number));
        let mixed = call("merge", &[m(1), map(Type::String, vec![("b", s("x"))])]);
        assert_eq!(mixed, obj(vec![("b", s("x")), ("k", 1.into())]));
        let later_wins = call(
            "merge",
            &[
                obj(vec![("a", 1.into())]),
                Value::NULL,
                obj(vec![("a", s("x"))]),
            ],
        );
        assert_eq!(later_wins, obj(vec![("a", s("x"))]));
        assert_eq!(call("merge", &[]), obj(vec![]));
        let with_unknown = call(
            "merge",
            &[
                obj(vec![("a", Value::unknown())]),
                obj(vec![("b", 1.into())]),
            ],
        );
        assert_eq!(
            with_unknown,
            obj(vec![("a", Value::unknown()), ("b", 1.into())])
        );
        assert_eq!(
            call("merge", &[Value::unknown(), obj(vec![])]),
            Value::unknown()
        );
        assert_eq!(
            err("merge", &[s("x")]),
            FuncError::new("arguments must be maps or objects, got \"string\"")
        );
    }

    #[test]
    fn concat_gives_a_list_only_of_lists() {
        let t = call("concat", &[tuple(vec![1.into()]), tuple(vec![s("a")])]);
        assert_eq!(t.type_of(), Type::Tuple(vec![Type::Number, Type::String]));
        let l = call("concat", &[numbers(&[1]), strings(&["a"])]);
        assert_eq!(l, strings(&["1", "a"]));
        let bools = Value::list(Type::Bool, vec![Value::Bool(true)]);
        assert_eq!(
            call("concat", &[bools, numbers(&[1])]).type_of(),
            Type::Tuple(vec![Type::Bool, Type::Number])
        );
        assert_eq!(
            call(
                "concat",
                &[unknown(Type::list(Type::String)), strings(&["a"])]
            ),
            unknown(Type::list(Type::String))
        );
        assert_eq!(
            err("concat", &[]),
            FuncError::new("at least one argument is required")
        );
        assert_eq!(
            err("concat", &[tuple(vec![]), s("x")]),
            FuncError::arg(1, "all arguments must be lists or tuples; got string")
        );
    }

    #[test]
    fn flatten_makes_one_tuple() {
        let nested = tuple(vec![
            tuple(vec![1.into(), tuple(vec![2.into()])]),
            3.into(),
            tuple(vec![]),
            Value::set(Type::String, vec![s("b")]),
        ]);
        let flat = call("flatten", &[nested]);
        assert_eq!(flat, tuple(vec![1.into(), 2.into(), 3.into(), s("b")]));
        assert_eq!(
            call("flatten", &[tuple(vec![tuple(vec![Value::unknown()])])]),
            Value::unknown()
        );
        assert_eq!(
            call("flatten", &[tuple(vec![unknown(Type::String)])]),
            tuple(vec![unknown(Type::String)])
        );
        assert_eq!(
            err("flatten", &[s("x")]),
            FuncError::new("can only flatten lists, sets and tuples")
        );
    }

    #[test]
    fn distinct_contains_index() {
        let abba = tuple(vec![s("b"), s("a"), s("b")]);
        assert_eq!(
            call("distinct", std::slice::from_ref(&abba)),
            strings(&["b", "a"])
        );
        assert_eq!(
            call(
                "distinct",
                &[tuple(vec![Value::NULL, 1.into(), Value::NULL])]
            ),
            Value::list(Type::Number, vec![Value::Null(Type::Number), 1.into()])
        );
        assert_eq!(
            err("distinct", &[tuple(vec![1.into(), tuple(vec![])])]),
            FuncError::arg(0, "all list elements must have the same type")
        );
        assert_eq!(call("contains", &[abba.clone(), s("a")]), Value::Bool(true));
        assert_eq!(
            call("contains", &[tuple(vec![1.into()]), s("1")]),
            Value::Bool(false)
        );
        assert_eq!(
            call("contains", &[tuple(vec![s("b"), Value::unknown()]), s("a")]),
            unknown(Type::Bool)
        );
        assert_eq!(
            err("contains", &[s("a"), s("a")]),
            FuncError::new("argument must be list, tuple, or set")
        );
        assert_eq!(call("index", &[abba.clone(), s("a")]), n("1"));
        assert_eq!(
            call("index", &[tuple(vec![Value::unknown(), s("a")]), s("a")]),
            unknown(Type::Number)
        );
        assert_eq!(
            err("index", &[abba, s("c")]),
            FuncError::new("item not found")
        );
    }

    #[test]
    fn range_steps() {
        assert_eq!(call("range", &[3.into()]), numbers(&[0, 1, 2]));
        assert_eq!(call("range", &[(-1).into()]), numbers(&[0]));
        assert_eq!(call("range", &[5.into(), 1.into()]), numbers(&[5, 4, 3, 2]));
        assert_eq!(
            call("range", &[5.into(), 1.into(), (-2).into()]),
            numbers(&[5, 3])
        );
        assert_eq!(
            call("range", &[1.into(), 2.into(), n("0.5")]),
            Value::list(Type::Number, vec![n("1"), n("1.5")])
        );
        assert_eq!(
            call("range", &[0.into()]).type_of(),
            Type::list(Type::Number)
        );
        assert_eq!(
            err("range", &[]),
            FuncError::new("must have one, two, or three arguments")
        );
        assert_eq!(
            err("range", &[1.into(), 0.into(), 1.into()]),
            FuncError::arg(2, "end must be greater than start when step is positive")
        );
        assert!(
            err("range", &[0.into(), 1.into(), 0.into()])
                .message
                .starts_with("more than 1024 values were generated")
        );
    }

    #[test]
    fn conversions() {
        assert_eq!(
            call("toset", &[tuple(vec![s("b"), s("a"), s("b")])]),
            Value::set(Type::String, vec![s("a"), s("b")])
        );
        assert_eq!(
            call("tomap", &[obj(vec![("a", 1.into()), ("b", s("2"))])]),
            map(Type::String, vec![("a", s("1")), ("b", s("2"))])
        );
        assert_eq!(
            call("tolist", &[tuple(vec![])]),
            Value::list(Type::Dynamic, vec![])
        );
        assert_eq!(
            call("tolist", &[tuple(vec![Value::NULL])]).type_of(),
            Type::list(Type::Dynamic)
        );
        assert_eq!(call("tostring", &[5.into()]), s("5"));
        assert_eq!(call("tostring", &[Value::Bool(true)]), s("true"));
        assert_eq!(call("tostring", &[Value::NULL]), Value::Null(Type::String));
        assert_eq!(call("tonumber", &[s("3.5")]), n("3.5"));
        assert_eq!(call("tobool", &[s("true")]), Value::Bool(true));
        assert_eq!(
            err("tolist", &[s("x")]),
            FuncError::arg(0, "cannot convert string to list of any single type")
        );
        assert_eq!(
            err("tostring", &[tuple(vec![])]),
            FuncError::arg(0, "cannot convert tuple to string")
        );
        assert_eq!(
            err("tonumber", &[s(" 3 ")]),
            FuncError::arg(
                0,
                "cannot convert \" 3 \" to number; given string must be a decimal representation of a number"
            )
        );
        assert_eq!(
            err("tobool", &[s("x")]),
            FuncError::arg(
                0,
                "cannot convert \"x\" to bool; only the strings \"true\" or \"false\" are allowed"
            )
        );
        assert_eq!(
            err("tobool", &[1.into()]),
            FuncError::arg(0, "cannot convert number to bool")
        );
    }

    #[test]
    fn sensitivity_is_set_and_removed_at_the_top() {
        let marked = call("sensitive", &[obj(vec![("a", 1.into())])]);
        assert!(marked.is_sensitive());
        assert_eq!(
            marked.type_of(),
            Type::Object([("a".into(), Type::Number)].into())
        );
        let inner = obj(vec![("a", s("x").mark_sensitive())]);
        let revealed = call("nonsensitive", &[inner.clone().mark_sensitive()]);
        assert_eq!(revealed, inner);
        assert!(revealed.contains_sensitive());
        assert_eq!(call("nonsensitive", &[s("x")]), s("x"));
        assert_eq!(err("sensitive", &[]).arg, None);
    }

    #[test]
    fn marks_inside_collections_stay_with_their_elements() {
        let secret = s("x").mark_sensitive();
        let joined = call(
            "concat",
            &[tuple(vec![secret.clone()]), tuple(vec![s("y")])],
        );
        assert!(!joined.is_sensitive());
        assert_eq!(joined.as_seq().unwrap()[0], secret);
        let merged = call(
            "merge",
            &[obj(vec![("a", secret.clone())]), obj(vec![("b", 1.into())])],
        );
        assert!(!merged.is_sensitive());
        assert!(merged.get_attr("a").unwrap().is_sensitive());
        // A marked argument marks the result; so does a marked list that
        // flatten takes apart.
        assert!(call("keys", &[obj(vec![("a", 1.into())]).mark_sensitive()]).is_sensitive());
        let inner_list = tuple(vec![1.into()]).mark_sensitive();
        assert!(call("flatten", &[tuple(vec![inner_list])]).is_sensitive());
        // Functions that look at the elements mark the whole result.
        assert!(call("distinct", &[tuple(vec![secret.clone(), s("y")])]).is_sensitive());
        assert!(call("toset", &[tuple(vec![secret, s("y")])]).is_sensitive());
    }

    #[test]
    fn collection_parameters_reject_null() {
        let zero = || Value::from(0);
        let cases: Vec<(&str, Vec<Value>)> = vec![
            ("setintersection", vec![Value::NULL]),
            ("reverse", vec![Value::NULL]),
            ("slice", vec![Value::NULL, zero(), zero()]),
            ("chunklist", vec![Value::NULL, 1.into()]),
            ("one", vec![Value::NULL]),
            ("values", vec![Value::NULL]),
        ];
        for (name, a) in cases {
            assert_eq!(
                err(name, &a),
                FuncError::arg(0, "argument must not be null"),
                "{name}"
            );
        }
        assert_eq!(err("nonsensitive", &[]).arg, None);
    }

    #[test]
    fn coalesce_and_coalescelist() {
        assert_eq!(call("coalesce", &[s(""), s("b")]), s("b"));
        assert_eq!(call("coalesce", &[Value::NULL, 1.into()]), n("1"));
        assert_eq!(call("coalesce", &[1.into(), s("a")]), s("1"));
        assert_eq!(
            call("coalesce", &[s(""), unknown(Type::String)]),
            unknown(Type::String)
        );
        assert_eq!(
            err("coalesce", &[Value::NULL, s("")]),
            FuncError::new("no non-null, non-empty-string arguments")
        );
        assert_eq!(
            err("coalesce", &[1.into(), tuple(vec![])]),
            FuncError::new("all arguments must have the same type")
        );
        let first = tuple(vec![1.into()]);
        assert_eq!(
            call(
                "coalescelist",
                &[tuple(vec![]), first.clone(), tuple(vec![s("a")])]
            ),
            first
        );
        assert_eq!(
            err("coalescelist", &[tuple(vec![]), tuple(vec![])]),
            FuncError::new("no non-null arguments")
        );
        assert_eq!(
            err("coalescelist", &[s("x")]),
            FuncError::new("coalescelist arguments must be lists or tuples")
        );
    }

    #[test]
    fn chunklist_compact_reverse_slice() {
        let abc = tuple(vec![s("a"), s("b"), s("c")]);
        let chunks = call("chunklist", &[abc.clone(), 2.into()]);
        assert_eq!(
            chunks,
            Value::list(
                Type::list(Type::String),
                vec![strings(&["a", "b"]), strings(&["c"])]
            )
        );
        assert_eq!(
            call("chunklist", &[tuple(vec![]), 2.into()]).type_of(),
            Type::list(Type::list(Type::Dynamic))
        );
        assert_eq!(
            err("chunklist", &[abc.clone(), (-1).into()]),
            FuncError::new("the size argument must be positive")
        );
        let compacted = call(
            "compact",
            &[tuple(vec![s("a"), s(""), Value::NULL, s("b")])],
        );
        assert_eq!(compacted, strings(&["a", "b"]));
        assert_eq!(
            call("compact", &[tuple(vec![s("a"), Value::unknown()])]),
            unknown(Type::list(Type::String))
        );
        assert_eq!(
            err("compact", &[tuple(vec![s("a"), tuple(vec![])])]),
            FuncError::arg(0, "element 1: string required")
        );
        assert_eq!(
            call("reverse", &[tuple(vec![1.into(), s("a")])]),
            tuple(vec![s("a"), 1.into()])
        );
        assert_eq!(
            call(
                "reverse",
                &[Value::set(Type::Number, vec![1.into(), 2.into()])]
            ),
            numbers(&[2, 1])
        );
        assert_eq!(
            err("reverse", &[s("x")]),
            FuncError::arg(0, "can only reverse list or tuple values, not string")
        );
        assert_eq!(
            call("slice", &[abc.clone(), 1.into(), 2.into()]),
            tuple(vec![s("b")])
        );
        assert_eq!(
            call("slice", &[numbers(&[1, 2]), 1.into(), 1.into()]),
            numbers(&[])
        );
        assert_eq!(
            err("slice", &[abc.clone(), 2.into(), 1.into()]),
            FuncError::arg(1, "start index must not be greater than end index")
        );
        assert_eq!(
            err("slice", &[abc, 0.into(), 4.into()]),
            FuncError::arg(
                2,
                "end index must not be greater than the length of the list"
            )
        );
    }

    #[test]
    fn sort_sum_zipmap() {
        assert_eq!(
            call("sort", &[tuple(vec![s("b"), s("a"), s("10"), s("9")])]),
            strings(&["10", "9", "a", "b"])
        );
        assert_eq!(
            call("sort", &[tuple(vec![3.into(), 1.into(), 20.into()])]),
            strings(&["1", "20", "3"])
        );
        assert_eq!(
            call("sort", &[tuple(vec![s("a"), Value::unknown()])]),
            Value::list(
                Type::String,
                vec![unknown(Type::String), unknown(Type::String)]
            )
        );
        assert_eq!(
            err("sort", &[tuple(vec![s("a"), Value::NULL])]),
            FuncError::new("given list element 1 is null; a null string cannot be sorted")
        );
        assert_eq!(
            call("sum", &[tuple(vec![1.into(), n("2.5"), s("1")])]),
            n("4.5")
        );
        assert_eq!(
            err("sum", &[tuple(vec![])]),
            FuncError::arg(0, "cannot sum an empty list")
        );
        assert_eq!(
            err("sum", &[tuple(vec![Value::Bool(true)])]),
            FuncError::arg(0, "argument must be list, set, or tuple of number values")
        );
        let zipped = call(
            "zipmap",
            &[strings(&["a", "b"]), tuple(vec![1.into(), s("x")])],
        );
        assert_eq!(zipped, obj(vec![("a", 1.into()), ("b", s("x"))]));
        assert_eq!(
            call("zipmap", &[strings(&["a"]), numbers(&[1])]),
            map(Type::Number, vec![("a", 1.into())])
        );
        assert_eq!(
            err("zipmap", &[strings(&["a"]), numbers(&[1, 2])]),
            FuncError::new("number of keys (1) does not match number of values (2)")
        );
    }

    #[test]
    fn set_functions() {
        let set = |items: &[&str]| Value::set(Type::String, items.iter().map(|i| s(i)).collect());
        assert_eq!(
            call(
                "setunion",
                &[tuple(vec![s("a")]), tuple(vec![s("b"), s("a")])]
            ),
            set(&["a", "b"])
        );
        assert_eq!(
            call("setunion", &[tuple(vec![1.into()]), tuple(vec![s("a")])]),
            set(&["1", "a"])
        );
        assert_eq!(
            call(
                "setintersection",
                &[tuple(vec![s("a"), s("b")]), tuple(vec![s("b"), s("c")])]
            ),
            set(&["b"])
        );
        assert_eq!(
            call(
                "setsubtract",
                &[tuple(vec![s("a"), s("b")]), tuple(vec![s("b")])]
            ),
            set(&["a"])
        );
        assert_eq!(
            call(
                "setunion",
                &[tuple(vec![s("a")]), tuple(vec![Value::unknown()])]
            ),
            unknown(Type::set(Type::String))
        );
        assert_eq!(
            err(
                "setunion",
                &[tuple(vec![s("a")]), tuple(vec![tuple(vec![1.into()])])]
            ),
            FuncError::new("given sets must all have compatible element types")
        );
        assert_eq!(
            err("setsubtract", &[s("a"), tuple(vec![])]),
            FuncError::arg(0, "set of any single type required")
        );
        let product = call(
            "setproduct",
            &[tuple(vec![s("a"), s("b")]), tuple(vec![1.into(), 2.into()])],
        );
        assert_eq!(
            product.type_of(),
            Type::list(Type::Tuple(vec![Type::String, Type::Number]))
        );
        assert_eq!(product.length(), Some(4));
        let all_sets = call("setproduct", &[set(&["a"]), set(&["b"])]);
        assert_eq!(
            all_sets.type_of(),
            Type::set(Type::Tuple(vec![Type::String, Type::String]))
        );
        assert_eq!(
            err("setproduct", &[tuple(vec![])]),
            FuncError::new("at least two arguments are required")
        );
    }

    #[test]
    fn one_alltrue_anytrue() {
        assert_eq!(call("one", &[tuple(vec![s("a")])]), s("a"));
        assert_eq!(call("one", &[tuple(vec![])]), Value::NULL);
        assert_eq!(
            call("one", &[Value::list(Type::String, vec![])]),
            Value::Null(Type::String)
        );
        assert_eq!(
            err("one", &[tuple(vec![1.into(), 2.into()])]),
            FuncError::arg(
                0,
                "must be a list, set, or tuple value with either zero or one elements"
            )
        );
        let b = Value::Bool;
        assert_eq!(call("alltrue", &[tuple(vec![])]), b(true));
        assert_eq!(call("alltrue", &[tuple(vec![s("true"), b(true)])]), b(true));
        assert_eq!(
            call("alltrue", &[tuple(vec![b(true), Value::NULL])]),
            b(false)
        );
        assert_eq!(
            call("alltrue", &[tuple(vec![b(false), Value::unknown()])]),
            b(false)
        );
        assert_eq!(
            call("alltrue", &[tuple(vec![b(true), Value::unknown()])]),
            unknown(Type::Bool)
        );
        assert_eq!(call("anytrue", &[tuple(vec![])]), b(false));
        assert_eq!(
            call("anytrue", &[tuple(vec![Value::NULL, b(true)])]),
            b(true)
        );
        assert_eq!(
            err("alltrue", &[tuple(vec![1.into()])]),
            FuncError::arg(0, "element 0: bool required")
        );
        assert_eq!(
            err("anytrue", &[s("x")]),
            FuncError::arg(0, "list of bool required")
        );
    }
}
