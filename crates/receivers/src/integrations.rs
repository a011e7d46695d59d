//! The integrations: each turns a [`Notification`] into the exact request its provider expects
//! and sends it — webhook (Alertmanager payload v4), Slack incoming webhook, email over SMTP,
//! SMS (Twilio preset or generic JSON), PagerDuty Events API v2 and Opsgenie Alert API.
//!
//! Provider dedup keys ([`crate::render::dedup_key`]) are stable per receiver and alert group and
//! include the escalation level, so a redelivery after a crash is harmless while an escalation is
//! a new incident/alert instead of a duplicate the provider would merge into the original.

use crate::config::{
    EmailConfig, GlobalConfig, HttpClientConfig, NotifySettings, OpsGenieConfig, PagerdutyConfig,
    ReceiverConfig, SlackConfig, SmsConfig, SmsPreset, WebhookConfig,
};
use crate::error::DeliveryError;
use crate::http;
use crate::message::{Notification, Status};
use crate::render;
use crate::templates::Templates;
use serde_json::{Value, json};
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
                IntegrationSpec::Email(c) => email(c, n, templates, timeout).await,
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

    async fn webhook(&self, c: &WebhookConfig, n: &Notification) -> Result<(), DeliveryError> {
        let Some(url) = &c.url else {
            return Err(DeliveryError::permanent("webhook: missing url"));
        };
        let body = webhook_payload(n, c.max_alerts)?;
        self.post_json(url.expose(), &body, |rb| rb).await.map(drop)
    }

    async fn slack(
        &self,
        c: &SlackConfig,
        n: &Notification,
        t: &Templates,
    ) -> Result<(), DeliveryError> {
        let url =
            http::secret_or_file(c.api_url.as_ref(), c.api_url_file.as_ref(), "api_url_file")?
                .ok_or_else(|| DeliveryError::permanent("slack: no api_url"))?;
        let body = slack_payload(c, n, t)?;
        self.post_json(url.trim(), &body, |rb| rb).await.map(drop)
    }

    async fn pagerduty(
        &self,
        c: &PagerdutyConfig,
        n: &Notification,
        t: &Templates,
    ) -> Result<(), DeliveryError> {
        let url = c
            .url
            .clone()
            .unwrap_or_else(|| crate::config::DEFAULT_PAGERDUTY_URL.to_string());
        for body in pagerduty_events(c, n, t)? {
            self.post_json(&url, &body, |rb| rb).await?;
        }
        Ok(())
    }

    async fn opsgenie(
        &self,
        c: &OpsGenieConfig,
        n: &Notification,
        t: &Templates,
    ) -> Result<(), DeliveryError> {
        let key =
            http::secret_or_file(c.api_key.as_ref(), c.api_key_file.as_ref(), "api_key_file")?
                .ok_or_else(|| DeliveryError::permanent("opsgenie: no api_key"))?;
        let auth = format!("GenieKey {}", key.trim());
        for (url, body) in opsgenie_requests(c, n, t)? {
            let auth = auth.clone();
            self.post_json(&url, &body, |rb| {
                rb.header(reqwest::header::AUTHORIZATION, auth)
            })
            .await?;
        }
        Ok(())
    }

    async fn sms(
        &self,
        c: &SmsConfig,
        n: &Notification,
        t: &Templates,
    ) -> Result<(), DeliveryError> {
        let text = t.render_or(c.message.as_deref(), n, render::one_line)?;
        let text = render::truncate(&text, 1600);
        let client = self.client(Duration::from_secs(30))?;
        match c.preset {
            SmsPreset::Twilio => {
                let sid = c.account_sid.clone().unwrap_or_default();
                let url = format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    c.url.trim_end_matches('/'),
                    sid
                );
                let token = c.auth_token.as_ref().map(|s| s.expose().to_string());
                let from = c.from.clone().unwrap_or_default();
                // One message per recipient, as the Messages API takes one `To`.
                for to in &c.to {
                    let form = [("To", to.as_str()), ("From", &from), ("Body", &text)];
                    let rb = client
                        .post(&url)
                        .basic_auth(&sid, token.clone())
                        .form(&form);
                    http::send(rb, &self.id).await?;
                }
                Ok(())
            }
            SmsPreset::Generic => {
                let body = json!({
                    "from": c.from,
                    "to": c.to,
                    "message": text,
                    "status": n.status,
                    "receiver": n.receiver,
                    "groupKey": n.group_key,
                });
                let mut rb = client
                    .post(&c.url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.to_string());
                if let Some(tok) = &c.auth_token {
                    rb = rb.bearer_auth(tok.expose());
                }
                http::send(rb, &self.id).await.map(drop)
            }
        }
    }
}

/// The Alertmanager webhook payload (version 4), truncated to `max_alerts` (0: all).
pub fn webhook_payload(n: &Notification, max_alerts: u64) -> Result<Value, DeliveryError> {
    let mut m = n.clone();
    let max = usize::try_from(max_alerts).unwrap_or(usize::MAX);
    if max_alerts > 0 && m.alerts.len() > max {
        let cut = (m.alerts.len() - max) as u64;
        m.alerts.truncate(max);
        m.truncated_alerts += cut;
    }
    let mut v = serde_json::to_value(&m)
        .map_err(|e| DeliveryError::permanent(format!("encoding webhook payload: {e}")))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("version".into(), Value::String("4".into()));
    }
    Ok(v)
}

fn opt(v: Option<String>) -> Value {
    match v {
        Some(s) if !s.is_empty() => Value::String(s),
        _ => Value::Null,
    }
}

fn strip_nulls(v: &mut Value) {
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

/// The Slack incoming-webhook message: one attachment with title, link, colour by status, text,
/// fields and actions.
pub fn slack_payload(
    c: &SlackConfig,
    n: &Notification,
    t: &Templates,
) -> Result<Value, DeliveryError> {
    let title = t.render_or(c.title.as_deref(), n, render::title)?;
    let title = if n.escalation.is_some() && c.title.is_some() {
        format!("{}{title}", render::escalation_prefix(n))
    } else {
        title
    };
    let link = t.render_or(c.title_link.as_deref(), n, |n| n.external_url.clone())?;
    let text = t.render_or(c.text.as_deref(), n, render::slack_text)?;
    let color = t.render_or(c.color.as_deref(), n, |n| {
        match n.status {
            Status::Firing => "danger",
            Status::Resolved => "good",
        }
        .to_string()
    })?;
    let fallback = t.render_or(c.fallback.as_deref(), n, |n| {
        format!("{} | {}", render::title(n), n.external_url)
    })?;
    let username = t.render_or(c.username.as_deref(), n, |_| "vigia".to_string())?;
    let mut fields = Vec::new();
    for f in &c.fields {
        fields.push(json!({
            "title": t.render(&f.title, n)?,
            "value": t.render(&f.value, n)?,
            "short": f.short.unwrap_or(c.short_fields),
        }));
    }
    let mut actions = Vec::new();
    for a in &c.actions {
        let confirm = a.confirm.as_ref().map(|cf| {
            json!({"text": cf.text, "title": cf.title, "ok_text": cf.ok_text, "dismiss_text": cf.dismiss_text})
        });
        actions.push(json!({
            "type": a.kind,
            "text": t.render(&a.text, n)?,
            "url": a.url.as_ref().map(|u| t.render(u, n)).transpose()?,
            "style": a.style,
            "name": a.name,
            "value": a.value,
            "confirm": confirm,
        }));
    }
    let mrkdwn_in = if c.mrkdwn_in.is_empty() {
        vec!["fallback".to_string(), "pretext".into(), "text".into()]
    } else {
        c.mrkdwn_in.clone()
    };
    let pretext = c.pretext.as_deref().map(|p| t.render(p, n)).transpose()?;
    let footer = c.footer.as_deref().map(|p| t.render(p, n)).transpose()?;
    let callback_id = c
        .callback_id
        .as_deref()
        .map(|p| t.render(p, n))
        .transpose()?;
    let mut attachment = json!({
        "title": title,
        "title_link": opt(Some(link)),
        "pretext": opt(pretext),
        "text": text,
        "fallback": fallback,
        "callback_id": opt(callback_id),
        "color": color,
        "footer": opt(footer),
        "image_url": opt(c.image_url.clone()),
        "thumb_url": opt(c.thumb_url.clone()),
        "mrkdwn_in": mrkdwn_in,
    });
    if let Some(o) = attachment.as_object_mut() {
        if !fields.is_empty() {
            o.insert("fields".into(), Value::Array(fields));
        }
        if !actions.is_empty() {
            o.insert("actions".into(), Value::Array(actions));
        }
    }
    let mut v = json!({
        "channel": opt(c.channel.clone()),
        "username": username,
        "icon_emoji": opt(c.icon_emoji.clone()),
        "icon_url": opt(c.icon_url.clone()),
        "link_names": c.link_names,
        "attachments": [attachment],
    });
    strip_nulls(&mut v);
    Ok(v)
}

/// The PagerDuty Events API v2 events: one `trigger` while firing; when resolved, one `resolve`
/// per key in [`render::resolve_keys`]. Dedup keys are stable per group and escalation level.
pub fn pagerduty_events(
    c: &PagerdutyConfig,
    n: &Notification,
    t: &Templates,
) -> Result<Vec<Value>, DeliveryError> {
    let routing_key = match http::secret_or_file(
        c.routing_key.as_ref(),
        c.routing_key_file.as_ref(),
        "routing_key_file",
    )? {
        Some(k) => k,
        None => http::secret_or_file(
            c.service_key.as_ref(),
            c.service_key_file.as_ref(),
            "service_key_file",
        )?
        .ok_or_else(|| DeliveryError::permanent("pagerduty: no routing_key"))?,
    };
    if n.acknowledged.is_some() {
        return Ok(vec![json!({
            "routing_key": routing_key.trim(),
            "event_action": "acknowledge",
            "dedup_key": render::dedup_key(n),
        })]);
    }
    if n.status == Status::Resolved {
        return Ok(render::resolve_keys(n)
            .into_iter()
            .map(|k| {
                json!({
                    "routing_key": routing_key.trim(),
                    "event_action": "resolve",
                    "dedup_key": k,
                })
            })
            .collect());
    }
    let mut v = json!({
        "routing_key": routing_key.trim(),
        "event_action": "trigger",
        "dedup_key": render::dedup_key(n),
    });
    let summary = t.render_or(c.description.as_deref(), n, render::one_line)?;
    let summary = if n.escalation.is_some() && c.description.is_some() {
        format!("{}{summary}", render::escalation_prefix(n))
    } else {
        summary
    };
    let client = t.render_or(c.client.as_deref(), n, |_| "vigia".to_string())?;
    let client_url = t.render_or(c.client_url.as_deref(), n, |n| n.external_url.clone())?;
    let source = match &c.source {
        Some(s) => t.render(s, n)?,
        None => client.clone(),
    };
    let severity = match &c.severity {
        Some(s) => t.render(s, n)?,
        None => render::pagerduty_severity(n).to_string(),
    };
    let mut details = serde_json::Map::new();
    details.insert(
        "firing".into(),
        Value::String(
            render::firing(n)
                .map(|a| {
                    a.labels
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    );
    details.insert(
        "num_firing".into(),
        Value::String(render::firing(n).count().to_string()),
    );
    details.insert(
        "num_resolved".into(),
        Value::String(render::resolved(n).count().to_string()),
    );
    if let Some(e) = &n.escalation {
        details.insert(
            "escalation_level".into(),
            Value::String(e.level.to_string()),
        );
        details.insert("escalation_policy".into(), Value::String(e.policy.clone()));
    }
    for (k, tpl) in &c.details {
        details.insert(k.clone(), Value::String(t.render(tpl, n)?));
    }
    let mut links = vec![json!({"href": n.external_url, "text": "Open in vigia"})];
    for a in n.alerts.iter().take(1) {
        if !a.generator_url.is_empty() {
            links.push(json!({"href": a.generator_url, "text": "Source expression"}));
        }
    }
    for l in &c.links {
        links.push(json!({"href": t.render(&l.href, n)?, "text": t.render(&l.text, n)?}));
    }
    let mut images = Vec::new();
    for i in &c.images {
        images.push(json!({"src": t.render(&i.src, n)?, "alt": t.render(&i.alt, n)?, "href": t.render(&i.href, n)?}));
    }
    let mut payload = json!({
        "summary": render::truncate(&summary, 1024),
        "source": source,
        "severity": severity,
        "custom_details": Value::Object(details),
        "component": opt(c.component.as_deref().map(|s| t.render(s, n)).transpose()?),
        "group": opt(c.group.as_deref().map(|s| t.render(s, n)).transpose()?),
        "class": opt(c.class.as_deref().map(|s| t.render(s, n)).transpose()?),
    });
    strip_nulls(&mut payload);
    if let Some(o) = v.as_object_mut() {
        o.insert("payload".into(), payload);
        o.insert("client".into(), Value::String(client));
        o.insert("client_url".into(), Value::String(client_url));
        o.insert("links".into(), Value::Array(links));
        if !images.is_empty() {
            o.insert("images".into(), Value::Array(images));
        }
    }
    Ok(vec![v])
}

fn opsgenie_base(c: &OpsGenieConfig) -> String {
    let mut u = c
        .api_url
        .clone()
        .unwrap_or_else(|| crate::config::DEFAULT_OPSGENIE_API_URL.to_string());
    if !u.ends_with('/') {
        u.push('/');
    }
    u
}

/// The Opsgenie requests: create (`POST {api}/v2/alerts`) while firing; when resolved, close
/// by alias (`POST {api}/v2/alerts/{alias}/close?identifierType=alias`) for each key in
/// [`render::resolve_keys`]. Returns URLs and JSON bodies.
pub fn opsgenie_requests(
    c: &OpsGenieConfig,
    n: &Notification,
    t: &Templates,
) -> Result<Vec<(String, Value)>, DeliveryError> {
    let alias = render::dedup_key(n);
    let base = opsgenie_base(c);
    let source = t.render_or(c.source.as_deref(), n, |n| n.external_url.clone())?;
    if let Some(ack) = &n.acknowledged {
        return Ok(vec![(
            format!("{base}v2/alerts/{alias}/acknowledge?identifierType=alias"),
            json!({"source": source, "user": ack.by, "note": ack.note}),
        )]);
    }
    if n.status == Status::Resolved {
        return Ok(render::resolve_keys(n)
            .into_iter()
            .map(|k| {
                (
                    format!("{base}v2/alerts/{k}/close?identifierType=alias"),
                    json!({"source": source, "note": "resolved in vigia"}),
                )
            })
            .collect());
    }
    let message = t.render_or(c.message.as_deref(), n, render::one_line)?;
    let message = if n.escalation.is_some() && c.message.is_some() {
        format!("{}{message}", render::escalation_prefix(n))
    } else {
        message
    };
    let description = t.render_or(c.description.as_deref(), n, render::text_body)?;
    let mut details = serde_json::Map::new();
    for (k, v) in &n.common_labels {
        details.insert(k.clone(), Value::String(v.clone()));
    }
    for (k, tpl) in &c.details {
        details.insert(k.clone(), Value::String(t.render(tpl, n)?));
    }
    let mut responders = Vec::new();
    for r in &c.responders {
        let kind = t.render(&r.kind, n)?.to_ascii_lowercase();
        let mut o = serde_json::Map::new();
        o.insert("type".into(), Value::String(kind.clone()));
        if let Some(id) = &r.id {
            o.insert("id".into(), Value::String(t.render(id, n)?));
        }
        if let Some(name) = &r.name {
            o.insert("name".into(), Value::String(t.render(name, n)?));
        }
        if let Some(u) = &r.username {
            o.insert("username".into(), Value::String(t.render(u, n)?));
        }
        if kind == "teams" {
            // "teams" expands to one team responder per comma-separated name.
            for name in o
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .split(',')
            {
                responders.push(json!({"type": "team", "name": name.trim()}));
            }
        } else {
            responders.push(Value::Object(o));
        }
    }
    let split = |s: Option<&String>| -> Result<Vec<String>, DeliveryError> {
        Ok(match s {
            Some(s) => t
                .render(s, n)?
                .split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
            None => Vec::new(),
        })
    };
    let mut tags = split(c.tags.as_ref())?;
    if let Some(e) = &n.escalation {
        tags.push(format!("escalation-level-{}", e.level));
    }
    let priority = match &c.priority {
        Some(p) => Some(t.render(p, n)?),
        None => render::opsgenie_priority(n).map(str::to_string),
    };
    let mut body = json!({
        "alias": alias,
        "message": render::truncate(&message, 130),
        "description": render::truncate(&description, 15000),
        "details": Value::Object(details),
        "source": source,
        "responders": responders,
        "tags": tags,
        "actions": split(c.actions.as_ref())?,
        "note": opt(c.note.as_deref().map(|s| t.render(s, n)).transpose()?),
        "priority": opt(priority),
        "entity": opt(c.entity.as_deref().map(|s| t.render(s, n)).transpose()?),
    });
    strip_nulls(&mut body);
    Ok(vec![(format!("{base}v2/alerts"), body)])
}

fn smtp_error(e: impl std::fmt::Display, retryable: bool) -> DeliveryError {
    if retryable {
        DeliveryError::retryable(format!("email: {e}"))
    } else {
        DeliveryError::permanent(format!("email: {e}"))
    }
}

/// Builds the email (multipart text + HTML) for `n`.
pub fn email_message(
    c: &EmailConfig,
    n: &Notification,
    t: &Templates,
) -> Result<lettre::Message, DeliveryError> {
    use lettre::message::header::{HeaderName, HeaderValue};
    use lettre::message::{Mailbox, MultiPart};
    let header = |name: &str| {
        c.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let subject = match header("Subject") {
        Some(s) => format!("{}{}", render::escalation_prefix(n), t.render(s, n)?),
        None => render::title(n),
    };
    let from = match header("From") {
        Some(f) => t.render(f, n)?,
        None => c.from.clone().unwrap_or_default(),
    };
    let to = match header("To") {
        Some(f) => t.render(f, n)?,
        None => t.render(&c.to, n)?,
    };
    let from: Mailbox = from
        .parse()
        .map_err(|e| smtp_error(format!("from address {from:?}: {e}"), false))?;
    let mut b = lettre::Message::builder().from(from).subject(subject);
    for addr in to.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mb: Mailbox = addr
            .parse()
            .map_err(|e| smtp_error(format!("to address {addr:?}: {e}"), false))?;
        b = b.to(mb);
    }
    for (k, v) in &c.headers {
        if ["subject", "from", "to"].contains(&k.to_ascii_lowercase().as_str()) {
            continue;
        }
        let name = HeaderName::new_from_ascii(k.clone())
            .map_err(|e| smtp_error(format!("header {k:?}: {e}"), false))?;
        b = b.raw_header(HeaderValue::new(name, t.render(v, n)?));
    }
    let text = t.render_or(c.text.as_deref(), n, render::text_body)?;
    let html = t.render_or(c.html.as_deref(), n, render::html_body)?;
    b.multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| smtp_error(e, false))
}

async fn email(
    c: &EmailConfig,
    n: &Notification,
    t: &Templates,
    timeout: Duration,
) -> Result<(), DeliveryError> {
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::transport::smtp::extension::ClientId;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    http::ensure_crypto_provider();
    let msg = email_message(c, n, t)?;
    let smarthost = c.smarthost.clone().unwrap_or_default();
    let Some((host, port)) = smarthost.rsplit_once(':') else {
        return Err(smtp_error(
            format!("smarthost {smarthost:?} has no port"),
            false,
        ));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port
        .parse()
        .map_err(|_| smtp_error(format!("smarthost {smarthost:?}: bad port"), false))?;
    let tls_cfg = c.tls_config.clone().unwrap_or_default();
    let server_name = tls_cfg
        .server_name
        .clone()
        .unwrap_or_else(|| host.to_string());
    let mut tb = TlsParameters::builder(server_name)
        .dangerous_accept_invalid_certs(tls_cfg.insecure_skip_verify);
    if let Some(ca) = &tls_cfg.ca_file {
        let pem =
            std::fs::read(ca).map_err(|e| smtp_error(format!("ca_file {ca:?}: {e}"), false))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| smtp_error(e, false))?;
        tb = tb.add_root_certificate(cert);
    }
    let params = tb.build_rustls().map_err(|e| smtp_error(e, false))?;
    // Port 465 is SMTPS (implicit TLS); otherwise STARTTLS is required when require_tls is set
    // and used opportunistically when not.
    let tls = if port == 465 {
        Tls::Wrapper(params)
    } else if c.require_tls.unwrap_or(true) {
        Tls::Required(params)
    } else {
        Tls::Opportunistic(params)
    };
    let mut tb = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(timeout))
        .hello_name(ClientId::Domain(
            c.hello.clone().unwrap_or_else(|| "localhost".into()),
        ));
    if let Some(user) = c.auth_username.as_ref().filter(|u| !u.is_empty()) {
        let pw = http::secret_or_file(
            c.auth_password.as_ref(),
            c.auth_password_file.as_ref(),
            "auth_password_file",
        )?
        .unwrap_or_default();
        tb = tb.credentials(Credentials::new(user.clone(), pw));
    }
    let transport = tb.build();
    match transport.send(msg).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let permanent = e.is_permanent();
            Err(smtp_error(e, !permanent))
        }
    }
}

/// Merges the global defaults into one receiver's email settings (Alertmanager's rules).
fn email_with_globals(c: &EmailConfig, g: &GlobalConfig) -> EmailConfig {
    let mut c = c.clone();
    c.smarthost = c.smarthost.or_else(|| g.smtp_smarthost.clone());
    c.from = c.from.or_else(|| g.smtp_from.clone());
    c.hello = c.hello.or_else(|| Some(g.smtp_hello().to_string()));
    c.auth_username = c.auth_username.or_else(|| g.smtp_auth_username.clone());
    if c.auth_password.is_none() && c.auth_password_file.is_none() {
        c.auth_password = g.smtp_auth_password.clone();
        c.auth_password_file = g.smtp_auth_password_file.clone();
    }
    c.auth_secret = c.auth_secret.or_else(|| g.smtp_auth_secret.clone());
    c.auth_identity = c.auth_identity.or_else(|| g.smtp_auth_identity.clone());
    c.require_tls = Some(c.require_tls.unwrap_or_else(|| g.smtp_require_tls()));
    c
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
            IntegrationSpec::Email(email_with_globals(c, g)),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Escalation;
    use crate::render::tests::notification;

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
