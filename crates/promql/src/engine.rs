//! The public engine: options, per-request parameters, instant and range query entry points,
//! and assembly of the final result from intermediate values.

use crate::eval::Evaluator;
use crate::value::{
    Elem, InstantSample, QueryError, QueryOutput, QueryStats, Val, Value, finalize_labels,
};
use promql_parser::parser::{self, Expr};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};
use vigia_model::{Labels, Querier, Sample, Series};

/// Engine-wide limits and defaults.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Maximum evaluation time of one query (default 2 minutes).
    pub timeout: Duration,
    /// Maximum number of samples loaded and held at once (default 50,000,000).
    pub max_samples: usize,
    /// How far back an instant selector looks for a sample (default 5 minutes).
    pub lookback_delta_ms: i64,
    /// Maximum number of steps of a range query (default 11,000).
    pub max_points_per_series: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(120),
            max_samples: 50_000_000,
            lookback_delta_ms: 5 * 60 * 1000,
            max_points_per_series: 11_000,
        }
    }
}

/// Per-request overrides of [`EngineOptions`].
#[derive(Debug, Clone, Default)]
pub struct QueryParams {
    /// Overrides the timeout (only ever lowers it below the engine's timeout).
    pub timeout: Option<Duration>,
    /// Overrides the lookback delta.
    pub lookback_delta_ms: Option<i64>,
}

/// The PromQL engine. Synchronous: call it from a blocking context.
#[derive(Debug, Clone)]
pub struct Engine {
    opts: EngineOptions,
}

/// Deepest bracket nesting accepted in a query.
const MAX_NESTING: usize = 256;
/// Most operator characters accepted in a query (each may add a level to the syntax tree).
const MAX_OPERATORS: usize = 1024;

/// Rejects queries whose syntax tree would be deep enough to threaten the stack during
/// parsing, evaluation or drop. Characters inside string literals are not counted.
/// Returns a weight (bracket depth plus operator count) estimating the syntax tree depth.
fn check_nesting(query: &str) -> Result<usize, QueryError> {
    let (mut depth, mut max_depth, mut ops, mut braces) = (0usize, 0usize, 0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in query.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' | '[' | '{' => {
                depth += 1;
                max_depth = max_depth.max(depth);
                if c == '{' {
                    braces += 1;
                }
            }
            ')' | ']' | '}' => {
                depth = depth.saturating_sub(1);
                if c == '}' {
                    braces = braces.saturating_sub(1);
                }
            }
            // Label matchers inside braces add no depth to the tree.
            '+' | '-' | '*' | '/' | '%' | '^' | '<' | '>' | '=' | '!' if braces == 0 => ops += 1,
            _ => {}
        }
    }
    // Word operators (and, or, unless, atan2) also chain.
    ops += query
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| matches!(*w, "and" | "or" | "unless" | "atan2"))
        .count();
    if max_depth > MAX_NESTING {
        return Err(QueryError::BadData(format!(
            "query nests brackets more than {MAX_NESTING} levels deep"
        )));
    }
    if ops > MAX_OPERATORS {
        return Err(QueryError::BadData(format!(
            "query has more than {MAX_OPERATORS} operators"
        )));
    }
    Ok(max_depth + ops)
}

/// Parses a query, mapping parser errors to [`QueryError::BadData`] worded as Prometheus's
/// API words them (`invalid parameter "query": …`).
pub(crate) fn parse_query(query: &str) -> Result<Expr, QueryError> {
    parse_expr(query).map_err(bad_query)
}

fn bad_query(e: impl std::fmt::Display) -> QueryError {
    QueryError::BadData(format!("invalid parameter \"query\": {e}"))
}

/// Parses an expression; the error is the parser's (or the size check's) own message.
pub(crate) fn parse_expr(query: &str) -> Result<Expr, String> {
    check_nesting(query).map_err(|e| e.to_string())?;
    parser::parse(query)
}

/// Parses and pretty-prints a query (the `/api/v1/format_query` endpoint).
pub fn format_query(query: &str) -> Result<String, QueryError> {
    with_big_stack(query, || Ok(parse_query(query)?.prettify()))
}

/// Stack size of the thread that parses and evaluates a query: syntax trees are walked
/// recursively, and a caller's thread (e.g. a 2 MiB blocking-pool thread) may be too small for
/// the deepest query [`check_nesting`] admits. Only touched pages are committed.
const EVAL_STACK_BYTES: usize = 64 << 20;

/// Queries up to this weight (see [`check_nesting`]) are evaluated on the caller's thread.
const INLINE_WEIGHT: usize = 32;

/// Runs `f` on a scoped thread with a large stack when `query` is deep; inline otherwise, or if
/// such a thread cannot be spawned.
fn with_big_stack<T: Send>(
    query: &str,
    f: impl FnOnce() -> Result<T, QueryError> + Send,
) -> Result<T, QueryError> {
    if check_nesting(query).map_err(bad_query)? <= INLINE_WEIGHT {
        return f();
    }
    let mut slot = Some(f);
    let joined = std::thread::scope(|scope| {
        let slot_ref = &mut slot;
        let spawned = std::thread::Builder::new()
            .name("promql-eval".into())
            .stack_size(EVAL_STACK_BYTES)
            .spawn_scoped(scope, move || slot_ref.take().map(|f| f()));
        spawned.ok().map(|h| h.join())
    });
    match joined {
        Some(Ok(Some(r))) => r,
        Some(Ok(None)) => Err(QueryError::Execution("query evaluation did not run".into())),
        Some(Err(_)) => Err(QueryError::Execution("query evaluation panicked".into())),
        None => match slot.take() {
            Some(f) => f(),
            None => Err(QueryError::Execution("query evaluation did not run".into())),
        },
    }
}

impl Engine {
    /// A new engine.
    pub fn new(opts: EngineOptions) -> Self {
        Self { opts }
    }

    /// The options in effect.
    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    fn evaluator<'a>(
        &self,
        q: &'a dyn Querier,
        start: i64,
        end: i64,
        p: &QueryParams,
        cancel: Option<&'a AtomicBool>,
    ) -> Evaluator<'a> {
        let timeout = p
            .timeout
            .map_or(self.opts.timeout, |t| t.min(self.opts.timeout));
        let lookback = p
            .lookback_delta_ms
            .filter(|l| *l > 0)
            .unwrap_or(self.opts.lookback_delta_ms);
        let now = Instant::now();
        let deadline = now
            .checked_add(timeout)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400));
        let mut ev = Evaluator::new(q, start, end, lookback, deadline, self.opts.max_samples);
        ev.cancel = cancel;
        ev
    }

    /// Evaluates `query` at one instant (`time_ms`).
    pub fn instant(
        &self,
        q: &dyn Querier,
        query: &str,
        time_ms: i64,
        p: &QueryParams,
    ) -> Result<QueryOutput, QueryError> {
        with_big_stack(query, || self.instant_inner(q, query, time_ms, p, None))
    }

    /// Like [`Engine::instant`]; setting `cancel` (from another thread) abandons the query with
    /// [`QueryError::Canceled`].
    pub fn instant_cancelable(
        &self,
        q: &dyn Querier,
        query: &str,
        time_ms: i64,
        p: &QueryParams,
        cancel: &AtomicBool,
    ) -> Result<QueryOutput, QueryError> {
        with_big_stack(query, || {
            self.instant_inner(q, query, time_ms, p, Some(cancel))
        })
    }

    fn instant_inner(
        &self,
        q: &dyn Querier,
        query: &str,
        time_ms: i64,
        p: &QueryParams,
        cancel: Option<&AtomicBool>,
    ) -> Result<QueryOutput, QueryError> {
        let began = Instant::now();
        let expr = parse_query(query)?;
        let mut ev = self.evaluator(q, time_ms, time_ms, p, cancel);
        ev.preload(&expr, time_ms, time_ms, 0)?;
        let val = ev.eval(&expr, time_ms)?;
        let value = match val {
            Val::Scalar(v) => Value::Scalar { t: time_ms, v },
            Val::Str(s) => Value::String { t: time_ms, s },
            Val::Vector(els) => {
                let mut seen = HashSet::new();
                let mut out = Vec::with_capacity(els.len());
                for e in els {
                    let labels = finalize_labels(&e.metric, e.drop_name);
                    if !seen.insert(labels.clone()) {
                        return Err(QueryError::Execution(
                            "vector cannot contain metrics with the same labelset".into(),
                        ));
                    }
                    out.push(InstantSample {
                        labels,
                        t: e.t,
                        v: e.v,
                    });
                }
                Value::Vector(out)
            }
            Val::Matrix(ms) => {
                let mut seen = HashSet::new();
                let mut out = Vec::with_capacity(ms.len());
                for s in ms {
                    let labels = finalize_labels(&s.metric, s.drop_name);
                    if !seen.insert(labels.clone()) {
                        return Err(QueryError::Execution(
                            "vector cannot contain metrics with the same labelset".into(),
                        ));
                    }
                    out.push(Series {
                        labels,
                        samples: s.points.iter().map(|(t, v)| Sample::new(*t, *v)).collect(),
                    });
                }
                out.sort_by(|a, b| a.labels.cmp(&b.labels));
                Value::Matrix(out)
            }
        };
        Ok(ev.finish(value, began))
    }

    /// Evaluates `query` at every step from `start_ms` to `end_ms` (inclusive).
    pub fn range(
        &self,
        q: &dyn Querier,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        p: &QueryParams,
    ) -> Result<QueryOutput, QueryError> {
        with_big_stack(query, || {
            self.range_inner(q, query, start_ms, end_ms, step_ms, p, None)
        })
    }

    /// Like [`Engine::range`]; setting `cancel` (from another thread) abandons the query with
    /// [`QueryError::Canceled`].
    #[allow(clippy::too_many_arguments)]
    pub fn range_cancelable(
        &self,
        q: &dyn Querier,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        p: &QueryParams,
        cancel: &AtomicBool,
    ) -> Result<QueryOutput, QueryError> {
        with_big_stack(query, || {
            self.range_inner(q, query, start_ms, end_ms, step_ms, p, Some(cancel))
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn range_inner(
        &self,
        q: &dyn Querier,
        query: &str,
        start_ms: i64,
        end_ms: i64,
        step_ms: i64,
        p: &QueryParams,
        cancel: Option<&AtomicBool>,
    ) -> Result<QueryOutput, QueryError> {
        let began = Instant::now();
        if step_ms <= 0 {
            return Err(QueryError::BadData(
                "zero or negative query resolution step widths are not accepted. Try a positive integer".into(),
            ));
        }
        if end_ms < start_ms {
            return Err(QueryError::BadData(
                "end timestamp must not be before start time".into(),
            ));
        }
        let points = (end_ms.saturating_sub(start_ms) / step_ms).saturating_add(1);
        if points > self.opts.max_points_per_series as i64 {
            return Err(QueryError::BadData(format!(
                "exceeded maximum resolution of {} points per timeseries. Try decreasing the query resolution (?step=XX)",
                group_thousands(self.opts.max_points_per_series)
            )));
        }
        let expr = parse_query(query)?;
        match expr.value_type() {
            parser::value::ValueType::Vector | parser::value::ValueType::Scalar => {}
            t => {
                return Err(QueryError::BadData(format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    if t == parser::value::ValueType::Matrix {
                        "range vector".to_string()
                    } else {
                        t.to_string()
                    }
                )));
            }
        }
        let mut ev = self.evaluator(q, start_ms, end_ms, p, cancel);
        ev.step = step_ms;
        ev.preload(&expr, start_ms, end_ms, 0)?;
        let mut index: HashMap<Arc<Labels>, usize> = HashMap::new();
        let mut series: Vec<(Arc<Labels>, Vec<Sample>)> = Vec::new();
        let mut held = 0usize;
        let mut ts = start_ms;
        while ts <= end_ms {
            ev.check_deadline()?;
            let val = ev.eval(&expr, ts)?;
            let els = match val {
                Val::Scalar(v) => vec![Elem {
                    metric: Arc::new(Labels::empty()),
                    t: ts,
                    v,
                    drop_name: false,
                }],
                Val::Vector(els) => els,
                other => {
                    return Err(QueryError::BadData(format!(
                        "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                        other.type_name()
                    )));
                }
            };
            for e in els {
                let labels = if e.drop_name && e.metric.metric_name().is_some() {
                    Arc::new(e.metric.without_metric_name())
                } else {
                    e.metric
                };
                let i = match index.get(&labels) {
                    Some(i) => *i,
                    None => {
                        index.insert(labels.clone(), series.len());
                        series.push((labels, Vec::new()));
                        series.len() - 1
                    }
                };
                let Some((_, samples)) = series.get_mut(i) else {
                    continue;
                };
                if samples.last().is_some_and(|x| x.t == ts) {
                    return Err(QueryError::Execution(
                        "vector cannot contain metrics with the same labelset".into(),
                    ));
                }
                samples.push(Sample::new(ts, e.v));
                held += 1;
            }
            ev.note_held(held)?;
            ts = match ts.checked_add(step_ms) {
                Some(t) => t,
                None => break,
            };
        }
        drop(index);
        let mut out: Vec<Series> = series
            .into_iter()
            .map(|(labels, samples)| Series {
                labels: Arc::unwrap_or_clone(labels),
                samples,
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        let value = Value::Matrix(out);
        Ok(ev.finish(value, began))
    }
}

fn group_thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl QueryStats {
    pub(crate) fn new(samples_loaded: u64, peak_samples: u64, eval_time: Duration) -> Self {
        Self {
            samples_loaded,
            peak_samples,
            eval_time,
        }
    }
}
