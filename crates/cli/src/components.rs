//! The running process as one value: every component started stage by stage in data-flow order
//! (storage → live detection → ingest → alerting → rules → HTTP state) and stopped in reverse,
//! with [`Components::reload`] applying a new configuration all-or-nothing. `vigia serve`,
//! `vigia demo` and the in-process API tests build the same graph.

mod ingest;
mod rules;
mod state;
mod storage;

pub(crate) use state::runtime_settings;

use crate::alerting;
use crate::config::{Config, ConfigErrors};
use anyhow::Context;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};
use vigia_anomaly::AnomalyEngine;
use vigia_ingest::scrape::ScrapeManager;
use vigia_model::StorageAdmin;
use vigia_rules::RuleManager;
use vigia_server::{AppState, ReloadError, ReloadFn};
use vigia_tsdb::Tsdb;

/// Where a reload reads the configuration from (file, environment and flags for `vigia serve`).
pub type ConfigSource = Arc<dyn Fn() -> Result<Config, ConfigErrors> + Send + Sync>;

/// How the process was started.
pub struct StartOptions {
    /// Data directory (WAL, blocks, state).
    pub data_dir: PathBuf,
    /// Address the server listens on (the default external URL).
    pub listen: SocketAddr,
    /// Whether `/api/v1/admin/*` is enabled.
    pub enable_admin_api: bool,
    /// Rule files besides `rule_files:` (`--rules`).
    pub extra_rules: Vec<PathBuf>,
    /// Command-line flags for `/api/v1/status/flags`.
    pub flags: BTreeMap<String, String>,
    /// Where a reload reads the configuration; `None`: reloads are refused.
    pub source: Option<ConfigSource>,
}

/// Every running component.
pub struct Components {
    /// The embedded TSDB.
    pub storage: Arc<Tsdb>,
    /// Live anomaly detection, when configured.
    pub anomaly: Option<Arc<AnomalyEngine>>,
    /// Scrape loops.
    pub scrape: Arc<ScrapeManager>,
    /// Recording and alerting rules.
    pub rules: Arc<RuleManager>,
    /// Alert routing and delivery.
    alerting: Arc<Mutex<Option<alerting::Running>>>,
    /// What the HTTP layer sees.
    pub state: Arc<AppState>,
    heartbeat: Mutex<Option<tokio::task::JoinHandle<()>>>,
    current: Mutex<Config>,
    extra_rules: Vec<PathBuf>,
    external_url: String,
    source: Option<ConfigSource>,
}

impl Components {
    /// Starts everything for `cfg`; must run inside a tokio runtime.
    pub async fn start(cfg: Config, opts: StartOptions) -> anyhow::Result<Arc<Components>> {
        let storage = storage::open(&cfg, &opts.data_dir).await?;
        let (appender, anomaly) = storage::detection(&cfg, &opts.data_dir, &storage).await?;
        let metadata = Arc::new(vigia_ingest::MetadataStore::default());
        let scrape = ingest::scrape(&appender, &metadata);
        let events = ingest::events(&opts.data_dir, &appender).await?;
        let external_url = cfg
            .web
            .external_url
            .as_ref()
            .map(|u| u.trim_end_matches('/').to_string())
            .unwrap_or_else(|| format!("http://{}", opts.listen));
        let running = alerting::start(
            &cfg,
            &opts.data_dir,
            &external_url,
            tokio::runtime::Handle::current(),
        )?;
        let hub = running.hub.clone();
        let groups = rules::load(&cfg, &opts.extra_rules)?;
        let rules = rules::start(
            &cfg,
            groups,
            storage.clone(),
            appender.clone(),
            hub.clone(),
            &external_url,
        );
        scrape
            .apply(&cfg.global, &cfg.scrape_configs)
            .context("starting scrape loops")?;
        let alerting = Arc::new(Mutex::new(Some(running)));
        let slot: Arc<OnceLock<Weak<Components>>> = Arc::default();
        let state = state::build(
            &cfg,
            state::Parts {
                storage: storage.clone(),
                appender,
                metadata,
                rules: rules.clone(),
                alerting: Some(hub),
                events,
                anomalies: anomaly
                    .clone()
                    .map(|a| a as Arc<dyn vigia_model::AnomalyFeed>),
                scrape: scrape.clone(),
                extra_metrics: metrics_fns(&rules, &alerting),
                reload: reload_fn(slot.clone()),
                flags: opts.flags,
                admin_api: opts.enable_admin_api,
            },
        );
        let heartbeat = ingest::heartbeat(state.clone());
        let c = Arc::new(Components {
            storage,
            anomaly,
            scrape,
            rules,
            alerting,
            state,
            heartbeat: Mutex::new(Some(heartbeat)),
            current: Mutex::new(cfg),
            extra_rules: opts.extra_rules,
            external_url,
            source: opts.source,
        });
        let _ = slot.set(Arc::downgrade(&c));
        Ok(c)
    }

    /// The HTTP application over this process.
    pub fn router(&self) -> axum::Router {
        vigia_server::router(self.state.clone())
    }

    /// Re-reads the configuration from the start options' source and applies it.
    pub fn reload_from_source(&self) -> Result<(), ReloadError> {
        let Some(source) = &self.source else {
            return Err(ReloadError("this process has no configuration file".into()));
        };
        let new = source().map_err(|e| ReloadError(e.to_string()))?;
        self.reload(new)
    }

    /// Applies `new` to every component, or nothing if any part refuses it.
    pub fn reload(&self, new: Config) -> Result<(), ReloadError> {
        let err = |e: &dyn std::fmt::Display| ReloadError(e.to_string());
        // One reload at a time (SIGHUP and /-/reload may race): hold the current config.
        let mut current = self.current.lock();
        let live = new.anomaly.live().map_err(|e| ReloadError(e.join("; ")))?;
        if self.anomaly.is_none() && !live.selectors.is_empty() {
            return Err(ReloadError(
                "anomaly detection was off at start: enabling it needs a restart".into(),
            ));
        }
        let groups = rules::load(&new, &self.extra_rules).map_err(|e| err(&e))?;
        self.scrape
            .apply(&new.global, &new.scrape_configs)
            .map_err(|e| err(&e))?;
        if let Some(a) = &self.anomaly
            && a.reconfigure(live)
        {
            storage::rewarm(a.clone(), self.storage.clone());
        }
        if let Some(a) = self.alerting.lock().as_ref() {
            a.reload(&new, &self.external_url).map_err(|e| err(&e))?;
        }
        self.rules.set_groups(groups);
        *self.state.settings.write() = Arc::new(runtime_settings(&new));
        *current = new;
        tracing::info!("configuration reloaded");
        Ok(())
    }

    /// Stops everything in reverse start order: writes refused, rules, alerting, ingestion,
    /// then storage is flushed and closed.
    pub async fn stop(&self) -> anyhow::Result<()> {
        self.state.accepting_writes.store(false, Ordering::Release);
        self.state.ready.store(false, Ordering::Release);
        tracing::info!("stopping rules, alerting and scrapes");
        self.rules.stop();
        if let Some(mut a) = self.alerting.lock().take() {
            a.stop();
        }
        if let Some(h) = self.heartbeat.lock().take() {
            h.abort();
        }
        self.scrape.shutdown().await;
        tracing::info!("flushing storage");
        let db = self.storage.clone();
        tokio::task::spawn_blocking(move || db.close())
            .await
            .context("close task")?
            .context("closing storage")
    }
}

/// The self-metrics of rules and alerting, appended to `/metrics`.
fn metrics_fns(
    rules: &Arc<RuleManager>,
    alerting: &Arc<Mutex<Option<alerting::Running>>>,
) -> Vec<vigia_server::MetricsFn> {
    let (r, a) = (rules.clone(), alerting.clone());
    vec![
        Arc::new(move || r.metric_families()),
        Arc::new(move || {
            a.lock()
                .as_ref()
                .map(|r| r.metric_families())
                .unwrap_or_default()
        }),
    ]
}

/// `/-/reload` and SIGHUP: reload through the components once they exist.
fn reload_fn(slot: Arc<OnceLock<Weak<Components>>>) -> ReloadFn {
    Arc::new(move || match slot.get().and_then(Weak::upgrade) {
        Some(c) => c.reload_from_source(),
        None => Err(ReloadError("vigia is still starting".into())),
    })
}
