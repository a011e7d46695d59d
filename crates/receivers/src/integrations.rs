//! The integrations: each turns a [`Notification`] into the exact request its provider expects
//! and sends it — webhook (Alertmanager payload v4), Slack incoming webhook, email over SMTP,
//! SMS (Twilio preset or generic JSON), PagerDuty Events API v2 and Opsgenie Alert API.
//!
//! Provider dedup keys ([`crate::render::dedup_key`]) are stable per receiver and alert group and
//! include the escalation level, so a redelivery after a crash is harmless while an escalation is
//! a new incident/alert instead of a duplicate the provider would merge into the original.

pub(crate) mod email;
pub(crate) mod opsgenie;
pub(crate) mod pagerduty;
pub(crate) mod slack;
pub(crate) mod sms;
pub(crate) mod webhook;

pub use email::email_message;
pub use opsgenie::opsgenie_requests;
pub use pagerduty::pagerduty_events;
pub use slack::slack_payload;
pub use webhook::webhook_payload;

use crate::config::{
    EmailConfig, GlobalConfig, HttpClientConfig, NotifySettings, OpsGenieConfig, PagerdutyConfig,
    ReceiverConfig, SlackConfig, SmsConfig, WebhookConfig,
};
use crate::error::DeliveryError;
use crate::http;
use crate::message::{Notification, Status};
use crate::templates::Templates;
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The kinds of integrations vigia delivers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntegrationKind {
    /// Generic webhook.
    Webhook,
    /// Email over SMTP.
    Email,
    /// Slack incoming webhook.
    Slack,
    /// PagerDuty Events API v2.
    Pagerduty,
    /// Opsgenie Alert API.
    Opsgenie,
    /// SMS over HTTP.
    Sms,
}

impl IntegrationKind {
    /// Alertmanager's integration name (`webhook`, `email`, `slack`, `pagerduty`, `opsgenie`),
    /// `sms` for vigia's SMS.
    pub fn name(self) -> &'static str {
        match self {
            IntegrationKind::Webhook => "webhook",
            IntegrationKind::Email => "email",
            IntegrationKind::Slack => "slack",
            IntegrationKind::Pagerduty => "pagerduty",
            IntegrationKind::Opsgenie => "opsgenie",
            IntegrationKind::Sms => "sms",
        }
    }
}

/// The settings of one integration, with the global defaults applied.
#[derive(Debug, Clone)]
pub enum IntegrationSpec {
    /// `webhook_configs[i]`.
    Webhook(WebhookConfig),
    /// `email_configs[i]`.
    Email(EmailConfig),
    /// `slack_configs[i]`.
    Slack(SlackConfig),
    /// `pagerduty_configs[i]`.
    Pagerduty(PagerdutyConfig),
    /// `opsgenie_configs[i]`.
    Opsgenie(OpsGenieConfig),
    /// `notify.sms[i]`.
    Sms(SmsConfig),
}

/// One configured integration of a receiver, ready to send.
#[derive(Debug)]
pub struct Integration {
    /// `kind[index]`, e.g. `slack[0]`; SMS entries are numbered among the receiver's SMS entries.
    pub id: String,
    /// The settings.
    pub spec: IntegrationSpec,
    client: OnceLock<Result<reqwest::Client, DeliveryError>>,
}

impl Integration {
    /// Wraps settings (already merged with the global section).
    pub fn new(id: String, spec: IntegrationSpec) -> Self {
        Integration {
            id,
            spec,
            client: OnceLock::new(),
        }
    }

    /// The kind.
    pub fn kind(&self) -> IntegrationKind {
        match self.spec {
            IntegrationSpec::Webhook(_) => IntegrationKind::Webhook,
            IntegrationSpec::Email(_) => IntegrationKind::Email,
            IntegrationSpec::Slack(_) => IntegrationKind::Slack,
            IntegrationSpec::Pagerduty(_) => IntegrationKind::Pagerduty,
            IntegrationSpec::Opsgenie(_) => IntegrationKind::Opsgenie,
            IntegrationSpec::Sms(_) => IntegrationKind::Sms,
        }
    }

    /// `send_resolved` with Alertmanager's per-kind default (webhook, PagerDuty, Opsgenie,
    /// SMS: true; email, Slack: false).
    pub fn send_resolved(&self) -> bool {
        match &self.spec {
            IntegrationSpec::Webhook(c) => c.send_resolved.unwrap_or(true),
            IntegrationSpec::Email(c) => c.send_resolved.unwrap_or(false),
            IntegrationSpec::Slack(c) => c.send_resolved.unwrap_or(false),
            IntegrationSpec::Pagerduty(c) => c.send_resolved.unwrap_or(true),
            IntegrationSpec::Opsgenie(c) => c.send_resolved.unwrap_or(true),
            IntegrationSpec::Sms(c) => c.send_resolved.unwrap_or(true),
        }
    }

    /// What this integration should receive of `n`: without `send_resolved`, resolved alerts
    /// are dropped and a notification with nothing firing is not sent at all (`None`), as in
    /// Alertmanager.
    pub fn prepare(&self, n: &Notification) -> Option<Notification> {
        // Acknowledgements go only where the provider has an acknowledge action.
        if n.acknowledged.is_some() {
            return matches!(
                self.spec,
                IntegrationSpec::Pagerduty(_) | IntegrationSpec::Opsgenie(_)
            )
            .then(|| n.clone());
        }
        if self.send_resolved() {
            return Some(n.clone());
        }
        if n.status == Status::Resolved {
            return None;
        }
        let mut m = n.clone();
        m.alerts.retain(|a| a.status == Status::Firing);
        if m.alerts.is_empty() {
            return None;
        }
        Some(m)
    }

    fn http_config(&self) -> Option<&HttpClientConfig> {
        match &self.spec {
            IntegrationSpec::Webhook(c) => c.http_config.as_ref(),
            IntegrationSpec::Slack(c) => c.http_config.as_ref(),
            IntegrationSpec::Pagerduty(c) => c.http_config.as_ref(),
            IntegrationSpec::Opsgenie(c) => c.http_config.as_ref(),
            IntegrationSpec::Email(_) | IntegrationSpec::Sms(_) => None,
        }
    }

    fn client(&self, timeout: Duration) -> Result<reqwest::Client, DeliveryError> {
        self.client
            .get_or_init(|| http::build_client(self.http_config(), timeout))
            .clone()
    }

    /// Sends `n` (already [`prepare`](Self::prepare)d) once. `timeout` bounds the attempt.
    pub async fn notify(
        &self,
        n: &Notification,
        templates: &Templates,
        timeout: Duration,
    ) -> Result<(), DeliveryError> {
        let fut = async {
            match &self.spec {
                IntegrationSpec::Webhook(c) => self.webhook(c, n).await,
                IntegrationSpec::Slack(c) => self.slack(c, n, templates).await,
                IntegrationSpec::Pagerduty(c) => self.pagerduty(c, n, templates).await,
                IntegrationSpec::Opsgenie(c) => self.opsgenie(c, n, templates).await,
                IntegrationSpec::Sms(c) => self.sms(c, n, templates).await,
                IntegrationSpec::Email(c) => email::send(c, n, templates, timeout).await,
            }
        };
        match tokio::time::timeout(timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(DeliveryError::retryable(format!(
                "{}: timed out after {timeout:?}",
                self.id
            ))),
        }
    }

    async fn post_json(
        &self,
        url: &str,
        body: &Value,
        extra: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<String, DeliveryError> {
        let client = self.client(Duration::from_secs(30))?;
        let rb = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        let rb = http::authorize(extra(rb), self.http_config())?;
        http::send(rb, &self.id).await
    }
}

/// The integrations of one receiver, in a stable order (webhook, email, Slack, PagerDuty,
/// Opsgenie, then vigia's SMS entries), global defaults applied.
pub fn receiver_integrations(
    r: &ReceiverConfig,
    g: &GlobalConfig,
    settings: &NotifySettings,
) -> Vec<Arc<Integration>> {
    let mut out = Vec::new();
    let http_default = |h: &Option<HttpClientConfig>| h.clone().or_else(|| g.http_config.clone());
    for (i, c) in r.webhook_configs.iter().enumerate() {
        let mut c = c.clone();
        c.http_config = http_default(&c.http_config);
        out.push(Integration::new(
            format!("webhook[{i}]"),
            IntegrationSpec::Webhook(c),
        ));
    }
    for (i, c) in r.email_configs.iter().enumerate() {
        out.push(Integration::new(
            format!("email[{i}]"),
            IntegrationSpec::Email(email::email_with_globals(c, g)),
        ));
    }
    for (i, c) in r.slack_configs.iter().enumerate() {
        let mut c = c.clone();
        c.http_config = http_default(&c.http_config);
        if c.api_url.is_none() && c.api_url_file.is_none() {
            c.api_url = g.slack_api_url.clone();
            c.api_url_file = g.slack_api_url_file.clone();
        }
        out.push(Integration::new(
            format!("slack[{i}]"),
            IntegrationSpec::Slack(c),
        ));
    }
    for (i, c) in r.pagerduty_configs.iter().enumerate() {
        let mut c = c.clone();
        c.http_config = http_default(&c.http_config);
        c.url = c.url.or_else(|| Some(g.pagerduty_url().to_string()));
        out.push(Integration::new(
            format!("pagerduty[{i}]"),
            IntegrationSpec::Pagerduty(c),
        ));
    }
    for (i, c) in r.opsgenie_configs.iter().enumerate() {
        let mut c = c.clone();
        c.http_config = http_default(&c.http_config);
        c.api_url = c.api_url.or_else(|| Some(g.opsgenie_api_url().to_string()));
        if c.api_key.is_none() && c.api_key_file.is_none() {
            c.api_key = g.opsgenie_api_key.clone();
            c.api_key_file = g.opsgenie_api_key_file.clone();
        }
        out.push(Integration::new(
            format!("opsgenie[{i}]"),
            IntegrationSpec::Opsgenie(c),
        ));
    }
    for (i, c) in settings
        .sms
        .iter()
        .filter(|s| s.receiver == r.name)
        .enumerate()
    {
        out.push(Integration::new(
            format!("sms[{i}]"),
            IntegrationSpec::Sms(c.clone()),
        ));
    }
    out.into_iter().map(Arc::new).collect()
}

pub(crate) fn opt(v: Option<String>) -> Value {
    match v {
        Some(s) if !s.is_empty() => Value::String(s),
        _ => Value::Null,
    }
}

pub(crate) fn strip_nulls(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        o.retain(|_, x| !x.is_null());
        for x in o.values_mut() {
            strip_nulls(x);
        }
    } else if let Some(a) = v.as_array_mut() {
        for x in a {
            strip_nulls(x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Escalation;
    use crate::render::{self, tests::notification};

    #[test]
    fn a_resolved_escalation_resolves_every_level() {
        let mut n = notification("team", 1);
        let k0 = render::dedup_key(&n);
        n.status = Status::Resolved;
        n.escalation = Some(Escalation {
            level: 2,
            severity: "critical".into(),
            policy: "p".into(),
        });
        let pd = PagerdutyConfig {
            routing_key: Some(crate::config::Secret("k".into())),
            ..Default::default()
        };
        let ev = pagerduty_events(&pd, &n, &Templates::new()).unwrap();
        let keys: Vec<&str> = ev
            .iter()
            .map(|e| e["dedup_key"].as_str().unwrap())
            .collect();
        assert_eq!(keys.len(), 3);
        assert_eq!(keys[0], k0);
        assert!(ev.iter().all(|e| e["event_action"] == "resolve"));
        assert_eq!(keys[2], render::dedup_key(&n));
        let og = opsgenie_requests(&OpsGenieConfig::default(), &n, &Templates::new()).unwrap();
        assert_eq!(og.len(), 3);
        assert!(
            og[0]
                .0
                .ends_with(&format!("/v2/alerts/{k0}/close?identifierType=alias"))
        );
    }

    #[test]
    fn an_acknowledgement_acknowledges_the_incident_where_providers_can() {
        let mut n = notification("team", 1);
        let key = render::dedup_key(&n);
        n.acknowledged = Some(crate::message::Acknowledgement {
            by: "ana".into(),
            note: "on it".into(),
        });
        let pd = PagerdutyConfig {
            routing_key: Some(crate::config::Secret("k".into())),
            ..Default::default()
        };
        let ev = pagerduty_events(&pd, &n, &Templates::new()).unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0]["event_action"], "acknowledge");
        assert_eq!(ev[0]["dedup_key"], key.as_str(), "the trigger's key");
        let og = opsgenie_requests(&OpsGenieConfig::default(), &n, &Templates::new()).unwrap();
        assert_eq!(og.len(), 1);
        assert!(
            og[0].0.ends_with(&format!(
                "/v2/alerts/{key}/acknowledge?identifierType=alias"
            )),
            "{}",
            og[0].0
        );
        assert_eq!(og[0].1["user"], "ana");
        assert_eq!(og[0].1["note"], "on it");
        // Only providers with an acknowledge action receive it.
        let spec = |s: IntegrationSpec| Integration {
            id: "x[0]".into(),
            spec: s,
            client: OnceLock::new(),
        };
        assert!(
            spec(IntegrationSpec::Pagerduty(pd.clone()))
                .prepare(&n)
                .is_some()
        );
        assert!(
            spec(IntegrationSpec::Opsgenie(OpsGenieConfig::default()))
                .prepare(&n)
                .is_some()
        );
        assert!(
            spec(IntegrationSpec::Webhook(Default::default()))
                .prepare(&n)
                .is_none()
        );
    }
}
