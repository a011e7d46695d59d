//! Scores another detector's NAB result files with vigia's scorer and prints all files, the
//! tuning half and the held-out half. Usage:
//! `cargo run -p vigia-bench --release --example nab_score -- NAB_DIR RESULTS_DIR DETECTOR`

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(results), Some(name)) = (args.first(), args.get(1), args.get(2)) else {
        return Err("usage: nab_score NAB_DIR RESULTS_DIR DETECTOR".into());
    };
    let r = vigia_bench::nab::score_results_dir(Path::new(dir), Path::new(results), name)?;
    let p = |v: &[f64]| format!("{:.2} / {:.2} / {:.2}", v[0], v[1], v[2]);
    let all: Vec<f64> = r.profiles.iter().map(|x| x.normalized).collect();
    println!("{name} all files: {}", p(&all));
    for h in &r.halves {
        let v: Vec<f64> = h.profiles.iter().map(|x| x.normalized).collect();
        println!("{name} {} ({} files): {}", h.name, h.files, p(&v));
    }
    if std::env::var_os("PER_FILE").is_some() {
        for f in r.files.iter().filter(|f| f.tuning) {
            if let Some(o) = f.outcomes.first() {
                println!(
                    "{:50} win {:2} det {:2} miss {:2} fp {:4} score {:7.3}",
                    f.key, f.windows, o.detected, o.missed, o.false_positive_rows, o.score
                );
            }
        }
    }
    Ok(())
}
