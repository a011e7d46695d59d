//! Lists the detections of the default detector on the NAB tuning half (the held-out half is
//! never loaded): per file, each non-zero score with its row, whether it falls inside a
//! labelled window, and the windows' row ranges. Usage:
//! `cargo run -p vigia-bench --release --example nab_inspect -- NAB_DIR [FILE_SUBSTRING]`

use std::path::Path;

use vigia_bench::nab;
use vigia_ml::DetectorConfig;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        return Err("usage: nab_inspect NAB_DIR [FILE_SUBSTRING]".into());
    };
    let filter = args.get(1).cloned().unwrap_or_default();
    let mut corpus = nab::load_corpus(Path::new(dir))?;
    let keys = nab::tuning_keys();
    corpus
        .files
        .retain(|f| keys.contains(&f.key.as_str()) && f.key.contains(&filter));
    let cfg = DetectorConfig::default();
    let scores = nab::detect_corpus(&corpus, &cfg, &|_, _| {});
    for (f, s) in corpus.files.iter().zip(&scores) {
        let labels = f.labels();
        let n = f.values.len();
        let probation = ((n as f64 * 0.15).floor() as usize).min(750);
        let windows: Vec<(usize, usize)> = f
            .windows
            .iter()
            .filter_map(|&(a, b)| {
                let i = f.timestamps_ms.iter().position(|&t| t >= a)?;
                let j = f.timestamps_ms.iter().rposition(|&t| t <= b)?;
                Some((i, j))
            })
            .collect();
        println!(
            "{} rows {n} probation {probation} windows {windows:?}",
            f.key
        );
        let det: Vec<String> = s
            .iter()
            .enumerate()
            .filter(|(i, v)| **v > 0.0 && *i >= probation)
            .map(|(i, v)| {
                let tag = if labels.get(i) == Some(&1) { "W" } else { "" };
                format!("{i}{tag}:{v:.3}")
            })
            .collect();
        println!("   {}", det.join(" "));
    }
    Ok(())
}
