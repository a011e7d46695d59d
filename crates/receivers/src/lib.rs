//! vigia-receivers: delivers alert notifications to receivers — webhook (Alertmanager payload
//! v4), Slack, email, SMS, PagerDuty, Opsgenie, an external Alertmanager and the dashboard feed —
//! through a durable outbox with retries and per-receiver rate limits. Deciding *what* to send
//! and *when* (routing, grouping, silences, escalation) is `vigia-notify`'s job.

pub mod config;
mod message;

pub use config::{
    AlertmanagerTarget, GlobalConfig, HttpClientConfig, NotifySettings, RateLimit, ReceiverConfig,
    RetrySettings, Secret, SmsConfig, SmsPreset, validate_all,
};
pub use message::{Escalation, Notification, NotifyAlert, Status};
