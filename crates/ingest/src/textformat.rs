//! The Prometheus text exposition format 0.0.4 and OpenMetrics 1.0 text format.
//!
//! The content type chooses the dialect (`application/openmetrics-text` → OpenMetrics, anything
//! else → 0.0.4; protobuf is refused as unsupported). Both accept `# EOF`. HELP / TYPE / UNIT
//! lines become [`MetricMetadata`]; exemplars are ignored, and so are OpenMetrics `_created`
//! samples of counters, histograms and summaries. Errors name the 1-based line.

use crate::validate::validate_pairs;
use crate::{Decoded, IngestError, Limits, MetricMetadata};
use std::collections::HashMap;
use vigia_model::{Label, METRIC_NAME, Sample, SeriesSamples};

/// The dialect of a text body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Prometheus text format 0.0.4: millisecond integer timestamps.
    Prometheus,
    /// OpenMetrics 1.0: float-second timestamps, `_created`, UNIT, `# EOF`.
    OpenMetrics,
}

/// Picks the dialect from a `Content-Type` header value.
pub fn dialect_for(content_type: Option<&str>) -> Result<Dialect, IngestError> {
    let Some(ct) = content_type else {
        return Ok(Dialect::Prometheus);
    };
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/openmetrics-text" => Ok(Dialect::OpenMetrics),
        "application/vnd.google.protobuf" | "application/x-protobuf" => Err(
            IngestError::Unsupported(format!("content type {ct:?} (protobuf exposition)")),
        ),
        _ => Ok(Dialect::Prometheus),
    }
}

/// Parses an exposition body. `default_ts_ms` is the timestamp of samples that carry none.
pub fn parse(
    body: &[u8],
    content_type: Option<&str>,
    default_ts_ms: i64,
    limits: &Limits,
) -> Result<Decoded, IngestError> {
    let dialect = dialect_for(content_type)?;
    let mut p = Parser {
        dialect,
        default_ts_ms,
        limits,
        series: Vec::new(),
        metadata: Vec::new(),
        meta_index: HashMap::new(),
        current_type: "unknown",
    };
    let mut eof = false;
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let line_no = i + 1;
        let line =
            std::str::from_utf8(raw).map_err(|_| IngestError::line(line_no, "not valid UTF-8"))?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if eof {
            if !line.trim().is_empty() {
                return Err(IngestError::line(line_no, "data after # EOF"));
            }
            continue;
        }
        let t = line.trim_start_matches([' ', '\t']);
        if t.is_empty() {
            continue;
        }
        if let Some(comment) = t.strip_prefix('#') {
            if comment.trim() == "EOF" {
                eof = true;
                continue;
            }
            p.comment(comment)
                .map_err(|r| IngestError::line(line_no, r))?;
            continue;
        }
        p.sample(t, line_no)?;
    }
    Ok(Decoded {
        series: p.series,
        metadata: p.metadata,
    })
}

struct Parser<'a> {
    dialect: Dialect,
    default_ts_ms: i64,
    limits: &'a Limits,
    series: Vec<SeriesSamples>,
    metadata: Vec<MetricMetadata>,
    meta_index: HashMap<String, usize>,
    /// Type of the last `# TYPE` line, which (as in Prometheus) governs the samples after it.
    current_type: &'static str,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

fn unescape_help(s: &str, openmetrics: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if openmetrics => out.push('"'),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

impl Parser<'_> {
    fn meta(&mut self, name: &str) -> &mut MetricMetadata {
        let metadata = &mut self.metadata;
        let idx = *self.meta_index.entry(name.to_string()).or_insert_with(|| {
            metadata.push(MetricMetadata {
                metric: name.to_string(),
                kind: "unknown".into(),
                help: String::new(),
                unit: String::new(),
            });
            metadata.len() - 1
        });
        // `idx` was produced by the push above or an earlier one; entries are never removed.
        &mut self.metadata[idx]
    }

    fn comment(&mut self, c: &str) -> Result<(), String> {
        let c = c.trim_start_matches([' ', '\t']);
        let (keyword, rest) = c.split_once([' ', '\t']).unwrap_or((c, ""));
        if !matches!(keyword, "HELP" | "TYPE" | "UNIT") {
            return Ok(()); // ordinary comment
        }
        let rest = rest.trim_start_matches([' ', '\t']);
        let (name, arg) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
        if name.is_empty() || !vigia_model::is_valid_metric_name(name) {
            return Err(format!("invalid metric name {name:?} in # {keyword}"));
        }
        let om = self.dialect == Dialect::OpenMetrics;
        match keyword {
            "HELP" => {
                let help = unescape_help(arg, om);
                self.meta(name).help = help;
            }
            "TYPE" => {
                let kind = match arg.trim() {
                    "counter" => "counter",
                    "gauge" => "gauge",
                    "histogram" => "histogram",
                    "summary" => "summary",
                    "untyped" | "unknown" => "unknown",
                    "gaugehistogram" if om => "gaugehistogram",
                    "info" if om => "info",
                    "stateset" if om => "stateset",
                    other => return Err(format!("unknown metric type {other:?}")),
                };
                self.meta(name).kind = kind.to_string();
                self.current_type = kind;
            }
            _ => {
                self.meta(name).unit = arg.trim().to_string();
            }
        }
        Ok(())
    }

    fn family_kind(&self, name: &str) -> Option<&str> {
        self.meta_index
            .get(name)
            .and_then(|i| self.metadata.get(*i))
            .map(|m| m.kind.as_str())
    }

    /// Parses a sample line: the metric name, the optional label set, the value and the
    /// optional timestamp (an exemplar after them is ignored), then stores the sample unless
    /// it is an OpenMetrics `_created` sample.
    fn sample(&mut self, line: &str, line_no: usize) -> Result<(), IngestError> {
        let err = |r: String| IngestError::line(line_no, r);
        let (name, mut pairs, i) = self.series_part(line).map_err(err)?;
        let (v, t) = self.value_part(line, i).map_err(err)?;
        if self.dialect == Dialect::OpenMetrics
            && let Some(base) = name.strip_suffix("_created")
            && matches!(
                self.family_kind(base),
                Some("counter" | "histogram" | "summary" | "gaugehistogram")
            )
        {
            return Ok(());
        }
        self.normalise_bounds(&mut pairs);
        let labels = validate_pairs(pairs, self.limits).map_err(err)?;
        self.limits.check_samples(self.series.len() + 1)?;
        self.limits.check_series(self.series.len() + 1)?;
        self.series.push(SeriesSamples {
            labels,
            samples: vec![Sample::new(t, v)],
        });
        Ok(())
    }

    /// The metric name and label set at the start of `line`: the name, the label pairs (the
    /// name first) and the byte offset after them.
    fn series_part<'l>(&self, line: &'l str) -> Result<(&'l str, Vec<Label>, usize), String> {
        let b = line.as_bytes();
        let mut i = 0;
        if !b.first().is_some_and(|c| is_name_start(*c)) {
            return Err(format!("expected a metric name at {:?}", truncate(line)));
        }
        while b.get(i).is_some_and(|c| is_name_char(*c)) {
            i += 1;
        }
        let name = line.get(..i).unwrap_or_default();
        let mut pairs = vec![Label {
            name: METRIC_NAME.into(),
            value: name.to_string(),
        }];
        let mut j = i;
        skip_ws(b, &mut j);
        if b.get(j) == Some(&b'{') {
            i = self.label_set(line, j + 1, &mut pairs)?;
        }
        Ok((name, pairs, i))
    }

    /// Parses the labels of a `{…}` set starting after its `{` at `i`, appending them to
    /// `pairs`; returns the offset after the `}`.
    fn label_set(&self, line: &str, mut i: usize, pairs: &mut Vec<Label>) -> Result<usize, String> {
        let b = line.as_bytes();
        loop {
            skip_ws(b, &mut i);
            match b.get(i) {
                Some(b'}') => return Ok(i + 1),
                None => return Err("unterminated label set".into()),
                _ => {}
            }
            let start = i;
            if !b
                .get(i)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
            {
                return Err(format!(
                    "invalid label name at {:?}",
                    truncate(line.get(start..).unwrap_or_default())
                ));
            }
            while b
                .get(i)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            {
                i += 1;
            }
            let lname = line.get(start..i).unwrap_or_default();
            skip_ws(b, &mut i);
            if b.get(i) != Some(&b'=') {
                return Err(format!("expected '=' after label name {lname:?}"));
            }
            i += 1;
            skip_ws(b, &mut i);
            if b.get(i) != Some(&b'"') {
                return Err(format!(
                    "expected '\"' to open the value of label {lname:?}"
                ));
            }
            let value;
            (value, i) = label_value(line, i + 1, lname)?;
            // Duplicates are found after sorting (validate_pairs), avoiding a quadratic scan.
            if pairs.len() >= self.limits.max_label_count {
                return Err(format!("more than {} labels", self.limits.max_label_count));
            }
            pairs.push(Label {
                name: lname.to_string(),
                value,
            });
            skip_ws(b, &mut i);
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => {}
                _ => return Err(format!("expected ',' or '}}' after label {lname:?}")),
            }
        }
    }

    /// The value and timestamp after the series part, which ends at `i`: a space, the value,
    /// and an optional timestamp (the default one when absent); an exemplar (`# …`) may follow.
    fn value_part(&self, line: &str, i: usize) -> Result<(f64, i64), String> {
        let b = line.as_bytes();
        if !b.get(i).is_some_and(|c| *c == b' ' || *c == b'\t') {
            return Err(format!(
                "expected a space and a value after {:?}",
                truncate(line.get(..i).unwrap_or_default())
            ));
        }
        let rest = line.get(i..).unwrap_or_default();
        let mut tokens = rest.split([' ', '\t']).filter(|t| !t.is_empty());
        let Some(vtok) = tokens.next() else {
            return Err("missing value".into());
        };
        let v = parse_float(vtok).ok_or_else(|| format!("invalid value {vtok:?}"))?;
        let mut t = self.default_ts_ms;
        match tokens.next() {
            None => {}
            Some(tok) if tok.starts_with('#') => {} // exemplar
            Some(tok) => {
                t = self
                    .parse_ts(tok)
                    .ok_or_else(|| format!("invalid timestamp {tok:?}"))?;
                match tokens.next() {
                    None => {}
                    Some(tok) if tok.starts_with('#') => {}
                    Some(tok) => return Err(format!("unexpected {tok:?} after timestamp")),
                }
            }
        }
        Ok((v, t))
    }

    /// Under a histogram or summary `# TYPE`, rewrites `le` / `quantile` values the way
    /// Prometheus 3 normalises them.
    fn normalise_bounds(&self, pairs: &mut [Label]) {
        let normalised = match self.current_type {
            "histogram" => "le",
            "summary" => "quantile",
            _ => "",
        };
        if !normalised.is_empty() {
            for l in pairs.iter_mut().filter(|l| l.name == normalised) {
                if let Some(f) = parse_float(&l.value) {
                    l.value = format_openmetrics_float(f);
                }
            }
        }
    }

    fn parse_ts(&self, tok: &str) -> Option<i64> {
        match self.dialect {
            Dialect::Prometheus => tok.parse::<i64>().ok(),
            Dialect::OpenMetrics => {
                let s: f64 = tok.parse().ok()?;
                let ms = (s * 1000.0).round();
                (ms.is_finite() && ms.abs() < 9.0e18).then_some(ms as i64)
            }
        }
    }
}

fn skip_ws(b: &[u8], i: &mut usize) {
    while b.get(*i).is_some_and(|c| *c == b' ' || *c == b'\t') {
        *i += 1;
    }
}

/// Parses a quoted label value whose opening `"` ends before `i`: unescapes `\\`, `\"` and
/// `\n` (other escapes are kept verbatim, as in Prometheus); returns the value and the offset
/// after the closing `"`.
fn label_value(line: &str, mut i: usize, lname: &str) -> Result<(String, usize), String> {
    let b = line.as_bytes();
    let mut value = String::new();
    let mut seg = i;
    loop {
        match b.get(i) {
            None => return Err(format!("unterminated value of label {lname:?}")),
            Some(b'"') => {
                value.push_str(line.get(seg..i).unwrap_or_default());
                return Ok((value, i + 1));
            }
            Some(b'\\') => {
                let unescaped = match b.get(i + 1) {
                    Some(b'\\') => '\\',
                    Some(b'"') => '"',
                    Some(b'n') => '\n',
                    // Like Prometheus, other escapes are kept verbatim.
                    _ => {
                        i += 1;
                        continue;
                    }
                };
                value.push_str(line.get(seg..i).unwrap_or_default());
                value.push(unescaped);
                i += 2;
                seg = i;
            }
            Some(_) => i += 1,
        }
    }
}

fn truncate(s: &str) -> &str {
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Parses a sample value the way Go's `strconv.ParseFloat` does for exposition formats:
/// decimal or exponent notation, `NaN`, `+Inf`, `-Inf` (case-insensitive).
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    if !s
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'+' | b'_'))
    {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Formats a float as Prometheus 3 normalises `le` and `quantile` label values: Go's shortest
/// `%g` (exponent when it is below -4 or at least 6, two-digit exponent) with `.0` appended
/// when the result has neither `.` nor `e`.
pub(crate) fn format_openmetrics_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f == 0.0 {
        return "0.0".into();
    }
    // Rust's `{:e}` gives the shortest round-trip digits as `d[.ddd]e[-]x`.
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((e.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let s = if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    } else {
        format!("{f}")
    };
    if s.contains(['.', 'e']) { s } else { s + ".0" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use vigia_model::HasKind;

    const OM: Option<&str> = Some("application/openmetrics-text; version=1.0.0; charset=utf-8");

    #[test]
    fn prometheus_text() {
        let body = "# HELP http_requests_total The total \\\\ number\\n of requests.\n\
                    # TYPE http_requests_total counter\n\
                    http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n\
                    http_requests_total{method=\"post\",code=\"400\",} 3 1395066363000\n\
                    \n\
                    # A normal comment.\n\
                    msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n\
                    metric_without_timestamp_and_labels 12.47\n\
                    something_weird{problem=\"division by zero\"} +Inf -3982045\n\
                    neg -Inf\n\
                    nan NaN\n\
                    # TYPE rpc_duration_seconds summary\n\
                    rpc_duration_seconds{quantile=\"0.5\"} 4773\n\
                    rpc_duration_seconds_sum 1.7560473e+07\n\
                    rpc_duration_seconds_count 2693\n\
                    # TYPE h histogram\n\
                    h_bucket{le=\"+Inf\"} 1\n";
        let d = parse(
            body.as_bytes(),
            Some("text/plain; version=0.0.4"),
            99,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(d.series.len(), 11);
        assert_eq!(
            d.series[0].labels.to_string(),
            "http_requests_total{code=\"200\", method=\"post\"}"
        );
        assert_eq!(
            d.series[0].samples,
            vec![Sample::new(1395066363000, 1027.0)]
        );
        assert_eq!(d.series[2].labels.get("path"), Some("C:\\DIR\\FILE.TXT"));
        assert_eq!(
            d.series[2].labels.get("error"),
            Some("Cannot find file:\n\"FILE.TXT\"")
        );
        assert_eq!(d.series[3].samples, vec![Sample::new(99, 12.47)]);
        assert_eq!(
            d.series[4].samples,
            vec![Sample::new(-3982045, f64::INFINITY)]
        );
        assert_eq!(d.series[5].samples[0].v, f64::NEG_INFINITY);
        assert!(d.series[6].samples[0].v.is_nan());
        assert_eq!(d.series[10].labels.get("le"), Some("+Inf"));
        assert_eq!(d.metadata.len(), 3);
        assert_eq!(d.metadata[0].help, "The total \\ number\n of requests.");
        assert_eq!(d.metadata[0].kind, "counter");
        assert_eq!(d.metadata[1].kind, "summary");
    }

    #[test]
    fn le_and_quantile_are_normalised_like_prometheus_3() {
        let cases = [
            (1.0, "1.0"),
            (-1.0, "-1.0"),
            (0.25, "0.25"),
            (100000.0, "100000.0"),
            (1_000_000.0, "1e+06"),
            (1_234_567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (2.5e300, "2.5e+300"),
            (f64::INFINITY, "+Inf"),
        ];
        for (f, want) in cases {
            assert_eq!(format_openmetrics_float(f), want, "{f}");
        }
        let body = "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"+Inf\"} 1\n\
                    # TYPE s summary\ns{quantile=\"1\"} 2\n# TYPE g gauge\ng{le=\"1\"} 3\n";
        let d = parse(body.as_bytes(), None, 0, &Limits::default()).unwrap();
        let got: Vec<String> = d.series.iter().map(|s| s.labels.to_string()).collect();
        assert_eq!(
            got,
            vec![
                "h_bucket{le=\"1.0\"}",
                "h_bucket{le=\"0.5\"}",
                "h_bucket{le=\"+Inf\"}",
                "s{quantile=\"1.0\"}",
                "g{le=\"1\"}"
            ]
        );
    }

    #[test]
    fn openmetrics() {
        let body = "# TYPE foo counter\n\
                    # UNIT foo seconds\n\
                    # HELP foo A \\\"quoted\\\" help.\n\
                    foo_total{a=\"b\"} 17.0 1520879607.789 # {trace_id=\"KOO5S4vxi0o\"} 0.67\n\
                    foo_created{a=\"b\"} 1520430000.123\n\
                    # TYPE g gauge\n\
                    g_created 5\n\
                    g 1 # {id=\"x\"} 1\n\
                    # EOF\n";
        let d = parse(body.as_bytes(), OM, 5, &Limits::default()).unwrap();
        assert_eq!(d.series.len(), 3, "{:?}", d.series);
        assert_eq!(
            d.series[0].samples,
            vec![Sample::new(1_520_879_607_789, 17.0)]
        );
        assert_eq!(d.series[1].labels.metric_name(), Some("g_created"));
        assert_eq!(d.series[2].samples, vec![Sample::new(5, 1.0)]);
        assert_eq!(d.metadata[0].unit, "seconds");
        assert_eq!(d.metadata[0].help, "A \"quoted\" help.");
        // In 0.0.4, `_created` is an ordinary series and timestamps are integers.
        let d = parse(b"foo_created 1 1000\n# EOF\n", None, 0, &Limits::default()).unwrap();
        assert_eq!(d.series[0].samples, vec![Sample::new(1000, 1.0)]);
    }

    #[test]
    fn malformed() {
        let cases: &[(&str, Option<&str>, ErrorKind, &str)] = &[
            ("x", None, ErrorKind::BadData, "line 1"),
            ("ok 1\n{a=\"b\"} 1", None, ErrorKind::BadData, "line 2"),
            ("x{a=\"b} 1", None, ErrorKind::BadData, "unterminated"),
            ("x{a=b} 1", None, ErrorKind::BadData, "expected '\"'"),
            (
                "x{1a=\"b\"} 1",
                None,
                ErrorKind::BadData,
                "invalid label name",
            ),
            (
                "x{a=\"b\",a=\"c\"} 1",
                None,
                ErrorKind::BadData,
                "duplicate",
            ),
            (
                "x{a=\"b\" c=\"d\"} 1",
                None,
                ErrorKind::BadData,
                "expected ','",
            ),
            ("x abc", None, ErrorKind::BadData, "invalid value"),
            ("x 1 1.5", None, ErrorKind::BadData, "invalid timestamp"),
            ("x 1 2 3", None, ErrorKind::BadData, "unexpected"),
            ("x{a=\"b\"}", None, ErrorKind::BadData, "expected a space"),
            (
                "# TYPE x bogus",
                None,
                ErrorKind::BadData,
                "unknown metric type",
            ),
            (
                "# TYPE x info",
                None,
                ErrorKind::BadData,
                "unknown metric type",
            ),
            (
                "# HELP 1x help",
                None,
                ErrorKind::BadData,
                "invalid metric name",
            ),
            ("# EOF\nx 1", OM, ErrorKind::BadData, "after # EOF"),
            (
                "x 1",
                Some("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily"),
                ErrorKind::Unsupported,
                "protobuf",
            ),
            ("x 1 abc", OM, ErrorKind::BadData, "invalid timestamp"),
        ];
        for (body, ct, kind, needle) in cases {
            let e = parse(body.as_bytes(), *ct, 0, &Limits::default()).expect_err(body);
            assert_eq!(e.kind(), *kind, "{body}: {e}");
            assert!(e.to_string().contains(needle), "{body}: {e}");
        }
        let d = parse(b"x{a=\"C:\\q\\\\\"} 1", None, 0, &Limits::default()).unwrap();
        assert_eq!(d.series[0].labels.get("a"), Some("C:\\q\\"));
        let e = parse(b"x{a=\"\xff\"} 1", None, 0, &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("UTF-8"));
        // Many labels on one line are refused while parsing, not after a quadratic scan.
        let many: String = (0..100_000).map(|i| format!("l{i}=\"v\",")).collect();
        let e = parse(
            format!("m{{{many}}} 1").as_bytes(),
            None,
            0,
            &Limits::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("more than 64 labels"), "{e}");
        let e = parse(b"m{a=\"1\",b=\"2\",a=\"3\"} 1", None, 0, &Limits::default()).unwrap_err();
        assert!(e.to_string().contains("duplicate label name \"a\""), "{e}");
        let small = Limits {
            max_samples_per_request: 1,
            ..Limits::default()
        };
        assert_eq!(
            parse(b"a 1\nb 2\n", None, 0, &small).unwrap_err().kind(),
            ErrorKind::TooLarge
        );
        let small = Limits {
            max_label_count: 2,
            ..Limits::default()
        };
        assert_eq!(
            parse(b"a{b=\"1\",c=\"2\"} 1", None, 0, &small)
                .unwrap_err()
                .kind(),
            ErrorKind::BadData
        );
    }
}
