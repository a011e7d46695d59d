//! The group registry and evaluation rounds: installing a new set of groups (a reload keeps
//! the state of unchanged groups and rules, and marks the series of removed ones stale), and
//! evaluating a group's rules in order at one time.

use super::state::{GroupState, Shared};
use super::{EvalError, RuleManager, lock};
use crate::config::{Group, Rule};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use vigia_model::{Alert, Sample, SeriesSamples};

impl RuleManager {
    fn new_state(&self, g: &Group) -> GroupState {
        GroupState::new(g, self.opts.restore_for_state)
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
                carry_over(&mut st, &mut lock(prev));
            }
            new.push(Arc::new(Mutex::new(st)));
        }
        self.mark_removed_stale(&old);
        *self.groups.write().unwrap_or_else(|e| e.into_inner()) = new;
        if was_running {
            self.start();
        }
    }

    /// Series of removed rules and groups get stale markers, as in Prometheus. `old` is the
    /// registry before a reload; the state carried over to the new one was taken out of it.
    fn mark_removed_stale(&self, old: &[Shared]) {
        let now = self.clock.now_ms();
        let mut stale = Vec::new();
        for o in old {
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
    pub(super) fn eval_locked(
        &self,
        st: &mut GroupState,
        t_ms: i64,
    ) -> (Vec<Alert>, Vec<EvalError>) {
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

    pub(super) fn send(&self, alerts: Vec<Alert>) {
        if !alerts.is_empty() {
            (self.notify)(alerts);
        }
    }
}

/// Carries the state of a group over a reload: its restore flag and counters, and the state
/// of every rule that is unchanged (wherever it moved within the group).
fn carry_over(st: &mut GroupState, p: &mut GroupState) {
    st.should_restore = p.should_restore;
    st.stats.evaluations_total = p.stats.evaluations_total;
    st.stats.evaluation_failures_total = p.stats.evaluation_failures_total;
    st.stats.iterations_missed_total = p.stats.iterations_missed_total;
    st.stats.last_evaluation_ms = p.stats.last_evaluation_ms;
    st.stats.last_duration_seconds = p.stats.last_duration_seconds;
    let old_rules = p.group.rules.clone();
    for (i, r) in st.group.rules.iter().enumerate() {
        if let Some(j) = old_rules.iter().position(|o| o == r)
            && let (Some(slot), Some(old_state)) = (st.rules.get_mut(i), p.rules.get_mut(j))
        {
            *slot = std::mem::take(old_state);
        }
    }
}
