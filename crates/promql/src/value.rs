//! Query result types (public) and the intermediate values used during evaluation (internal).

use std::sync::Arc;
use std::time::Duration;
use vigia_model::{Labels, Series};

/// A query result value, shaped like the Prometheus HTTP API's `resultType`s.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A single number at time `t` (ms).
    Scalar {
        /// Evaluation timestamp (ms).
        t: i64,
        /// The value.
        v: f64,
    },
    /// A string at time `t` (ms).
    String {
        /// Evaluation timestamp (ms).
        t: i64,
        /// The string.
        s: String,
    },
    /// An instant vector.
    Vector(Vec<InstantSample>),
    /// A range vector (range queries, or instant queries of a range selector / subquery).
    Matrix(Vec<Series>),
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    /// Series labels.
    pub labels: Labels,
    /// Timestamp (ms).
    pub t: i64,
    /// Value.
    pub v: f64,
}

/// Execution statistics of one query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryStats {
    /// Samples read from storage.
    pub samples_loaded: u64,
    /// Peak number of samples held in memory at once (approximation).
    pub peak_samples: u64,
    /// Wall time spent evaluating.
    pub eval_time: Duration,
}

/// Result of a successful query.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutput {
    /// The value.
    pub value: Value,
    /// Warnings ("PromQL warning: …").
    pub warnings: Vec<String>,
    /// Informational notes ("PromQL info: …").
    pub infos: Vec<String>,
    /// Statistics.
    pub stats: QueryStats,
}

/// Why a query failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    /// The query or its parameters are invalid (parse errors, bad arguments).
    #[error("{0}")]
    BadData(String),
    /// Evaluation failed (e.g. many-to-many matching, duplicate label sets, storage errors).
    #[error("{0}")]
    Execution(String),
    /// The query ran longer than its timeout.
    #[error("query timed out in {0}")]
    Timeout(String),
    /// The query was canceled.
    #[error("query was canceled in {0}")]
    Canceled(String),
    /// More samples than `max_samples` would be held in memory.
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(String),
}

impl vigia_model::HasKind for QueryError {
    fn kind(&self) -> vigia_model::ErrorKind {
        use vigia_model::ErrorKind as K;
        match self {
            QueryError::BadData(_) => K::BadData,
            QueryError::Execution(_) | QueryError::TooManySamples(_) => K::Execution,
            QueryError::Timeout(_) => K::Timeout,
            QueryError::Canceled(_) => K::Canceled,
        }
    }
}

/// One element of an intermediate instant vector.
#[derive(Debug, Clone)]
pub(crate) struct Elem {
    pub metric: Arc<Labels>,
    pub t: i64,
    pub v: f64,
    /// Delayed name removal: `__name__` is dropped at the end of evaluation.
    pub drop_name: bool,
}

/// One series of an intermediate range vector.
#[derive(Debug, Clone)]
pub(crate) struct RSeries {
    pub metric: Arc<Labels>,
    pub points: Vec<(i64, f64)>,
    pub drop_name: bool,
}

/// An intermediate value.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Scalar(f64),
    Str(String),
    Vector(Vec<Elem>),
    Matrix(Vec<RSeries>),
}

impl Val {
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Scalar(_) => "scalar",
            Val::Str(_) => "string",
            Val::Vector(_) => "vector",
            Val::Matrix(_) => "matrix",
        }
    }
}

/// Labels with `__name__` removed when `drop` is set.
pub(crate) fn finalize_labels(l: &Labels, drop: bool) -> Labels {
    if drop && l.metric_name().is_some() {
        l.without_metric_name()
    } else {
        l.clone()
    }
}
