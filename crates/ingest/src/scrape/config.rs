//! Scrape configuration as Prometheus users write it (`global` and `scrape_configs`), with
//! Prometheus defaults and the cross-field checks Prometheus performs.

use crate::IngestError;
use crate::relabel::RelabelConfig;
use std::collections::{BTreeMap, BTreeSet};
pub use vigia_httpclient::{Authorization, BasicAuth, HttpClientConfig, Secret, TlsConfig};
pub use vigia_model::ByteSize;
use vigia_model::PromDuration;

const DEFAULT_INTERVAL: PromDuration = PromDuration(60_000);
const DEFAULT_TIMEOUT: PromDuration = PromDuration(10_000);

/// The `global` section (the scrape-related part, plus `evaluation_interval` so a Prometheus
/// configuration file parses; rules use that one).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Default scrape interval (1m).
    #[serde(default)]
    pub scrape_interval: Option<PromDuration>,
    /// Default scrape timeout (10s, or the interval when that is shorter).
    #[serde(default)]
    pub scrape_timeout: Option<PromDuration>,
    /// Rule evaluation interval (1m); not used by scraping.
    #[serde(default)]
    pub evaluation_interval: Option<PromDuration>,
    /// Labels added when talking to external systems (remote write, alerts); not added to
    /// scraped series, as in Prometheus.
    #[serde(default)]
    pub external_labels: BTreeMap<String, String>,
}

impl GlobalConfig {
    /// Effective default scrape interval.
    pub fn scrape_interval(&self) -> PromDuration {
        self.scrape_interval.unwrap_or(DEFAULT_INTERVAL)
    }

    /// Effective default scrape timeout.
    pub fn scrape_timeout(&self) -> PromDuration {
        match self.scrape_timeout {
            Some(t) => t,
            None => DEFAULT_TIMEOUT.min(self.scrape_interval()),
        }
    }
}

/// A `static_configs` entry.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` addresses.
    pub targets: Vec<String>,
    /// Labels given to every target of the group.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_refresh() -> PromDuration {
    PromDuration(300_000)
}

/// A `file_sd_configs` entry: JSON or YAML files listing target groups.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// File paths; the last path component may contain `*` and `?` wildcards. Files must end in
    /// `.json`, `.yml` or `.yaml`.
    pub files: Vec<String>,
    /// How often the files are re-read (5m).
    #[serde(default = "default_refresh")]
    pub refresh_interval: PromDuration,
}

fn default_metrics_path() -> String {
    "/metrics".into()
}

fn default_scheme() -> String {
    "http".into()
}

fn yes() -> bool {
    true
}

/// One `scrape_configs` entry (a scrape pool).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfig {
    /// Pool name, the default `job` label; unique.
    pub job_name: String,
    /// Interval between scrapes (global default).
    #[serde(default)]
    pub scrape_interval: Option<PromDuration>,
    /// Per-scrape timeout (global default, capped at the interval when not set explicitly).
    #[serde(default)]
    pub scrape_timeout: Option<PromDuration>,
    /// HTTP path (`/metrics`).
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    /// `http` or `https`.
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Keep the scraped labels on conflict with target labels (else rename them `exported_*`).
    #[serde(default)]
    pub honor_labels: bool,
    /// Keep timestamps present in the scraped data (default true).
    #[serde(default = "yes")]
    pub honor_timestamps: bool,
    /// URL query parameters.
    #[serde(default)]
    pub params: BTreeMap<String, Vec<String>>,
    /// Statically listed targets.
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    /// File-based discovery.
    #[serde(default)]
    pub file_sd_configs: Vec<FileSdConfig>,
    /// Relabelling of discovered targets.
    #[serde(default)]
    pub relabel_configs: Vec<RelabelConfig>,
    /// Relabelling of scraped samples.
    #[serde(default)]
    pub metric_relabel_configs: Vec<RelabelConfig>,
    /// Most samples accepted per scrape after metric relabelling; 0 = no limit. Exceeding it
    /// fails the whole scrape.
    #[serde(default)]
    pub sample_limit: usize,
    /// Most labels per sample; 0 = no limit. Exceeding it fails the whole scrape.
    #[serde(default)]
    pub label_limit: usize,
    /// HTTP basic authentication.
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization` header (`type` defaults to `Bearer`).
    #[serde(default)]
    pub authorization: Option<Authorization>,
    /// Bearer token (deprecated form of `authorization`).
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// File holding the bearer token, read at every scrape.
    #[serde(default)]
    pub bearer_token_file: Option<String>,
    /// HTTP proxy for this pool's targets.
    #[serde(default)]
    pub proxy_url: Option<String>,
    /// Allow HTTP/2 (default true).
    #[serde(default)]
    pub enable_http2: Option<bool>,
    /// Longest label name per sample; 0 = no limit. Exceeding it fails the whole scrape.
    #[serde(default)]
    pub label_name_length_limit: usize,
    /// Longest label value per sample; 0 = no limit. Exceeding it fails the whole scrape.
    #[serde(default)]
    pub label_value_length_limit: usize,
    /// Largest uncompressed body accepted (`10MB`, `512KiB`, base 2); unset or 0 = 256 MiB.
    #[serde(default)]
    pub body_size_limit: Option<ByteSize>,
    /// Follow HTTP redirects (default true).
    #[serde(default = "yes")]
    pub follow_redirects: bool,
    /// Dropped targets listed on the status page; 0 = all (up to 1000 per pool).
    #[serde(default)]
    pub keep_dropped_targets: usize,
    /// TLS settings for `https` targets (read when the configuration is applied).
    #[serde(default)]
    pub tls_config: Option<TlsConfig>,
    /// Exposition formats to negotiate, in order of preference (Prometheus names:
    /// `OpenMetricsText1.0.0`, `OpenMetricsText0.0.1`, `PrometheusText1.0.0`,
    /// `PrometheusText0.0.4`; `PrometheusProto` is not supported). Default: OpenMetrics first,
    /// then the 0.0.4 text format.
    #[serde(default)]
    pub scrape_protocols: Option<Vec<String>>,
    /// Format assumed when a target sends no or an unknown `Content-Type` (default
    /// `PrometheusText0.0.4`).
    #[serde(default)]
    pub fallback_scrape_protocol: Option<String>,
    /// Also write staleness markers for series exposed with explicit timestamps.
    #[serde(default)]
    pub track_timestamps_staleness: bool,
    /// Accepted for compatibility; vigia does not request compressed responses.
    #[serde(default = "yes")]
    pub enable_compression: bool,
}

/// The `Accept` header value of each supported scrape protocol.
pub(crate) fn protocol_header(name: &str) -> Option<&'static str> {
    Some(match name {
        "OpenMetricsText1.0.0" => "application/openmetrics-text;version=1.0.0",
        "OpenMetricsText0.0.1" => "application/openmetrics-text;version=0.0.1",
        "PrometheusText1.0.0" => "text/plain;version=1.0.0;escaping=allow-utf-8",
        "PrometheusText0.0.4" => "text/plain;version=0.0.4",
        _ => return None,
    })
}

const DEFAULT_PROTOCOLS: [&str; 3] = [
    "OpenMetricsText1.0.0",
    "OpenMetricsText0.0.1",
    "PrometheusText0.0.4",
];

/// Builds an `Accept` header the way Prometheus does: each protocol with a decreasing
/// `q` weight, then `*/*`.
pub(crate) fn accept_header(protocols: Option<&[String]>) -> String {
    let list: Vec<&str> = match protocols {
        Some(p) if !p.is_empty() => p.iter().map(String::as_str).collect(),
        _ => DEFAULT_PROTOCOLS.to_vec(),
    };
    let mut weight = 6usize;
    let mut vals = Vec::new();
    for p in list {
        if let Some(h) = protocol_header(p) {
            vals.push(format!("{h};q=0.{weight}"));
            weight = weight.saturating_sub(1).max(1);
        }
    }
    vals.push(format!("*/*;q=0.{weight}"));
    vals.join(",")
}

impl ScrapeConfig {
    /// The pool's HTTP client settings (Prometheus writes them inline in the scrape config).
    pub fn http_client(&self) -> HttpClientConfig {
        HttpClientConfig {
            basic_auth: self.basic_auth.clone(),
            authorization: self.authorization.clone(),
            oauth2: None,
            bearer_token: self.bearer_token.clone(),
            bearer_token_file: self.bearer_token_file.clone(),
            proxy_url: self.proxy_url.clone(),
            tls_config: self.tls_config.clone(),
            follow_redirects: Some(self.follow_redirects),
            enable_http2: self.enable_http2,
        }
    }

    /// A pool with Prometheus defaults and the given static targets (handy in code and tests).
    pub fn new(job_name: impl Into<String>, targets: Vec<String>) -> Self {
        Self {
            job_name: job_name.into(),
            scrape_interval: None,
            scrape_timeout: None,
            metrics_path: default_metrics_path(),
            scheme: default_scheme(),
            honor_labels: false,
            honor_timestamps: true,
            params: BTreeMap::new(),
            static_configs: vec![StaticConfig {
                targets,
                labels: BTreeMap::new(),
            }],
            file_sd_configs: Vec::new(),
            relabel_configs: Vec::new(),
            metric_relabel_configs: Vec::new(),
            sample_limit: 0,
            label_limit: 0,
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: None,
            proxy_url: None,
            enable_http2: None,
            label_name_length_limit: 0,
            label_value_length_limit: 0,
            body_size_limit: None,
            follow_redirects: true,
            keep_dropped_targets: 0,
            tls_config: None,
            scrape_protocols: None,
            fallback_scrape_protocol: None,
            track_timestamps_staleness: false,
            enable_compression: true,
        }
    }

    /// Effective interval given the global section.
    pub fn interval(&self, global: &GlobalConfig) -> PromDuration {
        self.scrape_interval
            .unwrap_or_else(|| global.scrape_interval())
    }

    /// Effective timeout given the global section.
    pub fn timeout(&self, global: &GlobalConfig) -> PromDuration {
        match self.scrape_timeout {
            Some(t) => t,
            None => {
                let g = global.scrape_timeout();
                g.min(self.interval(global))
            }
        }
    }
}

fn valid_file_pattern(p: &str) -> bool {
    let name = p.rsplit('/').next().unwrap_or(p);
    let dir_part = p.get(..p.len() - name.len()).unwrap_or_default();
    (name.ends_with(".json") || name.ends_with(".yml") || name.ends_with(".yaml"))
        && !dir_part.contains(['*', '?', '['])
}

/// Checks a whole scrape configuration, reporting every problem found (joined by `; `).
pub fn validate(global: &GlobalConfig, configs: &[ScrapeConfig]) -> Result<(), IngestError> {
    let errs = problems(global, configs);
    if errs.is_empty() {
        Ok(())
    } else {
        Err(IngestError::Config(errs.join("; ")))
    }
}

/// Every problem of `global:` and `scrape_configs:` (what [`validate`] reports, one per entry).
pub fn problems(global: &GlobalConfig, configs: &[ScrapeConfig]) -> Vec<String> {
    let mut errs = Vec::new();
    if global.scrape_interval().as_millis() <= 0 {
        errs.push("global scrape_interval must be positive".to_string());
    }
    if global.scrape_timeout() > global.scrape_interval() {
        errs.push("global scrape_timeout greater than scrape_interval".to_string());
    }
    for name in global.external_labels.keys() {
        if !vigia_model::is_valid_label_name(name) {
            errs.push(format!("invalid external label name {name:?}"));
        }
    }
    let mut seen = BTreeSet::new();
    for c in configs {
        let job = &c.job_name;
        if job.is_empty() {
            errs.push("job_name is empty".into());
        }
        if !seen.insert(job.as_str()) {
            errs.push(format!(
                "found multiple scrape configs with job name {job:?}"
            ));
        }
        let (iv, to) = (c.interval(global), c.timeout(global));
        if iv.as_millis() <= 0 {
            errs.push(format!("job {job:?}: scrape_interval must be positive"));
        }
        if to.as_millis() <= 0 {
            errs.push(format!("job {job:?}: scrape_timeout must be positive"));
        }
        if to > iv {
            errs.push(format!(
                "job {job:?}: scrape timeout greater than scrape interval ({to} > {iv})"
            ));
        }
        if c.scheme != "http" && c.scheme != "https" {
            errs.push(format!(
                "job {job:?}: unsupported scheme {:?} (http or https)",
                c.scheme
            ));
        }
        if !c.metrics_path.starts_with('/') {
            errs.push(format!(
                "job {job:?}: metrics_path {:?} must start with '/'",
                c.metrics_path
            ));
        }
        for sc in &c.static_configs {
            for t in &sc.targets {
                if t.is_empty() || t.contains('/') {
                    errs.push(format!("job {job:?}: invalid target address {t:?}"));
                }
            }
            for name in sc.labels.keys() {
                if !vigia_model::is_valid_label_name(name) {
                    errs.push(format!("job {job:?}: invalid label name {name:?}"));
                }
            }
        }
        for fsd in &c.file_sd_configs {
            if fsd.files.is_empty() {
                errs.push(format!("job {job:?}: file_sd_configs entry without files"));
            }
            if fsd.refresh_interval.as_millis() <= 0 {
                errs.push(format!(
                    "job {job:?}: file_sd refresh_interval must be positive"
                ));
            }
            for f in &fsd.files {
                if !valid_file_pattern(f) {
                    errs.push(format!(
                        "job {job:?}: file_sd path {f:?} must end in .json, .yml or .yaml and may only use wildcards in its last component"
                    ));
                }
            }
        }
        errs.extend(c.http_client().problems(&format!("job {job:?}")));
        for p in c
            .scrape_protocols
            .iter()
            .flatten()
            .chain(c.fallback_scrape_protocol.iter())
        {
            if protocol_header(p).is_none() {
                errs.push(format!(
                    "job {job:?}: unsupported scrape protocol {p:?} (OpenMetricsText1.0.0, OpenMetricsText0.0.1, PrometheusText1.0.0, PrometheusText0.0.4)"
                ));
            }
        }
        for (i, r) in c.relabel_configs.iter().enumerate() {
            if let Err(e) = r.validate() {
                errs.push(format!("job {job:?}: relabel_configs[{i}]: {e}"));
            }
        }
        for (i, r) in c.metric_relabel_configs.iter().enumerate() {
            if let Err(e) = r.validate() {
                errs.push(format!("job {job:?}: metric_relabel_configs[{i}]: {e}"));
            }
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct File {
        #[serde(default)]
        global: GlobalConfig,
        scrape_configs: Vec<ScrapeConfig>,
    }

    #[test]
    fn prometheus_style_yaml() {
        let y = r#"
global:
  scrape_interval: 15s
  evaluation_interval: 30s
  external_labels: {region: eu}
scrape_configs:
  - job_name: node
    scrape_interval: 5s
    params: {module: [http_2xx]}
    static_configs:
      - targets: ['localhost:9100', 'h2:9100']
        labels: {env: prod}
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
    metric_relabel_configs:
      - action: labeldrop
        regex: tmp_.*
    sample_limit: 1000
  - job_name: files
    file_sd_configs:
      - files: ['/etc/targets/*.json']
        refresh_interval: 1m
"#;
        let f: File = serde_saphyr::from_str(y).unwrap();
        validate(&f.global, &f.scrape_configs).unwrap();
        let n = &f.scrape_configs[0];
        assert_eq!(n.interval(&f.global).as_millis(), 5_000);
        assert_eq!(n.timeout(&f.global).as_millis(), 5_000);
        assert_eq!(n.metrics_path, "/metrics");
        assert!(n.honor_timestamps);
        let fi = &f.scrape_configs[1];
        assert_eq!(fi.interval(&f.global).as_millis(), 15_000);
        assert_eq!(fi.timeout(&f.global).as_millis(), 10_000);
        assert_eq!(fi.file_sd_configs[0].refresh_interval.as_millis(), 60_000);
        assert_eq!(
            GlobalConfig::default().scrape_interval().as_millis(),
            60_000
        );
    }

    #[test]
    fn bad_configs() {
        assert!(
            serde_saphyr::from_str::<File>("scrape_configs: [{job_name: a, scrape_intervl: 1s}]")
                .is_err()
        );
        assert!(
            serde_saphyr::from_str::<File>("scrape_configs: [{job_name: a, scrape_interval: 1x}]")
                .is_err()
        );
        let cases = [
            (
                "scrape_configs: [{job_name: a}, {job_name: a}]",
                "multiple scrape configs",
            ),
            (
                "scrape_configs: [{job_name: a, scrape_interval: 5s, scrape_timeout: 10s}]",
                "greater than",
            ),
            (
                "scrape_configs: [{job_name: a, scheme: ftp}]",
                "unsupported scheme",
            ),
            (
                "scrape_configs: [{job_name: a, metrics_path: x}]",
                "must start with",
            ),
            (
                "scrape_configs: [{job_name: a, file_sd_configs: [{files: [x.txt]}]}]",
                "must end in",
            ),
            (
                "scrape_configs: [{job_name: a, relabel_configs: [{action: hashmod, target_label: x}]}]",
                "relabel_configs[0]",
            ),
            (
                "scrape_configs: [{job_name: a, static_configs: [{targets: ['http://x/']}]}]",
                "invalid target",
            ),
        ];
        for (y, needle) in cases {
            let f: File = serde_saphyr::from_str(y).unwrap();
            let e = validate(&f.global, &f.scrape_configs)
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{y}: {e}");
        }
    }
}
