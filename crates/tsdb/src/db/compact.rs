//! The block list and compaction: adding, replacing and removing blocks (crash-safe), planning
//! and merging block groups.

use super::{Tsdb, io_err, sort_dedup};
use crate::block::{Block, write_block};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use vigia_model::{Labels, StorageError};

impl Tsdb {
    pub(super) fn add_block(
        &self,
        meta: Option<crate::block::BlockMeta>,
        parent: &Path,
    ) -> Result<Option<Arc<Block>>, StorageError> {
        let Some(meta) = meta else { return Ok(None) };
        let b = Arc::new(Block::open(&*self.vfs, &parent.join(&meta.ulid))?);
        let mut bl = self.blocks.write();
        bl.push(b.clone());
        bl.sort_by(|a, b| (a.meta.min_time, &a.meta.ulid).cmp(&(b.meta.min_time, &b.meta.ulid)));
        Ok(Some(b))
    }

    fn remove_block_dir(&self, b: &Block) -> Result<(), StorageError> {
        let del = self.dir.join(format!("{}.tmp-for-deletion", b.meta.ulid));
        self.vfs.rename(&b.dir, &del).map_err(io_err(&b.dir))?;
        self.vfs.sync_dir(&self.dir).map_err(io_err(&self.dir))?;
        self.vfs.remove_dir_all(&del).map_err(io_err(&del))?;
        Ok(())
    }

    /// Replaces `old` blocks by the block written from `meta` (crash-safe: the new block is
    /// durable before the old ones are removed; a crash in between leaves overlapping blocks that
    /// queries deduplicate and the next compaction merges).
    pub(super) fn replace_blocks(
        &self,
        old: &[Arc<Block>],
        meta: Option<crate::block::BlockMeta>,
    ) -> Result<(), StorageError> {
        let new = match meta {
            Some(m) => Some(Arc::new(Block::open(&*self.vfs, &self.dir.join(&m.ulid))?)),
            None => None,
        };
        {
            let mut bl = self.blocks.write();
            bl.retain(|b| !old.iter().any(|o| o.meta.ulid == b.meta.ulid));
            if let Some(n) = new {
                bl.push(n);
            }
            bl.sort_by(|a, b| {
                (a.meta.min_time, &a.meta.ulid).cmp(&(b.meta.min_time, &b.meta.ulid))
            });
        }
        for o in old {
            self.remove_block_dir(o)?;
        }
        Ok(())
    }

    fn merge_blocks(&self, group: &[Arc<Block>]) -> Result<(), StorageError> {
        let level = group
            .iter()
            .map(|b| b.meta.compaction.level)
            .max()
            .unwrap_or(1)
            + 1;
        let mut sources: Vec<String> = group
            .iter()
            .flat_map(|b| b.meta.compaction.sources.clone())
            .collect();
        sources.sort();
        sources.dedup();
        // all labels, in order; samples loaded one series at a time
        let mut by_labels: BTreeMap<Labels, Vec<(usize, u32)>> = BTreeMap::new();
        for (bi, b) in group.iter().enumerate() {
            for id in 0..b.num_series() as u32 {
                by_labels.entry(b.labels(id)).or_default().push((bi, id));
            }
        }
        let iter = by_labels.into_iter().map(|(l, refs)| {
            let mut all = Vec::new();
            for (bi, id) in refs.iter().rev() {
                if let Some(b) = group.get(*bi) {
                    all.extend(b.samples(*id, i64::MIN, i64::MAX)?);
                }
            }
            sort_dedup(&mut all);
            Ok((l, all))
        });
        let meta = write_block(&*self.vfs, &self.dir, iter, level, sources)?;
        if let Some(m) = &meta {
            tracing::info!(block = %m.ulid, level, merged = group.len(), min_time = m.min_time, max_time = m.max_time, "compacted blocks");
        }
        self.replace_blocks(group, meta)?;
        self.compactions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Picks the next group of blocks to merge: overlapping blocks first, then several blocks
    /// inside one completed window of 1, 3, 9… block durations (capped at 10 % of retention).
    fn plan(&self) -> Option<Vec<Arc<Block>>> {
        let blocks = self.blocks.read().clone();
        // overlapping
        let mut i = 0;
        while i < blocks.len() {
            let mut group = vec![blocks[i].clone()];
            let mut end = blocks[i].meta.max_time;
            let mut j = i + 1;
            while j < blocks.len() && blocks[j].meta.min_time < end {
                end = end.max(blocks[j].meta.max_time);
                group.push(blocks[j].clone());
                j += 1;
            }
            if group.len() > 1 {
                return Some(group);
            }
            i = j;
        }
        let bd = self.opts.block_duration_ms;
        let max_range = (self.opts.retention_ms / 10).max(bd);
        let complete_before = self.cut_boundary.load(Ordering::Acquire);
        let mut range = bd;
        while range <= max_range {
            let mut windows: BTreeMap<i64, Vec<Arc<Block>>> = BTreeMap::new();
            for b in &blocks {
                let w = b.meta.min_time.div_euclid(range);
                let w_end = w.saturating_add(1).saturating_mul(range);
                if b.meta.max_time <= w_end && w_end <= complete_before {
                    windows.entry(w).or_default().push(b.clone());
                }
            }
            if let Some(g) = windows.into_values().find(|g| g.len() > 1) {
                return Some(g);
            }
            range = range.saturating_mul(3);
        }
        None
    }

    pub(super) fn compact_locked(&self) -> Result<usize, StorageError> {
        let mut n = 0;
        while let Some(group) = self.plan() {
            self.merge_blocks(&group)?;
            n += 1;
        }
        Ok(n)
    }

    /// Merges overlapping and adjacent small blocks; returns the number of merges.
    pub fn compact(&self) -> Result<usize, StorageError> {
        let _g = self.maint.lock();
        self.compact_locked()
    }
}
