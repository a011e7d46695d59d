//! Settings of live detection: which series are scored, warm-up, limits, the detector
//! configuration and the score bands of the severities.

use vigia_ml::{DetectorConfig, Method};
use vigia_model::{Labels, Matcher, PromDuration, Severity};

/// Score thresholds of the severity bands.
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bands {
    /// Lowest score that opens an event.
    pub low: f64,
    /// Medium from here.
    pub medium: f64,
    /// High from here.
    pub high: f64,
    /// Critical from here.
    pub critical: f64,
}

impl Default for Bands {
    fn default() -> Self {
        Self {
            low: 0.7,
            medium: 0.8,
            high: 0.9,
            critical: 0.97,
        }
    }
}

impl Bands {
    /// The band of `score`, if any.
    pub fn severity(&self, score: f64) -> Option<Severity> {
        if score >= self.critical {
            Some(Severity::Critical)
        } else if score >= self.high {
            Some(Severity::High)
        } else if score >= self.medium {
            Some(Severity::Medium)
        } else if score >= self.low {
            Some(Severity::Low)
        } else {
            None
        }
    }

    /// Bands must rise strictly within (0, 1].
    pub fn validate(&self) -> Result<(), BandsError> {
        let v = [self.low, self.medium, self.high, self.critical];
        if v.iter().all(|x| *x > 0.0 && *x <= 1.0) && v.windows(2).all(|w| w[0] < w[1]) {
            Ok(())
        } else {
            Err(BandsError(v))
        }
    }
}

/// Bands that do not rise strictly within (0, 1] (low, medium, high, critical).
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("anomaly bands must rise strictly within (0, 1]: {0:?}")]
pub struct BandsError(pub [f64; 4]);

/// The `anomaly:` section of vigia's configuration: live detection on selected series.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    /// PromQL series selectors of the series to score (none = detection off).
    pub selectors: Vec<String>,
    /// History replayed into the detectors at start (default 24h).
    pub warmup: PromDuration,
    /// Score thresholds of the low/medium/high/critical bands.
    pub bands: Bands,
    /// Consecutive samples below the low band that end an event (default 5).
    pub close_after: usize,
    /// Most series scored (default 10,000).
    pub max_series: usize,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            selectors: Vec::new(),
            warmup: PromDuration(24 * 3_600_000),
            bands: Bands::default(),
            close_after: 5,
            max_series: 10_000,
        }
    }
}

impl AnomalyConfig {
    /// Every problem, each prefixed with `anomaly.<field>`.
    pub fn validate(&self) -> Vec<String> {
        self.live().err().unwrap_or_default()
    }

    /// The live engine's settings (selectors parsed with the PromQL parser), or every problem.
    pub fn live(&self) -> Result<LiveConfig, Vec<String>> {
        let mut errs = Vec::new();
        let mut selectors = Vec::new();
        for (i, s) in self.selectors.iter().enumerate() {
            match vigia_promql::parse_selector(s) {
                Ok(m) => selectors.push(m),
                Err(e) => errs.push(format!("anomaly.selectors[{i}]: {e}")),
            }
        }
        if let Err(e) = self.bands.validate() {
            errs.push(format!("anomaly.bands: {e}"));
        }
        if self.close_after == 0 {
            errs.push("anomaly.close_after: must be at least 1".into());
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(LiveConfig {
            selectors,
            warmup_ms: self.warmup.as_millis(),
            bands: self.bands,
            close_after: self.close_after,
            max_series: self.max_series,
            detector: DetectorConfig::default(),
        })
    }
}

/// Live settings.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Series scored: any of these matcher sets.
    pub selectors: Vec<Vec<Matcher>>,
    /// History replayed into new detectors at start (ms).
    pub warmup_ms: i64,
    /// Severity bands.
    pub bands: Bands,
    /// Samples below the lowest band that close an open event.
    pub close_after: usize,
    /// Most series scored at once.
    pub max_series: usize,
    /// The detector configuration (one for every series).
    pub detector: DetectorConfig,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            selectors: Vec::new(),
            warmup_ms: 24 * 3_600_000,
            bands: Bands::default(),
            close_after: 5,
            max_series: 10_000,
            detector: DetectorConfig::default(),
        }
    }
}

/// Samples before a first flag that the detector judged with it: its feature window (block
/// length × window points for the ART method).
pub(crate) fn lead_len(cfg: &LiveConfig) -> usize {
    match cfg.detector.method {
        Method::Art => (cfg.detector.art.downsample() * cfg.detector.art.window) as usize,
        Method::Stream => 0,
    }
}

/// Whether `l` matches one of the configured selectors.
pub(crate) fn selected(cfg: &LiveConfig, l: &Labels) -> bool {
    cfg.selectors
        .iter()
        .any(|ms| ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
}
