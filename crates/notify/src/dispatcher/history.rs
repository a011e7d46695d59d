//! The durable record of what happened: history entries (alerts received, state changes,
//! notifications and their delivery, acknowledgements, resolves, silences) and their log.

use super::*;

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
    pub(crate) fn new(ts_ms: i64, kind: HistoryKind) -> Self {
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
    pub(crate) fn alert(ts_ms: i64, kind: HistoryKind, a: &AlertRec) -> Self {
        let mut e = Self::new(ts_ms, kind);
        e.fingerprints = vec![hex(a.fp)];
        e.labels = Some(a.labels.clone());
        e
    }
}

pub(crate) fn hex(fp: u64) -> String {
    format!("{fp:016x}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Action {
    pub(crate) by: String,
    pub(crate) at_ms: i64,
    pub(crate) note: String,
}

impl Action {
    pub(crate) fn api(&self) -> ActionNote {
        ActionNote {
            by: self.by.clone(),
            at: fmt_time(self.at_ms),
            note: self.note.clone(),
        }
    }
}

impl Alertmanager {
    pub(crate) fn append_history(&self, entries: Vec<HistoryEntry>) -> Result<(), NotifyError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut h = lock(&self.history);
        let res = h.0.append(&entries);
        h.1.extend(entries);
        res
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
}
