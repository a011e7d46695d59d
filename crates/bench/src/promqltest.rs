//! Runner for Prometheus's `promqltest` script format (`load`, `clear`, `eval instant|range`
//! with `expect …` directives). Cases that need syntax the parser rejects, or native
//! histograms, are skipped mechanically and reported with their line numbers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use vigia_model::float::parse_go_float;
use vigia_model::{
    Appender, Labels, MemStorage, Querier, Sample, SeriesSamples, parse_duration, stale_nan,
};
use vigia_promql::{
    Engine, EngineOptions, Expression, InstantSample, QueryError, QueryOutput, QueryParams, Value,
    ValueKind,
};

/// A failed eval command.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// 1-based line of the `eval` command.
    pub line: usize,
    /// The command line.
    pub command: String,
    /// What was expected versus what came out.
    pub diff: String,
}

/// A skipped eval command.
#[derive(Debug, Clone, PartialEq)]
pub struct Skip {
    /// 1-based line of the `eval` command.
    pub line: usize,
    /// Why it was skipped.
    pub reason: String,
}

/// Outcome of one script.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileReport {
    /// Script name.
    pub file: String,
    /// Eval commands that passed.
    pub passed: usize,
    /// Eval commands that failed.
    pub failed: Vec<Failure>,
    /// Eval commands that were skipped.
    pub skipped: Vec<Skip>,
}

impl FileReport {
    /// Number of eval commands in the script.
    pub fn total(&self) -> usize {
        self.passed + self.failed.len() + self.skipped.len()
    }
}

/// Runs a script file. An unreadable file is reported as one failure at line 0.
pub fn run_file(path: &Path) -> FileReport {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match std::fs::read_to_string(path) {
        Ok(s) => run_str(&name, &s),
        Err(e) => FileReport {
            file: name,
            failed: vec![Failure {
                line: 0,
                command: String::new(),
                diff: format!("cannot read: {e}"),
            }],
            ..Default::default()
        },
    }
}

#[derive(Debug, Default)]
struct Expect {
    fail: bool,
    fail_msg: Option<String>,
    fail_regex: Option<String>,
    ordered: bool,
    warn: Option<Option<Matchy>>,
    no_warn: bool,
    info: Option<Option<Matchy>>,
    no_info: bool,
    string: Option<String>,
    range_vector: Option<(i64, i64, i64)>,
    lines: Vec<(Option<Labels>, Vec<Option<f64>>)>,
    native: bool,
}

#[derive(Debug, Clone)]
enum Matchy {
    Msg(String),
    Regex(String),
}

/// A parsed `eval` command.
struct EvalCmd {
    line: usize,
    command: String,
    range: Option<(i64, i64, i64)>,
    at: i64,
    query: String,
    expect: Expect,
}

/// Runs a script given as text.
pub fn run_str(name: &str, script: &str) -> FileReport {
    let mut rep = FileReport {
        file: name.to_string(),
        ..Default::default()
    };
    let store = MemStorage::new();
    let hist = MemStorage::new();
    let engine = Engine::new(EngineOptions::default());
    let lines: Vec<&str> = script.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let raw = lines.get(i).copied().unwrap_or("");
        let line_no = i + 1;
        i += 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if raw.starts_with(char::is_whitespace) {
            // Stray indented line outside a command.
            continue;
        }
        // Gather the indented body.
        let mut body: Vec<(usize, &str)> = Vec::new();
        while let Some(next) = lines.get(i) {
            let t = next.trim();
            if t.is_empty() {
                break;
            }
            if !next.starts_with(char::is_whitespace) && !t.starts_with('#') {
                break;
            }
            i += 1;
            if t.starts_with('#') {
                continue;
            }
            body.push((i, t));
        }
        let mut words = trimmed.split_whitespace();
        let cmd = words.next().unwrap_or("");
        match cmd {
            "clear" => {
                store.clear();
                hist.clear();
            }
            "load" | "load_with_nhcb" => {
                let interval = words
                    .next()
                    .and_then(|d| parse_duration(d).ok())
                    .unwrap_or(0);
                for (_, l) in &body {
                    load_line(&store, &hist, l, interval, cmd == "load_with_nhcb");
                }
            }
            c if c.starts_with("eval") => match parse_eval(line_no, trimmed, &body) {
                Ok(ev) => run_eval(&engine, &store, &hist, ev, &mut rep),
                Err(e) => rep.failed.push(Failure {
                    line: line_no,
                    command: trimmed.into(),
                    diff: e,
                }),
            },
            _ => {}
        }
    }
    rep
}

fn parse_time(s: &str) -> Option<i64> {
    parse_duration(s)
        .ok()
        .or_else(|| s.parse::<f64>().ok().map(|f| (f * 1000.0).round() as i64))
}

fn parse_eval(line: usize, cmd: &str, body: &[(usize, &str)]) -> Result<EvalCmd, String> {
    let (head, rest) = cmd.split_once(char::is_whitespace).ok_or("empty eval")?;
    let mut expect = Expect::default();
    match head {
        "eval" => {}
        "eval_fail" => expect.fail = true,
        "eval_warn" => expect.warn = Some(None),
        "eval_info" => expect.info = Some(None),
        "eval_ordered" => expect.ordered = true,
        other => return Err(format!("unknown command {other}")),
    }
    let rest = rest.trim_start();
    let (range, at, query) = if let Some(r) = rest.strip_prefix("instant") {
        let r = r
            .trim_start()
            .strip_prefix("at")
            .ok_or("expected 'at'")?
            .trim_start();
        let (t, q) = r.split_once(char::is_whitespace).ok_or("missing query")?;
        (
            None,
            parse_time(t).ok_or_else(|| format!("bad time {t}"))?,
            q.trim().to_string(),
        )
    } else if let Some(r) = rest.strip_prefix("range") {
        let r = r
            .trim_start()
            .strip_prefix("from")
            .ok_or("expected 'from'")?
            .trim_start();
        let (a, r) = r.split_once(char::is_whitespace).ok_or("bad range")?;
        let r = r
            .trim_start()
            .strip_prefix("to")
            .ok_or("expected 'to'")?
            .trim_start();
        let (b, r) = r.split_once(char::is_whitespace).ok_or("bad range")?;
        let r = r
            .trim_start()
            .strip_prefix("step")
            .ok_or("expected 'step'")?
            .trim_start();
        let (s, q) = r.split_once(char::is_whitespace).ok_or("bad range")?;
        let start = parse_time(a).ok_or("bad start")?;
        let end = parse_time(b).ok_or("bad end")?;
        let step = parse_duration(s).map_err(|e| e.to_string())?;
        (Some((start, end, step)), 0, q.trim().to_string())
    } else {
        return Err("expected instant or range".into());
    };
    for (_, l) in body {
        if let Some(e) = l.strip_prefix("expect") {
            let e = e.trim();
            let (kind, arg) = match e.split_once(char::is_whitespace) {
                Some((k, a)) => (k, a.trim()),
                None => (e, ""),
            };
            let matchy = |a: &str| -> Option<Matchy> {
                if let Some(m) = a.strip_prefix("msg:") {
                    Some(Matchy::Msg(m.trim().to_string()))
                } else {
                    a.strip_prefix("regex:")
                        .map(|r| Matchy::Regex(r.trim().to_string()))
                }
            };
            match kind {
                "fail" => {
                    expect.fail = true;
                    match matchy(arg) {
                        Some(Matchy::Msg(m)) => expect.fail_msg = Some(m),
                        Some(Matchy::Regex(r)) => expect.fail_regex = Some(r),
                        None => {}
                    }
                }
                "ordered" => expect.ordered = true,
                "warn" => expect.warn = Some(matchy(arg)),
                "no_warn" => expect.no_warn = true,
                "info" => expect.info = Some(matchy(arg)),
                "no_info" => expect.no_info = true,
                "string" => {
                    expect.string = Some(unquote(arg).ok_or_else(|| format!("bad string {arg}"))?)
                }
                "range" => {
                    let w: Vec<&str> = arg.split_whitespace().collect();
                    match w.as_slice() {
                        ["vector", "from", a, "to", b, "step", s] => {
                            let a = parse_time(a).ok_or("bad from")?;
                            let b = parse_time(b).ok_or("bad to")?;
                            let s = parse_duration(s).map_err(|e| e.to_string())?;
                            expect.range_vector = Some((a, b, s));
                        }
                        _ => return Err(format!("bad expect range: {arg}")),
                    }
                }
                other => return Err(format!("unknown expectation {other}")),
            }
            continue;
        }
        if l.contains("{{") {
            expect.native = true;
            continue;
        }
        expect.lines.push(parse_expected_line(l)?);
    }
    Ok(EvalCmd {
        line,
        command: cmd.to_string(),
        range,
        at,
        query,
        expect,
    })
}

/// Unquotes a Go-style double-quoted, single-quoted or backtick string.
fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('`').and_then(|x| x.strip_suffix('`')) {
        return Some(inner.to_string());
    }
    let q = s.chars().next()?;
    if q != '"' && q != '\'' {
        return None;
    }
    let inner = s.strip_prefix(q)?.strip_suffix(q)?;
    let mut out = String::new();
    let mut it = inner.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

/// Splits `metric{a="b"} values…` into labels and the value text.
fn parse_series_desc(l: &str) -> Result<(Labels, &str), String> {
    let l = l.trim();
    let name_end = l
        .find(|c: char| c == '{' || c.is_whitespace())
        .unwrap_or(l.len());
    let (name, rest) = l.split_at(name_end);
    let mut pairs: Vec<(String, String)> = Vec::new();
    if !name.is_empty() {
        pairs.push(("__name__".into(), name.to_string()));
    }
    let mut rest = rest;
    if let Some(r) = rest.strip_prefix('{') {
        // Parse label pairs until the closing brace, honouring quotes.
        let mut chars = r.char_indices().peekable();
        let mut end = None;
        let mut cur_name = String::new();
        while let Some((idx, c)) = chars.next() {
            match c {
                '}' => {
                    end = Some(idx);
                    break;
                }
                ',' | ' ' | '\t' => {}
                '"' | '\'' => {
                    // A quoted metric name inside braces, or a value after '='.
                    let q = c;
                    let mut val = String::new();
                    let mut esc = false;
                    for (_, c2) in chars.by_ref() {
                        if esc {
                            match c2 {
                                'n' => val.push('\n'),
                                't' => val.push('\t'),
                                '\\' => val.push('\\'),
                                '"' => val.push('"'),
                                '\'' => val.push('\''),
                                o => {
                                    val.push('\\');
                                    val.push(o);
                                }
                            }
                            esc = false;
                        } else if c2 == '\\' {
                            esc = true;
                        } else if c2 == q {
                            break;
                        } else {
                            val.push(c2);
                        }
                    }
                    if cur_name.is_empty() {
                        // A quoted label name (`{"a b"="v"}`) or a quoted metric name.
                        while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
                            chars.next();
                        }
                        if chars.peek().is_some_and(|(_, c)| *c == '=') {
                            cur_name = val;
                        } else {
                            pairs.push(("__name__".into(), val));
                        }
                    } else {
                        pairs.push((std::mem::take(&mut cur_name), val));
                    }
                }
                '=' => {}
                _ => {
                    cur_name.push(c);
                    while let Some(&(_, c2)) = chars.peek() {
                        if c2 == '=' || c2.is_whitespace() || c2 == ',' || c2 == '}' {
                            break;
                        }
                        cur_name.push(c2);
                        chars.next();
                    }
                }
            }
        }
        let end = end.ok_or_else(|| format!("unterminated labels in {l}"))?;
        rest = r.get(end + 1..).unwrap_or("");
    }
    Ok((Labels::from_pairs(pairs), rest.trim()))
}

/// Expands a values text (`1+2x3 _ stale 4`) into optional values.
fn expand_values(s: &str) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    for tok in s.split_whitespace() {
        let (body, times) = match tok.rfind('x') {
            Some(p)
                if p > 0
                    && tok.get(p + 1..).is_some_and(|n| {
                        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
                    }) =>
            {
                let n: usize = tok
                    .get(p + 1..)
                    .and_then(|n| n.parse().ok())
                    .ok_or("bad count")?;
                (tok.get(..p).unwrap_or(""), Some(n))
            }
            _ => (tok, None),
        };
        if body == "_" {
            for _ in 0..times.unwrap_or(1) {
                out.push(None);
            }
            continue;
        }
        // Split start and increment at a sign that is not at the start or after an exponent.
        let bytes = body.as_bytes();
        let mut split = None;
        for (k, b) in bytes.iter().enumerate().skip(1) {
            if (*b == b'+' || *b == b'-') && !matches!(bytes.get(k - 1), Some(b'e') | Some(b'E')) {
                split = Some(k);
                break;
            }
        }
        let (start_s, inc_s) = match split {
            Some(k) if times.is_some() => (body.get(..k).unwrap_or(""), body.get(k..)),
            _ => (body, None),
        };
        let start = if start_s == "stale" {
            stale_nan()
        } else {
            parse_go_float(start_s).ok_or_else(|| format!("bad value {tok}"))?
        };
        let inc = match inc_s {
            Some(i) => parse_go_float(i).ok_or_else(|| format!("bad increment {tok}"))?,
            None => 0.0,
        };
        match times {
            None => out.push(Some(start)),
            Some(n) => {
                let mut v = start;
                for _ in 0..=n {
                    out.push(Some(v));
                    v += inc;
                }
            }
        }
    }
    Ok(out)
}

fn parse_expected_line(l: &str) -> Result<(Option<Labels>, Vec<Option<f64>>), String> {
    let first = l.chars().next().unwrap_or(' ');
    if first.is_ascii_digit()
        || matches!(first, '-' | '+' | '.')
        || l.starts_with("NaN")
        || l.starts_with("Inf")
    {
        return Ok((None, expand_values(l)?));
    }
    let (labels, rest) = parse_series_desc(l)?;
    Ok((Some(labels), expand_values(rest)?))
}

fn load_line(store: &MemStorage, hist: &MemStorage, l: &str, interval: i64, nhcb: bool) {
    let Ok((labels, rest)) = parse_series_desc(l) else {
        return;
    };
    let mark = |ls: Labels| {
        let _ = hist.append(&[SeriesSamples {
            labels: ls,
            samples: vec![Sample::new(0, 0.0)],
        }]);
    };
    if rest.contains("{{") {
        mark(labels);
        return;
    }
    if nhcb {
        // The converted native histogram gets the name without the classic suffix.
        if let Some(n) = labels.metric_name() {
            let base = n
                .strip_suffix("_bucket")
                .or_else(|| n.strip_suffix("_count"))
                .or_else(|| n.strip_suffix("_sum"))
                .unwrap_or(n)
                .to_string();
            let mut b = labels.builder();
            b.set("__name__", base);
            b.del("le");
            mark(b.build());
        }
        // The classic float series stay queryable; only the converted native one is marked.
    }
    let Ok(vals) = expand_values(rest) else {
        return;
    };
    let samples: Vec<Sample> = vals
        .iter()
        .enumerate()
        .filter_map(|(k, v)| v.map(|v| Sample::new(k as i64 * interval, v)))
        .collect();
    let _ = store.append(&[SeriesSamples { labels, samples }]);
}

fn strip_pos(s: &str) -> &str {
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

fn annotations_ok(
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

fn touches_native(hist: &MemStorage, query: &str) -> bool {
    let Ok(expr) = Expression::parse(query) else {
        return false;
    };
    let Ok(groups) = expr.selectors() else {
        return false;
    };
    groups.iter().any(|g| {
        hist.select(g, i64::MIN, i64::MAX)
            .map(|mut s| s.next().is_some())
            .unwrap_or(false)
    })
}

fn run_eval(
    engine: &Engine,
    store: &MemStorage,
    hist: &MemStorage,
    ev: EvalCmd,
    rep: &mut FileReport,
) {
    if ev.expect.native {
        rep.skipped.push(Skip {
            line: ev.line,
            reason: "native histogram in expected result".into(),
        });
        return;
    }
    if let Err(e) = Expression::parse(&ev.query) {
        if ev.expect.fail && ev.expect.fail_msg.is_none() && ev.expect.fail_regex.is_none() {
            rep.passed += 1;
        } else {
            rep.skipped.push(Skip {
                line: ev.line,
                reason: format!("parser rejects syntax: {e}"),
            });
        }
        return;
    }
    if touches_native(hist, &ev.query) {
        rep.skipped.push(Skip {
            line: ev.line,
            reason: "selects series loaded as native histograms".into(),
        });
        return;
    }
    let res = match ev.range {
        Some((s, e, st)) => engine.range(store, &ev.query, s, e, st, &QueryParams::default()),
        None => engine.instant(store, &ev.query, ev.at, &QueryParams::default()),
    };
    let mut verdict = check(&ev, res);
    if verdict.is_ok() && ev.range.is_none() {
        verdict = check_range_mode(engine, store, &ev);
    }
    if verdict.is_ok() && ev.range.is_none() {
        verdict = check_at_modifier(engine, store, &ev);
    }
    match verdict {
        Ok(()) => rep.passed += 1,
        Err(diff) => rep.failed.push(Failure {
            line: ev.line,
            command: ev.command.clone(),
            diff,
        }),
    }
}

/// One expected or actual series: labels (none for a scalar) and timestamped values.
type Row = (Option<Labels>, Vec<(i64, f64)>);

fn almost_equal(a: f64, b: f64) -> bool {
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

fn fmt_vals(v: &[(i64, f64)]) -> String {
    v.iter()
        .map(|(t, x)| format!("{x}@{}", t))
        .collect::<Vec<_>>()
        .join(" ")
}

fn check(ev: &EvalCmd, res: Result<QueryOutput, QueryError>) -> Result<(), String> {
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
fn check_range_mode(engine: &Engine, store: &MemStorage, ev: &EvalCmd) -> Result<(), String> {
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
fn check_at_modifier(engine: &Engine, store: &MemStorage, ev: &EvalCmd) -> Result<(), String> {
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

fn summarize(v: &Value) -> String {
    match v {
        Value::Scalar { v, .. } => format!("scalar {v}"),
        Value::String { s, .. } => format!("string {s:?}"),
        Value::Vector(x) => format!("vector of {}", x.len()),
        Value::Matrix(x) => format!("matrix of {}", x.len()),
    }
}

/// Known, deliberate differences from Prometheus 3.x, included in the report.
const KNOWN_DIFFERENCES: &str = "Known differences from Prometheus 3.x:\n\n\
- Native histograms are not supported (the storage holds floats only); `histogram_count`, \
`histogram_sum`, `histogram_avg`, `histogram_stddev` and `histogram_stdvar` return nothing for \
float input, as Prometheus does. Classic `le` buckets work with `histogram_quantile`, \
`histogram_quantiles` and `histogram_fraction`.\n\
- Annotations (warnings/infos) carry no `(line:col)` position: promql-parser has none.\n\
- Syntax newer than promql-parser 0.11.1 (e.g. the `>/` `</` trim operators, `smoothed`/`anchored` \
range modifiers) is rejected as a parse error; `holt_winters` (removed in 3.x) is unknown.\n\
- `info()` joins on `instance` and `job` only and looks info series up at the evaluation time.\n\
- Label names follow 3.x UTF-8 validity; because the parser turns `\\xNN` escapes into \
characters, names containing U+0080..U+00FF or control characters are rejected as invalid.\n\
- Protective limits Prometheus lacks: more than 256 nested brackets or 1,024 operators in a \
query, or subqueries nested more than 32 deep, are rejected as `bad_data`.\n";

/// Renders a Markdown compatibility report listing every skipped and failing case.
pub fn compat_report(reports: &[FileReport]) -> String {
    let mut s = String::new();
    let (mut p, mut f, mut k) = (0, 0, 0);
    for r in reports {
        p += r.passed;
        f += r.failed.len();
        k += r.skipped.len();
    }
    let run = p + f;
    let pct = if run == 0 {
        0.0
    } else {
        100.0 * p as f64 / run as f64
    };
    let _ = writeln!(s, "# PromQL compatibility\n");
    let _ = writeln!(
        s,
        "Generated by `vigia_bench::promqltest::compat_report` from Prometheus's promqltest scripts \
         (regenerate: `VIGIA_PROMQL_COMPAT_OUT=$PWD/docs/promql-compat.md cargo test -p vigia-bench \
         --release --test promqltest`).\n\n\
         Eval commands: {} total, {p} passed, {f} failed, {k} skipped; pass rate of the non-skipped \
         commands: {pct:.1} %.\n",
        p + f + k
    );
    let _ = writeln!(
        s,
        "How the runner decides (crates/bench/src/promqltest.rs):\n\n\
         - A case is **skipped** only mechanically: promql-parser rejects its query (and the case \
         does not expect a failure), its expected result contains a native histogram (`{{{{…}}}}`), \
         or one of its selectors matches a series that was loaded with native-histogram samples or \
         the native histogram that `load_with_nhcb` derives from classic buckets (vigia stores \
         floats only; the classic `_bucket`/`_sum`/`_count` float series of such a load are \
         loaded and their cases run).\n\
         - Floats compare with a relative tolerance of 1e-6; `NaN` equals `NaN`; order matters only \
         with `expect ordered`.\n\
         - `expect warn|info msg:` compares the message without the trailing `(line:col)` position, \
         because promql-parser does not report positions; `regex:` expectations are also tried \
         with that position stripped.\n\
         - Like Prometheus's runner, every instant case that is expected to succeed is also run as \
         a range query (t-1m … t+1m, step 1m) and the middle step must give the same result \
         (skipped for queries using `start()`, `end()`, `step()`, `range()`).\n\
         - Also like Prometheus's runner, such cases are re-run with `@ <eval time>` added to every \
         selector and subquery and evaluated at other times (-10t, 0, t/5, t, 10t), which must not \
         change the result (skipped when time-dependent functions such as `time()` or \
         `timestamp()` are used).\n"
    );
    let _ = writeln!(s, "{KNOWN_DIFFERENCES}");
    let _ = writeln!(
        s,
        "| file | total | passed | failed | skipped |\n|---|---|---|---|---|"
    );
    for r in reports {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            r.file,
            r.total(),
            r.passed,
            r.failed.len(),
            r.skipped.len()
        );
    }
    for r in reports {
        if r.failed.is_empty() && r.skipped.is_empty() {
            continue;
        }
        let _ = writeln!(s, "\n## {}\n", r.file);
        for fl in &r.failed {
            let first = fl.diff.lines().next().unwrap_or("");
            let _ = writeln!(
                s,
                "- line {}: FAIL `{}` — {}",
                fl.line,
                fl.command.replace('`', "'"),
                first.replace('|', "\\|")
            );
        }
        // Skips grouped by reason, each with every line number.
        let mut by_reason: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for sk in &r.skipped {
            by_reason
                .entry(sk.reason.as_str())
                .or_default()
                .push(sk.line);
        }
        for (reason, lines) in by_reason {
            let ls: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            let _ = writeln!(
                s,
                "- skipped ({}) — {}: lines {}",
                lines.len(),
                reason.replace('|', "\\|"),
                ls.join(", ")
            );
        }
    }
    s
}
/// Runs Prometheus `promqltest` scripts and prints per-file results; the last line is exactly
/// `N passed, M failed, K skipped`; false when any case failed.
pub fn run_cli(files: &[PathBuf]) -> bool {
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for f in files {
        let r = run_file(f);
        println!(
            "{}: {} passed, {} failed, {} skipped",
            f.display(),
            r.passed,
            r.failed.len(),
            r.skipped.len()
        );
        for fail in &r.failed {
            println!("  FAIL {}:{}: {}", f.display(), fail.line, fail.command);
            for l in fail.diff.lines() {
                println!("      {l}");
            }
        }
        for s in &r.skipped {
            println!("  skip {}:{}: {}", f.display(), s.line, s.reason);
        }
        passed += r.passed;
        failed += r.failed.len();
        skipped += r.skipped.len();
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    failed == 0
}
