//! The InfluxDB line protocol: `measurement,tag=v field=1,f2=2i,f3=true,s="x" timestamp`.
//!
//! Each numeric or boolean field becomes a series named `<measurement>_<field>` (invalid
//! characters replaced by `_`) whose labels are the tags. String fields are skipped. Errors name
//! the 1-based line number.

use crate::validate::{sanitize_label_name, sanitize_metric_name, validate_pairs};
use crate::{Decoded, IngestError, Limits};
use std::collections::HashMap;
use vigia_model::{Label, Labels, METRIC_NAME, Sample, SeriesSamples};

/// Unit of the timestamps in a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Nanoseconds (the default).
    #[default]
    Ns,
    /// Microseconds.
    Us,
    /// Milliseconds.
    Ms,
    /// Seconds.
    S,
    /// Minutes (InfluxDB 1.x `m`).
    M,
    /// Hours (InfluxDB 1.x `h`).
    H,
}

impl Precision {
    /// Parses a precision as InfluxDB's `precision` query parameter does (`ns`, `n`, `us`, `u`,
    /// `µs`, `µ`, `ms`, `s`, `m`, `h`); `None` for anything else.
    pub fn parse(s: &str) -> Option<Precision> {
        Some(match s {
            "" | "ns" | "n" => Precision::Ns,
            "us" | "u" | "µs" | "µ" | "μs" | "μ" => Precision::Us,
            "ms" => Precision::Ms,
            "s" => Precision::S,
            "m" => Precision::M,
            "h" => Precision::H,
            _ => return None,
        })
    }

    /// Converts a timestamp in this precision to milliseconds (flooring), `None` on overflow.
    pub fn to_millis(self, t: i64) -> Option<i64> {
        match self {
            Precision::Ns => Some(t.div_euclid(1_000_000)),
            Precision::Us => Some(t.div_euclid(1_000)),
            Precision::Ms => Some(t),
            Precision::S => t.checked_mul(1_000),
            Precision::M => t.checked_mul(60_000),
            Precision::H => t.checked_mul(3_600_000),
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = IngestError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Precision::parse(s)
            .ok_or_else(|| IngestError::Unsupported(format!("influx precision {s:?}")))
    }
}

/// A field value after parsing.
enum FieldValue {
    Num(f64),
    Str,
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
    line: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn err(&self, reason: impl Into<String>) -> IngestError {
        IngestError::line(self.line, reason)
    }

    fn skip_to_eol(&mut self) {
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == b'\n' {
                self.line += 1;
                return;
            }
        }
    }

    /// Reads an identifier (measurement, tag key/value, field key) until an unescaped byte in
    /// `stops`, a space, or the end of line. Backslash escapes `,`, `=`, space and backslash.
    fn ident(&mut self, stops: &[u8], what: &str) -> Result<String, IngestError> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if c == b'\\' {
                match self.b.get(self.i + 1).copied() {
                    Some(n @ (b',' | b'=' | b' ' | b'\\' | b'"')) => {
                        out.push(n);
                        self.i += 2;
                        continue;
                    }
                    _ => {
                        out.push(c);
                        self.i += 1;
                        continue;
                    }
                }
            }
            if c == b'\n' || c == b'\r' || c == b' ' || c == b'\t' || stops.contains(&c) {
                break;
            }
            out.push(c);
            self.i += 1;
        }
        if out.is_empty() {
            return Err(self.err(format!("empty {what}")));
        }
        String::from_utf8(out).map_err(|_| self.err(format!("{what} is not valid UTF-8")))
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), IngestError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err(format!("expected {what}")))
        }
    }

    fn field_value(&mut self) -> Result<FieldValue, IngestError> {
        if self.peek() == Some(b'"') {
            self.i += 1;
            loop {
                match self.peek() {
                    None => return Err(self.err("unterminated string field")),
                    Some(b'\\') => self.i += 2,
                    Some(b'"') => {
                        self.i += 1;
                        return Ok(FieldValue::Str);
                    }
                    Some(b'\n') => {
                        self.line += 1;
                        self.i += 1;
                    }
                    Some(_) => self.i += 1,
                }
            }
        }
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b',' || c == b' ' || c == b'\t' || c == b'\n' || c == b'\r' {
                break;
            }
            self.i += 1;
        }
        let raw = self.b.get(start..self.i).unwrap_or_default();
        let s = std::str::from_utf8(raw).map_err(|_| self.err("field value is not valid UTF-8"))?;
        parse_field_value(s)
            .ok_or_else(|| self.err(format!("invalid field value {s:?}")))
            .map(FieldValue::Num)
    }
}

fn parse_field_value(s: &str) -> Option<f64> {
    match s {
        "t" | "T" | "true" | "True" | "TRUE" => return Some(1.0),
        "f" | "F" | "false" | "False" | "FALSE" => return Some(0.0),
        "" => return None,
        _ => {}
    }
    if let Some(n) = s.strip_suffix('i') {
        return n.parse::<i64>().ok().map(|v| v as f64);
    }
    if let Some(n) = s.strip_suffix('u') {
        return n.parse::<u64>().ok().map(|v| v as f64);
    }
    // Influx floats: digits, sign, dot, exponent; no inf/nan words.
    if !s
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Parses a line-protocol body. `now_ms` is used for lines without a timestamp.
pub fn parse(
    body: &[u8],
    precision: Precision,
    now_ms: i64,
    limits: &Limits,
) -> Result<Decoded, IngestError> {
    let mut c = Cursor {
        b: body,
        i: 0,
        line: 1,
    };
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut series: Vec<SeriesSamples> = Vec::new();
    let mut total = 0usize;
    let mut fields: Vec<(String, f64)> = Vec::new();
    while c.i < body.len() {
        while matches!(c.peek(), Some(b' ' | b'\t' | b'\r')) {
            c.i += 1;
        }
        match c.peek() {
            None => break,
            Some(b'\n') | Some(b'#') => {
                c.skip_to_eol();
                continue;
            }
            _ => {}
        }
        let line_no = c.line;
        let measurement = c.ident(b",", "measurement")?;
        let mut tags: Vec<(String, String)> = Vec::new();
        while c.peek() == Some(b',') {
            c.i += 1;
            let k = c.ident(b",=", "tag key")?;
            c.expect(b'=', "'=' after tag key")?;
            let v = c.ident(b",", "tag value")?;
            tags.push((k, v));
            if tags.len() >= limits.max_label_count {
                return Err(c.err(format!(
                    "more than {} tags",
                    limits.max_label_count.saturating_sub(1)
                )));
            }
        }
        if !matches!(c.peek(), Some(b' ' | b'\t')) {
            return Err(c.err("missing fields"));
        }
        while matches!(c.peek(), Some(b' ' | b'\t')) {
            c.i += 1;
        }
        fields.clear();
        loop {
            let k = c.ident(b",=", "field key")?;
            c.expect(b'=', "'=' after field key")?;
            if let FieldValue::Num(v) = c.field_value()? {
                fields.push((k, v));
            }
            if c.peek() == Some(b',') {
                c.i += 1;
            } else {
                break;
            }
        }
        while matches!(c.peek(), Some(b' ' | b'\t')) {
            c.i += 1;
        }
        let ts_start = c.i;
        while matches!(c.peek(), Some(b) if b != b'\n' && b != b' ' && b != b'\t' && b != b'\r') {
            c.i += 1;
        }
        let ts_raw = body.get(ts_start..c.i).unwrap_or_default();
        let t = if ts_raw.is_empty() {
            now_ms
        } else {
            let s =
                std::str::from_utf8(ts_raw).map_err(|_| c.err("timestamp is not valid UTF-8"))?;
            let t: i64 = s
                .parse()
                .map_err(|_| c.err(format!("invalid timestamp {s:?}")))?;
            precision
                .to_millis(t)
                .ok_or_else(|| c.err(format!("timestamp {s} out of range")))?
        };
        while matches!(c.peek(), Some(b' ' | b'\t' | b'\r')) {
            c.i += 1;
        }
        match c.peek() {
            None => {}
            Some(b'\n') => c.skip_to_eol(),
            Some(_) => return Err(c.err("unexpected data after timestamp")),
        }
        let base = sanitize_metric_name(&measurement);
        for (field, v) in fields.drain(..) {
            let mut pairs: Vec<Label> = tags
                .iter()
                .filter(|(k, _)| sanitize_label_name(k) != METRIC_NAME)
                .map(|(k, v)| Label {
                    name: sanitize_label_name(k),
                    value: v.clone(),
                })
                .collect();
            pairs.push(Label {
                name: METRIC_NAME.into(),
                value: format!("{base}_{}", sanitize_metric_name(&field)),
            });
            let labels =
                validate_pairs(pairs, limits).map_err(|r| IngestError::line(line_no, r))?;
            total += 1;
            limits.check_samples(total)?;
            let idx = match index.get(&labels) {
                Some(i) => *i,
                None => {
                    limits.check_series(series.len() + 1)?;
                    index.insert(labels.clone(), series.len());
                    series.push(SeriesSamples {
                        labels,
                        samples: Vec::new(),
                    });
                    series.len() - 1
                }
            };
            if let Some(s) = series.get_mut(idx) {
                s.samples.push(Sample::new(t, v));
            }
        }
    }
    Ok(Decoded {
        series,
        metadata: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use vigia_model::HasKind;

    fn p(body: &str) -> Result<Decoded, IngestError> {
        parse(body.as_bytes(), Precision::Ns, 42, &Limits::default())
    }

    #[test]
    fn full_line() {
        let d = p("# comment\n\ncpu,host=a\\ b,region=eu\\,w f=1.5,i=-2i,u=3u,b=true,s=\"x y\\\"z\",b2=F 1700000000000000000\n")
            .unwrap();
        let got: Vec<String> = d
            .series
            .iter()
            .map(|s| format!("{} {:?}", s.labels, s.samples))
            .collect();
        assert_eq!(d.series.len(), 5, "{got:?}");
        assert_eq!(
            d.series[0].labels.to_string(),
            "cpu_f{host=\"a b\", region=\"eu,w\"}"
        );
        assert_eq!(
            d.series[0].samples,
            vec![Sample::new(1_700_000_000_000, 1.5)]
        );
        assert_eq!(d.series[1].samples[0].v, -2.0);
        assert_eq!(d.series[2].samples[0].v, 3.0);
        assert_eq!(d.series[3].samples[0].v, 1.0);
        assert_eq!(d.series[4].labels.metric_name(), Some("cpu_b2"));
        assert_eq!(d.series[4].samples[0].v, 0.0);
    }

    #[test]
    fn grouping_precision_and_now() {
        let d = parse(
            b"m.x v=1 10\nm.x v=2 20\nm.x v=3\n",
            Precision::S,
            7,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(d.series.len(), 1);
        assert_eq!(d.series[0].labels.metric_name(), Some("m_x_v"));
        assert_eq!(
            d.series[0].samples,
            vec![
                Sample::new(10_000, 1.0),
                Sample::new(20_000, 2.0),
                Sample::new(7, 3.0)
            ]
        );
        assert_eq!(Precision::parse("µs"), Some(Precision::Us));
        assert_eq!(Precision::parse("h").unwrap().to_millis(1), Some(3_600_000));
        assert_eq!(Precision::Ns.to_millis(-1), Some(-1));
        assert!(Precision::parse("d").is_none());
    }

    #[test]
    fn string_only_and_escaped_newline_in_string() {
        let d = p("m s=\"a\nb\",v=1 5000000\nm w=2\n").unwrap();
        assert_eq!(d.series.len(), 2);
        assert_eq!(d.series[0].samples, vec![Sample::new(5, 1.0)]);
    }

    #[test]
    fn malformed() {
        let cases: &[(&str, ErrorKind, &str)] = &[
            ("cpu", ErrorKind::BadData, "line 1"),
            ("cpu\n", ErrorKind::BadData, "missing fields"),
            ("ok v=1\ncpu,host v=1", ErrorKind::BadData, "line 2"),
            ("cpu,=a v=1", ErrorKind::BadData, "empty tag key"),
            ("cpu,a= v=1", ErrorKind::BadData, "empty tag value"),
            ("cpu v=", ErrorKind::BadData, "invalid field value"),
            ("cpu v=abc", ErrorKind::BadData, "invalid field value"),
            ("cpu v=inf", ErrorKind::BadData, "invalid field value"),
            ("cpu v=1.2i", ErrorKind::BadData, "invalid field value"),
            ("cpu v=-1u", ErrorKind::BadData, "invalid field value"),
            ("cpu v=\"abc", ErrorKind::BadData, "unterminated"),
            ("cpu v=1 12x", ErrorKind::BadData, "invalid timestamp"),
            ("cpu v=1 1 2", ErrorKind::BadData, "after timestamp"),
            (
                "cpu v=1 99999999999999999999",
                ErrorKind::BadData,
                "invalid timestamp",
            ),
            ("cpu =1", ErrorKind::BadData, "empty field key"),
            ("cpu v", ErrorKind::BadData, "expected '='"),
        ];
        for (body, kind, needle) in cases {
            let e = p(body).expect_err(body);
            assert_eq!(e.kind(), *kind, "{body}: {e}");
            assert!(e.to_string().contains(needle), "{body}: {e}");
        }
        let e = parse(
            &[b'c', 0xff, b' ', b'v', b'=', b'1'],
            Precision::Ns,
            0,
            &Limits::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
        let e = parse(
            b"m v=1 9000000000000000",
            Precision::H,
            0,
            &Limits::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("out of range"));
        let many: String = (0..100_000).map(|i| format!(",t{i}=v")).collect();
        let e = parse(
            format!("m{many} f=1").as_bytes(),
            Precision::Ns,
            0,
            &Limits::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("more than 63 tags"), "{e}");
        let small = Limits {
            max_samples_per_request: 2,
            ..Limits::default()
        };
        assert_eq!(
            parse(b"m a=1,b=2,c=3", Precision::Ns, 0, &small)
                .unwrap_err()
                .kind(),
            ErrorKind::TooLarge
        );
        let small = Limits {
            max_series_per_request: 1,
            ..Limits::default()
        };
        assert_eq!(
            parse(b"m a=1,b=2", Precision::Ns, 0, &small)
                .unwrap_err()
                .kind(),
            ErrorKind::TooLarge
        );
        let small = Limits {
            max_label_value_len: 3,
            ..Limits::default()
        };
        assert_eq!(
            parse(b"m,t=long a=1", Precision::Ns, 0, &small)
                .unwrap_err()
                .kind(),
            ErrorKind::BadData
        );
    }
}
