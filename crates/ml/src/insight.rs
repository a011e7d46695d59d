//! Plain-language insight for an anomaly event: which pattern it is (spike, dip, level shift,
//! trend change, variance change, missing data, or an unusual shape within the usual range)
//! and how unusual it is relative to a baseline the caller chooses (the series' recent
//! history, or the same hour on previous days).

mod classify;

use std::fmt;

pub use classify::classify;

/// The shape of an anomaly event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// A short excursion upwards that comes back.
    Spike,
    /// A short excursion downwards that comes back.
    Dip,
    /// A step to a new level that persists (up or down, see [`Insight::shift_sigmas`]).
    LevelShift,
    /// The slope changed: the series ramps away from its usual course.
    TrendChange,
    /// The spread changed while the level did not.
    VarianceChange,
    /// Samples stopped arriving (gaps much longer than the usual interval).
    MissingData,
    /// Nothing above stands out against the baseline: the values stay within their usual
    /// range, but their sequence is one the detector had not seen.
    UnusualShape,
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pattern::Spike => "spike",
            Pattern::Dip => "dip",
            Pattern::LevelShift => "level shift",
            Pattern::TrendChange => "trend change",
            Pattern::VarianceChange => "variance change",
            Pattern::MissingData => "missing data",
            Pattern::UnusualShape => "unusual shape",
        })
    }
}

/// What an event looks like against its baseline.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Insight {
    /// The pattern named.
    pub pattern: Pattern,
    /// Most extreme event value divided by the baseline's typical (median) value; `None` when
    /// the baseline level is zero or of the other sign (a ratio would mislead).
    pub peak_ratio: Option<f64>,
    /// Most extreme deviation from the baseline median, in robust standard deviations.
    pub peak_sigmas: f64,
    /// Deviation of the event's last third from the baseline median, in robust sds (signed).
    pub shift_sigmas: f64,
    /// Event spread (around its own linear fit) against baseline stretches of the same length:
    /// below 1 when flatter than 95 % of them (divided by that 5th percentile), above 1 when
    /// more volatile than 95 % (divided by the 95th), 1 in between.
    pub spread_ratio: f64,
    /// The most extreme event value.
    pub peak_value: f64,
    /// The baseline median.
    pub usual_value: f64,
    /// Duration in milliseconds of what the pattern names: for a spike or dip the run of
    /// samples more than 2 robust sds from usual around the peak; for a level shift or trend
    /// change from the first such sample to the end; otherwise the whole event.
    pub duration_ms: i64,
}

impl Insight {
    /// A sentence such as "p95 latency on web-3 rose to 4.1× its usual level for 12 minutes
    /// (spike, 9.3σ)". `subject` names the series; `context` says what "usual" means (e.g.
    /// "for this hour").
    pub fn describe(&self, subject: &str, context: &str) -> String {
        // "for 12 minutes", or "in a single sample" for an event of one sample.
        let dur = if self.duration_ms >= 1000 {
            format!("for {}", human_duration(self.duration_ms))
        } else {
            "in a single sample".to_string()
        };
        let ctx = if context.is_empty() {
            String::new()
        } else {
            format!(" {context}")
        };
        let how = match self.pattern {
            Pattern::MissingData if self.duration_ms >= 1000 => {
                format!("{subject} stopped reporting {dur}")
            }
            Pattern::MissingData => format!("{subject} stopped reporting"),
            Pattern::VarianceChange => {
                let (ratio, how) = if self.spread_ratio >= 1.0 {
                    (self.spread_ratio, "volatile")
                } else {
                    (1.0 / self.spread_ratio.max(1e-9), "flat")
                };
                if ratio >= 100.0 && how == "flat" {
                    format!("{subject} stopped moving (over 100× flatter than usual{ctx}), {dur}")
                } else if ratio >= 100.0 {
                    format!("{subject} became over 100× as volatile as usual{ctx}, {dur}")
                } else {
                    format!("{subject} became {ratio:.1}× as {how} as usual{ctx}, {dur}")
                }
            }
            Pattern::UnusualShape => {
                format!("{subject} moved in an unusual way within its usual range{ctx} {dur}")
            }
            Pattern::TrendChange => format!(
                "{subject} is trending {} away from its usual level{ctx} ({:.1}σ, {dur})",
                if self.shift_sigmas >= 0.0 {
                    "up"
                } else {
                    "down"
                },
                self.shift_sigmas.abs()
            ),
            _ => {
                let verb = if self.peak_value >= self.usual_value {
                    "rose"
                } else {
                    "fell"
                };
                match telling_ratio(self.peak_ratio) {
                    Some(r) => {
                        format!("{subject} {verb} to {r:.1}× its usual level{ctx} {dur}")
                    }
                    None => format!(
                        "{subject} {verb} to {} ({:.1}σ from usual{ctx}) {dur}",
                        number(self.peak_value),
                        self.peak_sigmas
                    ),
                }
            }
        };
        format!("{how} ({}, {:.1}σ)", self.pattern, self.peak_sigmas)
    }
}

/// How far an event's peak lies from a second baseline whose samples need not be contiguous
/// (the same time of day on earlier days): only levels are compared.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Comparison {
    /// Most extreme event value divided by the baseline median (`None` as in [`Insight`]).
    pub peak_ratio: Option<f64>,
    /// Its deviation from the baseline median, in robust standard deviations.
    pub peak_sigmas: f64,
}

impl Comparison {
    /// "3.2× its usual level for this hour (5.1σ)", or "5.1σ from its usual level for this
    /// hour" when a ratio would mislead.
    pub fn phrase(&self, context: &str) -> String {
        let ctx = if context.is_empty() {
            String::new()
        } else {
            format!(" {context}")
        };
        match telling_ratio(self.peak_ratio) {
            Some(r) => format!("{r:.1}× its usual level{ctx} ({:.1}σ)", self.peak_sigmas),
            None => format!("{:.1}σ from its usual level{ctx}", self.peak_sigmas),
        }
    }
}

/// A value for a sentence: whole numbers from 1,000 up, else 4 significant digits without
/// trailing zeros (0.30000000000000004 → 0.3).
fn number(v: f64) -> String {
    if !v.is_finite() || v.abs() >= 1000.0 {
        return format!("{v:.0}");
    }
    let digits = (3 - v.abs().log10().floor().max(-12.0) as i32).max(0) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A ratio worth saying: one that does not round to 1.0× (a 2σ move of a large, steady value
/// such as free disk bytes reads better in σ and units).
fn telling_ratio(r: Option<f64>) -> Option<f64> {
    r.filter(|r| (r - 1.0).abs() >= 0.05)
}

/// Compares the peak of `event` with the values of `baseline` (at least 5 of them; `None`
/// otherwise, or when the event is empty).
pub fn compare(baseline: &[f64], event: &[(i64, f64)]) -> Option<Comparison> {
    if baseline.len() < 5 || event.is_empty() {
        return None;
    }
    let (usual, mad) = centre_and_spread(&mut baseline.to_vec());
    let sigma = mad.max(scale_floor(usual));
    let peak = furthest(event.iter().map(|p| p.1), usual)?;
    Some(Comparison {
        peak_ratio: ratio_to(peak, usual),
        peak_sigmas: (peak - usual).abs() / sigma,
    })
}

/// Median and robust standard deviation (MAD × 1.4826) of `values`, which are reordered.
fn centre_and_spread(values: &mut [f64]) -> (f64, f64) {
    let usual = median(values);
    let mut dev: Vec<f64> = values.iter().map(|v| (v - usual).abs()).collect();
    (usual, median(&mut dev) * 1.4826)
}

/// The smallest spread worth dividing by for values around `usual`.
fn scale_floor(usual: f64) -> f64 {
    1e-9 * usual.abs().max(1e-300)
}

/// The value furthest from `usual`.
fn furthest(values: impl Iterator<Item = f64>, usual: f64) -> Option<f64> {
    values.max_by(|a, b| (a - usual).abs().total_cmp(&(b - usual).abs()))
}

/// `v / usual` when both have the same sign (a ratio across zero would mislead).
fn ratio_to(v: f64, usual: f64) -> Option<f64> {
    (usual > 0.0 && v >= 0.0 || usual < 0.0 && v <= 0.0)
        .then(|| v / usual)
        .filter(|r| r.is_finite())
}

fn human_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s == 1 {
        "1 second".to_string()
    } else if s < 120 {
        format!("{s} seconds")
    } else if s < 7200 {
        format!("{} minutes", s / 60)
    } else if s < 172_800 {
        format!("{} hours", s / 3600)
    } else {
        format!("{} days", s / 86_400)
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v.get(n / 2).copied().unwrap_or(0.0),
        _ => {
            (v.get(n / 2 - 1).copied().unwrap_or(0.0) + v.get(n / 2).copied().unwrap_or(0.0)) / 2.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: i64 = 60_000;

    type Series = Vec<(i64, f64)>;

    fn noise(i: usize) -> f64 {
        // Deterministic pseudo-noise in [-1, 1].
        let x = (i as f64 * 12.9898).sin() * 43_758.545;
        2.0 * (x - x.floor()) - 1.0
    }

    fn baseline() -> Vec<(i64, f64)> {
        (0..200)
            .map(|i| (i as i64 * STEP, 100.0 + noise(i)))
            .collect()
    }

    fn event(f: impl Fn(usize) -> f64, len: usize) -> Vec<(i64, f64)> {
        (0..len).map(|k| ((200 + k) as i64 * STEP, f(k))).collect()
    }

    #[test]
    fn names_each_pattern() {
        let b = baseline();
        let cases: Vec<(&str, Series, Pattern)> = vec![
            (
                "spike",
                event(
                    |k| {
                        if k == 2 {
                            180.0
                        } else {
                            100.0 + noise(300 + k)
                        }
                    },
                    8,
                ),
                Pattern::Spike,
            ),
            (
                "dip",
                event(|k| if k == 3 { 40.0 } else { 100.0 + noise(300 + k) }, 8),
                Pattern::Dip,
            ),
            (
                "level shift",
                event(|k| 130.0 + noise(300 + k), 20),
                Pattern::LevelShift,
            ),
            (
                "level shift down",
                event(|k| 70.0 + noise(300 + k), 20),
                Pattern::LevelShift,
            ),
            (
                "trend",
                event(|k| 100.0 + 2.0 * k as f64 + noise(300 + k), 30),
                Pattern::TrendChange,
            ),
            (
                "variance",
                event(|k| 100.0 + 2.5 * noise(300 + k), 40),
                Pattern::VarianceChange,
            ),
            ("flatline", event(|_| 100.2, 40), Pattern::VarianceChange),
            (
                "missing",
                vec![(260 * STEP, 100.0), (261 * STEP, 100.5)],
                Pattern::MissingData,
            ),
            ("nothing at all", Vec::new(), Pattern::MissingData),
            (
                "a new sequence of usual values",
                event(|k| 100.0 + noise(k % 3) * 0.9, 12),
                Pattern::UnusualShape,
            ),
        ];
        for (name, ev, want) in cases {
            let got = classify(&b, &ev).unwrap();
            assert_eq!(got.pattern, want, "{name}: {got:?}");
        }
    }

    #[test]
    fn flatness_that_is_usual_is_not_a_variance_change() {
        // Disk free space that stays put for an hour, then drops a little: a flat hour is its
        // usual behaviour.
        let stepped = |i: usize| 1000.0 - (i / 60) as f64 * 3.0;
        let b: Vec<(i64, f64)> = (0..240).map(|i| (i as i64 * STEP, stepped(i))).collect();
        let ev: Vec<(i64, f64)> = (240..296).map(|i| (i as i64 * STEP, stepped(i))).collect();
        let ins = classify(&b, &ev).unwrap();
        assert_ne!(ins.pattern, Pattern::VarianceChange, "{ins:?}");
        // The same flat hour after a noisy baseline is one.
        let noisy: Vec<(i64, f64)> = (0..240)
            .map(|i| (i as i64 * STEP, 1000.0 + 3.0 * noise(i)))
            .collect();
        let flat: Vec<(i64, f64)> = (240..296).map(|i| (i as i64 * STEP, 1000.0)).collect();
        assert_eq!(
            classify(&noisy, &flat).unwrap().pattern,
            Pattern::VarianceChange
        );
    }

    #[test]
    fn describes_in_plain_language() {
        let b: Vec<(i64, f64)> = (0..200)
            .map(|i| (i as i64 * STEP, 1.0 + 0.01 * noise(i)))
            .collect();
        let ev = event(|k| if k < 12 { 4.1 } else { 1.0 }, 13);
        let ins = classify(&b, &ev).unwrap();
        let text = ins.describe("p95 latency on web-3", "for this hour");
        assert!(
            text.starts_with(
                "p95 latency on web-3 rose to 4.1× its usual level for this hour for 12 minutes"
            ),
            "{text}"
        );
        assert!(classify(&b[..3], &ev).is_none());
        // A one-sample event has no duration to speak of.
        let one = event(|_| 4.1, 1);
        let text = classify(&b, &one)
            .unwrap()
            .describe("p95 latency on web-3", "");
        assert!(text.contains("in a single sample"), "{text}");
        assert!(!text.contains("0 seconds"), "{text}");
        // A stuck series is said to stop moving, not to be "40000× as flat".
        let stuck = event(|_| 1.0, 40);
        let ins = classify(&b, &stuck).unwrap();
        assert_eq!(ins.pattern, Pattern::VarianceChange);
        let text = ins.describe("disk on web-3", "");
        assert!(
            text.starts_with("disk on web-3 stopped moving (over 100× flatter"),
            "{text}"
        );
        // Nothing stands out: the sentence says so instead of naming a 0σ dip.
        let usual = event(|k| 1.0 + 0.01 * noise(k % 3), 12);
        let ins = classify(&b, &usual).unwrap();
        assert_eq!(ins.pattern, Pattern::UnusualShape);
        let text = ins.describe("load on web-2", "compared with its recent behaviour");
        assert!(
            text.starts_with("load on web-2 moved in an unusual way within its usual range"),
            "{text}"
        );
        // A move that rounds to 1.0× is said in σ and units instead.
        let big: Vec<(i64, f64)> = (0..200)
            .map(|i| (i as i64 * STEP, 1e9 + 1e5 * noise(i)))
            .collect();
        let nudge = event(|k| if k == 2 { 1e9 + 1e6 } else { 1e9 }, 4);
        let text = classify(&big, &nudge)
            .unwrap()
            .describe("disk on web-1", "");
        assert!(text.contains("rose to 1001000000 ("), "{text}");
        assert_eq!(number(0.300_000_000_000_000_04), "0.3");
        assert_eq!(number(12.345_67), "12.35");
        assert_eq!(number(0.001_234_5), "0.001234");
        assert_eq!(number(0.0), "0");
        let vals: Vec<f64> = b.iter().map(|p| p.1).collect();
        let c = compare(&vals, &ev).unwrap();
        assert!(
            c.phrase("for this hour")
                .starts_with("4.1× its usual level for this hour (")
        );
        assert!(compare(&vals[..4], &ev).is_none());
        let negative: Vec<f64> = vals.iter().map(|v| -v).collect();
        assert_eq!(compare(&negative, &ev).unwrap().peak_ratio, None);
    }
}
