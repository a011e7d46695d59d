//! Rendering over the generic data model: Alertmanager-style notification templates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use vigia_template::{Data, Template, TemplateData, TemplateSet};

fn kv(pairs: &[(&str, &str)]) -> Data {
    Data::Kv(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn alert(status: &str, instance: &str) -> Data {
    Data::Obj(BTreeMap::from([
        ("Status".to_string(), Data::Str(status.into())),
        (
            "Labels".to_string(),
            kv(&[("alertname", "Down"), ("instance", instance)]),
        ),
    ]))
}

fn notification() -> Data {
    Data::Obj(BTreeMap::from([
        ("Status".to_string(), Data::Str("firing".into())),
        (
            "Alerts".to_string(),
            Data::List(vec![
                alert("firing", "a"),
                alert("resolved", "b"),
                alert("firing", "c"),
            ]),
        ),
        ("GroupLabels".to_string(), kv(&[("alertname", "Down")])),
        (
            "CommonLabels".to_string(),
            kv(&[("alertname", "Down"), ("job", "node")]),
        ),
        ("Escalation".to_string(), Data::Nil),
    ]))
}

#[test]
fn alertmanager_style_templates() {
    let mut set = TemplateSet::new();
    set.add(
        r#"{{ define "subject" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.Values | join " " }} {{ if gt (len .CommonLabels) (len .GroupLabels) }}({{ with .CommonLabels.Remove .GroupLabels.Names }}{{ .Values | join " " }}{{ end }}){{ end }}{{ end }}
ignored text
{{ define "list" }}{{ range .Alerts.Firing }}{{ .Labels.instance }};{{ end }}{{ end }}"#,
    )
    .unwrap();
    assert_eq!(set.names(), ["list", "subject"]);
    let d = notification();
    assert_eq!(
        set.execute("subject", &d).unwrap(),
        "[FIRING:2] Down (node)"
    );
    assert_eq!(
        set.render(r#"{{ template "list" . }}|{{ len .Alerts.Resolved }}"#, &d)
            .unwrap(),
        "a;c;|1"
    );
    assert_eq!(
        set.render(
            "{{ range .CommonLabels.SortedPairs }}{{ .Name }}={{ .Value }} {{ end }}",
            &d
        )
        .unwrap(),
        "alertname=Down job=node "
    );
    assert_eq!(
        set.render(
            "{{ with .Escalation }}E{{ else }}no{{ end }} {{ .CommonLabels.missing }}.",
            &d
        )
        .unwrap(),
        "no ."
    );
    assert_eq!(
        set.render(
            r#"{{ stringSlice "a" "b" | join "," }} {{ trimSpace "  x " | title }}"#,
            &d
        )
        .unwrap(),
        "a,b X"
    );
    assert!(
        set.render("{{ .Nope }}", &d).is_err(),
        "unknown struct field"
    );
    assert!(set.render(r#"{{ template "missing" . }}"#, &d).is_err());
}

#[test]
fn recursive_definitions_stop() {
    let mut set = TemplateSet::new();
    set.add(r#"{{ define "loop" }}x{{ template "loop" . }}{{ end }}"#)
        .unwrap();
    let e = set.execute("loop", &Data::Nil).unwrap_err();
    assert!(e.to_string().contains("maximum template depth"), "{e}");
}

#[test]
fn local_defines_in_annotation_templates() {
    let t = Template::parse(r#"{{ define "x" }}hi {{ . }}{{ end }}{{ template "x" "there" }}"#)
        .unwrap();
    assert_eq!(t.render(&TemplateData::default()).unwrap(), "hi there");
    assert_eq!(t.render_data(&Data::Nil).unwrap(), "hi there");
}
