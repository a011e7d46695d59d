//! The same alert through Debian's real `prometheus-alertmanager` 0.25 and through vigia, with
//! the same webhook receiver configuration: the notifications must agree (group key, labels,
//! fingerprint, status, fields). Skips when the binary is absent, fails then when
//! VIGIA_REQUIRE_REAL=1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigia_notify::{
    Alertmanager, AmConfig, ManualClock, NotificationSink, Options, PostableAlert, api::parse_time,
};
use vigia_receivers::Notification;

const AM: &str = "/usr/bin/prometheus-alertmanager";

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Minimal HTTP/1.1 request over loopback; returns (status, body).
fn http(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map_or("", |x| x.1).to_string();
    Ok((status, body))
}

/// Accepts one POST on `l` and returns its body.
fn receive_one(l: &TcpListener) -> String {
    let (s, _) = l.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let t = line.trim_end();
        if t.is_empty() {
            break;
        }
        if let Some((k, v)) = t.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap();
        }
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).unwrap();
    let mut s = r.into_inner();
    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    String::from_utf8(body).unwrap()
}

struct Capture(std::sync::Mutex<Vec<Notification>>);
impl NotificationSink for Capture {
    fn send(&self, n: Notification) -> Result<(), vigia_receivers::OutboxError> {
        self.0.lock().unwrap().push(n);
        Ok(())
    }
}

#[test]
fn webhook_payload_matches_real_alertmanager() {
    if !Path::new(AM).exists() {
        if std::env::var("VIGIA_REQUIRE_REAL").as_deref() == Ok("1") {
            panic!("VIGIA_REQUIRE_REAL=1 but {AM} is missing");
        }
        println!("SKIP: {AM} not installed (apt-get install prometheus-alertmanager)");
        return;
    }
    let sink = TcpListener::bind("127.0.0.1:0").unwrap();
    let sink_port = sink.local_addr().unwrap().port();
    let cfg_text = format!(
        r#"route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  routes:
    - matchers: ['severity=~"critical|high"', 'team!="db"']
      receiver: hook
      group_by: [alertname, instance]
receivers:
  - name: hook
    webhook_configs: [{{url: 'http://127.0.0.1:{sink_port}/hook', send_resolved: true}}]
"#
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg_file = dir.path().join("am.yml");
    std::fs::write(&cfg_file, &cfg_text).unwrap();
    let port = free_port();
    let _am = Kill(
        Command::new(AM)
            .arg(format!("--config.file={}", cfg_file.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.external-url=http://vigia.test:9090")
            .arg("--cluster.listen-address=")
            .arg("--log.level=error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(http(port, "GET", "/-/ready", ""), Ok((200, _))) {
        assert!(Instant::now() < deadline, "alertmanager did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let now = chrono::Utc::now().timestamp_millis();
    let start = vigia_notify::api::fmt_time(now - 60_000);
    let body = format!(
        r#"[{{"labels":{{"alertname":"Down","instance":"web-1:9100","severity":"critical","team":"web"}},
            "annotations":{{"summary":"web-1 is down","runbook":"r"}},
            "startsAt":"{start}","generatorURL":"http://vigia.test:9090/graph?g0.expr=up"}}]"#
    );
    let (status, _) = http(port, "POST", "/api/v2/alerts", &body).unwrap();
    assert_eq!(status, 200);
    let real: Value = serde_json::from_str(&receive_one(&sink)).unwrap();

    let clock = Arc::new(ManualClock::new(now));
    let cap = Arc::new(Capture(std::sync::Mutex::new(Vec::new())));
    let ours = Alertmanager::new(
        AmConfig::parse(&cfg_text).unwrap(),
        Vec::new(),
        &dir.path().join("vigia"),
        clock.clone(),
        cap.clone(),
        Options {
            external_url: "http://vigia.test:9090".to_string(),
            ..Options::default()
        },
    )
    .unwrap();
    let alerts: Vec<PostableAlert> = serde_json::from_str(&body).unwrap();
    ours.put_alerts(alerts).unwrap();
    ours.tick().unwrap();
    let got = cap.0.lock().unwrap().clone();
    assert_eq!(
        got.len(),
        1,
        "an alert older than group_wait is sent at once"
    );
    let mine = serde_json::to_value(&got[0]).unwrap();

    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.retain(|k| k != "version");
        k.sort();
        k
    };
    assert_eq!(keys(&mine), keys(&real), "top-level fields");
    for k in [
        "receiver",
        "status",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "groupKey",
        "truncatedAlerts",
    ] {
        assert_eq!(mine[k], real[k], "field {k}");
    }
    let (ma, ra) = (&mine["alerts"][0], &real["alerts"][0]);
    assert_eq!(keys(ma), keys(ra), "alert fields");
    for k in [
        "status",
        "labels",
        "annotations",
        "endsAt",
        "generatorURL",
        "fingerprint",
    ] {
        assert_eq!(ma[k], ra[k], "alert field {k}");
    }
    let t = |v: &Value| parse_time(v.as_str().unwrap()).unwrap();
    assert_eq!(t(&ma["startsAt"]), t(&ra["startsAt"]));

    // Resolve it in both: the resolved notifications agree too.
    let ends = vigia_notify::api::fmt_time(chrono::Utc::now().timestamp_millis());
    let body = body.replace(
        "\"generatorURL\"",
        &format!("\"endsAt\":\"{ends}\",\"generatorURL\""),
    );
    let (status, _) = http(port, "POST", "/api/v2/alerts", &body).unwrap();
    assert_eq!(status, 200);
    let real: Value = serde_json::from_str(&receive_one(&sink)).unwrap();
    clock.set(parse_time(&ends).unwrap().unwrap());
    ours.put_alerts(serde_json::from_str(&body).unwrap())
        .unwrap();
    clock.advance(1000);
    ours.tick().unwrap();
    let got = cap.0.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    let mine = serde_json::to_value(&got[1]).unwrap();
    for k in ["status", "groupKey", "groupLabels", "commonLabels"] {
        assert_eq!(mine[k], real[k], "resolved field {k}");
    }
    assert_eq!(mine["status"], "resolved");
    let (ma, ra) = (&mine["alerts"][0], &real["alerts"][0]);
    assert_eq!(ma["status"], ra["status"]);
    assert_eq!(t(&ma["endsAt"]), t(&ra["endsAt"]));
}
