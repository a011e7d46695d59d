//! A simple in-memory implementation of [`Appender`] and [`Querier`], for tests of crates that
//! consume the storage traits (PromQL, rules, ML) without a real engine. Not durable; linear scans.

use crate::storage::*;
use crate::{Labels, Matcher, Sample};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::RwLock;

/// In-memory series store. Samples are kept sorted; a repeated timestamp overwrites.
#[derive(Debug, Default)]
pub struct MemStorage {
    series: RwLock<BTreeMap<Labels, BTreeMap<i64, f64>>>,
}

impl MemStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Removes everything.
    pub fn clear(&self) {
        if let Ok(mut s) = self.series.write() {
            s.clear();
        }
    }

    fn matching(&self, matchers: &[Matcher], min_t: i64, max_t: i64) -> Vec<Series> {
        let Ok(guard) = self.series.read() else {
            return Vec::new();
        };
        guard
            .iter()
            .filter(|(l, _)| {
                matchers
                    .iter()
                    .all(|m| m.matches(l.get(&m.name).unwrap_or("")))
            })
            .filter_map(|(l, s)| {
                let samples: Vec<Sample> = s
                    .range(min_t..=max_t)
                    .map(|(t, v)| Sample::new(*t, *v))
                    .collect();
                (!samples.is_empty()).then(|| Series {
                    labels: l.clone(),
                    samples,
                })
            })
            .collect()
    }
}

impl Appender for MemStorage {
    fn append(&self, batch: &[SeriesSamples]) -> Result<AppendOutcome, StorageError> {
        let mut out = AppendOutcome::default();
        let mut guard = self
            .series
            .write()
            .map_err(|_| StorageError::Other("lock poisoned".into()))?;
        for s in batch {
            let entry = guard.entry(s.labels.clone()).or_insert_with(|| {
                out.new_series += 1;
                BTreeMap::new()
            });
            for smp in &s.samples {
                entry.insert(smp.t, smp.v);
                out.appended += 1;
            }
        }
        Ok(out)
    }
}

impl Querier for MemStorage {
    fn select(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<SeriesSet, StorageError> {
        Ok(Box::new(
            self.matching(matchers, min_t, max_t).into_iter().map(Ok),
        ))
    }

    fn series(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<Labels>, StorageError> {
        Ok(self
            .matching(matchers, min_t, max_t)
            .into_iter()
            .map(|s| s.labels)
            .collect())
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut names = BTreeSet::new();
        for s in self.matching(matchers, min_t, max_t) {
            names.extend(s.labels.iter().map(|l| l.name.clone()));
        }
        Ok(names.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut vals = BTreeSet::new();
        for s in self.matching(matchers, min_t, max_t) {
            if let Some(v) = s.labels.get(name) {
                vals.insert(v.to_string());
            }
        }
        Ok(vals.into_iter().collect())
    }

    fn cardinality(&self, _limit: usize) -> Result<CardinalityStats, StorageError> {
        let n = self.series.read().map(|s| s.len()).unwrap_or(0);
        Ok(CardinalityStats {
            num_series: n as u64,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let m = MemStorage::new();
        let l = Labels::from_pairs([("__name__", "x"), ("a", "1")]);
        m.append(&[SeriesSamples {
            labels: l.clone(),
            samples: vec![Sample::new(2, 2.0), Sample::new(1, 1.0)],
        }])
        .unwrap();
        let got: Vec<Series> = m
            .select(&[Matcher::equal("a", "1")], 0, 10)
            .unwrap()
            .map(|s| s.unwrap())
            .collect();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].samples,
            vec![Sample::new(1, 1.0), Sample::new(2, 2.0)]
        );
        assert!(
            m.select(&[Matcher::equal("a", "2")], 0, 10)
                .unwrap()
                .next()
                .is_none()
        );
    }
}
