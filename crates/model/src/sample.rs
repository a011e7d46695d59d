//! Samples and Prometheus staleness markers.

/// Bit pattern of Prometheus's staleness marker: a NaN distinct from the ordinary NaN.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker value.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// True when `v` is exactly the staleness marker (compared bit for bit).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One float sample: milliseconds since the Unix epoch and a value.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// Timestamp in milliseconds since the Unix epoch.
    pub t: i64,
    /// Value; may be NaN, ±Inf or the staleness marker.
    pub v: f64,
}

impl Sample {
    /// Builds a sample.
    pub fn new(t: i64, v: f64) -> Self {
        Self { t, v }
    }

    /// True when both timestamp and value bits are identical (NaN-aware equality).
    pub fn bit_eq(&self, other: &Sample) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_nan_but_not_plain_nan() {
        assert!(stale_nan().is_nan());
        assert!(is_stale_nan(stale_nan()));
        assert!(!is_stale_nan(f64::NAN));
    }
}
