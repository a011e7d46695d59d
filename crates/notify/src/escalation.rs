//! vigia's escalation policies (`escalations:`): alerts matching a policy that stay firing and
//! unacknowledged escalate level after level to more receivers with a raised severity.

use crate::matcher::{Matchers, matches_all};
use serde::Deserialize;
use std::collections::BTreeMap;
use vigia_model::PromDuration;

/// One escalation level.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EscalationLevel {
    /// Delay after the alert's `startsAt`.
    pub after: PromDuration,
    /// Severity to raise the alert to (never lowered).
    #[serde(default)]
    pub severity: Option<String>,
    /// Receivers notified at this level.
    #[serde(default)]
    pub receivers: Vec<String>,
}

/// One escalation policy.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EscalationPolicy {
    /// Name (in the notification's escalation marker).
    pub name: String,
    /// Alertmanager matcher strings selecting the alerts.
    #[serde(default)]
    pub matchers: Matchers,
    /// Levels, in increasing `after` order.
    pub levels: Vec<EscalationLevel>,
}

impl EscalationPolicy {
    /// True when the alert's labels match the policy.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        matches_all(&self.matchers.0, labels)
    }
}

/// Checks policies against the configuration's receivers; empty when usable.
pub fn validate_escalations(cfg: &crate::AmConfig, policies: &[EscalationPolicy]) -> Vec<String> {
    let mut errs = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for p in policies {
        if p.name.is_empty() {
            errs.push("escalation policy without a name".to_string());
        } else if !names.insert(p.name.as_str()) {
            errs.push(format!("escalation policy {:?} is not unique", p.name));
        }
        if p.levels.is_empty() {
            errs.push(format!("escalation policy {:?} has no levels", p.name));
        }
        let mut last = -1;
        for (i, l) in p.levels.iter().enumerate() {
            if l.after.as_millis() <= last {
                errs.push(format!(
                    "escalation policy {:?}: level {} must come after level {}",
                    p.name,
                    i + 1,
                    i
                ));
            }
            last = l.after.as_millis();
            if l.receivers.is_empty() {
                errs.push(format!(
                    "escalation policy {:?}: level {} has no receivers",
                    p.name,
                    i + 1
                ));
            }
            for r in &l.receivers {
                if !cfg.has_receiver(r) {
                    errs.push(format!(
                        "undefined receiver {r:?} used in escalation policy {:?}",
                        p.name
                    ));
                }
            }
        }
    }
    errs
}
