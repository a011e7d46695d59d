//! The head: the in-memory, appendable part of the database. Series hold Gorilla XOR chunks
//! (120 samples each) plus a small sorted out-of-order buffer; labels are interned; an inverted
//! index of roaring bitmaps answers matchers. Each series has its own lock, so readers and many
//! appending threads proceed concurrently.
//!
//! This file holds the series map, label interning and the index; the samples of one series
//! ([`SeriesData`]) are in `series`.

mod series;

pub use series::{AppendKind, SeriesData};

use crate::postings::{Postings, Symbols};
use parking_lot::{Mutex, RwLock};
use roaring::RoaringBitmap;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use vigia_model::{Labels, Matcher, StorageError};

/// One head series.
#[derive(Debug)]
pub struct HeadSeries {
    /// Series id (also its WAL reference).
    pub id: u32,
    /// Interned label pairs `[name, value, …]`.
    pub pairs: Box<[u32]>,
    /// Samples.
    pub data: Mutex<SeriesData>,
}

/// Hasher for keys that are already well-distributed (label-set hashes) or dense ids: mixes
/// the integer once instead of running SipHash.
#[derive(Debug, Default, Clone, Copy)]
struct IdHash;

#[derive(Debug, Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        // splitmix64 finaliser: good bucket spread for sequential ids too
        let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.0 = z ^ (z >> 31);
    }
}

impl std::hash::BuildHasher for IdHash {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher::default()
    }
}

#[derive(Debug, Default)]
struct SeriesMap {
    by_id: HashMap<u32, Arc<HeadSeries>, IdHash>,
    by_hash: HashMap<u64, u32, IdHash>,
    conflicts: HashMap<u64, Vec<u32>, IdHash>,
}

impl SeriesMap {
    fn find(&self, hash: u64, labels: &Labels, syms: &Symbols) -> Option<Arc<HeadSeries>> {
        let check = |id: &u32| {
            self.by_id
                .get(id)
                .filter(|s| syms.labels_eq(&s.pairs, labels))
                .cloned()
        };
        if let Some(s) = self.by_hash.get(&hash).and_then(check) {
            return Some(s);
        }
        self.conflicts
            .get(&hash)
            .and_then(|v| v.iter().find_map(check))
    }
}

/// The in-memory head block.
#[derive(Debug)]
pub struct Head {
    syms: RwLock<Symbols>,
    postings: RwLock<Postings>,
    series: RwLock<SeriesMap>,
    next_id: AtomicU32,
    min_t: AtomicI64,
    max_t: AtomicI64,
    max_series: usize,
}

impl Head {
    /// An empty head; `max_series` 0 means unlimited.
    pub fn new(max_series: usize) -> Self {
        Self {
            syms: RwLock::new(Symbols::default()),
            postings: RwLock::new(Postings::default()),
            series: RwLock::new(SeriesMap::default()),
            next_id: AtomicU32::new(1),
            min_t: AtomicI64::new(i64::MAX),
            max_t: AtomicI64::new(i64::MIN),
            max_series,
        }
    }

    /// Number of series.
    pub fn num_series(&self) -> usize {
        self.series.read().by_id.len()
    }

    /// (min, max) timestamps held, if any.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let (a, b) = (
            self.min_t.load(Ordering::Acquire),
            self.max_t.load(Ordering::Acquire),
        );
        (a <= b).then_some((a, b))
    }

    /// Widens the tracked time range.
    pub fn observe_time(&self, t: i64) {
        if t < self.min_t.load(Ordering::Acquire) {
            self.min_t.fetch_min(t, Ordering::AcqRel);
        }
        if t > self.max_t.load(Ordering::Acquire) {
            self.max_t.fetch_max(t, Ordering::AcqRel);
        }
    }

    /// Recomputes the time range from the series (after truncation).
    pub fn recompute_time_range(&self) {
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for s in self.series.read().by_id.values() {
            let d = s.data.lock();
            if let (Some(a), Some(b)) = (d.min_t(), d.max_t()) {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
        self.min_t.store(lo, Ordering::Release);
        self.max_t.store(hi, Ordering::Release);
    }

    /// Looks a series up by labels.
    pub fn get(&self, labels: &Labels) -> Option<Arc<HeadSeries>> {
        let map = self.series.read();
        let syms = self.syms.read();
        map.find(labels.stable_hash(), labels, &syms)
    }

    /// Series by id.
    pub fn by_id(&self, id: u32) -> Option<Arc<HeadSeries>> {
        self.series.read().by_id.get(&id).cloned()
    }

    /// Resolves every label set, creating missing series. All-or-nothing with respect to the
    /// series limit. `on_create(id, labels)` runs under the creation lock, before any other
    /// thread can see the new series (the WAL logs the series record there).
    pub fn get_or_create_all(
        &self,
        sets: &[&Labels],
        on_create: &mut dyn FnMut(u32, &Labels),
    ) -> Result<(Vec<Arc<HeadSeries>>, u64), StorageError> {
        let mut out: Vec<Option<Arc<HeadSeries>>> = Vec::with_capacity(sets.len());
        let mut missing = Vec::new();
        {
            // lock order everywhere: series map → symbols → postings
            let map = self.series.read();
            let syms = self.syms.read();
            for (i, l) in sets.iter().enumerate() {
                let s = map.find(l.stable_hash(), l, &syms);
                if s.is_none() {
                    missing.push(i);
                }
                out.push(s);
            }
        }
        let mut created = 0u64;
        if !missing.is_empty() {
            let mut map = self.series.write();
            let mut still = Vec::new();
            {
                let syms = self.syms.read();
                for i in missing {
                    let Some(l) = sets.get(i) else { continue };
                    match map.find(l.stable_hash(), l, &syms) {
                        Some(s) => out[i] = Some(s),
                        None => still.push(i),
                    }
                }
            }
            // distinct new label sets (a batch may repeat one)
            let mut uniq: Vec<usize> = Vec::new();
            for &i in &still {
                if !uniq.iter().any(|&j| sets[j] == sets[i]) {
                    uniq.push(i);
                }
            }
            if self.max_series > 0 && map.by_id.len() + uniq.len() > self.max_series {
                return Err(StorageError::LimitExceeded(format!(
                    "series limit {} reached: cannot create {} new series",
                    self.max_series,
                    uniq.len()
                )));
            }
            for i in still {
                let Some(l) = sets.get(i).copied() else {
                    continue;
                };
                let existing = {
                    let syms = self.syms.read();
                    map.find(l.stable_hash(), l, &syms)
                };
                let s = match existing {
                    Some(s) => s,
                    None => {
                        let id = self.next_id.fetch_add(1, Ordering::AcqRel);
                        let s = self.insert_locked(&mut map, id, l);
                        on_create(id, l);
                        created += 1;
                        s
                    }
                };
                out[i] = Some(s);
            }
        }
        let mut res = Vec::with_capacity(out.len());
        for s in out {
            let Some(s) = s else {
                return Err(StorageError::Other("series resolution failed".into()));
            };
            res.push(s);
        }
        Ok((res, created))
    }

    fn insert_locked(&self, map: &mut SeriesMap, id: u32, labels: &Labels) -> Arc<HeadSeries> {
        let pairs = self.syms.write().intern_labels(labels);
        self.postings.write().add(id, &pairs);
        let s = Arc::new(HeadSeries {
            id,
            pairs,
            data: Mutex::new(SeriesData::default()),
        });
        let h = labels.stable_hash();
        map.by_id.insert(id, s.clone());
        match map.by_hash.get(&h) {
            None => {
                map.by_hash.insert(h, id);
            }
            Some(_) => map.conflicts.entry(h).or_default().push(id),
        }
        s
    }

    /// Creates a series with a given id (WAL replay); returns the existing one on a repeat.
    /// When a series with the same labels already exists under another id (it was garbage
    /// collected and re-created before a crash), that series is returned: the caller maps the
    /// WAL id onto it.
    pub fn create_with_id(&self, id: u32, labels: &Labels) -> Arc<HeadSeries> {
        let mut map = self.series.write();
        self.next_id
            .fetch_max(id.saturating_add(1), Ordering::AcqRel);
        if let Some(s) = map.by_id.get(&id) {
            return s.clone();
        }
        let existing = {
            let syms = self.syms.read();
            map.find(labels.stable_hash(), labels, &syms)
        };
        if let Some(s) = existing {
            return s;
        }
        self.insert_locked(&mut map, id, labels)
    }

    /// Labels of a series.
    pub fn labels_of(&self, s: &HeadSeries) -> Labels {
        self.syms.read().labels(&s.pairs)
    }

    /// Series ids matching the matchers.
    pub fn select_ids(&self, matchers: &[Matcher]) -> RoaringBitmap {
        let syms = self.syms.read();
        self.postings.read().select(&syms, matchers)
    }

    /// Matching series with their labels, sorted by labels.
    pub fn select_series(&self, matchers: &[Matcher]) -> Vec<(Labels, Arc<HeadSeries>)> {
        let ids = self.select_ids(matchers);
        let map = self.series.read();
        let syms = self.syms.read();
        let mut v: Vec<(Labels, Arc<HeadSeries>)> = ids
            .iter()
            .filter_map(|id| map.by_id.get(&id))
            .map(|s| (syms.labels(&s.pairs), s.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Runs `f` with the symbol table and postings (label queries, cardinality).
    pub fn with_index<R>(&self, f: impl FnOnce(&Symbols, &Postings) -> R) -> R {
        let syms = self.syms.read();
        let p = self.postings.read();
        f(&syms, &p)
    }

    /// All series, unsorted.
    pub fn all_series(&self) -> Vec<Arc<HeadSeries>> {
        self.series.read().by_id.values().cloned().collect()
    }

    /// Total chunks.
    pub fn num_chunks(&self) -> usize {
        self.series
            .read()
            .by_id
            .values()
            .map(|s| s.data.lock().chunk_count())
            .sum()
    }

    /// Removes series that hold no samples; returns how many.
    pub fn gc(&self) -> usize {
        let mut map = self.series.write();
        let empty: Vec<Arc<HeadSeries>> = map
            .by_id
            .values()
            .filter(|s| {
                let mut d = s.data.lock();
                if d.is_empty() {
                    d.removed = true;
                    true
                } else {
                    false
                }
            })
            .cloned()
            .collect();
        let syms = self.syms.read();
        let mut postings = self.postings.write();
        for s in &empty {
            postings.remove(s.id, &s.pairs);
            map.by_id.remove(&s.id);
            let h = syms.labels(&s.pairs).stable_hash();
            if map.by_hash.get(&h) == Some(&s.id) {
                map.by_hash.remove(&h);
                let promote = map.conflicts.get_mut(&h).and_then(|v| v.pop());
                if let Some(p) = promote {
                    map.by_hash.insert(h, p);
                }
            } else if let Some(v) = map.conflicts.get_mut(&h) {
                v.retain(|x| *x != s.id);
            }
            if map.conflicts.get(&h).is_some_and(|v| v.is_empty()) {
                map.conflicts.remove(&h);
            }
        }
        empty.len()
    }

    /// Approximate heap bytes of the whole head (series, chunks, index, symbols).
    pub fn heap_bytes(&self) -> usize {
        let map = self.series.read();
        let per_series: usize = map
            .by_id
            .values()
            .map(|s| {
                std::mem::size_of::<HeadSeries>()
                    + 16
                    + s.pairs.len() * 4
                    + s.data.lock().heap_bytes()
            })
            .sum();
        per_series
            + map.by_id.capacity() * 24
            + map.by_hash.capacity() * 20
            + self.syms.read().heap_bytes()
            + self.postings.read().heap_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigia_model::{RejectReason, Sample, stale_nan};

    #[test]
    fn append_rules() {
        let mut d = SeriesData::default();
        assert_eq!(d.append(10, 1.0, 0), Ok(AppendKind::Stored));
        assert_eq!(d.append(10, 1.0, 0), Ok(AppendKind::Duplicate));
        assert_eq!(d.append(10, 2.0, 0), Err(RejectReason::DuplicateTimestamp));
        assert_eq!(d.append(5, 2.0, 0), Err(RejectReason::OutOfOrder));
        assert_eq!(d.append(20, stale_nan(), 0), Ok(AppendKind::Stored));
        assert_eq!(
            d.append(20, f64::NAN, 0),
            Err(RejectReason::DuplicateTimestamp)
        );
        assert_eq!(d.append(20, stale_nan(), 0), Ok(AppendKind::Duplicate));
        // window
        assert_eq!(d.append(15, -0.0, 10), Ok(AppendKind::Stored));
        assert_eq!(d.append(15, -0.0, 10), Ok(AppendKind::Duplicate));
        assert_eq!(d.append(15, 0.0, 10), Err(RejectReason::DuplicateTimestamp));
        assert_eq!(d.append(9, 0.0, 10), Err(RejectReason::OutOfOrder));
        let s = d.all_samples();
        assert_eq!(s.iter().map(|s| s.t).collect::<Vec<_>>(), vec![10, 15, 20]);
        assert_eq!(s[1].v.to_bits(), (-0.0f64).to_bits());
        assert!(vigia_model::is_stale_nan(s[2].v));
    }

    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        /// `append` against a naive model of the Prometheus rules; `insert_any` (replay) against
        /// a sorted map. Timestamps repeat and go backwards; values include NaN payloads.
        #[test]
        fn append_matches_model(ops in proptest::collection::vec((0i64..400, prop::sample::select(vec![0u64, 1, 0x7ff0_0000_0000_0002, 0x7ff8_0000_0000_0000, 0x8000_0000_0000_0000, 0x7ff0_0000_0000_0000])), 0..400), window in 0i64..50) {
            let mut d = SeriesData::default();
            let mut model: BTreeMap<i64, u64> = BTreeMap::new();
            for (t, bits) in &ops {
                let v = f64::from_bits(*bits);
                let want = match model.last_key_value().map(|(k, _)| *k) {
                    None => Ok(AppendKind::Stored),
                    Some(max) => match model.get(t) {
                        Some(b) if b == bits => Ok(AppendKind::Duplicate),
                        Some(_) => Err(RejectReason::DuplicateTimestamp),
                        None if *t > max => Ok(AppendKind::Stored),
                        None if window > 0 && *t >= max - window => Ok(AppendKind::Stored),
                        None => Err(RejectReason::OutOfOrder),
                    },
                };
                prop_assert_eq!(d.append(*t, v, window), want);
                if want == Ok(AppendKind::Stored) {
                    model.insert(*t, *bits);
                }
            }
            let got: Vec<(i64, u64)> = d.all_samples().iter().map(|s| (s.t, s.v.to_bits())).collect();
            prop_assert_eq!(got, model.into_iter().collect::<Vec<_>>());

            let mut r = SeriesData::default();
            let mut m2: BTreeMap<i64, u64> = BTreeMap::new();
            for (t, bits) in &ops {
                r.insert_any(*t, f64::from_bits(*bits));
                m2.entry(*t).or_insert(*bits);
            }
            let got: Vec<(i64, u64)> = r.all_samples().iter().map(|s| (s.t, s.v.to_bits())).collect();
            prop_assert_eq!(got, m2.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn replay_recreated_series_is_aliased() {
        let h = Head::new(0);
        let a = Labels::from_pairs([("__name__", "a")]);
        let s1 = h.create_with_id(3, &a);
        let s2 = h.create_with_id(9, &a);
        assert_eq!(s1.id, s2.id);
        assert_eq!(h.num_series(), 1);
        let (v, created) = h
            .get_or_create_all(&[&Labels::from_pairs([("__name__", "b")])], &mut |_, _| {})
            .unwrap();
        assert_eq!(created, 1);
        assert!(v[0].id > 9, "new ids never collide with WAL ids");
    }

    #[test]
    fn drop_before_keeps_the_rest() {
        let mut d = SeriesData::default();
        for t in 0..1000 {
            d.append(t * 10, t as f64, 0).unwrap();
        }
        d.insert_any(4995, -1.0);
        assert_eq!(d.count_before(5000), 501);
        d.drop_before(5000);
        let s = d.all_samples();
        assert_eq!(s.len(), 500);
        assert_eq!(s[0], Sample::new(5000, 500.0));
        assert_eq!(d.append(10_000, 1.0, 0), Ok(AppendKind::Stored));
        d.drop_before(20_000);
        assert!(d.is_empty());
    }

    #[test]
    fn many_ooo_merge_and_chunks() {
        let mut d = SeriesData::default();
        for t in (0..1000).rev() {
            d.insert_any(t, t as f64);
        }
        let s = d.all_samples();
        assert_eq!(s.len(), 1000);
        assert!(s.windows(2).all(|w| w[0].t < w[1].t));
        assert_eq!(d.samples(100, 199).len(), 100);
    }

    #[test]
    fn series_limit_and_gc() {
        let h = Head::new(2);
        let a = Labels::from_pairs([("__name__", "a")]);
        let b = Labels::from_pairs([("__name__", "b")]);
        let c = Labels::from_pairs([("__name__", "c")]);
        let mut n = 0;
        let (v, created) = h
            .get_or_create_all(&[&a, &b, &a], &mut |_, _| n += 1)
            .unwrap();
        assert_eq!((created, n, v.len()), (2, 2, 3));
        assert_eq!(v[0].id, v[2].id);
        assert!(matches!(
            h.get_or_create_all(&[&c], &mut |_, _| {}),
            Err(StorageError::LimitExceeded(_))
        ));
        v[0].data.lock().append(1, 1.0, 0).unwrap();
        assert_eq!(h.gc(), 1);
        assert!(v[1].data.lock().removed);
        assert!(h.get(&b).is_none());
        assert!(h.get(&a).is_some());
        assert_eq!(h.select_series(&[]).len(), 1);
    }
}
