//! The Opsgenie integration: Alert API.

mod config;
mod payload;

pub use crate::global::DEFAULT_OPSGENIE_API_URL;
pub use config::{OpsGenieConfig, OpsGenieResponder};
pub use payload::opsgenie_requests;

use super::Integration;
use crate::error::DeliveryError;
use crate::http;
use crate::message::Notification;
use crate::templates::Templates;

impl Integration {
    pub(crate) async fn opsgenie(
        &self,
        c: &OpsGenieConfig,
        n: &Notification,
        t: &Templates,
    ) -> Result<(), DeliveryError> {
        let key =
            http::secret_or_file(c.api_key.as_ref(), c.api_key_file.as_ref(), "api_key_file")?
                .ok_or_else(|| DeliveryError::permanent("opsgenie: no api_key"))?;
        let auth = format!("GenieKey {}", key.trim());
        for (url, body) in opsgenie_requests(c, n, t)? {
            let auth = auth.clone();
            self.post_json(&url, &body, |rb| {
                rb.header(reqwest::header::AUTHORIZATION, auth)
            })
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
