//! The `limits:` section of vigia's configuration: what one ingest request may carry, checked,
//! and turned into [`Limits`].

use crate::Limits;
use serde::{Deserialize, Serialize};

/// `limits:` — per ingest request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Most series per request.
    pub max_series_per_request: usize,
    /// Most samples per request.
    pub max_samples_per_request: usize,
    /// Most labels per series.
    pub max_label_count: usize,
    /// Longest label name.
    pub max_label_name_length: usize,
    /// Longest label value.
    pub max_label_value_length: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let d = Limits::default();
        Self {
            max_series_per_request: d.max_series_per_request,
            max_samples_per_request: d.max_samples_per_request,
            max_label_count: d.max_label_count,
            max_label_name_length: d.max_label_name_len,
            max_label_value_length: d.max_label_value_len,
        }
    }
}

impl LimitsConfig {
    /// Every problem, each prefixed with `limits.<field>` (a zero limit would refuse everything).
    pub fn validate(&self) -> Vec<String> {
        [
            ("max_series_per_request", self.max_series_per_request),
            ("max_samples_per_request", self.max_samples_per_request),
            ("max_label_count", self.max_label_count),
            ("max_label_name_length", self.max_label_name_length),
            ("max_label_value_length", self.max_label_value_length),
        ]
        .into_iter()
        .filter(|(_, v)| *v == 0)
        .map(|(k, _)| format!("limits.{k}: must be at least 1"))
        .collect()
    }

    /// The decoders' limits.
    pub fn limits(&self) -> Limits {
        Limits {
            max_series_per_request: self.max_series_per_request,
            max_samples_per_request: self.max_samples_per_request,
            max_label_count: self.max_label_count,
            max_label_name_len: self.max_label_name_length,
            max_label_value_len: self.max_label_value_length,
        }
    }
}
