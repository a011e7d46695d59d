//! The in-process application for API tests: the whole component graph started in a temporary
//! directory, requests sent through the router with `tower::ServiceExt::oneshot` (no socket),
//! and JSON answers compared with snapshots in `testdata/api/` after masking what varies from run
//! to run (times, durations, ids). `VIGIA_BLESS=1` rewrites the snapshots; review the diff.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, header};
use http_body_util::BodyExt as _;
use serde_json::{Value as J, json};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt as _;
use vigia::components::{Components, StartOptions};

/// The running application.
pub struct App {
    pub components: Arc<Components>,
    pub rt: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
    /// Wall-clock start of the data, ms (whole minutes).
    pub t0: i64,
}

/// An answer: status, content type and body (JSON when it parses, else text).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: J,
}

impl App {
    /// Starts vigia in-process with `config` (YAML) written to `<tmp>/vigia.yaml`.
    pub fn start(config: &str) -> App {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vigia.yaml");
        std::fs::write(&file, config).unwrap();
        let cfg = vigia::config::load(Some(&file)).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let source_file = file.clone();
        let opts = StartOptions {
            data_dir: dir.path().join("data"),
            listen: "127.0.0.1:9400".parse().unwrap(),
            enable_admin_api: true,
            extra_rules: Vec::new(),
            flags: Default::default(),
            source: Some(Arc::new(move || vigia::config::load(Some(&source_file)))),
        };
        let components = rt.block_on(Components::start(cfg, opts)).unwrap();
        let now = chrono::Utc::now().timestamp_millis();
        App {
            components,
            rt,
            dir,
            t0: (now - 15 * 60_000).div_euclid(60_000) * 60_000,
        }
    }

    /// Sends one request.
    pub fn call(&self, method: &str, uri: &str, body: Option<(&str, Vec<u8>)>) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        let body = match body {
            Some((ct, b)) => {
                req = req.header(header::CONTENT_TYPE, ct);
                Body::from(b)
            }
            None => Body::empty(),
        };
        let req = req.body(body).unwrap();
        let router = self.components.router();
        self.rt.block_on(async move {
            let resp = router.oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let body = serde_json::from_str(&text).unwrap_or(J::String(text));
            Answer {
                status,
                content_type,
                body,
            }
        })
    }

    pub fn get(&self, uri: &str) -> Answer {
        self.call("GET", uri, None)
    }

    pub fn post_form(&self, uri: &str, form: &str) -> Answer {
        self.call(
            "POST",
            uri,
            Some((
                "application/x-www-form-urlencoded",
                form.as_bytes().to_vec(),
            )),
        )
    }

    pub fn post_json(&self, uri: &str, body: &J) -> Answer {
        self.call(
            "POST",
            uri,
            Some(("application/json", body.to_string().into_bytes())),
        )
    }

    /// Stops the components (flushes storage).
    pub fn stop(self) {
        self.rt.block_on(self.components.stop()).unwrap();
    }
}

/// Seconds of a ms timestamp as the API prints them.
pub fn secs(ms: i64) -> String {
    format!("{}", ms as f64 / 1000.0)
}

/// Keys whose values vary between runs (times, durations, sizes on disk, versions).
const MASKED_KEYS: &[&str] = &[
    "activeAt",
    "startsAt",
    "endsAt",
    "updatedAt",
    "lastEvaluation",
    "evaluationTime",
    "lastScrape",
    "lastScrapeDuration",
    "time",
    "ts",
    "ts_ms",
    "at",
    "since",
    "startTime",
    "CWD",
    "goroutineCount",
    "GOMAXPROCS",
    "GOGC",
    "GODEBUG",
    "lastConfigTime",
    "reloadConfigSuccess",
    "storageRetention",
    "uptime",
    "version",
    "revision",
    "buildDate",
    "goVersion",
    "silenceID",
    "id",
    "generatorURL",
    "queue_seq",
    "seq",
];

/// Replaces what varies from run to run: masked keys, Unix-second and millisecond timestamps
/// (numbers in the data's time window), RFC 3339 times and temporary paths.
pub fn mask(v: &J, t0: i64) -> J {
    let window = (t0 - 86_400_000)..(t0 + 86_400_000);
    match v {
        J::Object(m) => J::Object(
            m.iter()
                .map(|(k, x)| {
                    let masked = MASKED_KEYS.contains(&k.as_str())
                        && !matches!(x, J::Object(_) | J::Array(_));
                    (
                        k.clone(),
                        if masked {
                            json!("<masked>")
                        } else {
                            mask(x, t0)
                        },
                    )
                })
                .collect(),
        ),
        J::Array(a) => J::Array(a.iter().map(|x| mask(x, t0)).collect()),
        J::Number(n) => match n.as_f64() {
            Some(f) if window.contains(&((f * 1000.0) as i64)) => {
                json!(format!("<t0{:+}s>", ((f * 1000.0) as i64 - t0) / 1000))
            }
            Some(f) if window.contains(&(f as i64)) => {
                json!(format!("<t0{:+}ms>", f as i64 - t0))
            }
            _ => v.clone(),
        },
        J::String(s) => {
            let looks_like_time = s.len() >= 20
                && s.as_bytes().get(4) == Some(&b'-')
                && s.as_bytes().get(10) == Some(&b'T');
            if looks_like_time {
                json!("<time>")
            } else if s.contains("/tmp/") || s.contains("/.tmp") {
                json!("<path>")
            } else {
                v.clone()
            }
        }
        _ => v.clone(),
    }
}

/// The snapshot folder (`testdata/api/` at the repository root).
pub fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/api")
}

/// Compares `answer` (masked) with `testdata/api/<name>.json`, or writes it with
/// `VIGIA_BLESS=1`. Returns a mismatch description instead of panicking, so one run reports
/// every differing snapshot.
pub fn check_snapshot(name: &str, request: &str, answer: &Answer, t0: i64) -> Option<String> {
    let got = json!({
        "request": request,
        "status": answer.status,
        "content_type": answer.content_type,
        "body": mask(&answer.body, t0),
    });
    let path = snapshot_dir().join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(&got).unwrap() + "\n";
    if std::env::var("VIGIA_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(snapshot_dir()).unwrap();
        std::fs::write(&path, text).unwrap();
        return None;
    }
    match std::fs::read_to_string(&path) {
        Ok(want) if want == text => None,
        Ok(want) => Some(format!(
            "snapshot {name} differs (VIGIA_BLESS=1 rewrites it)\n--- want\n{want}\n--- got\n{text}"
        )),
        Err(_) => Some(format!(
            "snapshot {} missing; run with VIGIA_BLESS=1 to create it\n{text}",
            path.display()
        )),
    }
}
