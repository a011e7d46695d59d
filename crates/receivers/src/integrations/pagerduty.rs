//! The PagerDuty integration: Events API v2.

mod config;
mod payload;

pub use crate::global::DEFAULT_PAGERDUTY_URL;
pub use config::{PagerdutyConfig, PagerdutyImage, PagerdutyLink};
pub use payload::pagerduty_events;

use super::Integration;
use crate::error::DeliveryError;
use crate::message::Notification;
use crate::templates::Templates;

impl Integration {
    pub(crate) async fn pagerduty(
        &self,
        c: &PagerdutyConfig,
        n: &Notification,
        t: &Templates,
    ) -> Result<(), DeliveryError> {
        let url = c
            .url
            .clone()
            .unwrap_or_else(|| DEFAULT_PAGERDUTY_URL.to_string());
        for body in pagerduty_events(c, n, t)? {
            self.post_json(&url, &body, |rb| rb).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
