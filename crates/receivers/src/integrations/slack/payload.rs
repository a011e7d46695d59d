//! The Slack message: one attachment with title, text, fields and actions, as Alertmanager builds it.

use super::SlackConfig;
use crate::error::DeliveryError;
use crate::integrations::{opt, strip_nulls};
use crate::message::{Notification, Status};
use crate::render;
use crate::templates::Templates;
use serde_json::{Value, json};

/// The Slack incoming-webhook message: one attachment with title, link, colour by status, text,
/// fields and actions.
pub fn slack_payload(
    c: &SlackConfig,
    n: &Notification,
    t: &Templates,
) -> Result<Value, DeliveryError> {
    let title = t.render_or(c.title.as_deref(), n, render::title)?;
    let title = if n.escalation.is_some() && c.title.is_some() {
        format!("{}{title}", render::escalation_prefix(n))
    } else {
        title
    };
    let link = t.render_or(c.title_link.as_deref(), n, |n| n.external_url.clone())?;
    let text = t.render_or(c.text.as_deref(), n, render::slack_text)?;
    let color = t.render_or(c.color.as_deref(), n, |n| {
        match n.status {
            Status::Firing => "danger",
            Status::Resolved => "good",
        }
        .to_string()
    })?;
    let fallback = t.render_or(c.fallback.as_deref(), n, |n| {
        format!("{} | {}", render::title(n), n.external_url)
    })?;
    let username = t.render_or(c.username.as_deref(), n, |_| "vigia".to_string())?;
    let mut fields = Vec::new();
    for f in &c.fields {
        fields.push(json!({
            "title": t.render(&f.title, n)?,
            "value": t.render(&f.value, n)?,
            "short": f.short.unwrap_or(c.short_fields),
        }));
    }
    let mut actions = Vec::new();
    for a in &c.actions {
        let confirm = a.confirm.as_ref().map(|cf| {
            json!({"text": cf.text, "title": cf.title, "ok_text": cf.ok_text, "dismiss_text": cf.dismiss_text})
        });
        actions.push(json!({
            "type": a.kind,
            "text": t.render(&a.text, n)?,
            "url": a.url.as_ref().map(|u| t.render(u, n)).transpose()?,
            "style": a.style,
            "name": a.name,
            "value": a.value,
            "confirm": confirm,
        }));
    }
    let mrkdwn_in = if c.mrkdwn_in.is_empty() {
        vec!["fallback".to_string(), "pretext".into(), "text".into()]
    } else {
        c.mrkdwn_in.clone()
    };
    let pretext = c.pretext.as_deref().map(|p| t.render(p, n)).transpose()?;
    let footer = c.footer.as_deref().map(|p| t.render(p, n)).transpose()?;
    let callback_id = c
        .callback_id
        .as_deref()
        .map(|p| t.render(p, n))
        .transpose()?;
    let mut attachment = json!({
        "title": title,
        "title_link": opt(Some(link)),
        "pretext": opt(pretext),
        "text": text,
        "fallback": fallback,
        "callback_id": opt(callback_id),
        "color": color,
        "footer": opt(footer),
        "image_url": opt(c.image_url.clone()),
        "thumb_url": opt(c.thumb_url.clone()),
        "mrkdwn_in": mrkdwn_in,
    });
    if let Some(o) = attachment.as_object_mut() {
        if !fields.is_empty() {
            o.insert("fields".into(), Value::Array(fields));
        }
        if !actions.is_empty() {
            o.insert("actions".into(), Value::Array(actions));
        }
    }
    let mut v = json!({
        "channel": opt(c.channel.clone()),
        "username": username,
        "icon_emoji": opt(c.icon_emoji.clone()),
        "icon_url": opt(c.icon_url.clone()),
        "link_names": c.link_names,
        "attachments": [attachment],
    });
    strip_nulls(&mut v);
    Ok(v)
}
