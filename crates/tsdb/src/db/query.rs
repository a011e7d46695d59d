//! The query path: collecting the head and block sources of matching series, decoding them
//! lazily, and the label name / value and cardinality queries.

use super::{Tsdb, sort_dedup};
use crate::block::Block;
use crate::head::HeadSeries;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use vigia_model::{
    CardinalityStats, Labels, Matcher, Querier, Sample, Series, SeriesSet, StorageError,
};

enum Src {
    Head(Arc<HeadSeries>),
    Block(Arc<Block>, u32),
}

fn load_samples(srcs: &[Src], min_t: i64, max_t: i64) -> Result<Vec<Sample>, StorageError> {
    // head first, then blocks newest first: on a timestamp clash the first wins.
    let mut out = Vec::new();
    for s in srcs.iter().rev() {
        match s {
            Src::Head(h) => out.extend(h.data.lock().samples(min_t, max_t)),
            Src::Block(b, id) => out.extend(b.samples(*id, min_t, max_t)?),
        }
    }
    sort_dedup(&mut out);
    Ok(out)
}

impl Tsdb {
    fn collect_sources(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> BTreeMap<Labels, Vec<Src>> {
        let mut map: BTreeMap<Labels, Vec<Src>> = BTreeMap::new();
        let blocks: Vec<Arc<Block>> = self
            .blocks
            .read()
            .iter()
            .filter(|b| b.overlaps(min_t, max_t))
            .cloned()
            .collect();
        for b in blocks {
            for id in b.select_ids(matchers) {
                if b.series_overlaps(id, min_t, max_t) {
                    map.entry(b.labels(id))
                        .or_default()
                        .push(Src::Block(b.clone(), id));
                }
            }
        }
        if self
            .head
            .time_range()
            .is_some_and(|(lo, hi)| lo <= max_t && hi >= min_t)
        {
            for (l, s) in self.head.select_series(matchers) {
                map.entry(l).or_default().push(Src::Head(s));
            }
        }
        map
    }

    fn matching_labels(&self, matchers: &[Matcher], min_t: i64, max_t: i64) -> Vec<Labels> {
        let mut out = Vec::new();
        for (l, srcs) in self.collect_sources(matchers, min_t, max_t) {
            let has = srcs.iter().any(|s| match s {
                Src::Block(..) => true,
                Src::Head(h) => {
                    let d = h.data.lock();
                    matches!((d.min_t(), d.max_t()), (Some(a), Some(b)) if a <= max_t && b >= min_t)
                }
            });
            if has {
                out.push(l);
            }
        }
        out
    }
}

/// Lazily decoding series iterator.
struct SeriesIter {
    inner: std::collections::btree_map::IntoIter<Labels, Vec<Src>>,
    min_t: i64,
    max_t: i64,
}

impl Iterator for SeriesIter {
    type Item = Result<Series, StorageError>;
    fn next(&mut self) -> Option<Self::Item> {
        for (labels, srcs) in self.inner.by_ref() {
            match load_samples(&srcs, self.min_t, self.max_t) {
                Ok(samples) if samples.is_empty() => continue,
                Ok(samples) => return Some(Ok(Series { labels, samples })),
                Err(e) => return Some(Err(e)),
            }
        }
        None
    }
}

impl Querier for Tsdb {
    fn select(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<SeriesSet, StorageError> {
        let map = self.collect_sources(matchers, min_t, max_t);
        Ok(Box::new(SeriesIter {
            inner: map.into_iter(),
            min_t,
            max_t,
        }))
    }

    fn series(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<Labels>, StorageError> {
        Ok(self.matching_labels(matchers, min_t, max_t))
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut out = BTreeSet::new();
        if matchers.is_empty() {
            for b in self
                .blocks
                .read()
                .iter()
                .filter(|b| b.overlaps(min_t, max_t))
            {
                b.with_index(|s, p| p.label_names(s, None, &mut out));
            }
            if self
                .head
                .time_range()
                .is_some_and(|(lo, hi)| lo <= max_t && hi >= min_t)
            {
                self.head
                    .with_index(|s, p| p.label_names(s, None, &mut out));
            }
        } else {
            for l in self.matching_labels(matchers, min_t, max_t) {
                out.extend(l.iter().map(|x| x.name.clone()));
            }
        }
        Ok(out.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        min_t: i64,
        max_t: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut out = BTreeSet::new();
        if matchers.is_empty() {
            for b in self
                .blocks
                .read()
                .iter()
                .filter(|b| b.overlaps(min_t, max_t))
            {
                b.with_index(|s, p| p.label_values(s, name, None, &mut out));
            }
            if self
                .head
                .time_range()
                .is_some_and(|(lo, hi)| lo <= max_t && hi >= min_t)
            {
                self.head
                    .with_index(|s, p| p.label_values(s, name, None, &mut out));
            }
        } else {
            for l in self.matching_labels(matchers, min_t, max_t) {
                if let Some(v) = l.get(name) {
                    out.insert(v.to_string());
                }
            }
        }
        Ok(out.into_iter().collect())
    }

    fn cardinality(&self, limit: usize) -> Result<CardinalityStats, StorageError> {
        let mut c = self.head.with_index(|s, p| p.cardinality(s, limit));
        if let Some((lo, hi)) = self.head.time_range() {
            c.min_time = Some(lo);
            c.max_time = Some(hi);
        }
        Ok(c)
    }
}
