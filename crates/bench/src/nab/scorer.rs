//! vigia's implementation of NAB scoring: per-row weights from anomaly windows (scaled
//! sigmoid of the position relative to the window), the probationary period, a threshold sweep
//! over the whole (sub)corpus per profile, and normalisation against the null detector (which
//! scores every row 0.5) and the perfect detector (every window detected at its left edge).

use super::corpus::{CostMatrix, DataFile, Profile};

/// Fraction of each file excluded from scoring at its start.
pub const PROBATIONARY_PERCENT: f64 = 0.15;
/// NAB caps the probationary period at 15 % of 5000 rows, i.e. 750 rows.
const PROBATION_CAP_ROWS: f64 = 5000.0;

/// Probationary length as NAB computes it: `min(floor(0.15 n), 0.15 * 5000)`.
pub fn probationary_length(rows: usize) -> f64 {
    (PROBATIONARY_PERCENT * rows as f64)
        .floor()
        .min(PROBATIONARY_PERCENT * PROBATION_CAP_ROWS)
}

/// `2 / (1 + e^{5x}) - 1` for `x <= 3`, `-1` beyond: +0.987 at the left window edge, 0 at the
/// right edge, tending to -1 far after a window.
pub fn scaled_sigmoid(x: f64) -> f64 {
    if x > 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * x).exp()) - 1.0
    }
}

/// Where a row falls for scoring purposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Inside the probationary period: never scored.
    Probation,
    /// Inside window number `.0` of its file.
    Window(u32),
    /// Outside every window.
    Outside,
}

/// Per-row scoring geometry of one file: independent of both the detector and the profile.
#[derive(Debug, Clone)]
pub struct FileGeometry {
    slots: Vec<Slot>,
    /// Unweighted scaled-sigmoid value of each row.
    unweighted: Vec<f64>,
    /// Number of labelled windows (including any inside the probationary period).
    pub windows: usize,
    /// Which windows have at least one scorable row (others cannot be detected or missed).
    scorable_window: Vec<bool>,
}

impl FileGeometry {
    /// Computes the geometry of a data file from its timestamps and windows.
    pub fn new(file: &DataFile) -> Self {
        let ts = &file.timestamps_ms;
        let n = ts.len();
        let probation = probationary_length(n);
        let first_index = |t: i64| ts.iter().position(|&x| x == t);
        let mut slots = Vec::with_capacity(n);
        let mut unweighted = Vec::with_capacity(n);
        let mut scorable_window = vec![false; file.windows.len()];
        let mut next_window = 0usize;
        // (window number, right index, width) of the window we are in.
        let mut current: Option<(usize, f64, f64)> = None;
        // (right index, width) of the last window we left.
        let mut previous: Option<(f64, f64)> = None;
        for (i, &t) in ts.iter().enumerate() {
            let fi = i as f64;
            if let Some(&(start, end)) = file.windows.get(next_window)
                && t == start
            {
                let left = first_index(start).unwrap_or(i) as f64;
                let right = first_index(end).unwrap_or(i) as f64;
                current = Some((next_window, right, right - left + 1.0));
                next_window += 1;
            }
            let (slot, u) = match current {
                Some((w, right, width)) => (
                    Slot::Window(w as u32),
                    scaled_sigmoid(-(right - fi + 1.0) / width),
                ),
                None => {
                    let u = match previous {
                        None => -1.0,
                        Some((right, width)) => scaled_sigmoid((right - fi).abs() / (width - 1.0)),
                    };
                    (Slot::Outside, u)
                }
            };
            let slot = if fi >= probation {
                slot
            } else {
                Slot::Probation
            };
            if let Slot::Window(w) = slot
                && let Some(s) = scorable_window.get_mut(w as usize)
            {
                *s = true;
            }
            slots.push(slot);
            unweighted.push(u);
            if let Some((w, _, width)) = current
                && file.windows.get(w).is_some_and(|&(_, end)| end == t)
            {
                previous = Some((fi, width));
                current = None;
            }
        }
        FileGeometry {
            slots,
            unweighted,
            windows: file.windows.len(),
            scorable_window,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.slots.len()
    }
}

/// The outcome of one file (or a set of files) at a given threshold.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// Raw NAB score (sum of window rewards, missed-window costs and false-positive costs).
    pub score: f64,
    /// Windows with at least one scorable row at or above the threshold.
    pub detected: usize,
    /// Scorable windows with no detection.
    pub missed: usize,
    /// Scorable rows outside every window at or above the threshold.
    pub false_positive_rows: usize,
}

impl Outcome {
    fn add(&mut self, o: &Outcome) {
        self.score += o.score;
        self.detected += o.detected;
        self.missed += o.missed;
        self.false_positive_rows += o.false_positive_rows;
    }
}

fn max_tp() -> f64 {
    scaled_sigmoid(-1.0)
}

/// Weighted contribution of a row that is flagged.
fn weighted(slot: Slot, u: f64, cost: &CostMatrix) -> f64 {
    match slot {
        Slot::Window(_) => u * cost.tp / max_tp(),
        _ => u * cost.fp,
    }
}

/// Scores one file at `threshold` (a row is a detection when `score >= threshold`).
pub fn score_file(
    geom: &FileGeometry,
    scores: &[f64],
    cost: &CostMatrix,
    threshold: f64,
) -> Outcome {
    let mut best: Vec<Option<f64>> = vec![None; geom.scorable_window.len()];
    let mut fp_sum = 0.0;
    let mut fp_rows = 0;
    for ((&slot, &u), &s) in geom.slots.iter().zip(&geom.unweighted).zip(scores) {
        if slot == Slot::Probation || s.is_nan() || s < threshold {
            continue;
        }
        let w = weighted(slot, u, cost);
        match slot {
            Slot::Window(k) => {
                if let Some(b) = best.get_mut(k as usize) {
                    *b = Some(b.map_or(w, |x: f64| x.max(w)));
                }
            }
            _ => {
                fp_sum += w;
                fp_rows += 1;
            }
        }
    }
    let mut out = Outcome {
        score: fp_sum,
        false_positive_rows: fp_rows,
        ..Outcome::default()
    };
    for (k, b) in best.iter().enumerate() {
        if !geom.scorable_window.get(k).copied().unwrap_or(false) {
            continue;
        }
        match b {
            Some(v) => {
                out.score += v.max(-cost.fn_);
                out.detected += 1;
            }
            None => {
                out.score -= cost.fn_;
                out.missed += 1;
            }
        }
    }
    out
}

/// Finds the threshold maximising the total score over `files` (NAB's optimiser: every
/// distinct anomaly score is a candidate, plus 1.1 = "flag nothing"; on ties the higher
/// threshold wins). Returns `(threshold, total score)`.
pub fn optimise_threshold(files: &[(&FileGeometry, &[f64])], cost: &CostMatrix) -> (f64, f64) {
    // (anomaly score, global window id or u32::MAX for outside, weighted value)
    let mut rows: Vec<(f64, u32, f64)> = Vec::new();
    let mut window_base = 0u32;
    let mut scorable = 0usize;
    let mut window_ids: Vec<bool> = Vec::new();
    for (geom, scores) in files {
        for ((&slot, &u), &s) in geom.slots.iter().zip(&geom.unweighted).zip(scores.iter()) {
            let s = if s.is_nan() { f64::NEG_INFINITY } else { s };
            match slot {
                Slot::Probation => {}
                Slot::Window(k) => rows.push((s, window_base + k, weighted(slot, u, cost))),
                Slot::Outside => rows.push((s, u32::MAX, weighted(slot, u, cost))),
            }
        }
        window_ids.extend(geom.scorable_window.iter().copied());
        scorable += geom.scorable_window.iter().filter(|&&b| b).count();
        window_base += geom.scorable_window.len() as u32;
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut best_window = vec![-cost.fn_; window_ids.len()];
    let mut fp_sum = 0.0;
    let mut window_sum = -cost.fn_ * scorable as f64;
    let mut current = 1.1;
    let mut best = (current, window_sum);
    for &(s, w, v) in &rows {
        if s != current {
            let total = fp_sum + window_sum;
            if total > best.1 {
                best = (current, total);
            }
            current = s;
        }
        if w == u32::MAX {
            fp_sum += v;
        } else if let Some(b) = best_window.get_mut(w as usize)
            && v > *b
        {
            window_sum += v - *b;
            *b = v;
        }
    }
    let total = fp_sum + window_sum;
    if total > best.1 {
        best = (current, total);
    }
    best
}

/// Normalised NAB score of a set of files for one profile, with its threshold chosen on the
/// same set.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProfileScore {
    /// Profile name.
    pub profile: String,
    /// The threshold used.
    pub threshold: f64,
    /// 100 × (raw − null) / (perfect − null).
    pub normalized: f64,
    /// Summed outcome at the threshold.
    pub outcome: Outcome,
    /// Raw score of the null detector (optimised the same way).
    pub null_score: f64,
    /// Raw score of the perfect detector: windows × tp weight.
    pub perfect_score: f64,
}

/// Normalises a raw score; `None` when the set has no windows (perfect equals null).
pub fn normalise(raw: f64, null: f64, perfect: f64) -> Option<f64> {
    let d = perfect - null;
    if d.abs() < 1e-12 {
        None
    } else {
        Some(100.0 * (raw - null) / d)
    }
}

/// Null detector's raw score on `files`: every row 0.5, threshold optimised like any detector.
pub fn null_score(geoms: &[&FileGeometry], cost: &CostMatrix) -> f64 {
    let halves: Vec<Vec<f64>> = geoms.iter().map(|g| vec![0.5; g.rows()]).collect();
    let pairs: Vec<(&FileGeometry, &[f64])> = geoms
        .iter()
        .zip(&halves)
        .map(|(g, h)| (*g, h.as_slice()))
        .collect();
    optimise_threshold(&pairs, cost).1
}

/// Scores a set of files with `profile`: threshold optimised on the set itself unless
/// `fixed_threshold` is given.
pub fn score_set(
    files: &[(&FileGeometry, &[f64])],
    profile: &Profile,
    fixed_threshold: Option<f64>,
) -> ProfileScore {
    let cost = &profile.cost;
    let threshold = fixed_threshold.unwrap_or_else(|| optimise_threshold(files, cost).0);
    let mut outcome = Outcome::default();
    for (g, s) in files {
        outcome.add(&score_file(g, s, cost, threshold));
    }
    let geoms: Vec<&FileGeometry> = files.iter().map(|(g, _)| *g).collect();
    let null = null_score(&geoms, cost);
    let perfect = cost.tp * geoms.iter().map(|g| g.windows).sum::<usize>() as f64;
    ProfileScore {
        profile: profile.name.clone(),
        threshold,
        normalized: normalise(outcome.score, null, perfect).unwrap_or(0.0),
        outcome,
        null_score: null,
        perfect_score: perfect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(n: usize, windows: Vec<(i64, i64)>) -> DataFile {
        DataFile {
            key: "c/f.csv".into(),
            category: "c".into(),
            name: "f".into(),
            raw_timestamps: vec![String::new(); n],
            raw_values: vec![String::new(); n],
            timestamps_ms: (0..n as i64).collect(),
            values: vec![0.0; n],
            windows,
        }
    }

    const STD: CostMatrix = CostMatrix {
        tp: 1.0,
        fp: 0.11,
        fn_: 1.0,
    };

    #[test]
    fn sigmoid_landmarks() {
        assert!((scaled_sigmoid(-1.0) - 0.98661).abs() < 1e-5);
        assert!((scaled_sigmoid(-0.5) - 0.84828).abs() < 1e-5);
        assert!(scaled_sigmoid(0.0).abs() < 1e-12);
        assert_eq!(scaled_sigmoid(3.5), -1.0);
        assert_eq!(probationary_length(1000), 150.0);
        assert_eq!(probationary_length(22695), 750.0);
    }

    #[test]
    fn earliest_detection_in_window_scores_best() {
        let f = file(1000, vec![(500, 599)]);
        let g = FileGeometry::new(&f);
        let mut early = vec![0.0; 1000];
        early[500] = 1.0;
        let mut late = vec![0.0; 1000];
        late[590] = 1.0;
        let e = score_file(&g, &early, &STD, 0.5);
        let l = score_file(&g, &late, &STD, 0.5);
        assert!(
            (e.score - 1.0).abs() < 1e-9,
            "left edge is worth tp weight: {}",
            e.score
        );
        assert!(l.score < e.score && l.score > 0.0);
        assert_eq!(e.detected, 1);
        // Missing the window costs fn; a far false positive costs fp.
        let mut fp = vec![0.0; 1000];
        fp[300] = 1.0;
        let o = score_file(&g, &fp, &STD, 0.5);
        assert!((o.score - (-1.0 - 0.11)).abs() < 1e-9);
        assert_eq!((o.missed, o.false_positive_rows), (1, 1));
        // Detections in the probationary period are ignored.
        let mut prob = vec![0.0; 1000];
        prob[10] = 1.0;
        assert!((score_file(&g, &prob, &STD, 0.5).score + 1.0).abs() < 1e-9);
    }

    #[test]
    fn optimiser_picks_the_separating_threshold() {
        let f = file(1000, vec![(500, 599)]);
        let g = FileGeometry::new(&f);
        let mut s = vec![0.1; 1000];
        s[500] = 0.9;
        s[700] = 0.5;
        let (t, score) = optimise_threshold(&[(&g, &s)], &STD);
        assert_eq!(t, 0.9);
        assert!((score - 1.0).abs() < 1e-9);
        // Null detector flags nothing: -fn per window.
        assert!((null_score(&[&g], &STD) + 1.0).abs() < 1e-9);
    }
}
