//! Why a client could not be built or a request not authorised.

/// A client could not be built, or a credential not read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpClientError {
    /// A file named by the settings (CA, certificate, key, password, token) could not be read.
    #[error("reading {what} {path:?}: {source}")]
    ReadFile {
        /// Which setting named the file.
        what: &'static str,
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A setting's value is unusable (bad PEM, bad proxy URL).
    #[error("{what}: {message}")]
    Invalid {
        /// Which setting.
        what: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The HTTP client library refused the settings.
    #[error("building the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    /// A response body could not be read.
    #[error("reading the response: {0}")]
    Read(#[source] reqwest::Error),
    /// A response body was larger than the caller accepts.
    #[error("response body larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

impl vigia_model::HasKind for HttpClientError {
    /// Settings that cannot be used are bad data; the rest fails on vigia's side.
    fn kind(&self) -> vigia_model::ErrorKind {
        match self {
            HttpClientError::Invalid { .. } => vigia_model::ErrorKind::BadData,
            HttpClientError::TooLarge { .. } => vigia_model::ErrorKind::TooLarge,
            HttpClientError::Read(_) => vigia_model::ErrorKind::Unavailable,
            HttpClientError::ReadFile { .. } | HttpClientError::Build(_) => {
                vigia_model::ErrorKind::Internal
            }
        }
    }
}
