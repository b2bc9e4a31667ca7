//! How large the values the language builds may grow. Past these sizes an
//! expression is refused with an error at its place in the file instead
//! of running the machine out of memory; each limit is far beyond what a
//! real configuration needs (README: "Limits").

use super::value::Value;

/// The most elements a list, set, tuple, map or object may hold: a
/// million. A stack of ten thousand servers is ten thousand elements;
/// `setproduct(range(1000), range(1000), range(1000))` is a billion.
pub const MAX_ELEMENTS: usize = 1_000_000;

/// The most bytes a string may hold: 64 MiB. `user_data` is capped at
/// 64 KiB by Nova and a rendered template is rarely a MiB; a string this
/// size copied into a thousand instances is already tens of GiB.
pub const MAX_STRING_BYTES: usize = 64 * 1024 * 1024;

/// What one expression may build in all (its function calls, `for`
/// expressions and templates together): ten collections and four strings
/// of the largest size. Each result may be within its limit while a `for`
/// over a large collection builds one for every element.
pub const MAX_BUILT_ELEMENTS: usize = 10 * MAX_ELEMENTS;
pub const MAX_BUILT_BYTES: usize = 4 * MAX_STRING_BYTES;

/// The deepest a resource's or output's value may nest, and what
/// `jsondecode` and `yamldecode` read: 50 levels. The state and plan
/// files store a value beside its type, two JSON levels for each of its
/// own, and they must read back within the 128 levels the JSON reader
/// allows; no real document or attribute comes close.
pub const MAX_NESTING: usize = 50;

/// The largest file `file()` and `templatefile()` read, the size of the
/// string they return.
pub const MAX_FILE_BYTES: u64 = MAX_STRING_BYTES as u64;

/// The largest file `filebase64()` reads: three quarters of a string, so
/// that its Base64 text (four bytes for every three) still fits one.
pub const MAX_BASE64_FILE_BYTES: u64 = MAX_FILE_BYTES / 4 * 3;

/// `64 MiB`, `1 MiB`: a byte count as messages say it.
pub fn bytes_text(bytes: usize) -> String {
    crate::regular_file::size_text(bytes as u64)
}

/// Whether `v` nests collections deeper than `levels` (a string or
/// number is level 0, a list of them level 1). Looks no deeper than that.
pub fn nests_deeper_than(v: &Value, levels: usize) -> bool {
    let v = v.unmark().0;
    let children: Box<dyn Iterator<Item = &Value>> = match v {
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
            Box::new(items.iter())
        }
        Value::Map(_, items) | Value::Object(items) => Box::new(items.values()),
        _ => return false,
    };
    if levels == 0 {
        return true;
    }
    children
        .into_iter()
        .any(|c| nests_deeper_than(c, levels - 1))
}

/// The message for a value that nests deeper than `MAX_NESTING`.
pub fn too_deep(what: &str) -> String {
    format!(
        "{what} nests collections more than {MAX_NESTING} levels deep, more than the state can record"
    )
}

/// Refuses a collection of `len` elements, saying how many it would have.
pub fn check_elements(len: usize) -> Result<(), String> {
    if len <= MAX_ELEMENTS {
        Ok(())
    } else {
        Err(format!(
            "the result would have {len} elements, more than the {MAX_ELEMENTS} a collection may hold"
        ))
    }
}

/// Refuses a string of `len` bytes.
pub fn check_string(len: usize) -> Result<(), String> {
    if len <= MAX_STRING_BYTES {
        Ok(())
    } else {
        Err(format!(
            "the result would be longer than {}, the most a string may hold",
            bytes_text(MAX_STRING_BYTES)
        ))
    }
}

/// Refuses a value too large to hold: a collection of too many elements
/// or a string too long, at its top level (what was just built).
pub fn check_value(v: &Value) -> Result<(), String> {
    match v.unmark().0 {
        Value::String(s) => check_string(s.len()),
        other => check_elements(other.length().unwrap_or(0)),
    }
}

/// What one evaluation has built so far, against `MAX_BUILT_ELEMENTS`
/// and `MAX_BUILT_BYTES`. Each value is counted once, at its top level,
/// when it is built: what it shares with existing values costs nothing.
#[derive(Debug, Default)]
pub struct Built {
    elements: usize,
    bytes: usize,
}

impl Built {
    /// Counts a value just built, refusing it when the evaluation has
    /// built too much in all.
    pub fn count(&mut self, v: &Value) -> Result<(), String> {
        match v.unmark().0 {
            Value::String(s) => self.bytes = self.bytes.saturating_add(s.len()),
            other => {
                self.elements = self.elements.saturating_add(other.length().unwrap_or(0));
            }
        }
        if self.elements > MAX_BUILT_ELEMENTS {
            return Err(format!(
                "this expression builds more than {MAX_BUILT_ELEMENTS} elements in all, the most one expression may build"
            ));
        }
        if self.bytes > MAX_BUILT_BYTES {
            return Err(format!(
                "this expression builds more than {} of strings in all, the most one expression may build",
                bytes_text(MAX_BUILT_BYTES)
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::value::Type;

    #[test]
    fn collections_and_strings_have_limits() {
        assert_eq!(check_elements(MAX_ELEMENTS), Ok(()));
        assert_eq!(
            check_elements(1_000_000_000),
            Err("the result would have 1000000000 elements, more than the 1000000 a collection may hold".into())
        );
        assert_eq!(check_string(MAX_STRING_BYTES), Ok(()));
        assert_eq!(
            check_string(MAX_STRING_BYTES + 1),
            Err("the result would be longer than 64 MiB, the most a string may hold".into())
        );
    }

    #[test]
    fn nesting_is_counted_in_levels_of_collections() {
        let mut v = Value::from("leaf");
        assert!(!nests_deeper_than(&v, 0));
        for _ in 0..3 {
            v = Value::tuple(vec![Value::from(1), v]);
        }
        assert!(nests_deeper_than(&v, 2));
        assert!(!nests_deeper_than(&v, 3));
        assert!(!nests_deeper_than(&Value::tuple(vec![]), 1));
        let marked = Value::object([("a".to_string(), v.mark_sensitive())].into());
        assert!(nests_deeper_than(&marked, 3));
        assert!(!nests_deeper_than(&marked, 4));
    }

    #[test]
    fn an_evaluation_counts_what_it_builds() {
        let mut built = Built::default();
        let list = Value::list(Type::Number, vec![Value::from(1); 1000]);
        for _ in 0..MAX_BUILT_ELEMENTS / 1000 {
            assert_eq!(built.count(&list), Ok(()));
        }
        assert_eq!(
            built.count(&list),
            Err("this expression builds more than 10000000 elements in all, the most one expression may build".into())
        );
        let mut built = Built::default();
        let text = Value::string("x".repeat(1024 * 1024));
        for _ in 0..256 {
            assert_eq!(built.count(&text), Ok(()));
        }
        assert_eq!(
            built.count(&text.mark_sensitive()),
            Err("this expression builds more than 256 MiB of strings in all, the most one expression may build".into())
        );
    }
}
