//! Timestamps as the OpenStack APIs write them: ISO 8601 in UTC, to the
//! second (`2026-11-23T10:15:30Z`) or, in Keystone tokens, to the
//! microsecond (`2026-11-23T10:15:30.000000Z`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn at(millis: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(millis)
}

/// Now, to the second.
pub fn now_iso() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

pub fn millis_to_iso(millis: u64) -> String {
    humantime::format_rfc3339_seconds(at(millis)).to_string()
}

pub fn millis_to_iso_micros(millis: u64) -> String {
    humantime::format_rfc3339_micros(at(millis)).to_string()
}

/// Parses `2026-11-23T10:15:30Z`, with or without fraction or `Z`.
pub fn iso_to_millis(text: &str) -> Option<u64> {
    let text = text.trim();
    let with_zone = if text.ends_with('Z') {
        text.to_string()
    } else {
        format!("{text}Z")
    };
    let t = humantime::parse_rfc3339_weak(&with_zone).ok()?;
    t.duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(millis_to_iso(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(
            millis_to_iso_micros(1_700_000_000_123),
            "2023-11-14T22:13:20.123000Z"
        );
        assert_eq!(
            iso_to_millis("2023-11-14T22:13:20Z"),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            iso_to_millis("2023-11-14T22:13:20.123000Z"),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            iso_to_millis("2023-11-14T22:13:20"),
            Some(1_700_000_000_000)
        );
        assert_eq!(iso_to_millis("tomorrow"), None);
    }
}
