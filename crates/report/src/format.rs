//! Units, number formatting (localised separators, k/M, %, s, bytes, currency), "nice" axis
//! ticks, UTC time ticks, and HTML/XML escaping.

use crate::i18n::Lang;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The unit of a value; decides formatting and axis labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// A plain number (k/M/G suffixes when large).
    #[default]
    Plain,
    /// A count of things (thousands separators).
    Count,
    /// Seconds (shown as ms, s, min, h, d).
    Seconds,
    /// A 0–1 ratio shown as a percentage.
    Ratio,
    /// A value already in percent.
    Percent,
    /// Bytes (binary prefixes).
    Bytes,
    /// Money in the campaign currency (EUR).
    Currency,
    /// Requests per second.
    Rps,
    /// A score (one decimal).
    Score,
}

impl Unit {
    /// Parses the unit names used in KPI configurations and dashboards; unknown names are
    /// `None`.
    pub fn parse(s: &str) -> Option<Unit> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "" | "plain" | "none" | "short" => Unit::Plain,
            "count" => Unit::Count,
            "seconds" | "s" => Unit::Seconds,
            "ratio" => Unit::Ratio,
            "percent" | "%" => Unit::Percent,
            "bytes" => Unit::Bytes,
            "currency" | "eur" => Unit::Currency,
            "rps" | "reqps" => Unit::Rps,
            "score" => Unit::Score,
            _ => return None,
        })
    }
}

/// Escapes text for HTML/XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Formats a coordinate for SVG: two decimals, trailing zeros trimmed; never `NaN`/`inf`
/// (non-finite numbers become 0).
pub fn coord(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let mut s = format!("{:.2}", v);
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" { "0".into() } else { s }
}

/// Formats `v` with `decimals` decimals and the language's separators.
pub fn fmt_num(v: f64, decimals: usize, lang: Lang) -> String {
    if v.is_nan() {
        return "—".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        };
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    let mut out = String::new();
    let negative = v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    if negative {
        out.push('−');
    }
    let n = int.len();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (n - i) % 3 == 0 {
            out.push(lang.thousands_sep());
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push(lang.decimal_sep());
        out.push_str(f);
    }
    out
}

/// Decimals that show a value of magnitude `v` with about three significant digits.
fn sig_decimals(v: f64) -> usize {
    let a = v.abs();
    if a == 0.0 || a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        // 0.0123 → 4 decimals
        let mag = (-a.log10()).floor() as i64;
        (mag + 3).clamp(2, 8) as usize
    }
}

fn compact(v: f64, lang: Lang) -> String {
    let a = v.abs();
    for (div, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] {
        if a >= div * 0.9995 && a >= 10_000.0 {
            let x = v / div;
            return format!("{}{}", fmt_num(x, sig_decimals(x).min(1), lang), suffix);
        }
    }
    let d = if v.fract() == 0.0 {
        0
    } else {
        sig_decimals(v).min(2)
    };
    fmt_num(v, d, lang)
}

/// Formats a value for display (KPI cards, tables, legends).
pub fn format_value(v: f64, unit: Unit, lang: Lang) -> String {
    if !v.is_finite() {
        return fmt_num(v, 0, lang);
    }
    match unit {
        Unit::Plain => compact(v, lang),
        Unit::Count => {
            if v.abs() >= 1e6 {
                compact(v, lang)
            } else if v.fract() == 0.0 {
                fmt_num(v, 0, lang)
            } else {
                fmt_num(v, sig_decimals(v).min(2), lang)
            }
        }
        Unit::Seconds => {
            let a = v.abs();
            if a == 0.0 {
                "0 s".into()
            } else if a < 1.0 {
                let ms = v * 1000.0;
                format!("{} ms", fmt_num(ms, sig_decimals(ms).min(2), lang))
            } else if a < 120.0 {
                format!("{} s", fmt_num(v, sig_decimals(v).min(2), lang))
            } else if a < 7200.0 {
                format!("{} min", fmt_num(v / 60.0, 1, lang))
            } else if a < 172_800.0 {
                format!("{} h", fmt_num(v / 3600.0, 1, lang))
            } else {
                format!("{} d", fmt_num(v / 86400.0, 1, lang))
            }
        }
        Unit::Ratio => format_percent(v * 100.0, lang),
        Unit::Percent => format_percent(v, lang),
        Unit::Bytes => {
            let a = v.abs();
            let mut div = 1.0;
            let mut suffix = "B";
            for (d, s) in [
                (1024f64.powi(4), "TiB"),
                (1024f64.powi(3), "GiB"),
                (1024f64.powi(2), "MiB"),
                (1024.0, "KiB"),
            ] {
                if a >= d {
                    div = d;
                    suffix = s;
                    break;
                }
            }
            let x = v / div;
            format!(
                "{} {}",
                fmt_num(x, if div == 1.0 { 0 } else { 1 }, lang),
                suffix
            )
        }
        Unit::Currency => {
            let n = if v.abs() >= 1e6 {
                compact(v, lang)
            } else if v.abs() >= 1000.0 {
                fmt_num(v, 0, lang)
            } else {
                fmt_num(v, 2, lang)
            };
            match lang {
                Lang::En => format!("€{n}"),
                Lang::Es => format!("{n} €"),
            }
        }
        Unit::Rps => format!("{} req/s", compact(v, lang)),
        Unit::Score => fmt_num(v, 1, lang),
    }
}

fn format_percent(p: f64, lang: Lang) -> String {
    let d = if p.abs() >= 100.0 {
        0
    } else if p.abs() >= 1.0 || p == 0.0 {
        1
    } else {
        2
    };
    format!("{} %", fmt_num(p, d, lang))
}

/// A value axis: domain and tick positions (in raw units) with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueAxis {
    /// Lowest value of the domain (bottom of the plot).
    pub min: f64,
    /// Highest value of the domain (top of the plot).
    pub max: f64,
    /// Tick values, ascending, all inside `[min, max]`.
    pub ticks: Vec<f64>,
    /// One label per tick.
    pub labels: Vec<String>,
}

/// The "nice" step (1, 2, 2.5, 5 × 10ⁿ) near `rough`.
pub fn nice_step(rough: f64) -> f64 {
    if !rough.is_finite() || rough <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(rough.log10().floor());
    let f = rough / mag;
    let n = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    n * mag
}

/// Divisor and suffix for axis labels of `unit` at magnitude `max_abs`, and a prefix.
fn axis_scale(unit: Unit, max_abs: f64) -> (f64, &'static str, &'static str) {
    match unit {
        Unit::Ratio => (0.01, " %", ""),
        Unit::Percent => (1.0, " %", ""),
        Unit::Seconds => {
            if max_abs < 1.0 {
                (0.001, " ms", "")
            } else if max_abs < 120.0 {
                (1.0, " s", "")
            } else if max_abs < 7200.0 {
                (60.0, " min", "")
            } else if max_abs < 172_800.0 {
                (3600.0, " h", "")
            } else {
                (86400.0, " d", "")
            }
        }
        Unit::Bytes => {
            for (d, s) in [
                (1024f64.powi(4), " TiB"),
                (1024f64.powi(3), " GiB"),
                (1024f64.powi(2), " MiB"),
                (1024.0, " KiB"),
            ] {
                if max_abs >= d {
                    return (d, s, "");
                }
            }
            (1.0, " B", "")
        }
        Unit::Plain | Unit::Count | Unit::Rps | Unit::Score | Unit::Currency => {
            let prefix = if unit == Unit::Currency { "€" } else { "" };
            for (d, s) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] {
                if max_abs >= d {
                    return (d, s, prefix);
                }
            }
            (1.0, "", prefix)
        }
    }
}

/// Computes a value axis covering `[lo, hi]` with about `target` ticks. Non-finite bounds
/// give a default `[0, 1]` axis; equal bounds are widened.
pub fn value_axis(lo: f64, hi: f64, unit: Unit, target: usize, lang: Lang) -> ValueAxis {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() && lo <= hi {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    if hi - lo < f64::EPSILON * hi.abs().max(1.0) {
        if lo == 0.0 {
            hi = 1.0;
        } else {
            let pad = lo.abs() * 0.1;
            lo -= pad;
            hi += pad;
        }
    }
    let max_abs = lo.abs().max(hi.abs());
    let (div, suffix, prefix) = axis_scale(unit, max_abs);
    let (slo, shi) = (lo / div, hi / div);
    let target = target.max(2);
    let step = nice_step((shi - slo) / (target - 1) as f64);
    let first = (slo / step).floor();
    let last = (shi / step).ceil();
    let min = first * step * div;
    let max = last * step * div;
    let count = ((last - first).round() as i64).clamp(1, 100);
    // Fewest decimals that show the step exactly (2.5 needs one, 0.25 two).
    let decimals = (0..=10usize)
        .find(|d| {
            let x = step * 10f64.powi(*d as i32);
            (x - x.round()).abs() < 1e-6 * x.abs().max(1.0)
        })
        .unwrap_or(10);
    let mut ticks = Vec::new();
    let mut labels = Vec::new();
    for i in 0..=count {
        let s = (first + i as f64) * step;
        let v = s * div;
        ticks.push(v.clamp(min, max));
        let mut n = fmt_num(s, decimals, lang);
        if n == "−0" {
            n = "0".into();
        }
        labels.push(format!("{prefix}{n}{suffix}"));
    }
    ValueAxis {
        min,
        max,
        ticks,
        labels,
    }
}

/// Candidate time steps in seconds.
const TIME_STEPS: &[i64] = &[
    10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172_800,
    604_800, 1_209_600,
];

/// Time ticks (Unix seconds, UTC) in `[start, end]`, at most `max_ticks`, aligned to round
/// clock times (weeks start on Monday), with labels `HH:MM`, or `MM-DD` at day steps and
/// at midnight.
pub fn time_ticks(start: f64, end: f64, max_ticks: usize) -> Vec<(f64, String)> {
    if !start.is_finite() || !end.is_finite() || end <= start {
        return Vec::new();
    }
    let range = end - start;
    let max_ticks = max_ticks.max(2) as f64;
    let step = TIME_STEPS
        .iter()
        .copied()
        .find(|&s| range / s as f64 <= max_ticks)
        .unwrap_or_else(|| {
            let weeks = (range / max_ticks / 604_800.0).ceil().max(1.0) as i64;
            weeks * 604_800
        });
    // Weeks: align on Monday (the epoch was a Thursday).
    let offset: i64 = if step % 604_800 == 0 { 4 * 86400 } else { 0 };
    let s0 = start.ceil() as i64;
    let mut t = (s0 - offset).div_euclid(step) * step + offset;
    if t < s0 {
        t += step;
    }
    let mut out = Vec::new();
    while (t as f64) <= end && out.len() < 1000 {
        let label = match chrono::DateTime::from_timestamp(t, 0) {
            Some(dt) => {
                if step >= 86400 || t.rem_euclid(86400) == 0 {
                    dt.format("%m-%d").to_string()
                } else if step < 60 {
                    dt.format("%H:%M:%S").to_string()
                } else {
                    dt.format("%H:%M").to_string()
                }
            }
            None => String::new(),
        };
        out.push((t as f64, label));
        t += step;
    }
    out
}

/// Formats a Unix time as `YYYY-MM-DD HH:MM UTC`.
pub fn format_time(t: f64) -> String {
    if !t.is_finite() {
        return "—".into();
    }
    match chrono::DateTime::from_timestamp(t.floor() as i64, 0) {
        Some(dt) => dt.format("%Y-%m-%d %H:%M UTC").to_string(),
        None => "—".into(),
    }
}

/// Formats a duration in seconds as `5m`, `2h`, `1d12h`.
pub fn format_duration(secs: f64) -> String {
    if !secs.is_finite() || secs <= 0.0 {
        return "0s".into();
    }
    let mut s = secs.round() as i64;
    let mut out = String::new();
    for (unit, name) in [(86400, "d"), (3600, "h"), (60, "m"), (1, "s")] {
        if s >= unit {
            let _ = write!(out, "{}{}", s / unit, name);
            s %= unit;
        }
    }
    out
}

/// Parses a Prometheus duration (`30s`, `5m`, `1h30m`, `14d`, `2w`) into seconds.
pub fn parse_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            0.001
        } else {
            match c {
                's' => 1.0,
                'm' => 60.0,
                'h' => 3600.0,
                'd' => 86400.0,
                'w' => 604_800.0,
                'y' => 31_536_000.0,
                _ => return None,
            }
        };
        let n: f64 = num.parse().ok()?;
        num.clear();
        total += n * unit;
        any = true;
    }
    if !num.is_empty() || !any || total <= 0.0 {
        return None;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_units_in_both_languages() {
        assert_eq!(format_value(2000.0, Unit::Count, Lang::En), "2,000");
        assert_eq!(format_value(2000.0, Unit::Count, Lang::Es), "2.000");
        assert_eq!(format_value(0.75, Unit::Ratio, Lang::En), "75.0 %");
        assert_eq!(format_value(0.75, Unit::Ratio, Lang::Es), "75,0 %");
        assert_eq!(format_value(25.0, Unit::Ratio, Lang::En), "2,500 %");
        assert_eq!(format_value(0.001, Unit::Ratio, Lang::En), "0.10 %");
        assert_eq!(format_value(0.25, Unit::Seconds, Lang::En), "250 ms");
        assert_eq!(format_value(2.5, Unit::Seconds, Lang::En), "2.50 s");
        assert_eq!(format_value(106250.0, Unit::Currency, Lang::En), "€106,250");
        assert_eq!(
            format_value(106250.0, Unit::Currency, Lang::Es),
            "106.250 €"
        );
        assert_eq!(
            format_value(1536.0 * 1024.0, Unit::Bytes, Lang::En),
            "1.5 MiB"
        );
        assert_eq!(format_value(12_345.0, Unit::Plain, Lang::En), "12.3k");
        assert_eq!(format_value(1.0, Unit::Plain, Lang::En), "1");
        assert_eq!(format_value(1.5, Unit::Plain, Lang::En), "1.50");
        assert_eq!(format_value(2_500_000.0, Unit::Rps, Lang::En), "2.5M req/s");
        assert_eq!(format_value(-3.0, Unit::Count, Lang::En), "−3");
        assert_eq!(format_value(f64::NAN, Unit::Count, Lang::En), "—");
        assert_eq!(format_value(8.46, Unit::Score, Lang::Es), "8,5");
    }

    #[test]
    fn value_axis_is_nice_and_covers_data() {
        for (lo, hi) in [
            (0.0, 7.3),
            (3.2, 3.2),
            (-5.0, 17.0),
            (0.0, 0.013),
            (1e9, 5e9),
        ] {
            let a = value_axis(lo, hi, Unit::Plain, 5, Lang::En);
            assert!(a.min <= lo && a.max >= hi, "{lo} {hi} {a:?}");
            assert!(a.ticks.windows(2).all(|w| w[0] < w[1]), "{a:?}");
            assert!(a.ticks.iter().all(|t| *t >= a.min && *t <= a.max));
            assert_eq!(a.ticks.len(), a.labels.len());
            assert!(a.ticks.len() >= 2 && a.ticks.len() <= 12, "{a:?}");
        }
        let a = value_axis(0.0, 0.8, Unit::Ratio, 5, Lang::En);
        assert_eq!(a.labels.last().map(String::as_str), Some("80 %"));
        let a = value_axis(
            0.0,
            3.0 * 1024.0 * 1024.0 * 1024.0,
            Unit::Bytes,
            4,
            Lang::En,
        );
        assert!(a.labels.iter().all(|l| l.ends_with(" GiB")), "{a:?}");
        let a = value_axis(f64::NAN, f64::INFINITY, Unit::Plain, 5, Lang::En);
        assert_eq!((a.min, a.max), (0.0, 1.0));
        let a = value_axis(0.0, 2.5, Unit::Plain, 6, Lang::Es);
        assert!(a.labels.contains(&"0,5".to_string()), "{a:?}");
        let a = value_axis(0.0, 10.0, Unit::Plain, 5, Lang::En);
        assert_eq!(a.labels, vec!["0.0", "2.5", "5.0", "7.5", "10.0"]);
    }

    #[test]
    fn time_ticks_for_ranges_from_minutes_to_weeks() {
        let t0 = 1_795_460_017.0;
        for range in [
            300.0,
            3600.0,
            6.0 * 3600.0,
            86400.0,
            7.0 * 86400.0,
            30.0 * 86400.0,
        ] {
            let ticks = time_ticks(t0, t0 + range, 8);
            assert!(ticks.len() >= 2 && ticks.len() <= 8, "{range}: {ticks:?}");
            assert!(ticks.windows(2).all(|w| w[0].0 < w[1].0));
            assert!(
                ticks
                    .iter()
                    .all(|(t, l)| *t >= t0 && *t <= t0 + range && !l.is_empty())
            );
        }
        // a 5-minute window gets minute ticks on whole minutes
        let ticks = time_ticks(t0, t0 + 300.0, 8);
        assert!(ticks.iter().all(|(t, _)| (*t as i64) % 60 == 0));
        // 30 days: weekly ticks on Mondays, labelled MM-DD
        let ticks = time_ticks(t0, t0 + 30.0 * 86400.0, 6);
        for (t, l) in &ticks {
            let dt = chrono::DateTime::from_timestamp(*t as i64, 0).unwrap();
            assert_eq!(dt.format("%a").to_string(), "Mon");
            assert_eq!(l.len(), 5);
        }
        assert!(time_ticks(5.0, 5.0, 8).is_empty());
        assert!(time_ticks(f64::NAN, 5.0, 8).is_empty());
    }

    #[test]
    fn durations_and_coords() {
        assert_eq!(parse_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_duration("14d"), Some(14.0 * 86400.0));
        assert_eq!(parse_duration("500ms"), Some(0.5));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("x"), None);
        assert_eq!(format_duration(5400.0), "1h30m");
        assert_eq!(coord(f64::NAN), "0");
        assert_eq!(coord(1.0), "1");
        assert_eq!(coord(-0.001), "0");
        assert_eq!(coord(12.345), "12.35");
        assert_eq!(esc("<script>\"&'"), "&lt;script&gt;&quot;&amp;&#39;");
    }
}
