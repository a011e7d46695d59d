//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, `count_values`, `limitk`, …) with
//! `by`/`without` grouping.

use crate::context::Context;
use crate::functions::is_valid_label_name;
use crate::stats::{avg, kahan_inc, quantile_of, variance};
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

fn scalar_param(ev: &mut dyn Context, a: &AggregateExpr, ts: i64) -> Result<f64, QueryError> {
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

/// Evaluates an aggregation at `ts`: its parameter first (as Prometheus does), then the input
/// vector, then the operator over each group.
pub(crate) fn eval_aggregate(
    ev: &mut dyn Context,
    a: &AggregateExpr,
    ts: i64,
) -> Result<Val, QueryError> {
    let op = a.op.id();
    let mut k_param = 0.0;
    let mut label_param = String::new();
    match op {
        T_TOPK | T_BOTTOMK | T_LIMITK | T_LIMIT_RATIO | T_QUANTILE => {
            k_param = scalar_param(ev, a, ts)?;
        }
        T_COUNT_VALUES => label_param = string_param(ev, a, ts)?,
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
    let out = match op {
        T_TOPK | T_BOTTOMK => match count_param(k_param)? {
            Some(k) => top_k(group(input, &a.modifier), k, op == T_TOPK),
            None => Vec::new(),
        },
        T_LIMITK => match count_param(k_param)? {
            Some(k) => group(input, &a.modifier)
                .into_iter()
                .flat_map(|(_, els)| els.into_iter().take(k))
                .collect(),
            None => Vec::new(),
        },
        T_LIMIT_RATIO => limit_ratio(ev, group(input, &a.modifier), k_param)?,
        T_COUNT_VALUES => count_values(input, &a.modifier, &label_param, ts)?,
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
                out.push(Elem {
                    v: reduce(a, &els, k_param)?,
                    metric: labels.into(),
                    t: ts,
                    drop_name: drop,
                });
            }
            out
        }
    };
    Ok(Val::Vector(out))
}

/// The string parameter of `count_values`.
fn string_param(ev: &mut dyn Context, a: &AggregateExpr, ts: i64) -> Result<String, QueryError> {
    let Some(p) = &a.param else {
        return Err(QueryError::Execution(
            "no parameter given to count_values".into(),
        ));
    };
    match ev.eval(p, ts)? {
        Val::Str(s) => Ok(s),
        other => Err(QueryError::Execution(format!(
            "expected string parameter, got {}",
            other.type_name()
        ))),
    }
}

/// The `k` of `topk`, `bottomk` and `limitk` as a count; `None` when below 1.
fn count_param(k: f64) -> Result<Option<usize>, QueryError> {
    if k.is_nan() {
        return Err(QueryError::Execution("Parameter value is NaN".into()));
    }
    if k >= 9.223_372_036_854_776e18 || k <= -9.223_372_036_854_776e18 {
        return Err(QueryError::Execution(format!(
            "Scalar value {k} overflows int64"
        )));
    }
    let k = k as i64;
    Ok((k >= 1).then(|| usize::try_from(k).unwrap_or(usize::MAX)))
}

/// `topk` / `bottomk`: the `k` largest or smallest of each group, NaN last.
fn top_k(groups: Vec<(Labels, Vec<Elem>)>, k: usize, top: bool) -> Vec<Elem> {
    use std::cmp::Ordering;
    let mut out = Vec::new();
    for (_, mut els) in groups {
        els.sort_by(|x, y| match (x.v.is_nan(), y.v.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ if top => y.v.total_cmp(&x.v),
            _ => x.v.total_cmp(&y.v),
        });
        out.extend(els.into_iter().take(k));
    }
    out
}

/// `limit_ratio`: a stable, hash-chosen share of each group (the rest for negative ratios).
fn limit_ratio(
    ev: &mut dyn Context,
    groups: Vec<(Labels, Vec<Elem>)>,
    ratio: f64,
) -> Result<Vec<Elem>, QueryError> {
    if ratio.is_nan() {
        return Err(QueryError::Execution("Ratio value is NaN".into()));
    }
    let r = ratio.clamp(-1.0, 1.0);
    if r != ratio {
        ev.warn(format!(
            "PromQL warning: ratio value should be between -1 and 1, got {}, capping to {}",
            format_value(ratio),
            format_value(r)
        ));
    }
    Ok(groups
        .into_iter()
        .flat_map(|(_, els)| els)
        .filter(|e| {
            let off = crate::hash::ratio_offset(&e.metric);
            if r >= 0.0 { off < r } else { off >= 1.0 + r }
        })
        .collect())
}

/// `count_values`: one series per distinct value (per group), counting its elements.
fn count_values(
    input: Vec<Elem>,
    modifier: &Option<LabelModifier>,
    label: &str,
    ts: i64,
) -> Result<Vec<Elem>, QueryError> {
    if !is_valid_label_name(label) {
        return Err(QueryError::Execution(format!(
            "invalid label name {label:?}"
        )));
    }
    let mut idx: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<Elem> = Vec::new();
    for e in input {
        let mut b = group_labels(&e.metric, modifier).builder();
        b.set(label.to_string(), format_value(e.v));
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
    Ok(out)
}

/// One group's value under `sum`, `avg`, `count`, `group`, `min`, `max`, `stddev`, `stdvar`
/// or `quantile`.
fn reduce(a: &AggregateExpr, els: &[Elem], param: f64) -> Result<f64, QueryError> {
    let values = || els.iter().map(|e| e.v);
    Ok(match a.op.id() {
        T_SUM => {
            let (mut s, mut c) = (0.0, 0.0);
            for v in values() {
                (s, c) = kahan_inc(v, s, c);
            }
            s + c
        }
        T_AVG => avg(values()),
        T_COUNT => els.len() as f64,
        T_GROUP => 1.0,
        T_MIN => values().fold(f64::NAN, |m, v| if m.is_nan() || v < m { v } else { m }),
        T_MAX => values().fold(f64::NAN, |m, v| if m.is_nan() || v > m { v } else { m }),
        T_STDDEV => variance(values()).sqrt(),
        T_STDVAR => variance(values()),
        T_QUANTILE => quantile_of(param, &mut values().collect::<Vec<_>>()),
        _ => {
            return Err(QueryError::Execution(format!(
                "unsupported aggregation {}",
                a.op
            )));
        }
    })
}
