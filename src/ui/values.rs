//! Values as `output` and the end of `apply` print them: the language's
//! own syntax, with `tolist`/`toset`/`tomap` where the type is not what
//! the bare literal would make, and `<sensitive>` for sensitive values.

pub use crate::lang::value::quote;
use crate::lang::value::{Type, Value};

/// A value in the language's syntax, indented for nesting.
pub fn format_value(v: &Value, indent: usize) -> String {
    match v {
        Value::Sensitive(_) => "(sensitive value)".into(),
        Value::Unknown(_) => "(known after apply)".into(),
        Value::Null(t) => match t {
            Type::List(e) => format!("tolist(null) /* of {e} */"),
            Type::Set(e) => format!("toset(null) /* of {e} */"),
            Type::Map(e) => format!("tomap(null) /* of {e} */"),
            _ => "null".into(),
        },
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.contains('\n') && indent == 0 => format!("<<EOT\n{s}\nEOT"),
        Value::String(s) if s.contains('\n') => {
            let pad = "  ".repeat(indent);
            let body: String = s.split('\n').map(|l| format!("{pad}{l}\n")).collect();
            format!("<<-EOT\n{body}{pad}EOT")
        }
        Value::String(s) => quote(s),
        Value::List(_, items) => wrap("tolist(", &seq(items, indent), ")"),
        Value::Set(_, items) => wrap("toset(", &seq(items, indent), ")"),
        Value::Tuple(items) => seq(items, indent),
        Value::Map(_, items) => wrap("tomap(", &entries(items, indent), ")"),
        Value::Object(items) => entries(items, indent),
    }
}

fn wrap(open: &str, inner: &str, close: &str) -> String {
    format!("{open}{inner}{close}")
}

fn seq(items: &[Value], indent: usize) -> String {
    if items.is_empty() {
        return "[]".into();
    }
    let pad = "  ".repeat(indent + 1);
    let mut out = String::from("[\n");
    for item in items {
        out.push_str(&format!("{pad}{},\n", format_value(item, indent + 1)));
    }
    out.push_str(&format!("{}]", "  ".repeat(indent)));
    out
}

fn entries(items: &std::collections::BTreeMap<String, Value>, indent: usize) -> String {
    if items.is_empty() {
        return "{}".into();
    }
    let pad = "  ".repeat(indent + 1);
    let mut out = String::from("{\n");
    for (k, v) in items {
        out.push_str(&format!(
            "{pad}{} = {}\n",
            quote(k),
            format_value(v, indent + 1)
        ));
    }
    out.push_str(&format!("{}}}", "  ".repeat(indent)));
    out
}

/// `name = value` lines for a set of outputs, as `output` and the end of
/// `apply` print them.
pub fn format_outputs(outputs: &[(String, Value, bool)]) -> String {
    let mut out = String::new();
    for (name, value, sensitive) in outputs {
        let shown = if *sensitive || value.contains_sensitive() {
            "<sensitive>".to_string()
        } else {
            format_value(value, 0)
        };
        out.push_str(&format!("{name} = {shown}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_terraform_output() {
        let obj = Value::object(
            [
                ("a".to_string(), Value::from("x")),
                ("b".to_string(), Value::from(5)),
                ("c".to_string(), Value::Null(Type::list(Type::String))),
            ]
            .into(),
        );
        assert_eq!(
            format_value(&obj, 0),
            "{\n  \"a\" = \"x\"\n  \"b\" = 5\n  \"c\" = tolist(null) /* of string */\n}"
        );
        let l = Value::list(Type::Number, vec![1.into(), 2.into()]);
        assert_eq!(format_value(&l, 0), "tolist([\n  1,\n  2,\n])");
        assert_eq!(format_value(&Value::tuple(vec![]), 0), "[]");
        assert_eq!(
            format_value(&Value::from("a\nb\n"), 0),
            "<<EOT\na\nb\n\nEOT"
        );
        let nested = Value::object([("k".to_string(), Value::from("x\ny"))].into());
        assert_eq!(
            format_value(&nested, 0),
            "{\n  \"k\" = <<-EOT\n  x\n  y\n  EOT\n}"
        );
        assert_eq!(
            format_value(&Value::from("say \"${x}\""), 0),
            "\"say \\\"$${x}\\\"\""
        );
    }

    #[test]
    fn sensitive_outputs_are_hidden() {
        let text = format_outputs(&[
            ("pw".into(), Value::from("hunter2"), true),
            ("n".into(), Value::from(1), false),
        ]);
        assert_eq!(text, "pw = <sensitive>\nn = 1\n");
    }
}
