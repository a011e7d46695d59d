//! The Slack integration: an incoming-webhook message.

mod config;
mod payload;

pub use config::{SlackAction, SlackConfig, SlackConfirmationField, SlackField};
pub use payload::slack_payload;

use super::Integration;
use crate::error::DeliveryError;
use crate::http;
use crate::message::Notification;
use crate::templates::Templates;

impl Integration {
    pub(crate) async fn slack(
        &self,
        c: &SlackConfig,
        n: &Notification,
        t: &Templates,
    ) -> Result<(), DeliveryError> {
        let url =
            http::secret_or_file(c.api_url.as_ref(), c.api_url_file.as_ref(), "api_url_file")?
                .ok_or_else(|| DeliveryError::permanent("slack: no api_url"))?;
        let body = slack_payload(c, n, t)?;
        self.post_json(url.trim(), &body, |rb| rb).await.map(drop)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
