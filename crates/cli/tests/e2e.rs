//! End-to-end tests: the real `vigia` binary over HTTP, with real Prometheus components when
//! installed (Debian `prometheus`, `promtool`, `prometheus-node-exporter`).
#![allow(clippy::disallowed_methods)] // tests read answers of servers they started on loopback
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

use std::process::{Command, Stdio};
use std::time::Duration;
use util::*;
use vigia_model::{Labels, Sample, SeriesSamples};

fn series(name: &str, job: &str, samples: &[(i64, f64)]) -> SeriesSamples {
    SeriesSamples {
        labels: Labels::from_pairs([("__name__", name), ("job", job), ("instance", "host-1")]),
        samples: samples.iter().map(|(t, v)| Sample::new(*t, *v)).collect(),
    }
}

fn remote_write(url: &str, body: Vec<u8>) -> reqwest::blocking::Response {
    client()
        .post(format!("{url}/api/v1/write"))
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .send()
        .unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn result_len(v: &serde_json::Value) -> usize {
    v["data"]["result"].as_array().map(|a| a.len()).unwrap_or(0)
}

#[test]
fn remote_write_then_read_api_and_query() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vigia::start(&dir.path().join("data"), &[]);
    let t = now_ms() - 60_000;
    let body = vigia_ingest::remote_write::encode(&[
        series(
            "node_load1",
            "node",
            &[(t, 1.0), (t + 15_000, 2.0), (t + 30_000, 3.0)],
        ),
        series("node_load5", "node", &[(t, 0.5)]),
        series("up", "api", &[(t, 1.0)]),
    ]);
    let r = remote_write(&v.url, body);
    assert_eq!(r.status().as_u16(), 204, "{:?}", r.text());

    let (code, j) = v.get_json("/api/v1/series?match[]=%7Bjob%3D%22node%22%7D");
    assert_eq!(code, 200, "{j}");
    assert_eq!(j["status"], "success");
    assert_eq!(j["data"].as_array().unwrap().len(), 2, "{j}");

    let (_, j) = v.get_json("/api/v1/labels");
    let names: Vec<&str> = j["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|x| x.as_str())
        .collect();
    assert_eq!(names, vec!["__name__", "instance", "job"]);
    let (_, j) = v.get_json("/api/v1/label/job/values");
    assert_eq!(j["data"], serde_json::json!(["api", "node"]));
    let (_, j) = v.get_json("/api/v1/label/__name__/values?match[]=%7Bjob%3D%22node%22%7D");
    assert_eq!(j["data"], serde_json::json!(["node_load1", "node_load5"]));

    // PromQL over what was written.
    let q = format!(
        "/api/v1/query?query=sum(node_load1)&time={}",
        (t + 30_000) as f64 / 1000.0
    );
    let (code, j) = v.get_json(&q);
    assert_eq!(code, 200, "{j}");
    assert_eq!(j["data"]["result"][0]["value"][1], "3", "{j}");
    let q = format!(
        "/api/v1/query_range?query=node_load1&start={}&end={}&step=15",
        t / 1000,
        (t + 30_000) / 1000
    );
    let (code, j) = v.get_json(&q);
    assert_eq!(code, 200, "{j}");
    assert_eq!(j["data"]["resultType"], "matrix");

    // Influx line protocol and JSON import land as ordinary series.
    let r = client()
        .post(format!("{}/write?precision=ms", v.url))
        .body(format!("cpu,host=a usage=0.5,idle=99i {t}\n"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204, "{:?}", r.text());
    let line = format!(
        "{{\"metric\":{{\"__name__\":\"imported\",\"job\":\"vm\"}},\"values\":[1,2],\"timestamps\":[{t},{}]}}\n",
        t + 1000
    );
    let r = client()
        .post(format!("{}/api/v1/import", v.url))
        .body(line)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204, "{:?}", r.text());
    let (_, j) = v.get_json("/api/v1/series?match[]=cpu_usage&match[]=cpu_idle&match[]=imported");
    assert_eq!(j["data"].as_array().unwrap().len(), 3, "{j}");

    // Export returns VictoriaMetrics JSON lines that import again unchanged.
    let exported = client()
        .get(format!("{}/api/v1/export?match[]=imported", v.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        exported.contains("\"imported\"")
            && (exported.contains("[1,2]") || exported.contains("[1.0,2.0]")),
        "{exported}"
    );
    let reimport = client()
        .post(format!("{}/api/v1/import", v.url))
        .body(exported.replace("\"imported\"", "\"reimported\""))
        .send()
        .unwrap();
    assert_eq!(reimport.status().as_u16(), 204);
    let (_, j) = v.get_json(&format!(
        "/api/v1/query?query=reimported&time={}",
        (t + 1000) as f64 / 1000.0
    ));
    assert_eq!(j["data"]["result"][0]["value"][1], "2", "{j}");

    // Self-monitoring sees the ingest.
    let m = client()
        .get(format!("{}/metrics", v.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        m.contains("vigia_samples_ingested_total{protocol=\"remote_write\"} 5"),
        "{m}"
    );
    assert!(m.contains("vigia_tsdb_head_series"), "{m}");
    assert!(
        m.contains("vigia_http_request_duration_seconds_bucket"),
        "{m}"
    );
    assert_eq!(v.stop(), Some(0));
}

#[test]
fn malformed_input_gets_4xx_and_stored_data_is_intact() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vigia::start_env(
        &dir.path().join("data"),
        &[],
        &[("VIGIA_WEB_MAX_BODY_SIZE", "65536")],
    );
    let t = now_ms() - 10_000;
    assert_eq!(
        remote_write(
            &v.url,
            vigia_ingest::remote_write::encode(&[series("keep_me", "x", &[(t, 42.0)])])
        )
        .status()
        .as_u16(),
        204
    );

    let good = vigia_ingest::remote_write::encode(&[series("other", "x", &[(t, 1.0)])]);
    let mut bad_name = series("ok", "x", &[(t, 1.0)]);
    bad_name.labels = Labels::from_pairs([("__name__", "ok"), ("bad-label", "v")]);
    let garbage_proto = {
        let mut enc = snap_compress(&[0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]);
        enc.truncate(enc.len());
        enc
    };
    let c = client();
    let cases: Vec<(&str, reqwest::blocking::RequestBuilder, u16)> = vec![
        (
            "truncated snappy",
            c.post(format!("{}/api/v1/write", v.url))
                .header("Content-Type", "application/x-protobuf")
                .body(good[..good.len() / 2].to_vec()),
            400,
        ),
        (
            "bad protobuf",
            c.post(format!("{}/api/v1/write", v.url))
                .header("Content-Type", "application/x-protobuf")
                .body(garbage_proto),
            400,
        ),
        (
            "wrong content type",
            c.post(format!("{}/api/v1/write", v.url))
                .header("Content-Type", "application/json")
                .body(good.clone()),
            415,
        ),
        (
            "remote write 2.0",
            c.post(format!("{}/api/v1/write", v.url))
                .header(
                    "Content-Type",
                    "application/x-protobuf;proto=io.prometheus.write.v2.Request",
                )
                .body(good.clone()),
            415,
        ),
        (
            "invalid label name",
            c.post(format!("{}/api/v1/write", v.url))
                .header("Content-Type", "application/x-protobuf")
                .body(vigia_ingest::remote_write::encode(&[bad_name])),
            400,
        ),
        (
            "oversized body",
            c.post(format!("{}/api/v1/write", v.url))
                .header("Content-Type", "application/x-protobuf")
                .body(vec![0u8; 200_000]),
            413,
        ),
        (
            "broken line protocol",
            c.post(format!("{}/write", v.url))
                .body("cpu,host=a usage=\n"),
            400,
        ),
        (
            "line protocol without fields",
            c.post(format!("{}/write", v.url)).body("cpu,host=a\n"),
            400,
        ),
        (
            "broken JSON import",
            c.post(format!("{}/api/v1/import", v.url))
                .body("{\"metric\":{\"__name__\":\"x\"},\"values\":[1],\"timestamps\":[]}\n"),
            400,
        ),
        (
            "invalid text format",
            c.post(format!("{}/api/v1/import/prometheus", v.url))
                .body("metric{a=\"b\" 1\n"),
            400,
        ),
        (
            "bad PromQL",
            c.get(format!("{}/api/v1/query?query=sum(", v.url)),
            400,
        ),
        (
            "bad time",
            c.get(format!("{}/api/v1/query?query=up&time=yesterday", v.url)),
            400,
        ),
        (
            "bad selector",
            c.get(format!("{}/api/v1/series?match[]=%7B", v.url)),
            400,
        ),
        (
            "too many points",
            c.get(format!(
                "{}/api/v1/query_range?query=up&start=0&end=100000&step=1",
                v.url
            )),
            400,
        ),
    ];
    for (name, req, want) in cases {
        let r = req.send().unwrap();
        let code = r.status().as_u16();
        let body: serde_json::Value = r.json().unwrap_or_default();
        assert_eq!(code, want, "{name}: {body}");
        assert_eq!(body["status"], "error", "{name}: {body}");
        assert!(
            body["errorType"].is_string() && body["error"].is_string(),
            "{name}: {body}"
        );
    }
    let (_, j) = v.get_json(&format!(
        "/api/v1/query?query=keep_me&time={}",
        t as f64 / 1000.0
    ));
    assert_eq!(j["data"]["result"][0]["value"][1], "42", "{j}");
    let (_, j) = v.get_json("/api/v1/series?match[]=ok");
    assert_eq!(
        j["data"].as_array().map(|a| a.len()),
        Some(0),
        "nothing of a rejected request is stored: {j}"
    );
    let m = client()
        .get(format!("{}/metrics", v.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(m.contains("vigia_ingest_requests_rejected_total"), "{m}");
    assert_eq!(v.stop(), Some(0));
}

fn snap_compress(b: &[u8]) -> Vec<u8> {
    // A valid snappy frame around bytes that are not a valid WriteRequest.
    let mut out = Vec::new();
    // Uncompressed length varint, then a literal.
    out.push(b.len() as u8);
    out.push(((b.len() - 1) as u8) << 2);
    out.extend_from_slice(b);
    out
}

#[test]
fn acknowledged_writes_survive_kill_9_and_graceful_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let t0 = now_ms() - 3_600_000;
    let mut acked = 0usize;
    for round in 0..3 {
        let mut v = Vigia::start(&data, &[]);
        for i in 0..50 {
            let t = t0 + (round * 50 + i) as i64 * 1000;
            let s: Vec<SeriesSamples> = (0..20)
                .map(|k| {
                    series(
                        "crash_metric",
                        &format!("j{k}"),
                        &[(t, (round * 50 + i) as f64)],
                    )
                })
                .collect();
            if remote_write(&v.url, vigia_ingest::remote_write::encode(&s))
                .status()
                .as_u16()
                == 204
            {
                acked += 1;
            }
        }
        if round < 2 {
            let _ = v.child.kill(); // SIGKILL
            let _ = v.child.wait();
        } else {
            assert_eq!(v.stop(), Some(0), "graceful shutdown exits 0");
        }
    }
    assert_eq!(acked, 150);
    let v = Vigia::start(&data, &[]);
    let q = format!(
        "/api/v1/query?query=count_over_time(crash_metric[4h])&time={}",
        (t0 + 200_000) as f64 / 1000.0
    );
    let (_, j) = v.get_json(&q);
    let result = j["data"]["result"].as_array().cloned().unwrap_or_default();
    assert_eq!(result.len(), 20, "{j}");
    for r in result {
        assert_eq!(r["value"][1], "150", "{r}");
    }
}

#[test]
fn config_check_reload_and_bad_config_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("vigia.yaml");
    std::fs::write(&cfg, "storage:\n  retention: 7d\nquery:\n  timeout: 30s\n").unwrap();
    let bin = env!("CARGO_BIN_EXE_vigia");
    let ok = Command::new(bin)
        .args(["check", "config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "storage:\n  retention: soon\nquery:\n  timeout: 30s\n  max_smaples: 3\nextra: 1\n",
    )
    .unwrap();
    let out = Command::new(bin)
        .args(["check", "config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:2:"), "{err}");
    assert!(err.contains("max_smaples"), "{err}");
    assert!(err.contains("extra"), "{err}");

    let v = Vigia::start(
        &dir.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    let (_, j) = v.get_json("/api/v1/status/config");
    assert!(
        j["data"]["yaml"]
            .as_str()
            .unwrap()
            .contains("retention: 7d"),
        "{j}"
    );
    std::fs::write(&cfg, "storage:\n  retention: never\n").unwrap();
    let r = client().post(format!("{}/-/reload", v.url)).send().unwrap();
    assert_eq!(r.status().as_u16(), 500);
    v.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    let (code, j) = v.get_json("/api/v1/status/config");
    assert_eq!(code, 200, "still serving after a bad reload");
    assert!(
        j["data"]["yaml"]
            .as_str()
            .unwrap()
            .contains("retention: 7d"),
        "old config kept: {j}"
    );
    std::fs::write(&cfg, "storage:\n  retention: 9d\n").unwrap();
    assert_eq!(
        client()
            .post(format!("{}/-/reload", v.url))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let (_, j) = v.get_json("/api/v1/status/config");
    assert!(
        j["data"]["yaml"]
            .as_str()
            .unwrap()
            .contains("retention: 9d"),
        "{j}"
    );
    assert!(
        v.log_text().contains("reload failed"),
        "SIGHUP with a bad config is logged"
    );
    assert_eq!(v.stop(), Some(0));
}

#[test]
fn auth_roles_and_secrets_never_leak() {
    let dir = tempfile::tempdir().unwrap();
    let secret_token = "planted-token-0123456789abcdef";
    let password = "planted-password-xyz";
    let scrape_secret = "planted-scrape-credential-42";
    let hash = bcrypt::hash(password, 4).unwrap();
    let cfg = dir.path().join("vigia.yaml");
    std::fs::write(
        &cfg,
        format!(
            "web:\n  users:\n    - username: ana\n      password_hash: \"{hash}\"\n      role: admin\n  tokens:\n    - {{name: grafana, token: '{secret_token}', role: read}}\nscrape_configs:\n  - job_name: guarded\n    scrape_interval: 1s\n    authorization: {{type: Bearer, credentials: {scrape_secret}}}\n    static_configs: [{{targets: ['127.0.0.1:1']}}]\n"
        ),
    )
    .unwrap();
    let v = Vigia::start_env(
        &dir.path().join("data"),
        &["--config", cfg.to_str().unwrap(), "--enable-admin-api"],
        &[("RUST_LOG", "debug")],
    );
    let c = client();
    assert_eq!(
        c.get(format!("{}/-/healthy", v.url))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let r = c.get(format!("{}/api/v1/labels", v.url)).send().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(r.json::<serde_json::Value>().unwrap()["status"], "error");
    assert_eq!(
        c.get(format!("{}/api/v1/labels", v.url))
            .bearer_auth(secret_token)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        c.get(format!("{}/api/v1/labels", v.url))
            .bearer_auth("wrong")
            .send()
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    let body = vigia_ingest::remote_write::encode(&[series("authz", "x", &[(now_ms(), 1.0)])]);
    let w = |req: reqwest::blocking::RequestBuilder| {
        req.header("Content-Type", "application/x-protobuf")
            .body(body.clone())
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(
        w(c.post(format!("{}/api/v1/write", v.url))
            .bearer_auth(secret_token)),
        403,
        "read role cannot write"
    );
    assert_eq!(
        w(c.post(format!("{}/api/v1/write", v.url))
            .basic_auth("ana", Some(password))),
        204
    );
    assert_eq!(
        w(c.post(format!("{}/api/v1/write", v.url))
            .basic_auth("ana", Some("nope"))),
        401
    );
    assert_eq!(
        c.post(format!("{}/api/v1/admin/tsdb/flush", v.url))
            .bearer_auth(secret_token)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        403
    );

    let mut seen = String::new();
    for path in [
        "/api/v1/status/config",
        "/api/v1/status/flags",
        "/metrics",
        "/api/v1/status/runtimeinfo",
    ] {
        seen.push_str(
            &c.get(format!("{}{path}", v.url))
                .basic_auth("ana", Some(password))
                .send()
                .unwrap()
                .text()
                .unwrap(),
        );
    }
    v.signal("HUP");
    std::thread::sleep(Duration::from_millis(300));
    let log = v.log_text();
    for s in [secret_token, password, hash.as_str(), scrape_secret] {
        assert!(
            !seen.contains(s),
            "secret {s:?} leaked into an API response"
        );
        assert!(!log.contains(s), "secret {s:?} leaked into the log");
    }
    assert_eq!(v.stop(), Some(0));
}

#[test]
fn admin_api_flush_delete_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let off = Vigia::start(&dir.path().join("off"), &[]);
    let r = client()
        .post(format!("{}/api/v1/admin/tsdb/flush", off.url))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    drop(off);
    let v = Vigia::start(&dir.path().join("data"), &["--enable-admin-api"]);
    let t = now_ms() - 600_000;
    let s: Vec<SeriesSamples> = (0..10)
        .map(|k| series("flushed", &format!("j{k}"), &[(t, 1.0), (t + 60_000, 2.0)]))
        .collect();
    assert_eq!(
        remote_write(&v.url, vigia_ingest::remote_write::encode(&s))
            .status()
            .as_u16(),
        204
    );
    assert_eq!(
        client()
            .post(format!("{}/api/v1/admin/tsdb/flush", v.url))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    let (_, j) = v.get_json(&format!(
        "/api/v1/query?query=count(flushed)&time={}",
        (t + 60_000) / 1000
    ));
    assert_eq!(
        j["data"]["result"][0]["value"][1], "10",
        "data readable after flush: {j}"
    );
    let r = client()
        .post(format!(
            "{}/api/v1/admin/tsdb/delete_series?match[]=flushed%7Bjob%3D%22j0%22%7D",
            v.url
        ))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let (_, j) = v.get_json(&format!(
        "/api/v1/query?query=count(flushed)&time={}",
        (t + 60_000) / 1000
    ));
    assert_eq!(j["data"]["result"][0]["value"][1], "9", "{j}");
    let r = client()
        .post(format!("{}/api/v1/admin/tsdb/snapshot", v.url))
        .send()
        .unwrap();
    let j: serde_json::Value = r.json().unwrap();
    let name = j["data"]["name"].as_str().unwrap().to_string();
    assert!(v.data_dir.join("snapshots").join(name).is_dir());
}

#[test]
fn promtool_queries_vigia() {
    let Some(promtool) = real_binary("promtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let v = Vigia::start(&dir.path().join("data"), &[]);
    let t = now_ms() - 30_000;
    let body = vigia_ingest::remote_write::encode(&[series("promtool_metric", "pt", &[(t, 7.0)])]);
    assert_eq!(remote_write(&v.url, body).status().as_u16(), 204);
    let out = Command::new(&promtool)
        .args(["query", "series", &v.url, "--match", "promtool_metric"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && s.contains("promtool_metric") && s.contains("job=\"pt\""),
        "{s} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&promtool)
        .args(["query", "labels", &v.url, "job"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("pt"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&promtool)
        .args([
            "query",
            "instant",
            &v.url,
            "promtool_metric * 2",
            "--time",
            &format!("{}", t / 1000 + 1),
        ])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && s.contains("=> 14"),
        "{s} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (from, to) = ((t / 1000 - 30).to_string(), (t / 1000 + 30).to_string());
    let out = Command::new(&promtool)
        .args([
            "query",
            "range",
            &v.url,
            "promtool_metric + 1",
            "--start",
            &from,
            "--end",
            &to,
            "--step",
            "15s",
        ])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && s.contains("8 @["),
        "promtool query range: {s} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn real_prometheus_scrapes_node_exporter_and_remote_writes_to_vigia() {
    let Some(prom) = real_binary("prometheus") else {
        return;
    };
    let Some(nodeexp) = real_binary("prometheus-node-exporter") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let v = Vigia::start(&dir.path().join("vigia"), &[]);
    let ne_port = free_port();
    let ne = Proc(
        Command::new(&nodeexp)
            .arg(format!("--web.listen-address=127.0.0.1:{ne_port}"))
            .args([
                "--collector.disable-defaults",
                "--collector.cpu",
                "--collector.meminfo",
                "--collector.loadavg",
                "--collector.filesystem",
                "--collector.netdev",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let prom_port = free_port();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['127.0.0.1:{ne_port}']\nremote_write:\n  - url: {}/api/v1/write\n    queue_config:\n      batch_send_deadline: 500ms\n      min_backoff: 100ms\n",
            v.url
        ),
    )
    .unwrap();
    let prom_url = format!("http://127.0.0.1:{prom_port}");
    let prom_proc = Proc(
        Command::new(&prom)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("prom").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let c = client();
    let prom_series = |m: &str| -> Option<Vec<serde_json::Value>> {
        let r = c
            .get(format!("{prom_url}/api/v1/series"))
            .query(&[("match[]", m)])
            .send()
            .ok()?;
        r.json::<serde_json::Value>().ok()?["data"]
            .as_array()
            .cloned()
    };
    // Let Prometheus scrape a few times, then stop the exporter: Prometheus writes staleness
    // markers for every node_* series and stops producing new node_* samples, so both sides
    // converge on the same final data once remote_write has caught up.
    wait_for(Duration::from_secs(60), || {
        prom_series("{job=\"node\"}").filter(|s| s.len() > 50)
    })
    .expect("prometheus scraped node_exporter");
    std::thread::sleep(Duration::from_secs(3));
    drop(ne);
    std::thread::sleep(Duration::from_secs(3));
    let sel = "{job=\"node\",__name__=~\"node_.*\"}";
    let key = |v: &serde_json::Value| v.to_string();
    let q = "count_over_time(node_load1[1h])";
    let mut last = (
        Vec::new(),
        Vec::new(),
        serde_json::Value::Null,
        serde_json::Value::Null,
    );
    let converged = wait_for(Duration::from_secs(60), || {
        let theirs = prom_series(sel)?;
        let r = c
            .get(format!("{}/api/v1/series", v.url))
            .query(&[("match[]", sel)])
            .send()
            .ok()?;
        let ours = r.json::<serde_json::Value>().ok()?["data"]
            .as_array()
            .cloned()?;
        let mut a: Vec<String> = theirs.iter().map(key).collect();
        let mut b: Vec<String> = ours.iter().map(key).collect();
        a.sort();
        b.sort();
        let at = (now_ms() as f64 / 1000.0).to_string();
        let tq: serde_json::Value = c
            .get(format!("{prom_url}/api/v1/query"))
            .query(&[("query", q), ("time", &at)])
            .send()
            .ok()?
            .json()
            .ok()?;
        let oq: serde_json::Value = c
            .get(format!("{}/api/v1/query", v.url))
            .query(&[("query", q), ("time", &at)])
            .send()
            .ok()?
            .json()
            .ok()?;
        let same = a.len() > 50
            && a == b
            && result_len(&tq) == 1
            && tq["data"]["result"][0]["value"][1] == oq["data"]["result"][0]["value"][1];
        last = (a, b, tq, oq);
        same.then_some(())
    });
    assert!(
        converged.is_some(),
        "vigia must hold exactly Prometheus's series and samples; prometheus {} series, vigia {} series; samples {} vs {}",
        last.0.len(),
        last.1.len(),
        last.2,
        last.3
    );
    drop(prom_proc);
}

#[test]
fn tls_serves_https_with_the_configured_certificate() {
    let Some(openssl) = real_binary("openssl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let d = dir.path();
    let ext = d.join("ext.cnf");
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    let run = |args: &[&str]| {
        let st = Command::new(&openssl)
            .current_dir(d)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "openssl {args:?}");
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=vigia-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
    let cfg = dir.path().join("vigia.yaml");
    std::fs::write(
        &cfg,
        format!(
            "web:\n  tls_server_config:\n    cert_file: {}\n    key_file: {}\n",
            cert.display(),
            key.display()
        ),
    )
    .unwrap();
    let v = Vigia::start(
        &dir.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    assert!(v.url.starts_with("https://"), "{}", v.url);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = reqwest::Certificate::from_pem(&std::fs::read(d.join("ca.pem")).unwrap()).unwrap();
    let c = reqwest::blocking::Client::builder()
        .add_root_certificate(root)
        .build()
        .unwrap();
    let r = c
        .get(format!("{}/api/v1/status/buildinfo", v.url))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.json::<serde_json::Value>().unwrap()["status"], "success");
    // Plain HTTP on the TLS port does not get an answer.
    let plain = v.url.replace("https://", "http://");
    let plain_ok = client()
        .get(format!("{plain}/-/healthy"))
        .timeout(Duration::from_secs(3))
        .send()
        .map(|r| r.status().is_success())
        .unwrap_or(false);
    assert!(!plain_ok, "plain HTTP must not be served on the TLS port");
    assert_eq!(v.stop(), Some(0));
}

/// Starts `vigia demo` with a fixed seed, 2 days of history and no live phase; returns the
/// process, its URL and the number of samples it reported backfilling.
fn start_demo(data_dir: &std::path::Path, extra: &[&str]) -> (Proc, String, u64) {
    use std::io::{BufRead, BufReader};
    let mut child = Proc(
        Command::new(env!("CARGO_BIN_EXE_vigia"))
            .args([
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--history",
                "2d",
                "--seed",
                "7",
                "--no-live",
            ])
            .args(extra)
            .arg("--data-dir")
            .arg(data_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let out = child.0.stdout.take().unwrap();
    let mut url = None;
    let mut backfilled = None;
    for line in BufReader::new(out).lines().map_while(Result::ok) {
        if let Some(u) = line.strip_prefix("vigia listening on ") {
            url = Some(u.trim().to_string());
        }
        if line.starts_with("demo: backfilled ") {
            backfilled = line
                .split_whitespace()
                .nth(2)
                .and_then(|n| n.parse::<u64>().ok());
            break;
        }
    }
    (
        child,
        url.expect("demo printed its URL"),
        backfilled.expect("demo reported its backfill"),
    )
}

#[test]
fn demo_without_rules_and_detectors_raises_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_child, url, n) = start_demo(&dir.path().join("demo"), &["--no-rules", "--no-anomaly"]);
    assert!(n > 1_000_000, "{n}");
    // The same seed with detectors on has anomaly events right after the backfill (see
    // demo_backfills_history_and_serves_it); give the rule manager time to evaluate anyway.
    std::thread::sleep(Duration::from_secs(3));
    let c = client();
    let get = |p: &str| -> serde_json::Value {
        c.get(format!("{url}{p}")).send().unwrap().json().unwrap()
    };
    let j = get("/api/v1/rules");
    assert_eq!(j["data"]["groups"].as_array().map(Vec::len), Some(0), "{j}");
    let j = get("/api/v1/alerts");
    assert_eq!(j["data"]["alerts"].as_array().map(Vec::len), Some(0), "{j}");
    let j = get("/api/v1/anomalies");
    assert_eq!(j["data"].as_array().map(Vec::len), Some(0), "{j}");
    let j = get("/api/v1/query?query=count(anomaly_score)");
    assert_eq!(j["data"]["result"].as_array().map(Vec::len), Some(0), "{j}");
}

#[test]
fn demo_backfills_history_and_serves_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_child, url, n) = start_demo(&dir.path().join("demo"), &[]);
    assert!(n > 1_000_000, "2 days of ~600 series at 60 s: {n} samples");
    let c = client();
    let j: serde_json::Value = c
        .get(format!(
            "{url}/api/v1/query?query=count(count by (__name__) ({{__name__=~\"vigia_.*\"}}))"
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let names: f64 = j["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(names >= 10.0, "campaign series present: {j}");
    let j: serde_json::Value = c
        .get(format!(
            "{url}/api/v1/query?query=sum(vigia_registrations_total)"
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let regs: f64 = j["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(regs > 0.0, "{j}");
    let j: serde_json::Value = c
        .get(format!("{url}/api/v1/series?match[]=up"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(j["data"].as_array().unwrap().len() >= 5, "5–10 hosts: {j}");
    let j: serde_json::Value = c
        .get(format!("{url}/api/v1/kpis"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let kpis = j["data"]["kpis"].as_array().unwrap();
    assert_eq!(kpis.len(), 17, "the shipped campaign KPIs: {j}");
    let regs_kpi = kpis.iter().find(|k| k["name"] == "registrations").unwrap();
    assert!(
        regs_kpi["value"].as_f64().is_some_and(|v| v >= regs),
        "the KPI reads the same series: {regs_kpi}"
    );
    assert_eq!(regs_kpi["target"].as_f64(), Some(2000.0));
    assert!(
        kpis.iter().all(|k| k["error"].is_null()),
        "every KPI expression evaluates: {j}"
    );
    let j: serde_json::Value = c
        .get(format!("{url}/api/v1/rules"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let groups = j["data"]["groups"].as_array().unwrap();
    assert!(groups.len() >= 5, "the shipped rule groups are loaded: {j}");
    // Anomalies come from vigia's own detectors over the simulated history (which alerts fire
    // right after the backfill depends on the hour the test runs at, so they are not asserted).
    let j: serde_json::Value = c
        .get(format!("{url}/api/v1/anomalies"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        j["data"].as_array().is_some_and(|a| !a.is_empty()),
        "the seed-7 demo has anomaly events: {j}"
    );
}

#[test]
fn anomaly_scores_are_series_and_spikes_become_events() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("vigia.yaml");
    std::fs::write(
        &cfg,
        "anomaly:\n  selectors: ['latency_seconds{job=\"api\"}']\n",
    )
    .unwrap();
    let v = Vigia::start(
        &dir.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    let t0 = now_ms() - 3 * 86_400_000;
    let mut t = t0;
    let mut batch = Vec::new();
    let send = |batch: &mut Vec<SeriesSamples>| {
        assert_eq!(
            remote_write(&v.url, vigia_ingest::remote_write::encode(batch))
                .status()
                .as_u16(),
            204
        );
        batch.clear();
    };
    for i in 0..3000 {
        let value = if (2900..2910).contains(&i) {
            4.0
        } else {
            0.2 + ((i * 37) % 11) as f64 / 100.0
        };
        batch.push(series("latency_seconds", "api", &[(t, value)]));
        batch.push(series("latency_seconds", "batch", &[(t, value)]));
        t += 60_000;
        if batch.len() >= 200 {
            send(&mut batch);
        }
    }
    send(&mut batch);
    let at = (t - 60_000) as f64 / 1000.0;
    let (_, j) = v.get_json(&format!(
        "/api/v1/query?query=count(anomaly_score)&time={at}"
    ));
    assert_eq!(
        j["data"]["result"][0]["value"][1], "1",
        "only the selected series is scored: {j}"
    );
    let spike = (t0 + 2905 * 60_000) as f64 / 1000.0;
    let (_, j) = v.get_json(&format!("/api/v1/query?query=max_over_time(anomaly_score%7Bmetric%3D%22latency_seconds%22%7D%5B15m%5D)&time={spike}"));
    let peak: f64 = j["data"]["result"][0]["value"][1]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(peak >= 0.7, "the spike scores high: {j}");
    let (code, j) = v.get_json(&format!("/api/v1/anomalies?since={}", t0 / 1000));
    assert_eq!(code, 200, "{j}");
    let events = j["data"].as_array().unwrap();
    assert!(!events.is_empty(), "{j}");
    let e = events
        .iter()
        .find(|e| e["labels"]["job"] == "api")
        .expect("event on the selected series");
    assert!(
        e["insight"].as_str().unwrap().contains("latency_seconds"),
        "{e}"
    );
    assert!(
        ["low", "medium", "high", "critical"].contains(&e["severity"].as_str().unwrap()),
        "{e}"
    );
    let (code, _) = v.get_json("/api/v1/anomalies?severity=extreme");
    assert_eq!(code, 400);
}

#[test]
fn events_api_counts_each_id_once_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let t = now_ms() - 600_000;
    let batch = format!(
        r#"[{{"id":"reg-1","kind":"registration","timestamp":{t},"channel":"email","utm_source":"newsletter"}},
            {{"id":"reg-2","kind":"registration","timestamp":{},"channel":"email","utm_source":"newsletter"}},
            {{"id":"conv-1","kind":"conversion","timestamp":{},"channel":"email","amount":250,"currency":"EUR"}}]"#,
        t + 1000,
        t + 2000
    );
    let post = |url: &str, body: &str| {
        let r = client()
            .post(format!("{url}/api/v1/events"))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .unwrap();
        (
            r.status().as_u16(),
            r.json::<serde_json::Value>().unwrap_or_default(),
        )
    };
    let v = Vigia::start(&data, &[]);
    let (code, j) = post(&v.url, &batch);
    assert_eq!(code, 200, "{j}");
    assert_eq!(j["data"]["accepted"], 3);
    let (code, j) = post(
        &v.url,
        r#"[{"id":"x","kind":"registration","timestamp":1,"channel":"tv"}]"#,
    );
    assert_eq!(code, 400);
    assert!(
        j["error"].as_str().unwrap().contains("event 0")
            && j["error"].as_str().unwrap().contains("channel"),
        "{j}"
    );
    assert_eq!(v.stop(), Some(0));
    let v = Vigia::start(&data, &[]);
    let (code, j) = post(&v.url, &batch);
    assert_eq!(code, 200, "{j}");
    assert_eq!(j["data"]["accepted"], 0, "all three are repeats: {j}");
    assert_eq!(j["data"]["duplicates"], 3);
    let at = (t + 3000) as f64 / 1000.0;
    let (_, j) = v.get_json(&format!(
        "/api/v1/query?query=sum(vigia_registrations_total)&time={at}"
    ));
    assert_eq!(j["data"]["result"][0]["value"][1], "2", "{j}");
    let (_, j) = v.get_json(&format!(
        "/api/v1/query?query=sum(vigia_revenue_total)&time={at}"
    ));
    assert_eq!(j["data"]["result"][0]["value"][1], "250", "{j}");
}

#[test]
fn overview_page_is_served_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vigia::start(&dir.path().join("data"), &[]);
    let r = client().get(format!("{}/", v.url)).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().unwrap();
    for needle in [
        "/api/v1/kpis",
        "/api/v1/anomalies",
        "Indicadores clave",
        "Key indicators",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
}

#[test]
fn alert_rule_on_anomaly_score_fires_on_an_injected_spike() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("vigia.yaml");
    let rules = dir.path().join("anomaly.rules.yaml");
    std::fs::write(
        &cfg,
        "anomaly:\n  selectors: ['latency_seconds']\nrule_files: ['*.rules.yaml']\n",
    )
    .unwrap();
    std::fs::write(
        &rules,
        "groups:\n  - name: anomalies\n    interval: 1s\n    rules:\n      - alert: LatencyAnomalous\n        expr: max_over_time(anomaly_score{metric=\"latency_seconds\"}[30m]) > 0.7\n        labels:\n          severity: high\n        annotations:\n          summary: 'latency on {{ $labels.instance }} is anomalous (score {{ $value | printf \"%.2f\" }})'\n",
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_vigia");
    let out = Command::new(bin)
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = Vigia::start(
        &dir.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    // Quiet history up to a few minutes ago, then a spike.
    let now = now_ms();
    let start = now - 2000 * 60_000;
    let mut batch = Vec::new();
    for i in 0..2000 {
        let t = start + i * 60_000;
        let value = if i >= 1995 {
            5.0
        } else {
            0.2 + ((i * 37) % 11) as f64 / 100.0
        };
        batch.push(series("latency_seconds", "api", &[(t, value)]));
        if batch.len() >= 250 {
            assert_eq!(
                remote_write(&v.url, vigia_ingest::remote_write::encode(&batch))
                    .status()
                    .as_u16(),
                204
            );
            batch.clear();
        }
    }
    assert_eq!(
        remote_write(&v.url, vigia_ingest::remote_write::encode(&batch))
            .status()
            .as_u16(),
        204
    );
    let firing = wait_for(Duration::from_secs(30), || {
        let (_, j) = v.get_json("/api/v1/alerts");
        j["data"]["alerts"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["state"] == "firing").cloned())
    })
    .expect("the anomaly alert fires");
    assert_eq!(firing["labels"]["alertname"], "LatencyAnomalous");
    assert_eq!(firing["labels"]["severity"], "high");
    assert!(
        firing["annotations"]["summary"]
            .as_str()
            .unwrap()
            .contains("host-1"),
        "{firing}"
    );
    let (_, j) = v.get_json("/api/v1/rules");
    assert_eq!(j["data"]["groups"][0]["rules"][0]["state"], "firing", "{j}");
    // ALERTS is written from the second evaluation on (the first one restores `for` state).
    let alerts_series = wait_for(Duration::from_secs(30), || {
        let (_, j) =
            v.get_json("/api/v1/query?query=ALERTS%7Balertname%3D%22LatencyAnomalous%22%7D");
        (j["data"]["result"][0]["metric"]["alertstate"] == "firing").then_some(j)
    });
    assert!(alerts_series.is_some(), "ALERTS is an ordinary series");
    // The firing alert reached alert routing (as Prometheus sends to Alertmanager).
    let routed = wait_for(Duration::from_secs(30), || {
        let (_, j) = v.get_json("/api/v2/alerts");
        j.as_array()?
            .iter()
            .find(|a| a["labels"]["alertname"] == "LatencyAnomalous")
            .cloned()
    })
    .expect("the rule's alert is in /api/v2/alerts");
    assert_eq!(routed["receivers"][0]["name"], "dashboard", "{routed}");
    assert!(
        routed["generatorURL"]
            .as_str()
            .is_some_and(|u| u.contains("/graph?g0.expr=")),
        "{routed}"
    );
    let notified = wait_for(Duration::from_secs(30), || {
        let (_, feed) = v.get_json("/api/v1/notifications");
        feed["data"]
            .as_array()?
            .iter()
            .find(|e| e["notification"]["groupLabels"]["alertname"] == "LatencyAnomalous")
            .cloned()
    });
    assert!(
        notified.is_some(),
        "the default dashboard receiver gets the notification"
    );
    // Rule self-metrics are part of /metrics, before the OpenMetrics terminator.
    let m = client()
        .get(format!("{}/metrics", v.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        m.contains("# TYPE vigia_rule_group_evaluations counter\n"),
        "{m}"
    );
    assert!(
        m.lines().any(
            |l| l.starts_with("vigia_rule_group_last_duration_seconds{rule_group=\"")
                && l.contains("anomaly.rules.yaml;anomalies\"}")
        ),
        "{m}"
    );
    assert!(m.trim_end().ends_with("# EOF"), "{m}");
    assert_eq!(v.stop(), Some(0));
}

#[test]
fn shipped_rule_examples_pass_vigia_and_promtool() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/rules");
    let bin = env!("CARGO_BIN_EXE_vigia");
    let run = |prog: &std::path::Path, args: &[&str]| {
        let out = Command::new(prog)
            .current_dir(&examples)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{} {args:?}: {}{}",
            prog.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(
        std::path::Path::new(bin),
        &["check", "rules", "webinar.yaml", "node.yaml"],
    );
    let tests = ["test", "rules", "webinar.test.yaml", "node.test.yaml"];
    run(std::path::Path::new(bin), &tests);
    if let Some(promtool) = real_binary("promtool") {
        run(&promtool, &["check", "rules", "webinar.yaml", "node.yaml"]);
        run(&promtool, &tests);
    }
    // Every shipped alert has a case where it fires and one where it does not.
    let yaml = |f: &str| -> serde_json::Value {
        serde_saphyr::from_str(&std::fs::read_to_string(examples.join(f)).unwrap()).unwrap()
    };
    let mut alerts = std::collections::BTreeSet::new();
    for f in ["webinar.yaml", "node.yaml"] {
        for g in yaml(f)["groups"].as_array().unwrap() {
            for r in g["rules"].as_array().unwrap() {
                if let Some(a) = r["alert"].as_str() {
                    alerts.insert(a.to_string());
                }
            }
        }
    }
    let (mut fires, mut quiet) = (
        std::collections::BTreeSet::new(),
        std::collections::BTreeSet::new(),
    );
    for f in ["webinar.test.yaml", "node.test.yaml"] {
        for t in yaml(f)["tests"].as_array().unwrap() {
            for c in t["alert_rule_test"].as_array().into_iter().flatten() {
                let name = c["alertname"].as_str().unwrap().to_string();
                let firing = c["exp_alerts"].as_array().is_some_and(|a| !a.is_empty());
                if firing { &mut fires } else { &mut quiet }.insert(name);
            }
        }
    }
    assert_eq!(alerts.len(), 11, "{alerts:?}");
    assert_eq!(fires, alerts, "alerts without a firing test case");
    assert_eq!(quiet, alerts, "alerts without a non-firing test case");
    // A broken rule file fails with its line.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: sum(\n",
    )
    .unwrap();
    let out = Command::new(bin)
        .args(["check", "rules"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("bad.yaml:"), "{text}");
}

/// Runs headless Chromium on `url`; returns (stdout, Chromium's log on stderr).
fn chromium(bin: &std::path::Path, args: &[&str], url: &str) -> (String, String) {
    let out = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1280,800",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `data-kpi="name" … data-value="v"` pairs of the KPI cards in a page.
fn shown_kpis(dom: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for part in dom.split("data-kpi=\"").skip(1) {
        let Some((name, rest)) = part.split_once('"') else {
            continue;
        };
        let card = rest.split("data-kpi=\"").next().unwrap_or(rest);
        if let Some(v) = card
            .split("data-value=\"")
            .nth(1)
            .and_then(|v| v.split('"').next())
            .and_then(|v| v.parse::<f64>().ok())
        {
            out.push((name.to_string(), v));
        }
    }
    out
}

#[test]
fn dashboards_render_in_chromium_without_errors_and_show_the_api_kpis() {
    let Some(chrome) = real_binary("chromium") else {
        return;
    };
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboards");
    std::fs::create_dir_all(&shots).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_child, url, _) = start_demo(&dir.path().join("demo"), &[]);
    for lang in ["en", "es"] {
        for name in ["campaign", "infrastructure", "alerts", "anomalies"] {
            let page = format!("{url}/d/{name}?lang={lang}");
            let png = shots.join(format!("{name}-{lang}.png"));
            let (_, log) = chromium(
                &chrome,
                &[&format!("--screenshot={}", png.display())],
                &page,
            );
            let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
            assert!(
                console.is_empty(),
                "{page}: JavaScript logged errors:\n{}",
                console.join("\n")
            );
            let size = std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0);
            assert!(
                size > 10_000,
                "{page}: screenshot {} is {size} bytes",
                png.display()
            );
        }
    }
    println!("screenshots in {}", shots.display());
    // The KPI values on the page are those of /api/v1/kpis at the same moment (time moves, so
    // a rate may change between the two reads: try a few times).
    let mut last = String::new();
    let agreed = (0..5).any(|_| {
        let (dom, log) = chromium(&chrome, &["--dump-dom"], &format!("{url}/d/campaign"));
        assert!(!log.contains(":CONSOLE"), "{log}");
        let j: serde_json::Value = client()
            .get(format!("{url}/api/v1/kpis"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let shown = shown_kpis(&dom);
        assert!(shown.len() >= 6, "the campaign KPI cards: {shown:?}");
        let api = j["data"]["kpis"].as_array().unwrap();
        let mismatches: Vec<String> = shown
            .iter()
            .filter_map(|(name, v)| {
                let a = api.iter().find(|k| k["name"] == name.as_str())?["value"].as_f64();
                let same = a.is_some_and(|a| (a - v).abs() <= 1e-9 * a.abs().max(1.0));
                (!same).then(|| format!("{name}: page {v}, API {a:?}"))
            })
            .collect();
        last = mismatches.join("; ");
        mismatches.is_empty()
    });
    assert!(agreed, "KPI values differ from /api/v1/kpis: {last}");
    // Live updates: the SSE endpoint answers with an event stream.
    let r = client()
        .get(format!("{url}/api/v1/dashboards/campaign/events"))
        .timeout(Duration::from_secs(2))
        .send()
        .unwrap();
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let (code, _) = {
        let r = client().get(format!("{url}/d/nope")).send().unwrap();
        (r.status().as_u16(), ())
    };
    assert_eq!(code, 404);
}

/// The detector configuration hash is the same in `vigia bench nab`, `vigia bench detector` and
/// the server (so a server's detectors can be matched with a benchmark run).
#[test]
fn detector_config_hash_agrees_across_bench_nab_bench_detector_and_serve() {
    let bin = env!("CARGO_BIN_EXE_vigia");
    let json = |args: &[&str]| -> serde_json::Value {
        let out = Command::new(bin).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "vigia {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let detector = json(&["bench", "detector", "--json"]);
    let hash = detector["config_hash"].as_str().unwrap().to_string();
    assert_eq!(hash.len(), 12);

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("vigia.yaml");
    std::fs::write(&cfg, "anomaly:\n  selectors: ['latency_seconds']\n").unwrap();
    let v = Vigia::start(
        &dir.path().join("data"),
        &["--config", cfg.to_str().unwrap()],
    );
    let line = format!("anomaly detector config {hash}");
    assert!(
        v.banner.iter().any(|l| l == &line),
        "server printed {:?}, expected {line:?}",
        v.banner
    );
    v.stop();

    let nab = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/nab");
    if !nab.join("labels/combined_windows.json").is_file() {
        assert!(
            !require_real(),
            "VIGIA_REQUIRE_REAL=1 but {} is missing",
            nab.display()
        );
        eprintln!("SKIP: NAB corpus not found at {}", nab.display());
        return;
    }
    let out = dir.path().join("nab");
    let report = json(&[
        "bench",
        "nab",
        "--data",
        nab.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--dithers",
        "2",
        "--json",
    ]);
    assert_eq!(report["config_hash"].as_str(), Some(hash.as_str()));
    // Dither 0 is the configuration itself, so the single run lies within the dithers' range.
    let all = &report["dithers"][0];
    assert_eq!(all["name"], "all");
    let standard = report["standard"].as_f64().unwrap();
    let min = all["profiles"][0]["min"].as_f64().unwrap();
    let max = all["profiles"][0]["max"].as_f64().unwrap();
    assert!(
        min <= standard && standard <= max,
        "{min} <= {standard} <= {max}"
    );
    assert!(
        out.join("vigia/realKnownCause/vigia_nyc_taxi.csv")
            .is_file()
    );
}
