//! Offline subcommands that wrap library crates: `vigia detect`, `vigia check rules`,
//! `vigia test rules`.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

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
