//! Canonical formatting, byte for byte what `terraform fmt` writes.
//!
//! The formatter works on tokens rather than on a syntax tree, because
//! `terraform fmt` keeps everything about a file but its spacing: the
//! author's line breaks, every comment and blank line, and heredoc bodies.
//! It re-indents each line by nesting depth, respaces the tokens within
//! it, aligns `=` and trailing comments across consecutive lines, and
//! makes `terraform fmt`'s few rewrites (see [`rewrite`]). Files must parse
//! first: [`format_source`] refuses a file with a syntax error, naming the
//! place, and leaves it unformatted.

mod layout;
mod lexer;
mod rewrite;

use crate::diag::{Diagnostic, SourceFile};

/// The file's canonical form, or the syntax error that prevents it.
pub fn format_source(source: &SourceFile) -> Result<String, Diagnostic> {
    super::parse_file(source)?;
    Ok(format(&source.text))
}

/// The canonical form of source text that parses.
pub fn format(src: &str) -> String {
    let tokens = rewrite::rewrite(lexer::tokens(src));
    let mut tokens = tokens;
    layout::layout(&mut tokens);
    let mut out = String::with_capacity(src.len() + src.len() / 8);
    for token in &tokens {
        out.extend(std::iter::repeat_n(' ', token.spaces));
        out.push_str(&token.text);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::format;

    #[track_caller]
    fn check(input: &str, want: &str) {
        let got = format(input);
        assert_eq!(got, want, "formatting {input:?}");
        assert_eq!(format(&got), got, "formatting is not idempotent");
    }

    #[test]
    fn attributes_are_spaced_and_aligned() {
        check("a=1\nbbb   =  2\n\nc = 3\n", "a   = 1\nbbb = 2\n\nc = 3\n");
    }

    #[test]
    fn blocks_are_indented_by_nesting() {
        check(
            "resource \"x\" \"y\" {\nname=\"n\"\n    network {\n uuid = 1\n}\n}\n",
            "resource \"x\" \"y\" {\n  name = \"n\"\n  network {\n    uuid = 1\n  }\n}\n",
        );
    }

    #[test]
    fn a_value_over_several_lines_breaks_the_alignment() {
        check(
            "a = 1\nlong_name = {\nb = 2\n}\nc = 3\n",
            "a = 1\nlong_name = {\n  b = 2\n}\nc = 3\n",
        );
    }

    #[test]
    fn trailing_comments_are_aligned_and_kept() {
        check(
            "a = 1 # one\nbbbb = 22 // two\n# alone\n",
            "a    = 1  # one\nbbbb = 22 // two\n# alone\n",
        );
    }

    #[test]
    fn expressions_get_terraforms_spacing() {
        check(
            "a = [ 1,2 , 3 ]\nb = {x=1, y = [ \"a\" ]}\nc = f( a,b )\nd = -1\ne = a-b - 1\nf = a[ 0 ].b\ng = [ for x in y : x if x>1 ]\nh = {for k,v in m : k=>v...}\ni = !a && b.*.c\nj = \"x${ a }y%{ if a }z%{ endif }\"\n",
            "a = [1, 2, 3]\nb = { x = 1, y = [\"a\"] }\nc = f(a, b)\nd = -1\ne = a-b - 1\nf = a[0].b\ng = [for x in y : x if x > 1]\nh = { for k, v in m : k => v... }\ni = !a && b.*.c\nj = \"x${a}y%{if a}z%{endif}\"\n",
        );
    }

    #[test]
    fn heredoc_bodies_are_kept_and_their_interpolations_spaced() {
        check(
            "a=1\nzz = <<EOT\n  hi ${ var.x }\n    EOT\nb=2\n",
            "a  = 1\nzz = <<EOT\n  hi ${var.x}\n    EOT\nb  = 2\n",
        );
    }

    #[test]
    fn terraforms_rewrites_are_made() {
        check(
            "resource foo bar {\nx = \"${var.a}\"\ny = \"${var.a}-b\"\n}\nvariable \"v\" { type = \"list\" }\nvariable \"w\" {\ntype = set\n}\n",
            "resource \"foo\" \"bar\" {\n  x = var.a\n  y = \"${var.a}-b\"\n}\nvariable \"v\" { type = list(string) }\nvariable \"w\" {\n  type = set(any)\n}\n",
        );
    }

    #[test]
    fn a_file_always_ends_with_a_newline_and_keeps_its_blank_lines() {
        check("", "\n");
        check("a=1", "a = 1\n");
        // Spaces before the end are kept, as terraform fmt keeps them
        // (which is why formatting such a file twice changes it again).
        assert_eq!(format("a = 1\n  "), "a = 1\n  \n");
        check("\n\na=1\n\n\n", "\n\na = 1\n\n\n");
        check("a=1\r\nbb=2\r\n", "a  = 1\r\nbb = 2\r\n");
    }
}
