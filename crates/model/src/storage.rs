//! The storage contract: how samples go in ([`Appender`]), come out ([`Querier`]) and how the
//! store is administered ([`StorageAdmin`]). Implemented by `vigia-tsdb`; consumed everywhere.

use crate::{Labels, Matcher, Sample};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Errors of a storage operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A label set is unusable (invalid name, empty, too long…).
    #[error("invalid series {labels}: {reason}")]
    InvalidSeries {
        /// The offending labels, rendered.
        labels: String,
        /// Why.
        reason: String,
    },
    /// A matcher could not be built (bad regex).
    #[error("invalid matcher {0}")]
    InvalidMatcher(String),
    /// A configured limit was hit.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// The store is shutting down and accepts no more writes.
    #[error("storage is closed")]
    Closed,
    /// Data on disk is damaged.
    #[error("corruption in {path}: {reason}")]
    Corrupt {
        /// File or directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An operating-system I/O error.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// File or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Anything else the engine reports.
    #[error("{0}")]
    Other(String),
}

/// Why an individual sample was not stored. The batch still succeeds for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RejectReason {
    /// Older than the newest sample of its series and outside the out-of-order window.
    OutOfOrder,
    /// Same timestamp as the stored sample but a different value.
    DuplicateTimestamp,
    /// Older than the retention horizon.
    TooOld,
    /// Too far in the future.
    TooNew,
}

impl RejectReason {
    /// Stable snake_case name, used as the `reason` label of self-metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            RejectReason::OutOfOrder => "out_of_order",
            RejectReason::DuplicateTimestamp => "duplicate_timestamp",
            RejectReason::TooOld => "too_old",
            RejectReason::TooNew => "too_new",
        }
    }
}

/// Result of appending one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Samples now durable (including exact duplicates, which are idempotent no-ops).
    pub appended: u64,
    /// Samples that were routed to the backfill path (written straight into blocks).
    pub backfilled: u64,
    /// Samples refused, by reason.
    pub rejected: BTreeMap<RejectReason, u64>,
    /// Series created by this batch.
    pub new_series: u64,
}

impl AppendOutcome {
    /// Total rejected samples.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// The samples of one series in an append batch, in any order.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSamples {
    /// Series identity; must contain a valid `__name__`.
    pub labels: Labels,
    /// Samples of the series.
    pub samples: Vec<Sample>,
}

/// Writes samples durably.
pub trait Appender: Send + Sync {
    /// Appends a batch. Returns only after every accepted sample is durable (its WAL record is
    /// fsynced), so a caller may acknowledge the write. Blocking: call from a blocking context.
    fn append(&self, batch: &[SeriesSamples]) -> Result<AppendOutcome, StorageError>;
}

/// One series returned by a select: labels and samples in timestamp order within the range.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Series identity.
    pub labels: Labels,
    /// Samples with `min_t <= t <= max_t`, ascending, no duplicate timestamps. Staleness markers
    /// are included (PromQL needs them).
    pub samples: Vec<Sample>,
}

/// Series yielded one by one, sorted by labels; decoding happens lazily on `next()`.
pub type SeriesSet = Box<dyn Iterator<Item = Result<Series, StorageError>> + Send>;

/// Reads samples and label metadata. Safe to call concurrently with appends.
pub trait Querier: Send + Sync {
    /// Series matching all `matchers` with at least one sample in `[min_t, max_t]` (ms, inclusive).
    fn select(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<SeriesSet, StorageError>;

    /// Label sets (no samples) of series matching `matchers` with data in the range, sorted.
    fn series(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<Labels>, StorageError>;

    /// Sorted label names of matching series (all series when `matchers` is empty).
    fn label_names(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, StorageError>;

    /// Sorted values of label `name` among matching series (all series when `matchers` is empty).
    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, StorageError>;

    /// Cardinality statistics, Prometheus `/api/v1/status/tsdb` style; `limit` entries per list.
    fn cardinality(&self, limit: usize) -> Result<CardinalityStats, StorageError>;
}

/// A name (or name=value pair) with a count, as in `/api/v1/status/tsdb`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LabelValueCount {
    /// The name.
    pub name: String,
    /// The count.
    pub value: u64,
}

/// Head cardinality statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CardinalityStats {
    /// Series in the head.
    pub num_series: u64,
    /// Distinct label pairs.
    pub num_label_pairs: u64,
    /// Earliest timestamp in the head (ms), if any.
    pub min_time: Option<i64>,
    /// Latest timestamp in the head (ms), if any.
    pub max_time: Option<i64>,
    /// Metric names with the most series.
    pub series_count_by_metric_name: Vec<LabelValueCount>,
    /// Label names with the most distinct values.
    pub label_value_count_by_label_name: Vec<LabelValueCount>,
    /// Label names by bytes of their values.
    pub memory_in_bytes_by_label_name: Vec<LabelValueCount>,
    /// Most frequent label pairs.
    pub series_count_by_label_value_pair: Vec<LabelValueCount>,
}

/// Engine-level statistics for self-monitoring.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct StorageStats {
    /// Series in the head.
    pub head_series: u64,
    /// Chunks in the head.
    pub head_chunks: u64,
    /// Persistent blocks.
    pub blocks: u64,
    /// Bytes of the whole data directory.
    pub bytes_on_disk: u64,
    /// Compactions since start.
    pub compactions: u64,
    /// Samples appended since start.
    pub samples_appended: u64,
    /// WAL fsyncs since start.
    pub wal_fsyncs: u64,
    /// Histogram of WAL fsync latency: (upper bound seconds, cumulative count); last is +Inf.
    pub wal_fsync_seconds: Vec<(f64, u64)>,
    /// Sum of WAL fsync latency in seconds.
    pub wal_fsync_seconds_sum: f64,
    /// Earliest timestamp stored (ms).
    pub min_time: Option<i64>,
    /// Latest timestamp stored (ms).
    pub max_time: Option<i64>,
}

/// Administrative operations (Prometheus's admin API and shutdown).
pub trait StorageAdmin: Send + Sync {
    /// Persists the whole head into blocks, compacts and truncates the WAL.
    fn flush(&self) -> Result<(), StorageError>;
    /// Deletes matching series' samples in `[min_t, max_t]`.
    fn delete_series(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<(), StorageError>;
    /// Writes a consistent snapshot under `<data-dir>/snapshots/<name>` and returns the name.
    fn snapshot(&self) -> Result<String, StorageError>;
    /// Engine statistics.
    fn stats(&self) -> StorageStats;
    /// Stops accepting writes, flushes what must be flushed and syncs. Idempotent.
    fn close(&self) -> Result<(), StorageError>;
}
