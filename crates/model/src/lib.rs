//! Shared types of vigia and the storage contract between its crates.
//!
//! This crate owns the vocabulary every other crate speaks: [`Labels`], [`Sample`],
//! [`Matcher`], and the [`Appender`] / [`Querier`] / [`StorageAdmin`] traits that the embedded
//! TSDB implements and that ingestion, PromQL, rules, ML and the HTTP server consume.
//! It performs no I/O and knows nothing about any concrete storage engine.
#![deny(missing_docs)]

mod anomaly;
mod duration;
pub mod events;
mod labels;
mod matcher;
mod mem;
mod sample;
mod storage;

pub use anomaly::{AnomalyEvent, AnomalyFeed, Severity};
pub use duration::{DurationError, PromDuration, format_duration, parse_duration};
pub use labels::{
    Label, Labels, LabelsBuilder, METRIC_NAME, is_valid_label_name, is_valid_metric_name,
};
pub use matcher::{MatchOp, Matcher};
pub use mem::MemStorage;
pub use sample::{STALE_NAN_BITS, Sample, is_stale_nan, stale_nan};
pub use storage::{
    AppendOutcome, Appender, CardinalityStats, LabelValueCount, Querier, RejectReason, Series,
    SeriesSamples, SeriesSet, StorageAdmin, StorageError, StorageStats,
};
