//! Snapshot and restore: the full detector state as little-endian 8-byte words.

use super::{ArtConfig, ArtDetector, Scalars};

impl ArtDetector {
    /// Serialises the full state.
    pub fn write(&self, out: &mut Vec<u8>) {
        let s = &self.s;
        let words: [u64; 17] = [
            s.n,
            s.points,
            s.block_n,
            s.median_level,
            s.below_median,
            s.above_median,
            s.sim_count,
            s.anomaly_count,
            s.last_anomaly_point,
            s.last_revision_point,
            s.masked_after_cluster,
            s.stable_points,
            self.memory.len() as u64,
            self.learning.len() as u64,
            s.flat_run,
            s.flat_record,
            u64::from(s.flat_flagged),
        ];
        let floats: [f64; 20] = [
            s.block_sum,
            s.block_min,
            s.block_max,
            s.block_ma,
            s.raw_min,
            s.raw_max,
            s.lo,
            s.hi,
            s.lower_vigilance,
            s.upper_vigilance,
            s.sim_sum,
            s.anomaly_sim_sum,
            s.last_anomaly_sim,
            s.last_score,
            s.incident_sim,
            s.record_up,
            s.record_down,
            s.base_lo,
            s.base_hi,
            s.prev_raw,
        ];
        let mut put = |w: u64| out.extend_from_slice(&w.to_le_bytes());
        for w in words {
            put(w);
        }
        for f in floats {
            put(f.to_bits());
        }
        put(self.recent.len() as u64);
        put(self.sim_window.len() as u64);
        put(self.gap_window.len() as u64);
        for &c in &self.level_counts {
            put(c);
        }
        for v in self
            .learning
            .iter()
            .chain(&self.recent)
            .chain(&self.sim_window)
            .chain(&self.gap_window)
        {
            put(v.to_bits());
        }
        for chunk in self.memory.weights.chunks(8) {
            let mut word = [0u8; 8];
            for (d, b) in word.iter_mut().zip(chunk) {
                *d = *b;
            }
            put(u64::from_le_bytes(word));
        }
        for &u in &self.memory.used {
            put(u);
        }
    }

    /// Reads the state written by [`ArtDetector::write`]; `next` yields 8-byte words.
    pub fn read(cfg: &ArtConfig, next: &mut impl FnMut() -> Option<u64>) -> Option<Self> {
        let mut d = ArtDetector::new(cfg);
        let mut w = [0u64; 17];
        for x in &mut w {
            *x = next()?;
        }
        let mut fl = [0f64; 20];
        for x in &mut fl {
            *x = f64::from_bits(next()?);
        }
        let (scalars, categories, learning) = Scalars::from_words(w, fl);
        d.s = scalars;
        let recent = usize::try_from(next()?).ok()?;
        let sims = usize::try_from(next()?).ok()?;
        let gaps = usize::try_from(next()?).ok()?;
        let categories = usize::try_from(categories).ok()?;
        let learning = usize::try_from(learning).ok()?;
        if recent > cfg.window as usize
            || sims > cfg.learn_points() as usize
            || gaps > cfg.learn_points() as usize + 1
            || categories > cfg.capacity as usize
            || learning > cfg.learn_points() as usize
            || d.s.block_n > u64::from(cfg.downsample())
            || d.s.median_level > u64::from(cfg.levels)
        {
            return None;
        }
        for c in &mut d.level_counts {
            *c = next()?;
        }
        let mut floats =
            |k: usize| -> Option<Vec<f64>> { (0..k).map(|_| next().map(f64::from_bits)).collect() };
        d.learning = floats(learning)?;
        d.recent = floats(recent)?.into();
        d.sim_window = floats(sims)?.into();
        d.gap_window = floats(gaps)?.into();
        let bytes = categories * 2 * d.memory.dim;
        let mut weights = Vec::with_capacity(bytes);
        for _ in 0..bytes.div_ceil(8) {
            weights.extend_from_slice(&next()?.to_le_bytes());
        }
        weights.truncate(bytes);
        d.memory.weights = weights;
        d.memory.used = (0..categories).map(|_| next()).collect::<Option<_>>()?;
        Some(d)
    }
}

impl Scalars {
    /// The scalars from the words and floats of a snapshot, in the order
    /// [`ArtDetector::write`] puts them; also returns the category and learning-point counts
    /// stored among the words.
    fn from_words(w: [u64; 17], fl: [f64; 20]) -> (Scalars, u64, u64) {
        let [
            n,
            points,
            block_n,
            median_level,
            below_median,
            above_median,
            sim_count,
            anomaly_count,
            last_anomaly_point,
            last_revision_point,
            masked_after_cluster,
            stable_points,
            categories,
            learning,
            flat_run,
            flat_record,
            flat_flagged,
        ] = w;
        let [
            block_sum,
            block_min,
            block_max,
            block_ma,
            raw_min,
            raw_max,
            lo,
            hi,
            lower_vigilance,
            upper_vigilance,
            sim_sum,
            anomaly_sim_sum,
            last_anomaly_sim,
            last_score,
            incident_sim,
            record_up,
            record_down,
            base_lo,
            base_hi,
            prev_raw,
        ] = fl;
        let s = Scalars {
            n,
            points,
            block_n,
            block_sum,
            block_min,
            block_max,
            block_ma,
            raw_min,
            raw_max,
            lo,
            hi,
            base_lo,
            base_hi,
            median_level,
            below_median,
            above_median,
            lower_vigilance,
            upper_vigilance,
            sim_sum,
            sim_count,
            anomaly_sim_sum,
            anomaly_count,
            last_anomaly_sim,
            incident_sim,
            record_up,
            record_down,
            last_anomaly_point,
            last_revision_point,
            masked_after_cluster,
            stable_points,
            last_score,
            flat_run,
            flat_record,
            prev_raw,
            flat_flagged: flat_flagged != 0,
        };
        (s, categories, learning)
    }
}
