//! vigia-notify: vigia's Alertmanager. Takes alerts (from the rule manager or `POST
//! /api/v2/alerts`), routes them through an Alertmanager routing tree, groups, inhibits,
//! silences and mutes them, escalates unacknowledged alerts, records acknowledge/resolve notes
//! and every state change, and hands notifications to `vigia-receivers` for delivery.

pub mod api;
mod config;
mod dispatcher;
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
pub use escalation::{EscalationLevel, EscalationPolicy, validate_escalations};
pub use matcher::{AmMatcher, MatchOp, Matchers, parse_matcher, parse_matchers};
pub use vigia_receivers::{GlobalConfig, ReceiverConfig};
pub use vigia_rules::{Clock, ManualClock, SystemClock};
