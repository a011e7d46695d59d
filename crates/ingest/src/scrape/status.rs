//! Health of scrape targets, in the shape of Prometheus's `/api/v1/targets` response data.

use std::collections::BTreeMap;
use vigia_model::Labels;

/// All targets of all pools.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetsStatus {
    /// Targets being scraped.
    pub active_targets: Vec<ActiveTarget>,
    /// Targets dropped by relabelling (or unusable).
    pub dropped_targets: Vec<DroppedTarget>,
    /// Number of dropped targets per pool.
    pub dropped_target_counts: BTreeMap<String, usize>,
}

/// One active target.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveTarget {
    /// Labels before relabelling.
    pub discovered_labels: Labels,
    /// Labels after relabelling.
    pub labels: Labels,
    /// The pool (job name).
    pub scrape_pool: String,
    /// URL scraped.
    pub scrape_url: String,
    /// URL as seen from outside (same as `scrape_url`).
    pub global_url: String,
    /// Error of the last scrape, empty when it succeeded.
    pub last_error: String,
    /// Start of the last scrape, RFC 3339 (`0001-01-01T00:00:00Z` before the first).
    pub last_scrape: String,
    /// Duration of the last scrape in seconds.
    pub last_scrape_duration: f64,
    /// `up`, `down` or `unknown`.
    pub health: String,
    /// Scrape interval, Prometheus duration syntax.
    pub scrape_interval: String,
    /// Scrape timeout, Prometheus duration syntax.
    pub scrape_timeout: String,
}

/// One dropped target.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DroppedTarget {
    /// Labels before relabelling.
    pub discovered_labels: Labels,
    /// The pool (job name).
    pub scrape_pool: String,
}

/// Mutable health of one target, updated by its scrape loop.
#[derive(Debug, Clone, Default)]
pub(crate) struct Health {
    pub up: Option<bool>,
    pub last_error: String,
    pub last_scrape_ms: Option<i64>,
    pub last_duration_s: f64,
}

impl Health {
    pub fn health_str(&self) -> &'static str {
        match self.up {
            None => "unknown",
            Some(true) => "up",
            Some(false) => "down",
        }
    }
}

/// Formats Unix milliseconds as RFC 3339 UTC with millisecond precision.
pub(crate) fn rfc3339_millis(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let milli = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (proleptic Gregorian), after Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{milli:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(rfc3339_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_millis(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn serialises_like_prometheus() {
        let s = TargetsStatus {
            active_targets: vec![ActiveTarget {
                discovered_labels: Labels::from_pairs([("__address__", "a:1")]),
                labels: Labels::from_pairs([("job", "j")]),
                scrape_pool: "j".into(),
                scrape_url: "http://a:1/metrics".into(),
                global_url: "http://a:1/metrics".into(),
                last_error: String::new(),
                last_scrape: rfc3339_millis(0),
                last_scrape_duration: 0.5,
                health: "up".into(),
                scrape_interval: "1m".into(),
                scrape_timeout: "10s".into(),
            }],
            dropped_targets: vec![],
            dropped_target_counts: BTreeMap::new(),
        };
        let v = serde_json::to_value(&s).unwrap();
        let t = &v["activeTargets"][0];
        assert_eq!(t["discoveredLabels"]["__address__"], "a:1");
        assert_eq!(t["scrapePool"], "j");
        assert_eq!(t["lastScrapeDuration"], 0.5);
        assert_eq!(t["scrapeInterval"], "1m");
        assert!(v["droppedTargets"].as_array().unwrap().is_empty());
    }
}
