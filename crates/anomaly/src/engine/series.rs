//! Per-series state: the detector, recent samples (the baseline of insights) and the open
//! event, which a scored sample opens, extends or (after enough low scores) closes.

use super::AnomalyEngine;
use crate::config::{LiveConfig, lead_len};
use std::collections::VecDeque;
use vigia_ml::Detector;
use vigia_model::{AnomalyEvent, Labels, Sample};

/// Samples kept per series as the baseline of insights.
const BASELINE_LEN: usize = 240;
/// Samples kept per open event for its insight.
const EVENT_LEN: usize = 480;

/// An event that is open, with what its insight will need.
pub(super) struct OpenEvent {
    pub(super) event: AnomalyEvent,
    /// Samples below the lowest band since the last one above it.
    pub(super) below: usize,
    /// Of those, how many are at the end of `samples` (none are kept once it is full).
    pub(super) tail_below: usize,
    /// Time of the last sample in a band.
    pub(super) last_above_ms: i64,
    /// The stretch the detector judged (its window before the first flag) and the event.
    pub(super) samples: Vec<(i64, f64)>,
    /// Recent samples before that stretch.
    pub(super) baseline: Vec<(i64, f64)>,
}

/// What [`track`] reports: an event that opened (listed at once), or one that closed and still
/// needs its insight (written outside the series lock, as it may read history).
pub(super) enum Tracked {
    Opened(AnomalyEvent),
    Closed(Box<OpenEvent>),
}

/// What the engine keeps per scored series.
pub(super) struct SeriesState {
    pub(super) det: Box<dyn Detector>,
    pub(super) last_t: i64,
    pub(super) recent: VecDeque<(i64, f64)>,
    pub(super) open: Option<OpenEvent>,
}

/// Fresh state of a series: a new detector, nothing seen.
pub(super) fn new_state(cfg: &LiveConfig) -> SeriesState {
    SeriesState {
        det: vigia_ml::new_detector(&cfg.detector, 0),
        last_t: i64::MIN,
        recent: VecDeque::new(),
        open: None,
    }
}

/// Keeps `p` among the last `BASELINE_LEN` samples.
pub(super) fn push_recent(r: &mut VecDeque<(i64, f64)>, p: (i64, f64)) {
    if r.len() >= BASELINE_LEN {
        r.pop_front();
    }
    r.push_back(p);
}

/// Updates the open event of a series with one scored sample; reports an event that opens (so
/// it is listed at once) or closes.
pub(super) fn track(
    eng: &AnomalyEngine,
    cfg: &LiveConfig,
    labels: &Labels,
    st: &mut SeriesState,
    p: Sample,
    score: f64,
) -> Option<Tracked> {
    let sev = cfg.bands.severity(score);
    match (&mut st.open, sev) {
        (None, None) => None,
        (None, Some(sev)) => {
            let id = format!(
                "a{}-{}",
                p.t,
                eng.next_id
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            let event = AnomalyEvent {
                id,
                metric: labels.metric_name().unwrap_or("").to_string(),
                labels: labels.clone(),
                start_ms: p.t,
                end_ms: None,
                peak_score: score,
                peak_ms: p.t,
                severity: sev,
                pattern: None,
                insight: format!("{} looks unusual (score {score:.2})", subject(labels)),
            };
            // The detector judged a window of samples before this one: they belong to what the
            // insight describes, not to its baseline (at most half the recent samples).
            // A flat run flagged late is longer than the window: all of it is the event.
            let run = st.recent.iter().rev().take_while(|q| q.1 == p.v).count();
            let lead = lead_len(cfg)
                .min(st.recent.len() / 2)
                .max(run.min(st.recent.len().saturating_sub(5)));
            let split = st.recent.len() - lead;
            let baseline: Vec<(i64, f64)> = st.recent.iter().take(split).copied().collect();
            let mut samples: Vec<(i64, f64)> = st.recent.iter().skip(split).copied().collect();
            samples.push((p.t, p.v));
            st.open = Some(OpenEvent {
                event: event.clone(),
                below: 0,
                tail_below: 0,
                last_above_ms: p.t,
                samples,
                baseline,
            });
            Some(Tracked::Opened(event))
        }
        (Some(open), sev) => {
            let pushed = open.samples.len() < EVENT_LEN;
            if pushed {
                open.samples.push((p.t, p.v));
            }
            if let Some(sev) = sev {
                open.below = 0;
                open.tail_below = 0;
                open.last_above_ms = p.t;
                open.event.end_ms = None;
                if score > open.event.peak_score {
                    open.event.peak_score = score;
                    open.event.peak_ms = p.t;
                    open.event.severity = open.event.severity.max(sev);
                }
                return None;
            }
            open.below += 1;
            open.tail_below += usize::from(pushed);
            if open.below < cfg.close_after {
                return None;
            }
            let mut done = st.open.take()?;
            let keep = done.samples.len().saturating_sub(done.tail_below);
            done.samples.truncate(keep.max(1));
            done.event.end_ms = Some(done.last_above_ms);
            Some(Tracked::Closed(Box::new(done)))
        }
    }
}

/// How an insight names the series: its metric, and the instance, channel, route or job.
pub(super) fn subject(l: &Labels) -> String {
    let name = l.metric_name().unwrap_or("series");
    let who = l
        .get("instance")
        .or_else(|| l.get("channel"))
        .or_else(|| l.get("route"))
        .or_else(|| l.get("job"));
    match who {
        Some(w) => format!("{name} on {w}"),
        None => name.to_string(),
    }
}
