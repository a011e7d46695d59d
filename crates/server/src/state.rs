//! Shared state of the server: the storage traits, engines, settings that can be reloaded, and
//! the flags describing how the process was started.

use crate::auth::AuthConfig;
use crate::metrics::SelfMetrics;
use parking_lot::RwLock;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use vigia_ingest::{Limits, MetadataStore};
use vigia_model::{Appender, Querier, StorageAdmin};

/// Reload hook: re-reads the configuration; an `Err` keeps the running configuration.
pub type ReloadFn = Arc<dyn Fn() -> Result<(), ReloadError> + Send + Sync>;

/// Why a configuration reload was refused (the running configuration stays).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ReloadError(pub String);

/// Self-metrics of another component (rules, alert routing, delivery), read at every scrape.
pub type MetricsFn = Arc<dyn Fn() -> Vec<vigia_model::MetricFamily> + Send + Sync>;

/// Settings that a configuration reload may change.
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// Who may call what.
    pub auth: AuthConfig,
    /// Ingest validation limits.
    pub limits: Limits,
    /// Largest accepted request body, bytes (after decompression limits apply separately).
    pub max_body_bytes: usize,
    /// The loaded configuration as YAML with secrets redacted, for `/api/v1/status/config`.
    pub config_yaml: String,
    /// Default query timeout.
    pub query_timeout: std::time::Duration,
    /// KPIs of the `kpis:` section.
    pub kpis: Vec<vigia_report::KpiConfig>,
    /// Dashboards (`dashboards:` files).
    pub dashboards: Vec<vigia_report::dashboard::Dashboard>,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self {
            auth: AuthConfig::default(),
            limits: Limits::default(),
            max_body_bytes: 32 << 20,
            config_yaml: String::new(),
            query_timeout: std::time::Duration::from_secs(120),
            kpis: Vec::new(),
            dashboards: Vec::new(),
        }
    }
}

/// Version information for `/api/v1/status/buildinfo` and `vigia_build_info`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// Release version.
    pub version: String,
    /// Source revision, if known.
    pub revision: String,
    /// Branch, if known.
    pub branch: String,
    /// Who built it.
    pub build_user: String,
    /// When.
    pub build_date: String,
    /// Compiler.
    pub go_version: String,
}

/// Everything handlers need.
pub struct AppState {
    /// Where samples are written.
    pub appender: Arc<dyn Appender>,
    /// Where samples are read.
    pub querier: Arc<dyn Querier>,
    /// Flush, delete, snapshot, stats.
    pub admin: Arc<dyn StorageAdmin>,
    /// The PromQL engine.
    pub engine: Arc<vigia_promql::Engine>,
    /// Metric metadata from remote_write, imports and scrapes.
    pub metadata: Arc<MetadataStore>,
    /// Recording and alerting rules, when any are loaded.
    pub rules: Option<Arc<vigia_rules::RuleManager>>,
    /// Alert management (Alertmanager v2 API, acknowledge / resolve / history), when running.
    pub alerting: Option<Arc<dyn crate::alerting::AlertHub>>,
    /// Business events (`POST /api/v1/events`).
    pub events: Option<Arc<vigia_ingest::events::EventsIngestor>>,
    /// Anomaly events, when live detection is configured.
    pub anomalies: Option<Arc<dyn vigia_model::AnomalyFeed>>,
    /// The scrape manager, when scraping is configured.
    pub scrape: Option<Arc<vigia_ingest::scrape::ScrapeManager>>,
    /// Self-monitoring (including the other components' families).
    pub metrics: Arc<SelfMetrics>,
    /// Reloadable settings.
    pub settings: RwLock<Arc<RuntimeSettings>>,
    /// Configuration reload, if the binary provides one.
    pub reload: Option<ReloadFn>,
    /// Command-line flags for `/api/v1/status/flags`.
    pub flags: BTreeMap<String, String>,
    /// Whether `/api/v1/admin/*` is enabled.
    pub admin_api: bool,
    /// False once shutdown begins: writes get 503.
    pub accepting_writes: AtomicBool,
    /// False until startup (WAL replay) is complete.
    pub ready: AtomicBool,
    /// Bounds concurrent queries.
    pub query_slots: Arc<tokio::sync::Semaphore>,
    /// Version information.
    pub build: BuildInfo,
    /// Process start, Unix seconds.
    pub start_time: f64,
}

impl AppState {
    /// The current reloadable settings.
    pub fn settings(&self) -> Arc<RuntimeSettings> {
        self.settings.read().clone()
    }
}
