//! Stage 3: ingestion besides the HTTP write endpoints: scrape loops and business events (with
//! the once-a-minute heartbeat that keeps event series visible to instant queries).

use anyhow::Context;
use std::path::Path;
use std::sync::Arc;
use vigia_ingest::MetadataStore;
use vigia_ingest::events::EventsIngestor;
use vigia_ingest::scrape::ScrapeManager;
use vigia_model::Appender;
use vigia_server::AppState;

/// The scrape manager (loops start when a configuration is applied).
pub(super) fn scrape(
    appender: &Arc<dyn Appender>,
    metadata: &Arc<MetadataStore>,
) -> Arc<ScrapeManager> {
    Arc::new(ScrapeManager::new(appender.clone(), metadata.clone()))
}

/// Opens the business events log under `<data_dir>/events` (replaying its redo log).
pub(super) async fn events(
    data_dir: &Path,
    appender: &Arc<dyn Appender>,
) -> anyhow::Result<Arc<EventsIngestor>> {
    let (dir, app) = (data_dir.join("events"), appender.clone());
    let ing = tokio::task::spawn_blocking(move || EventsIngestor::open(&dir, app.as_ref()))
        .await
        .context("events task")?
        .context("opening the events log")?;
    Ok(Arc::new(ing))
}

/// Re-emits event series once a minute, as a scrape would, so instant queries see them between
/// events.
pub(super) fn heartbeat(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            let s = state.clone();
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
    })
}
