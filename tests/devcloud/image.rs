//! image.
