//! The webhook body: Alertmanager's payload version 4.

use crate::error::DeliveryError;
use crate::message::Notification;
use serde_json::Value;

/// The Alertmanager webhook payload (version 4), truncated to `max_alerts` (0: all).
pub fn webhook_payload(n: &Notification, max_alerts: u64) -> Result<Value, DeliveryError> {
    let mut m = n.clone();
    let max = usize::try_from(max_alerts).unwrap_or(usize::MAX);
    if max_alerts > 0 && m.alerts.len() > max {
        let cut = (m.alerts.len() - max) as u64;
        m.alerts.truncate(max);
        m.truncated_alerts += cut;
    }
    let mut v = serde_json::to_value(&m)
        .map_err(|e| DeliveryError::permanent(format!("encoding webhook payload: {e}")))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("version".into(), Value::String("4".into()));
    }
    Ok(v)
}
