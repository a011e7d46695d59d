//! Turning discovered addresses into scrape targets: the Prometheus label pipeline (`__address__`,
//! `__scheme__`, `__metrics_path__`, `__param_*`, `job`), target relabelling, `instance`
//! defaulting, removal of `__`-prefixed labels and construction of the scrape URL.

use super::config::{GlobalConfig, ScrapeConfig};
use crate::relabel;
use std::collections::BTreeMap;
use vigia_model::{Label, Labels, PromDuration, is_valid_label_name};

/// A target ready to be scraped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Target {
    /// Labels before relabelling.
    pub discovered: Labels,
    /// Final labels attached to every scraped sample.
    pub labels: Labels,
    /// Full scrape URL.
    pub url: String,
    /// Interval in ms.
    pub interval_ms: i64,
    /// Timeout in ms.
    pub timeout_ms: i64,
}

impl Target {
    /// Identity of the target within its pool: labels, URL, interval and timeout.
    pub fn key(&self) -> u64 {
        let mut h = self.labels.stable_hash();
        for b in self
            .url
            .bytes()
            .chain(self.interval_ms.to_le_bytes())
            .chain(self.timeout_ms.to_le_bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    }
}

/// Outcome of building a target.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Populated {
    /// Scrape it.
    Active(Target),
    /// Relabelling dropped it, or it is unusable (the reason is logged).
    Dropped(Labels),
}

/// Go's `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn get<'a>(pairs: &'a [Label], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|l| l.name == name)
        .map(|l| l.value.as_str())
}

fn set_default(pairs: &mut Vec<Label>, name: &str, value: &str) {
    if get(pairs, name).is_none() && !value.is_empty() {
        pairs.push(Label {
            name: name.into(),
            value: value.into(),
        });
    }
}

/// Builds the target for one discovered address.
pub(crate) fn populate(
    cfg: &ScrapeConfig,
    global: &GlobalConfig,
    address: &str,
    group_labels: &BTreeMap<String, String>,
    extra: &BTreeMap<String, String>,
) -> Populated {
    let mut pairs = vec![Label {
        name: "__address__".into(),
        value: address.into(),
    }];
    for (k, v) in group_labels.iter().chain(extra) {
        set_default(&mut pairs, k, v);
    }
    let interval = cfg.interval(global);
    let timeout = cfg.timeout(global);
    set_default(&mut pairs, "job", &cfg.job_name);
    set_default(&mut pairs, "__scheme__", &cfg.scheme);
    set_default(&mut pairs, "__metrics_path__", &cfg.metrics_path);
    set_default(&mut pairs, "__scrape_interval__", &interval.to_string());
    set_default(&mut pairs, "__scrape_timeout__", &timeout.to_string());
    for (k, vs) in &cfg.params {
        if let Some(first) = vs.first() {
            set_default(&mut pairs, &format!("__param_{k}"), first);
        }
    }
    pairs.retain(|l| !l.value.is_empty());
    let discovered = Labels::from_pairs(pairs.iter().map(|l| (l.name.clone(), l.value.clone())));
    let drop = |why: &str| {
        tracing::debug!(job = %cfg.job_name, target = %address, reason = why, "target dropped");
        Populated::Dropped(discovered.clone())
    };
    let Some(mut pairs) = relabel::process_pairs(pairs, &cfg.relabel_configs) else {
        return drop("relabelling");
    };
    let Some(addr) = get(&pairs, "__address__").map(str::to_string) else {
        return drop("no __address__");
    };
    if addr.contains('/') {
        return drop("__address__ contains a path");
    }
    let scheme = get(&pairs, "__scheme__").unwrap_or("http").to_string();
    if scheme != "http" && scheme != "https" {
        return drop("unsupported __scheme__");
    }
    let path = get(&pairs, "__metrics_path__")
        .unwrap_or("/metrics")
        .to_string();
    let parse_dur = |name: &str, dflt: PromDuration| match get(&pairs, name) {
        Some(s) => s.parse::<PromDuration>().ok(),
        None => Some(dflt),
    };
    let (Some(iv), Some(to)) = (
        parse_dur("__scrape_interval__", interval),
        parse_dur("__scrape_timeout__", timeout),
    ) else {
        return drop("invalid __scrape_interval__ or __scrape_timeout__");
    };
    if iv.as_millis() <= 0 || to.as_millis() <= 0 || to > iv {
        return drop("scrape timeout greater than interval");
    }
    let mut params: BTreeMap<String, Vec<String>> = cfg.params.clone();
    for l in &pairs {
        if let Some(k) = l.name.strip_prefix("__param_") {
            match params.get_mut(k) {
                Some(vs) if !vs.is_empty() => {
                    if let Some(first) = vs.first_mut() {
                        *first = l.value.clone();
                    }
                }
                _ => {
                    params.insert(k.to_string(), vec![l.value.clone()]);
                }
            }
        }
    }
    if get(&pairs, "instance").is_none() {
        pairs.push(Label {
            name: "instance".into(),
            value: addr.clone(),
        });
    }
    pairs.retain(|l| !l.name.starts_with("__"));
    if let Some(bad) = pairs.iter().find(|l| !is_valid_label_name(&l.name)) {
        let why = format!("invalid label name {:?}", bad.name);
        return drop(&why);
    }
    let mut url = format!("{scheme}://{addr}{path}");
    let query: Vec<String> = params
        .iter()
        .flat_map(|(k, vs)| {
            vs.iter()
                .map(move |v| format!("{}={}", query_escape(k), query_escape(v)))
        })
        .collect();
    if !query.is_empty() {
        url.push(if path.contains('?') { '&' } else { '?' });
        url.push_str(&query.join("&"));
    }
    Populated::Active(Target {
        discovered,
        labels: Labels::from_pairs(pairs.into_iter().map(|l| (l.name, l.value))),
        url,
        interval_ms: iv.as_millis(),
        timeout_ms: to.as_millis(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(y: &str) -> ScrapeConfig {
        serde_saphyr::from_str(y).unwrap()
    }

    #[test]
    fn defaults_and_url() {
        let c = cfg("job_name: node\nparams: {module: [a b, c]}\nscrape_interval: 30s");
        let Populated::Active(t) = populate(
            &c,
            &GlobalConfig::default(),
            "h:9100",
            &BTreeMap::new(),
            &BTreeMap::new(),
        ) else {
            panic!()
        };
        assert_eq!(t.labels.to_string(), "{instance=\"h:9100\", job=\"node\"}");
        assert_eq!(t.url, "http://h:9100/metrics?module=a+b&module=c");
        assert_eq!((t.interval_ms, t.timeout_ms), (30_000, 10_000));
        assert_eq!(t.discovered.get("__scheme__"), Some("http"));
        assert_eq!(t.discovered.get("__param_module"), Some("a b"));
    }

    #[test]
    fn blackbox_style_relabelling() {
        let c = cfg(r#"
job_name: blackbox
metrics_path: /probe
params: {module: [http_2xx]}
relabel_configs:
  - source_labels: [__address__]
    target_label: __param_target
  - source_labels: [__param_target]
    target_label: instance
  - target_label: __address__
    replacement: 127.0.0.1:9115
"#);
        let mut group = BTreeMap::new();
        group.insert("env".to_string(), "prod".to_string());
        let Populated::Active(t) = populate(
            &c,
            &GlobalConfig::default(),
            "example.com",
            &group,
            &BTreeMap::new(),
        ) else {
            panic!()
        };
        assert_eq!(
            t.url,
            "http://127.0.0.1:9115/probe?module=http_2xx&target=example.com"
        );
        assert_eq!(
            t.labels.to_string(),
            "{env=\"prod\", instance=\"example.com\", job=\"blackbox\"}"
        );
    }

    #[test]
    fn dropped_and_meta_removed() {
        let c = cfg(
            "job_name: j\nrelabel_configs: [{source_labels: [__meta_x], regex: skip, action: drop}]",
        );
        let mut extra = BTreeMap::new();
        extra.insert("__meta_x".to_string(), "skip".to_string());
        let got = populate(
            &c,
            &GlobalConfig::default(),
            "a:1",
            &BTreeMap::new(),
            &extra,
        );
        assert!(matches!(got, Populated::Dropped(l) if l.get("__meta_x") == Some("skip")));
        extra.insert("__meta_x".to_string(), "keep".to_string());
        let Populated::Active(t) = populate(
            &c,
            &GlobalConfig::default(),
            "a:1",
            &BTreeMap::new(),
            &extra,
        ) else {
            panic!()
        };
        assert_eq!(t.labels.get("__meta_x"), None);
        assert_eq!(t.discovered.get("__meta_x"), Some("keep"));
        let c = cfg(
            "job_name: j\nrelabel_configs: [{target_label: __scrape_timeout__, replacement: 2m}]",
        );
        assert!(matches!(
            populate(
                &c,
                &GlobalConfig::default(),
                "a:1",
                &BTreeMap::new(),
                &BTreeMap::new()
            ),
            Populated::Dropped(_)
        ));
    }
}
