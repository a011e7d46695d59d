//! The generated workload shared by `vigia bench query`, `vigia bench rules` and the PromQL
//! differential test: node-like series with counters, a classic histogram and gauges, encoded
//! as remote_write requests and loaded into a server.

use crate::error::{Context, Result, bail};
use indicatif::ProgressBar;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use vigia_model::{Labels, Sample, SeriesSamples};

/// A small deterministic PRNG (splitmix64), so a seed reproduces a workload or query set.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n); 0 when n is 0.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A random element of a non-empty slice (the first one's default otherwise).
    #[allow(dead_code)] // used by tests/promql_diff.rs, which shares this module
    pub fn pick<T: Copy + Default>(&mut self, xs: &[T]) -> T {
        xs.get(self.below(xs.len())).copied().unwrap_or_default()
    }
}

/// Series generated per simulated instance.
pub const SERIES_PER_INSTANCE: usize = 18;

/// Jobs that instances are spread over (round robin).
pub const JOBS: [&str; 3] = ["api", "web", "db"];

/// Upper bounds of the classic histogram `http_request_duration_seconds`.
pub const BUCKETS: [&str; 7] = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"];

/// Generated data: every series with all its samples.
#[derive(Debug, Clone)]
#[allow(dead_code)] // some fields are read only by tests/promql_diff.rs, which shares this module
pub struct Workload {
    /// The series, each with samples in time order.
    pub series: Vec<SeriesSamples>,
    /// Timestamp (ms) of the first step; a whole second. Samples lie 7..=451 ms after each step.
    pub t0: i64,
    /// Timestamp (ms) of the last step.
    pub t_end: i64,
    /// Step between samples of one series, ms.
    pub interval_ms: i64,
    /// Instance labels used (`i-0`, `i-1`, …).
    pub instances: usize,
}

impl Workload {
    /// Total samples.
    pub fn samples(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }
}

/// Generates `instances` simulated instances (18 series each) over `steps` steps of
/// `interval_ms` starting at `t0` (rounded down to a whole second).
///
/// Per instance: `http_requests_total{method,code}` (4 counters with occasional resets),
/// `http_request_duration_seconds_{bucket,sum,count}` (a classic histogram, 9 series),
/// `cpu_temp_celsius{zone}` (2 gauges, may go negative), `node_memory_free_bytes`, `queue_depth`
/// (integer gauge) and `up`. Sample timestamps are offset 7..=451 ms from whole seconds so they
/// never coincide with evaluation times or range boundaries at whole or half seconds, where
/// Prometheus 2.x (closed ranges) and 3.x (left-open ranges) differ. Counters start far above
/// zero and never reset at their first sample, so `rate`'s zero-point limit on extrapolation
/// (changed in Prometheus 2.51) never applies at the start of the data. Values are chosen so
/// that no two series of a gauge or counter tie (each has a distinct tiny binary fraction), which keeps `topk`/`sort`
/// deterministic. The last instance stops reporting after 70 % of the steps (when there are at
/// least 3 instances), for `absent_over_time` and lookback behaviour.
pub fn workload(instances: usize, steps: usize, t0: i64, interval_ms: i64, seed: u64) -> Workload {
    let t0 = t0.div_euclid(1000) * 1000;
    let mut rng = Rng(seed ^ 0x05EE_D0FD_1FF0);
    let mut series: Vec<SeriesSamples> = Vec::with_capacity(instances * SERIES_PER_INSTANCE);
    let mut serial = 0usize;
    for inst in 0..instances {
        let len = if instances >= 3 && inst + 1 == instances {
            steps * 7 / 10
        } else {
            steps
        };
        let mut g = InstanceGen {
            job: JOBS.get(inst % JOBS.len()).copied().unwrap_or("api"),
            instance: format!("i-{inst}"),
            inst,
            len,
            steps,
            t0,
            interval_ms,
            rng: &mut rng,
            series: &mut series,
            serial: &mut serial,
        };
        g.counters();
        g.histogram();
        g.gauges();
    }
    Workload {
        series,
        t0,
        t_end: t0 + steps.saturating_sub(1) as i64 * interval_ms,
        interval_ms,
        instances,
    }
}

/// The series of one simulated instance, generated family by family from the shared random
/// stream (the order of draws is part of the workload's definition).
pub(crate) struct InstanceGen<'a> {
    pub(crate) job: &'static str,
    pub(crate) instance: String,
    pub(crate) inst: usize,
    /// Steps this instance reports (the last one stops early).
    pub(crate) len: usize,
    pub(crate) steps: usize,
    pub(crate) t0: i64,
    pub(crate) interval_ms: i64,
    pub(crate) rng: &'a mut Rng,
    pub(crate) series: &'a mut Vec<SeriesSamples>,
    pub(crate) serial: &'a mut usize,
}

impl InstanceGen<'_> {
    /// Labels of this instance's series `name` plus `extra`.
    pub(crate) fn labels(&self, name: &str, extra: &[(&str, &str)]) -> Labels {
        let mut pairs = vec![
            ("__name__", name),
            ("job", self.job),
            ("instance", self.instance.as_str()),
        ];
        pairs.extend_from_slice(extra);
        Labels::from_pairs(pairs)
    }

    /// Adds a series: its values at each step, at a per-series offset from whole seconds.
    pub(crate) fn add(&mut self, labels: Labels, values: Vec<f64>) {
        let offset = 7 + (*self.serial % 13) as i64 * 37;
        *self.serial += 1;
        let (t0, step) = (self.t0, self.interval_ms);
        let samples = values
            .into_iter()
            .take(self.len)
            .enumerate()
            .map(|(k, v)| Sample::new(t0 + k as i64 * step + offset, v))
            .collect();
        self.series.push(SeriesSamples { labels, samples });
    }

    /// Counters with occasional resets; each has a distinct fractional increment.
    pub(crate) fn counters(&mut self) {
        for method in ["get", "post"] {
            for code in ["200", "500"] {
                let frac = (*self.serial + 1) as f64 / 65536.0;
                let max_inc = if code == "500" { 3 } else { 20 };
                let rng = &mut *self.rng;
                let mut v = 10_000.0 + rng.below(1000) as f64;
                let vals = (0..self.steps)
                    .map(|k| {
                        if k > 0 && rng.chance(0.004) {
                            v = rng.below(5) as f64;
                        } else {
                            v += rng.below(max_inc + 1) as f64 + frac;
                        }
                        v
                    })
                    .collect();
                let l = self.labels("http_requests_total", &[("method", method), ("code", code)]);
                self.add(l, vals);
            }
        }
    }

    /// A classic histogram: cumulative buckets, sum and count, resetting together.
    pub(crate) fn histogram(&mut self) {
        let bounds = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, f64::INFINITY];
        let mut counts = [
            4_000.0, 8_000.0, 12_000.0, 16_000.0, 18_000.0, 19_000.0, 20_000.0,
        ];
        let mut sum = 10_000.0;
        let mut per_step: Vec<([f64; 7], f64)> = Vec::with_capacity(self.steps);
        let speed = 1.0 + self.inst as f64 * 0.37;
        let rng = &mut *self.rng;
        for k in 0..self.steps {
            if k > 0 && rng.chance(0.003) {
                counts = [0.0; 7];
                sum = 0.0;
            }
            for _ in 0..rng.below(12) {
                // Observation in 1/64 s units, so sums stay exact.
                let obs = (rng.unit() * rng.unit() * 3.0 * speed * 64.0).floor() / 64.0;
                sum += obs;
                for (c, b) in counts.iter_mut().zip(bounds) {
                    if obs <= b {
                        *c += 1.0;
                    }
                }
            }
            per_step.push((counts, sum));
        }
        let column = |i: usize| -> Vec<f64> {
            per_step
                .iter()
                .map(|(c, _)| c.get(i).copied().unwrap_or(0.0))
                .collect()
        };
        for (i, le) in BUCKETS.iter().enumerate() {
            let l = self.labels("http_request_duration_seconds_bucket", &[("le", le)]);
            self.add(l, column(i));
        }
        let l = self.labels("http_request_duration_seconds_sum", &[]);
        self.add(l, per_step.iter().map(|(_, s)| *s).collect());
        let l = self.labels("http_request_duration_seconds_count", &[]);
        self.add(l, column(6));
    }

    /// Gauges: two temperatures, free memory, an integer queue depth and `up`.
    pub(crate) fn gauges(&mut self) {
        let steps = self.steps;
        for zone in ["a", "b"] {
            let frac = (*self.serial + 1) as f64 / 1_048_576.0;
            let rng = &mut *self.rng;
            let mut v = 20.0 + rng.below(40) as f64;
            let vals = (0..steps)
                .map(|_| {
                    v = (v + (rng.below(9) as f64 - 4.0) * 0.25).clamp(-10.0, 85.0);
                    v + frac
                })
                .collect();
            let l = self.labels("cpu_temp_celsius", &[("zone", zone)]);
            self.add(l, vals);
        }
        let rng = &mut *self.rng;
        let mut v = 2.0e9 + (*self.serial as f64) * 4096.0 * 1000.0;
        let vals = (0..steps)
            .map(|_| {
                v += (rng.below(2001) as f64 - 1000.0) * 4096.0;
                v
            })
            .collect();
        let l = self.labels("node_memory_free_bytes", &[]);
        self.add(l, vals);
        let rng = &mut *self.rng;
        let mut v = rng.below(50) as f64;
        let vals = (0..steps)
            .map(|_| {
                if rng.chance(0.3) {
                    v = (v + rng.below(11) as f64 - 5.0).clamp(0.0, 100.0);
                }
                v
            })
            .collect();
        let l = self.labels("queue_depth", &[]);
        self.add(l, vals);
        let rng = &mut *self.rng;
        let vals = (0..steps)
            .map(|_| if rng.chance(0.03) { 0.0 } else { 1.0 })
            .collect();
        let l = self.labels("up", &[]);
        self.add(l, vals);
    }
}

/// remote_write bodies in time order: each request holds every series' samples of a few
/// consecutive steps (about `target_samples` samples), split into `parts` disjoint groups of
/// series that may be sent concurrently. Sending the requests of one step group before the next
/// keeps every series in order and the whole write close to Prometheus' head time, so no sample
/// is rejected as out of order or out of bounds.
pub fn encode_requests(w: &Workload, target_samples: usize, parts: usize) -> Vec<Vec<Vec<u8>>> {
    let n = w.series.len().max(1);
    let steps = w.series.iter().map(|s| s.samples.len()).max().unwrap_or(0);
    let per_req = (target_samples / n).max(1);
    let parts = parts.max(1);
    let per_part = n.div_ceil(parts);
    let mut out = Vec::new();
    let mut step = 0;
    while step < steps {
        let end = (step + per_req).min(steps);
        let group: Vec<Vec<u8>> = w
            .series
            .chunks(per_part)
            .map(|chunk| {
                let part: Vec<SeriesSamples> = chunk
                    .iter()
                    .filter_map(|s| {
                        let samples = s.samples.get(step..end.min(s.samples.len()))?.to_vec();
                        (!samples.is_empty()).then(|| SeriesSamples {
                            labels: s.labels.clone(),
                            samples,
                        })
                    })
                    .collect();
                vigia_ingest::remote_write::encode(&part)
            })
            .collect();
        out.push(group);
        step = end;
    }
    out
}

/// Sends the requests of [`encode_requests`] to `base_url/api/v1/write`: groups in order, the
/// parts of one group concurrently. Fails on the first refused request.
pub fn load(base_url: &str, requests: &[Vec<Vec<u8>>], pb: &ProgressBar) -> Result<()> {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()?;
    let url = format!("{base_url}/api/v1/write");
    for group in requests {
        let results: Vec<Result<()>> = std::thread::scope(|scope| {
            let handles: Vec<_> = group
                .iter()
                .map(|body| {
                    let (client, url) = (&client, &url);
                    scope.spawn(move || -> Result<()> {
                        let r = client
                            .post(url)
                            .header("Content-Type", "application/x-protobuf")
                            .header("Content-Encoding", "snappy")
                            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                            .body(body.clone())
                            .send()
                            .with_context(|| format!("POST {url}"))?;
                        let status = r.status();
                        if !status.is_success() {
                            bail!("POST {url}: {status}: {}", r.text().unwrap_or_default());
                        }
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(crate::BenchError::Failed(
                            "sender thread panicked".to_string(),
                        ))
                    })
                })
                .collect()
        });
        for r in results {
            r?;
        }
        pb.inc(1);
    }
    Ok(())
}

/// Writes a Prometheus configuration with no scrape jobs (1 m evaluation interval, which is also
/// the default subquery step) and returns the command line that starts Debian's `prometheus` as
/// a remote-write receiver on `127.0.0.1:port` with its TSDB in `dir/data`.
pub fn prometheus_command(bin: &Path, dir: &Path, port: u16) -> Result<Command> {
    let mut cmd = crate::procs::prometheus(
        bin,
        dir,
        port,
        "global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\n",
    )?;
    cmd.arg("--query.max-samples=200000000");
    Ok(cmd)
}
