//! Write-ahead log: numbered segment files (`wal/00000001`, …) of CRC-protected records
//! (series, samples, tombstones), written with group commit (one write + one fsync serves every
//! caller that queued a record meanwhile), replayed on open with torn-tail truncation, and
//! truncated after the head is persisted by writing a checkpoint (`wal/checkpoint.NNNNNNNN`).
//! The byte layout is documented in `docs/format/wal.md`.

use crate::encoding::{DecodeError, Reader, put_bytes, put_uvarint, put_varint};
use crate::vfs::{Vfs, VfsFile};
use parking_lot::{Condvar, Mutex};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use vigia_model::{Label, Labels, StorageError};

/// Magic bytes opening every segment and checkpoint file.
pub const WAL_MAGIC: [u8; 4] = *b"VWAL";
/// Format version.
pub const WAL_VERSION: u8 = 1;
/// Bytes of the file header (magic, version, 3 reserved).
pub const HEADER_LEN: usize = 8;
/// Record header: type (1) + payload length (4) + CRC32 (4).
pub const RECORD_HEADER_LEN: usize = 9;
/// Largest accepted record payload.
pub const MAX_RECORD: usize = 256 << 20;

/// Record type: series definitions.
pub const REC_SERIES: u8 = 1;
/// Record type: samples.
pub const REC_SAMPLES: u8 = 2;
/// Record type: deletions.
pub const REC_TOMBSTONES: u8 = 3;

/// Upper bounds (seconds) of the fsync latency histogram; a final +Inf bucket follows.
pub const FSYNC_BUCKETS: [f64; 11] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// A decoded WAL record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// Series ids and their labels.
    Series(Vec<(u32, Labels)>),
    /// Samples: (series id, t, v).
    Samples(Vec<(u32, i64, f64)>),
    /// Deleted ranges: (series id, min_t, max_t).
    Tombstones(Vec<(u32, i64, i64)>),
}

fn frame(buf: &mut Vec<u8>, typ: u8, payload: &[u8]) {
    let mut h = crc32fast::Hasher::new();
    h.update(&[typ]);
    h.update(payload);
    buf.push(typ);
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&h.finalize().to_le_bytes());
    buf.extend_from_slice(payload);
}

/// Appends a framed series record.
pub fn encode_series(buf: &mut Vec<u8>, series: &[(u32, &Labels)]) {
    let mut p = Vec::new();
    put_uvarint(&mut p, series.len() as u64);
    for (id, l) in series {
        put_uvarint(&mut p, u64::from(*id));
        put_uvarint(&mut p, l.len() as u64);
        for lb in l.iter() {
            put_bytes(&mut p, lb.name.as_bytes());
            put_bytes(&mut p, lb.value.as_bytes());
        }
    }
    frame(buf, REC_SERIES, &p);
}

/// Appends a framed samples record.
pub fn encode_samples(buf: &mut Vec<u8>, samples: &[(u32, i64, f64)]) {
    let mut p = Vec::with_capacity(samples.len() * 12 + 8);
    put_uvarint(&mut p, samples.len() as u64);
    let base = samples.first().map(|s| s.1).unwrap_or(0);
    put_varint(&mut p, base);
    for (id, t, v) in samples {
        put_uvarint(&mut p, u64::from(*id));
        put_varint(&mut p, t.wrapping_sub(base));
        p.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    frame(buf, REC_SAMPLES, &p);
}

/// Appends a framed tombstones record.
pub fn encode_tombstones(buf: &mut Vec<u8>, ts: &[(u32, i64, i64)]) {
    let mut p = Vec::new();
    put_uvarint(&mut p, ts.len() as u64);
    for (id, a, b) in ts {
        put_uvarint(&mut p, u64::from(*id));
        put_varint(&mut p, *a);
        put_varint(&mut p, *b);
    }
    frame(buf, REC_TOMBSTONES, &p);
}

fn id32(r: &mut Reader<'_>) -> Result<u32, DecodeError> {
    let pos = r.pos();
    u32::try_from(r.uvarint()?).map_err(|_| DecodeError {
        offset: pos,
        what: "series id exceeds u32",
    })
}

fn decode_payload(typ: u8, p: &[u8]) -> Result<Record, DecodeError> {
    let mut r = Reader::new(p);
    let n = r.len(p.len())?;
    let rec = match typ {
        REC_SERIES => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let id = id32(&mut r)?;
                let nl = r.len(r.remaining())?;
                let mut ls = Vec::with_capacity(nl);
                for _ in 0..nl {
                    let name = r.str()?.to_string();
                    let value = r.str()?.to_string();
                    ls.push(Label { name, value });
                }
                let labels = Labels::from_sorted(ls).ok_or(DecodeError {
                    offset: r.pos(),
                    what: "labels not sorted",
                })?;
                v.push((id, labels));
            }
            Record::Series(v)
        }
        REC_SAMPLES => {
            let base = r.varint()?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let id = id32(&mut r)?;
                let t = base.wrapping_add(r.varint()?);
                let bits = r.u64()?;
                v.push((id, t, f64::from_bits(bits)));
            }
            Record::Samples(v)
        }
        REC_TOMBSTONES => {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let id = id32(&mut r)?;
                v.push((id, r.varint()?, r.varint()?));
            }
            Record::Tombstones(v)
        }
        _ => {
            return Err(DecodeError {
                offset: 0,
                what: "unknown record type",
            });
        }
    };
    if r.remaining() != 0 {
        return Err(DecodeError {
            offset: r.pos(),
            what: "trailing bytes in record",
        });
    }
    Ok(rec)
}

/// Decodes the records of one segment file. Returns the records and, when the data ends in a
/// torn or corrupt record, the offset of the last valid byte boundary and the reason.
pub fn decode_file(buf: &[u8]) -> (Vec<Record>, Option<(usize, String)>) {
    let mut out = Vec::new();
    if buf.len() < HEADER_LEN
        || buf.get(0..4) != Some(&WAL_MAGIC[..])
        || buf.get(4) != Some(&WAL_VERSION)
    {
        return (out, Some((0, "bad or missing segment header".into())));
    }
    let mut off = HEADER_LEN;
    while off < buf.len() {
        let mut r = Reader::new(buf.get(off..).unwrap_or(&[]));
        let head = (|| -> Result<(u8, usize, u32), DecodeError> {
            Ok((r.u8()?, r.u32()? as usize, r.u32()?))
        })();
        let Ok((typ, len, crc)) = head else {
            return (out, Some((off, "torn record header".into())));
        };
        if len > MAX_RECORD {
            return (out, Some((off, format!("record length {len} too large"))));
        }
        let Ok(payload) = r.bytes(len) else {
            return (out, Some((off, "torn record payload".into())));
        };
        let mut h = crc32fast::Hasher::new();
        h.update(&[typ]);
        h.update(payload);
        if h.finalize() != crc {
            return (out, Some((off, "CRC mismatch".into())));
        }
        match decode_payload(typ, payload) {
            Ok(rec) => out.push(rec),
            Err(e) => return (out, Some((off, e.to_string()))),
        }
        off += RECORD_HEADER_LEN + len;
    }
    (out, None)
}

fn header() -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(&WAL_MAGIC);
    h.push(WAL_VERSION);
    h.extend_from_slice(&[0, 0, 0]);
    h
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Segment file name for an index.
pub fn segment_name(i: u32) -> String {
    format!("{i:08}")
}

fn parse_segment(name: &str) -> Option<u32> {
    (name.len() == 8 && name.bytes().all(|b| b.is_ascii_digit()))
        .then(|| name.parse().ok())
        .flatten()
}

fn parse_checkpoint(name: &str) -> Option<u32> {
    name.strip_prefix("checkpoint.").and_then(parse_segment)
}

struct Writer {
    f: Box<dyn VfsFile>,
    index: u32,
    size: u64,
}

#[derive(Default)]
struct GroupState {
    pending: Vec<u8>,
    next_seq: u64,
    synced_seq: u64,
    leader: bool,
    failed: Option<String>,
    closed: bool,
}

/// Fsync statistics.
#[derive(Debug, Clone, Default)]
pub struct FsyncStats {
    /// Number of fsyncs.
    pub count: u64,
    /// Per-bucket (non-cumulative) counts; last is +Inf.
    pub buckets: [u64; 12],
    /// Total seconds.
    pub sum: f64,
}

/// The write-ahead log.
pub struct Wal {
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    segment_bytes: u64,
    state: Mutex<GroupState>,
    cv: Condvar,
    writer: Mutex<Writer>,
    stats: Mutex<FsyncStats>,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal").field("dir", &self.dir).finish()
    }
}

/// What replay found.
#[derive(Debug, Default)]
pub struct ReplayInfo {
    /// Records in order (checkpoint first).
    pub records: Vec<Record>,
    /// Highest segment index seen.
    pub last_segment: u32,
}

/// Reads the checkpoint and the segments after it, truncating a torn or corrupt tail (and
/// dropping any later segment) with a warning.
pub fn replay(vfs: &dyn Vfs, dir: &Path) -> Result<ReplayInfo, StorageError> {
    let mut records = Vec::new();
    let mut info = replay_with(vfs, dir, &mut |r| records.push(r))?;
    info.records = records;
    Ok(info)
}

/// Like [`replay`] but hands each record to `f` as soon as its file is decoded, so the whole
/// log is never held in memory at once (`ReplayInfo::records` stays empty).
pub fn replay_with(
    vfs: &dyn Vfs,
    dir: &Path,
    f: &mut dyn FnMut(Record),
) -> Result<ReplayInfo, StorageError> {
    vfs.create_dir_all(dir).map_err(io_err(dir))?;
    let names = vfs.read_dir(dir).map_err(io_err(dir))?;
    let mut info = ReplayInfo::default();
    let mut checkpoint: Option<u32> = None;
    for n in &names {
        if n.ends_with(".tmp") {
            let p = dir.join(n);
            let _ = vfs.remove_file(&p);
            continue;
        }
        if let Some(c) = parse_checkpoint(n) {
            checkpoint = checkpoint.max(Some(c));
        }
    }
    if let Some(c) = checkpoint {
        let p = dir.join(format!("checkpoint.{}", segment_name(c)));
        let buf = vfs.read(&p).map_err(io_err(&p))?;
        let (recs, err) = decode_file(&buf);
        if let Some((off, why)) = err {
            tracing::warn!(path = %p.display(), offset = off, reason = %why, "WAL checkpoint damaged; using the records before the damage");
        }
        recs.into_iter().for_each(&mut *f);
        info.last_segment = c;
    }
    let mut segs: Vec<u32> = names.iter().filter_map(|n| parse_segment(n)).collect();
    segs.sort_unstable();
    let mut stop = false;
    for s in segs {
        let p = dir.join(segment_name(s));
        if stop || checkpoint.is_some_and(|c| s <= c) {
            if stop {
                tracing::warn!(path = %p.display(), "removing WAL segment after a corrupt one");
            }
            vfs.remove_file(&p).map_err(io_err(&p))?;
            continue;
        }
        info.last_segment = info.last_segment.max(s);
        let buf = vfs.read(&p).map_err(io_err(&p))?;
        let (recs, err) = decode_file(&buf);
        recs.into_iter().for_each(&mut *f);
        if let Some((off, why)) = err {
            tracing::warn!(path = %p.display(), offset = off, size = buf.len(), reason = %why, "WAL tail torn or corrupt; truncating");
            if off < HEADER_LEN {
                vfs.remove_file(&p).map_err(io_err(&p))?;
            } else {
                vfs.truncate(&p, off as u64).map_err(io_err(&p))?;
            }
            stop = true;
        }
    }
    vfs.sync_dir(dir).map_err(io_err(dir))?;
    Ok(info)
}

impl Wal {
    /// Opens the WAL for writing, starting a fresh segment after `last_segment`.
    pub fn open(
        vfs: Arc<dyn Vfs>,
        dir: &Path,
        segment_bytes: u64,
        last_segment: u32,
    ) -> Result<Self, StorageError> {
        crate::vfs::create_dir_durable(&*vfs, dir).map_err(io_err(dir))?;
        let w = Self::new_segment(&*vfs, dir, last_segment.saturating_add(1))?;
        Ok(Self {
            vfs,
            dir: dir.to_path_buf(),
            segment_bytes: segment_bytes.max(4096),
            state: Mutex::new(GroupState::default()),
            cv: Condvar::new(),
            writer: Mutex::new(w),
            stats: Mutex::new(FsyncStats::default()),
        })
    }

    fn new_segment(vfs: &dyn Vfs, dir: &Path, index: u32) -> Result<Writer, StorageError> {
        let p = dir.join(segment_name(index));
        let mut f = vfs.create(&p).map_err(io_err(&p))?;
        f.write_all(&header()).map_err(io_err(&p))?;
        f.sync_data().map_err(io_err(&p))?;
        vfs.sync_dir(dir).map_err(io_err(dir))?;
        Ok(Writer {
            f,
            index,
            size: HEADER_LEN as u64,
        })
    }

    /// Queues framed records; returns the sequence number to [`Wal::wait`] for.
    pub fn log(&self, records: &[u8]) -> Result<u64, StorageError> {
        let mut st = self.state.lock();
        if st.closed {
            return Err(StorageError::Closed);
        }
        if let Some(e) = &st.failed {
            return Err(StorageError::Other(format!("WAL failed earlier: {e}")));
        }
        st.pending.extend_from_slice(records);
        st.next_seq += 1;
        Ok(st.next_seq)
    }

    /// The latest queued sequence number.
    pub fn last_seq(&self) -> u64 {
        self.state.lock().next_seq
    }

    /// Blocks until everything queued up to `seq` is fsynced. The first waiter becomes the
    /// group leader and writes + fsyncs the whole pending buffer for everyone.
    pub fn wait(&self, seq: u64) -> Result<(), StorageError> {
        let mut st = self.state.lock();
        loop {
            if st.synced_seq >= seq {
                return Ok(());
            }
            if let Some(e) = &st.failed {
                return Err(StorageError::Other(format!("WAL write failed: {e}")));
            }
            if st.leader {
                self.cv.wait(&mut st);
                continue;
            }
            st.leader = true;
            let buf = std::mem::take(&mut st.pending);
            let upto = st.next_seq;
            drop(st);
            let res = self.write_group(&buf, false);
            st = self.state.lock();
            st.leader = false;
            match res {
                Ok(_) => st.synced_seq = upto,
                Err(e) => {
                    tracing::error!(error = %e, "WAL write failed; refusing further writes");
                    st.failed = Some(e.to_string());
                }
            }
            self.cv.notify_all();
        }
    }

    /// Queues and waits.
    pub fn commit(&self, records: &[u8]) -> Result<(), StorageError> {
        let s = self.log(records)?;
        self.wait(s)
    }

    fn write_group(&self, buf: &[u8], cut: bool) -> Result<u32, StorageError> {
        let mut w = self.writer.lock();
        if !buf.is_empty() {
            if w.size + buf.len() as u64 > self.segment_bytes && w.size > HEADER_LEN as u64 {
                let next = w.index.saturating_add(1);
                *w = Self::new_segment(&*self.vfs, &self.dir, next)?;
            }
            let p = self.dir.join(segment_name(w.index));
            w.f.write_all(buf).map_err(io_err(&p))?;
            let t0 = Instant::now();
            w.f.sync_data().map_err(io_err(&p))?;
            self.observe_fsync(t0.elapsed().as_secs_f64());
            w.size += buf.len() as u64;
        }
        let old = w.index;
        if cut {
            *w = Self::new_segment(&*self.vfs, &self.dir, old.saturating_add(1))?;
        }
        Ok(old)
    }

    fn observe_fsync(&self, secs: f64) {
        let mut s = self.stats.lock();
        s.count += 1;
        s.sum += secs;
        let i = FSYNC_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(FSYNC_BUCKETS.len());
        if let Some(b) = s.buckets.get_mut(i) {
            *b += 1;
        }
    }

    /// Fsync statistics so far.
    pub fn fsync_stats(&self) -> FsyncStats {
        self.stats.lock().clone()
    }

    /// Flushes everything queued into the current segment and starts a new one. Returns the
    /// index of the last segment holding records queued before this call.
    pub fn cut(&self) -> Result<u32, StorageError> {
        let mut st = self.state.lock();
        while st.leader {
            self.cv.wait(&mut st);
        }
        if let Some(e) = &st.failed {
            return Err(StorageError::Other(format!("WAL write failed: {e}")));
        }
        st.leader = true;
        let buf = std::mem::take(&mut st.pending);
        let upto = st.next_seq;
        drop(st);
        let res = self.write_group(&buf, true);
        let mut st = self.state.lock();
        st.leader = false;
        match &res {
            Ok(_) => st.synced_seq = upto,
            Err(e) => st.failed = Some(e.to_string()),
        }
        self.cv.notify_all();
        res
    }

    /// Writes `body` (framed records) as checkpoint `n`, then deletes segments `<= n` and older
    /// checkpoints. The checkpoint must hold everything of segments `<= n` still needed.
    pub fn checkpoint(&self, n: u32, body: &[u8]) -> Result<(), StorageError> {
        let name = format!("checkpoint.{}", segment_name(n));
        let tmp = self.dir.join(format!("{name}.tmp"));
        let fin = self.dir.join(&name);
        let mut f = self.vfs.create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(&header()).map_err(io_err(&tmp))?;
        f.write_all(body).map_err(io_err(&tmp))?;
        f.sync_data().map_err(io_err(&tmp))?;
        drop(f);
        self.vfs.rename(&tmp, &fin).map_err(io_err(&fin))?;
        self.vfs.sync_dir(&self.dir).map_err(io_err(&self.dir))?;
        for e in self.vfs.read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let old_seg = parse_segment(&e).is_some_and(|s| s <= n);
            let old_cp = parse_checkpoint(&e).is_some_and(|c| c < n);
            if old_seg || old_cp {
                let p = self.dir.join(&e);
                self.vfs.remove_file(&p).map_err(io_err(&p))?;
            }
        }
        self.vfs.sync_dir(&self.dir).map_err(io_err(&self.dir))?;
        Ok(())
    }

    /// Total bytes of WAL files.
    pub fn size_bytes(&self) -> u64 {
        let Ok(names) = self.vfs.read_dir(&self.dir) else {
            return 0;
        };
        names
            .iter()
            .filter_map(|n| self.vfs.file_len(&self.dir.join(n)).ok())
            .sum()
    }

    /// Refuses further writes after flushing what is queued.
    pub fn close(&self) -> Result<(), StorageError> {
        let seq = self.last_seq();
        let r = self.wait(seq);
        self.state.lock().closed = true;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::{RealFs, SimFs};

    fn labels(n: &str) -> Labels {
        Labels::from_pairs([("__name__", n)])
    }

    #[test]
    fn records_roundtrip() {
        let mut b = header();
        let l = labels("up");
        encode_series(&mut b, &[(1, &l)]);
        let s = vec![
            (1, 1000, vigia_model::stale_nan()),
            (1, 999, -0.0),
            (7, i64::MIN, f64::INFINITY),
        ];
        encode_samples(&mut b, &s);
        encode_tombstones(&mut b, &[(1, 5, 6)]);
        let (recs, err) = decode_file(&b);
        assert!(err.is_none());
        assert_eq!(recs.len(), 3);
        assert_eq!(recs[0], Record::Series(vec![(1, l)]));
        let Record::Samples(got) = &recs[1] else {
            panic!()
        };
        for (a, b) in got.iter().zip(&s) {
            assert_eq!((a.0, a.1, a.2.to_bits()), (b.0, b.1, b.2.to_bits()));
        }
    }

    #[test]
    fn torn_tail_is_truncated_and_prefix_kept() {
        let dir = tempfile::tempdir().unwrap();
        let fs: Arc<dyn Vfs> = Arc::new(RealFs);
        let w = Wal::open(fs.clone(), dir.path(), 1 << 20, 0).unwrap();
        for i in 0..10 {
            let mut b = Vec::new();
            encode_samples(&mut b, &[(1, i, i as f64)]);
            w.commit(&b).unwrap();
        }
        drop(w);
        let seg = dir.path().join(segment_name(1));
        let len = std::fs::metadata(&seg).unwrap().len();
        // tear the last record in half, then append garbage to a copy to test CRC
        let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
        f.set_len(len - 5).unwrap();
        let info = replay(&*fs, dir.path()).unwrap();
        assert_eq!(info.records.len(), 9);
        let new_len = std::fs::metadata(&seg).unwrap().len();
        assert!(new_len < len - 5);
        // a flipped byte in the middle: everything before it survives, later segment removed
        let mut data = std::fs::read(&seg).unwrap();
        let mid = data.len() / 2;
        data[mid] ^= 0xff;
        std::fs::write(&seg, &data).unwrap();
        std::fs::write(dir.path().join(segment_name(2)), header()).unwrap();
        let info = replay(&*fs, dir.path()).unwrap();
        assert!(info.records.len() < 9 && !info.records.is_empty());
        assert!(!dir.path().join(segment_name(2)).exists());
    }

    #[test]
    fn group_commit_many_threads_and_checkpoint() {
        let fs = SimFs::new();
        let vfs: Arc<dyn Vfs> = Arc::new(fs.clone());
        let dir = Path::new("/data/wal");
        let w = Arc::new(Wal::open(vfs.clone(), dir, 4096, 0).unwrap());
        let mut hs = Vec::new();
        for th in 0..4u32 {
            let w = w.clone();
            hs.push(std::thread::spawn(move || {
                for i in 0..200i64 {
                    let mut b = Vec::new();
                    encode_samples(&mut b, &[(th, i, 1.0)]);
                    w.commit(&b).unwrap();
                }
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
        assert!(w.fsync_stats().count <= 800);
        let crashed = fs.crash();
        let info = replay(&crashed, dir).unwrap();
        let n: usize = info
            .records
            .iter()
            .map(|r| {
                if let Record::Samples(s) = r {
                    s.len()
                } else {
                    0
                }
            })
            .sum();
        assert_eq!(n, 800);
        assert!(info.last_segment > 1, "segments rotate");
        let last = w.cut().unwrap();
        let mut body = Vec::new();
        encode_samples(&mut body, &[(9, 1, 2.0)]);
        w.checkpoint(last, &body).unwrap();
        let info = replay(&fs.crash(), dir).unwrap();
        assert_eq!(info.records.len(), 1);
    }
}
