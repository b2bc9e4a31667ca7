//! Questions on the terminal: values for variables that have none, and
//! approval before apply and destroy. Prompts go to stderr (stdout is for
//! data); answers come from stdin.

use crate::config::Variable;
use crate::ui::Output;
use crate::ui::style::{self, paint};
use std::io::BufRead;

/// Reads one line from stdin, without its line ending; `None` at end of
/// input.
fn read_line() -> Option<String> {
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end_matches(['\n', '\r']).to_string()),
    }
}

/// Asks for a variable's value.
pub fn variable(output: &mut Output, var: &Variable) -> Option<String> {
    let mut text = format!("{}\n", paint(style::HEADING, &format!("var.{}", var.name)));
    if let Some(d) = &var.description {
        text.push_str(&format!("  {d}\n"));
    }
    text.push_str(&format!("\n  {} ", paint(style::HEADING, "Enter a value:")));
    output.err(&text);
    let answer = read_line();
    output.err("\n");
    answer
}

/// Asks for approval; true only for `yes`.
pub fn approve(output: &mut Output, question: &str, explanation: &str) -> bool {
    output.err(&format!(
        "\n{}\n  {explanation}\n  Only 'yes' will be accepted to approve.\n\n  {} ",
        paint(style::HEADING, question),
        paint(style::HEADING, "Enter a value:")
    ));
    let answer = read_line();
    output.err("\n");
    answer.as_deref() == Some("yes")
}
