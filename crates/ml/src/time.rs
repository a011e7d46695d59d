//! Timestamp parsing for CSV inputs: NAB's `2014-04-01 00:00:00` form (with optional fraction),
//! RFC 3339, naive ISO 8601 with `T`, and integer or fractional epoch seconds / milliseconds.

use chrono::{DateTime, NaiveDateTime};

/// Epoch values at or above this magnitude are taken as milliseconds, below it as seconds
/// (1e11 seconds is the year 5138; 1e11 milliseconds is March 1973).
const EPOCH_MS_CUTOFF: f64 = 1e11;

/// Parses a timestamp into Unix milliseconds (UTC). Naive timestamps are taken as UTC.
/// Returns `None` when the text is not a recognised timestamp.
pub fn parse_timestamp_ms(text: &str) -> Option<i64> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes()
        .all(|b| b.is_ascii_digit() || b == b'-' || b == b'+' || b == b'.')
        && s.bytes().any(|b| b.is_ascii_digit())
        && !s[1..].contains('-')
    {
        let v: f64 = s.parse().ok()?;
        if !v.is_finite() {
            return None;
        }
        let ms = if v.abs() >= EPOCH_MS_CUTOFF {
            v
        } else {
            v * 1000.0
        };
        if ms.abs() > 8.64e15 {
            return None;
        }
        return Some(ms.round() as i64);
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(t.timestamp_millis());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_forms() {
        let nab = parse_timestamp_ms("2014-04-01 00:00:00").unwrap();
        assert_eq!(nab, 1_396_310_400_000);
        assert_eq!(parse_timestamp_ms("2014-04-01 00:00:00.000000"), Some(nab));
        assert_eq!(parse_timestamp_ms("2014-04-01T00:00:00Z"), Some(nab));
        assert_eq!(parse_timestamp_ms("2014-04-01T02:00:00+02:00"), Some(nab));
        assert_eq!(parse_timestamp_ms("2014-04-01T00:00:00"), Some(nab));
        assert_eq!(parse_timestamp_ms("1396310400"), Some(nab));
        assert_eq!(parse_timestamp_ms("1396310400000"), Some(nab));
        assert_eq!(parse_timestamp_ms("1396310400.5"), Some(nab + 500));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "abc",
            "2014-13-01 00:00:00",
            "2014-04-01 25:00:00",
            "1-2-3",
            "nan",
        ] {
            assert_eq!(parse_timestamp_ms(bad), None, "{bad}");
        }
    }
}
