//! The notification handed from routing to delivery: one group of alerts for one receiver, in
//! the shape of Alertmanager's webhook payload (version 4) plus vigia's escalation marker.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `firing` or `resolved`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// At least one alert of the group fires.
    Firing,
    /// Every alert of the group is resolved.
    Resolved,
}

/// One alert inside a notification (Alertmanager webhook `alerts[]` element).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyAlert {
    /// `firing` or `resolved`.
    pub status: Status,
    /// Alert labels.
    pub labels: BTreeMap<String, String>,
    /// Alert annotations.
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 start time.
    pub starts_at: String,
    /// RFC 3339 end time (`0001-01-01T00:00:00Z` while firing without an end).
    pub ends_at: String,
    /// Link back to the source expression.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// Alertmanager fingerprint, 16 lowercase hex digits.
    pub fingerprint: String,
}

/// vigia's escalation marker: set when the notification is an escalation level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    /// 1 for the first escalation level, 2 for the next…
    pub level: u32,
    /// The severity the alert was raised to.
    pub severity: String,
    /// The escalation policy's name.
    pub policy: String,
}

/// Someone acknowledged the alerts of a notification in vigia (sent to providers that have an
/// acknowledge action: PagerDuty and Opsgenie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// Who.
    pub by: String,
    /// Their note.
    pub note: String,
}

/// One notification: a group of alerts for one receiver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Receiver name (from the Alertmanager configuration).
    pub receiver: String,
    /// Group status.
    pub status: Status,
    /// The alerts of the group.
    pub alerts: Vec<NotifyAlert>,
    /// Labels the group was formed by.
    pub group_labels: BTreeMap<String, String>,
    /// Labels all alerts share.
    pub common_labels: BTreeMap<String, String>,
    /// Annotations all alerts share.
    pub common_annotations: BTreeMap<String, String>,
    /// vigia's own URL.
    #[serde(rename = "externalURL")]
    pub external_url: String,
    /// Alertmanager's group key (route path + group labels).
    pub group_key: String,
    /// Alerts left out because of `max_alerts`.
    pub truncated_alerts: u64,
    /// Set when this is an escalation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    /// Set when this notification announces an acknowledgement rather than a state change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<Acknowledgement>,
}
