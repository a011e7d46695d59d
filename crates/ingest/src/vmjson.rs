//! VictoriaMetrics JSON lines (`/api/v1/import` and `/api/v1/export`): one object per line,
//! `{"metric":{"__name__":"x","job":"y"},"values":[1,2],"timestamps":[1000,2000]}`.
//!
//! `null` values are skipped together with their timestamp; the strings `"NaN"`, `"Inf"`,
//! `"+Inf"` and `"-Inf"` stand for the non-finite values JSON cannot express.

use crate::validate::{check_pairs, into_labels, render_pairs};
use crate::{Decoded, IngestError, Limits};
use std::collections::BTreeMap;
use vigia_model::{Label, Sample, Series, SeriesSamples, is_stale_nan};

#[derive(serde::Deserialize)]
#[serde(untagged)]
enum JsonValue {
    Num(f64),
    Str(String),
}

#[derive(serde::Deserialize)]
struct ImportLine {
    metric: BTreeMap<String, String>,
    values: Vec<Option<JsonValue>>,
    timestamps: Vec<i64>,
}

fn special(s: &str) -> Option<f64> {
    match s {
        "NaN" | "nan" => Some(f64::NAN),
        "Inf" | "+Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok(),
    }
}

/// Parses a body of JSON lines into series.
pub fn parse_import(body: &[u8], limits: &Limits) -> Result<Decoded, IngestError> {
    let mut series = Vec::new();
    let mut total = 0usize;
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let line = i + 1;
        let raw = raw.trim_ascii();
        if raw.is_empty() {
            continue;
        }
        let obj: ImportLine =
            serde_json::from_slice(raw).map_err(|e| IngestError::line(line, e.to_string()))?;
        if obj.values.len() != obj.timestamps.len() {
            return Err(IngestError::line(
                line,
                format!(
                    "{} values but {} timestamps",
                    obj.values.len(),
                    obj.timestamps.len()
                ),
            ));
        }
        let mut pairs: Vec<Label> = obj
            .metric
            .into_iter()
            .map(|(name, value)| Label { name, value })
            .collect();
        if let Err(r) = check_pairs(&mut pairs, limits) {
            return Err(IngestError::line(
                line,
                format!("series {}: {r}", render_pairs(&pairs)),
            ));
        }
        let labels = into_labels(pairs);
        let mut samples = Vec::with_capacity(obj.values.len());
        for (v, t) in obj.values.into_iter().zip(obj.timestamps) {
            let v = match v {
                None => continue,
                Some(JsonValue::Num(n)) => n,
                Some(JsonValue::Str(s)) => special(&s)
                    .ok_or_else(|| IngestError::line(line, format!("invalid value {s:?}")))?,
            };
            samples.push(Sample::new(t, v));
        }
        total += samples.len();
        limits.check_samples(total)?;
        limits.check_series(series.len() + 1)?;
        series.push(SeriesSamples { labels, samples });
    }
    Ok(Decoded {
        series,
        metadata: Vec::new(),
    })
}

fn push_value(v: f64, out: &mut Vec<u8>) {
    if v.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"\"+Inf\"" } else { b"\"-Inf\"" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        out.extend_from_slice((v as i64).to_string().as_bytes());
    } else {
        // Debug prints the shortest representation that round-trips, with an exponent for very
        // large or small magnitudes; both forms are valid JSON numbers.
        out.extend_from_slice(format!("{v:?}").as_bytes());
    }
}

fn push_json_string(s: &str, out: &mut Vec<u8>) {
    // Serialising a &str cannot fail; fall back to an empty string defensively.
    match serde_json::to_vec(s) {
        Ok(b) => out.extend_from_slice(&b),
        Err(_) => out.extend_from_slice(b"\"\""),
    }
}

/// Appends one export line (with trailing newline) for `series`. Staleness markers are omitted.
pub fn write_export_line(series: &Series, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"metric\":{");
    for (i, l) in series.labels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_json_string(&l.name, out);
        out.push(b':');
        push_json_string(&l.value, out);
    }
    out.extend_from_slice(b"},\"values\":[");
    let live = || series.samples.iter().filter(|s| !is_stale_nan(s.v));
    for (i, s) in live().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_value(s.v, out);
    }
    out.extend_from_slice(b"],\"timestamps\":[");
    for (i, s) in live().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(s.t.to_string().as_bytes());
    }
    out.extend_from_slice(b"]}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use vigia_model::HasKind;
    use vigia_model::Labels;

    #[test]
    fn import_with_nulls_and_specials() {
        let body = br#"{"metric":{"__name__":"x","job":"y"},"values":[1,null,"NaN",2.5],"timestamps":[1000,2000,3000,4000]}

{"metric":{"__name__":"z"},"values":["+Inf"],"timestamps":[5]}"#;
        let d = parse_import(body, &Limits::default()).unwrap();
        assert_eq!(d.series.len(), 2);
        assert_eq!(d.series[0].labels.to_string(), "x{job=\"y\"}");
        let s = &d.series[0].samples;
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].t, s[0].v), (1000, 1.0));
        assert!(s[1].v.is_nan() && s[1].t == 3000);
        assert_eq!(d.series[1].samples[0].v, f64::INFINITY);
    }

    #[test]
    fn export_roundtrip() {
        let series = Series {
            labels: Labels::from_pairs([("__name__", "m"), ("q", "a\"b\\c\n")]),
            samples: vec![
                Sample::new(1, 1.0),
                Sample::new(2, 0.1),
                Sample::new(3, 1e300),
                Sample::new(4, f64::NEG_INFINITY),
                Sample::new(5, vigia_model::stale_nan()),
                Sample::new(6, -3.0),
            ],
        };
        let mut out = Vec::new();
        write_export_line(&series, &mut out);
        write_export_line(&series, &mut out);
        let d = parse_import(&out, &Limits::default()).unwrap();
        assert_eq!(d.series.len(), 2);
        assert_eq!(d.series[0].labels, series.labels);
        let want: Vec<Sample> = series
            .samples
            .iter()
            .filter(|s| !is_stale_nan(s.v))
            .copied()
            .collect();
        assert_eq!(d.series[0].samples, want);
    }

    #[test]
    fn malformed() {
        let cases: &[(&str, ErrorKind, &str)] = &[
            (
                r#"{"metric":{"__name__":"x"},"values":[1,2],"timestamps":[1]}"#,
                ErrorKind::BadData,
                "line 1",
            ),
            (
                "\n{\"metric\":{\"__name__\":\"x\"}",
                ErrorKind::BadData,
                "line 2",
            ),
            (
                r#"{"metric":{"job":"x"},"values":[],"timestamps":[]}"#,
                ErrorKind::BadData,
                "missing metric name",
            ),
            (
                r#"{"metric":{"__name__":"x","a-b":"1"},"values":[],"timestamps":[]}"#,
                ErrorKind::BadData,
                "invalid label",
            ),
            (
                r#"{"metric":{"__name__":"x"},"values":["zz"],"timestamps":[1]}"#,
                ErrorKind::BadData,
                "invalid value",
            ),
            (
                r#"{"metric":{"__name__":"x"},"values":[1],"timestamps":[1.5]}"#,
                ErrorKind::BadData,
                "line 1",
            ),
            ("[1,2]", ErrorKind::BadData, "line 1"),
        ];
        for (body, kind, needle) in cases {
            let e = parse_import(body.as_bytes(), &Limits::default()).expect_err(body);
            assert_eq!(e.kind(), *kind, "{body}: {e}");
            assert!(e.to_string().contains(needle), "{body}: {e}");
        }
        assert!(parse_import(b"\xff\xfe", &Limits::default()).is_err());
        let small = Limits {
            max_samples_per_request: 1,
            ..Limits::default()
        };
        let e = parse_import(
            br#"{"metric":{"__name__":"x"},"values":[1,2],"timestamps":[1,2]}"#,
            &small,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::TooLarge);
    }
}
