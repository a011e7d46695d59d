//! Stage 1 and 2: the storage engine, and the live anomaly detector that wraps its appender so
//! every ingestion path is scored.

use crate::config::Config;
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use vigia_anomaly::AnomalyEngine;
use vigia_model::Appender;
use vigia_tsdb::Tsdb;

/// Opens (and recovers) the embedded TSDB in `data_dir`.
pub(super) async fn open(cfg: &Config, data_dir: &Path) -> anyhow::Result<Arc<Tsdb>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let opts = cfg.storage.options();
    let dir = data_dir.to_path_buf();
    tracing::info!(data_dir = %dir.display(), "opening storage");
    tokio::task::spawn_blocking(move || Tsdb::open(&dir, opts))
        .await
        .context("storage task")?
        .with_context(|| format!("opening storage in {}", data_dir.display()))
}

/// The appender every writer uses: the storage itself, or the anomaly engine in front of it when
/// detection is configured (warmed up from stored history first).
pub(super) async fn detection(
    cfg: &Config,
    data_dir: &Path,
    db: &Arc<Tsdb>,
) -> anyhow::Result<(Arc<dyn Appender>, Option<Arc<AnomalyEngine>>)> {
    let live = cfg
        .anomaly
        .live()
        .map_err(|e| anyhow::anyhow!(e.join("; ")))?;
    if live.selectors.is_empty() {
        return Ok((db.clone(), None));
    }
    let engine = AnomalyEngine::new(db.clone(), &data_dir.join("anomaly"), live)?;
    engine.set_history(db.clone());
    let (e2, db2) = (engine.clone(), db.clone());
    let warmed = tokio::task::spawn_blocking(move || {
        e2.warm_up(db2.as_ref(), chrono::Utc::now().timestamp_millis())
    })
    .await
    .context("warm-up task")??;
    tracing::info!(config_hash = %engine.config_hash(), series = engine.series_count(), samples = warmed, "anomaly detection on");
    println!("anomaly detector config {}", engine.config_hash());
    Ok((engine.clone() as Arc<dyn Appender>, Some(engine)))
}

/// Re-warms detectors from stored history after new detector settings, in the background.
pub(super) fn rewarm(engine: Arc<AnomalyEngine>, db: Arc<Tsdb>) {
    std::thread::spawn(move || {
        match engine.warm_up(db.as_ref(), chrono::Utc::now().timestamp_millis()) {
            Ok(n) => {
                tracing::info!(config_hash = %engine.config_hash(), samples = n, "anomaly detectors re-warmed after a settings change")
            }
            Err(e) => tracing::warn!(error = %e, "anomaly warm-up after reload failed"),
        }
    });
}
