//! Offline scoring of a `timestamp,value` CSV with the streaming detector, and the detector
//! micro-benchmark (throughput and state size).

use std::io::Write;
use std::path::Path;

use crate::MlError;
use crate::detector::DetectorConfig;
use crate::time::parse_timestamp_ms;

/// A non-fatal irregularity found while scoring a CSV (the row is still scored).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DetectWarning {
    /// 1-based line number in the input.
    pub line: usize,
    /// What was found: duplicate timestamp, out-of-order timestamp, or a gap.
    pub message: String,
}

/// Summary of a [`detect_csv`] run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DetectReport {
    /// Rows scored.
    pub rows: usize,
    /// Irregularities (duplicates, out-of-order timestamps, gaps), each with its line.
    pub warnings: Vec<DetectWarning>,
    /// Largest score and its line.
    pub max_score: f64,
    /// Line of the largest score (0 when there are no rows).
    pub max_score_line: usize,
    /// Configuration hash.
    pub config_hash: String,
}

/// A gap is reported when consecutive timestamps are further apart than this many times the
/// median of the first intervals.
const GAP_FACTOR: i64 = 3;

/// Scores a `timestamp,value` CSV (header line required) and writes
/// `timestamp,value,anomaly_score`. Timestamps may be NAB's `2014-04-01 00:00:00`, RFC 3339 or
/// epoch seconds/milliseconds. A non-numeric value or bad timestamp is an error naming the
/// line; duplicate or out-of-order timestamps and gaps are warnings and the row is scored.
/// The whole file is known, so the detector learns for NAB's probationary period of its length
/// ([`DetectorConfig::for_known_length`]).
pub fn detect_csv(
    input: &Path,
    output: &mut dyn Write,
    cfg: &DetectorConfig,
) -> Result<DetectReport, MlError> {
    cfg.validate()?;
    let text = std::fs::read_to_string(input).map_err(|e| MlError::io(input, e))?;
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Err(MlError::parse(
            input,
            1,
            "empty file: expected a `timestamp,value` header",
        ));
    };
    let header = header.trim_end_matches('\r');
    let first = header.split(',').next().unwrap_or("").trim();
    if parse_timestamp_ms(first).is_some() {
        return Err(MlError::parse(
            input,
            1,
            "missing header line (expected `timestamp,value`)",
        ));
    }
    let mut rows: Vec<(usize, &str, &str, i64, f64)> = Vec::new();
    for (idx, line) in lines {
        let line_no = idx + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.split(',');
        let (Some(ts), Some(val)) = (parts.next(), parts.next()) else {
            return Err(MlError::parse(input, line_no, "expected `timestamp,value`"));
        };
        let Some(t) = parse_timestamp_ms(ts) else {
            return Err(MlError::parse(
                input,
                line_no,
                format!("bad timestamp {:?}", ts.trim()),
            ));
        };
        let v: f64 = match val.trim().parse() {
            Ok(v) if f64::is_finite(v) => v,
            _ => {
                return Err(MlError::parse(
                    input,
                    line_no,
                    format!("non-numeric value {:?}", val.trim()),
                ));
            }
        };
        rows.push((line_no, ts.trim(), val.trim(), t, v));
    }
    // Typical interval: median of the positive intervals.
    let mut deltas: Vec<i64> = rows
        .windows(2)
        .map(|w| w[1].3 - w[0].3)
        .filter(|&d| d > 0)
        .collect();
    deltas.sort_unstable();
    let typical = deltas.get(deltas.len() / 2).copied();
    let mut report = DetectReport {
        config_hash: cfg.hash(),
        ..DetectReport::default()
    };
    let mut det = crate::new_detector(&cfg.for_known_length(rows.len()), 0);
    let mut out = String::with_capacity(rows.len() * 40);
    out.push_str("timestamp,value,anomaly_score\n");
    let mut prev: Option<i64> = None;
    for &(line, ts, val, t, v) in &rows {
        if let Some(p) = prev {
            if t == p {
                report.warnings.push(DetectWarning {
                    line,
                    message: format!("duplicate timestamp {ts}"),
                });
            } else if t < p {
                report.warnings.push(DetectWarning {
                    line,
                    message: format!("out-of-order timestamp {ts}"),
                });
            } else if let Some(d) = typical
                && t - p > GAP_FACTOR * d
            {
                report.warnings.push(DetectWarning {
                    line,
                    message: format!(
                        "gap of {} s before {ts} (typical interval {} s)",
                        (t - p) / 1000,
                        d / 1000
                    ),
                });
            }
        }
        prev = Some(prev.map_or(t, |p| p.max(t)));
        let s = det.update(t, v);
        if s > report.max_score || report.max_score_line == 0 {
            report.max_score = s;
            report.max_score_line = line;
        }
        use std::fmt::Write as _;
        let _ = writeln!(out, "{ts},{val},{s}");
        report.rows += 1;
    }
    output
        .write_all(out.as_bytes())
        .map_err(|e| MlError::io(Path::new("<output>"), e))?;
    Ok(report)
}
