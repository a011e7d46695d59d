//! The end of the learning period: the normalisation range is fixed, the remembered points
//! are replayed through the encoder and the memory, and the initial vigilance is measured.

use super::ArtDetector;
use super::memory::Memory;

impl ArtDetector {
    /// Fixes the range, replays the learning period through the encoder and the memory, and
    /// sets the initial vigilance.
    pub(super) fn finish_learning(&mut self) {
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
    pub(super) fn typical_similarity(&self, feats: &[(u64, Vec<u8>)]) -> f64 {
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
}
