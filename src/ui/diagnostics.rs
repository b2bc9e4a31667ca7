//! Diagnostics as the terminal shows them: Terraform's box, with the file,
//! line and column, the source line, and a caret under the place at fault.

use super::style::{self, paint};
use crate::diag::{Diagnostic, Severity};

pub fn render(d: &Diagnostic) -> String {
    let (label, color) = match d.severity {
        Severity::Error => ("Error", style::ERROR),
        Severity::Warning => ("Warning", style::WARNING),
    };
    let bar = paint(color, "│");
    let mut lines: Vec<String> = Vec::new();
    lines.push(format!(
        "{} {}",
        paint(color, &format!("{label}:")),
        paint(style::HEADING, &d.summary)
    ));
    if d.subject.is_some() || d.address.is_some() {
        lines.push(String::new());
    }
    if let Some(address) = &d.address {
        lines.push(format!("  with {address},"));
    }
    if let Some(s) = &d.subject {
        let context = d
            .context
            .as_ref()
            .map_or(String::new(), |c| format!(", in {c}"));
        lines.push(format!(
            "  on {}:{}:{}{context}:",
            s.filename, s.start.line, s.start.column
        ));
        let number = s.start.line.to_string();
        let text = s.line_text.replace('\t', " ");
        lines.push(format!("  {number:>4}: {text}"));
        let start = s.start.column.max(1);
        let line_len = text.chars().count() + 1;
        let end = if s.end.line == s.start.line {
            s.end.column.max(start + 1)
        } else {
            line_len.max(start + 1)
        };
        let width = end.saturating_sub(start).max(1);
        lines.push(format!(
            "  {:>4}  {}{}",
            "",
            " ".repeat(start - 1),
            paint(style::ERROR, &"^".repeat(width))
        ));
        if !d.values().is_empty() {
            lines.push(format!("  {:>4}├────────────────", ""));
            for (traversal, statement) in d.values() {
                lines.push(format!(
                    "  {:>4}│ {} {statement}",
                    "",
                    paint(style::HEADING, traversal)
                ));
            }
        }
    }
    if !d.detail.is_empty() {
        lines.push(String::new());
        lines.extend(d.detail.lines().map(str::to_string));
    }
    let mut out = format!("{}\n", paint(color, "╷"));
    for line in lines {
        if line.is_empty() {
            out.push_str(&format!("{bar}\n"));
        } else {
            out.push_str(&format!("{bar} {line}\n"));
        }
    }
    out.push_str(&format!("{}\n", paint(color, "╵")));
    out
}

/// Several diagnostics, errors last so they stay in view.
pub fn render_all<'a>(diags: impl IntoIterator<Item = &'a Diagnostic>) -> String {
    let mut all: Vec<&Diagnostic> = diags.into_iter().collect();
    all.sort_by_key(|d| d.severity == Severity::Error);
    all.into_iter().map(render).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceFile;
    use crate::ui::strip_styles;

    #[test]
    fn points_a_caret_at_the_range() {
        let f = SourceFile::new(
            "main.tf",
            "main.tf",
            "resource \"terraform_data\" \"a\" {\n  inptu = 1\n}\n",
        );
        let d = Diagnostic::error(
            "Unsupported argument",
            "An argument named \"inptu\" is not expected here.",
        )
        .with_subject(Some(f.range(34..39)))
        .with_context("resource \"terraform_data\" \"a\"");
        insta::assert_snapshot!(strip_styles(&render(&d)), @r#"
        ╷
        │ Error: Unsupported argument
        │
        │   on main.tf:2:3, in resource "terraform_data" "a":
        │      2:   inptu = 1
        │           ^^^^^
        │
        │ An argument named "inptu" is not expected here.
        ╵
        "#);
    }

    #[test]
    fn names_the_resource_instance() {
        let d = Diagnostic::error("Provider error", "boom").with_address("terraform_data.a[0]");
        insta::assert_snapshot!(strip_styles(&render(&d)), @r"
        ╷
        │ Error: Provider error
        │
        │   with terraform_data.a[0],
        │
        │ boom
        ╵
        ");
    }
}
