//! The streaming anomaly detector: a trait for online detectors, the one configuration used for
//! every series (chosen on half of NAB), and snapshot/restore.
//!
//! The default method is the adaptive-resonance detector ([`ArtDetector`], `art.rs`: a prototype
//! memory of downsampled shapes and levels that flags a sample when it founds a new cluster).
//! The alternative `stream` method ([`StreamDetector`]) is the likelihood of exponentially
//! weighted features:
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
//!
//! `docs/nab.md` has both methods' NAB scores and how the configuration was chosen.

use crate::MlError;
use crate::art::{ArtConfig, ArtDetector};
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
const FEATURES: usize = 6;

/// Detector settings: one configuration for every series. `Default` is the configuration
/// chosen on the NAB tuning half (`crates/bench/nab_tuning_files.txt`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// Which detector: `art` (adaptive resonance over windowed shapes, [`ArtConfig`]) or
    /// `stream` (likelihood of exponentially weighted features, the other settings).
    pub method: Method,
    /// Settings of the `art` detector.
    pub art: ArtConfig,
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
    /// Lower bound of a feature's long-term surprise standard deviation in the likelihood
    /// step. Surprises are dimensionless (logs of z-units), so an absolute floor keeps scale
    /// invariance while making change after a perfectly regular stretch register.
    pub surprise_sd_floor: f64,
}

/// The detection method of a [`DetectorConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// [`ArtDetector`]: adaptive resonance over windowed shapes and levels.
    Art,
    /// [`StreamDetector`]: likelihood of exponentially weighted features.
    Stream,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            method: Method::Art,
            art: ArtConfig::default(),
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

    /// The configuration for a whole series of `rows` samples known in advance (a NAB file, a
    /// CSV scored offline): the learning period is NAB's probationary period,
    /// `min(⌊0.15·rows⌋, 750)`, which NAB gives every detector. Nothing else about the series
    /// (no values, no labels) is used. Live series keep the configured `art.learn_samples`.
    pub fn for_known_length(&self, rows: usize) -> DetectorConfig {
        let probation = ((rows as f64 * 0.15).floor() as u32).min(750);
        let mut cfg = self.clone();
        cfg.art.learn_samples = probation.max(2 * cfg.art.window);
        cfg
    }

    /// Checks that every setting is in its valid range.
    pub fn validate(&self) -> Result<(), MlError> {
        self.art.validate()?;
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
        if !(self.surprise_sd_floor.is_finite() && self.surprise_sd_floor > 0.0) {
            return Err(MlError::Invalid(format!(
                "surprise_sd_floor must be > 0, got {}",
                self.surprise_sd_floor
            )));
        }
        if !(0.0..=1.0).contains(&self.suppress_level)
            || !(0.0..=1.0).contains(&self.suppress_factor)
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
    match cfg.method {
        Method::Art => Box::new(ArtBox {
            hash: cfg.hash(),
            seed,
            det: ArtDetector::new(&cfg.art),
        }),
        Method::Stream => Box::new(StreamDetector::new(cfg, seed)),
    }
}

/// Restores a detector from [`Detector::snapshot`] bytes taken with the same configuration.
pub fn restore_detector(cfg: &DetectorConfig, bytes: &[u8]) -> Result<Box<dyn Detector>, MlError> {
    match cfg.method {
        Method::Art => Ok(Box::new(ArtBox::restore(cfg, bytes)?)),
        Method::Stream => Ok(Box::new(StreamDetector::restore(cfg, bytes)?)),
    }
}

/// [`ArtDetector`] behind the [`Detector`] interface, with the configuration hash for
/// snapshots.
struct ArtBox {
    hash: String,
    seed: u64,
    det: ArtDetector,
}

const ART_MAGIC: &[u8; 4] = b"VGA2";

impl ArtBox {
    fn restore(cfg: &DetectorConfig, bytes: &[u8]) -> Result<Self, MlError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4)? != ART_MAGIC {
            return Err(MlError::Snapshot("bad magic".into()));
        }
        let hash = cfg.hash();
        if r.take(12)? != hash.as_bytes() {
            return Err(MlError::Snapshot(
                "snapshot was taken with a different configuration".into(),
            ));
        }
        let seed = r.u64()?;
        let det = ArtDetector::read(&cfg.art, &mut || r.u64().ok())
            .ok_or_else(|| MlError::Snapshot("bad detector state".into()))?;
        if r.pos != bytes.len() {
            return Err(MlError::Snapshot("trailing bytes".into()));
        }
        Ok(ArtBox { hash, seed, det })
    }
}

impl Detector for ArtBox {
    fn update(&mut self, _timestamp_ms: i64, value: f64) -> f64 {
        self.det.update(value)
    }

    fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(ART_MAGIC);
        out.extend_from_slice(self.hash.as_bytes());
        out.extend_from_slice(&self.seed.to_le_bytes());
        self.det.write(&mut out);
        out
    }
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
#[derive(Debug, Clone, Copy, Default, PartialEq)]
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
}

impl State {
    /// Visits every floating-point field in a fixed order (the snapshot layout).
    fn visit(&mut self, f: &mut impl FnMut(&mut f64)) {
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
        ] {
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
        }
    }

    /// Size in bytes of the detector's snapshot (its complete mutable state).
    pub fn state_bytes(&self) -> usize {
        self.snapshot().len()
    }

    /// Raw surprise of `x` per feature, from the state before `x` (each `ln(1 + z)`).
    fn features(&self, x: f64, shape: f64) -> [f64; FEATURES] {
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
        ]
    }

    fn step(&mut self, x: f64) -> f64 {
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
        let feats = self.features(x, shape);
        let cfg = &self.cfg;
        let s = &mut self.s;
        s.n += 1;
        let n = s.n as f64;
        // Per feature: likelihood of the recent surprise under its long-term distribution.
        let a_short = ew_alpha(cfg.short_window).max(1.0 / n);
        let a_long = (1.0 / cfg.likelihood_window).max(1.0 / (n - 1.0));
        let mut best = 0.0f64;
        let mut sum = 0.0;
        for (((&f, short), long), w) in feats
            .iter()
            .zip(&mut s.short)
            .zip(&mut s.long)
            .zip(cfg.weights())
        {
            *short += a_short * (f - *short);
            let sd = long.var.max(0.0).sqrt().max(cfg.surprise_sd_floor);
            let lz = w * (*short - long.mean) / sd;
            best = best.max(lz);
            sum += lz.max(0.0);
            long.update(f, a_long);
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
        if s.n <= u64::from(cfg.warmup_samples) + 1 {
            score = 0.0;
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
        s.visit(&mut |v| match r.f64() {
            Ok(x) => *v = x,
            Err(e) => err = Some(e),
        });
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
        })
    }
}

impl Detector for StreamDetector {
    fn update(&mut self, _timestamp_ms: i64, value: f64) -> f64 {
        if !value.is_finite() {
            return self.s.last_score;
        }
        let score = self.step(value);
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
        s.visit(&mut |v| out.extend_from_slice(&v.to_le_bytes()));
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

/// Maps a z-like likelihood statistic onto `[0, 1)` without saturating (so large deviations
/// stay ordered): 0 for z <= 0 (no more surprising than usual), 0.5 at z = 1, 0.8 at z = 4.
fn squash(z: f64) -> f64 {
    if z > 0.0 { z / (1.0 + z) } else { 0.0 }
}
