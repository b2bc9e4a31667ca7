//! Interrupts during apply. The first SIGINT or SIGTERM stops new
//! operations from starting and lets those in flight finish (saying which
//! they are); the second stops waiting for them. Either way the run goes
//! on to persist the state, release the lock and exit non-zero: an
//! abandoned create stays a pending intent in the state, and the next run
//! looks for the object it may have made.

use crate::addr::ResourceAddr;
use crate::apply::hooks::{ApplyHooks, Operation};
use crate::diag::Diagnostic;
use crate::graph::walk::Cancel;
use crate::ui::style::{self, paint};
use crate::ui::{ColorMode, Output};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Apply's hooks, passed on to `inner`, keeping track of the operations
/// in flight so that an interrupt can say what it waits for.
pub struct Tracked<H> {
    inner: H,
    in_flight: Mutex<BTreeMap<ResourceAddr, Operation>>,
}

impl<H> Tracked<H> {
    pub fn new(inner: H) -> Tracked<H> {
        Tracked {
            inner,
            in_flight: Mutex::default(),
        }
    }

    fn in_flight(&self) -> Vec<(ResourceAddr, Operation)> {
        self.in_flight
            .lock()
            .map(|m| m.iter().map(|(a, o)| (a.clone(), *o)).collect())
            .unwrap_or_default()
    }

    fn done(&self, addr: &ResourceAddr) {
        if let Ok(mut m) = self.in_flight.lock() {
            m.remove(addr);
        }
    }
}

impl<H: ApplyHooks> ApplyHooks for Tracked<H> {
    fn started(&self, addr: &ResourceAddr, op: Operation, id: Option<&str>) {
        if let Ok(mut m) = self.in_flight.lock() {
            m.insert(addr.clone(), op);
        }
        self.inner.started(addr, op, id);
    }

    fn still_running(&self, addr: &ResourceAddr, op: Operation, elapsed: Duration) {
        self.inner.still_running(addr, op, elapsed);
    }

    fn finished(&self, addr: &ResourceAddr, op: Operation, id: Option<&str>, elapsed: Duration) {
        self.done(addr);
        self.inner.finished(addr, op, id, elapsed);
    }

    fn failed(&self, addr: &ResourceAddr, op: Operation, error: &Diagnostic) {
        self.done(addr);
        self.inner.failed(addr, op, error);
    }
}

fn gerund(op: Operation) -> &'static str {
    match op {
        Operation::Create => "creating",
        Operation::Update => "modifying",
        Operation::Delete => "destroying",
        Operation::Read => "reading",
    }
}

/// What the first interrupt says: what it waits for.
pub fn first_message(in_flight: &[(ResourceAddr, Operation)]) -> String {
    if in_flight.is_empty() {
        return "Interrupt received. Nothing is in progress; nothing new will be started."
            .to_string();
    }
    let mut text = format!(
        "Interrupt received. Nothing new will be started; waiting for {} operation(s) in progress to finish:\n",
        in_flight.len()
    );
    for (addr, op) in in_flight {
        text.push_str(&format!("  {} {addr}\n", gerund(*op)));
    }
    text.push_str("Interrupt again to stop waiting: what finished is recorded in the state, and\nthe next run looks for what an unfinished create made.");
    text
}

/// What the second interrupt says.
pub fn second_message(in_flight: &[(ResourceAddr, Operation)]) -> String {
    format!(
        "Second interrupt: no longer waiting for {} operation(s). What finished is recorded in the\nstate; the next run looks for what an unfinished create made.",
        in_flight.len()
    )
}

/// Waits for the next SIGINT or SIGTERM.
#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> Option<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Some(Signals {
            interrupt: signal(SignalKind::interrupt()).ok()?,
            terminate: signal(SignalKind::terminate()).ok()?,
        })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn new() -> Option<Signals> {
        Some(Signals)
    }

    async fn next(&mut self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Listens for interrupts for as long as the returned task runs (the
/// caller aborts it when the apply is over): the first cancels `cancel`,
/// the second abandons it.
pub fn watch<H: ApplyHooks + 'static>(
    cancel: Cancel,
    hooks: Arc<Tracked<H>>,
    color: ColorMode,
) -> tokio::task::JoinHandle<()> {
    // Installed before the task starts, so that no signal sent once this
    // returns is missed.
    let signals = Signals::new();
    tokio::spawn(async move {
        let Some(mut signals) = signals else {
            return;
        };
        signals.next().await;
        cancel.cancel();
        Output::new(color).err(&format!(
            "\n{}\n",
            paint(style::WARNING, &first_message(&hooks.in_flight()))
        ));
        signals.next().await;
        cancel.abandon();
        Output::new(color).err(&format!(
            "\n{}\n",
            paint(style::WARNING, &second_message(&hooks.in_flight()))
        ));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_interrupt_names_what_it_waits_for() {
        let addr: ResourceAddr = "openstack_compute_instance_v2.web[0]".parse().unwrap();
        let net: ResourceAddr = "openstack_networking_network_v2.old".parse().unwrap();
        assert_eq!(
            first_message(&[(addr, Operation::Create), (net, Operation::Delete)]),
            "Interrupt received. Nothing new will be started; waiting for 2 operation(s) in progress to finish:\n  creating openstack_compute_instance_v2.web[0]\n  destroying openstack_networking_network_v2.old\nInterrupt again to stop waiting: what finished is recorded in the state, and\nthe next run looks for what an unfinished create made."
        );
        assert_eq!(
            first_message(&[]),
            "Interrupt received. Nothing is in progress; nothing new will be started."
        );
    }

    #[test]
    fn tracked_hooks_forget_what_finished_or_failed() {
        let tracked = Tracked::new(crate::apply::hooks::Silent);
        let a: ResourceAddr = "terraform_data.a".parse().unwrap();
        let b: ResourceAddr = "terraform_data.b".parse().unwrap();
        tracked.started(&a, Operation::Create, None);
        tracked.started(&b, Operation::Delete, Some("x"));
        tracked.finished(&a, Operation::Create, Some("y"), Duration::ZERO);
        assert_eq!(tracked.in_flight(), [(b.clone(), Operation::Delete)]);
        tracked.failed(&b, Operation::Delete, &Diagnostic::error("x", "y"));
        assert!(tracked.in_flight().is_empty());
    }
}
