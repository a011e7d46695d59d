//! The dispatcher's state: alerts with their acknowledgements, aggregation groups, the
//! notification log, silences, and the queries over them (silenced, inhibited, routed, muted);
//! its snapshot on disk.

use super::*;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AlertRec {
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) starts_ms: i64,
    pub(crate) ends_ms: i64,
    pub(crate) updated_ms: i64,
    pub(crate) timeout: bool,
    pub(crate) generator_url: String,
    pub(crate) fp: u64,
    pub(crate) processed: bool,
    pub(crate) resolved_logged: bool,
    pub(crate) silenced_by: Vec<String>,
    pub(crate) inhibited_by: Vec<String>,
    pub(crate) ack: Option<Action>,
    pub(crate) manual: Option<Action>,
    pub(crate) esc_policy: Option<String>,
    pub(crate) esc_level: u32,
    pub(crate) esc_severity: Option<String>,
    pub(crate) esc_receivers: Vec<String>,
    pub(crate) esc_resolved_sent: bool,
}

impl AlertRec {
    pub(crate) fn resolved(&self, now: i64) -> bool {
        self.ends_ms <= now
    }
    /// Resolved for notification purposes (condition ended or manually resolved).
    pub(crate) fn done(&self, now: i64) -> bool {
        self.resolved(now) || self.manual.is_some()
    }
    pub(crate) fn notify_alert(
        &self,
        now: i64,
        labels: Option<BTreeMap<String, String>>,
    ) -> NotifyAlert {
        let (status, ends) = match (&self.manual, self.resolved(now)) {
            (_, true) => (Status::Resolved, fmt_time(self.ends_ms)),
            (Some(m), false) => (Status::Resolved, fmt_time(m.at_ms)),
            (None, false) => (Status::Firing, ZERO_TIME.to_string()),
        };
        NotifyAlert {
            status,
            labels: labels.unwrap_or_else(|| self.labels.clone()),
            annotations: self.annotations.clone(),
            starts_at: fmt_time(self.starts_ms),
            ends_at: ends,
            generator_url: self.generator_url.clone(),
            fingerprint: hex(self.fp),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Group {
    pub(crate) key: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) route: RouteMatch,
    pub(crate) alerts: BTreeSet<u64>,
    pub(crate) next_flush_ms: i64,
    pub(crate) has_flushed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct NflogEntry {
    pub(crate) firing: BTreeSet<u64>,
    pub(crate) resolved: BTreeSet<u64>,
    pub(crate) ts_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SilenceRec {
    pub(crate) id: String,
    pub(crate) matchers: Vec<ApiMatcher>,
    pub(crate) starts_ms: i64,
    pub(crate) ends_ms: i64,
    pub(crate) updated_ms: i64,
    pub(crate) created_by: String,
    pub(crate) comment: String,
}

impl SilenceRec {
    pub(crate) fn state(&self, now: i64) -> &'static str {
        if now < self.starts_ms {
            "pending"
        } else if now < self.ends_ms {
            "active"
        } else {
            "expired"
        }
    }
    pub(crate) fn compiled(&self) -> Vec<AmMatcher> {
        self.matchers
            .iter()
            .filter_map(|m| m.to_matcher().ok())
            .collect()
    }
    pub(crate) fn api(&self, now: i64) -> GettableSilence {
        GettableSilence {
            id: self.id.clone(),
            status: SilenceStatus {
                state: self.state(now).to_string(),
            },
            updated_at: fmt_time(self.updated_ms),
            matchers: self.matchers.clone(),
            starts_at: fmt_time(self.starts_ms),
            ends_at: fmt_time(self.ends_ms),
            created_by: self.created_by.clone(),
            comment: self.comment.clone(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    pub(crate) alerts: Vec<AlertRec>,
    pub(crate) silences: Vec<SilenceRec>,
    pub(crate) groups: Vec<Group>,
    pub(crate) nflog: BTreeMap<String, NflogEntry>,
}

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) received: BTreeMap<String, u64>,
    pub(crate) notifications: BTreeMap<String, u64>,
    pub(crate) failed: BTreeMap<String, u64>,
    pub(crate) escalations: BTreeMap<String, u64>,
}

pub(crate) struct State {
    pub(crate) cfg: AmConfig,
    pub(crate) escalations: Vec<EscalationPolicy>,
    pub(crate) alerts: BTreeMap<u64, AlertRec>,
    pub(crate) silences: BTreeMap<String, SilenceRec>,
    /// Keyed by group key + NUL + receiver.
    pub(crate) groups: BTreeMap<String, Group>,
    pub(crate) nflog: BTreeMap<String, NflogEntry>,
    pub(crate) metrics: Metrics,
    pub(crate) hist: Vec<HistoryEntry>,
    /// Compiled matchers per silence id.
    pub(crate) sil_cache: HashMap<String, Vec<AmMatcher>>,
    /// Something changed since the last snapshot.
    pub(crate) dirty: bool,
    /// Escalations refused by the sink: fingerprint → earliest retry (ms).
    pub(crate) esc_retry: HashMap<u64, i64>,
}

/// Go's `model.LabelSet.String()`: `{a="b", c="d"}`.
pub(crate) fn labelset_string(l: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = l.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", parts.join(", "))
}

pub(crate) fn common<'a>(
    maps: impl Iterator<Item = &'a BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let mut out: Option<BTreeMap<String, String>> = None;
    for m in maps {
        out = Some(match out {
            None => m.clone(),
            Some(c) => c.into_iter().filter(|(k, v)| m.get(k) == Some(v)).collect(),
        });
    }
    out.unwrap_or_default()
}

/// AM's notification-log decision (`DedupStage.needsUpdate`), resolved alerts always sent.
pub(crate) fn needs_update(
    entry: Option<&NflogEntry>,
    firing: &BTreeSet<u64>,
    resolved: &BTreeSet<u64>,
    repeat_ms: i64,
    now: i64,
) -> bool {
    let Some(e) = entry else {
        return !firing.is_empty();
    };
    if !firing.is_subset(&e.firing) {
        return true;
    }
    if firing.is_empty() {
        return !e.firing.is_empty();
    }
    if !resolved.is_subset(&e.resolved) {
        return true;
    }
    e.ts_ms < now - repeat_ms
}

impl State {
    pub(crate) fn silenced_by(&self, labels: &BTreeMap<String, String>, now: i64) -> Vec<String> {
        self.silences
            .values()
            .filter(|s| {
                s.state(now) == "active"
                    && self
                        .sil_cache
                        .get(&s.id)
                        .is_some_and(|ms| matches_all(ms, labels))
            })
            .map(|s| s.id.clone())
            .collect()
    }

    /// Fingerprint → inhibiting fingerprints.
    pub(crate) fn inhibited(&self, now: i64) -> HashMap<u64, Vec<String>> {
        let mut out: HashMap<u64, Vec<String>> = HashMap::new();
        for rule in &self.cfg.inhibit_rules {
            let mut sources: HashMap<Vec<&str>, Vec<(u64, bool)>> = HashMap::new();
            for a in self.alerts.values() {
                if a.done(now) || !matches_all(&rule.source, &a.labels) {
                    continue;
                }
                let key: Vec<&str> = rule
                    .equal
                    .iter()
                    .map(|l| a.labels.get(l).map_or("", String::as_str))
                    .collect();
                sources
                    .entry(key)
                    .or_default()
                    .push((a.fp, matches_all(&rule.target, &a.labels)));
            }
            if sources.is_empty() {
                continue;
            }
            for t in self.alerts.values() {
                if !matches_all(&rule.target, &t.labels) {
                    continue;
                }
                let key: Vec<&str> = rule
                    .equal
                    .iter()
                    .map(|l| t.labels.get(l).map_or("", String::as_str))
                    .collect();
                let Some(cands) = sources.get(&key) else {
                    continue;
                };
                let t_is_source = matches_all(&rule.source, &t.labels);
                for (sfp, s_is_target) in cands {
                    if *sfp == t.fp || (*s_is_target && t_is_source) {
                        continue;
                    }
                    let v = out.entry(t.fp).or_default();
                    let h = hex(*sfp);
                    if !v.contains(&h) {
                        v.push(h);
                    }
                }
            }
        }
        out
    }

    pub(crate) fn insert_into_groups(&mut self, fp: u64, now: i64) {
        let Some(a) = self.alerts.get(&fp) else {
            return;
        };
        let (labels, starts) = (a.labels.clone(), a.starts_ms);
        for rm in self.cfg.routes_for(&labels) {
            let gl = rm.group_labels(&labels);
            let key = format!("{}:{}", rm.route_key, labelset_string(&gl));
            let map_key = format!("{key}\u{0}{}", rm.receiver);
            let g = self.groups.entry(map_key).or_insert_with(|| Group {
                key,
                labels: gl,
                next_flush_ms: now + rm.group_wait_ms,
                route: rm.clone(),
                alerts: BTreeSet::new(),
                has_flushed: false,
            });
            if !g.has_flushed && starts + g.route.group_wait_ms < now {
                g.next_flush_ms = g.next_flush_ms.min(now);
            }
            g.alerts.insert(fp);
        }
    }

    pub(crate) fn receivers_of(&self, labels: &BTreeMap<String, String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for r in self.cfg.routes_for(labels) {
            if !out.contains(&r.receiver) {
                out.push(r.receiver);
            }
        }
        out
    }

    pub(crate) fn policy_for(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Option<&EscalationPolicy> {
        self.escalations.iter().find(|p| p.matches(labels))
    }

    pub(crate) fn muted_by_time(&self, r: &RouteMatch, now: i64) -> bool {
        let inside = |n: &String| self.cfg.time_interval(n).is_some_and(|t| t.contains(now));
        r.mute_time_intervals.iter().any(inside)
            || (!r.active_time_intervals.is_empty() && !r.active_time_intervals.iter().any(inside))
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            alerts: self.alerts.values().cloned().collect(),
            silences: self.silences.values().cloned().collect(),
            groups: self.groups.values().cloned().collect(),
            nflog: self.nflog.clone(),
        }
    }
}

/// Alertmanager's order of alerts in a notification: by `job`, then `instance` (alerts with
/// the label first), then by the whole sorted label set.
pub(crate) fn alert_order(
    a: &BTreeMap<String, String>,
    b: &BTreeMap<String, String>,
) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for key in ["job", "instance"] {
        match (a.get(key), b.get(key)) {
            (None, None) => continue,
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    a.iter().cmp(b.iter())
}

pub(crate) fn escalation_group_labels(
    labels: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| *k == "alertname")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Alertmanager's `Alert.Merge`, applied when an update overlaps the stored alert.
pub(crate) fn merge(old: &AlertRec, new: &AlertRec, now: i64) -> AlertRec {
    let (a, o) = if new.updated_ms >= old.updated_ms {
        (old, new)
    } else {
        (new, old)
    };
    let mut res = o.clone();
    if a.starts_ms < o.starts_ms {
        res.starts_ms = a.starts_ms;
    }
    if o.resolved(now) {
        if a.resolved(now) && a.ends_ms > o.ends_ms {
            res.ends_ms = a.ends_ms;
        }
    } else if a.ends_ms > o.ends_ms && !a.timeout {
        res.ends_ms = a.ends_ms;
        res.timeout = false;
    }
    res
}
