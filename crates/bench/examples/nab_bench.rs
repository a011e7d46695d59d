//! Runs the default detector over the whole NAB corpus, writes NAB-format results, and prints
//! markdown tables (profiles, halves, categories), optionally next to another detector's
//! published results. Usage:
//! `cargo run -p vigia-bench --release --example nab_bench -- NAB_DIR OUT_DIR [OTHER_DETECTOR]`
//! (OTHER_DETECTOR results are read from `NAB_DIR/results/<name>`).

use std::path::Path;

use vigia_bench::nab::{self, NabReport};

fn fmt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |x| format!("{x:.2}"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(out)) = (args.first(), args.get(1)) else {
        return Err("usage: nab_bench NAB_DIR OUT_DIR [OTHER_DETECTOR]".into());
    };
    let dir = Path::new(dir);
    let report = nab::run(dir, Path::new(out), "vigia", &|_, _| {})?;
    let other: Option<NabReport> = match args.get(2) {
        Some(name) => Some(nab::score_results_dir(dir, &dir.join("results"), name)?),
        None => None,
    };
    println!(
        "config hash {}; {} rows in {:.3} s",
        report.config_hash.clone().unwrap_or_default(),
        report.rows,
        report.detector_seconds
    );
    let b = vigia_bench::detector::bench_detector(&vigia_ml::DetectorConfig::default());
    println!(
        "bench_detector: {:.0} samples/s on one core, {} state bytes per series",
        b.samples_per_sec, b.state_bytes
    );
    println!("\n| set | files | standard | reward_low_FP | reward_low_FN |\n|---|---|---|---|---|");
    let mut rows = vec![(
        "all files".to_string(),
        report.files.len(),
        report
            .profiles
            .iter()
            .map(|p| p.normalized)
            .collect::<Vec<_>>(),
    )];
    for h in &report.halves {
        rows.push((
            h.name.clone(),
            h.files,
            h.profiles.iter().map(|p| p.normalized).collect(),
        ));
    }
    for (name, files, s) in &rows {
        println!(
            "| vigia, {name} | {files} | {:.2} | {:.2} | {:.2} |",
            s[0], s[1], s[2]
        );
    }
    if let Some(o) = &other {
        println!(
            "| {}, all files | {} | {:.2} | {:.2} | {:.2} |",
            o.detector,
            o.files.len(),
            o.standard,
            o.reward_low_fp,
            o.reward_low_fn
        );
        for h in &o.halves {
            let s: Vec<f64> = h.profiles.iter().map(|p| p.normalized).collect();
            println!(
                "| {}, {} | {} | {:.2} | {:.2} | {:.2} |",
                o.detector, h.name, h.files, s[0], s[1], s[2]
            );
        }
    }
    println!(
        "\n| profile | threshold | windows detected | missed | false-positive rows |\n|---|---|---|---|---|"
    );
    for p in &report.profiles {
        println!(
            "| {} | {:.4} | {} | {} | {} |",
            p.profile,
            p.threshold,
            p.outcome.detected,
            p.outcome.missed,
            p.outcome.false_positive_rows
        );
    }
    println!(
        "\n| category | files | windows | vigia std | low_FP | low_FN | FP rows (std) | other std | low_FP | low_FN |\n|---|---|---|---|---|---|---|---|---|---|"
    );
    for c in &report.categories {
        let o = other
            .as_ref()
            .and_then(|o| o.categories.iter().find(|x| x.category == c.category));
        let on = |i: usize| o.and_then(|x| x.normalized.get(i).copied().flatten());
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.category,
            c.files,
            c.windows,
            fmt(c.normalized.first().copied().flatten()),
            fmt(c.normalized.get(1).copied().flatten()),
            fmt(c.normalized.get(2).copied().flatten()),
            c.false_positive_rows,
            fmt(on(0)),
            fmt(on(1)),
            fmt(on(2)),
        );
    }
    // The same configuration under the evaluation dithers (block phase, level grid): how much
    // of each number is where the discretisation boundaries happen to fall.
    let corpus = nab::load_corpus(dir)?;
    let cfg = vigia_ml::DetectorConfig::default();
    let sets = nab::dither_summary(&corpus, &cfg, nab::DITHER_COUNT)?;
    println!(
        "\n{} dithers, mean ± sd (min..max)\n| set | standard | reward_low_FP | reward_low_FN |\n|---|---|---|---|",
        nab::DITHER_COUNT
    );
    for set in &sets {
        let cells: Vec<String> = set.profiles.iter().map(ToString::to_string).collect();
        println!("| {} | {} |", set.name, cells.join(" | "));
    }
    Ok(())
}
