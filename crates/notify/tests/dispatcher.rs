//! Dispatcher behaviour with a manual clock: grouping timings, notification log, inhibition,
//! silences, time intervals, escalation, acknowledge/resolve, persistence and history.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use vigia_notify::{
    AlertFilter, Alertmanager, AmConfig, ApiMatcher, EscalationPolicy, HistoryKind, ManualClock,
    NotificationSink, NotifyError, Options, PostableAlert, PostableSilence, api::fmt_time,
    parse_matchers,
};
use vigia_receivers::{Notification, Status};

/// Monday 2026-11-23 10:00:00 UTC.
const T0: i64 = 1_795_428_000_000;
const S: i64 = 1000;
const M: i64 = 60 * S;

#[derive(Default)]
struct Sink {
    got: Mutex<Vec<Notification>>,
    fail: Mutex<bool>,
}

impl NotificationSink for Sink {
    fn send(&self, n: Notification) -> Result<(), vigia_receivers::OutboxError> {
        if *self.fail.lock().unwrap() {
            return Err(vigia_receivers::OutboxError::Closed);
        }
        self.got.lock().unwrap().push(n);
        Ok(())
    }
}

impl Sink {
    fn take(&self) -> Vec<Notification> {
        std::mem::take(&mut *self.got.lock().unwrap())
    }
}

struct Env {
    am: Alertmanager,
    clock: Arc<ManualClock>,
    sink: Arc<Sink>,
    _dir: Option<tempfile::TempDir>,
}

const CFG: &str = r#"
route:
  receiver: team
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
  routes:
    - matchers: ['team="db"']
      receiver: db
      mute_time_intervals: [weekend]
    - matchers: ['team="ops"']
      receiver: ops
      active_time_intervals: [office]
receivers: [{name: team}, {name: db}, {name: ops}, {name: boss}, {name: sms}]
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [instance]
time_intervals:
  - name: weekend
    time_intervals: [{weekdays: [saturday, sunday]}]
  - name: office
    time_intervals: [{times: [{start_time: '09:00', end_time: '17:00'}]}]
"#;

const ESC: &str = r#"
- name: web-oncall
  matchers: ['team=~"web|team"']
  levels:
    - after: 10m
      severity: high
      receivers: [boss]
    - after: 30m
      severity: critical
      receivers: [sms, boss]
"#;

fn open(dir: &Path, clock: Arc<ManualClock>, sink: Arc<Sink>) -> Alertmanager {
    let cfg = AmConfig::parse(CFG).unwrap();
    let esc: Vec<EscalationPolicy> = serde_saphyr::from_str(ESC).unwrap();
    Alertmanager::new(
        cfg,
        esc,
        dir,
        clock,
        sink,
        Options {
            external_url: "http://vigia:9090".to_string(),
            ..Options::default()
        },
    )
    .unwrap()
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let sink = Arc::new(Sink::default());
    let am = open(dir.path(), clock.clone(), sink.clone());
    Env {
        am,
        clock,
        sink,
        _dir: Some(dir),
    }
}

fn alert(pairs: &[(&str, &str)], starts: i64, ends: Option<i64>) -> PostableAlert {
    PostableAlert {
        labels: pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        annotations: BTreeMap::from([("summary".to_string(), "s".to_string())]),
        starts_at: Some(fmt_time(starts)),
        ends_at: ends.map(fmt_time),
        generator_url: Some("http://vigia/graph".to_string()),
    }
}

impl Env {
    fn at(&self, t: i64) -> Vec<Notification> {
        self.clock.set(t);
        self.am.tick().unwrap();
        self.sink.take()
    }
    fn fp(&self, name: &str) -> String {
        self.am
            .alerts(&AlertFilter::default())
            .into_iter()
            .find(|a| a.labels.get("alertname").map(String::as_str) == Some(name))
            .unwrap()
            .fingerprint
    }
}

fn names(n: &Notification) -> Vec<String> {
    n.alerts
        .iter()
        .map(|a| format!("{}:{:?}", a.labels["instance"], a.status))
        .collect()
}

const FAR: i64 = T0 + 100 * 3_600_000;

#[test]
fn group_wait_interval_repeat_and_resolve() {
    let e = env();
    e.am.put_alerts(vec![alert(
        &[("alertname", "Down"), ("instance", "a")],
        T0,
        Some(FAR),
    )])
    .unwrap();
    assert!(e.at(T0).is_empty());
    assert!(e.at(T0 + 29 * S).is_empty());
    let n = e.at(T0 + 30 * S);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].receiver, "team");
    assert_eq!(n[0].status, Status::Firing);
    assert_eq!(n[0].group_key, r#"{}:{alertname="Down"}"#);
    assert_eq!(n[0].group_labels["alertname"], "Down");
    assert_eq!(n[0].external_url, "http://vigia:9090");
    assert_eq!(n[0].alerts[0].ends_at, "0001-01-01T00:00:00Z");
    assert_eq!(names(&n[0]), ["a:Firing"]);
    // A second alert of the group waits for group_interval.
    e.clock.set(T0 + M);
    e.am.put_alerts(vec![alert(
        &[("alertname", "Down"), ("instance", "b")],
        T0 + M,
        Some(FAR),
    )])
    .unwrap();
    assert!(e.at(T0 + M).is_empty());
    assert!(e.at(T0 + 30 * S + 5 * M - S).is_empty());
    let n = e.at(T0 + 30 * S + 5 * M);
    assert_eq!(names(&n[0]), ["a:Firing", "b:Firing"]);
    // Unchanged: nothing until repeat_interval (1h) has passed.
    // (the last notification was at flush 1; `repeat_interval` must be exceeded)
    for k in 2..14 {
        assert!(e.at(T0 + 30 * S + k * 5 * M).is_empty(), "flush {k}");
    }
    let n = e.at(T0 + 30 * S + 14 * 5 * M);
    assert_eq!(n.len(), 1, "repeat after 1h");
    // Resolve b explicitly: the next flush reports it resolved, then it is gone.
    let t = T0 + 30 * S + 14 * 5 * M + M;
    e.clock.set(t);
    e.am.put_alerts(vec![alert(
        &[("alertname", "Down"), ("instance", "b")],
        T0 + M,
        Some(t),
    )])
    .unwrap();
    let n = e.at(T0 + 30 * S + 15 * 5 * M);
    assert_eq!(names(&n[0]), ["a:Firing", "b:Resolved"]);
    assert_ne!(n[0].alerts[1].ends_at, "0001-01-01T00:00:00Z");
    assert!(e.at(T0 + 30 * S + 16 * 5 * M).is_empty());
    assert_eq!(e.am.alerts(&AlertFilter::default()).len(), 1);
}

#[test]
fn alert_without_ends_at_resolves_after_resolve_timeout() {
    let e = env();
    e.am.put_alerts(vec![alert(
        &[("alertname", "X"), ("instance", "a")],
        T0,
        None,
    )])
    .unwrap();
    assert_eq!(e.at(T0 + 30 * S).len(), 1);
    // Default resolve_timeout is 5m; the group flushes at +5m30s.
    let n = e.at(T0 + 30 * S + 5 * M);
    assert_eq!(names(&n[0]), ["a:Resolved"]);
    assert_eq!(n[0].status, Status::Resolved);
    assert!(e.am.alerts(&AlertFilter::default()).is_empty());
    let h = e.am.history(None, 0, i64::MAX);
    let kinds: Vec<HistoryKind> = h.iter().map(|x| x.kind).collect();
    assert_eq!(
        kinds,
        [
            HistoryKind::Firing,
            HistoryKind::Notified,
            HistoryKind::Resolved,
            HistoryKind::Notified
        ]
    );
}

#[test]
fn old_alert_flushes_immediately() {
    let e = env();
    e.am.put_alerts(vec![alert(
        &[("alertname", "Old"), ("instance", "a")],
        T0 - 10 * M,
        Some(FAR),
    )])
    .unwrap();
    assert_eq!(e.at(T0).len(), 1);
}

#[test]
fn inhibition_respects_equal() {
    let e = env();
    e.am.put_alerts(vec![
        alert(
            &[
                ("alertname", "Hot"),
                ("instance", "a"),
                ("severity", "warning"),
            ],
            T0,
            Some(FAR),
        ),
        alert(
            &[
                ("alertname", "Hot"),
                ("instance", "b"),
                ("severity", "warning"),
            ],
            T0,
            Some(FAR),
        ),
        alert(
            &[
                ("alertname", "Dead"),
                ("instance", "a"),
                ("severity", "critical"),
            ],
            T0,
            Some(FAR),
        ),
    ])
    .unwrap();
    let n = e.at(T0 + 30 * S);
    let mut got: Vec<(String, Vec<String>)> = n
        .iter()
        .map(|n| (n.group_labels["alertname"].clone(), names(n)))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("Dead".to_string(), vec!["a:Firing".to_string()]),
            ("Hot".to_string(), vec!["b:Firing".to_string()]),
        ]
    );
    let hot_a =
        e.am.alerts(&AlertFilter::default())
            .into_iter()
            .find(|a| a.labels["alertname"] == "Hot" && a.labels["instance"] == "a")
            .unwrap();
    assert_eq!(hot_a.status.state, "suppressed");
    assert_eq!(hot_a.status.inhibited_by, [e.fp("Dead")]);
    let f = AlertFilter {
        inhibited: false,
        ..AlertFilter::default()
    };
    assert_eq!(e.am.alerts(&f).len(), 2);
    // The source resolves: the target is notified at the next flush.
    e.clock.set(T0 + M);
    e.am.put_alerts(vec![alert(
        &[
            ("alertname", "Dead"),
            ("instance", "a"),
            ("severity", "critical"),
        ],
        T0,
        Some(T0 + M),
    )])
    .unwrap();
    let n = e.at(T0 + 30 * S + 5 * M);
    let hot = n
        .iter()
        .find(|n| n.group_labels["alertname"] == "Hot")
        .unwrap();
    assert_eq!(names(hot), ["a:Firing", "b:Firing"]);
}

fn silence(m: &str, starts: i64, ends: i64) -> PostableSilence {
    let ms = parse_matchers(m).unwrap();
    PostableSilence {
        id: None,
        matchers: ms
            .iter()
            .map(|m| ApiMatcher {
                name: m.name.clone(),
                value: m.value.clone(),
                is_regex: m.is_regex(),
                is_equal: m.is_equal(),
            })
            .collect(),
        starts_at: fmt_time(starts),
        ends_at: fmt_time(ends),
        created_by: "ana".to_string(),
        comment: "maintenance".to_string(),
    }
}

#[test]
fn silence_suppresses_then_expires() {
    let e = env();
    let id =
        e.am.add_silence(silence(r#"instance=~"a|c""#, T0, T0 + 10 * M))
            .unwrap();
    assert_eq!(id.len(), 36);
    e.am.put_alerts(vec![alert(
        &[("alertname", "Down"), ("instance", "a")],
        T0,
        Some(FAR),
    )])
    .unwrap();
    let a = &e.am.alerts(&AlertFilter::default())[0];
    assert_eq!(a.status.state, "unprocessed");
    assert!(e.at(T0 + 30 * S).is_empty());
    let a = &e.am.alerts(&AlertFilter::default())[0];
    assert_eq!(a.status.state, "suppressed");
    assert_eq!(a.status.silenced_by, vec![id.clone()]);
    assert!(e.at(T0 + 30 * S + 5 * M).is_empty());
    let s = e.am.silences(&[]);
    assert_eq!(s[0].status.state, "active");
    assert_eq!(s[0].created_by, "ana");
    // Expired at T0+10m: the flush at T0+10m30s notifies.
    let n = e.at(T0 + 30 * S + 10 * M);
    assert_eq!(names(&n[0]), ["a:Firing"]);
    assert_eq!(e.am.silences(&[])[0].status.state, "expired");
    let kinds: Vec<HistoryKind> =
        e.am.history(Some(&e.fp("Down")), 0, i64::MAX)
            .iter()
            .map(|h| h.kind)
            .collect();
    assert_eq!(
        kinds,
        [
            HistoryKind::Firing,
            HistoryKind::Silenced,
            HistoryKind::Unsilenced,
            HistoryKind::Notified
        ]
    );
}

#[test]
fn silence_api_rules() {
    let e = env();
    let id =
        e.am.add_silence(silence("job=x", T0 + M, T0 + 10 * M))
            .unwrap();
    assert_eq!(e.am.silence(&id).unwrap().status.state, "pending");
    // Pending silence with the same matchers: updated in place.
    let mut upd = silence("job=x", T0 + 2 * M, T0 + 20 * M);
    upd.id = Some(id.clone());
    assert_eq!(e.am.add_silence(upd).unwrap(), id);
    assert_eq!(e.am.silence(&id).unwrap().ends_at, fmt_time(T0 + 20 * M));
    // Different matchers: the old one is expired, a new id returned.
    let mut upd = silence("job=y", T0, T0 + 20 * M);
    upd.id = Some(id.clone());
    let id2 = e.am.add_silence(upd).unwrap();
    assert_ne!(id2, id);
    assert_eq!(e.am.silence(&id).unwrap().status.state, "expired");
    assert_eq!(e.am.silence(&id2).unwrap().status.state, "active");
    // Filters apply to the silence's matchers.
    let f = parse_matchers("job=y").unwrap();
    assert_eq!(e.am.silences(&f).len(), 1);
    e.am.expire_silence(&id2).unwrap();
    assert!(matches!(
        e.am.expire_silence(&id2),
        Err(NotifyError::Invalid(_))
    ));
    assert!(matches!(
        e.am.expire_silence("nope"),
        Err(NotifyError::NotFound { .. })
    ));
    for bad in [
        silence(r#"job=~".*""#, T0, T0 + M),
        silence("job=x", T0 + M, T0),
        silence("job=x", T0 - 2 * M, T0 - M),
    ] {
        assert!(matches!(
            e.am.add_silence(bad),
            Err(NotifyError::Invalid(_))
        ));
    }
    let mut unknown = silence("job=x", T0, T0 + M);
    unknown.id = Some("00000000-0000-4000-8000-000000000000".to_string());
    assert!(matches!(
        e.am.add_silence(unknown),
        Err(NotifyError::NotFound { .. })
    ));
}

#[test]
fn time_intervals_mute_routes() {
    let e = env();
    // Saturday 2026-11-28 10:00 UTC.
    let sat = T0 + 5 * 24 * 3_600_000;
    e.clock.set(sat);
    e.am.put_alerts(vec![
        alert(
            &[("alertname", "Db"), ("instance", "a"), ("team", "db")],
            sat,
            Some(sat + 100 * 3_600_000),
        ),
        alert(
            &[("alertname", "Ops"), ("instance", "a"), ("team", "ops")],
            sat,
            Some(sat + 100 * 3_600_000),
        ),
    ])
    .unwrap();
    let n = e.at(sat + 30 * S);
    // db is muted on weekends; ops is active 09:00-17:00 every day.
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].receiver, "ops");
    // Monday 2026-11-30 10:00: db notifies; at 18:00 ops would be outside its active time.
    let mon = sat + 2 * 24 * 3_600_000;
    let n = e.at(mon);
    let mut rs: Vec<&str> = n.iter().map(|n| n.receiver.as_str()).collect();
    rs.sort();
    assert_eq!(rs, ["db", "ops"], "db unmuted, ops repeated after 1h");
    e.am.put_alerts(vec![alert(
        &[("alertname", "Ops"), ("instance", "b"), ("team", "ops")],
        mon,
        Some(mon + 100 * 3_600_000),
    )])
    .unwrap();
    // 18:00: outside office hours, ops stays quiet (db repeats, it has no active interval).
    let n = e.at(mon + 8 * 3_600_000);
    assert!(n.iter().all(|n| n.receiver != "ops"));
    let n = e.at(mon + 23 * 3_600_000 + 5 * M);
    let ops: Vec<&Notification> = n.iter().filter(|n| n.receiver == "ops").collect();
    assert_eq!(ops.len(), 1);
    assert_eq!(names(ops[0]), ["a:Firing", "b:Firing"]);
}

#[test]
fn escalation_levels_and_ack() {
    let e = env();
    e.am.put_alerts(vec![
        alert(
            &[
                ("alertname", "Slow"),
                ("instance", "a"),
                ("team", "web"),
                ("severity", "medium"),
            ],
            T0,
            Some(FAR),
        ),
        alert(
            &[
                ("alertname", "Slow2"),
                ("instance", "b"),
                ("team", "web"),
                ("severity", "critical"),
            ],
            T0,
            Some(FAR),
        ),
    ])
    .unwrap();
    assert_eq!(e.at(T0 + 30 * S).len(), 2);
    assert!(e.at(T0 + 10 * M - S).is_empty());
    let mut n = e.at(T0 + 10 * M);
    n.sort_by_key(|n| n.alerts[0].labels["alertname"].clone());
    assert_eq!(n.len(), 2);
    assert_eq!(n[0].receiver, "boss");
    let esc = n[0].escalation.clone().unwrap();
    assert_eq!(
        (esc.level, esc.severity.as_str(), esc.policy.as_str()),
        (1, "high", "web-oncall")
    );
    assert_eq!(n[0].alerts[0].labels["severity"], "high");
    // Never lowered: critical stays critical.
    assert_eq!(n[1].alerts[0].labels["severity"], "critical");
    assert_eq!(n[1].escalation.clone().unwrap().severity, "critical");
    assert!(e.at(T0 + 11 * M).is_empty());
    let fp = e.fp("Slow2");
    e.am.ack(&fp, "bob", "looking").unwrap();
    // The acknowledgement goes at once to the receiver of every group holding the alert.
    let acks = e.sink.take();
    assert_eq!(acks.len(), 1, "{acks:?}");
    let ack = acks[0].acknowledged.clone().unwrap();
    assert_eq!((ack.by.as_str(), ack.note.as_str()), ("bob", "looking"));
    assert_eq!(acks[0].alerts.len(), 1);
    assert_eq!(acks[0].alerts[0].fingerprint, fp);
    assert!(acks[0].escalation.is_none());
    let n = e.at(T0 + 30 * M);
    let mut rs: Vec<String> = n.iter().map(|n| n.receiver.clone()).collect();
    rs.sort();
    assert_eq!(rs, ["boss", "sms"]);
    assert!(n.iter().all(|n| n.alerts[0].labels["alertname"] == "Slow"));
    assert_eq!(n[0].escalation.clone().unwrap().level, 2);
    assert_eq!(n[0].alerts[0].labels["severity"], "critical");
    let a =
        e.am.alerts(&AlertFilter::default())
            .into_iter()
            .find(|a| a.fingerprint == fp)
            .unwrap();
    assert_eq!(a.vigia.ack.unwrap().by, "bob");
    assert_eq!(a.vigia.escalation_level, 1);
    assert!(matches!(
        e.am.ack("0123456789abcdef", "x", ""),
        Err(NotifyError::NotFound { .. })
    ));
    // Resolution reaches the escalation receivers too.
    e.clock.set(T0 + 31 * M);
    e.am.put_alerts(vec![alert(
        &[
            ("alertname", "Slow"),
            ("instance", "a"),
            ("team", "web"),
            ("severity", "medium"),
        ],
        T0,
        Some(T0 + 31 * M),
    )])
    .unwrap();
    let n = e.at(T0 + 31 * M);
    let mut rs: Vec<String> = n.iter().map(|n| n.receiver.clone()).collect();
    rs.sort();
    assert_eq!(rs, ["boss", "sms"]);
    assert!(n.iter().all(|n| n.status == Status::Resolved));
    let h = e.am.history(Some(&e.fp("Slow2")), 0, i64::MAX);
    assert!(h.iter().any(|x| x.kind == HistoryKind::Ack
        && x.author.as_deref() == Some("bob")
        && x.note.as_deref() == Some("looking")));
    assert!(
        h.iter()
            .any(|x| x.kind == HistoryKind::Escalated && x.level == Some(1))
    );
}

#[test]
fn manual_resolve_suppresses_until_condition_clears() {
    let e = env();
    let labels = [("alertname", "Full"), ("instance", "a")];
    e.am.put_alerts(vec![alert(&labels, T0, None)]).unwrap();
    assert_eq!(e.at(T0 + 30 * S).len(), 1);
    let fp = e.fp("Full");
    e.clock.set(T0 + M);
    e.am.resolve(&fp, "carla", "disk cleaned").unwrap();
    let n = e.at(T0 + M);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].status, Status::Resolved);
    assert_eq!(n[0].alerts[0].ends_at, fmt_time(T0 + M));
    // Still firing upstream: no notifications, listed as suppressed with the note.
    for k in 2..20 {
        e.clock.set(T0 + k * M);
        e.am.put_alerts(vec![alert(&labels, T0, None)]).unwrap();
        assert!(e.at(T0 + k * M).is_empty(), "minute {k}");
    }
    let a = &e.am.alerts(&AlertFilter::default())[0];
    assert_eq!(a.status.state, "suppressed");
    assert_eq!(a.vigia.resolved.as_ref().unwrap().note, "disk cleaned");
    // Condition clears (no update for resolve_timeout), then fires again: a new alert.
    assert!(e.at(T0 + 30 * M).is_empty());
    assert!(e.am.alerts(&AlertFilter::default()).is_empty());
    let t = T0 + 40 * M;
    e.clock.set(t);
    e.am.put_alerts(vec![alert(&labels, t, None)]).unwrap();
    let n = e.at(t + 30 * S);
    assert_eq!(names(&n[0]), ["a:Firing"]);
    let kinds: Vec<HistoryKind> =
        e.am.history(Some(&fp), 0, i64::MAX)
            .iter()
            .map(|h| h.kind)
            .collect();
    assert!(kinds.contains(&HistoryKind::ManualResolve));
    assert!(kinds.contains(&HistoryKind::Cleared));
    assert!(matches!(
        e.am.resolve("zz", "x", ""),
        Err(NotifyError::Invalid(_))
    ));
    assert!(matches!(
        e.am.resolve("00000000000000aa", "x", ""),
        Err(NotifyError::NotFound { .. })
    ));
}

#[test]
fn restart_continues() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let sink = Arc::new(Sink::default());
    let am = open(dir.path(), clock.clone(), sink.clone());
    am.put_alerts(vec![alert(
        &[("alertname", "Slow"), ("instance", "a"), ("team", "web")],
        T0,
        Some(FAR),
    )])
    .unwrap();
    let sid = am
        .add_silence(silence("instance=z", T0, T0 + 100 * M))
        .unwrap();
    clock.set(T0 + 30 * S);
    am.tick().unwrap();
    assert_eq!(sink.take().len(), 1);
    drop(am);
    // Reopen: no repeat for the unchanged group, the silence is still there, and the
    // escalation timer still counts from startsAt.
    let am = open(dir.path(), clock.clone(), sink.clone());
    assert_eq!(am.silence(&sid).unwrap().status.state, "active");
    for t in [T0 + M, T0 + 2 * M, T0 + 6 * M, T0 + 9 * M] {
        clock.set(t);
        am.tick().unwrap();
        assert!(sink.take().is_empty(), "at {t}");
    }
    clock.set(T0 + 10 * M);
    am.tick().unwrap();
    let n = sink.take();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].escalation.as_ref().unwrap().level, 1);
    drop(am);
    let am = open(dir.path(), clock.clone(), sink.clone());
    clock.set(T0 + 12 * M);
    am.tick().unwrap();
    assert!(sink.take().is_empty(), "level 1 not repeated after restart");
    let h = am.history(None, 0, i64::MAX);
    assert!(h.iter().filter(|x| x.kind == HistoryKind::Notified).count() == 1);
    assert!(h.iter().any(|x| x.kind == HistoryKind::Escalated));
    // A torn last history line is tolerated.
    drop(am);
    let p = dir.path().join("notify-history.jsonl");
    let mut data = std::fs::read(&p).unwrap();
    data.extend_from_slice(b"{\"ts_ms\":1,\"ti");
    std::fs::write(&p, data).unwrap();
    let am = open(dir.path(), clock.clone(), sink.clone());
    assert_eq!(am.history(None, 0, i64::MAX).len(), h.len());
    am.record_delivery("team", "{}:{}", &[], true, "").unwrap();
    drop(am);
    let am = open(dir.path(), clock, sink);
    assert_eq!(am.history(None, 0, i64::MAX).len(), h.len() + 1);
}

#[test]
fn failed_send_is_retried() {
    let e = env();
    e.am.put_alerts(vec![alert(
        &[("alertname", "Down"), ("instance", "a")],
        T0,
        Some(FAR),
    )])
    .unwrap();
    *e.sink.fail.lock().unwrap() = true;
    assert!(e.at(T0 + 30 * S).is_empty());
    *e.sink.fail.lock().unwrap() = false;
    assert!(e.at(T0 + 35 * S).is_empty());
    assert_eq!(e.at(T0 + 40 * S).len(), 1);
    assert_eq!(
        vigia_model::metrics::find(
            &e.am.metric_families(),
            "vigia_alertmanager_notifications_failed_total",
            &[("receiver", "team")]
        ),
        Some(1.0)
    );
}

#[test]
fn api_json_shapes() {
    let e = env();
    let body = r#"[{"labels":{"alertname":"X","job":"j"},"annotations":{"summary":"s"},
        "startsAt":"2026-11-23T10:00:00Z","endsAt":"2026-11-23T12:00:00.000+01:00",
        "generatorURL":"http://prom/graph"}]"#;
    let alerts: Vec<PostableAlert> = serde_json::from_str(body).unwrap();
    e.am.put_alerts(alerts).unwrap();
    let bad = vec![
        PostableAlert::default(),
        alert(&[("alertname", "Y")], T0 + M, Some(T0)),
    ];
    match e.am.put_alerts(bad) {
        Err(NotifyError::InvalidAlerts(v)) => assert_eq!(v.len(), 2),
        other => panic!("{other:?}"),
    }
    e.am.tick().unwrap();
    let v = serde_json::to_value(e.am.alerts(&AlertFilter::default())).unwrap();
    let a = &v[0];
    assert_eq!(a["startsAt"], "2026-11-23T10:00:00.000Z");
    assert_eq!(a["endsAt"], "2026-11-23T11:00:00.000Z");
    assert_eq!(a["generatorURL"], "http://prom/graph");
    assert_eq!(a["receivers"][0]["name"], "team");
    assert_eq!(a["status"]["state"], "active");
    assert_eq!(a["status"]["silencedBy"], serde_json::json!([]));
    assert_eq!(a["fingerprint"].as_str().unwrap().len(), 16);
    let sil: PostableSilence = serde_json::from_str(
        r#"{"matchers":[{"name":"job","value":"j","isRegex":false}],"startsAt":"2026-11-23T10:00:00Z",
        "endsAt":"2026-11-23T11:00:00Z","createdBy":"me","comment":"c"}"#,
    )
    .unwrap();
    assert!(sil.matchers[0].is_equal);
    e.am.add_silence(sil).unwrap();
    let v = serde_json::to_value(e.am.silences(&[])).unwrap();
    for k in [
        "id",
        "status",
        "updatedAt",
        "matchers",
        "startsAt",
        "endsAt",
        "createdBy",
        "comment",
    ] {
        assert!(v[0].get(k).is_some(), "{k}");
    }
    assert_eq!(v[0]["matchers"][0]["isEqual"], true);
    let m = e.am.metric_families();
    let find = |n: &str, st: &str| vigia_model::metrics::find(&m, n, &[("state", st)]);
    assert_eq!(
        find("vigia_alertmanager_alerts", "suppressed"),
        Some(1.0),
        "{m:?}"
    );
    assert_eq!(
        find("vigia_alertmanager_silences", "active"),
        Some(1.0),
        "{m:?}"
    );
    assert_eq!(
        vigia_model::metrics::find(
            &m,
            "vigia_alertmanager_alerts_received_total",
            &[("status", "firing")]
        ),
        Some(1.0),
        "{m:?}"
    );
}

/// Prometheus re-sends firing alerts with `endsAt = now + 4 × interval` every minute and then
/// the resolved alert for a while: one firing and one resolved notification, no noise.
#[test]
fn prometheus_style_updates() {
    let e = env();
    let labels = [("alertname", "Prom"), ("instance", "a"), ("team", "db")];
    for k in 0..20 {
        let t = T0 + k * M;
        e.clock.set(t);
        e.am.put_alerts(vec![alert(&labels, T0, Some(t + 4 * M))])
            .unwrap();
        e.am.tick().unwrap();
    }
    let n = e.sink.take();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].receiver, "db");
    let f = AlertFilter {
        receiver: Some(AlertFilter::receiver_regex("d.").unwrap()),
        ..AlertFilter::default()
    };
    assert_eq!(e.am.alerts(&f).len(), 1);
    let f = AlertFilter {
        receiver: Some(AlertFilter::receiver_regex("d").unwrap()),
        ..AlertFilter::default()
    };
    assert!(e.am.alerts(&f).is_empty());
    let resolved_at = T0 + 20 * M;
    for k in 20..40 {
        let t = T0 + k * M;
        e.clock.set(t);
        e.am.put_alerts(vec![alert(&labels, T0, Some(resolved_at))])
            .unwrap();
        e.am.tick().unwrap();
    }
    let n = e.sink.take();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].status, Status::Resolved);
    assert_eq!(n[0].alerts[0].ends_at, fmt_time(resolved_at));
    let kinds: Vec<HistoryKind> =
        e.am.history(None, 0, i64::MAX)
            .iter()
            .map(|h| h.kind)
            .collect();
    assert_eq!(
        kinds,
        [
            HistoryKind::Firing,
            HistoryKind::Notified,
            HistoryKind::Resolved,
            HistoryKind::Notified
        ]
    );
    assert_eq!(
        vigia_model::metrics::find(
            &e.am.metric_families(),
            "vigia_alertmanager_aggregation_groups",
            &[]
        ),
        Some(0.0)
    );
}

/// Not a pass/fail test: prints how long put_alerts and tick take with many alerts
/// (`cargo test -p vigia-notify --release -- --ignored --nocapture scale`).
#[test]
#[ignore]
fn scale() {
    let e = env();
    let n_alerts = 10_000;
    let alerts: Vec<PostableAlert> = (0..n_alerts)
        .map(|i| {
            let inst = format!("host-{i}");
            let name = format!("Alert{}", i % 100);
            alert(
                &[
                    ("alertname", name.as_str()),
                    ("instance", inst.as_str()),
                    ("severity", "warning"),
                ],
                T0,
                Some(T0 + 4 * M),
            )
        })
        .collect();
    let t = std::time::Instant::now();
    e.am.put_alerts(alerts.clone()).unwrap();
    println!("put {n_alerts} new alerts: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    e.am.put_alerts(alerts).unwrap();
    println!("put {n_alerts} refreshed alerts: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    e.clock.set(T0 + S);
    e.am.tick().unwrap();
    println!("tick (nothing due): {:?}", t.elapsed());
    let t = std::time::Instant::now();
    e.clock.set(T0 + 30 * S);
    e.am.tick().unwrap();
    println!(
        "tick (100 groups flushed): {:?}, {} notifications",
        t.elapsed(),
        e.sink.take().len()
    );
    let t = std::time::Instant::now();
    e.clock.set(T0 + 31 * S);
    e.am.tick().unwrap();
    println!("tick (idle): {:?}", t.elapsed());
}

#[test]
fn reload_regroups_active_alerts() {
    let e = env();
    e.am.put_alerts(vec![alert(
        &[("alertname", "Down"), ("instance", "a")],
        T0,
        Some(FAR),
    )])
    .unwrap();
    assert_eq!(e.at(T0 + 30 * S)[0].receiver, "team");
    let cfg = AmConfig::parse(
        "route: {receiver: other, group_wait: 10s}\nreceivers: [{name: other}, {name: boss}, {name: sms}]\n",
    )
    .unwrap();
    let bad: Vec<EscalationPolicy> =
        serde_saphyr::from_str("- {name: p, levels: [{after: 1m, receivers: [nobody]}]}\n")
            .unwrap();
    match e.am.set_config(cfg.clone(), bad) {
        Err(NotifyError::Config(v)) => {
            assert!(v[0].contains("undefined receiver \"nobody\""), "{v:?}")
        }
        other => panic!("{other:?}"),
    }
    e.clock.set(T0 + M);
    e.am.set_config(cfg, Vec::new()).unwrap();
    let n = e.at(T0 + M + 10 * S);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].receiver, "other");
    assert_eq!(
        e.am.alerts(&AlertFilter::default())[0].receivers[0].name,
        "other"
    );
}

#[test]
fn refused_escalation_is_retried_after_a_pause() {
    let e = env();
    e.am.put_alerts(vec![alert(
        &[("alertname", "Slow"), ("instance", "a"), ("team", "web")],
        T0,
        Some(FAR),
    )])
    .unwrap();
    assert_eq!(e.at(T0 + 30 * S).len(), 1);
    *e.sink.fail.lock().unwrap() = true;
    e.at(T0 + 10 * M);
    *e.sink.fail.lock().unwrap() = false;
    assert!(
        e.at(T0 + 10 * M + 5 * S).is_empty(),
        "pause after a refusal"
    );
    let n = e.at(T0 + 10 * M + 10 * S);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].escalation.as_ref().unwrap().level, 1);
    let h = e.am.history(None, 0, i64::MAX);
    assert_eq!(
        h.iter()
            .filter(|x| x.kind == HistoryKind::NotifyFailed)
            .count(),
        1
    );
}

#[test]
fn rule_alert_conversion() {
    let a = vigia_model::Alert {
        labels: BTreeMap::from([("alertname".to_string(), "X".to_string())]),
        annotations: BTreeMap::new(),
        state: vigia_model::AlertState::Firing,
        active_at_ms: T0 - M,
        starts_at_ms: T0,
        ends_at_ms: T0 + 4 * M,
        resolved_at_ms: 0,
        value: 1.0,
        generator_url: "http://vigia/graph?g0.expr=up".to_string(),
        fingerprint: 0,
    };
    let p = PostableAlert::from_rule_alert(&a);
    assert_eq!(p.starts_at.as_deref(), Some("2026-11-23T10:00:00.000Z"));
    assert_eq!(p.ends_at.as_deref(), Some("2026-11-23T10:04:00.000Z"));
    assert_eq!(
        p.generator_url.as_deref(),
        Some("http://vigia/graph?g0.expr=up")
    );
}

#[test]
fn shared_between_threads() {
    fn is_send_sync<T: Send + Sync>() {}
    is_send_sync::<Alertmanager>();
    let e = Arc::new(env());
    let mut hs = Vec::new();
    for t in 0..3 {
        let e = e.clone();
        hs.push(std::thread::spawn(move || {
            for i in 0..100 {
                let inst = format!("h{t}-{}", i % 10);
                e.am.put_alerts(vec![alert(
                    &[("alertname", "Load"), ("instance", inst.as_str())],
                    T0,
                    Some(FAR),
                )])
                .unwrap();
                if i % 10 == 0 {
                    e.am.tick().unwrap();
                    let _ = e.am.alerts(&AlertFilter::default());
                    let _ = e.am.metric_families();
                }
            }
        }));
    }
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(e.am.alerts(&AlertFilter::default()).len(), 30);
    let n = e.at(T0 + 30 * S);
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].alerts.len(), 30);
}

#[test]
fn old_history_is_dropped_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let sink = Arc::new(Sink::default());
    let am = open(dir.path(), clock.clone(), sink.clone());
    am.put_alerts(vec![alert(
        &[("alertname", "A"), ("instance", "a")],
        T0,
        Some(T0 + M),
    )])
    .unwrap();
    clock.set(T0 + 89 * 86_400_000);
    am.put_alerts(vec![alert(
        &[("alertname", "B"), ("instance", "a")],
        T0 + 89 * 86_400_000,
        None,
    )])
    .unwrap();
    drop(am);
    clock.set(T0 + 91 * 86_400_000);
    let am = open(dir.path(), clock.clone(), sink.clone());
    let h = am.history(None, 0, i64::MAX);
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].labels.as_ref().unwrap()["alertname"], "B");
    am.record_delivery("team", "k", &[], false, "timeout")
        .unwrap();
    drop(am);
    let am = open(dir.path(), clock, sink);
    assert_eq!(am.history(None, 0, i64::MAX).len(), 2);
}
