//! Read-only views for the API: alerts with their status, and receiver names.

use super::*;

impl Alertmanager {
    /// Active (not resolved) alerts in the v2 API shape, sorted by fingerprint.
    pub fn alerts(&self, filter: &AlertFilter) -> Vec<GettableAlert> {
        let now = self.clock.now_ms();
        let st = lock(&self.state);
        let inhibited = st.inhibited(now);
        let mut out = Vec::new();
        for a in st.alerts.values() {
            if a.resolved(now) || !matches_all(&filter.matchers, &a.labels) {
                continue;
            }
            let receivers = st.receivers_of(&a.labels);
            if let Some(re) = &filter.receiver
                && !receivers.iter().any(|r| re.is_match(r))
            {
                continue;
            }
            let silenced_by = st.silenced_by(&a.labels, now);
            let inhibited_by = inhibited.get(&a.fp).cloned().unwrap_or_default();
            let state = if !a.processed {
                "unprocessed"
            } else if !silenced_by.is_empty() || !inhibited_by.is_empty() || a.manual.is_some() {
                "suppressed"
            } else {
                "active"
            };
            let keep = match state {
                "unprocessed" => filter.unprocessed,
                "active" => filter.active,
                _ => {
                    (silenced_by.is_empty() || filter.silenced)
                        && (inhibited_by.is_empty() || filter.inhibited)
                        && (a.manual.is_none() || filter.active)
                }
            };
            if !keep {
                continue;
            }
            let policy = st.policy_for(&a.labels).map(|p| p.name.clone());
            out.push(GettableAlert {
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                starts_at: fmt_time(a.starts_ms),
                ends_at: fmt_time(a.ends_ms),
                updated_at: fmt_time(a.updated_ms),
                generator_url: a.generator_url.clone(),
                fingerprint: hex(a.fp),
                receivers: receivers
                    .into_iter()
                    .map(|name| ReceiverName { name })
                    .collect(),
                status: AlertStatus {
                    state: state.to_string(),
                    silenced_by,
                    inhibited_by,
                },
                vigia: VigiaAlertInfo {
                    ack: a.ack.as_ref().map(Action::api),
                    resolved: a.manual.as_ref().map(Action::api),
                    escalation_level: a.esc_level,
                    escalation_policy: a.esc_policy.clone().or(policy),
                    escalated_severity: a.esc_severity.clone(),
                },
            });
        }
        out
    }

    /// Names of the configured receivers (`GET /api/v2/receivers`).
    pub fn receiver_names(&self) -> Vec<String> {
        lock(&self.state)
            .cfg
            .receivers
            .iter()
            .map(|r| r.name.clone())
            .collect()
    }
}
