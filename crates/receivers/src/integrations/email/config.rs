//! `email_configs`: SMTP settings and message fields.

use crate::global::{GlobalConfig, both, check_hostport};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use vigia_httpclient::{Secret, TlsConfig};

/// `email_configs:` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Notify about resolved alerts (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_resolved: Option<bool>,
    /// Recipients, comma separated (required).
    #[serde(default)]
    pub to: String,
    /// Sender (default `global.smtp_from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// EHLO host name (default `global.smtp_hello`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hello: Option<String>,
    /// SMTP server `host:port` (default `global.smtp_smarthost`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smarthost: Option<String>,
    /// SMTP user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_username: Option<String>,
    /// SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_password: Option<Secret>,
    /// File holding the SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_password_file: Option<String>,
    /// CRAM-MD5 secret (accepted; not used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret: Option<Secret>,
    /// PLAIN identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_identity: Option<String>,
    /// Extra headers (`Subject`, `To`, `From` override the defaults).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// HTML body template (default: vigia's built-in HTML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Text body template (default: vigia's built-in text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Require STARTTLS (default `global.smtp_require_tls`); port 465 uses implicit TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_tls: Option<bool>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
}

impl EmailConfig {
    /// Alertmanager's checks of one `email_configs` entry; `at` names it in every message.
    pub fn validate(&self, at: &str, global: &GlobalConfig) -> Vec<String> {
        let c = self;
        let mut errs = Vec::new();
        if c.to.trim().is_empty() {
            errs.push(format!("{at}: missing to address in email config"));
        }
        match c.smarthost.as_ref().or(global.smtp_smarthost.as_ref()) {
            None => errs.push(format!("{at}: no global SMTP smarthost set")),
            Some(h) => check_hostport(at, h, &mut errs),
        }
        if c.from.is_none() && global.smtp_from.is_none() {
            errs.push(format!("{at}: no global SMTP from set"));
        }
        if both(c.auth_password.is_some(), c.auth_password_file.is_some()) {
            errs.push(format!(
                "{at}: at most one of auth_password & auth_password_file must be configured"
            ));
        }
        let mut seen = BTreeSet::new();
        for h in c.headers.keys() {
            if !seen.insert(h.to_ascii_lowercase()) {
                errs.push(format!("{at}: duplicate header {h:?} in email config"));
            }
        }
        errs
    }
}
