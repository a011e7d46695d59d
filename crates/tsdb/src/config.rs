//! The `storage:` section of vigia's configuration: what the embedded TSDB keeps and how it
//! cuts blocks, checked, and turned into [`TsdbOptions`].

use crate::TsdbOptions;
use serde::{Deserialize, Serialize};
use vigia_model::{ByteSize, PromDuration};

/// `storage:` — retention, block span, out-of-order window and series limit.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Keep data this long (default 15d).
    pub retention: PromDuration,
    /// Delete oldest blocks beyond this size; 0 = unlimited.
    pub retention_size: ByteSize,
    /// Span of one block cut from the head (default 2h).
    pub block_duration: PromDuration,
    /// Out-of-order window of the head (default 0).
    pub out_of_order_window: PromDuration,
    /// Most series in the head; 0 = unlimited.
    pub max_series: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            retention: PromDuration(15 * 86_400_000),
            retention_size: ByteSize(0),
            block_duration: PromDuration(2 * 3_600_000),
            out_of_order_window: PromDuration(0),
            max_series: 0,
        }
    }
}

impl StorageConfig {
    /// Every problem, each prefixed with `storage.<field>`.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.retention.as_millis() <= 0 {
            errs.push("storage.retention: must be positive".into());
        }
        if self.block_duration.as_millis() < 60_000 {
            errs.push("storage.block_duration: must be at least 1m".into());
        }
        if self.out_of_order_window.as_millis() < 0 {
            errs.push("storage.out_of_order_window: must not be negative".into());
        }
        errs
    }

    /// The engine's options.
    pub fn options(&self) -> TsdbOptions {
        TsdbOptions {
            retention_ms: self.retention.as_millis(),
            retention_bytes: self.retention_size.0,
            block_duration_ms: self.block_duration.as_millis(),
            ooo_window_ms: self.out_of_order_window.as_millis(),
            max_series: self.max_series,
            ..TsdbOptions::default()
        }
    }
}
