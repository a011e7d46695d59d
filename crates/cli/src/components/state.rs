//! Stage 6: the HTTP layer's view of everything started before it ([`AppState`]).

use crate::config::Config;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use vigia_server::MetricsFn;
use vigia_server::{AppState, BuildInfo, ReloadFn, RuntimeSettings};

/// The settings a reload may change.
pub(crate) fn runtime_settings(cfg: &Config) -> RuntimeSettings {
    RuntimeSettings {
        auth: cfg.web.auth(),
        limits: cfg.limits.limits(),
        max_body_bytes: cfg.web.max_body_bytes(),
        config_yaml: crate::config::redacted_config(cfg),
        query_timeout: cfg.query.timeout.to_std(),
        kpis: cfg.kpis.clone(),
        dashboards: cfg.dashboard_defs.clone(),
    }
}

/// vigia's version information.
fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        revision: option_env!("VIGIA_REVISION").unwrap_or("unknown").into(),
        branch: "main".into(),
        build_user: "vigia".into(),
        build_date: "unknown".into(),
        go_version: format!(
            "rustc {}",
            option_env!("CARGO_PKG_RUST_VERSION").unwrap_or("1.95")
        ),
    }
}

/// What the state is built from.
pub(super) struct Parts {
    pub storage: Arc<vigia_tsdb::Tsdb>,
    pub appender: Arc<dyn vigia_model::Appender>,
    pub metadata: Arc<vigia_ingest::MetadataStore>,
    pub rules: Arc<vigia_rules::RuleManager>,
    pub alerting: Option<Arc<dyn vigia_server::alerting::AlertHub>>,
    pub events: Arc<vigia_ingest::events::EventsIngestor>,
    pub anomalies: Option<Arc<dyn vigia_model::AnomalyFeed>>,
    pub scrape: Arc<vigia_ingest::scrape::ScrapeManager>,
    pub extra_metrics: Vec<MetricsFn>,
    pub reload: ReloadFn,
    pub flags: BTreeMap<String, String>,
    pub admin_api: bool,
}

/// Builds the server state for `cfg`.
pub(super) fn build(cfg: &Config, p: Parts) -> Arc<AppState> {
    let version = env!("CARGO_PKG_VERSION");
    Arc::new(AppState {
        appender: p.appender,
        querier: p.storage.clone(),
        admin: p.storage.clone(),
        engine: Arc::new(vigia_promql::Engine::new(cfg.query.engine_options())),
        metadata: p.metadata,
        rules: Some(p.rules),
        alerting: p.alerting,
        events: Some(p.events),
        anomalies: p.anomalies,
        scrape: Some(p.scrape),
        metrics: Arc::new(vigia_server::metrics::SelfMetrics::new(
            p.storage.clone(),
            version,
            p.extra_metrics,
        )),
        settings: parking_lot::RwLock::new(Arc::new(runtime_settings(cfg))),
        reload: Some(p.reload),
        flags: p.flags,
        admin_api: p.admin_api,
        accepting_writes: AtomicBool::new(true),
        ready: AtomicBool::new(true),
        query_slots: Arc::new(tokio::sync::Semaphore::new(cfg.query.max_concurrent.max(1))),
        build: build_info(),
        start_time: chrono::Utc::now().timestamp_millis() as f64 / 1000.0,
    })
}
