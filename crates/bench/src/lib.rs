//! vigia-bench: the measuring tools behind `vigia bench …`, `vigia promqltest` and the
//! evaluation examples, kept out of the library crates they measure.
//!
//! - [`ingest`], [`query`], [`rules`]: vigia side by side with Debian's `prometheus` on the same
//!   workload, reported as ratios ([`procs`] starts and watches the peer processes).
//! - [`storage`]: the storage engine's own throughput, bytes per sample and head memory;
//!   [`parsers`]: decoder throughput.
//! - [`nab`]: the Numenta Anomaly Benchmark runner, NAB's scorer and evaluation dithers;
//!   [`detector`]: the detector's speed and state size.
//! - [`promqltest`]: Prometheus's `promqltest` scripts run against the PromQL engine, and the
//!   compatibility report of docs/promql-compat.md.
//!
//! Every function reports numbers; none asserts anything about speed.
#![deny(missing_docs)]
// The tools read answers of peers they started themselves on loopback (vigia, prometheus):
// unbounded body reads are acceptable here, unlike in the server's request paths.
#![allow(clippy::disallowed_methods)]

pub mod detector;
mod error;
pub mod ingest;
pub mod nab;
pub mod parsers;
pub mod procs;
pub mod promqltest;
pub mod query;
pub mod rules;
pub mod storage;

pub use error::{BenchError, Context, Result};
