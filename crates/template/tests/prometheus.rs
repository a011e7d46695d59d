//! Template expansion table: what Prometheus users write and what Prometheus prints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use vigia_template::{Template, TemplateData, expand};

fn data(value: f64) -> TemplateData {
    TemplateData {
        labels: BTreeMap::from([
            (
                "instance".to_string(),
                "host-1.example.com:9100".to_string(),
            ),
            ("job".to_string(), "node".to_string()),
        ]),
        external_labels: BTreeMap::from([("cluster".to_string(), "eu1".to_string())]),
        external_url: "http://vigia:9090".into(),
        value,
    }
}

#[test]
fn table() {
    let cases: &[(&str, f64, &str)] = &[
        (
            "{{ $labels.instance }} down",
            0.0,
            "host-1.example.com:9100 down",
        ),
        ("{{ .Labels.job }}/{{ $labels.missing }}.", 0.0, "node/."),
        ("{{ $value }}", 0.25, "0.25"),
        ("{{ $value }}", 1234567.0, "1.234567e+06"),
        ("{{ $value }}", 100000.0, "100000"),
        ("{{ $value }}", 0.00001, "1e-05"),
        ("{{ .Value }}", 3.0, "3"),
        (
            "{{ $externalLabels.cluster }} {{ $externalURL }}",
            0.0,
            "eu1 http://vigia:9090",
        ),
        ("{{ $value | humanize }}", 1234567.0, "1.235M"),
        ("{{ humanize $value }}", 0.0012, "1.2m"),
        ("{{ humanize 0 }}", 0.0, "0"),
        ("{{ $value | humanize1024 }}", 1048576.0, "1Mi"),
        ("{{ $value | humanize1024 }}", 0.5, "0.5"),
        ("{{ $value | humanizePercentage }}", 0.1234, "12.34%"),
        ("{{ $value | humanizePercentage }}", 0.05, "5%"),
        ("{{ $value | humanizeDuration }}", 90061.0, "1d 1h 1m 1s"),
        ("{{ $value | humanizeDuration }}", 3661.0, "1h 1m 1s"),
        ("{{ $value | humanizeDuration }}", 61.0, "1m 1s"),
        ("{{ $value | humanizeDuration }}", 1.5, "1.5s"),
        ("{{ $value | humanizeDuration }}", 0.0015, "1.5ms"),
        ("{{ $value | humanizeDuration }}", 0.0, "0s"),
        (
            "{{ humanizeTimestamp 1435065584.128 }}",
            0.0,
            "2015-06-23 13:19:44.128 +0000 UTC",
        ),
        (r#"{{ printf "%.2f" $value }}"#, 1.23856, "1.24"),
        (
            r#"{{ printf "%d errors on %s" 3 $labels.job }}"#,
            0.0,
            "3 errors on node",
        ),
        (
            r#"{{ printf "%5.1f|%-4s|%03d" $value "ab" 7 }}"#,
            2.25,
            "  2.2|ab  |007",
        ),
        (r#"{{ printf "%q" "x" }}"#, 0.0, "\"x\""),
        (r#"{{ "hello world" | title }}"#, 0.0, "Hello World"),
        (r#"{{ toUpper "abc" }} {{ toLower "ABC" }}"#, 0.0, "ABC abc"),
        (
            r#"{{ reReplaceAll ":[0-9]+" "" $labels.instance }}"#,
            0.0,
            "host-1.example.com",
        ),
        (r#"{{ reReplaceAll "(a)(b)" "$2$1" "xaby" }}"#, 0.0, "xbay"),
        (
            "{{ $labels.instance | stripPort }}",
            0.0,
            "host-1.example.com",
        ),
        ("{{ $labels.instance | stripDomain }}", 0.0, "host-1:9100"),
        (
            r#"{{ if gt $value 10.0 }}high{{ else if gt $value 5.0 }}mid{{ else }}low{{ end }}"#,
            7.0,
            "mid",
        ),
        (r#"{{ if eq $labels.job "node" }}yes{{ end }}"#, 0.0, "yes"),
        (
            r#"{{ if and (gt $value 1.0) (lt $value 3.0) }}in{{ end }}"#,
            2.0,
            "in",
        ),
        (
            r#"{{ if not (match "^node$" $labels.job) }}x{{ else }}matched{{ end }}"#,
            0.0,
            "matched",
        ),
        ("a {{- \" b \" -}} c", 0.0, "a b c"),
        ("{{/* comment */}}x", 0.0, "x"),
        ("{{ $x := $labels.job }}{{ $x }}!", 0.0, "node!"),
        (r#"{{ index $labels "job" }}"#, 0.0, "node"),
        (r#"{{ len $labels }}"#, 0.0, "2"),
        (
            r#"{{ range $k, $v := $labels }}{{ $v }};{{ end }}"#,
            0.0,
            "host-1.example.com:9100;node;",
        ),
    ];
    let mut bad = Vec::new();
    for (src, v, want) in cases {
        let got = expand(src, &data(*v), None);
        if got != *want {
            bad.push(format!("{src:?} with {v}: got {got:?}, want {want:?}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn errors() {
    for src in [
        "{{ $labels.job ",
        "{{ if true }}x",
        "{{ end }}",
        "{{ nosuchfunc 1 }}",
        r#"{{ "unterminated }}"#,
        "{{ else }}",
        "{{ range $x := }}{{ end }}",
        "{{ if }}{{ end }}",
        "{{ ( }}",
        "{{ printf \"%d\" | }}",
    ] {
        assert!(Template::parse(src).is_err(), "{src:?} should not parse");
    }
    // Runtime errors become Prometheus's error text.
    let got = expand("{{ humanize \"abc\" }}", &data(0.0), None);
    assert!(got.starts_with("<error expanding template: "), "{got}");
    let got = expand("{{ $nosuch }}", &data(0.0), None);
    assert!(got.contains("undefined variable"), "{got}");
}

#[test]
fn query_function() {
    let q = |expr: &str| -> Result<vigia_template::QueryResult, vigia_template::QueryFailure> {
        assert_eq!(expr, "up");
        Ok(vec![(
            BTreeMap::from([("instance".to_string(), "a".to_string())]),
            1.0,
        )])
    };
    let got = expand(r#"{{ with_none := 1 }}"#, &data(0.0), Some(&q));
    assert!(got.starts_with("<error"), "{got}");
    let got = expand(
        r#"{{ range query "up" }}{{ .Labels.instance }}={{ .Value }}{{ end }} {{ query "up" | first | value }} {{ query "up" | first | label "instance" }}"#,
        &data(0.0),
        Some(&q),
    );
    assert_eq!(got, "a=1 1 a");
}

#[test]
fn random_templates_never_panic() {
    // Deterministic pseudo-random concatenations of template fragments: parsing and expansion
    // must return Ok or Err, never panic.
    let parts = [
        "{{",
        "}}",
        "{{-",
        "-}}",
        " ",
        "$labels",
        ".job",
        "$value",
        "|",
        "humanize",
        "printf",
        "\"%d %s %5.2f %\"",
        "(",
        ")",
        "if",
        "else",
        "end",
        "range",
        "$x",
        ":=",
        ",",
        "1e3",
        "-2",
        "`raw`",
        "\"",
        "\\",
        "eq",
        "index",
        "title",
        "query",
        "first",
        "é",
        "{{/*",
        "*/}}",
        ".",
        "x",
        "len",
        "and",
        "not",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let d = data(1.5);
    for _ in 0..20_000 {
        let n = (next() % 12) as usize;
        let src: String = (0..n)
            .map(|_| parts[(next() % parts.len() as u64) as usize])
            .collect();
        if let Ok(t) = Template::parse(&src) {
            let _ = t.render(&d);
        }
    }
}

#[test]
fn printf_stops_at_huge_widths_as_go_does() {
    let got = expand(
        r#"{{ printf "%5d|%99999999d|%d" 1 2 3 }}"#,
        &data(0.0),
        None,
    );
    assert_eq!(got, "    1|%!(NOVERB)%!(EXTRA float64=2, float64=3)");
    let got = expand(r#"{{ printf "%.9999999f" 1 }}"#, &data(0.0), None);
    assert_eq!(got, "%!(NOVERB)%!(EXTRA float64=1)");
}
