//! Escalation: unacknowledged alerts that stay firing move up their policy's levels (later
//! receivers, raised severity) until someone acknowledges them.

use super::*;

/// A planned escalation notification.
pub(crate) struct EscSend {
    pub(crate) fp: u64,
    pub(crate) level: u32,
    pub(crate) policy: String,
    pub(crate) severity: String,
    pub(crate) receivers: Vec<String>,
    pub(crate) resolved: bool,
    pub(crate) notifications: Vec<Notification>,
}

impl Alertmanager {
    pub(crate) fn plan_escalations(&self, st: &State, now: i64) -> Vec<EscSend> {
        let mut out = Vec::new();
        for a in st.alerts.values() {
            if st.esc_retry.get(&a.fp).is_some_and(|t| *t > now) {
                continue;
            }
            if a.done(now) {
                if a.esc_level > 0 && !a.esc_resolved_sent {
                    let policy = a.esc_policy.clone().unwrap_or_default();
                    let severity = a.esc_severity.clone().unwrap_or_default();
                    let mut labels = a.labels.clone();
                    labels.insert("severity".to_string(), severity.clone());
                    let notifications = a
                        .esc_receivers
                        .iter()
                        .map(|r| {
                            let mut n = self.base_notification(
                                r,
                                format!(
                                    "{{}}/escalation:{{policy={policy:?}, fingerprint=\"{}\"}}",
                                    hex(a.fp)
                                ),
                                vec![a.notify_alert(now, Some(labels.clone()))],
                                escalation_group_labels(&labels),
                            );
                            n.escalation = Some(Escalation {
                                level: a.esc_level,
                                severity: severity.clone(),
                                policy: policy.clone(),
                            });
                            n
                        })
                        .collect();
                    out.push(EscSend {
                        fp: a.fp,
                        level: a.esc_level,
                        policy,
                        severity,
                        receivers: a.esc_receivers.clone(),
                        resolved: true,
                        notifications,
                    });
                }
                continue;
            }
            if a.ack.is_some() || !a.silenced_by.is_empty() || !a.inhibited_by.is_empty() {
                continue;
            }
            let Some(p) = st.policy_for(&a.labels) else {
                continue;
            };
            let mut current = AlertSeverity::parse(
                a.esc_severity
                    .as_deref()
                    .or(a.labels.get("severity").map(String::as_str))
                    .unwrap_or(""),
            );
            let mut labels = a.labels.clone();
            for (i, lvl) in p.levels.iter().enumerate() {
                let level = i as u32 + 1;
                if level <= a.esc_level {
                    if let Some(s) = &lvl.severity {
                        let s = AlertSeverity::parse(s);
                        if s.rank > current.rank {
                            current = s;
                        }
                    }
                    continue;
                }
                if a.starts_ms + lvl.after.as_millis() > now {
                    break;
                }
                if let Some(s) = &lvl.severity {
                    let s = AlertSeverity::parse(s);
                    if s.rank > current.rank || current.value.is_empty() {
                        current = s;
                    }
                }
                if !current.value.is_empty() {
                    labels.insert("severity".to_string(), current.value.clone());
                }
                let notifications = lvl
                    .receivers
                    .iter()
                    .map(|r| {
                        let mut n = self.base_notification(
                            r,
                            format!(
                                "{{}}/escalation:{{policy={:?}, fingerprint=\"{}\"}}",
                                p.name,
                                hex(a.fp)
                            ),
                            vec![a.notify_alert(now, Some(labels.clone()))],
                            escalation_group_labels(&labels),
                        );
                        n.escalation = Some(Escalation {
                            level,
                            severity: current.value.clone(),
                            policy: p.name.clone(),
                        });
                        n
                    })
                    .collect();
                out.push(EscSend {
                    fp: a.fp,
                    level,
                    policy: p.name.clone(),
                    severity: current.value.clone(),
                    receivers: lvl.receivers.clone(),
                    resolved: false,
                    notifications,
                });
            }
        }
        out
    }
}
