//! [`ArtConfig`]: the settings of the adaptive-resonance detector, their defaults (the
//! NAB-tuned ones), the derived downsampling factor and learning length, and their checks.

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
