//! Reading a `promqltest` script: `load` blocks with Prometheus's series notation (`1+2x3`,
//! `_`, `stale`), `eval` commands with their `expect` directives and expected series.

use super::{EvalCmd, Expect, Matchy};
use vigia_model::float::parse_go_float;
use vigia_model::{Appender, Labels, MemStorage, Sample, SeriesSamples, parse_duration, stale_nan};

pub(crate) fn parse_time(s: &str) -> Option<i64> {
    parse_duration(s)
        .ok()
        .or_else(|| s.parse::<f64>().ok().map(|f| (f * 1000.0).round() as i64))
}

pub(crate) fn parse_eval(
    line: usize,
    cmd: &str,
    body: &[(usize, &str)],
) -> Result<EvalCmd, String> {
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
pub(crate) fn unquote(s: &str) -> Option<String> {
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
pub(crate) fn parse_series_desc(l: &str) -> Result<(Labels, &str), String> {
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
pub(crate) fn expand_values(s: &str) -> Result<Vec<Option<f64>>, String> {
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

pub(crate) fn parse_expected_line(l: &str) -> Result<(Option<Labels>, Vec<Option<f64>>), String> {
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

pub(crate) fn load_line(store: &MemStorage, hist: &MemStorage, l: &str, interval: i64, nhcb: bool) {
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
