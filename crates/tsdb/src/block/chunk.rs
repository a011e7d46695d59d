//! Chunk payload codecs: pco-compressed timestamps and values ([`ENC_PCO`](super::ENC_PCO)),
//! values only with timestamps shared from an earlier chunk
//! ([`ENC_PCO_SHARED_TS`](super::ENC_PCO_SHARED_TS)), and their decoding.

use crate::encoding::{Reader, put_bytes, put_uvarint};
use vigia_model::{Sample, StorageError};

/// A block chunk could not be decoded (truncated, wrong codec data, counts that disagree).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ChunkError(pub String);

/// Compresses one chunk's samples (ascending, unique timestamps) with pco.
pub fn encode_chunk(samples: &[Sample]) -> Result<Vec<u8>, StorageError> {
    let ts: Vec<i64> = samples.iter().map(|s| s.t).collect();
    let vs: Vec<f64> = samples.iter().map(|s| s.v).collect();
    let cfg = chunk_config();
    let pe = |e: pco::errors::PcoError| StorageError::Other(format!("pco compression failed: {e}"));
    let tb = pco::standalone::simple_compress(&ts, &cfg).map_err(pe)?;
    let vb = pco::standalone::simple_compress(&vs, &cfg).map_err(pe)?;
    let mut out = Vec::with_capacity(tb.len() + vb.len() + 8);
    put_uvarint(&mut out, samples.len() as u64);
    put_bytes(&mut out, &tb);
    out.extend_from_slice(&vb);
    Ok(out)
}

/// pco settings for block chunks (level 12 was measured: no gain on node_exporter-like data).
pub(super) fn chunk_config() -> pco::ChunkConfig {
    pco::ChunkConfig::default()
}

fn pco_err(e: pco::errors::PcoError) -> StorageError {
    StorageError::Other(format!("pco compression failed: {e}"))
}

/// Compresses only the values of a chunk (for
/// [`ENC_PCO_SHARED_TS`](super::ENC_PCO_SHARED_TS)): count, the offset of the chunk frame
/// holding the timestamps, then the pco values.
pub fn encode_chunk_shared(samples: &[Sample], ts_ref: u64) -> Result<Vec<u8>, StorageError> {
    let vs: Vec<f64> = samples.iter().map(|s| s.v).collect();
    let vb = pco::standalone::simple_compress(&vs, &chunk_config()).map_err(pco_err)?;
    let mut out = Vec::with_capacity(vb.len() + 12);
    put_uvarint(&mut out, samples.len() as u64);
    put_uvarint(&mut out, ts_ref);
    out.extend_from_slice(&vb);
    Ok(out)
}

/// Timestamps of an [`ENC_PCO`](super::ENC_PCO) chunk payload.
pub fn decode_chunk_ts(payload: &[u8]) -> Result<Vec<i64>, ChunkError> {
    let mut r = Reader::new(payload);
    let n = r.uvarint().map_err(|e| ChunkError(e.to_string()))? as usize;
    let tb = r.bytes_prefixed().map_err(|e| ChunkError(e.to_string()))?;
    let ts: Vec<i64> =
        pco::standalone::simple_decompress(tb).map_err(|e| ChunkError(e.to_string()))?;
    if ts.len() != n {
        return Err(ChunkError(format!(
            "chunk holds {} timestamps, header says {n}",
            ts.len()
        )));
    }
    Ok(ts)
}

/// Decompresses a chunk payload written by [`encode_chunk`].
pub fn decode_chunk(payload: &[u8]) -> Result<Vec<Sample>, ChunkError> {
    let mut r = Reader::new(payload);
    let n = r.uvarint().map_err(|e| ChunkError(e.to_string()))? as usize;
    let tb = r.bytes_prefixed().map_err(|e| ChunkError(e.to_string()))?;
    let vb = r
        .bytes(r.remaining())
        .map_err(|e| ChunkError(e.to_string()))?;
    let ts: Vec<i64> =
        pco::standalone::simple_decompress(tb).map_err(|e| ChunkError(e.to_string()))?;
    let vs: Vec<f64> =
        pco::standalone::simple_decompress(vb).map_err(|e| ChunkError(e.to_string()))?;
    if ts.len() != n || vs.len() != n {
        return Err(ChunkError(format!(
            "chunk holds {} timestamps and {} values, header says {n}",
            ts.len(),
            vs.len()
        )));
    }
    Ok(ts
        .into_iter()
        .zip(vs)
        .map(|(t, v)| Sample::new(t, v))
        .collect())
}
