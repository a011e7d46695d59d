//! Alerting rules: every element of the query result becomes an alert (labels and annotations
//! expanded from the rule's templates), then the state machine steps every alert of the rule
//! (inactive → pending → firing → resolved, `for`, `keep_firing_for`, resolved retention),
//! the group's `limit` is enforced, `ALERTS` / `ALERTS_FOR_STATE` are written and the alerts
//! to notify are queued.

use super::restore::push_alert_series;
use super::state::{ActiveAlert, RuleState};
use super::{EvalError, RuleManager};
use crate::config::{AlertingRule, Group};
use std::collections::{BTreeMap, HashSet};
use vigia_model::{Alert, AlertState, Labels, fingerprint};
use vigia_template::{QueryFailure, QueryFn, QueryResult, Template, TemplateData};

/// Templates by label or annotation name, each parsed or the parse error.
type Parsed = Vec<(String, Result<Template, String>)>;

/// The label and annotation templates of an alerting rule, parsed once per evaluation rather
/// than once per alert. Labels are the group's, overridden by the rule's.
struct AlertTemplates {
    labels: Parsed,
    annotations: Parsed,
}

impl AlertTemplates {
    fn parse(g: &Group, r: &AlertingRule) -> Self {
        let parse = |m: &BTreeMap<String, String>| -> Parsed {
            m.iter()
                .map(|(k, v)| (k.clone(), Template::parse(v).map_err(|e| e.to_string())))
                .collect()
        };
        let labels = {
            let mut merged = g.labels.clone();
            merged.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            parse(&merged)
        };
        AlertTemplates {
            labels,
            annotations: parse(&r.annotations),
        }
    }

    /// The labels and annotations of the alert for result element `l`: its labels without
    /// the metric name, then the expanded label templates (an empty expansion removes the
    /// label), then `alertname`.
    fn expand(
        &self,
        alertname: &str,
        l: &Labels,
        data: &TemplateData,
        query: QueryFn<'_>,
    ) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let mut labels = to_map(&l.without_metric_name());
        for (k, tmpl) in &self.labels {
            let val = render(tmpl, data, query);
            if val.is_empty() {
                labels.remove(k);
            } else {
                labels.insert(k.clone(), val);
            }
        }
        labels.insert("alertname".into(), alertname.to_string());
        let annotations = self
            .annotations
            .iter()
            .map(|(k, tmpl)| (k.clone(), render(tmpl, data, query)))
            .collect();
        (labels, annotations)
    }
}

/// Expands one template; failures become the text Prometheus shows for them.
fn render(t: &Result<Template, String>, data: &TemplateData, query: QueryFn<'_>) -> String {
    match t.as_ref().map(|t| t.render_with(data, Some(query))) {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => format!("<error expanding template: {e}>"),
        Err(e) => format!("<error expanding template: {e}>"),
    }
}

pub(super) fn to_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

impl RuleManager {
    pub(super) fn eval_alerting(
        &self,
        g: &Group,
        r: &AlertingRule,
        rs: &mut RuleState,
        t: i64,
        to_send: &mut Vec<Alert>,
    ) -> Result<(), EvalError> {
        let qt = t - g.query_offset_ms;
        let res = self.query(&r.alert, &r.expr, qt)?;
        let result_fps = self.merge_results(g, r, rs, res, t, qt)?;
        let (out_series, num_active) = self.step_states(r, rs, &result_fps, t);
        if g.limit > 0 && num_active > g.limit {
            rs.active.clear();
            // Nothing is written; the previous series get stale markers.
            self.write(&r.alert, rs, Vec::new(), qt)?;
            return Err(EvalError::Rule {
                rule: r.alert.clone(),
                message: format!("exceeded limit of {} with {num_active} alerts", g.limit),
            });
        }
        self.write(&r.alert, rs, out_series, qt)?;
        self.queue_notifications(g, r, rs, t, to_send);
        Ok(())
    }

    /// Turns the query result (evaluated at `qt`) into alerts: an alert that is already active
    /// gets the new value and annotations, any other becomes pending at `t`. Returns the
    /// fingerprints of the result's alerts; two elements with the same labels fail the rule.
    fn merge_results(
        &self,
        g: &Group,
        r: &AlertingRule,
        rs: &mut RuleState,
        res: Vec<(Labels, f64)>,
        t: i64,
        qt: i64,
    ) -> Result<HashSet<u64>, EvalError> {
        let qfn = |q: &str| -> Result<QueryResult, QueryFailure> {
            self.query("template", q, qt)
                .map(|v| v.into_iter().map(|(l, x)| (to_map(&l), x)).collect())
                .map_err(|e| -> QueryFailure { Box::new(e) })
        };
        let templates = AlertTemplates::parse(g, r);
        let mut result_fps = HashSet::with_capacity(res.len());
        for (l, v) in res {
            let data = TemplateData {
                labels: to_map(&l),
                external_labels: self.opts.external_labels.clone(),
                external_url: self.opts.external_url.clone(),
                value: v,
            };
            let (labels, annotations) = templates.expand(&r.alert, &l, &data, &qfn);
            let fp = fingerprint(&labels);
            if !result_fps.insert(fp) {
                return Err(EvalError::Rule {
                    rule: r.alert.clone(),
                    message:
                        "vector contains metrics with the same labelset after applying alert labels"
                            .into(),
                });
            }
            if let Some(a) = rs.active.get_mut(&fp)
                && a.state != AlertState::Inactive
            {
                a.value = v;
                a.annotations = annotations;
                continue;
            }
            rs.active
                .insert(fp, ActiveAlert::pending(labels, annotations, v, t));
        }
        Ok(result_fps)
    }

    /// Steps the state machine of every alert of the rule at `t`: alerts missing from the
    /// result resolve (or keep firing for `keep_firing_for`; pending ones and those resolved
    /// longer than the retention are dropped), pending alerts active for `for` fire. Returns
    /// the `ALERTS` / `ALERTS_FOR_STATE` series of the active alerts (none until `for` state
    /// is restored) and how many alerts are active.
    fn step_states(
        &self,
        r: &AlertingRule,
        rs: &mut RuleState,
        result_fps: &HashSet<u64>,
        t: i64,
    ) -> (Vec<(Labels, f64)>, usize) {
        let write_series = rs.restored || !self.opts.restore_for_state;
        let mut out_series = Vec::new();
        let mut num_active = 0usize;
        let mut remove = Vec::new();
        for (fp, a) in rs.active.iter_mut() {
            if !result_fps.contains(fp) {
                let mut keep = false;
                if a.state == AlertState::Firing && r.keep_firing_for_ms > 0 {
                    let since = *a.keep_firing_since.get_or_insert(t);
                    keep = t - since < r.keep_firing_for_ms;
                }
                if !keep {
                    if a.state == AlertState::Pending
                        || (a.resolved_at != 0
                            && t - a.resolved_at > self.opts.resolved_retention_ms)
                    {
                        remove.push(*fp);
                    }
                    if a.state != AlertState::Inactive {
                        a.state = AlertState::Inactive;
                        a.resolved_at = t;
                    }
                    continue;
                }
            } else {
                a.keep_firing_since = None;
            }
            num_active += 1;
            if a.state == AlertState::Pending && t - a.active_at >= r.for_ms {
                a.state = AlertState::Firing;
                a.fired_at = t;
            }
            if write_series {
                push_alert_series(a, &mut out_series);
            }
        }
        for fp in remove {
            rs.active.remove(&fp);
        }
        (out_series, num_active)
    }
}
