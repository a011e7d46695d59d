//! Alerts as handed to notification: state, timestamps, value and the Alertmanager-compatible
//! fingerprint of the label set.

use std::collections::BTreeMap;

/// State of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertState {
    /// Condition no longer holds (a resolved alert).
    Inactive,
    /// Condition holds, `for` not yet elapsed.
    Pending,
    /// Firing.
    Firing,
}

impl AlertState {
    /// `inactive`, `pending` or `firing` (the `alertstate` label and API value).
    pub fn as_str(&self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// An alert produced by an alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Labels: result series labels (without `__name__`), rule labels, `alertname`.
    pub labels: BTreeMap<String, String>,
    /// Expanded annotations.
    pub annotations: BTreeMap<String, String>,
    /// State.
    pub state: AlertState,
    /// When the condition started to hold (ms).
    pub active_at_ms: i64,
    /// When the alert started firing (ms; Alertmanager `startsAt`), 0 if it never fired.
    pub starts_at_ms: i64,
    /// When it ended or, while firing, until when it is valid (ms; Alertmanager `endsAt`).
    pub ends_at_ms: i64,
    /// When it was resolved (ms), 0 while active.
    pub resolved_at_ms: i64,
    /// The value of the condition's last result element.
    pub value: f64,
    /// Link back to the expression (`generatorURL`).
    pub generator_url: String,
    /// Alertmanager fingerprint of `labels`.
    pub fingerprint: u64,
}

impl Alert {
    /// The fingerprint as Alertmanager prints it (16 lowercase hex digits).
    pub fn fingerprint_hex(&self) -> String {
        format!("{:016x}", self.fingerprint)
    }
}

const OFFSET64: u64 = 14_695_981_039_346_656_037;
const PRIME64: u64 = 1_099_511_628_211;
const SEPARATOR: u8 = 0xff;

/// Alertmanager's fingerprint of a label set (prometheus/common `model.LabelsToSignature`):
/// FNV-1a 64 over the pairs sorted by name, each as `name 0xff value 0xff`; the empty set
/// hashes to the FNV offset basis.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> u64 {
    let mut h = OFFSET64;
    let mut add = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME64);
    };
    for (k, v) in labels {
        for &b in k.as_bytes() {
            add(b);
        }
        add(SEPARATOR);
        for &b in v.as_bytes() {
            add(b);
        }
        add(SEPARATOR);
    }
    h
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_matches_prometheus_common() {
        // Values from prometheus/common model/signature_test.go (TestLabelsToSignature).
        assert_eq!(fingerprint(&BTreeMap::new()), 14_695_981_039_346_656_037);
        let m = BTreeMap::from([
            ("name".to_string(), "garland, briggs".to_string()),
            ("fear".to_string(), "love is not enough".to_string()),
        ]);
        assert_eq!(fingerprint(&m), 5_799_056_148_416_392_346);
    }
}
