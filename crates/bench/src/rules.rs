//! `vigia bench rules`: the same alerting rule file evaluated by vigia and by Debian's
//! `prometheus`, side by side in one run, over the same node-like series loaded through
//! remote_write. Reports server CPU-seconds per evaluation round (one round = every group
//! evaluated once), the servers' own summed group durations, and how many alerts each holds, so
//! a cheaper server that evaluates less is caught.

use crate::error::{Result, bail};
use crate::procs::{self, Server};
use crate::query::{SERIES_PER_INSTANCE, encode_requests, load, workload};
use clap::Args;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Flags of `vigia bench rules`.
#[derive(Args, Debug, Clone)]
pub struct RulesBenchArgs {
    /// Number of alerting rules, spread evenly over the groups.
    #[arg(long, default_value_t = 10_000)]
    pub rules: usize,
    /// Number of rule groups.
    #[arg(long, default_value_t = 10)]
    pub groups: usize,
    /// Number of series (rounded up to whole simulated instances of 18 series).
    #[arg(long, default_value_t = 10_000)]
    pub series: usize,
    /// Evaluation interval of every group, seconds.
    #[arg(long, default_value_t = 15)]
    pub interval: u64,
    /// Seconds to let both servers settle (first evaluations, `for` restoration) before measuring.
    #[arg(long, default_value_t = 45)]
    pub warmup: u64,
    /// Seconds measured.
    #[arg(long, default_value_t = 120)]
    pub seconds: u64,
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

/// One server's measurement.
#[derive(Debug, Clone, Serialize)]
pub struct ServerResult {
    /// `vigia` or `prometheus`.
    pub server: String,
    /// User + system CPU seconds over the measured window.
    pub cpu_seconds: f64,
    /// Evaluation rounds in the window (window ÷ interval).
    pub rounds: f64,
    /// CPU seconds per round.
    pub cpu_seconds_per_round: f64,
    /// Sum over groups of the server's own last group evaluation duration, seconds.
    pub last_round_duration_seconds: Option<f64>,
    /// Alerts (pending + firing) the server reports at the end.
    pub alerts: usize,
    /// Of which firing.
    pub firing: usize,
    /// Peak resident memory, bytes.
    pub peak_rss_bytes: u64,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Rules evaluated.
    pub rules: usize,
    /// Groups.
    pub groups: usize,
    /// Series loaded.
    pub series: usize,
    /// Evaluation interval, seconds.
    pub interval_seconds: u64,
    /// Measured window, seconds.
    pub window_seconds: f64,
    /// vigia's result.
    pub vigia: ServerResult,
    /// Prometheus's result, when installed.
    pub prometheus: Option<ServerResult>,
    /// vigia CPU per round ÷ Prometheus CPU per round.
    pub cpu_ratio: Option<f64>,
}

/// The shapes the generated rules take; `I` is replaced by an instance name. Each touches the
/// series of one instance, as per-service alerts do, and a few fire or go pending on the
/// generated data so `ALERTS` gets written.
const SHAPES: [(&str, &str, &str); 10] = [
    (
        "HighErrorRate",
        r#"rate(http_requests_total{instance="I",code="500"}[5m]) > 0.02"#,
        "2m",
    ),
    (
        "HighRequestRate",
        r#"sum by (instance, job) (rate(http_requests_total{instance="I"}[5m])) > 1"#,
        "0s",
    ),
    (
        "SlowP99",
        r#"histogram_quantile(0.99, sum by (le, instance) (rate(http_request_duration_seconds_bucket{instance="I"}[5m]))) > 1"#,
        "5m",
    ),
    (
        "SlowMean",
        r#"rate(http_request_duration_seconds_sum{instance="I"}[5m]) / rate(http_request_duration_seconds_count{instance="I"}[5m]) > 0.5"#,
        "1m",
    ),
    ("HotCpu", r#"cpu_temp_celsius{instance="I"} > 50"#, "1m"),
    (
        "LowMemory",
        r#"node_memory_free_bytes{instance="I"} < 2.5e9"#,
        "0s",
    ),
    ("QueueBacklog", r#"queue_depth{instance="I"} > 30"#, "30s"),
    ("InstanceDown", r#"up{instance="I"} == 0"#, "0s"),
    (
        "WarmOnAverage",
        r#"avg_over_time(cpu_temp_celsius{instance="I"}[10m]) > 40"#,
        "5m",
    ),
    (
        "MemoryFalling",
        r#"deriv(node_memory_free_bytes{instance="I"}[10m]) < 0"#,
        "10m",
    ),
];

/// The rule file: `rules` alerting rules in `groups` groups, instance by instance.
pub fn rule_file(rules: usize, groups: usize, instances: usize, interval_s: u64) -> String {
    let groups = groups.max(1);
    let instances = instances.max(1);
    let per_group = rules.div_ceil(groups);
    let mut out = String::from("groups:\n");
    for g in 0..groups {
        let first = g * per_group;
        let last = ((g + 1) * per_group).min(rules);
        if first >= last {
            break;
        }
        let _ = write!(
            out,
            "  - name: bench-{g}\n    interval: {interval_s}s\n    rules:\n"
        );
        for k in first..last {
            let instance = format!("i-{}", k % instances);
            let Some((name, expr, hold)) = SHAPES.get((k / instances) % SHAPES.len()) else {
                continue;
            };
            let expr = expr.replace("\"I\"", &format!("\"{instance}\""));
            let severity = ["warning", "high", "critical"]
                .get(k % 3)
                .copied()
                .unwrap_or("warning");
            let _ = write!(
                out,
                "      - alert: {name}\n        expr: '{expr}'\n        for: {hold}\n        labels:\n          severity: {severity}\n          rule_index: '{k}'\n        annotations:\n          summary: '{name} on {{{{ $labels.instance }}}}: {{{{ $value | humanize }}}}'\n"
            );
        }
    }
    out
}

fn prometheus_command(
    bin: &Path,
    dir: &Path,
    port: u16,
    rules: &Path,
    interval_s: u64,
) -> Result<Command> {
    procs::prometheus(
        bin,
        dir,
        port,
        &format!(
            "global:\n  scrape_interval: 1m\n  evaluation_interval: {interval_s}s\nrule_files:\n  - {}\n",
            rules.display()
        ),
    )
}

/// Sums every sample of `family` in a /metrics text.
fn sum_family(text: &str, family: &str) -> Option<f64> {
    let mut found = false;
    let mut sum = 0.0;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(family) else {
            continue;
        };
        if !(rest.starts_with('{') || rest.starts_with(' ')) {
            continue;
        }
        if let Some(v) = rest.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) {
            sum += v;
            found = true;
        }
    }
    found.then_some(sum)
}

fn alert_counts(client: &reqwest::blocking::Client, url: &str) -> Result<(usize, usize)> {
    let j: serde_json::Value = client.get(format!("{url}/api/v1/alerts")).send()?.json()?;
    let alerts = j["data"]["alerts"].as_array().cloned().unwrap_or_default();
    let firing = alerts.iter().filter(|a| a["state"] == "firing").count();
    Ok((alerts.len(), firing))
}

fn measure_server(
    client: &reqwest::blocking::Client,
    server: &Server,
    cpu0: f64,
    window: f64,
    interval_s: u64,
    family: &str,
) -> Result<ServerResult> {
    let pid = server.child.id();
    let cpu = procs::cpu_seconds(pid) - cpu0;
    let rounds = window / interval_s as f64;
    let metrics = client
        .get(format!("{}/metrics", server.url))
        .send()?
        .text()?;
    let (alerts, firing) = alert_counts(client, &server.url)?;
    Ok(ServerResult {
        server: server.name.to_string(),
        cpu_seconds: cpu,
        rounds,
        cpu_seconds_per_round: cpu / rounds.max(1e-9),
        last_round_duration_seconds: sum_family(&metrics, family),
        alerts,
        firing,
        peak_rss_bytes: procs::rss(pid).0,
    })
}

/// Runs the benchmark and prints the report.
pub fn run(args: RulesBenchArgs) -> Result<()> {
    procs::print_report(&measure(&args)?, args.json, print_table)
}

/// Loads the series into both servers with the same rule file and measures a window.
pub fn measure(args: &RulesBenchArgs) -> Result<Report> {
    if args.rules == 0 || args.groups == 0 || args.interval == 0 || args.seconds == 0 {
        bail!("--rules, --groups, --interval and --seconds must be positive");
    }
    let (tmp, work) = procs::work_dir(args.work_dir.as_deref(), "rules")?;
    let interval_ms = 15_000;
    // One hour of history ending now, so `[5m]` and `[10m]` windows are full while measuring.
    let steps = 240;
    let instances = args.series.div_ceil(SERIES_PER_INSTANCE).max(1);
    let now = chrono::Utc::now().timestamp_millis();
    let w = workload(
        instances,
        steps,
        now - steps as i64 * interval_ms,
        interval_ms,
        7,
    );
    let requests = encode_requests(&w, 20_000, 2);
    let rules_path = work.join("bench.rules.yaml");
    std::fs::write(
        &rules_path,
        rule_file(args.rules, args.groups, instances, args.interval),
    )?;
    let quiet = args.json;
    let say = |m: &str| {
        if !quiet {
            println!("{m}");
        }
    };
    say(&format!(
        "workload: {} series, {} rules in {} groups every {} s",
        w.series.len(),
        args.rules,
        args.groups,
        args.interval
    ));
    let bar = |len: u64, what: &str| procs::bar(len, what, quiet);

    let vigia = procs::start_vigia(
        args.vigia_bin.as_deref(),
        &work.join("vigia-data"),
        &["--rules".as_ref(), rules_path.as_os_str()],
    )?;
    let pb = bar(requests.len() as u64, "loading vigia");
    load(&vigia.url, &requests, &pb)?;
    pb.finish_and_clear();

    let prom = match procs::find_binary("prometheus") {
        None => {
            eprintln!(
                "prometheus is not installed (apt-get install prometheus): measuring vigia alone"
            );
            None
        }
        Some(bin) => {
            let port = procs::free_port()?;
            let pdir = work.join("prometheus");
            let _ = std::fs::remove_dir_all(&pdir);
            let server = procs::start(
                "prometheus",
                prometheus_command(&bin, &pdir, port, &rules_path, args.interval)?,
                format!("http://127.0.0.1:{port}"),
                "/-/ready",
            )?;
            let pb = bar(requests.len() as u64, "loading prometheus");
            load(&server.url, &requests, &pb)?;
            pb.finish_and_clear();
            Some(server)
        }
    };

    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let wait = |secs: u64, what: &str| {
        let pb = bar(secs, what);
        for _ in 0..secs {
            std::thread::sleep(Duration::from_secs(1));
            pb.inc(1);
        }
        pb.finish_and_clear();
    };
    wait(args.warmup, "warming up");
    let v0 = procs::cpu_seconds(vigia.child.id());
    let p0 = prom.as_ref().map(|p| procs::cpu_seconds(p.child.id()));
    let t0 = Instant::now();
    wait(args.seconds, "measuring");
    let window = t0.elapsed().as_secs_f64();
    let vres = measure_server(
        &client,
        &vigia,
        v0,
        window,
        args.interval,
        "vigia_rule_group_last_duration_seconds",
    )?;
    let pres = match (&prom, p0) {
        (Some(p), Some(c0)) => Some(measure_server(
            &client,
            p,
            c0,
            window,
            args.interval,
            "prometheus_rule_group_last_duration_seconds",
        )?),
        _ => None,
    };
    let cpu_ratio = pres
        .as_ref()
        .filter(|p| p.cpu_seconds_per_round > 0.0)
        .map(|p| vres.cpu_seconds_per_round / p.cpu_seconds_per_round);
    drop(vigia);
    drop(prom);
    drop(tmp);
    Ok(Report {
        rules: args.rules,
        groups: args.groups,
        series: w.series.len(),
        interval_seconds: args.interval,
        window_seconds: window,
        vigia: vres,
        prometheus: pres,
        cpu_ratio,
    })
}

/// Prints the report as a table.
pub fn print_table(r: &Report) {
    println!(
        "{} rules in {} groups every {} s over {} series; {:.0} s measured",
        r.rules, r.groups, r.interval_seconds, r.series, r.window_seconds
    );
    println!(
        "{:<12} {:>14} {:>16} {:>10} {:>8} {:>12}",
        "server", "CPU-s/round", "own round (s)", "alerts", "firing", "peak RSS MiB"
    );
    for s in std::iter::once(&r.vigia).chain(r.prometheus.as_ref()) {
        println!(
            "{:<12} {:>14.3} {:>16} {:>10} {:>8} {:>12.1}",
            s.server,
            s.cpu_seconds_per_round,
            s.last_round_duration_seconds
                .map(|d| format!("{d:.3}"))
                .unwrap_or_else(|| "-".into()),
            s.alerts,
            s.firing,
            s.peak_rss_bytes as f64 / 1_048_576.0
        );
    }
    match r.cpu_ratio {
        Some(x) => println!("vigia / prometheus CPU per round: {x:.2}× (goal ≤ 0.5×)"),
        None => println!("no Prometheus to compare with"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_file_has_every_rule_and_passes_the_checker() {
        let text = rule_file(103, 4, 9, 15);
        let report = vigia_rules::check_str(Path::new("bench.rules.yaml"), &text);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let rules: usize = report.groups.iter().map(|g| g.rules.len()).sum();
        assert_eq!(rules, 103);
        assert_eq!(report.groups.len(), 4);
        assert!(text.contains(r#"{instance="i-8"}"#), "{text}");
    }

    #[test]
    fn family_sums() {
        let t = "# TYPE x gauge\nx{a=\"1\"} 0.5\nx{a=\"2\"} 1.5\nx_other 9\n";
        assert_eq!(sum_family(t, "x"), Some(2.0));
        assert_eq!(sum_family(t, "y"), None);
    }
}
