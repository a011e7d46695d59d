//! Request parameters the Prometheus way: merged from the query string and an
//! `application/x-www-form-urlencoded` body, repeated keys (`match[]`) kept; time and duration
//! parsing with Prometheus's accepted forms.

use crate::error::{ApiError, ApiResult};
use vigia_model::Matcher;

/// Smallest and largest times Prometheus accepts (its `minTime`/`maxTime`), in ms.
pub const MIN_TIME_MS: i64 = -9_223_309_901_257_974;
/// See [`MIN_TIME_MS`].
pub const MAX_TIME_MS: i64 = 9_223_309_901_257_974;

/// All parameters of one request, in order.
#[derive(Debug, Default, Clone)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parses a query string and, when form-encoded, a body.
    pub fn parse(query: Option<&str>, form_body: Option<&[u8]>) -> ApiResult<Self> {
        let mut out = Vec::new();
        if let Some(q) = query {
            out.extend(
                serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                    .map_err(|e| ApiError::bad_data(format!("invalid query string: {e}")))?,
            );
        }
        if let Some(b) = form_body {
            out.extend(
                serde_urlencoded::from_bytes::<Vec<(String, String)>>(b)
                    .map_err(|e| ApiError::bad_data(format!("invalid form body: {e}")))?,
            );
        }
        Ok(Params(out))
    }

    /// First value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// All values of `key` (e.g. `match[]`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A time parameter, or `default` when absent.
    pub fn time_or(&self, key: &str, default: i64) -> ApiResult<i64> {
        match self.get(key) {
            None | Some("") => Ok(default),
            Some(s) => parse_time(s)
                .map_err(|e| ApiError::bad_data(format!("invalid parameter {key:?}: {e}"))),
        }
    }

    /// An optional positive integer `limit` (0 or absent = none).
    pub fn limit(&self) -> ApiResult<Option<usize>> {
        match self.get("limit") {
            None | Some("") => Ok(None),
            Some(s) => match s.parse::<i64>() {
                Ok(n) if n > 0 => Ok(Some(n as usize)),
                Ok(0) => Ok(None),
                _ => Err(ApiError::bad_data(format!(
                    "invalid parameter \"limit\": cannot parse {s:?} to a positive integer"
                ))),
            },
        }
    }
}

/// A time or duration parameter that cannot be read (the message is Prometheus's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

impl vigia_model::HasKind for ParamError {
    fn kind(&self) -> vigia_model::ErrorKind {
        vigia_model::ErrorKind::BadData
    }
}

/// Parses a Prometheus API time: Unix seconds (float) or RFC 3339; returns ms.
pub fn parse_time(s: &str) -> Result<i64, ParamError> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() {
            return Err(ParamError(format!(
                "cannot parse {s:?} to a valid timestamp"
            )));
        }
        let ms = (f * 1000.0).round();
        if ms < MIN_TIME_MS as f64 || ms > MAX_TIME_MS as f64 {
            return Err(ParamError(format!(
                "cannot parse {s:?} to a valid timestamp: out of range"
            )));
        }
        return Ok(ms as i64);
    }
    // Prometheus's own encodings of its min and max times.
    match s {
        "-292273086-05-16T16:47:06Z" => return Ok(MIN_TIME_MS),
        "292277025-08-18T07:12:54.999999999Z" => return Ok(MAX_TIME_MS),
        _ => {}
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp_millis())
        .map_err(|_| ParamError(format!("cannot parse {s:?} to a valid timestamp")))
}

/// Parses a duration parameter: float seconds or a Prometheus duration string; returns ms.
pub fn parse_duration_param(s: &str) -> Result<i64, ParamError> {
    if let Ok(f) = s.parse::<f64>() {
        let ms = f * 1000.0;
        if !ms.is_finite() || ms.abs() > i64::MAX as f64 / 2.0 {
            return Err(ParamError(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            )));
        }
        return Ok(ms.round() as i64);
    }
    vigia_model::parse_duration(s)
        .map_err(|_| ParamError(format!("cannot parse {s:?} to a valid duration")))
}

impl Params {
    /// `start` and `end`, defaulting to all of time.
    pub fn time_range(&self) -> ApiResult<(i64, i64)> {
        Ok((
            self.time_or("start", MIN_TIME_MS)?,
            self.time_or("end", MAX_TIME_MS)?,
        ))
    }

    /// The `match[]` selectors, at least one required (series, export, delete).
    pub fn required_matches(&self) -> ApiResult<Vec<Vec<Matcher>>> {
        let sets = parse_match_params(self)?;
        if sets.is_empty() {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        Ok(sets)
    }
}

/// Parses every `match[]` parameter; an empty list means "all series".
pub fn parse_match_params(p: &Params) -> ApiResult<Vec<Vec<Matcher>>> {
    p.all("match[]")
        .into_iter()
        .map(|s| vigia_promql::parse_selector(s).map_err(|e| ApiError::bad_data(e.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1.5").unwrap(), 1500);
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z").unwrap(),
            1_435_781_451_781
        );
        assert!(parse_time("yesterday").is_err());
        assert!(parse_time("NaN").is_err());
        assert_eq!(parse_duration_param("15s").unwrap(), 15_000);
        assert_eq!(parse_duration_param("0.5").unwrap(), 500);
    }
}
