//! Naming an event's pattern ([`classify`]): what its baseline says is usual, the
//! missing-data check, the measurements of the event values, the pattern they name and the
//! duration of what it names.

use super::{Insight, Pattern, centre_and_spread, furthest, ratio_to, scale_floor};

/// Names the pattern of `event` (the anomalous stretch, oldest first) against `baseline`
/// (normal behaviour before it, or the same hours on earlier days). Both are
/// `(timestamp_ms, value)`. Returns `None` when the baseline has fewer than 5 samples.
pub fn classify(baseline: &[(i64, f64)], event: &[(i64, f64)]) -> Option<Insight> {
    if baseline.len() < 5 {
        return None;
    }
    let base = Baseline::new(baseline);
    let last_base = baseline.last().map_or(0, |p| p.0);
    if let Some(missing) = missing_data(&base, last_base, event) {
        return Some(missing);
    }
    let y: Vec<f64> = event.iter().map(|p| p.1).collect();
    let m = Measures::new(&base, &y);
    let pattern = m.pattern(base.usual);
    Some(Insight {
        pattern,
        peak_ratio: ratio_to(m.peak_value, base.usual),
        peak_sigmas: m.peak_sigmas,
        shift_sigmas: m.shift_sigmas,
        spread_ratio: m.spread_ratio,
        peak_value: m.peak_value,
        usual_value: base.usual,
        duration_ms: pattern_duration(pattern, &base, last_base, event, m.peak_value),
    })
}

/// What the baseline of [`classify`] says is usual.
struct Baseline {
    /// The baseline values, oldest first.
    values: Vec<f64>,
    /// Their median.
    usual: f64,
    /// Residual sd around a line through them.
    resid: f64,
    /// The smallest spread worth dividing by (see [`scale_floor`]).
    floor: f64,
    /// The robust sd, at least half the residual sd and the floor.
    sigma: f64,
    /// The median positive interval between samples (0 when there is none).
    interval: i64,
}

impl Baseline {
    fn new(baseline: &[(i64, f64)]) -> Self {
        let values: Vec<f64> = baseline.iter().map(|p| p.1).collect();
        let (usual, mad) = centre_and_spread(&mut values.clone());
        let (_, resid) = line_fit(&values);
        let floor = scale_floor(usual);
        let sigma = mad.max(resid * 0.5).max(floor);
        let mut intervals: Vec<i64> = baseline
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .filter(|&d| d > 0)
            .collect();
        let interval = if intervals.is_empty() {
            0
        } else {
            intervals.sort_unstable();
            intervals.get(intervals.len() / 2).copied().unwrap_or(0)
        };
        Baseline {
            values,
            usual,
            resid,
            floor,
            sigma,
            interval,
        }
    }
}

/// The missing-data insight when `event` is empty or has a gap (counting the one after the
/// baseline's last sample at `last_base`) longer than 5 usual intervals; `None` otherwise.
fn missing_data(base: &Baseline, last_base: i64, event: &[(i64, f64)]) -> Option<Insight> {
    let first_ts = event.first().map_or(last_base, |p| p.0);
    let last_ts = event.last().map_or(last_base, |p| p.0);
    let longest_gap = std::iter::once(last_base)
        .chain(event.iter().map(|p| p.0))
        .collect::<Vec<_>>()
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(0);
    let typical = base.interval;
    if !(event.is_empty() || (typical > 0 && longest_gap > 5 * typical)) {
        return None;
    }
    Some(Insight {
        pattern: Pattern::MissingData,
        peak_ratio: None,
        peak_sigmas: 0.0,
        shift_sigmas: 0.0,
        spread_ratio: 1.0,
        peak_value: base.usual,
        usual_value: base.usual,
        duration_ms: if event.is_empty() {
            0
        } else {
            longest_gap.max(last_ts - first_ts)
        },
    })
}

/// The measurements of the event values that [`Measures::pattern`] weighs.
struct Measures {
    /// The most extreme event value.
    peak_value: f64,
    /// Its deviation from usual, in sigmas.
    peak_sigmas: f64,
    /// Deviation of the event's last third from usual, in sigmas (signed).
    shift_sigmas: f64,
    /// See [`Insight::spread_ratio`].
    spread_ratio: f64,
    /// Whether the spread ratio is far enough from 1 to count as a change.
    spread_changed: bool,
    /// Rise or fall of the event's linear fit over its length, in sigmas.
    ramp: f64,
    /// Sum of squared errors around the event's linear fit.
    line_sse: f64,
    /// Sum of squared errors of the best single step through the event.
    step: f64,
    /// Share of event samples more than 2 sigmas from usual: high for a changed spread, low
    /// for an isolated spike or dip.
    wide: f64,
    /// Whether the event is long enough (6 samples) for a shift or a spread change.
    long: bool,
}

impl Measures {
    /// Measures the (non-empty) event values `y` against `base`.
    fn new(base: &Baseline, y: &[f64]) -> Self {
        let (usual, sigma) = (base.usual, base.sigma);
        let peak_value = furthest(y.iter().copied(), usual).unwrap_or(usual);
        let peak_sigmas = (peak_value - usual).abs() / sigma;
        let tail_len = (y.len() / 3).max(1);
        let tail = y.get(y.len() - tail_len..).unwrap_or(&[]);
        let shift_sigmas = (tail.iter().sum::<f64>() / tail_len as f64 - usual) / sigma;
        let (slope, resid) = line_fit(y);
        let windowed = y.len() >= 3 && base.values.len() >= 2 * y.len();
        let spread_ratio = spread_ratio(base, y, resid, windowed);
        let n = y.len() as f64;
        let line_sse = resid * resid * (n - 2.0).max(1.0);
        let step = step_sse(y);
        let ramp = (slope * n).abs() / sigma;
        let wide = y
            .iter()
            .filter(|v| (*v - usual).abs() > 2.0 * sigma)
            .count() as f64
            / n;
        let long = y.len() >= 6;
        // Beyond 95 % of same-length baseline stretches, 1.5× more is a change; against the
        // whole baseline, 2×.
        let spread_changed = if windowed {
            !(1.0 / 1.5..=1.5).contains(&spread_ratio)
        } else {
            !(0.5..=2.0).contains(&spread_ratio)
        };
        Measures {
            peak_value,
            peak_sigmas,
            shift_sigmas,
            spread_ratio,
            spread_changed,
            ramp,
            line_sse,
            step,
            wide,
            long,
        }
    }

    /// The pattern these measurements name, around the usual value `usual`.
    fn pattern(&self, usual: f64) -> Pattern {
        let m = self;
        if m.shift_sigmas.abs() >= 3.0 && m.long {
            if m.ramp >= 3.0 && m.line_sse < 0.8 * m.step {
                Pattern::TrendChange
            } else {
                Pattern::LevelShift
            }
        } else if m.spread_changed && m.long && (m.wide > 0.25 || m.spread_ratio < 0.5) {
            Pattern::VarianceChange
        } else if m.peak_sigmas >= 3.0 {
            if m.peak_value >= usual {
                Pattern::Spike
            } else {
                Pattern::Dip
            }
        } else if m.spread_changed && m.long {
            Pattern::VarianceChange
        } else if m.ramp >= 3.0 {
            Pattern::TrendChange
        } else if m.peak_sigmas >= 2.0 {
            if m.peak_value >= usual {
                Pattern::Spike
            } else {
                Pattern::Dip
            }
        } else {
            Pattern::UnusualShape
        }
    }
}

/// Spread of the event values `y` (residual sd `resid` around their linear fit) against the
/// baseline: see [`Insight::spread_ratio`].
///
/// Spread is compared like with like: with the spreads of every baseline stretch as long as
/// the event (when `windowed`). Flatter than 95 % of them (or more volatile than 95 %) is a
/// change; a series that is often flat for an hour is not "flatter than usual" for one. A
/// baseline too short for that is compared as a whole.
fn spread_ratio(base: &Baseline, y: &[f64], resid: f64, windowed: bool) -> f64 {
    let (sigma, scale_floor) = (base.sigma, base.floor);
    let eps = 1e-3 * sigma;
    if !windowed {
        return resid / base.resid.max(sigma * 0.1).max(scale_floor);
    }
    let mut spreads: Vec<f64> = base
        .values
        .windows(y.len())
        .map(|w| line_fit(w).1)
        .collect();
    spreads.sort_by(f64::total_cmp);
    let q = |p: f64| {
        spreads
            .get(((spreads.len() - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let (low, high) = (q(0.05), q(0.95));
    if resid < low {
        (resid + eps) / (low + eps).max(scale_floor)
    } else if resid > high {
        (resid + eps) / (high + eps).max(scale_floor)
    } else {
        1.0
    }
}

/// Duration of what `pattern` names in the (non-empty) `event` (see
/// [`Insight::duration_ms`]), whose most extreme value is `peak_value`.
fn pattern_duration(
    pattern: Pattern,
    base: &Baseline,
    last_base: i64,
    event: &[(i64, f64)],
    peak_value: f64,
) -> i64 {
    let first_ts = event.first().map_or(last_base, |p| p.0);
    let last_ts = event.last().map_or(last_base, |p| p.0);
    let far = |v: f64| (v - base.usual).abs() > 2.0 * base.sigma;
    let (from, to) = match pattern {
        Pattern::Spike | Pattern::Dip => {
            let y: Vec<f64> = event.iter().map(|p| p.1).collect();
            let at = y.iter().position(|&v| v == peak_value).unwrap_or(0);
            let start = y
                .get(..at)
                .and_then(|head| head.iter().rposition(|&v| !far(v)))
                .map_or(0, |k| k + 1);
            let end = y
                .get(at..)
                .and_then(|tail| tail.iter().position(|&v| !far(v)))
                .map_or(y.len() - 1, |k| (at + k).saturating_sub(1).max(at));
            (
                event.get(start).map_or(first_ts, |p| p.0),
                event.get(end).map_or(last_ts, |p| p.0),
            )
        }
        Pattern::LevelShift | Pattern::TrendChange => (
            event.iter().find(|p| far(p.1)).map_or(first_ts, |p| p.0),
            last_ts,
        ),
        _ => (first_ts, last_ts),
    };
    to - from
}

/// Least-squares line through `(i, y_i)`: returns (slope per sample, residual sd).
fn line_fit(y: &[f64]) -> (f64, f64) {
    let n = y.len() as f64;
    if y.len() < 3 {
        return (0.0, 0.0);
    }
    let mx = (n - 1.0) / 2.0;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, &v) in y.iter().enumerate() {
        let dx = i as f64 - mx;
        sxy += dx * (v - my);
        sxx += dx * dx;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let sse: f64 = y
        .iter()
        .enumerate()
        .map(|(i, &v)| (v - my - slope * (i as f64 - mx)).powi(2))
        .sum();
    (slope, (sse / (n - 2.0)).sqrt())
}

/// Sum of squared errors of the best single step (two flat segments) through `y`.
fn step_sse(y: &[f64]) -> f64 {
    let n = y.len();
    let total: f64 = y.iter().sum();
    let total_sq: f64 = y.iter().map(|v| v * v).sum();
    let mut best = f64::INFINITY;
    let mut left = 0.0;
    let mut left_sq = 0.0;
    for (k, &v) in y.iter().enumerate().take(n.saturating_sub(1)) {
        left += v;
        left_sq += v * v;
        let nl = (k + 1) as f64;
        let nr = (n - k - 1) as f64;
        let sse =
            (left_sq - left * left / nl) + ((total_sq - left_sq) - (total - left).powi(2) / nr);
        best = best.min(sse);
    }
    best
}
