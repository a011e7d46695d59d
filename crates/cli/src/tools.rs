//! Offline subcommands that wrap library crates: `vigia promqltest`, `vigia detect`,
//! `vigia bench nab`, `vigia bench detector`.

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs Prometheus `promqltest` scripts and prints per-file results; the last line is exactly
/// `N passed, M failed, K skipped`; exit status 1 when any case failed.
pub fn promqltest(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for f in files {
        let r = vigia_promql::promqltest::run_file(f);
        println!(
            "{}: {} passed, {} failed, {} skipped",
            f.display(),
            r.passed,
            r.failed.len(),
            r.skipped.len()
        );
        for fail in &r.failed {
            println!("  FAIL {}:{}: {}", f.display(), fail.line, fail.command);
            for l in fail.diff.lines() {
                println!("      {l}");
            }
        }
        for s in &r.skipped {
            println!("  skip {}:{}: {}", f.display(), s.line, s.reason);
        }
        passed += r.passed;
        failed += r.failed.len();
        skipped += r.skipped.len();
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Flags of `vigia detect`.
#[derive(Args, Debug)]
pub struct DetectArgs {
    /// A `timestamp,value` CSV file (header line required).
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write `timestamp,value,anomaly_score` (default: standard output).
    #[arg(long)]
    pub output: Option<PathBuf>,
}

/// `vigia detect`: scores a CSV offline with the server's detector configuration.
pub fn detect(args: &DetectArgs) -> anyhow::Result<ExitCode> {
    let cfg = vigia_ml::DetectorConfig::default();
    let report = match &args.output {
        Some(p) => {
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
            );
            vigia_ml::detect_csv(&args.input, &mut f, &cfg)?
        }
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            vigia_ml::detect_csv(&args.input, &mut lock, &cfg)?
        }
    };
    for w in &report.warnings {
        eprintln!(
            "warning: {}:{}: {}",
            args.input.display(),
            w.line,
            w.message
        );
    }
    eprintln!(
        "{} rows scored (detector config {}); highest score {:.3} at line {}",
        report.rows, report.config_hash, report.max_score, report.max_score_line
    );
    Ok(ExitCode::SUCCESS)
}

/// Flags of `vigia bench nab`.
#[derive(Args, Debug)]
pub struct NabArgs {
    /// The NAB corpus (data/, labels/, config/).
    #[arg(long, default_value = "../shared/datasets/nab")]
    pub data: PathBuf,
    /// Where to write results in NAB's layout (DIR/<detector>/<category>/<detector>_<file>.csv).
    #[arg(long, default_value = "./nab-results")]
    pub out: PathBuf,
    /// Detector name used in the results layout.
    #[arg(long, default_value = "vigia")]
    pub detector: String,
    /// Also run the configuration under N evaluation dithers (other block phases and level
    /// grids, at most 8) and print each score's mean ± sd: how much of a single run is luck.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=8))]
    pub dithers: u8,
    /// Print the full report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The report of `vigia bench nab --json`.
#[derive(serde::Serialize)]
struct NabJson<'a> {
    #[serde(flatten)]
    report: &'a vigia_ml::nab::NabReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    dithers: Option<Vec<vigia_ml::nab::DitherSet>>,
}

/// `vigia bench nab`.
pub fn bench_nab(args: &NabArgs) -> anyhow::Result<ExitCode> {
    let cfg = vigia_ml::DetectorConfig::default();
    let pb = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    pb.set_style(
        ProgressStyle::with_template("NAB {bar:40} {pos}/{len} files {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if !args.json {
        println!("detector config {}", cfg.hash());
    }
    let progress = |done: usize, total: usize| {
        pb.set_length(total as u64);
        pb.set_position(done as u64);
    };
    let report = vigia_ml::nab::run(&args.data, &args.out, &args.detector, &progress)
        .with_context(|| format!("running NAB from {}", args.data.display()))?;
    pb.finish_and_clear();
    let dithers = if args.dithers > 0 {
        let corpus = vigia_ml::nab::load_corpus(&args.data)
            .with_context(|| format!("loading NAB from {}", args.data.display()))?;
        Some(vigia_ml::nab::dither_summary(
            &corpus,
            &cfg,
            usize::from(args.dithers),
        )?)
    } else {
        None
    };
    if args.json {
        let out = NabJson {
            report: &report,
            dithers,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "results written under {}",
        args.out.join(&args.detector).display()
    );
    println!(
        "{:<30} {:>9} {:>14} {:>14}",
        "", "standard", "reward_low_FP", "reward_low_FN"
    );
    println!(
        "{:<30} {:>9.2} {:>14.2} {:>14.2}",
        "all files", report.standard, report.reward_low_fp, report.reward_low_fn
    );
    for h in &report.halves {
        let get = |name: &str| {
            h.profiles
                .iter()
                .find(|p| p.profile.contains(name))
                .map(|p| p.normalized)
                .unwrap_or(f64::NAN)
        };
        println!(
            "{:<30} {:>9.2} {:>14.2} {:>14.2}",
            h.name,
            get("standard"),
            get("low_FP"),
            get("low_FN")
        );
    }
    println!("{} rows in {:.1} s", report.rows, report.detector_seconds);
    if let Some(sets) = &dithers {
        println!(
            "\n{} evaluation dithers, mean ± sd (min..max):",
            args.dithers
        );
        for set in sets {
            let cells: Vec<String> = set.profiles.iter().map(ToString::to_string).collect();
            println!("{:<30} {}", set.name, cells.join("   "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `vigia bench detector`.
pub fn bench_detector(json: bool) -> anyhow::Result<ExitCode> {
    let b = vigia_ml::bench_detector(&vigia_ml::DetectorConfig::default());
    if json {
        println!("{}", serde_json::to_string_pretty(&b)?);
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
    Ok(ExitCode::SUCCESS)
}

/// `vigia check rules`: every error with file and line; warnings (e.g. unknown severities) too.
pub fn check_rules(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for f in files {
        let r = vigia_rules::check_files(std::slice::from_ref(f));
        for w in &r.warnings {
            eprintln!("warning: {w}");
        }
        if r.errors.is_empty() {
            let rules: usize = r.groups.iter().map(|g| g.rules.len()).sum();
            println!("Checking {}\n  SUCCESS: {rules} rules found", f.display());
        } else {
            failed = true;
            println!("Checking {}\n  FAILED:", f.display());
            for e in &r.errors {
                println!("{e}");
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `vigia test rules`: runs `promtool test rules`-format files.
pub fn test_rules(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for f in files {
        let r = vigia_rules::run_rule_tests(f);
        println!("Unit Testing: {}", f.display());
        if r.failures.is_empty() && r.errors.is_empty() {
            println!("  SUCCESS ({} checks)", r.checks_run);
        } else {
            failed = true;
            println!("  FAILED:");
            for e in r.errors.iter().chain(&r.failures) {
                println!("{e}");
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
