//! The samples of one head series: closed and open Gorilla XOR chunks plus a small sorted
//! out-of-order buffer, with appends (in order, out of order within the window, duplicates),
//! range reads, and dropping or rebuilding after a cut or a delete.

use crate::xor::{ClosedChunk, SAMPLES_PER_CHUNK, XorChunk};
use vigia_model::{RejectReason, Sample};

/// Out-of-order buffer length beyond which it is merged back into the chunks.
const OOO_MERGE_AT: usize = 64;

/// What happened to one appended sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendKind {
    /// Stored (in order, or out of order within the window).
    Stored,
    /// Exact duplicate of a stored sample: idempotent no-op.
    Duplicate,
}

/// Samples of one series.
#[derive(Debug, Default)]
pub struct SeriesData {
    closed: Vec<ClosedChunk>,
    open: XorChunk,
    ooo: Vec<Sample>,
    /// Set when the series was garbage-collected from the head; appenders must re-resolve.
    pub removed: bool,
}

impl SeriesData {
    /// Newest in-order timestamp.
    pub fn max_t(&self) -> Option<i64> {
        if self.open.count() > 0 {
            Some(self.open.max_t())
        } else {
            self.closed.last().map(|c| c.max_t)
        }
    }

    /// Oldest timestamp.
    pub fn min_t(&self) -> Option<i64> {
        let c = self
            .closed
            .first()
            .map(|c| c.min_t)
            .or_else(|| (self.open.count() > 0).then(|| self.open.min_t()));
        match (c, self.ooo.first()) {
            (Some(a), Some(b)) => Some(a.min(b.t)),
            (a, b) => a.or(b.map(|s| s.t)),
        }
    }

    /// True when no samples are held.
    pub fn is_empty(&self) -> bool {
        self.open.count() == 0 && self.closed.is_empty() && self.ooo.is_empty()
    }

    /// Number of chunks (closed + open).
    pub fn chunk_count(&self) -> usize {
        self.closed.len() + usize::from(self.open.count() > 0)
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.closed
            .iter()
            .map(|c| c.heap_bytes() + std::mem::size_of::<ClosedChunk>())
            .sum::<usize>()
            + self.closed.capacity().saturating_sub(self.closed.len())
                * std::mem::size_of::<ClosedChunk>()
            + self.open.heap_bytes()
            + self.ooo.capacity() * 16
    }

    fn push_in_order(&mut self, t: i64, v: f64) {
        if self.open.count() >= SAMPLES_PER_CHUNK {
            let full = std::mem::take(&mut self.open);
            self.closed.push(full.close());
        }
        self.open.append(t, v);
    }

    /// Value bits stored at `t`, if any.
    fn value_at(&self, t: i64) -> Option<u64> {
        if let Ok(i) = self.ooo.binary_search_by_key(&t, |s| s.t) {
            return self.ooo.get(i).map(|s| s.v.to_bits());
        }
        for c in &self.closed {
            if c.min_t <= t && t <= c.max_t {
                return c.iter().find(|s| s.t == t).map(|s| s.v.to_bits());
            }
        }
        if self.open.count() > 0 && self.open.min_t() <= t && t <= self.open.max_t() {
            return self.open.iter().find(|s| s.t == t).map(|s| s.v.to_bits());
        }
        None
    }

    /// Appends with Prometheus rules: newer → stored; same timestamp and bit-equal value →
    /// duplicate; same timestamp, other value → rejected; older → stored only within
    /// `ooo_window` of the newest sample.
    pub fn append(&mut self, t: i64, v: f64, ooo_window: i64) -> Result<AppendKind, RejectReason> {
        let Some(max) = self.max_t() else {
            self.push_in_order(t, v);
            return Ok(AppendKind::Stored);
        };
        if t > max {
            self.push_in_order(t, v);
            return Ok(AppendKind::Stored);
        }
        if t == max {
            return if self.open_last_bits() == Some(v.to_bits()) {
                Ok(AppendKind::Duplicate)
            } else {
                Err(RejectReason::DuplicateTimestamp)
            };
        }
        if let Some(bits) = self.value_at(t) {
            return if bits == v.to_bits() {
                Ok(AppendKind::Duplicate)
            } else {
                Err(RejectReason::DuplicateTimestamp)
            };
        }
        if ooo_window <= 0 || t < max.saturating_sub(ooo_window) {
            return Err(RejectReason::OutOfOrder);
        }
        self.insert_ooo(t, v);
        Ok(AppendKind::Stored)
    }

    fn open_last_bits(&self) -> Option<u64> {
        if self.open.count() > 0 {
            Some(self.open.last_v_bits())
        } else {
            self.closed
                .last()
                .and_then(|c| c.iter().last())
                .map(|s| s.v.to_bits())
        }
    }

    fn insert_ooo(&mut self, t: i64, v: f64) {
        let pos = self.ooo.partition_point(|s| s.t < t);
        self.ooo.insert(pos, Sample::new(t, v));
        if self.ooo.len() >= OOO_MERGE_AT {
            let all = self.all_samples();
            self.rebuild(&all);
        }
    }

    /// Inserts regardless of order (WAL replay); keeps the stored value on a timestamp clash.
    pub fn insert_any(&mut self, t: i64, v: f64) {
        match self.max_t() {
            None => self.push_in_order(t, v),
            Some(max) if t > max => self.push_in_order(t, v),
            Some(_) => {
                if self.value_at(t).is_none() {
                    self.insert_ooo(t, v);
                }
            }
        }
    }

    /// Samples with `min_t <= t <= max_t`, ascending.
    pub fn samples(&self, min_t: i64, max_t: i64) -> Vec<Sample> {
        let mut out = Vec::new();
        for c in &self.closed {
            if c.max_t >= min_t && c.min_t <= max_t {
                out.extend(c.iter().filter(|s| s.t >= min_t && s.t <= max_t));
            }
        }
        if self.open.count() > 0 && self.open.max_t() >= min_t && self.open.min_t() <= max_t {
            out.extend(self.open.iter().filter(|s| s.t >= min_t && s.t <= max_t));
        }
        let ooo: Vec<Sample> = self
            .ooo
            .iter()
            .filter(|s| s.t >= min_t && s.t <= max_t)
            .copied()
            .collect();
        if !ooo.is_empty() {
            out.extend(ooo);
            out.sort_by_key(|s| s.t);
        }
        out
    }

    /// Every sample, ascending.
    pub fn all_samples(&self) -> Vec<Sample> {
        self.samples(i64::MIN, i64::MAX)
    }

    /// Number of samples with `t < end`; decodes only a chunk straddling `end`.
    pub fn count_before(&self, end: i64) -> usize {
        let mut n = 0;
        for c in &self.closed {
            if c.max_t < end {
                n += usize::from(c.count);
            } else if c.min_t < end {
                n += c.iter().filter(|s| s.t < end).count();
            }
        }
        if self.open.count() > 0 {
            if self.open.max_t() < end {
                n += usize::from(self.open.count());
            } else if self.open.min_t() < end {
                n += self.open.iter().filter(|s| s.t < end).count();
            }
        }
        n + self.ooo.iter().filter(|s| s.t < end).count()
    }

    /// Removes every sample with `t < end`: whole chunks are dropped without decoding and only
    /// a chunk straddling `end` is re-encoded.
    pub fn drop_before(&mut self, end: i64) {
        let mut kept = Vec::with_capacity(self.closed.len());
        for c in std::mem::take(&mut self.closed) {
            if c.max_t < end {
                continue;
            }
            if c.min_t >= end {
                kept.push(c);
                continue;
            }
            let mut x = XorChunk::new();
            for s in c.iter().filter(|s| s.t >= end) {
                x.append(s.t, s.v);
            }
            if x.count() > 0 {
                kept.push(x.close());
            }
        }
        self.closed = kept;
        if self.open.count() > 0 && self.open.min_t() < end {
            let mut x = XorChunk::new();
            for s in self.open.iter().filter(|s| s.t >= end) {
                x.append(s.t, s.v);
            }
            self.open = x;
        }
        self.ooo.retain(|s| s.t >= end);
    }

    /// Replaces the contents with `samples` (ascending, unique timestamps).
    pub fn rebuild(&mut self, samples: &[Sample]) {
        self.closed.clear();
        self.open = XorChunk::new();
        self.ooo = Vec::new();
        for s in samples {
            self.push_in_order(s.t, s.v);
        }
        self.closed.shrink_to_fit();
    }
}
