//! Running one query against a server's HTTP API and comparing two answers the way the
//! benchmark and the differential test judge agreement.

use crate::error::{Context, Result};
use serde::Serialize;
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// When a query is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum When {
    /// `/api/v1/query` at this time (ms).
    #[allow(dead_code)] // used by tests/promql_diff.rs, which shares this module
    Instant(i64),
    /// `/api/v1/query_range` from `start` to `end` every `step` (all ms).
    Range {
        /// First evaluation time.
        start: i64,
        /// Last evaluation time (inclusive).
        end: i64,
        /// Resolution.
        step: i64,
    },
}

/// What a server answered: the `data` object, or the error.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// `status: success`; the `data` object.
    Data(J),
    /// `status: error`: HTTP status, `errorType` and `error`.
    Error(u16, String),
}

impl Outcome {
    /// True when the answer carries at least one sample (a scalar or string always does).
    #[allow(dead_code)] // used by tests/promql_diff.rs, which shares this module
    pub fn non_empty(&self) -> bool {
        match self {
            Outcome::Data(d) => match d.get("result") {
                Some(J::Array(a)) => match d.get("resultType").and_then(J::as_str) {
                    Some("vector" | "matrix") => !a.is_empty(),
                    _ => true,
                },
                _ => false,
            },
            Outcome::Error(..) => false,
        }
    }
}

pub(crate) fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// Runs `expr` against a Prometheus-compatible HTTP API; returns the outcome and the wall time
/// of the request (including transfer and JSON decoding).
pub fn run_query(
    client: &reqwest::blocking::Client,
    base_url: &str,
    expr: &str,
    when: When,
) -> Result<(Outcome, Duration)> {
    let start = Instant::now();
    let req = match when {
        When::Instant(t) => client
            .get(format!("{base_url}/api/v1/query"))
            .query(&[("query", expr.to_string()), ("time", secs(t))]),
        When::Range { start, end, step } => client
            .get(format!("{base_url}/api/v1/query_range"))
            .query(&[
                ("query", expr.to_string()),
                ("start", secs(start)),
                ("end", secs(end)),
                ("step", secs(step)),
            ]),
    };
    let r = req
        .send()
        .with_context(|| format!("query {expr:?} to {base_url}"))?;
    let code = r.status().as_u16();
    let body: J = r
        .json()
        .with_context(|| format!("query {expr:?} to {base_url}: response is not JSON"))?;
    let elapsed = start.elapsed();
    let out = if body.get("status").and_then(J::as_str) == Some("success") {
        Outcome::Data(body.get("data").cloned().unwrap_or(J::Null))
    } else {
        let kind = body.get("errorType").and_then(J::as_str).unwrap_or("?");
        let msg = body.get("error").and_then(J::as_str).unwrap_or("?");
        Outcome::Error(code, format!("{kind}: {msg}"))
    };
    Ok((out, elapsed))
}

/// Relative tolerance of value comparisons.
pub const REL_TOLERANCE: f64 = 1e-9;

/// Absolute tolerance, only for results within rounding noise of zero (e.g. an average of values
/// that cancel out, computed with a different summation order).
pub const ABS_TOLERANCE: f64 = 1e-12;

/// Whether two sample values agree: NaN equals NaN, infinities must be equal, finite values
/// within [`REL_TOLERANCE`] relative (or [`ABS_TOLERANCE`] absolute).
pub fn values_close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    let d = (a - b).abs();
    d <= REL_TOLERANCE * a.abs().max(b.abs()) || d <= ABS_TOLERANCE
}

pub(crate) fn parse_value(v: &J) -> Option<f64> {
    match v.as_str()? {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        s => s.parse().ok(),
    }
}

pub(crate) fn parse_point(p: &J) -> Option<(i64, f64)> {
    let t = p.get(0)?.as_f64()?;
    Some(((t * 1000.0).round() as i64, parse_value(p.get(1)?)?))
}

pub(crate) type Metric = BTreeMap<String, String>;

pub(crate) type MatrixSeries = (Metric, Vec<(i64, f64)>);

pub(crate) fn parse_metric(m: Option<&J>) -> Metric {
    m.and_then(J::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn fmt_metric(m: &Metric) -> String {
    let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Compares two answers to the same query. Equal means: both errors (the message may differ),
/// or the same resultType, exactly the same label sets, the same timestamps and values within
/// tolerance ([`values_close`]). Vectors and matrices are compared order-insensitively, except
/// that with `ordered` (a top-level `sort`/`sort_desc`) the sequence of vector values must also
/// be the same (ties may appear in either order). Returns a description of the first
/// difference.
pub fn compare(a: &Outcome, b: &Outcome, ordered: bool) -> Result<(), Difference> {
    let (da, db) = match (a, b) {
        (Outcome::Error(..), Outcome::Error(..)) => return Ok(()),
        (Outcome::Error(c, e), Outcome::Data(_)) => {
            return differ(format!("only the first failed ({c} {e})"));
        }
        (Outcome::Data(_), Outcome::Error(c, e)) => {
            return differ(format!("only the second failed ({c} {e})"));
        }
        (Outcome::Data(a), Outcome::Data(b)) => (a, b),
    };
    let ta = da.get("resultType").and_then(J::as_str).unwrap_or("?");
    let tb = db.get("resultType").and_then(J::as_str).unwrap_or("?");
    if ta != tb {
        return differ(format!("resultType {ta} vs {tb}"));
    }
    let ra = da.get("result").cloned().unwrap_or(J::Null);
    let rb = db.get("result").cloned().unwrap_or(J::Null);
    match ta {
        "string" if ra == rb => Ok(()),
        "string" => differ("string results differ"),
        "scalar" => match (parse_point(&ra), parse_point(&rb)) {
            (Some((t1, v1)), Some((t2, v2))) if t1 == t2 && values_close(v1, v2) => Ok(()),
            (p1, p2) => differ(format!("scalar {p1:?} vs {p2:?}")),
        },
        "vector" => compare_vectors(parse_vector(&ra)?, parse_vector(&rb)?, ordered),
        "matrix" => compare_matrices(parse_matrix(&ra)?, parse_matrix(&rb)?),
        other => differ(format!("unknown resultType {other}")),
    }
}

/// How two answers differ (the first difference found).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Difference(pub String);

pub(crate) fn differ<T>(m: impl Into<String>) -> Result<T, Difference> {
    Err(Difference(m.into()))
}

pub(crate) type VectorSample = (Metric, i64, f64);

pub(crate) fn parse_vector(r: &J) -> Result<Vec<VectorSample>, Difference> {
    r.as_array()
        .ok_or_else(|| Difference("result is not an array".into()))?
        .iter()
        .map(|e| {
            let (t, v) = e
                .get("value")
                .and_then(parse_point)
                .ok_or_else(|| Difference(format!("bad sample {e}")))?;
            Ok((parse_metric(e.get("metric")), t, v))
        })
        .collect()
}

pub(crate) fn parse_matrix(r: &J) -> Result<Vec<MatrixSeries>, Difference> {
    r.as_array()
        .ok_or_else(|| Difference("result is not an array".into()))?
        .iter()
        .map(|e| {
            let pts = e
                .get("values")
                .and_then(J::as_array)
                .map(|a| {
                    a.iter()
                        .map(|p| parse_point(p).ok_or_else(|| Difference(format!("bad point {p}"))))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default();
            Ok((parse_metric(e.get("metric")), pts))
        })
        .collect()
}

/// Same label sets, timestamps and values (order only with `ordered`); no duplicate series.
pub(crate) fn compare_vectors(
    mut va: Vec<VectorSample>,
    mut vb: Vec<VectorSample>,
    ordered: bool,
) -> Result<(), Difference> {
    if va.len() != vb.len() {
        return differ(format!("{} vs {} samples", va.len(), vb.len()));
    }
    if ordered {
        for (i, (x, y)) in va.iter().zip(&vb).enumerate() {
            if !values_close(x.2, y.2) {
                return differ(format!(
                    "sorted order differs at position {i}: {} {} vs {} {}",
                    fmt_metric(&x.0),
                    x.2,
                    fmt_metric(&y.0),
                    y.2
                ));
            }
        }
    }
    va.sort_by(|x, y| x.0.cmp(&y.0));
    vb.sort_by(|x, y| x.0.cmp(&y.0));
    for w in va.windows(2).chain(vb.windows(2)) {
        if let [x, y] = w
            && x.0 == y.0
        {
            return differ(format!("duplicate series {} in a result", fmt_metric(&x.0)));
        }
    }
    for (x, y) in va.iter().zip(&vb) {
        if x.0 != y.0 {
            return differ(format!(
                "label sets differ: {} vs {}",
                fmt_metric(&x.0),
                fmt_metric(&y.0)
            ));
        }
        if x.1 != y.1 || !values_close(x.2, y.2) {
            return differ(format!(
                "{}: ({}, {}) vs ({}, {})",
                fmt_metric(&x.0),
                x.1,
                x.2,
                y.1,
                y.2
            ));
        }
    }
    Ok(())
}

/// Same series (order-insensitive), each with the same points.
pub(crate) fn compare_matrices(
    mut ma: Vec<MatrixSeries>,
    mut mb: Vec<MatrixSeries>,
) -> Result<(), Difference> {
    ma.sort_by(|x, y| x.0.cmp(&y.0));
    mb.sort_by(|x, y| x.0.cmp(&y.0));
    if ma.len() != mb.len() {
        let la: Vec<String> = ma.iter().map(|s| fmt_metric(&s.0)).collect();
        let lb: Vec<String> = mb.iter().map(|s| fmt_metric(&s.0)).collect();
        return differ(format!(
            "{} vs {} series: {la:?} vs {lb:?}",
            ma.len(),
            mb.len()
        ));
    }
    for (x, y) in ma.iter().zip(&mb) {
        if x.0 != y.0 {
            return differ(format!(
                "label sets differ: {} vs {}",
                fmt_metric(&x.0),
                fmt_metric(&y.0)
            ));
        }
        if x.1.len() != y.1.len() {
            return differ(format!(
                "{}: {} vs {} points",
                fmt_metric(&x.0),
                x.1.len(),
                y.1.len()
            ));
        }
        for (p, q) in x.1.iter().zip(&y.1) {
            if p.0 != q.0 || !values_close(p.1, q.1) {
                return differ(format!(
                    "{}: point ({}, {}) vs ({}, {})",
                    fmt_metric(&x.0),
                    p.0,
                    p.1,
                    q.0,
                    q.1
                ));
            }
        }
    }
    Ok(())
}

/// A one-line rendering of an outcome for failure messages (truncated to `max` characters).
pub fn show(o: &Outcome, max: usize) -> String {
    let s = match o {
        Outcome::Data(d) => d.to_string(),
        Outcome::Error(c, e) => format!("HTTP {c}: {e}"),
    };
    if s.chars().count() > max {
        format!("{}…", s.chars().take(max).collect::<String>())
    } else {
        s
    }
}
