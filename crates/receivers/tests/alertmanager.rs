//! Compatibility with the real Alertmanager 0.25 (Debian `prometheus-alertmanager`): `amtool
//! check-config` accepts the receiver configurations vigia accepts and rejects what vigia rejects,
//! and Alertmanager's webhook payload has the same structure as vigia's. Skipped with a message
//! when the binaries are missing; fails then when VIGIA_REQUIRE_REAL=1.
#![allow(clippy::disallowed_methods)] // tests read answers of servers they started on loopback
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use vigia_receivers::{GlobalConfig, ReceiverConfig, Status};

const AM: &str = "/usr/bin/prometheus-alertmanager";
const AMTOOL: &str = "/usr/bin/amtool";

fn available(bin: &str, test: &str) -> bool {
    if Path::new(bin).exists() {
        return true;
    }
    assert!(
        std::env::var("VIGIA_REQUIRE_REAL").as_deref() != Ok("1"),
        "{bin} is required (VIGIA_REQUIRE_REAL=1)"
    );
    println!("SKIP {test}: {bin} is not installed");
    false
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AmFile {
    #[serde(default)]
    global: Option<GlobalConfig>,
    #[allow(dead_code)]
    route: serde_json::Value,
    receivers: Vec<ReceiverConfig>,
}

fn amtool_accepts(dir: &Path, text: &str) -> bool {
    let p = dir.join("am.yml");
    std::fs::write(&p, text).unwrap();
    Command::new(AMTOOL)
        .arg("check-config")
        .arg(&p)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

fn vigia_accepts(text: &str) -> bool {
    let Ok(f) = serde_saphyr::from_str::<AmFile>(text) else {
        return false;
    };
    let g = f.global.unwrap_or_default();
    vigia_receivers::validate_all(&g, &f.receivers, &Default::default()).is_empty()
}

const GOOD: &str = r#"
global:
  resolve_timeout: 5m
  smtp_from: vigia@example.org
  smtp_smarthost: mail.example.org:587
  smtp_auth_username: vigia
  smtp_auth_password: secret
  slack_api_url: https://hooks.slack.com/services/T/B/X
  opsgenie_api_key: key
route:
  receiver: team
receivers:
  - name: team
    webhook_configs:
      - url: http://127.0.0.1:9/hook
        send_resolved: false
        max_alerts: 10
        http_config:
          authorization: {credentials: token}
    email_configs:
      - to: ops@example.org
        send_resolved: true
        headers: {Subject: 'Alert {{ .CommonLabels.alertname }}'}
        require_tls: true
        tls_config: {insecure_skip_verify: true}
    slack_configs:
      - channel: '#alerts'
        title: '{{ .CommonLabels.alertname }}'
        fields: [{title: Team, value: ops, short: true}]
        actions: [{type: button, text: Runbook, url: 'http://runbooks'}]
    pagerduty_configs:
      - routing_key: abc
        severity: critical
        links: [{href: 'http://x', text: x}]
    opsgenie_configs:
      - responders: [{name: ops, type: team}]
        priority: P2
  - name: ignored-kinds
    pushover_configs:
      - user_key: u
        token: t
    telegram_configs:
      - bot_token: t
        chat_id: 1
"#;

#[test]
fn amtool_and_vigia_agree_on_receiver_configs() {
    if !available(AMTOOL, "amtool_and_vigia_agree_on_receiver_configs") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    assert!(
        amtool_accepts(dir.path(), GOOD),
        "amtool rejects the good config"
    );
    assert!(vigia_accepts(GOOD), "vigia rejects the good config");
    let f: AmFile = serde_saphyr::from_str(GOOD).unwrap();
    assert_eq!(f.receivers[1].warnings().len(), 2);

    let bad = [
        // unknown field
        GOOD.replace("max_alerts: 10", "max_alerts: 10\n        bogus: 1"),
        // misspelt global field
        GOOD.replace("smtp_from:", "smtp_frm:"),
        // email without to
        GOOD.replace("- to: ops@example.org", "- from: x@example.org"),
        // pagerduty without key
        GOOD.replace("routing_key: abc", "client: x"),
        // both slack url forms
        GOOD.replace(
            "slack_api_url: https://hooks.slack.com/services/T/B/X",
            "slack_api_url: https://hooks.slack.com/services/T/B/X\n  slack_api_url_file: /tmp/x",
        ),
        // webhook url without scheme
        GOOD.replace("url: http://127.0.0.1:9/hook", "url: 127.0.0.1/hook"),
        // bad opsgenie responder type
        GOOD.replace("type: team}", "type: robot}"),
    ];
    for (i, b) in bad.iter().enumerate() {
        assert!(
            !amtool_accepts(dir.path(), b),
            "amtool accepts bad config {i}"
        );
        assert!(!vigia_accepts(b), "vigia accepts bad config {i}");
    }
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object().unwrap().keys().cloned().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_payload_has_alertmanagers_structure() {
    if !available(AM, "webhook_payload_has_alertmanagers_structure") {
        return;
    }
    let (sink, url, _srv) = start_sink().await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: {url}/am\n"
    );
    std::fs::write(dir.path().join("am.yml"), cfg).unwrap();
    let _am = Proc(
        Command::new(AM)
            .arg(format!(
                "--config.file={}",
                dir.path().join("am.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let alert = serde_json::json!([{
        "labels": {"alertname": "HighErrors", "instance": "host0", "severity": "high"},
        "annotations": {"summary": "HighErrors on host0"},
        "generatorURL": "http://vigia.test:9090/graph?g0.expr=up"
    }]);
    let post_url = format!("http://127.0.0.1:{port}/api/v2/alerts");
    wait_until("alertmanager up", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    let mut posted = false;
    for _ in 0..100 {
        if let Ok(r) = client
            .post(&post_url)
            .header("content-type", "application/json")
            .body(alert.to_string())
            .send()
            .await
            && r.status().is_success()
        {
            posted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(posted, "could not post to alertmanager");
    wait_until("alertmanager's webhook", || !sink.on_path("/am").is_empty()).await;
    let am = sink.on_path("/am")[0].json();

    let n = notification("hook", "HighErrors", 1, Status::Firing);
    let ours = vigia_receivers::integrations::webhook_payload(&n, 0).unwrap();
    assert_eq!(keys(&ours), keys(&am), "top-level fields");
    assert_eq!(
        keys(&ours["alerts"][0]),
        keys(&am["alerts"][0]),
        "alert fields"
    );
    assert_eq!(am["version"], ours["version"]);
    assert_eq!(am["status"], ours["status"]);
    assert_eq!(am["groupLabels"], ours["groupLabels"]);
    assert_eq!(am["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert!(am["truncatedAlerts"].is_u64() && ours["truncatedAlerts"].is_u64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_alertmanager_receives_forwarded_alerts() {
    if !available(AM, "real_alertmanager_receives_forwarded_alerts") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.path().join("am.yml"),
        "route:\n  receiver: none\nreceivers:\n  - name: none\n",
    )
    .unwrap();
    let _am = Proc(
        Command::new(AM)
            .arg(format!(
                "--config.file={}",
                dir.path().join("am.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("alertmanager up", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    let target: vigia_receivers::AlertmanagerTarget = yaml(&format!(
        "url: http://127.0.0.1:{port}\nresend_interval: 100ms"
    ));
    let fw = vigia_receivers::Forwarder::new(
        &[target],
        &tokio::runtime::Handle::current(),
        std::time::Duration::from_secs(5),
    );
    fw.update(vec![
        alert("DiskFull", "h1", Status::Firing),
        alert("DiskFull", "h2", Status::Firing),
    ]);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let get = format!("http://127.0.0.1:{port}/api/v2/alerts");
    let mut got = serde_json::Value::Null;
    for _ in 0..300 {
        if let Ok(r) = client.get(&get).send().await
            && let Ok(t) = r.text().await
            && let Ok(v) = serde_json::from_str::<serde_json::Value>(&t)
            && v.as_array().is_some_and(|a| a.len() == 2)
        {
            got = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let alerts = got
        .as_array()
        .expect("alertmanager lists the forwarded alerts");
    let instances: BTreeSet<&str> = alerts
        .iter()
        .map(|a| a["labels"]["instance"].as_str().unwrap())
        .collect();
    assert_eq!(instances, BTreeSet::from(["h1", "h2"]));
    for a in alerts {
        assert_eq!(a["labels"]["alertname"], "DiskFull");
        assert_eq!(
            a["annotations"]["summary"],
            format!("DiskFull on {}", a["labels"]["instance"].as_str().unwrap())
        );
        assert_eq!(a["generatorURL"], "http://vigia.test:9090/graph?g0.expr=up");
        assert_eq!(a["status"]["state"], "active");
    }
}
