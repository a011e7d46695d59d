//! Numeric helpers shared by aggregation and functions: compensated sums, means, variance and
//! Prometheus's quantile interpolation.

use std::cmp::Ordering;

/// Neumaier-compensated summation step: returns the new sum and compensation.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// The φ-quantile of `vals` (sorted in place), Prometheus's interpolation.
pub(crate) fn quantile_of(q: f64, vals: &mut [f64]) -> f64 {
    if vals.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    vals.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.total_cmp(b),
    });
    let n = vals.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let w = rank - rank.floor();
    let lv = vals.get(lower as usize).copied().unwrap_or(f64::NAN);
    let uv = vals.get(upper as usize).copied().unwrap_or(f64::NAN);
    lv * (1.0 - w) + uv * w
}

/// Mean as Prometheus computes it: Kahan-compensated direct mean, switching to an incremental
/// mean if the running sum overflows.
pub(crate) fn avg(vals: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut c, mut count) = (0.0f64, 0.0f64, 0.0f64);
    let mut incremental = false;
    let mut mean = 0.0f64;
    for v in vals {
        count += 1.0;
        if !incremental {
            let (ns, nc) = kahan_inc(v, sum, c);
            if !ns.is_infinite() || v.is_infinite() || sum.is_infinite() {
                sum = ns;
                c = nc;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        if mean.is_infinite() && (v.is_finite() || (v.is_infinite() && (mean > 0.0) == (v > 0.0))) {
            continue;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(v / count, q * mean, q * c);
    }
    if count == 0.0 {
        return f64::NAN;
    }
    if incremental {
        mean + c
    } else {
        (sum + c) / count
    }
}

/// Population variance (Welford), as Prometheus's stdvar.
pub(crate) fn variance(vals: impl Iterator<Item = f64>) -> f64 {
    let (mut count, mut mean, mut m2) = (0.0f64, 0.0f64, 0.0f64);
    for v in vals {
        count += 1.0;
        let delta = v - mean;
        mean += delta / count;
        m2 += delta * (v - mean);
    }
    if count == 0.0 { f64::NAN } else { m2 / count }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile_of(0.5, &mut v), 2.5);
        assert_eq!(quantile_of(-1.0, &mut v), f64::NEG_INFINITY);
        assert!(quantile_of(f64::NAN, &mut v).is_nan());
    }
}
