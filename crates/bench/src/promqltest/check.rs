//! Judging one `eval` command: the engine's answer against the expected series, values (with
//! Prometheus's tolerance), annotations and errors; plus the runner's extra checks (an instant
//! query run as a range query, and `@` pinning a result).

use super::{EvalCmd, Expect, Matchy};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use vigia_model::{Labels, MemStorage};
use vigia_promql::{
    Engine, Expression, InstantSample, QueryError, QueryOutput, QueryParams, Value, ValueKind,
};

pub(crate) fn strip_pos(s: &str) -> &str {
    // Our parser carries no positions, so a trailing " (line:col)" is not compared.
    let t = s.trim_end();
    if let Some(p) = t.rfind(" (") {
        let tail = t.get(p + 2..).unwrap_or("");
        if tail.ends_with(')')
            && tail
                .trim_end_matches(')')
                .split(':')
                .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
        {
            return t.get(..p).unwrap_or(t);
        }
    }
    t
}

pub(crate) fn annotations_ok(
    kind: &str,
    got: &[String],
    want: &Option<Option<Matchy>>,
    none: bool,
) -> Result<(), String> {
    if none && !got.is_empty() {
        return Err(format!("expected no {kind} annotations, got {got:?}"));
    }
    match want {
        None => Ok(()),
        Some(None) => {
            if got.is_empty() {
                Err(format!("expected {kind} annotations, got none"))
            } else {
                Ok(())
            }
        }
        Some(Some(Matchy::Msg(m))) => {
            if got.iter().any(|g| strip_pos(g) == strip_pos(m)) {
                Ok(())
            } else {
                Err(format!("expected {kind} {m:?}, got {got:?}"))
            }
        }
        Some(Some(Matchy::Regex(r))) => {
            let re = regex::Regex::new(r).map_err(|e| e.to_string())?;
            // Drop a trailing escaped position such as `\(1:21\)` or `\([0-9]+:[0-9]+\)`.
            let pos = regex::Regex::new(r"\s*\\\((?:\[0-9\]\+|\d+):(?:\[0-9\]\+|\d+)\\\)$")
                .map_err(|e| e.to_string())?;
            let r2 = pos.replace(r, "");
            let re2 = regex::Regex::new(&r2).map_err(|e| e.to_string())?;
            if got
                .iter()
                .any(|g| re.is_match(g) || re2.is_match(strip_pos(g)))
            {
                Ok(())
            } else {
                Err(format!("expected {kind} matching {r:?}, got {got:?}"))
            }
        }
    }
}

/// One expected or actual series: labels (none for a scalar) and timestamped values.
pub(crate) type Row = (Option<Labels>, Vec<(i64, f64)>);

pub(crate) fn almost_equal(a: f64, b: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < 1e-6 * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < 1e-6
}

pub(crate) fn fmt_vals(v: &[(i64, f64)]) -> String {
    v.iter()
        .map(|(t, x)| format!("{x}@{}", t))
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn check(ev: &EvalCmd, res: Result<QueryOutput, QueryError>) -> Result<(), String> {
    let ex = &ev.expect;
    let out = match res {
        Err(e) => {
            if !ex.fail {
                return Err(format!("unexpected error: {e}"));
            }
            let msg = e.to_string();
            if let Some(m) = &ex.fail_msg
                && msg.trim() != m.trim()
            {
                return Err(format!("expected error {m:?}, got {msg:?}"));
            }
            if let Some(r) = &ex.fail_regex {
                let re = regex::Regex::new(r).map_err(|e| e.to_string())?;
                if !re.is_match(&msg) {
                    return Err(format!("expected error matching {r:?}, got {msg:?}"));
                }
            }
            return Ok(());
        }
        Ok(o) => o,
    };
    if ex.fail {
        return Err(format!(
            "expected error, got result {:?}",
            summarize(&out.value)
        ));
    }
    annotations_ok("warn", &out.warnings, &ex.warn, ex.no_warn)?;
    annotations_ok("info", &out.infos, &ex.info, ex.no_info)?;
    if let Some(s) = &ex.string {
        return match &out.value {
            Value::String { s: got, .. } if got == s => Ok(()),
            other => Err(format!("expected string {s:?}, got {:?}", summarize(other))),
        };
    }
    // Expected series with timestamped values.
    let (steps, expect_matrix): (Option<(i64, i64, i64)>, bool) = match (ev.range, ex.range_vector)
    {
        (Some(r), _) => (Some(r), true),
        (None, Some(r)) => (Some(r), true),
        (None, None) => (None, false),
    };
    let mut want: Vec<Row> = Vec::new();
    for (l, vals) in &ex.lines {
        let pts: Vec<(i64, f64)> = match steps {
            Some((s, _, st)) => vals
                .iter()
                .enumerate()
                .filter_map(|(k, v)| v.map(|v| (s + k as i64 * st, v)))
                .collect(),
            None => vals.iter().filter_map(|v| v.map(|v| (ev.at, v))).collect(),
        };
        want.push((l.clone(), pts));
    }
    let got: Vec<Row> = match &out.value {
        Value::Scalar { t, v } => vec![(None, vec![(*t, *v)])],
        Value::String { s, .. } => return Err(format!("unexpected string result {s:?}")),
        Value::Vector(v) => {
            if expect_matrix {
                return Err("expected a range vector, got an instant vector".into());
            }
            v.iter()
                .map(|s| (Some(s.labels.clone()), vec![(ev.at, s.v)]))
                .collect()
        }
        Value::Matrix(m) => {
            if !expect_matrix {
                return Err("expected an instant vector, got a range vector".into());
            }
            m.iter()
                .map(|s| {
                    (
                        Some(s.labels.clone()),
                        s.samples.iter().map(|x| (x.t, x.v)).collect(),
                    )
                })
                .collect()
        }
    };
    // A scalar is expected as a bare number; a `{}`-labelled line does not match it.
    if let Value::Scalar { .. } = out.value
        && (want.len() != 1 || want.first().is_some_and(|w| w.0.is_some()))
    {
        return Err(format!(
            "expected {} series, got scalar {}",
            want.len(),
            summarize(&out.value)
        ));
    }
    let render = |rows: &[Row]| {
        let mut s = String::new();
        for (l, p) in rows {
            let _ = writeln!(
                s,
                "  {} {}",
                l.as_ref().map(|l| l.to_string()).unwrap_or_default(),
                fmt_vals(p)
            );
        }
        s
    };
    let diff = || format!("expected:\n{}got:\n{}", render(&want), render(&got));
    if want.len() != got.len() {
        return Err(diff());
    }
    let pts_eq = |a: &[(i64, f64)], b: &[(i64, f64)]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.0 == y.0 && almost_equal(x.1, y.1))
    };
    if ex.ordered && ev.range.is_none() {
        for (w, g) in want.iter().zip(&got) {
            if w.0 != g.0 || !pts_eq(&w.1, &g.1) {
                return Err(diff());
            }
        }
        return Ok(());
    }
    let mut by_labels: BTreeMap<Option<Labels>, &Vec<(i64, f64)>> = BTreeMap::new();
    for (l, p) in &got {
        by_labels.insert(l.clone(), p);
    }
    for (l, p) in &want {
        match by_labels.get(l) {
            Some(g) if pts_eq(p, g) => {}
            _ => return Err(diff()),
        }
    }
    Ok(())
}

/// Like Prometheus's runner: an instant query must give the same result when run as a range
/// query around the same time (checked at the middle step).
pub(crate) fn check_range_mode(
    engine: &Engine,
    store: &MemStorage,
    ev: &EvalCmd,
) -> Result<(), String> {
    let ex = &ev.expect;
    if ex.fail || ex.ordered || ex.string.is_some() || ex.range_vector.is_some() {
        return Ok(());
    }
    // Queries that depend on the query's own start, end or step differ by design.
    let compact: String = ev.query.chars().filter(|c| !c.is_whitespace()).collect();
    if ["start()", "end()", "step()", "range()"]
        .iter()
        .any(|f| compact.contains(f))
    {
        return Ok(());
    }
    let Ok(expr) = Expression::parse(&ev.query) else {
        return Ok(());
    };
    if !matches!(expr.kind(), ValueKind::Vector | ValueKind::Scalar) {
        return Ok(());
    }
    let p = QueryParams::default();
    let out = engine
        .range(store, &ev.query, ev.at - 60_000, ev.at + 60_000, 60_000, &p)
        .map_err(|e| format!("range-mode check: unexpected error: {e}"))?;
    let Value::Matrix(m) = out.value else {
        return Err("range-mode check: range query did not return a matrix".into());
    };
    let mut rows: Vec<InstantSample> = Vec::new();
    for s in m {
        if let Some(x) = s.samples.iter().find(|x| x.t == ev.at) {
            rows.push(InstantSample {
                labels: s.labels.clone(),
                t: x.t,
                v: x.v,
            });
        }
    }
    let value = if expr.kind() == ValueKind::Scalar {
        match rows.first() {
            Some(r) => Value::Scalar { t: ev.at, v: r.v },
            None => return Err("range-mode check: no scalar at the middle step".into()),
        }
    } else {
        Value::Vector(rows)
    };
    let sub = EvalCmd {
        line: ev.line,
        command: ev.command.clone(),
        range: None,
        at: ev.at,
        query: ev.query.clone(),
        expect: Expect {
            lines: ex.lines.clone(),
            ..Default::default()
        },
    };
    let o = QueryOutput {
        value,
        warnings: Vec::new(),
        infos: Vec::new(),
        stats: Default::default(),
    };
    check(&sub, Ok(o))
        .map_err(|d| format!("range-mode check (instant query run as a range query) differs:\n{d}"))
}

/// Like Prometheus's runner: with `@ <eval time>` on every selector, the query must give the
/// same result when evaluated at other times.
pub(crate) fn check_at_modifier(
    engine: &Engine,
    store: &MemStorage,
    ev: &EvalCmd,
) -> Result<(), String> {
    let ex = &ev.expect;
    if ex.fail || ex.ordered || ex.string.is_some() || ex.range_vector.is_some() || ev.at < 0 {
        return Ok(());
    }
    let compact: String = ev.query.chars().filter(|c| !c.is_whitespace()).collect();
    if ["start()", "end()", "step()", "range()"]
        .iter()
        .any(|f| compact.contains(f))
    {
        return Ok(());
    }
    let Ok(expr) = Expression::parse(&ev.query) else {
        return Ok(());
    };
    let Some(pinned) = expr.pinned_at(ev.at) else {
        return Ok(());
    };
    let query = pinned.to_string();
    if Expression::parse(&query).is_err() {
        return Ok(());
    }
    let times: Vec<i64> = if ev.at == 0 {
        vec![-1000, 0, 1000]
    } else {
        vec![-10 * ev.at, 0, ev.at / 5, ev.at, 10 * ev.at]
    };
    for t in times {
        let res = engine.instant(store, &query, t, &QueryParams::default());
        let sub = EvalCmd {
            line: ev.line,
            command: ev.command.clone(),
            range: None,
            at: t,
            query: query.clone(),
            expect: Expect {
                lines: ex.lines.clone(),
                ..Default::default()
            },
        };
        check(&sub, res)
            .map_err(|d| format!("@-modifier check ({query} at {t}ms) differs:\n{d}"))?;
    }
    Ok(())
}

pub(crate) fn summarize(v: &Value) -> String {
    match v {
        Value::Scalar { v, .. } => format!("scalar {v}"),
        Value::String { s, .. } => format!("string {s:?}"),
        Value::Vector(x) => format!("vector of {}", x.len()),
        Value::Matrix(x) => format!("matrix of {}", x.len()),
    }
}
