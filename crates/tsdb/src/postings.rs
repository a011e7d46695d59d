//! Interned label strings and the inverted index (label pair → roaring bitmap of series ids),
//! used by the head and by loaded blocks to answer label matchers with Prometheus semantics.

use roaring::RoaringBitmap;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use vigia_model::{CardinalityStats, Label, LabelValueCount, Labels, Matcher};

/// String interner: each distinct string gets a dense `u32` id.
#[derive(Debug, Default)]
pub struct Symbols {
    map: HashMap<Arc<str>, u32>,
    strs: Vec<Arc<str>>,
}

impl Symbols {
    /// Id of `s`, inserting it when new.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(id) = self.map.get(s) {
            return *id;
        }
        let id = self.strs.len() as u32;
        let a: Arc<str> = Arc::from(s);
        self.strs.push(a.clone());
        self.map.insert(a, id);
        id
    }

    /// Id of `s` if interned.
    pub fn lookup(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }

    /// String of an id.
    pub fn get(&self, id: u32) -> Option<&str> {
        self.strs.get(id as usize).map(|s| &**s)
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.strs.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.strs.is_empty()
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        self.strs.iter().map(|s| s.len() + 16).sum::<usize>()
            + self.map.capacity() * 24
            + self.strs.capacity() * 16
    }

    /// Interns every pair of `labels` into a flat `[name, value, name, value…]` array.
    pub fn intern_labels(&mut self, labels: &Labels) -> Box<[u32]> {
        let mut v = Vec::with_capacity(labels.len() * 2);
        for l in labels {
            v.push(self.intern(&l.name));
            v.push(self.intern(&l.value));
        }
        v.into_boxed_slice()
    }

    /// Materialises interned pairs.
    pub fn labels(&self, pairs: &[u32]) -> Labels {
        let mut v = Vec::with_capacity(pairs.len() / 2);
        for p in pairs.chunks_exact(2) {
            v.push(Label {
                name: self.get(p[0]).unwrap_or("").to_string(),
                value: self.get(p[1]).unwrap_or("").to_string(),
            });
        }
        Labels::from_sorted(v).unwrap_or_default()
    }

    /// True when the interned pairs equal `labels`.
    pub fn labels_eq(&self, pairs: &[u32], labels: &Labels) -> bool {
        pairs.len() == labels.len() * 2
            && pairs.chunks_exact(2).zip(labels.iter()).all(|(p, l)| {
                self.get(p[0]) == Some(l.name.as_str()) && self.get(p[1]) == Some(l.value.as_str())
            })
    }
}

/// Inverted index over interned label pairs.
#[derive(Debug, Default)]
pub struct Postings {
    by_name: HashMap<u32, HashMap<u32, RoaringBitmap>>,
    all: RoaringBitmap,
}

impl Postings {
    /// Adds series `id` with interned `pairs`.
    pub fn add(&mut self, id: u32, pairs: &[u32]) {
        for p in pairs.chunks_exact(2) {
            self.by_name
                .entry(p[0])
                .or_default()
                .entry(p[1])
                .or_default()
                .insert(id);
        }
        self.all.insert(id);
    }

    /// Removes series `id`.
    pub fn remove(&mut self, id: u32, pairs: &[u32]) {
        for p in pairs.chunks_exact(2) {
            if let Some(vals) = self.by_name.get_mut(&p[0]) {
                if let Some(bm) = vals.get_mut(&p[1]) {
                    bm.remove(id);
                    if bm.is_empty() {
                        vals.remove(&p[1]);
                    }
                }
                if vals.is_empty() {
                    self.by_name.remove(&p[0]);
                }
            }
        }
        self.all.remove(id);
    }

    /// All series ids.
    pub fn all(&self) -> &RoaringBitmap {
        &self.all
    }

    /// Approximate heap bytes.
    pub fn heap_bytes(&self) -> usize {
        let mut n = self.all.serialized_size();
        for vals in self.by_name.values() {
            n += 48 + vals.capacity() * 40;
            n += vals.values().map(|b| b.serialized_size()).sum::<usize>();
        }
        n
    }

    /// Series matching every matcher. A matcher that accepts the empty string also selects
    /// series lacking the label; `=` and `=~"a|b"` are answered by direct lookups.
    pub fn select(&self, syms: &Symbols, matchers: &[Matcher]) -> RoaringBitmap {
        let mut acc: Option<RoaringBitmap> = None;
        // Positive matchers first: they shrink the set cheaply.
        let mut ordered: Vec<&Matcher> = matchers.iter().collect();
        ordered.sort_by_key(|m| m.matches_empty());
        for m in ordered {
            let vals = syms.lookup(&m.name).and_then(|n| self.by_name.get(&n));
            if m.matches_empty() {
                let mut excl = RoaringBitmap::new();
                if let Some(vals) = vals {
                    for (v, bm) in vals {
                        if !m.matches(syms.get(*v).unwrap_or("")) {
                            excl |= bm;
                        }
                    }
                }
                let base = acc.take().unwrap_or_else(|| self.all.clone());
                acc = Some(base - excl);
            } else {
                let mut inc = RoaringBitmap::new();
                if let Some(vals) = vals {
                    match m.set_literals() {
                        Some(lits) => {
                            for l in lits {
                                if let Some(bm) = syms.lookup(l).and_then(|s| vals.get(&s)) {
                                    inc |= bm;
                                }
                            }
                        }
                        None => {
                            for (v, bm) in vals {
                                if m.matches(syms.get(*v).unwrap_or("")) {
                                    inc |= bm;
                                }
                            }
                        }
                    }
                }
                acc = Some(match acc {
                    Some(a) => a & inc,
                    None => inc,
                });
            }
            if acc.as_ref().is_some_and(|a| a.is_empty()) {
                break;
            }
        }
        acc.unwrap_or_else(|| self.all.clone())
    }

    /// Label names present among `sel` (all when `None`).
    pub fn label_names(
        &self,
        syms: &Symbols,
        sel: Option<&RoaringBitmap>,
        out: &mut BTreeSet<String>,
    ) {
        for (n, vals) in &self.by_name {
            let present = match sel {
                None => !vals.is_empty(),
                Some(s) => vals.values().any(|bm| !bm.is_disjoint(s)),
            };
            if present {
                out.insert(syms.get(*n).unwrap_or("").to_string());
            }
        }
    }

    /// Values of label `name` among `sel` (all when `None`).
    pub fn label_values(
        &self,
        syms: &Symbols,
        name: &str,
        sel: Option<&RoaringBitmap>,
        out: &mut BTreeSet<String>,
    ) {
        let Some(vals) = syms.lookup(name).and_then(|n| self.by_name.get(&n)) else {
            return;
        };
        for (v, bm) in vals {
            if sel.is_none_or(|s| !bm.is_disjoint(s)) {
                out.insert(syms.get(*v).unwrap_or("").to_string());
            }
        }
    }

    /// Every (name, value, series ids) triple, for writing a block index.
    pub fn entries<'a>(
        &'a self,
        syms: &'a Symbols,
    ) -> BTreeMap<(&'a str, &'a str), &'a RoaringBitmap> {
        let mut m = BTreeMap::new();
        for (n, vals) in &self.by_name {
            for (v, bm) in vals {
                m.insert((syms.get(*n).unwrap_or(""), syms.get(*v).unwrap_or("")), bm);
            }
        }
        m
    }

    /// Cardinality statistics in Prometheus `/api/v1/status/tsdb` shape.
    pub fn cardinality(&self, syms: &Symbols, limit: usize) -> CardinalityStats {
        fn top(mut v: Vec<LabelValueCount>, limit: usize) -> Vec<LabelValueCount> {
            v.sort_by(|a, b| b.value.cmp(&a.value).then_with(|| a.name.cmp(&b.name)));
            v.truncate(limit);
            v
        }
        let s = |id: &u32| syms.get(*id).unwrap_or("").to_string();
        let mut by_metric = Vec::new();
        let mut value_counts = Vec::new();
        let mut mem = Vec::new();
        let mut pairs = Vec::new();
        let mut num_pairs = 0u64;
        for (n, vals) in &self.by_name {
            let name = s(n);
            num_pairs += vals.len() as u64;
            value_counts.push(LabelValueCount {
                name: name.clone(),
                value: vals.len() as u64,
            });
            let mut bytes = 0u64;
            for (v, bm) in vals {
                let val = s(v);
                bytes += val.len() as u64 * bm.len();
                if name == vigia_model::METRIC_NAME {
                    by_metric.push(LabelValueCount {
                        name: val.clone(),
                        value: bm.len(),
                    });
                }
                pairs.push(LabelValueCount {
                    name: format!("{name}={val}"),
                    value: bm.len(),
                });
            }
            mem.push(LabelValueCount { name, value: bytes });
        }
        CardinalityStats {
            num_series: self.all.len(),
            num_label_pairs: num_pairs,
            min_time: None,
            max_time: None,
            series_count_by_metric_name: top(by_metric, limit),
            label_value_count_by_label_name: top(value_counts, limit),
            memory_in_bytes_by_label_name: top(mem, limit),
            series_count_by_label_value_pair: top(pairs, limit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use vigia_model::MatchOp;

    fn build(sets: &[Labels]) -> (Symbols, Postings) {
        let mut syms = Symbols::default();
        let mut p = Postings::default();
        for (i, l) in sets.iter().enumerate() {
            let pairs = syms.intern_labels(l);
            p.add(i as u32, &pairs);
        }
        (syms, p)
    }

    fn naive(sets: &[Labels], ms: &[Matcher]) -> Vec<u32> {
        sets.iter()
            .enumerate()
            .filter(|(_, l)| ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
            .map(|(i, _)| i as u32)
            .collect()
    }

    #[test]
    fn empty_matching_selects_missing_label() {
        let sets = vec![
            Labels::from_pairs([("__name__", "up"), ("job", "a")]),
            Labels::from_pairs([("__name__", "up")]),
        ];
        let (s, p) = build(&sets);
        let m = [Matcher::equal("job", "")];
        assert_eq!(p.select(&s, &m).iter().collect::<Vec<_>>(), vec![1]);
        let m = [Matcher::new(MatchOp::NotEqual, "job", "a").unwrap()];
        assert_eq!(p.select(&s, &m).iter().collect::<Vec<_>>(), vec![1]);
        let m = [Matcher::new(MatchOp::Regex, "job", "a|b").unwrap()];
        assert_eq!(p.select(&s, &m).iter().collect::<Vec<_>>(), vec![0]);
        p.cardinality(&s, 10);
    }

    fn arb_labels() -> impl Strategy<Value = Labels> {
        proptest::collection::vec(
            (
                prop::sample::select(vec!["a", "b", "c"]),
                prop::sample::select(vec!["x", "y", "xy", "z"]),
            ),
            0..4,
        )
        .prop_map(|v| {
            let mut pairs = v;
            pairs.push(("__name__", "m"));
            Labels::from_pairs(pairs)
        })
    }

    fn arb_matcher() -> impl Strategy<Value = Matcher> {
        (
            prop::sample::select(vec![
                MatchOp::Equal,
                MatchOp::NotEqual,
                MatchOp::Regex,
                MatchOp::NotRegex,
            ]),
            prop::sample::select(vec!["a", "b", "c", "d"]),
            prop::sample::select(vec!["", "x", "y", "x|y", "x.*", ".*", ".+", "z|", "xy"]),
        )
            .prop_map(|(op, n, v)| Matcher::new(op, n, v).unwrap())
    }

    proptest! {
        #[test]
        fn select_matches_naive(sets in proptest::collection::vec(arb_labels(), 0..40), ms in proptest::collection::vec(arb_matcher(), 0..4)) {
            let (s, p) = build(&sets);
            let got: Vec<u32> = p.select(&s, &ms).iter().collect();
            prop_assert_eq!(got, naive(&sets, &ms));
        }
    }
}
