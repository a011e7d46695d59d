//! The template error: where it happened (parsing or execution) and what went wrong, with
//! Go's wording so messages read like Prometheus's and Alertmanager's.

/// A template could not be parsed or expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The text is not a valid template (syntax, unknown function, unbalanced `end`).
    #[error("{0}")]
    Parse(String),
    /// The template failed while running (missing field, wrong argument, failed query).
    #[error("{0}")]
    Exec(String),
}

impl vigia_model::HasKind for TemplateError {
    /// Invalid text is bad data; a failure while expanding is an execution error.
    fn kind(&self) -> vigia_model::ErrorKind {
        match self {
            TemplateError::Parse(_) => vigia_model::ErrorKind::BadData,
            TemplateError::Exec(_) => vigia_model::ErrorKind::Execution,
        }
    }
}

/// A parse error.
pub(crate) fn perr<T>(m: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError::Parse(m.into()))
}

/// An execution error.
pub(crate) fn xerr<T>(m: impl Into<String>) -> Result<T, TemplateError> {
    Err(TemplateError::Exec(m.into()))
}
