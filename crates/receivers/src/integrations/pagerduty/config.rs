//! `pagerduty_configs`: Events API v2 keys and event fields.

use crate::global::{GlobalConfig, both, check_url};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigia_httpclient::{HttpClientConfig, Secret};

/// A PagerDuty link.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyLink {
    /// Target.
    #[serde(default)]
    pub href: String,
    /// Text.
    #[serde(default)]
    pub text: String,
}

/// A PagerDuty image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyImage {
    /// Image source.
    #[serde(default)]
    pub src: String,
    /// Alt text.
    #[serde(default)]
    pub alt: String,
    /// Link.
    #[serde(default)]
    pub href: String,
}

/// `pagerduty_configs:` entry (Events API v2; `service_key` selects v1, which vigia sends as v2
/// with the service key as routing key).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    /// HTTP client settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Events API v1 service key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_key: Option<Secret>,
    /// File holding the service key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_key_file: Option<String>,
    /// Events API v2 integration key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<Secret>,
    /// File holding the routing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key_file: Option<String>,
    /// API URL (default `global.pagerduty_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Client name (default `vigia`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// Client URL (default: the external URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_url: Option<String>,
    /// Summary template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Custom details (templates).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// Images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<PagerdutyImage>,
    /// Links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<PagerdutyLink>,
    /// Source (default: the client).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Severity (default: from the `severity` label, else `error`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl PagerdutyConfig {
    /// Alertmanager's checks of one `pagerduty_configs` entry; `at` names it in every message.
    pub fn validate(&self, at: &str, _global: &GlobalConfig) -> Vec<String> {
        let c = self;
        let mut errs = Vec::new();
        if c.routing_key.is_none()
            && c.service_key.is_none()
            && c.routing_key_file.is_none()
            && c.service_key_file.is_none()
        {
            errs.push(format!(
                "{at}: missing service or routing key in PagerDuty config"
            ));
        }
        if both(c.routing_key.is_some(), c.routing_key_file.is_some()) {
            errs.push(format!(
                "{at}: at most one of routing_key & routing_key_file must be configured"
            ));
        }
        if both(c.service_key.is_some(), c.service_key_file.is_some()) {
            errs.push(format!(
                "{at}: at most one of service_key & service_key_file must be configured"
            ));
        }
        if let Some(u) = &c.url {
            check_url(at, u, &mut errs);
        }
        if let Some(s) = &c.severity
            && !s.contains("{{")
            && !matches!(s.as_str(), "critical" | "error" | "warning" | "info")
        {
            errs.push(format!(
                "{at}: severity {s:?} is not one of critical, error, warning, info"
            ));
        }
        if let Some(h) = &c.http_config {
            errs.extend(h.problems(at));
        }
        errs
    }
}
