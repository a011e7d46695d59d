//! The state the manager keeps between evaluations: per group (its definition, per-rule state,
//! self-metrics) and per rule (active alerts, the series written last time, health).

use super::GroupStats;
use crate::config::Group;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use vigia_model::{Alert, AlertState, Labels, fingerprint};

/// An alert of an alerting rule: pending, firing, or resolved and still kept.
#[derive(Debug, Clone)]
pub(super) struct ActiveAlert {
    pub(super) labels: BTreeMap<String, String>,
    pub(super) annotations: BTreeMap<String, String>,
    pub(super) state: AlertState,
    pub(super) value: f64,
    pub(super) active_at: i64,
    pub(super) fired_at: i64,
    pub(super) resolved_at: i64,
    pub(super) last_sent_at: i64,
    pub(super) valid_until: i64,
    pub(super) keep_firing_since: Option<i64>,
}

impl ActiveAlert {
    /// A new pending alert, active since `t`.
    pub(super) fn pending(
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
        value: f64,
        t: i64,
    ) -> Self {
        ActiveAlert {
            labels,
            annotations,
            state: AlertState::Pending,
            value,
            active_at: t,
            fired_at: 0,
            resolved_at: 0,
            last_sent_at: 0,
            valid_until: 0,
            keep_firing_since: None,
        }
    }

    /// The alert as it is notified and listed: `ends_at` is the resolution time once
    /// resolved, else the end of its validity.
    pub(super) fn to_alert(&self, generator_url: String) -> Alert {
        Alert {
            labels: self.labels.clone(),
            annotations: self.annotations.clone(),
            state: self.state,
            active_at_ms: self.active_at,
            starts_at_ms: self.fired_at,
            ends_at_ms: if self.resolved_at != 0 {
                self.resolved_at
            } else {
                self.valid_until
            },
            resolved_at_ms: self.resolved_at,
            value: self.value,
            generator_url,
            fingerprint: fingerprint(&self.labels),
        }
    }
}

/// What the manager remembers of one rule.
#[derive(Debug, Default)]
pub(super) struct RuleState {
    pub(super) active: HashMap<u64, ActiveAlert>,
    pub(super) prev_series: HashSet<Labels>,
    pub(super) last_error: Option<String>,
    pub(super) last_eval: i64,
    pub(super) last_duration: f64,
    pub(super) evaluated: bool,
    pub(super) restored: bool,
}

/// What the manager remembers of one group.
#[derive(Debug)]
pub(super) struct GroupState {
    pub(super) group: Group,
    pub(super) rules: Vec<RuleState>,
    pub(super) should_restore: bool,
    pub(super) stats: GroupStats,
}

impl GroupState {
    /// Fresh state of `g`; `restore` says whether its first evaluation restores `for` state.
    pub(super) fn new(g: &Group, restore: bool) -> Self {
        GroupState {
            group: g.clone(),
            rules: g.rules.iter().map(|_| RuleState::default()).collect(),
            should_restore: restore,
            stats: GroupStats {
                file: g.file.display().to_string(),
                name: g.name.clone(),
                interval_ms: g.interval_ms,
                rules: g.rules.len(),
                ..Default::default()
            },
        }
    }
}

/// A group's state, shared by the registry and its background thread.
pub(super) type Shared = Arc<Mutex<GroupState>>;
