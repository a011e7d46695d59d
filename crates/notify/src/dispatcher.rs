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

/// Where notifications go (the lead plugs the receivers' outbox in here).
pub trait NotificationSink: Send + Sync {
    /// Takes one notification for delivery; an error leaves the notification log unchanged so
    /// the group is tried again.
    fn send(&self, n: Notification) -> Result<(), String>;
}

/// Errors of the dispatcher.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A file could not be read or written.
    #[error("notify state I/O: {0}")]
    Io(String),
    /// A state file could not be decoded.
    #[error("notify state corrupt: {0}")]
    Corrupt(String),
    /// No alert or silence with that id.
    #[error("not found: {0}")]
    NotFound(String),
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

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    /// A new alert started firing.
    Firing,
    /// The alert resolved (its `endsAt` passed or it was sent resolved).
    Resolved,
    /// An active silence started muting the alert.
    Silenced,
    /// No silence mutes the alert any more.
    Unsilenced,
    /// Another alert started inhibiting it.
    Inhibited,
    /// No alert inhibits it any more.
    Uninhibited,
    /// A notification was handed to the sink.
    Notified,
    /// The sink refused a notification.
    NotifyFailed,
    /// Delivery result fed back by the outbox ([`Alertmanager::record_delivery`]).
    Delivery,
    /// Someone acknowledged the alert.
    Ack,
    /// Someone resolved the alert manually.
    ManualResolve,
    /// A manually resolved alert's condition cleared.
    Cleared,
    /// The alert escalated a level.
    Escalated,
    /// A silence was created or updated.
    SilenceCreated,
    /// A silence was expired.
    SilenceExpired,
}

/// One durable history record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Unix ms.
    pub ts_ms: i64,
    /// RFC 3339 of `ts_ms`.
    pub time: String,
    /// What happened.
    pub kind: HistoryKind,
    /// Alerts concerned (16 hex digits each).
    #[serde(default)]
    pub fingerprints: Vec<String>,
    /// The alert's labels (state changes of one alert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Receiver (notifications, deliveries, escalations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// Group key (notifications, deliveries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_key: Option<String>,
    /// `firing`/`resolved` of a notification, `ok`/`failed` of a delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Escalation level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u32>,
    /// Severity after escalation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Escalation policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Author of an ack / resolve / silence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Note or comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Silence ids or inhibiting fingerprints, error text…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl HistoryEntry {
    fn new(ts_ms: i64, kind: HistoryKind) -> Self {
        Self {
            ts_ms,
            time: fmt_time(ts_ms),
            kind,
            fingerprints: Vec::new(),
            labels: None,
            receiver: None,
            group_key: None,
            status: None,
            level: None,
            severity: None,
            policy: None,
            author: None,
            note: None,
            detail: None,
        }
    }
    fn alert(ts_ms: i64, kind: HistoryKind, a: &AlertRec) -> Self {
        let mut e = Self::new(ts_ms, kind);
        e.fingerprints = vec![hex(a.fp)];
        e.labels = Some(a.labels.clone());
        e
    }
}

fn hex(fp: u64) -> String {
    format!("{fp:016x}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Action {
    by: String,
    at_ms: i64,
    note: String,
}

impl Action {
    fn api(&self) -> ActionNote {
        ActionNote {
            by: self.by.clone(),
            at: fmt_time(self.at_ms),
            note: self.note.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AlertRec {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    starts_ms: i64,
    ends_ms: i64,
    updated_ms: i64,
    timeout: bool,
    generator_url: String,
    fp: u64,
    processed: bool,
    resolved_logged: bool,
    silenced_by: Vec<String>,
    inhibited_by: Vec<String>,
    ack: Option<Action>,
    manual: Option<Action>,
    esc_policy: Option<String>,
    esc_level: u32,
    esc_severity: Option<String>,
    esc_receivers: Vec<String>,
    esc_resolved_sent: bool,
}

impl AlertRec {
    fn resolved(&self, now: i64) -> bool {
        self.ends_ms <= now
    }
    /// Resolved for notification purposes (condition ended or manually resolved).
    fn done(&self, now: i64) -> bool {
        self.resolved(now) || self.manual.is_some()
    }
    fn notify_alert(&self, now: i64, labels: Option<BTreeMap<String, String>>) -> NotifyAlert {
        let (status, ends) = match (&self.manual, self.resolved(now)) {
            (_, true) => (Status::Resolved, fmt_time(self.ends_ms)),
            (Some(m), false) => (Status::Resolved, fmt_time(m.at_ms)),
            (None, false) => (Status::Firing, ZERO_TIME.to_string()),
        };
        NotifyAlert {
            status,
            labels: labels.unwrap_or_else(|| self.labels.clone()),
            annotations: self.annotations.clone(),
            starts_at: fmt_time(self.starts_ms),
            ends_at: ends,
            generator_url: self.generator_url.clone(),
            fingerprint: hex(self.fp),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Group {
    key: String,
    labels: BTreeMap<String, String>,
    route: RouteMatch,
    alerts: BTreeSet<u64>,
    next_flush_ms: i64,
    has_flushed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct NflogEntry {
    firing: BTreeSet<u64>,
    resolved: BTreeSet<u64>,
    ts_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SilenceRec {
    id: String,
    matchers: Vec<ApiMatcher>,
    starts_ms: i64,
    ends_ms: i64,
    updated_ms: i64,
    created_by: String,
    comment: String,
}

impl SilenceRec {
    fn state(&self, now: i64) -> &'static str {
        if now < self.starts_ms {
            "pending"
        } else if now < self.ends_ms {
            "active"
        } else {
            "expired"
        }
    }
    fn compiled(&self) -> Vec<AmMatcher> {
        self.matchers
            .iter()
            .filter_map(|m| m.to_matcher().ok())
            .collect()
    }
    fn api(&self, now: i64) -> GettableSilence {
        GettableSilence {
            id: self.id.clone(),
            status: SilenceStatus {
                state: self.state(now).to_string(),
            },
            updated_at: fmt_time(self.updated_ms),
            matchers: self.matchers.clone(),
            starts_at: fmt_time(self.starts_ms),
            ends_at: fmt_time(self.ends_ms),
            created_by: self.created_by.clone(),
            comment: self.comment.clone(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Snapshot {
    alerts: Vec<AlertRec>,
    silences: Vec<SilenceRec>,
    groups: Vec<Group>,
    nflog: BTreeMap<String, NflogEntry>,
}

#[derive(Debug, Default)]
struct Metrics {
    received: BTreeMap<String, u64>,
    notifications: BTreeMap<String, u64>,
    failed: BTreeMap<String, u64>,
    escalations: BTreeMap<String, u64>,
}

struct State {
    cfg: AmConfig,
    escalations: Vec<EscalationPolicy>,
    alerts: BTreeMap<u64, AlertRec>,
    silences: BTreeMap<String, SilenceRec>,
    /// Keyed by group key + NUL + receiver.
    groups: BTreeMap<String, Group>,
    nflog: BTreeMap<String, NflogEntry>,
    metrics: Metrics,
    hist: Vec<HistoryEntry>,
    /// Compiled matchers per silence id.
    sil_cache: HashMap<String, Vec<AmMatcher>>,
    /// Something changed since the last snapshot.
    dirty: bool,
    /// Escalations refused by the sink: fingerprint → earliest retry (ms).
    esc_retry: HashMap<u64, i64>,
}

/// Go's `model.LabelSet.String()`: `{a="b", c="d"}`.
fn labelset_string(l: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", parts.join(", "))
}

fn common<'a>(
    maps: impl Iterator<Item = &'a BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut out: Option<BTreeMap<String, String>> = None;
    for m in maps {
        out = Some(match out {
            None => m.clone(),
            Some(c) => c.into_iter().filter(|(k, v)| m.get(k) == Some(v)).collect(),
        });
    }
    out.unwrap_or_default()
}

fn valid_label_name(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ u64::from(std::process::id()).rotate_left(32);
    let mut next = || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (a, b) = (next(), next());
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000; // version 4
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000; // variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

fn parse_fp(s: &str) -> Result<u64, NotifyError> {
    u64::from_str_radix(s, 16)
        .ok()
        .filter(|_| !s.is_empty() && s.len() <= 16)
        .ok_or_else(|| NotifyError::Invalid(format!("invalid fingerprint {s:?}")))
}

/// AM's notification-log decision (`DedupStage.needsUpdate`), resolved alerts always sent.
fn needs_update(
    entry: Option<&NflogEntry>,
    firing: &BTreeSet<u64>,
    resolved: &BTreeSet<u64>,
    repeat_ms: i64,
    now: i64,
) -> bool {
    let Some(e) = entry else {
        return !firing.is_empty();
    };
    if !firing.is_subset(&e.firing) {
        return true;
    }
    if firing.is_empty() {
        return !e.firing.is_empty();
    }
    if !resolved.is_subset(&e.resolved) {
        return true;
    }
    e.ts_ms < now - repeat_ms
}

impl State {
    fn silenced_by(&self, labels: &BTreeMap<String, String>, now: i64) -> Vec<String> {
        self.silences
            .values()
            .filter(|s| {
                s.state(now) == "active"
                    && self
                        .sil_cache
                        .get(&s.id)
                        .is_some_and(|ms| matches_all(ms, labels))
            })
            .map(|s| s.id.clone())
            .collect()
    }

    /// Fingerprint → inhibiting fingerprints.
    fn inhibited(&self, now: i64) -> HashMap<u64, Vec<String>> {
        let mut out: HashMap<u64, Vec<String>> = HashMap::new();
        for rule in &self.cfg.inhibit_rules {
            let mut sources: HashMap<Vec<&str>, Vec<(u64, bool)>> = HashMap::new();
            for a in self.alerts.values() {
                if a.done(now) || !matches_all(&rule.source, &a.labels) {
                    continue;
                }
                let key: Vec<&str> = rule
                    .equal
                    .iter()
                    .map(|l| a.labels.get(l).map_or("", String::as_str))
                    .collect();
                sources
                    .entry(key)
                    .or_default()
                    .push((a.fp, matches_all(&rule.target, &a.labels)));
            }
            if sources.is_empty() {
                continue;
            }
            for t in self.alerts.values() {
                if !matches_all(&rule.target, &t.labels) {
                    continue;
                }
                let key: Vec<&str> = rule
                    .equal
                    .iter()
                    .map(|l| t.labels.get(l).map_or("", String::as_str))
                    .collect();
                let Some(cands) = sources.get(&key) else {
                    continue;
                };
                let t_is_source = matches_all(&rule.source, &t.labels);
                for (sfp, s_is_target) in cands {
                    if *sfp == t.fp || (*s_is_target && t_is_source) {
                        continue;
                    }
                    let v = out.entry(t.fp).or_default();
                    let h = hex(*sfp);
                    if !v.contains(&h) {
                        v.push(h);
                    }
                }
            }
        }
        out
    }

    fn insert_into_groups(&mut self, fp: u64, now: i64) {
        let Some(a) = self.alerts.get(&fp) else {
            return;
        };
        let (labels, starts) = (a.labels.clone(), a.starts_ms);
        for rm in self.cfg.routes_for(&labels) {
            let gl = rm.group_labels(&labels);
            let key = format!("{}:{}", rm.route_key, labelset_string(&gl));
            let map_key = format!("{key}\u{0}{}", rm.receiver);
            let g = self.groups.entry(map_key).or_insert_with(|| Group {
                key,
                labels: gl,
                next_flush_ms: now + rm.group_wait_ms,
                route: rm.clone(),
                alerts: BTreeSet::new(),
                has_flushed: false,
            });
            if !g.has_flushed && starts + g.route.group_wait_ms < now {
                g.next_flush_ms = g.next_flush_ms.min(now);
            }
            g.alerts.insert(fp);
        }
    }

    fn receivers_of(&self, labels: &BTreeMap<String, String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in self.cfg.routes_for(labels) {
            if !out.contains(&r.receiver) {
                out.push(r.receiver);
            }
        }
        out
    }

    fn policy_for(&self, labels: &BTreeMap<String, String>) -> Option<&EscalationPolicy> {
        self.escalations.iter().find(|p| p.matches(labels))
    }

    fn muted_by_time(&self, r: &RouteMatch, now: i64) -> bool {
        let inside = |n: &String| self.cfg.time_interval(n).is_some_and(|t| t.contains(now));
        r.mute_time_intervals.iter().any(inside)
            || (!r.active_time_intervals.is_empty() && !r.active_time_intervals.iter().any(inside))
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            alerts: self.alerts.values().cloned().collect(),
            silences: self.silences.values().cloned().collect(),
            groups: self.groups.values().cloned().collect(),
            nflog: self.nflog.clone(),
        }
    }
}

/// A planned group notification.
struct GroupSend {
    map_key: String,
    notification: Notification,
    firing: BTreeSet<u64>,
    resolved: BTreeSet<u64>,
    /// Resolved alerts of the group with their `updated_ms`, removed after a successful send.
    resolved_seen: Vec<(u64, i64)>,
}

/// A planned escalation notification.
struct EscSend {
    fp: u64,
    level: u32,
    policy: String,
    severity: String,
    receivers: Vec<String>,
    resolved: bool,
    notifications: Vec<Notification>,
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
        std::fs::create_dir_all(dir)
            .map_err(|e| NotifyError::Io(format!("{}: {e}", dir.display())))?;
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
                Err(e) => Err(NotifyError::Io(e.to_string())),
            }
        } else {
            Ok(())
        };
        let hist = std::mem::take(&mut st.hist);
        let h = self.append_history(hist);
        res.and(h)
    }

    fn append_history(&self, entries: Vec<HistoryEntry>) -> Result<(), NotifyError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut h = lock(&self.history);
        let res = h.0.append(&entries);
        h.1.extend(entries);
        res
    }

    /// Stores posted alerts like Alertmanager's `POST /api/v2/alerts`. Invalid alerts are
    /// refused with one message each; the valid ones are stored anyway.
    pub fn put_alerts(&self, alerts: Vec<PostableAlert>) -> Result<(), NotifyError> {
        let now = self.clock.now_ms();
        let mut st = lock(&self.state);
        let resolve_timeout = st.cfg.resolve_timeout_ms();
        let mut errs = Vec::new();
        for (i, pa) in alerts.into_iter().enumerate() {
            let rec = match Self::validate_alert(&pa, now, resolve_timeout) {
                Ok(r) => r,
                Err(e) => {
                    errs.push(format!("alert {i}: {e}"));
                    continue;
                }
            };
            let fp = rec.fp;
            st.dirty = true;
            let status = if rec.resolved(now) {
                "resolved"
            } else {
                "firing"
            };
            *st.metrics.received.entry(status.to_string()).or_default() += 1;
            let merged = match st.alerts.get(&fp) {
                Some(old) if rec.starts_ms <= old.ends_ms => {
                    let mut m = merge(old, &rec, now);
                    // The same episode: keep vigia's state.
                    m.processed = old.processed;
                    m.silenced_by = old.silenced_by.clone();
                    m.inhibited_by = old.inhibited_by.clone();
                    m.ack = old.ack.clone();
                    m.manual = old.manual.clone();
                    m.esc_policy = old.esc_policy.clone();
                    m.esc_level = old.esc_level;
                    m.esc_severity = old.esc_severity.clone();
                    m.esc_receivers = old.esc_receivers.clone();
                    m.esc_resolved_sent = old.esc_resolved_sent;
                    m.resolved_logged = old.resolved_logged;
                    if old.resolved_logged && !m.resolved(now) {
                        m.resolved_logged = false;
                        st.hist
                            .push(HistoryEntry::alert(now, HistoryKind::Firing, &m));
                    } else if !m.resolved_logged && m.resolved(now) && m.manual.is_none() {
                        m.resolved_logged = true;
                        st.hist
                            .push(HistoryEntry::alert(now, HistoryKind::Resolved, &m));
                    }
                    m
                }
                _ if rec.resolved(now) => {
                    // Resolved and unknown (e.g. Prometheus resending a resolved alert after
                    // its resolution was notified): nothing to do.
                    continue;
                }
                _ => {
                    let m = rec;
                    {
                        st.hist
                            .push(HistoryEntry::alert(now, HistoryKind::Firing, &m));
                    }
                    m
                }
            };
            let manual = merged.manual.is_some();
            st.alerts.insert(fp, merged);
            if !manual {
                st.insert_into_groups(fp, now);
            }
        }
        if st.hist.is_empty() {
            // Only `endsAt`/annotation refreshes: the next tick writes the snapshot.
        } else {
            self.persist(&mut st)?;
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(NotifyError::InvalidAlerts(errs))
        }
    }

    fn validate_alert(
        pa: &PostableAlert,
        now: i64,
        resolve_timeout: i64,
    ) -> Result<AlertRec, String> {
        if pa.labels.is_empty() {
            return Err("at least one label pair required".to_string());
        }
        for (k, v) in &pa.labels {
            if !valid_label_name(k) {
                return Err(format!("invalid label set: invalid name {k:?}"));
            }
            if v.is_empty() {
                return Err(format!("invalid label set: empty value for {k:?}"));
            }
        }
        for k in pa.annotations.keys() {
            if !valid_label_name(k) {
                return Err(format!("invalid annotations: invalid name {k:?}"));
            }
        }
        let starts = pa
            .starts_at
            .as_deref()
            .map(parse_time)
            .transpose()?
            .flatten();
        let ends = pa.ends_at.as_deref().map(parse_time).transpose()?.flatten();
        let starts_ms = starts.or(ends).unwrap_or(now);
        let timeout = ends.is_none();
        let ends_ms = ends.unwrap_or(now + resolve_timeout);
        if ends_ms < starts_ms {
            return Err("start time must be before end time".to_string());
        }
        Ok(AlertRec {
            fp: fingerprint(&pa.labels),
            labels: pa.labels.clone(),
            annotations: pa.annotations.clone(),
            starts_ms,
            ends_ms,
            updated_ms: now,
            timeout,
            generator_url: pa.generator_url.clone().unwrap_or_default(),
            processed: false,
            resolved_logged: false,
            silenced_by: Vec::new(),
            inhibited_by: Vec::new(),
            ack: None,
            manual: None,
            esc_policy: None,
            esc_level: 0,
            esc_severity: None,
            esc_receivers: Vec::new(),
            esc_resolved_sent: false,
        })
    }

    /// Does everything due at the clock's current time: status refresh (silences,
    /// inhibition), escalations, group flushes through the notification log, and cleanup.
    pub fn tick(&self) -> Result<(), NotifyError> {
        let _t = lock(&self.tick_lock);
        let now = self.clock.now_ms();
        let (group_sends, esc_sends, early) = {
            let mut st = lock(&self.state);
            self.refresh(&mut st, now);
            let esc = self.plan_escalations(&st, now);
            let groups = self.plan_flushes(&mut st, now);
            self.cleanup(&mut st, now);
            let hist = std::mem::take(&mut st.hist);
            // A history write error must not drop the planned notifications.
            let early = self.append_history(hist);
            (groups, esc, early)
        };
        let mut group_results = Vec::new();
        for g in group_sends {
            let r = self.sink.send(g.notification.clone());
            group_results.push((g, r));
        }
        let mut esc_results = Vec::new();
        for e in esc_sends {
            let mut ok = Ok(());
            for n in &e.notifications {
                if let Err(err) = self.sink.send(n.clone()) {
                    ok = Err(err);
                }
            }
            esc_results.push((e, ok));
        }
        let mut st = lock(&self.state);
        if !group_results.is_empty() || !esc_results.is_empty() {
            st.dirty = true;
        }
        for (g, r) in group_results {
            let n = &g.notification;
            let status = match n.status {
                Status::Firing => "firing",
                Status::Resolved => "resolved",
            };
            let mut e = HistoryEntry::new(now, HistoryKind::Notified);
            e.fingerprints = n.alerts.iter().map(|a| a.fingerprint.clone()).collect();
            e.receiver = Some(n.receiver.clone());
            e.group_key = Some(n.group_key.clone());
            e.status = Some(status.to_string());
            match r {
                Ok(()) => {
                    *st.metrics
                        .notifications
                        .entry(n.receiver.clone())
                        .or_default() += 1;
                    st.nflog.insert(
                        g.map_key.clone(),
                        NflogEntry {
                            firing: g.firing,
                            resolved: g.resolved,
                            ts_ms: now,
                        },
                    );
                    let unchanged: Vec<u64> = g
                        .resolved_seen
                        .iter()
                        .filter(|(fp, upd)| st.alerts.get(fp).is_none_or(|a| a.updated_ms == *upd))
                        .map(|(fp, _)| *fp)
                        .collect();
                    if let Some(grp) = st.groups.get_mut(&g.map_key) {
                        for fp in unchanged {
                            grp.alerts.remove(&fp);
                        }
                    }
                }
                Err(err) => {
                    tracing::warn!(receiver = %n.receiver, error = %err, "notification refused by the sink");
                    *st.metrics.failed.entry(n.receiver.clone()).or_default() += 1;
                    e.kind = HistoryKind::NotifyFailed;
                    e.detail = Some(err);
                    if let Some(grp) = st.groups.get_mut(&g.map_key) {
                        grp.next_flush_ms = now + self.opts.retry_ms;
                    }
                }
            }
            st.hist.push(e);
        }
        let mut retry = Vec::new();
        for (e, r) in esc_results {
            let policy = e.policy.clone();
            let Some(a) = st.alerts.get_mut(&e.fp) else {
                continue;
            };
            let mut h = HistoryEntry::alert(now, HistoryKind::Escalated, a);
            h.level = Some(e.level);
            h.severity = Some(e.severity.clone());
            h.policy = Some(e.policy.clone());
            h.receiver = Some(e.receivers.join(","));
            h.status = Some(if e.resolved { "resolved" } else { "firing" }.to_string());
            match r {
                Ok(()) if e.resolved => {
                    a.esc_resolved_sent = true;
                }
                Ok(()) => {
                    a.esc_level = e.level;
                    a.esc_policy = Some(e.policy.clone());
                    a.esc_severity = Some(e.severity.clone());
                    for r in &e.receivers {
                        if !a.esc_receivers.contains(r) {
                            a.esc_receivers.push(r.clone());
                        }
                    }
                    *st.metrics.escalations.entry(policy).or_default() += 1;
                }
                Err(err) => {
                    h.kind = HistoryKind::NotifyFailed;
                    h.detail = Some(err);
                    retry.push(e.fp);
                }
            }
            if h.kind == HistoryKind::NotifyFailed || !e.resolved {
                st.hist.push(h);
            }
        }
        st.esc_retry.retain(|_, t| *t > now);
        for fp in retry {
            st.esc_retry.insert(fp, now + self.opts.retry_ms);
        }
        self.cleanup(&mut st, now);
        let late = self.persist(&mut st);
        early.and(late)
    }

    fn refresh(&self, st: &mut State, now: i64) {
        let inhibited = st.inhibited(now);
        let fps: Vec<u64> = st.alerts.keys().copied().collect();
        let mut hist = Vec::new();
        let mut changed = false;
        for fp in fps {
            let Some(a) = st.alerts.get(&fp) else {
                continue;
            };
            let sil = st.silenced_by(&a.labels, now);
            let inh = inhibited.get(&fp).cloned().unwrap_or_default();
            let Some(a) = st.alerts.get_mut(&fp) else {
                continue;
            };
            if a.done(now) && !a.resolved_logged && a.manual.is_none() {
                a.resolved_logged = true;
                hist.push(HistoryEntry::alert(now, HistoryKind::Resolved, a));
            }
            if !a.done(now) {
                if sil.is_empty() != a.silenced_by.is_empty() || (!sil.is_empty() && !a.processed) {
                    let kind = if sil.is_empty() {
                        HistoryKind::Unsilenced
                    } else {
                        HistoryKind::Silenced
                    };
                    let mut e = HistoryEntry::alert(now, kind, a);
                    e.detail = (!sil.is_empty()).then(|| sil.join(","));
                    hist.push(e);
                }
                if inh.is_empty() != a.inhibited_by.is_empty() || (!inh.is_empty() && !a.processed)
                {
                    let kind = if inh.is_empty() {
                        HistoryKind::Uninhibited
                    } else {
                        HistoryKind::Inhibited
                    };
                    let mut e = HistoryEntry::alert(now, kind, a);
                    e.detail = (!inh.is_empty()).then(|| inh.join(","));
                    hist.push(e);
                }
            }
            if a.silenced_by != sil || a.inhibited_by != inh || !a.processed {
                changed = true;
            }
            a.silenced_by = sil;
            a.inhibited_by = inh;
            a.processed = true;
        }
        changed |= !hist.is_empty();
        st.hist.extend(hist);
        let retention = self.opts.silence_retention_ms;
        let (ns, nn) = (st.silences.len(), st.nflog.len());
        st.silences.retain(|_, s| s.ends_ms + retention > now);
        let State {
            silences,
            sil_cache,
            ..
        } = st;
        sil_cache.retain(|id, _| silences.contains_key(id));
        // Alertmanager keeps notification log entries for 120 h.
        st.nflog.retain(|_, e| e.ts_ms + 120 * 3_600_000 > now);
        changed |= ns != st.silences.len() || nn != st.nflog.len();
        st.dirty |= changed;
    }

    fn base_notification(
        &self,
        receiver: &str,
        group_key: String,
        alerts: Vec<NotifyAlert>,
        group_labels: BTreeMap<String, String>,
    ) -> Notification {
        let status = if alerts.iter().any(|a| a.status == Status::Firing) {
            Status::Firing
        } else {
            Status::Resolved
        };
        Notification {
            receiver: receiver.to_string(),
            status,
            common_labels: common(alerts.iter().map(|a| &a.labels)),
            common_annotations: common(alerts.iter().map(|a| &a.annotations)),
            alerts,
            group_labels,
            external_url: self.opts.external_url.clone(),
            group_key,
            truncated_alerts: 0,
            escalation: None,
            acknowledged: None,
        }
    }

    fn plan_escalations(&self, st: &State, now: i64) -> Vec<EscSend> {
        let mut out = Vec::new();
        for a in st.alerts.values() {
            if st.esc_retry.get(&a.fp).is_some_and(|t| *t > now) {
                continue;
            }
            if a.done(now) {
                if a.esc_level > 0 && !a.esc_resolved_sent {
                    let policy = a.esc_policy.clone().unwrap_or_default();
                    let severity = a.esc_severity.clone().unwrap_or_default();
                    let mut labels = a.labels.clone();
                    labels.insert("severity".to_string(), severity.clone());
                    let notifications = a
                        .esc_receivers
                        .iter()
                        .map(|r| {
                            let mut n = self.base_notification(
                                r,
                                format!(
                                    "{{}}/escalation:{{policy={policy:?}, fingerprint=\"{}\"}}",
                                    hex(a.fp)
                                ),
                                vec![a.notify_alert(now, Some(labels.clone()))],
                                escalation_group_labels(&labels),
                            );
                            n.escalation = Some(Escalation {
                                level: a.esc_level,
                                severity: severity.clone(),
                                policy: policy.clone(),
                            });
                            n
                        })
                        .collect();
                    out.push(EscSend {
                        fp: a.fp,
                        level: a.esc_level,
                        policy,
                        severity,
                        receivers: a.esc_receivers.clone(),
                        resolved: true,
                        notifications,
                    });
                }
                continue;
            }
            if a.ack.is_some() || !a.silenced_by.is_empty() || !a.inhibited_by.is_empty() {
                continue;
            }
            let Some(p) = st.policy_for(&a.labels) else {
                continue;
            };
            let mut current = AlertSeverity::parse(
                a.esc_severity
                    .as_deref()
                    .or(a.labels.get("severity").map(String::as_str))
                    .unwrap_or(""),
            );
            let mut labels = a.labels.clone();
            for (i, lvl) in p.levels.iter().enumerate() {
                let level = i as u32 + 1;
                if level <= a.esc_level {
                    if let Some(s) = &lvl.severity {
                        let s = AlertSeverity::parse(s);
                        if s.rank > current.rank {
                            current = s;
                        }
                    }
                    continue;
                }
                if a.starts_ms + lvl.after.as_millis() > now {
                    break;
                }
                if let Some(s) = &lvl.severity {
                    let s = AlertSeverity::parse(s);
                    if s.rank > current.rank || current.value.is_empty() {
                        current = s;
                    }
                }
                if !current.value.is_empty() {
                    labels.insert("severity".to_string(), current.value.clone());
                }
                let notifications = lvl
                    .receivers
                    .iter()
                    .map(|r| {
                        let mut n = self.base_notification(
                            r,
                            format!(
                                "{{}}/escalation:{{policy={:?}, fingerprint=\"{}\"}}",
                                p.name,
                                hex(a.fp)
                            ),
                            vec![a.notify_alert(now, Some(labels.clone()))],
                            escalation_group_labels(&labels),
                        );
                        n.escalation = Some(Escalation {
                            level,
                            severity: current.value.clone(),
                            policy: p.name.clone(),
                        });
                        n
                    })
                    .collect();
                out.push(EscSend {
                    fp: a.fp,
                    level,
                    policy: p.name.clone(),
                    severity: current.value.clone(),
                    receivers: lvl.receivers.clone(),
                    resolved: false,
                    notifications,
                });
            }
        }
        out
    }

    fn plan_flushes(&self, st: &mut State, now: i64) -> Vec<GroupSend> {
        let mut out = Vec::new();
        let due: Vec<String> = st
            .groups
            .iter()
            .filter(|(_, g)| g.next_flush_ms <= now)
            .map(|(k, _)| k.clone())
            .collect();
        st.dirty |= !due.is_empty();
        for map_key in due {
            let Some(g) = st.groups.get(&map_key) else {
                continue;
            };
            let muted = st.muted_by_time(&g.route, now);
            let missing: Vec<u64> = g
                .alerts
                .iter()
                .filter(|fp| !st.alerts.contains_key(fp))
                .copied()
                .collect();
            if !missing.is_empty()
                && let Some(g) = st.groups.get_mut(&map_key)
            {
                for fp in &missing {
                    g.alerts.remove(fp);
                }
            }
            let Some(g) = st.groups.get(&map_key) else {
                continue;
            };
            let mut members: Vec<&AlertRec> =
                g.alerts.iter().filter_map(|fp| st.alerts.get(fp)).collect();
            members.sort_by(|a, b| alert_order(&a.labels, &b.labels));
            let resolved_seen: Vec<(u64, i64)> = members
                .iter()
                .filter(|a| a.done(now))
                .map(|a| (a.fp, a.updated_ms))
                .collect();
            let shown: Vec<&AlertRec> = members
                .into_iter()
                .filter(|a| a.silenced_by.is_empty() && a.inhibited_by.is_empty())
                .collect();
            let firing: BTreeSet<u64> = shown
                .iter()
                .filter(|a| !a.done(now))
                .map(|a| a.fp)
                .collect();
            let resolved: BTreeSet<u64> =
                shown.iter().filter(|a| a.done(now)).map(|a| a.fp).collect();
            let send = !muted
                && !shown.is_empty()
                && needs_update(
                    st.nflog.get(&map_key),
                    &firing,
                    &resolved,
                    g.route.repeat_interval_ms,
                    now,
                );
            let interval = g.route.group_interval_ms.max(1);
            if send {
                let alerts = shown.iter().map(|a| a.notify_alert(now, None)).collect();
                let notification = self.base_notification(
                    &g.route.receiver,
                    g.key.clone(),
                    alerts,
                    g.labels.clone(),
                );
                out.push(GroupSend {
                    map_key: map_key.clone(),
                    notification,
                    firing,
                    resolved,
                    resolved_seen,
                });
                if let Some(g) = st.groups.get_mut(&map_key) {
                    g.has_flushed = true;
                    g.next_flush_ms = now + interval;
                }
            } else if let Some(g) = st.groups.get_mut(&map_key) {
                g.has_flushed = true;
                g.next_flush_ms = now + interval;
                for (fp, _) in resolved_seen {
                    g.alerts.remove(&fp);
                }
            }
        }
        out
    }

    fn cleanup(&self, st: &mut State, now: i64) {
        let before = st.groups.len();
        st.groups.retain(|_, g| !g.alerts.is_empty());
        let mut changed = before != st.groups.len();
        if st.alerts.values().any(|a| a.resolved(now)) {
            let grouped: BTreeSet<u64> = st
                .groups
                .values()
                .flat_map(|g| g.alerts.iter().copied())
                .collect();
            let mut hist = Vec::new();
            let n = st.alerts.len();
            st.alerts.retain(|fp, a| {
                let esc_done = a.esc_level == 0 || a.esc_resolved_sent;
                let gone = a.resolved(now) && esc_done && !grouped.contains(fp);
                if gone && a.manual.is_some() {
                    // The condition of a manually resolved alert cleared: forgotten, so a
                    // later firing is a new alert.
                    hist.push(HistoryEntry::alert(now, HistoryKind::Cleared, a));
                }
                !gone
            });
            changed |= n != st.alerts.len();
            st.hist.extend(hist);
        }
        st.dirty |= changed;
    }

    /// Acknowledges an alert: escalation stops. Unknown fingerprint → [`NotifyError::NotFound`].
    pub fn ack(&self, fingerprint_hex: &str, author: &str, note: &str) -> Result<(), NotifyError> {
        let fp = parse_fp(fingerprint_hex)?;
        let now = self.clock.now_ms();
        let mut st = lock(&self.state);
        let Some(a) = st.alerts.get_mut(&fp) else {
            return Err(NotifyError::NotFound(format!("alert {fingerprint_hex}")));
        };
        a.ack = Some(Action {
            by: author.to_string(),
            at_ms: now,
            note: note.to_string(),
        });
        let mut e = HistoryEntry::alert(now, HistoryKind::Ack, a);
        e.author = Some(author.to_string());
        e.note = Some(note.to_string());
        let alert = a.notify_alert(now, None);
        st.hist.push(e);
        st.dirty = true;
        // Tell the alert's receivers (providers with an acknowledge action act on it: PagerDuty
        // acknowledges the incident, Opsgenie the alert).
        let acks: Vec<Notification> = st
            .groups
            .values()
            .filter(|g| g.alerts.contains(&fp))
            .map(|g| {
                let mut n = self.base_notification(
                    &g.route.receiver,
                    g.key.clone(),
                    vec![alert.clone()],
                    g.labels.clone(),
                );
                n.acknowledged = Some(vigia_receivers::Acknowledgement {
                    by: author.to_string(),
                    note: note.to_string(),
                });
                n
            })
            .collect();
        let res = self.persist(&mut st);
        drop(st);
        for n in acks {
            if let Err(err) = self.sink.send(n) {
                tracing::warn!(error = %err, "acknowledgement not handed to delivery");
            }
        }
        res
    }

    /// Resolves an alert manually: a resolved notification goes out at the next tick and the
    /// alert is suppressed until its condition clears. Unknown fingerprint →
    /// [`NotifyError::NotFound`].
    pub fn resolve(
        &self,
        fingerprint_hex: &str,
        author: &str,
        note: &str,
    ) -> Result<(), NotifyError> {
        let fp = parse_fp(fingerprint_hex)?;
        let now = self.clock.now_ms();
        let mut st = lock(&self.state);
        let Some(a) = st.alerts.get_mut(&fp) else {
            return Err(NotifyError::NotFound(format!("alert {fingerprint_hex}")));
        };
        if a.resolved(now) {
            return Err(NotifyError::Invalid(format!(
                "alert {fingerprint_hex} is already resolved"
            )));
        }
        if a.manual.is_none() {
            a.manual = Some(Action {
                by: author.to_string(),
                at_ms: now,
                note: note.to_string(),
            });
        }
        let mut e = HistoryEntry::alert(now, HistoryKind::ManualResolve, a);
        e.author = Some(author.to_string());
        e.note = Some(note.to_string());
        st.hist.push(e);
        for g in st.groups.values_mut() {
            if g.alerts.contains(&fp) {
                g.next_flush_ms = g.next_flush_ms.min(now);
            }
        }
        st.dirty = true;
        self.persist(&mut st)
    }

    /// Creates a silence, or updates the one with `id` (in place when Alertmanager would,
    /// otherwise the old one is expired and a new id returned).
    pub fn add_silence(&self, ps: PostableSilence) -> Result<String, NotifyError> {
        let now = self.clock.now_ms();
        let inv = NotifyError::Invalid;
        if ps.matchers.is_empty() {
            return Err(inv("at least one matcher required".to_string()));
        }
        let mut compiled = Vec::new();
        for m in &ps.matchers {
            if !valid_label_name(&m.name) {
                return Err(inv(format!("invalid label name {:?}", m.name)));
            }
            compiled.push(m.to_matcher().map_err(inv)?);
        }
        if compiled.iter().all(|m| m.matches_value("")) {
            return Err(inv(
                "at least one matcher must not match the empty string".to_string()
            ));
        }
        let starts = parse_time(&ps.starts_at)
            .map_err(inv)?
            .ok_or_else(|| inv("invalid zero start timestamp".to_string()))?;
        let ends = parse_time(&ps.ends_at)
            .map_err(inv)?
            .ok_or_else(|| inv("invalid zero end timestamp".to_string()))?;
        if starts >= ends {
            return Err(inv("start time must be before end time".to_string()));
        }
        if ends < now {
            return Err(inv("end time can't be in the past".to_string()));
        }
        let mut st = lock(&self.state);
        let mut rec = SilenceRec {
            id: new_id(),
            matchers: ps.matchers.clone(),
            starts_ms: starts.max(now),
            ends_ms: ends,
            updated_ms: now,
            created_by: ps.created_by.clone(),
            comment: ps.comment.clone(),
        };
        if let Some(id) = ps.id.as_deref().filter(|s| !s.is_empty()) {
            let Some(old) = st.silences.get_mut(id) else {
                return Err(NotifyError::NotFound(format!("silence {id}")));
            };
            let can_update = old.matchers == ps.matchers
                && match old.state(now) {
                    "active" => starts == old.starts_ms && ends >= now,
                    "pending" => starts >= now,
                    _ => false,
                };
            if can_update {
                rec.id = id.to_string();
                rec.starts_ms = starts;
            } else if old.state(now) != "expired" {
                if old.state(now) == "pending" {
                    old.starts_ms = now;
                }
                old.ends_ms = now;
                old.updated_ms = now;
            }
        }
        let mut e = HistoryEntry::new(now, HistoryKind::SilenceCreated);
        e.author = Some(rec.created_by.clone());
        e.note = Some(rec.comment.clone());
        let ms: Vec<String> = compiled.iter().map(ToString::to_string).collect();
        e.detail = Some(format!(
            "{} {{{}}} {}..{}",
            rec.id,
            ms.join(","),
            fmt_time(rec.starts_ms),
            fmt_time(rec.ends_ms)
        ));
        st.hist.push(e);
        let id = rec.id.clone();
        st.sil_cache.insert(id.clone(), compiled);
        st.silences.insert(id.clone(), rec);
        st.dirty = true;
        self.persist(&mut st)?;
        Ok(id)
    }

    /// Silences whose matchers satisfy `filter` (Alertmanager's rule: each filter matcher must
    /// match the pattern of the silence's matcher of the same name), active first.
    pub fn silences(&self, filter: &[AmMatcher]) -> Vec<GettableSilence> {
        let now = self.clock.now_ms();
        let st = lock(&self.state);
        let mut out: Vec<&SilenceRec> = st
            .silences
            .values()
            .filter(|s| {
                filter.iter().all(|f| {
                    s.matchers
                        .iter()
                        .find(|m| m.name == f.name)
                        .is_some_and(|m| f.matches_value(&m.value))
                })
            })
            .collect();
        let rank = |s: &SilenceRec| match s.state(now) {
            "active" => (0, s.ends_ms),
            "pending" => (1, s.starts_ms),
            _ => (2, -s.ends_ms),
        };
        out.sort_by_key(|s| rank(s));
        out.into_iter().map(|s| s.api(now)).collect()
    }

    /// One silence by id.
    pub fn silence(&self, id: &str) -> Option<GettableSilence> {
        let now = self.clock.now_ms();
        lock(&self.state).silences.get(id).map(|s| s.api(now))
    }

    /// Expires a silence (`DELETE /api/v2/silence/{id}`).
    pub fn expire_silence(&self, id: &str) -> Result<(), NotifyError> {
        let now = self.clock.now_ms();
        let mut st = lock(&self.state);
        let Some(s) = st.silences.get_mut(id) else {
            return Err(NotifyError::NotFound(format!("silence {id}")));
        };
        match s.state(now) {
            "expired" => {
                return Err(NotifyError::Invalid(format!(
                    "silence {id} already expired"
                )));
            }
            "pending" => {
                s.starts_ms = now;
                s.ends_ms = now;
            }
            _ => s.ends_ms = now,
        }
        s.updated_ms = now;
        let mut e = HistoryEntry::new(now, HistoryKind::SilenceExpired);
        e.detail = Some(id.to_string());
        st.hist.push(e);
        st.dirty = true;
        self.persist(&mut st)
    }

    /// Active (not resolved) alerts in the v2 API shape, sorted by fingerprint.
    pub fn alerts(&self, filter: &AlertFilter) -> Vec<GettableAlert> {
        let now = self.clock.now_ms();
        let st = lock(&self.state);
        let inhibited = st.inhibited(now);
        let mut out = Vec::new();
        for a in st.alerts.values() {
            if a.resolved(now) || !matches_all(&filter.matchers, &a.labels) {
                continue;
            }
            let receivers = st.receivers_of(&a.labels);
            if let Some(re) = &filter.receiver
                && !receivers.iter().any(|r| re.is_match(r))
            {
                continue;
            }
            let silenced_by = st.silenced_by(&a.labels, now);
            let inhibited_by = inhibited.get(&a.fp).cloned().unwrap_or_default();
            let state = if !a.processed {
                "unprocessed"
            } else if !silenced_by.is_empty() || !inhibited_by.is_empty() || a.manual.is_some() {
                "suppressed"
            } else {
                "active"
            };
            let keep = match state {
                "unprocessed" => filter.unprocessed,
                "active" => filter.active,
                _ => {
                    (silenced_by.is_empty() || filter.silenced)
                        && (inhibited_by.is_empty() || filter.inhibited)
                        && (a.manual.is_none() || filter.active)
                }
            };
            if !keep {
                continue;
            }
            let policy = st.policy_for(&a.labels).map(|p| p.name.clone());
            out.push(GettableAlert {
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                starts_at: fmt_time(a.starts_ms),
                ends_at: fmt_time(a.ends_ms),
                updated_at: fmt_time(a.updated_ms),
                generator_url: a.generator_url.clone(),
                fingerprint: hex(a.fp),
                receivers: receivers
                    .into_iter()
                    .map(|name| ReceiverName { name })
                    .collect(),
                status: AlertStatus {
                    state: state.to_string(),
                    silenced_by,
                    inhibited_by,
                },
                vigia: VigiaAlertInfo {
                    ack: a.ack.as_ref().map(Action::api),
                    resolved: a.manual.as_ref().map(Action::api),
                    escalation_level: a.esc_level,
                    escalation_policy: a.esc_policy.clone().or(policy),
                    escalated_severity: a.esc_severity.clone(),
                },
            });
        }
        out
    }

    /// Names of the configured receivers (`GET /api/v2/receivers`).
    pub fn receiver_names(&self) -> Vec<String> {
        lock(&self.state)
            .cfg
            .receivers
            .iter()
            .map(|r| r.name.clone())
            .collect()
    }

    /// History entries between `since_ms` and `until_ms` (inclusive), optionally only those
    /// concerning one alert, oldest first.
    pub fn history(
        &self,
        fingerprint: Option<&str>,
        since_ms: i64,
        until_ms: i64,
    ) -> Vec<HistoryEntry> {
        let h = lock(&self.history);
        h.1.iter()
            .filter(|e| e.ts_ms >= since_ms && e.ts_ms <= until_ms)
            .filter(|e| fingerprint.is_none_or(|f| e.fingerprints.iter().any(|x| x == f)))
            .cloned()
            .collect()
    }

    /// Records a delivery result reported by the outbox.
    pub fn record_delivery(
        &self,
        receiver: &str,
        group_key: &str,
        fingerprints: &[String],
        ok: bool,
        detail: &str,
    ) -> Result<(), NotifyError> {
        let mut e = HistoryEntry::new(self.clock.now_ms(), HistoryKind::Delivery);
        e.receiver = Some(receiver.to_string());
        e.group_key = Some(group_key.to_string());
        e.fingerprints = fingerprints.to_vec();
        e.status = Some(if ok { "ok" } else { "failed" }.to_string());
        if !detail.is_empty() {
            e.detail = Some(detail.to_string());
        }
        self.append_history(vec![e])
    }

    /// Self-metrics in the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        use std::fmt::Write;
        let now = self.clock.now_ms();
        let st = lock(&self.state);
        let inhibited = st.inhibited(now);
        let mut by_state: BTreeMap<&str, u64> =
            [("active", 0), ("suppressed", 0), ("unprocessed", 0)]
                .into_iter()
                .collect();
        for a in st.alerts.values().filter(|a| !a.resolved(now)) {
            let s = if !a.processed {
                "unprocessed"
            } else if a.manual.is_some()
                || inhibited.contains_key(&a.fp)
                || !st.silenced_by(&a.labels, now).is_empty()
            {
                "suppressed"
            } else {
                "active"
            };
            *by_state.entry(s).or_default() += 1;
        }
        let mut sil: BTreeMap<&str, u64> = [("active", 0), ("pending", 0), ("expired", 0)]
            .into_iter()
            .collect();
        for s in st.silences.values() {
            *sil.entry(s.state(now)).or_default() += 1;
        }
        let esc = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let mut out = String::new();
        let mut family =
            |name: &str, kind: &str, help: &str, label: &str, vals: Vec<(String, u64)>| {
                let _ = writeln!(out, "# HELP {name} {help}");
                let _ = writeln!(out, "# TYPE {name} {kind}");
                for (k, v) in vals {
                    let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {v}", esc(&k));
                }
            };
        let conv = |m: &BTreeMap<&str, u64>| m.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let convs = |m: &BTreeMap<String, u64>| m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        family(
            "vigia_alertmanager_alerts",
            "gauge",
            "How many alerts by state.",
            "state",
            conv(&by_state),
        );
        family(
            "vigia_alertmanager_alerts_received_total",
            "counter",
            "The total number of received alerts.",
            "status",
            convs(&st.metrics.received),
        );
        family(
            "vigia_alertmanager_notifications_total",
            "counter",
            "The total number of notifications handed to delivery.",
            "receiver",
            convs(&st.metrics.notifications),
        );
        family(
            "vigia_alertmanager_notifications_failed_total",
            "counter",
            "The total number of notifications the delivery refused.",
            "receiver",
            convs(&st.metrics.failed),
        );
        family(
            "vigia_alertmanager_silences",
            "gauge",
            "How many silences by state.",
            "state",
            conv(&sil),
        );
        family(
            "vigia_alertmanager_escalations_total",
            "counter",
            "The total number of escalation levels reached.",
            "policy",
            convs(&st.metrics.escalations),
        );
        let _ = writeln!(
            out,
            "# HELP vigia_alertmanager_aggregation_groups Number of active aggregation groups."
        );
        let _ = writeln!(out, "# TYPE vigia_alertmanager_aggregation_groups gauge");
        let _ = writeln!(
            out,
            "vigia_alertmanager_aggregation_groups {}",
            st.groups.len()
        );
        out
    }
}

/// Alertmanager's order of alerts in a notification: by `job`, then `instance` (alerts with
/// the label first), then by the whole sorted label set.
fn alert_order(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for key in ["job", "instance"] {
        match (a.get(key), b.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    a.iter().cmp(b.iter())
}

fn escalation_group_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| *k == "alertname")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Alertmanager's `Alert.Merge`, applied when an update overlaps the stored alert.
fn merge(old: &AlertRec, new: &AlertRec, now: i64) -> AlertRec {
    let (a, o) = if new.updated_ms >= old.updated_ms {
        (old, new)
    } else {
        (new, old)
    };
    let mut res = o.clone();
    if a.starts_ms < o.starts_ms {
        res.starts_ms = a.starts_ms;
    }
    if o.resolved(now) {
        if a.resolved(now) && a.ends_ms > o.ends_ms {
            res.ends_ms = a.ends_ms;
        }
    } else if a.ends_ms > o.ends_ms && !a.timeout {
        res.ends_ms = a.ends_ms;
        res.timeout = false;
    }
    res
}
