//! Shared by the tuning examples: the settings grid from the command line, and scoring a
//! configuration on a set of NAB files.

#![allow(dead_code)]

use vigia_bench::nab::{self, Corpus, scorer};
use vigia_ml::DetectorConfig;

/// Error type of the examples.
pub type Error = Box<dyn std::error::Error>;

/// Merges `over` into `base`, recursing into objects (`{"art":{"window":4}}` changes one field).
pub fn merge(base: &mut serde_json::Value, over: &serde_json::Value) {
    if let (Some(b), Some(o)) = (base.as_object_mut(), over.as_object()) {
        for (k, v) in o {
            match b.get_mut(k) {
                Some(bv) if bv.is_object() && v.is_object() => merge(bv, v),
                _ => {
                    b.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

/// The grid of `[BASE_JSON] [field=v1,v2,...]...` over the default configuration (values are
/// separated by ',' or, when a value itself contains commas, by '|'; `art.window=8` sets a
/// nested field), and the varied field names.
pub fn grid(args: &[String]) -> Result<(Vec<serde_json::Value>, Vec<String>), Error> {
    let mut rest = args;
    let mut base = serde_json::to_value(DetectorConfig::default())?;
    if let Some(first) = rest.first()
        && first.starts_with('{')
    {
        merge(&mut base, &serde_json::from_str(first)?);
        rest = rest.get(1..).unwrap_or(&[]);
    }
    let mut grid = vec![base];
    let mut fields = Vec::new();
    for spec in rest {
        let Some((field, values)) = spec.split_once('=') else {
            return Err(format!("bad spec {spec}, expected field=v1,v2").into());
        };
        fields.push(field.to_string());
        let sep = if values.contains('|') { '|' } else { ',' };
        let mut next = Vec::new();
        for g in &grid {
            for v in values.split(sep) {
                let mut over = serde_json::from_str::<serde_json::Value>(v)?;
                for part in field.split('.').rev() {
                    let mut o = serde_json::Map::new();
                    o.insert(part.to_string(), over);
                    over = serde_json::Value::Object(o);
                }
                let mut c = g.clone();
                merge(&mut c, &over);
                next.push(c);
            }
        }
        grid = next;
    }
    Ok((grid, fields))
}

/// `field=value` for each varied field of `g`, or the whole configuration when none varies.
pub fn describe(g: &serde_json::Value, fields: &[String]) -> String {
    if fields.is_empty() {
        return g.to_string();
    }
    fields
        .iter()
        .map(|k| {
            let v = k.split('.').try_fold(g, |v, p| v.get(p));
            format!("{k}={}", v.map_or(String::new(), |v| v.to_string()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Scores of one run: the three profiles on all given files, then the standard profile on each
/// inner half (alternate files).
pub fn evaluate(corpus: &Corpus, geoms: &[scorer::FileGeometry], cfg: &DetectorConfig) -> [f64; 5] {
    let scores = nab::detect_corpus(corpus, cfg, &|_, _| {});
    let pairs: Vec<_> = geoms
        .iter()
        .zip(&scores)
        .map(|(g, s)| (g, s.as_slice()))
        .collect();
    let on = |set: &[(&scorer::FileGeometry, &[f64])], p: usize| {
        corpus
            .profiles
            .get(p)
            .map_or(f64::NAN, |p| scorer::score_set(set, p, None).normalized)
    };
    let a: Vec<_> = pairs.iter().step_by(2).copied().collect();
    let b: Vec<_> = pairs.iter().skip(1).step_by(2).copied().collect();
    [
        on(&pairs, 0),
        on(&pairs, 1),
        on(&pairs, 2),
        on(&a, 0),
        on(&b, 0),
    ]
}
