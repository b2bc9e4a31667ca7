//! Lays tokens out as `terraform fmt` does: two spaces of indentation per
//! nesting level, canonical spacing between tokens, and the `=` signs and
//! trailing comments of consecutive lines aligned in columns. Line breaks
//! are the author's; the layout never adds or removes one.

use super::lexer::{Kind, Token};
use std::ops::Range;

/// One source line, split into the cells that are aligned separately:
/// what comes before the `=` of an attribute, the `=` and its value, and
/// a trailing line comment.
struct Line {
    tokens: Range<usize>,
    /// Where the assignment cell starts, when the line holds a whole
    /// `name = value`.
    assign: Option<usize>,
    /// The trailing comment, when the line has one after other tokens.
    comment: Option<usize>,
}

impl Line {
    fn lead(&self) -> Range<usize> {
        self.tokens.start..self.assign.or(self.comment).unwrap_or(self.tokens.end)
    }

    fn assign(&self) -> Option<Range<usize>> {
        self.assign
            .map(|start| start..self.comment.unwrap_or(self.tokens.end))
    }

    /// Everything but the trailing comment.
    fn code(&self) -> Range<usize> {
        self.tokens.start..self.comment.unwrap_or(self.tokens.end)
    }
}

pub(super) fn layout(tokens: &mut [Token]) {
    let lines = lines(tokens);
    indent(tokens, &lines);
    space(tokens, &lines);
    align_assignments(tokens, &lines);
    align_comments(tokens, &lines);
}

fn lines(tokens: &[Token]) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = 0;
    let end = tokens
        .iter()
        .position(|t| t.kind == Kind::Eof)
        .unwrap_or(tokens.len());
    let tokens = &tokens[..end];
    for (i, token) in tokens.iter().enumerate() {
        if token.ends_line() {
            lines.push(split_line(tokens, start..i + 1));
            start = i + 1;
        }
    }
    if start < tokens.len() {
        lines.push(split_line(tokens, start..tokens.len()));
    }
    lines
}

fn split_line(tokens: &[Token], range: Range<usize>) -> Line {
    let comment =
        (range.len() > 1 && tokens[range.end - 1].kind == Kind::Comment).then_some(range.end - 1);
    let code_end = comment.unwrap_or(range.end);
    // Only the first `=` can start an assignment, and only when the value
    // closes every bracket it opens on this line: a value that continues
    // on the next lines stays out of the alignment.
    let assign = (range.start + 1..code_end)
        .find(|&i| tokens[i].kind == Kind::Equal)
        .filter(|&i| net_brackets(&tokens[i..code_end]) == 0);
    Line {
        tokens: range,
        assign,
        comment,
    }
}

/// Brackets opened minus brackets closed, not looking into a heredoc
/// (its body belongs to no nesting level).
fn net_brackets(tokens: &[Token]) -> i32 {
    let mut net = 0;
    for token in tokens {
        net += token.kind.bracket_change();
        if token.kind == Kind::OHeredoc {
            break;
        }
    }
    net
}

/// A line that opens brackets indents the lines after it by one level,
/// however many it opens; a line that closes them goes back as many
/// levels as the lines that opened them added.
fn indent(tokens: &mut [Token], lines: &[Line]) {
    let mut levels: Vec<i32> = Vec::new();
    for line in lines {
        let first = line.tokens.start;
        if tokens[first].kind == Kind::Newline {
            tokens[first].spaces = 0;
            continue;
        }
        let net = net_brackets(&tokens[line.code()]);
        if net < 0 {
            let mut closed = -net;
            while closed > 0 {
                let Some(last) = levels.last_mut() else {
                    break;
                };
                if closed >= *last {
                    closed -= *last;
                    levels.pop();
                } else {
                    *last -= closed;
                    closed = 0;
                }
            }
        }
        tokens[first].spaces = 2 * levels.len();
        if net > 0 {
            levels.push(net);
        }
    }
}

fn space(tokens: &mut [Token], lines: &[Line]) {
    for line in lines {
        space_cell(tokens, line.lead());
        if let Some(assign) = line.assign() {
            tokens[assign.start].spaces = 1;
            space_cell(tokens, assign);
        }
    }
}

fn space_cell(tokens: &mut [Token], cell: Range<usize>) {
    for i in cell.start + 1..cell.end {
        let before = (i >= cell.start + 2).then(|| &tokens[i - 2]);
        let spaced = space_between(before, &tokens[i - 1], &tokens[i]);
        tokens[i].spaces = usize::from(spaced);
    }
}

/// Whether one space separates `subject` from the token after it;
/// `before` is the token before `subject` in the same cell.
fn space_between(before: Option<&Token>, subject: &Token, after: &Token) -> bool {
    use Kind::*;
    let (s, a) = (subject.kind, after.kind);
    if a == Newline {
        return false;
    }
    // Calls, attribute access, argument separators and expansion.
    if (s == Ident && a == OParen) || s == Dot || a == Dot || a == Comma || a == Ellipsis {
        return false;
    }
    if s == Comma {
        return true;
    }
    // Template text is written exactly as it is.
    if matches!(s, QuotedLit | StringLit | OQuote | OHeredoc)
        || matches!(a, QuotedLit | StringLit | CQuote | CHeredoc)
    {
        return false;
    }
    // `in` before a tuple in a for expression is the keyword, not a
    // reference being indexed.
    if s == Ident && subject.text == "in" && before.is_some_and(|b| b.kind == Ident) {
        return true;
    }
    if a == OBrack && (s == Ident || s == Number || s.bracket_change() < 0) {
        return false;
    }
    if s == Minus {
        return !is_negation(before);
    }
    if s == Bang {
        return false;
    }
    // Braces are padded inside, both for one-line blocks and for objects,
    // but an empty pair stays `{}`.
    if s == OBrace || a == CBrace {
        return !(s == OBrace && a == CBrace);
    }
    if matches!(s, TemplateInterp | TemplateControl) && a == OBrace {
        return true;
    }
    if s == CBrace && a == TemplateSeqEnd {
        return true;
    }
    if s == TemplateSeqEnd && matches!(a, TemplateInterp | TemplateControl) {
        return false;
    }
    if s.bracket_change() > 0 || a.bracket_change() < 0 {
        return false;
    }
    true
}

/// A minus is a negation, not a subtraction, when what comes before it
/// cannot end an operand.
fn is_negation(before: Option<&Token>) -> bool {
    use Kind::*;
    let Some(before) = before else {
        return true;
    };
    matches!(
        before.kind,
        OParen
            | OBrace
            | OBrack
            | Equal
            | Colon
            | Comma
            | Question
            | Plus
            | Minus
            | Star
            | Slash
            | Percent
            | EqualOp
            | NotEqual
            | Greater
            | GreaterEq
            | Less
            | LessEq
            | And
            | Or
            | Bang
    )
}

fn columns(tokens: &[Token], range: Range<usize>) -> usize {
    tokens[range].iter().map(Token::columns).sum()
}

/// Consecutive lines that each hold a whole assignment put their `=` in
/// one column, one space after the longest name.
fn align_assignments(tokens: &mut [Token], lines: &[Line]) {
    for run in runs(lines, |line| line.assign.is_some()) {
        let widths: Vec<usize> = run.iter().map(|l| columns(tokens, l.lead())).collect();
        let widest = widths.iter().copied().max().unwrap_or(0);
        for (line, width) in run.iter().zip(widths) {
            if let Some(assign) = line.assign {
                tokens[assign].spaces = widest - width + 1;
            }
        }
    }
}

/// Consecutive lines with trailing comments start them in one column.
fn align_comments(tokens: &mut [Token], lines: &[Line]) {
    for run in runs(lines, |line| line.comment.is_some()) {
        let widths: Vec<usize> = run.iter().map(|l| columns(tokens, l.code())).collect();
        let widest = widths.iter().copied().max().unwrap_or(0);
        for (line, width) in run.iter().zip(widths) {
            if let Some(comment) = line.comment {
                tokens[comment].spaces = widest - width + 1;
            }
        }
    }
}

/// Maximal runs of consecutive lines that satisfy `member`.
fn runs(lines: &[Line], member: impl Fn(&Line) -> bool) -> Vec<&[Line]> {
    lines
        .split(|line| !member(line))
        .filter(|run| !run.is_empty())
        .collect()
}
