//! Rule evaluation: the [`RuleManager`] evaluates groups (at an explicit time for tests, or in a
//! background thread per group at its interval), writes recording-rule results, `ALERTS` and
//! `ALERTS_FOR_STATE`, runs the alert state machine, restores `for` state after a restart,
//! writes stale markers and hands alerts to a notify callback.

use crate::config::{AlertingRule, Group, RecordingRule, Rule};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};
use vigia_model::{
    Alert, AlertState, Appender, Clock, Labels, Matcher, Querier, Sample, SeriesSamples,
    StorageError, fingerprint,
};
use vigia_promql::{Engine, QueryError, QueryParams, Value};
use vigia_template::{Template, TemplateData};

/// The notification callback (Prometheus's NotifyFunc).
pub type NotifyFn = Arc<dyn Fn(Vec<Alert>) + Send + Sync>;

/// Manager settings; defaults follow Prometheus.
#[derive(Debug, Clone)]
pub struct ManagerOptions {
    /// External labels (`$externalLabels` in templates).
    pub external_labels: BTreeMap<String, String>,
    /// External URL, prefix of `generatorURL` (`$externalURL`).
    pub external_url: String,
    /// Minimum time between two notifications of the same alert (0: every evaluation).
    pub resend_delay_ms: i64,
    /// `for` restoration: alerts with `for` shorter than this are not restored; a restored alert
    /// gets at least this long before it fires (Prometheus `--rules.alert.for-grace-period`).
    pub for_grace_period_ms: i64,
    /// How far back restoration looks for `ALERTS_FOR_STATE` (`--rules.alert.for-outage-tolerance`).
    pub outage_tolerance_ms: i64,
    /// How long resolved alerts are kept and re-sent as resolved.
    pub resolved_retention_ms: i64,
    /// Restore `for` state on each group's first evaluation.
    pub restore_for_state: bool,
}

impl Default for ManagerOptions {
    fn default() -> Self {
        Self {
            external_labels: BTreeMap::new(),
            external_url: String::new(),
            resend_delay_ms: 0,
            for_grace_period_ms: 10 * 60_000,
            outage_tolerance_ms: 3_600_000,
            resolved_retention_ms: 15 * 60_000,
            restore_for_state: true,
        }
    }
}

/// Why a rule evaluation failed. Other rules of the group are still evaluated.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The query failed.
    #[error("rule {rule:?}: query failed: {source}")]
    Query {
        /// Rule name.
        rule: String,
        /// The cause.
        #[source]
        source: QueryError,
    },
    /// The result could not be used (wrong type, duplicate label sets, limit exceeded).
    #[error("rule {rule:?}: {message}")]
    Rule {
        /// Rule name.
        rule: String,
        /// What is wrong.
        message: String,
    },
    /// Writing the results failed.
    #[error("rule {rule:?}: writing results: {source}")]
    Storage {
        /// Rule name.
        rule: String,
        /// The cause.
        #[source]
        source: StorageError,
    },
}

/// Self-metrics of one group.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupStats {
    /// The group's file.
    pub file: String,
    /// The group's name.
    pub name: String,
    /// Interval (ms).
    pub interval_ms: i64,
    /// Number of rules.
    pub rules: usize,
    /// Evaluation time of the last evaluation (ms), 0 before the first.
    pub last_evaluation_ms: i64,
    /// Wall time the last evaluation took (`rule_group_last_duration_seconds`).
    pub last_duration_seconds: f64,
    /// Group evaluations.
    pub evaluations_total: u64,
    /// Rule evaluations that failed (`rule_evaluation_failures_total`).
    pub evaluation_failures_total: u64,
    /// Intervals skipped because an evaluation ran late (`rule_group_iterations_missed_total`).
    pub iterations_missed_total: u64,
}

/// Status of one rule (for `/api/v1/rules`).
#[derive(Debug, Clone, PartialEq)]
pub struct RuleStatus {
    /// The rule.
    pub rule: Rule,
    /// `ok`, `err` or `unknown` (not evaluated yet).
    pub health: &'static str,
    /// The last error.
    pub last_error: Option<String>,
    /// Evaluation time of the last evaluation (ms).
    pub last_evaluation_ms: i64,
    /// Wall time of its last evaluation.
    pub evaluation_seconds: f64,
    /// Active (pending, firing, recently resolved) alerts of an alerting rule.
    pub alerts: Vec<Alert>,
}

/// Status of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStatus {
    /// The group definition.
    pub group: Group,
    /// Per-rule status.
    pub rules: Vec<RuleStatus>,
    /// Self-metrics.
    pub stats: GroupStats,
}

#[derive(Debug, Clone)]
struct ActiveAlert {
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    state: AlertState,
    value: f64,
    active_at: i64,
    fired_at: i64,
    resolved_at: i64,
    last_sent_at: i64,
    valid_until: i64,
    keep_firing_since: Option<i64>,
}

#[derive(Debug, Default)]
struct RuleState {
    active: HashMap<u64, ActiveAlert>,
    prev_series: HashSet<Labels>,
    last_error: Option<String>,
    last_eval: i64,
    last_duration: f64,
    evaluated: bool,
    restored: bool,
}

#[derive(Debug)]
struct GroupState {
    group: Group,
    rules: Vec<RuleState>,
    should_restore: bool,
    stats: GroupStats,
}

type Shared = Arc<Mutex<GroupState>>;

/// A metric family of [`RuleManager::metrics_text`]: name, type, help, value of a group.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&GroupStats) -> f64,
);

/// Evaluates rule groups. Synchronous; the background loop runs one thread per group.
pub struct RuleManager {
    engine: Engine,
    querier: Arc<dyn Querier>,
    appender: Arc<dyn Appender>,
    clock: Arc<dyn Clock>,
    notify: NotifyFn,
    opts: ManagerOptions,
    groups: RwLock<Vec<Shared>>,
    running: Mutex<Vec<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn to_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
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

impl RuleManager {
    /// A manager reading through `querier`, writing through `appender`, timed by `clock` and
    /// notifying through `notify`.
    pub fn new(
        engine: Engine,
        querier: Arc<dyn Querier>,
        appender: Arc<dyn Appender>,
        clock: Arc<dyn Clock>,
        notify: NotifyFn,
    ) -> Self {
        Self {
            engine,
            querier,
            appender,
            clock,
            notify,
            opts: ManagerOptions::default(),
            groups: RwLock::new(Vec::new()),
            running: Mutex::new(Vec::new()),
        }
    }

    /// Replaces the options.
    pub fn with_options(mut self, opts: ManagerOptions) -> Self {
        self.opts = opts;
        self
    }

    /// The options.
    pub fn options(&self) -> &ManagerOptions {
        &self.opts
    }

    fn groups_read(&self) -> Vec<Shared> {
        self.groups
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn new_state(&self, g: &Group) -> GroupState {
        GroupState {
            group: g.clone(),
            rules: g.rules.iter().map(|_| RuleState::default()).collect(),
            should_restore: self.opts.restore_for_state,
            stats: GroupStats {
                file: g.file.display().to_string(),
                name: g.name.clone(),
                interval_ms: g.interval_ms,
                rules: g.rules.len(),
                ..Default::default()
            },
        }
    }

    /// Installs a new set of groups (a reload). State (active alerts, stale tracking, stats) of
    /// groups with the same file and name, and of their unchanged rules, is kept. Background
    /// loops, if running, are restarted.
    pub fn set_groups(self: &Arc<Self>, groups: Vec<Group>) {
        let was_running = !lock(&self.running).is_empty();
        if was_running {
            self.stop();
        }
        let old = self.groups_read();
        let mut new = Vec::with_capacity(groups.len());
        for g in groups {
            let prev = old.iter().find(|s| {
                let s = lock(s);
                s.group.file == g.file && s.group.name == g.name
            });
            let mut st = self.new_state(&g);
            if let Some(prev) = prev {
                let mut p = lock(prev);
                st.should_restore = p.should_restore;
                st.stats.evaluations_total = p.stats.evaluations_total;
                st.stats.evaluation_failures_total = p.stats.evaluation_failures_total;
                st.stats.iterations_missed_total = p.stats.iterations_missed_total;
                st.stats.last_evaluation_ms = p.stats.last_evaluation_ms;
                st.stats.last_duration_seconds = p.stats.last_duration_seconds;
                let old_rules = p.group.rules.clone();
                for (i, r) in g.rules.iter().enumerate() {
                    if let Some(j) = old_rules.iter().position(|o| o == r)
                        && let (Some(slot), Some(old_state)) =
                            (st.rules.get_mut(i), p.rules.get_mut(j))
                    {
                        *slot = std::mem::take(old_state);
                    }
                }
            }
            new.push(Arc::new(Mutex::new(st)));
        }
        // Series of removed rules and groups get stale markers, as in Prometheus.
        let now = self.clock.now_ms();
        let mut stale = Vec::new();
        for o in &old {
            let mut o = lock(o);
            for rs in o.rules.iter_mut() {
                for l in rs.prev_series.drain() {
                    stale.push(SeriesSamples {
                        labels: l,
                        samples: vec![Sample::new(now, vigia_model::stale_nan())],
                    });
                }
            }
        }
        if !stale.is_empty()
            && let Err(e) = self.appender.append(&stale)
        {
            tracing::warn!(error = %e, "writing stale markers of removed rules failed");
        }
        *self.groups.write().unwrap_or_else(|e| e.into_inner()) = new;
        if was_running {
            self.start();
        }
    }

    fn state_for(&self, g: &Group) -> Shared {
        if let Some(s) = self.groups_read().into_iter().find(|s| {
            let s = lock(s);
            s.group.file == g.file && s.group.name == g.name
        }) {
            return s;
        }
        let s = Arc::new(Mutex::new(self.new_state(g)));
        self.groups
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(s.clone());
        s
    }

    /// Evaluates `group` at `t_ms` (registering it if it is new). Every rule is evaluated in
    /// order; the errors of failed rules are returned together.
    pub fn eval_group_at(&self, group: &Group, t_ms: i64) -> Result<(), Vec<EvalError>> {
        let shared = self.state_for(group);
        let mut st = lock(&shared);
        if st.group != *group {
            // The definition changed without a reload: start this group's rules afresh.
            let fresh = self.new_state(group);
            st.group = fresh.group;
            st.rules = fresh.rules;
            st.stats.rules = group.rules.len();
        }
        let (send, errors) = self.eval_locked(&mut st, t_ms);
        drop(st);
        self.send(send);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Evaluates every registered group at `t_ms`, in registration order.
    pub fn eval_all_at(&self, t_ms: i64) -> Result<(), Vec<EvalError>> {
        let mut errs = Vec::new();
        for s in self.groups_read() {
            let mut st = lock(&s);
            let (send, e) = self.eval_locked(&mut st, t_ms);
            drop(st);
            self.send(send);
            errs.extend(e);
        }
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }

    /// Evaluates a locked group; returns the alerts to notify (sent by the caller once the lock
    /// is released, so `notify` may call back into the manager) and the rule errors.
    fn eval_locked(&self, st: &mut GroupState, t_ms: i64) -> (Vec<Alert>, Vec<EvalError>) {
        let started = Instant::now();
        let mut errors = Vec::new();
        let group = st.group.clone();
        let mut to_send = Vec::new();
        for (i, rule) in group.rules.iter().enumerate() {
            let Some(rs) = st.rules.get_mut(i) else {
                continue;
            };
            let rstart = Instant::now();
            let res = match rule {
                Rule::Recording(r) => self.eval_recording(&group, r, rs, t_ms),
                Rule::Alerting(a) => self.eval_alerting(&group, a, rs, t_ms, &mut to_send),
            };
            rs.last_eval = t_ms;
            rs.evaluated = true;
            rs.last_duration = rstart.elapsed().as_secs_f64();
            match res {
                Ok(()) => rs.last_error = None,
                Err(e) => {
                    tracing::warn!(group = %group.name, error = %e, "rule evaluation failed");
                    rs.last_error = Some(e.to_string());
                    st.stats.evaluation_failures_total += 1;
                    errors.push(e);
                }
            }
        }
        if st.should_restore {
            self.restore_for_state(st, t_ms);
            st.should_restore = false;
        }
        st.stats.evaluations_total += 1;
        st.stats.last_evaluation_ms = t_ms;
        st.stats.last_duration_seconds = started.elapsed().as_secs_f64();
        (to_send, errors)
    }

    fn send(&self, alerts: Vec<Alert>) {
        if !alerts.is_empty() {
            (self.notify)(alerts);
        }
    }

    fn query(&self, rule: &str, expr: &str, t: i64) -> Result<Vec<(Labels, f64)>, EvalError> {
        let out = self
            .engine
            .instant(self.querier.as_ref(), expr, t, &QueryParams::default())
            .map_err(|source| EvalError::Query {
                rule: rule.to_string(),
                source,
            })?;
        match out.value {
            Value::Vector(v) => Ok(v.into_iter().map(|s| (s.labels, s.v)).collect()),
            Value::Scalar { v, .. } => Ok(vec![(Labels::empty(), v)]),
            _ => Err(EvalError::Rule {
                rule: rule.to_string(),
                message: "rule result is not a vector or scalar".into(),
            }),
        }
    }

    /// Appends `series` (one sample each at `t`) and stale markers for the rule's series of the
    /// previous evaluation that are gone.
    fn write(
        &self,
        rule: &str,
        rs: &mut RuleState,
        series: Vec<(Labels, f64)>,
        t: i64,
    ) -> Result<(), EvalError> {
        let mut cur = HashSet::with_capacity(series.len());
        let mut batch = Vec::with_capacity(series.len());
        for (l, v) in series {
            cur.insert(l.clone());
            batch.push(SeriesSamples {
                labels: l,
                samples: vec![Sample::new(t, v)],
            });
        }
        for gone in rs.prev_series.difference(&cur) {
            batch.push(SeriesSamples {
                labels: gone.clone(),
                samples: vec![Sample::new(t, vigia_model::stale_nan())],
            });
        }
        rs.prev_series = cur;
        if batch.is_empty() {
            return Ok(());
        }
        self.appender
            .append(&batch)
            .map(|_| ())
            .map_err(|source| EvalError::Storage {
                rule: rule.to_string(),
                source,
            })
    }

    fn eval_recording(
        &self,
        g: &Group,
        r: &RecordingRule,
        rs: &mut RuleState,
        t: i64,
    ) -> Result<(), EvalError> {
        let qt = t - g.query_offset_ms;
        let res = self.query(&r.record, &r.expr, qt)?;
        let mut seen = HashSet::with_capacity(res.len());
        let mut out = Vec::with_capacity(res.len());
        for (l, v) in res {
            let mut b = l.builder();
            b.set("__name__", r.record.clone());
            for (k, val) in g.labels.iter().chain(r.labels.iter()) {
                b.set(k.clone(), val.clone());
            }
            let l = b.build();
            if !seen.insert(l.clone()) {
                return Err(EvalError::Rule {
                    rule: r.record.clone(),
                    message:
                        "vector contains metrics with the same labelset after applying rule labels"
                            .into(),
                });
            }
            out.push((l, v));
        }
        if g.limit > 0 && out.len() > g.limit {
            return Err(EvalError::Rule {
                rule: r.record.clone(),
                message: format!("exceeded limit of {} with {} series", g.limit, out.len()),
            });
        }
        self.write(&r.record, rs, out, qt)
    }

    fn generator_url(&self, expr: &str) -> String {
        format!(
            "{}/graph?g0.expr={}&g0.tab=1",
            self.opts.external_url.trim_end_matches('/'),
            query_escape(expr)
        )
    }

    fn eval_alerting(
        &self,
        g: &Group,
        r: &AlertingRule,
        rs: &mut RuleState,
        t: i64,
        to_send: &mut Vec<Alert>,
    ) -> Result<(), EvalError> {
        let qt = t - g.query_offset_ms;
        let res = self.query(&r.alert, &r.expr, qt)?;
        let qfn = |q: &str| -> Result<vigia_template::QueryResult, vigia_template::QueryFailure> {
            self.query("template", q, qt)
                .map(|v| v.into_iter().map(|(l, x)| (to_map(&l), x)).collect())
                .map_err(|e| -> vigia_template::QueryFailure { Box::new(e) })
        };
        // Templates are parsed once per evaluation, not once per alert.
        let parse = |m: &BTreeMap<String, String>| -> Vec<(String, Result<Template, String>)> {
            m.iter()
                .map(|(k, v)| (k.clone(), Template::parse(v).map_err(|e| e.to_string())))
                .collect()
        };
        let label_tmpls = {
            let mut merged = g.labels.clone();
            merged.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            parse(&merged)
        };
        let ann_tmpls = parse(&r.annotations);
        let render = |t: &Result<Template, String>, data: &TemplateData| -> String {
            match t.as_ref().map(|t| t.render_with(data, Some(&qfn))) {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => format!("<error expanding template: {e}>"),
                Err(e) => format!("<error expanding template: {e}>"),
            }
        };
        let mut result_fps = HashSet::with_capacity(res.len());
        for (l, v) in res {
            let data = TemplateData {
                labels: to_map(&l),
                external_labels: self.opts.external_labels.clone(),
                external_url: self.opts.external_url.clone(),
                value: v,
            };
            let mut labels = to_map(&l.without_metric_name());
            for (k, tmpl) in &label_tmpls {
                let val = render(tmpl, &data);
                if val.is_empty() {
                    labels.remove(k);
                } else {
                    labels.insert(k.clone(), val);
                }
            }
            labels.insert("alertname".into(), r.alert.clone());
            let annotations: BTreeMap<String, String> = ann_tmpls
                .iter()
                .map(|(k, tmpl)| (k.clone(), render(tmpl, &data)))
                .collect();
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
            rs.active.insert(
                fp,
                ActiveAlert {
                    labels,
                    annotations,
                    state: AlertState::Pending,
                    value: v,
                    active_at: t,
                    fired_at: 0,
                    resolved_at: 0,
                    last_sent_at: 0,
                    valid_until: 0,
                    keep_firing_since: None,
                },
            );
        }
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
            if rs.restored || !self.opts.restore_for_state {
                let mut b = Labels::from_pairs(a.labels.iter()).builder();
                b.set("__name__", "ALERTS");
                b.set("alertstate", a.state.as_str());
                out_series.push((b.build(), 1.0));
                let mut b = Labels::from_pairs(a.labels.iter()).builder();
                b.set("__name__", "ALERTS_FOR_STATE");
                out_series.push((b.build(), (a.active_at / 1000) as f64));
            }
        }
        for fp in remove {
            rs.active.remove(&fp);
        }
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
        // Notifications (Prometheus's sendAlerts).
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
            to_send.push(Alert {
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                state: a.state,
                active_at_ms: a.active_at,
                starts_at_ms: a.fired_at,
                ends_at_ms: if a.resolved_at != 0 {
                    a.resolved_at
                } else {
                    a.valid_until
                },
                resolved_at_ms: a.resolved_at,
                value: a.value,
                generator_url: url.clone(),
                fingerprint: fingerprint(&a.labels),
            });
        }
        Ok(())
    }

    /// Prometheus's `RestoreForState`: gives pending and firing alerts back the active-since
    /// time recorded in `ALERTS_FOR_STATE` before a restart, shifted by the downtime.
    fn restore_for_state(&self, st: &mut GroupState, ts: i64) {
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
                let mut want = Labels::from_pairs(a.labels.iter()).builder();
                want.set("__name__", "ALERTS_FOR_STATE");
                let want = want.build();
                let matchers: Vec<Matcher> = want
                    .iter()
                    .map(|l| Matcher::equal(l.name.clone(), l.value.clone()))
                    .collect();
                let Ok(set) = self.querier.select(&matchers, mint, ts) else {
                    continue;
                };
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
                let Some(last) = last else { continue };
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
            .map(|a| Alert {
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                state: a.state,
                active_at_ms: a.active_at,
                starts_at_ms: a.fired_at,
                ends_at_ms: if a.resolved_at != 0 {
                    a.resolved_at
                } else {
                    a.valid_until
                },
                resolved_at_ms: a.resolved_at,
                value: a.value,
                generator_url: self.generator_url(rule.expr()),
                fingerprint: fingerprint(&a.labels),
            })
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

    /// The self-metrics in OpenMetrics text format (without `# EOF`, so it can be appended to
    /// other families), named like Prometheus's with a `vigia_`
    /// prefix; the `rule_group` label is `file;name` as in Prometheus.
    pub fn metrics_text(&self) -> String {
        let stats = self.stats();
        let esc = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let mut out = String::new();
        let families: [Family; 7] = [
            (
                "vigia_rule_group_last_duration_seconds",
                "gauge",
                "Duration of the last rule group evaluation.",
                |s| s.last_duration_seconds,
            ),
            (
                "vigia_rule_group_interval_seconds",
                "gauge",
                "Interval of a rule group.",
                |s| s.interval_ms as f64 / 1000.0,
            ),
            (
                "vigia_rule_group_rules",
                "gauge",
                "Number of rules in a group.",
                |s| s.rules as f64,
            ),
            (
                "vigia_rule_group_last_evaluation_timestamp_seconds",
                "gauge",
                "Time of the last rule group evaluation.",
                |s| s.last_evaluation_ms as f64 / 1000.0,
            ),
            (
                "vigia_rule_group_evaluations_total",
                "counter",
                "Rule group evaluations.",
                |s| s.evaluations_total as f64,
            ),
            (
                "vigia_rule_evaluation_failures_total",
                "counter",
                "Failed rule evaluations.",
                |s| s.evaluation_failures_total as f64,
            ),
            (
                "vigia_rule_group_iterations_missed_total",
                "counter",
                "Rule group evaluations missed because of slow evaluation.",
                |s| s.iterations_missed_total as f64,
            ),
        ];
        for (name, kind, help, get) in families {
            // OpenMetrics names a counter family without its `_total` sample suffix.
            let family = match kind {
                "counter" => name.strip_suffix("_total").unwrap_or(name),
                _ => name,
            };
            out.push_str(&format!("# HELP {family} {help}\n# TYPE {family} {kind}\n"));
            for s in &stats {
                out.push_str(&format!(
                    "{name}{{rule_group=\"{};{}\"}} {}\n",
                    esc(&s.file),
                    esc(&s.name),
                    get(s)
                ));
            }
        }
        out
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

    /// Prometheus's evaluation slot of a group: the latest `t <= now` with
    /// `t ≡ hash(file, name) (mod interval)`, which spreads groups over the interval.
    pub fn eval_timestamp(group: &Group, now_ms: i64) -> i64 {
        let interval = group.interval_ms.max(1);
        let h = Labels::from_pairs([
            ("name", group.name.clone()),
            ("file", group.file.display().to_string()),
        ])
        .stable_hash();
        let offset = (h % interval as u64) as i64;
        let base = now_ms - now_ms.rem_euclid(interval);
        let mut next = base + offset;
        if next > now_ms {
            next -= interval;
        }
        next
    }

    /// Starts one background thread per registered group. Each evaluates its group at its
    /// interval slots (see [`RuleManager::eval_timestamp`]) as the clock reaches them, counting
    /// slots skipped because the previous evaluation overran as missed iterations.
    pub fn start(self: &Arc<Self>) {
        let mut running = lock(&self.running);
        if !running.is_empty() {
            return;
        }
        for shared in self.groups_read() {
            let stop = Arc::new(AtomicBool::new(false));
            let me = Arc::clone(self);
            let stop2 = stop.clone();
            // The first slot is fixed now, so the clock moving during thread start-up is seen.
            let first = {
                let st = lock(&shared);
                Self::eval_timestamp(&st.group, self.clock.now_ms()) + st.group.interval_ms.max(1)
            };
            let h = std::thread::Builder::new()
                .name("vigia-rules".into())
                .spawn(move || me.group_loop(shared, stop2, first));
            match h {
                Ok(h) => running.push((stop, h)),
                Err(e) => tracing::error!(error = %e, "cannot start a rule group thread"),
            }
        }
    }

    /// Stops the background threads and waits for them.
    pub fn stop(&self) {
        let threads = std::mem::take(&mut *lock(&self.running));
        for (stop, _) in &threads {
            stop.store(true, Ordering::SeqCst);
        }
        for (_, h) in threads {
            let _ = h.join();
        }
    }

    fn group_loop(&self, shared: Shared, stop: Arc<AtomicBool>, first: i64) {
        let interval = lock(&shared).group.interval_ms.max(1);
        let mut next = first;
        while !stop.load(Ordering::SeqCst) {
            let now = self.clock.now_ms();
            if now < next {
                let wait = (next - now).clamp(1, 200) as u64;
                std::thread::sleep(Duration::from_millis(wait));
                continue;
            }
            let missed = (now - next) / interval;
            if missed > 0 {
                next += missed * interval;
            }
            let mut st = lock(&shared);
            st.stats.iterations_missed_total += missed as u64;
            let (send, _errors) = self.eval_locked(&mut st, next);
            drop(st);
            self.send(send);
            next += interval;
        }
    }
}

impl Drop for RuleManager {
    fn drop(&mut self) {
        for (stop, _) in lock(&self.running).iter() {
            stop.store(true, Ordering::SeqCst);
        }
    }
}
