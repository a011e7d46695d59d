//! Metric metadata (TYPE / HELP / UNIT) gathered from scrapes and pushes, kept in memory for the
//! `/api/v1/metadata` endpoint.

use std::collections::BTreeMap;
use std::sync::RwLock;

/// Metadata of one metric family.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct MetricMetadata {
    /// Metric family name.
    pub metric: String,
    /// `counter`, `gauge`, `histogram`, `gaugehistogram`, `summary`, `info`, `stateset` or
    /// `unknown`.
    pub kind: String,
    /// Help text (unescaped).
    pub help: String,
    /// Unit (OpenMetrics), possibly empty.
    pub unit: String,
}

/// Most metric families remembered; more are ignored so a hostile client cannot exhaust memory.
const MAX_METRICS: usize = 200_000;
/// Most distinct metadata variants remembered per metric.
const MAX_VARIANTS: usize = 8;

/// Thread-safe store of the metadata seen so far, deduplicated per metric.
#[derive(Debug, Default)]
pub struct MetadataStore {
    by_metric: RwLock<BTreeMap<String, Vec<MetricMetadata>>>,
}

impl MetadataStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records metadata; identical entries are stored once.
    pub fn record(&self, items: &[MetricMetadata]) {
        if items.is_empty() {
            return;
        }
        let Ok(mut map) = self.by_metric.write() else {
            return;
        };
        for m in items {
            if m.metric.is_empty() {
                continue;
            }
            if !map.contains_key(&m.metric) && map.len() >= MAX_METRICS {
                continue;
            }
            let v = map.entry(m.metric.clone()).or_default();
            if !v.contains(m) && v.len() < MAX_VARIANTS {
                v.push(m.clone());
            }
        }
    }

    /// Metadata by metric name, for one metric (`Some(name)`) or all; `limit` caps the number of
    /// metrics returned (`None` = no cap).
    pub fn query(
        &self,
        metric: Option<&str>,
        limit: Option<usize>,
    ) -> BTreeMap<String, Vec<MetricMetadata>> {
        let Ok(map) = self.by_metric.read() else {
            return BTreeMap::new();
        };
        let limit = limit.unwrap_or(usize::MAX);
        match metric {
            Some(name) => map
                .get(name)
                .map(|v| (name.to_string(), v.clone()))
                .into_iter()
                .take(limit)
                .collect(),
            None => map
                .iter()
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// Number of metrics known.
    pub fn len(&self) -> usize {
        self.by_metric.read().map(|m| m.len()).unwrap_or(0)
    }

    /// True when nothing is known.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(metric: &str, kind: &str) -> MetricMetadata {
        MetricMetadata {
            metric: metric.into(),
            kind: kind.into(),
            help: "h".into(),
            unit: String::new(),
        }
    }

    #[test]
    fn dedup_and_query() {
        let s = MetadataStore::new();
        s.record(&[
            md("a", "counter"),
            md("a", "counter"),
            md("b", "gauge"),
            md("a", "gauge"),
        ]);
        let all = s.query(None, None);
        assert_eq!(all.len(), 2);
        assert_eq!(all["a"].len(), 2);
        assert_eq!(s.query(Some("b"), None)["b"][0].kind, "gauge");
        assert!(s.query(Some("zz"), None).is_empty());
        assert_eq!(s.query(None, Some(1)).len(), 1);
    }
}
