//! What the manager reports: active alerts (`/api/v1/alerts`), per-rule status and health
//! (`/api/v1/rules`), and the groups' self-metrics (`/metrics`).

use super::state::RuleState;
use super::{GroupStats, GroupStatus, RuleManager, RuleStatus, lock};
use crate::config::Rule;
use vigia_model::Alert;
use vigia_model::{MetricFamily, MetricKind};

/// A metric family of [`RuleManager::metric_families`]: name, type, help, value of a group.
type Family = (
    &'static str,
    MetricKind,
    &'static str,
    fn(&GroupStats) -> f64,
);

impl RuleManager {
    /// Alerts of all rules that are pending, firing or recently resolved.
    pub fn active_alerts(&self) -> Vec<Alert> {
        let mut out = Vec::new();
        for s in self.groups_read() {
            let st = lock(&s);
            for (rule, rs) in st.group.rules.iter().zip(st.rules.iter()) {
                out.extend(self.alerts_of(rule, rs));
            }
        }
        out
    }

    fn alerts_of(&self, rule: &Rule, rs: &RuleState) -> Vec<Alert> {
        let mut v: Vec<Alert> = rs
            .active
            .values()
            .map(|a| a.to_alert(self.generator_url(rule.expr())))
            .collect();
        v.sort_by(|a, b| a.labels.cmp(&b.labels));
        v
    }

    /// Self-metrics of every group.
    pub fn stats(&self) -> Vec<GroupStats> {
        self.groups_read()
            .iter()
            .map(|s| lock(s).stats.clone())
            .collect()
    }

    /// Self-metrics: per group, duration, interval, rule count, last evaluation, evaluations,
    /// failures and missed iterations (labelled `rule_group="<file>;<name>"`, as Prometheus).
    pub fn metric_families(&self) -> Vec<MetricFamily> {
        let stats = self.stats();
        let families: [Family; 7] = [
            (
                "vigia_rule_group_last_duration_seconds",
                MetricKind::Gauge,
                "Duration of the last rule group evaluation.",
                |s| s.last_duration_seconds,
            ),
            (
                "vigia_rule_group_interval_seconds",
                MetricKind::Gauge,
                "Interval of a rule group.",
                |s| s.interval_ms as f64 / 1000.0,
            ),
            (
                "vigia_rule_group_rules",
                MetricKind::Gauge,
                "Number of rules in a group.",
                |s| s.rules as f64,
            ),
            (
                "vigia_rule_group_last_evaluation_timestamp_seconds",
                MetricKind::Gauge,
                "Time of the last rule group evaluation.",
                |s| s.last_evaluation_ms as f64 / 1000.0,
            ),
            (
                "vigia_rule_group_evaluations_total",
                MetricKind::Counter,
                "Rule group evaluations.",
                |s| s.evaluations_total as f64,
            ),
            (
                "vigia_rule_evaluation_failures_total",
                MetricKind::Counter,
                "Failed rule evaluations.",
                |s| s.evaluation_failures_total as f64,
            ),
            (
                "vigia_rule_group_iterations_missed_total",
                MetricKind::Counter,
                "Rule group evaluations missed because of slow evaluation.",
                |s| s.iterations_missed_total as f64,
            ),
        ];
        families
            .into_iter()
            .map(|(name, kind, help, get)| {
                let mut f = match kind {
                    MetricKind::Counter => MetricFamily::counter(name, help),
                    MetricKind::Gauge => MetricFamily::gauge(name, help),
                };
                for s in &stats {
                    f.push(&[("rule_group", &format!("{};{}", s.file, s.name))], get(s));
                }
                f
            })
            .collect()
    }

    /// Definition, rule health and alerts of every group.
    pub fn status(&self) -> Vec<GroupStatus> {
        self.groups_read()
            .iter()
            .map(|s| {
                let st = lock(s);
                GroupStatus {
                    group: st.group.clone(),
                    stats: st.stats.clone(),
                    rules: st
                        .group
                        .rules
                        .iter()
                        .zip(st.rules.iter())
                        .map(|(r, rs)| RuleStatus {
                            rule: r.clone(),
                            health: match (&rs.last_error, rs.evaluated) {
                                (Some(_), _) => "err",
                                (None, true) => "ok",
                                (None, false) => "unknown",
                            },
                            last_error: rs.last_error.clone(),
                            last_evaluation_ms: rs.last_eval,
                            evaluation_seconds: rs.last_duration,
                            alerts: self.alerts_of(r, rs),
                        })
                        .collect(),
                }
            })
            .collect()
    }
}
