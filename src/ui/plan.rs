//! Plans as a reviewer reads them, in Terraform's layout: one block per
//! resource instance with `+ ~ - -/+` symbols, attribute diffs aligned by
//! name, `(known after apply)`, `(sensitive value)`, `# forces
//! replacement`, unchanged attributes hidden and counted, multi-line
//! strings as heredocs diffed line by line, then the summary line and the
//! output changes.

use super::style::{self, paint};
use super::values::quote;
use crate::addr::{InstanceKey, ResourceAddr};
use crate::lang::value::{Path, PathStep, Value};
use crate::plan::{
    Action, BlockLayout, OutputChange, Plan, PlanMode, Reason, ResourceChange, ResourceDrift,
};
use anstyle::Style;
use std::collections::{BTreeMap, BTreeSet};

/// Attributes shown even when unchanged: they tell the reader which
/// object this is.
const IDENTIFYING: &[&str] = &["id", "name", "tags"];

fn action_style(action: Action) -> Style {
    match action {
        Action::Create => style::CREATE,
        Action::Update => style::UPDATE,
        Action::Delete => style::DELETE,
        Action::DeleteThenCreate | Action::CreateThenDelete => style::DELETE,
        Action::Read => style::READ,
        Action::Forget => Style::new(),
        Action::NoOp => Style::new(),
    }
}

/// The change of one node in a value diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Diff {
    Create,
    Delete,
    Update,
    NoOp,
}

impl Diff {
    fn of(before: Option<&Value>, after: Option<&Value>) -> Diff {
        let b = before.filter(|v| !v.is_null());
        let a = after.filter(|v| !v.is_null());
        match (b, a) {
            (None, None) => Diff::NoOp,
            (None, Some(_)) => Diff::Create,
            (Some(_), None) => Diff::Delete,
            (Some(b), Some(a)) => {
                if a.same_as(b) && a.is_sensitive() == b.is_sensitive() {
                    Diff::NoOp
                } else {
                    Diff::Update
                }
            }
        }
    }

    fn painted(self) -> String {
        match self {
            Diff::Create => paint(style::CREATE, "+"),
            Diff::Delete => paint(style::DELETE, "-"),
            Diff::Update => paint(style::UPDATE, "~"),
            Diff::NoOp => " ".into(),
        }
    }
}

fn spaces(n: usize) -> String {
    " ".repeat(n)
}

const UNKNOWN: &str = "(known after apply)";
const SENSITIVE: &str = "(sensitive value)";

/// Renders a whole value whose every part has the same change (`sym`).
fn value(v: &Value, sym: Diff, indent: usize) -> String {
    match v {
        Value::Unknown(_) => paint(style::DIM, UNKNOWN),
        Value::Sensitive(_) => paint(style::DIM, SENSITIVE),
        Value::Null(_) => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.contains('\n') => heredoc(
            s.lines().map(|l| (Diff::NoOp, l.to_string())).collect(),
            indent,
        ),
        Value::String(s) => quote(s),
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            if items.is_empty() {
                return "[]".into();
            }
            let mut out = String::from("[\n");
            for item in items.iter() {
                out.push_str(&format!(
                    "{}{} {},\n",
                    spaces(indent + 4),
                    sym.painted(),
                    value(item, sym, indent + 4)
                ));
            }
            out.push_str(&format!("{}]", spaces(indent + 2)));
            out
        }
        Value::Map(_, items) | Value::Object(items) => {
            if items.is_empty() {
                return "{}".into();
            }
            let is_map = matches!(v, Value::Map(..));
            let width = items
                .keys()
                .map(|k| key(k, is_map).chars().count())
                .max()
                .unwrap_or(0);
            let mut out = String::from("{\n");
            for (k, item) in items.iter() {
                out.push_str(&format!(
                    "{}{} {:<width$} = {}\n",
                    spaces(indent + 4),
                    sym.painted(),
                    key(k, is_map),
                    value(item, sym, indent + 4)
                ));
            }
            out.push_str(&format!("{}}}", spaces(indent + 2)));
            out
        }
    }
}

/// Map keys are quoted; object attribute names only when they must be.
fn key(k: &str, is_map: bool) -> String {
    let plain = k
        .chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if is_map || !plain {
        quote(k)
    } else {
        k.to_string()
    }
}

fn heredoc(lines: Vec<(Diff, String)>, indent: usize) -> String {
    let mut out = String::from("<<-EOT\n");
    for (d, line) in lines {
        let text = if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        };
        let sym = if d == Diff::NoOp {
            " ".to_string()
        } else {
            d.painted()
        };
        out.push_str(format!("{}{}{}", spaces(indent + 4), sym, text).trim_end());
        out.push('\n');
    }
    out.push_str(&format!("{}EOT", spaces(indent + 2)));
    out
}

/// The right-hand side of an attribute whose change is `d`.
fn diff(
    before: Option<&Value>,
    after: Option<&Value>,
    d: Diff,
    indent: usize,
    forces: &BTreeSet<Path>,
    path: &mut Path,
) -> String {
    let null = Value::NULL;
    let b = before.unwrap_or(&null);
    let a = after.unwrap_or(&null);
    match d {
        Diff::NoOp => value(a, Diff::NoOp, indent),
        Diff::Create => value(a, Diff::Create, indent),
        Diff::Delete => format!("{} -> null", value(b, Diff::Delete, indent)),
        Diff::Update => update(b, a, indent, forces, path),
    }
}

fn update(b: &Value, a: &Value, indent: usize, forces: &BTreeSet<Path>, path: &mut Path) -> String {
    if b.is_sensitive() || a.is_sensitive() {
        return paint(style::DIM, SENSITIVE);
    }
    if !a.is_known() {
        return format!(
            "{} -> {}",
            value(b, Diff::Delete, indent),
            paint(style::DIM, UNKNOWN)
        );
    }
    match (b, a) {
        (Value::String(x), Value::String(y)) if x.contains('\n') || y.contains('\n') => {
            let text_diff = similar::TextDiff::from_lines(x.as_ref(), y.as_ref());
            let lines = text_diff
                .iter_all_changes()
                .map(|c| {
                    let d = match c.tag() {
                        similar::ChangeTag::Equal => Diff::NoOp,
                        similar::ChangeTag::Delete => Diff::Delete,
                        similar::ChangeTag::Insert => Diff::Create,
                    };
                    (d, c.value().trim_end_matches('\n').to_string())
                })
                .collect();
            heredoc(lines, indent)
        }
        (Value::Object(x), Value::Object(y)) => entries_block(x, y, false, indent, forces, path),
        (Value::Map(_, x), Value::Map(_, y)) => entries_block(x, y, true, indent, forces, path),
        (Value::Tuple(x), Value::Tuple(y)) => {
            let n = x.len().max(y.len());
            let ops: Vec<(Option<&Value>, Option<&Value>)> =
                (0..n).map(|i| (x.get(i), y.get(i))).collect();
            sequence_block(&ops, indent, forces, path)
        }
        (Value::List(_, x), Value::List(_, y)) => {
            sequence_block(&lcs_ops(x, y), indent, forces, path)
        }
        (Value::Set(_, x), Value::Set(_, y)) => {
            let mut ops: Vec<(Option<&Value>, Option<&Value>)> = Vec::new();
            for item in x.iter() {
                if y.iter().any(|o| o.same_as(item)) {
                    ops.push((Some(item), Some(item)));
                } else {
                    ops.push((Some(item), None));
                }
            }
            for item in y.iter().filter(|i| !x.iter().any(|o| o.same_as(i))) {
                ops.push((None, Some(item)));
            }
            sequence_block(&ops, indent, forces, path)
        }
        _ => format!(
            "{} -> {}",
            value(b, Diff::NoOp, indent),
            value(a, Diff::NoOp, indent)
        ),
    }
}

/// Edit operations turning `x` into `y`, by longest common subsequence.
fn lcs_ops<'v>(x: &'v [Value], y: &'v [Value]) -> Vec<(Option<&'v Value>, Option<&'v Value>)> {
    let (n, m) = (x.len(), y.len());
    let mut table = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if x[i].same_as(&y[j]) {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut ops = Vec::new();
    while i < n || j < m {
        if i < n && j < m && x[i].same_as(&y[j]) {
            ops.push((Some(&x[i]), Some(&y[j])));
            i += 1;
            j += 1;
        } else if j < m && (i == n || table[i][j + 1] >= table[i + 1][j]) {
            ops.push((None, Some(&y[j])));
            j += 1;
        } else {
            ops.push((Some(&x[i]), None));
            i += 1;
        }
    }
    // Deletions before insertions at the same place read better.
    let mut out = Vec::with_capacity(ops.len());
    let mut k = 0;
    while k < ops.len() {
        let mut end = k;
        while end < ops.len() && !(ops[end].0.is_some() && ops[end].1.is_some()) {
            end += 1;
        }
        let run = &ops[k..end];
        out.extend(run.iter().filter(|o| o.1.is_none()).copied());
        out.extend(run.iter().filter(|o| o.0.is_none()).copied());
        if end < ops.len() {
            out.push(ops[end]);
        }
        k = end + 1;
    }
    out
}

fn sequence_block(
    ops: &[(Option<&Value>, Option<&Value>)],
    indent: usize,
    forces: &BTreeSet<Path>,
    path: &mut Path,
) -> String {
    let diffs: Vec<Diff> = ops.iter().map(|(b, a)| Diff::of(*b, *a)).collect();
    // Unchanged elements next to a change give context; the rest are
    // counted.
    let shown: Vec<bool> = (0..ops.len())
        .map(|i| {
            diffs[i] != Diff::NoOp
                || i > 0 && diffs[i - 1] != Diff::NoOp
                || i + 1 < diffs.len() && diffs[i + 1] != Diff::NoOp
        })
        .collect();
    let mut out = String::from("[\n");
    let mut hidden = 0;
    let flush = |out: &mut String, hidden: &mut usize| {
        if *hidden > 0 {
            let noun = if *hidden == 1 { "element" } else { "elements" };
            out.push_str(&format!(
                "{}{}\n",
                spaces(indent + 6),
                paint(style::DIM, &format!("# ({hidden} unchanged {noun} hidden)"))
            ));
            *hidden = 0;
        }
    };
    for (i, ((b, a), d)) in ops.iter().zip(&diffs).enumerate() {
        if !shown[i] {
            hidden += 1;
            continue;
        }
        flush(&mut out, &mut hidden);
        path.push(PathStep::Index(i));
        let rhs = match d {
            Diff::Delete => value(b.unwrap_or(&Value::NULL), Diff::Delete, indent + 4),
            _ => diff(*b, *a, *d, indent + 4, forces, path),
        };
        path.pop();
        out.push_str(&format!("{}{} {},\n", spaces(indent + 4), d.painted(), rhs));
    }
    flush(&mut out, &mut hidden);
    out.push_str(&format!("{}]", spaces(indent + 2)));
    out
}

fn entries_block(
    x: &BTreeMap<String, Value>,
    y: &BTreeMap<String, Value>,
    is_map: bool,
    indent: usize,
    forces: &BTreeSet<Path>,
    path: &mut Path,
) -> String {
    let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
    let rows: Vec<(&String, Option<&Value>, Option<&Value>)> =
        keys.into_iter().map(|k| (k, x.get(k), y.get(k))).collect();
    let mut out = String::from("{\n");
    out.push_str(&attribute_rows(
        &rows,
        is_map,
        false,
        indent + 4,
        forces,
        path,
    ));
    out.push_str(&format!("{}}}", spaces(indent + 2)));
    out
}

/// Rows of `name = value` for an object being updated (or a resource's
/// attributes): unchanged ones hidden unless identifying, nulls on both
/// sides skipped at the top level.
fn attribute_rows(
    rows: &[(&String, Option<&Value>, Option<&Value>)],
    is_map: bool,
    top_level: bool,
    indent: usize,
    forces: &BTreeSet<Path>,
    path: &mut Path,
) -> String {
    let rows: Vec<&(&String, Option<&Value>, Option<&Value>)> = rows
        .iter()
        .filter(|(_, b, a)| {
            !top_level || b.is_some_and(|v| !v.is_null()) || a.is_some_and(|v| !v.is_null())
        })
        .collect();
    let width = rows
        .iter()
        .map(|(k, _, _)| key(k, is_map).chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let mut hidden = 0;
    for (k, b, a) in rows {
        // Inside an object, a null on both sides is a real (unchanged) entry.
        let d = match (b, a) {
            (Some(b), Some(a)) if !top_level && b.is_null() && a.is_null() => Diff::NoOp,
            (Some(b), None) if !top_level && b.is_null() => Diff::Delete,
            (None, Some(a)) if !top_level && a.is_null() => Diff::Create,
            _ => Diff::of(*b, *a),
        };
        if d == Diff::NoOp && !IDENTIFYING.contains(&k.as_str()) {
            hidden += 1;
            continue;
        }
        path.push(PathStep::Attr((*k).clone()));
        let mut rhs = diff(*b, *a, d, indent, forces, path);
        if forces.contains(path) {
            let note = paint(style::DELETE, " # forces replacement");
            match rhs.find('\n') {
                Some(i) => rhs.insert_str(i, &note),
                None => rhs.push_str(&note),
            }
        }
        path.pop();
        out.push_str(&format!(
            "{}{} {:<width$} = {}\n",
            spaces(indent),
            d.painted(),
            key(k, is_map),
            rhs
        ));
    }
    if hidden > 0 {
        let noun = if hidden == 1 {
            "attribute"
        } else {
            "attributes"
        };
        out.push_str(&format!(
            "{}{}\n",
            spaces(indent + 2),
            paint(style::DIM, &format!("# ({hidden} unchanged {noun} hidden)"))
        ));
    }
    out
}

/// The attributes of a resource block whose change is `d`, then its
/// nested blocks.
fn resource_body(
    before: Option<&Value>,
    after: Option<&Value>,
    d: Diff,
    forces: &BTreeSet<Path>,
    layout: &BlockLayout,
) -> String {
    object_body(before, after, d, 6, forces, &mut Vec::new(), layout)
}

/// An object's attributes at `indent`, then its nested blocks as
/// Terraform writes them.
fn object_body(
    before: Option<&Value>,
    after: Option<&Value>,
    d: Diff,
    indent: usize,
    forces: &BTreeSet<Path>,
    path: &mut Path,
    layout: &BlockLayout,
) -> String {
    let empty = BTreeMap::new();
    let b = before.and_then(|v| v.as_entries()).unwrap_or(&empty);
    let a = after.and_then(|v| v.as_entries()).unwrap_or(&empty);
    // A block whose value is unknown as a whole is shown as an attribute.
    let is_block = |k: &String| layout.0.contains_key(k) && a.get(k).is_none_or(|v| v.is_known());
    let mut out = match d {
        Diff::Create | Diff::Delete => {
            let (entries, sym) = if d == Diff::Create {
                (a, Diff::Create)
            } else {
                (b, Diff::Delete)
            };
            let rows: Vec<(&String, &Value)> = entries
                .iter()
                .filter(|(k, v)| !v.is_null() && !is_block(k))
                .collect();
            let width = rows
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            rows.iter()
                .map(|(k, v)| {
                    let suffix = if d == Diff::Delete { " -> null" } else { "" };
                    format!(
                        "{}{} {:<width$} = {}{suffix}\n",
                        spaces(indent),
                        sym.painted(),
                        key(k, false),
                        value(v, sym, indent)
                    )
                })
                .collect()
        }
        _ => {
            let keys: BTreeSet<&String> =
                b.keys().chain(a.keys()).filter(|k| !is_block(k)).collect();
            let rows: Vec<(&String, Option<&Value>, Option<&Value>)> =
                keys.into_iter().map(|k| (k, b.get(k), a.get(k))).collect();
            attribute_rows(&rows, false, true, indent, forces, path)
        }
    };
    let blocks: Vec<(&String, &BlockLayout)> =
        layout.0.iter().filter(|(k, _)| is_block(k)).collect();
    out.push_str(&block_rows(b, a, d, &blocks, indent, forces, path));
    out
}

/// The elements of a nested block's value: one for a single block, each
/// for a list or set of them, none for null.
fn block_elements(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items)) => {
            items.iter().collect()
        }
        Some(v) if !v.is_null() => vec![v],
        _ => Vec::new(),
    }
}

/// Nested blocks as written (`+ network {`), paired by position;
/// unchanged ones are counted rather than shown.
fn block_rows(
    b: &BTreeMap<String, Value>,
    a: &BTreeMap<String, Value>,
    d: Diff,
    blocks: &[(&String, &BlockLayout)],
    indent: usize,
    forces: &BTreeSet<Path>,
    path: &mut Path,
) -> String {
    let mut out = String::new();
    let mut hidden = 0;
    for (name, inner) in blocks {
        let before = block_elements(b.get(*name));
        let after = block_elements(a.get(*name));
        path.push(PathStep::Attr((*name).clone()));
        let forced = forces.contains(path);
        for i in 0..before.len().max(after.len()) {
            let (eb, ea) = (before.get(i).copied(), after.get(i).copied());
            let ed = match d {
                Diff::Create | Diff::Delete => d,
                _ => match (eb, ea) {
                    (None, Some(_)) => Diff::Create,
                    (Some(_), None) => Diff::Delete,
                    (Some(x), Some(y)) if y.same_as(x) && x.is_sensitive() == y.is_sensitive() => {
                        Diff::NoOp
                    }
                    _ => Diff::Update,
                },
            };
            if ed == Diff::NoOp {
                hidden += 1;
                continue;
            }
            let note = if forced {
                paint(style::DELETE, " # forces replacement")
            } else {
                String::new()
            };
            out.push_str(&format!(
                "\n{}{} {name} {{{note}\n",
                spaces(indent),
                ed.painted()
            ));
            path.push(PathStep::Index(i));
            out.push_str(&object_body(eb, ea, ed, indent + 4, forces, path, inner));
            path.pop();
            out.push_str(&format!("{}}}\n", spaces(indent + 2)));
        }
        path.pop();
    }
    if hidden > 0 {
        let noun = if hidden == 1 { "block" } else { "blocks" };
        out.push_str(&format!(
            "\n{}{}\n",
            spaces(indent + 2),
            paint(style::DIM, &format!("# ({hidden} unchanged {noun} hidden)"))
        ));
    }
    out
}

fn header(c: &ResourceChange) -> Vec<String> {
    let addr = &c.addr;
    let mut lines = vec![match (c.action, &c.reason) {
        (Action::Create, _) => format!("# {addr} will be created"),
        (Action::Update, _) => match &c.disruption {
            Some(why) => format!("# {addr} will be updated in-place, disruptively: {why}"),
            None => format!("# {addr} will be updated in-place"),
        },
        (Action::Delete, _) => format!("# {addr} will be destroyed"),
        (Action::DeleteThenCreate | Action::CreateThenDelete, Some(Reason::Tainted)) => {
            format!("# {addr} is tainted, so must be replaced")
        }
        (Action::DeleteThenCreate | Action::CreateThenDelete, Some(Reason::ReplaceByRequest)) => {
            format!("# {addr} will be replaced, as requested")
        }
        (Action::DeleteThenCreate | Action::CreateThenDelete, Some(Reason::ReplaceByTriggers)) => {
            format!("# {addr} will be replaced due to changes in replace_triggered_by")
        }
        (Action::DeleteThenCreate | Action::CreateThenDelete, _) => {
            format!("# {addr} must be replaced")
        }
        (Action::Read, _) => format!("# {addr} will be read during apply"),
        (Action::Forget, _) => {
            format!("# {addr} will no longer be managed by stackform, but will not be destroyed")
        }
        (Action::NoOp, _) => match (&c.previous_address, &c.importing) {
            (Some(from), _) => format!("# {from} has moved to {addr}"),
            (None, Some(_)) => format!("# {addr} will be imported"),
            (None, None) => format!("# {addr} is unchanged"),
        },
    }];
    if let Some(id) = c.importing.as_ref().filter(|_| c.action != Action::NoOp) {
        lines.push(format!("# (imported from {})", quote(id)));
    }
    if let Some(from) = c
        .previous_address
        .as_ref()
        .filter(|_| c.action != Action::NoOp)
    {
        lines.push(format!("# (moved from {from})"));
    }
    lines.extend(reason_phrase(c).map(|because| format!("# ({because})")));
    lines
}

/// Why a delete or a read was chosen, in Terraform's words, as the
/// terminal plan puts it in parentheses under the header; `None` when the
/// action needs no explanation (tainted replacements say so in the
/// header).
pub fn reason_phrase(c: &ResourceChange) -> Option<String> {
    match (&c.reason, &c.addr.key) {
        (Some(Reason::RemovedConfig), _) if c.action == Action::Forget => {
            Some("destroy = false is set in the configuration".to_string())
        }
        (Some(Reason::RemovedConfig), _) => {
            Some(format!("because {} is in a removed block", c.addr.resource))
        }
        (Some(Reason::NoResourceConfig), _) => {
            // The block in its module instance: `module.net[0].T.N`.
            let block = ResourceAddr {
                key: InstanceKey::None,
                ..c.addr.clone()
            };
            Some(format!("because {block} is not in configuration"))
        }
        (Some(Reason::NoModule), _) => Some(format!(
            "because {} is not in configuration",
            c.addr.module_instance()
        )),
        (Some(Reason::CountIndex), k) => {
            Some(format!("because index {k} is out of range for count"))
        }
        (Some(Reason::EachKey), k) => Some(format!("because key {k} is not in for_each map")),
        (Some(Reason::WrongRepetition), _) => {
            Some("because the resource's count or for_each changed".to_string())
        }
        (Some(Reason::ConfigUnknown), _) => {
            Some("config refers to values not yet known".to_string())
        }
        (Some(Reason::DependencyPending), _) => {
            Some("depends on a resource or a module with changes pending".to_string())
        }
        _ => None,
    }
}

/// One resource instance's block of the plan: header, then the
/// attribute diff.
pub fn render_change(c: &ResourceChange, layout: &BlockLayout) -> String {
    let mut out = String::new();
    for line in header(c) {
        out.push_str(&format!("  {}\n", paint(style::HEADING, &line)));
    }
    let keyword = if c.addr.resource.mode == crate::lang::refs::ResourceMode::Data {
        "data"
    } else {
        "resource"
    };
    let symbol = paint(action_style(c.action), &format!("{:>3}", c.action.symbol()));
    out.push_str(&format!(
        "{symbol} {keyword} {} {} {{\n",
        quote(&c.addr.resource.type_name),
        quote(&c.addr.resource.name)
    ));
    let forces: BTreeSet<Path> = c.replace_paths.iter().cloned().collect();
    let d = match c.action {
        Action::Create | Action::Read => Diff::Create,
        Action::Delete => Diff::Delete,
        _ => Diff::Update,
    };
    // A forgotten object stays as it is: shown unchanged.
    let after = if c.action == Action::Forget {
        c.before.as_ref()
    } else {
        c.after.as_ref()
    };
    out.push_str(&resource_body(c.before.as_ref(), after, d, &forces, layout));
    out.push_str("    }\n");
    out
}

/// One drifted object's block: what changed outside stackform.
pub fn render_drift(d: &ResourceDrift, layout: &BlockLayout) -> String {
    let addr = &d.addr;
    let (line, action, diff_kind) = match &d.after {
        Some(_) => (
            format!("# {addr} has changed"),
            Action::Update,
            Diff::Update,
        ),
        None => (
            format!("# {addr} has been deleted"),
            Action::Delete,
            Diff::Delete,
        ),
    };
    let mut out = format!("  {}\n", paint(style::HEADING, &line));
    let symbol = paint(action_style(action), &format!("{:>3}", action.symbol()));
    out.push_str(&format!(
        "{symbol} resource {} {} {{\n",
        quote(&addr.resource.type_name),
        quote(&addr.resource.name)
    ));
    out.push_str(&resource_body(
        Some(&d.before),
        d.after.as_ref(),
        diff_kind,
        &BTreeSet::new(),
        layout,
    ));
    out.push_str("    }\n");
    out
}

fn legend(plan: &Plan) -> String {
    let present: BTreeSet<Action> = plan
        .changes
        .iter()
        .map(|c| c.action)
        .filter(|a| *a != Action::NoOp)
        .collect();
    // A plan that only moves objects has no symbols to explain.
    if present.is_empty() {
        return String::new();
    }
    let mut out = String::from("Resource actions are indicated with the following symbols:\n");
    for (action, text) in [
        (Action::Create, "create"),
        (Action::Update, "update in-place"),
        (Action::Delete, "destroy"),
        (
            Action::DeleteThenCreate,
            "destroy and then create replacement",
        ),
        (
            Action::CreateThenDelete,
            "create replacement and then destroy",
        ),
        (Action::Read, "read (data resources)"),
    ] {
        if present.contains(&action) {
            out.push_str(&format!(
                "{} {text}\n",
                paint(action_style(action), &format!("{:>3}", action.symbol()))
            ));
        }
    }
    out
}

/// The "Changes to Outputs" lines.
pub fn render_outputs(outputs: &[&OutputChange]) -> String {
    let width = outputs
        .iter()
        .map(|o| o.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for o in outputs {
        let hide = |v: &Option<Value>| {
            v.as_ref().map(|v| {
                if o.sensitive {
                    v.clone().mark_sensitive()
                } else {
                    v.clone()
                }
            })
        };
        let (before, after) = (hide(&o.before), hide(&o.after));
        let d = match o.action {
            Action::Create => Diff::Create,
            Action::Delete => Diff::Delete,
            _ => Diff::Update,
        };
        let rhs = diff(
            before.as_ref(),
            after.as_ref(),
            d,
            2,
            &BTreeSet::new(),
            &mut Vec::new(),
        );
        out.push_str(&format!("  {} {:<width$} = {}\n", d.painted(), o.name, rhs));
    }
    out
}

/// A resource's attributes as `show` prints them from the state.
pub fn render_resource_state(c_addr: &crate::addr::ResourceAddr, v: &Value) -> String {
    let keyword = if c_addr.resource.mode == crate::lang::refs::ResourceMode::Data {
        "data"
    } else {
        "resource"
    };
    let mut out = format!(
        "# {c_addr}:\n{keyword} {} {} {{\n",
        quote(&c_addr.resource.type_name),
        quote(&c_addr.resource.name)
    );
    let entries: Vec<(&String, &Value)> = v
        .as_entries()
        .map(|e| e.iter().filter(|(_, v)| !v.is_null()).collect())
        .unwrap_or_default();
    let width = entries
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, item) in entries {
        out.push_str(&format!(
            "    {:<width$} = {}\n",
            key(k, false),
            value(item, Diff::NoOp, 2)
        ));
    }
    out.push_str("}\n");
    out
}

/// The rule that separates the plan from what follows.
pub fn rule() -> String {
    paint(style::DIM, &"─".repeat(77))
}

/// A plan as the terminal shows it.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    if !plan.drift.is_empty() {
        out.push_str(&format!(
            "\n{}\n\n",
            paint(
                style::HEADING,
                "Note: Objects have changed outside of stackform"
            )
        ));
        out.push_str("stackform detected the following changes made outside of stackform since the\nlast \"stackform apply\" which may have affected this plan:\n\n");
        for d in &plan.drift {
            out.push_str(&render_drift(d, &layout_of(plan, &d.addr)));
            out.push('\n');
        }
        if plan.mode == PlanMode::RefreshOnly {
            out.push_str("This is a refresh-only plan, so stackform will not take any actions to undo\nthese. If you were expecting these changes then you can apply this plan to\nrecord the updated values in the stackform state without changing any remote\nobjects.\n");
            return out;
        }
        out.push_str("Unless you have made equivalent changes to your configuration, or ignored the\nrelevant attributes using ignore_changes, the following plan may include\nactions to undo or respond to these changes.\n\n");
        out.push_str(&rule());
        out.push('\n');
    }
    out.push_str(&render_strays(plan));
    if plan.mode == PlanMode::RefreshOnly {
        out.push_str(&format!(
            "\n{} Your infrastructure still matches the configuration.\n\nstackform has checked that the real remote objects still match the result of\nyour most recent changes, and found no differences.\n",
            paint(style::SUCCESS, "No changes.")
        ));
        return out;
    }
    let outputs: Vec<&OutputChange> = plan
        .outputs
        .iter()
        .filter(|o| o.action != Action::NoOp)
        .collect();
    if !plan.has_resource_changes() && outputs.is_empty() {
        out.push('\n');
        if plan.mode == PlanMode::Destroy {
            out.push_str(&format!(
                "{} No objects need to be destroyed.\n\nEither you have not created any objects yet or the existing objects were\nalready deleted outside of stackform.\n",
                paint(style::SUCCESS, "No changes.")
            ));
        } else {
            out.push_str(&format!(
                "{} Your infrastructure matches the configuration.\n\nstackform has compared your real infrastructure against your configuration\nand found no differences, so no changes are needed.\n",
                paint(style::SUCCESS, "No changes.")
            ));
        }
        return out;
    }
    if plan.has_resource_changes() {
        let legend = legend(plan);
        if !legend.is_empty() {
            out.push('\n');
            out.push_str(&legend);
        }
        out.push_str("\nstackform will perform the following actions:\n\n");
        let shown = plan.changes.iter().filter(|c| {
            c.action != Action::NoOp || c.previous_address.is_some() || c.importing.is_some()
        });
        for c in shown {
            out.push_str(&render_change(c, &layout_of(plan, &c.addr)));
            out.push('\n');
        }
        out.push_str(&format!(
            "{} {}\n",
            paint(style::HEADING, "Plan:"),
            counts_text(plan)
        ));
        if let Some(warning) = disruption_warning(plan) {
            out.push_str(&format!("{}\n", paint(style::DELETE, &warning)));
        }
        out.push_str(&forget_warning(plan));
    }
    if !outputs.is_empty() {
        out.push_str("\nChanges to Outputs:\n");
        out.push_str(&render_outputs(&outputs));
        if !plan.has_resource_changes() {
            out.push_str("\nYou can apply this plan to save these new output values to the stackform\nstate, without changing any real infrastructure.\n");
        }
    }
    out
}

/// Terraform's warning under the summary when `removed` blocks forget
/// objects: they leave the state but stay in the cloud.
/// The objects stackform created for this state that the state does not
/// record: which the plan adopts, and for the others why not and what
/// the user can do.
pub fn render_strays(plan: &Plan) -> String {
    if plan.strays.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\n{}\n\n",
        paint(
            style::HEADING,
            "Note: Objects stackform created are missing from the state"
        )
    );
    out.push_str("stackform found objects in the cloud that carry this state's marker but that the\nstate does not record (a run stopped before it could record them):\n\n");
    for stray in &plan.strays {
        let name = stray
            .name
            .as_ref()
            .map(|n| format!(" ({})", quote(n)))
            .unwrap_or_default();
        let what = format!("{} {}{name}", stray.type_name, stray.id);
        match (&stray.addr, stray.adopted) {
            (Some(addr), true) => out.push_str(&format!(
                "  {} {what} is adopted as {addr}\n",
                paint(action_style(Action::Create), "+")
            )),
            _ => {
                let reason = stray.reason.as_deref().unwrap_or("its address is unknown");
                let address = stray
                    .addr
                    .as_ref()
                    .map_or_else(|| "ADDRESS".to_string(), ToString::to_string);
                out.push_str(&format!(
                    "  {} {what} is not adopted: {reason}.\n",
                    paint(style::WARNING, "!")
                ));
                if let Some(command) = &stray.delete_command {
                    out.push_str(&format!("      Delete it:  {command}\n"));
                }
                out.push_str(&format!(
                    "      Or manage it again: declare {address} and run\n                  stackform import {} {}\n",
                    shell_word(&address),
                    stray.id
                ));
            }
        }
    }
    out
}

/// `text` as one word of a POSIX shell command line.
fn shell_word(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

fn forget_warning(plan: &Plan) -> String {
    let forgotten: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Forget)
        .map(|c| format!(" - {}\n", c.addr))
        .collect();
    if forgotten.is_empty() {
        return String::new();
    }
    format!(
        "\n{}\n\nIf you apply this plan, stackform will discard its tracking information for\nthe following objects, but it will not delete them:\n{}\nAfter applying this plan, stackform will no longer manage these objects. You\nwill need to import them into stackform to manage them again.\n",
        paint(
            style::WARNING,
            "Warning: Some objects will no longer be managed by stackform"
        ),
        forgotten.concat()
    )
}

/// The nested-block layout of an address's resource type.
pub fn layout_of(plan: &Plan, addr: &crate::addr::ResourceAddr) -> BlockLayout {
    plan.layouts
        .get(&addr.resource.type_name)
        .cloned()
        .unwrap_or_default()
}

/// The line under the summary that counts the in-place updates that
/// disrupt their objects, when there are any: they are not destroyed, so
/// the summary's counts alone would hide them.
pub fn disruption_warning(plan: &Plan) -> Option<String> {
    match plan.disruptive_updates().count() {
        0 => None,
        1 => Some("Warning: 1 in-place update disrupts its object.".into()),
        n => Some(format!(
            "Warning: {n} in-place updates disrupt their objects."
        )),
    }
}

/// The plan's summary line alone ("Plan: 1 to add, ..." or "No changes.").
pub fn summary_line(plan: &Plan) -> String {
    if !plan.has_changes() {
        return "No changes.".into();
    }
    format!("Plan: {}", counts_text(plan))
}

/// "1 to add, 0 to change, 2 to destroy.", with "1 to import, " first
/// when `import` blocks import objects. Forgotten objects are not counted
/// here: [`forget_warning`] lists them.
fn counts_text(plan: &Plan) -> String {
    let c = plan.counts();
    let import = if c.import > 0 {
        format!("{} to import, ", c.import)
    } else {
        String::new()
    };
    format!(
        "{import}{} to add, {} to change, {} to destroy.",
        c.add, c.change, c.destroy
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::value::Type;
    use crate::ui::strip_styles;

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    fn td(id: Value, input: Value, output: Value, triggers: Value) -> Value {
        obj(&[
            ("id", id),
            ("input", input),
            ("output", output),
            ("triggers_replace", triggers),
        ])
    }

    fn change(
        addr: &str,
        action: Action,
        before: Option<Value>,
        after: Option<Value>,
    ) -> ResourceChange {
        ResourceChange {
            before,
            after,
            ..ResourceChange::new(addr.parse().unwrap(), "builtin", action)
        }
    }

    fn plan(changes: Vec<ResourceChange>, outputs: Vec<OutputChange>) -> Plan {
        Plan {
            outputs,
            ..Plan::with_changes(PlanMode::Normal, changes)
        }
    }

    #[test]
    fn nested_blocks_are_shown_as_blocks() {
        let net = |name: &str, ip: Value| obj(&[("name", name.into()), ("fixed_ip_v4", ip)]);
        let server = |name: &str, networks: Vec<Value>| {
            obj(&[
                ("id", "s-1".into()),
                ("name", name.into()),
                ("network", Value::list(networks[0].type_of(), networks)),
            ])
        };
        let before = server(
            "web",
            vec![net("a", "10.0.0.5".into()), net("b", "10.1.0.5".into())],
        );
        let after = server(
            "web-2",
            vec![
                net("a", "10.0.0.5".into()),
                net("b", "10.1.0.9".into()),
                net("c", Value::Unknown(Type::String)),
            ],
        );
        let mut p = plan(
            vec![change(
                "openstack_compute_instance_v2.web",
                Action::Update,
                Some(before),
                Some(after),
            )],
            vec![],
        );
        p.layouts.insert(
            "openstack_compute_instance_v2".into(),
            BlockLayout(BTreeMap::from([(
                "network".to_string(),
                BlockLayout::default(),
            )])),
        );
        insta::assert_snapshot!(strip_styles(&render(&p)), @r#"

        Resource actions are indicated with the following symbols:
          ~ update in-place

        stackform will perform the following actions:

          # openstack_compute_instance_v2.web will be updated in-place
          ~ resource "openstack_compute_instance_v2" "web" {
                id   = "s-1"
              ~ name = "web" -> "web-2"

              ~ network {
                  ~ fixed_ip_v4 = "10.1.0.5" -> "10.1.0.9"
                    name        = "b"
                }

              + network {
                  + fixed_ip_v4 = (known after apply)
                  + name        = "c"
                }

                # (1 unchanged block hidden)
            }

        Plan: 0 to add, 1 to change, 0 to destroy.
        "#);
    }

    #[test]
    fn moved_objects_say_where_they_came_from() {
        let was = td("i-1".into(), "a".into(), "a".into(), Value::NULL);
        let mut moved = change(
            "terraform_data.new",
            Action::NoOp,
            Some(was.clone()),
            Some(was.clone()),
        );
        moved.previous_address = Some("terraform_data.old".parse().unwrap());
        let now = td(
            "i-2".into(),
            "b".into(),
            Value::Unknown(Type::String),
            Value::NULL,
        );
        let mut moved_and_changed = change(
            "terraform_data.web[\"a\"]",
            Action::Update,
            Some(td("i-2".into(), "a".into(), "a".into(), Value::NULL)),
            Some(now),
        );
        moved_and_changed.previous_address = Some("terraform_data.web[0]".parse().unwrap());
        let p = plan(vec![moved, moved_and_changed], vec![]);
        insta::assert_snapshot!(strip_styles(&render(&p)), @r#"

        Resource actions are indicated with the following symbols:
          ~ update in-place

        stackform will perform the following actions:

          # terraform_data.old has moved to terraform_data.new
            resource "terraform_data" "new" {
                id     = "i-1"
                # (2 unchanged attributes hidden)
            }

          # terraform_data.web["a"] will be updated in-place
          # (moved from terraform_data.web[0])
          ~ resource "terraform_data" "web" {
                id     = "i-2"
              ~ input  = "a" -> "b"
              ~ output = "a" -> (known after apply)
            }

        Plan: 0 to add, 1 to change, 0 to destroy.
        "#);
    }

    #[test]
    fn a_create_shows_every_attribute() {
        let input = obj(&[
            ("list", Value::tuple(vec![1.into(), 2.into()])),
            ("name", "x".into()),
            ("tags", obj(&[("env", "dev".into())])),
        ]);
        let after = td(
            Value::Unknown(Type::String),
            input.clone(),
            Value::Unknown(input.type_of()),
            Value::NULL,
        );
        let p = plan(
            vec![change(
                "terraform_data.one",
                Action::Create,
                None,
                Some(after),
            )],
            vec![],
        );
        insta::assert_snapshot!(strip_styles(&render(&p)), @r#"

        Resource actions are indicated with the following symbols:
          + create

        stackform will perform the following actions:

          # terraform_data.one will be created
          + resource "terraform_data" "one" {
              + id     = (known after apply)
              + input  = {
                  + list = [
                      + 1,
                      + 2,
                    ]
                  + name = "x"
                  + tags = {
                      + env = "dev"
                    }
                }
              + output = (known after apply)
            }

        Plan: 1 to add, 0 to change, 0 to destroy.
        "#);
    }

    #[test]
    fn a_read_during_apply_says_why_and_shows_what_is_known() {
        let after = obj(&[
            ("id", Value::Unknown(Type::String)),
            ("name", "private".into()),
            ("network_id", Value::Unknown(Type::String)),
        ]);
        let mut read = change(
            "data.openstack_networking_network_v2.net",
            Action::Read,
            None,
            Some(after),
        );
        read.reason = Some(Reason::ConfigUnknown);
        // What the read waits for.
        let net = change(
            "terraform_data.net",
            Action::Create,
            None,
            Some(obj(&[("id", Value::Unknown(Type::String))])),
        );
        let p = plan(vec![read, net], vec![]);
        insta::assert_snapshot!(strip_styles(&render(&p)), @r#"

        Resource actions are indicated with the following symbols:
          + create
         <= read (data resources)

        stackform will perform the following actions:

          # data.openstack_networking_network_v2.net will be read during apply
          # (config refers to values not yet known)
         <= data "openstack_networking_network_v2" "net" {
              + id         = (known after apply)
              + name       = "private"
              + network_id = (known after apply)
            }

          # terraform_data.net will be created
          + resource "terraform_data" "net" {
              + id = (known after apply)
            }

        Plan: 1 to add, 0 to change, 0 to destroy.
        "#);
    }

    #[test]
    fn an_update_hides_what_did_not_change() {
        let before_input = obj(&[
            (
                "list",
                Value::tuple(vec!["a".into(), "b".into(), "c".into()]),
            ),
            ("name", "x".into()),
            ("s", "l1\nl2\nl3\n".into()),
            ("e", Value::tuple(vec![])),
        ]);
        let after_input = obj(&[
            (
                "list",
                Value::tuple(vec!["a".into(), "c".into(), "d".into()]),
            ),
            ("name", "y".into()),
            ("s", "l1\nL2\nl3\n".into()),
            ("e", Value::tuple(vec![])),
        ]);
        let before = td(
            "abc".into(),
            before_input.clone(),
            before_input,
            Value::NULL,
        );
        let after = td(
            "abc".into(),
            after_input.clone(),
            Value::Unknown(after_input.type_of()),
            Value::NULL,
        );
        let p = plan(
            vec![change(
                "terraform_data.a",
                Action::Update,
                Some(before),
                Some(after),
            )],
            vec![],
        );
        insta::assert_snapshot!(strip_styles(&render(&p)), @r#"

        Resource actions are indicated with the following symbols:
          ~ update in-place

        stackform will perform the following actions:

          # terraform_data.a will be updated in-place
          ~ resource "terraform_data" "a" {
                id     = "abc"
              ~ input  = {
                  ~ list = [
                        "a",
                      ~ "b" -> "c",
                      ~ "c" -> "d",
                    ]
                  ~ name = "x" -> "y"
                  ~ s    = <<-EOT
                        l1
                      - l2
                      + L2
                        l3
                    EOT
                    # (1 unchanged attribute hidden)
                }
              ~ output = {
                  - e    = []
                  - list = [
                      - "a",
                      - "b",
                      - "c",
                    ]
                  - name = "x"
                  - s    = <<-EOT
                        l1
                        l2
                        l3
                    EOT
                } -> (known after apply)
            }

        Plan: 0 to add, 1 to change, 0 to destroy.
        "#);
    }

    #[test]
    fn a_replacement_says_what_forced_it_and_lists_diff_by_lcs() {
        let before = td(
            "abc".into(),
            Value::list(Type::String, vec!["a".into(), "b".into(), "c".into()]),
            Value::NULL,
            "t1".into(),
        );
        let after = td(
            Value::Unknown(Type::String),
            Value::list(Type::String, vec!["a".into(), "c".into(), "d".into()]),
            Value::NULL,
            "t2".into(),
        );
        let mut c = change(
            "terraform_data.r",
            Action::DeleteThenCreate,
            Some(before),
            Some(after),
        );
        c.replace_paths = vec![vec![PathStep::Attr("triggers_replace".into())]];
        let gone = ResourceChange {
            reason: Some(Reason::CountIndex),
            ..change(
                "terraform_data.g[1]",
                Action::Delete,
                Some(td("x".into(), Value::NULL, Value::NULL, Value::NULL)),
                None,
            )
        };
        let outputs = vec![
            OutputChange {
                name: "gone".into(),
                action: Action::Delete,
                before: Some("x".into()),
                after: None,
                sensitive: false,
            },
            OutputChange {
                name: "pw".into(),
                action: Action::Update,
                before: Some("a".into()),
                after: Some("b".into()),
                sensitive: true,
            },
        ];
        let p = plan(vec![gone, c], outputs);
        insta::assert_snapshot!(strip_styles(&render(&p)), @r#"

        Resource actions are indicated with the following symbols:
          - destroy
        -/+ destroy and then create replacement

        stackform will perform the following actions:

          # terraform_data.g[1] will be destroyed
          # (because index [1] is out of range for count)
          - resource "terraform_data" "g" {
              - id = "x" -> null
            }

          # terraform_data.r must be replaced
        -/+ resource "terraform_data" "r" {
              ~ id               = "abc" -> (known after apply)
              ~ input            = [
                    "a",
                  - "b",
                    "c",
                  + "d",
                ]
              ~ triggers_replace = "t1" -> "t2" # forces replacement
            }

        Plan: 1 to add, 0 to change, 2 to destroy.

        Changes to Outputs:
          - gone = "x" -> null
          ~ pw   = (sensitive value)
        "#);
    }

    #[test]
    fn a_disruptive_update_says_so_in_its_header_and_under_the_summary() {
        let server = |flavor: &str, power: &str| {
            obj(&[
                ("flavor_name", flavor.into()),
                ("id", "s1".into()),
                ("name", "web".into()),
                ("power_state", power.into()),
            ])
        };
        let mut resize = change(
            "openstack_compute_instance_v2.web",
            Action::Update,
            Some(server("m1.tiny", "active")),
            Some(server("m1.small", "active")),
        );
        resize.disruption = Some(
            "the server is resized: Nova stops it, moves it to the new flavor and restarts it"
                .into(),
        );
        let mut stop = change(
            "openstack_compute_instance_v2.db",
            Action::Update,
            Some(server("m1.tiny", "active")),
            Some(server("m1.tiny", "shutoff")),
        );
        stop.disruption = Some("the server is stopped".into());
        let p = plan(vec![stop, resize], vec![]);
        insta::assert_snapshot!(strip_styles(&render(&p)), @r#"

        Resource actions are indicated with the following symbols:
          ~ update in-place

        stackform will perform the following actions:

          # openstack_compute_instance_v2.db will be updated in-place, disruptively: the server is stopped
          ~ resource "openstack_compute_instance_v2" "db" {
                id          = "s1"
                name        = "web"
              ~ power_state = "active" -> "shutoff"
                # (1 unchanged attribute hidden)
            }

          # openstack_compute_instance_v2.web will be updated in-place, disruptively: the server is resized: Nova stops it, moves it to the new flavor and restarts it
          ~ resource "openstack_compute_instance_v2" "web" {
              ~ flavor_name = "m1.tiny" -> "m1.small"
                id          = "s1"
                name        = "web"
                # (1 unchanged attribute hidden)
            }

        Plan: 0 to add, 2 to change, 0 to destroy.
        Warning: 2 in-place updates disrupt their objects.
        "#);
    }

    #[test]
    fn objects_the_state_does_not_record_are_listed_with_what_happens_to_them() {
        let mut p = plan(vec![], vec![]);
        p.strays = crate::plan::StrayObject::samples();
        insta::assert_snapshot!(strip_styles(&render_strays(&p)), @r#"

        Note: Objects stackform created are missing from the state

        stackform found objects in the cloud that carry this state's marker but that the
        state does not record (a run stopped before it could record them):

          + openstack_compute_instance_v2 5d8e0c1a ("web-3") is adopted as openstack_compute_instance_v2.web[3]
          ! openstack_networking_network_v2 77aa0b2c ("old-net") is not adopted: the configuration does not declare openstack_networking_network_v2.old["a"].
              Delete it:  openstack network delete 77aa0b2c
              Or manage it again: declare openstack_networking_network_v2.old["a"] and run
                          stackform import 'openstack_networking_network_v2.old["a"]' 77aa0b2c
        "#);
    }

    #[test]
    fn no_changes() {
        let p = plan(vec![], vec![]);
        insta::assert_snapshot!(strip_styles(&render(&p)), @r"

        No changes. Your infrastructure matches the configuration.

        stackform has compared your real infrastructure against your configuration
        and found no differences, so no changes are needed.
        ");
    }
}
