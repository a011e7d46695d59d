//! Prometheus duration strings (`1h30m`, `15s`, `500ms`, `2d`, `1w`, `1y`) in milliseconds, and a
//! serde wrapper for configuration files.

use std::fmt;

const UNITS: [(&str, i64); 7] = [
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct DurationError {
    /// The text given.
    pub input: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Parses a Prometheus duration into milliseconds. Units must appear in decreasing order
/// (`y w d h m s ms`), each at most once; `0` alone is accepted.
pub fn parse_duration(s: &str) -> Result<i64, DurationError> {
    let err = |reason| DurationError {
        input: s.to_string(),
        reason,
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(err("empty"));
    }
    let b = s.as_bytes();
    let mut i = 0;
    let mut total: i64 = 0;
    let mut last_unit = 0usize; // index into UNITS after the last seen unit
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return Err(err("expected a number"));
        }
        let n: i64 = s[start..i].parse().map_err(|_| err("number too large"))?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &s[ustart..i];
        let Some(pos) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(err("unknown unit (use ms, s, m, h, d, w, y)"));
        };
        if pos < last_unit {
            return Err(err("units out of order or repeated"));
        }
        last_unit = pos + 1;
        total = n
            .checked_mul(UNITS[pos].1)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(|| err("duration too large"))?;
    }
    Ok(total)
}

/// Formats milliseconds the way Prometheus prints durations (`1h30m`, `0s`).
pub fn format_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms.unsigned_abs();
    if ms < 0 {
        out.push('-');
    }
    for (u, f) in UNITS {
        let f = f as u64;
        if rest >= f {
            out.push_str(&format!("{}{}", rest / f, u));
            rest %= f;
        }
    }
    out
}

/// A duration in configuration files, written the Prometheus way (`30s`, `5m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PromDuration(pub i64);

impl PromDuration {
    /// Milliseconds.
    pub fn as_millis(&self) -> i64 {
        self.0
    }
    /// As a std duration (negative values clamp to zero).
    pub fn to_std(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0.max(0) as u64)
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl std::str::FromStr for PromDuration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s).map(PromDuration)
    }
}

impl serde::Serialize for PromDuration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for PromDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s)
            .map(PromDuration)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000);
        assert_eq!(parse_duration("500ms").unwrap(), 500);
        assert_eq!(parse_duration("1d").unwrap(), 86_400_000);
        assert!(parse_duration("1m1h").is_err());
        assert!(parse_duration("1x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999y").is_err());
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(0), "0s");
    }
}
