//! The error of the measuring tools: which step failed and why, with the underlying error kept
//! as the source.

/// A benchmark, a peer process or an evaluation run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// Reading or writing a file, or starting a process, failed.
    #[error("{what}: {source}")]
    Io {
        /// The step that failed.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An HTTP request to vigia or to the peer failed.
    #[error("{what}: {source}")]
    Http {
        /// The request.
        what: String,
        /// The client error.
        source: reqwest::Error,
    },
    /// An answer was not the JSON expected.
    #[error("{what}: {source}")]
    Json {
        /// The answer.
        what: String,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// Storage failed (the in-process measurements).
    #[error(transparent)]
    Storage(#[from] vigia_model::StorageError),
    /// The detector or its data failed (NAB).
    #[error(transparent)]
    Ml(#[from] vigia_ml::MlError),
    /// A measurement step failed: a peer did not start or answered wrongly, arguments or data
    /// are invalid.
    #[error("{0}")]
    Failed(String),
}

impl vigia_model::HasKind for BenchError {
    /// A peer that cannot be reached is unavailable, a failed step is an execution error, the
    /// rest fails on vigia's side.
    fn kind(&self) -> vigia_model::ErrorKind {
        match self {
            BenchError::Http { .. } | BenchError::Json { .. } => {
                vigia_model::ErrorKind::Unavailable
            }
            BenchError::Failed(_) => vigia_model::ErrorKind::Execution,
            BenchError::Io { .. } | BenchError::Storage(_) | BenchError::Ml(_) => {
                vigia_model::ErrorKind::Internal
            }
        }
    }
}

/// Result of the measuring tools.
pub type Result<T, E = BenchError> = std::result::Result<T, E>;

/// Names the step when turning a lower-level error into a [`BenchError`].
pub trait Context<T> {
    /// Attaches `what` (the step that failed).
    fn context(self, what: impl Into<String>) -> Result<T>;
    /// Attaches a lazily built description of the step.
    fn with_context(self, what: impl FnOnce() -> String) -> Result<T>;
}

macro_rules! impl_context {
    ($err:ty, $variant:ident) => {
        impl<T> Context<T> for std::result::Result<T, $err> {
            fn context(self, what: impl Into<String>) -> Result<T> {
                self.map_err(|source| BenchError::$variant {
                    what: what.into(),
                    source,
                })
            }
            fn with_context(self, what: impl FnOnce() -> String) -> Result<T> {
                self.map_err(|source| BenchError::$variant {
                    what: what(),
                    source,
                })
            }
        }
    };
}

impl From<std::io::Error> for BenchError {
    fn from(source: std::io::Error) -> Self {
        BenchError::Io {
            what: "I/O".into(),
            source,
        }
    }
}

impl From<reqwest::Error> for BenchError {
    fn from(source: reqwest::Error) -> Self {
        BenchError::Http {
            what: "HTTP request".into(),
            source,
        }
    }
}

impl From<serde_json::Error> for BenchError {
    fn from(source: serde_json::Error) -> Self {
        BenchError::Json {
            what: "JSON".into(),
            source,
        }
    }
}

impl_context!(std::io::Error, Io);
impl_context!(reqwest::Error, Http);
impl_context!(serde_json::Error, Json);

macro_rules! impl_context_failed {
    ($err:ty) => {
        impl<T> Context<T> for std::result::Result<T, $err> {
            fn context(self, what: impl Into<String>) -> Result<T> {
                self.map_err(|e| BenchError::Failed(format!("{}: {e}", what.into())))
            }
            fn with_context(self, what: impl FnOnce() -> String) -> Result<T> {
                self.map_err(|e| BenchError::Failed(format!("{}: {e}", what())))
            }
        }
    };
}

impl_context_failed!(vigia_ml::MlError);
impl_context_failed!(vigia_ingest::IngestError);

impl<T> Context<T> for Option<T> {
    fn context(self, what: impl Into<String>) -> Result<T> {
        self.ok_or_else(|| BenchError::Failed(what.into()))
    }
    fn with_context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.ok_or_else(|| BenchError::Failed(what()))
    }
}

/// Returns early with [`BenchError::Failed`] and a formatted message.
macro_rules! bail {
    ($($t:tt)*) => {
        return Err($crate::error::BenchError::Failed(format!($($t)*)))
    };
}
pub(crate) use bail;
