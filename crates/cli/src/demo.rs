//! `vigia demo`: the server plus the built-in campaign and infrastructure simulator
//! (`vigia-demo`). It backfills `--history` through the append path with a progress bar, then
//! keeps writing live. It never writes alerts or anomalies: those must come from vigia itself.

use crate::serve::{self, ServeArgs};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use vigia_demo::{SimConfig, Simulator};
use vigia_model::PromDuration;
use vigia_server::AppState;

/// Configuration the demo runs with (written to `<data-dir>/demo.yaml`).
const DEMO_CONFIG: &str = "# Written by `vigia demo`; rewritten at every start.
anomaly:
  selectors:
    - node_memory_MemAvailable_bytes
    - node_filesystem_avail_bytes
    - node_load1
    - vigia_attendees_current
  warmup: 24h
";

/// Flags of `vigia demo`.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9400")]
    pub listen: SocketAddr,
    /// Data directory of the demo (a fresh one each time gives the cleanest picture).
    #[arg(long, default_value = "./vigia-demo-data")]
    pub data_dir: PathBuf,
    /// Live speed: simulated time runs N times faster than the clock.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Seed of the simulation; the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// How much history to backfill before going live.
    #[arg(long, default_value = "14d")]
    pub history: PromDuration,
    /// Stop after the backfill instead of running live (for tests and benchmarks).
    #[arg(long)]
    pub no_live: bool,
}

/// Entry point.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    if !(args.speed > 0.0 && args.speed.is_finite()) {
        anyhow::bail!("--speed must be a positive number");
    }
    // The demo's configuration is an ordinary file in its data directory, so users can read it.
    std::fs::create_dir_all(&args.data_dir)?;
    let config = args.data_dir.join("demo.yaml");
    std::fs::write(&config, DEMO_CONFIG)?;
    let serve_args = ServeArgs {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        config: Some(config),
        enable_admin_api: true,
        retention: Some(PromDuration(
            args.history.as_millis().max(86_400_000) + 86_400_000,
        )),
        retention_size: None,
        query_timeout: None,
        log_level: "warn".into(),
    };
    let on_ready: serve::OnReady = Box::new(move |state: Arc<AppState>, url: String| {
        std::thread::spawn(move || simulate(state, url, args));
    });
    serve::run_with(serve_args, Some(on_ready))
}

fn simulate(state: Arc<AppState>, url: String, args: DemoArgs) {
    let step = 60_000;
    let now = chrono::Utc::now().timestamp_millis();
    let end = now.div_euclid(step) * step;
    let start = end - args.history.as_millis().max(step);
    let mut sim = Simulator::new(SimConfig::new(args.seed, start));
    println!(
        "demo: {} series, history {} from {} (seed {}); webinar at {}",
        sim.series_count(),
        args.history,
        chrono::DateTime::from_timestamp_millis(start)
            .map(|d| d.to_rfc3339())
            .unwrap_or_default(),
        args.seed,
        chrono::DateTime::from_timestamp_millis(sim.webinar_at_ms())
            .map(|d| d.to_rfc3339())
            .unwrap_or_default(),
    );
    let faults = sim.faults();
    let upcoming: Vec<_> = faults.iter().filter(|f| f.end_ms > start).take(8).collect();
    for f in &upcoming {
        println!(
            "  fault {:<28} {}",
            f.name,
            chrono::DateTime::from_timestamp_millis(f.start_ms)
                .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default()
        );
    }
    if faults.len() > upcoming.len() {
        println!(
            "  … and {} more scheduled faults",
            faults.len() - upcoming.len()
        );
    }
    let pb = ProgressBar::new((end - start) as u64 / step as u64);
    pb.set_style(
        ProgressStyle::with_template("backfill {bar:40} {pos}/{len} steps · {msg} · {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut samples = 0u64;
    let chunk = 6 * 3_600_000;
    let mut t = start;
    while t < end {
        let to = (t + chunk).min(end);
        let batch = sim.samples(t, to);
        samples += batch.iter().map(|s| s.samples.len() as u64).sum::<u64>();
        if let Err(e) = state.appender.append(&batch) {
            pb.abandon_with_message(format!("append failed: {e}"));
            return;
        }
        pb.inc(((to - t) / step) as u64);
        pb.set_message(format!("{samples} samples"));
        t = to;
    }
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "demo: backfilled {samples} samples in {secs:.1} s ({:.0} samples/s)",
        samples as f64 / secs.max(1e-9)
    );
    println!("demo: open {url} (Prometheus API: {url}/api/v1/query?query=up)");
    if args.no_live {
        return;
    }
    // Live: one simulated step per tick; with --speed N a tick comes every step/N and its samples
    // are stamped with the wall clock, so the data always ends at "now".
    let period = Duration::from_secs_f64(step as f64 / 1000.0 / args.speed);
    let mut sim_t = end;
    while state.accepting_writes.load(Ordering::Acquire) {
        std::thread::sleep(period);
        let wall = chrono::Utc::now().timestamp_millis();
        let mut batch = sim.samples(sim_t, sim_t + step);
        for s in &mut batch {
            for p in &mut s.samples {
                p.t = wall;
            }
        }
        if let Err(e) = state.appender.append(&batch) {
            tracing::warn!(error = %e, "demo: live append failed; stopping the simulator");
            return;
        }
        sim_t += step;
    }
}
