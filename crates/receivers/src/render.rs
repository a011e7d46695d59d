//! Built-in message texts (used when a receiver sets no template): subject/title lines in
//! Alertmanager's `[FIRING:2] alertname (labels)` form, plain-text and HTML bodies, one-line
//! summaries for SMS, PagerDuty and Opsgenie — all with the "ESCALATED (level N)" marker when
//! the notification is an escalation.

use crate::message::{Notification, NotifyAlert, Status};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// `ESCALATED (level N) ` for escalations, empty otherwise.
pub fn escalation_prefix(n: &Notification) -> String {
    match &n.escalation {
        Some(e) => format!("ESCALATED (level {}) ", e.level),
        None => String::new(),
    }
}

/// Firing alerts of the notification.
pub fn firing(n: &Notification) -> impl Iterator<Item = &NotifyAlert> {
    n.alerts.iter().filter(|a| a.status == Status::Firing)
}

/// Resolved alerts of the notification.
pub fn resolved(n: &Notification) -> impl Iterator<Item = &NotifyAlert> {
    n.alerts.iter().filter(|a| a.status == Status::Resolved)
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Firing => "firing",
        Status::Resolved => "resolved",
    }
}

/// Alertmanager's default subject/title: `[FIRING:2] <group label values> (<other common label
/// values>)`, prefixed with the escalation marker.
pub fn title(n: &Notification) -> String {
    let mut s = escalation_prefix(n);
    let _ = write!(s, "[{}", status_word(n.status).to_uppercase());
    if n.status == Status::Firing {
        let _ = write!(s, ":{}", firing(n).count());
    }
    s.push_str("] ");
    let gl: Vec<&str> = n.group_labels.values().map(String::as_str).collect();
    s.push_str(&gl.join(" "));
    if n.common_labels.len() > n.group_labels.len() {
        let rest: Vec<&str> = n
            .common_labels
            .iter()
            .filter(|(k, _)| !n.group_labels.contains_key(*k))
            .map(|(_, v)| v.as_str())
            .collect();
        if !rest.is_empty() {
            let _ = write!(s, " ({})", rest.join(" "));
        }
    }
    s.trim_end().to_string()
}

fn pairs(m: &BTreeMap<String, String>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A one-line summary: the title plus the first alert's `summary` annotation when there is one.
pub fn one_line(n: &Notification) -> String {
    let mut s = title(n);
    let summary = n
        .common_annotations
        .get("summary")
        .or_else(|| n.alerts.first().and_then(|a| a.annotations.get("summary")));
    if let Some(sum) = summary {
        let _ = write!(s, ": {sum}");
    }
    s
}

fn text_alert(out: &mut String, a: &NotifyAlert) {
    let _ = writeln!(out, "Labels:");
    for (k, v) in &a.labels {
        let _ = writeln!(out, " - {k} = {v}");
    }
    if !a.annotations.is_empty() {
        let _ = writeln!(out, "Annotations:");
        for (k, v) in &a.annotations {
            let _ = writeln!(out, " - {k} = {v}");
        }
    }
    let _ = writeln!(out, "Started: {}", a.starts_at);
    if a.status == Status::Resolved {
        let _ = writeln!(out, "Ended: {}", a.ends_at);
    }
    if !a.generator_url.is_empty() {
        let _ = writeln!(out, "Source: {}", a.generator_url);
    }
    out.push('\n');
}

/// Plain-text body listing firing and resolved alerts with labels, annotations and links.
pub fn text_body(n: &Notification) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n", title(n));
    if let Some(e) = &n.escalation {
        let _ = writeln!(
            out,
            "Escalated to level {} (severity {}, policy {}): nobody acknowledged in time.\n",
            e.level, e.severity, e.policy
        );
    }
    let nf = firing(n).count();
    let nr = resolved(n).count();
    if nf > 0 {
        let _ = writeln!(out, "{nf} alert(s) firing:\n");
        for a in firing(n) {
            text_alert(&mut out, a);
        }
    }
    if nr > 0 {
        let _ = writeln!(out, "{nr} alert(s) resolved:\n");
        for a in resolved(n) {
            text_alert(&mut out, a);
        }
    }
    if n.truncated_alerts > 0 {
        let _ = writeln!(out, "({} more alerts not shown)\n", n.truncated_alerts);
    }
    let _ = writeln!(out, "Receiver: {}", n.receiver);
    if !n.external_url.is_empty() {
        let _ = writeln!(out, "View in vigia: {}", n.external_url);
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn html_alert(out: &mut String, a: &NotifyAlert) {
    out.push_str("<li><table>");
    for (k, v) in &a.labels {
        let _ = write!(
            out,
            "<tr><td><b>{}</b></td><td>{}</td></tr>",
            html_escape(k),
            html_escape(v)
        );
    }
    for (k, v) in &a.annotations {
        let _ = write!(
            out,
            "<tr><td><i>{}</i></td><td>{}</td></tr>",
            html_escape(k),
            html_escape(v)
        );
    }
    let _ = write!(
        out,
        "<tr><td>started</td><td>{}</td></tr>",
        html_escape(&a.starts_at)
    );
    out.push_str("</table>");
    if !a.generator_url.is_empty() {
        let _ = write!(
            out,
            "<a href=\"{}\">Source</a>",
            html_escape(&a.generator_url)
        );
    }
    out.push_str("</li>\n");
}

/// HTML body with the same content as [`text_body`].
pub fn html_body(n: &Notification) -> String {
    let color = match n.status {
        Status::Firing => "#e45959",
        Status::Resolved => "#68b90f",
    };
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body style=\"font-family: sans-serif\">\n",
    );
    let _ = writeln!(
        out,
        "<h2 style=\"color: {color}\">{}</h2>",
        html_escape(&title(n))
    );
    if let Some(e) = &n.escalation {
        let _ = writeln!(
            out,
            "<p><b>Escalated to level {} (severity {}, policy {})</b>: nobody acknowledged in time.</p>",
            e.level,
            html_escape(&e.severity),
            html_escape(&e.policy)
        );
    }
    let nf = firing(n).count();
    if nf > 0 {
        let _ = writeln!(out, "<h3>{nf} alert(s) firing</h3>\n<ul>");
        for a in firing(n) {
            html_alert(&mut out, a);
        }
        out.push_str("</ul>\n");
    }
    let nr = resolved(n).count();
    if nr > 0 {
        let _ = writeln!(out, "<h3>{nr} alert(s) resolved</h3>\n<ul>");
        for a in resolved(n) {
            html_alert(&mut out, a);
        }
        out.push_str("</ul>\n");
    }
    if n.truncated_alerts > 0 {
        let _ = writeln!(out, "<p>{} more alerts not shown</p>", n.truncated_alerts);
    }
    if !n.external_url.is_empty() {
        let _ = writeln!(
            out,
            "<p><a href=\"{}\">View in vigia</a></p>",
            html_escape(&n.external_url)
        );
    }
    out.push_str("</body></html>\n");
    out
}

/// Slack attachment text: one block per alert with summary, description and labels.
pub fn slack_text(n: &Notification) -> String {
    let mut out = String::new();
    if let Some(e) = &n.escalation {
        let _ = writeln!(
            out,
            "*Escalated to level {}* (severity `{}`, policy {})",
            e.level, e.severity, e.policy
        );
    }
    for a in &n.alerts {
        let name = a.labels.get("alertname").map(String::as_str).unwrap_or("");
        let summary = a
            .annotations
            .get("summary")
            .map(String::as_str)
            .unwrap_or(name);
        let sev = a.labels.get("severity").map(String::as_str).unwrap_or("");
        let _ = write!(out, "*Alert:* {summary}");
        if !sev.is_empty() {
            let _ = write!(out, " - `{sev}`");
        }
        if a.status == Status::Resolved {
            out.push_str(" (resolved)");
        }
        out.push('\n');
        if let Some(d) = a.annotations.get("description") {
            let _ = writeln!(out, "*Description:* {d}");
        }
        let _ = writeln!(out, "*Details:* {}", pairs(&a.labels));
    }
    out.trim_end().to_string()
}

/// PagerDuty severity from the notification: the escalation severity or the common `severity`
/// label mapped to PagerDuty's four values (vigia's scale: info < low < medium (= warning) <
/// high < critical).
pub fn pagerduty_severity(n: &Notification) -> &'static str {
    let sev = n
        .escalation
        .as_ref()
        .map(|e| e.severity.as_str())
        .or_else(|| n.common_labels.get("severity").map(String::as_str))
        .unwrap_or("");
    match sev.to_ascii_lowercase().as_str() {
        "critical" | "page" => "critical",
        "high" | "error" => "error",
        "medium" | "warning" | "low" => "warning",
        "info" | "none" => "info",
        _ => "error",
    }
}

/// Opsgenie priority from the severity (`P1` critical … `P5` info).
pub fn opsgenie_priority(n: &Notification) -> Option<&'static str> {
    let sev = n
        .escalation
        .as_ref()
        .map(|e| e.severity.as_str())
        .or_else(|| n.common_labels.get("severity").map(String::as_str))?;
    Some(match sev.to_ascii_lowercase().as_str() {
        "critical" => "P1",
        "high" | "error" => "P2",
        "medium" | "warning" => "P3",
        "low" => "P4",
        "info" => "P5",
        _ => return None,
    })
}

/// Truncates to at most `max` characters, marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut o: String = s.chars().take(max.saturating_sub(1)).collect();
    o.push('…');
    o
}

/// A stable 64-bit FNV-1a hash in 16 hex digits (used for provider dedup keys, stable across
/// restarts and versions).
pub fn stable_hash(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// The provider dedup key of a notification: stable per alert group, and per escalation level
/// (so an escalation is a new PagerDuty incident / Opsgenie alert rather than a duplicate the
/// provider would merge into the unacknowledged original).
pub fn dedup_key(n: &Notification) -> String {
    dedup_key_at(n, n.escalation.as_ref().map_or(0, |e| e.level))
}

/// The dedup key of `n`'s group at escalation `level` (0: not escalated).
pub fn dedup_key_at(n: &Notification, level: u32) -> String {
    if level == 0 {
        stable_hash(&[&n.receiver, &n.group_key])
    } else {
        stable_hash(&[
            &n.receiver,
            &n.group_key,
            &format!("escalation-level-{level}"),
        ])
    }
}

/// The keys a resolved notification closes: the group's key at every level up to the
/// notification's escalation level (so one resolved notification carrying the highest level
/// reached resolves the original and every escalation).
pub fn resolve_keys(n: &Notification) -> Vec<String> {
    let top = n.escalation.as_ref().map_or(0, |e| e.level);
    (0..=top).map(|l| dedup_key_at(n, l)).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::message::Escalation;

    pub(crate) fn alert(name: &str, status: Status, extra: &[(&str, &str)]) -> NotifyAlert {
        let mut labels = BTreeMap::from([
            ("alertname".to_string(), name.to_string()),
            ("severity".to_string(), "high".to_string()),
        ]);
        for (k, v) in extra {
            labels.insert(k.to_string(), v.to_string());
        }
        NotifyAlert {
            status,
            labels,
            annotations: BTreeMap::from([
                ("summary".to_string(), format!("{name} is <bad>")),
                ("description".to_string(), "details here".to_string()),
            ]),
            starts_at: "2026-11-23T10:00:00Z".into(),
            ends_at: "0001-01-01T00:00:00Z".into(),
            generator_url: "http://vigia:9090/graph?g0.expr=up".into(),
            fingerprint: "0123456789abcdef".into(),
        }
    }

    pub(crate) fn notification(receiver: &str, n_alerts: usize) -> Notification {
        let alerts: Vec<NotifyAlert> = (0..n_alerts)
            .map(|i| {
                alert(
                    "HighErrors",
                    Status::Firing,
                    &[("instance", &format!("i{i}"))],
                )
            })
            .collect();
        Notification {
            receiver: receiver.into(),
            status: Status::Firing,
            alerts,
            group_labels: BTreeMap::from([("alertname".into(), "HighErrors".into())]),
            common_labels: BTreeMap::from([
                ("alertname".into(), "HighErrors".into()),
                ("severity".into(), "high".into()),
            ]),
            common_annotations: BTreeMap::new(),
            external_url: "http://vigia:9090".into(),
            group_key: "{}:{alertname=\"HighErrors\"}".into(),
            truncated_alerts: 0,
            escalation: None,
            acknowledged: None,
        }
    }

    #[test]
    fn titles_like_alertmanager() {
        let mut n = notification("r", 2);
        assert_eq!(title(&n), "[FIRING:2] HighErrors (high)");
        n.escalation = Some(Escalation {
            level: 2,
            severity: "critical".into(),
            policy: "p".into(),
        });
        assert_eq!(
            title(&n),
            "ESCALATED (level 2) [FIRING:2] HighErrors (high)"
        );
        assert_eq!(pagerduty_severity(&n), "critical");
        n.status = Status::Resolved;
        n.escalation = None;
        assert_eq!(title(&n), "[RESOLVED] HighErrors (high)");
        assert_eq!(pagerduty_severity(&n), "error");
    }

    #[test]
    fn bodies_escape_and_list_alerts() {
        let n = notification("r", 2);
        let h = html_body(&n);
        assert!(h.contains("HighErrors is &lt;bad&gt;"));
        assert!(!h.contains("<bad>"));
        assert_eq!(h.matches("<li>").count(), 2);
        let t = text_body(&n);
        assert!(t.contains("2 alert(s) firing") && t.contains("instance = i1"));
        assert!(slack_text(&n).contains("*Alert:* HighErrors is <bad> - `high`"));
    }

    #[test]
    fn dedup_keys_are_stable_and_differ_per_level() {
        let mut n = notification("r", 1);
        let k0 = dedup_key(&n);
        assert_eq!(k0, dedup_key(&n.clone()));
        assert_eq!(k0.len(), 16);
        n.escalation = Some(Escalation {
            level: 1,
            severity: "critical".into(),
            policy: "p".into(),
        });
        let k1 = dedup_key(&n);
        assert_ne!(k0, k1);
        // the value is fixed forever (outbox items survive upgrades)
        assert_eq!(stable_hash(&["a"]), "af63dc4c8601ec8c");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
