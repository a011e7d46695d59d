//! The appender side of the engine: every batch is stored, then the samples of selected series
//! are scored and the scores stored as `anomaly_score` series; events that open or close on
//! the way are recorded.

use super::AnomalyEngine;
use super::series::{Tracked, new_state, push_recent, track};
use crate::config::selected;
use vigia_model::{
    AppendOutcome, Appender, Labels, Sample, SeriesSamples, StorageError, is_stale_nan,
};

/// Name of the score series.
pub const SCORE_METRIC: &str = "anomaly_score";

/// `anomaly_score{metric="<name>", <labels without __name__>}`.
pub fn score_labels(l: &Labels) -> Labels {
    let mut b = l.without_metric_name().builder();
    b.set("__name__", SCORE_METRIC)
        .set("metric", l.metric_name().unwrap_or(""));
    b.build()
}

impl AnomalyEngine {
    /// Scores the samples of `batch` that belong to selected series; returns the score series.
    fn score(&self, batch: &[SeriesSamples]) -> Vec<SeriesSamples> {
        let cfg = self.cfg.read().clone();
        if cfg.selectors.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut finished = Vec::new();
        let mut map = self.series.lock();
        for s in batch {
            if s.labels.metric_name() == Some(SCORE_METRIC) || !selected(&cfg, &s.labels) {
                continue;
            }
            if !map.contains_key(&s.labels) && map.len() >= cfg.max_series {
                continue;
            }
            let st = map
                .entry(s.labels.clone())
                .or_insert_with(|| new_state(&cfg));
            let mut samples: Vec<Sample> = s
                .samples
                .iter()
                .copied()
                .filter(|p| !is_stale_nan(p.v))
                .collect();
            samples.sort_by_key(|p| p.t);
            let mut scores = Vec::new();
            for p in samples {
                if p.t <= st.last_t || !p.v.is_finite() {
                    continue;
                }
                let score = st.det.update(p.t, p.v).clamp(0.0, 1.0);
                st.last_t = p.t;
                scores.push(Sample::new(p.t, score));
                if let Some(done) = track(self, &cfg, &s.labels, st, p, score) {
                    finished.push((s.labels.clone(), done));
                }
                push_recent(&mut st.recent, (p.t, p.v));
            }
            if !scores.is_empty() {
                out.push(SeriesSamples {
                    labels: score_labels(&s.labels),
                    samples: scores,
                });
            }
        }
        drop(map);
        for (labels, t) in finished {
            let e = match t {
                Tracked::Opened(e) => e,
                Tracked::Closed(done) => self.explain(&labels, *done),
            };
            self.record(e);
        }
        out
    }
}

impl Appender for AnomalyEngine {
    /// Stores the batch, then scores it and stores the scores (a second durable append).
    fn append(&self, batch: &[SeriesSamples]) -> Result<AppendOutcome, StorageError> {
        let out = self.inner.append(batch)?;
        let scores = self.score(batch);
        if !scores.is_empty()
            && let Err(e) = self.inner.append(&scores)
        {
            tracing::warn!(error = %e, "cannot store anomaly scores");
        }
        Ok(out)
    }
}
