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
    StaticConfig, TlsConfig, problems, validate,
};
pub use discovery::TargetGroup;
pub use manager::ScrapeManager;
pub use status::{ActiveTarget, DroppedTarget, TargetsStatus};
