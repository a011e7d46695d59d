//! Errors of the anomaly component, and the conversion of I/O errors on a file.

use std::path::{Path, PathBuf};
use vigia_model::StorageError;

/// Errors of the anomaly component.
#[derive(Debug, thiserror::Error)]
pub enum AnomalyError {
    /// The event log or state could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Reading history failed.
    #[error("warm-up: {0}")]
    Storage(#[from] StorageError),
}

/// Maps an I/O error on `path` to [`AnomalyError::Io`].
pub(crate) fn io_err(path: &Path) -> impl Fn(std::io::Error) -> AnomalyError + '_ {
    move |source| AnomalyError::Io {
        path: path.to_path_buf(),
        source,
    }
}
