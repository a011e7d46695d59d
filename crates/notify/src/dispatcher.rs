//! The dispatcher ([`Alertmanager`]): stores alerts, groups them per route, flushes groups on
//! group_wait / group_interval / repeat_interval with a notification log, applies inhibition,
//! silences and time intervals, escalates unacknowledged alerts, handles acknowledge and
//! manual resolve, keeps every state change in a durable history, and persists its state.

use crate::api::{
    ActionNote, AlertFilter, AlertStatus, ApiMatcher, GettableAlert, GettableSilence,
    PostableAlert, PostableSilence, ReceiverName, SilenceStatus, VigiaAlertInfo, ZERO_TIME,
    fmt_time, parse_time,
};
use crate::config::{AmConfig, RouteMatch};
use crate::escalation::{EscalationPolicy, validate_escalations};
use crate::matcher::{AmMatcher, matches_all};
use crate::store::{JsonlLog, read_snapshot, write_atomic};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use vigia_model::{AlertSeverity, Clock, fingerprint};
use vigia_receivers::{Escalation, Notification, NotifyAlert, Status};

mod actions;
mod escalate;
mod flush;
mod history;
mod intake;
mod metrics;
mod silences;
mod state;
mod view;

use history::*;
pub use history::{HistoryEntry, HistoryKind};
use state::*;

/// Where notifications go (the lead plugs the receivers' outbox in here).
pub trait NotificationSink: Send + Sync {
    /// Takes one notification for delivery; an error leaves the notification log unchanged so
    /// the group is tried again.
    fn send(&self, n: Notification) -> Result<(), vigia_receivers::OutboxError>;
}

/// Errors of the dispatcher.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// A state file could not be read or written.
    #[error("notify state I/O: {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A state file could not be decoded, or state could not be encoded.
    #[error("notify state corrupt: {path}: {source}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The decoding error.
        source: serde_json::Error,
    },
    /// No alert or silence with that id.
    #[error("not found: {what} {id}")]
    NotFound {
        /// `alert` or `silence`.
        what: &'static str,
        /// The fingerprint or silence id asked for.
        id: String,
    },
    /// Some posted alerts were refused (the others were stored).
    #[error("invalid alerts: {}", .0.join("; "))]
    InvalidAlerts(Vec<String>),
    /// The request is invalid (silence, fingerprint…).
    #[error("{0}")]
    Invalid(String),
    /// The configuration failed validation.
    #[error("invalid alerting configuration: {}", .0.join("; "))]
    Config(Vec<String>),
}

impl vigia_model::HasKind for NotifyError {
    fn kind(&self) -> vigia_model::ErrorKind {
        use vigia_model::ErrorKind as K;
        match self {
            NotifyError::Io { .. } | NotifyError::Corrupt { .. } => K::Internal,
            NotifyError::NotFound { .. } => K::NotFound,
            NotifyError::InvalidAlerts(_) | NotifyError::Invalid(_) | NotifyError::Config(_) => {
                K::BadData
            }
        }
    }
}

/// Dispatcher settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// vigia's external URL (`externalURL` in notifications).
    pub external_url: String,
    /// How long expired silences are kept (Alertmanager: 120 h).
    pub silence_retention_ms: i64,
    /// Delay before a group whose notification failed is tried again.
    pub retry_ms: i64,
    /// History older than this is dropped when the dispatcher opens (default 90 days).
    pub history_retention_ms: i64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            external_url: String::new(),
            silence_retention_ms: 120 * 3_600_000,
            retry_ms: 10_000,
            history_retention_ms: 90 * 86_400_000,
        }
    }
}

/// vigia's Alertmanager: one per process, shared between the HTTP routes and a thread that
/// calls [`Alertmanager::tick`] every second.
pub struct Alertmanager {
    state: Mutex<State>,
    tick_lock: Mutex<()>,
    history: Mutex<(JsonlLog, Vec<HistoryEntry>)>,
    clock: Arc<dyn Clock>,
    sink: Arc<dyn NotificationSink>,
    opts: Options,
    snapshot_path: PathBuf,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Alertmanager {
    /// Opens (or creates) the state under `dir` and continues where a previous instance left
    /// off. Fails on an invalid configuration or unreadable state.
    pub fn new(
        cfg: AmConfig,
        escalations: Vec<EscalationPolicy>,
        dir: &Path,
        clock: Arc<dyn Clock>,
        sink: Arc<dyn NotificationSink>,
        opts: Options,
    ) -> Result<Self, NotifyError> {
        let mut errs = cfg.validate();
        errs.extend(validate_escalations(&cfg, &escalations));
        if !errs.is_empty() {
            return Err(NotifyError::Config(errs));
        }
        std::fs::create_dir_all(dir).map_err(|source| NotifyError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let snapshot_path = dir.join("notify-state.json");
        let snap: Snapshot = read_snapshot(&snapshot_path)?.unwrap_or_default();
        let hist_path = dir.join("notify-history.jsonl");
        let (mut log, mut entries) = JsonlLog::open::<HistoryEntry>(&hist_path)?;
        let cutoff = clock.now_ms() - opts.history_retention_ms;
        if entries.first().is_some_and(|e| e.ts_ms < cutoff) {
            entries.retain(|e| e.ts_ms >= cutoff);
            log = JsonlLog::rewrite(&hist_path, &entries)?;
        }
        let mut st = State {
            cfg,
            escalations,
            alerts: snap.alerts.into_iter().map(|a| (a.fp, a)).collect(),
            silences: snap
                .silences
                .into_iter()
                .map(|s| (s.id.clone(), s))
                .collect(),
            groups: snap
                .groups
                .into_iter()
                .map(|g| (format!("{}\u{0}{}", g.key, g.route.receiver), g))
                .collect(),
            nflog: snap.nflog,
            metrics: Metrics::default(),
            hist: Vec::new(),
            sil_cache: HashMap::new(),
            dirty: false,
            esc_retry: HashMap::new(),
        };
        st.sil_cache = st
            .silences
            .values()
            .map(|s| (s.id.clone(), s.compiled()))
            .collect();
        let now = clock.now_ms();
        let active: Vec<u64> = st
            .alerts
            .values()
            .filter(|a| !a.done(now))
            .map(|a| a.fp)
            .collect();
        for fp in active {
            st.insert_into_groups(fp, now);
        }
        Ok(Self {
            state: Mutex::new(st),
            tick_lock: Mutex::new(()),
            history: Mutex::new((log, entries)),
            clock,
            sink,
            opts,
            snapshot_path,
        })
    }

    /// Replaces the configuration (reload), keeping alerts, silences and the notification
    /// log; active alerts are regrouped under the new routes.
    pub fn set_config(
        &self,
        cfg: AmConfig,
        escalations: Vec<EscalationPolicy>,
    ) -> Result<(), NotifyError> {
        let mut errs = cfg.validate();
        errs.extend(validate_escalations(&cfg, &escalations));
        if !errs.is_empty() {
            return Err(NotifyError::Config(errs));
        }
        let now = self.clock.now_ms();
        let mut st = lock(&self.state);
        st.dirty = true;
        // Groups of routes that no longer exist are dropped; active alerts are regrouped.
        let keys = cfg.route_keys();
        st.groups
            .retain(|_, g| keys.contains(&(g.route.route_key.clone(), g.route.receiver.clone())));
        st.cfg = cfg;
        st.escalations = escalations;
        let active: Vec<u64> = st
            .alerts
            .values()
            .filter(|a| !a.done(now))
            .map(|a| a.fp)
            .collect();
        for fp in active {
            st.insert_into_groups(fp, now);
        }
        self.persist(&mut st)
    }

    fn persist(&self, st: &mut State) -> Result<(), NotifyError> {
        let res = if st.dirty {
            match serde_json::to_vec(&st.snapshot()) {
                Ok(data) => {
                    let r = write_atomic(&self.snapshot_path, &data);
                    if r.is_ok() {
                        st.dirty = false;
                    }
                    r
                }
                Err(source) => Err(NotifyError::Corrupt {
                    path: self.snapshot_path.clone(),
                    source,
                }),
            }
        } else {
            Ok(())
        };
        let hist = std::mem::take(&mut st.hist);
        let h = self.append_history(hist);
        res.and(h)
    }
}
