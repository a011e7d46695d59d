//! Classic (`le`-bucket) histogram math: quantile and fraction estimation.

/// One classic bucket: upper bound and cumulative count.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    pub upper: f64,
    pub count: f64,
}

const SMALL_DELTA_TOLERANCE: f64 = 1e-12;

fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    const MIN_NORMAL: f64 = f64::MIN_POSITIVE;
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < eps * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

fn sort_and_coalesce(mut b: Vec<Bucket>) -> Vec<Bucket> {
    b.sort_by(|x, y| {
        x.upper
            .partial_cmp(&y.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut out: Vec<Bucket> = Vec::with_capacity(b.len());
    for x in b {
        match out.last_mut() {
            Some(l) if l.upper == x.upper => l.count += x.count,
            _ => out.push(x),
        }
    }
    out
}

/// Makes counts monotonic; returns true when a real (not rounding) decrease was fixed.
fn ensure_monotonic(b: &mut [Bucket]) -> bool {
    let mut forced = false;
    let Some(first) = b.first() else { return false };
    let mut prev = first.count;
    for x in b.iter_mut().skip(1) {
        let curr = x.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, SMALL_DELTA_TOLERANCE) {
            x.count = prev;
            continue;
        }
        if curr < prev {
            x.count = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    forced
}

/// Quantile `q` of classic buckets; the flag says monotonicity had to be forced.
pub(crate) fn bucket_quantile(q: f64, buckets: Vec<Bucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    let mut b = sort_and_coalesce(buckets);
    match b.last() {
        Some(l) if l.upper == f64::INFINITY => {}
        _ => return (f64::NAN, false),
    }
    let forced = ensure_monotonic(&mut b);
    let n = b.len();
    if n < 2 {
        return (f64::NAN, forced);
    }
    let observations = b.get(n - 1).map_or(0.0, |x| x.count);
    if observations == 0.0 {
        return (f64::NAN, forced);
    }
    let mut rank = q * observations;
    let head = b.get(..n - 1).unwrap_or(&[]);
    let i = head.partition_point(|x| x.count < rank);
    if i == n - 1 {
        return (b.get(n - 2).map_or(f64::NAN, |x| x.upper), forced);
    }
    let Some(cur) = b.get(i).copied() else {
        return (f64::NAN, forced);
    };
    if i == 0 && cur.upper <= 0.0 {
        return (cur.upper, forced);
    }
    let mut start = 0.0;
    let mut count = cur.count;
    if let Some(prev) = i.checked_sub(1).and_then(|j| b.get(j)) {
        start = prev.upper;
        count -= prev.count;
        rank -= prev.count;
    }
    (start + (cur.upper - start) * (rank / count), forced)
}

/// Estimated fraction of observations between `lower` and `upper`.
pub(crate) fn bucket_fraction(lower: f64, upper: f64, buckets: Vec<Bucket>) -> f64 {
    let b = sort_and_coalesce(buckets);
    match b.last() {
        Some(l) if l.upper == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    let count = b.last().map_or(0.0, |x| x.count);
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let mut rank = 0.0;
    let (mut lower_rank, mut upper_rank) = (0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    for (i, x) in b.iter().enumerate() {
        let lb = match i.checked_sub(1).and_then(|j| b.get(j)) {
            Some(p) => p.upper,
            None => {
                if x.upper > 0.0 {
                    0.0
                } else {
                    f64::NEG_INFINITY
                }
            }
        };
        let ub = x.upper;
        // No interpolation into a bucket of infinite width: a point inside it is taken to
        // lie on the bucket's finite boundary.
        let interp = |v: f64| {
            if ub == f64::INFINITY {
                rank
            } else if lb == f64::NEG_INFINITY {
                x.count
            } else {
                rank + (x.count - rank) * (v - lb) / (ub - lb)
            }
        };
        if !lower_set && lb >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lb >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lb < lower && ub > lower {
            lower_rank = interp(lower);
            lower_set = true;
        }
        if !upper_set && lb < upper && ub > upper {
            upper_rank = interp(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = x.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}
