//! Scoring of a feature vector: the memory's resonance, the masking after anomalies and new
//! clusters, the confidence of a reported anomaly, and the periodic vigilance revision.

use std::collections::VecDeque;

use super::ArtDetector;
use super::memory::Resonance;

impl ArtDetector {
    /// Presents one feature vector (point `i`) and decides whether it is an anomaly.
    pub(super) fn detect(&mut self, f: &[u8], i: u64, record: Option<f64>) -> f64 {
        let cfg = &self.cfg;
        let learn = u64::from(cfg.learn_points());
        let live = i > learn;
        let mask = (cfg.mask_windows * f64::from(cfg.window)).round() as u64;
        let s = &mut self.s;
        let since = i.saturating_sub(s.last_anomaly_point);
        let masked_after_anomaly = s.last_anomaly_point > 0 && since <= mask;
        let revise = live
            && ((s.last_anomaly_point > 0 && since == mask)
                || i.saturating_sub(s.last_revision_point) >= learn / 2);
        if s.masked_after_cluster > 0 && live && i > learn + mask && s.stable_points >= mask {
            s.masked_after_cluster = 0;
        }
        let r = self.memory.train(
            f,
            i,
            (s.lower_vigilance, s.upper_vigilance),
            (cfg.feature_power, cfg.level_power),
        );
        s.stable_points = if r.new_cluster {
            0
        } else {
            s.stable_points + 1
        };
        s.sim_sum += r.sim;
        s.sim_count += 1;
        push_capped(&mut self.sim_window, r.sim, (learn / 2) as usize + 1);
        push_capped(
            &mut self.gap_window,
            s.upper_vigilance - r.sim,
            learn as usize + 1,
        );
        if s.anomaly_count > 0 && since < mask && r.sim < s.incident_sim {
            // The lowest similarity during an incident stands for it in the vigilance floor.
            s.anomaly_sim_sum += r.sim - s.incident_sim;
            s.incident_sim = r.sim;
        }
        let masking = s.masked_after_cluster > 0 || masked_after_anomaly;
        let share = if masked_after_anomaly {
            cfg.rearm_near
        } else {
            cfg.rearm_far
        };
        let clearly_lower = r.sim < s.last_anomaly_sim * share;
        let mut score = 0.0;
        let record = record.filter(|_| !masked_after_anomaly);
        if live && ((r.new_cluster && (!masking || clearly_lower)) || record.is_some()) {
            let mut c = confidence(
                r,
                s.lower_vigilance,
                s.upper_vigilance,
                cfg.level_confidence,
            );
            if let Some(e) = record {
                c = c.max(e / (1.0 + e));
            }
            score = c.powf(cfg.score_exponent).clamp(1e-6, 1.0);
            s.anomaly_sim_sum += r.sim;
            s.anomaly_count += 1;
            s.last_anomaly_sim = r.sim;
            s.incident_sim = r.sim;
            s.last_anomaly_point = i;
        }
        if r.new_cluster {
            s.masked_after_cluster = 1;
        }
        if revise {
            self.revise_vigilance(i);
        }
        score
    }

    /// Periodic revision of both vigilances from the recent similarities.
    pub(super) fn revise_vigilance(&mut self, i: u64) {
        let cfg = &self.cfg;
        let s = &mut self.s;
        let learn = u64::from(cfg.learn_points());
        let min_recent = self
            .sim_window
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let upper = (s.sim_sum / s.sim_count.max(1) as f64).min(cfg.max_vigilance);
        let mut lower = s.lower_vigilance;
        if lower <= min_recent {
            lower += (min_recent - lower) * cfg.vigilance_rise;
        } else {
            let mut drop = 0.0;
            if i > 2 * learn {
                let big: Vec<f64> = self
                    .gap_window
                    .iter()
                    .filter(|&&g| g > 0.05)
                    .map(|g| g.min(0.37))
                    .collect();
                if !big.is_empty() {
                    drop = big.iter().sum::<f64>() / big.len() as f64;
                }
            }
            lower -= drop.max(0.01) / 2.0;
            if s.anomaly_count > 0 {
                lower = lower.max(s.anomaly_sim_sum / s.anomaly_count as f64);
            }
        }
        s.lower_vigilance = lower.min(upper);
        s.upper_vigilance = upper;
        s.last_revision_point = i;
        s.masked_after_cluster = 1;
    }
}

fn push_capped(q: &mut VecDeque<f64>, v: f64, cap: usize) {
    if q.len() >= cap {
        q.pop_front();
    }
    q.push_back(v);
}

/// Confidence of an anomaly: how far the similarity fell below both vigilances (relative to
/// the room below 1), plus the newest level's mismatch.
fn confidence(r: Resonance, lower: f64, upper: f64, level_weight: f64) -> f64 {
    let sim = r.sim.min(0.999);
    let rel = |v: f64| (v - sim) / (1.0 - sim);
    let c = 0.35 * rel(upper) + 0.65 * rel(lower) + level_weight * (1.0 - r.level_sim);
    c.clamp(1e-6, 1.0)
}
