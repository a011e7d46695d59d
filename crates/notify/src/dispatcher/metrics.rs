//! The dispatcher's self-metrics.

use super::*;
use vigia_model::{MetricFamily, MetricKind};

impl Alertmanager {
    /// Self-metrics: alerts and silences by state, alerts received, notifications handed to
    /// delivery and refused, escalations, aggregation groups.
    pub fn metric_families(&self) -> Vec<MetricFamily> {
        let now = self.clock.now_ms();
        let st = lock(&self.state);
        let inhibited = st.inhibited(now);
        let mut by_state: BTreeMap<&str, u64> =
            [("active", 0), ("suppressed", 0), ("unprocessed", 0)]
                .into_iter()
                .collect();
        for a in st.alerts.values().filter(|a| !a.resolved(now)) {
            let s = if !a.processed {
                "unprocessed"
            } else if a.manual.is_some()
                || inhibited.contains_key(&a.fp)
                || !st.silenced_by(&a.labels, now).is_empty()
            {
                "suppressed"
            } else {
                "active"
            };
            *by_state.entry(s).or_default() += 1;
        }
        let mut sil: BTreeMap<&str, u64> = [("active", 0), ("pending", 0), ("expired", 0)]
            .into_iter()
            .collect();
        for s in st.silences.values() {
            *sil.entry(s.state(now)).or_default() += 1;
        }
        let family =
            |name: &str, help: &str, kind: MetricKind, label: &str, vals: Vec<(String, u64)>| {
                let mut f = match kind {
                    MetricKind::Counter => MetricFamily::counter(name, help),
                    MetricKind::Gauge => MetricFamily::gauge(name, help),
                };
                for (k, v) in vals {
                    f.push(&[(label, &k)], v as f64);
                }
                f
            };
        let conv = |m: &BTreeMap<&str, u64>| m.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let convs = |m: &BTreeMap<String, u64>| m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        vec![
            family(
                "vigia_alertmanager_alerts",
                "How many alerts by state.",
                MetricKind::Gauge,
                "state",
                conv(&by_state),
            ),
            family(
                "vigia_alertmanager_alerts_received_total",
                "The total number of received alerts.",
                MetricKind::Counter,
                "status",
                convs(&st.metrics.received),
            ),
            family(
                "vigia_alertmanager_notifications_total",
                "The total number of notifications handed to delivery.",
                MetricKind::Counter,
                "receiver",
                convs(&st.metrics.notifications),
            ),
            family(
                "vigia_alertmanager_notifications_failed_total",
                "The total number of notifications the delivery refused.",
                MetricKind::Counter,
                "receiver",
                convs(&st.metrics.failed),
            ),
            family(
                "vigia_alertmanager_silences",
                "How many silences by state.",
                MetricKind::Gauge,
                "state",
                conv(&sil),
            ),
            family(
                "vigia_alertmanager_escalations_total",
                "The total number of escalation levels reached.",
                MetricKind::Counter,
                "policy",
                convs(&st.metrics.escalations),
            ),
            MetricFamily::gauge(
                "vigia_alertmanager_aggregation_groups",
                "Number of active aggregation groups.",
            )
            .with(&[], st.groups.len() as f64),
        ]
    }
}
