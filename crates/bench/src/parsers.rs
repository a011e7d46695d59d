//! Throughput measurement of the decoders, for the project's benchmark command. Generates a
//! synthetic payload, decodes it repeatedly and reports samples per second. No assertions.

use std::time::Instant;
use vigia_ingest::{Limits, remote_write, textformat};
use vigia_model::{Labels, Sample, SeriesSamples};

/// Result of one throughput measurement.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Throughput {
    /// What was measured.
    pub name: &'static str,
    /// Payload size in bytes (as decoded).
    pub payload_bytes: usize,
    /// Samples decoded in total.
    pub samples: u64,
    /// Wall-clock seconds spent decoding.
    pub seconds: f64,
    /// `samples / seconds`.
    pub samples_per_second: f64,
}

fn synthetic(series: usize, samples_per_series: usize) -> Vec<SeriesSamples> {
    (0..series)
        .map(|i| SeriesSamples {
            labels: Labels::from_pairs([
                ("__name__", format!("bench_metric_{}", i % 50)),
                ("job", "bench".to_string()),
                ("instance", format!("host-{}:9100", i % 100)),
                ("path", format!("/api/v1/resource/{i}")),
            ]),
            samples: (0..samples_per_series)
                .map(|j| Sample::new(1_700_000_000_000 + j as i64 * 15_000, (i * j) as f64 * 0.5))
                .collect(),
        })
        .collect()
}

fn finish(name: &'static str, payload_bytes: usize, samples: u64, start: Instant) -> Throughput {
    let seconds = start.elapsed().as_secs_f64();
    Throughput {
        name,
        payload_bytes,
        samples,
        seconds,
        samples_per_second: if seconds > 0.0 {
            samples as f64 / seconds
        } else {
            0.0
        },
    }
}

/// Decodes a remote_write body of `series` × `samples_per_series` samples `rounds` times.
pub fn remote_write_throughput(
    series: usize,
    samples_per_series: usize,
    rounds: usize,
) -> Throughput {
    let body = remote_write::encode(&synthetic(series, samples_per_series));
    let limits = Limits {
        max_series_per_request: usize::MAX,
        max_samples_per_request: usize::MAX,
        ..Limits::default()
    };
    let start = Instant::now();
    let mut samples = 0u64;
    for _ in 0..rounds {
        if let Ok(d) = remote_write::decode(&body, &limits) {
            samples += d.sample_count() as u64;
        }
    }
    finish("remote_write decode", body.len(), samples, start)
}

/// Parses a Prometheus text exposition of `series` lines `rounds` times.
pub fn textformat_throughput(series: usize, rounds: usize) -> Throughput {
    let mut body = String::new();
    for s in synthetic(series, 1) {
        let name = s.labels.metric_name().unwrap_or("x").to_string();
        let rest: Vec<String> = s
            .labels
            .without_metric_name()
            .iter()
            .map(|l| format!("{}=\"{}\"", l.name, l.value))
            .collect();
        body.push_str(&format!(
            "{name}{{{}}} {}\n",
            rest.join(","),
            s.samples.first().map(|x| x.v).unwrap_or(0.0)
        ));
    }
    let limits = Limits {
        max_series_per_request: usize::MAX,
        max_samples_per_request: usize::MAX,
        ..Limits::default()
    };
    let start = Instant::now();
    let mut samples = 0u64;
    for _ in 0..rounds {
        if let Ok(d) = textformat::parse(body.as_bytes(), None, 0, &limits) {
            samples += d.sample_count() as u64;
        }
    }
    finish("text format parse", body.len(), samples, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_something() {
        let r = remote_write_throughput(10, 3, 2);
        assert_eq!(r.samples, 60);
        let t = textformat_throughput(10, 2);
        assert_eq!(t.samples, 20);
    }
}
