//! compute.
