//! `vigia serve`: loads the configuration, starts the [`Components`], serves HTTP (or HTTPS),
//! reloads on SIGHUP and `/-/reload`, and on SIGINT/SIGTERM stops accepting writes, drains
//! requests, stops the components in reverse order, flushes storage and exits 0.

use crate::components::{Components, ConfigSource, StartOptions};
use crate::config::{self, Config};
use anyhow::Context;
use clap::Args;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use vigia_server::AppState;

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
    /// Log level: error, warn, info, debug, trace (or `RUST_LOG` syntax).
    #[arg(long = "log.level", alias = "log-level", default_value = "info")]
    pub log_level: String,
    /// Log line format: logfmt or json.
    #[arg(long = "log.format", value_enum, default_value_t = crate::logging::LogFormat::Logfmt)]
    pub log_format: crate::logging::LogFormat,
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
    crate::logging::init(&args.log_level, args.log_format);
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
    let source: ConfigSource = {
        let args = args.clone();
        Arc::new(move || load_config(&args))
    };
    let tls = cfg.web.tls_server_config.clone();
    let components = Components::start(
        cfg.clone(),
        StartOptions {
            data_dir: args.data_dir.clone(),
            listen: args.listen,
            enable_admin_api: args.enable_admin_api,
            extra_rules: args.rules.clone(),
            flags: flags(&args, &cfg),
            source: Some(source),
        },
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let local = listener.local_addr().context("local address")?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(address = %local, "vigia is listening");
    println!("vigia listening on {scheme}://{local}");
    if let Some(f) = on_ready {
        f(components.state.clone(), format!("{scheme}://{local}"));
    }
    reload_on_sighup(components.clone())?;
    let app = components.router();
    let shutdown = shutdown_signal(components.state.clone());
    match tls {
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
    components.stop().await?;
    tracing::info!("bye");
    Ok(ExitCode::SUCCESS)
}

/// SIGHUP reloads the configuration; a bad one is logged and the running one stays.
fn reload_on_sighup(components: Arc<Components>) -> anyhow::Result<()> {
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("installing SIGHUP handler")?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let c = components.clone();
            match tokio::task::spawn_blocking(move || c.reload_from_source()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "reload failed; keeping the running configuration")
                }
                Err(e) => tracing::error!(error = %e, "reload task failed"),
            }
        }
    });
    Ok(())
}

/// Resolves on SIGINT or SIGTERM, after refusing new writes.
async fn shutdown_signal(state: Arc<AppState>) {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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
    state.accepting_writes.store(false, Ordering::Release);
    state.ready.store(false, Ordering::Release);
}
