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
use vigia_demo::Simulator;
use vigia_model::PromDuration;
use vigia_server::AppState;

/// Rule files of the demo's configuration (written to `<data-dir>/demo.yaml`).
const DEMO_RULES: &str = "rule_files: ['rules/*.yaml']\n";

/// The shipped dashboards (examples/dashboards), written into the demo's data directory.
const DASHBOARDS: [(&str, &str); 4] = [
    (
        "campaign.yaml",
        include_str!("../../../examples/dashboards/campaign.yaml"),
    ),
    (
        "infrastructure.yaml",
        include_str!("../../../examples/dashboards/infrastructure.yaml"),
    ),
    (
        "alerts.yaml",
        include_str!("../../../examples/dashboards/alerts.yaml"),
    ),
    (
        "anomalies.yaml",
        include_str!("../../../examples/dashboards/anomalies.yaml"),
    ),
];

/// Anomaly settings of the demo's configuration.
const DEMO_ANOMALY: &str = "anomaly:
  selectors:
    - node_memory_MemAvailable_bytes
    - node_filesystem_avail_bytes
    - node_load1
    - vigia_attendees_current
  warmup: 24h
";

/// The demo's configuration text: rules and anomaly detection unless switched off, and the
/// shipped KPIs.
fn demo_config(args: &DemoArgs) -> String {
    let mut c = String::from(
        "# Written by `vigia demo`; rewritten at every start.\ndashboards: ['dashboards/*.yaml']\n",
    );
    if !args.no_rules {
        c.push_str(DEMO_RULES);
    }
    if !args.no_anomaly {
        c.push_str(DEMO_ANOMALY);
    }
    c.push('\n');
    c.push_str(include_str!("../../../examples/kpis/webinar.yaml"));
    c
}

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
    /// Load no alerting or recording rules (the demo then raises no alerts).
    #[arg(long)]
    pub no_rules: bool,
    /// Run no anomaly detectors (the demo then reports no anomalies).
    #[arg(long)]
    pub no_anomaly: bool,
}

/// Entry point.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    if !(args.speed > 0.0 && args.speed.is_finite()) {
        anyhow::bail!("--speed must be a positive number");
    }
    // The demo's configuration is an ordinary file in its data directory, so users can read it.
    std::fs::create_dir_all(&args.data_dir)?;
    let config = args.data_dir.join("demo.yaml");
    std::fs::write(&config, demo_config(&args))?;
    let dash_dir = args.data_dir.join("dashboards");
    std::fs::create_dir_all(&dash_dir)?;
    for (name, text) in DASHBOARDS {
        std::fs::write(dash_dir.join(name), text)?;
    }
    let rules_dir = args.data_dir.join("rules");
    std::fs::create_dir_all(&rules_dir)?;
    std::fs::write(
        rules_dir.join("webinar.yaml"),
        include_str!("../../../examples/rules/webinar.yaml"),
    )?;
    std::fs::write(
        rules_dir.join("node.yaml"),
        include_str!("../../../examples/rules/node.yaml"),
    )?;
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
        rules: Vec::new(),
        log_level: "warn".into(),
        log_format: crate::logging::LogFormat::Logfmt,
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
    let mut sim = Simulator::for_demo(args.seed, end, end - start);
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
    let mut events = 0u64;
    while t < end {
        let to = (t + chunk).min(end);
        match write_step(&state, &mut sim, t, to, None) {
            Ok((n, e)) => {
                samples += n;
                events += e;
            }
            Err(e) => {
                pb.abandon_with_message(format!("backfill failed: {e}"));
                return;
            }
        }
        pb.inc(((to - t) / step) as u64);
        pb.set_message(format!("{samples} samples, {events} events"));
        t = to;
    }
    pb.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "demo: backfilled {samples} samples in {secs:.1} s ({:.0} samples/s)",
        samples as f64 / secs.max(1e-9)
    );
    if !args.no_rules {
        rules_over_history(&state, &args.data_dir, (end - start).min(86_400_000), end);
    }
    println!(
        "demo: open {url}/d/campaign (dashboards: {url}/dashboards; Prometheus API: {url}/api/v1/query?query=up)"
    );
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
        if let Err(e) = write_step(&state, &mut sim, sim_t, sim_t + step, Some(wall)) {
            tracing::warn!(error = %e, "demo: live write failed; stopping the simulator");
            return;
        }
        sim_t += step;
    }
}

/// Evaluates the demo's rule files over the last `window_ms` of the backfilled history (every
/// 5 minutes, like `promtool tsdb create-blocks-from rules` with a coarser step), so recorded
/// series and `ALERTS` have a past and the alert panels show what happened before the demo
/// started. A separate rule manager does it without notifying anyone: historical alerts are
/// history, not news. The live rule manager keeps evaluating `now` meanwhile.
fn rules_over_history(state: &AppState, data_dir: &std::path::Path, window_ms: i64, end: i64) {
    let step = 300_000;
    let paths: Vec<PathBuf> = ["webinar.yaml", "node.yaml"]
        .iter()
        .map(|f| data_dir.join("rules").join(f))
        .collect();
    let groups = match vigia_rules::load_files(&paths) {
        Ok(g) => g,
        Err(e) => {
            tracing::warn!(
                errors = e.len(),
                "demo: rule files did not load; no rule history"
            );
            return;
        }
    };
    let start = (end - window_ms).div_euclid(step) * step;
    let mgr = vigia_rules::RuleManager::new(
        vigia_promql::Engine::new(vigia_promql::EngineOptions::default()),
        state.querier.clone(),
        state.appender.clone(),
        Arc::new(vigia_model::ManualClock::new(start)),
        Arc::new(|_| {}),
    )
    .with_options(vigia_rules::ManagerOptions {
        restore_for_state: false,
        ..vigia_rules::ManagerOptions::default()
    });
    let steps = ((end - start) / step).max(0) as u64;
    let pb = ProgressBar::new(steps);
    pb.set_style(
        ProgressStyle::with_template("rules    {bar:40} {pos}/{len} steps · {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let began = Instant::now();
    let mut failures = 0usize;
    let mut t = start;
    while t < end {
        for g in &groups {
            if let Err(e) = mgr.eval_group_at(g, t) {
                failures += e.len();
            }
        }
        pb.inc(1);
        t += step;
    }
    pb.finish_and_clear();
    println!(
        "demo: evaluated {} rule groups over the last {} h of history in {:.1} s ({failures} rule errors)",
        groups.len(),
        window_ms / 3_600_000,
        began.elapsed().as_secs_f64()
    );
}

/// Writes one range of the simulation: infrastructure metrics through the append path, business
/// series as events through the events API's ingestor (exactly what `POST /api/v1/events` does).
/// With `stamp`, every timestamp is replaced by it (live mode). Returns (samples, events).
fn write_step(
    state: &AppState,
    sim: &mut Simulator,
    from: i64,
    to: i64,
    stamp: Option<i64>,
) -> Result<(u64, u64), String> {
    let mut batch: Vec<_> = sim
        .samples(from, to)
        .into_iter()
        .filter(|s| {
            !s.labels
                .metric_name()
                .is_some_and(|n| n.starts_with("vigia_"))
        })
        .collect();
    let mut events = sim.events(from, to);
    if let Some(t) = stamp {
        for s in &mut batch {
            for p in &mut s.samples {
                p.t = t;
            }
        }
        for e in &mut events {
            e.timestamp = t;
        }
    }
    let n: u64 = batch.iter().map(|s| s.samples.len() as u64).sum();
    state.appender.append(&batch).map_err(|e| e.to_string())?;
    let mut written = n;
    if let (Some(ing), false) = (&state.events, events.is_empty()) {
        let body = serde_json::to_vec(&events).map_err(|e| e.to_string())?;
        let fill = if stamp.is_none() {
            Some(sim.step_ms())
        } else {
            None
        };
        let out = ing
            .ingest_filled(&body, state.appender.as_ref(), fill)
            .map_err(|e| e.to_string())?;
        written += out.samples as u64;
    }
    // The server's heartbeat keeps event series visible once a minute; over replayed history
    // the gaps between events are filled at the simulator's step instead.
    if let Some(ing) = &state.events {
        written += match stamp {
            Some(t) => ing.heartbeat(t, state.appender.as_ref()),
            None => ing.heartbeat_range(from, to, sim.step_ms(), state.appender.as_ref()),
        }
        .map_err(|e| e.to_string())? as u64;
    }
    Ok((written, events.len() as u64))
}
