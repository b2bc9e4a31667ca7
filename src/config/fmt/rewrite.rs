//! The rewrites `terraform fmt` makes besides layout: block labels are
//! quoted, an attribute whose whole value is one interpolation
//! (`"${var.x}"`) loses the template around it, and a variable's legacy
//! type (`"string"`, a bare `list`) is written in today's syntax.

use super::lexer::{Kind, Token};

pub(super) fn rewrite(tokens: Vec<Token>) -> Vec<Token> {
    let mut walker = Walker {
        tokens,
        pos: 0,
        out: Vec::new(),
    };
    walker.body(&mut Vec::new());
    // Whatever a malformed input left unread is kept as it is.
    let rest = walker.tokens.split_off(walker.pos.min(walker.tokens.len()));
    walker.out.extend(rest);
    walker.out
}

struct Walker {
    tokens: Vec<Token>,
    pos: usize,
    out: Vec<Token>,
}

impl Walker {
    fn peek(&self, offset: usize) -> Option<Kind> {
        self.tokens.get(self.pos + offset).map(|t| t.kind)
    }

    fn take(&mut self) {
        if let Some(token) = self.tokens.get(self.pos) {
            self.out.push(token.clone());
            self.pos += 1;
        }
    }

    /// A body's attributes and blocks, up to the `}` that closes it (left
    /// for the caller) or the end of the file.
    fn body(&mut self, blocks: &mut Vec<String>) {
        while let Some(kind) = self.peek(0) {
            match kind {
                Kind::CBrace => return,
                Kind::Ident if self.peek(1) == Some(Kind::Equal) => self.attribute(blocks),
                Kind::Ident => self.block(blocks),
                _ => self.take(),
            }
        }
    }

    fn attribute(&mut self, blocks: &[String]) {
        let name = self.tokens[self.pos].text.clone();
        self.take();
        self.take();
        let start = self.pos;
        let end = self.expression_end();
        let value = self.tokens[start..end].to_vec();
        self.pos = end;
        let value = if name == "type" && blocks == ["variable"] {
            modern_type(value)
        } else {
            unwrapped_interpolation(value)
        };
        self.out.extend(value);
    }

    /// Where the expression starting at the current token ends: at the
    /// end of its line, at a trailing comment, or before the `}` of a
    /// one-line block.
    fn expression_end(&self) -> usize {
        let mut depth = 0;
        for (i, token) in self.tokens.iter().enumerate().skip(self.pos) {
            if depth == 0 && token.ends_line() {
                return i;
            }
            depth += token.kind.bracket_change();
            if depth < 0 {
                return i;
            }
        }
        self.tokens.len()
    }

    fn block(&mut self, blocks: &mut Vec<String>) {
        let block_type = self.tokens[self.pos].text.clone();
        self.take();
        loop {
            match self.peek(0) {
                Some(Kind::Ident) => {
                    let label = self.tokens[self.pos].text.clone();
                    self.pos += 1;
                    self.out.push(Token::new(Kind::OQuote, "\""));
                    self.out.push(Token::new(Kind::QuotedLit, label));
                    self.out.push(Token::new(Kind::CQuote, "\""));
                }
                Some(Kind::OQuote) => {
                    while let Some(kind) = self.peek(0) {
                        self.take();
                        if kind == Kind::CQuote {
                            break;
                        }
                    }
                }
                // Comments between labels are dropped, as terraform fmt does.
                Some(Kind::Comment) if !self.tokens[self.pos].ends_line() => self.pos += 1,
                _ => break,
            }
        }
        if self.peek(0) != Some(Kind::OBrace) {
            return;
        }
        self.take();
        blocks.push(block_type);
        self.body(blocks);
        blocks.pop();
        self.take();
    }
}

/// `"${expr}"` becomes `expr` when the template holds nothing else; a
/// value spanning lines is wrapped in parentheses so it still parses.
fn unwrapped_interpolation(value: Vec<Token>) -> Vec<Token> {
    let n = value.len();
    if n < 5
        || value[0].kind != Kind::OQuote
        || value[1].kind != Kind::TemplateInterp
        || value[n - 2].kind != Kind::TemplateSeqEnd
        || value[n - 1].kind != Kind::CQuote
    {
        return value;
    }
    let inside = &value[2..n - 2];
    let mut nested_quotes = 0;
    for token in inside {
        match token.kind {
            Kind::OQuote => nested_quotes += 1,
            Kind::CQuote => nested_quotes -= 1,
            _ if nested_quotes > 0 => {}
            Kind::TemplateInterp | Kind::TemplateSeqEnd | Kind::QuotedLit => return value,
            _ => {}
        }
    }
    let first = inside
        .iter()
        .position(|t| t.kind != Kind::Newline)
        .unwrap_or(inside.len());
    let last = inside
        .iter()
        .rposition(|t| t.kind != Kind::Newline)
        .map_or(first, |i| i + 1);
    let trimmed = &inside[first..last.max(first)];
    let multi_line = trimmed.iter().any(|t| t.kind == Kind::Newline);
    let parenthesised = trimmed.first().is_some_and(|t| t.kind == Kind::OParen)
        && trimmed.last().is_some_and(|t| t.kind == Kind::CParen);
    if multi_line && !parenthesised {
        let mut wrapped = vec![Token::new(Kind::OParen, "(")];
        wrapped.extend_from_slice(trimmed);
        wrapped.push(Token::new(Kind::CParen, ")"));
        return wrapped;
    }
    trimmed.to_vec()
}

/// A variable's `type` in pre-0.12 syntax: `"string"`, `"list"` and
/// `"map"` held strings; a bare `list`, `map` or `set` holds anything.
fn modern_type(value: Vec<Token>) -> Vec<Token> {
    let collection = |name: &str, element: &str| {
        vec![
            Token::new(Kind::Ident, name),
            Token::new(Kind::OParen, "("),
            Token::new(Kind::Ident, element),
            Token::new(Kind::CParen, ")"),
        ]
    };
    match value.as_slice() {
        [keyword] if keyword.kind == Kind::Ident => match keyword.text.as_str() {
            name @ ("list" | "map" | "set") => collection(name, "any"),
            _ => value,
        },
        [open, text, close]
            if open.kind == Kind::OQuote
                && text.kind == Kind::QuotedLit
                && close.kind == Kind::CQuote =>
        {
            match text.text.as_str() {
                "string" => vec![Token::new(Kind::Ident, "string")],
                name @ ("list" | "map") => collection(name, "string"),
                _ => value,
            }
        }
        _ => value,
    }
}
