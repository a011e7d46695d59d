//! Anomaly events: what the live detector reports, shared between the component that detects
//! them and the HTTP API that lists them.

use crate::Labels;

/// Severity bands of anomaly events, lowest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Score in the low band.
    Low,
    /// Score in the medium band.
    Medium,
    /// Score in the high band.
    High,
    /// Score in the critical band.
    Critical,
}

/// A severity name that is not one of the bands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}: use low, medium, high or critical")]
pub struct UnknownSeverity(pub String);

impl std::str::FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" | "warning" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(UnknownSeverity(s.to_string())),
        }
    }
}

/// One anomaly event on one series.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AnomalyEvent {
    /// Stable identifier.
    pub id: String,
    /// The source series' metric name.
    pub metric: String,
    /// The source series' labels (including `__name__`).
    pub labels: Labels,
    /// First sample at or above the lowest band (ms).
    pub start_ms: i64,
    /// Last anomalous sample (ms); `None` while the event is still open.
    pub end_ms: Option<i64>,
    /// Highest score seen.
    pub peak_score: f64,
    /// When the peak was seen (ms).
    pub peak_ms: i64,
    /// Band of the peak score.
    pub severity: Severity,
    /// Named pattern (spike, dip, level_shift, trend_change, variance_change, missing_data).
    pub pattern: Option<String>,
    /// A plain-language sentence describing the event.
    pub insight: String,
}

/// Read access to anomaly events, for the HTTP API.
pub trait AnomalyFeed: Send + Sync {
    /// Events overlapping `[since_ms, until_ms]` with severity ≥ `min_severity`, newest first.
    fn events(&self, since_ms: i64, until_ms: i64, min_severity: Severity) -> Vec<AnomalyEvent>;
}
