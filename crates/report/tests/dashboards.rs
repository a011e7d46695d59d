//! Loading the shipped dashboards, located errors, and the query list.

#![allow(clippy::unwrap_used, clippy::useless_format)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use vigia_report::dashboard::*;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/dashboards")
}

#[test]
fn every_shipped_dashboard_loads() {
    let ds = Dashboard::load_dir(&examples()).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = ds.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["alerts", "anomalies", "campaign", "infrastructure"]
    );
    // every KPI named by a panel exists in the shipped KPI file
    let kpis = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/kpis/webinar.yaml"),
    )
    .unwrap();
    for d in &ds {
        for k in d.kpi_names() {
            assert!(
                kpis.contains(&format!("name: {k},")),
                "{}: unknown KPI {k}",
                d.name
            );
        }
        assert!(
            !d.title.es.is_empty() && d.title.es != d.title.en,
            "{}",
            d.name
        );
        for p in d.panels() {
            assert_ne!(
                p.title.en, p.title.es,
                "{}/{} lacks a Spanish title",
                d.name, p.id
            );
        }
    }
    let kinds: std::collections::BTreeSet<&str> = ds
        .iter()
        .flat_map(|d| d.panels().map(|p| p.kind.name()))
        .collect();
    assert_eq!(kinds.len(), 7, "every panel kind is shipped: {kinds:?}");
}

#[test]
fn queries_substitute_variables() {
    let d = Dashboard::load_file(&examples().join("campaign.yaml")).unwrap();
    let mut options = BTreeMap::new();
    options.insert(
        "channel".to_string(),
        vec!["ads".to_string(), "email".to_string()],
    );
    let mut sel = BTreeMap::new();
    sel.insert("channel".to_string(), "email".to_string());
    let vars = d.resolve_variables(&sel, &options);
    assert_eq!(vars["channel"], "email");
    let range = TimeRange::ending_at(1_795_460_000.0, 7.0 * 86400.0);
    let qs = d.queries(&vars, &range);
    assert!(qs.iter().all(|q| !q.expr.contains('$')), "{qs:?}");
    let funnel: Vec<_> = qs.iter().filter(|q| q.panel_id == "funnel").collect();
    assert_eq!(funnel.len(), 4);
    assert!(funnel.iter().all(|q| q.kind == QueryKind::Instant));
    assert_eq!(
        funnel[0].expr,
        r#"sum(vigia_registrations_total{channel=~"email"})"#
    );
    assert!(
        qs.iter()
            .any(|q| q.panel_id == "registrations_rate" && q.kind == QueryKind::Range)
    );
    assert!(!qs.iter().any(|q| q.panel_id == "kpi_campaign"));
    // a value that is not an option falls back to All
    sel.insert("channel".to_string(), "\"}) or vector(1) #".to_string());
    assert_eq!(d.resolve_variables(&sel, &options)["channel"], ALL_VALUE);
    // built-ins
    let d = Dashboard::load_file(&examples().join("infrastructure.yaml")).unwrap();
    let qs = d.queries(
        &d.resolve_variables(&BTreeMap::new(), &BTreeMap::new()),
        &TimeRange::ending_at(0.0, 6.0 * 3600.0),
    );
    let q = qs.iter().find(|q| q.panel_id == "request_rate").unwrap();
    assert_eq!(q.expr, "sum by (route) (rate(http_requests_total[8m]))");
}

fn errs(yaml: &str) -> Vec<DashboardError> {
    Dashboard::from_yaml("d.yaml", yaml).unwrap_err().0
}

#[test]
fn errors_are_located() {
    let base = "name: x\ntitle: X\nrows:\n  - panels:\n";
    // unknown kind, at the kind's line
    let e = errs(&format!("{base}      - id: a\n        kind: pie\n"));
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].line, 6);
    assert!(
        e[0].message.contains("unknown panel kind \"pie\""),
        "{}",
        e[0]
    );
    assert!(e[0].to_string().starts_with("d.yaml:6:"));
    // empty expression and unknown variable, each at the expression's line
    let e = errs(&format!(
        "{base}      - id: a\n        kind: timeseries\n        queries:\n          - expr: ''\n          - expr: 'up{{instance=\"$host\"}}'\n"
    ));
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!((e[0].line, e[1].line), (8, 9));
    assert!(e[0].message.contains("empty expression"));
    assert!(e[1].message.contains("unknown variable $host"));
    // bad PromQL
    let e = errs(&format!(
        "{base}      - id: a\n        kind: bar\n        by: x\n        expr: 'sum(('\n"
    ));
    assert!(e[0].message.contains("invalid PromQL"), "{e:?}");
    assert_eq!(e[0].line, 8);
    // unknown field (serde), located
    let e = errs(&format!(
        "{base}      - id: a\n        kind: kpi\n        kpis: [x]\n        colour: red\n"
    ));
    assert_eq!(e[0].line, 8, "{e:?}");
    // duplicate ids, missing fields, bad durations and units: all reported at once
    let e = errs(&format!(
        "name: x\ntitle: X\ntime_range: forever\nrows:\n  - panels:\n      - {{id: a, kind: kpi}}\n      - {{id: a, kind: bar, unit: parsecs, expr: up}}\n      - {{id: f, kind: funnel, steps: [{{label: a, expr: up}}]}}\n"
    ));
    let msgs: Vec<String> = e.iter().map(|e| e.to_string()).collect();
    for want in [
        "invalid duration",
        "lists no KPI",
        "duplicate panel id",
        "unknown unit",
        "`by`",
        "at least 2 steps",
    ] {
        assert!(
            msgs.iter().any(|m| m.contains(want)),
            "{want} not in {msgs:#?}"
        );
    }
    assert!(e.iter().all(|e| e.line > 0), "{msgs:#?}");
    // YAML syntax error
    let e = errs("name: x\ntitle: [\n");
    assert!(e[0].line > 0);
    // a variable defined but its name reused
    let e = errs(&format!(
        "name: x\ntitle: X\nvariables:\n  - {{name: v, custom: [a]}}\n  - {{name: v, custom: [b]}}\nrows:\n  - panels:\n      - {{id: a, kind: alerts}}\n"
    ));
    assert!(e[0].message.contains("duplicate variable"));
    assert_eq!(e[0].line, 5);
}
