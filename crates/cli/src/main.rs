//! `vigia`: the binary. Parses the command line and runs the subcommand; everything else is in
//! the `vigia` library (components, configuration, subcommands) and the crates it wires.

use clap::{Parser, Subcommand};
use vigia::{config, demo, serve, tools};

use std::path::PathBuf;
use std::process::ExitCode;

/// vigia: monitoring and predictive operations in one binary.
#[derive(Parser, Debug)]
#[command(name = "vigia", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the campaign demo: the server plus a simulated webinar campaign and its infrastructure.
    Demo(demo::DemoArgs),
    /// Run the server: ingest, store, query (Prometheus-compatible HTTP API).
    Serve(serve::ServeArgs),
    /// Validate files without starting anything.
    #[command(subcommand)]
    Check(CheckCommand),
    /// Measure performance side by side with the real peer (e.g. Debian's prometheus).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run Prometheus promqltest scripts against vigia's PromQL engine.
    Promqltest {
        /// Script files (.test).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run unit tests.
    #[command(subcommand)]
    Test(TestCommand),
    /// Score a `timestamp,value` CSV with the anomaly detector.
    Detect(tools::DetectArgs),
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Ingest throughput, CPU, memory and disk per sample, against Prometheus via remote_write.
    Ingest(vigia_bench::ingest::IngestBenchArgs),
    /// PromQL latency (median, p99) per query against Prometheus, with results compared.
    Query(vigia_bench::query::QueryBenchArgs),
    /// Alerting rule evaluation cost (CPU-seconds per round) against Prometheus.
    Rules(vigia_bench::rules::RulesBenchArgs),
    /// Run the anomaly detector over the Numenta Anomaly Benchmark and score it.
    Nab(vigia_bench::nab::NabArgs),
    /// Detector throughput (samples/s on one core) and state size per series.
    Detector {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum CheckCommand {
    /// Check a vigia configuration file; prints every error with file, line and column.
    Config {
        /// Configuration files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Check Prometheus rule files, as `promtool check rules` does.
    Rules {
        /// Rule files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum TestCommand {
    /// Run rule unit tests in `promtool test rules` format.
    Rules {
        /// Test files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Show which receivers an alert with these labels is routed to, like
    /// `amtool config routes test` (receivers printed comma-separated).
    Routes {
        /// vigia configuration file (its `alerting:` section is the routing tree).
        #[arg(long)]
        config: PathBuf,
        /// Exit with 1 unless the receivers are exactly these (comma-separated).
        #[arg(long)]
        verify_receivers: Option<String>,
        /// Alert labels as `name=value`.
        labels: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // HTTP clients (scraping, benchmarks) use rustls with the ring provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match cli.command {
        Command::Bench(cmd) => bench(cmd),
        Command::Promqltest { files } => Ok(if vigia_bench::promqltest::run_cli(&files) {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }),
        Command::Detect(args) => tools::detect(&args),
        Command::Serve(args) => serve::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Check(CheckCommand::Config { files }) => check_config(&files),
        Command::Check(CheckCommand::Rules { files }) => tools::check_rules(&files),
        Command::Test(TestCommand::Rules { files }) => tools::test_rules(&files),
        Command::Test(TestCommand::Routes {
            config,
            verify_receivers,
            labels,
        }) => test_routes(&config, verify_receivers.as_deref(), &labels),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `vigia bench …`: the measuring tools of `vigia-bench`.
fn bench(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Ingest(args) => vigia_bench::ingest::run(args)?,
        BenchCommand::Query(args) => vigia_bench::query::run(args)?,
        BenchCommand::Rules(args) => vigia_bench::rules::run(args)?,
        BenchCommand::Nab(args) => vigia_bench::nab::run_cli(&args)?,
        BenchCommand::Detector { json } => vigia_bench::detector::run(json)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn test_routes(
    file: &std::path::Path,
    verify: Option<&str>,
    labels: &[String],
) -> anyhow::Result<ExitCode> {
    let cfg = config::load(Some(file)).map_err(|e| anyhow::anyhow!("{e}"))?;
    let am = vigia::alerting::am_config(&cfg)?;
    let mut set = std::collections::BTreeMap::new();
    for l in labels {
        let Some((k, v)) = l.split_once('=') else {
            anyhow::bail!("label {l:?}: expected name=value");
        };
        set.insert(k.to_string(), v.trim_matches('"').to_string());
    }
    let receivers: Vec<String> = am
        .routes_for(&set)
        .into_iter()
        .map(|r| r.receiver)
        .collect();
    let got = receivers.join(",");
    println!("{got}");
    match verify {
        Some(want) if want != got => {
            eprintln!("WARNING: expected receivers \"{want}\" but got \"{got}\"");
            Ok(ExitCode::from(1))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn check_config(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for f in files {
        match config::load(Some(f)) {
            Ok(cfg) => println!(
                "{}: SUCCESS ({} scrape configs)",
                f.display(),
                cfg.scrape_configs.len()
            ),
            Err(e) => {
                failed = true;
                eprint!("{}: FAILED\n{e}", f.display());
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
