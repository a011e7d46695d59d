//! The alert list: filtered by state, minimum severity and labels, most severe and newest
//! first, with acknowledge / resolve buttons.

use super::AlertData;
use super::html::{labels_html, severity_colour};
use crate::dashboard::{AlertFilter, severity_rank};
use crate::format::{esc, format_time};
use crate::i18n::{Key, Lang, t};
use std::fmt::Write as _;

fn state_text(lang: Lang, s: &str) -> String {
    let k = match s {
        "firing" => Key::StateFiring,
        "pending" => Key::StatePending,
        "resolved" => Key::StateResolved,
        "acknowledged" => Key::StateAcknowledged,
        "silenced" => Key::StateSilenced,
        other => return other.to_string(),
    };
    t(lang, k).to_string()
}

fn state_colour(s: &str) -> &'static str {
    match s {
        "firing" => "#b91c1c",
        "pending" => "#a16207",
        "resolved" => "#15803d",
        "acknowledged" => "#1d4ed8",
        _ => "#4b5563",
    }
}

fn alert_matches(a: &AlertData, f: &AlertFilter) -> bool {
    (f.states.is_empty() || f.states.iter().any(|s| s == &a.state))
        && f.severity.as_deref().is_none_or(|min| {
            let sev = if a.severity.is_empty() {
                a.labels.get("severity").map(String::as_str).unwrap_or("")
            } else {
                a.severity.as_str()
            };
            severity_rank(sev) >= severity_rank(min)
        })
        && f.labels.iter().all(|(k, v)| a.labels.get(k) == Some(v))
}

pub(super) fn render_alerts(alerts: &[AlertData], f: &AlertFilter, lang: Lang) -> String {
    let mut list: Vec<&AlertData> = alerts.iter().filter(|a| alert_matches(a, f)).collect();
    if list.is_empty() {
        return format!(r#"<p class="empty">{}</p>"#, esc(t(lang, Key::NoAlerts)));
    }
    list.sort_by(|a, b| {
        severity_rank(&b.severity)
            .cmp(&severity_rank(&a.severity))
            .then(b.starts_at.total_cmp(&a.starts_at))
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    list.truncate(f.limit.max(1));
    let mut s = String::from("<table><thead><tr>");
    for k in [
        Key::Alert,
        Key::Severity,
        Key::State,
        Key::Since,
        Key::Labels,
        Key::Actions,
    ] {
        w!(s, r#"<th scope="col">{}</th>"#, esc(t(lang, k)));
    }
    s.push_str("</tr></thead><tbody>");
    for a in list {
        let name = a.labels.get("alertname").map(String::as_str).unwrap_or("");
        let summary = a
            .annotations
            .get("summary")
            .or_else(|| a.annotations.get("description"))
            .map(String::as_str)
            .unwrap_or("");
        let sev = if a.severity.is_empty() {
            a.labels.get("severity").cloned().unwrap_or_default()
        } else {
            a.severity.clone()
        };
        w!(
            s,
            r#"<tr data-fingerprint="{}"><td><strong>{}</strong><br>{}"#,
            esc(&a.fingerprint),
            esc(name),
            esc(summary)
        );
        if a.ack_by.is_some() || a.ack_note.is_some() {
            w!(
                s,
                r#"<br><small>{}: {}{}{}</small>"#,
                esc(t(lang, Key::AckBy)),
                esc(a.ack_by.as_deref().unwrap_or("—")),
                if a.ack_note.is_some() { " — " } else { "" },
                esc(a.ack_note.as_deref().unwrap_or(""))
            );
        }
        w!(
            s,
            r#"</td><td><span class="badge" style="background:{}">{}</span>"#,
            severity_colour(&sev),
            esc(&sev)
        );
        if a.escalation_level > 0 {
            w!(
                s,
                r#"<br><small>{} {}</small>"#,
                esc(t(lang, Key::Escalation)),
                a.escalation_level
            );
        }
        w!(
            s,
            r#"</td><td><span class="badge" style="background:{}">{}</span></td><td>{}</td><td>{}</td><td>"#,
            state_colour(&a.state),
            esc(&state_text(lang, &a.state)),
            esc(&format_time(a.starts_at)),
            labels_html(&a.labels, &["alertname", "severity"])
        );
        // Pending alerts are not in alert routing yet (as in Prometheus, only firing ones are
        // sent), so they cannot be acknowledged or resolved.
        if a.state == "firing" {
            w!(
                s,
                r#"<button type="button" class="act" data-action="ack" data-fp="{}">{}</button>"#,
                esc(&a.fingerprint),
                esc(t(lang, Key::Acknowledge))
            );
        }
        if !matches!(a.state.as_str(), "resolved" | "pending") {
            w!(
                s,
                r#"<button type="button" class="act" data-action="resolve" data-fp="{}">{}</button>"#,
                esc(&a.fingerprint),
                esc(t(lang, Key::Resolve))
            );
        }
        s.push_str("</td></tr>");
    }
    s.push_str("</tbody></table>");
    s
}
