//! The database: ties head, WAL and blocks together, implements the `vigia-model` storage
//! traits, and runs maintenance (head cutting, WAL checkpointing, compaction, retention) on a
//! background thread or on demand.
//!
//! This file holds the options, the [`Tsdb`] state and its accessors; the work is split by
//! responsibility: `open` (directory lock, blocks, WAL replay), `append` (head, WAL, backfill),
//! `query` ([`vigia_model::Querier`]), `maintain` (background thread, head cutting, WAL
//! checkpoints), `compact` (block list changes, compaction), `retention` and `admin`
//! ([`vigia_model::StorageAdmin`]: flush, delete, snapshot, stats, close).

mod admin;
mod append;
mod compact;
mod maintain;
mod open;
mod query;
mod retention;

use crate::block::Block;
use crate::head::Head;
use crate::vfs::Vfs;
use crate::wal::Wal;
use parking_lot::{Condvar, Mutex, RwLock};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::thread::JoinHandle;
use vigia_model::{Sample, StorageError};

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

/// Sorts by timestamp and keeps the first of equal timestamps.
fn sort_dedup(v: &mut Vec<Sample>) {
    v.sort_by_key(|s| s.t);
    v.dedup_by_key(|s| s.t);
}

impl Tsdb {
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
}

impl Drop for Tsdb {
    fn drop(&mut self) {
        *self.bg.stop.lock() = true;
        self.bg.cv.notify_all();
    }
}
