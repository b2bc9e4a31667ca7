//! The palette, named by meaning.

use anstyle::{AnsiColor, Style};

pub const CREATE: Style = AnsiColor::Green.on_default();
pub const UPDATE: Style = AnsiColor::Yellow.on_default();
pub const DELETE: Style = AnsiColor::Red.on_default();
pub const READ: Style = AnsiColor::Cyan.on_default();
pub const HEADING: Style = Style::new().bold();
pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const WARNING: Style = AnsiColor::Yellow.on_default().bold();
pub const SUCCESS: Style = AnsiColor::Green.on_default().bold();
pub const DIM: Style = Style::new().dimmed();

/// `text` in `style`.
pub fn paint(style: Style, text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    format!("{style}{text}{style:#}")
}
