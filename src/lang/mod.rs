//! The configuration language: values (with unknown and sensitive marks),
//! type conversion, expression evaluation, references and built-in
//! functions. It knows nothing of resources, state or plans: callers give
//! it a [`eval::Scope`] that answers references.

pub mod convert;
pub mod eval;
pub mod functions;
pub mod limits;
pub mod number;
pub mod refs;
pub mod typeexpr;
pub mod value;

pub use eval::{EvalError, Evaluator, Scope, ScopeError};
pub use number::Number;
pub use value::{Path, PathStep, Type, Value};
