//! The evaluator: preloads the data every selector needs, then evaluates an expression at one
//! timestamp at a time (range queries call it once per step; subqueries recurse).

use crate::selectors::{call_data_args, collect_selectors, key, selector_matchers};
use crate::value::{Elem, QueryError, QueryOutput, QueryStats, RSeries, Val, Value};
use promql_parser::parser::{AtModifier, Expr, Offset, SubqueryExpr, VectorSelector};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use vigia_model::{Labels, Matcher, Querier, Sample, Series, is_stale_nan};

/// Deepest allowed nesting of subqueries.
const MAX_SUBQUERY_DEPTH: usize = 32;
/// Default subquery resolution when none is given (Prometheus's global evaluation interval).
const DEFAULT_SUBQUERY_STEP_MS: i64 = 60_000;

/// A loaded series: shared labels and all samples the query may need.
type LoadedSeries = (Arc<Labels>, Vec<Sample>);

/// Evaluation state of one query.
pub(crate) struct Evaluator<'a> {
    q: &'a dyn Querier,
    /// Query start, for `@ start()`.
    pub start: i64,
    /// Query end, for `@ end()`.
    pub end: i64,
    /// Lookback delta (ms).
    pub lookback: i64,
    /// Query step (ms); 0 for instant queries.
    pub step: i64,
    /// Set by the caller to abandon the query.
    pub cancel: Option<&'a std::sync::atomic::AtomicBool>,
    deadline: Instant,
    max_samples: usize,
    loaded: u64,
    peak: u64,
    bounds: HashMap<usize, (i64, i64)>,
    data: HashMap<usize, Vec<LoadedSeries>>,
    /// Per selector and series, the last search positions (range queries move forward).
    hints: HashMap<usize, Vec<[usize; 2]>>,
    warnings: Vec<String>,
    infos: Vec<String>,
    /// Compiled regexes of `label_replace`, by pattern.
    pub regex_cache: HashMap<String, regex::Regex>,
}

pub(crate) fn dur_ms(d: &Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

pub(crate) fn offset_ms(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => dur_ms(d),
        Some(Offset::Neg(d)) => -dur_ms(d),
    }
}

fn system_time_ms(t: &SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => dur_ms(&d),
        Err(e) => -dur_ms(&e.duration()),
    }
}

impl<'a> Evaluator<'a> {
    pub fn new(
        q: &'a dyn Querier,
        start: i64,
        end: i64,
        lookback: i64,
        deadline: Instant,
        max_samples: usize,
    ) -> Self {
        Self {
            q,
            start,
            end,
            lookback,
            step: 0,
            cancel: None,
            deadline,
            max_samples,
            loaded: 0,
            peak: 0,
            bounds: HashMap::new(),
            data: HashMap::new(),
            hints: HashMap::new(),
            warnings: Vec::new(),
            infos: Vec::new(),
            regex_cache: HashMap::new(),
        }
    }

    /// Adds a warning (deduplicated).
    pub fn warn(&mut self, w: String) {
        if !self.warnings.contains(&w) {
            self.warnings.push(w);
        }
    }

    /// Adds an info annotation (deduplicated).
    pub fn info(&mut self, i: String) {
        if !self.infos.contains(&i) {
            self.infos.push(i);
        }
    }

    pub fn check_deadline(&self) -> Result<(), QueryError> {
        if self
            .cancel
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed))
        {
            return Err(QueryError::Canceled("query execution".into()));
        }
        if Instant::now() > self.deadline {
            return Err(QueryError::Timeout("query execution".into()));
        }
        Ok(())
    }

    /// Records that `extra` samples are held in addition to the loaded data.
    pub fn note_held(&mut self, extra: usize) -> Result<(), QueryError> {
        let total = self.loaded.saturating_add(extra as u64);
        self.peak = self.peak.max(total);
        if total > self.max_samples as u64 {
            return Err(QueryError::TooManySamples("query execution".into()));
        }
        Ok(())
    }

    pub fn finish(self, value: Value, began: Instant) -> QueryOutput {
        QueryOutput {
            value,
            warnings: self.warnings,
            infos: self.infos,
            stats: QueryStats::new(self.loaded, self.peak.max(self.loaded), began.elapsed()),
        }
    }

    pub fn at_time(&self, at: &Option<AtModifier>, ts: i64) -> i64 {
        match at {
            None => ts,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(t)) => system_time_ms(t),
        }
    }

    /// Label sets of the series matching `matchers` that have a live (non-stale) sample at
    /// `ts` within the lookback window. Reads storage directly (used by `info()`).
    pub fn select_instant(
        &mut self,
        matchers: &[Matcher],
        ts: i64,
    ) -> Result<Vec<Labels>, QueryError> {
        let lo = ts.saturating_sub(self.lookback);
        let set = self
            .q
            .select(matchers, lo.saturating_add(1), ts)
            .map_err(|e| QueryError::Execution(e.to_string()))?;
        let mut out = Vec::new();
        for s in set {
            self.check_deadline()?;
            let s = s.map_err(|e| QueryError::Execution(e.to_string()))?;
            self.loaded = self.loaded.saturating_add(s.samples.len() as u64);
            if self.loaded > self.max_samples as u64 {
                return Err(QueryError::TooManySamples("query execution".into()));
            }
            if s.samples
                .last()
                .is_some_and(|x| x.t <= ts && x.t > lo && !is_stale_nan(x.v))
            {
                out.push(s.labels);
            }
        }
        Ok(out)
    }

    /// Loads the data every selector of `expr` needs when evaluated over `[s, e]`.
    pub fn preload(&mut self, expr: &Expr, s: i64, e: i64, depth: usize) -> Result<(), QueryError> {
        self.collect_bounds(expr, s, e, depth)?;
        let mut todo: Vec<(usize, &VectorSelector)> = Vec::new();
        collect_selectors(expr, &mut todo);
        for (k, vs) in todo {
            if self.data.contains_key(&k) {
                continue;
            }
            let Some(&(min_t, max_t)) = self.bounds.get(&k) else {
                continue;
            };
            let mut merged: BTreeMap<Labels, Series> = BTreeMap::new();
            for group in selector_matchers(vs)? {
                let set = self
                    .q
                    .select(&group, min_t, max_t)
                    .map_err(|e| QueryError::Execution(e.to_string()))?;
                for s in set {
                    self.check_deadline()?;
                    let s = s.map_err(|e| QueryError::Execution(e.to_string()))?;
                    self.loaded = self.loaded.saturating_add(s.samples.len() as u64);
                    if self.loaded > self.max_samples as u64 {
                        return Err(QueryError::TooManySamples("query execution".into()));
                    }
                    merged.insert(s.labels.clone(), s);
                }
            }
            self.data.insert(
                k,
                merged
                    .into_values()
                    .map(|s| (Arc::new(s.labels), s.samples))
                    .collect(),
            );
        }
        self.peak = self.peak.max(self.loaded);
        Ok(())
    }

    fn add_bounds(&mut self, k: usize, min_t: i64, max_t: i64) {
        let b = self.bounds.entry(k).or_insert((min_t, max_t));
        b.0 = b.0.min(min_t);
        b.1 = b.1.max(max_t);
    }

    fn collect_bounds(
        &mut self,
        expr: &Expr,
        s: i64,
        e: i64,
        depth: usize,
    ) -> Result<(), QueryError> {
        if depth > MAX_SUBQUERY_DEPTH {
            return Err(QueryError::BadData(format!(
                "subqueries nested more than {MAX_SUBQUERY_DEPTH} levels deep"
            )));
        }
        match expr {
            Expr::VectorSelector(vs) => {
                let off = offset_ms(&vs.offset);
                let (a, b) = match vs.at {
                    Some(_) => {
                        let t = self.at_time(&vs.at, s);
                        (t, t)
                    }
                    None => (s, e),
                };
                self.add_bounds(
                    key(vs),
                    a.saturating_sub(off).saturating_sub(self.lookback),
                    b.saturating_sub(off),
                );
            }
            Expr::MatrixSelector(ms) => {
                let off = offset_ms(&ms.vs.offset);
                let (a, b) = match ms.vs.at {
                    Some(_) => {
                        let t = self.at_time(&ms.vs.at, s);
                        (t, t)
                    }
                    None => (s, e),
                };
                self.add_bounds(
                    key(&ms.vs),
                    a.saturating_sub(off).saturating_sub(dur_ms(&ms.range)),
                    b.saturating_sub(off),
                );
            }
            Expr::Subquery(sq) => {
                let off = offset_ms(&sq.offset);
                let (a, b) = match sq.at {
                    Some(_) => {
                        let t = self.at_time(&sq.at, s);
                        (t, t)
                    }
                    None => (s, e),
                };
                let ns = a.saturating_sub(off).saturating_sub(dur_ms(&sq.range));
                let ne = b.saturating_sub(off);
                self.collect_bounds(&sq.expr, ns, ne, depth + 1)?;
            }
            Expr::Aggregate(a) => {
                if let Some(p) = &a.param {
                    self.collect_bounds(p, s, e, depth)?;
                }
                self.collect_bounds(&a.expr, s, e, depth)?;
            }
            Expr::Unary(u) => self.collect_bounds(&u.expr, s, e, depth)?,
            Expr::Binary(b) => {
                self.collect_bounds(&b.lhs, s, e, depth)?;
                self.collect_bounds(&b.rhs, s, e, depth)?;
            }
            Expr::Paren(p) => self.collect_bounds(&p.expr, s, e, depth)?,
            Expr::Call(c) => {
                for a in call_data_args(c) {
                    self.collect_bounds(a, s, e, depth)?;
                }
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
        Ok(())
    }

    /// Evaluates `expr` at `ts`.
    pub fn eval(&mut self, expr: &Expr, ts: i64) -> Result<Val, QueryError> {
        self.check_deadline()?;
        match expr {
            Expr::NumberLiteral(n) => Ok(Val::Scalar(n.val)),
            Expr::StringLiteral(s) => Ok(Val::Str(s.val.clone())),
            Expr::Paren(p) => self.eval(&p.expr, ts),
            Expr::Unary(u) => match self.eval(&u.expr, ts)? {
                Val::Scalar(v) => Ok(Val::Scalar(-v)),
                Val::Vector(mut els) => {
                    for e in &mut els {
                        e.v = -e.v;
                        e.drop_name = true;
                    }
                    Ok(Val::Vector(els))
                }
                other => Err(QueryError::Execution(format!(
                    "unary expression only allowed on expressions of type scalar or vector, got: {}",
                    other.type_name()
                ))),
            },
            Expr::VectorSelector(vs) => Ok(Val::Vector(self.eval_vector_selector(vs, ts, false))),
            Expr::MatrixSelector(_) | Expr::Subquery(_) => {
                let (m, ..) = self.eval_range_arg(expr, ts)?;
                Ok(Val::Matrix(m))
            }
            Expr::Binary(b) => crate::binary::eval_binary(self, b, ts),
            Expr::Aggregate(a) => crate::aggregate::eval_aggregate(self, a, ts),
            Expr::Call(c) => crate::functions::eval_call(self, c, ts),
            Expr::Extension(_) => Err(QueryError::Execution(
                "extension expressions are not supported".into(),
            )),
        }
    }

    /// Evaluates an instant vector selector. With `raw_time` the element timestamps are the
    /// sample timestamps (for `timestamp()`), otherwise the evaluation time.
    pub fn eval_vector_selector(
        &mut self,
        vs: &VectorSelector,
        ts: i64,
        raw_time: bool,
    ) -> Vec<Elem> {
        let eff = self
            .at_time(&vs.at, ts)
            .saturating_sub(offset_ms(&vs.offset));
        let lo = eff.saturating_sub(self.lookback);
        let k = key(vs);
        let Some(series) = self.data.get(&k) else {
            return Vec::new();
        };
        let hints = self
            .hints
            .entry(k)
            .or_insert_with(|| vec![[0, 0]; series.len()]);
        let mut out = Vec::new();
        for ((labels, samples), h) in series.iter().zip(hints.iter_mut()) {
            let idx = seek(samples, h[1], eff);
            h[1] = idx;
            let Some(smp) = idx.checked_sub(1).and_then(|i| samples.get(i)) else {
                continue;
            };
            if smp.t <= lo || is_stale_nan(smp.v) {
                continue;
            }
            out.push(Elem {
                metric: labels.clone(),
                t: if raw_time { smp.t } else { ts },
                v: smp.v,
                drop_name: false,
            });
        }
        out
    }

    /// Evaluates a range-vector expression (matrix selector or subquery, possibly in
    /// parentheses) at `ts`. Returns the series and the range bounds `(start, end]` and length.
    pub fn eval_range_arg(
        &mut self,
        expr: &Expr,
        ts: i64,
    ) -> Result<(Vec<RSeries>, i64, i64, i64), QueryError> {
        match expr {
            Expr::Paren(p) => self.eval_range_arg(&p.expr, ts),
            Expr::MatrixSelector(ms) => {
                let range = dur_ms(&ms.range);
                let eff = self
                    .at_time(&ms.vs.at, ts)
                    .saturating_sub(offset_ms(&ms.vs.offset));
                let lo = eff.saturating_sub(range);
                let k = key(&ms.vs);
                let Some(series) = self.data.get(&k) else {
                    return Ok((Vec::new(), lo, eff, range));
                };
                let hints = self
                    .hints
                    .entry(k)
                    .or_insert_with(|| vec![[0, 0]; series.len()]);
                let mut out = Vec::new();
                let mut count = 0usize;
                for ((labels, samples), h) in series.iter().zip(hints.iter_mut()) {
                    let a = seek(samples, h[0], lo);
                    let b = seek(samples, h[1].max(a), eff);
                    *h = [a, b];
                    let pts: Vec<(i64, f64)> = samples
                        .get(a..b)
                        .unwrap_or(&[])
                        .iter()
                        .filter(|x| !is_stale_nan(x.v))
                        .map(|x| (x.t, x.v))
                        .collect();
                    if pts.is_empty() {
                        continue;
                    }
                    count += pts.len();
                    out.push(RSeries {
                        metric: labels.clone(),
                        points: pts,
                        drop_name: false,
                    });
                }
                self.note_held(count)?;
                Ok((out, lo, eff, range))
            }
            Expr::Subquery(sq) => self.eval_subquery(sq, ts),
            _ => Err(QueryError::Execution(format!(
                "expected type range vector in call to function, got {}",
                expr.value_type()
            ))),
        }
    }

    fn eval_subquery(
        &mut self,
        sq: &SubqueryExpr,
        ts: i64,
    ) -> Result<(Vec<RSeries>, i64, i64, i64), QueryError> {
        let range = dur_ms(&sq.range);
        let step = sq
            .step
            .as_ref()
            .map(dur_ms)
            .filter(|s| *s > 0)
            .unwrap_or(DEFAULT_SUBQUERY_STEP_MS);
        let base = self
            .at_time(&sq.at, ts)
            .saturating_sub(offset_ms(&sq.offset));
        let lo = base.saturating_sub(range);
        let steps = range / step;
        if steps > self.max_samples as i64 {
            return Err(QueryError::TooManySamples("subquery evaluation".into()));
        }
        let mut t = step.saturating_mul(lo / step);
        if t <= lo {
            t = t.saturating_add(step);
        }
        let mut map: BTreeMap<Arc<Labels>, RSeries> = BTreeMap::new();
        let mut count = 0usize;
        while t <= base {
            match self.eval(&sq.expr, t)? {
                Val::Vector(els) => {
                    for e in els {
                        let s = map.entry(e.metric.clone()).or_insert_with(|| RSeries {
                            metric: e.metric,
                            points: Vec::new(),
                            drop_name: false,
                        });
                        s.drop_name |= e.drop_name;
                        s.points.push((t, e.v));
                        count += 1;
                    }
                }
                Val::Scalar(v) => {
                    let s = map
                        .entry(Arc::new(Labels::empty()))
                        .or_insert_with(|| RSeries {
                            metric: Arc::new(Labels::empty()),
                            points: Vec::new(),
                            drop_name: false,
                        });
                    s.points.push((t, v));
                    count += 1;
                }
                other => {
                    return Err(QueryError::Execution(format!(
                        "subquery is only allowed on instant vector, got {}",
                        other.type_name()
                    )));
                }
            }
            self.note_held(count)?;
            t = match t.checked_add(step) {
                Some(n) => n,
                None => break,
            };
        }
        Ok((map.into_values().collect(), lo, base, range))
    }
}

/// `samples.partition_point(|x| x.t <= t)`, scanning forward from `hint` when the answer is
/// at or after it (consecutive steps of a range query), else by binary search.
fn seek(samples: &[Sample], hint: usize, t: i64) -> usize {
    let valid =
        hint <= samples.len() && (hint == 0 || samples.get(hint - 1).is_some_and(|x| x.t <= t));
    if !valid {
        return samples.partition_point(|x| x.t <= t);
    }
    let mut i = hint;
    for _ in 0..16 {
        match samples.get(i) {
            Some(x) if x.t <= t => i += 1,
            _ => return i,
        }
    }
    i + samples
        .get(i..)
        .map_or(0, |r| r.partition_point(|x| x.t <= t))
}

impl crate::context::Context for Evaluator<'_> {
    fn eval(&mut self, expr: &Expr, ts: i64) -> Result<Val, QueryError> {
        Evaluator::eval(self, expr, ts)
    }
    fn eval_vector_selector(&mut self, vs: &VectorSelector, ts: i64, raw_time: bool) -> Vec<Elem> {
        Evaluator::eval_vector_selector(self, vs, ts, raw_time)
    }
    fn eval_range_arg(
        &mut self,
        expr: &Expr,
        ts: i64,
    ) -> Result<(Vec<RSeries>, i64, i64, i64), QueryError> {
        Evaluator::eval_range_arg(self, expr, ts)
    }
    fn select_instant(&mut self, matchers: &[Matcher], ts: i64) -> Result<Vec<Labels>, QueryError> {
        Evaluator::select_instant(self, matchers, ts)
    }
    fn warn(&mut self, w: String) {
        Evaluator::warn(self, w);
    }
    fn info(&mut self, i: String) {
        Evaluator::info(self, i);
    }
    fn query_range(&self) -> (i64, i64, i64) {
        (self.start, self.end, self.step)
    }
    fn regex_cache(&mut self) -> &mut HashMap<String, regex::Regex> {
        &mut self.regex_cache
    }
}
