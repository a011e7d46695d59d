//! One vocabulary of failure kinds for every crate: each library error says what kind of
//! failure it is ([`HasKind`]), so the HTTP layer maps kinds to statuses in one table and callers
//! decide (retry, report, reject) without reading messages.

/// What kind of failure an error is. The names follow Prometheus's API `errorType`s where one
/// exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The input is malformed or invalid: a request, a parameter, a query, a configuration.
    BadData,
    /// The input exceeds a size or count limit.
    TooLarge,
    /// The format or content type is not supported.
    Unsupported,
    /// The named thing (alert, silence, route) does not exist.
    NotFound,
    /// Valid input failed while being processed (a query's many-to-many match, a template).
    Execution,
    /// The work ran out of time.
    Timeout,
    /// The caller went away or the work was cancelled.
    Canceled,
    /// The component is not available now (shutting down, overloaded, not configured).
    Unavailable,
    /// Credentials are missing or wrong.
    Unauthorized,
    /// The caller may not do this.
    Forbidden,
    /// Something failed on vigia's side (I/O, corruption, a bug).
    Internal,
}

/// An error that knows its [`ErrorKind`].
pub trait HasKind {
    /// The kind of failure.
    fn kind(&self) -> ErrorKind;
}

impl HasKind for crate::StorageError {
    fn kind(&self) -> ErrorKind {
        use crate::StorageError as E;
        match self {
            E::InvalidSeries { .. } | E::InvalidMatcher(_) | E::LimitExceeded(_) => {
                ErrorKind::BadData
            }
            E::Closed => ErrorKind::Unavailable,
            E::Corrupt { .. } | E::Io { .. } | E::Other(_) => ErrorKind::Internal,
        }
    }
}

impl HasKind for crate::ConfigError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::BadData
    }
}
