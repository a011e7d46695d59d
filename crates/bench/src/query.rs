//! `vigia bench query`: vigia and Debian's `prometheus` loaded with the same generated workload
//! over remote_write, then a fixed PromQL query set run as range queries over 1 h, 6 h and 24 h.
//! Reports median and p99 latency per server, the vigia/Prometheus ratio per query, and whether
//! the results agree.
//!
//! The workload generator, the loader and the result comparison are also used by the PromQL
//! differential test (`crates/cli/tests/promql_diff.rs`), so the benchmark and the test compare
//! results the same way.

use crate::error::Result;
use crate::procs::{self, Server};
use clap::Args;
use indicatif::ProgressBar;
use serde::Serialize;
use serde_json::Value as J;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod compare;
mod workload;

pub use compare::{
    ABS_TOLERANCE, Difference, Outcome, REL_TOLERANCE, When, compare, run_query, show, values_close,
};
pub use workload::{
    BUCKETS, JOBS, Rng, SERIES_PER_INSTANCE, Workload, encode_requests, load, prometheus_command,
    workload,
};

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
    procs::print_report(&measure(&args)?, args.json, print_table)
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

    let (prom, prom_load) = match procs::find_binary("prometheus") {
        None => {
            eprintln!(
                "prometheus is not installed (apt-get install prometheus): timing vigia alone, results unchecked"
            );
            (None, None)
        }
        Some(bin) => {
            let pb = bar(requests.len() as u64, "loading prometheus");
            let (server, secs) = start_prometheus(&bin, &work, &requests, &pb)?;
            pb.finish_and_clear();
            (Some(server), Some(secs))
        }
    };

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
            let servers = Servers {
                client: &client,
                vigia: &vigia.url,
                prometheus: prom.as_ref().map(|p| p.url.as_str()),
            };
            let r = servers.time(q, when, args.repetitions, &pb)?;
            results.push(QueryResult {
                name: name.to_string(),
                query: q.to_string(),
                range_hours: *hours,
                step_seconds: step / 1000,
                ..r
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

/// Starts Debian's `prometheus` on a free port under `work` and loads the workload into it;
/// returns the server and the load time in seconds.
fn start_prometheus(
    bin: &Path,
    work: &Path,
    requests: &[Vec<Vec<u8>>],
    pb: &ProgressBar,
) -> Result<(Server, f64)> {
    let port = procs::free_port()?;
    let pdir = work.join("prometheus");
    let _ = std::fs::remove_dir_all(&pdir);
    let server = procs::start(
        "prometheus",
        prometheus_command(bin, &pdir, port)?,
        format!("http://127.0.0.1:{port}"),
        "/-/ready",
    )?;
    let t = Instant::now();
    load(&server.url, requests, pb)?;
    Ok((server, t.elapsed().as_secs_f64()))
}

/// The servers one query is timed against.
struct Servers<'a> {
    client: &'a reqwest::blocking::Client,
    vigia: &'a str,
    prometheus: Option<&'a str>,
}

impl Servers<'_> {
    /// Runs `q` once on each server (answers compared), then `repetitions` timed runs each.
    /// The result's name, query and range fields are left for the caller to fill.
    fn time(
        &self,
        q: &str,
        when: When,
        repetitions: usize,
        pb: &ProgressBar,
    ) -> Result<QueryResult> {
        let (vout, _) = run_query(self.client, self.vigia, q, when)?;
        pb.inc(1);
        let pout = match self.prometheus {
            Some(url) => {
                let o = run_query(self.client, url, q, when)?.0;
                pb.inc(1);
                Some(o)
            }
            None => None,
        };
        let mut vt = Vec::with_capacity(repetitions);
        let mut pt = Vec::with_capacity(repetitions);
        for _ in 0..repetitions {
            vt.push(run_query(self.client, self.vigia, q, when)?.1);
            pb.inc(1);
            if let Some(url) = self.prometheus {
                pt.push(run_query(self.client, url, q, when)?.1);
                pb.inc(1);
            }
        }
        let vl = latency(vt);
        let pl = self.prometheus.map(|_| latency(pt));
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
        Ok(QueryResult {
            name: String::new(),
            query: String::new(),
            range_hours: 0,
            step_seconds: 0,
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
        })
    }
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
