//! `vigia bench detector`: the anomaly detector's throughput on one core and its state size
//! per series, on a synthetic series. Reports numbers and asserts nothing about speed.

use crate::error::{Context, Result};
use std::time::Instant;
use vigia_ml::DetectorConfig;

/// Throughput and memory of the detector with a configuration.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DetectorBench {
    /// Configuration hash.
    pub config_hash: String,
    /// Samples processed in the measurement.
    pub samples: u64,
    /// Wall time of the measurement in seconds.
    pub seconds: f64,
    /// Samples per second on one core.
    pub samples_per_sec: f64,
    /// Bytes of state per series (snapshot size; the in-memory struct is similar).
    pub state_bytes: usize,
    /// In-memory size of one detector struct.
    pub struct_bytes: usize,
}

/// Measures single-core throughput on a synthetic series (noisy daily pattern with spikes and a
/// level shift) for about half a second, and the per-series state size.
pub fn bench_detector(cfg: &DetectorConfig) -> DetectorBench {
    const SERIES_LEN: usize = 100_000;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let series: Vec<f64> = (0..SERIES_LEN)
        .map(|i| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let noise = (rng >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let day = (i as f64 * std::f64::consts::TAU / 288.0).sin() * 10.0;
            let shift = if i > SERIES_LEN / 2 { 15.0 } else { 0.0 };
            let spike = if i % 5000 == 4999 { 40.0 } else { 0.0 };
            100.0 + day + noise * 3.0 + shift + spike
        })
        .collect();
    let start = Instant::now();
    let mut samples = 0u64;
    let mut sink = 0.0;
    let mut det = vigia_ml::new_detector(cfg, 0);
    while start.elapsed().as_secs_f64() < 0.5 {
        det = vigia_ml::new_detector(cfg, 0);
        for (i, &v) in series.iter().enumerate() {
            sink += det.update(i as i64 * 300_000, v);
        }
        samples += SERIES_LEN as u64;
    }
    let seconds = start.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    DetectorBench {
        config_hash: cfg.hash(),
        samples,
        seconds,
        samples_per_sec: samples as f64 / seconds,
        state_bytes: det.snapshot().len(),
        struct_bytes: match cfg.method {
            vigia_ml::Method::Art => std::mem::size_of::<vigia_ml::ArtDetector>(),
            vigia_ml::Method::Stream => std::mem::size_of::<vigia_ml::StreamDetector>(),
        },
    }
}

/// `vigia bench detector`.
pub fn run(json: bool) -> Result<()> {
    let b = bench_detector(&DetectorConfig::default());
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&b).context("encoding the report")?
        );
    } else {
        println!("detector config {}", b.config_hash);
        println!(
            "{:.0} samples/s on one core ({} samples in {:.2} s); goal ≥ 1,000,000",
            b.samples_per_sec, b.samples, b.seconds
        );
        println!(
            "state per series: {} bytes serialised, {} bytes in memory",
            b.state_bytes, b.struct_bytes
        );
    }
    Ok(())
}
