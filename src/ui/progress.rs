//! Apply progress on stderr: "Creating...", "Still creating... [10s
//! elapsed]", "Creation complete after 1s [id=...]".

use super::Output;
use super::style::{self, paint};
use crate::addr::ResourceAddr;
use crate::apply::hooks::{ApplyHooks, Operation};
use crate::diag::Diagnostic;
use std::sync::Mutex;
use std::time::Duration;

pub struct TerminalProgress {
    output: Mutex<Output>,
}

impl TerminalProgress {
    pub fn new(output: Output) -> TerminalProgress {
        TerminalProgress {
            output: Mutex::new(output),
        }
    }

    fn line(&self, addr: &ResourceAddr, text: &str) {
        let line = format!("{}: {text}\n", paint(style::HEADING, &addr.to_string()));
        if let Ok(mut out) = self.output.lock() {
            out.err(&line);
        }
    }
}

fn words(op: Operation) -> (&'static str, &'static str, &'static str) {
    match op {
        Operation::Create => ("Creating...", "Still creating...", "Creation complete"),
        Operation::Update => (
            "Modifying...",
            "Still modifying...",
            "Modifications complete",
        ),
        Operation::Delete => (
            "Destroying...",
            "Still destroying...",
            "Destruction complete",
        ),
        Operation::Read => ("Reading...", "Still reading...", "Read complete"),
    }
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn id_suffix(id: Option<&str>) -> String {
    id.map_or(String::new(), |id| format!(" [id={id}]"))
}

impl ApplyHooks for TerminalProgress {
    fn started(&self, addr: &ResourceAddr, op: Operation, id: Option<&str>) {
        self.line(addr, &format!("{}{}", words(op).0, id_suffix(id)));
    }

    fn still_running(&self, addr: &ResourceAddr, op: Operation, elapsed: Duration) {
        self.line(
            addr,
            &format!("{} [{} elapsed]", words(op).1, seconds(elapsed)),
        );
    }

    fn finished(&self, addr: &ResourceAddr, op: Operation, id: Option<&str>, elapsed: Duration) {
        self.line(
            addr,
            &format!(
                "{} after {}{}",
                words(op).2,
                seconds(elapsed),
                id_suffix(id)
            ),
        );
    }

    fn failed(&self, addr: &ResourceAddr, op: Operation, _error: &Diagnostic) {
        let what = match op {
            Operation::Create => "Creation failed",
            Operation::Update => "Modifications failed",
            Operation::Delete => "Destruction failed",
            Operation::Read => "Read failed",
        };
        self.line(addr, &paint(style::ERROR, what));
    }
}
