//! Forwarding to external Alertmanagers, as Prometheus does: the current alert set is POSTed to
//! `{url}/api/v2/alerts` as postable alerts whenever it changes and again every
//! `resend_interval` while anything fires. One tokio task per target.

use crate::config::AlertmanagerTarget;
use crate::http;
use crate::message::{NotifyAlert, Status};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use vigia_model::MetricFamily;

/// Counters of one forwarding target.
#[derive(Debug, Default)]
pub struct ForwardStats {
    /// Successful POSTs.
    pub sent: AtomicU64,
    /// Failed POSTs.
    pub failed: AtomicU64,
}

/// Forwards alerts to external Alertmanagers.
pub struct Forwarder {
    tx: watch::Sender<Arc<Vec<NotifyAlert>>>,
    stats: Vec<(String, Arc<ForwardStats>)>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("targets", &self.stats.len())
            .finish()
    }
}

/// The body of `POST /api/v2/alerts`: postable alerts (labels, annotations, startsAt, endsAt,
/// generatorURL). Firing alerts carry no `endsAt` unless one is known.
pub fn postable_alerts(alerts: &[NotifyAlert]) -> Value {
    Value::Array(
        alerts
            .iter()
            .map(|a| {
                let mut o = json!({
                    "labels": a.labels,
                    "annotations": a.annotations,
                    "startsAt": a.starts_at,
                    "generatorURL": a.generator_url,
                });
                let ends_known = !a.ends_at.is_empty() && !a.ends_at.starts_with("0001-");
                if (a.status == Status::Resolved || ends_known)
                    && let Some(m) = o.as_object_mut()
                {
                    m.insert("endsAt".into(), Value::String(a.ends_at.clone()));
                }
                o
            })
            .collect(),
    )
}

impl Forwarder {
    /// Starts one task per target on `handle`. `timeout` bounds each POST.
    pub fn new(
        targets: &[AlertmanagerTarget],
        handle: &tokio::runtime::Handle,
        timeout: Duration,
    ) -> Self {
        let (tx, _) = watch::channel(Arc::new(Vec::new()));
        let mut stats = Vec::new();
        let mut tasks = Vec::new();
        for t in targets {
            let st = Arc::new(ForwardStats::default());
            stats.push((t.url.clone(), st.clone()));
            let rx = tx.subscribe();
            tasks.push(handle.spawn(run_target(t.clone(), rx, st, timeout)));
        }
        Forwarder { tx, stats, tasks }
    }

    /// Replaces the current alert set (firing alerts, plus resolved ones to announce once) and
    /// sends it right away.
    pub fn update(&self, alerts: Vec<NotifyAlert>) {
        self.tx.send_replace(Arc::new(alerts));
    }

    /// `(url, stats)` per target.
    pub fn stats(&self) -> &[(String, Arc<ForwardStats>)] {
        &self.stats
    }

    /// Self-metrics: batches forwarded and failed per external Alertmanager.
    pub fn metric_families(&self) -> Vec<MetricFamily> {
        let mut sent = MetricFamily::counter(
            "vigia_alertmanager_forward_total",
            "Alert batches forwarded to external Alertmanagers.",
        );
        let mut failed = MetricFamily::counter(
            "vigia_alertmanager_forward_failed_total",
            "Failed forwards.",
        );
        for (u, s) in &self.stats {
            sent.push(
                &[("alertmanager", u)],
                s.sent.load(Ordering::Relaxed) as f64,
            );
            failed.push(
                &[("alertmanager", u)],
                s.failed.load(Ordering::Relaxed) as f64,
            );
        }
        vec![sent, failed]
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn run_target(
    t: AlertmanagerTarget,
    mut rx: watch::Receiver<Arc<Vec<NotifyAlert>>>,
    stats: Arc<ForwardStats>,
    timeout: Duration,
) {
    let url = format!("{}/api/v2/alerts", t.url.trim_end_matches('/'));
    let client = match http::build_client(t.http_config.as_ref(), timeout) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(url, error = %e, "alertmanager forwarding disabled");
            return;
        }
    };
    let resend = t.resend_interval().max(Duration::from_millis(10));
    loop {
        let alerts = rx.borrow_and_update().clone();
        if !alerts.is_empty() {
            let body = postable_alerts(&alerts).to_string();
            let rb = client
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
            let res = match http::authorize(rb, t.http_config.as_ref()) {
                Ok(rb) => http::send(rb, "alertmanager").await.map(drop),
                Err(e) => Err(e),
            };
            match res {
                Ok(()) => {
                    stats.sent.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(url, error = %e, "forwarding alerts failed");
                }
            }
        }
        let firing = alerts.iter().any(|a| a.status == Status::Firing);
        if firing {
            tokio::select! {
                r = rx.changed() => if r.is_err() { return },
                _ = tokio::time::sleep(resend) => {}
            }
        } else if rx.changed().await.is_err() {
            return;
        }
    }
}
