//! Self-metrics as plain data: a component describes its counters and gauges as
//! [`MetricFamily`] values, and the HTTP layer exposes them with the rest of `/metrics` (through
//! `prometheus-client`), so no crate writes the exposition format by hand.

/// Counter or gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// Only goes up (its name ends in `_total`).
    Counter,
    /// Goes up and down.
    Gauge,
}

/// One metric family: name, help, kind and its labelled values.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricFamily {
    /// The name as queried (`vigia_rule_group_evaluations_total`).
    pub name: String,
    /// One line saying what it counts.
    pub help: String,
    /// Counter or gauge.
    pub kind: MetricKind,
    /// Label pairs and value of each series.
    pub samples: Vec<(Vec<(String, String)>, f64)>,
}

impl MetricFamily {
    /// An empty counter family.
    pub fn counter(name: &str, help: &str) -> Self {
        Self::new(name, help, MetricKind::Counter)
    }

    /// An empty gauge family.
    pub fn gauge(name: &str, help: &str) -> Self {
        Self::new(name, help, MetricKind::Gauge)
    }

    fn new(name: &str, help: &str, kind: MetricKind) -> Self {
        MetricFamily {
            name: name.to_string(),
            help: help.to_string(),
            kind,
            samples: Vec::new(),
        }
    }

    /// Adds a series.
    pub fn push(&mut self, labels: &[(&str, &str)], value: f64) {
        let labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples.push((labels, value));
    }

    /// Adds a series (builder form).
    pub fn with(mut self, labels: &[(&str, &str)], value: f64) -> Self {
        self.push(labels, value);
        self
    }
}

/// The value of series `name{labels}` among `families` (labels in any order).
pub fn find(families: &[MetricFamily], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let fam = families.iter().find(|f| f.name == name)?;
    fam.samples
        .iter()
        .find(|(ls, _)| {
            ls.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| ls.iter().any(|(a, b)| a == k && b == v))
        })
        .map(|(_, v)| *v)
}

/// A component that reports self-metrics.
pub trait MetricsSource: Send + Sync {
    /// The current values.
    fn metric_families(&self) -> Vec<MetricFamily>;
}
