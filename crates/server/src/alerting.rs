//! What the HTTP layer needs from vigia's Alertmanager (`vigia-notify`), as a trait so the
//! binary plugs the real one in and handlers stay thin.

use vigia_notify::{
    AlertFilter, AmMatcher, GettableAlert, GettableSilence, NotifyError, PostableAlert,
    PostableSilence,
};

/// One entry of `GET /api/v1/alerts/history` (the JSON the hub records).
pub type HistoryEntry = serde_json::Value;

/// Alert management: the Alertmanager v2 API plus acknowledge / resolve / history.
pub trait AlertHub: Send + Sync {
    /// Receives alerts (`POST /api/v2/alerts`, and the rule manager).
    fn put_alerts(&self, alerts: Vec<PostableAlert>) -> Result<(), NotifyError>;
    /// Lists alerts (`GET /api/v2/alerts`).
    fn alerts(&self, filter: &AlertFilter) -> Vec<GettableAlert>;
    /// Creates or updates a silence; returns its id.
    fn add_silence(&self, s: PostableSilence) -> Result<String, NotifyError>;
    /// Silences matching every matcher (all when empty).
    fn silences(&self, matchers: &[AmMatcher]) -> Vec<GettableSilence>;
    /// One silence.
    fn silence(&self, id: &str) -> Option<GettableSilence>;
    /// Expires a silence.
    fn expire_silence(&self, id: &str) -> Result<(), NotifyError>;
    /// Acknowledges an alert by fingerprint (16 hex digits) with a note.
    fn ack(&self, fingerprint: &str, author: &str, note: &str) -> Result<(), NotifyError>;
    /// Resolves an alert by hand with a note.
    fn resolve(&self, fingerprint: &str, author: &str, note: &str) -> Result<(), NotifyError>;
    /// State changes, notifications and actions, oldest first.
    fn history(&self, fingerprint: Option<&str>, since_ms: i64, until_ms: i64)
    -> Vec<HistoryEntry>;
    /// Receiver names of the routing configuration.
    fn receivers(&self) -> Vec<String>;
    /// The Alertmanager configuration as YAML, secrets redacted (`/api/v2/status`).
    fn config_yaml(&self) -> String;
    /// The in-app notification feed: notifications handed to delivery with a sequence number
    /// above `after`, oldest first, at most `limit`.
    fn notifications(&self, after: u64, limit: usize) -> Vec<serde_json::Value>;
}
