//! End-to-end alerting tests: the real `vigia` binary next to Debian's `prometheus-alertmanager`
//! 0.25 and `amtool`, with a loopback HTTP sink standing in for webhook receivers.
#![allow(clippy::disallowed_methods)] // tests read answers of servers they started on loopback
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use serde_json::{Value as J, json};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use util::*;

/// A vigia configuration whose routing tree sends everything to a webhook at `sink/<path>`,
/// grouping by alertname with short timers.
fn webhook_config(sink: &str, extra: &str) -> String {
    format!(
        "alerting:\n  route:\n    receiver: hook\n    group_by: [alertname]\n    group_wait: 1s\n    group_interval: 2s\n    repeat_interval: 1h\n  receivers:\n    - name: hook\n      webhook_configs:\n        - url: '{sink}/vigia'\n          send_resolved: true\n{extra}"
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn post_json(url: &str, body: &J) -> reqwest::blocking::Response {
    client().post(url).json(body).send().unwrap()
}

fn amtool(url: &str, args: &[&str]) -> std::process::Output {
    let bin = real_binary("amtool").unwrap();
    Command::new(bin)
        .args(args)
        .arg(format!("--alertmanager.url={url}"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The JSON "shape": object keys (recursively) and array element shapes, values dropped.
fn shape(v: &J) -> J {
    match v {
        J::Object(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        J::Array(a) => J::Array(a.iter().map(shape).collect()),
        J::String(_) => json!("string"),
        J::Number(_) => json!("number"),
        J::Bool(_) => json!("bool"),
        J::Null => J::Null,
    }
}

/// Starts Debian's Alertmanager with `config` on an ephemeral port; waits until ready.
fn start_alertmanager(bin: &Path, dir: &Path, config: &str) -> (Proc, String) {
    let cfg = write(dir, "am.yml", config);
    let port = free_port();
    let am = Proc(
        Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.path={}", dir.join("am").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let url = format!("http://127.0.0.1:{port}");
    let ready = wait_for(Duration::from_secs(30), || {
        client()
            .get(format!("{url}/-/ready"))
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    });
    assert!(ready.is_some(), "alertmanager starts");
    (am, url)
}

#[test]
fn amtool_and_the_v2_api_work_against_vigia() {
    if real_binary("amtool").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start();
    let cfg = write(
        dir.path(),
        "vigia.yaml",
        &webhook_config(
            &sink.url,
            "web:\n  external_url: 'https://vigia.example.com/'\n",
        ),
    );
    let v = Vigia::start(
        &dir.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );

    // amtool adds an alert; vigia routes it to the webhook.
    let out = amtool(
        &v.url,
        &[
            "alert",
            "add",
            "DiskFull",
            "instance=web-3",
            "severity=high",
            "--annotation=summary=disk almost full",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Listed once routed (the dispatcher ticks every second).
    let listed = wait_for(Duration::from_secs(10), || {
        let out = amtool(&v.url, &["alert", "query", "-o", "json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j: J = serde_json::from_slice(&out.stdout).ok()?;
        j.as_array().filter(|a| !a.is_empty()).map(|_| j.clone())
    })
    .expect("amtool lists the alert");
    assert_eq!(listed[0]["labels"]["alertname"], "DiskFull", "{listed}");
    assert_eq!(listed[0]["receivers"][0]["name"], "hook", "{listed}");
    let hook = wait_for(Duration::from_secs(20), || {
        sink.at("/vigia").into_iter().next()
    })
    .expect("the webhook receives the alert");
    let body = hook.json();
    assert_eq!(body["version"], "4", "{body}");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "hook");
    assert_eq!(body["groupLabels"]["alertname"], "DiskFull");
    assert_eq!(body["externalURL"], "https://vigia.example.com");
    assert_eq!(
        body["alerts"][0]["annotations"]["summary"],
        "disk almost full"
    );

    // A silence from amtool hides the alert from the default query and is listed.
    let out = amtool(
        &v.url,
        &[
            "silence",
            "add",
            "alertname=DiskFull",
            "--comment=maintenance",
            "--author=ops",
            "--duration=1h",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(!id.is_empty());
    let out = amtool(&v.url, &["silence", "query", "-o", "json"]);
    let silences: J = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(silences[0]["id"], id.as_str(), "{silences}");
    assert_eq!(silences[0]["createdBy"], "ops");
    assert_eq!(silences[0]["status"]["state"], "active");
    let silenced = wait_for(Duration::from_secs(10), || {
        let out = amtool(&v.url, &["alert", "query", "-o", "json"]);
        let j: J = serde_json::from_slice(&out.stdout).ok()?;
        j.as_array().filter(|a| a.is_empty()).map(|_| ())
    });
    assert!(
        silenced.is_some(),
        "a silenced alert is not in the default query"
    );
    let (_, all) = v.get_json("/api/v2/alerts?silenced=true");
    assert_eq!(all[0]["status"]["state"], "suppressed", "{all}");
    assert_eq!(all[0]["status"]["silencedBy"][0], id.as_str(), "{all}");
    let out = amtool(&v.url, &["silence", "expire", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, s) = v.get_json(&format!("/api/v2/silence/{id}"));
    assert_eq!(s["status"]["state"], "expired", "{s}");

    // Bad input gets the error envelope.
    let r = client()
        .post(format!("{}/api/v2/alerts", v.url))
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let j: J = r.json().unwrap();
    assert_eq!(j["status"], "error");
    assert_eq!(j["errorType"], "bad_data");
    let (code, j) = v.get_json("/api/v2/alerts?filter=%7Bbroken");
    assert_eq!(code, 400, "{j}");
    assert_eq!(v.stop(), Some(0));
}

#[test]
fn ack_resolve_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start();
    let extra = "escalations:\n  - name: fast\n    matchers: ['severity=\"critical\"']\n    levels:\n      - after: 2s\n        severity: critical\n        receivers: [oncall]\n      - after: 4s\n        receivers: [oncall]\n";
    let mut text = webhook_config(&sink.url, "");
    text = text.replace(
        "  receivers:\n",
        &format!(
            "  receivers:\n    - name: oncall\n      webhook_configs:\n        - url: '{}/oncall'\n",
            sink.url
        ),
    );
    text.push_str(extra);
    let cfg = write(dir.path(), "vigia.yaml", &text);
    let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
        .args(["check", "config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = Vigia::start(
        &dir.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    let alert = |name: &str, sev: &str| {
        json!([{"labels": {"alertname": name, "severity": sev, "instance": "web-1"},
                "annotations": {"summary": format!("{name} on web-1")}}])
    };
    for (name, sev) in [("ErrorsHigh", "critical"), ("LatencyHigh", "critical")] {
        let r = post_json(&format!("{}/api/v2/alerts", v.url), &alert(name, sev));
        assert_eq!(r.status().as_u16(), 200);
    }
    let (_, alerts) = v.get_json("/api/v2/alerts");
    let fp = |name: &str| {
        alerts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["labels"]["alertname"] == name)
            .unwrap()["fingerprint"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (errors, latency) = (fp("ErrorsHigh"), fp("LatencyHigh"));

    // Acknowledge one: it does not escalate; the other escalates twice.
    let r = post_json(
        &format!("{}/api/v1/alerts/{errors}/ack", v.url),
        &json!({"note": "looking at it"}),
    );
    assert_eq!(r.status().as_u16(), 200);
    let j: J = r.json().unwrap();
    assert_eq!(j["data"]["by"], "anonymous", "{j}");
    assert_eq!(
        j["data"]["alert"]["vigia"]["ack"]["note"], "looking at it",
        "{j}"
    );
    let escalated = wait_for(Duration::from_secs(30), || {
        let levels: BTreeSet<u64> = sink
            .at("/oncall")
            .iter()
            .filter_map(|r| r.json()["escalation"]["level"].as_u64())
            .collect();
        (levels.len() >= 2).then_some(levels)
    })
    .expect("two escalation levels reach the on-call receiver");
    assert_eq!(escalated, BTreeSet::from([1, 2]));
    for r in sink.at("/oncall") {
        let b = r.json();
        let names: Vec<&str> = b["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a["labels"]["alertname"].as_str())
            .collect();
        assert_eq!(
            names,
            ["LatencyHigh"],
            "the acknowledged alert never escalates: {b}"
        );
    }

    // Resolve by hand: a resolved notification goes out, and the note is in the history.
    let r = post_json(
        &format!("{}/api/v1/alerts/{latency}/resolve", v.url),
        &json!({"note": "rolled back the release"}),
    );
    assert_eq!(r.status().as_u16(), 200);
    let resolved = wait_for(Duration::from_secs(20), || {
        sink.at("/vigia").into_iter().find(|r| {
            let b = r.json();
            b["status"] == "resolved" && b["alerts"][0]["labels"]["alertname"] == "LatencyHigh"
        })
    });
    assert!(resolved.is_some(), "a manual resolve notifies");
    // Every notification is also in the in-app feed, escalations marked.
    let (_, feed) = v.get_json("/api/v1/notifications?limit=1000");
    let entries = feed["data"].as_array().unwrap();
    assert!(entries.len() >= 4, "{feed}");
    assert!(
        entries
            .iter()
            .any(|e| e["notification"]["escalation"]["level"] == 2),
        "{feed}"
    );
    let seq = entries[0]["seq"].as_u64().unwrap();
    let (_, later) = v.get_json(&format!("/api/v1/notifications?after={seq}"));
    assert_eq!(later["data"].as_array().unwrap().len(), entries.len() - 1);
    let (code, _) = v.get_json("/api/v1/notifications?after=x");
    assert_eq!(code, 400);
    let (_, h) = v.get_json(&format!("/api/v1/alerts/history?fingerprint={latency}"));
    let kinds: Vec<&str> = h["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for k in [
        "firing",
        "notified",
        "delivery",
        "escalated",
        "manual_resolve",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let note = h["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "manual_resolve")
        .unwrap();
    assert_eq!(note["author"], "anonymous", "{note}");
    assert_eq!(note["note"], "rolled back the release", "{note}");

    // Unknown fingerprints and malformed ones are errors in the envelope.
    let r = post_json(
        &format!("{}/api/v1/alerts/0123456789abcdef/ack", v.url),
        &json!({"note": "x"}),
    );
    assert_eq!(r.status().as_u16(), 404);
    let r = post_json(
        &format!("{}/api/v1/alerts/nothex/ack", v.url),
        &json!({"note": "x"}),
    );
    assert_eq!(r.status().as_u16(), 400);
    let r = post_json(
        &format!("{}/api/v1/alerts/{errors}/ack", v.url),
        &json!({"nope": 1}),
    );
    assert_eq!(r.status().as_u16(), 400);

    // History survives a restart.
    assert_eq!(v.stop(), Some(0));
    let v = Vigia::start(
        &dir.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    let (_, h2) = v.get_json(&format!("/api/v1/alerts/history?fingerprint={latency}"));
    // Everything seen before the restart is still there, in order (deliveries finishing just
    // before the stop may have added entries after it).
    let (before, after) = (
        h["data"].as_array().unwrap(),
        h2["data"].as_array().unwrap(),
    );
    assert!(
        after.len() >= before.len() && after[..before.len()] == before[..],
        "history is durable:\nbefore {before:?}\nafter {after:?}"
    );
    let (_, a) = v.get_json("/api/v2/alerts");
    let acked = a
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["fingerprint"] == errors.as_str())
        .unwrap();
    assert_eq!(
        acked["vigia"]["ack"]["by"], "anonymous",
        "ack is durable: {acked}"
    );
    assert_eq!(v.stop(), Some(0));
}

#[test]
fn webhook_payload_has_alertmanagers_structure() {
    let Some(am_bin) = real_binary("prometheus-alertmanager") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start();
    // The same Alertmanager configuration for both, only the webhook path differs.
    let am_yaml = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: '{}/am'\n        send_resolved: true\n",
        sink.url
    );
    let (am, am_url) = start_alertmanager(&am_bin, dir.path(), &am_yaml);
    let cfg = write(dir.path(), "vigia.yaml", &webhook_config(&sink.url, ""));
    let v = Vigia::start(
        &dir.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    let alert = json!([{
        "labels": {"alertname": "HttpErrorRatioHigh", "severity": "critical", "job": "web"},
        "annotations": {"summary": "HTTP error ratio at 3%", "description": "More than 2 %"},
        "generatorURL": "http://prometheus.example/graph?g0.expr=x"
    }]);
    assert_eq!(
        post_json(&format!("{am_url}/api/v2/alerts"), &alert)
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        post_json(&format!("{}/api/v2/alerts", v.url), &alert)
            .status()
            .as_u16(),
        200
    );
    let both = wait_for(Duration::from_secs(30), || {
        let a = sink.at("/am").into_iter().next()?;
        let b = sink.at("/vigia").into_iter().next()?;
        Some((a.json(), b.json()))
    })
    .expect("both deliver the webhook");
    let (am_body, vigia_body) = both;
    let mut vigia_shape = shape(&vigia_body);
    // vigia's own additions are allowed on top of Alertmanager's structure.
    if let Some(m) = vigia_shape.as_object_mut() {
        m.remove("escalation");
    }
    assert_eq!(
        shape(&am_body),
        vigia_shape,
        "\nAM:    {am_body}\nvigia: {vigia_body}"
    );
    for key in [
        "version",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
    ] {
        assert_eq!(am_body[key], vigia_body[key], "{key}");
    }
    let (a, b) = (&am_body["alerts"][0], &vigia_body["alerts"][0]);
    for key in [
        "status",
        "labels",
        "annotations",
        "generatorURL",
        "fingerprint",
        "endsAt",
    ] {
        assert_eq!(a[key], b[key], "alerts[0].{key}");
    }
    assert_eq!(
        am_body["groupKey"]
            .as_str()
            .map(|k| k.contains("alertname=\"HttpErrorRatioHigh\"")),
        Some(true)
    );
    assert_eq!(
        am_body["groupKey"], vigia_body["groupKey"],
        "same group key"
    );
    drop(am);
    assert_eq!(v.stop(), Some(0));
}

#[test]
fn forwards_alerts_to_a_real_alertmanager() {
    let Some(am_bin) = real_binary("prometheus-alertmanager") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_am, am_url) = start_alertmanager(
        &am_bin,
        dir.path(),
        "route:\n  receiver: none\nreceivers:\n  - name: none\n",
    );
    let cfg = write(
        dir.path(),
        "vigia.yaml",
        &format!("notify:\n  alertmanagers:\n    - url: '{am_url}'\n      resend_interval: 2s\n"),
    );
    let v = Vigia::start(
        &dir.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    let r = post_json(
        &format!("{}/api/v2/alerts", v.url),
        &json!([{"labels": {"alertname": "Forwarded", "severity": "low"}}]),
    );
    assert_eq!(r.status().as_u16(), 200);
    let got = wait_for(Duration::from_secs(30), || {
        let j: J = client()
            .get(format!("{am_url}/api/v2/alerts"))
            .send()
            .ok()?
            .json()
            .ok()?;
        j.as_array()?
            .iter()
            .find(|a| a["labels"]["alertname"] == "Forwarded")
            .cloned()
    })
    .expect("the external Alertmanager holds the forwarded alert");
    assert_eq!(got["labels"]["severity"], "low");
    assert_eq!(v.stop(), Some(0));
}

#[test]
fn shipped_routing_tree_matches_amtool() {
    let Some(amtool) = real_binary("amtool") else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let example = root.join("examples/alerting.yaml");
    let bin = env!("CARGO_BIN_EXE_vigia");
    let out = Command::new(bin)
        .args(["check", "config"])
        .arg(&example)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The Alertmanager part alone (as JSON, which is YAML) for amtool.
    let text = std::fs::read_to_string(&example).unwrap();
    let whole: J = serde_saphyr::from_str(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let am_part = write(dir.path(), "am.yml", &whole["alerting"].to_string());
    let out = Command::new(&amtool)
        .args(["check-config"])
        .arg(&am_part)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let cases: &[&[&str]] = &[
        &["alertname=HttpErrorRatioHigh", "severity=critical"],
        &["alertname=PredictedAttendanceLow", "severity=high"],
        &["alertname=RegistrationsLow", "severity=high"],
        &["alertname=EmailBounceRatioHigh", "severity=medium"],
        &["alertname=ConversionRatioHigh", "severity=info"],
        &["alertname=EngagementRatioLow", "severity=warning"],
        &["alertname=NodeDown", "severity=page"],
        &["alertname=Whatever"],
    ];
    for labels in cases {
        let am = Command::new(&amtool)
            .args(["config", "routes", "test"])
            .arg(format!("--config.file={}", am_part.display()))
            .args(*labels)
            .output()
            .unwrap();
        let ours = Command::new(bin)
            .args(["test", "routes", "--config"])
            .arg(&example)
            .args(*labels)
            .output()
            .unwrap();
        assert!(ours.status.success());
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout).trim(),
            String::from_utf8_lossy(&am.stdout).trim(),
            "routing of {labels:?}"
        );
    }
}

#[test]
fn undelivered_notifications_survive_a_restart_and_arrive_once() {
    let dir = tempfile::tempdir().unwrap();
    // The receiver is down: nothing listens on this port yet.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let cfg = write(dir.path(), "vigia.yaml", &webhook_config(&url, ""));
    let data = dir.path().join("data");
    let v = Vigia::start(&data, &["--config", cfg.to_str().unwrap()]);
    let r = post_json(
        &format!("{}/api/v2/alerts", v.url),
        &json!([{"labels": {"alertname": "WhileDown", "severity": "high"}}]),
    );
    assert_eq!(r.status().as_u16(), 200);
    // Wait until the notification sits in the outbox (a failed attempt is recorded).
    let queued = wait_for(Duration::from_secs(30), || {
        let m = client()
            .get(format!("{}/metrics", v.url))
            .send()
            .ok()?
            .text()
            .ok()?;
        m.lines()
            .find(|l| l.starts_with("vigia_notification_queue_length"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<f64>().ok())
            .filter(|n| *n >= 1.0)
    });
    assert!(queued.is_some(), "the notification waits in the outbox");
    assert_eq!(v.stop(), Some(0));
    // Receiver back, vigia restarted: delivered, exactly once.
    let sink = Sink::start_on(port);
    let v = Vigia::start(&data, &["--config", cfg.to_str().unwrap()]);
    let got = wait_for(Duration::from_secs(60), || {
        sink.at("/vigia").into_iter().next()
    });
    assert!(got.is_some(), "delivered after the restart");
    std::thread::sleep(Duration::from_secs(4));
    let firing: Vec<_> = sink
        .at("/vigia")
        .into_iter()
        .filter(|r| r.json()["status"] == "firing")
        .collect();
    assert_eq!(firing.len(), 1, "exactly once: {firing:?}");
    assert_eq!(v.stop(), Some(0));
}

#[test]
fn bad_routing_config_is_located_and_the_running_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start();
    let good = webhook_config(&sink.url, "");
    let cfg = write(dir.path(), "vigia.yaml", &good);
    let v = Vigia::start(
        &dir.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    // An unknown field inside a receiver (line 12), and a route to an undefined receiver.
    let typo = good.replace("send_resolved: true", "send_resolvd: true");
    let undefined = good.replace("    receiver: hook\n", "    receiver: nobody\n");
    for (bad, needle) in [
        (&typo, "vigia.yaml:12:11: unknown field `send_resolvd`"),
        (&undefined, "nobody"),
    ] {
        std::fs::write(&cfg, bad).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_vigia"))
            .args(["check", "config"])
            .arg(&cfg)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(text.contains(needle), "{needle} in {text}");
        let r = client().post(format!("{}/-/reload", v.url)).send().unwrap();
        assert_eq!(r.status().as_u16(), 500);
        let j: J = r.json().unwrap();
        assert!(
            j["error"].as_str().unwrap().contains(needle),
            "{needle} in {j}"
        );
    }
    // The running routing still delivers.
    let r = post_json(
        &format!("{}/api/v2/alerts", v.url),
        &json!([{"labels": {"alertname": "StillRouted"}}]),
    );
    assert_eq!(r.status().as_u16(), 200);
    let got = wait_for(Duration::from_secs(20), || {
        sink.at("/vigia").into_iter().next()
    });
    assert!(got.is_some(), "the previous configuration keeps running");
    assert_eq!(v.stop(), Some(0));
}
