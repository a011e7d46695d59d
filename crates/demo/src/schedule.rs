//! Configuration, the calendar (daily rhythm, weekends, email blasts) and the fixed schedule of
//! faults. Everything here is a pure function of the configuration and a timestamp.

use serde::Serialize;

/// One minute in milliseconds.
pub(crate) const MINUTE: i64 = 60_000;
/// One hour in milliseconds.
pub(crate) const HOUR: i64 = 60 * MINUTE;
/// One day in milliseconds.
pub(crate) const DAY: i64 = 24 * HOUR;

/// Length of the webinar.
pub(crate) const WEBINAR_LEN: i64 = 90 * MINUTE;

/// Settings of a simulation run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Seed of every random draw; the same seed always gives the same samples.
    pub seed: u64,
    /// Campaign start (the start of the backfilled history), ms since the Unix epoch. Every
    /// counter is 0 at this instant; no sample is produced before it.
    pub start_ms: i64,
    /// Resolution in ms (60 000 by default). Clamped to at least 1 000.
    pub step_ms: i64,
    /// Number of hosts, clamped to 5..=10 (8 by default).
    pub hosts: usize,
    /// When the 90-minute webinar starts, ms since the Unix epoch.
    pub webinar_at_ms: i64,
}

impl SimConfig {
    /// Defaults for a campaign starting at `start_ms`: 60 s steps, 8 hosts, and the webinar at
    /// 16:00 UTC on the 13th day (12 days after the UTC midnight of the start day), so a 14-day
    /// history holds the whole run-up, the webinar and the first conversions.
    pub fn new(seed: u64, start_ms: i64) -> Self {
        Self {
            seed,
            start_ms,
            step_ms: 60_000,
            hosts: 8,
            webinar_at_ms: start_ms.div_euclid(DAY) * DAY + 12 * DAY + 16 * HOUR,
        }
    }
}

/// What a scheduled fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A process leaks memory: `node_memory_MemAvailable_bytes` falls towards zero.
    MemoryLeak,
    /// The host is down: `up` is 0, its other series go stale, its counters restart from 0.
    HostDown,
    /// A filesystem fills up: `node_filesystem_avail_bytes` falls towards zero.
    DiskFill,
    /// HTTP and page-load latency multiplied.
    LatencySpike,
    /// A burst of HTTP 5xx responses on every instance.
    ErrorBurst,
    /// An advertising channel stops: its registrations and costs fall to zero.
    RegistrationDrop,
}

/// A scheduled fault, for documentation and tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// Short stable name (`web-3-memory-leak`).
    pub name: String,
    /// What it does.
    pub kind: FaultKind,
    /// Start, ms since the Unix epoch (inclusive).
    pub start_ms: i64,
    /// End, ms since the Unix epoch (exclusive).
    pub end_ms: i64,
    /// PromQL selector of the series that show it.
    pub selector: String,
}

impl Fault {
    /// True when `t` lies in `[start_ms, end_ms)`: the state (gauges, `up`) at `t` shows it.
    pub fn active(&self, t: i64) -> bool {
        t >= self.start_ms && t < self.end_ms
    }

    /// True when the step ending at `t` (the interval `(t - step_ms, t]`) starts inside the
    /// fault: what is counted in that step (requests, registrations, costs) shows it.
    pub fn affects_step(&self, t: i64, step_ms: i64) -> bool {
        self.active(t - step_ms)
    }
}

/// Host (1-based) that leaks memory and crashes.
pub(crate) const LEAK_HOST: usize = 3;
/// Host (1-based) whose `/var` fills up.
pub(crate) const DISK_HOST: usize = 5;

/// All the instants of the run, derived once from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    pub(crate) start: i64,
    pub(crate) step: i64,
    pub(crate) webinar: i64,
    /// Email blasts to the marketing list.
    pub(crate) list_blasts: Vec<i64>,
    /// Email to registrants: the reminder before and the follow-up after the webinar.
    pub(crate) registrant_mails: Vec<i64>,
    pub(crate) ads_drop: Fault,
    pub(crate) leak: Fault,
    pub(crate) crash: Fault,
    pub(crate) disk: Fault,
    pub(crate) latency: Fault,
    pub(crate) errors: Fault,
}

impl Schedule {
    pub(crate) fn new(cfg: &SimConfig) -> Self {
        let start = cfg.start_ms;
        let day0 = start.div_euclid(DAY) * DAY;
        let at = |d: i64, h: i64, m: i64| day0 + d * DAY + h * HOUR + m * MINUTE;
        let webinar = cfg.webinar_at_ms;
        let webinar_day = webinar.div_euclid(DAY) * DAY;
        let mut list_blasts = vec![
            at(1, 10, 0),
            at(4, 10, 0),
            at(8, 10, 0),
            webinar_day - DAY + 10 * HOUR,
        ];
        list_blasts.sort_unstable();
        list_blasts.dedup();
        let leak_host = format!("web-{LEAK_HOST}");
        let disk_host = format!("web-{DISK_HOST}");
        let fault = |name: &str, kind, start_ms, end_ms, selector: String| Fault {
            name: name.to_string(),
            kind,
            start_ms,
            end_ms,
            selector,
        };
        Self {
            start,
            step: cfg.step_ms.max(1000),
            webinar,
            list_blasts,
            registrant_mails: vec![webinar - HOUR, webinar + 3 * HOUR],
            ads_drop: fault(
                "ads-channel-stopped",
                FaultKind::RegistrationDrop,
                at(3, 9, 0),
                at(3, 15, 0),
                r#"vigia_registrations_total{channel="ads"}"#.to_string(),
            ),
            leak: fault(
                &format!("{leak_host}-memory-leak"),
                FaultKind::MemoryLeak,
                at(5, 2, 0),
                at(5, 10, 0),
                format!(r#"node_memory_MemAvailable_bytes{{instance="{leak_host}:9100"}}"#),
            ),
            crash: fault(
                &format!("{leak_host}-crash"),
                FaultKind::HostDown,
                at(5, 10, 0),
                at(5, 10, 5),
                format!(r#"up{{instance=~"{leak_host}:.*"}}"#),
            ),
            disk: fault(
                &format!("{disk_host}-disk-filling"),
                FaultKind::DiskFill,
                at(7, 6, 0),
                at(7, 18, 0),
                format!(
                    r#"node_filesystem_avail_bytes{{instance="{disk_host}:9100",mountpoint="/var"}}"#
                ),
            ),
            latency: fault(
                "latency-spike",
                FaultKind::LatencySpike,
                at(9, 14, 0),
                at(9, 14, 30),
                "http_request_duration_seconds_bucket".to_string(),
            ),
            errors: fault(
                "error-burst",
                FaultKind::ErrorBurst,
                at(10, 11, 0),
                at(10, 11, 20),
                r#"http_requests_total{code=~"5.."}"#.to_string(),
            ),
        }
    }

    /// The faults in time order.
    pub(crate) fn faults(&self) -> Vec<Fault> {
        let mut v = vec![
            self.ads_drop.clone(),
            self.leak.clone(),
            self.crash.clone(),
            self.disk.clone(),
            self.latency.clone(),
            self.errors.clone(),
        ];
        v.sort_by_key(|f| f.start_ms);
        v
    }

    /// Timestamp of step `k`.
    pub(crate) fn t(&self, k: i64) -> i64 {
        self.start + k * self.step
    }

    /// Step length in minutes.
    pub(crate) fn step_min(&self) -> f64 {
        self.step as f64 / MINUTE as f64
    }

    /// Minutes from the webinar start to `t` (negative before).
    pub(crate) fn webinar_min(&self, t: i64) -> f64 {
        (t - self.webinar) as f64 / MINUTE as f64
    }
}

/// Hour of day (UTC, fractional).
pub(crate) fn hour_of_day(t: i64) -> f64 {
    t.rem_euclid(DAY) as f64 / HOUR as f64
}

/// True on Saturday and Sunday (UTC).
pub(crate) fn is_weekend(t: i64) -> bool {
    // 1970-01-01 was a Thursday: (days + 3) % 7 gives 0 = Monday.
    t.div_euclid(DAY).wrapping_add(3).rem_euclid(7) >= 5
}

/// Relative human activity by hour of day: low at night, high in working hours (peak ≈ 1.1).
pub(crate) fn daily_rhythm(t: i64) -> f64 {
    const H: [f64; 25] = [
        0.12, 0.08, 0.06, 0.05, 0.06, 0.10, 0.25, 0.50, 0.80, 1.00, 1.10, 1.10, 0.95, 1.00, 1.10,
        1.05, 0.95, 0.80, 0.70, 0.65, 0.60, 0.50, 0.35, 0.20, 0.12,
    ];
    let h = hour_of_day(t);
    let i = (h.floor() as usize).min(23);
    let f = h - i as f64;
    let a = H.get(i).copied().unwrap_or(0.5);
    let b = H.get(i + 1).copied().unwrap_or(0.5);
    a + (b - a) * f
}

/// Daily rhythm with the weekend dip.
pub(crate) fn activity(t: i64) -> f64 {
    daily_rhythm(t) * if is_weekend(t) { 0.45 } else { 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        // 2026-11-23 is a Monday, 2026-11-28 a Saturday.
        let monday = 1_795_392_000_000; // 2026-11-23T00:00:00Z
        assert_eq!(monday % DAY, 0);
        assert!(!is_weekend(monday));
        assert!(is_weekend(monday + 5 * DAY));
        assert!(!is_weekend(monday + 7 * DAY));
        assert!(daily_rhythm(monday + 3 * HOUR) < 0.1);
        assert!(daily_rhythm(monday + 11 * HOUR) > 1.0);
    }

    #[test]
    fn default_webinar_is_day_12_at_16() {
        let cfg = SimConfig::new(1, 1_795_392_000_000 + 5 * HOUR);
        assert_eq!(cfg.webinar_at_ms - 1_795_392_000_000, 12 * DAY + 16 * HOUR);
        let s = Schedule::new(&cfg);
        assert_eq!(s.faults().len(), 6);
        assert!(
            s.faults()
                .windows(2)
                .all(|w| w[0].start_ms <= w[1].start_ms)
        );
    }
}
