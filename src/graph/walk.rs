//! The concurrent graph walk that apply runs on.
//!
//! A node starts as soon as every node it depends on has finished, with at
//! most `parallelism` visits in flight. A failed node fails only what
//! depends on it (transitively); independent branches run to the end.
//! After each batch of finished visits the walker calls `settle` (apply
//! uses it to append the batch to the state journal with one fsync)
//! *before* any dependent of those nodes may start, so nothing is built on
//! top of an object whose record is not yet durable. Cancelling stops new
//! visits from starting; visits in flight finish and are settled.
//! Abandoning (a second interrupt) also drops the visits in flight at
//! their next await: what they had not finished is not settled, and is
//! reported as abandoned.

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// How one node's visit ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<E> {
    Done,
    Failed(E),
    /// The visit panicked (a bug): treated as a failure.
    Panicked,
    /// Not visited because a node it depends on failed (or was skipped).
    Skipped,
    /// Not visited because the walk was cancelled or settling failed.
    NotStarted,
    /// Started, then dropped unfinished because the walk was abandoned.
    Abandoned,
}

/// How far a walk has been told to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stop {
    Running,
    /// Start nothing new; let what runs finish.
    Cancelled,
    /// Start nothing new and drop what runs.
    Abandoned,
}

/// Stops a walk: `cancel` from starting new visits (the first Ctrl-C),
/// `abandon` also from waiting for the visits in flight (the second).
#[derive(Clone)]
pub struct Cancel {
    tx: Arc<watch::Sender<Stop>>,
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel {
            tx: Arc::new(watch::channel(Stop::Running).0),
        }
    }

    pub fn cancel(&self) {
        self.tx.send_if_modified(|stop| {
            let was = *stop;
            *stop = was.max(Stop::Cancelled);
            *stop != was
        });
    }

    pub fn abandon(&self) {
        self.tx.send_replace(Stop::Abandoned);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow() >= Stop::Cancelled
    }

    pub fn is_abandoned(&self) -> bool {
        *self.tx.borrow() == Stop::Abandoned
    }

    fn subscribe(&self) -> watch::Receiver<Stop> {
        self.tx.subscribe()
    }
}

impl Default for Cancel {
    fn default() -> Self {
        Cancel::new()
    }
}

/// Walks `graph` (edges go from a dependency to its dependent), visiting
/// each node with `visit`. Returns the outcome of every node.
///
/// `settle` receives the nodes that finished since the last call with
/// whether each succeeded; an error from it stops the walk (nothing new
/// starts) and is returned alongside the outcomes.
pub async fn walk<N, Ed, E, F, Fut, S>(
    graph: &DiGraph<N, Ed>,
    parallelism: usize,
    cancel: &Cancel,
    visit: F,
    mut settle: S,
) -> (HashMap<NodeIndex, Outcome<E>>, Option<E>)
where
    E: Send + 'static,
    F: Fn(NodeIndex) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    S: FnMut(&[(NodeIndex, bool)]) -> Result<(), E>,
{
    // The semaphore is what bounds parallelism: a task holds a permit for
    // its whole visit, so at most `parallelism` visits run at once even
    // though every ready node is spawned immediately.
    let permits = Arc::new(Semaphore::new(parallelism.max(1)));
    let mut waiting_on: Vec<usize> = graph
        .node_indices()
        .map(|n| graph.neighbors_directed(n, Direction::Incoming).count())
        .collect();
    let mut outcomes: HashMap<NodeIndex, Outcome<E>> = HashMap::new();
    let mut ready: Vec<NodeIndex> = graph
        .node_indices()
        .filter(|n| waiting_on[n.index()] == 0)
        .collect();
    let mut tasks: JoinSet<(NodeIndex, Result<(), E>)> = JoinSet::new();
    let mut task_nodes: HashMap<tokio::task::Id, NodeIndex> = HashMap::new();
    let mut cancelled = cancel.subscribe();
    let mut stopped = cancel.is_cancelled();
    let mut settle_error = None;

    loop {
        if cancel.is_abandoned() && !tasks.is_empty() {
            // Dropped at their next await; those that finished first are
            // settled below like any other.
            tasks.abort_all();
        }
        if !stopped {
            for n in ready.drain(..) {
                let fut = visit(n);
                let permits = permits.clone();
                let handle = tasks.spawn(async move {
                    // The semaphore is never closed, so acquiring cannot fail.
                    let _permit = permits.acquire_owned().await;
                    (n, fut.await)
                });
                task_nodes.insert(handle.id(), n);
            }
        }
        if tasks.is_empty() {
            break;
        }
        // Wait for one visit to finish (or for cancellation), then take
        // every other finished visit too, and settle them as one batch.
        let watching = !cancel.is_abandoned();
        let first = tokio::select! {
            joined = tasks.join_next_with_id() => joined,
            _ = cancelled.changed(), if watching => {
                stopped = true;
                continue;
            }
        };
        let mut batch = Vec::new();
        let mut panicked = Vec::new();
        let mut next = first;
        while let Some(joined) = next {
            match joined {
                Ok((_, (n, result))) => batch.push((n, result)),
                Err(join_error) if join_error.is_cancelled() => {
                    outcomes.insert(task_nodes[&join_error.id()], Outcome::Abandoned);
                }
                // A visit that panicked: its node failed, the walk goes on.
                Err(join_error) => panicked.push(task_nodes[&join_error.id()]),
            }
            next = tasks.try_join_next_with_id();
        }
        let summary: Vec<(NodeIndex, bool)> = batch
            .iter()
            .map(|(n, r)| (*n, r.is_ok()))
            .chain(panicked.iter().map(|n| (*n, false)))
            .collect();
        if let Err(e) = settle(&summary) {
            settle_error = Some(e);
            stopped = true;
        }
        for n in panicked {
            outcomes.insert(n, Outcome::Panicked);
            skip_dependents(graph, n, &mut outcomes);
        }
        for (n, result) in batch {
            match result {
                Ok(()) => {
                    outcomes.insert(n, Outcome::Done);
                    for m in graph.neighbors_directed(n, Direction::Outgoing) {
                        waiting_on[m.index()] -= 1;
                        if waiting_on[m.index()] == 0 && !outcomes.contains_key(&m) {
                            ready.push(m);
                        }
                    }
                }
                Err(e) => {
                    outcomes.insert(n, Outcome::Failed(e));
                    skip_dependents(graph, n, &mut outcomes);
                }
            }
        }
        ready.sort();
    }
    for n in graph.node_indices() {
        outcomes.entry(n).or_insert(Outcome::NotStarted);
    }
    (outcomes, settle_error)
}

fn skip_dependents<N, Ed, E>(
    graph: &DiGraph<N, Ed>,
    failed: NodeIndex,
    outcomes: &mut HashMap<NodeIndex, Outcome<E>>,
) {
    let mut stack: Vec<NodeIndex> = graph
        .neighbors_directed(failed, Direction::Outgoing)
        .collect();
    while let Some(m) = stack.pop() {
        if outcomes.contains_key(&m) {
            continue;
        }
        outcomes.insert(m, Outcome::Skipped);
        stack.extend(graph.neighbors_directed(m, Direction::Outgoing));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// a -> b -> c, a -> d, e (independent)
    fn sample() -> (DiGraph<&'static str, ()>, HashMap<&'static str, NodeIndex>) {
        let mut g = DiGraph::new();
        let mut ix = HashMap::new();
        for n in ["a", "b", "c", "d", "e"] {
            ix.insert(n, g.add_node(n));
        }
        g.add_edge(ix["a"], ix["b"], ());
        g.add_edge(ix["b"], ix["c"], ());
        g.add_edge(ix["a"], ix["d"], ());
        (g, ix)
    }

    #[tokio::test]
    async fn dependencies_finish_before_dependents_start() {
        let (g, ix) = sample();
        let finished = Arc::new(Mutex::new(Vec::new()));
        let names: HashMap<NodeIndex, &str> = ix.iter().map(|(k, v)| (*v, *k)).collect();
        let f2 = finished.clone();
        let (outcomes, err) = walk(
            &g,
            4,
            &Cancel::new(),
            move |n| {
                let finished = f2.clone();
                let name = names[&n];
                async move {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    finished.lock().unwrap().push(name);
                    Ok::<(), String>(())
                }
            },
            |_| Ok(()),
        )
        .await;
        assert!(err.is_none());
        assert!(outcomes.values().all(|o| *o == Outcome::Done));
        let order = finished.lock().unwrap().clone();
        let pos = |n: &str| order.iter().position(|x| *x == n).unwrap();
        assert!(pos("a") < pos("b") && pos("b") < pos("c") && pos("a") < pos("d"));
    }

    #[tokio::test]
    async fn a_failure_skips_only_its_dependents() {
        let (g, ix) = sample();
        let b = ix["b"];
        let (outcomes, _) = walk(
            &g,
            2,
            &Cancel::new(),
            move |n| async move {
                if n == b {
                    Err("boom".to_string())
                } else {
                    Ok(())
                }
            },
            |_| Ok(()),
        )
        .await;
        assert_eq!(outcomes[&ix["b"]], Outcome::Failed("boom".into()));
        assert_eq!(outcomes[&ix["c"]], Outcome::Skipped);
        for n in ["a", "d", "e"] {
            assert_eq!(outcomes[&ix[n]], Outcome::Done, "{n}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_runs_more_than_the_parallelism() {
        let mut g: DiGraph<(), ()> = DiGraph::new();
        for _ in 0..40 {
            g.add_node(());
        }
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (running.clone(), peak.clone());
        let (outcomes, _) = walk(
            &g,
            3,
            &Cancel::new(),
            move |_| {
                let (running, peak) = (r.clone(), p.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok::<(), ()>(())
                }
            },
            |_| Ok(()),
        )
        .await;
        assert_eq!(outcomes.len(), 40);
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn settling_happens_before_dependents_start() {
        let (g, ix) = sample();
        let settled = Arc::new(Mutex::new(Vec::<NodeIndex>::new()));
        let s2 = settled.clone();
        let parents: HashMap<NodeIndex, Vec<NodeIndex>> = g
            .node_indices()
            .map(|n| (n, g.neighbors_directed(n, Direction::Incoming).collect()))
            .collect();
        let (outcomes, _) = walk(
            &g,
            4,
            &Cancel::new(),
            move |n| {
                let settled = s2.clone();
                let parents = parents[&n].clone();
                async move {
                    let s = settled.lock().unwrap();
                    if parents.iter().all(|p| s.contains(p)) {
                        Ok(())
                    } else {
                        Err("parent not settled")
                    }
                }
            },
            |batch| {
                settled
                    .lock()
                    .unwrap()
                    .extend(batch.iter().map(|(n, _)| *n));
                Ok(())
            },
        )
        .await;
        assert!(
            outcomes.values().all(|o| *o == Outcome::Done),
            "{outcomes:?}"
        );
        assert_eq!(settled.lock().unwrap().len(), ix.len());
    }

    #[tokio::test]
    async fn cancelling_stops_new_work() {
        let (g, ix) = sample();
        let cancel = Cancel::new();
        let c2 = cancel.clone();
        let a = ix["a"];
        let (outcomes, _) = walk(
            &g,
            1,
            &cancel,
            move |n| {
                let cancel = c2.clone();
                async move {
                    if n == a {
                        cancel.cancel();
                    }
                    Ok::<(), ()>(())
                }
            },
            |_| Ok(()),
        )
        .await;
        assert_eq!(outcomes[&ix["a"]], Outcome::Done);
        assert_eq!(outcomes[&ix["c"]], Outcome::NotStarted);
    }

    #[tokio::test]
    async fn abandoning_drops_the_visits_in_flight() {
        let (g, ix) = sample();
        let cancel = Cancel::new();
        let c2 = cancel.clone();
        let (a, e) = (ix["a"], ix["e"]);
        let (outcomes, _) = walk(
            &g,
            2,
            &cancel,
            move |n| {
                let cancel = c2.clone();
                async move {
                    if n == a {
                        // Never finishes on its own.
                        std::future::pending::<()>().await;
                    }
                    if n == e {
                        cancel.cancel();
                        cancel.abandon();
                    }
                    Ok::<(), ()>(())
                }
            },
            |_| Ok(()),
        )
        .await;
        assert_eq!(outcomes[&ix["a"]], Outcome::Abandoned);
        assert_eq!(outcomes[&ix["e"]], Outcome::Done);
        assert_eq!(outcomes[&ix["b"]], Outcome::NotStarted);
    }

    #[tokio::test]
    async fn a_settle_error_stops_the_walk() {
        let (g, ix) = sample();
        let (outcomes, err) = walk(
            &g,
            1,
            &Cancel::new(),
            |_| async { Ok::<(), String>(()) },
            |_| Err("disk full".to_string()),
        )
        .await;
        assert_eq!(err.as_deref(), Some("disk full"));
        assert_eq!(outcomes[&ix["c"]], Outcome::NotStarted);
    }
}
