//! vigia-promql: the PromQL query engine.
//!
//! Parses queries with `promql-parser` and evaluates them, following Prometheus 3.x semantics
//! (left-open ranges, delayed `__name__` removal, staleness), over any
//! [`vigia_model::Querier`]. Also contains the [`promqltest`] script runner used to check
//! compatibility against Prometheus's own test scripts.

mod aggregate;
mod binary;
mod engine;
mod eval;
mod functions;
mod histogram;
pub mod promqltest;
mod value;

pub use engine::{Engine, EngineOptions, QueryParams, format_query};
pub use promqltest::compat_report;
pub use value::{InstantSample, QueryError, QueryOutput, QueryStats, Value};
