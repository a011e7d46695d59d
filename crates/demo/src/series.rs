//! The table of simulated series: identities (fixed at construction) and the per-step current
//! values and presence. Also the histogram helper that spreads observations over `le` buckets.

use crate::rng::{Rng, lognormal_cdf};
use vigia_model::Labels;

/// Whether a series yields a sample at the current step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presence {
    /// A normal sample with the current value.
    Present,
    /// A Prometheus staleness marker (first scrape after the target went away).
    Stale,
    /// No sample at all.
    Absent,
}

/// Identities of every series, in registration order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Catalog {
    pub(crate) labels: Vec<Labels>,
}

impl Catalog {
    /// Registers a series and returns its index.
    pub(crate) fn add(&mut self, name: &str, pairs: &[(&str, &str)]) -> usize {
        let mut all: Vec<(&str, &str)> = Vec::with_capacity(pairs.len() + 1);
        all.push(("__name__", name));
        all.extend_from_slice(pairs);
        self.labels.push(Labels::from_pairs(all));
        self.labels.len() - 1
    }

    /// Registers a classic histogram (`_bucket` per `le`, `_sum`, `_count`).
    pub(crate) fn add_histogram(
        &mut self,
        name: &str,
        pairs: &[(&str, &str)],
        les: &[f64],
    ) -> Histogram {
        let mut buckets = Vec::with_capacity(les.len() + 1);
        let mut bounds = les.to_vec();
        bounds.push(f64::INFINITY);
        for le in &bounds {
            let le_text = format_le(*le);
            let mut p: Vec<(&str, &str)> = pairs.to_vec();
            p.push(("le", &le_text));
            buckets.push(self.add(&format!("{name}_bucket"), &p));
        }
        let sum = self.add(&format!("{name}_sum"), pairs);
        let count = self.add(&format!("{name}_count"), pairs);
        Histogram {
            bounds,
            buckets,
            sum,
            count,
        }
    }
}

/// Prometheus rendering of a bucket bound (`+Inf`, `0.5`, `1`, `2.5`).
fn format_le(le: f64) -> String {
    if le.is_infinite() {
        "+Inf".to_string()
    } else {
        format!("{le}")
    }
}

/// Indices of one histogram's series.
#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    /// Upper bounds, the last one `+Inf`.
    pub(crate) bounds: Vec<f64>,
    /// Series index per bound.
    pub(crate) buckets: Vec<usize>,
    /// `_sum` series index.
    pub(crate) sum: usize,
    /// `_count` series index.
    pub(crate) count: usize,
}

impl Histogram {
    /// Every series index of this histogram.
    pub(crate) fn all(&self) -> impl Iterator<Item = usize> + '_ {
        self.buckets.iter().copied().chain([self.sum, self.count])
    }

    /// Adds `n` observations drawn from a log-normal (median, sigma): each bucket interval gets
    /// its expected share, randomly rounded, so the cumulative buckets stay monotone and the
    /// `+Inf` bucket equals `_count`. The sum uses each interval's representative value.
    /// Returns (observations added, their sum).
    pub(crate) fn observe_lognormal(
        &self,
        v: &mut [f64],
        rng: &mut Rng,
        n: u64,
        median: f64,
        sigma: f64,
    ) -> (u64, f64) {
        if n == 0 {
            return (0, 0.0);
        }
        let mut prev_cdf = 0.0;
        let mut prev_bound: f64 = 0.0;
        let mut cumulative = 0u64;
        let mut sum = 0.0;
        let last = self.bounds.len().saturating_sub(1);
        for (i, (&bound, &idx)) in self.bounds.iter().zip(&self.buckets).enumerate() {
            let cdf = lognormal_cdf(bound, median, sigma);
            let share = (cdf - prev_cdf).max(0.0);
            let in_bucket = if i == last {
                n.saturating_sub(cumulative)
            } else {
                rng.round(n as f64 * share)
                    .min(n.saturating_sub(cumulative))
            };
            cumulative += in_bucket;
            let rep = if bound.is_infinite() {
                (prev_bound * 1.5).max(median * 3.0)
            } else {
                // geometric-ish midpoint of the interval, biased towards where the mass is
                let lo = if prev_bound > 0.0 {
                    prev_bound
                } else {
                    bound * 0.4
                };
                (lo * bound).sqrt().min(bound)
            };
            sum += in_bucket as f64 * rep;
            if let Some(slot) = v.get_mut(idx) {
                *slot += cumulative as f64;
            }
            prev_cdf = cdf;
            prev_bound = bound;
        }
        if let Some(slot) = v.get_mut(self.sum) {
            *slot += sum;
        }
        if let Some(slot) = v.get_mut(self.count) {
            *slot += n as f64;
        }
        (n, sum)
    }

    /// Adds integer observations with values `1..=counts.len()` (`counts[i]` of value `i+1`).
    pub(crate) fn observe_integers(&self, v: &mut [f64], counts: &[u64]) {
        let mut sum = 0.0;
        let mut total = 0u64;
        for (i, c) in counts.iter().enumerate() {
            sum += (i + 1) as f64 * *c as f64;
            total += c;
        }
        for (&bound, &idx) in self.bounds.iter().zip(&self.buckets) {
            let below: u64 = counts
                .iter()
                .enumerate()
                .filter(|(i, _)| (*i + 1) as f64 <= bound)
                .map(|(_, c)| *c)
                .sum();
            if let Some(slot) = v.get_mut(idx) {
                *slot += below as f64;
            }
        }
        if let Some(slot) = v.get_mut(self.sum) {
            *slot += sum;
        }
        if let Some(slot) = v.get_mut(self.count) {
            *slot += total as f64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_consistent() {
        let mut cat = Catalog::default();
        let h = cat.add_histogram("x_seconds", &[("page", "a")], &[0.1, 0.5, 1.0, 5.0]);
        assert_eq!(h.all().count(), 7);
        assert_eq!(cat.labels[h.buckets[4]].get("le"), Some("+Inf"));
        assert_eq!(cat.labels[h.buckets[1]].get("le"), Some("0.5"));
        assert_eq!(cat.labels[h.sum].metric_name(), Some("x_seconds_sum"));
        let mut v = vec![0.0; cat.labels.len()];
        let mut rng = Rng::for_step(1, 1);
        for _ in 0..200 {
            h.observe_lognormal(&mut v, &mut rng, 50, 0.5, 0.6);
            let b: Vec<f64> = h.buckets.iter().map(|&i| v[i]).collect();
            assert!(b.windows(2).all(|w| w[0] <= w[1]), "{b:?}");
            assert_eq!(b[4], v[h.count]);
        }
        assert_eq!(v[h.count], 10_000.0);
        // Median 0.5: about half of the observations at or below 0.5.
        let below = v[h.buckets[1]] / v[h.count];
        assert!((0.45..0.55).contains(&below), "{below}");
        let mean = v[h.sum] / v[h.count];
        assert!((0.4..0.8).contains(&mean), "mean {mean}");
    }

    #[test]
    fn integer_histogram() {
        let mut cat = Catalog::default();
        let les: Vec<f64> = (1..=3).map(f64::from).collect();
        let h = cat.add_histogram("r", &[], &les);
        let mut v = vec![0.0; cat.labels.len()];
        h.observe_integers(&mut v, &[1, 0, 2]);
        let b: Vec<f64> = h.buckets.iter().map(|&i| v[i]).collect();
        assert_eq!(b, vec![1.0, 1.0, 3.0, 3.0]);
        assert_eq!((v[h.sum], v[h.count]), (7.0, 3.0));
    }
}
