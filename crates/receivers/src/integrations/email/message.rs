//! The email: headers, plain text and HTML parts, built with lettre.

use super::{EmailConfig, smtp_error};
use crate::error::DeliveryError;
use crate::global::GlobalConfig;
use crate::message::Notification;
use crate::render;
use crate::templates::Templates;

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

/// Merges the global defaults into one receiver's email settings (Alertmanager's rules).
pub(crate) fn email_with_globals(c: &EmailConfig, g: &GlobalConfig) -> EmailConfig {
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
