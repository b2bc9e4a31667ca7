//! When a failed request is tried again, and how long to wait first.
//!
//! Transient answers (429, 502, 503, 504) and connection failures are
//! retried with exponential backoff and full jitter (a random wait up to
//! `base × 2^n`, capped), or after the `Retry-After` the service asked
//! for. A request that may have changed something is not sent twice:
//! POST and PATCH are retried only when the connection failed before the
//! request left, or on 429 (the service refused to process it). Asking
//! Keystone for a token changes nothing whatever its method, so it is
//! retried on every transient answer, 500 included.
//! Streamed uploads are never retried.

use reqwest::{Method, StatusCode};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_retries: u32,
    /// The first retry waits up to this long.
    pub base_delay: Duration,
    /// No backoff wait is longer.
    pub max_delay: Duration,
    /// No `Retry-After` is honoured beyond this.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    pub fn new(max_retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(16),
            max_retry_after: Duration::from_secs(120),
        }
    }

    /// The upper bound of the wait before retry number `retry` (0 for the
    /// first).
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(20));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The wait before retry number `retry`; `unit` is a random number in
    /// [0, 1).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        match retry_after {
            Some(wait) => wait.min(self.max_retry_after),
            None => self.backoff_ceiling(retry).mul_f64(unit.clamp(0.0, 1.0)),
        }
    }
}

/// What sending a request a second time could do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// What its method says: GET, HEAD, PUT, DELETE and OPTIONS are
    /// idempotent, while POST and PATCH may create or change something
    /// twice.
    ByMethod,
    /// Nothing, whatever the method: a token request (`POST
    /// /v3/auth/tokens`) issues another token and changes nothing else.
    Harmless,
}

/// Whether an answer with this status is worth waiting out. A 500 is
/// only for harmless requests: Keystone answers it while its database or
/// cache is briefly out of reach, but from another service it may follow
/// a change half made.
pub fn is_transient(status: StatusCode, repeat: Repeat) -> bool {
    match status {
        StatusCode::TOO_MANY_REQUESTS
        | StatusCode::BAD_GATEWAY
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT => true,
        StatusCode::INTERNAL_SERVER_ERROR => repeat == Repeat::Harmless,
        _ => false,
    }
}

/// Why an attempt did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The service answered with this status.
    Status(StatusCode),
    /// No connection could be made: nothing was sent.
    Connect,
    /// The request may have been sent, but no answer came.
    Lost,
}

fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

/// Whether an attempt that failed this way is worth repeating.
/// `replayable` is false for streamed bodies.
pub fn is_retryable(method: &Method, replayable: bool, repeat: Repeat, failure: Failure) -> bool {
    if !replayable {
        return false;
    }
    let safe = repeat == Repeat::Harmless || idempotent(method);
    match failure {
        Failure::Connect => true,
        Failure::Status(StatusCode::TOO_MANY_REQUESTS) => true,
        Failure::Status(status) => is_transient(status, repeat) && safe,
        Failure::Lost => safe,
    }
}

/// A random number in [0, 1), from the operating system's randomness that
/// uuid v4 draws on.
pub fn random_unit() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::new(5);
        assert_eq!(p.backoff_ceiling(0), Duration::from_millis(500));
        assert_eq!(p.backoff_ceiling(1), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(4), Duration::from_secs(8));
        assert_eq!(p.backoff_ceiling(5), Duration::from_secs(16));
        assert_eq!(p.backoff_ceiling(40), Duration::from_secs(16));
    }

    #[test]
    fn full_jitter_stays_within_zero_and_the_ceiling() {
        let p = RetryPolicy::new(5);
        for retry in 0..8 {
            for _ in 0..200 {
                let d = p.delay(retry, None, random_unit());
                assert!(d <= p.backoff_ceiling(retry), "{d:?} at retry {retry}");
            }
        }
        assert_eq!(p.delay(3, None, 0.0), Duration::ZERO);
        assert!(p.delay(3, None, 0.999) > Duration::from_millis(3900));
        for _ in 0..1000 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let p = RetryPolicy::new(5);
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3)), 0.5),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(3600)), 0.5),
            Duration::from_secs(120)
        );
    }

    fn s(code: u16) -> Failure {
        Failure::Status(StatusCode::from_u16(code).unwrap_or_default())
    }

    #[test]
    fn what_is_retried() {
        let by_method = |m: &Method, f| is_retryable(m, true, Repeat::ByMethod, f);
        for m in [Method::GET, Method::PUT, Method::DELETE, Method::HEAD] {
            for code in [429, 502, 503, 504] {
                assert!(by_method(&m, s(code)), "{m} {code}");
            }
            assert!(!by_method(&m, s(500)));
            assert!(!by_method(&m, s(409)));
            assert!(by_method(&m, Failure::Connect));
            assert!(by_method(&m, Failure::Lost));
        }
        for m in [Method::POST, Method::PATCH] {
            assert!(by_method(&m, Failure::Connect));
            assert!(by_method(&m, s(429)));
            assert!(!by_method(&m, s(503)));
            assert!(!by_method(&m, s(502)));
            assert!(!by_method(&m, Failure::Lost));
        }
        for repeat in [Repeat::ByMethod, Repeat::Harmless] {
            assert!(!is_retryable(&Method::PUT, false, repeat, Failure::Connect));
            assert!(!is_retryable(&Method::PUT, false, repeat, s(503)));
        }
    }

    #[test]
    fn a_token_request_is_retried_on_every_transient_answer() {
        let token = |f| is_retryable(&Method::POST, true, Repeat::Harmless, f);
        for code in [429, 500, 502, 503, 504] {
            assert!(token(s(code)), "{code}");
            assert!(is_transient(
                StatusCode::from_u16(code).unwrap_or_default(),
                Repeat::Harmless
            ));
        }
        assert!(token(Failure::Connect));
        assert!(token(Failure::Lost));
        for code in [400, 401, 403, 404, 409, 501] {
            assert!(!token(s(code)), "{code}");
        }
        assert!(!is_transient(
            StatusCode::INTERNAL_SERVER_ERROR,
            Repeat::ByMethod
        ));
    }
}
