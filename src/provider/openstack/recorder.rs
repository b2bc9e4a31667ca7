//! The API recorder: when `STACKFORM_API_RECORD` names a file, every
//! answer the client receives is appended to it as one JSON line with the
//! service, method, path, status, content type and the *shape* of the
//! body: its field names and value types, never its values. Comparing
//! two recordings of one scenario (one against devcloud, one against a
//! real cloud) shows where devcloud's answers differ from OpenStack's
//! (`scripts/fidelity.py`).
//!
//! Only shapes are written, so no token, password or other secret that
//! crosses the wire can end up in a recording.

use super::Service;
use reqwest::Method;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};
use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// The environment variable naming the recording's file.
pub const RECORD_ENV: &str = "STACKFORM_API_RECORD";

fn sink() -> Option<&'static Mutex<File>> {
    static SINK: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    SINK.get_or_init(|| {
        let path = std::env::var_os(RECORD_ENV).filter(|p| !p.is_empty())?;
        // A recording that cannot be written must not fail the run it
        // observes.
        File::options()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(Mutex::new)
    })
    .as_ref()
}

/// The shape of a JSON value: objects keep their keys with the shapes of
/// their values, arrays the merged shape of their items, scalars become
/// their type's name (`string`, `integer`, `number`, `boolean`, `null`).
pub fn shape(value: &Value) -> Value {
    match value {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("boolean"),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!("integer"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => {
            let merged = items.iter().map(shape).reduce(merge).unwrap_or(Value::Null);
            Value::Array(vec![merged].into_iter().filter(|v| !v.is_null()).collect())
        }
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect::<Map<String, Value>>(),
        ),
    }
}

/// Two shapes as one: objects take the union of their keys; differing
/// scalar types are joined (`integer|null`).
fn merge(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Object(mut x), Value::Object(y)) => {
            for (k, v) in y {
                let joined = match x.remove(&k) {
                    Some(old) => merge(old, v),
                    None => v,
                };
                x.insert(k, joined);
            }
            Value::Object(x)
        }
        (Value::Array(x), Value::Array(y)) => {
            let items = x.into_iter().chain(y).reduce(merge);
            Value::Array(items.into_iter().collect())
        }
        (a, b) if a == b => a,
        (a, b) => {
            let mut names: Vec<String> = [a, b]
                .iter()
                .flat_map(|v| match v {
                    Value::String(s) => s.split('|').map(str::to_string).collect(),
                    other => vec![other.to_string()],
                })
                .collect();
            names.sort();
            names.dedup();
            json!(names.join("|"))
        }
    }
}

/// Appends one answer to the recording, when one is being made.
pub fn record(
    service: Service,
    method: &Method,
    path: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) {
    let Some(sink) = sink() else {
        return;
    };
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let body_shape = match serde_json::from_slice::<Value>(body) {
        Ok(v) => shape(&v),
        Err(_) if body.is_empty() => Value::Null,
        Err(_) => json!("non-JSON"),
    };
    let line = json!({
        "service": service.catalog_type(),
        "method": method.as_str(),
        "path": path,
        "status": status.as_u16(),
        "content_type": content_type.split(';').next().unwrap_or_default().trim(),
        "body": body_shape,
    });
    if let Ok(mut file) = sink.lock() {
        // One write per line, so concurrent requests never interleave.
        let _ = file.write_all(format!("{line}\n").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_keep_names_and_types_but_no_values() {
        let token_answer = json!({
            "server": {"id": "abc", "adminPass": "s3cret", "links": [{"rel": "self", "href": "x"}]},
            "count": 3,
            "ratio": 0.5,
            "items": [{"a": 1}, {"a": null, "b": true}],
        });
        let s = shape(&token_answer);
        assert_eq!(
            s,
            json!({
                "server": {"id": "string", "adminPass": "string", "links": [{"rel": "string", "href": "string"}]},
                "count": "integer",
                "ratio": "number",
                "items": [{"a": "integer|null", "b": "boolean"}],
            })
        );
        assert!(!s.to_string().contains("s3cret"));
        assert_eq!(shape(&json!([])), json!([]));
    }
}
