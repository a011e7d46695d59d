//! vigia-rules: Prometheus recording and alerting rules.
//!
//! Loads and checks rule files in Prometheus's format ([`load_files`], [`check_files`]),
//! evaluates groups with the PromQL engine over the storage traits ([`RuleManager`]): recording
//! rules write their series, alerting rules run the inactive → pending → firing → resolved
//! state machine, write `ALERTS` / `ALERTS_FOR_STATE`, restore `for` state after a restart and
//! hand alerts to a notify callback. Labels and annotations are Go-style templates
//! ([`template`]). [`run_rule_tests`] runs rule unit tests in `promtool test rules` format.
//! Notification routing and HTTP live elsewhere.

mod alert;
mod config;
mod manager;
mod severity;
pub mod template;
mod unittest;

pub use alert::{Alert, AlertState, fingerprint};
pub use config::{
    AlertingRule, CheckReport, DEFAULT_INTERVAL_MS, Group, RecordingRule, Rule, RuleError,
    check_files, check_str, load_files,
};
pub use manager::{
    Clock, EvalError, GroupStats, GroupStatus, ManagerOptions, ManualClock, NotifyFn, RuleManager,
    RuleStatus, SystemClock,
};
pub use severity::Severity;
pub use unittest::{TestReport, run_rule_tests};
