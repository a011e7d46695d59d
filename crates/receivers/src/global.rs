//! Alertmanager 0.25's `global:` section (SMTP, Slack, PagerDuty and Opsgenie defaults, HTTP
//! client settings) and the checks the integrations share.

use serde::{Deserialize, Serialize};
pub use vigia_httpclient::{HttpClientConfig, Secret};
use vigia_model::PromDuration;

/// Alertmanager's default PagerDuty Events API v2 URL.
pub const DEFAULT_PAGERDUTY_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// Alertmanager's default Opsgenie API URL.
pub const DEFAULT_OPSGENIE_API_URL: &str = "https://api.opsgenie.com/";

pub(crate) fn check_url(what: &str, u: &str, errs: &mut Vec<String>) {
    errs.extend(vigia_httpclient::check_http_url(what, u));
}

pub(crate) fn check_hostport(what: &str, s: &str, errs: &mut Vec<String>) {
    match s.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() => {
            if p.parse::<u16>().is_err() {
                errs.push(format!("{what}: invalid port in address {s:?}"));
            }
            if h.is_empty() {
                errs.push(format!("{what}: empty host in address {s:?}"));
            }
        }
        Some(_) => errs.push(format!("address {s:?}: port cannot be empty")),
        None => errs.push(format!("{what}: address {s:?}: missing port in address")),
    }
}

pub(crate) fn both(a: bool, b: bool) -> bool {
    a && b
}

/// Alertmanager's `global:` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// How long an alert without `endsAt` stays firing after its last update (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_timeout: Option<PromDuration>,
    /// Default HTTP client settings for every HTTP integration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Default email sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_from: Option<String>,
    /// Host name sent in EHLO (default `localhost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_hello: Option<String>,
    /// Default SMTP server, `host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_smarthost: Option<String>,
    /// SMTP user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_auth_username: Option<String>,
    /// SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_auth_password: Option<Secret>,
    /// File holding the SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_auth_password_file: Option<String>,
    /// CRAM-MD5 secret (accepted; vigia authenticates with PLAIN/LOGIN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_auth_secret: Option<Secret>,
    /// PLAIN identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_auth_identity: Option<String>,
    /// Require STARTTLS (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_require_tls: Option<bool>,
    /// Default Slack incoming-webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_api_url: Option<Secret>,
    /// File holding the Slack URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_api_url_file: Option<String>,
    /// PagerDuty Events API v2 URL (default [`DEFAULT_PAGERDUTY_URL`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagerduty_url: Option<String>,
    /// Opsgenie API base URL (default [`DEFAULT_OPSGENIE_API_URL`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opsgenie_api_url: Option<String>,
    /// Default Opsgenie API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opsgenie_api_key: Option<Secret>,
    /// File holding the Opsgenie API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opsgenie_api_key_file: Option<String>,
    /// Accepted for compatibility (WeChat is not supported by vigia).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat_api_url: Option<String>,
    /// Accepted for compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat_api_secret: Option<Secret>,
    /// Accepted for compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat_api_corp_id: Option<String>,
    /// Accepted for compatibility (VictorOps is not supported by vigia).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub victorops_api_url: Option<String>,
    /// Accepted for compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub victorops_api_key: Option<Secret>,
    /// Accepted for compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub victorops_api_key_file: Option<String>,
    /// Accepted for compatibility (Telegram is not supported by vigia).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram_api_url: Option<String>,
    /// Accepted for compatibility (Webex is not supported by vigia).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webex_api_url: Option<String>,
}

impl GlobalConfig {
    /// `resolve_timeout` in milliseconds (default 5 minutes).
    pub fn resolve_timeout_ms(&self) -> i64 {
        self.resolve_timeout.map_or(5 * 60_000, |d| d.as_millis())
    }
    /// `smtp_hello`, default `localhost`.
    pub fn smtp_hello(&self) -> &str {
        self.smtp_hello.as_deref().unwrap_or("localhost")
    }
    /// `smtp_require_tls`, default true.
    pub fn smtp_require_tls(&self) -> bool {
        self.smtp_require_tls.unwrap_or(true)
    }
    /// `pagerduty_url` or the default.
    pub fn pagerduty_url(&self) -> &str {
        self.pagerduty_url
            .as_deref()
            .unwrap_or(DEFAULT_PAGERDUTY_URL)
    }
    /// `opsgenie_api_url` or the default.
    pub fn opsgenie_api_url(&self) -> &str {
        self.opsgenie_api_url
            .as_deref()
            .unwrap_or(DEFAULT_OPSGENIE_API_URL)
    }

    /// Every problem of the section (Alertmanager's messages where it has one).
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.slack_api_url.is_some() && self.slack_api_url_file.is_some() {
            errs.push(
                "at most one of slack_api_url & slack_api_url_file must be configured".into(),
            );
        }
        if self.opsgenie_api_key.is_some() && self.opsgenie_api_key_file.is_some() {
            errs.push(
                "at most one of opsgenie_api_key & opsgenie_api_key_file must be configured".into(),
            );
        }
        if self.victorops_api_key.is_some() && self.victorops_api_key_file.is_some() {
            errs.push(
                "at most one of victorops_api_key & victorops_api_key_file must be configured"
                    .into(),
            );
        }
        if self.smtp_auth_password.is_some() && self.smtp_auth_password_file.is_some() {
            errs.push(
                "at most one of smtp_auth_password & smtp_auth_password_file must be configured"
                    .into(),
            );
        }
        if let Some(h) = &self.smtp_smarthost {
            check_hostport("global smtp_smarthost", h, &mut errs);
        }
        if let Some(u) = &self.slack_api_url {
            check_url("global slack_api_url", u.expose(), &mut errs);
        }
        if let Some(u) = &self.pagerduty_url {
            check_url("global pagerduty_url", u, &mut errs);
        }
        if let Some(u) = &self.opsgenie_api_url {
            check_url("global opsgenie_api_url", u, &mut errs);
        }
        if let Some(h) = &self.http_config {
            errs.extend(h.problems("global http_config"));
        }
        errs
    }
}
