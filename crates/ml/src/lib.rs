//! vigia-ml: online anomaly detection for time series — the streaming detector, its
//! configuration and state snapshots, offline CSV scoring and event insights. The NAB benchmark
//! runner and scorer live in `vigia-bench`.

pub mod art;
pub mod detector;
pub mod insight;
pub mod time;

mod pattern;

mod detect;

use std::path::{Path, PathBuf};

pub use art::{ArtConfig, ArtDetector};
pub use detect::{DetectReport, DetectWarning, detect_csv};
pub use detector::{
    Detector, DetectorConfig, Method, StreamDetector, new_detector, restore_detector,
};

/// Errors of the ML crate.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A malformed input line (line numbers are 1-based; 0 when not line-oriented).
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A snapshot could not be restored.
    #[error("invalid detector snapshot: {0}")]
    Snapshot(String),
    /// Invalid argument or inconsistent data.
    #[error("{0}")]
    Invalid(String),
}

impl MlError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        MlError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A malformed line of `path`.
    pub fn parse(path: &Path, line: usize, message: impl Into<String>) -> Self {
        MlError::Parse {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}
