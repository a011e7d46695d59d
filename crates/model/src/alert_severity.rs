//! Severity ranking of the alert label `severity`: `info` < `low` < `medium` (= `warning`) < `high`
//! < `critical`; any other value is kept and ranked as `medium`.

use std::cmp::Ordering;

/// A severity label value with its rank.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AlertSeverity {
    /// The label value as written.
    pub value: String,
    /// Rank: 0 = info … 4 = critical; unknown values rank 2 (medium).
    pub rank: u8,
    known: bool,
}

impl AlertSeverity {
    /// Ranks a label value (case-insensitive).
    pub fn parse(s: &str) -> Self {
        let rank = match s.to_ascii_lowercase().as_str() {
            "info" => Some(0),
            "low" => Some(1),
            "medium" | "warning" => Some(2),
            "high" => Some(3),
            "critical" => Some(4),
            _ => None,
        };
        Self {
            value: s.to_string(),
            rank: rank.unwrap_or(2),
            known: rank.is_some(),
        }
    }

    /// True when the value is one of the ranked names (the checker warns otherwise).
    pub fn is_known(&self) -> bool {
        self.known
    }
}

impl PartialOrd for AlertSeverity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for AlertSeverity {
    /// Orders by rank, then by value so the order is total.
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank
            .cmp(&other.rank)
            .then_with(|| self.value.cmp(&other.value))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ranking() {
        let r: Vec<u8> = [
            "info", "low", "medium", "warning", "high", "critical", "page",
        ]
        .iter()
        .map(|s| AlertSeverity::parse(s).rank)
        .collect();
        assert_eq!(r, vec![0, 1, 2, 2, 3, 4, 2]);
        assert!(AlertSeverity::parse("info") < AlertSeverity::parse("critical"));
        assert!(!AlertSeverity::parse("page").is_known());
        assert!(AlertSeverity::parse("Warning").is_known());
    }
}
