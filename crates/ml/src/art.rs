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
//!
//! Layout: the settings are in `config`, the downsampling of raw samples and the dispatch of
//! each point are here, the checks reported on raw samples (excursion records, flat runs) in
//! `raw`, the level grid and feature encoding in `encode`, the end of the learning period in
//! `learning`, the fuzzy ART category memory in `memory`, the anomaly decision and vigilance
//! revision in `decide`, and snapshots in `snapshot`.

mod config;
mod decide;
mod encode;
mod learning;
mod memory;
mod raw;
mod snapshot;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

pub use config::ArtConfig;
use memory::Memory;

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
        self.track_flat_run(x);
        let live = self.s.points >= u64::from(self.cfg.learn_points());
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
}
