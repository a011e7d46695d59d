//! Checks on raw samples that are reported at once, before their block closes: a value
//! setting a new excursion record beyond the learnt range, and a flat run (stuck series)
//! beating the longest run seen before.

use super::ArtDetector;

impl ArtDetector {
    /// Scores a raw sample that sets a new excursion record (outside a masking period).
    pub(super) fn raw_record(&mut self, x: f64) -> f64 {
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

    /// How far `v` goes beyond the learnt range (in units of the range) when that is a new
    /// record on its side and at least `min_excursion`.
    pub(super) fn record_excursion(&mut self, v: f64) -> Option<f64> {
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

    /// Extends or ends the current run of identical raw samples with `x` (counted after it).
    pub(super) fn track_flat_run(&mut self, x: f64) {
        let s = &mut self.s;
        if s.n > 1 && x == s.prev_raw {
            s.flat_run += 1;
        } else {
            // A run ends: it is part of the series' usual behaviour from now on.
            s.flat_record = s.flat_record.max(s.flat_run);
            s.flat_run = 0;
            s.flat_flagged = false;
        }
        s.prev_raw = x;
    }

    /// Scores a run of identical samples that beats the longest run before it by
    /// `flat_factor` (once per run).
    pub(super) fn score_flat_run(&mut self) -> f64 {
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
}
