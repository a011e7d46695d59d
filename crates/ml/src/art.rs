//! The adaptive-resonance detector: a prototype memory of the series' recent *shapes and
//! levels* that flags a sample when it forms a genuinely new category.
//!
//! The design follows the ideas behind ARTime (the best published NAB detector) and fuzzy ART
//! (Carpenter & Grossberg), re-derived for a strictly online setting:
//!
//! 1. **Downsampling.** Every `downsample()` raw samples become one point: the block's extreme
//!    (the one further from a short moving average) when it stands out from the block mean by
//!    more than `spike_min` of the range, else the block mean. Spikes survive, noise averages.
//! 2. **Learning period.** The first `learn_samples` raw samples are only remembered. At their end
//!    the value range is fixed from them (widened by `range_margin` on each side, later values
//!    clamped), and the memory is trained on them. NAB hands detectors the file's min and max
//!    in advance; this detector does not use that look-ahead.
//! 3. **Encoding.** A point becomes one of `levels` levels; a level within `chomp` of the
//!    running median level is snapped to it (small wobbles around the usual level are not
//!    news). The feature vector of the last `window` levels is their min–max normalised Haar
//!    wavelet coefficients (the shape) followed by the levels themselves (where it is).
//! 4. **Dual-vigilance fuzzy ART.** Complement-coded features are matched against stored
//!    categories with `similarity = fuzzy_match^feature_power · level_match^level_power`
//!    (`level_match` compares only the newest level). A match above the upper vigilance
//!    refines the category; between the two vigilances a new category is added to a known
//!    cluster; below the lower one a new cluster is founded: the anomaly candidate.
//! 5. **Adaptive vigilance.** Both vigilances start from the typical similarity of the
//!    learning period and are revised every half learning period: the upper one follows the
//!    mean similarity, the lower one rises slowly towards the recent minimum and falls when
//!    similarities drop, never below the similarity of past anomalies.
//! 6. **Masking.** After an anomaly, and after any new cluster or vigilance revision, a new
//!    cluster is reported only when it is clearly less similar than the last anomaly. An
//!    operator (and NAB) wants one early flag per incident.
//!
//! The score is 0 except at reported anomalies, where it is a confidence in `(0, 1]` from how
//! far the similarity fell below the vigilances.

use std::collections::VecDeque;

use crate::MlError;

/// Settings of the adaptive-resonance detector.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArtConfig {
    /// Raw samples in the learning period. The NAB runner sets it to each file's probationary
    /// period, as NAB does for every detector; live series use the default (NAB's 750).
    pub learn_samples: u32,
    /// Feature windows per learning period: sets the downsampling, `learn_samples / (window ·
    /// learn_windows)` raw samples per point (at least 1).
    pub learn_windows: u32,
    /// Points per feature window (2, 4, 8, 16 or 32: the Haar transform needs a power of 2).
    pub window: u32,
    /// Number of value levels.
    pub levels: u32,
    /// Widening of the learnt range on each side, as a fraction of it.
    pub range_margin: f64,
    /// A block extreme replaces the block mean when it differs by more than this fraction of
    /// the range.
    pub spike_min: f64,
    /// Levels within this fraction of all levels from the running median snap to it.
    pub chomp: f64,
    /// Maximum number of categories (least recently used is replaced).
    pub capacity: u32,
    /// Vigilance used to measure the typical similarity of the learning period.
    pub initial_vigilance: f64,
    /// Cap of the upper vigilance.
    pub max_vigilance: f64,
    /// Share of the gap to the recent minimum similarity by which the lower vigilance rises.
    pub vigilance_rise: f64,
    /// Exponent of the fuzzy match of the whole feature vector.
    pub feature_power: f64,
    /// Exponent of the match of the newest level.
    pub level_power: f64,
    /// Masking period after an anomaly, in windows.
    pub mask_windows: f64,
    /// Inside the masking period a new cluster is an anomaly only below this share of the
    /// last anomaly's similarity.
    pub rearm_near: f64,
    /// After a new cluster or a vigilance revision, the share required until the memory has
    /// been stable for a masking period.
    pub rearm_far: f64,
    /// Weight of the newest level's mismatch in the confidence.
    pub level_confidence: f64,
    /// A value beyond the learnt range by at least this much (in units of the range) that
    /// sets a new record on its side is an anomaly even when its shape is known.
    pub min_excursion: f64,
    /// A new record must exceed the previous one by this factor.
    pub record_factor: f64,
    /// When a value falls outside the normalisation range, the range grows to include it plus
    /// this fraction of the new span (0: the range stays as learnt and values are clamped).
    pub expand_margin: f64,
    /// Reported score = confidence^score_exponent. Monotone, so NAB scores do not depend on
    /// it; 0.28 maps the NAB tuning half's optimal threshold (confidence 0.284) to 0.7, the
    /// lowest default severity band of the server.
    pub score_exponent: f64,
    /// A run of identical samples (a stuck or flat-lined series) longer than `flat_factor`
    /// times the longest run before it, learning period included, and than one feature window
    /// is an anomaly, scored at once. Block means and min–max scaled shapes hide such runs
    /// from the memory. 0 disables it; a series that never moved is never flagged.
    pub flat_factor: f64,
    /// Evaluation dither: the first block is shorter by this many samples (modulo the
    /// downsampling factor, so it has no effect where a point is one sample; the `stream`
    /// method ignores both dither settings). The tuning protocol (docs/nab.md) averages
    /// scores over several phases and level offsets, because single runs differ by several
    /// NAB points from where the block and level boundaries happen to fall. Leave it at 0.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub phase: u32,
    /// Evaluation dither: offset of the level grid, in levels (leave it at 0).
    #[serde(skip_serializing_if = "is_zero_f64")]
    pub level_offset: f64,
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

impl Default for ArtConfig {
    fn default() -> Self {
        ArtConfig {
            learn_samples: 750,
            learn_windows: 13,
            window: 8,
            levels: 80,
            range_margin: 0.2,
            spike_min: 0.05,
            chomp: 0.075,
            capacity: 256,
            initial_vigilance: 0.8,
            max_vigilance: 0.97,
            vigilance_rise: 0.19,
            feature_power: 3.0,
            level_power: 2.0,
            mask_windows: 1.5,
            rearm_near: 0.8,
            rearm_far: 0.7,
            level_confidence: 1.5,
            min_excursion: 0.25,
            record_factor: 1.5,
            expand_margin: 0.1,
            score_exponent: 0.28,
            flat_factor: 3.0,
            phase: 0,
            level_offset: 0.0,
        }
    }
}

impl ArtConfig {
    /// Raw samples per downsampled point.
    pub fn downsample(&self) -> u32 {
        (self.learn_samples / (self.window * self.learn_windows).max(1)).max(1)
    }

    /// Downsampled points in the learning period (twice the vigilance revision period).
    pub fn learn_points(&self) -> u32 {
        (self.learn_samples / self.downsample()).max(2 * self.window)
    }

    /// Checks that every setting is in its valid range.
    pub fn validate(&self) -> Result<(), MlError> {
        let bad = |m: String| Err(MlError::Invalid(m));
        if !matches!(self.window, 2 | 4 | 8 | 16 | 32) {
            return bad(format!(
                "art.window must be 2, 4, 8, 16 or 32, got {}",
                self.window
            ));
        }
        if self.learn_samples < self.window * 2 || self.learn_samples > 1_000_000 {
            return bad(format!(
                "art.learn_samples must be between 2·window and 1000000, got {}",
                self.learn_samples
            ));
        }
        if !(1..=1000).contains(&self.learn_windows) {
            return bad(format!(
                "art.learn_windows must be 1..=1000, got {}",
                self.learn_windows
            ));
        }
        if !(2..=10_000).contains(&self.levels) {
            return bad(format!("art.levels must be 2..=10000, got {}", self.levels));
        }
        if !(self.level_offset.is_finite() && (-1.0..=1.0).contains(&self.level_offset)) {
            return bad(format!(
                "art.level_offset must be in [-1, 1], got {}",
                self.level_offset
            ));
        }
        if !(self.flat_factor == 0.0
            || (self.flat_factor.is_finite() && (1.0..=100.0).contains(&self.flat_factor)))
        {
            return bad(format!(
                "art.flat_factor must be 0 (off) or in [1, 100], got {}",
                self.flat_factor
            ));
        }
        if !(1..=100_000).contains(&self.capacity) {
            return bad(format!(
                "art.capacity must be 1..=100000, got {}",
                self.capacity
            ));
        }
        let unit = [
            ("initial_vigilance", self.initial_vigilance),
            ("max_vigilance", self.max_vigilance),
            ("vigilance_rise", self.vigilance_rise),
            ("rearm_near", self.rearm_near),
            ("rearm_far", self.rearm_far),
            ("chomp", self.chomp),
            ("spike_min", self.spike_min),
        ];
        for (name, v) in unit {
            if !(0.0..=1.0).contains(&v) {
                return bad(format!("art.{name} must be in [0, 1], got {v}"));
            }
        }
        let positive = [
            ("range_margin", self.range_margin),
            ("feature_power", self.feature_power),
            ("level_power", self.level_power),
            ("mask_windows", self.mask_windows),
            ("level_confidence", self.level_confidence),
            ("min_excursion", self.min_excursion),
            ("record_factor", self.record_factor),
            ("expand_margin", self.expand_margin),
            ("score_exponent", self.score_exponent),
        ];
        for (name, v) in positive {
            if !(v.is_finite() && (0.0..=100.0).contains(&v)) {
                return bad(format!("art.{name} must be in [0, 100], got {v}"));
            }
        }
        Ok(())
    }
}

/// Fuzzy ART memory with dual vigilance over complement-coded vectors. Feature values are
/// quantised to bytes (0..=255): matching is exact integer arithmetic, and a category costs
/// `4 · window` bytes.
#[derive(Debug, Clone, PartialEq)]
struct Memory {
    /// Feature dimension (the stored weights have twice as many values).
    dim: usize,
    capacity: usize,
    /// `categories × 2·dim` weights, row-major.
    weights: Vec<u8>,
    /// Last use (point number) per category, for least-recently-used replacement.
    used: Vec<u64>,
    /// Scratch: similarity per category.
    sims: Vec<f64>,
}

/// What the memory did with one vector.
#[derive(Debug, Clone, Copy)]
struct Resonance {
    /// A new cluster was founded (no category came within the lower vigilance).
    new_cluster: bool,
    /// Best similarity.
    sim: f64,
    /// Best category's match of the newest level.
    level_sim: f64,
}

impl Memory {
    fn new(dim: usize, capacity: usize) -> Self {
        Memory {
            dim,
            capacity,
            weights: Vec::new(),
            used: Vec::new(),
            sims: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.used.len()
    }

    /// Match of the newest level (the last feature and its complement) of `x` to `w`.
    fn level_match(&self, x: &[u8], w: &[u8]) -> f64 {
        let at = |v: &[u8], i: usize| u32::from(v.get(i).copied().unwrap_or(0));
        let (a, b) = (self.dim - 1, 2 * self.dim - 1);
        let inter = at(x, a).min(at(w, a)) + at(x, b).min(at(w, b));
        let norm = at(w, a) + at(w, b);
        if norm > 0 {
            f64::from(inter) / f64::from(norm)
        } else {
            1.0
        }
    }

    /// Fuzzy match `|x ∧ w| / |w|` of the whole vector.
    fn feature_match(x: &[u8], w: &[u8]) -> f64 {
        let inter: u32 = x.iter().zip(w).map(|(a, b)| u32::from(*a.min(b))).sum();
        let norm: u32 = w.iter().map(|&b| u32::from(b)).sum();
        f64::from(inter) / f64::from(norm.max(1))
    }

    /// Presents complement-coded `x` (point number `now`) and learns it.
    fn train(&mut self, x: &[u8], now: u64, vig: (f64, f64), powers: (f64, f64)) -> Resonance {
        let width = 2 * self.dim;
        if self.len() == 0 {
            self.add(x, now);
            return Resonance {
                new_cluster: false,
                sim: 0.0,
                level_sim: 0.0,
            };
        }
        let (lb, ub) = vig;
        let mut sims = std::mem::take(&mut self.sims);
        sims.clear();
        let (mut best, mut best_level) = (f64::NEG_INFINITY, 0.0);
        for w in self.weights.chunks_exact(width) {
            // The level match bounds the similarity (the feature match is at most 1): skip the
            // full match when the category can neither win nor resonate.
            let level = self.level_match(x, w);
            let bound = pow(level, powers.1);
            if bound < ub && bound <= best {
                sims.push(f64::NEG_INFINITY);
                continue;
            }
            let s = pow(Self::feature_match(x, w), powers.0) * bound;
            if s > best {
                best = s;
                best_level = level;
            }
            sims.push(s);
        }
        let mut resonated = false;
        for (j, &s) in sims.iter().enumerate() {
            if s >= ub {
                resonated = true;
                if let Some(w) = self.weights.get_mut(j * width..(j + 1) * width) {
                    for (wi, xi) in w.iter_mut().zip(x) {
                        *wi = (*wi).min(*xi);
                    }
                }
                if let Some(u) = self.used.get_mut(j) {
                    *u = now;
                }
            }
        }
        self.sims = sims;
        let new_cluster = !resonated && best < lb;
        if !resonated {
            self.add(x, now);
        }
        Resonance {
            new_cluster,
            sim: best.max(0.0),
            level_sim: best_level,
        }
    }

    fn add(&mut self, x: &[u8], now: u64) {
        let width = 2 * self.dim;
        if self.len() < self.capacity {
            self.weights.extend_from_slice(x);
            self.used.push(now);
            return;
        }
        let Some((oldest, _)) = self.used.iter().enumerate().min_by_key(|(_, u)| **u) else {
            return;
        };
        if let Some(w) = self.weights.get_mut(oldest * width..(oldest + 1) * width) {
            w.copy_from_slice(x);
        }
        if let Some(u) = self.used.get_mut(oldest) {
            *u = now;
        }
    }
}

/// The numeric state of [`ArtDetector`] besides its memory and windows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Scalars {
    /// Raw samples seen.
    n: u64,
    /// Downsampled points produced.
    points: u64,
    block_n: u64,
    block_sum: f64,
    block_min: f64,
    block_max: f64,
    /// Short moving average of block means.
    block_ma: f64,
    /// Running min / max of raw samples (used before the range is learnt).
    raw_min: f64,
    raw_max: f64,
    /// Learnt normalisation range (valid once `points > learn_points`).
    lo: f64,
    hi: f64,
    /// The range learnt at the end of the learning period (records are measured against it).
    base_lo: f64,
    base_hi: f64,
    median_level: u64,
    below_median: u64,
    above_median: u64,
    lower_vigilance: f64,
    upper_vigilance: f64,
    sim_sum: f64,
    sim_count: u64,
    anomaly_sim_sum: f64,
    anomaly_count: u64,
    last_anomaly_sim: f64,
    /// Lowest similarity of the current incident (the masking period after an anomaly).
    incident_sim: f64,
    /// Largest excursion above / below the learnt range so far (in units of the range).
    record_up: f64,
    record_down: f64,
    last_anomaly_point: u64,
    last_revision_point: u64,
    masked_after_cluster: u64,
    stable_points: u64,
    last_score: f64,
    /// Current and longest run of identical raw samples, and the previous sample.
    flat_run: u64,
    flat_record: u64,
    prev_raw: f64,
    /// Whether the current run has been flagged already (a run is flagged once).
    flat_flagged: bool,
}

/// The adaptive-resonance detector (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct ArtDetector {
    cfg: ArtConfig,
    s: Scalars,
    /// Raw downsampled values of the learning period (emptied when it ends).
    learning: Vec<f64>,
    /// Count of points per level (for the running median).
    level_counts: Vec<u64>,
    /// Last `window` normalised levels.
    recent: VecDeque<f64>,
    /// Similarities of the last half learning period.
    sim_window: VecDeque<f64>,
    /// Upper vigilance minus similarity over the last learning period.
    gap_window: VecDeque<f64>,
    memory: Memory,
}

impl ArtDetector {
    /// A fresh detector.
    pub fn new(cfg: &ArtConfig) -> Self {
        let window = cfg.window as usize;
        ArtDetector {
            cfg: cfg.clone(),
            s: Scalars::default(),
            learning: Vec::new(),
            level_counts: vec![0; cfg.levels as usize + 1],
            recent: VecDeque::with_capacity(window),
            sim_window: VecDeque::new(),
            gap_window: VecDeque::new(),
            memory: Memory::new(2 * window, cfg.capacity as usize),
        }
    }

    /// Diagnostic line: point, vigilances, categories, masks, last anomaly similarity.
    #[doc(hidden)]
    pub fn trace(&self) -> String {
        let s = &self.s;
        format!(
            "pt {} lb {:.3} ub {:.3} cats {} maskc {} stable {} lastsim {:.3} recent {:?} range {:.3}..{:.3} med {}",
            s.points,
            s.lower_vigilance,
            s.upper_vigilance,
            self.memory.len(),
            s.masked_after_cluster,
            s.stable_points,
            s.last_anomaly_sim,
            self.recent
                .iter()
                .map(|x| (x * f64::from(self.cfg.levels)).round() as i64)
                .collect::<Vec<_>>(),
            s.lo,
            s.hi,
            s.median_level,
        )
    }

    /// Number of categories in the memory.
    pub fn categories(&self) -> usize {
        self.memory.len()
    }

    /// Feeds one raw sample; returns its score.
    pub fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            return self.s.last_score;
        }
        let s = &mut self.s;
        if s.n == 0 {
            s.raw_min = x;
            s.raw_max = x;
        }
        s.n += 1;
        s.raw_min = s.raw_min.min(x);
        s.raw_max = s.raw_max.max(x);
        if s.block_n == 0 {
            s.block_sum = 0.0;
            s.block_min = x;
            s.block_max = x;
        }
        s.block_n += 1;
        s.block_sum += x;
        s.block_min = s.block_min.min(x);
        s.block_max = s.block_max.max(x);
        if s.n > 1 && x == s.prev_raw {
            s.flat_run += 1;
        } else {
            // A run ends: it is part of the series' usual behaviour from now on.
            s.flat_record = s.flat_record.max(s.flat_run);
            s.flat_run = 0;
            s.flat_flagged = false;
        }
        s.prev_raw = x;
        let live = s.points >= u64::from(self.cfg.learn_points());
        // A raw sample far beyond the learnt range, or a flat run beating its record, is
        // reported at once, not when its block closes.
        let mut score = 0.0;
        if live {
            score = self.raw_record(x).max(self.score_flat_run());
        } else {
            // A run still going when learning ends counts as learnt.
            let s = &mut self.s;
            s.flat_record = s.flat_record.max(s.flat_run);
        }
        let ds = u64::from(self.cfg.downsample());
        let block = if self.s.points == 0 {
            ds - u64::from(self.cfg.phase) % ds
        } else {
            ds
        };
        if self.s.block_n >= block {
            let point = self.close_block();
            score = score.max(self.point(point));
        }
        self.s.last_score = score;
        score
    }

    /// Scores a raw sample that sets a new excursion record (outside a masking period).
    fn raw_record(&mut self, x: f64) -> f64 {
        let Some(e) = self.record_excursion(x) else {
            return 0.0;
        };
        // It does not start a masking period: the block's own decision follows.
        let s = &self.s;
        let i = s.points + 1;
        let mask = (self.cfg.mask_windows * f64::from(self.cfg.window)).round() as u64;
        if s.last_anomaly_point > 0 && i.saturating_sub(s.last_anomaly_point) <= mask {
            return 0.0;
        }
        (e / (1.0 + e))
            .powf(self.cfg.score_exponent)
            .clamp(1e-6, 1.0)
    }

    /// Scores a run of identical samples that beats the longest run before it by
    /// `flat_factor` (once per run).
    fn score_flat_run(&mut self) -> f64 {
        let f = self.cfg.flat_factor;
        let s = &mut self.s;
        if f <= 0.0 || s.flat_run == 0 || s.flat_flagged || s.raw_max <= s.raw_min {
            return 0.0;
        }
        let span = u64::from(self.cfg.downsample() * self.cfg.window);
        if s.flat_run < span || (s.flat_run as f64) <= s.flat_record as f64 * f {
            return 0.0;
        }
        let prev = s.flat_record.max(1);
        s.flat_flagged = true;
        // Not masked by an earlier anomaly: the memory may have flagged the change that began
        // the run, and the run only now shows what it is.
        let e = s.flat_run as f64 / prev as f64 - 1.0;
        (e / (1.0 + e))
            .powf(self.cfg.score_exponent)
            .clamp(1e-6, 1.0)
    }

    /// Turns the finished block into one downsampled value.
    fn close_block(&mut self) -> f64 {
        let s = &mut self.s;
        let mean = s.block_sum / s.block_n as f64;
        s.block_ma = if s.points == 0 {
            mean
        } else {
            (s.block_ma + mean) / 2.0
        };
        let mut v = if (s.block_max - s.block_ma).abs() >= (s.block_min - s.block_ma).abs() {
            s.block_max
        } else {
            s.block_min
        };
        let range = if s.points >= u64::from(self.cfg.learn_points()) {
            s.hi - s.lo
        } else {
            s.raw_max - s.raw_min
        };
        if (v - mean).abs() <= self.cfg.spike_min * range {
            v = mean;
        }
        s.block_n = 0;
        v
    }

    /// Processes one downsampled value; returns the score.
    fn point(&mut self, v: f64) -> f64 {
        self.s.points += 1;
        let learn = u64::from(self.cfg.learn_points());
        if self.s.points < learn {
            self.learning.push(v);
            return 0.0;
        }
        if self.s.points == learn {
            self.learning.push(v);
            self.finish_learning();
            return 0.0;
        }
        let i = self.s.points;
        let record = self.record_excursion(v);
        self.expand_range(v);
        match self.features(v) {
            Some(f) => self.detect(&f, i, record),
            None => 0.0,
        }
    }

    /// Widens the normalisation range when `v` falls outside it (by `expand_margin` of the new
    /// span beyond `v`) and re-expresses everything encoded so far (recent levels, the level
    /// histogram, the level part of every category) in the new range, so that memories stay
    /// comparable with new inputs.
    fn expand_range(&mut self, v: f64) {
        let m = self.cfg.expand_margin;
        let (lo0, hi0) = (self.s.lo, self.s.hi);
        if m <= 0.0 || hi0 <= lo0 || (lo0..=hi0).contains(&v) {
            return;
        }
        let (lo1, hi1) = if v > hi0 {
            (lo0, v + m * (v - lo0))
        } else {
            (v - m * (hi0 - v), hi0)
        };
        let map = |u: f64| ((u * (hi0 - lo0) + lo0 - lo1) / (hi1 - lo1)).clamp(0.0, 1.0);
        let levels = f64::from(self.cfg.levels);
        let off = self.cfg.level_offset;
        let relevel = |l: f64| {
            (map((l - off) / levels) * levels + off)
                .round()
                .clamp(0.0, levels)
        };
        for r in &mut self.recent {
            *r = relevel(*r * levels) / levels;
        }
        let mut counts = vec![0u64; self.level_counts.len()];
        for (l, &c) in self.level_counts.iter().enumerate() {
            if let Some(slot) = counts.get_mut(relevel(l as f64) as usize) {
                *slot += c;
            }
        }
        self.level_counts = counts;
        self.recount_median();
        let window = self.cfg.window as usize;
        let dim = self.memory.dim;
        let byte = |b: u8| (map(f64::from(b) / 255.0) * 255.0).round() as u8;
        for w in self.memory.weights.chunks_exact_mut(2 * dim) {
            for k in window..dim {
                if let Some(b) = w.get_mut(k) {
                    *b = byte(*b);
                }
                if let Some(c) = w.get_mut(dim + k) {
                    *c = 255 - byte(255 - *c);
                }
            }
        }
        self.s.lo = lo1;
        self.s.hi = hi1;
    }

    /// Recomputes the median level and the counts below / above it from the histogram.
    fn recount_median(&mut self) {
        let total: u64 = self.level_counts.iter().sum();
        let mut below = 0;
        for (l, &c) in self.level_counts.iter().enumerate() {
            if c > 0 && (below + c) * 2 > total {
                self.s.median_level = l as u64;
                self.s.below_median = below;
                self.s.above_median = total - below - c;
                return;
            }
            below += c;
        }
    }

    /// How far `v` goes beyond the learnt range (in units of the range) when that is a new
    /// record on its side and at least `min_excursion`.
    fn record_excursion(&mut self, v: f64) -> Option<f64> {
        let s = &mut self.s;
        let span = s.base_hi - s.base_lo;
        if span <= 0.0 {
            return None;
        }
        let up = (v - s.base_hi) / span;
        let down = (s.base_lo - v) / span;
        let (exc, record) = if up > 0.0 {
            (up, &mut s.record_up)
        } else if down > 0.0 {
            (down, &mut s.record_down)
        } else {
            return None;
        };
        if exc <= *record * self.cfg.record_factor || exc < self.cfg.min_excursion {
            return None;
        }
        *record = exc;
        Some(exc)
    }

    /// Fixes the range, replays the learning period through the encoder and the memory, and
    /// sets the initial vigilance.
    fn finish_learning(&mut self) {
        let values = std::mem::take(&mut self.learning);
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &v in &values {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        let margin = (hi - lo) * self.cfg.range_margin;
        self.s.lo = lo - margin;
        self.s.hi = hi + margin;
        self.s.base_lo = self.s.lo;
        self.s.base_hi = self.s.hi;
        let feats: Vec<(u64, Vec<u8>)> = values
            .iter()
            .enumerate()
            .filter_map(|(k, &v)| self.features(v).map(|f| (k as u64 + 1, f)))
            .collect();
        let rho = self.typical_similarity(&feats);
        self.s.lower_vigilance = rho;
        self.s.upper_vigilance = rho;
        for (i, f) in &feats {
            self.detect(f, *i, None);
        }
    }

    /// The mean best similarity of the second half of the learning features when a fresh
    /// memory at `initial_vigilance` learns them from the least typical to the most (by their
    /// summed cosine similarity to the others).
    fn typical_similarity(&self, feats: &[(u64, Vec<u8>)]) -> f64 {
        let n = feats.len();
        if n < 2 {
            return self.cfg.initial_vigilance;
        }
        let cosine = |a: &[f64], b: &[f64]| -> f64 {
            let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
            for (x, y) in a.iter().zip(b) {
                ab += x * y;
                aa += x * x;
                bb += y * y;
            }
            let (na, nb) = (aa.sqrt(), bb.sqrt());
            if na == 0.0 {
                1.0 - nb
            } else if nb == 0.0 {
                1.0 - na
            } else {
                ab / (na * nb)
            }
        };
        let half = |f: &[u8]| -> Vec<f64> {
            f.iter()
                .take(f.len() / 2)
                .map(|&b| f64::from(b) / 255.0)
                .collect()
        };
        let raw: Vec<Vec<f64>> = feats.iter().map(|(_, f)| half(f)).collect();
        let mut total = vec![0.0; n];
        for a in 0..n {
            for b in 0..a {
                let s = cosine(&raw[a], &raw[b]);
                total[a] += s;
                total[b] += s;
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| total[a].total_cmp(&total[b]));
        let mut mem = Memory::new(self.memory.dim, self.memory.capacity);
        let v = self.cfg.initial_vigilance;
        let powers = (self.cfg.feature_power, self.cfg.level_power);
        let mut sims = Vec::with_capacity(n);
        for (k, &j) in order.iter().enumerate() {
            if let Some((_, f)) = feats.get(j) {
                sims.push(mem.train(f, k as u64, (v, v), powers).sim);
            }
        }
        let tail = sims.get(n / 2..).unwrap_or(&[]);
        if tail.is_empty() {
            v
        } else {
            tail.iter().sum::<f64>() / tail.len() as f64
        }
    }

    /// Encodes `v` and returns the complement-coded feature vector once a window is full.
    fn features(&mut self, v: f64) -> Option<Vec<u8>> {
        let levels = self.cfg.levels as f64;
        let (lo, hi) = (self.s.lo, self.s.hi);
        let unit = if hi > lo {
            ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
        } else if v > hi {
            1.0
        } else if v < lo {
            0.0
        } else {
            0.5
        };
        let level = (unit * levels + self.cfg.level_offset)
            .round()
            .clamp(0.0, levels) as u64;
        let median = self.track_median(level);
        let mut out = level as f64 / levels;
        if (level as f64 - median as f64).abs() < self.cfg.chomp * levels {
            out = median as f64 / levels;
        }
        let window = self.cfg.window as usize;
        if self.recent.len() == window {
            self.recent.pop_front();
        }
        self.recent.push_back(out);
        if self.recent.len() < window {
            return None;
        }
        let vals: Vec<f64> = self.recent.iter().copied().collect();
        let mut shape = unit_scaled(&vals);
        haar(&mut shape);
        let shape = unit_scaled(&shape);
        let mut f: Vec<u8> = shape
            .iter()
            .chain(&vals)
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        let complement: Vec<u8> = f.iter().map(|x| 255 - x).collect();
        f.extend(complement);
        Some(f)
    }

    /// Adds `level` to the level counts and returns the (approximate) running median level.
    fn track_median(&mut self, level: u64) -> u64 {
        let first = self.level_counts.iter().all(|&c| c == 0);
        if let Some(c) = self.level_counts.get_mut(level as usize) {
            *c += 1;
        }
        let s = &mut self.s;
        if first {
            s.median_level = level;
            return level;
        }
        let counts = &self.level_counts;
        let at = |l: u64| counts.get(l as usize).copied().unwrap_or(0);
        if level < s.median_level {
            s.below_median += 1;
        } else if level > s.median_level {
            s.above_median += 1;
        }
        let half = (s.below_median + s.above_median + at(s.median_level)) / 2;
        let max_level = counts.len() as u64 - 1;
        if s.above_median > half {
            s.below_median += at(s.median_level);
            let mut m = s.median_level + 1;
            while m < max_level && at(m) == 0 {
                m += 1;
            }
            s.median_level = m;
            s.above_median -= at(m).min(s.above_median);
        } else if s.below_median > half {
            s.above_median += at(s.median_level);
            let mut m = s.median_level.saturating_sub(1);
            while m > 0 && at(m) == 0 {
                m -= 1;
            }
            s.median_level = m;
            s.below_median -= at(m).min(s.below_median);
        }
        s.median_level
    }

    /// Presents one feature vector (point `i`) and decides whether it is an anomaly.
    fn detect(&mut self, f: &[u8], i: u64, record: Option<f64>) -> f64 {
        let cfg = &self.cfg;
        let learn = u64::from(cfg.learn_points());
        let live = i > learn;
        let mask = (cfg.mask_windows * f64::from(cfg.window)).round() as u64;
        let s = &mut self.s;
        let since = i.saturating_sub(s.last_anomaly_point);
        let masked_after_anomaly = s.last_anomaly_point > 0 && since <= mask;
        let revise = live
            && ((s.last_anomaly_point > 0 && since == mask)
                || i.saturating_sub(s.last_revision_point) >= learn / 2);
        if s.masked_after_cluster > 0 && live && i > learn + mask && s.stable_points >= mask {
            s.masked_after_cluster = 0;
        }
        let r = self.memory.train(
            f,
            i,
            (s.lower_vigilance, s.upper_vigilance),
            (cfg.feature_power, cfg.level_power),
        );
        s.stable_points = if r.new_cluster {
            0
        } else {
            s.stable_points + 1
        };
        s.sim_sum += r.sim;
        s.sim_count += 1;
        push_capped(&mut self.sim_window, r.sim, (learn / 2) as usize + 1);
        push_capped(
            &mut self.gap_window,
            s.upper_vigilance - r.sim,
            learn as usize + 1,
        );
        if s.anomaly_count > 0 && since < mask && r.sim < s.incident_sim {
            // The lowest similarity during an incident stands for it in the vigilance floor.
            s.anomaly_sim_sum += r.sim - s.incident_sim;
            s.incident_sim = r.sim;
        }
        let masking = s.masked_after_cluster > 0 || masked_after_anomaly;
        let share = if masked_after_anomaly {
            cfg.rearm_near
        } else {
            cfg.rearm_far
        };
        let clearly_lower = r.sim < s.last_anomaly_sim * share;
        let mut score = 0.0;
        let record = record.filter(|_| !masked_after_anomaly);
        if live && ((r.new_cluster && (!masking || clearly_lower)) || record.is_some()) {
            let mut c = confidence(
                r,
                s.lower_vigilance,
                s.upper_vigilance,
                cfg.level_confidence,
            );
            if let Some(e) = record {
                c = c.max(e / (1.0 + e));
            }
            score = c.powf(cfg.score_exponent).clamp(1e-6, 1.0);
            s.anomaly_sim_sum += r.sim;
            s.anomaly_count += 1;
            s.last_anomaly_sim = r.sim;
            s.incident_sim = r.sim;
            s.last_anomaly_point = i;
        }
        if r.new_cluster {
            s.masked_after_cluster = 1;
        }
        if revise {
            self.revise_vigilance(i);
        }
        score
    }

    /// Periodic revision of both vigilances from the recent similarities.
    fn revise_vigilance(&mut self, i: u64) {
        let cfg = &self.cfg;
        let s = &mut self.s;
        let learn = u64::from(cfg.learn_points());
        let min_recent = self
            .sim_window
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let upper = (s.sim_sum / s.sim_count.max(1) as f64).min(cfg.max_vigilance);
        let mut lower = s.lower_vigilance;
        if lower <= min_recent {
            lower += (min_recent - lower) * cfg.vigilance_rise;
        } else {
            let mut drop = 0.0;
            if i > 2 * learn {
                let big: Vec<f64> = self
                    .gap_window
                    .iter()
                    .filter(|&&g| g > 0.05)
                    .map(|g| g.min(0.37))
                    .collect();
                if !big.is_empty() {
                    drop = big.iter().sum::<f64>() / big.len() as f64;
                }
            }
            lower -= drop.max(0.01) / 2.0;
            if s.anomaly_count > 0 {
                lower = lower.max(s.anomaly_sim_sum / s.anomaly_count as f64);
            }
        }
        s.lower_vigilance = lower.min(upper);
        s.upper_vigilance = upper;
        s.last_revision_point = i;
        s.masked_after_cluster = 1;
    }

    /// Serialises the full state.
    pub fn write(&self, out: &mut Vec<u8>) {
        let s = &self.s;
        let words: [u64; 17] = [
            s.n,
            s.points,
            s.block_n,
            s.median_level,
            s.below_median,
            s.above_median,
            s.sim_count,
            s.anomaly_count,
            s.last_anomaly_point,
            s.last_revision_point,
            s.masked_after_cluster,
            s.stable_points,
            self.memory.len() as u64,
            self.learning.len() as u64,
            s.flat_run,
            s.flat_record,
            u64::from(s.flat_flagged),
        ];
        let floats: [f64; 20] = [
            s.block_sum,
            s.block_min,
            s.block_max,
            s.block_ma,
            s.raw_min,
            s.raw_max,
            s.lo,
            s.hi,
            s.lower_vigilance,
            s.upper_vigilance,
            s.sim_sum,
            s.anomaly_sim_sum,
            s.last_anomaly_sim,
            s.last_score,
            s.incident_sim,
            s.record_up,
            s.record_down,
            s.base_lo,
            s.base_hi,
            s.prev_raw,
        ];
        let mut put = |w: u64| out.extend_from_slice(&w.to_le_bytes());
        for w in words {
            put(w);
        }
        for f in floats {
            put(f.to_bits());
        }
        put(self.recent.len() as u64);
        put(self.sim_window.len() as u64);
        put(self.gap_window.len() as u64);
        for &c in &self.level_counts {
            put(c);
        }
        for v in self
            .learning
            .iter()
            .chain(&self.recent)
            .chain(&self.sim_window)
            .chain(&self.gap_window)
        {
            put(v.to_bits());
        }
        for chunk in self.memory.weights.chunks(8) {
            let mut word = [0u8; 8];
            for (d, b) in word.iter_mut().zip(chunk) {
                *d = *b;
            }
            put(u64::from_le_bytes(word));
        }
        for &u in &self.memory.used {
            put(u);
        }
    }

    /// Reads the state written by [`ArtDetector::write`]; `next` yields 8-byte words.
    pub fn read(cfg: &ArtConfig, next: &mut impl FnMut() -> Option<u64>) -> Option<Self> {
        let mut d = ArtDetector::new(cfg);
        let mut w = [0u64; 17];
        for x in &mut w {
            *x = next()?;
        }
        let mut fl = [0f64; 20];
        for x in &mut fl {
            *x = f64::from_bits(next()?);
        }
        let [
            n,
            points,
            block_n,
            median_level,
            below_median,
            above_median,
            sim_count,
            anomaly_count,
            last_anomaly_point,
            last_revision_point,
            masked_after_cluster,
            stable_points,
            categories,
            learning,
            flat_run,
            flat_record,
            flat_flagged,
        ] = w;
        let [
            block_sum,
            block_min,
            block_max,
            block_ma,
            raw_min,
            raw_max,
            lo,
            hi,
            lower_vigilance,
            upper_vigilance,
            sim_sum,
            anomaly_sim_sum,
            last_anomaly_sim,
            last_score,
            incident_sim,
            record_up,
            record_down,
            base_lo,
            base_hi,
            prev_raw,
        ] = fl;
        d.s = Scalars {
            n,
            points,
            block_n,
            block_sum,
            block_min,
            block_max,
            block_ma,
            raw_min,
            raw_max,
            lo,
            hi,
            base_lo,
            base_hi,
            median_level,
            below_median,
            above_median,
            lower_vigilance,
            upper_vigilance,
            sim_sum,
            sim_count,
            anomaly_sim_sum,
            anomaly_count,
            last_anomaly_sim,
            incident_sim,
            record_up,
            record_down,
            last_anomaly_point,
            last_revision_point,
            masked_after_cluster,
            stable_points,
            last_score,
            flat_run,
            flat_record,
            prev_raw,
            flat_flagged: flat_flagged != 0,
        };
        let recent = usize::try_from(next()?).ok()?;
        let sims = usize::try_from(next()?).ok()?;
        let gaps = usize::try_from(next()?).ok()?;
        let categories = usize::try_from(categories).ok()?;
        let learning = usize::try_from(learning).ok()?;
        if recent > cfg.window as usize
            || sims > cfg.learn_points() as usize
            || gaps > cfg.learn_points() as usize + 1
            || categories > cfg.capacity as usize
            || learning > cfg.learn_points() as usize
            || d.s.block_n > u64::from(cfg.downsample())
            || d.s.median_level > u64::from(cfg.levels)
        {
            return None;
        }
        for c in &mut d.level_counts {
            *c = next()?;
        }
        let mut floats =
            |k: usize| -> Option<Vec<f64>> { (0..k).map(|_| next().map(f64::from_bits)).collect() };
        d.learning = floats(learning)?;
        d.recent = floats(recent)?.into();
        d.sim_window = floats(sims)?.into();
        d.gap_window = floats(gaps)?.into();
        let bytes = categories * 2 * d.memory.dim;
        let mut weights = Vec::with_capacity(bytes);
        for _ in 0..bytes.div_ceil(8) {
            weights.extend_from_slice(&next()?.to_le_bytes());
        }
        weights.truncate(bytes);
        d.memory.weights = weights;
        d.memory.used = (0..categories).map(|_| next()).collect::<Option<_>>()?;
        Some(d)
    }
}

/// `x^p`, with a fast path for small whole exponents (the common configuration).
fn pow(x: f64, p: f64) -> f64 {
    if p.fract() == 0.0 && (0.0..=16.0).contains(&p) {
        x.powi(p as i32)
    } else {
        x.powf(p)
    }
}

fn push_capped(q: &mut VecDeque<f64>, v: f64, cap: usize) {
    if q.len() >= cap {
        q.pop_front();
    }
    q.push_back(v);
}

/// Confidence of an anomaly: how far the similarity fell below both vigilances (relative to
/// the room below 1), plus the newest level's mismatch.
fn confidence(r: Resonance, lower: f64, upper: f64, level_weight: f64) -> f64 {
    let sim = r.sim.min(0.999);
    let rel = |v: f64| (v - sim) / (1.0 - sim);
    let c = 0.35 * rel(upper) + 0.65 * rel(lower) + level_weight * (1.0 - r.level_sim);
    c.clamp(1e-6, 1.0)
}

/// `v` shifted and scaled to `[0, 1]` (all zeros when constant).
fn unit_scaled(v: &[f64]) -> Vec<f64> {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    v.iter()
        .map(|x| if hi > lo { (x - lo) / (hi - lo) } else { 0.0 })
        .collect()
}

/// In-place full Haar wavelet transform (length a power of two): coarse average first, then
/// details from coarse to fine.
fn haar(v: &mut [f64]) {
    let mut len = v.len();
    let mut tmp = vec![0.0; len];
    let r = std::f64::consts::FRAC_1_SQRT_2;
    while len > 1 {
        let half = len / 2;
        for k in 0..half {
            let (a, b) = (
                v.get(2 * k).copied().unwrap_or(0.0),
                v.get(2 * k + 1).copied().unwrap_or(0.0),
            );
            if let Some(t) = tmp.get_mut(k) {
                *t = (a + b) * r;
            }
            if let Some(t) = tmp.get_mut(half + k) {
                *t = (a - b) * r;
            }
        }
        if let (Some(dst), Some(src)) = (v.get_mut(..len), tmp.get(..len)) {
            dst.copy_from_slice(src);
        }
        len = half;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haar_of_a_constant_is_one_coefficient() {
        let mut v = vec![1.0; 8];
        haar(&mut v);
        assert!((v[0] - 8f64.sqrt()).abs() < 1e-12);
        assert!(v[1..].iter().all(|x| x.abs() < 1e-12));
    }

    #[test]
    fn a_stuck_series_is_flagged_and_a_constant_one_never() {
        let cfg = ArtConfig::default();
        let noisy = |i: u64| ((i as f64) * 0.7).sin() + ((i * 37) % 11) as f64 * 0.1;
        // Moving, then stuck at its last value from sample 3000 on.
        let mut d = ArtDetector::new(&cfg);
        let mut flagged = Vec::new();
        for i in 0..4000u64 {
            let x = noisy(i.min(3000));
            if d.update(x) > 0.0 {
                flagged.push(i);
            }
        }
        let span = u64::from(cfg.downsample() * cfg.window);
        assert!(
            flagged
                .iter()
                .any(|&i| (3000..3000 + 2 * span).contains(&i)),
            "stuck run flagged soon after one window: {flagged:?}"
        );
        assert!(
            flagged.iter().filter(|&&i| i > 3000).count() <= 2,
            "{flagged:?}"
        );
        // A series that never moved has no usual movement to lose.
        let mut c = ArtDetector::new(&cfg);
        assert!((0..4000).all(|_| c.update(5.0) == 0.0));
        // Runs as long as those of the learning period are familiar: the same flags as with
        // the check switched off.
        let off = ArtConfig {
            flat_factor: 0.0,
            ..cfg.clone()
        };
        off.validate().unwrap();
        let stepped = |i: u64| ((i / 40) % 5) as f64;
        let (mut on_d, mut off_d) = (ArtDetector::new(&cfg), ArtDetector::new(&off));
        for i in 0..4000u64 {
            assert_eq!(
                on_d.update(stepped(i)),
                off_d.update(stepped(i)),
                "sample {i}"
            );
        }
        let bad = ArtConfig {
            flat_factor: 0.5,
            ..cfg
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn a_spike_after_a_regular_stretch_is_flagged_once() {
        let mut d = ArtDetector::new(&ArtConfig::default());
        let mut flagged = Vec::new();
        for i in 0..6000u64 {
            let base = ((i as f64) * std::f64::consts::TAU / 288.0).sin();
            let x = if (4000..4006).contains(&i) { 8.0 } else { base };
            if d.update(x) > 0.0 {
                flagged.push(i);
            }
        }
        assert!(
            flagged.iter().any(|&i| (4000..4020).contains(&i)),
            "spike flagged: {flagged:?}"
        );
        assert!(flagged.len() <= 3, "few flags: {flagged:?}");
    }
}
