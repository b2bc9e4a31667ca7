//! encoding functions.

use super::FuncSpec;

pub(super) static FUNCTIONS: &[&FuncSpec] = &[];
