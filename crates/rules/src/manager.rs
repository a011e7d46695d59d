//! Rule evaluation: the [`RuleManager`] evaluates groups (at an explicit time for tests, or in a
//! background thread per group at its interval), writes recording-rule results, `ALERTS` and
//! `ALERTS_FOR_STATE`, runs the alert state machine, restores `for` state after a restart,
//! writes stale markers and hands alerts to a notify callback.
//!
//! This module holds the public types and the manager itself; the work is split by
//! responsibility:
//! - `state`: the per-group and per-rule state kept between evaluations;
//! - `groups`: the group registry (reloads) and one evaluation round of a group;
//! - `schedule`: evaluation slots and the background thread per group;
//! - `output`: running a rule's query and writing its series, with stale markers;
//! - `recording`: recording rules;
//! - `alerting`: alerting rules: templates and the alert state machine;
//! - `restore`: the `ALERTS` / `ALERTS_FOR_STATE` series and `for` restoration;
//! - `notify`: which alerts are sent after an evaluation, and their `generatorURL`;
//! - `status`: active alerts, rule status and self-metrics.

mod alerting;
mod groups;
mod notify;
mod output;
mod recording;
mod restore;
mod schedule;
mod state;
mod status;

use crate::config::{Group, Rule};
use state::Shared;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use vigia_model::{Alert, Appender, Clock, Querier, StorageError};
use vigia_promql::{Engine, QueryError};

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
}
