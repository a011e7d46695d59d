//! Stage 5: recording and alerting rules, evaluated on their own threads over storage and
//! writing through the same appender as ingestion (so recorded series are scored too); their
//! alerts go to alert routing like Prometheus's notifier.

use crate::config::Config;
use std::path::PathBuf;
use std::sync::Arc;
use vigia_model::{Appender, Querier};
use vigia_rules::{Group, ManagerOptions, RuleManager};
use vigia_server::alerting::AlertHub;

/// Loads every rule group of `rule_files:` and of `extra` (`--rules`); all errors are reported.
pub(crate) fn load(cfg: &Config, extra: &[PathBuf]) -> anyhow::Result<Vec<Group>> {
    let mut paths = vigia_template::expand_globs(&cfg.rule_files, &cfg.base_dir)
        .map_err(|e| anyhow::anyhow!("rule_files: {e}"))?;
    paths.extend(extra.iter().cloned());
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    vigia_rules::load_files(&paths).map_err(|errs| {
        let lines: Vec<String> = errs.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("rule files:\n{}", lines.join("\n"))
    })
}

/// Starts the rule manager with `groups`; alerts are handed to `hub`.
pub(super) fn start(
    cfg: &Config,
    groups: Vec<Group>,
    querier: Arc<dyn Querier>,
    appender: Arc<dyn Appender>,
    hub: Arc<dyn AlertHub>,
    external_url: &str,
) -> Arc<RuleManager> {
    let external_labels = cfg.global.external_labels.clone();
    let notify = move |alerts: Vec<vigia_model::Alert>| {
        let postable = crate::alerting::postable(&alerts, &external_labels);
        if postable.is_empty() {
            return;
        }
        if let Err(e) = hub.put_alerts(postable) {
            tracing::warn!(error = %e, "alerts not accepted by alert routing");
        }
    };
    let rules = Arc::new(
        RuleManager::new(
            vigia_promql::Engine::new(cfg.query.engine_options()),
            querier,
            appender,
            Arc::new(vigia_model::SystemClock),
            Arc::new(notify),
        )
        .with_options(ManagerOptions {
            external_url: external_url.to_string(),
            // Prometheus's --rules.alert.resend-delay.
            resend_delay_ms: 60_000,
            ..ManagerOptions::default()
        }),
    );
    tracing::info!(groups = groups.len(), "rules loaded");
    rules.set_groups(groups);
    rules.start();
    rules
}
