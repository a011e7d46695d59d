//! Live anomaly detection: taps the ingestion path (an [`Appender`] decorator), scores every
//! new sample of the selected series with `vigia-ml`'s streaming detector, writes the score back
//! as the ordinary series `anomaly_score{metric="<source name>", <source labels>}`, and turns
//! runs of high scores into anomaly events with a plain-language insight, stored durably and
//! listed through [`AnomalyFeed`].
//!
//! It knows nothing about HTTP or the storage engine: it wraps whatever `Appender` it is given
//! and reads history through a `Querier` for warm-up and for the seasonal part of insights
//! (the same time of day on earlier days).

use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vigia_ml::{Detector, DetectorConfig, Method};
use vigia_model::{
    AnomalyEvent, AnomalyFeed, AppendOutcome, Appender, Labels, Matcher, Querier, Sample,
    SeriesSamples, Severity, StorageError, is_stale_nan,
};

/// Name of the score series.
pub const SCORE_METRIC: &str = "anomaly_score";

/// Samples kept per series as the baseline of insights.
const BASELINE_LEN: usize = 240;
/// Samples kept per open event for its insight.
const EVENT_LEN: usize = 480;
/// Earlier days searched for the same time of day (seasonal baseline of insights).
const SEASON_DAYS: i64 = 7;
/// Fewest earlier days with data at that time of day for a seasonal comparison.
const SEASON_MIN_DAYS: usize = 2;
/// Margin around the event's time of day on earlier days.
const SEASON_MARGIN_MS: i64 = 30 * 60_000;
const DAY_MS: i64 = 86_400_000;

/// Errors of the anomaly component.
#[derive(Debug, thiserror::Error)]
pub enum AnomalyError {
    /// The event log or state could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Reading history failed.
    #[error("warm-up: {0}")]
    Storage(#[from] StorageError),
}

/// Score thresholds of the severity bands.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bands {
    /// Lowest score that opens an event.
    pub low: f64,
    /// Medium from here.
    pub medium: f64,
    /// High from here.
    pub high: f64,
    /// Critical from here.
    pub critical: f64,
}

impl Default for Bands {
    fn default() -> Self {
        Self {
            low: 0.7,
            medium: 0.8,
            high: 0.9,
            critical: 0.97,
        }
    }
}

impl Bands {
    /// The band of `score`, if any.
    pub fn severity(&self, score: f64) -> Option<Severity> {
        if score >= self.critical {
            Some(Severity::Critical)
        } else if score >= self.high {
            Some(Severity::High)
        } else if score >= self.medium {
            Some(Severity::Medium)
        } else if score >= self.low {
            Some(Severity::Low)
        } else {
            None
        }
    }

    /// Bands must rise strictly within (0, 1].
    pub fn validate(&self) -> Result<(), String> {
        let v = [self.low, self.medium, self.high, self.critical];
        if v.iter().all(|x| *x > 0.0 && *x <= 1.0) && v.windows(2).all(|w| w[0] < w[1]) {
            Ok(())
        } else {
            Err(format!(
                "anomaly bands must rise strictly within (0, 1]: {v:?}"
            ))
        }
    }
}

/// Live settings.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Series scored: any of these matcher sets.
    pub selectors: Vec<Vec<Matcher>>,
    /// History replayed into new detectors at start (ms).
    pub warmup_ms: i64,
    /// Severity bands.
    pub bands: Bands,
    /// Samples below the lowest band that close an open event.
    pub close_after: usize,
    /// Most series scored at once.
    pub max_series: usize,
    /// The detector configuration (one for every series).
    pub detector: DetectorConfig,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            selectors: Vec::new(),
            warmup_ms: 24 * 3_600_000,
            bands: Bands::default(),
            close_after: 5,
            max_series: 10_000,
            detector: DetectorConfig::default(),
        }
    }
}

struct OpenEvent {
    event: AnomalyEvent,
    /// Samples below the lowest band since the last one above it.
    below: usize,
    /// Of those, how many are at the end of `samples` (none are kept once it is full).
    tail_below: usize,
    /// Time of the last sample in a band.
    last_above_ms: i64,
    /// The stretch the detector judged (its window before the first flag) and the event.
    samples: Vec<(i64, f64)>,
    /// Recent samples before that stretch.
    baseline: Vec<(i64, f64)>,
}

/// What [`track`] reports: an event that opened (listed at once), or one that closed and still
/// needs its insight (written outside the series lock, as it may read history).
enum Tracked {
    Opened(AnomalyEvent),
    Closed(Box<OpenEvent>),
}

struct SeriesState {
    det: Box<dyn Detector>,
    last_t: i64,
    recent: VecDeque<(i64, f64)>,
    open: Option<OpenEvent>,
}

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

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> AnomalyError + '_ {
    move |source| AnomalyError::Io {
        path: path.to_path_buf(),
        source,
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
        let mut events: Vec<AnomalyEvent> = Vec::new();
        if log_path.exists() {
            let text = std::fs::read_to_string(&log_path).map_err(io_err(&log_path))?;
            let mut by_id: HashMap<String, usize> = HashMap::new();
            for (i, line) in text.lines().enumerate() {
                match serde_json::from_str::<AnomalyEvent>(line) {
                    Ok(e) => match by_id.get(&e.id) {
                        Some(&idx) => events[idx] = e,
                        None => {
                            by_id.insert(e.id.clone(), events.len());
                            events.push(e);
                        }
                    },
                    Err(err) => {
                        tracing::warn!(file = %log_path.display(), line = i + 1, error = %err, "skipping a damaged anomaly event record")
                    }
                }
            }
        }
        // Events still open when the process stopped have lost their detector state: close
        // them at the last time they were seen, and say so, so they are not active forever.
        for e in events.iter_mut().filter(|e| e.end_ms.is_none()) {
            e.end_ms = Some(e.peak_ms.max(e.start_ms));
            e.insight.push_str(" (closed when vigia restarted)");
            if let Err(err) = append_line(&log_path, e) {
                tracing::warn!(error = %err, "cannot record the closing of an anomaly event");
            }
        }
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

    /// Closes an event's insight: the pattern and sentence against the recent baseline, then
    /// the peak against the same time of day on earlier days when there is enough history.
    fn explain(&self, labels: &Labels, done: OpenEvent) -> AnomalyEvent {
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

    fn record(&self, e: AnomalyEvent) {
        if let Err(err) = append_line(&self.log_path, &e) {
            tracing::error!(error = %err, "cannot persist anomaly event");
        }
        let mut events = self.events.lock();
        match events.iter_mut().find(|x| x.id == e.id) {
            Some(x) => *x = e,
            None => events.push(e),
        }
    }
}

fn append_line(path: &Path, e: &AnomalyEvent) -> Result<(), AnomalyError> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_err(path))?;
    let mut line = serde_json::to_vec(e).map_err(|err| AnomalyError::Io {
        path: path.to_path_buf(),
        source: err.into(),
    })?;
    line.push(b'\n');
    f.write_all(&line).map_err(io_err(path))?;
    f.sync_data().map_err(io_err(path))
}

/// Samples before a first flag that the detector judged with it: its feature window (block
/// length × window points for the ART method).
fn lead_len(cfg: &LiveConfig) -> usize {
    match cfg.detector.method {
        Method::Art => (cfg.detector.art.downsample() * cfg.detector.art.window) as usize,
        Method::Stream => 0,
    }
}

fn new_state(cfg: &LiveConfig) -> SeriesState {
    SeriesState {
        det: vigia_ml::new_detector(&cfg.detector, 0),
        last_t: i64::MIN,
        recent: VecDeque::new(),
        open: None,
    }
}

fn push_recent(r: &mut VecDeque<(i64, f64)>, p: (i64, f64)) {
    if r.len() >= BASELINE_LEN {
        r.pop_front();
    }
    r.push_back(p);
}

fn selected(cfg: &LiveConfig, l: &Labels) -> bool {
    cfg.selectors
        .iter()
        .any(|ms| ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
}

/// `anomaly_score{metric="<name>", <labels without __name__>}`.
pub fn score_labels(l: &Labels) -> Labels {
    let mut b = l.without_metric_name().builder();
    b.set("__name__", SCORE_METRIC)
        .set("metric", l.metric_name().unwrap_or(""));
    b.build()
}

fn subject(l: &Labels) -> String {
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

/// Updates the open event of a series with one scored sample; reports an event that opens (so
/// it is listed at once) or closes.
fn track(
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

impl AnomalyFeed for AnomalyEngine {
    fn events(&self, since_ms: i64, until_ms: i64, min_severity: Severity) -> Vec<AnomalyEvent> {
        let mut out: Vec<AnomalyEvent> = self
            .events
            .lock()
            .iter()
            .filter(|e| {
                e.severity >= min_severity
                    && e.start_ms <= until_ms
                    && e.end_ms.unwrap_or(i64::MAX) >= since_ms
            })
            .cloned()
            .collect();
        // Open events live with their series' state, which is newer than the stored copy:
        // replace stored copies by it, and list open events not stored yet.
        let series = self.series.lock();
        for o in series.values().filter_map(|st| st.open.as_ref()) {
            let e = &o.event;
            match out.iter_mut().find(|x| x.id == e.id) {
                Some(x) => *x = e.clone(),
                None if e.severity >= min_severity && e.start_ms <= until_ms => out.push(e.clone()),
                None => {}
            }
        }
        drop(series);
        out.sort_by_key(|e| std::cmp::Reverse(e.start_ms));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigia_model::MemStorage;

    fn engine(dir: &Path, store: Arc<MemStorage>) -> Arc<AnomalyEngine> {
        let cfg = LiveConfig {
            selectors: vec![vec![Matcher::equal("__name__", "latency")]],
            ..Default::default()
        };
        AnomalyEngine::new(store, dir, cfg).unwrap()
    }

    fn series(name: &str, t: i64, v: f64) -> SeriesSamples {
        SeriesSamples {
            labels: Labels::from_pairs([("__name__", name), ("instance", "web-3")]),
            samples: vec![Sample::new(t, v)],
        }
    }

    #[test]
    fn new_detector_settings_reset_detectors_and_close_open_events() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MemStorage::new());
        let eng = engine(dir.path(), store.clone());
        let mut t = 1_700_000_000_000i64;
        for i in 0..2000 {
            eng.append(&[series("latency", t, 100.0 + ((i * 37) % 11) as f64)])
                .unwrap();
            t += 60_000;
        }
        let open = |eng: &AnomalyEngine| {
            eng.events(0, i64::MAX, Severity::Low)
                .into_iter()
                .filter(|e| e.end_ms.is_none())
                .count()
        };
        // The detector scores once per downsampled block: the spike registers when its
        // block closes, a few samples later.
        eng.append(&[series("latency", t, 5000.0)]).unwrap();
        for i in 0..16 {
            if open(&eng) > 0 {
                break;
            }
            t += 60_000;
            eng.append(&[series("latency", t, 100.0 + ((i * 37) % 11) as f64)])
                .unwrap();
        }
        assert_eq!(open(&eng), 1, "the spike opens an event");
        let same = LiveConfig {
            selectors: vec![vec![Matcher::equal("__name__", "latency")]],
            ..Default::default()
        };
        assert!(
            !eng.reconfigure(same.clone()),
            "same settings keep detectors"
        );
        assert_eq!(eng.series_count(), 1);
        assert_eq!(open(&eng), 1);
        // Another detector configuration: its first numeric setting changed.
        let mut other = same;
        let mut json = serde_json::to_value(&other.detector).unwrap();
        let first = json
            .as_object_mut()
            .unwrap()
            .values_mut()
            .find(|v| v.is_f64() || v.is_u64())
            .unwrap();
        *first = serde_json::json!(first.as_f64().unwrap() * 2.0 + 1.0);
        other.detector = serde_json::from_value(json).unwrap();
        assert_ne!(other.detector.hash(), eng.config_hash());
        assert!(eng.reconfigure(other), "new detector settings reset");
        assert_eq!(eng.series_count(), 0);
        assert_eq!(open(&eng), 0, "open events are closed");
        let warmed = eng.warm_up(store.as_ref(), t + 1).unwrap();
        assert!(warmed > 1000, "{warmed}");
        assert_eq!(eng.series_count(), 1);
        let reopened = engine(dir.path(), store);
        assert_eq!(open(&reopened), 0, "the closing is durable");
    }

    #[test]
    fn spike_becomes_score_series_and_event() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MemStorage::new());
        let eng = engine(dir.path(), store.clone());
        let mut t = 1_700_000_000_000i64;
        for i in 0..2000 {
            let v = 100.0 + ((i * 37) % 11) as f64; // steady, mildly noisy
            eng.append(&[series("latency", t, v), series("other", t, v)])
                .unwrap();
            t += 60_000;
        }
        for _ in 0..10 {
            eng.append(&[series("latency", t, 900.0)]).unwrap();
            t += 60_000;
        }
        for i in 0..40 {
            eng.append(&[series("latency", t, 100.0 + ((i * 37) % 11) as f64)])
                .unwrap();
            t += 60_000;
        }
        let scores: Vec<_> = store
            .select(&[Matcher::equal("__name__", SCORE_METRIC)], 0, i64::MAX)
            .unwrap()
            .map(|s| s.unwrap())
            .collect();
        assert_eq!(scores.len(), 1, "only the selected series is scored");
        assert_eq!(scores[0].labels.get("metric"), Some("latency"));
        assert_eq!(scores[0].labels.get("instance"), Some("web-3"));
        assert_eq!(scores[0].samples.len(), 2050);
        let events = eng.events(0, i64::MAX, Severity::Low);
        assert!(!events.is_empty(), "the spike opened an event");
        let e = &events[0];
        assert!(e.end_ms.is_some(), "and it closed: {e:?}");
        assert!(e.peak_score >= 0.7);
        assert!(e.insight.contains("latency on web-3"), "{}", e.insight);
        // Events survive a restart.
        drop(eng);
        let again = engine(dir.path(), Arc::new(MemStorage::new()));
        assert_eq!(again.events(0, i64::MAX, Severity::Low).len(), events.len());
    }

    #[test]
    fn insight_compares_with_recent_behaviour_and_the_same_hour_on_earlier_days() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MemStorage::new());
        let eng = engine(dir.path(), store.clone());
        eng.set_history(store.clone());
        // Three days of a daily cycle at one sample a minute, then a jump to four times the
        // usual level that lasts 20 minutes.
        let day = 1440;
        let level = |i: usize| {
            let phase = (i % day) as f64 / day as f64 * std::f64::consts::TAU;
            100.0 + 20.0 * phase.sin() + ((i * 37) % 11) as f64 * 0.2
        };
        let t0 = 1_700_000_000_000i64;
        let mut i = 0;
        while i < 3 * day + 300 {
            eng.append(&[series("latency", t0 + i as i64 * 60_000, level(i))])
                .unwrap();
            i += 1;
        }
        for _ in 0..20 {
            eng.append(&[series("latency", t0 + i as i64 * 60_000, 4.0 * level(i))])
                .unwrap();
            i += 1;
        }
        for _ in 0..60 {
            eng.append(&[series("latency", t0 + i as i64 * 60_000, level(i))])
                .unwrap();
            i += 1;
        }
        let events = eng.events(0, i64::MAX, Severity::Low);
        let e = events
            .iter()
            .find(|e| e.start_ms >= t0 + (3 * day as i64 + 300) * 60_000)
            .expect("the jump opened an event");
        assert!(e.end_ms.is_some(), "closed: {e:?}");
        assert!(
            e.insight.starts_with("latency on web-3 rose to "),
            "{}",
            e.insight
        );
        assert!(
            e.insight.contains("compared with its recent behaviour"),
            "{}",
            e.insight
        );
        assert!(
            e.insight.contains("its usual level for this hour ("),
            "seasonal comparison: {}",
            e.insight
        );
        // Without history access there is no seasonal clause.
        let dir2 = tempfile::tempdir().unwrap();
        let eng2 = engine(dir2.path(), Arc::new(MemStorage::new()));
        for k in 0..(3 * day + 380) {
            let v = if (3 * day + 300..3 * day + 320).contains(&k) {
                4.0 * level(k)
            } else {
                level(k)
            };
            eng2.append(&[series("latency", t0 + k as i64 * 60_000, v)])
                .unwrap();
        }
        let ev2 = eng2.events(0, i64::MAX, Severity::Low);
        assert!(!ev2.is_empty());
        assert!(ev2.iter().all(|e| !e.insight.contains("for this hour")));
    }

    #[test]
    fn a_stuck_series_becomes_an_event_that_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let eng = engine(dir.path(), Arc::new(MemStorage::new()));
        let t0 = 1_700_000_000_000i64;
        let v = |i: i64| 100.0 + ((i * 37) % 11) as f64 + (i as f64 * 0.3).sin();
        for i in 0..3000 {
            // Moving until sample 2000, then stuck at the last value.
            eng.append(&[series("latency", t0 + i * 60_000, v(i.min(2000)))])
                .unwrap();
        }
        let events = eng.events(0, i64::MAX, Severity::Low);
        let stuck = events
            .iter()
            .find(|e| e.start_ms > t0 + 2000 * 60_000)
            .expect("the stuck run opened an event");
        assert!(
            stuck.start_ms < t0 + 2200 * 60_000,
            "soon after it began: {stuck:?}"
        );
        assert_eq!(
            stuck.pattern.as_deref(),
            Some("variance_change"),
            "{stuck:?}"
        );
        assert!(
            stuck.insight.contains("stopped moving"),
            "{}",
            stuck.insight
        );
    }

    #[test]
    fn bands_order() {
        let b = Bands::default();
        assert_eq!(b.severity(0.5), None);
        assert_eq!(b.severity(0.75), Some(Severity::Low));
        assert_eq!(b.severity(0.99), Some(Severity::Critical));
        assert!(
            Bands {
                low: 0.9,
                medium: 0.8,
                high: 0.95,
                critical: 0.99
            }
            .validate()
            .is_err()
        );
    }

    #[test]
    fn warm_up_reads_history_without_writing_scores() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MemStorage::new());
        let mut t = 1_700_000_000_000i64;
        for i in 0..100 {
            store
                .append(&[series("latency", t, 100.0 + (i % 3) as f64)])
                .unwrap();
            t += 60_000;
        }
        let eng = engine(dir.path(), store.clone());
        assert_eq!(eng.warm_up(store.as_ref(), t).unwrap(), 100);
        assert_eq!(eng.series_count(), 1);
        assert!(
            store
                .select(&[Matcher::equal("__name__", SCORE_METRIC)], 0, i64::MAX)
                .unwrap()
                .next()
                .is_none()
        );
    }
}
