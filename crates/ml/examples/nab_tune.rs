//! Grid search of detector settings on the NAB tuning half only (the held-out half is never
//! loaded here). Usage:
//! `cargo run -p vigia-ml --release --example nab_tune -- NAB_DIR [BASE_JSON] [field=v1,v2,...]...`
//! Prints tuning-half standard / low-FP / low-FN for every combination, best last, and the
//! standard score of each inner half (alternate tuning files). `DITHER=N` scores each
//! combination as the mean over the first N evaluation dithers (`nab::dithered`: block phase
//! and level-grid offset) and adds their standard deviation and minimum: single runs move by
//! several points with the discretisation, so compare means.

use std::path::Path;

use vigia_ml::DetectorConfig;
use vigia_ml::nab::{self, scorer};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        return Err("usage: nab_tune NAB_DIR [BASE_JSON] [field=v1,v2,...]...".into());
    };
    let mut corpus = nab::load_corpus(Path::new(dir))?;
    let keys = nab::tuning_keys();
    corpus.files.retain(|f| keys.contains(&f.key.as_str()));
    // Optional inner split of the tuning half (alternate files) to check generalisation.
    match std::env::var("TUNE_SUBSET").as_deref() {
        Ok("a") => corpus.files = corpus.files.iter().step_by(2).cloned().collect(),
        Ok("b") => corpus.files = corpus.files.iter().skip(1).step_by(2).cloned().collect(),
        _ => {}
    }
    let mut rest = &args[1..];
    let mut base = serde_json::to_value(DetectorConfig::default())?;
    if let Some(first) = rest.first()
        && first.starts_with('{')
    {
        let over: serde_json::Value = serde_json::from_str(first)?;
        if let (Some(b), Some(o)) = (base.as_object_mut(), over.as_object()) {
            for (k, v) in o {
                b.insert(k.clone(), v.clone());
            }
        }
        rest = &rest[1..];
    }
    let mut grid: Vec<serde_json::Value> = vec![base];
    for spec in rest {
        let Some((field, values)) = spec.split_once('=') else {
            return Err(format!("bad spec {spec}").into());
        };
        let mut next = Vec::new();
        for g in &grid {
            // Values are separated by ',' (or by '|' when a value itself contains commas).
            let sep = if values.contains('|') { '|' } else { ',' };
            for v in values.split(sep) {
                let mut c = g.clone();
                let val: serde_json::Value = serde_json::from_str(v)?;
                // `art.window=8` sets a nested field.
                let mut target = &mut c;
                let mut parts = field.split('.').peekable();
                while let Some(part) = parts.next() {
                    if parts.peek().is_none() {
                        if let Some(o) = target.as_object_mut() {
                            o.insert(part.to_string(), val.clone());
                        }
                        break;
                    }
                    let Some(inner) = target.get_mut(part) else {
                        return Err(format!("no field {field}").into());
                    };
                    target = inner;
                }
                next.push(c);
            }
        }
        grid = next;
    }
    let geoms: Vec<_> = corpus.files.iter().map(scorer::FileGeometry::new).collect();
    let single = grid.len() == 1;
    let mut results = Vec::new();
    for g in grid {
        let cfg: DetectorConfig = serde_json::from_value(g.clone())?;
        let dither: usize = std::env::var("DITHER")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if dither > 0 {
            let mut acc = [0.0f64; 5];
            let mut all = Vec::new();
            for k in 0..dither {
                let c = nab::dithered(&cfg, k);
                let scores = nab::detect_corpus(&corpus, &c, &|_, _| {});
                let pairs: Vec<_> = geoms
                    .iter()
                    .zip(&scores)
                    .map(|(g, s)| (g, s.as_slice()))
                    .collect();
                let prof = &corpus.profiles;
                let v = [
                    scorer::score_set(&pairs, &prof[0], None).normalized,
                    scorer::score_set(&pairs, &prof[1], None).normalized,
                    scorer::score_set(&pairs, &prof[2], None).normalized,
                    scorer::score_set(
                        &pairs.iter().step_by(2).copied().collect::<Vec<_>>(),
                        &prof[0],
                        None,
                    )
                    .normalized,
                    scorer::score_set(
                        &pairs.iter().skip(1).step_by(2).copied().collect::<Vec<_>>(),
                        &prof[0],
                        None,
                    )
                    .normalized,
                ];
                all.push(v[0]);
                for k in 0..5 {
                    acc[k] += v[k] / dither as f64;
                }
            }
            let sd =
                (all.iter().map(|x| (x - acc[0]).powi(2)).sum::<f64>() / all.len() as f64).sqrt();
            let varied: Vec<String> = rest
                .iter()
                .filter_map(|spec| spec.split_once('='))
                .map(|(k, _)| {
                    let v = k.split('.').try_fold(&g, |v, p| v.get(p));
                    format!("{k}={}", v.map_or(String::new(), |v| v.to_string()))
                })
                .collect();
            println!(
                "{:7.2} {:7.2} {:7.2}  a {:6.2} b {:6.2} sd {:5.2} min {:6.2}  {}",
                acc[0],
                acc[1],
                acc[2],
                acc[3],
                acc[4],
                sd,
                all.iter().copied().fold(f64::INFINITY, f64::min),
                varied.join(" ")
            );
            results.push((acc[..3].to_vec(), g));
            continue;
        }
        let scores = nab::detect_corpus(&corpus, &cfg, &|_, _| {});
        let pairs: Vec<_> = geoms
            .iter()
            .zip(&scores)
            .map(|(g, s)| (g, s.as_slice()))
            .collect();
        let ps: Vec<f64> = corpus
            .profiles
            .iter()
            .map(|p| scorer::score_set(&pairs, p, None).normalized)
            .collect();
        // Inner split of the tuning half (alternate files): standard score on each part.
        let part = |skip: usize| -> f64 {
            let sub: Vec<_> = pairs.iter().skip(skip).step_by(2).copied().collect();
            corpus
                .profiles
                .first()
                .map_or(0.0, |p| scorer::score_set(&sub, p, None).normalized)
        };
        let varied: Vec<String> = rest
            .iter()
            .filter_map(|spec| spec.split_once('='))
            .map(|(k, _)| {
                let v = k.split('.').try_fold(&g, |v, p| v.get(p));
                format!("{k}={}", v.map_or(String::new(), |v| v.to_string()))
            })
            .collect();
        println!(
            "{:7.2} {:7.2} {:7.2}  a {:6.2} b {:6.2}  {}",
            ps[0],
            ps[1],
            ps[2],
            part(0),
            part(1),
            if varied.is_empty() {
                g.to_string()
            } else {
                varied.join(" ")
            }
        );
        if single && let Some(p) = corpus.profiles.first() {
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
        results.push((ps, g));
    }
    if std::env::var_os("TUNE_BENCH").is_some()
        && let Some((_, g)) = results.last()
    {
        let cfg: DetectorConfig = serde_json::from_value(g.clone())?;
        let b = vigia_ml::bench_detector(&cfg);
        println!(
            "bench: {:.0} samples/s on one core, {} state bytes",
            b.samples_per_sec, b.state_bytes
        );
    }
    results.sort_by(|a, b| a.0[0].total_cmp(&b.0[0]));
    if let Some((ps, g)) = results.last() {
        println!("BEST {:7.2} {:7.2} {:7.2}  {}", ps[0], ps[1], ps[2], g);
    }
    Ok(())
}
