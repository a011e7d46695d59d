//! Parsing and validation of an events request body: every event is checked (id, timestamp,
//! kind, fields, known values) before any is counted, and errors name the event and field.

use super::{CHANNELS, EMAIL_STATUSES, ENGAGEMENT_KINDS};
use crate::IngestError;
use vigia_model::events::{Event, EventKind};

/// Parses the body: one event object, an array, or `{"events": [...]}`; timestamps as ms or
/// RFC 3339. Errors name the event index and the field.
pub fn parse_events(body: &[u8]) -> Result<Vec<Event>, IngestError> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| IngestError::Event {
        index: 0,
        field: String::new(),
        reason: format!("invalid JSON: {e}"),
    })?;
    let items = match v {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(mut o) if o.contains_key("events") => match o.remove("events") {
            Some(serde_json::Value::Array(a)) => a,
            _ => {
                return Err(IngestError::Event {
                    index: 0,
                    field: "events".into(),
                    reason: "must be an array".into(),
                });
            }
        },
        other => vec![other],
    };
    let mut out = Vec::with_capacity(items.len());
    for (index, mut item) in items.into_iter().enumerate() {
        let err = |field: &str, reason: String| IngestError::Event {
            index,
            field: field.into(),
            reason,
        };
        let Some(obj) = item.as_object_mut() else {
            return Err(err("", "an event must be a JSON object".into()));
        };
        match obj.get("id") {
            Some(serde_json::Value::String(s)) if !s.is_empty() && s.len() <= 256 => {}
            _ => {
                return Err(err(
                    "id",
                    "required: a non-empty string of at most 256 characters".into(),
                ));
            }
        }
        let ts = match obj.get("timestamp") {
            Some(serde_json::Value::Number(n)) => n.as_i64().ok_or_else(|| {
                err(
                    "timestamp",
                    "must be an integer (ms since the epoch)".into(),
                )
            })?,
            Some(serde_json::Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.timestamp_millis())
                .map_err(|e| err("timestamp", format!("not RFC 3339: {e}")))?,
            _ => {
                return Err(err(
                    "timestamp",
                    "required: ms since the epoch or an RFC 3339 string".into(),
                ));
            }
        };
        obj.insert("timestamp".into(), ts.into());
        let ev: Event = serde_json::from_value(item).map_err(|e| {
            let msg = e.to_string();
            let field = msg.split('`').nth(1).unwrap_or("kind").to_string();
            err(&field, msg)
        })?;
        validate(&ev).map_err(|(f, r)| err(f, r))?;
        out.push(ev);
    }
    Ok(out)
}

/// Checks the values the JSON shape does not: known channels, kinds and statuses, amounts,
/// page names, load times and ratings. Errors name the field.
fn validate(ev: &Event) -> Result<(), (&'static str, String)> {
    let channel_ok = |c: &str| CHANNELS.contains(&c);
    let channel_err = |c: &str| {
        (
            "channel",
            format!("unknown channel {c:?}: one of {}", CHANNELS.join(", ")),
        )
    };
    let money = |a: f64| {
        if a.is_finite() && a >= 0.0 {
            Ok(())
        } else {
            Err(("amount", format!("must be a non-negative number, got {a}")))
        }
    };
    match &ev.kind {
        EventKind::Registration { channel, .. } if !channel_ok(channel) => {
            Err(channel_err(channel))
        }
        EventKind::Attendance {
            channel: Some(c), ..
        } if !channel_ok(c) => Err(channel_err(c)),
        EventKind::Engagement { engagement, .. }
            if !ENGAGEMENT_KINDS.contains(&engagement.as_str()) =>
        {
            Err((
                "engagement",
                format!("{engagement:?}: one of {}", ENGAGEMENT_KINDS.join(", ")),
            ))
        }
        EventKind::Conversion { channel, .. } | EventKind::MarketingCost { channel, .. }
            if !channel_ok(channel) =>
        {
            Err(channel_err(channel))
        }
        EventKind::Conversion { amount, .. } | EventKind::MarketingCost { amount, .. } => {
            money(*amount)
        }
        EventKind::Email { status } if !EMAIL_STATUSES.contains(&status.as_str()) => Err((
            "status",
            format!("{status:?}: one of {}", EMAIL_STATUSES.join(", ")),
        )),
        EventKind::PageView { page, .. } if page.is_empty() || page.len() > 128 => {
            Err(("page", "1 to 128 characters".into()))
        }
        EventKind::PageView {
            load_time_seconds, ..
        } if !(load_time_seconds.is_finite() && *load_time_seconds >= 0.0) => {
            Err(("load_time_seconds", "must be a non-negative number".into()))
        }
        EventKind::Satisfaction { rating } if !(1..=10).contains(rating) => {
            Err(("rating", format!("{rating}: must be 1 to 10")))
        }
        _ => Ok(()),
    }
}
