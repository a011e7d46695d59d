//! Rule unit tests in `promtool test rules` format: input series in the expanding notation,
//! alert tests (firing alerts with their labels and annotations at a time) and PromQL
//! expression tests, evaluated with a [`RuleManager`] over an in-memory store.

use crate::config::{Group, Rule, load_files};
use crate::manager::{ManagerOptions, RuleManager};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vigia_model::{AlertState, ManualClock};
use vigia_model::{Appender, Labels, MemStorage, PromDuration, Sample, SeriesSamples, stale_nan};
use vigia_promql::{Engine, EngineOptions, QueryParams, Value};

/// Outcome of one unit-test file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TestReport {
    /// The test file.
    pub file: PathBuf,
    /// Test groups run.
    pub groups_run: usize,
    /// Individual checks (one per alert test or expression test) run.
    pub checks_run: usize,
    /// Failed checks, each described like promtool does.
    pub failures: Vec<String>,
    /// Errors that stopped a test group or the whole file (unreadable file, bad rule files,
    /// bad input series).
    pub errors: Vec<String>,
}

impl TestReport {
    /// True when everything ran and passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.errors.is_empty()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    #[serde(default)]
    rule_files: Vec<String>,
    #[serde(default)]
    evaluation_interval: Option<PromDuration>,
    #[serde(default)]
    group_eval_order: Vec<String>,
    #[serde(default)]
    tests: Vec<TestGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestGroup {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    interval: Option<PromDuration>,
    #[serde(default)]
    input_series: Vec<InputSeries>,
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
    #[serde(default)]
    promql_expr_test: Vec<ExprTest>,
    #[serde(default)]
    external_labels: BTreeMap<String, String>,
    #[serde(default)]
    external_url: Option<String>,
    #[serde(default)]
    fuzzy_compare: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSeries {
    series: String,
    #[serde(default)]
    values: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertTest {
    eval_time: PromDuration,
    alertname: String,
    #[serde(default)]
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExprTest {
    expr: String,
    eval_time: PromDuration,
    #[serde(default)]
    exp_samples: Vec<ExpSample>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpSample {
    #[serde(default)]
    labels: String,
    value: f64,
}

/// Runs the rule unit tests of one file (`promtool test rules` format). Rule files are resolved
/// relative to the test file's directory.
pub fn run_rule_tests(path: &Path) -> TestReport {
    let mut rep = TestReport {
        file: path.to_path_buf(),
        ..Default::default()
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            rep.errors
                .push(format!("{}: cannot read: {e}", path.display()));
            return rep;
        }
    };
    let tf: TestFile = match serde_saphyr::from_str(&text) {
        Ok(t) => t,
        Err(e) => {
            let loc = e
                .location()
                .map(|l| format!(":{}:{}", l.line(), l.column()))
                .unwrap_or_default();
            rep.errors.push(format!(
                "{}{loc}: {}",
                path.display(),
                vigia_model::config::yaml_message(&e)
            ));
            return rep;
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let files = match vigia_template::expand_globs(&tf.rule_files, dir) {
        Ok(f) => f,
        Err(e) => {
            rep.errors
                .push(format!("{}: rule_files {e}", path.display()));
            return rep;
        }
    };
    let mut groups = match load_files(&files) {
        Ok(g) => g,
        Err(errs) => {
            rep.errors.extend(errs.iter().map(|e| e.to_string()));
            return rep;
        }
    };
    if !tf.group_eval_order.is_empty() {
        // As promtool: a group missing from the list ranks 0, with the first listed one (a
        // stable sort keeps file order among equal ranks).
        let order = &tf.group_eval_order;
        groups.sort_by_key(|g| order.iter().position(|n| *n == g.name).unwrap_or(0));
    }
    let eval_interval = tf
        .evaluation_interval
        .map_or(60_000, |d| d.as_millis())
        .max(1);
    for (i, tg) in tf.tests.iter().enumerate() {
        rep.groups_run += 1;
        let name = tg.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
        run_group(&mut rep, &name, tg, &groups, eval_interval);
    }
    rep
}

fn run_group(
    rep: &mut TestReport,
    name: &str,
    tg: &TestGroup,
    groups: &[Group],
    eval_interval: i64,
) {
    let store = Arc::new(MemStorage::new());
    let interval = tg.interval.map_or(60_000, |d| d.as_millis()).max(1);
    let mut batch = Vec::new();
    for s in &tg.input_series {
        let labels = match parse_series_labels(&s.series) {
            Ok(l) => l,
            Err(e) => {
                rep.errors
                    .push(format!("test {name}: series {:?}: {e}", s.series));
                return;
            }
        };
        let vals = match expand_values(&s.values) {
            Ok(v) => v,
            Err(e) => {
                rep.errors
                    .push(format!("test {name}: values {:?}: {e}", s.values));
                return;
            }
        };
        let samples: Vec<Sample> = vals
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| Sample::new(i as i64 * interval, v)))
            .collect();
        batch.push(SeriesSamples { labels, samples });
    }
    if let Err(e) = store.append(&batch) {
        rep.errors.push(format!("test {name}: loading series: {e}"));
        return;
    }
    let clock = Arc::new(ManualClock::new(0));
    let engine = Engine::new(EngineOptions::default());
    let mgr = RuleManager::new(
        engine.clone(),
        store.clone(),
        store.clone(),
        clock.clone(),
        Arc::new(|_| {}),
    )
    .with_options(ManagerOptions {
        external_labels: tg.external_labels.clone(),
        external_url: tg.external_url.clone().unwrap_or_default(),
        restore_for_state: false,
        ..Default::default()
    });
    let maxt = tg
        .alert_rule_test
        .iter()
        .map(|a| a.eval_time.as_millis())
        .chain(tg.promql_expr_test.iter().map(|e| e.eval_time.as_millis()))
        .max()
        .unwrap_or(0);
    let mut alert_tests: Vec<&AlertTest> = tg.alert_rule_test.iter().collect();
    alert_tests.sort_by_key(|a| a.eval_time.as_millis());
    let mut next_alert = 0;
    let mut ts = 0;
    while ts <= maxt {
        clock.set(ts);
        for g in groups {
            // Rule errors show up as rule health, like promtool; the checks decide.
            let _ = mgr.eval_group_at(g, ts);
        }
        while let Some(at) = alert_tests.get(next_alert) {
            let et = at.eval_time.as_millis();
            if !(ts <= et && et < ts + eval_interval) {
                break;
            }
            next_alert += 1;
            rep.checks_run += 1;
            check_alerts(rep, name, at, &mgr);
        }
        ts += eval_interval;
    }
    for et in &tg.promql_expr_test {
        rep.checks_run += 1;
        check_expr(rep, name, et, &engine, store.as_ref(), tg.fuzzy_compare);
    }
}

type LabAnn = (BTreeMap<String, String>, BTreeMap<String, String>);

fn fmt_alerts(v: &[LabAnn]) -> String {
    let parts: Vec<String> = v
        .iter()
        .map(|(l, a)| format!("{{labels: {l:?}, annotations: {a:?}}}"))
        .collect();
    format!("[{}]", parts.join(", "))
}

fn check_alerts(rep: &mut TestReport, name: &str, at: &AlertTest, mgr: &RuleManager) {
    let mut got: Vec<LabAnn> = Vec::new();
    for gs in mgr.status() {
        for rs in gs.rules {
            if let Rule::Alerting(a) = &rs.rule
                && a.alert == at.alertname
            {
                got.extend(
                    rs.alerts
                        .into_iter()
                        .filter(|x| x.state == AlertState::Firing)
                        .map(|x| (x.labels, x.annotations)),
                );
            }
        }
    }
    let mut exp: Vec<LabAnn> = at
        .exp_alerts
        .iter()
        .map(|e| {
            let mut l = e.exp_labels.clone();
            l.insert("alertname".into(), at.alertname.clone());
            (l, e.exp_annotations.clone())
        })
        .collect();
    got.sort();
    exp.sort();
    if got != exp {
        rep.failures.push(format!(
            "test {name}: alertname: {}, time: {},\n        exp:{},\n        got:{}",
            at.alertname,
            at.eval_time,
            fmt_alerts(&exp),
            fmt_alerts(&got)
        ));
    }
}

fn close(a: f64, b: f64, fuzzy: bool) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    let eps = if fuzzy { 1e-6 } else { 1e-12 };
    (a - b).abs() <= eps * a.abs().max(b.abs())
}

fn check_expr(
    rep: &mut TestReport,
    name: &str,
    et: &ExprTest,
    engine: &Engine,
    store: &MemStorage,
    fuzzy: bool,
) {
    let t = et.eval_time.as_millis();
    let got = match engine.instant(store, &et.expr, t, &QueryParams::default()) {
        Ok(out) => match out.value {
            Value::Vector(v) => v.into_iter().map(|s| (s.labels, s.v)).collect::<Vec<_>>(),
            Value::Scalar { v, .. } => vec![(Labels::empty(), v)],
            other => {
                rep.failures.push(format!(
                    "test {name}: expr: {:?}, time: {}: result is not a vector or scalar: {other:?}",
                    et.expr, et.eval_time
                ));
                return;
            }
        },
        Err(e) => {
            rep.failures.push(format!(
                "test {name}: expr: {:?}, time: {}, err: {e}",
                et.expr, et.eval_time
            ));
            return;
        }
    };
    let mut exp = Vec::new();
    for s in &et.exp_samples {
        match parse_series_labels(&s.labels) {
            Ok(l) => exp.push((l, s.value)),
            Err(e) => {
                rep.errors.push(format!(
                    "test {name}: exp_samples labels {:?}: {e}",
                    s.labels
                ));
                return;
            }
        }
    }
    let mut got = got;
    got.sort_by(|a, b| a.0.cmp(&b.0));
    exp.sort_by(|a, b| a.0.cmp(&b.0));
    let same = got.len() == exp.len()
        && got
            .iter()
            .zip(exp.iter())
            .all(|(g, e)| g.0 == e.0 && close(g.1, e.1, fuzzy));
    if !same {
        let show = |v: &[(Labels, f64)]| -> String {
            let p: Vec<String> = v.iter().map(|(l, x)| format!("{l} {x}")).collect();
            format!("[{}]", p.join(", "))
        };
        rep.failures.push(format!(
            "test {name}: expr: {:?}, time: {},\n        exp: {}\n        got: {}",
            et.expr,
            et.eval_time,
            show(&exp),
            show(&got)
        ));
    }
}

/// Parses a series in PromQL notation: `name`, `name{a="b", …}` or `{__name__="x", …}`.
pub(crate) fn parse_series_labels(s: &str) -> Result<Labels, String> {
    let s = s.trim();
    let (name, rest) = match s.find('{') {
        Some(i) => (s[..i].trim(), &s[i..]),
        None => (s, ""),
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    if !name.is_empty() {
        if !vigia_model::is_valid_metric_name(name) {
            return Err(format!("invalid metric name {name:?}"));
        }
        pairs.push(("__name__".into(), name.into()));
    }
    if !rest.is_empty() {
        let Some(inner) = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
            return Err("unbalanced braces".into());
        };
        let c: Vec<char> = inner.chars().collect();
        let mut i = 0;
        loop {
            while i < c.len() && (c[i].is_whitespace() || c[i] == ',') {
                i += 1;
            }
            if i >= c.len() {
                break;
            }
            let st = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let lname: String = c[st..i].iter().collect();
            if lname.is_empty() {
                return Err(format!(
                    "expected a label name at {:?}",
                    &inner[st.min(inner.len())..]
                ));
            }
            while i < c.len() && c[i].is_whitespace() {
                i += 1;
            }
            if c.get(i) != Some(&'=') {
                return Err(format!("expected '=' after {lname:?}"));
            }
            i += 1;
            while i < c.len() && c[i].is_whitespace() {
                i += 1;
            }
            let Some(&q) = c.get(i) else {
                return Err("expected a quoted value".into());
            };
            if q != '"' && q != '\'' && q != '`' {
                return Err(format!("expected a quoted value for {lname:?}"));
            }
            i += 1;
            let mut v = String::new();
            loop {
                let Some(&d) = c.get(i) else {
                    return Err("unterminated string".into());
                };
                i += 1;
                if d == q {
                    break;
                }
                if d == '\\' && q != '`' {
                    let Some(&e) = c.get(i) else {
                        return Err("unterminated string".into());
                    };
                    i += 1;
                    v.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                } else {
                    v.push(d);
                }
            }
            pairs.push((lname, v));
        }
    }
    if pairs.is_empty() {
        return Err("empty series".into());
    }
    Ok(Labels::from_pairs(pairs))
}

fn parse_value(t: &str) -> Result<f64, String> {
    match t {
        "Inf" | "+Inf" | "inf" | "+inf" => Ok(f64::INFINITY),
        "-Inf" | "-inf" => Ok(f64::NEG_INFINITY),
        "NaN" | "nan" => Ok(f64::NAN),
        "stale" => Ok(stale_nan()),
        _ => t.parse::<f64>().map_err(|_| format!("invalid value {t:?}")),
    }
}

/// Expands promtool's value notation (`1 2 _ stale`, `1+2x3`, `5-1x2`, `3x2`, `_x4`) into one
/// entry per step; `None` is a missing sample.
pub(crate) fn expand_values(s: &str) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for tok in s.split_whitespace() {
        if tok == "_" {
            out.push(None);
            continue;
        }
        let Some((base, count)) = tok.rsplit_once('x').filter(|(b, n)| {
            !b.is_empty() && !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit())
        }) else {
            out.push(Some(parse_value(tok)?));
            continue;
        };
        let n: usize = count
            .parse()
            .map_err(|_| format!("invalid repeat in {tok:?}"))?;
        if n > 1_000_000 {
            return Err(format!("repeat count too large in {tok:?}"));
        }
        if base == "_" {
            out.extend(std::iter::repeat_n(None, n));
            continue;
        }
        // split start and delta at a sign that is not the leading one nor an exponent sign
        let b = base.as_bytes();
        let split = (1..b.len())
            .find(|&i| (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E'));
        let (start, delta) = match split {
            Some(i) => {
                let d = parse_value(&base[i + 1..])?;
                let d = if b[i] == b'-' { -d } else { d };
                (parse_value(&base[..i])?, d)
            }
            None => (parse_value(base)?, 0.0),
        };
        if vigia_model::is_stale_nan(start) {
            out.extend(std::iter::repeat_n(Some(start), n));
            continue;
        }
        for k in 0..=n {
            out.push(Some(start + delta * k as f64));
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn values_notation() {
        assert_eq!(
            expand_values("1+2x3 _ 7 _x2 -1-1x1 3x2").unwrap(),
            vec![
                Some(1.0),
                Some(3.0),
                Some(5.0),
                Some(7.0),
                None,
                Some(7.0),
                None,
                None,
                Some(-1.0),
                Some(-2.0),
                Some(3.0),
                Some(3.0),
                Some(3.0)
            ]
        );
        let s = expand_values("stale 1e-3x1").unwrap();
        assert!(vigia_model::is_stale_nan(s[0].unwrap()));
        assert_eq!(s[1..], [Some(0.001), Some(0.001)]);
        assert!(expand_values("abc").is_err());
    }

    #[test]
    fn series_labels() {
        let l = parse_series_labels(r#"up{job="a", instance="x:9\"1"}"#).unwrap();
        assert_eq!(l.get("__name__"), Some("up"));
        assert_eq!(l.get("instance"), Some("x:9\"1"));
        assert!(parse_series_labels("up{job=a}").is_err());
        assert_eq!(parse_series_labels("{__name__=\"x\"}").unwrap().len(), 1);
    }
}
