//! Everything the user reads: plans, diagnostics, progress, values, and
//! the JSON forms of plans and state. Renderers return strings with ANSI
//! styles always in them; the output streams drop the styles when colour
//! is off (not a terminal, `NO_COLOR`, `-no-color`), so rendering is the
//! same code in every case and tests strip styles to compare text.

pub mod diagnostics;
pub mod json;
pub mod markdown;
pub mod plan;
pub mod progress;
pub mod show;
pub mod style;
pub mod values;

use std::io::Write;

/// Whether colour may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMode {
    /// When the stream is a terminal and `NO_COLOR` is unset.
    Auto,
    Never,
}

/// The two output streams: data on stdout, diagnostics and progress on
/// stderr.
pub struct Output {
    out: anstream::AutoStream<std::io::Stdout>,
    err: anstream::AutoStream<std::io::Stderr>,
}

impl Output {
    pub fn new(mode: ColorMode) -> Output {
        let choice = match mode {
            ColorMode::Auto => anstream::ColorChoice::Auto,
            ColorMode::Never => anstream::ColorChoice::Never,
        };
        Output {
            out: anstream::AutoStream::new(std::io::stdout(), choice),
            err: anstream::AutoStream::new(std::io::stderr(), choice),
        }
    }

    /// Writes to stdout. A closed pipe is not an error worth reporting.
    pub fn out(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    pub fn err(&mut self, text: &str) {
        let _ = self.err.write_all(text.as_bytes());
        let _ = self.err.flush();
    }
}

/// Removes ANSI styles (for tests and for plain-text destinations).
pub fn strip_styles(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}
