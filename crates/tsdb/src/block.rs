//! Persistent blocks: immutable directories holding `meta.json`, `chunks` (per-series pco
//! compressed timestamps and values, each chunk CRC-protected) and `index` (symbols, series with
//! chunk references, postings; one CRC per section). Written to a temporary directory, fsynced
//! and renamed into place. Byte layouts: `docs/format/block.md`.
//!
//! This file holds the format constants, the metadata and reading a block; the chunk payload
//! codecs are in `chunk`, the writer in `write`.

mod chunk;
mod write;

pub use chunk::{ChunkError, decode_chunk, decode_chunk_ts, encode_chunk, encode_chunk_shared};
pub use write::write_block;

use crate::encoding::{DecodeError, Reader};
use crate::postings::{Postings, Symbols};
use crate::vfs::{Vfs, VfsReader};
use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use vigia_model::{Labels, Matcher, Sample, StorageError};

/// Magic of the chunks file.
pub const CHUNKS_MAGIC: [u8; 4] = *b"VCHK";
/// Magic of the index file.
pub const INDEX_MAGIC: [u8; 4] = *b"VIDX";
/// Version of both files.
pub const FORMAT_VERSION: u8 = 1;
/// Chunk encoding: pco timestamps + pco values.
pub const ENC_PCO: u8 = 1;
/// Chunk encoding: pco values only; the timestamps are those of an earlier `ENC_PCO` chunk of the
/// same file whose timestamp column is identical (series scraped together share timestamps).
pub const ENC_PCO_SHARED_TS: u8 = 2;
/// Chunk encoding: shared timestamps (as [`ENC_PCO_SHARED_TS`]) and one value repeated for
/// every sample (constant series: info metrics, sizes, idle counters).
pub const ENC_CONST_SHARED_TS: u8 = 3;
/// Distinct timestamp columns remembered for sharing while writing one block.
const MAX_SHARED_TS: usize = 65_536;
/// Total timestamps remembered for sharing while writing one block (bounds writer memory).
const MAX_SHARED_TS_SAMPLES: usize = 4 << 20;
/// Largest number of samples in one chunk.
pub const MAX_CHUNK_SAMPLES: usize = 16384;
/// Size of the index table of contents at the end of the file.
const TOC_LEN: usize = 3 * 8 + 4;

/// Sample statistics of a block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockStats {
    /// Samples.
    pub num_samples: u64,
    /// Series.
    pub num_series: u64,
    /// Chunks.
    pub num_chunks: u64,
}

/// Compaction lineage of a block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockCompaction {
    /// 1 for blocks cut from the head or backfilled, +1 per compaction.
    pub level: u32,
    /// Ids of the level-1 blocks merged into this one.
    pub sources: Vec<String>,
}

/// `meta.json` of a block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockMeta {
    /// Block id (26-character ULID, lexicographically ordered by creation time).
    pub ulid: String,
    /// Smallest timestamp (inclusive, ms).
    pub min_time: i64,
    /// Largest timestamp + 1 (exclusive, ms), as in Prometheus.
    pub max_time: i64,
    /// Statistics.
    pub stats: BlockStats,
    /// Lineage.
    pub compaction: BlockCompaction,
    /// Format version.
    pub version: u32,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn corrupt(path: &Path, reason: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// A new ULID-like id: 48-bit millisecond time + 80 bits of per-process randomness, Crockford
/// base32, so ids sort by creation time.
pub fn new_ulid() -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(ms);
    let r1 = h.finish();
    h.write_u64(r1);
    let r2 = h.finish();
    let rand: u128 = (u128::from(r1) << 16) ^ u128::from(r2 & 0xffff);
    let v: u128 = ((ms & 0xffff_ffff_ffff) << 80) | (rand & ((1u128 << 80) - 1));
    const ALPHA: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    (0..26)
        .rev()
        .map(|i| ALPHA[((v >> (i * 5)) & 31) as usize] as char)
        .collect()
}

/// Reference to one chunk of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    /// First timestamp.
    pub min_t: i64,
    /// Last timestamp (inclusive).
    pub max_t: i64,
    /// Samples.
    pub count: u32,
    /// Offset of the chunk frame in `chunks`.
    pub off: u64,
    /// Length of the frame.
    pub len: u32,
}

#[derive(Debug)]
struct BlockSeries {
    pairs: Box<[u32]>,
    chunks: Vec<ChunkMeta>,
}

/// An open, immutable block.
pub struct Block {
    /// Directory.
    pub dir: PathBuf,
    /// Metadata.
    pub meta: BlockMeta,
    syms: Symbols,
    postings: Postings,
    series: Vec<BlockSeries>,
    chunks: Arc<dyn VfsReader>,
    /// Bytes on disk.
    pub size_bytes: u64,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("dir", &self.dir)
            .field("meta", &self.meta)
            .finish()
    }
}

fn read_section<'a>(
    buf: &'a [u8],
    off: u64,
    path: &Path,
    what: &str,
) -> Result<&'a [u8], StorageError> {
    let off = usize::try_from(off).map_err(|_| corrupt(path, format!("{what}: bad offset")))?;
    let mut r = Reader::new(
        buf.get(off..)
            .ok_or_else(|| corrupt(path, format!("{what}: offset past end")))?,
    );
    let len = r.u32().map_err(|e| corrupt(path, format!("{what}: {e}")))? as usize;
    let body = r
        .bytes(len)
        .map_err(|e| corrupt(path, format!("{what}: {e}")))?;
    let crc = r.u32().map_err(|e| corrupt(path, format!("{what}: {e}")))?;
    if crc32fast::hash(body) != crc {
        return Err(corrupt(path, format!("{what}: CRC mismatch")));
    }
    Ok(body)
}

/// Reads the index file `buf` (at `ip`): checks its header and table of contents, then reads
/// the symbol, series and postings sections.
fn read_index(
    buf: &[u8],
    ip: &Path,
) -> Result<(Symbols, Vec<BlockSeries>, Postings), StorageError> {
    if buf.get(0..4) != Some(&INDEX_MAGIC[..]) || buf.get(4) != Some(&FORMAT_VERSION) {
        return Err(corrupt(ip, "bad index header"));
    }
    let toc_start = buf
        .len()
        .checked_sub(TOC_LEN)
        .ok_or_else(|| corrupt(ip, "index too short"))?;
    let mut r = Reader::new(buf.get(toc_start..).unwrap_or(&[]));
    let de = |e: DecodeError| corrupt(ip, e);
    let (so, se, po) = (
        r.u64().map_err(de)?,
        r.u64().map_err(de)?,
        r.u64().map_err(de)?,
    );
    let crc = r.u32().map_err(de)?;
    if crc32fast::hash(buf.get(toc_start..toc_start + 24).unwrap_or(&[])) != crc {
        return Err(corrupt(ip, "TOC CRC mismatch"));
    }
    let syms = read_symbols(read_section(buf, so, ip, "symbols")?, ip)?;
    let n = syms.len();
    let series = read_series(read_section(buf, se, ip, "series")?, ip, n)?;
    let postings = read_postings(read_section(buf, po, ip, "postings")?, ip, n, series.len())?;
    Ok((syms, series, postings))
}

/// The symbol id `v`, checked against the `n` symbols of the index at `ip`.
fn symbol_id(v: u64, n: usize, ip: &Path) -> Result<u32, StorageError> {
    u32::try_from(v)
        .ok()
        .filter(|x| (*x as usize) < n)
        .ok_or_else(|| corrupt(ip, "symbol id out of range"))
}

/// The symbol table from the symbols section `body` (ids are positions; no duplicates).
fn read_symbols(body: &[u8], ip: &Path) -> Result<Symbols, StorageError> {
    let de = |e: DecodeError| corrupt(ip, e);
    let mut syms = Symbols::default();
    let mut r = Reader::new(body);
    let n = r.len(body.len()).map_err(de)?;
    for i in 0..n {
        let s = r.str().map_err(de)?;
        if syms.intern(s) as usize != i {
            return Err(corrupt(ip, "duplicate symbol"));
        }
    }
    Ok(syms)
}

/// The series (label symbol pairs and chunk references) of the series section `body`, whose
/// symbol ids must be below `n`.
fn read_series(body: &[u8], ip: &Path, n: usize) -> Result<Vec<BlockSeries>, StorageError> {
    let de = |e: DecodeError| corrupt(ip, e);
    let mut r = Reader::new(body);
    let ns = r.len(body.len()).map_err(de)?;
    let mut series = Vec::with_capacity(ns);
    for _ in 0..ns {
        let nl = r.len(r.remaining()).map_err(de)?;
        let mut pairs = Vec::with_capacity(nl * 2);
        for _ in 0..nl * 2 {
            pairs.push(symbol_id(r.uvarint().map_err(de)?, n, ip)?);
        }
        let nc = r.len(r.remaining()).map_err(de)?;
        let mut chunks = Vec::with_capacity(nc);
        for _ in 0..nc {
            let min_t = r.varint().map_err(de)?;
            let max_t = r.varint().map_err(de)?;
            let count =
                u32::try_from(r.uvarint().map_err(de)?).map_err(|_| corrupt(ip, "chunk count"))?;
            let off = r.uvarint().map_err(de)?;
            let len =
                u32::try_from(r.uvarint().map_err(de)?).map_err(|_| corrupt(ip, "chunk len"))?;
            chunks.push(ChunkMeta {
                min_t,
                max_t,
                count,
                off,
                len,
            });
        }
        series.push(BlockSeries {
            pairs: pairs.into_boxed_slice(),
            chunks,
        });
    }
    Ok(series)
}

/// The postings of the postings section `body`, whose symbol ids must be below `n` and
/// series ids below `ns`.
fn read_postings(body: &[u8], ip: &Path, n: usize, ns: usize) -> Result<Postings, StorageError> {
    let de = |e: DecodeError| corrupt(ip, e);
    let mut r = Reader::new(body);
    let np = r.len(body.len()).map_err(de)?;
    let mut postings = Postings::default();
    for _ in 0..np {
        let (nm, v) = (
            symbol_id(r.uvarint().map_err(de)?, n, ip)?,
            symbol_id(r.uvarint().map_err(de)?, n, ip)?,
        );
        let cnt = r.len(r.remaining()).map_err(de)?;
        let mut id = 0u64;
        for _ in 0..cnt {
            id += r.uvarint().map_err(de)?;
            let id32 = u32::try_from(id)
                .ok()
                .filter(|x| (*x as usize) < ns)
                .ok_or_else(|| corrupt(ip, "posting out of range"))?;
            postings.add(id32, &[nm, v]);
        }
    }
    Ok(postings)
}

impl Block {
    /// Opens a block directory, validating the index CRCs and the chunks header.
    pub fn open(vfs: &dyn Vfs, dir: &Path) -> Result<Block, StorageError> {
        let mp = dir.join("meta.json");
        let meta: BlockMeta = serde_json::from_slice(&vfs.read(&mp).map_err(io_err(&mp))?)
            .map_err(|e| corrupt(&mp, e))?;
        let ip = dir.join("index");
        let buf = vfs.read(&ip).map_err(io_err(&ip))?;
        let (syms, series, postings) = read_index(&buf, &ip)?;
        let cp = dir.join("chunks");
        let chunks = vfs.open_read(&cp).map_err(io_err(&cp))?;
        let head = chunks.read_at(0, 8).map_err(io_err(&cp))?;
        if head.get(0..4) != Some(&CHUNKS_MAGIC[..]) || head.get(4) != Some(&FORMAT_VERSION) {
            return Err(corrupt(&cp, "bad chunks header"));
        }
        for s in &series {
            for c in &s.chunks {
                if c.off.saturating_add(u64::from(c.len)) > chunks.len() {
                    return Err(corrupt(&cp, "chunk reference past end of file"));
                }
            }
        }
        let size_bytes = chunks.len() + buf.len() as u64 + vfs.file_len(&mp).unwrap_or(0);
        Ok(Block {
            dir: dir.to_path_buf(),
            meta,
            syms,
            postings,
            series,
            chunks,
            size_bytes,
        })
    }

    /// Number of series.
    pub fn num_series(&self) -> usize {
        self.series.len()
    }

    /// True when the block has data overlapping `[min_t, max_t]`.
    pub fn overlaps(&self, min_t: i64, max_t: i64) -> bool {
        self.meta.min_time <= max_t && self.meta.max_time > min_t
    }

    /// Ids (ascending = sorted by labels) of series matching the matchers.
    pub fn select_ids(&self, matchers: &[Matcher]) -> RoaringBitmap {
        self.postings.select(&self.syms, matchers)
    }

    /// Labels of series `id`.
    pub fn labels(&self, id: u32) -> Labels {
        self.series
            .get(id as usize)
            .map(|s| self.syms.labels(&s.pairs))
            .unwrap_or_default()
    }

    /// True when series `id` has a chunk overlapping the range.
    pub fn series_overlaps(&self, id: u32, min_t: i64, max_t: i64) -> bool {
        self.series.get(id as usize).is_some_and(|s| {
            s.chunks
                .iter()
                .any(|c| c.max_t >= min_t && c.min_t <= max_t)
        })
    }

    /// Samples of series `id` within `[min_t, max_t]`, reading and CRC-checking its chunks.
    pub fn samples(&self, id: u32, min_t: i64, max_t: i64) -> Result<Vec<Sample>, StorageError> {
        let Some(s) = self.series.get(id as usize) else {
            return Ok(Vec::new());
        };
        let cp = self.dir.join("chunks");
        let mut out = Vec::new();
        for c in &s.chunks {
            if c.max_t < min_t || c.min_t > max_t {
                continue;
            }
            let body = self.read_frame(c.off, Some(c.len))?;
            let samples = match body.split_first() {
                Some((&ENC_PCO, payload)) => decode_chunk(payload).map_err(|e| corrupt(&cp, e))?,
                Some((&enc @ (ENC_PCO_SHARED_TS | ENC_CONST_SHARED_TS), payload)) => {
                    let mut r = Reader::new(payload);
                    let n = r.uvarint().map_err(|e| corrupt(&cp, e))?;
                    let ts_ref = r.uvarint().map_err(|e| corrupt(&cp, e))?;
                    if ts_ref >= c.off {
                        return Err(corrupt(
                            &cp,
                            "shared timestamps must reference an earlier chunk",
                        ));
                    }
                    let vs: Vec<f64> = if enc == ENC_CONST_SHARED_TS {
                        let v = f64::from_bits(r.u64().map_err(|e| corrupt(&cp, e))?);
                        if n > u64::from(c.count) || r.remaining() != 0 {
                            return Err(corrupt(&cp, "bad constant chunk"));
                        }
                        vec![v; n as usize]
                    } else {
                        let vb = r.bytes(r.remaining()).map_err(|e| corrupt(&cp, e))?;
                        pco::standalone::simple_decompress(vb).map_err(|e| corrupt(&cp, e))?
                    };
                    let tbody = self.read_frame(ts_ref, None)?;
                    let ts = match tbody.split_first() {
                        Some((&ENC_PCO, p)) => decode_chunk_ts(p).map_err(|e| corrupt(&cp, e))?,
                        _ => {
                            return Err(corrupt(
                                &cp,
                                "shared timestamps reference a chunk without timestamps",
                            ));
                        }
                    };
                    if ts.len() as u64 != n || vs.len() as u64 != n {
                        return Err(corrupt(&cp, "shared-timestamp chunk length mismatch"));
                    }
                    ts.into_iter()
                        .zip(vs)
                        .map(|(t, v)| Sample::new(t, v))
                        .collect()
                }
                _ => return Err(corrupt(&cp, "unknown chunk encoding")),
            };
            out.extend(samples.into_iter().filter(|s| s.t >= min_t && s.t <= max_t));
        }
        Ok(out)
    }

    /// Reads and CRC-checks the chunk frame at `off`, returning its body (encoding byte +
    /// payload). `len` is the whole frame length when known.
    fn read_frame(&self, off: u64, len: Option<u32>) -> Result<Vec<u8>, StorageError> {
        let cp = self.dir.join("chunks");
        let frame = match len {
            Some(l) => self.chunks.read_at(off, l as usize).map_err(io_err(&cp))?,
            None => {
                let avail = self.chunks.len().saturating_sub(off).min(10) as usize;
                let head = self.chunks.read_at(off, avail).map_err(io_err(&cp))?;
                let mut r = Reader::new(&head);
                let body_len = r.uvarint().map_err(|e| corrupt(&cp, e))?;
                let total = (r.pos() as u64).saturating_add(body_len).saturating_add(4);
                if off.saturating_add(total) > self.chunks.len() {
                    return Err(corrupt(&cp, "chunk frame past end of file"));
                }
                self.chunks
                    .read_at(off, total as usize)
                    .map_err(io_err(&cp))?
            }
        };
        let mut r = Reader::new(&frame);
        let blen = r.len(frame.len()).map_err(|e| corrupt(&cp, e))?;
        let body = r.bytes(blen).map_err(|e| corrupt(&cp, e))?;
        let crc = r.u32().map_err(|e| corrupt(&cp, e))?;
        if crc32fast::hash(body) != crc {
            return Err(corrupt(&cp, format!("chunk at {off} CRC mismatch")));
        }
        Ok(body.to_vec())
    }

    /// Every series with all its samples (compaction, rewrite).
    pub fn read_all(&self) -> Result<Vec<(Labels, Vec<Sample>)>, StorageError> {
        (0..self.series.len() as u32)
            .map(|i| Ok((self.labels(i), self.samples(i, i64::MIN, i64::MAX)?)))
            .collect()
    }

    /// Runs `f` with the symbol table and postings.
    pub fn with_index<R>(&self, f: impl FnOnce(&Symbols, &Postings) -> R) -> R {
        f(&self.syms, &self.postings)
    }
}

#[cfg(test)]
mod tests {
    use super::chunk::chunk_config;
    use super::*;
    use crate::vfs::SimFs;
    use proptest::prelude::*;
    use vigia_model::{MatchOp, stale_nan};

    fn bits(s: &[Sample]) -> Vec<(i64, u64)> {
        s.iter().map(|s| (s.t, s.v.to_bits())).collect()
    }

    #[test]
    fn block_roundtrip_special_values() {
        let fs = SimFs::new();
        let parent = Path::new("/data");
        crate::vfs::create_dir_durable(&fs, parent).unwrap();
        let a = Labels::from_pairs([("__name__", "a"), ("job", "x")]);
        let b = Labels::from_pairs([("__name__", "b")]);
        let sa = vec![
            Sample::new(1, f64::NAN),
            Sample::new(2, stale_nan()),
            Sample::new(3, f64::INFINITY),
            Sample::new(4, f64::NEG_INFINITY),
            Sample::new(5, -0.0),
        ];
        let sb: Vec<Sample> = (0..40_000)
            .map(|i| Sample::new(i * 15_000, i as f64))
            .collect();
        let meta = write_block(
            &fs,
            parent,
            [Ok((a.clone(), sa.clone())), Ok((b.clone(), sb.clone()))],
            1,
            vec![],
        )
        .unwrap()
        .unwrap();
        assert_eq!((meta.min_time, meta.max_time), (0, 39_999 * 15_000 + 1));
        let blk = Block::open(&fs, &parent.join(&meta.ulid)).unwrap();
        assert_eq!(blk.num_series(), 2);
        let ids: Vec<u32> = blk
            .select_ids(&[Matcher::new(MatchOp::Regex, "job", "x|y").unwrap()])
            .iter()
            .collect();
        assert_eq!(ids, vec![0]);
        assert_eq!(
            bits(&blk.samples(0, i64::MIN, i64::MAX).unwrap()),
            bits(&sa)
        );
        assert_eq!(
            bits(&blk.samples(1, i64::MIN, i64::MAX).unwrap()),
            bits(&sb)
        );
        assert_eq!(blk.samples(1, 15_000, 30_000).unwrap().len(), 2);
        // survives power loss: fully synced
        let c = fs.crash();
        assert!(Block::open(&c, &parent.join(&meta.ulid)).is_ok());
    }

    #[test]
    fn shared_timestamps_roundtrip_and_save_space() {
        let fs = SimFs::new();
        let parent = Path::new("/d");
        crate::vfs::create_dir_durable(&fs, parent).unwrap();
        let ts: Vec<i64> = (0..480).map(|i| i * 15_000 + (i * 7) % 10).collect();
        let series: Vec<(Labels, Vec<Sample>)> = (0..50)
            .map(|s| {
                let l =
                    Labels::from_pairs([("__name__", "m".to_string()), ("i", format!("{s:03}"))]);
                (
                    l,
                    ts.iter()
                        .map(|t| {
                            Sample::new(
                                *t,
                                if s % 5 == 0 {
                                    stale_nan()
                                } else {
                                    (s * 1000) as f64 + *t as f64 / 15_000.0
                                },
                            )
                        })
                        .collect(),
                )
            })
            .collect();
        let meta = write_block(&fs, parent, series.iter().cloned().map(Ok), 1, vec![])
            .unwrap()
            .unwrap();
        let blk = Block::open(&fs, &parent.join(&meta.ulid)).unwrap();
        for (i, (_, s)) in series.iter().enumerate() {
            assert_eq!(
                bits(&blk.samples(i as u32, i64::MIN, i64::MAX).unwrap()),
                bits(s)
            );
        }
        // one timestamp column for 50 series instead of 50 copies
        let ts_alone = pco::standalone::simple_compress(&ts, &chunk_config())
            .unwrap()
            .len() as u64;
        let unshared: u64 = series
            .iter()
            .map(|(_, s)| encode_chunk(s).unwrap().len() as u64 + 6)
            .sum();
        assert!(
            blk.chunks.len() + 40 * ts_alone < unshared,
            "{} vs {unshared} (ts column {ts_alone} B)",
            blk.chunks.len()
        );
        // damage the shared column: every series depending on it reports corruption
        let cp = parent.join(&meta.ulid).join("chunks");
        let mut data = fs.read(&cp).unwrap();
        data[20] ^= 0x01;
        fs.create(&cp).unwrap().write_all(&data).unwrap();
        let blk = Block::open(&fs, &parent.join(&meta.ulid)).unwrap();
        assert!(matches!(
            blk.samples(7, i64::MIN, i64::MAX),
            Err(StorageError::Corrupt { .. })
        ));
    }

    #[test]
    fn corrupt_index_is_detected() {
        let fs = SimFs::new();
        let parent = Path::new("/d");
        fs.create_dir_all(parent).unwrap();
        let l = Labels::from_pairs([("__name__", "a")]);
        let meta = write_block(&fs, parent, [Ok((l, vec![Sample::new(1, 1.0)]))], 1, vec![])
            .unwrap()
            .unwrap();
        let ip = parent.join(&meta.ulid).join("index");
        let mut data = fs.read(&ip).unwrap();
        data[10] ^= 0x55;
        let mut f = fs.create(&ip).unwrap();
        f.write_all(&data).unwrap();
        assert!(matches!(
            Block::open(&fs, &parent.join(&meta.ulid)),
            Err(StorageError::Corrupt { .. })
        ));
    }

    proptest! {
        #[test]
        fn chunk_roundtrip(ts in proptest::collection::btree_set(any::<i64>(), 1..300), vals in proptest::collection::vec(any::<u64>(), 300)) {
            let s: Vec<Sample> = ts.iter().zip(&vals).map(|(t, v)| Sample::new(*t, f64::from_bits(*v))).collect();
            let enc = encode_chunk(&s).unwrap();
            let dec = decode_chunk(&enc).unwrap();
            prop_assert_eq!(bits(&dec), bits(&s));
        }
    }
}
