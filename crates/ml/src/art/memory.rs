//! The category memory: dual-vigilance fuzzy ART over complement-coded byte vectors (matching,
//! resonance, learning, least-recently-used replacement).

/// Fuzzy ART memory with dual vigilance over complement-coded vectors. Feature values are
/// quantised to bytes (0..=255): matching is exact integer arithmetic, and a category costs
/// `4 · window` bytes.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Memory {
    /// Feature dimension (the stored weights have twice as many values).
    pub(super) dim: usize,
    pub(super) capacity: usize,
    /// `categories × 2·dim` weights, row-major.
    pub(super) weights: Vec<u8>,
    /// Last use (point number) per category, for least-recently-used replacement.
    pub(super) used: Vec<u64>,
    /// Scratch: similarity per category.
    sims: Vec<f64>,
}

/// What the memory did with one vector.
#[derive(Debug, Clone, Copy)]
pub(super) struct Resonance {
    /// A new cluster was founded (no category came within the lower vigilance).
    pub(super) new_cluster: bool,
    /// Best similarity.
    pub(super) sim: f64,
    /// Best category's match of the newest level.
    pub(super) level_sim: f64,
}

impl Memory {
    pub(super) fn new(dim: usize, capacity: usize) -> Self {
        Memory {
            dim,
            capacity,
            weights: Vec::new(),
            used: Vec::new(),
            sims: Vec::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
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
    pub(super) fn train(
        &mut self,
        x: &[u8],
        now: u64,
        vig: (f64, f64),
        powers: (f64, f64),
    ) -> Resonance {
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

/// `x^p`, with a fast path for small whole exponents (the common configuration).
fn pow(x: f64, p: f64) -> f64 {
    if p.fract() == 0.0 && (0.0..=16.0).contains(&p) {
        x.powi(p as i32)
    } else {
        x.powf(p)
    }
}
