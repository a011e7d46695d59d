//! Opsgenie Alert API requests: create, acknowledge and close, by alias.

use super::OpsGenieConfig;
use crate::error::DeliveryError;
use crate::global::DEFAULT_OPSGENIE_API_URL;
use crate::integrations::{opt, strip_nulls};
use crate::message::{Notification, Status};
use crate::render;
use crate::templates::Templates;
use serde_json::{Value, json};

pub(crate) fn opsgenie_base(c: &OpsGenieConfig) -> String {
    let mut u = c
        .api_url
        .clone()
        .unwrap_or_else(|| DEFAULT_OPSGENIE_API_URL.to_string());
    if !u.ends_with('/') {
        u.push('/');
    }
    u
}

/// The Opsgenie requests: create (`POST {api}/v2/alerts`) while firing; when resolved, close
/// by alias (`POST {api}/v2/alerts/{alias}/close?identifierType=alias`) for each key in
/// [`render::resolve_keys`]. Returns URLs and JSON bodies.
pub fn opsgenie_requests(
    c: &OpsGenieConfig,
    n: &Notification,
    t: &Templates,
) -> Result<Vec<(String, Value)>, DeliveryError> {
    let alias = render::dedup_key(n);
    let base = opsgenie_base(c);
    let source = t.render_or(c.source.as_deref(), n, |n| n.external_url.clone())?;
    if let Some(ack) = &n.acknowledged {
        return Ok(vec![(
            format!("{base}v2/alerts/{alias}/acknowledge?identifierType=alias"),
            json!({"source": source, "user": ack.by, "note": ack.note}),
        )]);
    }
    if n.status == Status::Resolved {
        return Ok(render::resolve_keys(n)
            .into_iter()
            .map(|k| {
                (
                    format!("{base}v2/alerts/{k}/close?identifierType=alias"),
                    json!({"source": source, "note": "resolved in vigia"}),
                )
            })
            .collect());
    }
    let message = t.render_or(c.message.as_deref(), n, render::one_line)?;
    let message = if n.escalation.is_some() && c.message.is_some() {
        format!("{}{message}", render::escalation_prefix(n))
    } else {
        message
    };
    let description = t.render_or(c.description.as_deref(), n, render::text_body)?;
    let mut details = serde_json::Map::new();
    for (k, v) in &n.common_labels {
        details.insert(k.clone(), Value::String(v.clone()));
    }
    for (k, tpl) in &c.details {
        details.insert(k.clone(), Value::String(t.render(tpl, n)?));
    }
    let mut responders = Vec::new();
    for r in &c.responders {
        let kind = t.render(&r.kind, n)?.to_ascii_lowercase();
        let mut o = serde_json::Map::new();
        o.insert("type".into(), Value::String(kind.clone()));
        if let Some(id) = &r.id {
            o.insert("id".into(), Value::String(t.render(id, n)?));
        }
        if let Some(name) = &r.name {
            o.insert("name".into(), Value::String(t.render(name, n)?));
        }
        if let Some(u) = &r.username {
            o.insert("username".into(), Value::String(t.render(u, n)?));
        }
        if kind == "teams" {
            // "teams" expands to one team responder per comma-separated name.
            for name in o
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .split(',')
            {
                responders.push(json!({"type": "team", "name": name.trim()}));
            }
        } else {
            responders.push(Value::Object(o));
        }
    }
    let split = |s: Option<&String>| -> Result<Vec<String>, DeliveryError> {
        Ok(match s {
            Some(s) => t
                .render(s, n)?
                .split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect(),
            None => Vec::new(),
        })
    };
    let mut tags = split(c.tags.as_ref())?;
    if let Some(e) = &n.escalation {
        tags.push(format!("escalation-level-{}", e.level));
    }
    let priority = match &c.priority {
        Some(p) => Some(t.render(p, n)?),
        None => render::opsgenie_priority(n).map(str::to_string),
    };
    let mut body = json!({
        "alias": alias,
        "message": render::truncate(&message, 130),
        "description": render::truncate(&description, 15000),
        "details": Value::Object(details),
        "source": source,
        "responders": responders,
        "tags": tags,
        "actions": split(c.actions.as_ref())?,
        "note": opt(c.note.as_deref().map(|s| t.render(s, n)).transpose()?),
        "priority": opt(priority),
        "entity": opt(c.entity.as_deref().map(|s| t.render(s, n)).transpose()?),
    });
    strip_nulls(&mut body);
    Ok(vec![(format!("{base}v2/alerts"), body)])
}
