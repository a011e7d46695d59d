//! vigia-notify: vigia's Alertmanager. Takes alerts (from the rule manager or `POST
//! /api/v2/alerts`), routes them through an Alertmanager routing tree, groups, inhibits,
//! silences and mutes them, escalates unacknowledged alerts, records acknowledge/resolve notes
//! and every state change, and hands notifications to `vigia-receivers` for delivery.
//!
//! - [`AmConfig`]: the `alerting:` section (an Alertmanager 0.25 configuration), with
//!   [`AmConfig::validate`] and [`AmConfig::routes_for`] (amtool's routing order);
//!   [`EscalationPolicy`] is the `escalations:` section.
//! - [`Alertmanager`]: the dispatcher. [`Alertmanager::put_alerts`] takes v2
//!   [`PostableAlert`]s, [`Alertmanager::tick`] does whatever is due at the clock's time and
//!   hands [`vigia_receivers::Notification`]s to a [`NotificationSink`]; silences, alert
//!   listing, ack/resolve, history and self-metrics are methods too. State and history are
//!   durable under a directory.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use vigia_notify::*;
//!
//! struct Print(Mutex<Vec<String>>);
//! impl NotificationSink for Print {
//!     fn send(&self, n: vigia_receivers::Notification) -> Result<(), vigia_receivers::OutboxError> {
//!         self.0.lock().unwrap().push(n.receiver);
//!         Ok(())
//!     }
//! }
//!
//! let cfg = AmConfig::parse(
//!     "route: {receiver: team, group_wait: 30s}\nreceivers: [{name: team}]\n",
//! )
//! .unwrap();
//! let dir = tempfile::tempdir().unwrap();
//! let clock = Arc::new(ManualClock::new(1_700_000_000_000));
//! let sink = Arc::new(Print(Mutex::new(Vec::new())));
//! let am = Alertmanager::new(cfg, vec![], dir.path(), clock.clone(), sink.clone(), Options::default())
//!     .unwrap();
//! let alert: Vec<PostableAlert> =
//!     serde_json::from_str(r#"[{"labels": {"alertname": "Down", "job": "api"}}]"#).unwrap();
//! am.put_alerts(alert).unwrap();
//! am.tick().unwrap();
//! assert!(sink.0.lock().unwrap().is_empty()); // group_wait
//! clock.advance(30_000);
//! am.tick().unwrap();
//! assert_eq!(*sink.0.lock().unwrap(), ["team"]);
//! ```

pub mod api;
mod config;
mod dispatcher;
mod error;
mod escalation;
pub mod matcher;
mod store;
pub mod timeinterval;

pub use api::{
    ActionNote, AlertFilter, AlertStatus, ApiMatcher, GettableAlert, GettableSilence,
    PostableAlert, PostableSilence, ReceiverName, SilenceStatus, VigiaAlertInfo,
};
pub use config::{
    AmConfig, DEFAULT_GROUP_INTERVAL_MS, DEFAULT_GROUP_WAIT_MS, DEFAULT_REPEAT_INTERVAL_MS,
    InhibitRule, InhibitRuleConfig, RegexMap, Route, RouteConfig, RouteMatch,
};
pub use dispatcher::{
    Alertmanager, HistoryEntry, HistoryKind, NotificationSink, NotifyError, Options,
};
pub use error::InvalidInput;
pub use escalation::{EscalationLevel, EscalationPolicy, validate_escalations};
pub use matcher::{AmMatcher, MatchOp, Matchers, parse_matcher, parse_matchers};
pub use vigia_model::{Clock, ManualClock, SystemClock};
pub use vigia_receivers::{GlobalConfig, ReceiverConfig};
