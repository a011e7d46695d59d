//! The webhook integration: Alertmanager's payload v4 POSTed as JSON.

mod config;
mod payload;

pub use config::WebhookConfig;
pub use payload::webhook_payload;

use super::Integration;
use crate::error::DeliveryError;
use crate::message::Notification;

impl Integration {
    pub(crate) async fn webhook(
        &self,
        c: &WebhookConfig,
        n: &Notification,
    ) -> Result<(), DeliveryError> {
        let Some(url) = &c.url else {
            return Err(DeliveryError::permanent("webhook: missing url"));
        };
        let body = webhook_payload(n, c.max_alerts)?;
        self.post_json(url.expose(), &body, |rb| rb).await.map(drop)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
