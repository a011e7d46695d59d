//! Reproduces NAB's published Numenta HTM scores from its per-row results with vigia's scorer.

use std::path::{Path, PathBuf};

use vigia_bench::nab::scorer;

fn nab_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/nab");
    if dir.join("labels/combined_windows.json").is_file() && dir.join("results/numenta").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("VIGIA_REQUIRE_REAL").as_deref() != Ok("1"),
        "VIGIA_REQUIRE_REAL=1 but the NAB dataset is missing at {}",
        dir.display()
    );
    eprintln!("skipping: NAB dataset not found at {}", dir.display());
    None
}

/// Scoring Numenta's published per-row `anomaly_score` column with thresholds re-optimised per
/// profile (what NAB's `run.py --optimize --score --normalize` does) gives 70.10 / 63.21 /
/// 74.32. NAB's published scoreboard shows 63.12 for reward_low_FP_rate because that number
/// was produced with the threshold stored in NAB's config/thresholds.json, found by an earlier
/// optimisation run and not re-optimised on these exact result files; re-optimising finds a
/// better low-FP threshold (0.5431, the same as for the other two profiles) and hence 63.21.
/// The stored standard and low-FN threshold (0.5422) is equivalent to the re-optimised 0.5431
/// (no row scores between them), so those two numbers match the scoreboard exactly.
#[test]
fn reproduces_numenta_scores() {
    let Some(dir) = nab_dir() else { return };
    let report =
        vigia_bench::nab::score_results_dir(&dir, &dir.join("results"), "numenta").unwrap();
    eprintln!(
        "numenta: standard {:.4} low_FP {:.4} low_FN {:.4}; thresholds {:?}",
        report.standard,
        report.reward_low_fp,
        report.reward_low_fn,
        report
            .profiles
            .iter()
            .map(|p| p.threshold)
            .collect::<Vec<_>>()
    );
    for h in &report.halves {
        let s: Vec<String> = h
            .profiles
            .iter()
            .map(|p| format!("{:.2}", p.normalized))
            .collect();
        eprintln!("  {} ({} files): {}", h.name, h.files, s.join(" / "));
    }
    assert!(
        (report.standard - 70.10).abs() <= 0.02,
        "standard {}",
        report.standard
    );
    assert!(
        (report.reward_low_fp - 63.21).abs() <= 0.02,
        "low FP {}",
        report.reward_low_fp
    );
    assert!(
        (report.reward_low_fn - 74.32).abs() <= 0.02,
        "low FN {}",
        report.reward_low_fn
    );
    // Null baselines as NAB computes them: every window missed.
    assert_eq!(report.profiles[0].null_score, -116.0);
    assert_eq!(report.profiles[2].null_score, -232.0);
    assert_eq!(report.files.len(), 58);
    // Per-file scores at the corpus threshold add up to the corpus score.
    let sum: f64 = report.files.iter().map(|f| f.outcomes[0].score).sum();
    assert!((sum - report.profiles[0].outcome.score).abs() < 1e-6);

    // With NAB's stored low-FP threshold (config/thresholds.json: 0.5751955032348636) the same
    // scorer gives the published 63.12.
    let corpus = vigia_bench::nab::load_corpus(&dir).unwrap();
    let scores = vigia_bench::nab::load_results(&corpus, &dir.join("results"), "numenta").unwrap();
    let geoms: Vec<_> = corpus.files.iter().map(scorer::FileGeometry::new).collect();
    let pairs: Vec<_> = geoms
        .iter()
        .zip(&scores)
        .map(|(g, s)| (g, s.as_slice()))
        .collect();
    let stored = scorer::score_set(&pairs, &corpus.profiles[1], Some(0.5751955032348636));
    assert_eq!(stored.profile, "reward_low_FP_rate");
    assert!(
        (stored.normalized - 63.12).abs() <= 0.01,
        "stored-threshold low FP {}",
        stored.normalized
    );
}
