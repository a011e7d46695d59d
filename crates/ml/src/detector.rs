//! The streaming anomaly detector: a trait for online detectors, the one configuration used for
//! every series (tuned on half of NAB), and vigia's detector with snapshot/restore.
//!
//! Method (statistics are exponentially weighted; state is a few dozen numbers plus a small
//! pattern memory, see `docs/nab.md`):
//! 1. Scale-free features from the state before each sample: point deviation from the slow
//!    mean, level shift of a fast mean (in units of its standard error), variance change of the
//!    absolute steps, excursion beyond the running min..max, and shape novelty (distance of the
//!    last few values to remembered prototype shapes). All are ratios of differences, so
//!    `a·x + b` (a > 0) gives the same scores.
//! 2. Surprise `ln(1 + z)` per feature (and a weighted mix of the first four).
//! 3. Likelihood per feature, as Numenta's anomaly likelihood: the short-term average surprise
//!    against its long-term mean and spread; the score is the largest weighted statistic,
//!    mapped to `[0, 1)`.
//! 4. Sparsification: after a detection the score is held down for a while, because one early
//!    flag per incident is what an operator (and NAB) wants.

use crate::MlError;
use crate::pattern::PatternMemory;

/// An online anomaly detector for one series.
pub trait Detector: Send {
    /// Feeds one sample and returns its anomaly score in `[0, 1]`. The score depends only on
    /// this and earlier samples. Non-finite values are ignored (the previous score is returned).
    fn update(&mut self, timestamp_ms: i64, value: f64) -> f64;
    /// Serialises the full state; [`restore_detector`] continues exactly where it left off.
    fn snapshot(&self) -> Vec<u8>;
}

/// Number of surprise features (point, level, step, novelty, combined, pattern).
const FEATURES: usize = 7;
/// Most time-of-day buckets of the seasonal profile.
const MAX_SEASON: usize = 48;
const DAY_MS: i64 = 86_400_000;

/// Detector settings: one configuration for every series. `Default` is the configuration
/// chosen on the NAB tuning half (`crates/ml/nab_tuning_files.txt`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// Horizon (samples) of the slow mean and variance of the series.
    pub slow_window: f64,
    /// Horizon (samples) of the fast mean used for level shifts.
    pub fast_window: f64,
    /// Horizon (samples) of the short-term mean absolute step |x_t - x_{t-1}|.
    pub step_short_window: f64,
    /// Horizon (samples) of the long-term mean absolute step.
    pub step_long_window: f64,
    /// Horizon (samples) of each feature's long-term surprise distribution.
    pub likelihood_window: f64,
    /// Horizon (samples) of each feature's short-term surprise average.
    pub short_window: f64,
    /// Weight of the point-deviation feature (0 disables it).
    pub point_weight: f64,
    /// Weight of the level-shift feature.
    pub level_weight: f64,
    /// Weight of the variance-change feature.
    pub step_weight: f64,
    /// Weight of the range-excursion (new extreme) feature.
    pub novelty_weight: f64,
    /// Weight of the combined feature `ln(1 + max(point, mix_level·level, mix_step·step) +
    /// mix_novelty·novelty)`, whose likelihood is taken as one.
    pub combined_weight: f64,
    /// Level-shift share inside the combined feature.
    pub mix_level: f64,
    /// Variance-change share inside the combined feature.
    pub mix_step: f64,
    /// Range-excursion share inside the combined feature.
    pub mix_novelty: f64,
    /// Weight of the sum of positive feature likelihoods added to their maximum.
    pub sum_weight: f64,
    /// Values per remembered shape (1..=32).
    pub pattern_len: u32,
    /// Number of remembered shapes (least recently matched is replaced).
    pub pattern_capacity: u32,
    /// Distance (fraction of the range) beyond which a shape is new and is remembered.
    pub pattern_vigilance: f64,
    /// Weight of the shape-novelty likelihood (with `mix_pattern`, 0 disables the memory).
    pub pattern_weight: f64,
    /// Shape-novelty share (distance / vigilance) inside the combined feature.
    pub mix_pattern: f64,
    /// Samples after the first during which the score is 0 (statistics still learn).
    pub warmup_samples: u32,
    /// A score at or above this level starts a hold-down period.
    pub suppress_level: f64,
    /// Length (samples) of the hold-down period.
    pub suppress_samples: u32,
    /// Factor applied to scores during the hold-down period.
    pub suppress_factor: f64,
    /// Horizon (samples) of the decaying running peak of raw scores (0 disables). A raw score
    /// that does not exceed the decayed peak is multiplied by `peak_factor`, so for any
    /// threshold only the first crossing of an episode is flagged.
    pub peak_window: f64,
    /// Factor applied to raw scores below the decayed running peak.
    pub peak_factor: f64,
    /// Time-of-day buckets of the seasonal profile (0 disables, at most 48).
    pub season_buckets: u32,
    /// Learning rate of a bucket's mean each time the bucket is visited.
    pub season_rate: f64,
    /// Weight of the seasonal-residual likelihood (distance from the bucket's usual level).
    pub season_weight: f64,
    /// Seasonal-residual share inside the combined feature.
    pub mix_season: f64,
    /// Extra likelihood scales `[short_window, likelihood_window]`: each gives its own
    /// per-feature likelihood statistic, and the statistics of all scales (the main one
    /// included) are averaged, which smooths the dependence on any single horizon.
    pub extra_scales: Vec<[f64; 2]>,
    /// Lower bound of a feature's long-term surprise standard deviation in the likelihood
    /// step (surprises are dimensionless, so an absolute floor keeps scale invariance).
    pub surprise_sd_floor: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            slow_window: 1000.0,
            fast_window: 100.0,
            step_short_window: 10.0,
            step_long_window: 3000.0,
            likelihood_window: 300.0,
            short_window: 3.0,
            point_weight: 0.0,
            level_weight: 0.0,
            step_weight: 0.0,
            novelty_weight: 0.5,
            combined_weight: 1.0,
            mix_level: 0.5,
            mix_step: 0.5,
            mix_novelty: 2.0,
            sum_weight: 0.0,
            pattern_len: 3,
            pattern_capacity: 64,
            pattern_vigilance: 0.04,
            pattern_weight: 0.5,
            mix_pattern: 0.0,
            warmup_samples: 50,
            suppress_level: 0.7,
            suppress_samples: 200,
            suppress_factor: 0.5,
            peak_window: 0.0,
            peak_factor: 0.5,
            season_buckets: 0,
            season_rate: 0.1,
            season_weight: 0.0,
            mix_season: 0.0,
            extra_scales: Vec::new(),
            surprise_sd_floor: 0.001,
        }
    }
}

impl DetectorConfig {
    /// Short stable hex hash (FNV-1a 64 over the canonical JSON form, 12 hex digits). Printed
    /// by `bench nab`, `bench detector` and the server so runs can be matched.
    pub fn hash(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        format!("{:012x}", fnv1a(text.as_bytes()) >> 16)
    }

    /// Checks that every setting is in its valid range.
    pub fn validate(&self) -> Result<(), MlError> {
        let windows = [
            ("slow_window", self.slow_window),
            ("fast_window", self.fast_window),
            ("step_short_window", self.step_short_window),
            ("step_long_window", self.step_long_window),
            ("likelihood_window", self.likelihood_window),
            ("short_window", self.short_window),
        ];
        for (name, v) in windows {
            if !(v.is_finite() && v >= 1.0) {
                return Err(MlError::Invalid(format!("{name} must be >= 1, got {v}")));
            }
        }
        let weights = [
            ("point_weight", self.point_weight),
            ("level_weight", self.level_weight),
            ("step_weight", self.step_weight),
            ("novelty_weight", self.novelty_weight),
            ("sum_weight", self.sum_weight),
            ("combined_weight", self.combined_weight),
            ("mix_level", self.mix_level),
            ("mix_step", self.mix_step),
            ("mix_novelty", self.mix_novelty),
            ("pattern_weight", self.pattern_weight),
            ("mix_pattern", self.mix_pattern),
            ("pattern_vigilance", self.pattern_vigilance),
            ("peak_window", self.peak_window),
            ("season_weight", self.season_weight),
            ("mix_season", self.mix_season),
        ];
        for (name, v) in weights {
            if !(v.is_finite() && v >= 0.0) {
                return Err(MlError::Invalid(format!("{name} must be >= 0, got {v}")));
            }
        }
        if !(1..=crate::pattern::MAX_PATTERN as u32).contains(&self.pattern_len)
            || self.pattern_capacity == 0
        {
            return Err(MlError::Invalid(
                "pattern_len must be 1..=32 and pattern_capacity >= 1".into(),
            ));
        }
        if self.season_buckets as usize > MAX_SEASON
            || !(self.season_rate > 0.0 && self.season_rate <= 1.0)
        {
            return Err(MlError::Invalid(
                "season_buckets must be <= 48 and season_rate in (0, 1]".into(),
            ));
        }
        if !(self.surprise_sd_floor.is_finite() && self.surprise_sd_floor > 0.0) {
            return Err(MlError::Invalid("surprise_sd_floor must be > 0".into()));
        }
        if self
            .extra_scales
            .iter()
            .flatten()
            .any(|w| !(w.is_finite() && *w >= 1.0))
        {
            return Err(MlError::Invalid("extra_scales windows must be >= 1".into()));
        }
        if !(0.0..=1.0).contains(&self.suppress_level)
            || !(0.0..=1.0).contains(&self.suppress_factor)
            || !(0.0..=1.0).contains(&self.peak_factor)
        {
            return Err(MlError::Invalid(
                "suppress_level and suppress_factor must be in [0, 1]".into(),
            ));
        }
        Ok(())
    }

    fn weights(&self) -> [f64; FEATURES] {
        [
            self.point_weight,
            self.level_weight,
            self.step_weight,
            self.novelty_weight,
            self.combined_weight,
            self.pattern_weight,
            self.season_weight,
        ]
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Creates vigia's detector. The detector uses no randomness, so every seed gives the same
/// scores; the seed is kept in the state for interface stability.
pub fn new_detector(cfg: &DetectorConfig, seed: u64) -> Box<dyn Detector> {
    Box::new(StreamDetector::new(cfg, seed))
}

/// Restores a detector from [`Detector::snapshot`] bytes taken with the same configuration.
pub fn restore_detector(cfg: &DetectorConfig, bytes: &[u8]) -> Result<Box<dyn Detector>, MlError> {
    Ok(Box::new(StreamDetector::restore(cfg, bytes)?))
}

/// Cap on every z-like feature, so one absurd sample cannot dominate the long-term statistics.
const Z_CAP: f64 = 1e3;
const MAGIC: &[u8; 4] = b"VGD3";

/// Exponentially weighted mean and variance.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Ew {
    mean: f64,
    var: f64,
}

impl Ew {
    fn update(&mut self, x: f64, alpha: f64) {
        let d = x - self.mean;
        let incr = alpha * d;
        self.mean += incr;
        self.var = (1.0 - alpha) * (self.var + d * incr);
    }
}

/// The numeric state of [`StreamDetector`].
#[derive(Debug, Clone, Copy, PartialEq)]
struct State {
    n: u64,
    hold: u64,
    slow: Ew,
    fast: f64,
    min: f64,
    max: f64,
    prev: f64,
    step_short: f64,
    step_long: f64,
    short: [f64; FEATURES],
    long: [Ew; FEATURES],
    last_score: f64,
    peak: f64,
    season_dev: f64,
    season: [f64; MAX_SEASON],
}

impl Default for State {
    fn default() -> Self {
        State {
            n: 0,
            hold: 0,
            slow: Ew::default(),
            fast: 0.0,
            min: 0.0,
            max: 0.0,
            prev: 0.0,
            step_short: 0.0,
            step_long: 0.0,
            short: [0.0; FEATURES],
            long: [Ew::default(); FEATURES],
            last_score: 0.0,
            peak: 0.0,
            season_dev: 0.0,
            season: [f64::NAN; MAX_SEASON],
        }
    }
}

impl State {
    /// Visits every floating-point field in a fixed order (the snapshot layout).
    fn visit(&mut self, season_buckets: usize, f: &mut impl FnMut(&mut f64)) {
        for v in [
            &mut self.slow.mean,
            &mut self.slow.var,
            &mut self.fast,
            &mut self.min,
            &mut self.max,
            &mut self.prev,
            &mut self.step_short,
            &mut self.step_long,
            &mut self.last_score,
            &mut self.peak,
            &mut self.season_dev,
        ] {
            f(v);
        }
        for v in self.season.iter_mut().take(season_buckets) {
            f(v);
        }
        for v in &mut self.short {
            f(v);
        }
        for e in &mut self.long {
            f(&mut e.mean);
            f(&mut e.var);
        }
    }
}

/// vigia's online detector (see the module documentation for the method).
#[derive(Debug, Clone)]
pub struct StreamDetector {
    cfg: DetectorConfig,
    seed: u64,
    s: State,
    pattern: Option<PatternMemory>,
    /// Short and long surprise statistics of each extra likelihood scale.
    scales: Vec<Scale>,
}

/// Per-feature surprise statistics at one extra likelihood scale.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Scale {
    short: [f64; FEATURES],
    long: [Ew; FEATURES],
}

impl Scale {
    fn visit(&mut self, f: &mut impl FnMut(&mut f64)) {
        for v in &mut self.short {
            f(v);
        }
        for e in &mut self.long {
            f(&mut e.mean);
            f(&mut e.var);
        }
    }
}

/// The likelihood statistic of one scale: the largest weighted per-feature z of the short
/// surprise average against the long-term surprise distribution; also returns the sum of the
/// positive ones. Updates the statistics with `feats`.
fn likelihood(
    feats: &[f64; FEATURES],
    short: &mut [f64; FEATURES],
    long: &mut [Ew; FEATURES],
    weights: &[f64; FEATURES],
    a_short: f64,
    a_long: f64,
    sd_floor: f64,
) -> (f64, f64) {
    let mut best = 0.0f64;
    let mut sum = 0.0;
    for (((&f, short), long), w) in feats.iter().zip(short).zip(long).zip(weights) {
        *short += a_short * (f - *short);
        let sd = long.var.max(0.0).sqrt().max(sd_floor);
        let lz = w * (*short - long.mean) / sd;
        best = best.max(lz);
        sum += lz.max(0.0);
        long.update(f, a_long);
    }
    (best, sum)
}

/// The pattern memory a configuration needs (none when shape novelty is unused).
fn pattern_memory(cfg: &DetectorConfig) -> Option<PatternMemory> {
    (cfg.pattern_weight > 0.0 || cfg.mix_pattern > 0.0).then(|| {
        PatternMemory::new(
            cfg.pattern_len as usize,
            cfg.pattern_capacity as usize,
            cfg.pattern_vigilance,
        )
    })
}

fn ew_alpha(window: f64) -> f64 {
    2.0 / (window + 1.0)
}

impl StreamDetector {
    /// A fresh detector.
    pub fn new(cfg: &DetectorConfig, seed: u64) -> Self {
        StreamDetector {
            cfg: cfg.clone(),
            seed,
            s: State::default(),
            pattern: pattern_memory(cfg),
            scales: vec![Scale::default(); cfg.extra_scales.len()],
        }
    }

    /// Size in bytes of the detector's snapshot (its complete mutable state).
    pub fn state_bytes(&self) -> usize {
        self.snapshot().len()
    }

    /// Raw surprise of `x` per feature, from the state before `x` (each `ln(1 + z)`).
    fn features(&self, x: f64, shape: f64, season: f64) -> [f64; FEATURES] {
        let s = &self.s;
        let cfg = &self.cfg;
        let range = s.max - s.min;
        let sd = s.slow.var.max(0.0).sqrt().max(1e-6 * range);
        let z = |d: f64, scale: f64| -> f64 {
            if scale > 0.0 {
                (d.abs() / scale).min(Z_CAP)
            } else if d == 0.0 {
                0.0
            } else {
                Z_CAP
            }
        };
        let point = z(x - s.slow.mean, sd);
        let af = ew_alpha(cfg.fast_window);
        let fast = s.fast + af * (x - s.fast);
        let level = z(fast - s.slow.mean, sd * (af / (2.0 - af)).sqrt());
        let step = (x - s.prev).abs();
        let step_short = s.step_short + ew_alpha(cfg.step_short_window) * (step - s.step_short);
        let eps = 1e-3 * range;
        let step_change = if s.step_long + eps > 0.0 {
            ((step_short + eps) / (s.step_long + eps))
                .ln()
                .abs()
                .min(Z_CAP)
        } else if step_short > 0.0 {
            Z_CAP
        } else {
            0.0
        };
        let novelty = z((x - s.max).max(s.min - x).max(0.0), range);
        let combined = point
            .max(cfg.mix_season * season)
            .max(cfg.mix_level * level)
            .max(cfg.mix_step * step_change)
            + cfg.mix_novelty * novelty
            + cfg.mix_pattern * shape / cfg.pattern_vigilance.max(1e-9);
        let shape = (shape / cfg.pattern_vigilance.max(1e-9)).min(Z_CAP);
        [
            point.ln_1p(),
            level.ln_1p(),
            step_change.ln_1p(),
            novelty.ln_1p(),
            combined.ln_1p(),
            shape.ln_1p(),
            season.min(Z_CAP).ln_1p(),
        ]
    }

    fn step(&mut self, ts: i64, x: f64) -> f64 {
        // Shape novelty against the range seen before `x` (the memory then learns `x`).
        let range = self.s.max - self.s.min;
        let n_next = self.s.n + 1;
        let shape = self
            .pattern
            .as_mut()
            .map_or(0.0, |p| p.observe(x, range, n_next));
        if self.s.n == 0 {
            self.s = State {
                n: 1,
                slow: Ew { mean: x, var: 0.0 },
                fast: x,
                min: x,
                max: x,
                prev: x,
                ..State::default()
            };
            return 0.0;
        }
        // Seasonal residual: distance from this time-of-day bucket's usual level.
        let bucket = season_bucket(ts, self.cfg.season_buckets);
        let mut season = 0.0;
        if let Some(&m) = bucket.and_then(|b| self.s.season.get(b))
            && m.is_finite()
        {
            let d = (x - m).abs();
            let scale = self.s.season_dev;
            season = if scale > 0.0 {
                (d / scale).min(Z_CAP)
            } else if d == 0.0 {
                0.0
            } else {
                Z_CAP
            };
        }
        let feats = self.features(x, shape, season);
        let cfg = &self.cfg;
        let s = &mut self.s;
        s.n += 1;
        let n = s.n as f64;
        // Per feature: likelihood of the recent surprise under its long-term distribution.
        let a_short = ew_alpha(cfg.short_window).max(1.0 / n);
        let a_long = (1.0 / cfg.likelihood_window).max(1.0 / (n - 1.0));
        let weights = cfg.weights();
        let (mut best, mut sum) = likelihood(
            &feats,
            &mut s.short,
            &mut s.long,
            &weights,
            a_short,
            a_long,
            cfg.surprise_sd_floor,
        );
        if !self.scales.is_empty() {
            for (sc, [w_short, w_long]) in self.scales.iter_mut().zip(&cfg.extra_scales) {
                let (b, su) = likelihood(
                    &feats,
                    &mut sc.short,
                    &mut sc.long,
                    &weights,
                    ew_alpha(*w_short).max(1.0 / n),
                    (1.0 / w_long).max(1.0 / (n - 1.0)),
                    cfg.surprise_sd_floor,
                );
                best += b;
                sum += su;
            }
            let k = (self.scales.len() + 1) as f64;
            best /= k;
            sum /= k;
        }
        let mut score = squash(best + cfg.sum_weight * sum);
        // Update the series statistics after scoring (causal: the score used only the past).
        s.slow.update(x, (1.0 / cfg.slow_window).max(1.0 / n));
        s.fast += ew_alpha(cfg.fast_window) * (x - s.fast);
        s.min = s.min.min(x);
        s.max = s.max.max(x);
        let step = (x - s.prev).abs();
        s.step_short += ew_alpha(cfg.step_short_window) * (step - s.step_short);
        s.step_long += (1.0 / cfg.step_long_window).max(1.0 / (n - 1.0)) * (step - s.step_long);
        s.prev = x;
        if let Some(m) = bucket.and_then(|b| s.season.get_mut(b)) {
            if m.is_finite() {
                let d = (x - *m).abs();
                s.season_dev += (1.0 / cfg.slow_window).max(1.0 / n) * (d - s.season_dev);
                *m += cfg.season_rate * (x - *m);
            } else {
                *m = x;
            }
        }
        if s.n <= u64::from(cfg.warmup_samples) + 1 {
            score = 0.0;
        }
        if cfg.peak_window > 0.0 {
            let decayed = s.peak * (1.0 - 1.0 / cfg.peak_window.max(1.0));
            s.peak = decayed.max(score);
            if score <= decayed {
                score *= cfg.peak_factor;
            }
        }
        if s.hold > 0 {
            s.hold -= 1;
            score *= cfg.suppress_factor;
        } else if score >= cfg.suppress_level && cfg.suppress_samples > 0 {
            s.hold = u64::from(cfg.suppress_samples);
        }
        score.clamp(0.0, 1.0)
    }

    fn restore(cfg: &DetectorConfig, bytes: &[u8]) -> Result<Self, MlError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4)? != MAGIC {
            return Err(MlError::Snapshot("bad magic".into()));
        }
        if r.take(12)? != cfg.hash().as_bytes() {
            return Err(MlError::Snapshot(
                "snapshot was taken with a different configuration".into(),
            ));
        }
        let seed = r.u64()?;
        let mut s = State {
            n: r.u64()?,
            hold: r.u64()?,
            ..State::default()
        };
        let mut err = None;
        s.visit(cfg.season_buckets as usize, &mut |v| match r.f64() {
            Ok(x) => *v = x,
            Err(e) => err = Some(e),
        });
        if let Some(e) = err {
            return Err(e);
        }
        let mut scales = vec![Scale::default(); cfg.extra_scales.len()];
        for sc in &mut scales {
            sc.visit(&mut |v| match r.f64() {
                Ok(x) => *v = x,
                Err(e) => err = Some(e),
            });
        }
        if let Some(e) = err {
            return Err(e);
        }
        let mut pattern = pattern_memory(cfg);
        if let Some(p) = pattern.as_mut() {
            p.read(&mut || r.u64().ok())
                .ok_or_else(|| MlError::Snapshot("bad pattern memory".into()))?;
        }
        if r.pos != bytes.len() {
            return Err(MlError::Snapshot("trailing bytes".into()));
        }
        Ok(StreamDetector {
            cfg: cfg.clone(),
            seed,
            s,
            pattern,
            scales,
        })
    }
}

impl Detector for StreamDetector {
    fn update(&mut self, timestamp_ms: i64, value: f64) -> f64 {
        if !value.is_finite() {
            return self.s.last_score;
        }
        let score = self.step(timestamp_ms, value);
        self.s.last_score = score;
        score
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(self.cfg.hash().as_bytes());
        out.extend_from_slice(&self.seed.to_le_bytes());
        out.extend_from_slice(&self.s.n.to_le_bytes());
        out.extend_from_slice(&self.s.hold.to_le_bytes());
        let mut s = self.s;
        s.visit(self.cfg.season_buckets as usize, &mut |v| {
            out.extend_from_slice(&v.to_le_bytes())
        });
        for sc in &self.scales {
            let mut sc = *sc;
            sc.visit(&mut |v| out.extend_from_slice(&v.to_le_bytes()));
        }
        if let Some(p) = &self.pattern {
            p.write(&mut out);
        }
        out
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], MlError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(MlError::Snapshot("truncated".into()));
        };
        let out = self
            .bytes
            .get(self.pos..end)
            .ok_or_else(|| MlError::Snapshot("truncated".into()))?;
        self.pos = end;
        Ok(out)
    }

    fn u64(&mut self) -> Result<u64, MlError> {
        let b = self.take(8)?;
        let arr: [u8; 8] = b
            .try_into()
            .map_err(|_| MlError::Snapshot("truncated".into()))?;
        Ok(u64::from_le_bytes(arr))
    }

    fn f64(&mut self) -> Result<f64, MlError> {
        Ok(f64::from_bits(self.u64()?))
    }
}

/// The time-of-day bucket of `ts` (UTC), if the seasonal profile is enabled.
fn season_bucket(ts: i64, buckets: u32) -> Option<usize> {
    if buckets == 0 {
        return None;
    }
    let b = i64::from(buckets.min(MAX_SEASON as u32));
    usize::try_from(ts.rem_euclid(DAY_MS) * b / DAY_MS).ok()
}

/// Maps a z-like likelihood statistic onto `[0, 1)` without saturating (so large deviations
/// stay ordered): 0 for z <= 0 (no more surprising than usual), 0.5 at z = 1, 0.8 at z = 4.
fn squash(z: f64) -> f64 {
    if z > 0.0 { z / (1.0 + z) } else { 0.0 }
}
