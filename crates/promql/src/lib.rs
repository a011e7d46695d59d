//! vigia-promql: the PromQL query engine.
//!
//! Parses queries with `promql-parser` and evaluates them, following Prometheus 3.x semantics
//! (left-open ranges, delayed `__name__` removal, staleness), over any
//! [`vigia_model::Querier`]. [`Expression`] and [`parse_selector`] are the parsed-PromQL API
//! for the rest of vigia (validation, `match[]`, `parse_query`); Prometheus's `promqltest`
//! scripts run against this engine from `vigia-bench`.
//!
//! How a query runs: the query is parsed (rejecting trees nested deeper than the stack can
//! take), the time range every selector needs is computed from the tree (offsets, `@`,
//! subquery windows) and loaded once from the `Querier`, then the expression is evaluated one
//! step at a time (a range query is a loop over steps; a subquery recurses over its own steps).
//! Selectors read from the preloaded samples with forward-moving cursors. The deadline and the
//! cancel flag are checked at every node; samples loaded and held are counted against
//! `max_samples`. Names that Prometheus 3.x drops are only flagged during evaluation and removed
//! at the end (delayed name removal).
//!
//! ```
//! use vigia_model::{Appender, ErrorKind, HasKind, Labels, MemStorage, Sample, SeriesSamples};
//! use vigia_promql::{Engine, EngineOptions, QueryParams, Value};
//!
//! let store = MemStorage::new();
//! let labels = Labels::from_pairs([("__name__", "requests_total"), ("job", "api")]);
//! let samples = (0..=10).map(|i| Sample::new(i * 60_000, 10.0 * i as f64)).collect();
//! store.append(&[SeriesSamples { labels, samples }]).unwrap();
//!
//! let engine = Engine::new(EngineOptions::default());
//! let out = engine
//!     .instant(&store, "sum by (job) (rate(requests_total[5m]))", 600_000, &QueryParams::default())
//!     .unwrap();
//! let Value::Vector(v) = out.value else { panic!("expected a vector") };
//! assert_eq!(v[0].labels.get("job"), Some("api"));
//! assert!((v[0].v - 10.0 / 60.0).abs() < 1e-9);
//!
//! // Range queries return a matrix; errors carry the Prometheus API error type.
//! let err = engine.instant(&store, "sum(", 0, &QueryParams::default()).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::BadData);
//! ```

mod aggregate;
mod binary;
mod config;
mod context;
mod engine;
mod eval;
mod expr;
mod functions;
mod hash;
mod histogram;
mod selectors;
mod stats;
mod value;

pub use config::QueryConfig;
pub use engine::{Engine, EngineOptions, QueryParams, format_query};
pub use expr::{Expression, ValueKind, check_expression, parse_selector};
pub use value::{InstantSample, QueryError, QueryOutput, QueryStats, Value};
