//! Augmented tuning set: injects synthetic anomalies (spikes, dips, level shifts, variance
//! changes, flat lines, drop-outs, ramps, lost patterns) into copies of the NAB tuning half (the
//! held-out half is never loaded), each with a NAB-style window, and scores detector settings
//! on them with the NAB scorer. It gives ~500 windows instead of 57, as a second check that a
//! change is not fitted to the tuning files' own anomalies. Prints the augmented and tuning
//! standard scores, false-positive rows and, per anomaly type, injected windows detected at the
//! augmented set's threshold. `AUG_REPS` (default 2) copies per file and type; `AUG_DEBUG=type`
//! lists the misses of one type. Usage:
//! `cargo run -p vigia-bench --release --example nab_aug -- NAB_DIR [BASE_JSON] [field=v1,v2 ...]`

mod common;

use std::path::Path;

use vigia_bench::nab::{self, DataFile, scorer};
use vigia_ml::DetectorConfig;

/// xorshift64: a fixed, seedable sequence (the augmented set is the same on every run).
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

/// The injected anomaly types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One sample half the history's range above its maximum.
    SpikeUp,
    /// One sample half the range below its minimum.
    SpikeDown,
    /// `+ 3 robust sd + 0.3 range` for the duration.
    Level,
    /// Deviations from the median tripled.
    Variance,
    /// The last value held (a stuck sensor).
    Flatline,
    /// Below the history's minimum (an outage).
    Dropout,
    /// A ramp up to 0.8 of the range.
    Trend,
    /// The median held (the usual short-term pattern lost).
    Season,
}

const KINDS: [(Kind, &str); 8] = [
    (Kind::SpikeUp, "spike_up"),
    (Kind::SpikeDown, "spike_down"),
    (Kind::Level, "level"),
    (Kind::Variance, "variance"),
    (Kind::Flatline, "flatline"),
    (Kind::Dropout, "dropout"),
    (Kind::Trend, "trend"),
    (Kind::Season, "season"),
];

/// Median, robust sd (MAD × 1.4826, or 5 % of the range when the MAD is 0), min and max.
fn robust(v: &[f64]) -> Option<(f64, f64, f64, f64)> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let q = |p: f64| {
        s.get(((s.len().checked_sub(1)?) as f64 * p).round() as usize)
            .copied()
    };
    let (med, lo, hi) = (q(0.5)?, q(0.0)?, q(1.0)?);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mad = dev.get(dev.len() / 2)? * 1.4826;
    let sd = if mad > 0.0 {
        mad
    } else {
        (hi - lo) * 0.05 + 1e-9
    };
    Some((med, sd, lo, hi))
}

/// A copy of `f` with one anomaly of `kind` after the probationary period, away from the
/// labelled windows, and its window (NAB's width: 10 % of the file over the window count).
fn inject(f: &DataFile, kind: Kind, name: &str, rng: &mut Rng) -> Option<DataFile> {
    let n = f.values.len();
    let p = ((n as f64 * 0.15).floor() as usize).min(750);
    let w = ((0.1 * n as f64) / (f.windows.len() + 1) as f64).round() as usize;
    let idx = |t: i64| f.timestamps_ms.iter().position(|&x| x >= t).unwrap_or(n);
    let existing: Vec<(usize, usize)> = f.windows.iter().map(|&(a, b)| (idx(a), idx(b))).collect();
    let dur = (w / 2).max(4);
    let lo = p + p.min(w) + 10;
    if n <= lo + w + dur {
        return None;
    }
    for _ in 0..100 {
        let t0 = lo + rng.below(n - lo - w.max(dur));
        let (a, b) = (t0.saturating_sub(w / 2), (t0 + w / 2).min(n - 1));
        if existing
            .iter()
            .any(|&(ea, eb)| a < eb + w && ea < b + w + dur)
        {
            continue;
        }
        let (med, sd, _, _) = robust(f.values.get(t0.saturating_sub(p)..t0)?)?;
        let (_, _, hmin, hmax) = robust(f.values.get(..t0)?)?;
        let range = (hmax - hmin).max(sd);
        let mut v = f.values.clone();
        let before = *v.get(t0.checked_sub(1)?)?;
        let end = (t0 + dur).min(n);
        let k = (end - t0) as f64;
        for (j, x) in v.get_mut(t0..end)?.iter_mut().enumerate() {
            *x = match kind {
                Kind::SpikeUp if j == 0 => hmax + 0.5 * range,
                Kind::SpikeDown if j == 0 => hmin - 0.5 * range,
                Kind::SpikeUp | Kind::SpikeDown => *x,
                Kind::Level => *x + 3.0 * sd + 0.3 * range,
                Kind::Variance => med + (*x - med) * 3.0,
                Kind::Flatline => before,
                Kind::Dropout => hmin - 0.2 * range,
                Kind::Trend => *x + (j as f64 / k) * 0.8 * range,
                Kind::Season => med,
            };
        }
        let mut g = f.clone();
        g.values = v;
        g.raw_values = g.values.iter().map(|x| x.to_string()).collect();
        let window = (*f.timestamps_ms.get(a)?, *f.timestamps_ms.get(b)?);
        g.windows.push(window);
        g.windows.sort_unstable();
        g.key = format!("{}#{name}", f.key);
        return Some(g);
    }
    None
}

/// One augmented file: which kind, and its injected window.
struct Injected {
    kind: usize,
    window: (i64, i64),
}

fn main() -> Result<(), common::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        return Err("usage: nab_aug NAB_DIR [BASE_JSON] [field=v1,v2,...]...".into());
    };
    let mut corpus = nab::load_corpus(Path::new(dir))?;
    let keys = nab::tuning_keys();
    corpus.files.retain(|f| keys.contains(&f.key.as_str()));
    let reps: usize = std::env::var("AUG_REPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let debug = std::env::var("AUG_DEBUG").ok();
    let mut aug = corpus.clone();
    aug.files.clear();
    let mut injected = Vec::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for f in &corpus.files {
        for (i, &(kind, name)) in KINDS.iter().enumerate() {
            for _ in 0..reps {
                if let Some(g) = inject(f, kind, name, &mut rng) {
                    let window = g
                        .windows
                        .iter()
                        .copied()
                        .find(|w| !f.windows.contains(w))
                        .unwrap_or_default();
                    injected.push(Injected { kind: i, window });
                    aug.files.push(g);
                }
            }
        }
    }
    let geoms: Vec<_> = aug.files.iter().map(scorer::FileGeometry::new).collect();
    let tgeoms: Vec<_> = corpus.files.iter().map(scorer::FileGeometry::new).collect();
    let Some(prof) = corpus.profiles.first() else {
        return Err("no scoring profiles".into());
    };
    let (grid, fields) = common::grid(args.get(1..).unwrap_or(&[]))?;
    for g in grid {
        let cfg: DetectorConfig = serde_json::from_value(g.clone())?;
        let scores = nab::detect_corpus(&aug, &cfg, &|_, _| {});
        let pairs: Vec<_> = geoms
            .iter()
            .zip(&scores)
            .map(|(g, s)| (g, s.as_slice()))
            .collect();
        let all = scorer::score_set(&pairs, prof, None);
        let tun = common::evaluate(&corpus, &tgeoms, &cfg);
        let mut per = Vec::new();
        for (i, (_, name)) in KINDS.iter().enumerate() {
            let (mut det, mut tot) = (0, 0);
            for ((f, s), inj) in aug.files.iter().zip(&scores).zip(&injected) {
                if inj.kind != i {
                    continue;
                }
                tot += 1;
                let (a, b) = inj.window;
                let inside = || {
                    f.timestamps_ms
                        .iter()
                        .zip(s)
                        .filter(move |(t, _)| **t >= a && **t <= b)
                        .map(|(_, v)| *v)
                };
                let best = inside().fold(0.0, f64::max);
                let hit = best >= all.threshold;
                det += usize::from(hit);
                if !hit && debug.as_deref() == Some(name) {
                    println!("  miss {} window from {a} ms, max score {best:.3}", f.key);
                }
            }
            per.push(format!("{}:{det}/{tot}", name.get(..4).unwrap_or(name)));
        }
        println!(
            "aug {:6.2} tun {:6.2} fp {:4} | {} | {}",
            all.normalized,
            tun[0],
            all.outcome.false_positive_rows,
            per.join(" "),
            common::describe(&g, &fields)
        );
    }
    Ok(())
}
