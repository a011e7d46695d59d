//! Receiver configuration: Alertmanager 0.25's `global:` section and `receivers:` entries (same
//! field names, same defaults, unknown fields rejected like `amtool check-config` does), and
//! vigia's own `notify:` section (SMS, forwarding to external Alertmanagers, rate limits,
//! retries).

pub use crate::global::GlobalConfig;
pub(crate) use crate::global::check_url;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
pub use vigia_httpclient::{Authorization, BasicAuth, HttpClientConfig, Secret, TlsConfig};
use vigia_model::PromDuration;
use vigia_template::Template;

pub use crate::integrations::email::EmailConfig;
pub use crate::integrations::opsgenie::{
    DEFAULT_OPSGENIE_API_URL, OpsGenieConfig, OpsGenieResponder,
};
pub use crate::integrations::pagerduty::{
    DEFAULT_PAGERDUTY_URL, PagerdutyConfig, PagerdutyImage, PagerdutyLink,
};
pub use crate::integrations::slack::{
    SlackAction, SlackConfig, SlackConfirmationField, SlackField,
};
pub use crate::integrations::sms::{SmsConfig, SmsPreset};
pub use crate::integrations::webhook::WebhookConfig;

/// One Alertmanager `receivers:` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    /// Receiver name, referenced by routes and escalation levels.
    pub name: String,
    /// Webhooks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_configs: Vec<WebhookConfig>,
    /// Emails.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_configs: Vec<EmailConfig>,
    /// Slack incoming webhooks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slack_configs: Vec<SlackConfig>,
    /// PagerDuty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    /// Opsgenie.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opsgenie_configs: Vec<OpsGenieConfig>,
    /// Not supported by vigia: accepted and ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discord_configs: Vec<serde_json::Value>,
    /// Not supported by vigia: accepted and ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wechat_configs: Vec<serde_json::Value>,
    /// Not supported by vigia: accepted and ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pushover_configs: Vec<serde_json::Value>,
    /// Not supported by vigia: accepted and ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub victorops_configs: Vec<serde_json::Value>,
    /// Not supported by vigia: accepted and ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sns_configs: Vec<serde_json::Value>,
    /// Not supported by vigia: accepted and ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telegram_configs: Vec<serde_json::Value>,
    /// Not supported by vigia: accepted and ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webex_configs: Vec<serde_json::Value>,
}

impl ReceiverConfig {
    /// Notes about settings vigia accepts but ignores (unsupported integration kinds, OAuth 2).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        for (kind, list) in [
            ("discord_configs", &self.discord_configs),
            ("wechat_configs", &self.wechat_configs),
            ("pushover_configs", &self.pushover_configs),
            ("victorops_configs", &self.victorops_configs),
            ("sns_configs", &self.sns_configs),
            ("telegram_configs", &self.telegram_configs),
            ("webex_configs", &self.webex_configs),
        ] {
            if !list.is_empty() {
                w.push(format!(
                    "receiver {:?}: {kind} ({} entries) not supported by vigia, ignored",
                    self.name,
                    list.len()
                ));
            }
        }
        let https = self
            .webhook_configs
            .iter()
            .map(|c| &c.http_config)
            .chain(self.slack_configs.iter().map(|c| &c.http_config))
            .chain(self.pagerduty_configs.iter().map(|c| &c.http_config))
            .chain(self.opsgenie_configs.iter().map(|c| &c.http_config));
        if https.flatten().any(|h| h.oauth2.is_some()) {
            w.push(format!(
                "receiver {:?}: http_config oauth2 not supported by vigia, ignored",
                self.name
            ));
        }
        w
    }

    /// Number of integrations vigia delivers to (unsupported kinds excluded).
    pub fn integration_count(&self) -> usize {
        self.webhook_configs.len()
            + self.email_configs.len()
            + self.slack_configs.len()
            + self.pagerduty_configs.len()
            + self.opsgenie_configs.len()
    }

    /// Every problem of this receiver given the global section (Alertmanager's checks and
    /// messages, prefixed with the receiver name).
    pub fn validate(&self, global: &GlobalConfig) -> Vec<String> {
        let mut errs = Vec::new();
        let name = &self.name;
        if name.is_empty() {
            errs.push("missing name in receiver".to_string());
        }
        for (i, c) in self.webhook_configs.iter().enumerate() {
            errs.extend(c.validate(&format!("receiver {name:?} webhook_configs[{i}]"), global));
        }
        for (i, c) in self.email_configs.iter().enumerate() {
            errs.extend(c.validate(&format!("receiver {name:?} email_configs[{i}]"), global));
        }
        for (i, c) in self.slack_configs.iter().enumerate() {
            errs.extend(c.validate(&format!("receiver {name:?} slack_configs[{i}]"), global));
        }
        for (i, c) in self.pagerduty_configs.iter().enumerate() {
            errs.extend(c.validate(&format!("receiver {name:?} pagerduty_configs[{i}]"), global));
        }
        for (i, c) in self.opsgenie_configs.iter().enumerate() {
            errs.extend(c.validate(&format!("receiver {name:?} opsgenie_configs[{i}]"), global));
        }
        errs
    }
}

/// An external Alertmanager every alert is forwarded to (`notify.alertmanagers:`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerTarget {
    /// Base URL, e.g. `http://am:9093` (alerts go to `{url}/api/v2/alerts`).
    pub url: String,
    /// Resend firing alerts this often (default 1m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resend_interval: Option<PromDuration>,
    /// HTTP client settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
}

impl AlertmanagerTarget {
    /// Resend interval, default one minute.
    pub fn resend_interval(&self) -> std::time::Duration {
        self.resend_interval
            .map_or(std::time::Duration::from_secs(60), |d| d.to_std())
    }
}

/// A per-receiver rate limit (`notify.rate_limits:`): a token bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Receiver name.
    pub receiver: String,
    /// Sustained deliveries per minute (over all integrations of the receiver).
    pub per_minute: u32,
    /// Bucket size (default `per_minute`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

/// Delivery retry settings (`notify.retry:`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    /// First backoff (default 1s); doubles per attempt, with ±20 % jitter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_backoff: Option<PromDuration>,
    /// Backoff ceiling (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backoff: Option<PromDuration>,
    /// Give up after this many attempts (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Give up on items older than this (default 24h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<PromDuration>,
    /// Timeout of one delivery attempt (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<PromDuration>,
}

impl RetrySettings {
    /// Initial backoff (default 1s).
    pub fn initial_backoff(&self) -> std::time::Duration {
        self.initial_backoff
            .map_or(std::time::Duration::from_secs(1), |d| d.to_std())
    }
    /// Backoff ceiling (default 5m).
    pub fn max_backoff(&self) -> std::time::Duration {
        self.max_backoff
            .map_or(std::time::Duration::from_secs(300), |d| d.to_std())
    }
    /// Maximum item age (default 24h).
    pub fn max_age(&self) -> std::time::Duration {
        self.max_age
            .map_or(std::time::Duration::from_secs(86_400), |d| d.to_std())
    }
    /// Timeout of one attempt (default 30s).
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
            .map_or(std::time::Duration::from_secs(30), |d| d.to_std())
    }
}

/// vigia's top-level `notify:` section (not Alertmanager syntax).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySettings {
    /// SMS integrations added to Alertmanager receivers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sms: Vec<SmsConfig>,
    /// External Alertmanagers every alert is forwarded to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alertmanagers: Vec<AlertmanagerTarget>,
    /// Per-receiver rate limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<RateLimit>,
    /// Retry settings.
    #[serde(default)]
    pub retry: RetrySettings,
    /// vigia's externally reachable URL (links in notifications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_url: Option<String>,
}

impl NotifySettings {
    /// Every problem of the section; `receivers` are the Alertmanager receivers SMS entries and
    /// rate limits refer to.
    pub fn validate(&self, receivers: &[ReceiverConfig]) -> Vec<String> {
        let mut errs = Vec::new();
        let names: BTreeSet<&str> = receivers.iter().map(|r| r.name.as_str()).collect();
        for (i, s) in self.sms.iter().enumerate() {
            let at = format!("notify.sms[{i}]");
            if !names.contains(s.receiver.as_str()) {
                errs.push(format!("{at}: receiver {:?} is not defined", s.receiver));
            }
            check_url(&at, &s.url, &mut errs);
            if s.to.is_empty() {
                errs.push(format!("{at}: no recipients (to)"));
            }
            if s.preset == SmsPreset::Twilio {
                if s.account_sid.as_deref().unwrap_or("").is_empty() {
                    errs.push(format!("{at}: twilio preset needs account_sid"));
                }
                if s.auth_token.is_none() {
                    errs.push(format!("{at}: twilio preset needs auth_token"));
                }
                if s.from.as_deref().unwrap_or("").is_empty() {
                    errs.push(format!("{at}: twilio preset needs from"));
                }
            }
        }
        for (i, a) in self.alertmanagers.iter().enumerate() {
            let at = format!("notify.alertmanagers[{i}]");
            check_url(&at, &a.url, &mut errs);
            if a.resend_interval.is_some_and(|d| d.as_millis() <= 0) {
                errs.push(format!("{at}: resend_interval must be positive"));
            }
            if let Some(h) = &a.http_config {
                errs.extend(h.problems(&at));
            }
        }
        let mut limited = BTreeSet::new();
        for (i, r) in self.rate_limits.iter().enumerate() {
            let at = format!("notify.rate_limits[{i}]");
            if !names.contains(r.receiver.as_str()) {
                errs.push(format!("{at}: receiver {:?} is not defined", r.receiver));
            }
            if !limited.insert(r.receiver.as_str()) {
                errs.push(format!("{at}: receiver {:?} limited twice", r.receiver));
            }
            if r.per_minute == 0 {
                errs.push(format!("{at}: per_minute must be positive"));
            }
            if r.burst == Some(0) {
                errs.push(format!("{at}: burst must be positive"));
            }
        }
        let rt = &self.retry;
        if rt.initial_backoff.is_some_and(|d| d.as_millis() <= 0) {
            errs.push("notify.retry: initial_backoff must be positive".into());
        }
        if rt.initial_backoff() > rt.max_backoff() {
            errs.push("notify.retry: initial_backoff is larger than max_backoff".into());
        }
        if rt.max_attempts == Some(0) {
            errs.push("notify.retry: max_attempts must be positive".into());
        }
        if rt.timeout.is_some_and(|d| d.as_millis() <= 0) {
            errs.push("notify.retry: timeout must be positive".into());
        }
        if let Some(u) = &self.external_url {
            check_url("notify.external_url", u, &mut errs);
        }
        errs
    }
}

/// Validates a whole receiver set: the global section, every receiver, unique names, and the
/// `notify:` section. Returns every problem.
pub fn validate_all(
    global: &GlobalConfig,
    receivers: &[ReceiverConfig],
    settings: &NotifySettings,
) -> Vec<String> {
    let mut errs = global.validate();
    let mut names = BTreeSet::new();
    for r in receivers {
        if !r.name.is_empty() && !names.insert(r.name.as_str()) {
            errs.push(format!(
                "notification config name {:?} is not unique",
                r.name
            ));
        }
        errs.extend(r.validate(global));
    }
    errs.extend(settings.validate(receivers));
    errs.extend(template_problems(receivers, settings));
    errs
}

/// Parse errors of every template field of the receivers (and SMS messages), one string
/// each, for configuration checks.
pub fn template_problems(receivers: &[ReceiverConfig], settings: &NotifySettings) -> Vec<String> {
    let mut errs = Vec::new();
    let mut chk = |at: String, src: Option<&String>| {
        if let Some(s) = src
            && let Err(e) = Template::parse(s)
        {
            errs.push(format!("{at}: template {s:?}: {e}"));
        }
    };
    for r in receivers {
        let name = &r.name;
        for (i, c) in r.slack_configs.iter().enumerate() {
            let at = |f: &str| format!("receiver {name:?} slack_configs[{i}] {f}");
            for (f, v) in [
                ("title", &c.title),
                ("title_link", &c.title_link),
                ("text", &c.text),
                ("pretext", &c.pretext),
                ("color", &c.color),
                ("fallback", &c.fallback),
                ("footer", &c.footer),
                ("callback_id", &c.callback_id),
                ("username", &c.username),
            ] {
                chk(at(f), v.as_ref());
            }
            for fl in &c.fields {
                chk(at("fields.title"), Some(&fl.title));
                chk(at("fields.value"), Some(&fl.value));
            }
        }
        for (i, c) in r.email_configs.iter().enumerate() {
            let at = |f: &str| format!("receiver {name:?} email_configs[{i}] {f}");
            chk(at("html"), c.html.as_ref());
            chk(at("text"), c.text.as_ref());
            chk(at("to"), Some(&c.to));
            for (k, v) in &c.headers {
                chk(at(&format!("headers.{k}")), Some(v));
            }
        }
        for (i, c) in r.pagerduty_configs.iter().enumerate() {
            let at = |f: &str| format!("receiver {name:?} pagerduty_configs[{i}] {f}");
            for (f, v) in [
                ("description", &c.description),
                ("client", &c.client),
                ("client_url", &c.client_url),
                ("source", &c.source),
                ("severity", &c.severity),
                ("class", &c.class),
                ("component", &c.component),
                ("group", &c.group),
            ] {
                chk(at(f), v.as_ref());
            }
            for (k, v) in &c.details {
                chk(at(&format!("details.{k}")), Some(v));
            }
        }
        for (i, c) in r.opsgenie_configs.iter().enumerate() {
            let at = |f: &str| format!("receiver {name:?} opsgenie_configs[{i}] {f}");
            for (f, v) in [
                ("message", &c.message),
                ("description", &c.description),
                ("source", &c.source),
                ("tags", &c.tags),
                ("note", &c.note),
                ("priority", &c.priority),
                ("entity", &c.entity),
                ("actions", &c.actions),
            ] {
                chk(at(f), v.as_ref());
            }
            for (k, v) in &c.details {
                chk(at(&format!("details.{k}")), Some(v));
            }
        }
    }
    for (i, s) in settings.sms.iter().enumerate() {
        chk(format!("notify.sms[{i}] message"), s.message.as_ref());
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_reports_bad_template_fields() {
        let r = ReceiverConfig {
            name: "r".into(),
            slack_configs: vec![SlackConfig {
                title: Some("{{ .Status ".into()),
                text: Some("{{ .Status }}".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        let errs = template_problems(&[r], &NotifySettings::default());
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].contains("slack_configs[0] title"));
    }

    fn parse<T: serde::de::DeserializeOwned>(y: &str) -> Result<T, String> {
        serde_saphyr::from_str(y).map_err(|e| e.to_string())
    }

    #[test]
    fn receiver_with_every_supported_kind() {
        let r: ReceiverConfig = parse(
            r#"
name: team
webhook_configs:
  - url: http://127.0.0.1:1/hook
    max_alerts: 3
    http_config:
      basic_auth: {username: u, password: p}
email_configs:
  - to: a@example.org, b@example.org
    headers: {X-Team: ops}
    require_tls: false
slack_configs:
  - api_url: https://hooks.slack.com/services/X
    channel: '#alerts'
    fields: [{title: t, value: v, short: true}]
    actions: [{type: button, text: Runbook, url: http://x}]
pagerduty_configs:
  - routing_key: abc
    links: [{href: http://x, text: x}]
opsgenie_configs:
  - api_key: k
    responders: [{name: ops, type: team}]
pushover_configs:
  - user_key: u
    token: t
"#,
        )
        .unwrap();
        assert_eq!(r.name, "team");
        assert_eq!(r.webhook_configs[0].max_alerts, 3);
        assert_eq!(r.integration_count(), 5);
        let g = GlobalConfig {
            smtp_smarthost: Some("localhost:25".into()),
            smtp_from: Some("vigia@example.org".into()),
            ..Default::default()
        };
        assert_eq!(r.validate(&g), Vec::<String>::new());
        let w = r.warnings();
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("pushover_configs") && w[0].contains("not supported by vigia, ignored")
        );
        // secrets are not shown
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("hooks.slack.com"));
        assert_eq!(
            r.slack_configs[0].api_url.as_ref().unwrap().expose(),
            "https://hooks.slack.com/services/X"
        );
    }

    #[test]
    fn unknown_fields_are_errors() {
        assert!(
            parse::<ReceiverConfig>("name: x\nwebhook_configs: [{url: http://x, bogus: 1}]")
                .is_err()
        );
        assert!(parse::<ReceiverConfig>("name: x\nfoo_configs: []").is_err());
        assert!(parse::<GlobalConfig>("smtp_frm: a").is_err());
        assert!(parse::<NotifySettings>("smss: []").is_err());
    }

    #[test]
    fn global_defaults_and_fields() {
        let g: GlobalConfig = parse(
            r#"
resolve_timeout: 2m
smtp_from: a@b
smtp_smarthost: mail:587
smtp_auth_username: u
smtp_auth_password: p
smtp_require_tls: false
slack_api_url: https://hooks.slack.com/x
opsgenie_api_key: k
http_config: {follow_redirects: false}
"#,
        )
        .unwrap();
        assert_eq!(g.resolve_timeout_ms(), 120_000);
        assert!(!g.smtp_require_tls());
        assert_eq!(g.smtp_hello(), "localhost");
        assert_eq!(g.pagerduty_url(), DEFAULT_PAGERDUTY_URL);
        assert_eq!(g.opsgenie_api_url(), DEFAULT_OPSGENIE_API_URL);
        assert!(g.validate().is_empty());
        let d = GlobalConfig::default();
        assert_eq!(d.resolve_timeout_ms(), 300_000);
        assert!(d.smtp_require_tls());
    }

    #[test]
    fn validation_collects_every_problem() {
        let r: ReceiverConfig = parse(
            r#"
name: bad
webhook_configs: [{max_alerts: 1}]
email_configs: [{to: ''}]
slack_configs: [{channel: x}]
pagerduty_configs: [{severity: huge}]
opsgenie_configs: [{responders: [{type: robot}]}]
"#,
        )
        .unwrap();
        let errs = r.validate(&GlobalConfig::default());
        let joined = errs.join("\n");
        for needle in [
            "missing URL in webhook config",
            "missing to address",
            "no global SMTP smarthost set",
            "no global SMTP from set",
            "no global Slack API URL",
            "missing service or routing key",
            "severity \"huge\"",
            "no global OpsGenie API Key",
            "at least one of id, username or name",
            "does not match valid options",
        ] {
            assert!(joined.contains(needle), "missing {needle:?} in {joined}");
        }
    }

    #[test]
    fn notify_settings() {
        let s: NotifySettings = parse(
            r#"
sms:
  - receiver: oncall
    preset: twilio
    url: http://127.0.0.1:9/
    account_sid: AC1
    auth_token: tok
    from: '+100'
    to: ['+200', '+300']
alertmanagers:
  - url: http://127.0.0.1:9093
rate_limits:
  - {receiver: oncall, per_minute: 30}
retry: {initial_backoff: 100ms, max_backoff: 10s, max_attempts: 5}
external_url: http://vigia.example:9090
"#,
        )
        .unwrap();
        let rcv = vec![ReceiverConfig {
            name: "oncall".into(),
            ..Default::default()
        }];
        assert_eq!(s.validate(&rcv), Vec::<String>::new());
        assert_eq!(
            s.alertmanagers[0].resend_interval(),
            std::time::Duration::from_secs(60)
        );
        assert_eq!(
            s.retry.initial_backoff(),
            std::time::Duration::from_millis(100)
        );
        let errs = s.validate(&[]);
        assert_eq!(errs.len(), 2, "{errs:?}");
        let bad: NotifySettings =
            parse("sms: [{receiver: x, preset: twilio, url: 'nope'}]\nrate_limits: [{receiver: y, per_minute: 0}]")
                .unwrap();
        assert!(bad.validate(&[]).len() >= 6);
    }

    #[test]
    fn validate_all_finds_duplicate_names() {
        let a = ReceiverConfig {
            name: "a".into(),
            ..Default::default()
        };
        let errs = validate_all(
            &GlobalConfig::default(),
            &[a.clone(), a],
            &NotifySettings::default(),
        );
        assert_eq!(
            errs,
            vec!["notification config name \"a\" is not unique".to_string()]
        );
    }
}
