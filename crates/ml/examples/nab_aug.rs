//! Augmented tuning set: injects synthetic anomalies (spikes, dips, level shifts, variance
//! changes, flat lines, drop-outs, ramps, lost patterns) into copies of the NAB tuning half (the
//! held-out half is never loaded), each with a NAB-style window, and scores detector settings
//! on them with the NAB scorer. It gives ~500 windows instead of 57, as a second check that a
//! change is not fitted to the tuning files' own anomalies. Prints the augmented and tuning
//! standard scores, false-positive rows and, per anomaly type, injected windows detected at the
//! augmented set's threshold. `AUG_REPS` (default 2) copies per file and type; `AUG_DEBUG=type`
//! lists the misses of one type. Usage:
//! `cargo run -p vigia-ml --release --example nab_aug -- NAB_DIR [BASE_JSON] [field=v1,v2 ...]`

use std::path::Path;

use vigia_ml::DetectorConfig;
use vigia_ml::nab::{self, DataFile, scorer};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TYPES: [&str; 8] = [
    "spike_up",
    "spike_down",
    "level",
    "variance",
    "flatline",
    "dropout",
    "trend",
    "season",
];

fn robust(v: &[f64]) -> (f64, f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let q = |p: f64| s[((s.len() - 1) as f64 * p).round() as usize];
    let med = q(0.5);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mad = dev[dev.len() / 2] * 1.4826;
    let range = q(1.0) - q(0.0);
    let sd = if mad > 0.0 { mad } else { range * 0.05 + 1e-9 };
    (med, sd, q(0.0), q(1.0))
}

fn inject(f: &DataFile, ty: usize, rng: &mut Rng) -> Option<DataFile> {
    let n = f.values.len();
    let p = ((n as f64 * 0.15).floor() as usize).min(750);
    let nwin = f.windows.len() + 1;
    let w = ((0.1 * n as f64) / nwin as f64).round() as usize;
    let idx = |t: i64| f.timestamps_ms.iter().position(|&x| x >= t).unwrap_or(n);
    let existing: Vec<(usize, usize)> = f.windows.iter().map(|&(a, b)| (idx(a), idx(b))).collect();
    let dur = (w / 2).max(4);
    for _ in 0..100 {
        let lo = p + p.min(w) + 10;
        if n <= lo + w + dur {
            return None;
        }
        let t0 = lo + rng.below(n - lo - w.max(dur));
        let (a, b) = (t0.saturating_sub(w / 2), (t0 + w / 2).min(n - 1));
        if existing
            .iter()
            .any(|&(ea, eb)| a < eb + w && ea < b + w + dur)
        {
            continue;
        }
        let hist = &f.values[t0.saturating_sub(p)..t0];
        let (med, sd, _, _) = robust(hist);
        let (_, _, hmin, hmax) = robust(&f.values[..t0]);
        let range = (hmax - hmin).max(sd);
        let mut v = f.values.clone();
        let end = (t0 + dur).min(n);
        match TYPES[ty] {
            "spike_up" => v[t0] = hmax + 0.5 * range,
            "spike_down" => v[t0] = hmin - 0.5 * range,
            "level" => {
                for x in &mut v[t0..end] {
                    *x += 3.0 * sd + 0.3 * range;
                }
            }
            "variance" => {
                for x in &mut v[t0..end] {
                    *x = med + (*x - med) * 3.0;
                }
            }
            "flatline" => {
                let c = v[t0 - 1];
                for x in &mut v[t0..end] {
                    *x = c;
                }
            }
            "dropout" => {
                for x in &mut v[t0..end] {
                    *x = hmin - 0.2 * range;
                }
            }
            "trend" => {
                let k = (end - t0) as f64;
                for (j, x) in v[t0..end].iter_mut().enumerate() {
                    *x += (j as f64 / k) * (0.8 * range);
                }
            }
            "season" => {
                // replace with a smoothed copy (loss of the usual short-term pattern)
                for x in &mut v[t0..end] {
                    *x = med;
                }
            }
            _ => {}
        }
        let mut g = f.clone();
        g.values = v;
        g.raw_values = g.values.iter().map(|x| x.to_string()).collect();
        let wa = f.timestamps_ms[a];
        let wb = f.timestamps_ms[b];
        g.windows.push((wa, wb));
        g.windows.sort();
        g.key = format!("{}#{}", f.key, TYPES[ty]);
        return Some(g);
    }
    None
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = &args[0];
    let mut corpus = nab::load_corpus(Path::new(dir))?;
    let keys = nab::tuning_keys();
    corpus.files.retain(|f| keys.contains(&f.key.as_str()));
    let reps: usize = std::env::var("AUG_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let mut aug = Vec::new();
    let mut types = Vec::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for f in &corpus.files {
        for ty in 0..TYPES.len() {
            for _ in 0..reps {
                if let Some(g) = inject(f, ty, &mut rng) {
                    aug.push(g);
                    types.push(ty);
                }
            }
        }
    }
    let mut acorpus = corpus.clone();
    acorpus.files = aug;
    let geoms: Vec<_> = acorpus
        .files
        .iter()
        .map(scorer::FileGeometry::new)
        .collect();
    let tgeoms: Vec<_> = corpus.files.iter().map(scorer::FileGeometry::new).collect();

    let mut rest = &args[1..];
    let mut base = serde_json::to_value(DetectorConfig::default())?;
    if let Some(first) = rest.first()
        && first.starts_with('{')
    {
        let over: serde_json::Value = serde_json::from_str(first)?;
        merge(&mut base, &over);
        rest = &rest[1..];
    }
    let mut grid = vec![base];
    for spec in rest {
        let (field, values) = spec.split_once('=').ok_or("bad spec")?;
        let mut next = Vec::new();
        for g in &grid {
            let sep = if values.contains('|') { '|' } else { ',' };
            for v in values.split(sep) {
                let mut c = g.clone();
                let val: serde_json::Value = serde_json::from_str(v)?;
                let mut t = &mut c;
                let parts: Vec<&str> = field.split('.').collect();
                for part in &parts[..parts.len() - 1] {
                    t = t.get_mut(*part).ok_or("no field")?;
                }
                t[parts[parts.len() - 1]] = val;
                next.push(c);
            }
        }
        grid = next;
    }
    for g in grid {
        let cfg: DetectorConfig = serde_json::from_value(g.clone())?;
        let scores = run(&acorpus, &cfg);
        let tscores = run(&corpus, &cfg);
        let prof = &corpus.profiles[0];
        let pairs: Vec<_> = geoms
            .iter()
            .zip(&scores)
            .map(|(g, s)| (g, s.as_slice()))
            .collect();
        let tpairs: Vec<_> = tgeoms
            .iter()
            .zip(&tscores)
            .map(|(g, s)| (g, s.as_slice()))
            .collect();
        let all = scorer::score_set(&pairs, prof, None);
        let tun = scorer::score_set(&tpairs, prof, None);
        let mut per = Vec::new();
        for (ty, name) in TYPES.iter().enumerate() {
            // detection rate of the injected window at the all-set threshold
            let mut det = 0;
            let mut tot = 0;
            for ((f, s), &t) in acorpus.files.iter().zip(&scores).zip(&types) {
                if t != ty {
                    continue;
                }
                tot += 1;
                let key_w: Vec<(i64, i64)> = f.windows.clone();
                let orig = corpus
                    .files
                    .iter()
                    .find(|o| f.key.starts_with(&o.key))
                    .map(|o| o.windows.clone())
                    .unwrap_or_default();
                if let Some(&(a, b)) = key_w.iter().find(|w| !orig.contains(w)) {
                    let hit = f
                        .timestamps_ms
                        .iter()
                        .zip(s)
                        .any(|(&t, &v)| t >= a && t <= b && v >= all.threshold);
                    det += usize::from(hit);
                    if !hit && std::env::var_os("AUG_DEBUG").is_some_and(|d| d == *name) {
                        let mx = f
                            .timestamps_ms
                            .iter()
                            .zip(s)
                            .filter(|(t, _)| **t >= a && **t <= b)
                            .map(|(_, v)| *v)
                            .fold(0.0, f64::max);
                        let i = f.timestamps_ms.iter().position(|&t| t >= a).unwrap_or(0);
                        println!("  miss {} win rows {}.. max score {:.3}", f.key, i, mx);
                    }
                }
            }
            per.push(format!("{}:{det}/{tot}", name.get(..4).unwrap_or(name)));
        }
        let varied: Vec<String> = rest
            .iter()
            .filter_map(|s| s.split_once('='))
            .map(|(k, _)| {
                let v = k.split('.').try_fold(&g, |v, p| v.get(p));
                format!("{k}={}", v.map_or(String::new(), |v| v.to_string()))
            })
            .collect();
        println!(
            "aug {:6.2} tun {:6.2} fp {:4} | {} | {}",
            all.normalized,
            tun.normalized,
            all.outcome.false_positive_rows,
            per.join(" "),
            varied.join(" ")
        );
    }
    Ok(())
}

fn run(c: &nab::Corpus, cfg: &DetectorConfig) -> Vec<Vec<f64>> {
    nab::detect_corpus(c, cfg, &|_, _| {})
}

fn merge(base: &mut serde_json::Value, over: &serde_json::Value) {
    if let (Some(b), Some(o)) = (base.as_object_mut(), over.as_object()) {
        for (k, v) in o {
            match b.get_mut(k) {
                Some(bv) if bv.is_object() && v.is_object() => merge(bv, v),
                _ => {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
    }
}
