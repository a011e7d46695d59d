//! vigia's configuration file: parsing (YAML via serde-saphyr), validation that reports every
//! error with file, line and column, environment overrides (`VIGIA_<SECTION>_<KEY>`), and a
//! redacted rendering for `/api/v1/status/config`.
//!
//! Precedence: command-line flag > environment > file > default. Flags are applied by the caller
//! after [`load`]; this module handles environment, file and defaults.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use vigia_ingest::scrape::{GlobalConfig, ScrapeConfig};
use vigia_model::{ByteSize, PromDuration};

pub use vigia_model::ConfigError;

/// All problems found in one file.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "{n} configuration error{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The whole configuration file.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Prometheus `global:`.
    pub global: GlobalConfig,
    /// Prometheus `scrape_configs:`.
    pub scrape_configs: Vec<ScrapeConfig>,
    /// `storage:`.
    pub storage: vigia_tsdb::StorageConfig,
    /// `web:`.
    pub web: vigia_server::WebConfig,
    /// `limits:`.
    pub limits: vigia_ingest::LimitsConfig,
    /// `query:`.
    pub query: vigia_promql::QueryConfig,
    /// `anomaly:`.
    pub anomaly: vigia_anomaly::AnomalyConfig,
    /// `kpis:`.
    pub kpis: Vec<vigia_report::KpiConfig>,
    /// `rule_files:` — Prometheus rule files (globs in the file name), relative to the config file.
    pub rule_files: Vec<String>,
    /// `alerting:` — an Alertmanager configuration (routing tree, receivers, inhibit rules,
    /// time intervals); `None` runs no alert routing.
    pub alerting: Option<vigia_notify::AmConfig>,
    /// `escalations:` — vigia's escalation policies for unacknowledged alerts.
    pub escalations: Vec<vigia_notify::EscalationPolicy>,
    /// `notify:` — vigia's delivery settings (SMS, Alertmanager forwarding, rate limits, retries).
    pub notify: vigia_receivers::NotifySettings,
    /// `dashboards:` — dashboard YAML files (globs), relative to the configuration file.
    pub dashboards: Vec<String>,
    /// The dashboards those files define (loaded and checked with the configuration).
    pub dashboard_defs: Vec<vigia_report::dashboard::Dashboard>,
    /// Directory of the configuration file (rule file paths are relative to it).
    pub base_dir: PathBuf,
    /// The file's text, for `/api/v1/status/config` (rendered redacted).
    pub source: String,
}

/// Top-level keys, so an unknown section is reported with its location.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct TopLevel {
    global: Option<serde::de::IgnoredAny>,
    scrape_configs: Option<serde::de::IgnoredAny>,
    storage: Option<serde::de::IgnoredAny>,
    web: Option<serde::de::IgnoredAny>,
    limits: Option<serde::de::IgnoredAny>,
    query: Option<serde::de::IgnoredAny>,
    anomaly: Option<serde::de::IgnoredAny>,
    kpis: Option<serde::de::IgnoredAny>,
    rule_files: Option<serde::de::IgnoredAny>,
    alerting: Option<serde::de::IgnoredAny>,
    escalations: Option<serde::de::IgnoredAny>,
    notify: Option<serde::de::IgnoredAny>,
    dashboards: Option<serde::de::IgnoredAny>,
}

/// Parses only one section, ignoring the others, so each section's first error is reported
/// independently of the others'.
macro_rules! section_parser {
    ($fn_name:ident, $field:ident, $ty:ty) => {
        fn $fn_name(text: &str) -> Result<Option<$ty>, serde_saphyr::Error> {
            #[derive(Deserialize)]
            struct Only {
                #[serde(default)]
                $field: Option<$ty>,
            }
            Ok(serde_saphyr::from_str::<Option<Only>>(text)?.and_then(|o| o.$field))
        }
    };
}

section_parser!(parse_global, global, GlobalConfig);
section_parser!(parse_scrape, scrape_configs, Vec<ScrapeConfig>);
section_parser!(parse_storage, storage, vigia_tsdb::StorageConfig);
section_parser!(parse_web, web, vigia_server::WebConfig);
section_parser!(parse_limits, limits, vigia_ingest::LimitsConfig);
section_parser!(parse_query, query, vigia_promql::QueryConfig);
section_parser!(parse_anomaly, anomaly, vigia_anomaly::AnomalyConfig);
section_parser!(parse_kpis, kpis, Vec<vigia_report::KpiConfig>);
section_parser!(parse_rule_files, rule_files, Vec<String>);
section_parser!(parse_alerting, alerting, vigia_notify::AmConfig);
section_parser!(
    parse_escalations,
    escalations,
    Vec<vigia_notify::EscalationPolicy>
);
section_parser!(parse_notify, notify, vigia_receivers::NotifySettings);
section_parser!(parse_dashboards, dashboards, Vec<String>);

fn located(file: &Path, e: &serde_saphyr::Error) -> ConfigError {
    ConfigError::from_yaml(file, e)
}

/// Parses and validates configuration text, collecting every error.
pub fn parse(file: &Path, text: &str) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    if let Err(e) = serde_saphyr::from_str::<Option<TopLevel>>(text) {
        push_once(&mut errors, located(file, &e));
    }
    let mut cfg = Config {
        source: text.to_string(),
        ..Config::default()
    };
    macro_rules! take {
        ($parser:ident, $field:ident) => {
            match $parser(text) {
                Ok(Some(v)) => cfg.$field = v,
                Ok(None) => {}
                Err(e) => {
                    push_once(&mut errors, located(file, &e));
                }
            }
        };
    }
    take!(parse_global, global);
    take!(parse_scrape, scrape_configs);
    take!(parse_storage, storage);
    take!(parse_web, web);
    take!(parse_limits, limits);
    take!(parse_query, query);
    take!(parse_anomaly, anomaly);
    take!(parse_kpis, kpis);
    take!(parse_rule_files, rule_files);
    match parse_alerting(text) {
        Ok(v) => cfg.alerting = v,
        Err(e) => push_once(&mut errors, located(file, &e)),
    }
    take!(parse_escalations, escalations);
    take!(parse_notify, notify);
    take!(parse_dashboards, dashboards);
    cfg.base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    errors.extend(load_dashboards(file, &mut cfg));
    errors.sort_by_key(|e| (e.line, e.column));
    errors.extend(validate(&cfg).into_iter().map(|message| ConfigError {
        file: file.to_path_buf(),
        line: 0,
        column: 0,
        message,
    }));
    if errors.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Adds `err` unless an error at the same position is already there (a YAML syntax error
/// fails every section's pass at the same place).
fn push_once(errors: &mut Vec<ConfigError>, err: ConfigError) {
    if !errors
        .iter()
        .any(|e| e.line == err.line && e.column == err.column && (e.line > 0 || *e == err))
    {
        errors.push(err);
    }
}

/// Loads the `dashboards:` files into `cfg.dashboard_defs`; returns every problem located in
/// its file (a KPI panel naming a KPI the `kpis:` section lacks is one).
fn load_dashboards(file: &Path, cfg: &mut Config) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let at = |f: &Path, message: String| ConfigError {
        file: f.to_path_buf(),
        line: 0,
        column: 0,
        message,
    };
    let paths = match vigia_template::expand_globs(&cfg.dashboards, &cfg.base_dir) {
        Ok(p) => p,
        Err(e) => return vec![at(file, format!("dashboards: {e}"))],
    };
    let mut names = std::collections::BTreeSet::new();
    for p in paths {
        match vigia_report::dashboard::Dashboard::load_file(&p) {
            Ok(d) => {
                for k in d.kpi_names() {
                    if !cfg.kpis.iter().any(|x| x.name == k) {
                        errors.push(at(
                            &p,
                            format!(
                                "KPI panel names {k:?}, which the kpis: section does not define"
                            ),
                        ));
                    }
                }
                if !names.insert(d.name.clone()) {
                    errors.push(at(&p, format!("a second dashboard named {:?}", d.name)));
                }
                cfg.dashboard_defs.push(d);
            }
            Err(errs) => errors.extend(errs.0.into_iter().map(|e| ConfigError {
                file: PathBuf::from(&e.file),
                line: e.line,
                column: e.column,
                message: e.message,
            })),
        }
    }
    errors
}

/// Checks that span several fields; returns every problem.
pub fn validate(cfg: &Config) -> Vec<String> {
    let mut errs = Vec::new();
    errs.extend(cfg.web.validate());
    errs.extend(cfg.storage.validate());
    errs.extend(cfg.limits.validate());
    errs.extend(cfg.query.validate());
    match &cfg.alerting {
        Some(am) => {
            errs.extend(am.validate().into_iter().map(|e| format!("alerting: {e}")));
            if let Err(e) = vigia_receivers::Templates::load_globs(&am.templates, &cfg.base_dir) {
                errs.push(format!("alerting: {e}"));
            }
            errs.extend(
                vigia_receivers::template_problems(&am.receivers, &cfg.notify)
                    .into_iter()
                    .map(|e| format!("alerting: {e}")),
            );
            errs.extend(vigia_notify::validate_escalations(am, &cfg.escalations));
            errs.extend(cfg.notify.validate(&am.receivers));
        }
        None => {
            if !cfg.escalations.is_empty() {
                errs.push(
                    "escalations: needs an alerting: section (receivers to escalate to)".into(),
                );
            }
            errs.extend(cfg.notify.validate(&[]));
        }
    }
    errs.extend(
        vigia_ingest::scrape::problems(&cfg.global, &cfg.scrape_configs)
            .into_iter()
            .map(|e| format!("scrape_configs: {e}")),
    );
    errs.extend(vigia_report::kpi::validate(&cfg.kpis));
    errs.extend(cfg.anomaly.validate());
    errs
}

/// Applies `VIGIA_<SECTION>_<KEY>` environment overrides. Unknown `VIGIA_` variables of a known
/// section are errors, so a typo does not go unnoticed.
pub fn apply_env(
    cfg: &mut Config,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Vec<String> {
    let mut errs = Vec::new();
    for (k, v) in vars {
        let Some(key) = k.strip_prefix("VIGIA_") else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        let dur = |v: &str| v.parse::<PromDuration>().map_err(|e| e.to_string());
        let num = |v: &str| v.parse::<usize>().map_err(|e| format!("{v:?}: {e}"));
        let bytes = |v: &str| v.parse::<ByteSize>().map_err(|e| e.to_string());
        let res: Result<(), String> = match key.as_str() {
            "storage_retention" => dur(&v).map(|d| cfg.storage.retention = d),
            "storage_retention_size" => bytes(&v).map(|b| cfg.storage.retention_size = b),
            "storage_block_duration" => dur(&v).map(|d| cfg.storage.block_duration = d),
            "storage_out_of_order_window" => dur(&v).map(|d| cfg.storage.out_of_order_window = d),
            "storage_max_series" => num(&v).map(|n| cfg.storage.max_series = n),
            "web_max_body_size" => bytes(&v).map(|b| cfg.web.max_body_size = Some(b)),
            "query_timeout" => dur(&v).map(|d| cfg.query.timeout = d),
            "query_max_samples" => num(&v).map(|n| cfg.query.max_samples = n),
            "query_lookback_delta" => dur(&v).map(|d| cfg.query.lookback_delta = d),
            "query_max_concurrent" => num(&v).map(|n| cfg.query.max_concurrent = n),
            "limits_max_series_per_request" => {
                num(&v).map(|n| cfg.limits.max_series_per_request = n)
            }
            "limits_max_samples_per_request" => {
                num(&v).map(|n| cfg.limits.max_samples_per_request = n)
            }
            "limits_max_label_count" => num(&v).map(|n| cfg.limits.max_label_count = n),
            "limits_max_label_name_length" => num(&v).map(|n| cfg.limits.max_label_name_length = n),
            "limits_max_label_value_length" => {
                num(&v).map(|n| cfg.limits.max_label_value_length = n)
            }
            k if ["storage_", "web_", "query_", "limits_"]
                .iter()
                .any(|p| k.starts_with(p)) =>
            {
                Err("unknown setting (see `vigia serve --help` for the list)".to_string())
            }
            _ => Ok(()),
        };
        if let Err(e) = res {
            errs.push(format!("environment variable {}: {e}", k));
        }
    }
    errs
}

/// Reads, parses and validates `file` (or the defaults when `None`), then applies the
/// environment.
pub fn load(file: Option<&Path>) -> Result<Config, ConfigErrors> {
    let mut cfg = match file {
        None => Config::default(),
        Some(f) => {
            let text = std::fs::read_to_string(f).map_err(|e| {
                ConfigErrors(vec![ConfigError {
                    file: f.to_path_buf(),
                    line: 0,
                    column: 0,
                    message: format!("cannot read: {e}"),
                }])
            })?;
            parse(f, &text)?
        }
    };
    let env_errs = apply_env(&mut cfg, std::env::vars());
    let mut errs: Vec<ConfigError> = env_errs
        .into_iter()
        .chain(validate(&cfg))
        .map(|message| ConfigError {
            file: file
                .map(Path::to_path_buf)
                .unwrap_or_else(|| "<environment>".into()),
            line: 0,
            column: 0,
            message,
        })
        .collect();
    errs.dedup();
    if errs.is_empty() {
        Ok(cfg)
    } else {
        Err(ConfigErrors(errs))
    }
}

/// Every secret value of a parsed configuration (passwords, hashes, tokens, credentials, keys).
pub fn secret_values(cfg: &Config) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    out.extend(cfg.web.users.iter().map(|u| u.password_hash.clone()));
    out.extend(cfg.web.tokens.iter().map(|t| t.token.clone()));
    for sc in &cfg.scrape_configs {
        out.extend(
            sc.basic_auth
                .as_ref()
                .and_then(|b| b.password.as_ref())
                .map(|p| p.0.clone()),
        );
        out.extend(
            sc.authorization
                .as_ref()
                .and_then(|a| a.credentials.as_ref())
                .map(|c| c.0.clone()),
        );
        out.extend(
            sc.tls_config
                .as_ref()
                .and_then(|t| t.key.as_ref())
                .map(|k| k.0.clone()),
        );
    }
    out.retain(|s| !s.is_empty());
    out
}

/// The configuration text for display: lines of secret keys and every secret value of the
/// parsed configuration (in any YAML style) replaced by `<secret>`.
pub fn redacted_config(cfg: &Config) -> String {
    let mut text = redacted(&cfg.source);
    let mut secrets = secret_values(cfg);
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in secrets {
        text = text.replace(&s, "<secret>");
    }
    text
}

/// The configuration text with the values of secret keys replaced by `<secret>`, line by line.
pub fn redacted(text: &str) -> String {
    let secret_keys = [
        "credentials:",
        "password_hash:",
        "token:",
        "password:",
        "bearer_token:",
        "api_key:",
        "auth_token:",
        "routing_key:",
        "service_key:",
        "smtp_auth_password:",
        "auth_password:",
        "auth_secret:",
        "smtp_auth_secret:",
        "slack_api_url:",
        "api_url:",
        "opsgenie_api_key:",
    ];
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start().trim_start_matches("- ");
            match secret_keys.iter().find(|k| trimmed.starts_with(*k)) {
                Some(k) => {
                    let indent = &line[..line.len() - line.trim_start().len()];
                    let dash = if line.trim_start().starts_with("- ") {
                        "- "
                    } else {
                        ""
                    };
                    format!("{indent}{dash}{k} <secret>")
                }
                None => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errs(text: &str) -> Vec<ConfigError> {
        parse(Path::new("vigia.yaml"), text)
            .err()
            .map(|e| e.0)
            .unwrap_or_default()
    }

    #[test]
    fn defaults_and_values() {
        let c = parse(
            Path::new("x.yaml"),
            "storage:\n  retention: 30d\n  retention_size: 1GB\n",
        )
        .unwrap();
        assert_eq!(c.storage.retention.as_millis(), 30 * 86_400_000);
        assert_eq!(c.storage.retention_size.0, 1 << 30);
        assert_eq!(c.query.max_concurrent, 20);
        let c = parse(Path::new("x.yaml"), "").unwrap();
        assert_eq!(c.storage.retention.as_millis(), 15 * 86_400_000);
    }

    #[test]
    fn every_error_is_reported_with_location() {
        let text =
            "storage:\n  retention: forever\nquery:\n  max_samples: 10\n  bogus: 1\nwebb: {}\n";
        let e = errs(text);
        assert!(e.len() >= 3, "{e:?}");
        let all = e
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(all.contains("vigia.yaml:2:"), "{all}");
        assert!(all.contains("bogus"), "{all}");
        assert!(all.contains("webb"), "{all}");
        assert!(e.iter().all(|e| e.line > 0), "{all}");
    }

    #[test]
    fn semantic_errors_collected() {
        let text = "query:\n  max_concurrent: 0\nweb:\n  users:\n    - {username: a, password_hash: plain}\n";
        let e = errs(text);
        assert_eq!(e.len(), 2, "{e:?}");
    }

    #[test]
    fn env_overrides() {
        let mut c = Config::default();
        let e = apply_env(
            &mut c,
            [
                ("VIGIA_STORAGE_RETENTION".to_string(), "1d".to_string()),
                ("VIGIA_QUERY_NOPE".into(), "1".into()),
            ],
        );
        assert_eq!(c.storage.retention.as_millis(), 86_400_000);
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn secrets_redacted() {
        let r = redacted(
            "web:\n  tokens:\n    - name: g\n      token: supersecretvalue123\n  users:\n  - username: a\n    password_hash: $2y$10$abc\n",
        );
        assert!(
            !r.contains("supersecretvalue123") && !r.contains("$2y$"),
            "{r}"
        );
        assert!(r.contains("token: <secret>"));
    }

    #[test]
    fn shipped_examples_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/kpis/webinar.yaml");
        let text = std::fs::read_to_string(&dir).unwrap();
        let c = parse(&dir, &text).unwrap();
        assert_eq!(c.kpis.len(), 17);
        assert!(
            c.kpis.iter().any(|k| k.name == "cost_per_acquisition"
                && k.direction == vigia_report::Direction::Lower)
        );
    }
}
