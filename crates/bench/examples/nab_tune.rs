//! Grid search of detector settings on the NAB tuning half only (the held-out half is never
//! loaded here). Usage:
//! `cargo run -p vigia-bench --release --example nab_tune -- NAB_DIR [BASE_JSON] [field=v1,v2,...]...`
//! Prints tuning-half standard / low-FP / low-FN for every combination, best last, and the
//! standard score of each inner half (alternate tuning files). `DITHER=N` scores each
//! combination as the mean over the first N evaluation dithers (`nab::dithered`: block phase
//! and level-grid offset) and adds their standard deviation and minimum: single runs move by
//! several points with the discretisation, so compare means. With one combination and no
//! dithers, per-file outcomes follow. `TUNE_SUBSET=a|b` keeps one inner half only;
//! `TUNE_BENCH=1` also measures the best combination's speed.

mod common;

use std::path::Path;

use vigia_bench::nab::{self, Spread, scorer};
use vigia_ml::DetectorConfig;

fn main() -> Result<(), common::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        return Err("usage: nab_tune NAB_DIR [BASE_JSON] [field=v1,v2,...]...".into());
    };
    let mut corpus = nab::load_corpus(Path::new(dir))?;
    let keys = nab::tuning_keys();
    corpus.files.retain(|f| keys.contains(&f.key.as_str()));
    match std::env::var("TUNE_SUBSET").as_deref() {
        Ok("a") => corpus.files = corpus.files.iter().step_by(2).cloned().collect(),
        Ok("b") => corpus.files = corpus.files.iter().skip(1).step_by(2).cloned().collect(),
        _ => {}
    }
    let dither: usize = std::env::var("DITHER")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (grid, fields) = common::grid(args.get(1..).unwrap_or(&[]))?;
    let geoms: Vec<_> = corpus.files.iter().map(scorer::FileGeometry::new).collect();
    let single = grid.len() == 1 && dither == 0;
    let mut results = Vec::new();
    for g in grid {
        let cfg: DetectorConfig = serde_json::from_value(g.clone())?;
        let what = common::describe(&g, &fields);
        let v = if dither > 0 {
            let runs: Vec<[f64; 5]> = (0..dither)
                .map(|k| common::evaluate(&corpus, &geoms, &nab::dithered(&cfg, k)))
                .collect();
            let col = |i: usize| Spread::of(&runs.iter().map(|r| r[i]).collect::<Vec<_>>());
            let s = col(0);
            let v = [s.mean, col(1).mean, col(2).mean, col(3).mean, col(4).mean];
            println!(
                "{:7.2} {:7.2} {:7.2}  a {:6.2} b {:6.2} sd {:5.2} min {:6.2}  {what}",
                v[0], v[1], v[2], v[3], v[4], s.sd, s.min
            );
            v
        } else {
            let v = common::evaluate(&corpus, &geoms, &cfg);
            println!(
                "{:7.2} {:7.2} {:7.2}  a {:6.2} b {:6.2}  {what}",
                v[0], v[1], v[2], v[3], v[4]
            );
            v
        };
        if single && let Some(p) = corpus.profiles.first() {
            let scores = nab::detect_corpus(&corpus, &cfg, &|_, _| {});
            let pairs: Vec<_> = geoms
                .iter()
                .zip(&scores)
                .map(|(g, s)| (g, s.as_slice()))
                .collect();
            let t = scorer::score_set(&pairs, p, None).threshold;
            println!("threshold {t}");
            for (f, (geom, s)) in corpus.files.iter().zip(&pairs) {
                let o = scorer::score_file(geom, s, &p.cost, t);
                println!(
                    "{:50} win {:2} det {:2} miss {:2} fp {:4} score {:7.3}",
                    f.key, geom.windows, o.detected, o.missed, o.false_positive_rows, o.score
                );
            }
        }
        results.push((v, g));
    }
    results.sort_by(|a, b| a.0[0].total_cmp(&b.0[0]));
    if let Some((v, g)) = results.last() {
        if std::env::var_os("TUNE_BENCH").is_some() {
            let b = vigia_bench::detector::bench_detector(&serde_json::from_value(g.clone())?);
            println!(
                "bench: {:.0} samples/s on one core, {} state bytes",
                b.samples_per_sec, b.state_bytes
            );
        }
        println!("BEST {:7.2} {:7.2} {:7.2}  {g}", v[0], v[1], v[2]);
    }
    Ok(())
}
