//! Diagnostics: errors and warnings about the user's input, with the place
//! in the source they point at. Every layer that reads user input reports
//! through this type so that `validate` can list all problems at once and
//! the UI can draw them one way. Rendering lives in `ui::diagnostics`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// A position in a source file: 1-based line and column (in characters),
/// 0-based byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
    pub byte: usize,
}

/// A range of source text with what is needed to show it: the file name
/// as the user knows it, start and end, and the text of the first line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceRange {
    pub filename: Arc<str>,
    pub start: Pos,
    pub end: Pos,
    pub line_text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub subject: Option<Box<SourceRange>>,
    /// The enclosing block, e.g. `resource "terraform_data" "web"`.
    pub context: Option<String>,
    /// The resource instance the problem belongs to, when it is known.
    pub address: Option<String>,
    /// What the references in the failing expression held:
    /// (`var.size`, `is 20`). Boxed: few diagnostics have any, and every
    /// `Result` carrying a diagnostic pays for its size (a thin box keeps
    /// it to one pointer).
    #[allow(clippy::box_collection)]
    pub values: Option<Box<Vec<(String, String)>>>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            subject: None,
            context: None,
            address: None,
            values: None,
        }
    }

    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(summary, detail)
        }
    }

    pub fn with_values(mut self, values: Vec<(String, String)>) -> Diagnostic {
        self.values = (!values.is_empty()).then(|| Box::new(values));
        self
    }

    pub fn values(&self) -> &[(String, String)] {
        self.values.as_deref().map_or(&[], Vec::as_slice)
    }

    pub fn with_subject(mut self, subject: Option<SourceRange>) -> Diagnostic {
        self.subject = subject.map(Box::new);
        self
    }

    pub fn with_context(mut self, context: impl Into<String>) -> Diagnostic {
        self.context = Some(context.into());
        self
    }

    pub fn with_address(mut self, address: impl Into<String>) -> Diagnostic {
        self.address = Some(address.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// A one-line form for logs and error chains; the terminal form with
    /// the source snippet is drawn by the UI.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(s) = &self.subject {
            write!(f, "{}:{}:{}: ", s.filename, s.start.line, s.start.column)?;
        }
        if let Some(a) = &self.address {
            write!(f, "{a}: ")?;
        }
        f.write_str(&self.summary)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// A list of diagnostics that is an error when any of them is one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.0.extend(other);
    }

    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Orders the diagnostics by file and position, those without a place
    /// first, so they read in the order of the source.
    pub fn sort_by_position(&mut self) {
        self.0.sort_by_key(|d| {
            d.subject
                .as_ref()
                .map(|s| (s.filename.clone(), s.start.byte))
        });
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// One source file's text with an index of line starts, to turn byte
/// ranges (which the parser gives) into line and column.
#[derive(Debug)]
pub struct SourceFile {
    /// The name shown to the user: relative to the working directory.
    pub name: Arc<str>,
    pub path: PathBuf,
    pub text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(
        name: impl Into<Arc<str>>,
        path: impl AsRef<Path>,
        text: impl Into<Arc<str>>,
    ) -> SourceFile {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            name: name.into(),
            path: path.as_ref().to_path_buf(),
            text,
            line_starts,
        }
    }

    /// A source file from the bytes read from it, which must be UTF-8;
    /// otherwise an error at the line and column of the first byte that
    /// is not.
    pub fn from_bytes(
        name: impl Into<Arc<str>>,
        path: impl AsRef<Path>,
        bytes: Vec<u8>,
    ) -> Result<SourceFile, Diagnostic> {
        let name: Arc<str> = name.into();
        match crate::regular_file::text(bytes) {
            Ok(text) => Ok(SourceFile::new(name, path, text)),
            Err(crate::regular_file::FileError::NotUtf8 {
                line,
                column,
                offset,
                byte,
                line_text,
            }) => {
                let at = Pos {
                    line,
                    column,
                    byte: offset,
                };
                Err(Diagnostic::error(
                    "Invalid character encoding",
                    format!(
                        "All input files must be UTF-8 encoded, and the byte 0x{byte:02x} at line {line}, column {column} of {name} is not. Ensure that UTF-8 encoding is selected in your editor."
                    ),
                )
                .with_subject(Some(SourceRange {
                    filename: name,
                    start: at,
                    end: at,
                    line_text,
                })))
            }
            Err(other) => Err(Diagnostic::error(
                "Invalid character encoding",
                format!("{name}: {other}."),
            )),
        }
    }

    pub fn pos(&self, byte: usize) -> Pos {
        let byte = byte.min(self.text.len());
        let line_index = self
            .line_starts
            .partition_point(|&s| s <= byte)
            .saturating_sub(1);
        let line_start = self.line_starts[line_index];
        let column = self
            .text
            .get(line_start..byte)
            .map_or(1, |s| s.chars().count() + 1);
        Pos {
            line: line_index + 1,
            column,
            byte,
        }
    }

    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = self.line_starts.get(line).map_or(self.text.len(), |&e| e);
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    pub fn range(&self, bytes: Range<usize>) -> SourceRange {
        let start = self.pos(bytes.start);
        let end = self.pos(bytes.end.max(bytes.start));
        SourceRange {
            filename: self.name.clone(),
            start,
            end,
            line_text: self.line_text(start.line).to_string(),
        }
    }

    /// A range from a parser's line and column (1-based).
    pub fn range_at(&self, line: usize, column: usize) -> SourceRange {
        let line_start = self
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let text = self.line_text(line);
        let byte = line_start
            + text
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(text.len(), |(i, _)| i);
        self.range(byte..byte)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_map_to_lines_and_character_columns() {
        let f = SourceFile::new("main.tf", "main.tf", "a = 1\nbé = var.x\n");
        let r = f.range(13..18);
        assert_eq!((r.start.line, r.start.column), (2, 7));
        assert_eq!(r.line_text, "bé = var.x");
        assert_eq!(f.range_at(2, 6).start.byte, 12);
    }

    #[test]
    fn bytes_that_are_not_utf8_are_refused_at_their_line_and_column() {
        let f = SourceFile::from_bytes("main.tf", "main.tf", b"a = 1\n".to_vec());
        assert_eq!(f.map(|f| f.text.to_string()).ok(), Some("a = 1\n".into()));
        let d = SourceFile::from_bytes(
            "main.tf",
            "main.tf",
            b"a = 1\nb\xc3\xa9 = \"\xff\"\n".to_vec(),
        )
        .err()
        .unwrap_or_else(|| panic!("accepted"));
        assert_eq!(d.summary, "Invalid character encoding");
        assert_eq!(
            d.detail,
            "All input files must be UTF-8 encoded, and the byte 0xff at line 2, column 7 of main.tf is not. Ensure that UTF-8 encoding is selected in your editor."
        );
        let subject = d.subject.unwrap_or_else(|| panic!("no subject"));
        assert_eq!(&*subject.filename, "main.tf");
        assert_eq!((subject.start.line, subject.start.column), (2, 7));
        assert_eq!(subject.start.byte, 13);
        assert_eq!(subject.line_text, "b\u{e9} = \"\u{fffd}\"");
    }
}
