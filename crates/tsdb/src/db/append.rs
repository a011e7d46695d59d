//! The append path: label validation, routing samples to the head (logged to the WAL with
//! group commit) or, when older than the head accepts, to backfill blocks.

use super::Tsdb;
use crate::block::write_block;
use crate::head::AppendKind;
use crate::wal;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use vigia_model::{
    AppendOutcome, Appender, Labels, RejectReason, Sample, SeriesSamples, StorageError,
    is_valid_label_name, is_valid_metric_name,
};

fn validate(labels: &Labels) -> Result<(), StorageError> {
    let bad = |reason: &str| StorageError::InvalidSeries {
        labels: labels.to_string(),
        reason: reason.to_string(),
    };
    match labels.metric_name() {
        None => return Err(bad("missing __name__")),
        Some(n) if !is_valid_metric_name(n) => return Err(bad("invalid metric name")),
        _ => {}
    }
    for l in labels.iter() {
        if !is_valid_label_name(&l.name) && l.name != vigia_model::METRIC_NAME {
            return Err(bad(&format!("invalid label name {:?}", l.name)));
        }
    }
    Ok(())
}

impl Tsdb {
    /// Appends older than this go to the backfill path.
    fn append_floor(&self) -> i64 {
        let cut = self.cut_boundary.load(Ordering::Acquire);
        let floor = match self.head.time_range() {
            None => cut,
            Some((lo, hi)) => cut.max(lo.min(hi.saturating_sub(self.opts.block_duration_ms / 2))),
        };
        floor.saturating_sub(self.opts.ooo_window_ms.max(0))
    }

    fn backfill(
        &self,
        mut items: BTreeMap<Labels, Vec<Sample>>,
        out: &mut AppendOutcome,
    ) -> Result<(), StorageError> {
        for v in items.values_mut() {
            v.sort_by_key(|s| s.t);
            let before = v.len();
            let mut kept: Vec<Sample> = Vec::with_capacity(before);
            for s in v.drain(..) {
                match kept.last() {
                    Some(l) if l.t == s.t => {
                        if l.v.to_bits() == s.v.to_bits() {
                            out.backfilled += 1;
                        } else {
                            *out.rejected
                                .entry(RejectReason::DuplicateTimestamp)
                                .or_default() += 1;
                        }
                    }
                    _ => {
                        kept.push(s);
                        out.backfilled += 1;
                    }
                }
            }
            *v = kept;
        }
        // one block per aligned block-duration window, like blocks cut from the head, so a wide
        // backfill never produces one block overlapping everything
        let bd = self.opts.block_duration_ms;
        let mut windows: BTreeMap<i64, BTreeMap<Labels, Vec<Sample>>> = BTreeMap::new();
        for (l, v) in items {
            for s in v {
                windows
                    .entry(s.t.div_euclid(bd))
                    .or_default()
                    .entry(l.clone())
                    .or_default()
                    .push(s);
            }
        }
        for (_, w) in windows {
            let meta = write_block(&*self.vfs, &self.dir, w.into_iter().map(Ok), 1, Vec::new())?;
            if let Some(m) = &meta {
                tracing::debug!(block = %m.ulid, samples = m.stats.num_samples, "backfilled samples into a new block");
            }
            self.add_block(meta, &self.dir.clone())?;
        }
        Ok(())
    }
}

impl Appender for Tsdb {
    fn append(&self, batch: &[SeriesSamples]) -> Result<AppendOutcome, StorageError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        for s in batch {
            validate(&s.labels)?;
        }
        let mut out = AppendOutcome::default();
        let sets: Vec<&Labels> = batch.iter().map(|s| &s.labels).collect();
        let mut log_err: Option<StorageError> = None;
        let wal = &self.wal;
        let mut on_create = |id: u32, l: &Labels| {
            let mut b = Vec::new();
            wal::encode_series(&mut b, &[(id, l)]);
            if let Err(e) = wal.log(&b)
                && log_err.is_none()
            {
                log_err = Some(e);
            }
        };
        let (series, created) = self.head.get_or_create_all(&sets, &mut on_create)?;
        out.new_series = created;
        let floor = self.append_floor();
        let too_old = self
            .retention_reference()
            .map(|n| n.saturating_sub(self.opts.retention_ms))
            .unwrap_or(i64::MIN);
        let ooo = self.opts.ooo_window_ms.max(0);
        let mut wal_samples: Vec<(u32, i64, f64)> = Vec::new();
        let mut backfill: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
        // time range of the batch, published once (shared atomics are contended)
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for (ss, hs) in batch.iter().zip(series) {
            let mut samples = ss.samples.clone();
            samples.sort_by_key(|s| s.t);
            let mut head_samples = Vec::with_capacity(samples.len());
            for s in samples {
                if s.t < too_old {
                    *out.rejected.entry(RejectReason::TooOld).or_default() += 1;
                } else if s.t < floor {
                    backfill.entry(ss.labels.clone()).or_default().push(s);
                } else {
                    head_samples.push(s);
                }
            }
            if head_samples.is_empty() {
                continue;
            }
            let mut hs = hs;
            loop {
                let mut d = hs.data.lock();
                if d.removed {
                    drop(d);
                    let (v, c) = self.head.get_or_create_all(&[&ss.labels], &mut on_create)?;
                    out.new_series += c;
                    let Some(n) = v.into_iter().next() else {
                        return Err(StorageError::Other("series resolution failed".into()));
                    };
                    hs = n;
                    continue;
                }
                for s in &head_samples {
                    match d.append(s.t, s.v, ooo) {
                        Ok(kind) => {
                            out.appended += 1;
                            wal_samples.push((hs.id, s.t, s.v));
                            if kind == AppendKind::Stored {
                                lo = lo.min(s.t);
                                hi = hi.max(s.t);
                            }
                        }
                        Err(r) => *out.rejected.entry(r).or_default() += 1,
                    }
                }
                drop(d);
                break;
            }
        }
        if lo <= hi {
            self.head.observe_time(lo);
            self.head.observe_time(hi);
        }
        if let Some(e) = log_err {
            return Err(e);
        }
        if !wal_samples.is_empty() {
            let mut b = Vec::with_capacity(wal_samples.len() * 12 + 16);
            wal::encode_samples(&mut b, &wal_samples);
            self.wal.log(&b)?;
        }
        let seq = self.wal.last_seq();
        if !backfill.is_empty() {
            self.backfill(backfill, &mut out)?;
        }
        self.wal.wait(seq)?;
        self.samples_appended
            .fetch_add(out.appended + out.backfilled, Ordering::Relaxed);
        Ok(out)
    }
}
