//! The engine: an [`Appender`] decorator that scores the samples of the selected series as
//! they are stored. This file holds its construction, settings and warm-up; beside it are
//! `tap` (the appender side: scoring and score series), `series` (per-series detector state
//! and events opening and closing), `insight` (explaining a closed event) and `feed` (the
//! durable event list).

mod feed;
mod insight;
mod series;
mod tap;

pub use tap::{SCORE_METRIC, score_labels};

use crate::config::{LiveConfig, selected};
use crate::error::{AnomalyError, io_err};
use parking_lot::{Mutex, RwLock};
use series::{SeriesState, new_state, push_recent};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vigia_model::{AnomalyEvent, Appender, Labels, Querier, is_stale_nan};

/// The live detector: wrap the storage appender with it.
pub struct AnomalyEngine {
    inner: Arc<dyn Appender>,
    cfg: RwLock<Arc<LiveConfig>>,
    series: Mutex<HashMap<Labels, SeriesState>>,
    events: Mutex<Vec<AnomalyEvent>>,
    log_path: PathBuf,
    next_id: std::sync::atomic::AtomicU64,
    /// Stored history, for the seasonal baseline of insights.
    history: RwLock<Option<Arc<dyn Querier>>>,
}

impl std::fmt::Debug for AnomalyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnomalyEngine")
            .field("log_path", &self.log_path)
            .finish()
    }
}

impl AnomalyEngine {
    /// Creates the engine; events are kept in `<dir>/events.jsonl` (created if needed and
    /// reloaded when present).
    pub fn new(
        inner: Arc<dyn Appender>,
        dir: &Path,
        cfg: LiveConfig,
    ) -> Result<Arc<Self>, AnomalyError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let log_path = dir.join("events.jsonl");
        let events = feed::load(&log_path)?;
        let next = events.len() as u64 + 1;
        Ok(Arc::new(Self {
            inner,
            cfg: RwLock::new(Arc::new(cfg)),
            series: Mutex::new(HashMap::new()),
            events: Mutex::new(events),
            log_path,
            next_id: std::sync::atomic::AtomicU64::new(next),
            history: RwLock::new(None),
        }))
    }

    /// Gives insights access to stored history, so that an event is also compared with the
    /// same time of day on the previous days ("3.1× its usual level for this hour").
    pub fn set_history(&self, q: Arc<dyn Querier>) {
        *self.history.write() = Some(q);
    }

    /// Replaces the settings (on reload). Detectors of series no longer selected are dropped.
    /// When the detector settings themselves change (another configuration hash), every
    /// detector is dropped — their state belongs to the old settings — open events are closed,
    /// and `true` is returned: the caller warms the new detectors up again with
    /// [`AnomalyEngine::warm_up`].
    pub fn reconfigure(&self, cfg: LiveConfig) -> bool {
        let cfg = Arc::new(cfg);
        let reset = self.cfg.read().detector.hash() != cfg.detector.hash();
        let mut closed = Vec::new();
        {
            let mut series = self.series.lock();
            let keep = |l: &Labels| !reset && selected(&cfg, l);
            for (l, st) in series.iter_mut() {
                if !keep(l)
                    && let Some(open) = st.open.take()
                {
                    let mut e = open.event;
                    e.end_ms = Some(st.last_t.max(e.start_ms));
                    e.insight.push_str(if reset {
                        " (closed when the detector settings changed)"
                    } else {
                        " (closed when the series was no longer selected)"
                    });
                    closed.push(e);
                }
            }
            series.retain(|l, _| keep(l));
        }
        for e in closed {
            self.record(e);
        }
        *self.cfg.write() = cfg;
        reset
    }

    /// The detector configuration hash (also printed by `vigia bench nab`).
    pub fn config_hash(&self) -> String {
        self.cfg.read().detector.hash()
    }

    /// Number of series being scored.
    pub fn series_count(&self) -> usize {
        self.series.lock().len()
    }

    /// Replays the last `warmup` of every selected series from storage into fresh detectors
    /// without writing scores, so live scoring starts calibrated.
    pub fn warm_up(&self, q: &dyn Querier, now_ms: i64) -> Result<usize, AnomalyError> {
        let cfg = self.cfg.read().clone();
        let mut n = 0;
        for m in &cfg.selectors {
            for s in q.select(m, now_ms - cfg.warmup_ms, now_ms)? {
                let s = s?;
                if s.labels.metric_name() == Some(SCORE_METRIC) {
                    continue;
                }
                let mut map = self.series.lock();
                if map.len() >= cfg.max_series && !map.contains_key(&s.labels) {
                    break;
                }
                let st = map
                    .entry(s.labels.clone())
                    .or_insert_with(|| new_state(&cfg));
                for p in &s.samples {
                    if is_stale_nan(p.v) || p.t <= st.last_t {
                        continue;
                    }
                    st.det.update(p.t, p.v);
                    st.last_t = p.t;
                    push_recent(&mut st.recent, (p.t, p.v));
                    n += 1;
                }
            }
        }
        Ok(n)
    }
}
