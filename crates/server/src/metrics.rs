//! Self-monitoring: counters and histograms of the server, storage statistics and process
//! figures, exposed at `/metrics` in the Prometheus text format via `prometheus-client`.

use crate::AppState;
use crate::auth::VerifyCache;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;
use vigia_model::{MetricKind, StorageAdmin};

type LabelSet = Vec<(String, String)>;
type HistogramFamily = Family<LabelSet, Histogram, fn() -> Histogram>;

fn http_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 4.0, 10))
}

/// All self-metrics of the process.
pub struct SelfMetrics {
    registry: Registry,
    /// Samples stored, by protocol.
    pub samples_ingested: Family<LabelSet, Counter>,
    /// Samples or requests refused, by reason.
    pub samples_rejected: Family<LabelSet, Counter>,
    /// Requests refused before storage (bad body, limits), by protocol and reason.
    pub requests_rejected: Family<LabelSet, Counter>,
    /// HTTP request latency by handler and code.
    pub http_duration: HistogramFamily,
    /// Failed authentications.
    pub auth_failures: Counter,
    /// Configuration reloads by result.
    pub reloads: Family<LabelSet, Counter>,
    /// Cache of bcrypt verifications (shared with the auth middleware).
    pub auth_cache: Arc<VerifyCache>,
}

impl std::fmt::Debug for SelfMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SelfMetrics")
    }
}

impl SelfMetrics {
    /// Registers every metric; storage figures are read from `admin` at scrape time, and the
    /// families of `sources` (the other components) too.
    pub fn new(
        admin: Arc<dyn StorageAdmin>,
        version: &str,
        sources: Vec<crate::MetricsFn>,
    ) -> Self {
        let mut registry = Registry::default();
        let samples_ingested = Family::<LabelSet, Counter>::default();
        let samples_rejected = Family::<LabelSet, Counter>::default();
        let requests_rejected = Family::<LabelSet, Counter>::default();
        let http_duration: HistogramFamily = Family::new_with_constructor(http_histogram);
        let auth_failures = Counter::default();
        let reloads = Family::<LabelSet, Counter>::default();
        registry.register(
            "vigia_samples_ingested",
            "Samples stored, by ingest protocol",
            samples_ingested.clone(),
        );
        registry.register(
            "vigia_samples_rejected",
            "Samples refused, by reason",
            samples_rejected.clone(),
        );
        registry.register(
            "vigia_ingest_requests_rejected",
            "Ingest requests refused before storage, by protocol and reason",
            requests_rejected.clone(),
        );
        registry.register(
            "vigia_http_request_duration_seconds",
            "HTTP request latency by handler and status code",
            http_duration.clone(),
        );
        registry.register(
            "vigia_http_auth_failures",
            "Requests refused for missing or wrong credentials",
            auth_failures.clone(),
        );
        registry.register(
            "vigia_config_reloads",
            "Configuration reloads by result",
            reloads.clone(),
        );
        registry.register_collector(Box::new(StorageCollector {
            admin,
            version: version.to_string(),
        }));
        for source in sources {
            registry.register_collector(Box::new(FamiliesCollector(source)));
        }
        Self {
            registry,
            samples_ingested,
            samples_rejected,
            requests_rejected,
            http_duration,
            auth_failures,
            reloads,
            auth_cache: Arc::new(VerifyCache::default()),
        }
    }

    /// Counts stored samples of a protocol.
    pub fn ingested(&self, protocol: &str, n: u64) {
        self.samples_ingested
            .get_or_create(&vec![("protocol".into(), protocol.into())])
            .inc_by(n);
    }

    /// Counts refused samples by reason.
    pub fn rejected(&self, reason: &str, n: u64) {
        self.samples_rejected
            .get_or_create(&vec![("reason".into(), reason.into())])
            .inc_by(n);
    }

    /// Counts a refused request.
    pub fn request_rejected(&self, protocol: &str, reason: &str) {
        self.requests_rejected
            .get_or_create(&vec![
                ("protocol".into(), protocol.into()),
                ("reason".into(), reason.into()),
            ])
            .inc();
    }

    /// Renders the text exposition (OpenMetrics text, which Prometheus scrapes natively).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

struct StorageCollector {
    admin: Arc<dyn StorageAdmin>,
    version: String,
}

impl std::fmt::Debug for StorageCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageCollector")
    }
}

fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: f64,
) -> Result<(), std::fmt::Error> {
    ConstGauge::new(v).encode(enc.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

fn counter(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    v: u64,
) -> Result<(), std::fmt::Error> {
    ConstCounter::new(v).encode(enc.encode_descriptor(name, help, None, MetricType::Counter)?)
}

/// Reads `(cpu seconds, resident bytes, open fds)` of this process from /proc.
pub fn process_stats() -> Option<(f64, u64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command name: state is field 3, utime 14, stime 15, rss 24 (1-based in proc(5)).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let rss_pages: u64 = fields.get(21)?.parse().ok()?;
    let ticks = 100.0; // USER_HZ is 100 on every Linux we target
    let page = 4096;
    let fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0);
    Some(((utime + stime) / ticks, rss_pages * page, fds))
}

impl Collector for StorageCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.admin.stats();
        gauge(
            &mut enc,
            "vigia_tsdb_head_series",
            "Series in the head",
            s.head_series as f64,
        )?;
        gauge(
            &mut enc,
            "vigia_tsdb_head_chunks",
            "Chunks in the head",
            s.head_chunks as f64,
        )?;
        gauge(
            &mut enc,
            "vigia_tsdb_blocks_loaded",
            "Persistent blocks",
            s.blocks as f64,
        )?;
        gauge(
            &mut enc,
            "vigia_tsdb_storage_bytes",
            "Bytes of the data directory",
            s.bytes_on_disk as f64,
        )?;
        counter(
            &mut enc,
            "vigia_tsdb_compactions",
            "Compactions since start",
            s.compactions,
        )?;
        counter(
            &mut enc,
            "vigia_tsdb_samples_appended",
            "Samples appended since start",
            s.samples_appended,
        )?;
        counter(
            &mut enc,
            "vigia_tsdb_wal_fsyncs",
            "WAL fsyncs since start",
            s.wal_fsyncs,
        )?;
        if let Some(total) = s.wal_fsync_seconds.last().map(|(_, c)| *c) {
            let mut prev = 0;
            let buckets: Vec<(f64, u64)> = s
                .wal_fsync_seconds
                .iter()
                .map(|(ub, c)| {
                    let b = (*ub, c.saturating_sub(prev));
                    prev = *c;
                    b
                })
                .collect();
            enc.encode_descriptor(
                "vigia_tsdb_wal_fsync_duration_seconds",
                "WAL fsync latency",
                None,
                MetricType::Histogram,
            )?
            .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                s.wal_fsync_seconds_sum,
                total,
                &buckets,
                None,
            )?;
        }
        if let Some((cpu, rss, fds)) = process_stats() {
            ConstCounter::new(cpu).encode(enc.encode_descriptor(
                "process_cpu_seconds",
                "User and system CPU time, seconds",
                None,
                MetricType::Counter,
            )?)?;
            gauge(
                &mut enc,
                "process_resident_memory_bytes",
                "Resident memory",
                rss as f64,
            )?;
            gauge(
                &mut enc,
                "process_open_fds",
                "Open file descriptors",
                fds as f64,
            )?;
        }
        let mut info =
            enc.encode_descriptor("vigia_build", "Build information", None, MetricType::Info)?;
        info.encode_info(&vec![("version".to_string(), self.version.clone())])?;
        Ok(())
    }
}

/// Exposes the [`vigia_model::MetricFamily`] values another component reports.
struct FamiliesCollector(crate::MetricsFn);

impl std::fmt::Debug for FamiliesCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FamiliesCollector")
    }
}

impl Collector for FamiliesCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for fam in (self.0)() {
            // prometheus-client names a counter family without the `_total` of its samples.
            let (name, kind) = match fam.kind {
                MetricKind::Counter => (
                    fam.name.strip_suffix("_total").unwrap_or(&fam.name),
                    MetricType::Counter,
                ),
                MetricKind::Gauge => (fam.name.as_str(), MetricType::Gauge),
            };
            let mut family = enc.encode_descriptor(name, &fam.help, None, kind)?;
            for (labels, v) in &fam.samples {
                let m = family.encode_family(labels)?;
                match fam.kind {
                    MetricKind::Counter => ConstCounter::new(*v).encode(m)?,
                    MetricKind::Gauge => ConstGauge::new(*v).encode(m)?,
                }
            }
        }
        Ok(())
    }
}

/// Middleware: records latency per matched route and status code.
pub async fn track_http(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let handler = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "other".into());
    let start = Instant::now();
    let resp = next.run(req).await;
    let labels = vec![
        ("handler".to_string(), handler),
        ("code".to_string(), resp.status().as_u16().to_string()),
    ];
    state
        .metrics
        .http_duration
        .get_or_create(&labels)
        .observe(start.elapsed().as_secs_f64());
    resp
}
