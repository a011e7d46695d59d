//! What the server fills for a page: query results by panel, KPI values, alerts and anomaly
//! events (with the JSON field names of their APIs), and the navigation entries.

use crate::dashboard::{Dashboard, Text};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Labels of a series.
pub type LabelSet = BTreeMap<String, String>;

/// A series over time (one element of a range-query result).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct SeriesData {
    /// Labels.
    pub labels: LabelSet,
    /// `(unix seconds, value)` points.
    pub points: Vec<(f64, f64)>,
}

/// One sample of an instant vector.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct InstantSample {
    /// Labels.
    pub labels: LabelSet,
    /// Value.
    pub value: f64,
}

/// The result of one panel query.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryResult {
    /// A range query's series.
    Range(Vec<SeriesData>),
    /// An instant query's samples (a scalar is one sample without labels).
    Instant(Vec<InstantSample>),
    /// The evaluation failed.
    Error(String),
}

/// An alert as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AlertData {
    /// Alertmanager fingerprint.
    pub fingerprint: String,
    /// Labels (with `alertname`).
    pub labels: LabelSet,
    /// Annotations (`summary`, `description`).
    pub annotations: LabelSet,
    /// `firing`, `pending`, `resolved`, `acknowledged`, `silenced`.
    pub state: String,
    /// Severity (also usually a label).
    pub severity: String,
    /// Start (unix seconds).
    pub starts_at: f64,
    /// End (unix seconds) of a resolved alert.
    pub ends_at: Option<f64>,
    /// Who acknowledged or resolved it.
    pub ack_by: Option<String>,
    /// Their note.
    pub ack_note: Option<String>,
    /// Escalation level (0 = not escalated).
    pub escalation_level: u32,
}

/// An anomaly event (the JSON of `GET /api/v1/anomalies`) plus an excerpt of its series.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnomalyData {
    /// Event id.
    pub id: String,
    /// Source metric.
    pub metric: String,
    /// Source labels.
    pub labels: LabelSet,
    /// Start (unix seconds).
    pub start: f64,
    /// End, `None` while open.
    pub end: Option<f64>,
    /// Still open.
    pub active: bool,
    /// Highest score.
    pub peak_score: f64,
    /// When the peak happened.
    pub peak_at: f64,
    /// `low`, `medium`, `high`, `critical`.
    pub severity: String,
    /// Pattern name.
    pub pattern: Option<String>,
    /// Plain-language explanation.
    pub insight: String,
    /// The series around the event, for its chart.
    pub excerpt: Vec<(f64, f64)>,
}

/// Everything a dashboard shows, filled by the server.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DashboardData {
    /// Query results keyed by (panel id, query index) — see `Dashboard::queries`.
    pub results: BTreeMap<(String, usize), QueryResult>,
    /// Every KPI value (KPI panels pick theirs by name).
    pub kpis: Vec<crate::kpi::KpiValue>,
    /// Alerts (alert panels filter them).
    pub alerts: Vec<AlertData>,
    /// Anomaly events, newest first (anomaly panels filter them).
    pub anomalies: Vec<AnomalyData>,
}

impl DashboardData {
    /// Stores the result of query `index` of panel `panel_id`.
    pub fn set(&mut self, panel_id: &str, index: usize, r: QueryResult) {
        self.results.insert((panel_id.to_string(), index), r);
    }
    /// The result of query `index` of panel `panel_id`, if set.
    pub(super) fn get(&self, panel_id: &str, index: usize) -> Option<&QueryResult> {
        self.results.get(&(panel_id.to_string(), index))
    }
}

/// A link in the dashboard navigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavItem {
    /// URL name.
    pub name: String,
    /// Title.
    pub title: Text,
}

impl NavItem {
    /// The navigation entry of a dashboard.
    pub fn of(d: &Dashboard) -> NavItem {
        NavItem {
            name: d.name.clone(),
            title: d.title.clone(),
        }
    }
}
