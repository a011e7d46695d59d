//! PromQL functions over floats: range-vector functions (`rate`, `*_over_time`, …), instant
//! vector math, date functions, label manipulation, sorting and the classic histogram functions.

use crate::aggregate::avg;
use crate::eval::Evaluator;
use crate::histogram::{Bucket, bucket_fraction, bucket_quantile};
use crate::value::{Elem, QueryError, RSeries, Val};
use promql_parser::parser::{Call, Expr};
use std::cmp::Ordering;
use std::collections::HashMap;
use vigia_model::float::{format_value, parse_go_float};
use vigia_model::{Labels, METRIC_NAME};

/// Neumaier-compensated summation step: returns the new sum and compensation.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Label-name validity as in Prometheus 3.x (UTF-8 names): any non-empty valid UTF-8 string.
/// Go strings can hold invalid UTF-8 written as `\xNN` escapes, which promql-parser turns into
/// the characters U+0080..U+00FF; those (and control characters) are therefore rejected too.
pub(crate) fn is_valid_label_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| !c.is_control() && !('\u{80}'..='\u{ff}').contains(&c))
}

/// The φ-quantile of `vals` (sorted in place), Prometheus's interpolation.
pub(crate) fn quantile_of(q: f64, vals: &mut [f64]) -> f64 {
    if vals.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    vals.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.total_cmp(b),
    });
    let n = vals.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let w = rank - rank.floor();
    let lv = vals.get(lower as usize).copied().unwrap_or(f64::NAN);
    let uv = vals.get(upper as usize).copied().unwrap_or(f64::NAN);
    lv * (1.0 - w) + uv * w
}

/// xxHash64 (seed 0), used for Prometheus-compatible label hashes.
fn xxh64(data: &[u8]) -> u64 {
    const P1: u64 = 11_400_714_785_074_694_791;
    const P2: u64 = 14_029_467_366_897_019_727;
    const P3: u64 = 1_609_587_929_392_839_161;
    const P4: u64 = 9_650_029_242_287_828_579;
    const P5: u64 = 2_870_177_450_012_600_261;
    fn round(acc: u64, input: u64) -> u64 {
        acc.wrapping_add(input.wrapping_mul(P2))
            .rotate_left(31)
            .wrapping_mul(P1)
    }
    fn merge(acc: u64, val: u64) -> u64 {
        (acc ^ round(0, val)).wrapping_mul(P1).wrapping_add(P4)
    }
    fn r64(b: &[u8]) -> u64 {
        let mut a = [0u8; 8];
        for (d, s) in a.iter_mut().zip(b) {
            *d = *s;
        }
        u64::from_le_bytes(a)
    }
    fn r32(b: &[u8]) -> u64 {
        let mut a = [0u8; 4];
        for (d, s) in a.iter_mut().zip(b) {
            *d = *s;
        }
        u64::from(u32::from_le_bytes(a))
    }
    let len = data.len() as u64;
    let mut rest = data;
    let mut h;
    if data.len() >= 32 {
        let (mut v1, mut v2, mut v3, mut v4) =
            (P1.wrapping_add(P2), P2, 0u64, 0u64.wrapping_sub(P1));
        while rest.len() >= 32 {
            let (blk, tail) = rest.split_at(32);
            let (a, b) = blk.split_at(16);
            let (a1, a2) = a.split_at(8);
            let (b1, b2) = b.split_at(8);
            v1 = round(v1, r64(a1));
            v2 = round(v2, r64(a2));
            v3 = round(v3, r64(b1));
            v4 = round(v4, r64(b2));
            rest = tail;
        }
        h = v1
            .rotate_left(1)
            .wrapping_add(v2.rotate_left(7))
            .wrapping_add(v3.rotate_left(12))
            .wrapping_add(v4.rotate_left(18));
        h = merge(h, v1);
        h = merge(h, v2);
        h = merge(h, v3);
        h = merge(h, v4);
    } else {
        h = P5;
    }
    h = h.wrapping_add(len);
    while rest.len() >= 8 {
        let (a, tail) = rest.split_at(8);
        h ^= round(0, r64(a));
        h = h.rotate_left(27).wrapping_mul(P1).wrapping_add(P4);
        rest = tail;
    }
    if rest.len() >= 4 {
        let (a, tail) = rest.split_at(4);
        h ^= r32(a).wrapping_mul(P1);
        h = h.rotate_left(23).wrapping_mul(P2).wrapping_add(P3);
        rest = tail;
    }
    for b in rest {
        h ^= u64::from(*b).wrapping_mul(P5);
        h = h.rotate_left(11).wrapping_mul(P1);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(P2);
    h ^= h >> 29;
    h = h.wrapping_mul(P3);
    h ^= h >> 32;
    h
}

/// Prometheus's `Labels.Hash()`.
pub(crate) fn prom_hash(l: &Labels) -> u64 {
    let mut b = Vec::with_capacity(l.byte_len() + 2 * l.len());
    for x in l {
        b.extend_from_slice(x.name.as_bytes());
        b.push(0xff);
        b.extend_from_slice(x.value.as_bytes());
        b.push(0xff);
    }
    xxh64(&b)
}

/// Position of a series in [0, 1) for `limit_ratio`.
pub(crate) fn ratio_offset(l: &Labels) -> f64 {
    prom_hash(l) as f64 / u64::MAX as f64
}

fn arg(c: &Call, i: usize) -> Result<&Expr, QueryError> {
    c.args.args.get(i).map(|b| b.as_ref()).ok_or_else(|| {
        QueryError::Execution(format!("missing argument {} of {}", i + 1, c.func.name))
    })
}

fn scalar_arg(ev: &mut Evaluator<'_>, c: &Call, i: usize, ts: i64) -> Result<f64, QueryError> {
    match ev.eval(arg(c, i)?, ts)? {
        Val::Scalar(v) => Ok(v),
        other => Err(QueryError::Execution(format!(
            "expected type scalar in call to function {:?}, got {}",
            c.func.name,
            other.type_name()
        ))),
    }
}

fn vector_arg(
    ev: &mut Evaluator<'_>,
    c: &Call,
    i: usize,
    ts: i64,
) -> Result<Vec<Elem>, QueryError> {
    match ev.eval(arg(c, i)?, ts)? {
        Val::Vector(v) => Ok(v),
        other => Err(QueryError::Execution(format!(
            "expected type instant vector in call to function {:?}, got {}",
            c.func.name,
            other.type_name()
        ))),
    }
}

fn string_arg(ev: &mut Evaluator<'_>, c: &Call, i: usize, ts: i64) -> Result<String, QueryError> {
    match ev.eval(arg(c, i)?, ts)? {
        Val::Str(s) => Ok(s),
        other => Err(QueryError::Execution(format!(
            "expected type string in call to function {:?}, got {}",
            c.func.name,
            other.type_name()
        ))),
    }
}

fn map_vec(v: Vec<Elem>, f: impl Fn(f64) -> f64) -> Val {
    Val::Vector(
        v.into_iter()
            .map(|mut e| {
                e.v = f(e.v);
                e.drop_name = true;
                e
            })
            .collect(),
    )
}

fn strip_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip_parens(&p.expr),
        other => other,
    }
}

pub(crate) fn eval_call(ev: &mut Evaluator<'_>, c: &Call, ts: i64) -> Result<Val, QueryError> {
    let name = c.func.name;
    match name {
        "time" => return Ok(Val::Scalar(ts as f64 / 1000.0)),
        "pi" => return Ok(Val::Scalar(std::f64::consts::PI)),
        "start" => return Ok(Val::Scalar(ev.start as f64 / 1000.0)),
        "end" => return Ok(Val::Scalar(ev.end as f64 / 1000.0)),
        "step" => return Ok(Val::Scalar(ev.step as f64 / 1000.0)),
        "range" => return Ok(Val::Scalar(ev.end.saturating_sub(ev.start) as f64 / 1000.0)),
        "min_of" | "max_of" => {
            let a = scalar_arg(ev, c, 0, ts)?;
            let b = scalar_arg(ev, c, 1, ts)?;
            return Ok(Val::Scalar(if name == "min_of" {
                go_min(a, b)
            } else {
                go_max(a, b)
            }));
        }
        "vector" => {
            let v = scalar_arg(ev, c, 0, ts)?;
            return Ok(Val::Vector(vec![Elem {
                metric: Labels::empty().into(),
                t: ts,
                v,
                drop_name: false,
            }]));
        }
        "scalar" => {
            let v = vector_arg(ev, c, 0, ts)?;
            return Ok(Val::Scalar(match v.as_slice() {
                [one] => one.v,
                _ => f64::NAN,
            }));
        }
        _ => {}
    }
    if let Some(f) = simple_math(name) {
        let v = vector_arg(ev, c, 0, ts)?;
        return Ok(map_vec(v, f));
    }
    if is_range_function(name) {
        return eval_range_function(ev, c, ts);
    }
    match name {
        "timestamp" => {
            let a = strip_parens(arg(c, 0)?);
            let els = match a {
                Expr::VectorSelector(vs) => ev.eval_vector_selector(vs, ts, true),
                _ => vector_arg(ev, c, 0, ts)?,
            };
            Ok(Val::Vector(
                els.into_iter()
                    .map(|e| Elem {
                        v: e.t as f64 / 1000.0,
                        t: ts,
                        metric: e.metric,
                        drop_name: true,
                    })
                    .collect(),
            ))
        }
        "round" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let to = if c.args.len() > 1 {
                scalar_arg(ev, c, 1, ts)?
            } else {
                1.0
            };
            let inv = 1.0 / to;
            Ok(map_vec(v, |x| (x * inv + 0.5).floor() / inv))
        }
        "clamp" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let lo = scalar_arg(ev, c, 1, ts)?;
            let hi = scalar_arg(ev, c, 2, ts)?;
            if hi < lo {
                return Ok(Val::Vector(Vec::new()));
            }
            Ok(map_vec(v, |x| go_max(lo, go_min(hi, x))))
        }
        "clamp_min" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let lo = scalar_arg(ev, c, 1, ts)?;
            Ok(map_vec(v, |x| go_max(lo, x)))
        }
        "clamp_max" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let hi = scalar_arg(ev, c, 1, ts)?;
            Ok(map_vec(v, |x| go_min(hi, x)))
        }
        "minute" | "hour" | "day_of_week" | "day_of_month" | "day_of_year" | "days_in_month"
        | "month" | "year" => {
            let v = if c.args.is_empty() {
                vec![Elem {
                    metric: Labels::empty().into(),
                    t: ts,
                    v: ts as f64 / 1000.0,
                    drop_name: false,
                }]
            } else {
                vector_arg(ev, c, 0, ts)?
            };
            let f = |x: f64| date_part(name, x);
            Ok(map_vec(v, f))
        }
        "absent" => {
            let v = vector_arg(ev, c, 0, ts)?;
            if !v.is_empty() {
                return Ok(Val::Vector(Vec::new()));
            }
            Ok(Val::Vector(vec![Elem {
                metric: absent_labels(arg(c, 0)?).into(),
                t: ts,
                v: 1.0,
                drop_name: false,
            }]))
        }
        "label_replace" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let dst = string_arg(ev, c, 1, ts)?;
            let repl = string_arg(ev, c, 2, ts)?;
            let src = string_arg(ev, c, 3, ts)?;
            let re_src = string_arg(ev, c, 4, ts)?;
            if !ev.regex_cache.contains_key(&re_src) {
                let re = regex::RegexBuilder::new(&format!("^(?s:{re_src})$"))
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|_| {
                        QueryError::Execution(format!(
                            "invalid regular expression in label_replace(): {re_src}"
                        ))
                    })?;
                ev.regex_cache.insert(re_src.clone(), re);
            }
            if !is_valid_label_name(&dst) {
                return Err(QueryError::Execution(format!(
                    "invalid destination label name in label_replace(): {dst}"
                )));
            }
            let Some(re) = ev.regex_cache.get(&re_src) else {
                return Err(QueryError::Execution("regex cache".into()));
            };
            let mut out = Vec::with_capacity(v.len());
            for mut e in v {
                let sv = e.metric.get(&src).unwrap_or("").to_string();
                if let Some(caps) = re.captures(&sv) {
                    let mut res = String::new();
                    caps.expand(&repl, &mut res);
                    let mut b = e.metric.builder();
                    b.set(dst.clone(), res);
                    e.metric = b.build().into();
                    if dst == METRIC_NAME {
                        e.drop_name = false;
                    }
                }
                out.push(e);
            }
            Ok(Val::Vector(out))
        }
        "label_join" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let dst = string_arg(ev, c, 1, ts)?;
            let sep = string_arg(ev, c, 2, ts)?;
            let mut srcs = Vec::new();
            for i in 3..c.args.len() {
                let s = string_arg(ev, c, i, ts)?;
                if !is_valid_label_name(&s) {
                    return Err(QueryError::Execution(format!(
                        "invalid source label name in label_join(): {s}"
                    )));
                }
                srcs.push(s);
            }
            if !is_valid_label_name(&dst) {
                return Err(QueryError::Execution(format!(
                    "invalid destination label name in label_join(): {dst}"
                )));
            }
            let mut out = Vec::with_capacity(v.len());
            for mut e in v {
                let joined: Vec<&str> =
                    srcs.iter().map(|s| e.metric.get(s).unwrap_or("")).collect();
                let val = joined.join(&sep);
                let mut b = e.metric.builder();
                b.set(dst.clone(), val);
                e.metric = b.build().into();
                if dst == METRIC_NAME {
                    e.drop_name = false;
                }
                out.push(e);
            }
            Ok(Val::Vector(out))
        }
        "sort" | "sort_desc" => {
            let mut v = vector_arg(ev, c, 0, ts)?;
            sort_warning(ev);
            let desc = name == "sort_desc";
            v.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => {
                    if desc {
                        b.v.total_cmp(&a.v)
                    } else {
                        a.v.total_cmp(&b.v)
                    }
                }
            });
            Ok(Val::Vector(v))
        }
        "sort_by_label" | "sort_by_label_desc" => {
            let mut v = vector_arg(ev, c, 0, ts)?;
            sort_warning(ev);
            let mut labels = Vec::new();
            for i in 1..c.args.len() {
                labels.push(string_arg(ev, c, i, ts)?);
            }
            let desc = name == "sort_by_label_desc";
            v.sort_by(|a, b| {
                let mut o = Ordering::Equal;
                for l in &labels {
                    let (x, y) = (a.metric.get(l).unwrap_or(""), b.metric.get(l).unwrap_or(""));
                    if x != y {
                        o = nat_cmp(x, y);
                        break;
                    }
                }
                if o == Ordering::Equal {
                    o = a.metric.cmp(&b.metric);
                }
                if desc { o.reverse() } else { o }
            });
            Ok(Val::Vector(v))
        }
        "histogram_quantile" => {
            let q = scalar_arg(ev, c, 0, ts)?;
            let v = vector_arg(ev, c, 1, ts)?;
            if q.is_nan() || !(0.0..=1.0).contains(&q) {
                ev.warn(format!(
                    "PromQL warning: quantile value should be between 0 and 1, got {}",
                    format_value(q)
                ));
            }
            let groups = classic_buckets(ev, v);
            let mut out = Vec::new();
            for (metric, buckets) in groups {
                let (r, forced) = bucket_quantile(q, buckets);
                if forced {
                    ev.info(format!(
                        "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {:?}",
                        metric.metric_name().unwrap_or("")
                    ));
                }
                out.push(Elem {
                    metric: metric.into(),
                    t: ts,
                    v: r,
                    drop_name: true,
                });
            }
            Ok(Val::Vector(out))
        }
        "histogram_quantiles" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let label = string_arg(ev, c, 1, ts)?;
            if !is_valid_label_name(&label) {
                return Err(QueryError::Execution(format!(
                    "invalid label name {label:?}"
                )));
            }
            let mut qs = Vec::new();
            for i in 2..c.args.len() {
                let q = scalar_arg(ev, c, i, ts)?;
                if q.is_nan() || !(0.0..=1.0).contains(&q) {
                    ev.warn(format!(
                        "PromQL warning: quantile value should be between 0 and 1, got {}",
                        format_value(q)
                    ));
                }
                qs.push(q);
            }
            let groups = classic_buckets(ev, v);
            let mut out = Vec::new();
            for (metric, buckets) in groups {
                for q in &qs {
                    let (r, forced) = bucket_quantile(*q, buckets.clone());
                    if forced {
                        ev.info(format!(
                            "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {:?}",
                            metric.metric_name().unwrap_or("")
                        ));
                    }
                    let mut b = metric.builder();
                    let mut qs = format_value(*q);
                    if qs.bytes().all(|c| c.is_ascii_digit() || c == b'-') {
                        // Quantile labels always carry a decimal point ("0.0", "1.0").
                        qs.push_str(".0");
                    }
                    b.set(label.clone(), qs);
                    out.push(Elem {
                        metric: b.build().into(),
                        t: ts,
                        v: r,
                        drop_name: true,
                    });
                }
            }
            Ok(Val::Vector(out))
        }
        "histogram_fraction" => {
            let lo = scalar_arg(ev, c, 0, ts)?;
            let hi = scalar_arg(ev, c, 1, ts)?;
            let v = vector_arg(ev, c, 2, ts)?;
            let groups = classic_buckets(ev, v);
            let out = groups
                .into_iter()
                .map(|(metric, buckets)| Elem {
                    metric: metric.into(),
                    t: ts,
                    v: bucket_fraction(lo, hi, buckets),
                    drop_name: true,
                })
                .collect();
            Ok(Val::Vector(out))
        }
        "info" => eval_info(ev, c, ts),
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => {
            // Only native histograms carry these; float samples yield nothing.
            let _ = vector_arg(ev, c, 0, ts)?;
            Ok(Val::Vector(Vec::new()))
        }
        other => Err(QueryError::Execution(format!(
            "function {other:?} is not supported"
        ))),
    }
}

fn sort_warning(ev: &mut Evaluator<'_>) {
    if ev.step > 0 {
        ev.warn("PromQL warning: sort is ineffective for range queries since results are always ordered by labels".into());
    }
}

/// Identifying labels joining series to info series.
const INFO_IDENTIFYING: [&str; 2] = ["instance", "job"];

/// `info(v, [selector])`: adds the data labels of matching info series (`target_info` unless
/// the selector names others) joined on `instance` and `job`. With data-label matchers only
/// those labels are added, and series that end up without a required label are dropped.
fn eval_info(ev: &mut Evaluator<'_>, c: &Call, ts: i64) -> Result<Val, QueryError> {
    let v = vector_arg(ev, c, 0, ts)?;
    let mut name_ms = Vec::new();
    let mut data_ms = Vec::new();
    if let Some(sel) = c.args.args.get(1) {
        let Expr::VectorSelector(vs) = strip_parens(sel) else {
            return Err(QueryError::Execution(
                "expected label selectors as the second argument to info".into(),
            ));
        };
        for group in crate::eval::selector_matchers(vs)? {
            for m in group {
                if m.name == METRIC_NAME {
                    name_ms.push(m);
                } else {
                    data_ms.push(m);
                }
            }
        }
    }
    if name_ms.is_empty() {
        name_ms.push(vigia_model::Matcher::equal(METRIC_NAME, "target_info"));
    }
    let mut all = name_ms.clone();
    all.extend(data_ms.iter().cloned());
    let infos = ev.select_instant(&all, ts)?;
    let mut out = Vec::with_capacity(v.len());
    for mut e in v {
        let mut b = e.metric.builder();
        let mut changed = false;
        for info in &infos {
            let joins = INFO_IDENTIFYING
                .iter()
                .all(|l| info.get(l).unwrap_or("") == e.metric.get(l).unwrap_or(""));
            if !joins {
                continue;
            }
            for l in info.iter() {
                if l.name == METRIC_NAME || INFO_IDENTIFYING.contains(&l.name.as_str()) {
                    continue;
                }
                if !data_ms.is_empty() && !data_ms.iter().any(|m| m.name == l.name) {
                    continue;
                }
                if b.get(&l.name).is_none() {
                    b.set(l.name.clone(), l.value.clone());
                    changed = true;
                }
            }
        }
        let labels = if changed {
            b.build()
        } else {
            (*e.metric).clone()
        };
        let satisfied = data_ms
            .iter()
            .all(|m| m.matches(labels.get(&m.name).unwrap_or("")));
        if !satisfied {
            continue;
        }
        if changed {
            e.metric = labels.into();
        }
        out.push(e);
    }
    Ok(Val::Vector(out))
}

/// Go's `math.Max`: NaN if either is NaN.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: NaN if either is NaN.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

fn simple_math(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sqrt" => f64::sqrt,
        "sgn" => |x: f64| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        },
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => |x: f64| x * 180.0 / std::f64::consts::PI,
        "rad" => |x: f64| x * std::f64::consts::PI / 180.0,
        _ => return None,
    })
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn date_part(name: &str, x: f64) -> f64 {
    if x.is_nan() || x.is_infinite() || x.abs() > 1e15 {
        return f64::NAN;
    }
    let secs = x as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mdays = [
        31,
        if is_leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    match name {
        "minute" => ((sod / 60) % 60) as f64,
        "hour" => (sod / 3600) as f64,
        "day_of_week" => (days + 4).rem_euclid(7) as f64,
        "day_of_month" => d as f64,
        "day_of_year" => {
            let before: i64 = mdays.iter().take((m - 1).max(0) as usize).sum();
            (before + d) as f64
        }
        "days_in_month" => mdays.get((m - 1).max(0) as usize).copied().unwrap_or(30) as f64,
        "month" => m as f64,
        "year" => y as f64,
        _ => f64::NAN,
    }
}

/// Natural-order string comparison (digit runs compare numerically).
fn nat_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let nx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let ny = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (dx, rx) = x.split_at(nx);
                let (dy, ry) = y.split_at(ny);
                let tx: &[u8] = &dx[dx.iter().take_while(|c| **c == b'0').count()..];
                let ty: &[u8] = &dy[dy.iter().take_while(|c| **c == b'0').count()..];
                let o = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty));
                if o != Ordering::Equal {
                    return o;
                }
                x = rx;
                y = ry;
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = x.get(1..).unwrap_or(&[]);
                y = y.get(1..).unwrap_or(&[]);
            }
        }
    }
}

/// Labels for `absent()`/`absent_over_time()`: the equality matchers of a plain selector.
fn absent_labels(e: &Expr) -> Labels {
    let vs = match strip_parens(e) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        Expr::Subquery(sq) => return absent_labels(&sq.expr),
        _ => return Labels::empty(),
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in &vs.matchers.matchers {
        *seen.entry(m.name.as_str()).or_default() += 1;
    }
    let mut pairs = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME || seen.get(m.name.as_str()).copied().unwrap_or(0) > 1 {
            continue;
        }
        if matches!(m.op, promql_parser::label::MatchOp::Equal) {
            pairs.push((m.name.clone(), m.value.clone()));
        }
    }
    Labels::from_pairs(pairs)
}

/// Groups classic `le` buckets by their series minus `le`; warns about bad `le` labels.
fn classic_buckets(ev: &mut Evaluator<'_>, v: Vec<Elem>) -> Vec<(Labels, Vec<Bucket>)> {
    let mut idx: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<(Labels, Vec<Bucket>)> = Vec::new();
    for e in v {
        let le = e.metric.get("le").unwrap_or("");
        let Some(ub) = parse_go_float(le) else {
            ev.warn(format!(
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of {:?} for metric name {:?}",
                le,
                e.metric.metric_name().unwrap_or("")
            ));
            continue;
        };
        let mut b = e.metric.builder();
        b.del("le");
        let key = b.build();
        let i = match idx.get(&key) {
            Some(i) => *i,
            None => {
                idx.insert(key.clone(), out.len());
                out.push((key, Vec::new()));
                out.len() - 1
            }
        };
        if let Some(g) = out.get_mut(i) {
            g.1.push(Bucket {
                upper: ub,
                count: e.v,
            });
        }
    }
    out
}

fn is_range_function(name: &str) -> bool {
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

fn eval_range_function(ev: &mut Evaluator<'_>, c: &Call, ts: i64) -> Result<Val, QueryError> {
    let name = c.func.name;
    // Scalar parameters come before or after the range argument depending on the function.
    let (range_idx, params): (usize, Vec<usize>) = match name {
        "quantile_over_time" => (1, vec![0]),
        "predict_linear" => (0, vec![1]),
        "double_exponential_smoothing" | "holt_winters" => (0, vec![1, 2]),
        _ => (0, vec![]),
    };
    let mut p = Vec::new();
    for i in params {
        p.push(scalar_arg(ev, c, i, ts)?);
    }
    let (series, range_start, range_end, range_ms) = ev.eval_range_arg(arg(c, range_idx)?, ts)?;
    let p0 = p.first().copied().unwrap_or(f64::NAN);
    let p1 = p.get(1).copied().unwrap_or(f64::NAN);
    match name {
        "absent_over_time" => {
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
        "quantile_over_time"
            if (p0.is_nan() || !(0.0..=1.0).contains(&p0)) && !series.is_empty() =>
        {
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
                if counter
                    && let Some(n) = metric.metric_name()
                    && !(n.ends_with("_total")
                        || n.ends_with("_sum")
                        || n.ends_with("_count")
                        || n.ends_with("_bucket"))
                {
                    ev.info(format!(
                        "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {n:?}"
                    ));
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
            "irate" | "idelta" => instant_value(&points, name == "irate"),
            "deriv" => {
                if points.len() < 2 {
                    None
                } else {
                    let t0 = points.first().map_or(0, |p| p.0);
                    Some(linear_regression(&points, t0).0)
                }
            }
            "predict_linear" => {
                if points.len() < 2 {
                    None
                } else {
                    let (slope, icpt) = linear_regression(&points, ts);
                    Some(slope * p0 + icpt)
                }
            }
            "avg_over_time" => Some(avg(points.iter().map(|p| p.1))),
            "sum_over_time" => {
                let (mut s, mut c) = (0.0, 0.0);
                for p in &points {
                    (s, c) = kahan_inc(p.1, s, c);
                }
                Some(s + c)
            }
            "count_over_time" => Some(points.len() as f64),
            "min_over_time" => points
                .iter()
                .map(|p| p.1)
                .reduce(|m, v| if v < m || m.is_nan() { v } else { m }),
            "max_over_time" => points
                .iter()
                .map(|p| p.1)
                .reduce(|m, v| if v > m || m.is_nan() { v } else { m }),
            "last_over_time" => points.last().map(|p| p.1),
            "first_over_time" => points.first().map(|p| p.1),
            "ts_of_last_over_time" => points.last().map(|p| p.0 as f64 / 1000.0),
            "ts_of_first_over_time" => points.first().map(|p| p.0 as f64 / 1000.0),
            "ts_of_min_over_time" | "ts_of_max_over_time" => {
                let max = name == "ts_of_max_over_time";
                let mut best: Option<(i64, f64)> = None;
                for &(t, v) in &points {
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
            "present_over_time" => Some(1.0),
            "quantile_over_time" => {
                let mut vals: Vec<f64> = points.iter().map(|p| p.1).collect();
                Some(quantile_of(p0, &mut vals))
            }
            "stddev_over_time" | "stdvar_over_time" => {
                let (mut count, mut mean, mut cm, mut aux, mut ca) =
                    (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
                for p in &points {
                    count += 1.0;
                    let delta = p.1 - (mean + cm);
                    (mean, cm) = kahan_inc(delta / count, mean, cm);
                    (aux, ca) = kahan_inc(delta * (p.1 - (mean + cm)), aux, ca);
                }
                let var = (aux + ca) / count;
                Some(if name == "stddev_over_time" {
                    var.sqrt()
                } else {
                    var
                })
            }
            "mad_over_time" if points.iter().any(|p| p.1.is_nan()) => Some(f64::NAN),
            "mad_over_time" => {
                let mut vals: Vec<f64> = points.iter().map(|p| p.1).collect();
                let med = quantile_of(0.5, &mut vals);
                let mut dev: Vec<f64> = vals.iter().map(|v| (v - med).abs()).collect();
                Some(quantile_of(0.5, &mut dev))
            }
            "resets" => {
                let n = points
                    .windows(2)
                    .filter(|w| matches!(w, [a, b] if b.1 < a.1))
                    .count();
                Some(n as f64)
            }
            "changes" => {
                let n = points
                    .windows(2)
                    .filter(
                        |w| matches!(w, [a, b] if b.1 != a.1 && !(a.1.is_nan() && b.1.is_nan())),
                    )
                    .count();
                Some(n as f64)
            }
            "double_exponential_smoothing" | "holt_winters" => smoothing(&points, p0, p1),
            _ => None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xxh64_reference_vectors() {
        assert_eq!(xxh64(b""), 0xEF46_DB37_51D8_E999);
        assert_eq!(xxh64(b"abc"), 0x44BC_2CF5_AD77_0999);
        // Longer than one 32-byte stripe.
        assert_eq!(
            xxh64(b"Nobody inspects the spammish repetition"),
            0xFBCE_A83C_8A37_8BF1
        );
    }

    #[test]
    fn quantile_interpolates() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile_of(0.5, &mut v), 2.5);
        assert_eq!(quantile_of(-1.0, &mut v), f64::NEG_INFINITY);
        assert!(quantile_of(f64::NAN, &mut v).is_nan());
    }

    #[test]
    fn natural_order() {
        assert_eq!(nat_cmp("a9", "a10"), Ordering::Less);
        assert_eq!(nat_cmp("a10", "a10"), Ordering::Equal);
        assert_eq!(nat_cmp("b", "a10"), Ordering::Greater);
    }

    #[test]
    fn dates() {
        // 2024-02-29 12:34:56 UTC
        let t = 1_709_210_096.0;
        assert_eq!(date_part("year", t), 2024.0);
        assert_eq!(date_part("month", t), 2.0);
        assert_eq!(date_part("day_of_month", t), 29.0);
        assert_eq!(date_part("days_in_month", t), 29.0);
        assert_eq!(date_part("day_of_year", t), 60.0);
        assert_eq!(date_part("hour", t), 12.0);
        assert_eq!(date_part("minute", t), 34.0);
        assert_eq!(date_part("day_of_week", t), 4.0);
    }
}
