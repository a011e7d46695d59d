//! In-process tests of every HTTP route: the whole component graph in a temporary directory,
//! requests through the router without a socket, JSON answers pinned by snapshots in
//! `testdata/api/` (`VIGIA_BLESS=1 cargo test -p vigia --release --test api` rewrites them).
//! A second test replays the requests Grafana's Prometheus data source sends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "api/harness.rs"]
mod harness;

use harness::{App, check_snapshot, secs};
use serde_json::json;
use vigia_model::{Labels, Sample, SeriesSamples};

/// Configuration of the test process: one rule group (a recording rule and an alert that fires
/// on the loaded data), one KPI, the default in-app receiver.
const CONFIG: &str = r#"
rule_files: ['rules.yaml']
kpis:
  - {name: availability, title: Availability, group: service, unit: ratio, target: 0.99,
     expr: 'avg(demo_up)'}
"#;

const RULES: &str = r#"
groups:
  - name: demo
    interval: 1s
    rules:
      - record: job:demo_up:sum
        expr: sum by (job) (demo_up)
      - alert: DemoInstanceDown
        expr: demo_up == 0
        labels: {severity: high}
        annotations: {summary: '{{ $labels.instance }} is down'}
"#;

/// Starts the app and loads 15 minutes of data at 15 s: `demo_up` for two instances (one down)
/// and a counter rising 10/s, through remote_write.
fn app() -> App {
    let dir = tempfile::tempdir().unwrap();
    let cfg = CONFIG.replace(
        "rule_files: ['rules.yaml']",
        &format!(
            "rule_files: ['{}']",
            dir.path().join("rules.yaml").display()
        ),
    );
    std::fs::write(dir.path().join("rules.yaml"), RULES).unwrap();
    let app = App::start(&cfg);
    std::mem::forget(dir); // the rule file must outlive the app (reload re-reads it)
    let t0 = app.t0;
    let series = |pairs: &[(&str, &str)], f: &dyn Fn(i64) -> f64| SeriesSamples {
        labels: Labels::from_pairs(pairs.iter().copied()),
        samples: (0..=60)
            .map(|k| Sample::new(t0 + k * 15_000, f(k)))
            .collect(),
    };
    let body = vigia_ingest::remote_write::encode(&[
        series(
            &[("__name__", "demo_up"), ("job", "api"), ("instance", "a")],
            &|_| 1.0,
        ),
        series(
            &[("__name__", "demo_up"), ("job", "api"), ("instance", "b")],
            &|_| 0.0,
        ),
        series(
            &[
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("code", "200"),
            ],
            &|k| 1000.0 + 150.0 * k as f64,
        ),
    ]);
    let a = app.call(
        "POST",
        "/api/v1/write",
        Some(("application/x-protobuf", body)),
    );
    assert_eq!(a.status, 204, "{:?}", a.body);
    app
}

/// Waits until the alert rule has fired (the rule group runs every second).
fn wait_for_alert(app: &App) {
    for _ in 0..100 {
        let a = app.get("/api/v1/alerts");
        if a.body["data"]["alerts"]
            .as_array()
            .is_some_and(|l| l.iter().any(|x| x["state"] == "firing"))
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("DemoInstanceDown never fired");
}

#[test]
fn every_route_answers_as_its_snapshot() {
    let app = app();
    let t_end = app.t0 + 60 * 15_000;
    let at = secs(t_end);
    let range = format!("start={}&end={at}&step=60", secs(t_end - 300_000));
    let mut failures = Vec::new();
    let mut check = |name: &str, request: String, answer: harness::Answer| {
        if let Some(f) = check_snapshot(name, &request, &answer, app.t0) {
            failures.push(f);
        }
    };
    // Ingest routes (the loading above used remote_write).
    let text = format!("imported_metric{{job=\"api\"}} 7 {t_end}\n");
    let a = app.call(
        "POST",
        "/api/v1/import/prometheus",
        Some(("text/plain", text.into_bytes())),
    );
    check(
        "import_prometheus",
        "POST /api/v1/import/prometheus".into(),
        a,
    );
    let line = format!("cpu,host=a usage=0.5 {}\n", t_end * 1_000_000);
    let a = app.call("POST", "/write", Some(("text/plain", line.into_bytes())));
    check("write_influx", "POST /write".into(), a);
    let vm = format!(
        "{{\"metric\":{{\"__name__\":\"vm_metric\",\"job\":\"api\"}},\"values\":[3],\"timestamps\":[{t_end}]}}\n"
    );
    let a = app.call(
        "POST",
        "/api/v1/import",
        Some(("application/json", vm.into_bytes())),
    );
    check("import_vm", "POST /api/v1/import".into(), a);
    let ev = json!([{"id": "r1", "timestamp": t_end, "kind": "registration", "channel": "email", "utm_source": "newsletter"}]);
    check(
        "events",
        "POST /api/v1/events".into(),
        app.post_json("/api/v1/events", &ev),
    );

    // Query API.
    let q = format!("/api/v1/query?query=sum%20by%20(job)%20(demo_up)&time={at}");
    check("query", q.replace(&at, "{end}"), app.get(&q));
    let q = format!("/api/v1/query_range?query=rate(http_requests_total%5B1m%5D)&{range}");
    check(
        "query_range",
        q.replace(&range, "start={end-5m}&end={end}&step=60"),
        app.get(&q),
    );
    let q = "/api/v1/format_query?query=sum(rate(x%5B5m%5D))by(job)".to_string();
    check("format_query", q.clone(), app.get(&q));
    let q = "/api/v1/parse_query?query=up%7Bjob%3D%22a%22%7D%20%3E%201".to_string();
    check("parse_query", q.clone(), app.get(&q));
    let q = format!("/api/v1/query_exemplars?query=demo_up&{range}");
    check(
        "query_exemplars",
        q.replace(&range, "start={end-5m}&end={end}&step=60"),
        app.get(&q),
    );

    // Read API.
    let q = "/api/v1/series?match%5B%5D=demo_up".to_string();
    check("series", q.clone(), app.get(&q));
    check("labels", "/api/v1/labels".into(), app.get("/api/v1/labels"));
    let q = "/api/v1/label/job/values".to_string();
    check("label_values", q.clone(), app.get(&q));
    check(
        "metadata",
        "/api/v1/metadata".into(),
        app.get("/api/v1/metadata"),
    );
    check(
        "targets",
        "/api/v1/targets".into(),
        app.get("/api/v1/targets"),
    );
    let q = "/api/v1/export?match%5B%5D=vm_metric".to_string();
    check("export", q.clone(), app.get(&q));
    for s in ["tsdb", "buildinfo", "flags"] {
        let q = format!("/api/v1/status/{s}");
        check(&format!("status_{s}"), q.clone(), app.get(&q));
    }

    // Rules, alerts, KPIs.
    wait_for_alert(&app);
    check("rules", "/api/v1/rules".into(), app.get("/api/v1/rules"));
    check("alerts", "/api/v1/alerts".into(), app.get("/api/v1/alerts"));
    let q = format!("/api/v1/kpis?time={at}");
    check("kpis", q.replace(&at, "{end}"), app.get(&q));
    let q = "/api/v1/anomalies?severity=low".to_string();
    check("anomalies", q.clone(), app.get(&q));

    // Errors share one envelope.
    check(
        "error_bad_query",
        "/api/v1/query?query=sum(".into(),
        app.get("/api/v1/query?query=sum("),
    );
    check(
        "error_unknown_route",
        "/api/v1/nope".into(),
        app.get("/api/v1/nope"),
    );
    let a = app.call("DELETE", "/api/v1/query", None);
    check("error_method", "DELETE /api/v1/query".into(), a);

    failures.extend(alertmanager_routes(&app));
    failures.extend(admin_routes(&app));
    app.stop();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The Alertmanager v2 routes and vigia's acknowledge / resolve / history / feed.
fn alertmanager_routes(app: &App) -> Vec<String> {
    let mut failures = Vec::new();
    let mut check = |name: &str, request: &str, answer: harness::Answer| {
        if let Some(f) = check_snapshot(name, request, &answer, app.t0) {
            failures.push(f);
        }
    };
    let alert = json!([{"labels": {"alertname": "ManualTest", "severity": "low", "instance": "c"},
                        "annotations": {"summary": "posted by hand"}}]);
    check(
        "am_post_alerts",
        "POST /api/v2/alerts",
        app.post_json("/api/v2/alerts", &alert),
    );
    let q = "/api/v2/alerts?filter=alertname%3D%22ManualTest%22";
    // The dispatcher takes posted alerts in at its next tick (every second).
    for _ in 0..50 {
        if app.get(q).body[0]["status"]["state"] == "active" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    check("am_get_alerts", q, app.get(q));
    let fp = app.get(q).body[0]["fingerprint"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let silence = json!({"matchers": [{"name": "alertname", "value": "ManualTest", "isRegex": false, "isEqual": true}],
                         "startsAt": chrono::Utc::now().to_rfc3339(), "endsAt": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(),
                         "createdBy": "ana", "comment": "maintenance"});
    let created = app.post_json("/api/v2/silences", &silence);
    let id = created.body["silenceID"].as_str().unwrap_or("").to_string();
    check("am_post_silence", "POST /api/v2/silences", created);
    check(
        "am_get_silences",
        "/api/v2/silences",
        app.get("/api/v2/silences"),
    );
    let q = format!("/api/v2/silence/{id}");
    check("am_get_silence", "/api/v2/silence/{id}", app.get(&q));
    check(
        "am_delete_silence",
        "DELETE /api/v2/silence/{id}",
        app.call("DELETE", &q, None),
    );
    check("am_status", "/api/v2/status", app.get("/api/v2/status"));
    check(
        "am_receivers",
        "/api/v2/receivers",
        app.get("/api/v2/receivers"),
    );
    let note = json!({"note": "looking into it"});
    let q = format!("/api/v1/alerts/{fp}/ack");
    check(
        "alert_ack",
        "POST /api/v1/alerts/{fp}/ack",
        app.post_json(&q, &note),
    );
    let q = format!("/api/v1/alerts/{fp}/resolve");
    check(
        "alert_resolve",
        "POST /api/v1/alerts/{fp}/resolve",
        app.post_json(&q, &note),
    );
    let q = "/api/v1/alerts/0000000000000000/ack";
    check("alert_ack_unknown", q, app.post_json(q, &note));
    let q = format!("/api/v1/alerts/history?fingerprint={fp}");
    check(
        "alert_history",
        "/api/v1/alerts/history?fingerprint={fp}",
        app.get(&q),
    );
    check(
        "notifications",
        "/api/v1/notifications",
        app.get("/api/v1/notifications?limit=0"),
    );
    failures
}

/// The admin API (enabled in this process) and the operational routes.
fn admin_routes(app: &App) -> Vec<String> {
    let mut failures = Vec::new();
    let mut check = |name: &str, request: &str, answer: harness::Answer| {
        if let Some(f) = check_snapshot(name, request, &answer, app.t0) {
            failures.push(f);
        }
    };
    check("healthy", "/-/healthy", app.get("/-/healthy"));
    check("ready", "/-/ready", app.get("/-/ready"));
    check(
        "reload",
        "POST /-/reload",
        app.call("POST", "/-/reload", None),
    );
    check(
        "admin_flush",
        "POST /api/v1/admin/tsdb/flush",
        app.call("POST", "/api/v1/admin/tsdb/flush", None),
    );
    let q = "/api/v1/admin/tsdb/delete_series?match%5B%5D=imported_metric";
    check(
        "admin_delete_series",
        "POST /api/v1/admin/tsdb/delete_series",
        app.call("POST", q, None),
    );
    let mut snap = app.call("POST", "/api/v1/admin/tsdb/snapshot", None);
    if snap.body["data"]["name"].is_string() {
        snap.body["data"]["name"] = json!("<snapshot name>");
    }
    check("admin_snapshot", "POST /api/v1/admin/tsdb/snapshot", snap);
    // Pages and streams: status and content type only (their bodies are HTML or endless).
    for (name, q) in [("page_overview", "/"), ("page_dashboards", "/dashboards")] {
        let mut a = app.get(q);
        a.body = json!(a.body.as_str().map(|s| s.contains("<html")));
        check(name, q, a);
    }
    let metrics = app.get("/metrics");
    assert_eq!(metrics.status, 200);
    let text = metrics.body.as_str().unwrap_or_default();
    for family in [
        "vigia_build_info",
        "vigia_rule_group_last_duration_seconds",
        "vigia_http_request_duration_seconds",
    ] {
        if !text.contains(family) {
            failures.push(format!("/metrics lacks {family}"));
        }
    }
    failures
}

/// The requests Grafana's Prometheus data source sends (Grafana 10–12: pkg/promlib and the
/// @grafana/prometheus frontend), in the forms it sends them: POST form bodies for queries,
/// GET for metadata, Unix seconds (whole for ranges, fractional for instants), millisecond
/// bounds on the exemplar probe, `limit=40000` on label lookups, and POSTs with an empty body
/// and the parameters in the URL.
#[test]
fn grafana_data_source_requests() {
    let app = app();
    let end = app.t0 + 60 * 15_000;
    let (s, e) = (end / 1000 - 600, end / 1000);
    let ok = |what: &str, a: &harness::Answer| {
        assert_eq!(a.status, 200, "{what}: {:?}", a.body);
        assert_eq!(a.body["status"], "success", "{what}: {:?}", a.body);
    };
    // "Save & test": an instant query of 1+1 at t=4, then the build information.
    let a = app.post_form("/api/v1/query", "query=1%2B1&time=4");
    ok("health check", &a);
    assert_eq!(a.body["data"]["result"], json!([4, "2"]));
    let a = app.get("/api/v1/status/buildinfo");
    ok("buildinfo", &a);
    let version = a.body["data"]["version"].as_str().unwrap_or("");
    assert_eq!(
        version.split('.').count(),
        3,
        "semver for Grafana's version detection"
    );
    assert!(
        a.body["data"].get("features").is_none(),
        "features would mean Mimir"
    );
    // Panels: a range query and an instant query, with Grafana's optional timeout.
    let a = app.post_form(
        "/api/v1/query_range",
        &format!("query=rate(http_requests_total%5B1m%5D)&start={s}&end={e}&step=15&timeout=60s"),
    );
    ok("range", &a);
    assert_eq!(a.body["data"]["resultType"], "matrix");
    assert!(
        !a.body["data"]["result"][0]["values"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let a = app.post_form("/api/v1/query", &format!("query=demo_up&time={e}.123"));
    ok("instant", &a);
    assert_eq!(a.body["data"]["result"].as_array().map(Vec::len), Some(2));
    // The exemplar probe at data source load uses milliseconds; the panel query uses seconds.
    let a = app.get(&format!(
        "/api/v1/query_exemplars?query=test&start={}&end={}",
        s * 1000,
        e * 1000
    ));
    ok("exemplar probe", &a);
    let a = app.post_form(
        "/api/v1/query_exemplars",
        &format!("query=demo_up&start={s}&end={e}"),
    );
    ok("exemplars", &a);
    // Recording rules for the query editor, then the metric browser's lookups.
    let a = app.get("/api/v1/rules");
    ok("rules", &a);
    let rules = &a.body["data"]["groups"][0]["rules"];
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["type"] == "recording" && r["query"].is_string())
    );
    let a = app.get(&format!(
        "/api/v1/label/__name__/values?start={s}&end={e}&limit=40000"
    ));
    ok("metric names", &a);
    assert!(
        a.body["data"]
            .as_array()
            .unwrap()
            .contains(&json!("demo_up"))
    );
    let a = app.get("/api/v1/metadata");
    ok("metadata", &a);
    assert!(a.body["data"].is_object());
    let a = app.call(
        "POST",
        &format!("/api/v1/labels?start={s}&end={e}&limit=40000"),
        None,
    );
    ok("label names (POST, parameters in the URL)", &a);
    assert!(
        a.body["data"]
            .as_array()
            .unwrap()
            .contains(&json!("instance"))
    );
    let a = app.get(&format!(
        "/api/v1/label/instance/values?start={s}&end={e}&limit=40000&match%5B%5D=%7B__name__%3D%22demo_up%22%2Cjob%3D%22api%22%7D"
    ));
    ok("label values with match[]", &a);
    assert_eq!(a.body["data"], json!(["a", "b"]));
    let a = app.get(&format!(
        "/api/v1/series?match%5B%5D=%7B__name__!%3D%22%22%7D&start={s}&end={e}&limit=40000"
    ));
    ok("series", &a);
    assert!(a.body["data"].as_array().unwrap().len() >= 3);
    let a = app.get("/api/v1/label/__name__/values?limit=2");
    ok("limit", &a);
    assert_eq!(a.body["data"].as_array().map(Vec::len), Some(2));
    // Template variables: query_result() at a whole second; alerting's feature discovery.
    let a = app.get(&format!("/api/v1/query?query=count(demo_up)&time={e}"));
    ok("query_result variable", &a);
    ok("flags", &app.get("/api/v1/status/flags"));
    app.stop();
}
