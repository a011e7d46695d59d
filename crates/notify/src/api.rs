//! Alertmanager API v2 JSON shapes (PostableAlert, GettableAlert, PostableSilence,
//! GettableSilence, matchers) plus vigia's extra alert fields, the alert list filter, and
//! RFC 3339 conversion helpers.

use crate::error::InvalidInput;
use crate::matcher::AmMatcher;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Go's zero time as Alertmanager prints it.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Formats Unix ms as RFC 3339 with milliseconds in UTC.
pub fn fmt_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or_else(
        || ZERO_TIME.to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::Millis, true),
    )
}

/// Parses RFC 3339 into Unix ms; `None` for Go's zero time (year 1) or an empty string.
pub fn parse_time(s: &str) -> Result<Option<i64>, InvalidInput> {
    if s.is_empty() {
        return Ok(None);
    }
    let t = DateTime::parse_from_rfc3339(s)
        .map_err(|e| InvalidInput(format!("invalid time {s:?}: {e}")))?;
    if t.timestamp() <= -62_135_596_800 {
        return Ok(None);
    }
    Ok(Some(t.timestamp_millis()))
}

/// An alert as posted to `POST /api/v2/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PostableAlert {
    /// Identifying labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339; defaults to now (or endsAt when only that is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// RFC 3339; absent means now + `resolve_timeout`, refreshed by every update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
    /// Link back to the alert's source.
    #[serde(
        default,
        rename = "generatorURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub generator_url: Option<String>,
}

/// A matcher in the silence JSON shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiMatcher {
    /// Label name.
    pub name: String,
    /// Value or regular expression.
    pub value: String,
    /// Regex match.
    pub is_regex: bool,
    /// `true` for `=`/`=~`, `false` for `!=`/`!~`.
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl ApiMatcher {
    /// Compiles into a label matcher.
    pub fn to_matcher(&self) -> Result<AmMatcher, InvalidInput> {
        use crate::matcher::MatchOp::*;
        let op = match (self.is_regex, self.is_equal) {
            (false, true) => Equal,
            (false, false) => NotEqual,
            (true, true) => Regex,
            (true, false) => NotRegex,
        };
        AmMatcher::new(&self.name, op, &self.value)
    }
}

/// A silence as posted to `POST /api/v2/silences`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostableSilence {
    /// Set to update an existing silence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Label matchers (at least one).
    pub matchers: Vec<ApiMatcher>,
    /// RFC 3339 start.
    pub starts_at: String,
    /// RFC 3339 end.
    pub ends_at: String,
    /// Author.
    #[serde(default)]
    pub created_by: String,
    /// Comment.
    #[serde(default)]
    pub comment: String,
}

/// `{"state": "active|pending|expired"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceStatus {
    /// `active`, `pending` or `expired`.
    pub state: String,
}

/// A silence as returned by `GET /api/v2/silences`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GettableSilence {
    /// UUID-like id.
    pub id: String,
    /// State.
    pub status: SilenceStatus,
    /// Last change, RFC 3339.
    pub updated_at: String,
    /// Matchers.
    pub matchers: Vec<ApiMatcher>,
    /// Start, RFC 3339.
    pub starts_at: String,
    /// End, RFC 3339.
    pub ends_at: String,
    /// Author.
    pub created_by: String,
    /// Comment.
    pub comment: String,
}

/// `{"name": …}` in an alert's receiver list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiverName {
    /// Receiver name.
    pub name: String,
}

/// Alert status in the v2 API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertStatus {
    /// `active`, `suppressed` or `unprocessed`.
    pub state: String,
    /// Ids of the active silences muting the alert.
    pub silenced_by: Vec<String>,
    /// Fingerprints of the alerts inhibiting it.
    pub inhibited_by: Vec<String>,
}

/// Who did something, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionNote {
    /// Author.
    pub by: String,
    /// RFC 3339 time.
    pub at: String,
    /// Free-text note.
    pub note: String,
}

/// vigia's additions to an alert (an extra `vigia` object amtool ignores).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct VigiaAlertInfo {
    /// Acknowledgement, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<ActionNote>,
    /// Manual resolution, if any (notifications suppressed until the condition clears).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved: Option<ActionNote>,
    /// Escalation level reached (0: none).
    pub escalation_level: u32,
    /// The escalation policy applying to the alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_policy: Option<String>,
    /// Severity label after escalation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_severity: Option<String>,
}

/// An alert as returned by `GET /api/v2/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GettableAlert {
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339.
    pub starts_at: String,
    /// RFC 3339.
    pub ends_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// Link back to the source.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// 16 hex digits.
    pub fingerprint: String,
    /// Receivers the alert routes to.
    pub receivers: Vec<ReceiverName>,
    /// Status.
    pub status: AlertStatus,
    /// vigia's fields.
    pub vigia: VigiaAlertInfo,
}

/// Filter for [`crate::Alertmanager::alerts`] (the v2 API's query parameters).
#[derive(Debug, Clone)]
pub struct AlertFilter {
    /// Label matchers (all must match).
    pub matchers: Vec<AmMatcher>,
    /// Include silenced alerts.
    pub silenced: bool,
    /// Include inhibited alerts.
    pub inhibited: bool,
    /// Include active alerts.
    pub active: bool,
    /// Include unprocessed alerts.
    pub unprocessed: bool,
    /// Only alerts routed to a receiver matching this (anchored) regex.
    pub receiver: Option<regex::Regex>,
}

impl Default for AlertFilter {
    /// Everything, like the API's defaults.
    fn default() -> Self {
        Self {
            matchers: Vec::new(),
            silenced: true,
            inhibited: true,
            active: true,
            unprocessed: true,
            receiver: None,
        }
    }
}

impl AlertFilter {
    /// Compiles the `receiver` query parameter anchored like Alertmanager (`^(?:re)$`).
    pub fn receiver_regex(re: &str) -> Result<regex::Regex, InvalidInput> {
        regex::Regex::new(&format!("^(?:{re})$"))
            .map_err(|e| InvalidInput(format!("invalid receiver regex {re:?}: {e}")))
    }
}

impl PostableAlert {
    /// Converts a rule-manager alert like Prometheus's notifier does: `startsAt` is when it
    /// started firing, `endsAt` its resolution time or, while firing, its validity limit.
    pub fn from_rule_alert(a: &vigia_model::Alert) -> Self {
        let starts = if a.starts_at_ms != 0 {
            a.starts_at_ms
        } else {
            a.active_at_ms
        };
        Self {
            labels: a.labels.clone(),
            annotations: a.annotations.clone(),
            starts_at: Some(fmt_time(starts)),
            ends_at: (a.ends_at_ms != 0).then(|| fmt_time(a.ends_at_ms)),
            generator_url: (!a.generator_url.is_empty()).then(|| a.generator_url.clone()),
        }
    }
}
