//! Retention: the reference time, and deleting blocks beyond the time and size limits.

use super::Tsdb;
use crate::block::Block;
use std::sync::Arc;
use vigia_model::StorageError;

impl Tsdb {
    /// Time that retention is measured from: the newest stored sample (as in Prometheus), but
    /// never more than 10 minutes past the wall clock, so one sample with a bogus future
    /// timestamp cannot expire everything else.
    pub(super) fn retention_reference(&self) -> Option<i64> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(i64::MAX);
        self.newest_time()
            .map(|n| n.min(now.saturating_add(600_000)))
    }

    fn newest_time(&self) -> Option<i64> {
        let h = self.head.time_range().map(|r| r.1);
        let b = self.blocks.read().iter().map(|b| b.meta.max_time - 1).max();
        h.max(b)
    }

    pub(super) fn retention_locked(&self) -> Result<usize, StorageError> {
        let mut deleted = 0;
        if let Some(newest) = self.retention_reference() {
            let horizon = newest.saturating_sub(self.opts.retention_ms);
            let old: Vec<Arc<Block>> = self
                .blocks
                .read()
                .iter()
                .filter(|b| b.meta.max_time <= horizon)
                .cloned()
                .collect();
            for b in &old {
                tracing::info!(block = %b.meta.ulid, max_time = b.meta.max_time, "deleting block beyond time retention");
                self.replace_blocks(std::slice::from_ref(b), None)?;
                deleted += 1;
            }
        }
        if self.opts.retention_bytes > 0 {
            loop {
                let blocks = self.blocks.read().clone();
                let total: u64 =
                    blocks.iter().map(|b| b.size_bytes).sum::<u64>() + self.wal.size_bytes();
                if total <= self.opts.retention_bytes {
                    break;
                }
                let Some(oldest) = blocks
                    .iter()
                    .min_by_key(|b| (b.meta.max_time, b.meta.ulid.clone()))
                    .cloned()
                else {
                    break;
                };
                tracing::info!(block = %oldest.meta.ulid, total, limit = self.opts.retention_bytes, "deleting block beyond size retention");
                self.replace_blocks(&[oldest], None)?;
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// Applies time and size retention now; returns the number of deleted blocks.
    pub fn apply_retention(&self) -> Result<usize, StorageError> {
        let _g = self.maint.lock();
        self.retention_locked()
    }
}
