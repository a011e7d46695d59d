//! Public-API tests of the simulator: determinism, chunking, counter semantics, the docs/series.md
//! contract, campaign targets, fault visibility and the events view.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use vigia_demo::{Event, EventKind, FaultKind, SimConfig, Simulator};
use vigia_model::{
    Appender, Labels, Matcher, MemStorage, Querier, SeriesSamples, is_stale_nan,
    is_valid_label_name, is_valid_metric_name,
};

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// 2026-11-09 (a Monday) 00:00 UTC.
const DAY0: i64 = 1_795_392_000_000 - 14 * DAY;
/// History start: 05:00 UTC on DAY0.
const START: i64 = DAY0 + 5 * HOUR;

fn sim(seed: u64) -> Simulator {
    Simulator::new(SimConfig::new(seed, START))
}

/// Series of `batch` named `name` whose labels include every pair of `want`.
fn select<'a>(
    batch: &'a [SeriesSamples],
    name: &str,
    want: &[(&str, &str)],
) -> Vec<&'a SeriesSamples> {
    batch
        .iter()
        .filter(|s| {
            s.labels.metric_name() == Some(name)
                && want.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
        .collect()
}

/// Sum over the selected series of the value at exactly `t` (missing samples count as 0).
fn sum_at(batch: &[SeriesSamples], name: &str, want: &[(&str, &str)], t: i64) -> f64 {
    select(batch, name, want)
        .iter()
        .filter_map(|s| s.samples.iter().find(|x| x.t == t).map(|x| x.v))
        .sum()
}

/// Increase of the selected counters between `a` and `b` (both on the grid, no reset between).
fn increase(batch: &[SeriesSamples], name: &str, want: &[(&str, &str)], a: i64, b: i64) -> f64 {
    sum_at(batch, name, want, b) - sum_at(batch, name, want, a)
}

fn by_labels(batch: Vec<SeriesSamples>) -> BTreeMap<Labels, Vec<(i64, u64)>> {
    batch
        .into_iter()
        .map(|s| {
            (
                s.labels,
                s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
            )
        })
        .collect()
}

#[test]
fn deterministic_for_a_seed_and_seeds_differ() {
    let a = by_labels(sim(7).samples(START, START + 6 * HOUR));
    let b = by_labels(sim(7).samples(START, START + 6 * HOUR));
    assert_eq!(a, b);
    let c = by_labels(sim(8).samples(START, START + 6 * HOUR));
    assert_eq!(a.keys().collect::<Vec<_>>(), c.keys().collect::<Vec<_>>());
    let differing = a.iter().filter(|(k, v)| c.get(*k) != Some(v)).count();
    assert!(
        differing > a.len() / 2,
        "only {differing} of {} series differ between seeds",
        a.len()
    );
}

#[test]
fn chunked_generation_equals_one_shot() {
    // Covers the end of the memory leak and the crash (stale markers, counter resets).
    let from = DAY0 + 5 * DAY + 6 * HOUR + 17_000;
    let to = DAY0 + 5 * DAY + 12 * HOUR;
    let whole = by_labels(sim(3).samples(from, to));
    assert!(whole.values().any(|v| {
        v.iter()
            .any(|(_, bits)| is_stale_nan(f64::from_bits(*bits)))
    }));

    let mut s = sim(3);
    // Touch a later range first so that the chunks below need the checkpoints.
    assert!(!s.samples(to + HOUR, to + 2 * HOUR).is_empty());
    let mut merged: BTreeMap<Labels, Vec<(i64, u64)>> = BTreeMap::new();
    let mut cuts = vec![from];
    let mut t = from;
    for (i, len) in [
        7 * MIN + 13_000,
        1,
        59_999,
        2 * HOUR,
        3 * MIN,
        3 * HOUR + 11,
    ]
    .iter()
    .cycle()
    .enumerate()
    {
        if i > 40 || t >= to {
            break;
        }
        t = (t + len).min(to);
        cuts.push(t);
    }
    if cuts.last() != Some(&to) {
        cuts.push(to);
    }
    for w in cuts.windows(2) {
        for series in s.samples(w[0], w[1]) {
            merged
                .entry(series.labels)
                .or_default()
                .extend(series.samples.iter().map(|x| (x.t, x.v.to_bits())));
        }
    }
    assert_eq!(whole.len(), merged.len());
    for (k, v) in &whole {
        assert_eq!(Some(v), merged.get(k), "series {k} differs when chunked");
    }
}

#[test]
fn grid_and_bounds() {
    let mut s = sim(1);
    assert!(
        s.samples(START - DAY, START).is_empty(),
        "nothing before the start"
    );
    assert!(s.samples(START + HOUR, START + HOUR).is_empty());
    let b = s.samples(START - HOUR, START + 90_001);
    // Steps at START and START + 60 s only.
    for series in &b {
        let ts: Vec<i64> = series.samples.iter().map(|x| x.t).collect();
        assert_eq!(
            ts,
            vec![START, START + MIN, START + 2 * MIN]
                .into_iter()
                .filter(|t| *t < START + 90_001)
                .collect::<Vec<_>>()
        );
    }
    let b = s.samples(START + 1, START + MIN + 1);
    assert!(
        b.iter()
            .all(|x| x.samples.len() == 1 && x.samples[0].t == START + MIN)
    );
}

#[test]
fn counters_monotonic_except_crash_reset() {
    let mut s = sim(11);
    // The story's crash of web-3 and, in the last hours, the live cycle's crash of web-2.
    let crashes: Vec<(String, i64)> = s
        .faults_between(START, START + 14 * DAY)
        .into_iter()
        .filter(|f| f.kind == FaultKind::HostDown)
        .map(|f| {
            (
                f.name
                    .split("-crash")
                    .next()
                    .unwrap()
                    .trim_start_matches("live-0-")
                    .to_string(),
                f.end_ms,
            )
        })
        .collect();
    assert_eq!(crashes.len(), 2, "{crashes:?}");
    let is_counter = |l: &Labels| {
        let n = l.metric_name().unwrap_or("");
        n.ends_with("_total")
            || n.ends_with("_bucket")
            || n.ends_with("_sum")
            || n.ends_with("_count")
    };
    let mut last: HashMap<Labels, f64> = HashMap::new();
    let mut resets: Vec<(Labels, i64)> = Vec::new();
    let mut stale_seen = 0;
    let mut t = START;
    while t < START + 14 * DAY {
        for series in s.samples(t, t + DAY) {
            if !is_counter(&series.labels) {
                continue;
            }
            let prev = last.entry(series.labels.clone()).or_insert(0.0);
            for x in &series.samples {
                if is_stale_nan(x.v) {
                    stale_seen += 1;
                    continue;
                }
                assert!(
                    x.v.is_finite() && x.v >= 0.0,
                    "{} has {} at {}",
                    series.labels,
                    x.v,
                    x.t
                );
                if x.v < *prev {
                    resets.push((series.labels.clone(), x.t));
                }
                *prev = x.v;
            }
        }
        t += DAY;
    }
    assert!(stale_seen > 0);
    assert!(
        resets.len() > 30,
        "the crash resets the host's counters, saw {}",
        resets.len()
    );
    for (l, at) in &resets {
        let host = l
            .get("instance")
            .and_then(|i| i.split(':').next())
            .unwrap_or("");
        assert!(
            crashes.iter().any(|(h, end)| h == host && end == at),
            "unexpected reset of {l} at {at}: only at the first scrape after a crash"
        );
    }
    for (h, _) in &crashes {
        assert!(resets.iter().any(|(l, _)| {
            l.get("instance")
                .is_some_and(|i| i.starts_with(&format!("{h}:")))
        }));
    }
}

#[test]
fn every_business_series_of_the_contract_is_present_with_its_labels() {
    let mut s = sim(5);
    let b = s.samples(START, START + 2 * MIN);
    let names: BTreeSet<&str> = b.iter().filter_map(|x| x.labels.metric_name()).collect();
    let required = [
        ("vigia_registrations_total", vec!["channel", "utm_source"]),
        ("vigia_attendance_joins_total", vec!["channel"]),
        ("vigia_attendees_current", vec![]),
        ("vigia_engagement_events_total", vec!["kind"]),
        ("vigia_engaged_attendees_total", vec![]),
        ("vigia_conversions_total", vec!["channel"]),
        ("vigia_revenue_total", vec!["channel", "currency"]),
        ("vigia_marketing_cost_total", vec!["channel", "currency"]),
        ("vigia_emails_total", vec!["status"]),
        ("vigia_page_views_total", vec!["page", "bounced"]),
        ("vigia_page_load_seconds_bucket", vec!["page", "le"]),
        ("vigia_page_load_seconds_sum", vec!["page"]),
        ("vigia_page_load_seconds_count", vec!["page"]),
        ("vigia_satisfaction_rating_bucket", vec!["le"]),
        ("vigia_satisfaction_rating_sum", vec![]),
        ("vigia_satisfaction_rating_count", vec![]),
    ];
    for (name, labels) in &required {
        assert!(names.contains(name), "{name} missing");
        for series in select(&b, name, &[]) {
            let mut got: Vec<&str> = series
                .labels
                .iter()
                .map(|l| l.name.as_str())
                .filter(|n| *n != "__name__")
                .collect();
            got.sort_unstable();
            let mut want = labels.clone();
            want.sort_unstable();
            assert_eq!(got, want, "labels of {}", series.labels);
            assert_eq!(
                series.samples[0].v, 0.0,
                "{} must start at 0",
                series.labels
            );
        }
    }
    let values = |name: &str, label: &str| -> BTreeSet<String> {
        select(&b, name, &[])
            .iter()
            .filter_map(|x| x.labels.get(label).map(str::to_string))
            .collect()
    };
    let channels: BTreeSet<String> = ["email", "social", "ads", "organic", "referral", "partner"]
        .iter()
        .map(|x| x.to_string())
        .collect();
    for name in [
        "vigia_registrations_total",
        "vigia_attendance_joins_total",
        "vigia_conversions_total",
        "vigia_revenue_total",
        "vigia_marketing_cost_total",
    ] {
        assert_eq!(values(name, "channel"), channels, "{name}");
    }
    let set = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        values("vigia_emails_total", "status"),
        set(&["sent", "delivered", "opened", "clicked", "bounced"])
    );
    assert_eq!(
        values("vigia_engagement_events_total", "kind"),
        set(&["poll", "chat", "question", "reaction"])
    );
    assert_eq!(
        values("vigia_page_views_total", "bounced"),
        set(&["true", "false"])
    );
    assert_eq!(values("vigia_revenue_total", "currency"), set(&["EUR"]));
    let les = values("vigia_satisfaction_rating_bucket", "le");
    assert_eq!(
        les,
        set(&["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "+Inf"])
    );
    // Infrastructure and HTTP names.
    for name in [
        "up",
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
        "node_memory_MemTotal_bytes",
        "node_filesystem_avail_bytes",
        "node_filesystem_size_bytes",
        "node_load1",
        "node_load5",
        "node_load15",
        "node_network_receive_bytes_total",
        "node_network_transmit_bytes_total",
        "node_disk_written_bytes_total",
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "http_request_duration_seconds_sum",
        "http_request_duration_seconds_count",
    ] {
        assert!(names.contains(name), "{name} missing");
    }
    assert_eq!(select(&b, "up", &[("job", "node")]).len(), 8);
    assert!(select(&b, "up", &[("instance", "web-1:9100"), ("job", "node")]).len() == 1);
}

#[test]
fn series_count_is_about_600_and_labels_are_valid() {
    let s = sim(1);
    let n = s.series_count();
    assert!((560..=700).contains(&n), "{n} series with 8 hosts");
    let labels = s.series_labels();
    let unique: BTreeSet<&Labels> = labels.iter().collect();
    assert_eq!(unique.len(), n, "series identities are unique");
    for l in labels {
        assert!(l.metric_name().is_some_and(is_valid_metric_name), "{l}");
        assert!(
            l.iter()
                .all(|p| p.name == "__name__" || is_valid_label_name(&p.name)),
            "{l}"
        );
    }
    let five = Simulator::new(SimConfig {
        hosts: 5,
        ..SimConfig::new(1, START)
    })
    .series_count();
    let ten = Simulator::new(SimConfig {
        hosts: 10,
        ..SimConfig::new(1, START)
    })
    .series_count();
    assert!(five < n && n < ten);
    assert_eq!((ten - n) % 2, 0);
    assert_eq!(
        Simulator::new(SimConfig {
            hosts: 1,
            ..SimConfig::new(1, START)
        })
        .series_count(),
        five,
        "clamped to 5"
    );
}

#[test]
fn campaign_totals_land_near_the_targets() {
    for seed in [1, 2] {
        let mut s = sim(seed);
        let w = s.webinar_at_ms();
        let end = w + 90 * MIN;
        let offer_end = w + 60 * MIN + 7 * DAY;
        let at_end = s.samples(end, end + MIN);
        let regs = sum_at(&at_end, "vigia_registrations_total", &[], end);
        let joins = sum_at(&at_end, "vigia_attendance_joins_total", &[], end);
        let engaged = sum_at(&at_end, "vigia_engaged_attendees_total", &[], end);
        assert!(
            (1800.0..=2200.0).contains(&regs),
            "seed {seed}: registrations {regs}"
        );
        assert!(
            (1500.0..=1900.0).contains(&joins),
            "seed {seed}: joins {joins}"
        );
        assert!(
            (0.71..=0.79).contains(&(engaged / joins)),
            "seed {seed}: engagement {}",
            engaged / joins
        );
        assert_eq!(
            sum_at(&at_end, "vigia_attendees_current", &[], end + MIN),
            0.0,
            "everyone left"
        );

        let after = s.samples(offer_end, offer_end + MIN);
        let conv = sum_at(&after, "vigia_conversions_total", &[], offer_end);
        let revenue = sum_at(&after, "vigia_revenue_total", &[], offer_end);
        let cost = sum_at(&after, "vigia_marketing_cost_total", &[], offer_end);
        assert!(
            (370.0..=480.0).contains(&conv),
            "seed {seed}: conversions {conv}"
        );
        assert!(
            (92_000.0..=121_000.0).contains(&revenue),
            "seed {seed}: revenue {revenue}"
        );
        let roi = (revenue - cost) / cost;
        assert!(
            (18.0..=35.0).contains(&roi),
            "seed {seed}: ROI {roi} (cost {cost})"
        );
        let rating_sum = sum_at(&after, "vigia_satisfaction_rating_sum", &[], offer_end);
        let rating_n = sum_at(&after, "vigia_satisfaction_rating_count", &[], offer_end);
        assert!(rating_n > 0.3 * joins && (8.0..=9.0).contains(&(rating_sum / rating_n)));

        let email = |status: &str| {
            sum_at(
                &after,
                "vigia_emails_total",
                &[("status", status)],
                offer_end,
            )
        };
        let (sent, delivered, opened, clicked, bounced) = (
            email("sent"),
            email("delivered"),
            email("opened"),
            email("clicked"),
            email("bounced"),
        );
        assert!(sent >= delivered && delivered >= opened && opened >= clicked && clicked > 0.0);
        assert_eq!(sent, delivered + bounced);
        assert!(
            (0.01..=0.05).contains(&(bounced / sent)),
            "bounce share {}",
            bounced / sent
        );
        let views = sum_at(&after, "vigia_page_views_total", &[], offer_end);
        let bounced_views = sum_at(
            &after,
            "vigia_page_views_total",
            &[("bounced", "true")],
            offer_end,
        );
        assert!(
            (0.25..=0.50).contains(&(bounced_views / views)),
            "page bounce ratio {}",
            bounced_views / views
        );
    }
}

#[test]
fn registrations_follow_the_daily_rhythm_and_calendar() {
    let mut s = sim(4);
    // Days 1..=11 (before the webinar run-up): night hours vs working hours, weekdays vs weekend.
    let b = s.samples(DAY0 + DAY, DAY0 + 12 * DAY + MIN);
    let (mut night, mut work) = (0.0, 0.0);
    for d in 1..12 {
        night += increase(
            &b,
            "vigia_registrations_total",
            &[],
            DAY0 + d * DAY + HOUR,
            DAY0 + d * DAY + 5 * HOUR,
        );
        work += increase(
            &b,
            "vigia_registrations_total",
            &[],
            DAY0 + d * DAY + 9 * HOUR,
            DAY0 + d * DAY + 13 * HOUR,
        );
    }
    assert!(work > 5.0 * night, "working hours {work} vs night {night}");
    // DAY0 is a Monday: day 5 and 6 are the weekend, compare with Wednesday + Thursday.
    let weekend = increase(
        &b,
        "vigia_registrations_total",
        &[],
        DAY0 + 5 * DAY,
        DAY0 + 7 * DAY,
    );
    let midweek = increase(
        &b,
        "vigia_registrations_total",
        &[],
        DAY0 + 2 * DAY,
        DAY0 + 4 * DAY,
    );
    assert!(
        weekend < 0.85 * midweek,
        "weekend {weekend} vs midweek {midweek}"
    );
    // The email blast of day 4 at 10:00 lifts email registrations in the following 3 hours.
    let email = [("channel", "email")];
    let blast = DAY0 + 4 * DAY + 10 * HOUR;
    let after = increase(
        &b,
        "vigia_registrations_total",
        &email,
        blast,
        blast + 3 * HOUR,
    );
    let day_before = increase(
        &b,
        "vigia_registrations_total",
        &email,
        blast - DAY,
        blast - DAY + 3 * HOUR,
    );
    assert!(
        after > 2.0 * day_before.max(1.0),
        "after blast {after} vs day before {day_before}"
    );
    // The partner newsletter (day 8, 08:00) lifts partner registrations.
    let partner = [("channel", "partner")];
    let news = DAY0 + 8 * DAY + 8 * HOUR;
    let after = increase(
        &b,
        "vigia_registrations_total",
        &partner,
        news,
        news + 6 * HOUR,
    );
    let day_before = increase(
        &b,
        "vigia_registrations_total",
        &partner,
        news - DAY,
        news - DAY + 6 * HOUR,
    );
    assert!(
        after > 1.5 * day_before.max(2.0),
        "after newsletter {after} vs day before {day_before}"
    );
    let sent = increase(
        &b,
        "vigia_emails_total",
        &[("status", "sent")],
        blast,
        blast + 40 * MIN,
    );
    assert!(sent > 20_000.0, "blast sent {sent}");
}

#[test]
fn each_fault_is_visible_in_its_series() {
    let mut s = sim(9);
    let faults = s.faults();
    assert_eq!(
        faults.len(),
        6 + 8 * 5,
        "the story and a day of live cycles"
    );
    let get = |k: FaultKind| faults.iter().find(|f| f.kind == k).unwrap().clone();

    // Error burst: 5xx ratio during the burst > 5x the hour before.
    let f = get(FaultKind::ErrorBurst);
    let b = s.samples(f.start_ms - 2 * HOUR, f.end_ms + MIN);
    let ratio = |a: i64, z: i64| {
        let err = increase(&b, "http_requests_total", &[("code", "500")], a, z)
            + increase(&b, "http_requests_total", &[("code", "503")], a, z);
        err / increase(&b, "http_requests_total", &[], a, z)
    };
    let len = f.end_ms - f.start_ms;
    let (during, before) = (
        ratio(f.start_ms, f.end_ms),
        ratio(f.start_ms - HOUR - len, f.start_ms - HOUR),
    );
    assert!(
        during > 5.0 * before && during > 0.05,
        "5xx ratio {during} vs {before}"
    );

    // Latency spike: mean request duration > 4x the hour before.
    let f = get(FaultKind::LatencySpike);
    let b = s.samples(f.start_ms - 2 * HOUR, f.end_ms + MIN);
    let mean = |a: i64, z: i64| {
        increase(&b, "http_request_duration_seconds_sum", &[], a, z)
            / increase(&b, "http_request_duration_seconds_count", &[], a, z)
    };
    let len = f.end_ms - f.start_ms;
    let (during, before) = (
        mean(f.start_ms, f.end_ms),
        mean(f.start_ms - HOUR - len, f.start_ms - HOUR),
    );
    assert!(during > 4.0 * before, "mean latency {during} vs {before}");
    let slow = |a: i64, z: i64| {
        1.0 - increase(
            &b,
            "http_request_duration_seconds_bucket",
            &[("le", "0.25")],
            a,
            z,
        ) / increase(&b, "http_request_duration_seconds_count", &[], a, z)
    };
    assert!(
        slow(f.start_ms, f.end_ms) > 0.3,
        "share above 250 ms {}",
        slow(f.start_ms, f.end_ms)
    );

    // Memory leak then crash on web-3.
    let leak = get(FaultKind::MemoryLeak);
    let crash = get(FaultKind::HostDown);
    let b = s.samples(leak.start_ms - HOUR, crash.end_ms + HOUR);
    let node3 = [("instance", "web-3:9100")];
    let mem = |t: i64| sum_at(&b, "node_memory_MemAvailable_bytes", &node3, t);
    assert!(
        mem(crash.start_ms - MIN) < 0.1 * mem(leak.start_ms),
        "{} vs {}",
        mem(crash.start_ms - MIN),
        mem(leak.start_ms)
    );
    assert!(
        mem(crash.end_ms) > 0.4 * mem(leak.start_ms),
        "memory back after reboot"
    );
    for t in (crash.start_ms..crash.end_ms).step_by(MIN as usize) {
        assert_eq!(sum_at(&b, "up", &node3, t), 0.0);
        assert_eq!(sum_at(&b, "up", &[("instance", "web-3:8080")], t), 0.0);
    }
    assert_eq!(sum_at(&b, "up", &node3, crash.end_ms), 1.0);
    assert_eq!(
        sum_at(&b, "up", &[("instance", "web-4:9100")], crash.start_ms),
        1.0
    );
    let cpu = select(
        &b,
        "node_cpu_seconds_total",
        &[("instance", "web-3:9100"), ("cpu", "0"), ("mode", "idle")],
    );
    let cpu = &cpu[0].samples;
    let at_crash: Vec<_> = cpu
        .iter()
        .filter(|x| x.t >= crash.start_ms && x.t < crash.end_ms)
        .collect();
    assert_eq!(
        at_crash.len(),
        1,
        "one staleness marker, then nothing while down"
    );
    assert!(is_stale_nan(at_crash[0].v) && at_crash[0].t == crash.start_ms);
    let before = cpu.iter().rfind(|x| x.t < crash.start_ms).unwrap().v;
    let after = cpu.iter().find(|x| x.t >= crash.end_ms).unwrap().v;
    assert!(
        after < before && after < 120.0,
        "cpu counter restarts: {before} -> {after}"
    );

    // Disk filling on web-5 /var.
    let f = get(FaultKind::DiskFill);
    let b = s.samples(f.start_ms, f.end_ms + HOUR);
    let var = |inst: &str, name: &str, t: i64| {
        sum_at(&b, name, &[("instance", inst), ("mountpoint", "/var")], t)
    };
    let last = f.end_ms - MIN;
    let (avail, size) = (
        var("web-5:9100", "node_filesystem_avail_bytes", last),
        var("web-5:9100", "node_filesystem_size_bytes", last),
    );
    assert!(avail < 0.05 * size, "web-5 /var avail {avail} of {size}");
    assert!(var("web-5:9100", "node_filesystem_avail_bytes", f.start_ms) > 0.4 * size);
    assert!(
        var(
            "web-5:9100",
            "node_filesystem_avail_bytes",
            f.end_ms + 30 * MIN
        ) > 0.4 * size,
        "cleaned up"
    );
    assert!(var("web-4:9100", "node_filesystem_avail_bytes", last) > 0.4 * size);

    // Ads channel stops: no ads registrations or cost in the window, the others continue.
    let f = get(FaultKind::RegistrationDrop);
    let b = s.samples(f.start_ms - DAY, f.end_ms + MIN);
    let ads = [("channel", "ads")];
    assert_eq!(
        increase(&b, "vigia_registrations_total", &ads, f.start_ms, f.end_ms),
        0.0
    );
    assert_eq!(
        increase(&b, "vigia_marketing_cost_total", &ads, f.start_ms, f.end_ms),
        0.0
    );
    let ads_day_before = increase(
        &b,
        "vigia_registrations_total",
        &ads,
        f.start_ms - DAY,
        f.end_ms - DAY,
    );
    assert!(
        ads_day_before >= 3.0,
        "ads registrations the day before: {ads_day_before}"
    );
    assert!(
        increase(
            &b,
            "vigia_marketing_cost_total",
            &ads,
            f.start_ms - DAY,
            f.end_ms - DAY
        ) > 10.0
    );
    assert!(
        increase(
            &b,
            "vigia_registrations_total",
            &[("channel", "social")],
            f.start_ms,
            f.end_ms
        ) > 0.0
    );
}

#[test]
fn http_traffic_follows_the_campaign() {
    let mut s = sim(6);
    let w = s.webinar_at_ms();
    let b = s.samples(w - DAY, w + 2 * HOUR);
    let rps =
        |a: i64, z: i64| increase(&b, "http_requests_total", &[], a, z) / ((z - a) / 1000) as f64;
    let peak = rps(w, w + 30 * MIN);
    let same_time_day_before = rps(w - DAY, w - DAY + 30 * MIN);
    assert!(
        peak > 5.0 * same_time_day_before,
        "webinar {peak} req/s vs {same_time_day_before}"
    );
    let web = increase(
        &b,
        "http_requests_total",
        &[("route", "/webinar")],
        w,
        w + 30 * MIN,
    );
    assert!(web > 0.5 * increase(&b, "http_requests_total", &[], w, w + 30 * MIN));
    // Histogram consistency: +Inf bucket equals _count, buckets are cumulative.
    for h in select(&b, "http_request_duration_seconds_count", &[]) {
        let inst = h.labels.get("instance").unwrap();
        let route = h.labels.get("route").unwrap();
        let inf = select(
            &b,
            "http_request_duration_seconds_bucket",
            &[("instance", inst), ("route", route), ("le", "+Inf")],
        );
        assert_eq!(
            inf[0].samples.last().unwrap().v,
            h.samples.last().unwrap().v
        );
        let mut buckets = select(
            &b,
            "http_request_duration_seconds_bucket",
            &[("instance", inst), ("route", route)],
        );
        buckets.sort_by(|a, b| {
            let le = |s: &SeriesSamples| {
                s.labels
                    .get("le")
                    .unwrap()
                    .parse::<f64>()
                    .unwrap_or(f64::INFINITY)
            };
            le(a).total_cmp(&le(b))
        });
        let lasts: Vec<f64> = buckets
            .iter()
            .map(|s| s.samples.last().unwrap().v)
            .collect();
        assert!(lasts.windows(2).all(|w| w[0] <= w[1]), "{lasts:?}");
    }
}

#[test]
fn events_reproduce_the_campaign_counters() {
    let mut s = sim(12);
    let w = s.webinar_at_ms();
    let (from, to) = (w - 20 * MIN, w + 100 * MIN);
    let events: Vec<Event> = s.events(from, to);
    let b = s.samples(from - MIN, to);
    let count =
        |f: &dyn Fn(&EventKind) -> bool| events.iter().filter(|e| f(&e.kind)).count() as f64;
    let inc = |name: &str, want: &[(&str, &str)]| increase(&b, name, want, from - MIN, to - MIN);
    assert_eq!(
        count(&|k| matches!(k, EventKind::Registration { .. })),
        inc("vigia_registrations_total", &[])
    );
    let joins = count(&|k| {
        matches!(
            k,
            EventKind::Attendance {
                action: vigia_demo::AttendanceAction::Join,
                ..
            }
        )
    });
    assert!(joins > 1000.0);
    assert_eq!(joins, inc("vigia_attendance_joins_total", &[]));
    assert_eq!(
        count(&|k| matches!(k, EventKind::Engagement { engagement, .. } if engagement == "poll")),
        inc("vigia_engagement_events_total", &[("kind", "poll")])
    );
    // Distinct engaging attendees = engaged attendees counter.
    let engaged: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Engagement { attendee_id, .. } => Some(attendee_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        engaged.len() as f64,
        inc("vigia_engaged_attendees_total", &[])
    );
    // Replay attendance: leaves and engagement only from attendees who joined and are present.
    let mut present: BTreeSet<&str> = BTreeSet::new();
    let mut left = 0;
    for e in &events {
        match &e.kind {
            EventKind::Attendance {
                action: vigia_demo::AttendanceAction::Join,
                attendee_id,
                ..
            } => {
                assert!(
                    present.insert(attendee_id.as_str()),
                    "{attendee_id} joined twice"
                );
            }
            EventKind::Attendance { attendee_id, .. } => {
                assert!(
                    present.remove(attendee_id.as_str()),
                    "{attendee_id} left without being present"
                );
                left += 1;
            }
            EventKind::Engagement { attendee_id, .. } => {
                assert!(
                    present.contains(attendee_id.as_str()),
                    "{attendee_id} engaged while absent"
                );
            }
            _ => {}
        }
    }
    assert!(left > 1000);
    assert_eq!(
        present.len() as f64,
        sum_at(&b, "vigia_attendees_current", &[], to - MIN),
        "replayed attendance = gauge"
    );
    let views = count(&|k| matches!(k, EventKind::PageView { .. }));
    assert_eq!(views, inc("vigia_page_views_total", &[]));
    // Timestamps: ordered within the range's steps, ids unique, JSON round trip.
    assert!(
        events
            .iter()
            .all(|e| e.timestamp > from - MIN && e.timestamp < to)
    );
    let ids: BTreeSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), events.len());
    assert!(
        ids.iter().all(|id| id.starts_with(&format!("c-{START}-"))),
        "{:?}",
        ids.first()
    );
    let json = serde_json::to_string(&events[0..50]).unwrap();
    assert!(json.contains("\"kind\":\""));
    let back: Vec<Event> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, events[0..50].to_vec());
    // Same events again (determinism across calls and checkpoints).
    assert_eq!(s.events(from, to), events);
}

#[test]
fn throughput_of_a_14_day_backfill() {
    let mut s = sim(42);
    let started = std::time::Instant::now();
    let mut n = 0usize;
    let mut t = START;
    while t < START + 14 * DAY {
        n += s
            .samples(t, t + DAY)
            .iter()
            .map(|x| x.samples.len())
            .sum::<usize>();
        t += DAY;
    }
    let secs = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let events = s.events(START, START + 14 * DAY).len();
    println!(
        "events: {events} business events for 14 days in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert!(events > 100_000);
    println!(
        "backfill: {} series, {n} samples in {secs:.2} s = {:.1} M samples/s",
        s.series_count(),
        n as f64 / secs / 1e6
    );
    // Every series has a sample per step, except web-3's while it is down.
    let steps = (14 * DAY / MIN) as usize;
    assert!(n <= s.series_count() * steps && n > s.series_count() * steps - 100 * 5);
}

#[test]
fn live_cycle_keeps_faults_coming() {
    let s = sim(2);
    let live = s.live_faults_from().unwrap();
    assert_eq!(live, DAY0 + 14 * DAY);
    // Any 3-hour window after the start of the cycle holds every kind of live fault.
    let from = live + 5 * DAY + 77 * MIN;
    let window = s.faults_between(from, from + 3 * HOUR);
    for kind in [
        FaultKind::ErrorBurst,
        FaultKind::LatencySpike,
        FaultKind::MemoryLeak,
        FaultKind::HostDown,
        FaultKind::DiskFill,
    ] {
        assert!(
            window.iter().any(|f| f.kind == kind),
            "{kind:?} missing in {window:?}"
        );
    }
    assert!(
        window.iter().all(|f| f.name.starts_with("live-")
            && f.end_ms > from
            && f.start_ms < from + 3 * HOUR)
    );
    // The live error burst shows in the data of a simulator asked only for that window.
    let burst = window
        .iter()
        .find(|f| f.kind == FaultKind::ErrorBurst)
        .unwrap()
        .clone();
    let mut s = s;
    let b = s.samples(burst.start_ms - HOUR, burst.end_ms + MIN);
    let err = |a: i64, z: i64| {
        (increase(&b, "http_requests_total", &[("code", "500")], a, z)
            + increase(&b, "http_requests_total", &[("code", "503")], a, z))
            / increase(&b, "http_requests_total", &[], a, z)
    };
    assert!(
        err(burst.start_ms, burst.end_ms)
            > 5.0 * err(burst.start_ms - HOUR, burst.start_ms - 30 * MIN)
    );
    let crash = window
        .iter()
        .find(|f| f.kind == FaultKind::HostDown)
        .unwrap();
    let b = s.samples(crash.start_ms, crash.start_ms + MIN);
    assert_eq!(
        sum_at(&b, "up", &[("instance", "web-2:9100")], crash.start_ms),
        0.0
    );
    // Disabled on request.
    let off = sim(2).with_live_faults_from(None);
    assert!(off.faults_between(from, from + 3 * HOUR).is_empty());
    assert_eq!(off.faults().len(), 6);
}

#[test]
fn other_step_sizes_keep_the_campaign_on_target() {
    for step in [30_000, 300_000] {
        let mut s = Simulator::new(SimConfig {
            step_ms: step,
            ..SimConfig::new(21, START)
        });
        assert_eq!(s.step_ms(), step);
        let end = s.webinar_at_ms() + 90 * MIN;
        let b = s.samples(end, end + step);
        let t = b[0].samples[0].t;
        assert!(t >= end && t < end + step);
        let regs = sum_at(&b, "vigia_registrations_total", &[], t);
        let joins = sum_at(&b, "vigia_attendance_joins_total", &[], t);
        assert!(
            (1800.0..=2200.0).contains(&regs),
            "step {step}: registrations {regs}"
        );
        assert!(
            (1500.0..=1900.0).contains(&joins),
            "step {step}: joins {joins}"
        );
        assert!(
            sum_at(&b, "vigia_engagement_events_total", &[("kind", "poll")], t) > 500.0,
            "step {step}"
        );
    }
}

#[test]
fn odd_configurations_and_ranges_do_not_panic() {
    let cfg = SimConfig {
        step_ms: 0,
        hosts: 99,
        webinar_at_ms: START - DAY,
        ..SimConfig::new(1, START)
    };
    let mut s = Simulator::new(cfg);
    assert_eq!(s.step_ms(), 1000, "step clamped to 1 s");
    assert_eq!(
        s.samples(START, START + 1000)
            .iter()
            .filter(|x| x.labels.metric_name() == Some("up"))
            .count(),
        20
    );
    // Webinar before the start: no campaign activity, but the series exist and stay at 0.
    let b = s.samples(START + HOUR, START + HOUR + 1000);
    assert_eq!(
        sum_at(&b, "vigia_registrations_total", &[], START + HOUR),
        0.0
    );
    assert!(s.samples(i64::MIN, START).is_empty());
    assert!(
        s.samples(i64::MAX - 1, i64::MAX).is_empty(),
        "beyond MAX_STEP"
    );
    assert!(s.samples(START + 5, START).is_empty());
    assert!(s.events(i64::MIN, i64::MIN + 1).is_empty());
    let mut s = Simulator::new(SimConfig {
        hosts: 0,
        ..SimConfig::new(1, START)
    });
    let b = s.samples(START, START + MIN);
    assert_eq!(
        b.iter()
            .filter(|x| x.labels.metric_name() == Some("up"))
            .count(),
        10,
        "5 hosts x 2 jobs"
    );
}

#[test]
fn feeds_an_appender_in_chunks() {
    // The intended use: backfill chunk by chunk into any `Appender`, then query it.
    let store = MemStorage::new();
    let mut s = sim(13);
    let crash = s
        .faults()
        .into_iter()
        .find(|f| f.kind == FaultKind::HostDown)
        .unwrap();
    let (from, to) = (crash.start_ms - HOUR, crash.end_ms + HOUR);
    let mut t = from;
    let mut appended = 0;
    while t < to {
        let out = store.append(&s.samples(t, (t + 17 * MIN).min(to))).unwrap();
        assert_eq!(out.rejected_total(), 0);
        appended += out.appended;
        t += 17 * MIN;
    }
    let steps = ((to - from) / MIN) as u64;
    assert!(appended > steps * 600 && appended <= steps * s.series_count() as u64);
    let up: Vec<_> = store
        .select(
            &[
                Matcher::equal("__name__", "up"),
                Matcher::equal("instance", "web-3:9100"),
            ],
            from,
            to,
        )
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(up.len(), 1);
    let zeros = up[0].samples.iter().filter(|x| x.v == 0.0).count() as i64;
    assert_eq!(zeros, (crash.end_ms - crash.start_ms) / MIN);
}

#[test]
fn demo_placement_shows_the_campaign_and_faults_soon() {
    let end = START + 14 * DAY;
    // Short history: the webinar and its first conversions are in the history.
    let mut s = Simulator::for_demo(3, end, 6 * HOUR);
    assert_eq!(s.webinar_at_ms(), end - 3 * HOUR);
    let b = s.samples(end - MIN, end);
    let at = end - MIN;
    assert!(sum_at(&b, "vigia_registrations_total", &[], at) > 1800.0);
    assert!(sum_at(&b, "vigia_attendance_joins_total", &[], at) > 1500.0);
    assert!(sum_at(&b, "vigia_engaged_attendees_total", &[], at) > 1000.0);
    assert!(sum_at(&b, "vigia_conversions_total", &[], at) > 50.0);
    assert!(sum_at(&b, "vigia_satisfaction_rating_count", &[], at) > 100.0);
    // A fault is under way at the end of the history and more follow within the first hour.
    let soon = s.faults_between(end - MIN, end + HOUR);
    assert!(
        soon.iter()
            .any(|f| f.kind == FaultKind::ErrorBurst && f.start_ms < end && f.end_ms > end),
        "{soon:?}"
    );
    assert!(
        soon.iter()
            .any(|f| f.kind == FaultKind::LatencySpike && f.start_ms > end),
        "{soon:?}"
    );
    // Tiny history: still no panic, the webinar is half-way in.
    let s = Simulator::for_demo(3, end, 10 * MIN);
    assert_eq!(s.webinar_at_ms(), end - 5 * MIN);
    // Default 14 days: the usual story, live cycle starting near the end.
    let s = Simulator::for_demo(3, end, 14 * DAY);
    assert_eq!(s.webinar_at_ms(), SimConfig::new(3, START).webinar_at_ms);
    assert_eq!(s.live_faults_from(), Some(end - 25 * MIN));
    assert_eq!(
        s.faults_between(START, end - 30 * MIN).len(),
        6,
        "the story only"
    );
}
