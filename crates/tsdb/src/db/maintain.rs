//! Background maintenance: the maintenance thread, one maintenance round, cutting the head
//! into blocks and checkpointing the WAL.

use super::{BgControl, CHECKPOINT_BATCH, Tsdb};
use crate::block::write_block;
use crate::head::HeadSeries;
use crate::wal;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;
use vigia_model::{Labels, Sample, StorageError};

impl Tsdb {
    /// Runs one round of maintenance: cuts the head when it spans more than 1.5 block
    /// durations, compacts, and applies retention.
    pub fn maintain(&self) -> Result<(), StorageError> {
        let _g = self.maint.lock();
        let bd = self.opts.block_duration_ms;
        let mut cut_any = false;
        // bounded: each cut removes the oldest block range; racing late appends can only
        // re-populate it a few times
        for _ in 0..10_000 {
            let Some((lo, hi)) = self.head.time_range() else {
                break;
            };
            if hi.saturating_sub(lo) <= bd.saturating_mul(3) / 2 {
                break;
            }
            let end = lo.div_euclid(bd).saturating_mul(bd).saturating_add(bd);
            self.cut_until(end)?;
            cut_any = true;
        }
        if cut_any {
            self.checkpoint_wal()?;
        }
        self.compact_locked()?;
        self.retention_locked()?;
        Ok(())
    }

    /// Persists every head sample with `t < end` into a block and removes it from the head.
    pub(super) fn cut_until(&self, end: i64) -> Result<(), StorageError> {
        self.cut_boundary.fetch_max(end, Ordering::AcqRel);
        let mut collected: Vec<(Labels, Vec<Sample>, Arc<HeadSeries>)> = Vec::new();
        for s in self.head.all_series() {
            let smp = {
                let d = s.data.lock();
                if d.removed {
                    continue;
                }
                d.samples(i64::MIN, end.saturating_sub(1))
            };
            if !smp.is_empty() {
                collected.push((self.head.labels_of(&s), smp, s));
            }
        }
        collected.sort_by(|a, b| a.0.cmp(&b.0));
        let meta = write_block(
            &*self.vfs,
            &self.dir,
            collected.iter().map(|(l, s, _)| Ok((l.clone(), s.clone()))),
            1,
            Vec::new(),
        )?;
        if let Some(m) = &meta {
            tracing::info!(block = %m.ulid, min_time = m.min_time, max_time = m.max_time, series = m.stats.num_series, samples = m.stats.num_samples, "cut head into block");
        }
        self.add_block(meta, &self.dir.clone())?;
        for (_, smp, s) in &collected {
            let mut d = s.data.lock();
            if d.count_before(end) == smp.len() {
                // nothing arrived below `end` since collection: drop whole chunks
                d.drop_before(end);
                continue;
            }
            let all = d.all_samples();
            let rest: Vec<Sample> = all
                .into_iter()
                .filter(|x| smp.binary_search_by_key(&x.t, |y| y.t).is_err())
                .collect();
            d.rebuild(&rest);
        }
        self.head.gc();
        self.head.recompute_time_range();
        Ok(())
    }

    /// Writes a WAL checkpoint of the current head and drops the older segments.
    pub(super) fn checkpoint_wal(&self) -> Result<(), StorageError> {
        let n = self.wal.cut()?;
        let mut body = Vec::new();
        for s in self.head.all_series() {
            let samples = {
                let d = s.data.lock();
                if d.removed {
                    continue;
                }
                d.all_samples()
            };
            let labels = self.head.labels_of(&s);
            wal::encode_series(&mut body, &[(s.id, &labels)]);
            for part in samples.chunks(CHECKPOINT_BATCH) {
                let recs: Vec<(u32, i64, f64)> = part.iter().map(|x| (s.id, x.t, x.v)).collect();
                wal::encode_samples(&mut body, &recs);
            }
        }
        self.wal.checkpoint(n, &body)
    }
}

pub(super) fn bg_loop(weak: Weak<Tsdb>, ctl: Arc<BgControl>) {
    loop {
        {
            let mut stop = ctl.stop.lock();
            if *stop {
                return;
            }
            ctl.cv.wait_for(&mut stop, Duration::from_secs(1));
            if *stop {
                return;
            }
        }
        let Some(db) = weak.upgrade() else { return };
        if db.closed.load(Ordering::Acquire) {
            return;
        }
        if let Err(e) = db.maintain() {
            tracing::error!(error = %e, "TSDB maintenance failed");
        }
    }
}
