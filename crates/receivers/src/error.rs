//! Errors of this crate: one failed delivery attempt, and outbox failures.

/// One failed delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// What went wrong.
    pub message: String,
    /// Whether trying again may succeed (network error, 5xx, 429).
    pub retryable: bool,
}

impl DeliveryError {
    /// A failure worth retrying.
    pub fn retryable(message: impl Into<String>) -> Self {
        DeliveryError {
            message: message.into(),
            retryable: true,
        }
    }
    /// A failure that will not go away by retrying (bad request, bad configuration).
    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError {
            message: message.into(),
            retryable: false,
        }
    }
}

/// Alertmanager `templates:` files could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateFileError {
    /// A pattern could not be expanded (a named file is missing, a folder unreadable).
    #[error("templates {0}")]
    Glob(#[from] vigia_template::GlobError),
    /// A file could not be read.
    #[error("template file {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not a valid template.
    #[error("template file {file}: {source}")]
    Parse {
        /// The file.
        file: String,
        /// The parse error.
        source: vigia_template::TemplateError,
    },
}

impl vigia_model::HasKind for DeliveryError {
    /// A retryable failure means the provider is unavailable; a permanent one is bad data
    /// (a request or setting the provider refuses).
    fn kind(&self) -> vigia_model::ErrorKind {
        if self.retryable {
            vigia_model::ErrorKind::Unavailable
        } else {
            vigia_model::ErrorKind::BadData
        }
    }
}

impl vigia_model::HasKind for TemplateFileError {
    fn kind(&self) -> vigia_model::ErrorKind {
        match self {
            TemplateFileError::Glob(e) => vigia_model::HasKind::kind(e),
            TemplateFileError::Read { .. } => vigia_model::ErrorKind::Internal,
            TemplateFileError::Parse { .. } => vigia_model::ErrorKind::BadData,
        }
    }
}

/// Outbox failures.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// Reading or writing the outbox directory failed.
    #[error("outbox {path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A stored item could not be encoded.
    #[error("outbox encoding: {0}")]
    Encode(#[from] serde_json::Error),
    /// The notification names a receiver that is not configured.
    #[error("unknown receiver {0:?}")]
    UnknownReceiver(String),
    /// The configuration is invalid (every problem).
    #[error("invalid receiver configuration:\n{}", .0.join("\n"))]
    Config(Vec<String>),
    /// Another outbox (this or another process) has the directory open.
    #[error("outbox directory {0} is in use by another process")]
    Locked(String),
    /// The outbox was shut down.
    #[error("outbox is shut down")]
    Closed,
}

impl vigia_model::HasKind for OutboxError {
    fn kind(&self) -> vigia_model::ErrorKind {
        use vigia_model::ErrorKind as K;
        match self {
            OutboxError::Io { .. } | OutboxError::Encode(_) => K::Internal,
            OutboxError::UnknownReceiver(_) | OutboxError::Config(_) => K::BadData,
            OutboxError::Locked(_) | OutboxError::Closed => K::Unavailable,
        }
    }
}
