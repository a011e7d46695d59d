//! Administration ([`StorageAdmin`]): flush, deleting series, snapshots, statistics and
//! closing.

use super::{Tsdb, io_err};
use crate::block::{Block, write_block};
use crate::vfs::{Vfs, create_dir_durable};
use crate::wal::{self, FSYNC_BUCKETS};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use vigia_model::{Labels, Matcher, Sample, StorageAdmin, StorageError, StorageStats};

fn dir_size(vfs: &dyn Vfs, p: &Path) -> u64 {
    let Ok(names) = vfs.read_dir(p) else { return 0 };
    names
        .iter()
        .map(|n| {
            let c = p.join(n);
            if vfs.is_dir(&c) {
                dir_size(vfs, &c)
            } else {
                vfs.file_len(&c).unwrap_or(0)
            }
        })
        .sum()
}

impl StorageAdmin for Tsdb {
    fn flush(&self) -> Result<(), StorageError> {
        self.ensure_open()?;
        let _g = self.maint.lock();
        let bd = self.opts.block_duration_ms;
        if let Some((_, hi)) = self.head.time_range() {
            let target = hi.saturating_add(1);
            for _ in 0..1_000_000 {
                let Some((lo, _)) = self.head.time_range() else {
                    break;
                };
                if lo >= target {
                    break;
                }
                let end = lo
                    .div_euclid(bd)
                    .saturating_mul(bd)
                    .saturating_add(bd)
                    .min(target);
                self.cut_until(end)?;
            }
        }
        self.checkpoint_wal()?;
        self.compact_locked()?;
        self.retention_locked()?;
        Ok(())
    }

    fn delete_series(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<(), StorageError> {
        self.ensure_open()?;
        let _g = self.maint.lock();
        let mut tomb = Vec::new();
        for (_, s) in self.head.select_series(matchers) {
            let mut d = s.data.lock();
            let all = d.all_samples();
            let keep: Vec<Sample> = all
                .iter()
                .copied()
                .filter(|x| x.t < min_t || x.t > max_t)
                .collect();
            if keep.len() != all.len() {
                d.rebuild(&keep);
                tomb.push((s.id, min_t, max_t));
            }
        }
        if !tomb.is_empty() {
            let mut b = Vec::new();
            wal::encode_tombstones(&mut b, &tomb);
            self.wal.commit(&b)?;
        }
        let blocks: Vec<Arc<Block>> = self
            .blocks
            .read()
            .iter()
            .filter(|b| b.overlaps(min_t, max_t))
            .cloned()
            .collect();
        for b in blocks {
            let ids = b.select_ids(matchers);
            if !ids.iter().any(|id| b.series_overlaps(id, min_t, max_t)) {
                continue;
            }
            let bb = b.clone();
            let iter = (0..b.num_series() as u32).map(move |id| {
                let mut s = bb.samples(id, i64::MIN, i64::MAX)?;
                if ids.contains(id) {
                    s.retain(|x| x.t < min_t || x.t > max_t);
                }
                Ok((bb.labels(id), s))
            });
            let meta = write_block(
                &*self.vfs,
                &self.dir,
                iter,
                b.meta.compaction.level,
                b.meta.compaction.sources.clone(),
            )?;
            tracing::info!(block = %b.meta.ulid, "rewrote block without deleted samples");
            self.replace_blocks(&[b], meta)?;
        }
        self.head.recompute_time_range();
        Ok(())
    }

    fn snapshot(&self) -> Result<String, StorageError> {
        self.ensure_open()?;
        let _g = self.maint.lock();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let id = crate::block::new_ulid();
        let name = format!("{now}-{}", id.get(16..).unwrap_or("x").to_lowercase());
        let sdir = self.dir.join("snapshots").join(&name);
        create_dir_durable(&*self.vfs, &sdir).map_err(io_err(&sdir))?;
        for b in self.blocks.read().clone() {
            let to = sdir.join(&b.meta.ulid);
            self.vfs.create_dir_all(&to).map_err(io_err(&to))?;
            for f in ["chunks", "index", "meta.json"] {
                let dst = to.join(f);
                self.vfs
                    .hard_link(&b.dir.join(f), &dst)
                    .map_err(io_err(&dst))?;
            }
            self.vfs.sync_dir(&to).map_err(io_err(&to))?;
        }
        let mut head: Vec<(Labels, Vec<Sample>)> = self
            .head
            .all_series()
            .into_iter()
            .map(|s| {
                let samples = s.data.lock().all_samples();
                (self.head.labels_of(&s), samples)
            })
            .collect();
        head.sort_by(|a, b| a.0.cmp(&b.0));
        write_block(&*self.vfs, &sdir, head.into_iter().map(Ok), 1, Vec::new())?;
        self.vfs.sync_dir(&sdir).map_err(io_err(&sdir))?;
        tracing::info!(snapshot = %name, "snapshot written");
        Ok(name)
    }

    fn stats(&self) -> StorageStats {
        let fs = self.wal.fsync_stats();
        let mut cum = 0u64;
        let mut hist = Vec::with_capacity(FSYNC_BUCKETS.len() + 1);
        for (i, b) in fs.buckets.iter().enumerate() {
            cum += b;
            hist.push((FSYNC_BUCKETS.get(i).copied().unwrap_or(f64::INFINITY), cum));
        }
        let blocks = self.blocks.read().clone();
        let bmin = blocks.iter().map(|b| b.meta.min_time).min();
        let bmax = blocks.iter().map(|b| b.meta.max_time - 1).max();
        let hr = self.head.time_range();
        let min_time = match (bmin, hr.map(|r| r.0)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        StorageStats {
            head_series: self.head.num_series() as u64,
            head_chunks: self.head.num_chunks() as u64,
            blocks: blocks.len() as u64,
            bytes_on_disk: dir_size(&*self.vfs, &self.dir),
            compactions: self.compactions.load(Ordering::Relaxed),
            samples_appended: self.samples_appended.load(Ordering::Relaxed),
            wal_fsyncs: fs.count,
            wal_fsync_seconds: hist,
            wal_fsync_seconds_sum: fs.sum,
            min_time,
            max_time: bmax.max(hr.map(|r| r.1)),
        }
    }

    fn close(&self) -> Result<(), StorageError> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        {
            *self.bg.stop.lock() = true;
            self.bg.cv.notify_all();
        }
        let h = self.bg_handle.lock().take();
        if let Some(h) = h
            && h.thread().id() != std::thread::current().id()
        {
            let _ = h.join();
        }
        let _g = self.maint.lock();
        self.wal.close()?;
        tracing::info!(dir = %self.dir.display(), "TSDB closed");
        Ok(())
    }
}
