//! Pattern memory: remembers short shapes of the series (the last few values) as prototypes,
//! in the manner of adaptive-resonance and context detectors, and reports how far the current
//! shape is from the nearest known one, in units of the series' range.

/// Longest supported pattern.
pub(crate) const MAX_PATTERN: usize = 32;

/// A bounded set of prototype patterns with least-recently-used replacement.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PatternMemory {
    len: usize,
    capacity: usize,
    vigilance: f64,
    /// Ring of the last `len` values; `head` is the next write position.
    recent: Vec<f64>,
    head: usize,
    filled: usize,
    /// `count × len` prototype values, row-major.
    protos: Vec<f64>,
    /// Sample number at which each prototype last matched (or was stored).
    used: Vec<u64>,
}

impl PatternMemory {
    /// An empty memory of `capacity` prototypes of `len` values; a shape further than
    /// `vigilance` (fraction of the range, mean absolute difference) from every prototype
    /// becomes a new prototype.
    pub(crate) fn new(len: usize, capacity: usize, vigilance: f64) -> Self {
        let len = len.clamp(1, MAX_PATTERN);
        PatternMemory {
            len,
            capacity: capacity.max(1),
            vigilance,
            recent: vec![0.0; len],
            head: 0,
            filled: 0,
            protos: Vec::new(),
            used: Vec::new(),
        }
    }

    /// Adds `x` (sample number `n`) and returns the distance of the current shape to the
    /// nearest prototype as a fraction of `range` (0 until the memory has a full pattern).
    pub(crate) fn observe(&mut self, x: f64, range: f64, n: u64) -> f64 {
        if let Some(slot) = self.recent.get_mut(self.head) {
            *slot = x;
        }
        self.head = (self.head + 1) % self.len;
        self.filled = (self.filled + 1).min(self.len);
        if self.filled < self.len || range <= 0.0 {
            return 0.0;
        }
        let mut cur = [0.0; MAX_PATTERN];
        for (k, c) in cur.iter_mut().take(self.len).enumerate() {
            *c = self
                .recent
                .get((self.head + k) % self.len)
                .copied()
                .unwrap_or(0.0);
        }
        let cur = &cur[..self.len];
        let mut best = f64::INFINITY;
        let mut best_i = None;
        for (i, p) in self.protos.chunks_exact(self.len).enumerate() {
            let d: f64 = p.iter().zip(cur).map(|(a, b)| (a - b).abs()).sum::<f64>();
            if d < best {
                best = d;
                best_i = Some(i);
            }
        }
        let dist = if best.is_finite() {
            best / self.len as f64 / range
        } else {
            0.0
        };
        match best_i {
            Some(i) if dist <= self.vigilance => {
                if let Some(u) = self.used.get_mut(i) {
                    *u = n;
                }
            }
            _ => self.store(cur, n),
        }
        dist
    }

    fn store(&mut self, cur: &[f64], n: u64) {
        if self.used.len() < self.capacity {
            self.protos.extend_from_slice(cur);
            self.used.push(n);
            return;
        }
        let Some((oldest, _)) = self.used.iter().enumerate().min_by_key(|(_, u)| **u) else {
            return;
        };
        if let Some(p) = self
            .protos
            .get_mut(oldest * self.len..(oldest + 1) * self.len)
        {
            p.copy_from_slice(cur);
        }
        if let Some(u) = self.used.get_mut(oldest) {
            *u = n;
        }
    }

    /// Appends the memory's state to `out`.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        for v in [self.head as u64, self.filled as u64, self.used.len() as u64] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in self.recent.iter().chain(&self.protos) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for u in &self.used {
            out.extend_from_slice(&u.to_le_bytes());
        }
    }

    /// Reads the state written by [`PatternMemory::write`]; `next` yields 8-byte words.
    pub(crate) fn read(&mut self, next: &mut impl FnMut() -> Option<u64>) -> Option<()> {
        let head = usize::try_from(next()?).ok()?;
        let filled = usize::try_from(next()?).ok()?;
        let count = usize::try_from(next()?).ok()?;
        if head >= self.len || filled > self.len || count > self.capacity {
            return None;
        }
        self.head = head;
        self.filled = filled;
        for r in &mut self.recent {
            *r = f64::from_bits(next()?);
        }
        self.protos = (0..count * self.len)
            .map(|_| next().map(f64::from_bits))
            .collect::<Option<_>>()?;
        self.used = (0..count).map(|_| next()).collect::<Option<_>>()?;
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_shapes_are_familiar_and_new_shapes_are_not() {
        let mut m = PatternMemory::new(4, 8, 0.05);
        let wave = [0.0, 1.0, 2.0, 1.0];
        let mut last = 0.0;
        for i in 0..100u64 {
            last = m.observe(wave[(i % 4) as usize], 2.0, i);
        }
        assert!(last < 1e-12, "a repeating wave is familiar: {last}");
        let jump = m.observe(2.0, 2.0, 100);
        assert!(jump > 0.05, "a broken rhythm is novel: {jump}");
    }

    #[test]
    fn capacity_is_bounded() {
        let mut m = PatternMemory::new(3, 5, 0.0);
        for i in 0..1000u64 {
            m.observe(i as f64, 1000.0, i);
        }
        assert_eq!(m.used.len(), 5);
        assert_eq!(m.protos.len(), 15);
    }
}
