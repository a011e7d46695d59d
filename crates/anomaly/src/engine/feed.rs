//! The event feed: events are appended to `events.jsonl` (one JSON line per change, the last
//! line of an id wins) and kept in memory; [`AnomalyFeed`] lists them with the open events'
//! current state.

use super::AnomalyEngine;
use crate::error::{AnomalyError, io_err};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use vigia_model::{AnomalyEvent, AnomalyFeed, Severity};

/// The events of the log at `log_path` (none when it does not exist yet). Events still open
/// are closed, in memory and in the log.
pub(super) fn load(log_path: &Path) -> Result<Vec<AnomalyEvent>, AnomalyError> {
    let mut events: Vec<AnomalyEvent> = Vec::new();
    if log_path.exists() {
        let text = std::fs::read_to_string(log_path).map_err(io_err(log_path))?;
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
        if let Err(err) = append_line(log_path, e) {
            tracing::warn!(error = %err, "cannot record the closing of an anomaly event");
        }
    }
    Ok(events)
}

/// Appends `e` as one JSON line to the log at `path`, synced.
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

impl AnomalyEngine {
    pub(super) fn record(&self, e: AnomalyEvent) {
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
