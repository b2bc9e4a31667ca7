//! Heredocs as HCL reads them.
//!
//! HCL scans a heredoc one source line at a time, so each line of literal
//! text is a token of its own. A strip marker (`~`) trims only the token
//! next to it — the rest of its line — and the `<<-` form removes the
//! smallest indentation of the lines *after* strip markers have been
//! applied, ignoring blank lines and counting a line that starts with
//! `${` or `%{` as not indented. hcl-edit instead removes indentation
//! while parsing, before any strip, and treats a literal as one token; so
//! we undo its indentation, split literals into lines, and apply HCL's
//! rules here. The result is a template with the strips already done.

use hcl::edit::template::HeredocTemplate;
use hcl::edit::template::{Directive, Element, Strip, Template};

/// A token of the flattened template: a line (or part of a line) of
/// literal text, or a template sequence with its strip markers.
enum Token {
    Literal { text: String, owner: usize },
    Sequence { strip: Strip },
}

/// The template of a heredoc, with indentation and strip markers applied
/// as HCL applies them.
pub(super) fn resolve(heredoc: &HeredocTemplate) -> Template {
    let mut template = heredoc.template.clone();
    if let Some(indent) = heredoc.indent() {
        undo_dedent(&mut template, indent);
    }
    let mut tokens = Vec::new();
    let mut owners = 0;
    flatten(&template, &mut tokens, &mut owners);
    apply_strips(&mut tokens);
    if heredoc.indent().is_some() {
        flush(&mut tokens);
    }
    let mut texts: Vec<String> = vec![String::new(); owners];
    for t in &tokens {
        if let Token::Literal { text, owner } = t {
            texts[*owner].push_str(text);
        }
    }
    let mut texts = texts.into_iter();
    write_back(&mut template, &mut texts);
    template
}

/// Puts back the indentation hcl-edit removed from the top-level lines
/// (it never touches the bodies of directives). hcl-edit removes `indent`
/// characters from every non-empty line that starts a line, including
/// the run of spaces before a `${` or `%{` at the start of a line, which
/// it leaves empty; it only dedents at all when every such sequence was
/// indented, so that run had at least `indent` spaces.
fn undo_dedent(template: &mut Template, indent: usize) {
    let prefix = " ".repeat(indent);
    let followed_by_sequence: Vec<bool> = {
        let elements: Vec<&Element> = template.iter().collect();
        (0..elements.len())
            .map(|i| {
                elements
                    .get(i + 1)
                    .is_some_and(|e| !matches!(e, Element::Literal(_)))
            })
            .collect()
    };
    let mut mid_line = false;
    for (element, before_sequence) in template.iter_mut().zip(followed_by_sequence) {
        match element {
            Element::Literal(lit) => {
                let text = lit.value().clone();
                let mut segments: Vec<&str> = text.split_inclusive('\n').collect();
                if text.is_empty() || text.ends_with('\n') {
                    segments.push("");
                }
                let last = segments.len() - 1;
                let mut out = String::with_capacity(text.len() + indent * 4);
                for (i, segment) in segments.iter().enumerate() {
                    let at_line_start = i > 0 || !mid_line;
                    let has_text = !segment.is_empty() && *segment != "\n";
                    if at_line_start && (has_text || i == last && before_sequence) {
                        out.push_str(&prefix);
                    }
                    out.push_str(segment);
                }
                mid_line = !out.ends_with('\n');
                *lit.value_mut() = out;
            }
            _ => mid_line = true,
        }
    }
}

fn flatten(template: &Template, tokens: &mut Vec<Token>, owners: &mut usize) {
    for element in template.iter() {
        match element {
            Element::Literal(lit) => {
                let owner = *owners;
                *owners += 1;
                let text = lit.value();
                if text.is_empty() {
                    tokens.push(Token::Literal {
                        text: String::new(),
                        owner,
                    });
                }
                for line in text.split_inclusive('\n') {
                    tokens.push(Token::Literal {
                        text: line.to_string(),
                        owner,
                    });
                }
            }
            Element::Interpolation(i) => tokens.push(Token::Sequence { strip: i.strip }),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(d) => {
                    tokens.push(Token::Sequence {
                        strip: d.if_expr.strip,
                    });
                    flatten(&d.if_expr.template, tokens, owners);
                    if let Some(e) = &d.else_expr {
                        tokens.push(Token::Sequence { strip: e.strip });
                        flatten(&e.template, tokens, owners);
                    }
                    tokens.push(Token::Sequence {
                        strip: d.endif_expr.strip,
                    });
                }
                Directive::For(d) => {
                    tokens.push(Token::Sequence {
                        strip: d.for_expr.strip,
                    });
                    flatten(&d.for_expr.template, tokens, owners);
                    tokens.push(Token::Sequence {
                        strip: d.endfor_expr.strip,
                    });
                }
            },
        }
    }
}

fn apply_strips(tokens: &mut [Token]) {
    for i in 0..tokens.len() {
        let Token::Sequence { strip } = tokens[i] else {
            continue;
        };
        if strip.strip_start()
            && i > 0
            && let Token::Literal { text, .. } = &mut tokens[i - 1]
        {
            *text = text.trim_end().to_string();
        }
        if strip.strip_end()
            && let Some(Token::Literal { text, .. }) = tokens.get_mut(i + 1)
        {
            *text = text.trim_start().to_string();
        }
    }
}

/// HCL's flush rule for `<<-`.
fn flush(tokens: &mut [Token]) {
    let mut min = usize::MAX;
    let mut line_start = true;
    let mut adjust = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if line_start {
            line_start = false;
            match token {
                Token::Literal { text, .. } => {
                    let trimmed = text.trim_start();
                    // A line of only spaces does not count.
                    if !(trimmed.is_empty() && text.ends_with('\n')) {
                        min = min.min(text.chars().count() - trimmed.chars().count());
                        adjust.push(i);
                    }
                }
                Token::Sequence { .. } => min = 0,
            }
        }
        if let Token::Literal { text, .. } = token
            && text.ends_with('\n')
        {
            line_start = true;
        }
    }
    if min == usize::MAX || min == 0 {
        return;
    }
    for i in adjust {
        if let Token::Literal { text, .. } = &mut tokens[i] {
            *text = text.chars().skip(min).collect();
        }
    }
}

/// Writes the processed literal texts back, in the order `flatten` read
/// them, and clears the strip markers (they have been applied).
fn write_back(template: &mut Template, texts: &mut impl Iterator<Item = String>) {
    for element in template.iter_mut() {
        match element {
            Element::Literal(lit) => *lit.value_mut() = texts.next().unwrap_or_default(),
            Element::Interpolation(i) => i.strip = Strip::None,
            Element::Directive(d) => match d.as_mut() {
                Directive::If(d) => {
                    d.if_expr.strip = Strip::None;
                    write_back(&mut d.if_expr.template, texts);
                    if let Some(e) = &mut d.else_expr {
                        e.strip = Strip::None;
                        write_back(&mut e.template, texts);
                    }
                    d.endif_expr.strip = Strip::None;
                }
                Directive::For(d) => {
                    d.for_expr.strip = Strip::None;
                    write_back(&mut d.for_expr.template, texts);
                    d.endfor_expr.strip = Strip::None;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lang::eval::tests::eval_body_attr;

    #[test]
    fn strip_markers_act_on_the_rest_of_the_line() {
        let v = eval_body_attr(
            "x = <<EOT\nItems:\n%{for x in [\"a\", \"b\"]~}\n  - ${x}\n%{endfor~}\nDone.\nEOT\n",
        );
        assert_eq!(v, "Items:\n  - a\n  - b\nDone.\n");
    }

    #[test]
    fn indentation_is_measured_after_strips() {
        let v = eval_body_attr(
            "x = <<-EOT\n    %{~if true~}\n    [header]\n    %{~endif~}\n    body   ${~\" tail\"}\n    EOT\n",
        );
        assert_eq!(v, "    [header]\n    body tail\n");
        let v = eval_body_attr(
            "x = <<-EOT\n    first line\n      indented more\n\n    last line\n  EOT\n",
        );
        assert_eq!(v, "first line\n  indented more\n\nlast line\n");
    }

    #[test]
    fn a_sequence_at_line_start_keeps_every_indentation() {
        let v = eval_body_attr("x = <<-EOT\n    a\n${\"b\"}\n    c\n  EOT\n");
        assert_eq!(v, "    a\nb\n    c\n");
    }

    #[test]
    fn directive_bodies_are_dedented_too() {
        let v = eval_body_attr(
            "x = <<-EOT\n    %{ for s in [\"p\", \"q\"] }\n    - ${s}\n    %{ endfor }\n  EOT\n",
        );
        assert_eq!(v, "\n- p\n\n- q\n\n");
        let v = eval_body_attr(
            "x = <<-EOT\n      deep\n    %{ if true }\n      inner\n    %{ endif }\n    ${\"x\"} tail\n  EOT\n",
        );
        assert_eq!(v, "  deep\n\n  inner\n\nx tail\n");
    }
}
