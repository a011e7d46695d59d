//! End-to-end scraping against a local axum server serving the text format, with an in-memory
//! store: up=1, samples, metric relabelling, staleness on disappearance and on target removal,
//! state hand-over on reload, up=0 on a dead target, and the targets status.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::{Router, extract::State, http::header, routing::get};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigia_ingest::MetadataStore;
use vigia_ingest::scrape::{GlobalConfig, ScrapeConfig, ScrapeManager};
use vigia_model::{Matcher, MemStorage, Querier, Series, is_stale_nan};

type Body = Arc<Mutex<String>>;

async fn serve(body: Body) -> String {
    let app = Router::new()
        .route(
            "/metrics",
            get(|State(b): State<Body>| async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                    b.lock().unwrap().clone(),
                )
            }),
        )
        .route(
            "/secure",
            get(
                |State(b): State<Body>, headers: axum::http::HeaderMap| async move {
                    // "user:pass" in base64.
                    if headers
                        .get(header::AUTHORIZATION)
                        .and_then(|v| v.to_str().ok())
                        != Some("Basic dXNlcjpwYXNz")
                    {
                        return (axum::http::StatusCode::UNAUTHORIZED, String::new());
                    }
                    (axum::http::StatusCode::OK, b.lock().unwrap().clone())
                },
            ),
        )
        .route(
            "/moved",
            get(|| async { axum::response::Redirect::temporary("/metrics") }),
        )
        .route(
            "/om",
            get(|| async {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    "# TYPE om_requests counter\n# HELP om_requests Requests.\n\
                     om_requests_total{job=\"pushed\"} 7 1700000000.5 # {trace_id=\"abc\"} 1\n\
                     om_requests_created{job=\"pushed\"} 1600000000\n# EOF\n",
                )
            }),
        )
        .route(
            "/accept",
            get(|headers: axum::http::HeaderMap| async move {
                let accept = headers
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                format!("accept_seen{{accept=\"{accept}\"}} 1\n")
            }),
        )
        .route(
            "/noct",
            get(|| async {
                axum::response::Response::new(axum::body::Body::from(
                    "no_ct 1 1700000000.25\n# EOF\n",
                ))
            }),
        )
        .with_state(body);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr.to_string()
}

fn select(db: &MemStorage, matchers: &[Matcher]) -> Vec<Series> {
    db.select(matchers, i64::MIN, i64::MAX)
        .unwrap()
        .map(|s| s.unwrap())
        .collect()
}

/// Polls until `cond` holds; fails after a generous deadline (not a timing assertion: the
/// conditions need only a few 100 ms scrape intervals).
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..800 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition never became true: {what}");
}

fn last_value(db: &MemStorage, matchers: &[Matcher]) -> Option<f64> {
    select(db, matchers)
        .first()
        .and_then(|s| s.samples.last())
        .map(|s| s.v)
}

fn has_stale(db: &MemStorage, matchers: &[Matcher]) -> bool {
    select(db, matchers)
        .iter()
        .any(|s| s.samples.iter().any(|x| is_stale_nan(x.v)))
}

fn config(addr: &str, extra: &str) -> Vec<ScrapeConfig> {
    let y = format!(
        r#"
- job_name: app
  scrape_interval: 100ms
  scrape_timeout: 100ms
  static_configs:
    - targets: ['{addr}']
      labels: {{env: test}}
  metric_relabel_configs:
    - source_labels: [__name__]
      regex: drop_me
      action: drop
    - source_labels: [__name__]
      regex: 'kept_(.*)'
      target_label: suffix
{extra}
- job_name: dead
  scrape_interval: 100ms
  scrape_timeout: 50ms
  static_configs:
    - targets: ['127.0.0.1:1']
"#
    );
    serde_saphyr::from_str(&y).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapes_relabels_and_marks_staleness() {
    let body: Body = Arc::new(Mutex::new(
        "# HELP kept_a A gauge.\n# TYPE kept_a gauge\nkept_a{job=\"inner\"} 1\nkept_b 2\ndrop_me 3\nkept_ts 7 1000\n".into(),
    ));
    let addr = serve(body.clone()).await;
    let db = Arc::new(MemStorage::new());
    let md = Arc::new(MetadataStore::new());
    let mgr = ScrapeManager::new(db.clone(), md.clone());
    mgr.apply(&GlobalConfig::default(), &config(&addr, ""))
        .unwrap();

    let up_app = [
        Matcher::equal("__name__", "up"),
        Matcher::equal("job", "app"),
    ];
    eventually("up{job=app} == 1", || last_value(&db, &up_app) == Some(1.0)).await;
    let a = [Matcher::equal("__name__", "kept_a")];
    eventually("kept_a scraped", || !select(&db, &a).is_empty()).await;
    let got = select(&db, &a);
    let l = &got[0].labels;
    assert_eq!(l.get("job"), Some("app"), "{l}");
    assert_eq!(l.get("exported_job"), Some("inner"), "{l}");
    assert_eq!(l.get("instance"), Some(addr.as_str()));
    assert_eq!(l.get("env"), Some("test"));
    assert_eq!(
        l.get("suffix"),
        Some("a"),
        "metric relabelling applied: {l}"
    );
    assert!(select(&db, &[Matcher::equal("__name__", "drop_me")]).is_empty());
    assert_eq!(md.query(Some("kept_a"), None)["kept_a"][0].kind, "gauge");
    let scraped = [
        Matcher::equal("__name__", "scrape_samples_scraped"),
        Matcher::equal("job", "app"),
    ];
    assert_eq!(last_value(&db, &scraped), Some(4.0));
    let post = [
        Matcher::equal("__name__", "scrape_samples_post_metric_relabeling"),
        Matcher::equal("job", "app"),
    ];
    assert_eq!(last_value(&db, &post), Some(3.0));
    let added = [
        Matcher::equal("__name__", "scrape_series_added"),
        Matcher::equal("job", "app"),
    ];
    assert!(select(&db, &added)[0].samples.iter().any(|s| s.v == 3.0));
    let kept_ts = [Matcher::equal("__name__", "kept_ts")];
    assert_eq!(
        select(&db, &kept_ts)[0].samples[0].t,
        1000,
        "honor_timestamps keeps exposed timestamps"
    );
    assert!(
        !select(
            &db,
            &[Matcher::equal("__name__", "scrape_duration_seconds")]
        )
        .is_empty()
    );

    // The dead target reports up=0 and its error.
    let up_dead = [
        Matcher::equal("__name__", "up"),
        Matcher::equal("job", "dead"),
    ];
    eventually("up{job=dead} == 0", || {
        last_value(&db, &up_dead) == Some(0.0)
    })
    .await;
    let st = mgr.targets();
    assert_eq!(st.active_targets.len(), 2);
    let dead = st
        .active_targets
        .iter()
        .find(|t| t.scrape_pool == "dead")
        .unwrap();
    assert_eq!(dead.health, "down");
    assert!(!dead.last_error.is_empty());
    let app = st
        .active_targets
        .iter()
        .find(|t| t.scrape_pool == "app")
        .unwrap();
    assert_eq!(app.health, "up");
    assert_eq!(app.scrape_url, format!("http://{addr}/metrics"));
    assert_eq!(app.scrape_interval, "100ms");
    assert_eq!(
        app.discovered_labels.get("__address__"),
        Some(addr.as_str())
    );

    // kept_b disappears from the exposition → staleness marker.
    *body.lock().unwrap() = "kept_a{job=\"inner\"} 5\n".into();
    let b = [Matcher::equal("__name__", "kept_b")];
    eventually("kept_b marked stale", || has_stale(&db, &b)).await;
    assert!(!has_stale(&db, &a));
    assert!(
        !has_stale(&db, &kept_ts),
        "series with exposed timestamps get no staleness marker"
    );

    // Reload with a changed pool config for the same target: the new loop inherits the old
    // state, so kept_a gets no staleness marker.
    mgr.apply(
        &GlobalConfig::default(),
        &config(&addr, "  sample_limit: 100"),
    )
    .unwrap();
    let before = select(&db, &a)[0].samples.len();
    eventually("kept_a scraped after reload", || {
        select(&db, &a)[0].samples.len() >= before + 2
    })
    .await;
    assert!(
        !has_stale(&db, &a),
        "reload must not mark surviving series stale"
    );

    // sample_limit exceeded fails the scrape: up=0 and the series go stale.
    mgr.apply(
        &GlobalConfig::default(),
        &config(&addr, "  sample_limit: 0\n  label_limit: 2"),
    )
    .unwrap();
    eventually("label_limit fails the scrape", || {
        last_value(&db, &up_app) == Some(0.0)
    })
    .await;
    eventually("kept_a stale after failed scrape", || has_stale(&db, &a)).await;
    let app = mgr
        .targets()
        .active_targets
        .into_iter()
        .find(|t| t.scrape_pool == "app")
        .unwrap();
    assert!(app.last_error.contains("label_limit"), "{}", app.last_error);

    // Removing the job writes staleness markers for its report series too.
    mgr.apply(&GlobalConfig::default(), &[]).unwrap();
    eventually("up{job=app} stale after removal", || {
        last_value(&db, &up_app).is_some_and(is_stale_nan)
    })
    .await;
    assert!(mgr.targets().active_targets.is_empty());
    mgr.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_sd_and_dropped_targets() {
    let body: Body = Arc::new(Mutex::new("m 1\n".into()));
    let addr = serve(body).await;
    let dir = std::env::temp_dir().join(format!("vigia-ingest-filesd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("t.json"),
        format!(r#"[{{"targets":["{addr}"],"labels":{{"team":"x"}}}}]"#),
    )
    .unwrap();
    let y = format!(
        r#"
- job_name: fsd
  scrape_interval: 100ms
  file_sd_configs:
    - files: ['{}/*.json']
      refresh_interval: 100ms
  relabel_configs:
    - source_labels: [team]
      regex: drop
      action: drop
"#,
        dir.display()
    );
    let cfgs: Vec<ScrapeConfig> = serde_saphyr::from_str(&y).unwrap();
    let db = Arc::new(MemStorage::new());
    let mgr = ScrapeManager::new(db.clone(), Arc::new(MetadataStore::new()));
    mgr.apply(&GlobalConfig::default(), &cfgs).unwrap();
    let m = [Matcher::equal("__name__", "m"), Matcher::equal("team", "x")];
    eventually("file_sd target scraped", || {
        last_value(&db, &m) == Some(1.0)
    })
    .await;
    let st = mgr.targets();
    assert!(
        st.active_targets[0]
            .discovered_labels
            .get("__meta_filepath")
            .is_some_and(|p| p.ends_with("t.json"))
    );
    // The file changes: the target's team becomes "drop" → relabelling drops it.
    std::fs::write(
        dir.join("t.json"),
        format!(r#"[{{"targets":["{addr}"],"labels":{{"team":"drop"}}}}]"#),
    )
    .unwrap();
    eventually("target dropped after refresh", || {
        mgr.targets().active_targets.is_empty()
    })
    .await;
    let st = mgr.targets();
    assert_eq!(st.dropped_target_counts["fsd"], 1);
    assert_eq!(
        st.dropped_targets[0].discovered_labels.get("team"),
        Some("drop")
    );
    eventually("dropped target's series stale", || has_stale(&db, &m)).await;
    mgr.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_is_sent() {
    let addr = serve(Arc::new(Mutex::new("secret_metric 1\n".into()))).await;
    let y = format!(
        r#"
- job_name: good
  scrape_interval: 100ms
  metrics_path: /secure
  basic_auth: {{username: user, password: pass}}
  static_configs: [{{targets: ['{addr}']}}]
- job_name: bad
  scrape_interval: 100ms
  metrics_path: /secure
  basic_auth: {{username: user, password: wrong}}
  static_configs: [{{targets: ['{addr}']}}]
"#
    );
    let cfgs: Vec<ScrapeConfig> = serde_saphyr::from_str(&y).unwrap();
    let db = Arc::new(MemStorage::new());
    let mgr = ScrapeManager::new(db.clone(), Arc::new(MetadataStore::new()));
    mgr.apply(&GlobalConfig::default(), &cfgs).unwrap();
    let good = [
        Matcher::equal("__name__", "secret_metric"),
        Matcher::equal("job", "good"),
    ];
    eventually("authenticated scrape", || {
        last_value(&db, &good) == Some(1.0)
    })
    .await;
    let up_bad = [
        Matcher::equal("__name__", "up"),
        Matcher::equal("job", "bad"),
    ];
    eventually("wrong password → up=0", || {
        last_value(&db, &up_bad) == Some(0.0)
    })
    .await;
    let bad = mgr
        .targets()
        .active_targets
        .into_iter()
        .find(|t| t.scrape_pool == "bad")
        .unwrap();
    assert!(bad.last_error.contains("401"), "{}", bad.last_error);
    mgr.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_and_body_size_limit() {
    let addr = serve(Arc::new(Mutex::new("moved_metric 1\n".into()))).await;
    let y = format!(
        r#"
- job_name: follow
  scrape_interval: 100ms
  metrics_path: /moved
  static_configs: [{{targets: ['{addr}']}}]
- job_name: nofollow
  scrape_interval: 100ms
  metrics_path: /moved
  follow_redirects: false
  static_configs: [{{targets: ['{addr}']}}]
- job_name: small
  scrape_interval: 100ms
  body_size_limit: 4B
  static_configs: [{{targets: ['{addr}']}}]
"#
    );
    let cfgs: Vec<ScrapeConfig> = serde_saphyr::from_str(&y).unwrap();
    let db = Arc::new(MemStorage::new());
    let mgr = ScrapeManager::new(db.clone(), Arc::new(MetadataStore::new()));
    mgr.apply(&GlobalConfig::default(), &cfgs).unwrap();
    let followed = [
        Matcher::equal("__name__", "moved_metric"),
        Matcher::equal("job", "follow"),
    ];
    eventually("redirect followed", || {
        last_value(&db, &followed) == Some(1.0)
    })
    .await;
    for job in ["nofollow", "small"] {
        let up = [Matcher::equal("__name__", "up"), Matcher::equal("job", job)];
        eventually("failing job reports up=0", || {
            last_value(&db, &up) == Some(0.0)
        })
        .await;
    }
    let st = mgr.targets();
    let err = |job: &str| {
        st.active_targets
            .iter()
            .find(|t| t.scrape_pool == job)
            .unwrap()
            .last_error
            .clone()
    };
    assert!(err("nofollow").contains("307"), "{}", err("nofollow"));
    assert!(err("small").contains("body size limit"), "{}", err("small"));
    mgr.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openmetrics_with_honor_labels() {
    let addr = serve(Arc::new(Mutex::new(String::new()))).await;
    let y = format!(
        "- job_name: om\n  scrape_interval: 100ms\n  metrics_path: /om\n  honor_labels: true\n  static_configs: [{{targets: ['{addr}']}}]\n"
    );
    let cfgs: Vec<ScrapeConfig> = serde_saphyr::from_str(&y).unwrap();
    let db = Arc::new(MemStorage::new());
    let md = Arc::new(MetadataStore::new());
    let mgr = ScrapeManager::new(db.clone(), md.clone());
    mgr.apply(&GlobalConfig::default(), &cfgs).unwrap();
    let m = [Matcher::equal("__name__", "om_requests_total")];
    eventually("OpenMetrics sample stored", || {
        let e = mgr
            .targets()
            .active_targets
            .first()
            .map(|t| t.last_error.clone())
            .unwrap_or_default();
        assert!(e.is_empty(), "{e}");
        !select(&db, &m).is_empty()
    })
    .await;
    let got = select(&db, &m);
    assert_eq!(
        got[0].labels.get("job"),
        Some("pushed"),
        "honor_labels keeps the exposed job"
    );
    assert_eq!(got[0].labels.get("instance"), Some(addr.as_str()));
    assert_eq!(
        got[0].samples[0].t, 1_700_000_000_500,
        "OpenMetrics timestamps are seconds"
    );
    assert!(select(&db, &[Matcher::equal("__name__", "om_requests_created")]).is_empty());
    assert_eq!(
        md.query(Some("om_requests"), None)["om_requests"][0].help,
        "Requests."
    );
    mgr.shutdown().await;
}

/// An HTTPS listener for axum, terminating TLS with the test certificate in `tests/data`.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

fn data(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

async fn serve_tls(text: &'static str) -> String {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(data("server.pem"))
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(data("server.key")).unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let app = Router::new().route("/metrics", get(move || async move { text }));
    tokio::spawn(async move {
        axum::serve(TlsListener { tcp, acceptor }, app)
            .await
            .unwrap()
    });
    addr.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_custom_ca() {
    let addr = serve_tls("tls_metric 1\n").await;
    let ca = data("ca.pem").display().to_string();
    let y = format!(
        r#"
- job_name: trusted
  scheme: https
  scrape_interval: 100ms
  tls_config: {{ca_file: '{ca}'}}
  static_configs: [{{targets: ['{addr}']}}]
- job_name: system_roots
  scheme: https
  scrape_interval: 100ms
  static_configs: [{{targets: ['{addr}']}}]
- job_name: insecure
  scheme: https
  scrape_interval: 100ms
  tls_config: {{insecure_skip_verify: true}}
  static_configs: [{{targets: ['{addr}']}}]
"#
    );
    let cfgs: Vec<ScrapeConfig> = serde_saphyr::from_str(&y).unwrap();
    let db = Arc::new(MemStorage::new());
    let mgr = ScrapeManager::new(db.clone(), Arc::new(MetadataStore::new()));
    mgr.apply(&GlobalConfig::default(), &cfgs).unwrap();
    for job in ["trusted", "insecure"] {
        let m = [
            Matcher::equal("__name__", "tls_metric"),
            Matcher::equal("job", job),
        ];
        eventually("scraped over TLS", || last_value(&db, &m) == Some(1.0)).await;
    }
    let up = [
        Matcher::equal("__name__", "up"),
        Matcher::equal("job", "system_roots"),
    ];
    eventually("unknown CA → up=0", || last_value(&db, &up) == Some(0.0)).await;
    let t = mgr
        .targets()
        .active_targets
        .into_iter()
        .find(|t| t.scrape_pool == "trusted")
        .unwrap();
    assert!(t.scrape_url.starts_with("https://"), "{}", t.scrape_url);
    // A missing CA file fails apply and changes nothing.
    let mut broken = cfgs.clone();
    broken[0].tls_config.as_mut().unwrap().ca_file = Some("/nonexistent/ca.pem".into());
    assert!(mgr.apply(&GlobalConfig::default(), &broken).is_err());
    assert_eq!(mgr.targets().active_targets.len(), 3);
    mgr.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_protocols_and_fallback() {
    let addr = serve(Arc::new(Mutex::new(String::new()))).await;
    let y = format!(
        r#"
- job_name: proto
  scrape_interval: 100ms
  metrics_path: /accept
  scrape_protocols: [PrometheusText0.0.4]
  static_configs: [{{targets: ['{addr}']}}]
- job_name: fallback
  scrape_interval: 100ms
  metrics_path: /noct
  fallback_scrape_protocol: OpenMetricsText1.0.0
  static_configs: [{{targets: ['{addr}']}}]
- job_name: nofallback
  scrape_interval: 100ms
  metrics_path: /noct
  static_configs: [{{targets: ['{addr}']}}]
"#
    );
    let cfgs: Vec<ScrapeConfig> = serde_saphyr::from_str(&y).unwrap();
    let db = Arc::new(MemStorage::new());
    let mgr = ScrapeManager::new(db.clone(), Arc::new(MetadataStore::new()));
    mgr.apply(&GlobalConfig::default(), &cfgs).unwrap();
    let seen = [Matcher::equal("__name__", "accept_seen")];
    eventually("accept header echoed", || !select(&db, &seen).is_empty()).await;
    assert_eq!(
        select(&db, &seen)[0].labels.get("accept"),
        Some("text/plain;version=0.0.4;q=0.6,*/*;q=0.5")
    );
    let no_ct = [Matcher::equal("__name__", "no_ct")];
    eventually("fallback protocol parses OpenMetrics", || {
        !select(&db, &no_ct).is_empty()
    })
    .await;
    assert_eq!(select(&db, &no_ct)[0].samples[0].t, 1_700_000_000_250);
    let up = [
        Matcher::equal("__name__", "up"),
        Matcher::equal("job", "nofallback"),
    ];
    eventually("0.0.4 fallback rejects float timestamps", || {
        last_value(&db, &up) == Some(0.0)
    })
    .await;
    mgr.shutdown().await;
}

#[test]
fn apply_outside_runtime_and_invalid_config_fail() {
    let mgr = ScrapeManager::new(Arc::new(MemStorage::new()), Arc::new(MetadataStore::new()));
    let cfg = vec![ScrapeConfig::new("a", vec!["127.0.0.1:1".into()])];
    assert!(mgr.apply(&GlobalConfig::default(), &cfg).is_err());
    let dup = vec![cfg[0].clone(), cfg[0].clone()];
    let e = mgr.apply(&GlobalConfig::default(), &dup).unwrap_err();
    assert_eq!(
        vigia_model::HasKind::kind(&e),
        vigia_ingest::ErrorKind::BadData
    );
    assert!(mgr.targets().active_targets.is_empty());
}
