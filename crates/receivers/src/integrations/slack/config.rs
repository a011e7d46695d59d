//! `slack_configs`: the incoming-webhook URL and every message field Alertmanager supports.

use crate::global::{GlobalConfig, both, check_url};
use serde::{Deserialize, Serialize};
use vigia_httpclient::{HttpClientConfig, Secret};

/// A Slack attachment field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackField {
    /// Title (required).
    #[serde(default)]
    pub title: String,
    /// Value (required).
    #[serde(default)]
    pub value: String,
    /// Show side by side (default `short_fields`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<bool>,
}

/// A Slack confirmation dialog of an action.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfirmationField {
    /// Text (required).
    #[serde(default)]
    pub text: String,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// OK button text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok_text: Option<String>,
    /// Dismiss button text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dismiss_text: Option<String>,
}

/// A Slack attachment action (button).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackAction {
    /// Type (required, `button`).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Button text (required).
    #[serde(default)]
    pub text: String,
    /// Link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Style.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<String>,
    /// Name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Confirmation dialog.
    #[serde(default, rename = "confirm", skip_serializing_if = "Option::is_none")]
    pub confirm: Option<SlackConfirmationField>,
}

/// `slack_configs:` entry (incoming webhook).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Notify about resolved alerts (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    /// HTTP client settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Incoming-webhook URL (default `global.slack_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<Secret>,
    /// File holding the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url_file: Option<String>,
    /// Channel override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// User name override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Attachment colour template (default `danger` firing, `good` resolved).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// Title template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Title link template (default: the external URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_link: Option<String>,
    /// Pretext template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretext: Option<String>,
    /// Text template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Attachment fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<SlackField>,
    /// Default `short` of the fields.
    #[serde(default)]
    pub short_fields: bool,
    /// Footer template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<String>,
    /// Fallback text template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// Callback id template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
    /// Icon emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_emoji: Option<String>,
    /// Icon URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_url: Option<String>,
    /// Image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Thumbnail URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_url: Option<String>,
    /// Link channel names and user names.
    #[serde(default)]
    pub link_names: bool,
    /// Attachment fields rendered as markdown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mrkdwn_in: Vec<String>,
    /// Buttons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<SlackAction>,
}

impl SlackConfig {
    /// Alertmanager's checks of one `slack_configs` entry; `at` names it in every message.
    pub fn validate(&self, at: &str, global: &GlobalConfig) -> Vec<String> {
        let c = self;
        let mut errs = Vec::new();
        if both(c.api_url.is_some(), c.api_url_file.is_some()) {
            errs.push(format!(
                "{at}: at most one of api_url & api_url_file must be configured"
            ));
        }
        if c.api_url.is_none()
            && c.api_url_file.is_none()
            && global.slack_api_url.is_none()
            && global.slack_api_url_file.is_none()
        {
            errs.push(format!(
                "{at}: no global Slack API URL set either inline or in a file"
            ));
        }
        if let Some(u) = &c.api_url {
            check_url(at, u.expose(), &mut errs);
        }
        for f in &c.fields {
            if f.title.is_empty() {
                errs.push(format!("{at}: missing title in Slack field configuration"));
            }
            if f.value.is_empty() {
                errs.push(format!("{at}: missing value in Slack field configuration"));
            }
        }
        for a in &c.actions {
            if a.kind.is_empty() {
                errs.push(format!("{at}: missing type in Slack action configuration"));
            }
            if a.text.is_empty() {
                errs.push(format!("{at}: missing text in Slack action configuration"));
            }
            if a.url.is_none() && a.name.is_none() {
                errs.push(format!(
                    "{at}: missing name or url in Slack action configuration"
                ));
            }
            if let Some(cf) = &a.confirm
                && cf.text.is_empty()
            {
                errs.push(format!(
                    "{at}: missing text in Slack confirmation configuration"
                ));
            }
        }
        if let Some(h) = &c.http_config {
            errs.extend(h.problems(at));
        }
        errs
    }
}
