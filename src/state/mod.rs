//! The state: what stackform last knew about the objects it manages.
//!
//! `model` is the document (format version 1). Backends store it; the
//! local backend (`local`) keeps `state/<workspace>.json` under the working
//! directory, never half-written, with a backup, an exclusive lock for the
//! whole run (`lock`) and an append-only journal during apply (`journal`).
//! `files` owns the paths and the durable way of writing them; `error` is
//! the one error type of the layer.

pub mod error;
mod files;
pub mod journal;
pub mod local;
pub mod lock;
pub mod model;

pub use error::StateError;
pub use files::STATE_DIR;
pub use journal::{Journal, JournalEntry};
pub use local::{LocalBackend, LockedState};
pub use lock::LockHolder;
pub use model::{Intent, Mode, OutputState, PathStepJson, ResourceState, State, Status};
