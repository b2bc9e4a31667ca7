//! What the OpenStack resource types and data sources share: schema
//! building, moving between the engine's values and the APIs' JSON,
//! error wording, `timeouts {}` and polling.

use super::error::OpenStackError;
use super::provider::Session;
use super::{Client, Service};
use crate::lang::value::{Type, Value};
use crate::provider::{
    ApplyFailure, AttrMode, AttributeSchema, BlockSchema, Nesting, ProviderError, Schema,
};
use serde_json::{Map, Value as Json};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Builds a schema attribute by attribute.
#[derive(Default)]
pub struct SchemaBuilder(Schema);

impl SchemaBuilder {
    pub fn attr(mut self, name: &str, ty: Type, mode: AttrMode) -> Self {
        self.0
            .attributes
            .insert(name.into(), AttributeSchema::new(ty, mode));
        self
    }

    /// An attribute whose change replaces the object.
    pub fn replacing(mut self, name: &str, ty: Type, mode: AttrMode) -> Self {
        self.0
            .attributes
            .insert(name.into(), AttributeSchema::new(ty, mode).force_new());
        self
    }

    pub fn sensitive(mut self, name: &str, ty: Type, mode: AttrMode) -> Self {
        self.0
            .attributes
            .insert(name.into(), AttributeSchema::new(ty, mode).sensitive());
        self
    }

    pub fn block(mut self, name: &str, block: BlockSchema) -> Self {
        self.0.blocks.insert(name.into(), block);
        self
    }

    /// A `timeouts { create = "30m" ... }` block for the operations given.
    pub fn timeouts(self, operations: &[&str]) -> Self {
        let mut inner = SchemaBuilder::default();
        for op in operations {
            inner = inner.attr(op, Type::String, AttrMode::Optional);
        }
        self.block(
            "timeouts",
            BlockSchema {
                nesting: Nesting::Single,
                schema: inner.build(),
                min_items: 0,
                max_items: Some(1),
                force_new: false,
            },
        )
    }

    /// `id` (computed) and `region` (optional, computed, replacing), which
    /// every OpenStack type has.
    pub fn with_id_and_region(self) -> Self {
        self.attr("id", Type::String, AttrMode::Computed).replacing(
            "region",
            Type::String,
            AttrMode::OptionalComputed,
        )
    }

    pub fn build(self) -> Schema {
        self.0
    }
}

/// A value's attribute as JSON (null when absent or unknown).
pub fn json_attr(value: &Value, name: &str) -> Json {
    value.get_attr(name).map_or(Json::Null, Value::to_json)
}

pub fn str_attr(value: &Value, name: &str) -> Option<String> {
    value
        .get_attr(name)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// The object's id, which every state value of an OpenStack type has.
pub fn id_of(value: &Value) -> Result<String, ProviderError> {
    str_attr(value, "id").ok_or_else(|| {
        ProviderError::new(
            "Object has no id",
            "The state of this object records no id, so it cannot be found in the cloud.",
        )
    })
}

/// A state value from the JSON object a type built, typed by its schema.
pub fn state_value(schema: &Schema, json: Json) -> Result<Value, ProviderError> {
    Value::from_json_typed(&json, &schema.value_type()).map_err(|e| {
        ProviderError::new(
            "Unexpected answer from the cloud",
            format!("The object read does not fit its schema: {e}."),
        )
    })
}

/// Copies the configuration's `timeouts` block into a state object, so
/// that it stays as written and is never drift.
pub fn keep_timeouts(state: &mut Map<String, Json>, config: &Value) {
    state.insert("timeouts".into(), json_attr(config, "timeouts"));
}

/// The longest `timeouts {}` value: a week. Far beyond any operation a
/// cloud finishes, and short enough that a deadline computed from it
/// cannot overflow.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long an operation may take: the `timeouts` block's value for it
/// (`30s`, `10m`, `1h30m`, from 1s to 168h), or `default`.
pub fn timeout(
    config: &Value,
    operation: &str,
    default: Duration,
) -> Result<Duration, ProviderError> {
    let Some(text) = config
        .get_attr("timeouts")
        .and_then(|t| t.get_attr(operation))
        .and_then(|v| v.as_str())
    else {
        return Ok(default);
    };
    parse_duration(text)
        .filter(|d| *d <= MAX_TIMEOUT)
        .ok_or_else(|| {
            ProviderError::new(
                "Invalid timeout",
                format!(
                    "timeouts.{operation} = {text:?} is not a duration from 1s to 168h; write it like 30s, 10m or 1h30m."
                ),
            )
        })
}

/// Checks every `timeouts` value a type has, so that a bad one stops the
/// plan rather than the apply.
pub fn check_timeouts(config: &Value, operations: &[&str]) -> Result<(), ProviderError> {
    for operation in operations {
        timeout(config, operation, Duration::ZERO)?;
    }
    Ok(())
}

/// `1h30m`, `10m`, `45s`: whole numbers of hours, minutes and seconds,
/// more than zero in all. `None` for anything else, sums too large to
/// hold included.
fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    (digits.is_empty() && total > 0).then(|| Duration::from_secs(total))
}

/// Polls `check` with backoff (0.25 s growing to 3 s) until it answers
/// `Some`, or `limit` passes. The time is tokio's, the clock `sleep` waits
/// on, so that the wait is measured the way it is spent.
pub async fn poll<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    // None: a limit too far away to represent, which never passes.
    let deadline = tokio::time::Instant::now().checked_add(limit);
    let mut delay = Duration::from_millis(250);
    loop {
        if let Some(done) = check().await? {
            return Ok(done);
        }
        let now = tokio::time::Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Err(ProviderError::new(
                "Timed out",
                format!(
                    "{what} did not finish within {} (see `timeouts {{}}`).",
                    humantime::format_duration(limit)
                ),
            ));
        }
        // A wait that would pass the deadline is cut short to end on it,
        // so the last look is taken at the limit: the operation gets all
        // the time it was given, and not a moment more.
        let next = now.checked_add(delay);
        let wake = match (next, deadline) {
            (Some(n), Some(d)) => n.min(d),
            (Some(n), None) => n,
            (None, Some(d)) => d,
            (None, None) => now,
        };
        tokio::time::sleep_until(wake).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(3));
    }
}

/// An API failure in the user's words: the service's message with the
/// method, path, status and request id.
pub fn failed(what: &str, e: OpenStackError) -> ProviderError {
    ProviderError::new(what, e.to_string())
}

pub fn apply_failed(what: &str, e: OpenStackError) -> ApplyFailure {
    ApplyFailure::from(failed(what, e))
}

/// A create call that failed. A 4xx answer means the cloud refused it and
/// created nothing; anything else (a 5xx, a timeout, a lost connection)
/// may have created the object, whose marker the next run looks for.
pub fn create_failed(what: &str, e: OpenStackError) -> ApplyFailure {
    let refused = e.status().is_some_and(|s| s.is_client_error());
    ApplyFailure {
        error: failed(what, e),
        partial: None,
        may_exist: !refused,
    }
}

/// The client, for a type's operation.
pub async fn client(session: &Arc<Session>) -> Result<Arc<Client>, ProviderError> {
    session.client().await
}

/// The region an object lives in: the one its configuration names, else
/// the provider's (null when neither says).
pub fn region_of(client: &Client, config: &Value) -> Json {
    match str_attr(config, "region") {
        Some(r) => Json::String(r),
        None => client
            .config()
            .region
            .clone()
            .map_or(Json::Null, Json::String),
    }
}

/// `GET path`, or `None` when the object is gone (404): how every type
/// reads one object.
pub async fn get_if_exists(
    client: &Client,
    service: Service,
    path: &str,
    what: &str,
) -> Result<Option<Json>, ProviderError> {
    match client.get_json::<Json>(service, path).await {
        Ok(body) => Ok(Some(body)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(failed(what, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn with_timeouts(create: &str) -> Value {
        Value::object(
            [(
                "timeouts".to_string(),
                Value::object([("create".to_string(), Value::from(create))].into()),
            )]
            .into(),
        )
    }

    #[test]
    fn timeouts_are_durations_from_a_second_to_a_week() {
        let create = |text: &str| timeout(&with_timeouts(text), "create", Duration::ZERO);
        assert_eq!(create("1s").ok(), Some(Duration::from_secs(1)));
        assert_eq!(create("1h30m").ok(), Some(Duration::from_secs(5400)));
        assert_eq!(create("168h").ok(), Some(MAX_TIMEOUT));
        assert_eq!(
            timeout(&Value::NULL, "create", Duration::from_secs(9)).ok(),
            Some(Duration::from_secs(9))
        );
        for wrong in [
            "0s",
            "169h",
            "18446744073709551615s",
            "9999999999999999999h",
            "10",
            "5d",
            "",
        ] {
            let e = create(wrong).err().map(|e| e.detail);
            assert_eq!(
                e,
                Some(format!(
                    "timeouts.create = {wrong:?} is not a duration from 1s to 168h; write it like 30s, 10m or 1h30m."
                )),
                "{wrong}"
            );
        }
        assert!(check_timeouts(&with_timeouts("200h"), &["create", "delete"]).is_err());
        assert!(check_timeouts(&with_timeouts("20m"), &["create", "delete"]).is_ok());
    }

    /// The times (since the start) at which `poll` looked, when the
    /// operation never finishes within `limit`, and how long the whole
    /// wait took.
    async fn looks_until_timeout(limit: Duration) -> (Vec<Duration>, Duration, String) {
        let started = tokio::time::Instant::now();
        let looks = Mutex::new(Vec::new());
        let result: Result<(), ProviderError> = poll("Server s1's build", limit, || {
            looks
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(started.elapsed());
            async { Ok(None) }
        })
        .await;
        let elapsed = started.elapsed();
        let detail = result.err().map(|e| e.detail).unwrap_or_default();
        (looks.into_inner().unwrap_or_default(), elapsed, detail)
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_fires_at_its_limit_after_a_last_look_there() {
        let limit = Duration::from_secs(6);
        let (looks, elapsed, detail) = looks_until_timeout(limit).await;
        assert_eq!(elapsed, limit, "gave up at {elapsed:?}");
        assert_eq!(looks.last(), Some(&limit), "looked at {looks:?}");
        assert_eq!(looks.first(), Some(&Duration::ZERO));
        assert!(
            looks
                .windows(2)
                .all(|w| w[1] - w[0] <= Duration::from_secs(3))
        );
        assert_eq!(
            detail,
            "Server s1's build did not finish within 6s (see `timeouts {}`)."
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_limit_is_waited_out_in_steps_of_at_most_three_seconds() {
        let limit = Duration::from_secs(60);
        let (looks, elapsed, _) = looks_until_timeout(limit).await;
        assert_eq!(elapsed, limit);
        assert_eq!(looks.last(), Some(&limit));
        // Each wait is half again as long as the one before (tokio's
        // timer rounds up to the millisecond).
        assert_eq!(
            looks[..4],
            [
                Duration::ZERO,
                Duration::from_millis(250),
                Duration::from_millis(625),
                Duration::from_millis(1188)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_finished_operation_returns_at_once() {
        let started = tokio::time::Instant::now();
        let mut calls = 0;
        let done = poll("Network n1", Duration::from_secs(6), || {
            calls += 1;
            let finished = calls == 3;
            async move { Ok(finished.then_some("ACTIVE")) }
        })
        .await;
        assert_eq!(done.ok(), Some("ACTIVE"));
        assert_eq!(started.elapsed(), Duration::from_millis(625));
    }
}
