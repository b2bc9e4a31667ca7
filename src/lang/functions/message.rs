//! Error messages of built-in functions, built so that they can be shown
//! without the values of sensitive arguments.
//!
//! Functions see their arguments without sensitive marks (see
//! [`super::Marks`]), so a function cannot know whether a value it is
//! about to quote is a secret. Instead its message says which pieces come
//! from which argument, and [`super::call`], which knows the marks, shows
//! each piece or what stands in for it. Text handed over as a `String`
//! (typically built with `format!`) may hold anything: it is shown only
//! when no argument is sensitive, and otherwise replaced as a whole.

use crate::lang::convert::ConvertError;
use crate::lang::value::{PathStep, Type};
use std::borrow::Cow;
use std::fmt;

/// The text of a function's error, in pieces.
#[derive(Debug, Clone, Default)]
pub struct Message {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    /// Text that holds no argument value: fixed words, types, counts,
    /// positions, parameter names.
    Text(Cow<'static, str>),
    /// Text taken from argument `arg`, and what to say in its place when
    /// that argument is sensitive.
    FromArg {
        arg: usize,
        text: String,
        instead: Cow<'static, str>,
    },
    /// Text that may hold the value of any argument.
    Unchecked(String),
}

impl Message {
    /// A message that starts with text holding no argument value (a
    /// type name or an index may be formatted in).
    pub fn text(text: impl Into<Cow<'static, str>>) -> Message {
        Message {
            pieces: vec![Piece::Text(text.into())],
        }
    }

    /// More text holding no argument value.
    pub fn then(mut self, text: impl Into<Cow<'static, str>>) -> Message {
        self.pieces.push(Piece::Text(text.into()));
        self
    }

    /// A string from argument `arg`, quoted; "this sensitive string" when
    /// the argument is sensitive.
    pub fn quoted(self, arg: usize, s: &str) -> Message {
        self.value(arg, format!("{s:?}"), &Type::String)
    }

    /// Text showing a value of type `ty` from argument `arg`; "this
    /// sensitive <type>" when the argument is sensitive.
    pub fn value(mut self, arg: usize, text: impl Into<String>, ty: &Type) -> Message {
        self.pieces.push(Piece::FromArg {
            arg,
            text: text.into(),
            instead: Cow::Owned(format!("this sensitive {}", ty.friendly_name())),
        });
        self
    }

    /// Text derived from argument `arg` (a parser's explanation that may
    /// quote it), left out when the argument is sensitive.
    pub fn detail(mut self, arg: usize, text: impl Into<String>) -> Message {
        self.pieces.push(Piece::FromArg {
            arg,
            text: text.into(),
            instead: Cow::Borrowed(""),
        });
        self
    }

    /// A failed conversion of argument `arg`: the place inside the value
    /// names map keys, which are part of the value, so a sensitive
    /// argument gets only the reason.
    pub fn conversion(arg: usize, e: &ConvertError) -> Message {
        let names_keys = e.path.iter().any(|s| matches!(s, PathStep::Key(_)));
        if names_keys {
            Message::default().detail_or(arg, e.describe(), e.describe_sensitive())
        } else {
            Message::text(e.describe())
        }
    }

    fn detail_or(mut self, arg: usize, text: String, instead: String) -> Message {
        self.pieces.push(Piece::FromArg {
            arg,
            text,
            instead: Cow::Owned(instead),
        });
        self
    }

    /// The message as shown when the arguments flagged in `sensitive` are
    /// sensitive; `None` when it holds text that may quote any of them.
    pub fn shown(&self, sensitive: &[bool]) -> Option<String> {
        let is_sensitive = |i: usize| sensitive.get(i).copied().unwrap_or(false);
        let any_sensitive = sensitive.iter().any(|s| *s);
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::FromArg { arg, text, instead } => {
                    out.push_str(if is_sensitive(*arg) { instead } else { text })
                }
                Piece::Unchecked(_) if any_sensitive => return None,
                Piece::Unchecked(t) => out.push_str(t),
            }
        }
        Some(out)
    }
}

impl fmt::Display for Message {
    /// The message with every value shown, as when nothing is sensitive.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => f.write_str(t)?,
                Piece::FromArg { text, .. } | Piece::Unchecked(text) => f.write_str(text)?,
            }
        }
        Ok(())
    }
}

impl From<&'static str> for Message {
    fn from(text: &'static str) -> Message {
        Message::text(text)
    }
}

impl From<String> for Message {
    /// Text built at run time may quote an argument: it is kept out of
    /// messages about sensitive arguments.
    fn from(text: String) -> Message {
        Message {
            pieces: vec![Piece::Unchecked(text)],
        }
    }
}

/// What a message says about a failure when its own text could reveal a
/// sensitive argument: which argument and of what type, never its value.
/// `at_fault` is the argument the error is about, if any; `sensitive`
/// lists (parameter name, type) for the sensitive arguments in order.
pub(super) fn withheld(at_fault: Option<(bool, &Type)>, sensitive: &[(&str, Type)]) -> String {
    match (at_fault, sensitive.first()) {
        (Some((true, ty)), _) => format!(
            "this sensitive {} is not valid here; the details are not shown, as they would reveal it",
            ty.friendly_name()
        ),
        (_, Some((param, ty))) => format!(
            "the details are not shown, as they could reveal the sensitive {} given for {param:?}",
            ty.friendly_name()
        ),
        (_, None) => "the details are not shown, as they could reveal a sensitive value".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_from_sensitive_arguments_are_described_by_type() {
        let m = Message::text("cannot convert ")
            .quoted(0, "hunter2")
            .then(" to number");
        assert_eq!(m.to_string(), "cannot convert \"hunter2\" to number");
        assert_eq!(
            m.shown(&[false]).as_deref(),
            Some("cannot convert \"hunter2\" to number")
        );
        assert_eq!(
            m.shown(&[true]).as_deref(),
            Some("cannot convert this sensitive string to number")
        );
    }

    #[test]
    fn only_the_sensitive_argument_is_hidden() {
        let m = Message::text("lookup failed to find key ")
            .quoted(1, "zz")
            .then(" in ")
            .value(0, "{...}", &Type::map(Type::String));
        assert_eq!(
            m.shown(&[true, false]).as_deref(),
            Some("lookup failed to find key \"zz\" in this sensitive map of string")
        );
        assert_eq!(
            m.shown(&[false, true]).as_deref(),
            Some("lookup failed to find key this sensitive string in {...}")
        );
    }

    #[test]
    fn details_are_dropped_and_unchecked_text_is_withheld() {
        let m = Message::text("invalid pattern").detail(0, ": hunter2 at 3");
        assert_eq!(m.shown(&[true]).as_deref(), Some("invalid pattern"));
        assert_eq!(m.to_string(), "invalid pattern: hunter2 at 3");
        let unchecked = Message::from(format!("failed on {:?}", "hunter2"));
        assert_eq!(unchecked.shown(&[true]), None);
        assert_eq!(
            unchecked.shown(&[false]).as_deref(),
            Some("failed on \"hunter2\"")
        );
        // A fixed text is always shown.
        assert_eq!(
            Message::from("argument must not be null")
                .shown(&[true])
                .as_deref(),
            Some("argument must not be null")
        );
    }

    #[test]
    fn withheld_messages_name_the_argument_and_its_type() {
        assert_eq!(
            withheld(Some((true, &Type::String)), &[("str", Type::String)]),
            "this sensitive string is not valid here; the details are not shown, as they would reveal it"
        );
        assert_eq!(
            withheld(
                Some((false, &Type::Number)),
                &[("vars", Type::map(Type::String))]
            ),
            "the details are not shown, as they could reveal the sensitive map of string given for \"vars\""
        );
    }
}
