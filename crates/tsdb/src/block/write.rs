//! The block writer: streams series into the `chunks` file (choosing each chunk's encoding),
//! builds the `index` (symbols, series, postings, table of contents) and `meta.json`, and
//! makes the block durable (temporary directory, fsync, rename).

use super::{
    BlockCompaction, BlockMeta, BlockStats, CHUNKS_MAGIC, ChunkMeta, ENC_CONST_SHARED_TS, ENC_PCO,
    ENC_PCO_SHARED_TS, FORMAT_VERSION, INDEX_MAGIC, MAX_CHUNK_SAMPLES, MAX_SHARED_TS,
    MAX_SHARED_TS_SAMPLES, TOC_LEN, encode_chunk, encode_chunk_shared, io_err, new_ulid,
};
use crate::encoding::{put_bytes, put_uvarint, put_varint};
use crate::vfs::Vfs;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use vigia_model::{Labels, Sample, StorageError};

/// Writes a block under `parent` from series yielded in label order (streamed: only the
/// compressed chunks are buffered). Empty series are skipped; returns `None` when there is
/// nothing to write.
pub fn write_block<I>(
    vfs: &dyn Vfs,
    parent: &Path,
    series: I,
    level: u32,
    sources: Vec<String>,
) -> Result<Option<BlockMeta>, StorageError>
where
    I: IntoIterator<Item = Result<(Labels, Vec<Sample>), StorageError>>,
{
    let ulid = new_ulid();
    let tmp = parent.join(format!("{ulid}.tmp"));
    let fin = parent.join(&ulid);

    let mut chunks = ChunksWriter::new();
    let mut labels_list: Vec<Labels> = Vec::new();
    let mut metas: Vec<Vec<ChunkMeta>> = Vec::new();
    for item in series {
        let (labels, samples) = item?;
        if samples.is_empty() {
            continue;
        }
        if labels_list.last().is_some_and(|prev| prev >= &labels) {
            return Err(StorageError::Other(format!(
                "block writer: series not in label order at {labels}"
            )));
        }
        metas.push(chunks.add_series(&samples)?);
        labels_list.push(labels);
    }
    if labels_list.is_empty() {
        return Ok(None);
    }
    vfs.create_dir_all(&tmp).map_err(io_err(&tmp))?;
    let mut stats = chunks.stats.clone();
    stats.num_series = labels_list.len() as u64;
    let index = build_index(&labels_list, &metas);

    let meta = BlockMeta {
        ulid: ulid.clone(),
        min_time: chunks.min_t,
        max_time: chunks.max_t.saturating_add(1),
        stats,
        compaction: BlockCompaction {
            level,
            sources: if sources.is_empty() {
                vec![ulid.clone()]
            } else {
                sources
            },
        },
        version: 1,
    };
    let meta_json =
        serde_json::to_vec_pretty(&meta).map_err(|e| StorageError::Other(e.to_string()))?;
    let files = [
        ("chunks", &chunks.buf),
        ("index", &index),
        ("meta.json", &meta_json),
    ];
    persist(vfs, parent, &tmp, &fin, &files)?;
    Ok(Some(meta))
}

/// Writes and fsyncs `files` in the temporary directory `tmp`, then renames it to `fin`
/// (both under `parent`) durably.
fn persist(
    vfs: &dyn Vfs,
    parent: &Path,
    tmp: &Path,
    fin: &Path,
    files: &[(&str, &Vec<u8>)],
) -> Result<(), StorageError> {
    for (name, data) in files {
        let p = tmp.join(name);
        let mut f = vfs.create(&p).map_err(io_err(&p))?;
        f.write_all(data).map_err(io_err(&p))?;
        f.sync_data().map_err(io_err(&p))?;
    }
    vfs.sync_dir(tmp).map_err(io_err(tmp))?;
    vfs.rename(tmp, fin).map_err(io_err(fin))?;
    vfs.sync_dir(parent).map_err(io_err(parent))?;
    Ok(())
}

/// The `chunks` file being written, and what the index and `meta.json` need to know about it.
struct ChunksWriter {
    /// The file contents so far (header, then CRC'd chunk frames).
    buf: Vec<u8>,
    /// Offsets of `ENC_PCO` chunks by their timestamp column, for later chunks to share.
    ts_cols: HashMap<Vec<i64>, u64>,
    /// Timestamps held in `ts_cols` (bounded by `MAX_SHARED_TS_SAMPLES`).
    ts_cols_samples: usize,
    /// Smallest and largest timestamp written.
    min_t: i64,
    max_t: i64,
    /// Samples and chunks written (the series count is set by the caller).
    stats: BlockStats,
}

impl ChunksWriter {
    fn new() -> Self {
        let mut buf = Vec::new();
        buf.extend_from_slice(&CHUNKS_MAGIC);
        buf.push(FORMAT_VERSION);
        buf.extend_from_slice(&[0, 0, 0]);
        ChunksWriter {
            buf,
            ts_cols: HashMap::new(),
            ts_cols_samples: 0,
            min_t: i64::MAX,
            max_t: i64::MIN,
            stats: BlockStats::default(),
        }
    }

    /// Writes the chunks of one series (at most `MAX_CHUNK_SAMPLES` samples each); returns
    /// their references.
    fn add_series(&mut self, samples: &[Sample]) -> Result<Vec<ChunkMeta>, StorageError> {
        let mut cm = Vec::new();
        for part in samples.chunks(MAX_CHUNK_SAMPLES) {
            let (Some(first), Some(last)) = (part.first(), part.last()) else {
                continue;
            };
            let off = self.buf.len() as u64;
            let (enc, payload) = self.encode(part, off)?;
            let len = self.push_frame(enc, &payload);
            cm.push(ChunkMeta {
                min_t: first.t,
                max_t: last.t,
                count: part.len() as u32,
                off,
                len,
            });
            self.min_t = self.min_t.min(first.t);
            self.max_t = self.max_t.max(last.t);
            self.stats.num_samples += part.len() as u64;
            self.stats.num_chunks += 1;
        }
        Ok(cm)
    }

    /// Encodes the chunk whose frame starts at `off`: with the timestamps of an earlier chunk
    /// when it has the same ones (one repeated value stored once), else with its own
    /// timestamps, remembered for later chunks while within the sharing bounds.
    fn encode(&mut self, part: &[Sample], off: u64) -> Result<(u8, Vec<u8>), StorageError> {
        let ts: Vec<i64> = part.iter().map(|s| s.t).collect();
        Ok(match self.ts_cols.get(&ts) {
            Some(&r) => match part.split_first() {
                Some((f0, rest)) if rest.iter().all(|s| s.v.to_bits() == f0.v.to_bits()) => {
                    let mut p = Vec::with_capacity(20);
                    put_uvarint(&mut p, part.len() as u64);
                    put_uvarint(&mut p, r);
                    p.extend_from_slice(&f0.v.to_bits().to_le_bytes());
                    (ENC_CONST_SHARED_TS, p)
                }
                _ => (ENC_PCO_SHARED_TS, encode_chunk_shared(part, r)?),
            },
            None => {
                if self.ts_cols.len() < MAX_SHARED_TS
                    && part.len() > 1
                    && self.ts_cols_samples + part.len() <= MAX_SHARED_TS_SAMPLES
                {
                    self.ts_cols_samples += part.len();
                    self.ts_cols.insert(ts, off);
                }
                (ENC_PCO, encode_chunk(part)?)
            }
        })
    }

    /// Appends one chunk frame (body length, encoding byte, payload, CRC of the body);
    /// returns the frame length.
    fn push_frame(&mut self, enc: u8, payload: &[u8]) -> u32 {
        let mut frame = Vec::with_capacity(payload.len() + 10);
        put_uvarint(&mut frame, payload.len() as u64 + 1);
        let body_start = frame.len();
        frame.push(enc);
        frame.extend_from_slice(payload);
        let crc = crc32fast::hash(frame.get(body_start..).unwrap_or(&[]));
        frame.extend_from_slice(&crc.to_le_bytes());
        self.buf.extend_from_slice(&frame);
        frame.len() as u32
    }
}

/// The `index` file of series `labels` (in order) with chunk references `metas`: header,
/// symbol, series and postings sections, table of contents.
fn build_index(labels: &[Labels], metas: &[Vec<ChunkMeta>]) -> Vec<u8> {
    let mut syms_sorted: BTreeSet<&str> = BTreeSet::new();
    for l in labels {
        for lb in l.iter() {
            syms_sorted.insert(&lb.name);
            syms_sorted.insert(&lb.value);
        }
    }
    let sym_ids: BTreeMap<&str, u64> = syms_sorted
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i as u64))
        .collect();
    let mut index = Vec::new();
    index.extend_from_slice(&INDEX_MAGIC);
    index.push(FORMAT_VERSION);
    index.extend_from_slice(&[0, 0, 0]);
    let mut body = Vec::new();
    put_uvarint(&mut body, syms_sorted.len() as u64);
    for s in &syms_sorted {
        put_bytes(&mut body, s.as_bytes());
    }
    let sym_off = push_section(&mut index, body);
    let (body, postings) = series_section(labels, metas, &sym_ids);
    let series_off = push_section(&mut index, body);
    let post_off = push_section(&mut index, postings_section(&postings));
    let mut toc = Vec::with_capacity(TOC_LEN);
    for o in [sym_off, series_off, post_off] {
        toc.extend_from_slice(&o.to_le_bytes());
    }
    let crc = crc32fast::hash(&toc);
    toc.extend_from_slice(&crc.to_le_bytes());
    index.extend_from_slice(&toc);
    index
}

/// Appends one index section (length, body, CRC of the body); returns its offset.
fn push_section(index: &mut Vec<u8>, body: Vec<u8>) -> u64 {
    let off = index.len() as u64;
    index.extend_from_slice(&(body.len() as u32).to_le_bytes());
    let crc = crc32fast::hash(&body);
    index.extend_from_slice(&body);
    index.extend_from_slice(&crc.to_le_bytes());
    off
}

/// Series ids (ascending) per label name and value symbol pair.
type PostingsMap = BTreeMap<(u64, u64), Vec<u32>>;

/// The body of the series section (per series: label symbol pairs, chunk references), and
/// the postings (series ids per label symbol pair) collected on the way.
fn series_section(
    labels: &[Labels],
    metas: &[Vec<ChunkMeta>],
    sym_ids: &BTreeMap<&str, u64>,
) -> (Vec<u8>, PostingsMap) {
    let sid = |s: &str| sym_ids.get(s).copied().unwrap_or(0);
    let mut body = Vec::new();
    let mut postings: PostingsMap = BTreeMap::new();
    put_uvarint(&mut body, labels.len() as u64);
    for (i, (l, cm)) in labels.iter().zip(metas).enumerate() {
        put_uvarint(&mut body, l.len() as u64);
        for lb in l.iter() {
            let (n, v) = (sid(&lb.name), sid(&lb.value));
            put_uvarint(&mut body, n);
            put_uvarint(&mut body, v);
            postings.entry((n, v)).or_default().push(i as u32);
        }
        put_uvarint(&mut body, cm.len() as u64);
        for c in cm {
            put_varint(&mut body, c.min_t);
            put_varint(&mut body, c.max_t);
            put_uvarint(&mut body, u64::from(c.count));
            put_uvarint(&mut body, c.off);
            put_uvarint(&mut body, u64::from(c.len));
        }
    }
    (body, postings)
}

/// The body of the postings section: per label symbol pair, the delta-coded series ids.
fn postings_section(postings: &PostingsMap) -> Vec<u8> {
    let mut body = Vec::new();
    put_uvarint(&mut body, postings.len() as u64);
    for ((n, v), ids) in postings {
        put_uvarint(&mut body, *n);
        put_uvarint(&mut body, *v);
        put_uvarint(&mut body, ids.len() as u64);
        let mut prev = 0u32;
        for id in ids {
            put_uvarint(&mut body, u64::from(id - prev));
            prev = *id;
        }
    }
    body
}
