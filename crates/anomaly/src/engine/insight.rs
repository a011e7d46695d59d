//! Insights: when an event closes, its pattern and a plain-language sentence against the
//! series' recent behaviour, and when history allows, against the same time of day on the
//! previous days.

use super::AnomalyEngine;
use super::series::{OpenEvent, subject};
use vigia_model::{AnomalyEvent, Labels, Matcher};

/// Earlier days searched for the same time of day (seasonal baseline of insights).
const SEASON_DAYS: i64 = 7;
/// Fewest earlier days with data at that time of day for a seasonal comparison.
const SEASON_MIN_DAYS: usize = 2;
/// Margin around the event's time of day on earlier days.
const SEASON_MARGIN_MS: i64 = 30 * 60_000;
const DAY_MS: i64 = 86_400_000;

impl AnomalyEngine {
    /// Closes an event's insight: the pattern and sentence against the recent baseline, then
    /// the peak against the same time of day on earlier days when there is enough history.
    pub(super) fn explain(&self, labels: &Labels, done: OpenEvent) -> AnomalyEvent {
        let mut e = done.event;
        let Some(ins) = vigia_ml::insight::classify(&done.baseline, &done.samples) else {
            return e;
        };
        // The pattern's name as it is serialised (`unusual_shape`), one spelling everywhere.
        e.pattern = serde_json::to_value(ins.pattern)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        e.insight = ins.describe(&subject(labels), "compared with its recent behaviour");
        if ins.pattern != vigia_ml::insight::Pattern::MissingData
            && let Some(base) = self.seasonal_baseline(labels, &done.samples)
            && let Some(seasonal) = vigia_ml::insight::compare(&base, &done.samples)
        {
            e.insight.push_str("; ");
            e.insight.push_str(&seasonal.phrase("for this hour"));
        }
        e
    }

    /// Samples of the same series at the event's time of day (± 30 minutes) on each of the
    /// previous 7 days, when at least 2 of those days have data.
    fn seasonal_baseline(&self, labels: &Labels, event: &[(i64, f64)]) -> Option<Vec<f64>> {
        let q = self.history.read().clone()?;
        let (first, last) = (event.first()?.0, event.last()?.0);
        let matchers: Vec<Matcher> = labels
            .iter()
            .map(|l| Matcher::equal(l.name.clone(), l.value.clone()))
            .collect();
        let mut out = Vec::new();
        let mut days = 0;
        // One small read per earlier day, each ending before the event began.
        for d in 1..=SEASON_DAYS {
            let from = first - d * DAY_MS - SEASON_MARGIN_MS;
            let to = (last - d * DAY_MS + SEASON_MARGIN_MS).min(first - 1);
            if to < from {
                continue;
            }
            let set = match q.select(&matchers, from, to) {
                Ok(set) => set,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot read history for an anomaly insight");
                    return None;
                }
            };
            let before = out.len();
            for s in set {
                let s = s.ok()?;
                if s.labels == *labels {
                    out.extend(s.samples.iter().filter(|p| p.v.is_finite()).map(|p| p.v));
                }
            }
            days += usize::from(out.len() > before);
        }
        (days >= SEASON_MIN_DAYS).then_some(out)
    }
}
