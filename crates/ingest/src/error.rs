//! The crate's error type and its coarse category (which the server maps to an HTTP status).

pub use vigia_model::{ErrorKind, HasKind};

/// Errors of decoding, validation, configuration and scraping.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The snappy block could not be decompressed.
    #[error("snappy decompression failed: {0}")]
    Snappy(String),
    /// The protobuf message could not be decoded.
    #[error("protobuf decoding failed: {0}")]
    Protobuf(String),
    /// A series is unusable; the whole request is rejected.
    #[error("invalid series {series}: {reason}")]
    InvalidSeries {
        /// The offending series, in Prometheus notation.
        series: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A line of a line-oriented format is malformed.
    #[error("line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A size or count limit was exceeded.
    #[error("{what} exceeds the limit: {got} > {limit}")]
    TooLarge {
        /// What was counted.
        what: &'static str,
        /// The observed amount (may be a lower bound).
        got: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The content type or format variant is not supported.
    #[error("unsupported format: {0}")]
    Unsupported(String),
    /// A configuration (scrape or relabel) is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A scrape or append failed at run time.
    #[error("scrape failed: {0}")]
    Scrape(String),
    /// A business event is invalid; the whole batch is rejected.
    #[error("event {index}: field {field:?}: {reason}")]
    Event {
        /// 0-based position of the event in the batch.
        index: usize,
        /// The offending field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Persisting or storing failed.
    #[error("storing failed: {0}")]
    Storage(String),
}

impl HasKind for IngestError {
    fn kind(&self) -> ErrorKind {
        match self {
            IngestError::Snappy(_)
            | IngestError::Protobuf(_)
            | IngestError::InvalidSeries { .. }
            | IngestError::Line { .. }
            | IngestError::Config(_)
            | IngestError::Scrape(_)
            | IngestError::Event { .. } => ErrorKind::BadData,
            IngestError::Storage(_) => ErrorKind::Internal,
            IngestError::TooLarge { .. } => ErrorKind::TooLarge,
            IngestError::Unsupported(_) => ErrorKind::Unsupported,
        }
    }
}

impl IngestError {
    pub(crate) fn line(line: usize, reason: impl Into<String>) -> Self {
        IngestError::Line {
            line,
            reason: reason.into(),
        }
    }
}
