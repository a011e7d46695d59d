//! vigia-receivers: delivers alert notifications to receivers — webhook (Alertmanager payload
//! v4), Slack, email, SMS, PagerDuty, Opsgenie, an external Alertmanager and the dashboard feed —
//! through a durable outbox with retries and per-receiver rate limits. Deciding *what* to send
//! and *when* (routing, grouping, silences, escalation) is `vigia-notify`'s job.
//!
//! Wiring: build an [`Outbox`] with [`Outbox::open`] (directory, `notify:` settings, AM
//! receivers and `global:`, a result callback, a tokio runtime handle), call
//! [`Outbox::enqueue`] for every notification, read the dashboard [`Feed`] from
//! [`Outbox::feed`], and give the current alert set to a [`Forwarder`] for external
//! Alertmanagers.

pub mod config;
mod error;
mod feed;
mod forwarder;
mod global;
mod http;
pub mod integrations;
mod message;
mod outbox;
pub mod render;
mod templates;

pub use config::{
    AlertmanagerTarget, GlobalConfig, HttpClientConfig, NotifySettings, RateLimit, ReceiverConfig,
    RetrySettings, Secret, SmsConfig, SmsPreset, template_problems, validate_all,
};
pub use error::{DeliveryError, OutboxError, TemplateFileError};
pub use feed::{Feed, FeedEntry};
pub use forwarder::{ForwardStats, Forwarder, postable_alerts};
pub use integrations::{Integration, IntegrationKind, IntegrationSpec, receiver_integrations};
pub use message::{Acknowledgement, Escalation, Notification, NotifyAlert, Status};
pub use outbox::{DeliveryReport, Outbox, ResultCallback};
pub use templates::{Templates, notification_data};
