//! The streaming anomaly detector: a trait for online detectors, the one configuration used for
//! every series (tuned on half of NAB), and vigia's detector with snapshot/restore.
//!
//! Method (all statistics are exponentially weighted, so state is a fixed handful of numbers):
//! 1. Robust scale: slow mean/variance of the series and the running range (min..max). Every
//!    feature is a ratio of differences, so `a·x + b` (a > 0) gives the same scores.
//! 2. Raw surprise per sample: the largest of the point deviation from the slow mean, the level
//!    shift of a fast mean against the slow mean (in units of its own standard error), and the
//!    excursion beyond the range seen so far.
//! 3. Likelihood: the short-term average surprise compared with the long-term distribution of
//!    surprise (as Numenta's anomaly likelihood does), giving a tail probability.
//! 4. Sparsification: after a detection the detector holds its score down for a while, because
//!    one early flag per anomaly is what an operator (and NAB) wants.

use crate::MlError;

/// An online anomaly detector for one series.
pub trait Detector: Send {
    /// Feeds one sample and returns its anomaly score in `[0, 1]`. The score depends only on
    /// this and earlier samples. Non-finite values are ignored (the previous score is returned).
    fn update(&mut self, timestamp_ms: i64, value: f64) -> f64;
    /// Serialises the full state; [`restore_detector`] continues exactly where it left off.
    fn snapshot(&self) -> Vec<u8>;
}

/// Detector settings: one configuration for every series. `Default` is the configuration
/// chosen on the NAB tuning half (`crates/ml/nab_tuning_files.txt`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// Horizon (samples) of the slow mean and variance.
    pub slow_window: f64,
    /// Horizon (samples) of the fast mean used for level shifts.
    pub fast_window: f64,
    /// Weight of the level-shift feature relative to the point deviation.
    pub level_weight: f64,
    /// Weight of the range-excursion feature (excursion as a fraction of the range seen).
    pub novelty_weight: f64,
    /// Horizon (samples) of the long-term surprise distribution.
    pub likelihood_window: f64,
    /// Horizon (samples) of the short-term surprise average.
    pub short_window: f64,
    /// Samples after the first during which the score is 0 (statistics still learn).
    pub warmup_samples: u32,
    /// A score at or above this level starts a hold-down period.
    pub suppress_level: f64,
    /// Length (samples) of the hold-down period.
    pub suppress_samples: u32,
    /// Factor applied to scores during the hold-down period.
    pub suppress_factor: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            slow_window: 1000.0,
            fast_window: 30.0,
            level_weight: 0.5,
            novelty_weight: 5.0,
            likelihood_window: 1000.0,
            short_window: 5.0,
            warmup_samples: 50,
            suppress_level: 0.6,
            suppress_samples: 100,
            suppress_factor: 0.5,
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
        let positive = [
            ("slow_window", self.slow_window),
            ("fast_window", self.fast_window),
            ("likelihood_window", self.likelihood_window),
            ("short_window", self.short_window),
        ];
        for (name, v) in positive {
            if !(v.is_finite() && v >= 1.0) {
                return Err(MlError::Invalid(format!("{name} must be >= 1, got {v}")));
            }
        }
        for (name, v) in [
            ("level_weight", self.level_weight),
            ("novelty_weight", self.novelty_weight),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(MlError::Invalid(format!("{name} must be >= 0, got {v}")));
            }
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
/// scores; the seed is kept for interface stability.
pub fn new_detector(cfg: &DetectorConfig, seed: u64) -> Box<dyn Detector> {
    Box::new(StreamDetector::new(cfg, seed))
}

/// Restores a detector from [`Detector::snapshot`] bytes taken with the same configuration.
pub fn restore_detector(cfg: &DetectorConfig, bytes: &[u8]) -> Result<Box<dyn Detector>, MlError> {
    Ok(Box::new(StreamDetector::restore(cfg, bytes)?))
}

/// Cap on every z-like feature, so one absurd sample cannot dominate the long-term statistics.
const Z_CAP: f64 = 1e3;
/// Lower bound of the surprise standard deviation used by the likelihood step.
const SURPRISE_SD_FLOOR: f64 = 0.01;
const MAGIC: &[u8; 4] = b"VGD1";

/// Exponentially weighted mean and variance with a `1/n` start-up so early samples count fully.
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
    slow: Ew,
    fast: f64,
    min: f64,
    max: f64,
    short: f64,
    long: Ew,
    hold: u32,
    last_score: f64,
}

/// vigia's online detector (see the module documentation for the method).
#[derive(Debug, Clone)]
pub struct StreamDetector {
    cfg: DetectorConfig,
    seed: u64,
    s: State,
}

impl StreamDetector {
    /// A fresh detector.
    pub fn new(cfg: &DetectorConfig, seed: u64) -> Self {
        StreamDetector {
            cfg: cfg.clone(),
            seed,
            s: State::default(),
        }
    }

    /// Size in bytes of the detector's snapshot (its complete mutable state).
    pub fn state_bytes(&self) -> usize {
        self.snapshot().len()
    }

    fn surprise(&self, x: f64) -> f64 {
        let s = &self.s;
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
        let z_point = z(x - s.slow.mean, sd);
        let af = 2.0 / (self.cfg.fast_window + 1.0);
        let fast = s.fast + af * (x - s.fast);
        let z_level = z(fast - s.slow.mean, sd * (af / (2.0 - af)).sqrt());
        let excursion = (x - s.max).max(s.min - x).max(0.0);
        let novelty = z(excursion, range);
        (z_point.max(self.cfg.level_weight * z_level) + self.cfg.novelty_weight * novelty).ln_1p()
    }

    fn step(&mut self, x: f64) -> f64 {
        let cfg = &self.cfg;
        if self.s.n == 0 {
            self.s = State {
                n: 1,
                slow: Ew { mean: x, var: 0.0 },
                fast: x,
                min: x,
                max: x,
                ..State::default()
            };
            return 0.0;
        }
        let r = self.surprise(x);
        let s = &mut self.s;
        s.n += 1;
        let n = s.n as f64;
        // Likelihood of the recent surprise under the long-term surprise distribution.
        let a_short = (2.0 / (cfg.short_window + 1.0)).max(1.0 / n);
        s.short += a_short * (r - s.short);
        // The surprise is dimensionless (log of z-units), so an absolute floor keeps scale
        // invariance while making change after a perfectly regular stretch register.
        let sd = s.long.var.max(0.0).sqrt().max(SURPRISE_SD_FLOOR);
        let lz = (s.short - s.long.mean) / sd;
        let mut score = squash(lz);
        s.long
            .update(r, (1.0 / cfg.likelihood_window).max(1.0 / (n - 1.0)));
        // Update the series statistics after scoring (causal: the score used only the past).
        s.slow.update(x, (1.0 / cfg.slow_window).max(1.0 / n));
        s.fast += (2.0 / (cfg.fast_window + 1.0)) * (x - s.fast);
        s.min = s.min.min(x);
        s.max = s.max.max(x);
        if s.n <= u64::from(cfg.warmup_samples) + 1 {
            score = 0.0;
        }
        if s.hold > 0 {
            s.hold -= 1;
            score *= cfg.suppress_factor;
        } else if score >= cfg.suppress_level && cfg.suppress_samples > 0 {
            s.hold = cfg.suppress_samples;
        }
        score.clamp(0.0, 1.0)
    }

    fn restore(cfg: &DetectorConfig, bytes: &[u8]) -> Result<Self, MlError> {
        let mut r = Reader { bytes, pos: 0 };
        if r.take(4)? != MAGIC {
            return Err(MlError::Snapshot("bad magic".into()));
        }
        let hash = r.take(12)?;
        if hash != cfg.hash().as_bytes() {
            return Err(MlError::Snapshot(
                "snapshot was taken with a different configuration".into(),
            ));
        }
        let seed = r.u64()?;
        let s = State {
            n: r.u64()?,
            slow: Ew {
                mean: r.f64()?,
                var: r.f64()?,
            },
            fast: r.f64()?,
            min: r.f64()?,
            max: r.f64()?,
            short: r.f64()?,
            long: Ew {
                mean: r.f64()?,
                var: r.f64()?,
            },
            hold: u32::try_from(r.u64()?)
                .map_err(|_| MlError::Snapshot("bad hold counter".into()))?,
            last_score: r.f64()?,
        };
        if r.pos != bytes.len() {
            return Err(MlError::Snapshot("trailing bytes".into()));
        }
        Ok(StreamDetector {
            cfg: cfg.clone(),
            seed,
            s,
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
        let s = &self.s;
        let mut out = Vec::with_capacity(120);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(self.cfg.hash().as_bytes());
        out.extend_from_slice(&self.seed.to_le_bytes());
        out.extend_from_slice(&s.n.to_le_bytes());
        for v in [
            s.slow.mean,
            s.slow.var,
            s.fast,
            s.min,
            s.max,
            s.short,
            s.long.mean,
            s.long.var,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&u64::from(s.hold).to_le_bytes());
        out.extend_from_slice(&s.last_score.to_le_bytes());
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
