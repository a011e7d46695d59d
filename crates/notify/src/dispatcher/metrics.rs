//! The dispatcher's self-metrics.

use super::*;

impl Alertmanager {
    /// Self-metrics in the Prometheus text format.
    pub fn metrics_text(&self) -> String {
        use std::fmt::Write;
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
        let esc = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let mut out = String::new();
        let mut family =
            |name: &str, kind: &str, help: &str, label: &str, vals: Vec<(String, u64)>| {
                let _ = writeln!(out, "# HELP {name} {help}");
                let _ = writeln!(out, "# TYPE {name} {kind}");
                for (k, v) in vals {
                    let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {v}", esc(&k));
                }
            };
        let conv = |m: &BTreeMap<&str, u64>| m.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let convs = |m: &BTreeMap<String, u64>| m.iter().map(|(k, v)| (k.clone(), *v)).collect();
        family(
            "vigia_alertmanager_alerts",
            "gauge",
            "How many alerts by state.",
            "state",
            conv(&by_state),
        );
        family(
            "vigia_alertmanager_alerts_received_total",
            "counter",
            "The total number of received alerts.",
            "status",
            convs(&st.metrics.received),
        );
        family(
            "vigia_alertmanager_notifications_total",
            "counter",
            "The total number of notifications handed to delivery.",
            "receiver",
            convs(&st.metrics.notifications),
        );
        family(
            "vigia_alertmanager_notifications_failed_total",
            "counter",
            "The total number of notifications the delivery refused.",
            "receiver",
            convs(&st.metrics.failed),
        );
        family(
            "vigia_alertmanager_silences",
            "gauge",
            "How many silences by state.",
            "state",
            conv(&sil),
        );
        family(
            "vigia_alertmanager_escalations_total",
            "counter",
            "The total number of escalation levels reached.",
            "policy",
            convs(&st.metrics.escalations),
        );
        let _ = writeln!(
            out,
            "# HELP vigia_alertmanager_aggregation_groups Number of active aggregation groups."
        );
        let _ = writeln!(out, "# TYPE vigia_alertmanager_aggregation_groups gauge");
        let _ = writeln!(
            out,
            "vigia_alertmanager_aggregation_groups {}",
            st.groups.len()
        );
        out
    }
}
