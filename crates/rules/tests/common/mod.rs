//! Shared helpers of the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::new_without_default)]

use std::sync::{Arc, Mutex};
use vigia_model::{Alert, ManualClock};
use vigia_model::{Appender, Labels, MemStorage, Querier, Sample, SeriesSamples};
use vigia_promql::{Engine, EngineOptions};
use vigia_rules::{ManagerOptions, RuleManager};

pub const T0: i64 = 1_700_000_040_000;
pub const MIN: i64 = 60_000;

pub struct Env {
    pub store: Arc<MemStorage>,
    pub clock: Arc<ManualClock>,
    pub sent: Arc<Mutex<Vec<Alert>>>,
}

impl Env {
    pub fn new() -> Self {
        Self {
            store: Arc::new(MemStorage::new()),
            clock: Arc::new(ManualClock::new(T0)),
            sent: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn manager(&self, opts: ManagerOptions) -> RuleManager {
        let sent = self.sent.clone();
        RuleManager::new(
            Engine::new(EngineOptions::default()),
            self.store.clone(),
            self.store.clone(),
            self.clock.clone(),
            Arc::new(move |a: Vec<Alert>| sent.lock().unwrap().extend(a)),
        )
        .with_options(opts)
    }

    /// Writes `value(minute)` for minutes `from..=to` of series `labels`.
    pub fn write(&self, labels: &[(&str, &str)], from: i64, to: i64, value: impl Fn(i64) -> f64) {
        let samples = (from..=to)
            .map(|m| Sample::new(T0 + m * MIN, value(m)))
            .collect();
        self.store
            .append(&[SeriesSamples {
                labels: Labels::from_pairs(labels.iter().copied()),
                samples,
            }])
            .unwrap();
    }

    /// All samples of the series with exactly these labels.
    pub fn samples(&self, labels: &[(&str, &str)]) -> Vec<Sample> {
        let want = Labels::from_pairs(labels.iter().copied());
        let m: Vec<vigia_model::Matcher> = want
            .iter()
            .map(|l| vigia_model::Matcher::equal(l.name.clone(), l.value.clone()))
            .collect();
        self.store
            .select(&m, i64::MIN / 2, i64::MAX / 2)
            .unwrap()
            .map(|s| s.unwrap())
            .filter(|s| s.labels == want)
            .flat_map(|s| s.samples)
            .collect()
    }

    pub fn take_sent(&self) -> Vec<Alert> {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }
}

pub fn group(yaml: &str) -> vigia_rules::Group {
    let r = vigia_rules::check_str(std::path::Path::new("test.yaml"), yaml);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r.groups.into_iter().next().unwrap()
}
