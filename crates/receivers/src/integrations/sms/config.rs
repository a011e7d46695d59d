//! vigia's `notify.sms` entries: the provider preset, credentials and recipients.

use serde::{Deserialize, Serialize};
use vigia_httpclient::Secret;

/// SMS provider preset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsPreset {
    /// Twilio's Messages API: form POST to `{url}/2010-04-01/Accounts/{sid}/Messages.json`
    /// with basic auth (account SID, auth token), one request per recipient.
    #[default]
    Twilio,
    /// JSON POST `{"from", "to": [..], "message"}` to `url`, bearer `auth_token` when set.
    Generic,
}

/// vigia's SMS integration, attached to an Alertmanager receiver by name (`notify.sms:`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// The Alertmanager receiver this SMS integration belongs to.
    pub receiver: String,
    /// Request format.
    #[serde(default)]
    pub preset: SmsPreset,
    /// Provider base URL (Twilio: `https://api.twilio.com`).
    pub url: String,
    /// Twilio account SID (basic-auth user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_sid: Option<String>,
    /// Twilio auth token / generic bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<Secret>,
    /// Sender number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Recipient numbers.
    #[serde(default)]
    pub to: Vec<String>,
    /// Message template (default: vigia's built-in one-line summary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Notify about resolved alerts (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
}
