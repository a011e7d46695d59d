//! Rendering every shipped dashboard with synthetic data: well-formed markup, no empty panels
//! with data, "no data" without, escaping, both languages.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use vigia_report::Lang;
use vigia_report::dashboard::*;
use vigia_report::i18n::{Key, t};
use vigia_report::kpi::{Direction, KpiStatus, KpiValue as KpiData};
use vigia_report::page::*;

const NOW: f64 = 1_795_460_000.0;
const EVIL: &str = "<script>alert(1)</script>";

fn dashboards() -> Vec<Dashboard> {
    Dashboard::load_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/dashboards"),
    )
    .unwrap()
}

fn ctx(d: &Dashboard, ds: &[Dashboard], lang: Lang) -> PageContext {
    let mut options = BTreeMap::new();
    for v in &d.variables {
        options.insert(v.name.clone(), vec!["a".to_string(), EVIL.to_string()]);
    }
    PageContext {
        lang,
        range: TimeRange::ending_at(NOW, d.time_range),
        range_param: "24h".into(),
        variables: d.resolve_variables(&BTreeMap::new(), &options),
        variable_options: options,
        nav: ds.iter().map(NavItem::of).collect(),
        now: NOW,
    }
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn synthetic(d: &Dashboard, c: &PageContext) -> DashboardData {
    let mut data = DashboardData::default();
    let common = |i: usize, evil: bool| {
        let v = if evil {
            EVIL.to_string()
        } else {
            format!("v{i}")
        };
        labels(&[
            ("channel", &v),
            ("instance", &v),
            ("route", &v),
            ("metric", &v),
            ("severity", &v),
            ("job", "node"),
        ])
    };
    for q in d.queries(&c.variables, &c.range) {
        let r = match q.kind {
            QueryKind::Range => QueryResult::Range(
                (0..3)
                    .map(|s| SeriesData {
                        labels: common(s, s == 2),
                        points: (0..50)
                            .map(|i| {
                                let t = c.range.start + i as f64 * c.range.step;
                                (t, (i as f64 * 0.2 + s as f64).sin().abs() * 10.0)
                            })
                            .collect(),
                    })
                    .collect(),
            ),
            QueryKind::Instant => QueryResult::Instant(
                (0..3)
                    .map(|s| InstantSample {
                        labels: common(s, s == 1),
                        value: 1000.0 / (s as f64 + 1.0),
                    })
                    .collect(),
            ),
        };
        data.set(&q.panel_id, q.index, r);
    }
    for name in d.kpi_names() {
        data.kpis.push(KpiData {
            name: name.to_string(),
            title: format!("{name} {EVIL}"),
            unit: "ratio".into(),
            value: Some(0.8),
            target: 0.75,
            direction: Direction::Higher,
            attainment: Some(1.07),
            status: KpiStatus::Ok,
            previous: Some(0.7),
            trend: Some(0.14),
            benchmark_position: Some(0.8),
            industry_average: Some(0.6),
            top_performers: Some(0.85),
            history: vec![(NOW - 120.0, 0.7), (NOW - 60.0, 0.75), (NOW, 0.8)],
            ..Default::default()
        });
    }
    for (i, state) in ["firing", "pending", "acknowledged", "resolved", "silenced"]
        .iter()
        .enumerate()
    {
        data.alerts.push(AlertData {
            fingerprint: format!("fp{i}\"><x"),
            labels: labels(&[
                ("alertname", "HighErrorRatio"),
                ("instance", EVIL),
                ("severity", "critical"),
            ]),
            annotations: labels(&[("summary", EVIL)]),
            state: state.to_string(),
            severity: "critical".into(),
            starts_at: NOW - 600.0,
            ack_by: (*state == "acknowledged").then(|| "ana".to_string()),
            ack_note: (*state == "acknowledged").then(|| EVIL.to_string()),
            escalation_level: 1,
            ends_at: None,
        });
    }
    data.anomalies.push(AnomalyData {
        id: "a1".into(),
        metric: "node_memory_MemAvailable_bytes".into(),
        labels: labels(&[("instance", EVIL)]),
        start: NOW - 3000.0,
        end: None,
        active: true,
        peak_score: 0.97,
        peak_at: NOW - 2000.0,
        severity: "critical".into(),
        pattern: Some("level_shift".into()),
        insight: format!("fell {EVIL}"),
        excerpt: (0..100)
            .map(|i| {
                (
                    NOW - 6000.0 + i as f64 * 60.0,
                    4e9 - if i > 50 { 3e9 } else { 0.0 },
                )
            })
            .collect(),
    });
    data
}

const VOID: &[&str] = &["meta", "br", "input", "link", "img", "hr"];

/// Checks that every non-void HTML element is closed in order; returns the tag count.
fn check_balanced(html: &str) -> usize {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    let mut count = 0;
    while let Some(i) = rest.find('<') {
        rest = &rest[i..];
        let Some(end) = rest.find('>') else {
            panic!("unterminated tag")
        };
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        count += 1;
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> without opening"));
            assert_eq!(top, name.trim(), "mismatched close");
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(!name.is_empty(), "bad tag <{tag}>");
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        if name == "script" || name == "style" {
            let close = format!("</{name}>");
            let j = rest.find(&close).unwrap();
            rest = &rest[j + close.len()..];
            continue;
        }
        stack.push(name);
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    count
}

fn svgs(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<svg") {
        let j = rest[i..].find("</svg>").unwrap() + i + 6;
        out.push(&rest[i..j]);
        rest = &rest[j..];
    }
    out
}

#[test]
fn every_dashboard_renders_with_data_in_both_languages() {
    let ds = dashboards();
    for d in &ds {
        for lang in [Lang::En, Lang::Es] {
            let c = ctx(d, &ds, lang);
            let data = synthetic(d, &c);
            let html = render_dashboard(d, &data, &c);
            // VIGIA_REPORT_DUMP=dir writes the pages for a look in a browser.
            if let Ok(dir) = std::env::var("VIGIA_REPORT_DUMP") {
                let path = PathBuf::from(dir).join(format!("{}-{}.html", d.name, lang.code()));
                std::fs::write(path, &html).unwrap();
            }
            assert!(html.starts_with("<!doctype html>"));
            assert!(html.contains(&format!("<html lang=\"{}\">", lang.code())));
            assert!(check_balanced(&html) > 20);
            // the only scripts are ours: the strings and the page script
            assert_eq!(html.matches("<script").count(), 2, "{}", d.name);
            assert!(!html.contains(EVIL));
            for svg in svgs(&html) {
                roxmltree::Document::parse(svg)
                    .unwrap_or_else(|e| panic!("{}: {e}\n{svg}", d.name));
                for bad in ["NaN", "inf"] {
                    assert!(!svg.contains(bad));
                }
            }
            assert!(html.contains(t(lang, Key::TimeRange)));
            assert!(html.contains(t(lang, Key::Apply)));
            for p in d.panels() {
                let inner = render_panel(p, &data, &c);
                assert!(!inner.trim().is_empty(), "{}/{}", d.name, p.id);
                assert!(
                    !inner.contains("class=\"empty\""),
                    "{}/{} empty with data: {inner}",
                    d.name,
                    p.id
                );
                assert!(!inner.contains("class=\"no-data\""), "{}/{}", d.name, p.id);
                assert!(!inner.contains(EVIL));
                check_balanced(&inner);
                assert!(html.contains(&format!("data-panel=\"{}\"", p.id)));
            }
        }
    }
}

#[test]
fn panels_without_data_say_so() {
    let ds = dashboards();
    for d in &ds {
        for lang in [Lang::En, Lang::Es] {
            let c = ctx(d, &ds, lang);
            let data = DashboardData::default();
            check_balanced(&render_dashboard(d, &data, &c));
            for p in d.panels() {
                let inner = render_panel(p, &data, &c);
                let said = [Key::NoData, Key::NoAlerts, Key::NoAnomalies]
                    .iter()
                    .any(|k| inner.contains(t(lang, *k)));
                assert!(said, "{}/{}: {inner}", d.name, p.id);
            }
        }
    }
}

#[test]
fn query_errors_are_shown() {
    let ds = dashboards();
    let d = ds.iter().find(|d| d.name == "infrastructure").unwrap();
    let c = ctx(d, &ds, Lang::Es);
    let mut data = DashboardData::default();
    data.set("latency_p95", 0, QueryResult::Error(format!("bad {EVIL}")));
    let p = d.panel("latency_p95").unwrap();
    let inner = render_panel(p, &data, &c);
    assert!(inner.contains("La consulta ha fallado"));
    assert!(inner.contains("role=\"alert\""));
    assert!(!inner.contains(EVIL));
}

#[test]
fn alerts_have_actions_and_filters() {
    let ds = dashboards();
    let d = ds.iter().find(|d| d.name == "alerts").unwrap();
    let c = ctx(d, &ds, Lang::En);
    let data = synthetic(d, &c);
    let active = render_panel(d.panel("active").unwrap(), &data, &c);
    let doc_rows = active.matches("<tr data-fingerprint").count();
    assert_eq!(doc_rows, 2, "firing and pending");
    // Only the firing alert has actions: pending ones are not in alert routing yet.
    assert_eq!(active.matches("data-action=\"ack\"").count(), 1);
    assert_eq!(active.matches("data-action=\"resolve\"").count(), 1);
    assert!(active.contains("<button type=\"button\""));
    // fingerprints are attribute-escaped
    assert!(active.contains("data-fp=\"fp0&quot;&gt;&lt;x\""));
    let resolved = render_panel(d.panel("resolved").unwrap(), &data, &c);
    assert_eq!(resolved.matches("<tr data-fingerprint").count(), 1);
    assert!(!resolved.contains("data-action"));
    assert!(resolved.contains("Resolved"));
    let ack = render_panel(d.panel("acknowledged").unwrap(), &data, &c);
    assert!(ack.contains("Acknowledged by: ana"));
    // state is shown as text, not only colour
    let c_es = ctx(d, &ds, Lang::Es);
    let es = render_panel(d.panel("active").unwrap(), &data, &c_es);
    assert!(es.contains("Activa") && es.contains("Pendiente") && es.contains("Reconocer"));
}

#[test]
fn kpi_cards_show_value_target_status_trend_and_benchmark() {
    let json = r#"{"name": "response_time", "title": "Response time (p95)", "group": "system", "unit": "seconds",
      "value": 0.25, "target": 0.2, "direction": "lower", "attainment": 0.8, "status": "warning",
      "previous": 0.5, "trend": -0.5, "benchmarkPosition": 0.625, "industryAverage": 0.5, "topPerformers": 0.1,
      "error": null}"#;
    let k: KpiData = serde_json::from_str(json).unwrap();
    assert_eq!(k.benchmark_position, Some(0.625));
    let ds = dashboards();
    let d = ds.iter().find(|d| d.name == "infrastructure").unwrap();
    let c = ctx(d, &ds, Lang::En);
    let data = DashboardData {
        kpis: vec![k],
        ..Default::default()
    };
    let html = render_panel(d.panel("kpi_system").unwrap(), &data, &c);
    assert!(html.contains(">250 ms<"), "{html}");
    assert!(html.contains("Target: 200 ms"));
    assert!(html.contains("Warning"));
    assert!(html.contains("80.0 %"));
    assert!(html.contains("▼") && html.contains("down 50.0 %"));
    // lower is better: going down is good (green)
    assert!(html.contains("color:#15803d\" aria-hidden=\"true\">▼"));
    assert!(
        html.contains("Benchmark: between industry average and top performers (0.6"),
        "{html}"
    );
    assert!(html.contains("industry average <span class=\"nowrap\">500 ms</span>"));
    // the other KPIs of the panel are unknown here
    assert!(html.contains("Unknown KPI"));
    check_balanced(&html);
}

#[test]
fn index_sse_payload_and_language_switch() {
    let ds = dashboards();
    let c = ctx(&ds[0], &ds, Lang::Es);
    let html = render_index(&c);
    check_balanced(&html);
    for d in &ds {
        assert!(html.contains(&format!("href=\"/d/{}?lang=es\"", d.name)));
        assert!(html.contains(&d.title.es));
    }
    let ev = panel_event("funnel", "<p>\"x\"</p>");
    let v: serde_json::Value = serde_json::from_str(&ev).unwrap();
    assert_eq!(v["id"], "funnel");
    assert_eq!(v["html"], "<p>\"x\"</p>");
    let d = &ds[2];
    let c = ctx(d, &ds, Lang::En);
    let html = render_dashboard(d, &DashboardData::default(), &c);
    assert!(html.contains("lang=\"es\" hreflang=\"es\">Español</a>"));
    assert!(
        html.contains("?lang=es&amp;range=24h&amp;var-channel=.%2A"),
        "{html}"
    );
    assert!(html.contains("EventSource"));
    assert!(html.contains("data-dashboard=\"campaign\""));
    assert!(
        legend(
            "{{instance}} / {{ route }}",
            &labels(&[("instance", "a"), ("route", "/r")])
        ) == "a / /r"
    );
    assert_eq!(
        legend("", &labels(&[("__name__", "up"), ("job", "x")])),
        "up{job=\"x\"}"
    );
}

#[test]
fn context_from_request() {
    let ds = dashboards();
    let d = ds.iter().find(|d| d.name == "campaign").unwrap();
    let nav: Vec<NavItem> = ds.iter().map(NavItem::of).collect();
    assert_eq!(
        d.label_value_lookups(),
        vec![("channel", "vigia_registrations_total", "channel")]
    );
    let mut opts = BTreeMap::new();
    opts.insert(
        "channel".to_string(),
        vec!["ads".to_string(), "email".to_string()],
    );
    let mut params = BTreeMap::new();
    params.insert("range".to_string(), "1h".to_string());
    params.insert("var-channel".to_string(), "ads".to_string());
    let c = PageContext::from_request(
        Some(d),
        &params,
        Some("es-ES,es;q=0.9"),
        NOW,
        nav.clone(),
        opts.clone(),
    );
    assert_eq!(c.lang, Lang::Es);
    assert_eq!((c.range.start, c.range.end), (NOW - 3600.0, NOW));
    assert_eq!(c.range_param, "1h");
    assert_eq!(c.variables["channel"], "ads");
    // bad values fall back: default range, All, lang parameter wins over the header
    params.insert("range".to_string(), "999y".to_string());
    params.insert("var-channel".to_string(), "\"}) or up".to_string());
    params.insert("lang".to_string(), "en".to_string());
    let c = PageContext::from_request(Some(d), &params, Some("es"), NOW, nav, opts);
    assert_eq!(c.lang, Lang::En);
    assert_eq!(c.range_param, "7d");
    assert_eq!(c.range.duration(), 7.0 * 86400.0);
    assert_eq!(c.variables["channel"], ALL_VALUE);
}

#[test]
fn anomaly_windows_are_drawn_on_time_series_of_their_metric() {
    let ds = dashboards();
    let d = ds.iter().find(|d| d.name == "infrastructure").unwrap();
    let mut c = ctx(d, &ds, Lang::En);
    c.range = TimeRange::ending_at(NOW, 6.0 * 3600.0);
    let mut data = synthetic(d, &c);
    data.anomalies[0].start = NOW - 3600.0;
    let mem = render_panel(d.panel("memory_available").unwrap(), &data, &c);
    assert_eq!(mem.matches("class=\"band\"").count(), 1, "{mem}");
    let cpu = render_panel(d.panel("cpu").unwrap(), &data, &c);
    assert_eq!(cpu.matches("class=\"band\"").count(), 0);
}

#[test]
fn firing_spans_of_named_alerts_are_drawn() {
    let ds = dashboards();
    let d = ds.iter().find(|d| d.name == "infrastructure").unwrap();
    let c = ctx(d, &ds, Lang::En);
    let mut data = synthetic(d, &c);
    for a in &mut data.alerts {
        a.labels
            .insert("alertname".into(), "HttpErrorRatioHigh".into());
    }
    // resolved without an end time is not drawn
    let html = render_panel(d.panel("error_ratio").unwrap(), &data, &c);
    assert_eq!(
        html.matches("class=\"band\"").count(),
        2,
        "firing and acknowledged"
    );
    data.alerts[3].ends_at = Some(NOW - 300.0);
    let html = render_panel(d.panel("error_ratio").unwrap(), &data, &c);
    assert_eq!(html.matches("class=\"band\"").count(), 3);
    assert!(html.contains("Alert firing"));
    let other = render_panel(d.panel("latency_p95").unwrap(), &data, &c);
    assert_eq!(other.matches("class=\"band\"").count(), 0);
}

#[test]
fn rendering_is_deterministic() {
    let ds = dashboards();
    for d in &ds {
        let c = ctx(d, &ds, Lang::Es);
        let data = synthetic(d, &c);
        assert_eq!(
            render_dashboard(d, &data, &c),
            render_dashboard(d, &data, &c)
        );
    }
}

#[test]
fn element_ids_are_unique_on_every_page() {
    let ds = dashboards();
    for d in &ds {
        let c = ctx(d, &ds, Lang::En);
        let html = render_dashboard(d, &synthetic(d, &c), &c);
        let mut seen = std::collections::BTreeSet::new();
        for part in html.split(" id=\"").skip(1) {
            let id = &part[..part.find('"').unwrap()];
            assert!(seen.insert(id.to_string()), "{}: duplicate id {id}", d.name);
        }
        assert!(seen.len() > 5);
    }
}
