//! `webhook_configs`: where and how alerts are POSTed.

use crate::global::{GlobalConfig, check_url};
use serde::{Deserialize, Serialize};
use vigia_httpclient::{HttpClientConfig, Secret};

/// `webhook_configs:` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    /// HTTP client settings (default: the global ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Where to POST the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<Secret>,
    /// Maximum alerts per message, 0 for all.
    #[serde(default)]
    pub max_alerts: u64,
}

impl WebhookConfig {
    /// Alertmanager's checks of one `webhook_configs` entry; `at` names it in every message.
    pub fn validate(&self, at: &str, _global: &GlobalConfig) -> Vec<String> {
        let c = self;
        let mut errs = Vec::new();
        match &c.url {
            None => errs.push(format!("{at}: missing URL in webhook config")),
            Some(u) => check_url(at, u.expose(), &mut errs),
        }
        if let Some(h) = &c.http_config {
            errs.extend(h.problems(at));
        }
        errs
    }
}
