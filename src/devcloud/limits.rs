//! The values devcloud's settings and fault rules accept. `devcloud
//! serve`'s flags and the control API both check through here, so they
//! refuse the same values in the same words; each caller names the flag
//! or field (`--build-time`, `build_time`) and the value given.
//!
//! The bounds are far beyond what a test needs and keep every sum devcloud
//! makes with them (a deadline in milliseconds since 1970, a token's
//! expiry) well inside its integer type.

use std::ops::RangeInclusive;
use std::time::Duration;

/// Seconds a server may stay in BUILD, or stay visible once deleted: an
/// hour. Real builds take minutes; longer only stalls whoever waits.
pub const SERVER_SECONDS: RangeInclusive<f64> = 0.0..=3600.0;

/// Milliseconds of added latency, authentication cost or first-use cost:
/// a minute, past any client's patience.
pub const COST_MILLIS: RangeInclusive<u64> = 0..=60_000;

/// Seconds a token lives: a second to 30 days. Keystone issues tokens for
/// an hour; a token that expires at once is useless, and a longer life
/// would only make its expiry overflow.
pub const TOKEN_TTL_SECONDS: RangeInclusive<f64> = 1.0..=2_592_000.0;

/// The statuses a fault may answer with: HTTP's client and server errors.
pub const FAULT_STATUS: RangeInclusive<u64> = 400..=599;

/// The `Retry-After` a fault may ask for, in seconds: an hour.
pub const FAULT_RETRY_AFTER: RangeInclusive<u64> = 0..=3600;

/// How many requests a fault may fail before it is used up.
pub const FAULT_COUNT: RangeInclusive<u64> = 1..=1_000_000;

/// What a setting accepts, in words ("a number of seconds from 0 to
/// 3600"), when a value falls outside.
pub type Expected = String;

/// `build_time` and `delete_time`.
pub fn server_time(seconds: f64) -> Result<Duration, Expected> {
    fractional(seconds, &SERVER_SECONDS)
}

/// `latency_ms`, `auth_ms` and `token_first_use_ms`.
pub fn cost(millis: u64) -> Result<Duration, Expected> {
    whole(millis, &COST_MILLIS, "a whole number of milliseconds").map(Duration::from_millis)
}

/// `token_ttl`.
pub fn token_ttl(seconds: f64) -> Result<Duration, Expected> {
    fractional(seconds, &TOKEN_TTL_SECONDS)
}

/// A whole number in `range`; `what` says what it counts.
pub fn whole(value: u64, range: &RangeInclusive<u64>, what: &str) -> Result<u64, Expected> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(format!("{what} from {} to {}", range.start(), range.end()))
    }
}

/// A number of seconds in `range` (NaN is in no range).
fn fractional(seconds: f64, range: &RangeInclusive<f64>) -> Result<Duration, Expected> {
    range
        .contains(&seconds)
        .then(|| Duration::try_from_secs_f64(seconds).ok())
        .flatten()
        .ok_or_else(|| {
            format!(
                "a number of seconds from {} to {}",
                range.start(),
                range.end()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_times_are_seconds_up_to_an_hour() {
        assert_eq!(server_time(0.0), Ok(Duration::ZERO));
        assert_eq!(server_time(2.5), Ok(Duration::from_millis(2500)));
        assert_eq!(server_time(3600.0), Ok(Duration::from_secs(3600)));
        for wrong in [-1.0, 3600.5, 1e300, f64::NAN, f64::INFINITY] {
            assert_eq!(
                server_time(wrong),
                Err("a number of seconds from 0 to 3600".into()),
                "{wrong}"
            );
        }
    }

    #[test]
    fn costs_are_milliseconds_up_to_a_minute() {
        assert_eq!(cost(0), Ok(Duration::ZERO));
        assert_eq!(cost(60_000), Ok(Duration::from_secs(60)));
        assert_eq!(
            cost(u64::MAX),
            Err("a whole number of milliseconds from 0 to 60000".into())
        );
    }

    #[test]
    fn a_token_lives_from_a_second_to_thirty_days() {
        assert_eq!(token_ttl(1.0), Ok(Duration::from_secs(1)));
        assert_eq!(token_ttl(2_592_000.0), Ok(Duration::from_secs(2_592_000)));
        for wrong in [0.0, 0.5, 18_446_744_073_709_551_615.0] {
            assert_eq!(
                token_ttl(wrong),
                Err("a number of seconds from 1 to 2592000".into()),
                "{wrong}"
            );
        }
    }

    #[test]
    fn whole_numbers_name_what_they_count() {
        assert_eq!(whole(503, &FAULT_STATUS, "an HTTP error status"), Ok(503));
        assert_eq!(
            whole(0, &FAULT_COUNT, "a number of requests"),
            Err("a number of requests from 1 to 1000000".into())
        );
    }
}
