//! Prometheus-style scraping: configuration ([`ScrapeConfig`], [`GlobalConfig`]), target
//! discovery (static and file-based), target relabelling, one tokio task per target that
//! fetches, parses, relabels and appends samples (with staleness markers and the synthetic
//! `up` / `scrape_*` series), and the [`ScrapeManager`] that starts, replaces and stops those
//! tasks on configuration reload and reports their health for `/api/v1/targets`.

mod config;
mod discovery;
mod manager;
mod scrape_loop;
mod status;
mod target;

pub use config::{
    Authorization, BasicAuth, ByteSize, FileSdConfig, GlobalConfig, ScrapeConfig, Secret,
    StaticConfig, TlsConfig, validate,
};
pub use discovery::TargetGroup;
pub use manager::ScrapeManager;
pub use status::{ActiveTarget, DroppedTarget, TargetsStatus};

/// The `Accept` header sent with scrapes, preferring OpenMetrics like Prometheus does.
pub const ACCEPT_HEADER: &str = "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
