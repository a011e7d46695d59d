//! The `ALERTS` and `ALERTS_FOR_STATE` series of active alerts, and Prometheus's
//! `RestoreForState`: after a restart, pending and firing alerts get back the active-since
//! time recorded in `ALERTS_FOR_STATE`, shifted by the downtime.

use super::RuleManager;
use super::state::{ActiveAlert, GroupState};
use crate::config::Rule;
use std::collections::BTreeMap;
use vigia_model::{AlertState, Labels, Matcher, Sample};

/// The `ALERTS_FOR_STATE` labels of an alert with `labels`.
fn for_state_labels(labels: &BTreeMap<String, String>) -> Labels {
    let mut b = Labels::from_pairs(labels.iter()).builder();
    b.set("__name__", "ALERTS_FOR_STATE");
    b.build()
}

/// Appends an alert's `ALERTS{alertstate}` series (value 1) and its `ALERTS_FOR_STATE` series
/// (value: active-since time in seconds).
pub(super) fn push_alert_series(a: &ActiveAlert, out: &mut Vec<(Labels, f64)>) {
    let mut b = Labels::from_pairs(a.labels.iter()).builder();
    b.set("__name__", "ALERTS");
    b.set("alertstate", a.state.as_str());
    out.push((b.build(), 1.0));
    out.push((for_state_labels(&a.labels), (a.active_at / 1000) as f64));
}

impl RuleManager {
    /// Prometheus's `RestoreForState`: gives pending and firing alerts back the active-since
    /// time recorded in `ALERTS_FOR_STATE` before a restart, shifted by the downtime.
    pub(super) fn restore_for_state(&self, st: &mut GroupState, ts: i64) {
        let mint = ts - self.opts.outage_tolerance_ms;
        let grace = self.opts.for_grace_period_ms;
        for (rule, rs) in st.group.rules.iter().zip(st.rules.iter_mut()) {
            let Rule::Alerting(ar) = rule else {
                rs.restored = true;
                continue;
            };
            let hold = ar.for_ms;
            if hold < grace {
                rs.restored = true;
                continue;
            }
            for a in rs.active.values_mut() {
                if a.state == AlertState::Inactive {
                    continue;
                }
                let Some(last) = self.last_for_state(&a.labels, mint, ts) else {
                    continue;
                };
                let down_at = last.t.div_euclid(1000) * 1000;
                let mut restored = (last.v as i64).saturating_mul(1000);
                let spent = down_at.saturating_sub(restored);
                let remaining = hold.saturating_sub(spent);
                if remaining <= 0 {
                    // Already past `for`: it fires at once.
                } else if remaining < grace {
                    restored = ts + grace - hold;
                } else {
                    restored = restored.saturating_add(ts - down_at);
                }
                a.active_at = restored;
            }
            rs.restored = true;
        }
    }

    /// The last non-stale `ALERTS_FOR_STATE` sample in `[mint, ts]` of the alert with
    /// `labels`, if any (and if it can be read).
    fn last_for_state(
        &self,
        labels: &BTreeMap<String, String>,
        mint: i64,
        ts: i64,
    ) -> Option<Sample> {
        let want = for_state_labels(labels);
        let matchers: Vec<Matcher> = want
            .iter()
            .map(|l| Matcher::equal(l.name.clone(), l.value.clone()))
            .collect();
        let set = self.querier.select(&matchers, mint, ts).ok()?;
        let mut last: Option<Sample> = None;
        for s in set.flatten() {
            if s.labels != want {
                continue;
            }
            last = s
                .samples
                .iter()
                .rev()
                .find(|x| !vigia_model::is_stale_nan(x.v))
                .copied();
        }
        last
    }
}
