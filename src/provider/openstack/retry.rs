//! When a failed request is tried again, and how long to wait first.
//!
//! Transient answers (429, 502, 503, 504) and connection failures are
//! retried with exponential backoff and full jitter (a random wait up to
//! `base × 2^n`, capped), or after the `Retry-After` the service asked
//! for. A request that may have changed something is not sent twice:
//! POST and PATCH are retried only when the connection failed before the
//! request left, or on 429 (the service refused to process it).
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
pub fn is_retryable(method: &Method, replayable: bool, failure: Failure) -> bool {
    if !replayable {
        return false;
    }
    match failure {
        Failure::Connect => true,
        Failure::Status(StatusCode::TOO_MANY_REQUESTS) => true,
        Failure::Status(
            StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT,
        ) => idempotent(method),
        Failure::Status(_) => false,
        Failure::Lost => idempotent(method),
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

    #[test]
    fn what_is_retried() {
        let s = |code: u16| Failure::Status(StatusCode::from_u16(code).unwrap_or_default());
        for m in [Method::GET, Method::PUT, Method::DELETE, Method::HEAD] {
            for code in [429, 502, 503, 504] {
                assert!(is_retryable(&m, true, s(code)), "{m} {code}");
            }
            assert!(!is_retryable(&m, true, s(500)));
            assert!(!is_retryable(&m, true, s(409)));
            assert!(is_retryable(&m, true, Failure::Connect));
            assert!(is_retryable(&m, true, Failure::Lost));
        }
        for m in [Method::POST, Method::PATCH] {
            assert!(is_retryable(&m, true, Failure::Connect));
            assert!(is_retryable(&m, true, s(429)));
            assert!(!is_retryable(&m, true, s(503)));
            assert!(!is_retryable(&m, true, s(502)));
            assert!(!is_retryable(&m, true, Failure::Lost));
        }
        assert!(!is_retryable(&Method::PUT, false, Failure::Connect));
        assert!(!is_retryable(&Method::PUT, false, s(503)));
    }
}
