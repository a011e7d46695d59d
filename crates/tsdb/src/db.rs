//! The database: ties head, WAL and blocks together, implements the `vigia-model` storage
//! traits, and runs maintenance (head cutting, WAL checkpointing, compaction, retention) on a
//! background thread or on demand.

use crate::block::{Block, write_block};
use crate::head::{AppendKind, Head, HeadSeries};
use crate::vfs::{RealFs, Vfs, create_dir_durable};
use crate::wal::{self, FSYNC_BUCKETS, Record, Wal};
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;
use vigia_model::{
    AppendOutcome, Appender, CardinalityStats, Labels, Matcher, Querier, RejectReason, Sample,
    Series, SeriesSamples, SeriesSet, StorageAdmin, StorageError, StorageStats,
    is_valid_label_name, is_valid_metric_name,
};

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Samples per series per WAL checkpoint record.
const CHECKPOINT_BATCH: usize = 4096;

/// Options of [`Tsdb::open`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsdbOptions {
    /// Blocks entirely older than this (relative to the newest sample) are deleted. Default 15 days.
    pub retention_ms: i64,
    /// Oldest blocks are deleted while the data exceeds this many bytes; 0 = unlimited.
    pub retention_bytes: u64,
    /// Time range of a block cut from the head. Default 2 h.
    pub block_duration_ms: i64,
    /// How far behind a series' newest sample an out-of-order sample is still accepted. Default 0.
    pub ooo_window_ms: i64,
    /// WAL segment size. Default 128 MiB.
    pub wal_segment_bytes: u64,
    /// Maximum head series; 0 = unlimited. Beyond it, appends creating new series fail with
    /// [`StorageError::LimitExceeded`].
    pub max_series: usize,
}

impl Default for TsdbOptions {
    fn default() -> Self {
        Self {
            retention_ms: 15 * DAY_MS,
            retention_bytes: 0,
            block_duration_ms: 2 * 3600 * 1000,
            ooo_window_ms: 0,
            wal_segment_bytes: 128 << 20,
            max_series: 0,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

struct BgControl {
    stop: Mutex<bool>,
    cv: Condvar,
}

/// The embedded time-series database.
pub struct Tsdb {
    dir: PathBuf,
    vfs: Arc<dyn Vfs>,
    opts: TsdbOptions,
    head: Head,
    wal: Wal,
    blocks: RwLock<Vec<Arc<Block>>>,
    /// Samples older than this were (or are being) persisted from the head; older appends
    /// take the backfill path.
    cut_boundary: AtomicI64,
    maint: Mutex<()>,
    closed: AtomicBool,
    samples_appended: AtomicU64,
    compactions: AtomicU64,
    bg: Arc<BgControl>,
    bg_handle: Mutex<Option<JoinHandle<()>>>,
    /// Held open (and flock-ed) for the lifetime of the database when opened with [`Tsdb::open`].
    dir_lock: Mutex<Option<std::fs::File>>,
}

impl std::fmt::Debug for Tsdb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tsdb")
            .field("dir", &self.dir)
            .field("opts", &self.opts)
            .finish()
    }
}

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

/// Sorts by timestamp and keeps the first of equal timestamps.
fn sort_dedup(v: &mut Vec<Sample>) {
    v.sort_by_key(|s| s.t);
    v.dedup_by_key(|s| s.t);
}

enum Src {
    Head(Arc<HeadSeries>),
    Block(Arc<Block>, u32),
}

fn load_samples(srcs: &[Src], min_t: i64, max_t: i64) -> Result<Vec<Sample>, StorageError> {
    // head first, then blocks newest first: on a timestamp clash the first wins.
    let mut out = Vec::new();
    for s in srcs.iter().rev() {
        match s {
            Src::Head(h) => out.extend(h.data.lock().samples(min_t, max_t)),
            Src::Block(b, id) => out.extend(b.samples(*id, min_t, max_t)?),
        }
    }
    sort_dedup(&mut out);
    Ok(out)
}

impl Tsdb {
    /// Opens (creating if needed) the data dir, replays the WAL, loads blocks, starts the
    /// background maintenance thread (head cutting, compaction, retention).
    /// Takes an exclusive lock on `<dir>/lock` so two processes cannot share a data directory.
    pub fn open(dir: &Path, opts: TsdbOptions) -> Result<Arc<Tsdb>, StorageError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lp = dir.join("lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lp)
            .map_err(io_err(&lp))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StorageError::Other(format!(
                    "data directory {} is in use by another process",
                    dir.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(&lp)(e)),
        }
        let db = Self::open_with(Arc::new(RealFs), dir, opts, true)?;
        *db.dir_lock.lock() = Some(f);
        Ok(db)
    }

    /// Like [`Tsdb::open`] over any [`Vfs`]; `background` starts the maintenance thread
    /// (otherwise call [`Tsdb::maintain`] yourself).
    pub fn open_with(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        opts: TsdbOptions,
        background: bool,
    ) -> Result<Arc<Tsdb>, StorageError> {
        if opts.block_duration_ms <= 0 {
            return Err(StorageError::Other(
                "block_duration_ms must be positive".into(),
            ));
        }
        create_dir_durable(&*vfs, dir).map_err(io_err(dir))?;
        let mut blocks = Vec::new();
        for name in vfs.read_dir(dir).map_err(io_err(dir))? {
            let p = dir.join(&name);
            if name.ends_with(".tmp") || name.ends_with(".tmp-for-deletion") {
                tracing::info!(path = %p.display(), "removing leftover temporary directory");
                vfs.remove_dir_all(&p).map_err(io_err(&p))?;
                continue;
            }
            if name.len() != 26 || !vfs.is_dir(&p) {
                continue;
            }
            match Block::open(&*vfs, &p) {
                Ok(b) => blocks.push(Arc::new(b)),
                Err(e) => {
                    let cdir = dir.join("corrupted");
                    tracing::warn!(block = %p.display(), error = %e, "corrupt block moved aside to corrupted/");
                    create_dir_durable(&*vfs, &cdir).map_err(io_err(&cdir))?;
                    let to = cdir.join(&name);
                    vfs.rename(&p, &to).map_err(io_err(&to))?;
                    vfs.sync_dir(&cdir).map_err(io_err(&cdir))?;
                    vfs.sync_dir(dir).map_err(io_err(dir))?;
                }
            }
        }
        vfs.sync_dir(dir).map_err(io_err(dir))?;
        blocks
            .sort_by(|a, b| (a.meta.min_time, &a.meta.ulid).cmp(&(b.meta.min_time, &b.meta.ulid)));
        let cut = blocks
            .iter()
            .map(|b| b.meta.max_time)
            .max()
            .unwrap_or(i64::MIN);

        let head = Head::new(opts.max_series);
        let wal_dir = dir.join("wal");
        let mut replayed = 0u64;
        let mut unknown = 0u64;
        // WAL ids of series re-created under a new id → the head series holding those labels
        let mut aliases: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        let mut apply = |rec: Record| match rec {
            Record::Series(v) => {
                for (id, l) in &v {
                    let s = head.create_with_id(*id, l);
                    if s.id != *id {
                        aliases.insert(*id, s.id);
                    }
                }
            }
            Record::Samples(v) => {
                let mut last: Option<Arc<HeadSeries>> = None;
                for (id, t, val) in v {
                    let id = aliases.get(&id).copied().unwrap_or(id);
                    let s = match &last {
                        Some(s) if s.id == id => Some(s.clone()),
                        _ => head.by_id(id),
                    };
                    match s {
                        Some(s) => {
                            s.data.lock().insert_any(t, val);
                            head.observe_time(t);
                            replayed += 1;
                            last = Some(s);
                        }
                        None => unknown += 1,
                    }
                }
            }
            Record::Tombstones(v) => {
                for (id, a, b) in v {
                    let id = aliases.get(&id).copied().unwrap_or(id);
                    if let Some(s) = head.by_id(id) {
                        let mut d = s.data.lock();
                        let keep: Vec<Sample> = d
                            .all_samples()
                            .into_iter()
                            .filter(|s| s.t < a || s.t > b)
                            .collect();
                        d.rebuild(&keep);
                    }
                }
            }
        };
        let info = wal::replay_with(&*vfs, &wal_dir, &mut apply)?;
        if unknown > 0 {
            tracing::warn!(
                samples = unknown,
                "WAL samples referencing unknown series were skipped"
            );
        }
        head.recompute_time_range();
        tracing::info!(
            series = head.num_series(),
            samples = replayed,
            blocks = blocks.len(),
            "TSDB opened"
        );
        let wal = Wal::open(
            vfs.clone(),
            &wal_dir,
            opts.wal_segment_bytes,
            info.last_segment,
        )?;
        let db = Arc::new(Tsdb {
            dir: dir.to_path_buf(),
            vfs,
            opts,
            head,
            wal,
            blocks: RwLock::new(blocks),
            cut_boundary: AtomicI64::new(cut),
            maint: Mutex::new(()),
            closed: AtomicBool::new(false),
            samples_appended: AtomicU64::new(0),
            compactions: AtomicU64::new(0),
            bg: Arc::new(BgControl {
                stop: Mutex::new(false),
                cv: Condvar::new(),
            }),
            bg_handle: Mutex::new(None),
            dir_lock: Mutex::new(None),
        });
        if background {
            let weak = Arc::downgrade(&db);
            let ctl = db.bg.clone();
            let h = std::thread::Builder::new()
                .name("tsdb-maintenance".into())
                .spawn(move || bg_loop(weak, ctl))
                .map_err(|e| StorageError::Other(format!("spawning maintenance thread: {e}")))?;
            *db.bg_handle.lock() = Some(h);
        }
        Ok(db)
    }

    fn ensure_open(&self) -> Result<(), StorageError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        Ok(())
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Options in effect.
    pub fn options(&self) -> &TsdbOptions {
        &self.opts
    }

    /// Number of persistent blocks.
    pub fn num_blocks(&self) -> usize {
        self.blocks.read().len()
    }

    /// Approximate heap bytes of the head (series, chunks, index, symbols).
    pub fn head_heap_bytes(&self) -> usize {
        self.head.heap_bytes()
    }

    /// Metadata of the persistent blocks, oldest first.
    pub fn block_metas(&self) -> Vec<crate::block::BlockMeta> {
        self.blocks.read().iter().map(|b| b.meta.clone()).collect()
    }

    /// Appends older than this go to the backfill path.
    fn append_floor(&self) -> i64 {
        let cut = self.cut_boundary.load(Ordering::Acquire);
        let floor = match self.head.time_range() {
            None => cut,
            Some((lo, hi)) => cut.max(lo.min(hi.saturating_sub(self.opts.block_duration_ms / 2))),
        };
        floor.saturating_sub(self.opts.ooo_window_ms.max(0))
    }

    /// Time that retention is measured from: the newest stored sample (as in Prometheus), but
    /// never more than 10 minutes past the wall clock, so one sample with a bogus future
    /// timestamp cannot expire everything else.
    fn retention_reference(&self) -> Option<i64> {
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

    fn add_block(
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
    fn cut_until(&self, end: i64) -> Result<(), StorageError> {
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
    fn checkpoint_wal(&self) -> Result<(), StorageError> {
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
    fn replace_blocks(
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

    fn compact_locked(&self) -> Result<usize, StorageError> {
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

    fn retention_locked(&self) -> Result<usize, StorageError> {
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

    fn collect_sources(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> BTreeMap<Labels, Vec<Src>> {
        let mut map: BTreeMap<Labels, Vec<Src>> = BTreeMap::new();
        let blocks: Vec<Arc<Block>> = self
            .blocks
            .read()
            .iter()
            .filter(|b| b.overlaps(min_t, max_t))
            .cloned()
            .collect();
        for b in blocks {
            for id in b.select_ids(matchers) {
                if b.series_overlaps(id, min_t, max_t) {
                    map.entry(b.labels(id))
                        .or_default()
                        .push(Src::Block(b.clone(), id));
                }
            }
        }
        if self
            .head
            .time_range()
            .is_some_and(|(lo, hi)| lo <= max_t && hi >= min_t)
        {
            for (l, s) in self.head.select_series(matchers) {
                map.entry(l).or_default().push(Src::Head(s));
            }
        }
        map
    }

    fn matching_labels(&self, matchers: &[Matcher], min_t: i64, max_t: i64) -> Vec<Labels> {
        let mut out = Vec::new();
        for (l, srcs) in self.collect_sources(matchers, min_t, max_t) {
            let has = srcs.iter().any(|s| match s {
                Src::Block(..) => true,
                Src::Head(h) => {
                    let d = h.data.lock();
                    matches!((d.min_t(), d.max_t()), (Some(a), Some(b)) if a <= max_t && b >= min_t)
                }
            });
            if has {
                out.push(l);
            }
        }
        out
    }
}

fn bg_loop(weak: Weak<Tsdb>, ctl: Arc<BgControl>) {
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

/// Lazily decoding series iterator.
struct SeriesIter {
    inner: std::collections::btree_map::IntoIter<Labels, Vec<Src>>,
    min_t: i64,
    max_t: i64,
}

impl Iterator for SeriesIter {
    type Item = Result<Series, StorageError>;
    fn next(&mut self) -> Option<Self::Item> {
        for (labels, srcs) in self.inner.by_ref() {
            match load_samples(&srcs, self.min_t, self.max_t) {
                Ok(samples) if samples.is_empty() => continue,
                Ok(samples) => return Some(Ok(Series { labels, samples })),
                Err(e) => return Some(Err(e)),
            }
        }
        None
    }
}

impl Querier for Tsdb {
    fn select(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<SeriesSet, StorageError> {
        let map = self.collect_sources(matchers, min_t, max_t);
        Ok(Box::new(SeriesIter {
            inner: map.into_iter(),
            min_t,
            max_t,
        }))
    }

    fn series(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<Labels>, StorageError> {
        Ok(self.matching_labels(matchers, min_t, max_t))
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut out = BTreeSet::new();
        if matchers.is_empty() {
            for b in self
                .blocks
                .read()
                .iter()
                .filter(|b| b.overlaps(min_t, max_t))
            {
                b.with_index(|s, p| p.label_names(s, None, &mut out));
            }
            if self
                .head
                .time_range()
                .is_some_and(|(lo, hi)| lo <= max_t && hi >= min_t)
            {
                self.head
                    .with_index(|s, p| p.label_names(s, None, &mut out));
            }
        } else {
            for l in self.matching_labels(matchers, min_t, max_t) {
                out.extend(l.iter().map(|x| x.name.clone()));
            }
        }
        Ok(out.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut out = BTreeSet::new();
        if matchers.is_empty() {
            for b in self
                .blocks
                .read()
                .iter()
                .filter(|b| b.overlaps(min_t, max_t))
            {
                b.with_index(|s, p| p.label_values(s, name, None, &mut out));
            }
            if self
                .head
                .time_range()
                .is_some_and(|(lo, hi)| lo <= max_t && hi >= min_t)
            {
                self.head
                    .with_index(|s, p| p.label_values(s, name, None, &mut out));
            }
        } else {
            for l in self.matching_labels(matchers, min_t, max_t) {
                if let Some(v) = l.get(name) {
                    out.insert(v.to_string());
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    fn cardinality(&self, limit: usize) -> Result<CardinalityStats, StorageError> {
        let mut c = self.head.with_index(|s, p| p.cardinality(s, limit));
        if let Some((lo, hi)) = self.head.time_range() {
            c.min_time = Some(lo);
            c.max_time = Some(hi);
        }
        Ok(c)
    }
}

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

impl Drop for Tsdb {
    fn drop(&mut self) {
        *self.bg.stop.lock() = true;
        self.bg.cv.notify_all();
    }
}
