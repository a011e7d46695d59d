//! Alert lifecycle, ALERTS series, restart restoration, recording rules and the group loop,
//! all driven by a manual clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use std::sync::Arc;
use vigia_model::AlertState;
use vigia_model::is_stale_nan;
use vigia_rules::{ManagerOptions, RuleManager};

const ALERT_RULES: &str = r#"
groups:
  - name: g
    interval: 1m
    rules:
      - alert: InstanceDown
        expr: up == 0
        for: 5m
        keep_firing_for: 2m
        labels:
          severity: high
          team: "{{ $labels.job }}-team"
        annotations:
          summary: "{{ $labels.instance }} of {{ $labels.job }} is down (value {{ $value }})"
"#;

#[test]
fn pending_firing_keep_firing_resolved() {
    let env = Env::new();
    let up = [("__name__", "up"), ("job", "api"), ("instance", "h1:9100")];
    env.write(&up, 0, 10, |_| 0.0);
    env.write(&up, 11, 30, |_| 1.0);
    let g = group(ALERT_RULES);
    let mgr = env.manager(ManagerOptions {
        external_url: "http://vigia:9090".into(),
        ..Default::default()
    });
    let at = |m: i64| T0 + m * MIN;
    let state = |mgr: &RuleManager| -> Vec<AlertState> {
        mgr.active_alerts().iter().map(|a| a.state).collect()
    };

    mgr.eval_group_at(&g, at(0)).unwrap();
    assert_eq!(state(&mgr), vec![AlertState::Pending]);
    assert!(env.take_sent().is_empty(), "pending alerts are not sent");
    let a = &mgr.active_alerts()[0];
    assert_eq!(a.labels.get("alertname").unwrap(), "InstanceDown");
    assert_eq!(a.labels.get("team").unwrap(), "api-team");
    assert_eq!(a.labels.get("severity").unwrap(), "high");
    assert!(!a.labels.contains_key("__name__"));
    assert_eq!(
        a.annotations.get("summary").unwrap(),
        "h1:9100 of api is down (value 0)"
    );
    assert_eq!(a.active_at_ms, at(0));

    for m in 1..=4 {
        mgr.eval_group_at(&g, at(m)).unwrap();
        assert_eq!(state(&mgr), vec![AlertState::Pending], "minute {m}");
    }
    mgr.eval_group_at(&g, at(5)).unwrap();
    assert_eq!(state(&mgr), vec![AlertState::Firing]);
    let sent = env.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].state, AlertState::Firing);
    assert_eq!(sent[0].starts_at_ms, at(5));
    assert_eq!(sent[0].ends_at_ms, at(5) + 4 * MIN, "valid for 4 intervals");
    assert_eq!(
        sent[0].generator_url,
        "http://vigia:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    );
    assert_eq!(
        sent[0].fingerprint,
        vigia_model::fingerprint(&sent[0].labels)
    );

    for m in 6..=10 {
        mgr.eval_group_at(&g, at(m)).unwrap();
        assert_eq!(
            env.take_sent().len(),
            1,
            "firing alerts are re-sent each evaluation"
        );
    }
    // The condition clears at 11m, keep_firing_for holds it until 13m.
    mgr.eval_group_at(&g, at(11)).unwrap();
    assert_eq!(state(&mgr), vec![AlertState::Firing]);
    mgr.eval_group_at(&g, at(12)).unwrap();
    assert_eq!(state(&mgr), vec![AlertState::Firing]);
    env.take_sent();
    mgr.eval_group_at(&g, at(13)).unwrap();
    assert_eq!(state(&mgr), vec![AlertState::Inactive]);
    let sent = env.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].state, AlertState::Inactive);
    assert_eq!(sent[0].ends_at_ms, at(13));
    assert_eq!(sent[0].resolved_at_ms, at(13));

    // ALERTS: no sample from the first evaluation (before restoration), pending 1m..4m,
    // stale at 5m; firing from 5m to 12m, stale at 13m.
    let mut alerts_labels = vec![
        ("__name__", "ALERTS"),
        ("alertname", "InstanceDown"),
        ("alertstate", "pending"),
        ("instance", "h1:9100"),
        ("job", "api"),
        ("severity", "high"),
        ("team", "api-team"),
    ];
    let pending = env.samples(&alerts_labels);
    let ts: Vec<i64> = pending.iter().map(|s| (s.t - T0) / MIN).collect();
    assert_eq!(ts, vec![1, 2, 3, 4, 5]);
    assert!(pending[..4].iter().all(|s| s.v == 1.0));
    assert!(is_stale_nan(pending[4].v));
    alerts_labels[2] = ("alertstate", "firing");
    let firing = env.samples(&alerts_labels);
    let ts: Vec<i64> = firing.iter().map(|s| (s.t - T0) / MIN).collect();
    assert_eq!(ts, (5..=13).collect::<Vec<_>>());
    assert!(is_stale_nan(firing.last().unwrap().v));

    let for_state = env.samples(&[
        ("__name__", "ALERTS_FOR_STATE"),
        ("alertname", "InstanceDown"),
        ("instance", "h1:9100"),
        ("job", "api"),
        ("severity", "high"),
        ("team", "api-team"),
    ]);
    assert_eq!(
        for_state[0].v,
        (T0 / 1000) as f64,
        "active-since in seconds"
    );

    // Resolved alerts stay listed for 15 minutes, then disappear.
    mgr.eval_group_at(&g, at(28)).unwrap();
    assert_eq!(state(&mgr), vec![AlertState::Inactive]);
    mgr.eval_group_at(&g, at(29)).unwrap();
    assert!(state(&mgr).is_empty());
}

#[test]
fn pending_alert_that_clears_is_dropped_without_notification() {
    let env = Env::new();
    let up = [("__name__", "up"), ("job", "api"), ("instance", "h1:9100")];
    env.write(&up, 0, 2, |_| 0.0);
    env.write(&up, 3, 10, |_| 1.0);
    let g = group(ALERT_RULES);
    let mgr = env.manager(ManagerOptions::default());
    for m in 0..=3 {
        mgr.eval_group_at(&g, T0 + m * MIN).unwrap();
    }
    assert!(mgr.active_alerts().is_empty());
    assert!(env.take_sent().is_empty());
}

const LONG_FOR: &str = r#"
groups:
  - name: g
    interval: 1m
    rules:
      - alert: Down
        expr: up == 0
        for: 30m
"#;

#[test]
fn restart_restores_for_state() {
    let env = Env::new();
    env.write(&[("__name__", "up"), ("job", "a")], 0, 60, |_| 0.0);
    let g = group(LONG_FOR);
    let at = |m: i64| T0 + m * MIN;
    {
        let before = env.manager(ManagerOptions::default());
        for m in 0..=10 {
            before.eval_group_at(&g, at(m)).unwrap();
        }
        assert_eq!(before.active_alerts()[0].state, AlertState::Pending);
    }
    // Down from 10m to 12m. Pending for 10 of 30 minutes: 20 remain, so it fires at 32m.
    let after = env.manager(ManagerOptions::default());
    after.eval_group_at(&g, at(12)).unwrap();
    assert_eq!(after.active_alerts()[0].active_at_ms, at(2));
    // A manager that does not restore would start `for` again at 12m.
    let fresh_env = Env::new();
    fresh_env.write(&[("__name__", "up"), ("job", "a")], 0, 60, |_| 0.0);
    let fresh = fresh_env.manager(ManagerOptions::default());
    fresh.eval_group_at(&g, at(12)).unwrap();
    assert_eq!(fresh.active_alerts()[0].active_at_ms, at(12));

    for m in 13..=31 {
        after.eval_group_at(&g, at(m)).unwrap();
        assert_eq!(after.active_alerts()[0].state, AlertState::Pending, "{m}");
    }
    after.eval_group_at(&g, at(32)).unwrap();
    assert_eq!(after.active_alerts()[0].state, AlertState::Firing);
}

#[test]
fn restore_grace_period_after_long_outage() {
    let env = Env::new();
    env.write(&[("__name__", "up"), ("job", "a")], 0, 90, |_| 0.0);
    let g = group(LONG_FOR);
    let at = |m: i64| T0 + m * MIN;
    let before = env.manager(ManagerOptions::default());
    for m in 0..=25 {
        before.eval_group_at(&g, at(m)).unwrap();
    }
    drop(before);
    // 25 of 30 minutes spent: 5 remain, less than the 10m grace period, so it gets 10m.
    let after = env.manager(ManagerOptions::default());
    after.eval_group_at(&g, at(40)).unwrap();
    assert_eq!(
        after.active_alerts()[0].active_at_ms,
        at(40) + 10 * MIN - 30 * MIN
    );
}

#[test]
fn recording_rules_write_series_and_stale_markers() {
    let env = Env::new();
    env.write(
        &[("__name__", "req_total"), ("job", "a"), ("i", "1")],
        0,
        10,
        |m| m as f64,
    );
    env.write(
        &[("__name__", "req_total"), ("job", "a"), ("i", "2")],
        0,
        10,
        |m| 2.0 * m as f64,
    );
    env.write(
        &[("__name__", "req_total"), ("job", "b"), ("i", "1")],
        0,
        3,
        |m| m as f64,
    );
    let g = group(
        r#"
groups:
  - name: rec
    interval: 1m
    rules:
      - record: job:req_total:sum
        expr: sum by (job) (req_total)
        labels:
          source: rules
"#,
    );
    let mgr = env.manager(ManagerOptions::default());
    mgr.eval_group_at(&g, T0 + 3 * MIN).unwrap();
    mgr.eval_group_at(&g, T0 + 10 * MIN).unwrap();
    let a = env.samples(&[
        ("__name__", "job:req_total:sum"),
        ("job", "a"),
        ("source", "rules"),
    ]);
    assert_eq!(a.iter().map(|s| s.v).collect::<Vec<_>>(), vec![9.0, 30.0]);
    let b = env.samples(&[
        ("__name__", "job:req_total:sum"),
        ("job", "b"),
        ("source", "rules"),
    ]);
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].v, 3.0);
    assert!(
        is_stale_nan(b[1].v),
        "job b vanished (lookback over): stale marker"
    );
    let st = mgr.stats();
    assert_eq!(st[0].evaluations_total, 2);
    assert_eq!(st[0].evaluation_failures_total, 0);
}

#[test]
fn limit_and_failures_are_counted() {
    let env = Env::new();
    env.write(&[("__name__", "x"), ("a", "1")], 0, 5, |_| 1.0);
    env.write(&[("__name__", "x"), ("a", "2")], 0, 5, |_| 1.0);
    let g = group(
        r#"
groups:
  - name: lim
    limit: 1
    rules:
      - record: y
        expr: x
      - alert: X
        expr: x > 0
      - record: z
        expr: rate(x[5m]) + on() group_left x
"#,
    );
    let mgr = env.manager(ManagerOptions::default());
    let errs = mgr.eval_group_at(&g, T0 + 5 * MIN).unwrap_err();
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(
        errs[0]
            .to_string()
            .contains("exceeded limit of 1 with 2 series")
    );
    assert!(
        errs[1]
            .to_string()
            .contains("exceeded limit of 1 with 2 alerts")
    );
    assert!(env.samples(&[("__name__", "y"), ("a", "1")]).is_empty());
    let st = mgr.stats();
    assert_eq!(st[0].evaluation_failures_total, 3);
    let status = mgr.status();
    assert_eq!(status[0].rules[0].health, "err");
}

#[test]
fn background_loop_evaluates_at_slots_and_counts_missed_iterations() {
    let env = Env::new();
    env.write(&[("__name__", "up"), ("job", "a")], 0, 10, |_| 1.0);
    let g = group(
        r#"
groups:
  - name: loop
    interval: 10s
    rules:
      - record: job:up
        expr: up
"#,
    );
    let slot = RuleManager::eval_timestamp(&g, T0);
    assert!(slot <= T0 && slot > T0 - 10_000);
    assert_eq!(
        RuleManager::eval_timestamp(&g, slot + 25_000),
        slot + 20_000,
        "slots repeat every interval"
    );
    let mgr = Arc::new(env.manager(ManagerOptions::default()));
    mgr.set_groups(vec![g]);
    mgr.start();
    let wait_for = |n: u64| {
        for _ in 0..2000 {
            if mgr.stats()[0].evaluations_total >= n {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("the loop did not evaluate: {:?}", mgr.stats());
    };
    env.clock.set(slot + 10_000);
    wait_for(1);
    assert_eq!(mgr.stats()[0].last_evaluation_ms, slot + 10_000);
    env.clock.set(slot + 70_000);
    wait_for(2);
    mgr.stop();
    let st = &mgr.stats()[0];
    assert_eq!(st.last_evaluation_ms, slot + 70_000);
    assert_eq!(st.iterations_missed_total, 5);
    assert_eq!(
        env.samples(&[("__name__", "job:up"), ("job", "a")]).len(),
        2
    );
}

#[test]
fn reload_keeps_alert_state() {
    let env = Env::new();
    env.write(&[("__name__", "up"), ("job", "a")], 0, 60, |_| 0.0);
    let g = group(LONG_FOR);
    let mgr = Arc::new(env.manager(ManagerOptions::default()));
    mgr.set_groups(vec![g.clone()]);
    mgr.eval_all_at(T0).unwrap();
    mgr.set_groups(vec![g]);
    mgr.eval_all_at(T0 + MIN).unwrap();
    assert_eq!(mgr.active_alerts()[0].active_at_ms, T0);
}

#[test]
fn notify_may_call_back_into_the_manager() {
    use std::sync::{Mutex, OnceLock, Weak};
    let env = Env::new();
    env.write(&[("__name__", "up"), ("job", "a")], 0, 5, |_| 0.0);
    let g = group("groups:\n  - name: g\n    rules:\n      - alert: Down\n        expr: up == 0\n");
    let me: Arc<OnceLock<Weak<RuleManager>>> = Arc::new(OnceLock::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (me2, seen2) = (me.clone(), seen.clone());
    let mgr = Arc::new(RuleManager::new(
        vigia_promql::Engine::new(vigia_promql::EngineOptions::default()),
        env.store.clone(),
        env.store.clone(),
        env.clock.clone(),
        Arc::new(move |alerts: Vec<vigia_model::Alert>| {
            let m = me2.get().and_then(Weak::upgrade).unwrap();
            seen2
                .lock()
                .unwrap()
                .push((alerts.len(), m.active_alerts().len()));
        }),
    ));
    me.set(Arc::downgrade(&mgr)).unwrap();
    mgr.eval_group_at(&g, T0).unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![(1, 1)], "for 0: fires at once");
}

#[test]
fn removed_rules_get_stale_markers_on_reload() {
    let env = Env::new();
    env.write(&[("__name__", "up"), ("job", "a")], 0, 10, |_| 1.0);
    let two = group(
        "groups:\n  - name: g\n    rules:\n      - record: keep\n        expr: up\n      - record: gone\n        expr: up\n",
    );
    let one = group("groups:\n  - name: g\n    rules:\n      - record: keep\n        expr: up\n");
    let mgr = Arc::new(env.manager(ManagerOptions::default()));
    mgr.set_groups(vec![two]);
    mgr.eval_all_at(T0 + MIN).unwrap();
    env.clock.set(T0 + 90_000);
    mgr.set_groups(vec![one]);
    let gone = env.samples(&[("__name__", "gone"), ("job", "a")]);
    assert_eq!(gone.len(), 2);
    assert_eq!(gone[1].t, T0 + 90_000);
    assert!(is_stale_nan(gone[1].v));
    assert_eq!(env.samples(&[("__name__", "keep"), ("job", "a")]).len(), 1);
    mgr.eval_all_at(T0 + 2 * MIN).unwrap();
    assert_eq!(env.samples(&[("__name__", "keep"), ("job", "a")]).len(), 2);
}

#[test]
fn metric_families_list_every_group() {
    let env = Env::new();
    env.write(&[("__name__", "up"), ("job", "a")], 0, 10, |_| 1.0);
    let g = group(
        "groups:\n  - name: g\n    interval: 15s\n    rules:\n      - record: r\n        expr: up\n",
    );
    let mgr = env.manager(ManagerOptions::default());
    mgr.eval_group_at(&g, T0).unwrap();
    mgr.eval_group_at(&g, T0 + 15_000).unwrap();
    let fams = mgr.metric_families();
    let value = |name: &str| {
        let f = fams.iter().find(|f| f.name == name).unwrap();
        assert_eq!(f.samples.len(), 1, "{name}");
        let (labels, v) = &f.samples[0];
        assert_eq!(
            labels,
            &[("rule_group".to_string(), "test.yaml;g".to_string())]
        );
        *v
    };
    assert_eq!(value("vigia_rule_group_evaluations_total"), 2.0);
    assert_eq!(value("vigia_rule_group_interval_seconds"), 15.0);
    assert_eq!(value("vigia_rule_evaluation_failures_total"), 0.0);
    let kinds: Vec<_> = fams.iter().map(|f| (f.name.as_str(), f.kind)).collect();
    assert!(kinds.contains(&(
        "vigia_rule_group_last_duration_seconds",
        vigia_model::MetricKind::Gauge
    )));
}

#[test]
fn query_offset_shifts_query_and_output_time() {
    let env = Env::new();
    env.write(&[("__name__", "up"), ("job", "a")], 0, 10, |m| m as f64);
    let g = group(
        "groups:\n  - name: g\n    query_offset: 2m\n    rules:\n      - record: r\n        expr: up\n",
    );
    let mgr = env.manager(ManagerOptions::default());
    mgr.eval_group_at(&g, T0 + 5 * MIN).unwrap();
    let s = env.samples(&[("__name__", "r"), ("job", "a")]);
    assert_eq!(s.len(), 1);
    assert_eq!((s[0].t, s[0].v), (T0 + 3 * MIN, 3.0));
}
