//! Custom message templates of the receivers (`title`, `text`, `subject`, `html`, …): Go
//! templates over Alertmanager's notification data, rendered with the `vigia-template`
//! engine, with `{{ define }}` blocks from the `templates:` files. Fields without a template use
//! vigia's built-in texts ([`crate::render`]).
//!
//! The data is Alertmanager's: `.Receiver`, `.Status`, `.Alerts` (each with `.Status`,
//! `.Labels`, `.Annotations`, `.StartsAt`, `.EndsAt` (RFC 3339 strings), `.GeneratorURL`,
//! `.Fingerprint`; `.Alerts.Firing` / `.Alerts.Resolved`), `.GroupLabels`, `.CommonLabels`,
//! `.CommonAnnotations` (with `.SortedPairs`, `.Names`, `.Values`, `.Remove`), `.ExternalURL`;
//! vigia adds `.GroupKey`, `.TruncatedAlerts` and `.Escalation` (`.Level`, `.Severity`,
//! `.Policy`, or empty).

use crate::error::{DeliveryError, TemplateFileError};
use crate::message::{Notification, NotifyAlert, Status};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vigia_template::{Data, TemplateSet};

/// The template set of a configuration (`templates:` files).
#[derive(Debug, Clone, Default)]
pub struct Templates {
    set: TemplateSet,
}

fn status(s: Status) -> Data {
    Data::Str(
        match s {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
        .into(),
    )
}

fn alert_data(a: &NotifyAlert) -> Data {
    Data::Obj(BTreeMap::from([
        ("Status".to_string(), status(a.status)),
        ("Labels".to_string(), Data::Kv(a.labels.clone())),
        ("Annotations".to_string(), Data::Kv(a.annotations.clone())),
        ("StartsAt".to_string(), Data::Str(a.starts_at.clone())),
        ("EndsAt".to_string(), Data::Str(a.ends_at.clone())),
        (
            "GeneratorURL".to_string(),
            Data::Str(a.generator_url.clone()),
        ),
        ("Fingerprint".to_string(), Data::Str(a.fingerprint.clone())),
    ]))
}

/// The template data of a notification (see the module docs).
pub fn notification_data(n: &Notification) -> Data {
    let escalation = match &n.escalation {
        Some(e) => Data::Obj(BTreeMap::from([
            ("Level".to_string(), Data::Num(f64::from(e.level))),
            ("Severity".to_string(), Data::Str(e.severity.clone())),
            ("Policy".to_string(), Data::Str(e.policy.clone())),
        ])),
        None => Data::Nil,
    };
    Data::Obj(BTreeMap::from([
        ("Receiver".to_string(), Data::Str(n.receiver.clone())),
        ("Status".to_string(), status(n.status)),
        (
            "Alerts".to_string(),
            Data::List(n.alerts.iter().map(alert_data).collect()),
        ),
        ("GroupLabels".to_string(), Data::Kv(n.group_labels.clone())),
        (
            "CommonLabels".to_string(),
            Data::Kv(n.common_labels.clone()),
        ),
        (
            "CommonAnnotations".to_string(),
            Data::Kv(n.common_annotations.clone()),
        ),
        ("ExternalURL".to_string(), Data::Str(n.external_url.clone())),
        ("GroupKey".to_string(), Data::Str(n.group_key.clone())),
        (
            "TruncatedAlerts".to_string(),
            Data::Num(n.truncated_alerts as f64),
        ),
        ("Escalation".to_string(), escalation),
    ]))
}

impl Templates {
    /// No custom templates.
    pub fn new() -> Self {
        Templates::default()
    }

    /// Adds the `define` blocks of one templates file; `name` labels errors.
    pub fn add(&mut self, name: &str, text: &str) -> Result<(), TemplateFileError> {
        self.set
            .add(text)
            .map_err(|source| TemplateFileError::Parse {
                file: name.to_string(),
                source,
            })
    }

    /// Reads templates files.
    pub fn load(paths: &[PathBuf]) -> Result<Templates, TemplateFileError> {
        let mut t = Templates::new();
        for p in paths {
            let text = std::fs::read_to_string(p).map_err(|source| TemplateFileError::Read {
                file: p.display().to_string(),
                source,
            })?;
            t.add(&p.display().to_string(), &text)?;
        }
        Ok(t)
    }

    /// Reads the files matching Alertmanager `templates:` globs (relative ones against `base`,
    /// the configuration file's directory; wildcards in the file name).
    pub fn load_globs(patterns: &[String], base: &Path) -> Result<Templates, TemplateFileError> {
        Templates::load(&vigia_template::expand_globs(patterns, base)?)
    }

    /// Names of the defined templates.
    pub fn names(&self) -> Vec<String> {
        self.set.names()
    }

    /// Renders `src` over `n`.
    pub fn render(&self, src: &str, n: &Notification) -> Result<String, DeliveryError> {
        if !src.contains("{{") {
            return Ok(src.to_string());
        }
        self.set
            .render(src, &notification_data(n))
            .map_err(|e| DeliveryError::permanent(format!("template {src:?}: {e}")))
    }

    /// Renders `custom` when set, else the built-in default.
    pub fn render_or(
        &self,
        custom: Option<&str>,
        n: &Notification,
        default: impl FnOnce(&Notification) -> String,
    ) -> Result<String, DeliveryError> {
        match custom {
            None => Ok(default(n)),
            Some(src) => self.render(src, n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Escalation;
    use crate::render::tests::notification;

    #[test]
    fn renders_alertmanager_data_with_defines() {
        let mut t = Templates::new();
        t.add(
            "custom.tmpl",
            r#"{{ define "my.title" }}{{ .Status | toUpper }} {{ .CommonLabels.alertname }} ({{ len .Alerts.Firing }}){{ end }}"#,
        )
        .unwrap();
        let mut n = notification("team", 2);
        assert_eq!(
            t.render(r#"{{ template "my.title" . }}"#, &n).unwrap(),
            "FIRING HighErrors (2)"
        );
        assert_eq!(
            t.render(
                "{{ range .Alerts }}{{ .Labels.instance }}:{{ .Annotations.summary }} {{ end }}",
                &n
            )
            .unwrap(),
            "i0:HighErrors is <bad> i1:HighErrors is <bad> "
        );
        assert_eq!(
            t.render(
                "{{ .Receiver }} {{ .ExternalURL }} {{ if .Escalation }}E{{ end }}",
                &n
            )
            .unwrap(),
            "team http://vigia:9090 "
        );
        n.escalation = Some(Escalation {
            level: 2,
            severity: "critical".into(),
            policy: "p".into(),
        });
        assert_eq!(
            t.render(
                "{{ with .Escalation }}L{{ .Level }} {{ .Severity }}{{ end }}",
                &n
            )
            .unwrap(),
            "L2 critical"
        );
        assert!(t.render("{{ .Nope }}", &n).is_err());
        assert_eq!(t.render_or(None, &n, |_| "dflt".into()).unwrap(), "dflt");
        assert!(t.add("bad.tmpl", "{{ define \"x\" }}").is_err());
    }
}
