//! The state: what stackform last knew about the objects it manages.
//!
//! `model` is the document (format version 1). Backends store it; the
//! local backend keeps `state/<workspace>.json` under the working
//! directory, never half-written, with a backup, an exclusive lock for the
//! whole run and an append-only journal during apply.

pub mod model;

pub use model::{Mode, OutputState, PathStepJson, ResourceState, State, Status};
