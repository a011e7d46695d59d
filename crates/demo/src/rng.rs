//! Deterministic randomness and the small numeric helpers built on it.
//!
//! Every simulation step gets its own generator derived from `(seed, step)`, so a step's draws
//! do not depend on how the time range was split into calls. Knows nothing about series.

/// SplitMix64 finaliser: a strong 64-bit mixer.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A SplitMix64 generator.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// The generator of step `k` for `seed`.
    pub(crate) fn for_step(seed: u64, k: i64) -> Self {
        Self {
            state: mix64(seed ^ mix64(k as u64 ^ 0x5DEE_CE66_D1CE_4E5B)),
        }
    }

    /// Next raw 64 bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box–Muller, one value per call).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Poisson-distributed count with mean `lambda` (normal approximation above 40).
    pub(crate) fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda.is_nan() || lambda <= 0.0 {
            return 0;
        }
        if lambda >= 40.0 {
            let x = lambda + lambda.sqrt() * self.normal();
            return x.round().max(0.0) as u64;
        }
        let u = self.uniform();
        let mut p = (-lambda).exp();
        let mut cdf = p;
        let mut x = 0u64;
        while u > cdf && x < 200 {
            x += 1;
            p *= lambda / x as f64;
            cdf += p;
        }
        x
    }

    /// Binomial-like thinning: how many of `n` items pass with probability `p`.
    pub(crate) fn thin(&mut self, n: u64, p: f64) -> u64 {
        if n == 0 || p <= 0.0 {
            return 0;
        }
        if p >= 1.0 {
            return n;
        }
        if n <= 30 {
            return (0..n).filter(|_| self.uniform() < p).count() as u64;
        }
        let mean = n as f64 * p;
        let sd = (mean * (1.0 - p)).sqrt();
        (mean + sd * self.normal()).round().clamp(0.0, n as f64) as u64
    }

    /// Rounds `x` up or down at random so that the expectation is `x` (never negative).
    pub(crate) fn round(&mut self, x: f64) -> u64 {
        if x.is_nan() || x <= 0.0 {
            return 0;
        }
        let f = x.floor();
        let extra = if self.uniform() < x - f { 1.0 } else { 0.0 };
        (f + extra) as u64
    }

    /// Multiplicative jitter: `1 + rel * N(0,1)`, clamped to stay positive.
    pub(crate) fn jitter(&mut self, rel: f64) -> f64 {
        (1.0 + rel * self.normal()).max(0.05)
    }
}

/// Error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7).
pub(crate) fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    sign * y
}

/// CDF of a log-normal distribution with the given median and log-space sigma.
pub(crate) fn lognormal_cdf(x: f64, median: f64, sigma: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x.is_infinite() {
        return 1.0;
    }
    0.5 * (1.0 + erf((x / median).ln() / (sigma * std::f64::consts::SQRT_2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_mean_is_right() {
        let mut r = Rng::for_step(1, 2);
        for lambda in [0.3, 5.0, 100.0] {
            let n = 20_000;
            let total: u64 = (0..n).map(|_| r.poisson(lambda)).sum();
            let mean = total as f64 / n as f64;
            assert!(
                (mean - lambda).abs() < lambda * 0.05 + 0.02,
                "lambda {lambda} mean {mean}"
            );
        }
    }

    #[test]
    fn erf_and_cdf() {
        assert!((erf(0.5) - 0.520_499_877_8).abs() < 1e-6);
        assert!((erf(-1.0) + 0.842_700_792_9).abs() < 1e-6);
        assert!((lognormal_cdf(2.0, 2.0, 0.5) - 0.5).abs() < 1e-9);
        assert_eq!(lognormal_cdf(f64::INFINITY, 2.0, 0.5), 1.0);
    }

    #[test]
    fn step_generators_differ_and_repeat() {
        let a = Rng::for_step(7, 10).next_u64();
        assert_eq!(a, Rng::for_step(7, 10).next_u64());
        assert_ne!(a, Rng::for_step(7, 11).next_u64());
        assert_ne!(a, Rng::for_step(8, 10).next_u64());
    }
}
