//! vigia-rules: Prometheus recording and alerting rules.
//!
//! Loads and checks rule files in Prometheus's format ([`load_files`], [`check_files`]),
//! evaluates groups with the PromQL engine over the storage traits ([`RuleManager`]): recording
//! rules write their series, alerting rules run the inactive → pending → firing → resolved
//! state machine, write `ALERTS` / `ALERTS_FOR_STATE`, restore `for` state after a restart and
//! hand alerts to a notify callback. Labels and annotations are Go-style templates
//! (`vigia-template`); alerts are `vigia_model::Alert` values. [`run_rule_tests`] runs rule unit tests in `promtool test rules` format.
//! Notification routing and HTTP live elsewhere.
//!
//! ```
//! use std::path::Path;
//! use std::sync::Arc;
//! use vigia_model::{Appender, Labels, MemStorage, Sample, SeriesSamples};
//! use vigia_promql::{Engine, EngineOptions};
//! use vigia_model::{AlertState, ManualClock};
//! use vigia_rules::{RuleManager, check_str};
//!
//! let yaml = "groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n        for: 1m\n";
//! let group = check_str(Path::new("x.yaml"), yaml).groups.remove(0);
//! let store = Arc::new(MemStorage::new());
//! let up = Labels::from_pairs([("__name__", "up"), ("job", "a")]);
//! let samples = (0..5).map(|m| Sample::new(m * 60_000, 0.0)).collect();
//! store.append(&[SeriesSamples { labels: up, samples }]).unwrap();
//! let mgr = RuleManager::new(
//!     Engine::new(EngineOptions::default()),
//!     store.clone(),
//!     store.clone(),
//!     Arc::new(ManualClock::new(0)),
//!     Arc::new(|alerts| println!("notify {alerts:?}")),
//! );
//! mgr.eval_group_at(&group, 0).unwrap();
//! assert_eq!(mgr.active_alerts()[0].state, AlertState::Pending);
//! mgr.eval_group_at(&group, 60_000).unwrap();
//! assert_eq!(mgr.active_alerts()[0].state, AlertState::Firing);
//! ```

mod config;
mod manager;
mod unittest;

pub use config::{
    AlertingRule, CheckReport, DEFAULT_INTERVAL_MS, Group, RecordingRule, Rule, RuleError,
    check_files, check_str, load_files,
};
pub use manager::{
    EvalError, GroupStats, GroupStatus, ManagerOptions, NotifyFn, RuleManager, RuleStatus,
};
pub use unittest::{TestReport, run_rule_tests};
