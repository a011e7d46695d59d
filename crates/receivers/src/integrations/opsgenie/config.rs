//! `opsgenie_configs`: Alert API key, URL and alert fields.

use crate::global::{GlobalConfig, both, check_url};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigia_httpclient::{HttpClientConfig, Secret};

/// An Opsgenie responder.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsGenieResponder {
    /// Id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `team`, `teams`, `user`, `escalation` or `schedule`.
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// `opsgenie_configs:` entry (Alert API v2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsGenieConfig {
    /// Notify about resolved alerts (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    /// HTTP client settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// API key (default `global.opsgenie_api_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// File holding the API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_file: Option<String>,
    /// API base URL (default `global.opsgenie_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// Message template (≤ 130 characters are kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Description template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Source template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Extra properties.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// Entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// Responders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responders: Vec<OpsGenieResponder>,
    /// Comma-separated actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<String>,
    /// Comma-separated tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// Note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Priority `P1`..`P5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Update message and description of existing alerts (accepted; vigia creates only).
    #[serde(default)]
    pub update_alerts: bool,
}

impl OpsGenieConfig {
    /// Alertmanager's checks of one `opsgenie_configs` entry; `at` names it in every message.
    pub fn validate(&self, at: &str, global: &GlobalConfig) -> Vec<String> {
        let c = self;
        let mut errs = Vec::new();
        if both(c.api_key.is_some(), c.api_key_file.is_some()) {
            errs.push(format!(
                "{at}: at most one of api_key & api_key_file must be configured"
            ));
        }
        if c.api_key.is_none()
            && c.api_key_file.is_none()
            && global.opsgenie_api_key.is_none()
            && global.opsgenie_api_key_file.is_none()
        {
            errs.push(format!(
                "{at}: no global OpsGenie API Key set either inline or in a file"
            ));
        }
        if let Some(u) = &c.api_url {
            check_url(at, u, &mut errs);
        }
        for r in &c.responders {
            if r.id.is_none() && r.username.is_none() && r.name.is_none() {
                errs.push(format!(
                    "{at}: responder has to have at least one of id, username or name specified"
                ));
            }
            let t = r.kind.to_ascii_lowercase();
            if !t.contains("{{")
                && !matches!(
                    t.as_str(),
                    "team" | "teams" | "user" | "escalation" | "schedule"
                )
            {
                errs.push(format!(
                    "{at}: responder type {:?} does not match valid options team, teams, user, escalation, schedule",
                    r.kind
                ));
            }
        }
        if let Some(h) = &c.http_config {
            errs.extend(h.problems(at));
        }
        errs
    }
}
