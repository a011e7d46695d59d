//! PagerDuty Events API v2 events: trigger, acknowledge and resolve, with stable dedup keys.

use super::PagerdutyConfig;
use crate::error::DeliveryError;
use crate::http;
use crate::integrations::{opt, strip_nulls};
use crate::message::{Notification, Status};
use crate::render;
use crate::templates::Templates;
use serde_json::{Value, json};

/// The PagerDuty Events API v2 events: one `trigger` while firing; when resolved, one `resolve`
/// per key in [`render::resolve_keys`]. Dedup keys are stable per group and escalation level.
pub fn pagerduty_events(
    c: &PagerdutyConfig,
    n: &Notification,
    t: &Templates,
) -> Result<Vec<Value>, DeliveryError> {
    let routing_key = match http::secret_or_file(
        c.routing_key.as_ref(),
        c.routing_key_file.as_ref(),
        "routing_key_file",
    )? {
        Some(k) => k,
        None => http::secret_or_file(
            c.service_key.as_ref(),
            c.service_key_file.as_ref(),
            "service_key_file",
        )?
        .ok_or_else(|| DeliveryError::permanent("pagerduty: no routing_key"))?,
    };
    if n.acknowledged.is_some() {
        return Ok(vec![json!({
            "routing_key": routing_key.trim(),
            "event_action": "acknowledge",
            "dedup_key": render::dedup_key(n),
        })]);
    }
    if n.status == Status::Resolved {
        return Ok(render::resolve_keys(n)
            .into_iter()
            .map(|k| {
                json!({
                    "routing_key": routing_key.trim(),
                    "event_action": "resolve",
                    "dedup_key": k,
                })
            })
            .collect());
    }
    let mut v = json!({
        "routing_key": routing_key.trim(),
        "event_action": "trigger",
        "dedup_key": render::dedup_key(n),
    });
    let summary = t.render_or(c.description.as_deref(), n, render::one_line)?;
    let summary = if n.escalation.is_some() && c.description.is_some() {
        format!("{}{summary}", render::escalation_prefix(n))
    } else {
        summary
    };
    let client = t.render_or(c.client.as_deref(), n, |_| "vigia".to_string())?;
    let client_url = t.render_or(c.client_url.as_deref(), n, |n| n.external_url.clone())?;
    let source = match &c.source {
        Some(s) => t.render(s, n)?,
        None => client.clone(),
    };
    let severity = match &c.severity {
        Some(s) => t.render(s, n)?,
        None => render::pagerduty_severity(n).to_string(),
    };
    let mut details = serde_json::Map::new();
    details.insert(
        "firing".into(),
        Value::String(
            render::firing(n)
                .map(|a| {
                    a.labels
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    );
    details.insert(
        "num_firing".into(),
        Value::String(render::firing(n).count().to_string()),
    );
    details.insert(
        "num_resolved".into(),
        Value::String(render::resolved(n).count().to_string()),
    );
    if let Some(e) = &n.escalation {
        details.insert(
            "escalation_level".into(),
            Value::String(e.level.to_string()),
        );
        details.insert("escalation_policy".into(), Value::String(e.policy.clone()));
    }
    for (k, tpl) in &c.details {
        details.insert(k.clone(), Value::String(t.render(tpl, n)?));
    }
    let mut links = vec![json!({"href": n.external_url, "text": "Open in vigia"})];
    for a in n.alerts.iter().take(1) {
        if !a.generator_url.is_empty() {
            links.push(json!({"href": a.generator_url, "text": "Source expression"}));
        }
    }
    for l in &c.links {
        links.push(json!({"href": t.render(&l.href, n)?, "text": t.render(&l.text, n)?}));
    }
    let mut images = Vec::new();
    for i in &c.images {
        images.push(json!({"src": t.render(&i.src, n)?, "alt": t.render(&i.alt, n)?, "href": t.render(&i.href, n)?}));
    }
    let mut payload = json!({
        "summary": render::truncate(&summary, 1024),
        "source": source,
        "severity": severity,
        "custom_details": Value::Object(details),
        "component": opt(c.component.as_deref().map(|s| t.render(s, n)).transpose()?),
        "group": opt(c.group.as_deref().map(|s| t.render(s, n)).transpose()?),
        "class": opt(c.class.as_deref().map(|s| t.render(s, n)).transpose()?),
    });
    strip_nulls(&mut payload);
    if let Some(o) = v.as_object_mut() {
        o.insert("payload".into(), payload);
        o.insert("client".into(), Value::String(client));
        o.insert("client_url".into(), Value::String(client_url));
        o.insert("links".into(), Value::Array(links));
        if !images.is_empty() {
            o.insert("images".into(), Value::Array(images));
        }
    }
    Ok(vec![v])
}
