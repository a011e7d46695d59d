//! Range-vector functions: `rate`, `increase`, `delta`, `irate`, `deriv`, `predict_linear`,
//! `resets`, `changes`, smoothing and every `*_over_time` aggregation.

use super::labels::absent_labels;
use super::{arg, scalar_arg};
use crate::context::Context;
use crate::stats::{avg, kahan_inc, quantile_of};
use crate::value::{Elem, QueryError, RSeries, Val};
use promql_parser::parser::Call;
use vigia_model::Labels;
use vigia_model::float::format_value;

pub(super) fn is_range_function(name: &str) -> bool {
    matches!(
        name,
        "rate"
            | "increase"
            | "delta"
            | "irate"
            | "idelta"
            | "deriv"
            | "predict_linear"
            | "avg_over_time"
            | "min_over_time"
            | "max_over_time"
            | "sum_over_time"
            | "count_over_time"
            | "quantile_over_time"
            | "stddev_over_time"
            | "stdvar_over_time"
            | "last_over_time"
            | "first_over_time"
            | "present_over_time"
            | "mad_over_time"
            | "resets"
            | "changes"
            | "absent_over_time"
            | "double_exponential_smoothing"
            | "holt_winters"
            | "ts_of_min_over_time"
            | "ts_of_max_over_time"
            | "ts_of_last_over_time"
            | "ts_of_first_over_time"
    )
}

/// A range-vector call with its scalar parameters evaluated and checked.
struct RangeCall<'a> {
    name: &'a str,
    /// First scalar parameter (quantile, prediction horizon, smoothing factor), NaN if none.
    p0: f64,
    /// Second scalar parameter (trend factor), NaN if none.
    p1: f64,
}

/// Evaluates a range-vector function: its parameters, its range argument, then one value per
/// series.
pub(super) fn eval(ev: &mut dyn Context, c: &Call, ts: i64) -> Result<Val, QueryError> {
    let name = c.func.name;
    // Scalar parameters come before or after the range argument depending on the function.
    let (range_idx, params): (usize, &[usize]) = match name {
        "quantile_over_time" => (1, &[0]),
        "predict_linear" => (0, &[1]),
        "double_exponential_smoothing" | "holt_winters" => (0, &[1, 2]),
        _ => (0, &[]),
    };
    let mut p = Vec::new();
    for &i in params {
        p.push(scalar_arg(ev, c, i, ts)?);
    }
    let (series, range_start, range_end, range_ms) = ev.eval_range_arg(arg(c, range_idx)?, ts)?;
    let call = RangeCall {
        name,
        p0: p.first().copied().unwrap_or(f64::NAN),
        p1: p.get(1).copied().unwrap_or(f64::NAN),
    };
    if name == "absent_over_time" {
        if !series.is_empty() {
            return Ok(Val::Vector(Vec::new()));
        }
        return Ok(Val::Vector(vec![Elem {
            metric: absent_labels(arg(c, range_idx)?).into(),
            t: ts,
            v: 1.0,
            drop_name: false,
        }]));
    }
    call.check(ev, !series.is_empty())?;
    let keep_name = matches!(name, "last_over_time" | "first_over_time");
    let mut out = Vec::with_capacity(series.len());
    for s in series {
        let RSeries {
            metric,
            points,
            drop_name,
        } = s;
        let v = match name {
            "rate" | "increase" | "delta" => {
                let counter = name != "delta";
                if counter {
                    counter_name_info(ev, &metric);
                }
                extrapolated_rate(
                    &points,
                    range_start,
                    range_end,
                    range_ms,
                    counter,
                    name == "rate",
                )
            }
            _ => call.value(&points, ts),
        };
        if let Some(v) = v {
            out.push(Elem {
                metric,
                t: ts,
                v,
                drop_name: drop_name || !keep_name,
            });
        }
    }
    Ok(Val::Vector(out))
}

/// Prometheus's note when `rate`/`increase` read a series whose name does not look like a
/// counter.
fn counter_name_info(ev: &mut dyn Context, metric: &Labels) {
    if let Some(n) = metric.metric_name()
        && !(n.ends_with("_total")
            || n.ends_with("_sum")
            || n.ends_with("_count")
            || n.ends_with("_bucket"))
    {
        ev.info(format!(
            "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {n:?}"
        ));
    }
}

impl RangeCall<'_> {
    /// Checks the scalar parameters: a warning for a quantile outside [0, 1] (when there is
    /// data), an error for smoothing factors outside (0, 1).
    fn check(&self, ev: &mut dyn Context, has_data: bool) -> Result<(), QueryError> {
        let (p0, p1) = (self.p0, self.p1);
        match self.name {
            "quantile_over_time" if (p0.is_nan() || !(0.0..=1.0).contains(&p0)) && has_data => {
                ev.warn(format!(
                    "PromQL warning: quantile value should be between 0 and 1, got {}",
                    format_value(p0)
                ));
            }
            "double_exponential_smoothing" | "holt_winters" => {
                if !(p0 > 0.0 && p0 < 1.0) {
                    return Err(QueryError::Execution(format!(
                        "invalid smoothing factor. Expected: 0 < sf < 1, got: {p0:.6}"
                    )));
                }
                if !(p1 > 0.0 && p1 < 1.0) {
                    return Err(QueryError::Execution(format!(
                        "invalid trend factor. Expected: 0 < tf < 1, got: {p1:.6}"
                    )));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The function's value over one series' points (`None`: no output for this series).
    fn value(&self, points: &[(i64, f64)], ts: i64) -> Option<f64> {
        match self.name {
            "irate" | "idelta" => instant_value(points, self.name == "irate"),
            "deriv" => {
                let t0 = points.first().map_or(0, |p| p.0);
                (points.len() >= 2).then(|| linear_regression(points, t0).0)
            }
            "predict_linear" => (points.len() >= 2).then(|| {
                let (slope, icpt) = linear_regression(points, ts);
                slope * self.p0 + icpt
            }),
            "resets" => Some(
                points
                    .windows(2)
                    .filter(|w| matches!(w, [a, b] if b.1 < a.1))
                    .count() as f64,
            ),
            "changes" => Some(
                points
                    .windows(2)
                    .filter(
                        |w| matches!(w, [a, b] if b.1 != a.1 && !(a.1.is_nan() && b.1.is_nan())),
                    )
                    .count() as f64,
            ),
            "double_exponential_smoothing" | "holt_winters" => smoothing(points, self.p0, self.p1),
            _ => self.over_time(points),
        }
    }

    /// The `*_over_time` aggregations.
    fn over_time(&self, points: &[(i64, f64)]) -> Option<f64> {
        let values = || points.iter().map(|p| p.1);
        match self.name {
            "avg_over_time" => Some(avg(values())),
            "sum_over_time" => {
                let (mut s, mut c) = (0.0, 0.0);
                for v in values() {
                    (s, c) = kahan_inc(v, s, c);
                }
                Some(s + c)
            }
            "count_over_time" => Some(points.len() as f64),
            "min_over_time" => values().reduce(|m, v| if v < m || m.is_nan() { v } else { m }),
            "max_over_time" => values().reduce(|m, v| if v > m || m.is_nan() { v } else { m }),
            "last_over_time" => points.last().map(|p| p.1),
            "first_over_time" => points.first().map(|p| p.1),
            "ts_of_last_over_time" => points.last().map(|p| p.0 as f64 / 1000.0),
            "ts_of_first_over_time" => points.first().map(|p| p.0 as f64 / 1000.0),
            "ts_of_min_over_time" => ts_of_extreme(points, false),
            "ts_of_max_over_time" => ts_of_extreme(points, true),
            "present_over_time" => Some(1.0),
            "quantile_over_time" => Some(quantile_of(self.p0, &mut values().collect::<Vec<_>>())),
            "stddev_over_time" => Some(variance_over_time(points).sqrt()),
            "stdvar_over_time" => Some(variance_over_time(points)),
            "mad_over_time" if points.iter().any(|p| p.1.is_nan()) => Some(f64::NAN),
            "mad_over_time" => {
                let mut vals: Vec<f64> = values().collect();
                let med = quantile_of(0.5, &mut vals);
                let mut dev: Vec<f64> = vals.iter().map(|v| (v - med).abs()).collect();
                Some(quantile_of(0.5, &mut dev))
            }
            _ => None,
        }
    }
}

/// Timestamp (seconds) of the last minimum or maximum, NaN samples never winning.
fn ts_of_extreme(points: &[(i64, f64)], max: bool) -> Option<f64> {
    let mut best: Option<(i64, f64)> = None;
    for &(t, v) in points {
        best = match best {
            None => Some((t, v)),
            Some((bt, bv)) => {
                let better = if max {
                    v >= bv || bv.is_nan()
                } else {
                    v <= bv || bv.is_nan()
                };
                if better && !v.is_nan() {
                    Some((t, v))
                } else {
                    Some((bt, bv))
                }
            }
        };
    }
    best.map(|b| b.0 as f64 / 1000.0)
}

/// Population variance of the points (Welford with compensated sums, as Prometheus).
fn variance_over_time(points: &[(i64, f64)]) -> f64 {
    let (mut count, mut mean, mut cm, mut aux, mut ca) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for p in points {
        count += 1.0;
        let delta = p.1 - (mean + cm);
        (mean, cm) = kahan_inc(delta / count, mean, cm);
        (aux, ca) = kahan_inc(delta * (p.1 - (mean + cm)), aux, ca);
    }
    (aux + ca) / count
}

/// Prometheus's `extrapolatedRate` for floats.
fn extrapolated_rate(
    pts: &[(i64, f64)],
    range_start: i64,
    range_end: i64,
    range_ms: i64,
    counter: bool,
    rate: bool,
) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let (first_t, first_v) = *pts.first()?;
    let (last_t, last_v) = *pts.last()?;
    let mut result = last_v - first_v;
    if counter {
        let mut prev = first_v;
        for p in pts.iter().skip(1) {
            if p.1 < prev {
                result += prev;
            }
            prev = p.1;
        }
    }
    let mut to_start = first_t.saturating_sub(range_start) as f64 / 1000.0;
    let mut to_end = range_end.saturating_sub(last_t) as f64 / 1000.0;
    let sampled = last_t.saturating_sub(first_t) as f64 / 1000.0;
    let avg_between = sampled / (pts.len() - 1) as f64;
    let threshold = avg_between * 1.1;
    if to_start >= threshold {
        to_start = avg_between / 2.0;
    }
    if counter && result > 0.0 && first_v >= 0.0 {
        let to_zero = sampled * (first_v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg_between / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if rate {
        factor /= range_ms as f64 / 1000.0;
    }
    Some(result * factor)
}

fn instant_value(pts: &[(i64, f64)], rate: bool) -> Option<f64> {
    let n = pts.len();
    if n < 2 {
        return None;
    }
    let (t0, v0) = *pts.get(n - 2)?;
    let (t1, v1) = *pts.get(n - 1)?;
    let mut r = if rate && v1 < v0 { v1 } else { v1 - v0 };
    let interval = t1 - t0;
    if interval == 0 {
        return None;
    }
    if rate {
        r /= interval as f64 / 1000.0;
    }
    Some(r)
}

/// Least-squares slope and intercept (at `intercept_t`), Kahan-compensated like Prometheus.
fn linear_regression(pts: &[(i64, f64)], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) = (
        0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64,
    );
    let init_y = pts.first().map_or(0.0, |p| p.1);
    let mut const_y = true;
    for (i, &(t, v)) in pts.iter().enumerate() {
        if const_y && i > 0 && v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

fn smoothing(pts: &[(i64, f64)], sf: f64, tf: f64) -> Option<f64> {
    if pts.len() < 2 {
        return None;
    }
    let v = |i: usize| pts.get(i).map_or(f64::NAN, |p| p.1);
    let mut s0 = 0.0;
    let mut s1 = v(0);
    let mut b = v(1) - v(0);
    for i in 1..pts.len() {
        let x = sf * v(i);
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    Some(s1)
}
