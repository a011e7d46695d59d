//! Self-measurement helpers (ingest throughput, bytes per sample on disk, head memory per series)
//! that the benchmark command can call. They report numbers and assert nothing about speed.
//! The workload imitates node_exporter: several targets scraped every 15 s with a few
//! milliseconds of per-scrape jitter, a mix of constant series, integer byte counters, float
//! CPU-seconds counters and slowly moving gauges.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use vigia_model::{Appender, Labels, Sample, SeriesSamples, StorageAdmin, StorageError};
use vigia_tsdb::{Tsdb, TsdbOptions};

/// Deterministic xorshift generator (no dependency).
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Series per simulated node_exporter target.
pub const SERIES_PER_TARGET: usize = 500;

/// Series kinds, modelled on a node_exporter host: (metric name, behaviour).
const KINDS: [&str; 8] = [
    "node_cpu_seconds_total", // busy CPU mode: +0..15 s per scrape, 10 ms resolution
    "node_cpu_guest_seconds_total", // idle counter: constant
    "node_network_receive_bytes_total", // active interface: bursty integer increments
    "node_network_receive_errs_total", // error counter: constant
    "node_memory_Active_bytes", // gauge moving by pages every scrape
    "node_filesystem_size_bytes", // constant gauge
    "node_load1",             // float gauge, 2 decimals, random walk
    "node_uname_info",        // info metric: constant 1
];

/// Label sets of `n` node_exporter-like series (`SERIES_PER_TARGET` per target).
pub fn node_labels(n: usize) -> Vec<Labels> {
    (0..n)
        .map(|i| {
            let target = i / SERIES_PER_TARGET;
            let j = i % SERIES_PER_TARGET;
            Labels::from_pairs([
                ("__name__", KINDS[j % KINDS.len()].to_string()),
                ("instance", format!("host-{target:04}:9100")),
                ("job", "node".to_string()),
                ("idx", format!("{j}")),
            ])
        })
        .collect()
}

/// Value generator state of one series.
#[derive(Debug, Clone)]
struct ValueGen {
    kind: usize,
    v: f64,
}

impl ValueGen {
    fn new(i: usize, rng: &mut Rng) -> Self {
        let kind = (i % SERIES_PER_TARGET) % KINDS.len();
        let v = match kind {
            0 => (rng.unit() * 1e7).round() / 100.0,
            1 | 3 => (rng.unit() * 100.0).round(),
            2 => (rng.unit() * 1e12).round(),
            4 => (rng.unit() * 2e6).round() * 4096.0,
            5 => (rng.unit() * 1e8).round() * 4096.0,
            6 => (rng.unit() * 400.0).round() / 100.0,
            _ => 1.0,
        };
        Self { kind, v }
    }
    fn step(&mut self, rng: &mut Rng) -> f64 {
        match self.kind {
            0 => self.v = ((self.v + rng.unit() * 15.0) * 100.0).round() / 100.0,
            2 => self.v += (rng.unit() * rng.unit() * 2e5).round(),
            4 => self.v += ((rng.unit() - 0.5) * 200.0).round() * 4096.0,
            6 => self.v = ((self.v + (rng.unit() - 0.5) * 0.2).max(0.0) * 100.0).round() / 100.0,
            _ => {}
        }
        self.v
    }
}

/// `scrapes` scrapes of `n` series starting at `start_ms`, one scrape per 15 s with 0–9 ms of
/// per-target jitter: returns per series its samples.
pub fn node_samples(n: usize, scrapes: usize, start_ms: i64, seed: u64) -> Vec<Vec<Sample>> {
    let mut rng = Rng(seed | 1);
    let mut gens: Vec<ValueGen> = (0..n).map(|i| ValueGen::new(i, &mut rng)).collect();
    let targets = n.div_ceil(SERIES_PER_TARGET).max(1);
    let mut out: Vec<Vec<Sample>> = (0..n).map(|_| Vec::with_capacity(scrapes)).collect();
    for k in 0..scrapes {
        let jitter: Vec<i64> = (0..targets).map(|_| (rng.next() % 10) as i64).collect();
        for (i, g) in gens.iter_mut().enumerate() {
            let t = start_ms
                + k as i64 * 15_000
                + jitter.get(i / SERIES_PER_TARGET).copied().unwrap_or(0);
            let v = g.step(&mut rng);
            if let Some(o) = out.get_mut(i) {
                o.push(Sample::new(t, v));
            }
        }
    }
    out
}

/// Result of an ingest measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestReport {
    /// Appending threads.
    pub threads: usize,
    /// Samples appended.
    pub samples: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Throughput.
    pub samples_per_sec: f64,
    /// WAL fsyncs done (group commit: fewer than batches when threads overlap).
    pub wal_fsyncs: u64,
    /// Mean fsync latency in seconds.
    pub mean_fsync_seconds: f64,
}

/// Appends `scrapes` scrapes of `series` series in batches of `batch` samples (one sample per
/// series per batch) from `threads` threads into a fresh database under `dir`.
pub fn measure_ingest(
    dir: &Path,
    threads: usize,
    series: usize,
    batch: usize,
    scrapes: usize,
) -> Result<IngestReport, StorageError> {
    let db = Tsdb::open(dir, TsdbOptions::default())?;
    let labels = Arc::new(node_labels(series));
    let data = Arc::new(node_samples(series, scrapes, 1_700_000_000_000, 42));
    let threads = threads.max(1);
    let batch = batch.max(1);
    let t0 = Instant::now();
    let mut hs = Vec::new();
    for th in 0..threads {
        let (db, labels, data) = (db.clone(), labels.clone(), data.clone());
        hs.push(std::thread::spawn(move || -> Result<u64, StorageError> {
            let mut n = 0u64;
            // each thread owns a slice of the series; batches are slices of one scrape
            let mine: Vec<usize> = (0..labels.len()).filter(|i| i % threads == th).collect();
            for k in 0..scrapes {
                for part in mine.chunks(batch) {
                    let b: Vec<SeriesSamples> = part
                        .iter()
                        .filter_map(|&i| {
                            let s = data.get(i)?.get(k)?;
                            Some(SeriesSamples {
                                labels: labels.get(i)?.clone(),
                                samples: vec![*s],
                            })
                        })
                        .collect();
                    n += db.append(&b)?.appended;
                }
            }
            Ok(n)
        }));
    }
    let mut samples = 0;
    for h in hs {
        samples += h
            .join()
            .map_err(|_| StorageError::Other("ingest thread panicked".into()))??;
    }
    let seconds = t0.elapsed().as_secs_f64();
    let st = db.stats();
    db.close()?;
    Ok(IngestReport {
        wal_fsyncs: st.wal_fsyncs,
        mean_fsync_seconds: st.wal_fsync_seconds_sum / st.wal_fsyncs.max(1) as f64,
        threads,
        samples,
        seconds,
        samples_per_sec: samples as f64 / seconds.max(1e-9),
    })
}

/// Result of a storage-size measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeReport {
    /// Samples stored.
    pub samples: u64,
    /// Bytes of the `chunks` files.
    pub chunk_bytes: u64,
    /// Bytes of all block files (chunks, index, meta).
    pub block_bytes: u64,
    /// `chunk_bytes / samples`.
    pub chunk_bytes_per_sample: f64,
    /// `block_bytes / samples`.
    pub block_bytes_per_sample: f64,
}

/// Appends `scrapes` scrapes of `series` node_exporter-like series, flushes, and measures the
/// block bytes per sample.
pub fn measure_disk(dir: &Path, series: usize, scrapes: usize) -> Result<SizeReport, StorageError> {
    let db = Tsdb::open_with(
        Arc::new(vigia_tsdb::vfs::RealFs),
        dir,
        TsdbOptions {
            block_duration_ms: 24 * 3600 * 1000,
            ..Default::default()
        },
        false,
    )?;
    let labels = node_labels(series);
    let data = node_samples(series, scrapes, 1_700_000_000_000, 7);
    let mut samples = 0;
    for (l, s) in labels.iter().zip(&data) {
        samples += db
            .append(&[SeriesSamples {
                labels: l.clone(),
                samples: s.clone(),
            }])?
            .appended;
    }
    db.flush()?;
    let (mut chunk_bytes, mut block_bytes) = (0u64, 0u64);
    for m in db.block_metas() {
        let bdir = dir.join(&m.ulid);
        for f in ["chunks", "index", "meta.json"] {
            let len = std::fs::metadata(bdir.join(f))
                .map(|x| x.len())
                .unwrap_or(0);
            block_bytes += len;
            if f == "chunks" {
                chunk_bytes += len;
            }
        }
    }
    db.close()?;
    let per = |b: u64| b as f64 / (samples.max(1)) as f64;
    Ok(SizeReport {
        samples,
        chunk_bytes,
        block_bytes,
        chunk_bytes_per_sample: per(chunk_bytes),
        block_bytes_per_sample: per(block_bytes),
    })
}

/// Result of a head memory measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadMemReport {
    /// Series.
    pub series: usize,
    /// Samples per series.
    pub samples_per_series: usize,
    /// Head heap bytes per series by the engine's own accounting (series structs, chunks,
    /// interned symbols, postings, maps; allocator overhead not included).
    pub accounted_bytes_per_series: f64,
}

/// Fills a head with `series` series of `samples_per_series` samples and reports memory.
pub fn measure_head(
    dir: &Path,
    series: usize,
    samples_per_series: usize,
) -> Result<HeadMemReport, StorageError> {
    let db = Tsdb::open_with(
        Arc::new(vigia_tsdb::vfs::RealFs),
        dir,
        TsdbOptions {
            block_duration_ms: 365 * 24 * 3600 * 1000,
            ..Default::default()
        },
        false,
    )?;
    let labels = node_labels(series);
    let data = node_samples(series, samples_per_series, 1_700_000_000_000, 9);
    for k in 0..samples_per_series {
        for part in (0..series).collect::<Vec<_>>().chunks(500) {
            let b: Vec<SeriesSamples> = part
                .iter()
                .filter_map(|&i| {
                    Some(SeriesSamples {
                        labels: labels.get(i)?.clone(),
                        samples: vec![*data.get(i)?.get(k)?],
                    })
                })
                .collect();
            db.append(&b)?;
        }
    }
    let acc = db.head_heap_bytes() as f64 / series.max(1) as f64;
    db.close()?;
    Ok(HeadMemReport {
        series,
        samples_per_series,
        accounted_bytes_per_series: acc,
    })
}

/// All measurements of the task brief.
#[derive(Debug, Clone)]
pub struct Report {
    /// Ingest with 1 thread.
    pub ingest_1: IngestReport,
    /// Ingest with 2 threads.
    pub ingest_2: IngestReport,
    /// Disk usage after flush: 5,000 series × 480 samples (a 2 h block).
    pub disk: SizeReport,
    /// Disk usage of an 18 h block: 500 series × 4,320 samples.
    pub disk_18h: SizeReport,
    /// Head memory with 120 samples per series.
    pub head_120: HeadMemReport,
    /// Head memory with 1 sample per series.
    pub head_1: HeadMemReport,
}

/// Runs every measurement in temporary sub-directories of `dir` (5,000 series, batches of 500).
pub fn run_all(dir: &Path, scrapes: usize) -> Result<Report, StorageError> {
    let sub = |n: &str| dir.join(n);
    Ok(Report {
        ingest_1: measure_ingest(&sub("ingest1"), 1, 5000, 500, scrapes)?,
        ingest_2: measure_ingest(&sub("ingest2"), 2, 5000, 500, scrapes)?,
        disk: measure_disk(&sub("disk"), 5000, 480)?,
        disk_18h: measure_disk(&sub("disk18h"), 500, 4320)?,
        head_1: measure_head(&sub("head1"), 5000, 1)?,
        head_120: measure_head(&sub("head120"), 5000, 120)?,
    })
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in [&self.ingest_1, &self.ingest_2] {
            writeln!(
                f,
                "ingest {} thread(s): {} samples in {:.2} s = {:.0} samples/s ({} WAL fsyncs, mean {:.2} ms)",
                r.threads,
                r.samples,
                r.seconds,
                r.samples_per_sec,
                r.wal_fsyncs,
                r.mean_fsync_seconds * 1000.0
            )?;
        }
        for (what, d) in [("2h block", &self.disk), ("18h block", &self.disk_18h)] {
            writeln!(
                f,
                "disk after flush ({what}): {} samples, chunks {:.3} B/sample, whole block {:.3} B/sample",
                d.samples, d.chunk_bytes_per_sample, d.block_bytes_per_sample
            )?;
        }
        for h in [&self.head_1, &self.head_120] {
            writeln!(
                f,
                "head with {} sample(s)/series: {:.0} B/series",
                h.samples_per_series, h.accounted_bytes_per_series
            )?;
        }
        Ok(())
    }
}
