//! The SMS integration: Twilio's Messages API or a generic JSON POST.

mod config;

pub use config::{SmsConfig, SmsPreset};

use super::Integration;
use crate::error::DeliveryError;
use crate::http;
use crate::message::Notification;
use crate::render;
use crate::templates::Templates;
use serde_json::json;
use std::time::Duration;

impl Integration {
    pub(crate) async fn sms(
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
