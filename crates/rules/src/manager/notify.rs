//! Notifications (Prometheus's `sendAlerts`): after an alerting rule's evaluation, which of its
//! alerts are handed to the notify callback, with their validity and `generatorURL`.

use super::RuleManager;
use super::state::RuleState;
use crate::config::{AlertingRule, Group};
use vigia_model::{Alert, AlertState};

impl RuleManager {
    /// Queues the rule's firing and resolved alerts that are due: never sent, resolved since
    /// last sent, or last sent at least `resend_delay_ms` ago. A sent alert is valid for
    /// 4 × max(interval, resend delay).
    pub(super) fn queue_notifications(
        &self,
        g: &Group,
        r: &AlertingRule,
        rs: &mut RuleState,
        t: i64,
        to_send: &mut Vec<Alert>,
    ) {
        let delay = self.opts.resend_delay_ms;
        let url = self.generator_url(&r.expr);
        for a in rs.active.values_mut() {
            if a.state == AlertState::Pending {
                continue;
            }
            let resolved_unsent = a.resolved_at != 0 && a.resolved_at > a.last_sent_at;
            if !(resolved_unsent || a.last_sent_at == 0 || a.last_sent_at + delay <= t) {
                continue;
            }
            a.last_sent_at = t;
            a.valid_until = t + 4 * g.interval_ms.max(delay);
            to_send.push(a.to_alert(url.clone()));
        }
    }

    /// The `generatorURL` of an alert of a rule with `expr`: the expression's graph page under
    /// the external URL.
    pub(super) fn generator_url(&self, expr: &str) -> String {
        format!(
            "{}/graph?g0.expr={}&g0.tab=1",
            self.opts.external_url.trim_end_matches('/'),
            query_escape(expr)
        )
    }
}

/// Go's `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
