//! The `query:` section of vigia's configuration: the engine's limits and how many queries may
//! run at once, checked, and turned into [`EngineOptions`].

use crate::EngineOptions;
use serde::{Deserialize, Serialize};
use vigia_model::PromDuration;

/// `query:` — PromQL engine limits.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryConfig {
    /// Longest a query may run (default 2m).
    pub timeout: PromDuration,
    /// Most samples a query may hold (default 50,000,000).
    pub max_samples: usize,
    /// Lookback for instant selectors (default 5m).
    pub lookback_delta: PromDuration,
    /// Most queries running at once (default 20).
    pub max_concurrent: usize,
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            timeout: PromDuration(120_000),
            max_samples: 50_000_000,
            lookback_delta: PromDuration(300_000),
            max_concurrent: 20,
        }
    }
}

impl QueryConfig {
    /// Every problem, each prefixed with `query.<field>`.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.max_concurrent == 0 {
            errs.push("query.max_concurrent: must be at least 1".into());
        }
        if self.timeout.as_millis() <= 0 {
            errs.push("query.timeout: must be positive".into());
        }
        if self.lookback_delta.as_millis() <= 0 {
            errs.push("query.lookback_delta: must be positive".into());
        }
        errs
    }

    /// The engine's options (the API's engine and the rules' engine use the same).
    pub fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            timeout: self.timeout.to_std(),
            max_samples: self.max_samples,
            lookback_delta_ms: self.lookback_delta.as_millis(),
            ..EngineOptions::default()
        }
    }
}
