//! Splits HCL source into the tokens the formatter lays out again.
//!
//! Unlike a parser's lexer, this one keeps everything the author wrote
//! that formatting must preserve: comments (line comments carry their
//! newline), newlines, template literals byte for byte, and heredoc
//! bodies. Whitespace between tokens is only counted, because the layout
//! recomputes it. The input has passed the syntax check, so the lexer
//! never has to report errors; anything it does not recognise becomes an
//! `Other` token written back unchanged.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Newline,
    /// A `#` or `//` comment, with its newline when it has one, or a
    /// `/* */` comment.
    Comment,
    Ident,
    Number,
    OBrace,
    CBrace,
    OBrack,
    CBrack,
    OParen,
    CParen,
    Comma,
    Dot,
    Ellipsis,
    Equal,
    FatArrow,
    Question,
    Colon,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    And,
    Or,
    Bang,
    EqualOp,
    NotEqual,
    Less,
    LessEq,
    Greater,
    GreaterEq,
    OQuote,
    CQuote,
    /// Literal text of a quoted template, escapes included.
    QuotedLit,
    /// `${` or `${~`.
    TemplateInterp,
    /// `%{` or `%{~`.
    TemplateControl,
    /// `}` or `~}` closing an interpolation or directive.
    TemplateSeqEnd,
    /// `<<EOT` or `<<-EOT` with the newline that ends it.
    OHeredoc,
    /// Literal text of a heredoc, up to and including a newline.
    StringLit,
    /// The closing marker of a heredoc with the indentation before it.
    CHeredoc,
    Other,
    /// The end of the input, holding the spaces before it: `terraform
    /// fmt` writes them back, as they belong to no line it lays out.
    Eof,
}

impl Kind {
    /// +1 for tokens that open a nesting level, -1 for those that close one.
    pub(super) fn bracket_change(self) -> i32 {
        match self {
            Kind::OBrace
            | Kind::OBrack
            | Kind::OParen
            | Kind::TemplateInterp
            | Kind::TemplateControl => 1,
            Kind::CBrace | Kind::CBrack | Kind::CParen | Kind::TemplateSeqEnd => -1,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: Kind,
    pub text: String,
    /// Spaces written before the token; the layout sets it.
    pub spaces: usize,
}

impl Token {
    pub(super) fn new(kind: Kind, text: impl Into<String>) -> Token {
        Token {
            kind,
            text: text.into(),
            spaces: 0,
        }
    }

    /// Whether the token ends a line: a newline, or a line comment,
    /// which carries its own.
    pub(super) fn ends_line(&self) -> bool {
        self.kind == Kind::Newline || (self.kind == Kind::Comment && self.text.ends_with('\n'))
    }

    /// Display width: characters, since alignment counts columns.
    pub(super) fn columns(&self) -> usize {
        self.spaces + self.text.chars().count()
    }
}

/// Where the lexer is: in an expression (counting its braces, so that a
/// `}` can be told from the end of an interpolation), or in a template.
enum Context {
    Expr { braces: usize },
    Quoted,
    Heredoc { marker: String, at_line_start: bool },
}

pub(super) fn tokens(src: &str) -> Vec<Token> {
    let mut lexer = Lexer {
        src,
        pos: 0,
        spaces: 0,
        out: Vec::new(),
        stack: vec![Context::Expr { braces: 0 }],
    };
    while lexer.pos < src.len() {
        match lexer.stack.last() {
            Some(Context::Quoted) => lexer.quoted(),
            Some(Context::Heredoc { .. }) => lexer.heredoc(),
            _ => lexer.expression(),
        }
    }
    lexer.emit(Kind::Eof, 0);
    lexer.out
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    spaces: usize,
    out: Vec<Token>,
    stack: Vec<Context>,
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn emit(&mut self, kind: Kind, len: usize) {
        let text = &self.src[self.pos..self.pos + len];
        self.out.push(Token {
            kind,
            text: text.to_string(),
            spaces: self.spaces,
        });
        self.spaces = 0;
        self.pos += len;
    }

    fn expression(&mut self) {
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return;
        };
        let two = rest.get(..2).unwrap_or("");
        match c {
            ' ' | '\t' => {
                self.spaces += 1;
                self.pos += 1;
            }
            '\n' => self.emit(Kind::Newline, 1),
            '\r' if two == "\r\n" => self.emit(Kind::Newline, 2),
            '#' => self.line_comment(),
            '/' if two == "//" => self.line_comment(),
            '/' if two == "/*" => {
                let len = rest[2..].find("*/").map_or(rest.len(), |i| i + 4);
                self.emit(Kind::Comment, len);
            }
            '"' => {
                self.emit(Kind::OQuote, 1);
                self.stack.push(Context::Quoted);
            }
            '<' if two == "<<" && self.heredoc_start() => {}
            '0'..='9' => {
                let len = number_length(rest);
                self.emit(Kind::Number, len);
            }
            c if c.is_alphabetic() || c == '_' => {
                let len = rest
                    .char_indices()
                    .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '-'))
                    .map_or(rest.len(), |(i, _)| i);
                self.emit(Kind::Ident, len);
            }
            '{' => {
                if let Some(Context::Expr { braces }) = self.stack.last_mut() {
                    *braces += 1;
                }
                self.emit(Kind::OBrace, 1);
            }
            '}' => self.close_brace(1),
            '~' if two == "~}" && self.closes_template() => self.close_brace(2),
            _ => {
                let (kind, len) = operator(rest, c);
                self.emit(kind, len);
            }
        }
    }

    /// Whether a `}` here would end an interpolation or directive.
    fn closes_template(&self) -> bool {
        self.stack.len() > 1 && matches!(self.stack.last(), Some(Context::Expr { braces: 0 }))
    }

    fn close_brace(&mut self, len: usize) {
        if self.closes_template() {
            self.stack.pop();
            self.emit(Kind::TemplateSeqEnd, len);
            return;
        }
        if let Some(Context::Expr { braces }) = self.stack.last_mut() {
            *braces = braces.saturating_sub(1);
        }
        self.emit(Kind::CBrace, len);
    }

    fn line_comment(&mut self) {
        let rest = self.rest();
        let len = rest.find('\n').map_or(rest.len(), |i| i + 1);
        self.emit(Kind::Comment, len);
    }

    /// `<<EOT` or `<<-EOT` followed by a newline opens a heredoc; anything
    /// else starting with `<<` is left to the operators.
    fn heredoc_start(&mut self) -> bool {
        let rest = self.rest();
        let after = rest[2..].strip_prefix('-').unwrap_or(&rest[2..]);
        let marker_len = after
            .char_indices()
            .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .map_or(after.len(), |(i, _)| i);
        if marker_len == 0 {
            return false;
        }
        let marker = after[..marker_len].to_string();
        let newline = if after[marker_len..].starts_with("\r\n") {
            2
        } else if after[marker_len..].starts_with('\n') {
            1
        } else {
            return false;
        };
        let len = rest.len() - after.len() + marker_len + newline;
        self.emit(Kind::OHeredoc, len);
        self.stack.push(Context::Heredoc {
            marker,
            at_line_start: true,
        });
        true
    }

    fn quoted(&mut self) {
        let rest = self.rest();
        if rest.starts_with('"') {
            self.stack.pop();
            self.emit(Kind::CQuote, 1);
            return;
        }
        if self.template_sequence() {
            return;
        }
        let bytes = rest.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'"' | b'\n' => break,
                b'\\' => i += 2,
                b'$' | b'%' if bytes.get(i + 1) == Some(&b'{') => break,
                b'$' | b'%' if bytes.get(i + 1) == Some(&bytes[i]) => i += 2,
                _ => i += 1,
            }
        }
        let len = i.min(rest.len());
        if len == 0 {
            // An unterminated string: give the newline back to the
            // expression, where it belongs.
            self.stack.pop();
            return;
        }
        self.emit(Kind::QuotedLit, len);
    }

    /// `${`, `${~`, `%{` or `%{~` opens an expression inside a template.
    fn template_sequence(&mut self) -> bool {
        let rest = self.rest();
        let kind = if rest.starts_with("${") {
            Kind::TemplateInterp
        } else if rest.starts_with("%{") {
            Kind::TemplateControl
        } else {
            return false;
        };
        let len = if rest[2..].starts_with('~') { 3 } else { 2 };
        self.emit(kind, len);
        self.stack.push(Context::Expr { braces: 0 });
        true
    }

    fn heredoc(&mut self) {
        let Some(Context::Heredoc {
            marker,
            at_line_start,
        }) = self.stack.last()
        else {
            return;
        };
        let (marker, at_line_start) = (marker.clone(), *at_line_start);
        let rest = &self.src[self.pos..];
        if at_line_start {
            let indent = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            let after = &rest[indent..];
            // The closing marker may have spaces on either side; they
            // are the marker's, written back as they are.
            let tail = after
                .strip_prefix(marker.as_str())
                .map(|t| t.trim_start_matches([' ', '\t']));
            if let Some(tail) = tail
                && (tail.is_empty() || tail.starts_with('\n') || tail.starts_with("\r\n"))
            {
                let len = rest.len() - tail.len();
                self.stack.pop();
                self.emit(Kind::CHeredoc, len);
                return;
            }
            if let Some(Context::Heredoc { at_line_start, .. }) = self.stack.last_mut() {
                *at_line_start = false;
            }
        }
        if self.template_sequence() {
            return;
        }
        let bytes = rest.as_bytes();
        let mut i = 0;
        let mut ends_line = false;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    i += 1;
                    ends_line = true;
                    break;
                }
                b'$' | b'%' if bytes.get(i + 1) == Some(&b'{') => break,
                b'$' | b'%' if bytes.get(i + 1) == Some(&bytes[i]) => i += 2,
                _ => i += 1,
            }
        }
        let len = i.min(rest.len());
        if let Some(Context::Heredoc { at_line_start, .. }) = self.stack.last_mut() {
            *at_line_start = ends_line;
        }
        self.emit(Kind::StringLit, len);
    }
}

fn number_length(s: &str) -> usize {
    let bytes = s.as_bytes();
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut len = digits(0);
    if bytes.get(len) == Some(&b'.') && bytes.get(len + 1).is_some_and(u8::is_ascii_digit) {
        len += 1 + digits(len + 1);
    }
    if matches!(bytes.get(len), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(len + 1), Some(b'+' | b'-')));
        let exponent = digits(len + 1 + sign);
        if exponent > 0 {
            len += 1 + sign + exponent;
        }
    }
    len
}

fn operator(rest: &str, c: char) -> (Kind, usize) {
    let two = rest.get(..2).unwrap_or("");
    match two {
        "==" => return (Kind::EqualOp, 2),
        "=>" => return (Kind::FatArrow, 2),
        "!=" => return (Kind::NotEqual, 2),
        "<=" => return (Kind::LessEq, 2),
        ">=" => return (Kind::GreaterEq, 2),
        "&&" => return (Kind::And, 2),
        "||" => return (Kind::Or, 2),
        _ => {}
    }
    if rest.starts_with("...") {
        return (Kind::Ellipsis, 3);
    }
    let kind = match c {
        '[' => Kind::OBrack,
        ']' => Kind::CBrack,
        '(' => Kind::OParen,
        ')' => Kind::CParen,
        ',' => Kind::Comma,
        '.' => Kind::Dot,
        '=' => Kind::Equal,
        '?' => Kind::Question,
        ':' => Kind::Colon,
        '+' => Kind::Plus,
        '-' => Kind::Minus,
        '*' => Kind::Star,
        '/' => Kind::Slash,
        '%' => Kind::Percent,
        '!' => Kind::Bang,
        '<' => Kind::Less,
        '>' => Kind::Greater,
        _ => Kind::Other,
    };
    (kind, c.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, String)> {
        tokens(src)
            .into_iter()
            .filter(|t| t.kind != Kind::Eof)
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn a_template_interpolation_nests_expressions_and_braces() {
        use Kind::*;
        let got = kinds(r#"a = "x${ {b = 1}.b }y""#);
        let want = [
            (Ident, "a"),
            (Equal, "="),
            (OQuote, "\""),
            (QuotedLit, "x"),
            (TemplateInterp, "${"),
            (OBrace, "{"),
            (Ident, "b"),
            (Equal, "="),
            (Number, "1"),
            (CBrace, "}"),
            (Dot, "."),
            (Ident, "b"),
            (TemplateSeqEnd, "}"),
            (QuotedLit, "y"),
            (CQuote, "\""),
        ];
        let want: Vec<(Kind, String)> = want.iter().map(|(k, s)| (*k, s.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn escapes_and_doubled_markers_stay_literal() {
        let got = kinds(r#""a\"$${x}%%{y}""#);
        assert_eq!(got[1], (Kind::QuotedLit, r#"a\"$${x}%%{y}"#.to_string()));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn a_heredoc_keeps_its_lines_and_its_closing_indentation() {
        use Kind::*;
        let got = kinds("x = <<-EOT\n  one ${a~}\n  EOT\ny = 1\n");
        let want = [
            (Ident, "x"),
            (Equal, "="),
            (OHeredoc, "<<-EOT\n"),
            (StringLit, "  one "),
            (TemplateInterp, "${"),
            (Ident, "a"),
            (TemplateSeqEnd, "~}"),
            (StringLit, "\n"),
            (CHeredoc, "  EOT"),
            (Newline, "\n"),
            (Ident, "y"),
            (Equal, "="),
            (Number, "1"),
            (Newline, "\n"),
        ];
        let want: Vec<(Kind, String)> = want.iter().map(|(k, s)| (*k, s.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn line_comments_carry_their_newline_and_block_comments_do_not() {
        let mut got = tokens("# a\n/* b\n c */ // d\r\n  ");
        assert_eq!(got.pop().map(|t| (t.kind, t.spaces)), Some((Kind::Eof, 2)));
        let texts: Vec<&str> = got.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["# a\n", "/* b\n c */", "// d\r\n"]);
        assert!(got[0].ends_line() && !got[1].ends_line() && got[2].ends_line());
        assert_eq!(got[2].spaces, 1);
    }

    #[test]
    fn numbers_and_operators_take_their_longest_form() {
        use Kind::*;
        let got: Vec<Kind> = tokens("1.5e+3 a.0 x... <= => == != && || !a")
            .into_iter()
            .map(|t| t.kind)
            .filter(|&k| k != Eof)
            .collect();
        assert_eq!(
            got,
            [
                Number, Ident, Dot, Number, Ident, Ellipsis, LessEq, FatArrow, EqualOp, NotEqual,
                And, Or, Bang, Ident
            ]
        );
    }
}
