//! What apply tells the outside world while it works. The engine calls
//! these; the terminal UI draws them ("Creating...", "Still creating...
//! [10s elapsed]"), tests record them.

use crate::addr::ResourceAddr;
use crate::diag::Diagnostic;
use std::time::Duration;

/// The provider call being made for an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Delete,
    /// A data source read during apply.
    Read,
}

pub trait ApplyHooks: Send + Sync {
    fn started(&self, _addr: &ResourceAddr, _op: Operation, _id: Option<&str>) {}
    fn still_running(&self, _addr: &ResourceAddr, _op: Operation, _elapsed: Duration) {}
    fn finished(
        &self,
        _addr: &ResourceAddr,
        _op: Operation,
        _id: Option<&str>,
        _elapsed: Duration,
    ) {
    }
    fn failed(&self, _addr: &ResourceAddr, _op: Operation, _error: &Diagnostic) {}
}

/// Hooks that do nothing.
pub struct Silent;

impl ApplyHooks for Silent {}

/// Hooks that remember every event, for tests.
#[derive(Default)]
pub struct Recording {
    pub events: std::sync::Mutex<Vec<String>>,
}

impl Recording {
    pub fn events(&self) -> Vec<String> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl ApplyHooks for Recording {
    fn started(&self, addr: &ResourceAddr, op: Operation, _id: Option<&str>) {
        if let Ok(mut e) = self.events.lock() {
            e.push(format!("start {op:?} {addr}"));
        }
    }

    fn finished(&self, addr: &ResourceAddr, op: Operation, _id: Option<&str>, _elapsed: Duration) {
        if let Ok(mut e) = self.events.lock() {
            e.push(format!("done {op:?} {addr}"));
        }
    }

    fn failed(&self, addr: &ResourceAddr, op: Operation, error: &Diagnostic) {
        if let Ok(mut e) = self.events.lock() {
            e.push(format!("fail {op:?} {addr}: {}", error.summary));
        }
    }
}
