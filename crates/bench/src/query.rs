//! `vigia bench query`: vigia and Debian's `prometheus` loaded with the same generated workload
//! over remote_write, then a fixed PromQL query set run as range queries over 1 h, 6 h and 24 h.
//! Reports median and p99 latency per server, the vigia/Prometheus ratio per query, and whether
//! the results agree.
//!
//! The workload generator, the loader and the result comparison are also used by the PromQL
//! differential test (`crates/cli/tests/promql_diff.rs`), so the benchmark and the test compare
//! results the same way.

use crate::error::{Context, Result, bail};
use crate::procs::{self, Server};
use clap::Args;
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use vigia_model::{Labels, Sample, SeriesSamples};

/// Flags of `vigia bench query`.
#[derive(Args, Debug, Clone)]
pub struct QueryBenchArgs {
    /// Number of series in the workload (rounded up to whole simulated instances of 18 series).
    #[arg(long, default_value_t = 2_000)]
    pub series: usize,
    /// Hours of data at a 15 s interval.
    #[arg(long, default_value_t = 24)]
    pub hours: u32,
    /// Timed repetitions of each query on each server (after one untimed run).
    #[arg(long, default_value_t = 5)]
    pub repetitions: usize,
    /// Working directory (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// The vigia binary to benchmark (default: this executable).
    #[arg(long, hide = true)]
    pub vigia_bin: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------------------
// Workload
// ---------------------------------------------------------------------------------------------

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
        let job = JOBS.get(inst % JOBS.len()).copied().unwrap_or("api");
        let instance = format!("i-{inst}");
        let len = if instances >= 3 && inst + 1 == instances {
            steps * 7 / 10
        } else {
            steps
        };
        let mut add = |labels: Labels, values: Vec<f64>, serial: &mut usize| {
            let offset = 7 + (*serial % 13) as i64 * 37;
            *serial += 1;
            let samples = values
                .into_iter()
                .take(len)
                .enumerate()
                .map(|(k, v)| Sample::new(t0 + k as i64 * interval_ms + offset, v))
                .collect();
            series.push(SeriesSamples { labels, samples });
        };
        // Counters with occasional resets; each has a distinct fractional increment.
        for method in ["get", "post"] {
            for code in ["200", "500"] {
                let frac = (serial + 1) as f64 / 65536.0;
                let max_inc = if code == "500" { 3 } else { 20 };
                let mut v = 10_000.0 + rng.below(1000) as f64;
                let vals = (0..steps)
                    .map(|k| {
                        if k > 0 && rng.chance(0.004) {
                            v = rng.below(5) as f64;
                        } else {
                            v += rng.below(max_inc + 1) as f64 + frac;
                        }
                        v
                    })
                    .collect();
                let l = Labels::from_pairs([
                    ("__name__", "http_requests_total"),
                    ("job", job),
                    ("instance", instance.as_str()),
                    ("method", method),
                    ("code", code),
                ]);
                add(l, vals, &mut serial);
            }
        }
        // A classic histogram: cumulative buckets, sum and count, resetting together.
        {
            let bounds = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, f64::INFINITY];
            let mut counts = [
                4_000.0, 8_000.0, 12_000.0, 16_000.0, 18_000.0, 19_000.0, 20_000.0,
            ];
            let mut sum = 10_000.0;
            let mut per_step: Vec<([f64; 7], f64)> = Vec::with_capacity(steps);
            let speed = 1.0 + inst as f64 * 0.37;
            for k in 0..steps {
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
            for (i, le) in BUCKETS.iter().enumerate() {
                let l = Labels::from_pairs([
                    ("__name__", "http_request_duration_seconds_bucket"),
                    ("job", job),
                    ("instance", instance.as_str()),
                    ("le", *le),
                ]);
                add(
                    l,
                    per_step
                        .iter()
                        .map(|(c, _)| c.get(i).copied().unwrap_or(0.0))
                        .collect(),
                    &mut serial,
                );
            }
            let l = Labels::from_pairs([
                ("__name__", "http_request_duration_seconds_sum"),
                ("job", job),
                ("instance", instance.as_str()),
            ]);
            add(l, per_step.iter().map(|(_, s)| *s).collect(), &mut serial);
            let l = Labels::from_pairs([
                ("__name__", "http_request_duration_seconds_count"),
                ("job", job),
                ("instance", instance.as_str()),
            ]);
            add(
                l,
                per_step
                    .iter()
                    .map(|(c, _)| c.get(6).copied().unwrap_or(0.0))
                    .collect(),
                &mut serial,
            );
        }
        // Gauges.
        for zone in ["a", "b"] {
            let frac = (serial + 1) as f64 / 1_048_576.0;
            let mut v = 20.0 + rng.below(40) as f64;
            let vals = (0..steps)
                .map(|_| {
                    v = (v + (rng.below(9) as f64 - 4.0) * 0.25).clamp(-10.0, 85.0);
                    v + frac
                })
                .collect();
            let l = Labels::from_pairs([
                ("__name__", "cpu_temp_celsius"),
                ("job", job),
                ("instance", instance.as_str()),
                ("zone", zone),
            ]);
            add(l, vals, &mut serial);
        }
        {
            let mut v = 2.0e9 + (serial as f64) * 4096.0 * 1000.0;
            let vals = (0..steps)
                .map(|_| {
                    v += (rng.below(2001) as f64 - 1000.0) * 4096.0;
                    v
                })
                .collect();
            let l = Labels::from_pairs([
                ("__name__", "node_memory_free_bytes"),
                ("job", job),
                ("instance", instance.as_str()),
            ]);
            add(l, vals, &mut serial);
        }
        {
            let mut v = rng.below(50) as f64;
            let vals = (0..steps)
                .map(|_| {
                    if rng.chance(0.3) {
                        v = (v + rng.below(11) as f64 - 5.0).clamp(0.0, 100.0);
                    }
                    v
                })
                .collect();
            let l = Labels::from_pairs([
                ("__name__", "queue_depth"),
                ("job", job),
                ("instance", instance.as_str()),
            ]);
            add(l, vals, &mut serial);
        }
        {
            let vals = (0..steps)
                .map(|_| if rng.chance(0.03) { 0.0 } else { 1.0 })
                .collect();
            let l = Labels::from_pairs([
                ("__name__", "up"),
                ("job", job),
                ("instance", instance.as_str()),
            ]);
            add(l, vals, &mut serial);
        }
    }
    Workload {
        series,
        t0,
        t_end: t0 + steps.saturating_sub(1) as i64 * interval_ms,
        interval_ms,
        instances,
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
                        Err(crate::BenchError::Failed(format!("sender thread panicked")))
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
    std::fs::create_dir_all(dir)?;
    let cfg = dir.join("prometheus.yml");
    std::fs::write(
        &cfg,
        "global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\n",
    )?;
    let mut cmd = Command::new(bin);
    cmd.arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .arg("--query.max-samples=200000000");
    Ok(cmd)
}

// ---------------------------------------------------------------------------------------------
// Queries and comparison
// ---------------------------------------------------------------------------------------------

/// When a query is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum When {
    /// `/api/v1/query` at this time (ms).
    #[allow(dead_code)] // used by tests/promql_diff.rs, which shares this module
    Instant(i64),
    /// `/api/v1/query_range` from `start` to `end` every `step` (all ms).
    Range {
        /// First evaluation time.
        start: i64,
        /// Last evaluation time (inclusive).
        end: i64,
        /// Resolution.
        step: i64,
    },
}

/// What a server answered: the `data` object, or the error.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// `status: success`; the `data` object.
    Data(J),
    /// `status: error`: HTTP status, `errorType` and `error`.
    Error(u16, String),
}

impl Outcome {
    /// True when the answer carries at least one sample (a scalar or string always does).
    #[allow(dead_code)] // used by tests/promql_diff.rs, which shares this module
    pub fn non_empty(&self) -> bool {
        match self {
            Outcome::Data(d) => match d.get("result") {
                Some(J::Array(a)) => match d.get("resultType").and_then(J::as_str) {
                    Some("vector" | "matrix") => !a.is_empty(),
                    _ => true,
                },
                _ => false,
            },
            Outcome::Error(..) => false,
        }
    }
}

fn secs(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// Runs `expr` against a Prometheus-compatible HTTP API; returns the outcome and the wall time
/// of the request (including transfer and JSON decoding).
pub fn run_query(
    client: &reqwest::blocking::Client,
    base_url: &str,
    expr: &str,
    when: When,
) -> Result<(Outcome, Duration)> {
    let start = Instant::now();
    let req = match when {
        When::Instant(t) => client
            .get(format!("{base_url}/api/v1/query"))
            .query(&[("query", expr.to_string()), ("time", secs(t))]),
        When::Range { start, end, step } => client
            .get(format!("{base_url}/api/v1/query_range"))
            .query(&[
                ("query", expr.to_string()),
                ("start", secs(start)),
                ("end", secs(end)),
                ("step", secs(step)),
            ]),
    };
    let r = req
        .send()
        .with_context(|| format!("query {expr:?} to {base_url}"))?;
    let code = r.status().as_u16();
    let body: J = r
        .json()
        .with_context(|| format!("query {expr:?} to {base_url}: response is not JSON"))?;
    let elapsed = start.elapsed();
    let out = if body.get("status").and_then(J::as_str) == Some("success") {
        Outcome::Data(body.get("data").cloned().unwrap_or(J::Null))
    } else {
        let kind = body.get("errorType").and_then(J::as_str).unwrap_or("?");
        let msg = body.get("error").and_then(J::as_str).unwrap_or("?");
        Outcome::Error(code, format!("{kind}: {msg}"))
    };
    Ok((out, elapsed))
}

/// Relative tolerance of value comparisons.
pub const REL_TOLERANCE: f64 = 1e-9;
/// Absolute tolerance, only for results within rounding noise of zero (e.g. an average of values
/// that cancel out, computed with a different summation order).
pub const ABS_TOLERANCE: f64 = 1e-12;

/// Whether two sample values agree: NaN equals NaN, infinities must be equal, finite values
/// within [`REL_TOLERANCE`] relative (or [`ABS_TOLERANCE`] absolute).
pub fn values_close(a: f64, b: f64) -> bool {
    if a.is_nan() || b.is_nan() {
        return a.is_nan() && b.is_nan();
    }
    if a == b {
        return true;
    }
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    let d = (a - b).abs();
    d <= REL_TOLERANCE * a.abs().max(b.abs()) || d <= ABS_TOLERANCE
}

fn parse_value(v: &J) -> Option<f64> {
    match v.as_str()? {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        s => s.parse().ok(),
    }
}

fn parse_point(p: &J) -> Option<(i64, f64)> {
    let t = p.get(0)?.as_f64()?;
    Some(((t * 1000.0).round() as i64, parse_value(p.get(1)?)?))
}

type Metric = BTreeMap<String, String>;
type MatrixSeries = (Metric, Vec<(i64, f64)>);

fn parse_metric(m: Option<&J>) -> Metric {
    m.and_then(J::as_object)
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn fmt_metric(m: &Metric) -> String {
    let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// Compares two answers to the same query. Equal means: both errors (the message may differ),
/// or the same resultType, exactly the same label sets, the same timestamps and values within
/// tolerance ([`values_close`]). Vectors and matrices are compared order-insensitively, except
/// that with `ordered` (a top-level `sort`/`sort_desc`) the sequence of vector values must also
/// be the same (ties may appear in either order). Returns a description of the first
/// difference.
pub fn compare(a: &Outcome, b: &Outcome, ordered: bool) -> Result<(), String> {
    let (da, db) = match (a, b) {
        (Outcome::Error(..), Outcome::Error(..)) => return Ok(()),
        (Outcome::Error(c, e), Outcome::Data(_)) => {
            return Err(format!("only the first failed ({c} {e})"));
        }
        (Outcome::Data(_), Outcome::Error(c, e)) => {
            return Err(format!("only the second failed ({c} {e})"));
        }
        (Outcome::Data(a), Outcome::Data(b)) => (a, b),
    };
    let ta = da.get("resultType").and_then(J::as_str).unwrap_or("?");
    let tb = db.get("resultType").and_then(J::as_str).unwrap_or("?");
    if ta != tb {
        return Err(format!("resultType {ta} vs {tb}"));
    }
    let ra = da.get("result").cloned().unwrap_or(J::Null);
    let rb = db.get("result").cloned().unwrap_or(J::Null);
    match ta {
        "scalar" | "string" => {
            if ta == "string" {
                return if ra == rb {
                    Ok(())
                } else {
                    Err("string results differ".into())
                };
            }
            match (parse_point(&ra), parse_point(&rb)) {
                (Some((t1, v1)), Some((t2, v2))) if t1 == t2 && values_close(v1, v2) => Ok(()),
                (p1, p2) => Err(format!("scalar {p1:?} vs {p2:?}")),
            }
        }
        "vector" => {
            let parse = |r: &J| -> Result<Vec<(Metric, i64, f64)>, String> {
                r.as_array()
                    .ok_or("result is not an array")?
                    .iter()
                    .map(|e| {
                        let (t, v) = e
                            .get("value")
                            .and_then(parse_point)
                            .ok_or_else(|| format!("bad sample {e}"))?;
                        Ok((parse_metric(e.get("metric")), t, v))
                    })
                    .collect()
            };
            let (mut va, mut vb) = (parse(&ra)?, parse(&rb)?);
            if va.len() != vb.len() {
                return Err(format!("{} vs {} samples", va.len(), vb.len()));
            }
            if ordered {
                for (i, (x, y)) in va.iter().zip(&vb).enumerate() {
                    if !values_close(x.2, y.2) {
                        return Err(format!(
                            "sorted order differs at position {i}: {} {} vs {} {}",
                            fmt_metric(&x.0),
                            x.2,
                            fmt_metric(&y.0),
                            y.2
                        ));
                    }
                }
            }
            va.sort_by(|x, y| x.0.cmp(&y.0));
            vb.sort_by(|x, y| x.0.cmp(&y.0));
            for w in va.windows(2).chain(vb.windows(2)) {
                if let [x, y] = w
                    && x.0 == y.0
                {
                    return Err(format!("duplicate series {} in a result", fmt_metric(&x.0)));
                }
            }
            for (x, y) in va.iter().zip(&vb) {
                if x.0 != y.0 {
                    return Err(format!(
                        "label sets differ: {} vs {}",
                        fmt_metric(&x.0),
                        fmt_metric(&y.0)
                    ));
                }
                if x.1 != y.1 || !values_close(x.2, y.2) {
                    return Err(format!(
                        "{}: ({}, {}) vs ({}, {})",
                        fmt_metric(&x.0),
                        x.1,
                        x.2,
                        y.1,
                        y.2
                    ));
                }
            }
            Ok(())
        }
        "matrix" => {
            let parse = |r: &J| -> Result<Vec<MatrixSeries>, String> {
                r.as_array()
                    .ok_or("result is not an array")?
                    .iter()
                    .map(|e| {
                        let pts = e
                            .get("values")
                            .and_then(J::as_array)
                            .map(|a| {
                                a.iter()
                                    .map(|p| parse_point(p).ok_or_else(|| format!("bad point {p}")))
                                    .collect::<Result<Vec<_>, _>>()
                            })
                            .transpose()?
                            .unwrap_or_default();
                        Ok((parse_metric(e.get("metric")), pts))
                    })
                    .collect()
            };
            let (mut ma, mut mb) = (parse(&ra)?, parse(&rb)?);
            ma.sort_by(|x, y| x.0.cmp(&y.0));
            mb.sort_by(|x, y| x.0.cmp(&y.0));
            if ma.len() != mb.len() {
                let la: Vec<String> = ma.iter().map(|s| fmt_metric(&s.0)).collect();
                let lb: Vec<String> = mb.iter().map(|s| fmt_metric(&s.0)).collect();
                return Err(format!(
                    "{} vs {} series: {la:?} vs {lb:?}",
                    ma.len(),
                    mb.len()
                ));
            }
            for (x, y) in ma.iter().zip(&mb) {
                if x.0 != y.0 {
                    return Err(format!(
                        "label sets differ: {} vs {}",
                        fmt_metric(&x.0),
                        fmt_metric(&y.0)
                    ));
                }
                if x.1.len() != y.1.len() {
                    return Err(format!(
                        "{}: {} vs {} points",
                        fmt_metric(&x.0),
                        x.1.len(),
                        y.1.len()
                    ));
                }
                for (p, q) in x.1.iter().zip(&y.1) {
                    if p.0 != q.0 || !values_close(p.1, q.1) {
                        return Err(format!(
                            "{}: point ({}, {}) vs ({}, {})",
                            fmt_metric(&x.0),
                            p.0,
                            p.1,
                            q.0,
                            q.1
                        ));
                    }
                }
            }
            Ok(())
        }
        other => Err(format!("unknown resultType {other}")),
    }
}

/// A one-line rendering of an outcome for failure messages (truncated to `max` characters).
pub fn show(o: &Outcome, max: usize) -> String {
    let s = match o {
        Outcome::Data(d) => d.to_string(),
        Outcome::Error(c, e) => format!("HTTP {c}: {e}"),
    };
    if s.chars().count() > max {
        format!("{}…", s.chars().take(max).collect::<String>())
    } else {
        s
    }
}

// ---------------------------------------------------------------------------------------------
// The benchmark
// ---------------------------------------------------------------------------------------------

/// The fixed query set: (name, PromQL).
pub const QUERIES: [(&str, &str); 10] = [
    ("selector", r#"http_requests_total{job="api",code="200"}"#),
    (
        "sum by rate",
        "sum by (job, code) (rate(http_requests_total[5m]))",
    ),
    ("quantile", "quantile by (job) (0.9, cpu_temp_celsius)"),
    ("topk", "topk(5, rate(http_requests_total[5m]))"),
    (
        "join on",
        r#"rate(http_requests_total{code="500"}[5m]) / on(job, instance, method) rate(http_requests_total{code="200"}[5m])"#,
    ),
    (
        "join group_left",
        "rate(http_requests_total[5m]) * on(job, instance) group_left up",
    ),
    (
        "histogram_quantile",
        "histogram_quantile(0.99, sum by (job, le) (rate(http_request_duration_seconds_bucket[5m])))",
    ),
    (
        "subquery",
        "max_over_time(rate(http_requests_total[5m])[30m:1m])",
    ),
    ("count broad", r#"count({job="api"})"#),
    (
        "avg_over_time",
        "avg_over_time(node_memory_free_bytes[10m])",
    ),
];

/// Latency summary of one query on one server, milliseconds.
#[derive(Debug, Serialize, Clone, Default)]
pub struct Latency {
    /// Median.
    pub median_ms: f64,
    /// 99th percentile (nearest rank).
    pub p99_ms: f64,
}

/// One row of the report.
#[derive(Debug, Serialize, Clone)]
pub struct QueryResult {
    /// Short name of the query.
    pub name: String,
    /// PromQL.
    pub query: String,
    /// Range covered, hours.
    pub range_hours: u32,
    /// Resolution, seconds.
    pub step_seconds: i64,
    /// Series in vigia's answer.
    pub series: usize,
    /// vigia latency.
    pub vigia: Latency,
    /// Prometheus latency, when it ran.
    pub prometheus: Option<Latency>,
    /// vigia median / Prometheus median.
    pub ratio: Option<f64>,
    /// None when the answers agree (or Prometheus did not run); otherwise the difference.
    pub mismatch: Option<String>,
    /// vigia's error, if its answer was an error.
    pub vigia_error: Option<String>,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Series in the workload.
    pub series: usize,
    /// Samples in the workload.
    pub samples: usize,
    /// Timed repetitions per query and server.
    pub repetitions: usize,
    /// Seconds to load the workload into vigia.
    pub vigia_load_seconds: f64,
    /// Seconds to load the workload into Prometheus.
    pub prometheus_load_seconds: Option<f64>,
    /// One row per query and range.
    pub results: Vec<QueryResult>,
    /// Rows whose answers differ.
    pub mismatches: usize,
}

fn latency(mut d: Vec<Duration>) -> Latency {
    d.sort();
    let ms = |x: Option<&Duration>| x.map(|x| x.as_secs_f64() * 1000.0).unwrap_or(0.0);
    let n = d.len();
    let p99_rank = ((n as f64 * 0.99).ceil() as usize).clamp(1, n.max(1)) - 1;
    let median = if n == 0 {
        0.0
    } else if n % 2 == 1 {
        ms(d.get(n / 2))
    } else {
        (ms(d.get(n / 2 - 1)) + ms(d.get(n / 2))) / 2.0
    };
    Latency {
        median_ms: median,
        p99_ms: ms(d.get(p99_rank)),
    }
}

/// Entry point of `vigia bench query`.
pub fn run(args: QueryBenchArgs) -> Result<()> {
    let report = measure(&args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

/// Loads the workload into both servers, runs the query set and returns the report.
pub fn measure(args: &QueryBenchArgs) -> Result<Report> {
    // HTTP clients use rustls with the ring provider (a no-op when main already installed it).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (tmp, work) = procs::work_dir(args.work_dir.as_deref(), "query")?;
    let interval_ms = 15_000;
    let steps = (args.hours.max(1) as usize * 3_600_000 / interval_ms as usize).max(2);
    let instances = args.series.div_ceil(SERIES_PER_INSTANCE).max(1);
    let now = chrono::Utc::now().timestamp_millis();
    let w = workload(
        instances,
        steps,
        now - steps as i64 * interval_ms,
        interval_ms,
        42,
    );
    let requests = encode_requests(&w, 20_000, 2);
    if !args.json {
        println!(
            "workload: {} series × {steps} steps ({} h at 15 s) = {} samples",
            w.series.len(),
            args.hours,
            w.samples()
        );
    }
    let bar = |len: u64, what: &str| procs::bar(len, what, args.json);

    let vigia = procs::start_vigia(args.vigia_bin.as_deref(), &work.join("vigia-data"), &[])?;
    let pb = bar(requests.len() as u64, "loading vigia");
    let t = Instant::now();
    load(&vigia.url, &requests, &pb)?;
    let vigia_load = t.elapsed().as_secs_f64();
    pb.finish_and_clear();

    let mut prom: Option<Server> = None;
    let mut prom_load = None;
    match procs::find_binary("prometheus") {
        None => eprintln!(
            "prometheus is not installed (apt-get install prometheus): timing vigia alone, results unchecked"
        ),
        Some(bin) => {
            let port = procs::free_port()?;
            let pdir = work.join("prometheus");
            let _ = std::fs::remove_dir_all(&pdir);
            let server = procs::start(
                "prometheus",
                prometheus_command(&bin, &pdir, port)?,
                format!("http://127.0.0.1:{port}"),
                "/-/ready",
            )?;
            let pb = bar(requests.len() as u64, "loading prometheus");
            let t = Instant::now();
            load(&server.url, &requests, &pb)?;
            prom_load = Some(t.elapsed().as_secs_f64());
            pb.finish_and_clear();
            prom = Some(server);
        }
    }

    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let ranges: Vec<(u32, i64)> = [(1u32, 15_000i64), (6, 30_000), (24, 120_000)]
        .into_iter()
        .filter(|(h, _)| *h <= args.hours.max(1))
        .collect();
    let servers = 1 + usize::from(prom.is_some());
    let total = (QUERIES.len() * ranges.len() * (args.repetitions + 1) * servers) as u64;
    let pb = bar(total, "queries");
    // Evaluation times lie 500 ms after whole seconds, so neither range windows nor subquery steps
    // ever have a sample (7..451 ms after whole seconds) or a subquery point on their boundary.
    let end = w.t_end / 1000 * 1000 + 1500;
    let mut results = Vec::new();
    for (hours, step) in &ranges {
        for (name, q) in QUERIES {
            pb.set_message(format!("{name} {hours}h"));
            let when = When::Range {
                start: end - i64::from(*hours) * 3_600_000,
                end,
                step: *step,
            };
            let (vout, _) = run_query(&client, &vigia.url, q, when)?;
            pb.inc(1);
            let pout = match &prom {
                Some(p) => {
                    let o = run_query(&client, &p.url, q, when)?.0;
                    pb.inc(1);
                    Some(o)
                }
                None => None,
            };
            let mut vt = Vec::with_capacity(args.repetitions);
            let mut pt = Vec::with_capacity(args.repetitions);
            for _ in 0..args.repetitions {
                vt.push(run_query(&client, &vigia.url, q, when)?.1);
                pb.inc(1);
                if let Some(p) = &prom {
                    pt.push(run_query(&client, &p.url, q, when)?.1);
                    pb.inc(1);
                }
            }
            let vl = latency(vt);
            let pl = prom.as_ref().map(|_| latency(pt));
            let series = match &vout {
                Outcome::Data(d) => d
                    .get("result")
                    .and_then(J::as_array)
                    .map(|a| a.len())
                    .unwrap_or(0),
                Outcome::Error(..) => 0,
            };
            let mismatch = pout.as_ref().and_then(|p| {
                compare(&vout, p, false).err().map(|e| {
                    format!(
                        "{e}; vigia: {}; prometheus: {}",
                        show(&vout, 300),
                        show(p, 300)
                    )
                })
            });
            results.push(QueryResult {
                name: name.to_string(),
                query: q.to_string(),
                range_hours: *hours,
                step_seconds: step / 1000,
                series,
                ratio: pl
                    .as_ref()
                    .filter(|p| p.median_ms > 0.0)
                    .map(|p| vl.median_ms / p.median_ms),
                vigia: vl,
                prometheus: pl,
                mismatch,
                vigia_error: match &vout {
                    Outcome::Error(c, e) => Some(format!("HTTP {c}: {e}")),
                    Outcome::Data(_) => None,
                },
            });
        }
    }
    pb.finish_and_clear();
    let report = Report {
        series: w.series.len(),
        samples: w.samples(),
        repetitions: args.repetitions,
        vigia_load_seconds: vigia_load,
        prometheus_load_seconds: prom_load,
        mismatches: results.iter().filter(|r| r.mismatch.is_some()).count(),
        results,
    };
    drop(vigia);
    drop(prom);
    drop(tmp);
    Ok(report)
}

/// Prints the report as a table, then the details of every mismatch or vigia error.
pub fn print_table(r: &Report) {
    println!(
        "load: vigia {:.1} s, prometheus {}; {} timed repetitions per query",
        r.vigia_load_seconds,
        r.prometheus_load_seconds
            .map(|s| format!("{s:.1} s"))
            .unwrap_or_else(|| "–".into()),
        r.repetitions
    );
    println!(
        "{:<20} {:>5} {:>6} {:>7} {:>11} {:>11} {:>11} {:>11} {:>8}  {:<6} goal ≤ 0.5×",
        "query",
        "range",
        "step",
        "series",
        "vigia p50",
        "vigia p99",
        "prom p50",
        "prom p99",
        "ratio",
        "match"
    );
    let ms = |x: f64| format!("{x:.1} ms");
    for q in &r.results {
        let (pm, pp) = q
            .prometheus
            .as_ref()
            .map(|p| (ms(p.median_ms), ms(p.p99_ms)))
            .unwrap_or_else(|| ("–".into(), "–".into()));
        let ratio = q
            .ratio
            .map(|x| format!("{x:.2}×"))
            .unwrap_or_else(|| "–".into());
        let ok = match (&q.mismatch, &q.prometheus) {
            (Some(_), _) => "DIFF",
            (None, Some(_)) => "ok",
            (None, None) => "–",
        };
        let goal = match q.ratio {
            Some(x) if x <= 0.5 => "met",
            Some(_) => "missed",
            None => "",
        };
        println!(
            "{:<20} {:>4}h {:>5}s {:>7} {:>11} {:>11} {:>11} {:>11} {:>8}  {:<6} {goal}",
            q.name,
            q.range_hours,
            q.step_seconds,
            q.series,
            ms(q.vigia.median_ms),
            ms(q.vigia.p99_ms),
            pm,
            pp,
            ratio,
            ok
        );
    }
    for q in r
        .results
        .iter()
        .filter(|q| q.mismatch.is_some() || q.vigia_error.is_some())
    {
        println!("\n{} ({} h): {}", q.name, q.range_hours, q.query);
        if let Some(e) = &q.vigia_error {
            println!("  vigia error: {e}");
        }
        if let Some(m) = &q.mismatch {
            println!("  MISMATCH: {m}");
        }
    }
    println!(
        "\n{} of {} rows differ from Prometheus",
        r.mismatches,
        r.results.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance() {
        assert!(values_close(f64::NAN, f64::NAN));
        assert!(!values_close(f64::NAN, 1.0));
        assert!(values_close(f64::INFINITY, f64::INFINITY));
        assert!(!values_close(f64::INFINITY, f64::NEG_INFINITY));
        assert!(values_close(1.0, 1.0 + 1e-12));
        assert!(!values_close(1.0, 1.0 + 1e-6));
        assert!(values_close(0.0, 1e-15));
    }
}
