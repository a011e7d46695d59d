//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, `count_values`, `limitk`, …) with
//! `by`/`without` grouping.

use crate::eval::Evaluator;
use crate::functions::is_valid_label_name;
use crate::functions::{kahan_inc, quantile_of};
use crate::value::{Elem, QueryError, Val};
use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_LIMIT_RATIO, T_LIMITK, T_MAX, T_MIN,
    T_QUANTILE, T_STDDEV, T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, LabelModifier};
use std::collections::HashMap;
use vigia_model::float::format_value;
use vigia_model::{Labels, METRIC_NAME};

fn group_labels(l: &Labels, m: &Option<LabelModifier>) -> Labels {
    match m {
        None => Labels::empty(),
        Some(LabelModifier::Include(ls)) => {
            let mut b = l.builder();
            b.retain(|n| ls.labels.iter().any(|x| x == n));
            b.build()
        }
        Some(LabelModifier::Exclude(ls)) => {
            let mut b = l.builder();
            b.retain(|n| n != METRIC_NAME && !ls.labels.iter().any(|x| x == n));
            b.build()
        }
    }
}

/// True when label `n` takes part in the grouping.
fn in_group(n: &str, m: &Option<LabelModifier>) -> bool {
    match m {
        None => false,
        Some(LabelModifier::Include(ls)) => ls.labels.iter().any(|x| x == n),
        Some(LabelModifier::Exclude(ls)) => n != METRIC_NAME && !ls.labels.iter().any(|x| x == n),
    }
}

/// Hash of the grouping labels, computed without allocating.
fn group_hash(l: &Labels, m: &Option<LabelModifier>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in l.iter().filter(|x| in_group(&x.name, m)) {
        for b in x
            .name
            .bytes()
            .chain([0xff])
            .chain(x.value.bytes())
            .chain([0xfe])
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn same_group(a: &Labels, b: &Labels, m: &Option<LabelModifier>) -> bool {
    a.iter()
        .filter(|x| in_group(&x.name, m))
        .eq(b.iter().filter(|x| in_group(&x.name, m)))
}

/// Groups elements, preserving the order of first appearance of each group.
fn group(els: Vec<Elem>, m: &Option<LabelModifier>) -> Vec<(Labels, Vec<Elem>)> {
    let mut idx: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut groups: Vec<(Labels, Vec<Elem>)> = Vec::new();
    for e in els {
        let h = group_hash(&e.metric, m);
        let cands = idx.entry(h).or_default();
        let found = cands.iter().copied().find(|&i| {
            groups
                .get(i)
                .and_then(|g| g.1.first())
                .is_some_and(|f| same_group(&f.metric, &e.metric, m))
        });
        match found.and_then(|i| groups.get_mut(i)) {
            Some(slot) => slot.1.push(e),
            None => {
                cands.push(groups.len());
                groups.push((group_labels(&e.metric, m), vec![e]));
            }
        }
    }
    groups
}

fn scalar_param(ev: &mut Evaluator<'_>, a: &AggregateExpr, ts: i64) -> Result<f64, QueryError> {
    let Some(p) = &a.param else {
        return Err(QueryError::Execution(format!(
            "no parameter given to {}",
            a.op
        )));
    };
    match ev.eval(p, ts)? {
        Val::Scalar(v) => Ok(v),
        other => Err(QueryError::Execution(format!(
            "expected scalar parameter, got {}",
            other.type_name()
        ))),
    }
}

pub(crate) fn eval_aggregate(
    ev: &mut Evaluator<'_>,
    a: &AggregateExpr,
    ts: i64,
) -> Result<Val, QueryError> {
    let op = a.op.id();
    // Parameters are evaluated first, as Prometheus does.
    let mut k_param = 0.0;
    let mut label_param = String::new();
    match op {
        T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO | T_QUANTILE => {
            k_param = scalar_param(ev, a, ts)?;
        }
        T_COUNT_VALUES => {
            let Some(p) = &a.param else {
                return Err(QueryError::Execution(
                    "no parameter given to count_values".into(),
                ));
            };
            match ev.eval(p, ts)? {
                Val::Str(s) => label_param = s,
                other => {
                    return Err(QueryError::Execution(format!(
                        "expected string parameter, got {}",
                        other.type_name()
                    )));
                }
            }
        }
        _ => {}
    }
    let input = match ev.eval(&a.expr, ts)? {
        Val::Vector(v) => v,
        other => {
            return Err(QueryError::Execution(format!(
                "expected type instant vector in aggregation expression, got {}",
                other.type_name()
            )));
        }
    };
    match op {
        T_TOPK | T_BOTTOMK => {
            if k_param.is_nan() {
                return Err(QueryError::Execution("Parameter value is NaN".into()));
            }
            if k_param >= 9.223_372_036_854_776e18 || k_param <= -9.223_372_036_854_776e18 {
                return Err(QueryError::Execution(format!(
                    "Scalar value {k_param} overflows int64"
                )));
            }
            let k = k_param as i64;
            if k < 1 {
                return Ok(Val::Vector(Vec::new()));
            }
            let top = op == T_TOPK;
            let mut out = Vec::new();
            for (_, mut els) in group(input, &a.modifier) {
                els.sort_by(|x, y| {
                    use std::cmp::Ordering;
                    match (x.v.is_nan(), y.v.is_nan()) {
                        (true, true) => Ordering::Equal,
                        (true, false) => Ordering::Greater,
                        (false, true) => Ordering::Less,
                        _ => {
                            if top {
                                y.v.total_cmp(&x.v)
                            } else {
                                x.v.total_cmp(&y.v)
                            }
                        }
                    }
                });
                out.extend(
                    els.into_iter()
                        .take(usize::try_from(k).unwrap_or(usize::MAX)),
                );
            }
            Ok(Val::Vector(out))
        }
        T_LIMITK => {
            if k_param.is_nan() {
                return Err(QueryError::Execution("Parameter value is NaN".into()));
            }
            if k_param >= 9.223_372_036_854_776e18 || k_param <= -9.223_372_036_854_776e18 {
                return Err(QueryError::Execution(format!(
                    "Scalar value {k_param} overflows int64"
                )));
            }
            let k = k_param as i64;
            if k < 1 {
                return Ok(Val::Vector(Vec::new()));
            }
            let mut out = Vec::new();
            for (_, els) in group(input, &a.modifier) {
                out.extend(
                    els.into_iter()
                        .take(usize::try_from(k).unwrap_or(usize::MAX)),
                );
            }
            Ok(Val::Vector(out))
        }
        T_LIMIT_RATIO => {
            if k_param.is_nan() {
                return Err(QueryError::Execution("Ratio value is NaN".into()));
            }
            let mut r = k_param;
            if r > 1.0 {
                ev.warn(format!(
                    "PromQL warning: ratio value should be between -1 and 1, got {}, capping to 1",
                    format_value(r)
                ));
                r = 1.0;
            } else if r < -1.0 {
                ev.warn(format!(
                    "PromQL warning: ratio value should be between -1 and 1, got {}, capping to -1",
                    format_value(r)
                ));
                r = -1.0;
            }
            let mut out = Vec::new();
            for (_, els) in group(input, &a.modifier) {
                for e in els {
                    let off = crate::functions::ratio_offset(&e.metric);
                    let keep = if r >= 0.0 { off < r } else { off >= 1.0 + r };
                    if keep {
                        out.push(e);
                    }
                }
            }
            Ok(Val::Vector(out))
        }
        T_COUNT_VALUES => {
            if !is_valid_label_name(&label_param) {
                return Err(QueryError::Execution(format!(
                    "invalid label name {label_param:?}"
                )));
            }
            let mut idx: HashMap<Labels, usize> = HashMap::new();
            let mut out: Vec<Elem> = Vec::new();
            for e in input {
                let mut b = group_labels(&e.metric, &a.modifier).builder();
                b.set(label_param.clone(), format_value(e.v));
                let l = b.build();
                match idx.get(&l) {
                    Some(&i) => {
                        if let Some(o) = out.get_mut(i) {
                            o.v += 1.0;
                        }
                    }
                    None => {
                        idx.insert(l.clone(), out.len());
                        out.push(Elem {
                            metric: l.into(),
                            t: ts,
                            v: 1.0,
                            drop_name: false,
                        });
                    }
                }
            }
            Ok(Val::Vector(out))
        }
        _ => {
            if op == T_QUANTILE && (k_param.is_nan() || !(0.0..=1.0).contains(&k_param)) {
                ev.warn(format!(
                    "PromQL warning: quantile value should be between 0 and 1, got {}",
                    format_value(k_param)
                ));
            }
            let mut out = Vec::new();
            for (labels, els) in group(input, &a.modifier) {
                let drop = els.iter().any(|e| e.drop_name) && labels.metric_name().is_some();
                let n = els.len() as f64;
                let v = match op {
                    T_SUM => {
                        let (mut s, mut c) = (0.0, 0.0);
                        for e in &els {
                            (s, c) = kahan_inc(e.v, s, c);
                        }
                        s + c
                    }
                    T_AVG => avg(els.iter().map(|e| e.v)),
                    T_COUNT => n,
                    T_GROUP => 1.0,
                    T_MIN => {
                        let mut m = f64::NAN;
                        for e in &els {
                            if m.is_nan() || e.v < m {
                                m = e.v;
                            }
                        }
                        m
                    }
                    T_MAX => {
                        let mut m = f64::NAN;
                        for e in &els {
                            if m.is_nan() || e.v > m {
                                m = e.v;
                            }
                        }
                        m
                    }
                    T_STDDEV | T_STDVAR => {
                        let var = variance(els.iter().map(|e| e.v));
                        if op == T_STDDEV { var.sqrt() } else { var }
                    }
                    T_QUANTILE => {
                        let mut vals: Vec<f64> = els.iter().map(|e| e.v).collect();
                        quantile_of(k_param, &mut vals)
                    }
                    _ => {
                        return Err(QueryError::Execution(format!(
                            "unsupported aggregation {}",
                            a.op
                        )));
                    }
                };
                out.push(Elem {
                    metric: labels.into(),
                    t: ts,
                    v,
                    drop_name: drop,
                });
            }
            Ok(Val::Vector(out))
        }
    }
}

/// Mean as Prometheus computes it: Kahan-compensated direct mean, switching to an incremental
/// mean if the running sum overflows.
pub(crate) fn avg(vals: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut c, mut count) = (0.0f64, 0.0f64, 0.0f64);
    let mut incremental = false;
    let mut mean = 0.0f64;
    for v in vals {
        count += 1.0;
        if !incremental {
            let (ns, nc) = kahan_inc(v, sum, c);
            if !ns.is_infinite() || v.is_infinite() || sum.is_infinite() {
                sum = ns;
                c = nc;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        if mean.is_infinite() && (v.is_finite() || (v.is_infinite() && (mean > 0.0) == (v > 0.0))) {
            continue;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(v / count, q * mean, q * c);
    }
    if count == 0.0 {
        return f64::NAN;
    }
    if incremental {
        mean + c
    } else {
        (sum + c) / count
    }
}

/// Population variance (Welford), as Prometheus's stdvar.
pub(crate) fn variance(vals: impl Iterator<Item = f64>) -> f64 {
    let (mut count, mut mean, mut m2) = (0.0f64, 0.0f64, 0.0f64);
    for v in vals {
        count += 1.0;
        let delta = v - mean;
        mean += delta / count;
        m2 += delta * (v - mean);
    }
    if count == 0.0 { f64::NAN } else { m2 / count }
}
