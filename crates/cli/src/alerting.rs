//! Wiring of alert management: the rule manager's alerts go to vigia's Alertmanager
//! (`vigia-notify`), which routes them into the durable outbox of `vigia-receivers`; the
//! server reaches both through [`vigia_server::alerting::AlertHub`].

use std::sync::Arc;
use vigia_notify::{
    AlertFilter, Alertmanager, AmMatcher, GettableAlert, GettableSilence, NotifyError,
    PostableAlert, PostableSilence,
};
use vigia_server::alerting::{AlertHub, HistoryEntry};

/// The server's view of vigia's Alertmanager.
pub struct Hub {
    /// The dispatcher.
    pub am: Arc<Alertmanager>,
    /// Redacted YAML of the configuration, for `/api/v2/status`.
    pub config_yaml: parking_lot::RwLock<String>,
    /// Receiver names of the routing configuration.
    pub receivers: parking_lot::RwLock<Vec<String>>,
    /// Notifications handed to delivery (the in-app feed).
    pub feed: vigia_receivers::Feed,
}

impl AlertHub for Hub {
    fn put_alerts(&self, alerts: Vec<PostableAlert>) -> Result<(), NotifyError> {
        self.am.put_alerts(alerts)
    }
    fn alerts(&self, filter: &AlertFilter) -> Vec<GettableAlert> {
        self.am.alerts(filter)
    }
    fn add_silence(&self, s: PostableSilence) -> Result<String, NotifyError> {
        self.am.add_silence(s)
    }
    fn silences(&self, matchers: &[AmMatcher]) -> Vec<GettableSilence> {
        self.am.silences(matchers)
    }
    fn silence(&self, id: &str) -> Option<GettableSilence> {
        self.am.silence(id)
    }
    fn expire_silence(&self, id: &str) -> Result<(), NotifyError> {
        self.am.expire_silence(id)
    }
    fn ack(&self, fingerprint: &str, author: &str, note: &str) -> Result<(), NotifyError> {
        self.am.ack(fingerprint, author, note)
    }
    fn resolve(&self, fingerprint: &str, author: &str, note: &str) -> Result<(), NotifyError> {
        self.am.resolve(fingerprint, author, note)
    }
    fn history(
        &self,
        fingerprint: Option<&str>,
        since_ms: i64,
        until_ms: i64,
    ) -> Vec<HistoryEntry> {
        self.am
            .history(fingerprint, since_ms, until_ms)
            .into_iter()
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect()
    }
    fn receivers(&self) -> Vec<String> {
        self.receivers.read().clone()
    }
    fn config_yaml(&self) -> String {
        self.config_yaml.read().clone()
    }
    fn notifications(&self, after: u64, limit: usize) -> Vec<serde_json::Value> {
        self.feed
            .since(after)
            .into_iter()
            .take(limit)
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect()
    }
}

/// Converts rule-manager alerts into Alertmanager postable alerts, as Prometheus's notifier
/// does: firing alerts carry an `endsAt` in the future (refreshed at every resend), resolved
/// ones their resolution time; external labels are added unless the alert has the label.
pub fn postable(
    alerts: &[vigia_model::Alert],
    external_labels: &std::collections::BTreeMap<String, String>,
) -> Vec<PostableAlert> {
    alerts
        .iter()
        .filter(|a| a.state != vigia_model::AlertState::Pending)
        .map(|a| {
            let mut p = PostableAlert::from_rule_alert(a);
            for (k, v) in external_labels {
                p.labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
            p
        })
        .collect()
}

/// The routing configuration used when the configuration has no `alerting:` section: every
/// alert goes to the in-app dashboard feed (a receiver without integrations).
pub const DEFAULT_ALERTING: &str = "route:\n  receiver: dashboard\n  group_by: [alertname]\n  group_wait: 5s\n  group_interval: 1m\nreceivers:\n  - name: dashboard\n";

/// The `alerting:` section, or the default (dashboard only).
pub fn am_config(cfg: &crate::config::Config) -> anyhow::Result<vigia_notify::AmConfig> {
    match &cfg.alerting {
        Some(a) => Ok(a.clone()),
        None => vigia_notify::AmConfig::parse(DEFAULT_ALERTING)
            .map_err(|e| anyhow::anyhow!("built-in alerting configuration: {e}")),
    }
}

/// The `templates:` files of the Alertmanager configuration (globs relative to the
/// configuration file), parsed.
pub fn templates(
    cfg: &crate::config::Config,
    am: &vigia_notify::AmConfig,
) -> Result<vigia_receivers::Templates, vigia_receivers::TemplateFileError> {
    vigia_receivers::Templates::load_globs(&am.templates, &cfg.base_dir)
}

/// Hands notifications to the outbox.
struct OutboxSink(Arc<vigia_receivers::Outbox>);

impl vigia_notify::NotificationSink for OutboxSink {
    fn send(&self, n: vigia_receivers::Notification) -> Result<(), vigia_receivers::OutboxError> {
        self.0.enqueue(n).map(|_| ())
    }
}

/// Running alert management: dispatcher, outbox, forwarder and the thread that ticks them.
pub struct Running {
    /// For the server.
    pub hub: Arc<Hub>,
    /// The durable outbox.
    pub outbox: Arc<vigia_receivers::Outbox>,
    /// Forwarding to external Alertmanagers.
    pub forwarder: Arc<parking_lot::Mutex<Option<vigia_receivers::Forwarder>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    ticker: Option<std::thread::JoinHandle<()>>,
}

/// Opens the outbox and the dispatcher under `<data>/notify` and starts ticking every second.
pub fn start(
    cfg: &crate::config::Config,
    data_dir: &std::path::Path,
    external_url: &str,
    handle: tokio::runtime::Handle,
) -> anyhow::Result<Running> {
    use anyhow::Context as _;
    let am_cfg = am_config(cfg)?;
    let dir = data_dir.join("notify");
    let am_slot: Arc<std::sync::OnceLock<Arc<Alertmanager>>> = Arc::default();
    let slot = am_slot.clone();
    let on_result: vigia_receivers::ResultCallback = Arc::new(move |r| {
        if !r.ok || r.done {
            let Some(am) = slot.get() else { return };
            let detail = match &r.error {
                Some(e) => format!("{} attempt {}: {e}", r.integration, r.attempt),
                None => format!("{} attempt {}", r.integration, r.attempt),
            };
            if let Err(e) =
                am.record_delivery(&r.receiver, &r.group_key, &r.fingerprints, r.ok, &detail)
            {
                tracing::warn!(error = %e, "cannot record a delivery result");
            }
        }
    });
    let mut settings = cfg.notify.clone();
    if settings.external_url.is_none() {
        settings.external_url = Some(external_url.to_string());
    }
    let outbox = Arc::new(
        vigia_receivers::Outbox::open(
            dir.join("outbox"),
            settings.clone(),
            am_cfg.receivers.clone(),
            am_cfg.global.clone(),
            on_result,
            handle.clone(),
        )
        .context("opening the notification outbox")?,
    );
    outbox.set_templates(templates(cfg, &am_cfg).context("alerting templates")?);
    let am = Arc::new(
        Alertmanager::new(
            am_cfg.clone(),
            cfg.escalations.clone(),
            &dir,
            Arc::new(vigia_model::SystemClock),
            Arc::new(OutboxSink(outbox.clone())),
            vigia_notify::Options {
                external_url: settings.external_url.clone().unwrap_or_default(),
                ..vigia_notify::Options::default()
            },
        )
        .context("starting alert routing")?,
    );
    let _ = am_slot.set(am.clone());
    let forwarder = Arc::new(parking_lot::Mutex::new(
        (!settings.alertmanagers.is_empty()).then(|| {
            vigia_receivers::Forwarder::new(
                &settings.alertmanagers,
                &handle,
                std::time::Duration::from_secs(10),
            )
        }),
    ));
    let hub = Arc::new(Hub {
        am: am.clone(),
        config_yaml: parking_lot::RwLock::new(crate::config::redacted_config(cfg)),
        receivers: parking_lot::RwLock::new(
            am_cfg.receivers.iter().map(|r| r.name.clone()).collect(),
        ),
        feed: outbox.feed(),
    });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = {
        let (am, stop, fwd) = (am.clone(), stop.clone(), forwarder.clone());
        std::thread::Builder::new()
            .name("alert-dispatch".into())
            .spawn(move || {
                let mut last_forwarded = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Acquire) {
                    if let Err(e) = am.tick() {
                        tracing::warn!(error = %e, "alert dispatch tick failed");
                    }
                    if let Some(f) = fwd.lock().as_ref() {
                        let set = forwarded_set(&am);
                        let key: Vec<(String, String)> = set
                            .iter()
                            .map(|a| (a.fingerprint.clone(), a.ends_at.clone()))
                            .collect();
                        if key != last_forwarded {
                            f.update(set);
                            last_forwarded = key;
                        }
                    }
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            })
            .context("starting the alert dispatch thread")?
    };
    Ok(Running {
        hub,
        outbox,
        forwarder,
        stop,
        ticker: Some(ticker),
    })
}

/// The alerts forwarded to external Alertmanagers: every alert vigia holds, firing or resolved,
/// with its own times (the receiving Alertmanager resolves them at `endsAt`).
fn forwarded_set(am: &Alertmanager) -> Vec<vigia_receivers::NotifyAlert> {
    let now = chrono::Utc::now().timestamp_millis();
    am.alerts(&AlertFilter::default())
        .into_iter()
        .map(|a| {
            let ended = vigia_notify::api::parse_time(&a.ends_at)
                .ok()
                .flatten()
                .is_some_and(|t| t <= now);
            vigia_receivers::NotifyAlert {
                status: if ended {
                    vigia_receivers::Status::Resolved
                } else {
                    vigia_receivers::Status::Firing
                },
                labels: a.labels,
                annotations: a.annotations,
                starts_at: a.starts_at,
                ends_at: a.ends_at,
                generator_url: a.generator_url,
                fingerprint: a.fingerprint,
            }
        })
        .collect()
}

impl Running {
    /// Applies a reloaded configuration (already validated).
    pub fn reload(&self, cfg: &crate::config::Config, external_url: &str) -> anyhow::Result<()> {
        let am_cfg = am_config(cfg)?;
        let mut settings = cfg.notify.clone();
        if settings.external_url.is_none() {
            settings.external_url = Some(external_url.to_string());
        }
        let templates = templates(cfg, &am_cfg)?;
        self.outbox.reload(
            am_cfg.receivers.clone(),
            am_cfg.global.clone(),
            settings.clone(),
        )?;
        self.outbox.set_templates(templates);
        self.hub
            .am
            .set_config(am_cfg.clone(), cfg.escalations.clone())?;
        *self.hub.receivers.write() = am_cfg.receivers.iter().map(|r| r.name.clone()).collect();
        *self.hub.config_yaml.write() = crate::config::redacted_config(cfg);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            *self.forwarder.lock() = (!settings.alertmanagers.is_empty()).then(|| {
                vigia_receivers::Forwarder::new(
                    &settings.alertmanagers,
                    &handle,
                    std::time::Duration::from_secs(10),
                )
            });
        }
        Ok(())
    }

    /// Self-metrics of dispatch, delivery and forwarding.
    pub fn metric_families(&self) -> Vec<vigia_model::MetricFamily> {
        let mut out = self.hub.am.metric_families();
        out.extend(self.outbox.metric_families());
        if let Some(f) = self.forwarder.lock().as_ref() {
            out.extend(f.metric_families());
        }
        out
    }

    /// Stops the dispatch thread.
    pub fn stop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Release);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use vigia_model::{Alert, AlertState};

    fn alert(state: AlertState, resolved_at_ms: i64) -> Alert {
        let labels = BTreeMap::from([
            ("alertname".to_string(), "X".to_string()),
            ("env".to_string(), "rule".to_string()),
        ]);
        Alert {
            fingerprint: vigia_model::fingerprint(&labels),
            labels,
            annotations: BTreeMap::from([("summary".to_string(), "s".to_string())]),
            state,
            active_at_ms: 1_000,
            starts_at_ms: 61_000,
            ends_at_ms: if resolved_at_ms > 0 {
                resolved_at_ms
            } else {
                300_000
            },
            resolved_at_ms,
            value: 1.0,
            generator_url: "http://vigia/graph?g0.expr=x".into(),
        }
    }

    #[test]
    fn converts_like_prometheus_notifier() {
        let ext = BTreeMap::from([
            ("env".to_string(), "ext".to_string()),
            ("region".to_string(), "eu".to_string()),
        ]);
        let out = postable(
            &[
                alert(AlertState::Pending, 0),
                alert(AlertState::Firing, 0),
                alert(AlertState::Inactive, 120_000),
            ],
            &ext,
        );
        assert_eq!(out.len(), 2, "pending alerts are not sent");
        assert_eq!(out[0].labels["env"], "rule", "the alert's own label wins");
        assert_eq!(out[0].labels["region"], "eu");
        assert_eq!(
            out[0].starts_at.as_deref(),
            Some("1970-01-01T00:01:01.000Z")
        );
        assert_eq!(out[0].ends_at.as_deref(), Some("1970-01-01T00:05:00.000Z"));
        assert_eq!(out[1].ends_at.as_deref(), Some("1970-01-01T00:02:00.000Z"));
        assert_eq!(
            out[1].generator_url.as_deref(),
            Some("http://vigia/graph?g0.expr=x")
        );
    }
}
