//! `vigia bench nab`: runs the default detector over the corpus, writes NAB's results layout,
//! prints the scores per profile and half, and optionally the spread over evaluation dithers.

use crate::error::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

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
    report: &'a super::NabReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    dithers: Option<Vec<super::DitherSet>>,
}

/// `vigia bench nab`.
pub fn run_cli(args: &NabArgs) -> Result<()> {
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
    let report = super::run(&args.data, &args.out, &args.detector, &progress)
        .with_context(|| format!("running NAB from {}", args.data.display()))?;
    pb.finish_and_clear();
    let dithers = if args.dithers > 0 {
        let corpus = super::load_corpus(&args.data)
            .with_context(|| format!("loading NAB from {}", args.data.display()))?;
        Some(super::dither_summary(
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
        println!(
            "{}",
            serde_json::to_string_pretty(&out).context("encoding the report")?
        );
        return Ok(());
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
    Ok(())
}
