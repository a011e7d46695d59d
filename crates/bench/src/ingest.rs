//! `vigia bench ingest`: vigia and Debian's `prometheus` side by side on loopback, fed the same
//! remote_write workload built from real node_exporter output. Reports samples/s, server
//! CPU-seconds, samples per CPU-second, peak RSS, bytes on disk per sample, and the ratios.

use crate::error::{Context, Result, bail};
use crate::procs::{self, Server};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigia_model::{Labels, Sample, SeriesSamples};

/// Flags of `vigia bench ingest`.
#[derive(Args, Debug, Clone)]
pub struct IngestBenchArgs {
    /// Active series in the workload (use 1000000 for the memory-per-series scenario).
    #[arg(long, default_value_t = 5_000)]
    pub series: usize,
    /// Samples per series (default: 960, i.e. 4 h at 15 s; with --series ≥ 100000 the default is 3).
    #[arg(long)]
    pub samples_per_series: Option<usize>,
    /// Scrape interval of the simulated exporters, seconds.
    #[arg(long, default_value_t = 15)]
    pub interval_s: i64,
    /// Concurrent connections per server.
    #[arg(long, default_value_t = 2)]
    pub connections: usize,
    /// Samples per remote_write request.
    #[arg(long, default_value_t = 2_000)]
    pub batch: usize,
    /// Skip Prometheus even if installed.
    #[arg(long)]
    pub vigia_only: bool,
    /// Skip building Prometheus blocks with promtool (the slowest step).
    #[arg(long)]
    pub skip_promtool: bool,
    /// Working directory (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Measurements of one server.
#[derive(Debug, Serialize, Default, Clone)]
pub struct ServerResult {
    /// Which server.
    pub server: String,
    /// Samples sent.
    pub samples: u64,
    /// Series sent.
    pub series: u64,
    /// Wall time of the ingest phase, seconds.
    pub wall_seconds: f64,
    /// Samples per wall second.
    pub samples_per_second: f64,
    /// Server CPU seconds spent during ingest.
    pub cpu_seconds: f64,
    /// Samples per server CPU second.
    pub samples_per_cpu_second: f64,
    /// Peak resident memory during ingest, bytes.
    pub peak_rss_bytes: u64,
    /// Peak resident memory including the flush into blocks (vigia only), bytes.
    pub flush_peak_rss_bytes: u64,
    /// Resident memory before ingest, bytes.
    pub idle_rss_bytes: u64,
    /// Peak RSS above idle, per active series, bytes.
    pub rss_bytes_per_series: f64,
    /// Bytes on disk after flush (vigia: whole data dir; Prometheus: promtool-built blocks).
    pub disk_bytes: u64,
    /// disk_bytes / samples.
    pub bytes_per_sample: f64,
    /// Requests refused by the server.
    pub failed_requests: u64,
}

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Where the series shapes came from.
    pub template: String,
    /// vigia's numbers.
    pub vigia: ServerResult,
    /// Prometheus's numbers, when it ran.
    pub prometheus: Option<ServerResult>,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One series of the template with how its value evolves.
struct Shape {
    labels: Labels,
    start: f64,
    counter: bool,
    decimals: i32,
    constant: bool,
}

fn decimals_of(v: f64) -> i32 {
    if !v.is_finite() || v.fract() == 0.0 {
        return 0;
    }
    let s = format!("{v}");
    s.split_once('.')
        .map(|(_, f)| f.len().min(6) as i32)
        .unwrap_or(0)
}

/// Series shapes from a real node_exporter scrape, or a built-in node-like set.
fn template() -> Result<(String, Vec<(Labels, f64)>)> {
    if let Some(bin) = procs::find_binary("prometheus-node-exporter") {
        let port = procs::free_port()?;
        let mut cmd = Command::new(&bin);
        cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"));
        let server = procs::start(
            "node_exporter",
            cmd,
            format!("http://127.0.0.1:{port}"),
            "/metrics",
        )?;
        let body = reqwest::blocking::get(format!("{}/metrics", server.url))?.bytes()?;
        let decoded = vigia_ingest::textformat::parse(
            &body,
            Some("text/plain; version=0.0.4"),
            0,
            &vigia_ingest::Limits::default(),
        )
        .context("parsing node_exporter output")?;
        let series: Vec<(Labels, f64)> = decoded
            .series
            .into_iter()
            .filter_map(|s| s.samples.first().map(|p| (s.labels.clone(), p.v)))
            .filter(|(_, v)| v.is_finite())
            .collect();
        return Ok((
            format!("{} series scraped from {}", series.len(), bin.display()),
            series,
        ));
    }
    let mut out = Vec::new();
    let modes = [
        "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
    ];
    for cpu in 0..8 {
        for (i, m) in modes.iter().enumerate() {
            let cpu_s = cpu.to_string();
            out.push((
                Labels::from_pairs([
                    ("__name__", "node_cpu_seconds_total"),
                    ("cpu", cpu_s.as_str()),
                    ("mode", m),
                ]),
                1000.0 * (i + 1) as f64 + 0.37,
            ));
        }
    }
    for m in [
        "MemTotal",
        "MemFree",
        "MemAvailable",
        "Buffers",
        "Cached",
        "SwapTotal",
        "SwapFree",
        "Active",
        "Inactive",
        "Dirty",
    ] {
        out.push((
            Labels::from_pairs([("__name__", format!("node_memory_{m}_bytes"))]),
            8.0e9,
        ));
    }
    for dev in ["eth0", "lo"] {
        for m in [
            "receive_bytes",
            "transmit_bytes",
            "receive_packets",
            "transmit_packets",
            "receive_errs",
            "transmit_errs",
        ] {
            out.push((
                Labels::from_pairs([
                    ("__name__", format!("node_network_{m}_total")),
                    ("device", dev.to_string()),
                ]),
                1.0e6,
            ));
        }
    }
    for l in ["1", "5", "15"] {
        out.push((
            Labels::from_pairs([("__name__", format!("node_load{l}"))]),
            0.52,
        ));
    }
    Ok((
        "built-in node-like template (prometheus-node-exporter not installed)".into(),
        out,
    ))
}

fn shapes(template: &[(Labels, f64)], n: usize, rng: &mut Rng) -> Vec<Shape> {
    let mut out = Vec::with_capacity(n);
    let mut instance = 0usize;
    while out.len() < n {
        let inst = format!("host-{instance:05}:9100");
        for (labels, v) in template {
            if out.len() >= n {
                break;
            }
            let mut b = labels.builder();
            b.set("instance", inst.clone()).set("job", "node");
            let name = labels.metric_name().unwrap_or("");
            let counter = name.ends_with("_total")
                || name.ends_with("_count")
                || name.ends_with("_sum")
                || name.ends_with("_bucket");
            out.push(Shape {
                labels: b.build(),
                start: *v,
                counter,
                decimals: decimals_of(*v),
                constant: !counter && rng.unit() < 0.5,
            });
        }
        instance += 1;
    }
    out
}

fn round_to(v: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals);
    (v * p).round() / p
}

/// Values of every series at every step, generated once so both servers get identical data.
fn generate(
    shapes: &[Shape],
    steps: usize,
    t0: i64,
    interval_ms: i64,
    rng: &mut Rng,
) -> Vec<Vec<Sample>> {
    shapes
        .iter()
        .map(|s| {
            let mut v = s.start;
            let rate = (s.start.abs() * 1e-4).max(1.0) * rng.unit();
            (0..steps)
                .map(|k| {
                    let jitter = (rng.next() % 40) as i64; // scrape timestamps jitter by a few ms
                    let t = t0 + k as i64 * interval_ms + jitter;
                    if k > 0 {
                        if s.counter {
                            v = round_to(v + rate * (0.5 + rng.unit()), s.decimals);
                        } else if !s.constant {
                            v = round_to(
                                v + (rng.unit() - 0.5) * s.start.abs().max(1.0) * 0.01,
                                s.decimals,
                            );
                        }
                    }
                    Sample::new(t, v)
                })
                .collect()
        })
        .collect()
}

/// Pre-encoded remote_write bodies per connection; each connection owns a disjoint set of
/// series, so per-series order is preserved.
fn encode_requests(
    shapes: &[Shape],
    data: &[Vec<Sample>],
    conns: usize,
    batch: usize,
) -> Vec<Vec<(Vec<u8>, u64)>> {
    let per_conn = shapes.len().div_ceil(conns.max(1));
    let steps = data.first().map(|d| d.len()).unwrap_or(0);
    (0..conns.max(1))
        .map(|c| {
            let range = (c * per_conn).min(shapes.len())..((c + 1) * per_conn).min(shapes.len());
            let mut reqs = Vec::new();
            // Send whole steps (all series at one scrape time), `batch` samples per request, like
            // a Prometheus remote-write queue does.
            let steps_per_req = (batch / range.len().max(1)).max(1);
            let mut step = 0;
            while step < steps {
                let end_step = (step + steps_per_req).min(steps);
                let ids: Vec<usize> = range.clone().collect();
                for chunk in ids.chunks(batch.max(1)) {
                    let series: Vec<SeriesSamples> = chunk
                        .iter()
                        .filter_map(|&i| {
                            Some(SeriesSamples {
                                labels: shapes.get(i)?.labels.clone(),
                                samples: data.get(i)?.get(step..end_step)?.to_vec(),
                            })
                        })
                        .collect();
                    let n: u64 = series.iter().map(|s| s.samples.len() as u64).sum();
                    reqs.push((vigia_ingest::remote_write::encode(&series), n));
                }
                step = end_step;
            }
            reqs
        })
        .collect()
}

fn send_all(
    server: &Server,
    requests: &[Vec<(Vec<u8>, u64)>],
    pb: &ProgressBar,
) -> Result<(f64, u64)> {
    let url = format!("{}/api/v1/write", server.url);
    let failed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    std::thread::scope(|scope| {
        for reqs in requests {
            let (url, failed, pb) = (url.clone(), failed.clone(), pb.clone());
            scope.spawn(move || {
                let Ok(client) = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(120))
                    .build()
                else {
                    failed.fetch_add(reqs.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    return;
                };
                for (body, n) in reqs {
                    let ok = client
                        .post(&url)
                        .header("Content-Type", "application/x-protobuf")
                        .header("Content-Encoding", "snappy")
                        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                        .body(body.clone())
                        .send()
                        .map(|r| r.status().is_success())
                        .unwrap_or(false);
                    if !ok {
                        failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    pb.inc(*n);
                }
            });
        }
    });
    Ok((
        start.elapsed().as_secs_f64(),
        failed.load(std::sync::atomic::Ordering::Relaxed),
    ))
}

fn measure(
    server: &Server,
    requests: &[Vec<(Vec<u8>, u64)>],
    samples: u64,
    series: u64,
    quiet: bool,
) -> Result<ServerResult> {
    let pid = server.child.id();
    std::thread::sleep(Duration::from_millis(500));
    let idle_rss = procs::rss(pid).1;
    let cpu0 = procs::cpu_seconds(pid);
    let pb = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(samples)
    };
    pb.set_style(
        ProgressStyle::with_template(&format!(
            "{:>10} {{bar:40}} {{pos}}/{{len}} samples {{per_sec}} {{eta}}",
            server.name
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (wall, failed) = send_all(server, requests, &pb)?;
    pb.finish_and_clear();
    let cpu = procs::cpu_seconds(pid) - cpu0;
    let peak = procs::rss(pid).0;
    Ok(ServerResult {
        server: server.name.to_string(),
        samples,
        series,
        wall_seconds: wall,
        samples_per_second: samples as f64 / wall.max(1e-9),
        cpu_seconds: cpu,
        samples_per_cpu_second: samples as f64 / cpu.max(1e-9),
        peak_rss_bytes: peak,
        idle_rss_bytes: idle_rss,
        rss_bytes_per_series: peak.saturating_sub(idle_rss) as f64 / series.max(1) as f64,
        failed_requests: failed,
        ..Default::default()
    })
}

/// Writes the workload as OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`.
fn write_openmetrics(path: &Path, shapes: &[Shape], data: &[Vec<Sample>]) -> Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut order: Vec<usize> = (0..shapes.len()).collect();
    order.sort_by(|a, b| {
        shapes[*a]
            .labels
            .metric_name()
            .cmp(&shapes[*b].labels.metric_name())
    });
    let mut current = None;
    for i in order {
        let (Some(shape), Some(samples)) = (shapes.get(i), data.get(i)) else {
            continue;
        };
        let name = shape.labels.metric_name().unwrap_or("unnamed");
        if current != Some(name) {
            writeln!(f, "# TYPE {name} unknown")?;
            current = Some(name);
        }
        let labels: Vec<String> = shape
            .labels
            .iter()
            .filter(|l| l.name != "__name__")
            .map(|l| format!("{}=\"{}\"", l.name, escape(&l.value)))
            .collect();
        for s in samples {
            writeln!(
                f,
                "{name}{{{}}} {} {}.{:03}",
                labels.join(","),
                fmt_value(s.v),
                s.t.div_euclid(1000),
                s.t.rem_euclid(1000)
            )?;
        }
    }
    writeln!(f, "# EOF")?;
    f.flush()?;
    Ok(())
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// Entry point.
pub fn run(args: IngestBenchArgs) -> Result<()> {
    let steps = args
        .samples_per_series
        .unwrap_or(if args.series >= 100_000 { 3 } else { 960 });
    let tmp = match &args.work_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            None
        }
        None => Some(tempdir()?),
    };
    let work = args
        .work_dir
        .clone()
        .or_else(|| tmp.as_ref().map(|t| t.0.clone()))
        .context("work dir")?;
    let (template_desc, template) = template()?;
    if template.is_empty() {
        bail!("the node_exporter template is empty");
    }
    let mut rng = Rng(42);
    let shapes = shapes(&template, args.series, &mut rng);
    let interval_ms = args.interval_s * 1000;
    let now = chrono::Utc::now().timestamp_millis();
    let t0 = (now - steps as i64 * interval_ms) / 1000 * 1000 + 7; // never on a whole second
    let data = generate(&shapes, steps, t0, interval_ms, &mut rng);
    let requests = encode_requests(&shapes, &data, args.connections, args.batch);
    let samples: u64 = requests.iter().flatten().map(|(_, n)| *n).sum();
    let series = shapes.len() as u64;
    if !args.json {
        println!(
            "workload: {series} series × {steps} samples = {samples} samples, {} requests over {} connections; {template_desc}",
            requests.iter().map(|r| r.len()).sum::<usize>(),
            args.connections
        );
    }

    // vigia
    let exe = std::env::current_exe()?;
    let port = procs::free_port()?;
    let vdir = work.join("vigia-data");
    let _ = std::fs::remove_dir_all(&vdir);
    let mut cmd = Command::new(&exe);
    cmd.args([
        "serve",
        "--enable-admin-api",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
    ])
    .arg(&vdir);
    let vigia = procs::start("vigia", cmd, format!("http://127.0.0.1:{port}"), "/-/ready")?;
    let mut vres = measure(&vigia, &requests, samples, series, args.json)?;
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()?;
    let r = client
        .post(format!("{}/api/v1/admin/tsdb/flush", vigia.url))
        .send()?;
    if !r.status().is_success() {
        bail!("vigia flush failed: {}", r.text().unwrap_or_default());
    }
    vres.flush_peak_rss_bytes = procs::rss(vigia.child.id()).0;
    vres.disk_bytes = procs::dir_bytes(&vdir);
    vres.bytes_per_sample = vres.disk_bytes as f64 / samples.max(1) as f64;
    drop(vigia);

    // Prometheus
    let mut pres = None;
    if !args.vigia_only {
        match procs::find_binary("prometheus") {
            None => eprintln!(
                "prometheus is not installed (apt-get install prometheus): reporting vigia alone"
            ),
            Some(bin) => {
                let port = procs::free_port()?;
                let pdir = work.join("prometheus-data");
                let _ = std::fs::remove_dir_all(&pdir);
                let cfg = work.join("prometheus.yml");
                std::fs::write(&cfg, "global:\n  scrape_interval: 1h\n")?;
                let mut cmd = Command::new(&bin);
                cmd.arg(format!("--config.file={}", cfg.display()))
                    .arg(format!("--storage.tsdb.path={}", pdir.display()))
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .arg("--web.enable-remote-write-receiver");
                let prom = procs::start(
                    "prometheus",
                    cmd,
                    format!("http://127.0.0.1:{port}"),
                    "/-/ready",
                )?;
                let mut r = measure(&prom, &requests, samples, series, args.json)?;
                drop(prom);
                if !args.skip_promtool
                    && let Some(promtool) = procs::find_binary("promtool")
                {
                    let om = work.join("workload.om");
                    write_openmetrics(&om, &shapes, &data)?;
                    let out = work.join("promtool-blocks");
                    let _ = std::fs::remove_dir_all(&out);
                    let st = Command::new(promtool)
                        .args(["tsdb", "create-blocks-from", "openmetrics"])
                        .arg(&om)
                        .arg(&out)
                        .stdout(std::process::Stdio::null())
                        .status()?;
                    if !st.success() {
                        bail!("promtool tsdb create-blocks-from openmetrics failed");
                    }
                    let _ = std::fs::remove_file(&om);
                    r.disk_bytes = procs::dir_bytes(&out);
                    r.bytes_per_sample = r.disk_bytes as f64 / samples.max(1) as f64;
                }
                pres = Some(r);
            }
        }
    }
    let report = Report {
        template: template_desc,
        vigia: vres,
        prometheus: pres,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    drop(tmp);
    Ok(())
}

fn print_table(r: &Report) {
    let v = &r.vigia;
    let p = r.prometheus.as_ref();
    let row = |name: &str, a: f64, b: Option<f64>, fmt: &dyn Fn(f64) -> String, goal: &str| {
        let ratio = b
            .filter(|b| *b > 0.0)
            .map(|b| format!("{:.2}×", a / b))
            .unwrap_or_else(|| "–".into());
        println!(
            "{name:<28} {:>16} {:>16} {:>9}  {goal}",
            fmt(a),
            b.map(fmt).unwrap_or_else(|| "–".into()),
            ratio
        );
    };
    println!(
        "{:<28} {:>16} {:>16} {:>9}  goal",
        "", "vigia", "prometheus", "ratio"
    );
    let num = |x: f64| format!("{x:.0}");
    let f2 = |x: f64| format!("{x:.2}");
    let mib = |x: f64| format!("{:.1} MiB", x / 1048576.0);
    row(
        "samples/s (wall)",
        v.samples_per_second,
        p.map(|p| p.samples_per_second),
        &num,
        "",
    );
    row(
        "server CPU seconds",
        v.cpu_seconds,
        p.map(|p| p.cpu_seconds),
        &f2,
        "",
    );
    row(
        "samples per CPU-second",
        v.samples_per_cpu_second,
        p.map(|p| p.samples_per_cpu_second),
        &num,
        "≥ 3×",
    );
    row(
        "peak RSS",
        v.peak_rss_bytes as f64,
        p.map(|p| p.peak_rss_bytes as f64),
        &mib,
        "≤ 0.5×",
    );
    row(
        "RSS above idle per series",
        v.rss_bytes_per_series,
        p.map(|p| p.rss_bytes_per_series),
        &|x| format!("{x:.0} B"),
        "≤ 700 B",
    );
    row(
        "bytes on disk",
        v.disk_bytes as f64,
        p.map(|p| p.disk_bytes as f64),
        &mib,
        "",
    );
    row(
        "bytes per sample",
        v.bytes_per_sample,
        p.map(|p| p.bytes_per_sample),
        &|x| format!("{x:.3}"),
        "≤ 0.8",
    );
    println!(
        "failed requests: vigia {}, prometheus {}",
        v.failed_requests,
        p.map(|p| p.failed_requests.to_string())
            .unwrap_or_else(|| "–".into())
    );
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> Result<TempDir> {
    let p = std::env::temp_dir().join(format!(
        "vigia-bench-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    ));
    std::fs::create_dir_all(&p)?;
    Ok(TempDir(p))
}
