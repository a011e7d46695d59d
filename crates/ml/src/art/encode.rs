//! Normalisation and encoding: the level grid over the learnt range (widened when a value
//! falls outside it), the running median level and its snapping, and the feature vector of
//! a window (Haar shape followed by levels, complement-coded as bytes).

use super::ArtDetector;

impl ArtDetector {
    /// Encodes `v` and returns the complement-coded feature vector once a window is full.
    pub(super) fn features(&mut self, v: f64) -> Option<Vec<u8>> {
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
    pub(super) fn track_median(&mut self, level: u64) -> u64 {
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

    /// Widens the normalisation range when `v` falls outside it (by `expand_margin` of the new
    /// span beyond `v`) and re-expresses everything encoded so far (recent levels, the level
    /// histogram, the level part of every category) in the new range, so that memories stay
    /// comparable with new inputs.
    pub(super) fn expand_range(&mut self, v: f64) {
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
    pub(super) fn recount_median(&mut self) {
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
pub(super) fn haar(v: &mut [f64]) {
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
