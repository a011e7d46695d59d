//! Runner for Prometheus's `promqltest` script format (`load`, `clear`, `eval instant|range`
//! with `expect …` directives). Cases that need syntax the parser rejects, or native
//! histograms, are skipped mechanically and reported with their line numbers.

mod check;
mod report;
mod script;

pub use report::{compat_report, run_cli};

use check::{check, check_at_modifier, check_range_mode};
use script::{load_line, parse_eval};
use std::path::Path;
use vigia_model::{Labels, MemStorage, Querier, parse_duration};
use vigia_promql::{Engine, EngineOptions, Expression, QueryParams};

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
