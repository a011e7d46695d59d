//! `vigia serve`: opens storage, starts scraping and the HTTP server, handles SIGHUP (reload) and
//! SIGINT/SIGTERM (graceful shutdown: stop writes, drain requests, flush, exit 0).
//!
//! Start order follows the data: storage → ingest → server; shutdown runs in reverse.

use crate::config::{self, Config};
use anyhow::Context;
use clap::Args;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use vigia_model::StorageAdmin;
use vigia_server::{AppState, BuildInfo, RuntimeSettings};

/// Flags of `vigia serve`. Flags override environment (`VIGIA_<SECTION>_<KEY>`) and the file.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9400")]
    pub listen: SocketAddr,
    /// Data directory (WAL, blocks, state).
    #[arg(long, default_value = "./vigia-data")]
    pub data_dir: PathBuf,
    /// YAML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Enable /api/v1/admin/* (flush, delete_series, snapshot).
    #[arg(long)]
    pub enable_admin_api: bool,
    /// Override storage.retention (e.g. 30d).
    #[arg(long)]
    pub retention: Option<vigia_model::PromDuration>,
    /// Override storage.retention_size (e.g. 50GB).
    #[arg(long)]
    pub retention_size: Option<vigia_model::ByteSize>,
    /// Override query.timeout (e.g. 30s).
    #[arg(long)]
    pub query_timeout: Option<vigia_model::PromDuration>,
    /// Extra Prometheus rule file (repeatable), besides `rule_files:` of the configuration.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Log level filter (error, warn, info, debug, trace), or RUST_LOG syntax.
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Loads the configuration and applies command-line flags (highest precedence).
fn load_config(args: &ServeArgs) -> Result<Config, config::ConfigErrors> {
    let mut cfg = config::load(args.config.as_deref())?;
    if let Some(r) = args.retention {
        cfg.storage.retention = r;
    }
    if let Some(s) = args.retention_size {
        cfg.storage.retention_size = s;
    }
    if let Some(t) = args.query_timeout {
        cfg.query.timeout = t;
    }
    Ok(cfg)
}

/// Loads every rule group of the configuration and of `--rules`; all errors are reported.
fn load_rules(cfg: &Config, args: &ServeArgs) -> Result<Vec<vigia_rules::Group>, String> {
    let mut paths = vigia_template::expand_globs(&cfg.rule_files, &cfg.base_dir)
        .map_err(|e| format!("rule_files: {e}"))?;
    paths.extend(args.rules.iter().cloned());
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    vigia_rules::load_files(&paths).map_err(|errs| {
        errs.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// PromQL engine limits of the `query:` section (the API's engine and the rules' engine).
fn engine_options(cfg: &Config) -> vigia_promql::EngineOptions {
    vigia_promql::EngineOptions {
        timeout: cfg.query.timeout.to_std(),
        max_samples: cfg.query.max_samples,
        lookback_delta_ms: cfg.query.lookback_delta.as_millis(),
        ..vigia_promql::EngineOptions::default()
    }
}

fn runtime_settings(cfg: &Config) -> RuntimeSettings {
    RuntimeSettings {
        auth: vigia_server::auth::AuthConfig {
            users: cfg.web.users.clone(),
            tokens: cfg.web.tokens.clone(),
        },
        limits: cfg.limits.to_limits(),
        max_body_bytes: cfg
            .web
            .max_body_size
            .map(|b| b.0 as usize)
            .unwrap_or(32 << 20),
        config_yaml: config::redacted_config(cfg),
        query_timeout: cfg.query.timeout.to_std(),
        kpis: cfg.kpis.clone(),
        dashboards: cfg.dashboard_defs.clone(),
    }
}

fn flags(args: &ServeArgs, cfg: &Config) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("listen".into(), args.listen.to_string());
    m.insert("data-dir".into(), args.data_dir.display().to_string());
    m.insert(
        "config".into(),
        args.config
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    m.insert("enable-admin-api".into(), args.enable_admin_api.to_string());
    m.insert(
        "storage.tsdb.retention.time".into(),
        cfg.storage.retention.to_string(),
    );
    m.insert(
        "storage.tsdb.retention.size".into(),
        cfg.storage.retention_size.0.to_string(),
    );
    m.insert("query.timeout".into(), cfg.query.timeout.to_string());
    m.insert(
        "query.max-samples".into(),
        cfg.query.max_samples.to_string(),
    );
    m.insert(
        "query.lookback-delta".into(),
        cfg.query.lookback_delta.to_string(),
    );
    m.insert(
        "query.max-concurrency".into(),
        cfg.query.max_concurrent.to_string(),
    );
    m
}

/// Called once the server listens, with its state and base URL (used by `vigia demo`).
pub type OnReady = Box<dyn FnOnce(Arc<AppState>, String) + Send>;

/// Entry point of `vigia serve`.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    run_with(args, None)
}

/// Runs the server; `on_ready` is called once it listens.
pub fn run_with(args: ServeArgs, on_ready: Option<OnReady>) -> anyhow::Result<ExitCode> {
    init_logging(&args.log_level);
    let cfg = match load_config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprint!("{e}");
            return Ok(ExitCode::from(1));
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(serve(args, cfg, on_ready))
}

async fn serve(
    args: ServeArgs,
    cfg: Config,
    on_ready: Option<OnReady>,
) -> anyhow::Result<ExitCode> {
    let start_time = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating data directory {}", args.data_dir.display()))?;
    let opts = vigia_tsdb::TsdbOptions {
        retention_ms: cfg.storage.retention.as_millis(),
        retention_bytes: cfg.storage.retention_size.0,
        block_duration_ms: cfg.storage.block_duration.as_millis(),
        ooo_window_ms: cfg.storage.out_of_order_window.as_millis(),
        max_series: cfg.storage.max_series,
        ..vigia_tsdb::TsdbOptions::default()
    };
    let dir = args.data_dir.clone();
    tracing::info!(data_dir = %dir.display(), "opening storage");
    let db = tokio::task::spawn_blocking(move || vigia_tsdb::Tsdb::open(&dir, opts))
        .await
        .context("storage task")?
        .with_context(|| format!("opening storage in {}", args.data_dir.display()))?;

    let version = env!("CARGO_PKG_VERSION");
    let metrics = Arc::new(vigia_server::metrics::SelfMetrics::new(db.clone(), version));
    let metadata = Arc::new(vigia_ingest::MetadataStore::default());
    let engine = Arc::new(vigia_promql::Engine::new(engine_options(&cfg)));
    // Live anomaly detection taps every ingestion path by wrapping the storage appender.
    let live = cfg
        .anomaly
        .to_live()
        .map_err(|e| anyhow::anyhow!(e.join("; ")))?;
    let (appender, anomaly): (
        Arc<dyn vigia_model::Appender>,
        Option<Arc<vigia_anomaly::AnomalyEngine>>,
    ) = if live.selectors.is_empty() {
        (db.clone(), None)
    } else {
        let engine =
            vigia_anomaly::AnomalyEngine::new(db.clone(), &args.data_dir.join("anomaly"), live)?;
        engine.set_history(db.clone());
        let (e2, db2) = (engine.clone(), db.clone());
        let warmed = tokio::task::spawn_blocking(move || {
            e2.warm_up(db2.as_ref(), chrono::Utc::now().timestamp_millis())
        })
        .await
        .context("warm-up task")??;
        tracing::info!(config_hash = %engine.config_hash(), series = engine.series_count(), samples = warmed, "anomaly detection on");
        println!("anomaly detector config {}", engine.config_hash());
        (
            engine.clone() as Arc<dyn vigia_model::Appender>,
            Some(engine),
        )
    };
    let scrape = Arc::new(vigia_ingest::scrape::ScrapeManager::new(
        appender.clone(),
        metadata.clone(),
    ));
    let (events_dir, ev_appender) = (args.data_dir.join("events"), appender.clone());
    let events = tokio::task::spawn_blocking(move || {
        vigia_ingest::events::EventsIngestor::open(&events_dir, ev_appender.as_ref())
    })
    .await
    .context("events task")?
    .context("opening the events log")?;
    // Rules: evaluated on their own threads, reading storage and writing through the same
    // appender as ingestion (so anomaly scores of recorded series are computed too).
    let groups = load_rules(&cfg, &args).map_err(|e| anyhow::anyhow!("rule files:\n{e}"))?;
    // Alert management: rule alerts are routed, grouped, silenced, escalated and delivered
    // through the durable outbox.
    let external_url = cfg
        .web
        .external_url
        .as_ref()
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let alerting = crate::alerting::start(
        &cfg,
        &args.data_dir,
        &external_url,
        tokio::runtime::Handle::current(),
    )?;
    let hub = alerting.hub.clone();
    let alerting_hub = alerting.hub.clone();
    let alerting_metrics = Arc::new(Mutex::new(None::<crate::alerting::Running>));
    let external_labels = cfg.global.external_labels.clone();
    let rules = Arc::new(
        vigia_rules::RuleManager::new(
            vigia_promql::Engine::new(engine_options(&cfg)),
            db.clone(),
            appender.clone(),
            Arc::new(vigia_model::SystemClock),
            Arc::new(move |alerts: Vec<vigia_model::Alert>| {
                let postable = crate::alerting::postable(&alerts, &external_labels);
                if postable.is_empty() {
                    return;
                }
                if let Err(e) = vigia_server::alerting::AlertHub::put_alerts(hub.as_ref(), postable)
                {
                    tracing::warn!(error = %e, "alerts not accepted by alert routing");
                }
            }),
        )
        .with_options(vigia_rules::ManagerOptions {
            external_url: external_url.clone(),
            // Prometheus's --rules.alert.resend-delay.
            resend_delay_ms: 60_000,
            ..vigia_rules::ManagerOptions::default()
        }),
    );
    tracing::info!(groups = groups.len(), "rules loaded");
    rules.set_groups(groups);
    rules.start();
    *alerting_metrics.lock() = Some(alerting);
    scrape
        .apply(&cfg.global, &cfg.scrape_configs)
        .context("starting scrape loops")?;

    let current = Arc::new(Mutex::new(cfg.clone()));
    let state_slot: Arc<Mutex<Option<Arc<AppState>>>> = Arc::new(Mutex::new(None));
    let reload: vigia_server::ReloadFn = {
        let (args, current, scrape, slot) = (
            args.clone(),
            current.clone(),
            scrape.clone(),
            state_slot.clone(),
        );
        let anomaly_for_reload = anomaly.clone();
        let db_for_reload = db.clone();
        let rules_for_reload = rules.clone();
        let alerting_for_reload = alerting_metrics.clone();
        let url_for_reload = external_url.clone();
        Arc::new(move || {
            // One reload at a time (SIGHUP and /-/reload may race): hold the current config.
            let mut current = current.lock();
            let new = load_config(&args).map_err(|e| e.to_string())?;
            let live = new.anomaly.to_live().map_err(|e| e.join("; "))?;
            if anomaly_for_reload.is_none() && !live.selectors.is_empty() {
                return Err(
                    "anomaly detection was off at start: enabling it needs a restart".into(),
                );
            }
            let groups = load_rules(&new, &args)?;
            scrape
                .apply(&new.global, &new.scrape_configs)
                .map_err(|e| e.to_string())?;
            if let Some(a) = &anomaly_for_reload
                && a.reconfigure(live)
            {
                // New detector settings: warm the fresh detectors up from stored history.
                let (a, db) = (a.clone(), db_for_reload.clone());
                std::thread::spawn(move || {
                    match a.warm_up(db.as_ref(), chrono::Utc::now().timestamp_millis()) {
                        Ok(n) => {
                            tracing::info!(config_hash = %a.config_hash(), samples = n, "anomaly detectors re-warmed after a settings change")
                        }
                        Err(e) => tracing::warn!(error = %e, "anomaly warm-up after reload failed"),
                    }
                });
            }
            if let Some(a) = alerting_for_reload.lock().as_ref() {
                a.reload(&new, &url_for_reload)?;
            }
            rules_for_reload.set_groups(groups);
            if let Some(state) = slot.lock().as_ref() {
                *state.settings.write() = Arc::new(runtime_settings(&new));
            }
            *current = new;
            tracing::info!("configuration reloaded");
            Ok(())
        })
    };

    let state = Arc::new(AppState {
        appender,
        querier: db.clone(),
        admin: db.clone(),
        engine,
        metadata,
        rules: Some(rules.clone()),
        alerting: Some(alerting_hub as Arc<dyn vigia_server::alerting::AlertHub>),
        events: Some(Arc::new(events)),
        anomalies: anomaly
            .clone()
            .map(|a| a as Arc<dyn vigia_model::AnomalyFeed>),
        scrape: Some(scrape.clone()),
        metrics,
        extra_metrics: vec![
            {
                let rules = rules.clone();
                Arc::new(move || rules.metrics_text())
            },
            {
                let a = alerting_metrics.clone();
                Arc::new(move || {
                    a.lock()
                        .as_ref()
                        .map(|r| r.metrics_text())
                        .unwrap_or_default()
                })
            },
        ],
        settings: parking_lot::RwLock::new(Arc::new(runtime_settings(&cfg))),
        reload: Some(reload.clone()),
        flags: flags(&args, &cfg),
        admin_api: args.enable_admin_api,
        accepting_writes: AtomicBool::new(true),
        ready: AtomicBool::new(true),
        query_slots: Arc::new(tokio::sync::Semaphore::new(cfg.query.max_concurrent.max(1))),
        build: BuildInfo {
            version: version.into(),
            revision: option_env!("VIGIA_REVISION").unwrap_or("unknown").into(),
            branch: "main".into(),
            build_user: "vigia".into(),
            build_date: "unknown".into(),
            go_version: format!(
                "rustc {}",
                option_env!("CARGO_PKG_RUST_VERSION").unwrap_or("1.95")
            ),
        },
        start_time,
    });
    *state_slot.lock() = Some(state.clone());

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let local = listener.local_addr().context("local address")?;
    let scheme = if cfg.web.tls_server_config.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(address = %local, "vigia is listening");
    println!("vigia listening on {scheme}://{local}");
    if let Some(f) = on_ready {
        f(state.clone(), format!("{scheme}://{local}"));
    }

    // Event series are re-emitted once a minute, as a scrape would, so instant queries see
    // them between events.
    let hb_state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            let s = hb_state.clone();
            let res = tokio::task::spawn_blocking(move || match &s.events {
                Some(ev) => ev
                    .heartbeat(chrono::Utc::now().timestamp_millis(), s.appender.as_ref())
                    .map(|_| ()),
                None => Ok(()),
            })
            .await;
            if let Ok(Err(e)) = res {
                tracing::warn!(error = %e, "events heartbeat failed");
            }
        }
    });

    // SIGHUP reloads; SIGINT/SIGTERM shut down.
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("installing SIGHUP handler")?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let r = reload.clone();
            match tokio::task::spawn_blocking(move || r()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "reload failed; keeping the running configuration")
                }
                Err(e) => tracing::error!(error = %e, "reload task failed"),
            }
        }
    });
    let shutdown_state = state.clone();
    let shutdown = async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot install SIGTERM handler");
                    std::future::pending::<()>().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
        tracing::info!("shutting down: refusing new writes");
        shutdown_state
            .accepting_writes
            .store(false, Ordering::Release);
        shutdown_state.ready.store(false, Ordering::Release);
    };

    let app = vigia_server::router(state.clone());
    match &cfg.web.tls_server_config {
        Some(tls) => {
            let tls_cfg = vigia_server::tls::load_config(&tls.cert_file, &tls.key_file)
                .context("loading TLS certificate and key")?;
            let tls_listener =
                vigia_server::tls::TlsListener::new(listener, tls_cfg).context("TLS listener")?;
            axum::serve(tls_listener, app)
                .with_graceful_shutdown(shutdown)
                .await
                .context("HTTPS server")?;
        }
        None => axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("HTTP server")?,
    }

    tracing::info!("stopping rules and scrapes");
    rules.stop();
    if let Some(mut a) = alerting_metrics.lock().take() {
        a.stop();
    }
    scrape.shutdown().await;
    tracing::info!("flushing storage");
    let db2 = db.clone();
    tokio::task::spawn_blocking(move || db2.close())
        .await
        .context("close task")?
        .context("closing storage")?;
    tracing::info!("bye");
    Ok(ExitCode::SUCCESS)
}
