//! Opening the database: the directory lock, loading (or setting aside) blocks, WAL replay
//! into the head, and starting the background maintenance thread.

use super::{BgControl, Tsdb, TsdbOptions, io_err, maintain::bg_loop};
use crate::block::Block;
use crate::head::{Head, HeadSeries};
use crate::vfs::{RealFs, Vfs, create_dir_durable};
use crate::wal::{self, Record, Wal};
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64};
use vigia_model::{Labels, Sample, StorageError};

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
        let blocks = load_blocks(&*vfs, dir)?;
        let cut = blocks
            .iter()
            .map(|b| b.meta.max_time)
            .max()
            .unwrap_or(i64::MIN);

        let head = Head::new(opts.max_series);
        let wal_dir = dir.join("wal");
        let last_segment = replay_wal(&*vfs, &wal_dir, &head, blocks.len())?;
        let wal = Wal::open(vfs.clone(), &wal_dir, opts.wal_segment_bytes, last_segment)?;
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
            start_background(&db)?;
        }
        Ok(db)
    }
}

/// Opens the blocks of `dir`, oldest first: leftover temporary directories are removed and
/// damaged blocks moved aside to `corrupted/`.
fn load_blocks(vfs: &dyn Vfs, dir: &Path) -> Result<Vec<Arc<Block>>, StorageError> {
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
        match Block::open(vfs, &p) {
            Ok(b) => blocks.push(Arc::new(b)),
            Err(e) => {
                let cdir = dir.join("corrupted");
                tracing::warn!(block = %p.display(), error = %e, "corrupt block moved aside to corrupted/");
                create_dir_durable(vfs, &cdir).map_err(io_err(&cdir))?;
                let to = cdir.join(&name);
                vfs.rename(&p, &to).map_err(io_err(&to))?;
                vfs.sync_dir(&cdir).map_err(io_err(&cdir))?;
                vfs.sync_dir(dir).map_err(io_err(dir))?;
            }
        }
    }
    vfs.sync_dir(dir).map_err(io_err(dir))?;
    blocks.sort_by(|a, b| (a.meta.min_time, &a.meta.ulid).cmp(&(b.meta.min_time, &b.meta.ulid)));
    Ok(blocks)
}

/// Replays the WAL in `wal_dir` into `head` (logging what was restored next to the number of
/// `blocks`); returns the last WAL segment.
fn replay_wal(
    vfs: &dyn Vfs,
    wal_dir: &Path,
    head: &Head,
    blocks: usize,
) -> Result<u32, StorageError> {
    let mut replay = Replay {
        head,
        aliases: HashMap::new(),
        replayed: 0,
        unknown: 0,
    };
    let info = wal::replay_with(vfs, wal_dir, &mut |rec| replay.apply(rec))?;
    if replay.unknown > 0 {
        tracing::warn!(
            samples = replay.unknown,
            "WAL samples referencing unknown series were skipped"
        );
    }
    head.recompute_time_range();
    tracing::info!(
        series = head.num_series(),
        samples = replay.replayed,
        blocks,
        "TSDB opened"
    );
    Ok(info.last_segment)
}

/// WAL replay into the head.
struct Replay<'a> {
    head: &'a Head,
    /// WAL ids of series re-created under a new id → the head series holding those labels
    aliases: HashMap<u32, u32>,
    /// Samples restored.
    replayed: u64,
    /// Samples skipped because their series is unknown.
    unknown: u64,
}

impl Replay<'_> {
    fn apply(&mut self, rec: Record) {
        match rec {
            Record::Series(v) => self.series(&v),
            Record::Samples(v) => self.samples(v),
            Record::Tombstones(v) => self.tombstones(v),
        }
    }

    fn series(&mut self, v: &[(u32, Labels)]) {
        for (id, l) in v {
            let s = self.head.create_with_id(*id, l);
            if s.id != *id {
                self.aliases.insert(*id, s.id);
            }
        }
    }

    fn samples(&mut self, v: Vec<(u32, i64, f64)>) {
        let mut last: Option<Arc<HeadSeries>> = None;
        for (id, t, val) in v {
            let id = self.aliases.get(&id).copied().unwrap_or(id);
            let s = match &last {
                Some(s) if s.id == id => Some(s.clone()),
                _ => self.head.by_id(id),
            };
            match s {
                Some(s) => {
                    s.data.lock().insert_any(t, val);
                    self.head.observe_time(t);
                    self.replayed += 1;
                    last = Some(s);
                }
                None => self.unknown += 1,
            }
        }
    }

    fn tombstones(&mut self, v: Vec<(u32, i64, i64)>) {
        for (id, a, b) in v {
            let id = self.aliases.get(&id).copied().unwrap_or(id);
            if let Some(s) = self.head.by_id(id) {
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
}

/// Starts the maintenance thread of `db` (it holds only a weak reference).
fn start_background(db: &Arc<Tsdb>) -> Result<(), StorageError> {
    let weak = Arc::downgrade(db);
    let ctl = db.bg.clone();
    let h = std::thread::Builder::new()
        .name("tsdb-maintenance".into())
        .spawn(move || bg_loop(weak, ctl))
        .map_err(|e| StorageError::Other(format!("spawning maintenance thread: {e}")))?;
    *db.bg_handle.lock() = Some(h);
    Ok(())
}
