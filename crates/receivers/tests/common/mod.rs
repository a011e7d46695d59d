//! Test helpers: a loopback HTTP sink recording every request, notifications, waiting.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigia_receivers::{DeliveryReport, Notification, NotifyAlert, ResultCallback, Status};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub uri: String,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Req {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
    pub fn header(&self, h: &str) -> &str {
        self.headers.get(h).map(String::as_str).unwrap_or("")
    }
}

/// The sink: records requests answered 2xx; answers `status` (200 by default).
#[derive(Clone, Default)]
pub struct Sink {
    pub reqs: Arc<Mutex<Vec<Req>>>,
    pub rejected: Arc<Mutex<usize>>,
    status: Arc<AtomicU16>,
    /// Accept at most this many requests (0: no limit), then answer 503.
    limit: Arc<std::sync::atomic::AtomicUsize>,
}

impl Sink {
    pub fn set_status(&self, s: u16) {
        self.status.store(s, Ordering::SeqCst);
    }
    pub fn set_limit(&self, n: usize) {
        self.limit.store(n, Ordering::SeqCst);
    }
    pub fn reqs(&self) -> Vec<Req> {
        self.reqs.lock().unwrap().clone()
    }
    pub fn count(&self) -> usize {
        self.reqs.lock().unwrap().len()
    }
    pub fn on_path(&self, prefix: &str) -> Vec<Req> {
        self.reqs()
            .into_iter()
            .filter(|r| r.uri.starts_with(prefix))
            .collect()
    }
}

async fn handle(
    State(s): State<Sink>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let st = s.status.load(Ordering::SeqCst);
    let mut st = if st == 0 { 200 } else { st };
    let limit = s.limit.load(Ordering::SeqCst);
    if limit > 0 && s.reqs.lock().unwrap().len() >= limit {
        st = 503;
    }
    if st >= 300 {
        *s.rejected.lock().unwrap() += 1;
        return StatusCode::from_u16(st).unwrap();
    }
    let headers = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    s.reqs.lock().unwrap().push(Req {
        method: method.to_string(),
        uri: uri.to_string(),
        headers,
        body,
    });
    StatusCode::OK
}

/// Serves the sink on `listener`.
pub fn serve(listener: tokio::net::TcpListener, sink: Sink) -> tokio::task::JoinHandle<()> {
    let app = Router::new().fallback(handle).with_state(sink);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

/// Starts a sink on a free loopback port; returns it and its base URL.
pub async fn start_sink() -> (Sink, String, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let sink = Sink::default();
    let h = serve(l, sink.clone());
    (sink, url, h)
}

pub fn alert(name: &str, instance: &str, status: Status) -> NotifyAlert {
    NotifyAlert {
        status,
        labels: BTreeMap::from([
            ("alertname".to_string(), name.to_string()),
            ("instance".to_string(), instance.to_string()),
            ("severity".to_string(), "high".to_string()),
        ]),
        annotations: BTreeMap::from([("summary".to_string(), format!("{name} on {instance}"))]),
        starts_at: "2026-11-23T10:00:00Z".into(),
        ends_at: if status == Status::Firing {
            "0001-01-01T00:00:00Z".into()
        } else {
            "2026-11-23T11:00:00Z".into()
        },
        generator_url: "http://vigia.test:9090/graph?g0.expr=up".into(),
        fingerprint: "0123456789abcdef".into(),
    }
}

/// A notification for `receiver` with `n` alerts, group `group`.
pub fn notification(receiver: &str, group: &str, n: usize, status: Status) -> Notification {
    Notification {
        receiver: receiver.into(),
        status,
        alerts: (0..n)
            .map(|i| alert(group, &format!("host{i}"), status))
            .collect(),
        group_labels: BTreeMap::from([("alertname".into(), group.into())]),
        common_labels: BTreeMap::from([
            ("alertname".into(), group.into()),
            ("severity".into(), "high".into()),
        ]),
        common_annotations: BTreeMap::new(),
        external_url: "http://vigia.test:9090".into(),
        group_key: format!("{{}}:{{alertname=\"{group}\"}}"),
        truncated_alerts: 0,
        escalation: None,
        acknowledged: None,
    }
}

/// A callback collecting reports.
pub fn collector() -> (ResultCallback, Arc<Mutex<Vec<DeliveryReport>>>) {
    let v = Arc::new(Mutex::new(Vec::new()));
    let v2 = v.clone();
    (Arc::new(move |r| v2.lock().unwrap().push(r)), v)
}

/// Polls `f` until true (fails the test after 30 s).
pub async fn wait_until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..3000 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

pub fn yaml<T: serde::de::DeserializeOwned>(s: &str) -> T {
    serde_saphyr::from_str(s).unwrap()
}
