//! What the operator modules (functions, aggregation, binary operators) need from the evaluator,
//! as a trait: they depend on this contract, the evaluator implements it and calls them, so no
//! module imports the one that imports it.

use crate::value::{Elem, QueryError, RSeries, Val};
use promql_parser::parser::{Expr, VectorSelector};
use std::collections::HashMap;
use vigia_model::{Labels, Matcher};

/// The evaluator as operators see it.
pub(crate) trait Context {
    /// Evaluates a sub-expression at `ts`.
    fn eval(&mut self, expr: &Expr, ts: i64) -> Result<Val, QueryError>;
    /// The samples of an instant selector at `ts` (`raw_time`: keep each sample's own time).
    fn eval_vector_selector(&mut self, vs: &VectorSelector, ts: i64, raw_time: bool) -> Vec<Elem>;
    /// A range-vector argument: its series, the range's start and end, and its length (ms).
    fn eval_range_arg(
        &mut self,
        expr: &Expr,
        ts: i64,
    ) -> Result<(Vec<RSeries>, i64, i64, i64), QueryError>;
    /// Label sets of the series `matchers` select within the lookback before `ts`.
    fn select_instant(&mut self, matchers: &[Matcher], ts: i64) -> Result<Vec<Labels>, QueryError>;
    /// Adds a warning annotation (deduplicated).
    fn warn(&mut self, w: String);
    /// Adds an info annotation (deduplicated).
    fn info(&mut self, i: String);
    /// The query's start, end and step (ms; step 0 for instant queries).
    fn query_range(&self) -> (i64, i64, i64);
    /// Compiled regular expressions of `label_replace`, by pattern.
    fn regex_cache(&mut self) -> &mut HashMap<String, regex::Regex>;
}
