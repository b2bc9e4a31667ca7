//! stackform: plan and apply OpenStack infrastructure described in `.tf`
//! files.
//!
//! Data flows one way (see DESIGN.md): `config` parses `.tf` files into
//! typed blocks with source spans; `lang` evaluates expressions; `graph`
//! orders what depends on what; `plan` compares the configuration with the
//! `state` and asks each `provider` what would change; `apply` walks the
//! plan in parallel and records every finished step; `ui` renders; `cli`
//! wires the parts together. Nothing below `cli` prints. `regular_file`
//! is how every layer reads a file the user names: refusing devices,
//! FIFOs and directories, and files too large to read whole.

#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod addr;
pub mod apply;
pub mod cli;
pub mod config;
pub mod devcloud;
pub mod diag;
pub mod graph;
pub mod lang;
pub mod plan;
pub mod provider;
pub mod refresh;
pub mod regular_file;
pub mod state;
pub mod ui;
pub mod validate;

/// The version of stackform, recorded in the state and plan files.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
