//! Shared types of vigia and the storage contract between its crates.
//!
//! This crate owns the vocabulary every other crate speaks: [`Labels`], [`Sample`],
//! [`Matcher`], and the [`Appender`] / [`Querier`] / [`StorageAdmin`] traits that the embedded
//! TSDB implements and that ingestion, PromQL, rules, ML and the HTTP server consume; the alert
//! vocabulary ([`Alert`], [`AlertState`], [`fingerprint`], [`AlertSeverity`]) that rules
//! produce and notification routes; the injected [`Clock`]; Go-compatible number formatting.
//! It performs no I/O and knows nothing about any concrete storage engine.
#![deny(missing_docs)]

mod alert;
mod alert_severity;
mod anomaly;
mod clock;
pub mod config;
mod duration;
mod error_kind;
pub mod events;
pub mod float;
mod labels;
mod matcher;
mod mem;
pub mod metrics;
mod sample;
mod storage;

pub use alert::{Alert, AlertState, fingerprint};
pub use alert_severity::AlertSeverity;
pub use anomaly::{AnomalyEvent, AnomalyFeed, Severity, UnknownSeverity};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{ByteSize, ConfigError, Secret};
pub use duration::{DurationError, PromDuration, format_duration, parse_duration};
pub use error_kind::{ErrorKind, HasKind};
pub use labels::{
    Label, Labels, LabelsBuilder, METRIC_NAME, is_valid_label_name, is_valid_metric_name,
};
pub use matcher::{MatchOp, Matcher};
pub use mem::MemStorage;
pub use metrics::{MetricFamily, MetricKind, MetricsSource};
pub use sample::{STALE_NAN_BITS, Sample, is_stale_nan, stale_nan};
pub use storage::{
    AppendOutcome, Appender, CardinalityStats, LabelValueCount, Querier, RejectReason, Series,
    SeriesSamples, SeriesSet, StorageAdmin, StorageError, StorageStats,
};
