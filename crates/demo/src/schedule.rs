//! Configuration, the calendar (daily rhythm, weekends, email blasts) and the fixed schedule of
//! faults. Everything here is a pure function of the configuration and a timestamp.

use serde::{Deserialize, Serialize};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Most hosts the simulator supports.
pub(crate) const MAX_HOSTS: usize = 10;
/// Period of the live fault cycle.
pub(crate) const LIVE_CYCLE: i64 = 3 * HOUR;

/// A fault without its rendered name and selector (cheap to evaluate every step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spec {
    pub(crate) kind: FaultKind,
    /// 1-based host for host faults.
    pub(crate) host: Option<usize>,
    pub(crate) start: i64,
    pub(crate) end: i64,
    /// Live cycle number, `None` for the scheduled story.
    pub(crate) cycle: Option<i64>,
}

impl Spec {
    fn active(&self, t: i64) -> bool {
        t >= self.start && t < self.end
    }

    fn progress(&self, t: i64) -> f64 {
        (t - self.start) as f64 / (self.end - self.start).max(1) as f64
    }

    /// The public description.
    fn describe(&self) -> Fault {
        let h = self.host.unwrap_or(1);
        let (base, selector) = match self.kind {
            FaultKind::MemoryLeak => (
                format!("web-{h}-memory-leak"),
                format!(r#"node_memory_MemAvailable_bytes{{instance="web-{h}:9100"}}"#),
            ),
            FaultKind::HostDown => (
                format!("web-{h}-crash"),
                format!(r#"up{{instance=~"web-{h}:.*"}}"#),
            ),
            FaultKind::DiskFill => (
                format!("web-{h}-disk-filling"),
                format!(
                    r#"node_filesystem_avail_bytes{{instance="web-{h}:9100",mountpoint="/var"}}"#
                ),
            ),
            FaultKind::LatencySpike => (
                "latency-spike".to_string(),
                "http_request_duration_seconds_bucket".to_string(),
            ),
            FaultKind::ErrorBurst => (
                "error-burst".to_string(),
                r#"http_requests_total{code=~"5.."}"#.to_string(),
            ),
            FaultKind::RegistrationDrop => (
                "ads-channel-stopped".to_string(),
                r#"vigia_registrations_total{channel="ads"}"#.to_string(),
            ),
        };
        let name = match self.cycle {
            Some(c) => format!("live-{c}-{base}"),
            None => base,
        };
        Fault {
            name,
            kind: self.kind,
            start_ms: self.start,
            end_ms: self.end,
            selector,
        }
    }
}

/// The live cycle, repeated every [`LIVE_CYCLE`]: (kind, host, start offset, end offset).
const LIVE_TEMPLATE: [(FaultKind, Option<usize>, i64, i64); 5] = [
    (FaultKind::ErrorBurst, None, 20 * MINUTE, 35 * MINUTE),
    (FaultKind::DiskFill, Some(4), 30 * MINUTE, 150 * MINUTE),
    (FaultKind::LatencySpike, None, 60 * MINUTE, 80 * MINUTE),
    (FaultKind::MemoryLeak, Some(2), 100 * MINUTE, 160 * MINUTE),
    (FaultKind::HostDown, Some(2), 160 * MINUTE, 164 * MINUTE),
];

/// What the faults do at one step, summarised for the simulation.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Active {
    /// Host (index = 1-based number) is down.
    pub(crate) down: [bool; MAX_HOSTS + 1],
    /// Progress 0..1 of a memory leak per host, `None` when not leaking.
    pub(crate) leak: [Option<f64>; MAX_HOSTS + 1],
    /// Progress 0..1 of a disk fill per host.
    pub(crate) fill: [Option<f64>; MAX_HOSTS + 1],
    /// 5xx burst in this step's interval.
    pub(crate) error_burst: bool,
    /// Latency spike in this step's interval.
    pub(crate) latency_spike: bool,
    /// The ads channel is stopped in this step's interval.
    pub(crate) ads_stopped: bool,
}

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
    /// The scheduled story of faults.
    story: Vec<Spec>,
    /// Start of the live fault cycle, if any.
    pub(crate) live_from: Option<i64>,
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
        let spec = |kind, host, start, end| Spec {
            kind,
            host,
            start,
            end,
            cycle: None,
        };
        let story = vec![
            spec(FaultKind::RegistrationDrop, None, at(3, 9, 0), at(3, 15, 0)),
            spec(FaultKind::MemoryLeak, Some(3), at(5, 2, 0), at(5, 10, 0)),
            spec(FaultKind::HostDown, Some(3), at(5, 10, 0), at(5, 10, 5)),
            spec(FaultKind::DiskFill, Some(5), at(7, 6, 0), at(7, 18, 0)),
            spec(FaultKind::LatencySpike, None, at(9, 14, 0), at(9, 14, 30)),
            spec(FaultKind::ErrorBurst, None, at(10, 11, 0), at(10, 11, 20)),
        ];
        Self {
            start,
            step: cfg.step_ms.max(1000),
            webinar,
            list_blasts,
            registrant_mails: vec![webinar - HOUR, webinar + 3 * HOUR],
            story,
            live_from: Some(at(14, 0, 0)),
        }
    }

    /// The live cycle number `c` as specs.
    fn cycle(&self, from: i64, c: i64) -> impl Iterator<Item = Spec> {
        let base = from + c * LIVE_CYCLE;
        LIVE_TEMPLATE
            .into_iter()
            .map(move |(kind, host, a, b)| Spec {
                kind,
                host,
                start: base + a,
                end: base + b,
                cycle: Some(c),
            })
    }

    /// Specs that may be active at some instant of `[a, b]` (story plus the live cycles around).
    fn specs_around(&self, a: i64, b: i64) -> Vec<Spec> {
        let mut v: Vec<Spec> = self
            .story
            .iter()
            .filter(|f| f.end > a && f.start <= b)
            .copied()
            .collect();
        if let Some(from) = self.live_from {
            let first = (a - from).div_euclid(LIVE_CYCLE).max(0);
            let last = (b - from).div_euclid(LIVE_CYCLE);
            for c in first..=last {
                v.extend(self.cycle(from, c).filter(|f| f.end > a && f.start <= b));
            }
        }
        v
    }

    /// What the faults do at the step ending at `t`: states (down, leak, fill) at `t`; flows
    /// (errors, latency, ads) when the step's interval `(t - step, t]` starts inside the fault.
    pub(crate) fn active(&self, t: i64) -> Active {
        let mut a = Active::default();
        let flow_t = t - self.step;
        for f in self.specs_around(flow_t, t) {
            let host = f.host.filter(|h| *h <= MAX_HOSTS).unwrap_or(0);
            match f.kind {
                FaultKind::HostDown if f.active(t) => a.down[host] = host > 0,
                FaultKind::MemoryLeak if f.active(t) && host > 0 => {
                    a.leak[host] = Some(f.progress(t))
                }
                FaultKind::DiskFill if f.active(t) && host > 0 => {
                    a.fill[host] = Some(f.progress(t))
                }
                FaultKind::ErrorBurst if f.active(flow_t) => a.error_burst = true,
                FaultKind::LatencySpike if f.active(flow_t) => a.latency_spike = true,
                FaultKind::RegistrationDrop if f.active(flow_t) => a.ads_stopped = true,
                _ => {}
            }
        }
        a
    }

    /// The faults overlapping `[from, to)`, in time order.
    pub(crate) fn faults_between(&self, from: i64, to: i64) -> Vec<Fault> {
        if to <= from {
            return Vec::new();
        }
        let mut v: Vec<Spec> = self.specs_around(from, to - 1);
        v.sort_by_key(|f| (f.start, f.end));
        v.iter().map(Spec::describe).collect()
    }

    /// The scheduled story plus the first day of live cycles, in time order.
    pub(crate) fn faults(&self) -> Vec<Fault> {
        let mut v = self.story.clone();
        if let Some(from) = self.live_from {
            for c in 0..(DAY / LIVE_CYCLE) {
                v.extend(self.cycle(from, c));
            }
        }
        v.sort_by_key(|f| (f.start, f.end));
        v.iter().map(Spec::describe).collect()
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
        assert_eq!(s.faults().len(), 6 + 8 * LIVE_TEMPLATE.len());
        assert!(
            s.faults()
                .windows(2)
                .all(|w| w[0].start_ms <= w[1].start_ms)
        );
    }
}
