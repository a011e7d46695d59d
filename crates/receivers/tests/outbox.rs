//! The durable outbox: a receiver that is down gets everything once back, in order, exactly
//! once; pending items survive a restart and done items are not redelivered; rate limits hold.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::io::Write;
use std::time::Duration;
use tokio::runtime::Handle;
use vigia_receivers::{GlobalConfig, NotifySettings, Outbox, ReceiverConfig, Status};

fn webhook_receiver(url: &str) -> Vec<ReceiverConfig> {
    yaml(&format!(
        "- name: r\n  webhook_configs: [{{url: '{url}/hook'}}]\n"
    ))
}

fn fast_retry() -> NotifySettings {
    yaml("retry: {initial_backoff: 20ms, max_backoff: 80ms}")
}

fn groups_received(sink: &Sink) -> Vec<String> {
    sink.on_path("/hook")
        .iter()
        .map(|r| {
            r.json()["groupLabels"]["alertname"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_down_then_up_gets_everything_once_in_order() {
    // Reserve a port, then close it: connections are refused until the sink starts there.
    let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_l.local_addr().unwrap();
    drop(std_l);
    let url = format!("http://{addr}");
    let dir = tempfile::tempdir().unwrap();
    let (cb, reports) = collector();
    let ob = Outbox::open(
        dir.path(),
        fast_retry(),
        webhook_receiver(&url),
        GlobalConfig::default(),
        cb,
        Handle::current(),
    )
    .unwrap();
    let names: Vec<String> = (0..5).map(|i| format!("G{i}")).collect();
    for g in &names {
        ob.enqueue(notification("r", g, 1, Status::Firing)).unwrap();
    }
    wait_until("failed attempts", || reports.lock().unwrap().len() >= 3).await;
    assert_eq!(ob.pending(), 5);
    assert!(reports.lock().unwrap().iter().all(|r| !r.ok && !r.done));

    let sink = Sink::default();
    let l = tokio::net::TcpListener::bind(addr).await.unwrap();
    let _srv = serve(l, sink.clone());
    wait_until("all delivered", || ob.pending() == 0).await;
    // Nothing more arrives after the queue is empty.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(groups_received(&sink), names, "each once, in order");
    let oks = reports.lock().unwrap().iter().filter(|r| r.ok).count();
    assert_eq!(oks, 5);
    ob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopen_redelivers_pending_but_not_done_items() {
    let (sink, url, _srv) = start_sink().await;
    let dir = tempfile::tempdir().unwrap();
    {
        let (cb, _) = collector();
        let ob = Outbox::open(
            dir.path(),
            fast_retry(),
            webhook_receiver(&url),
            GlobalConfig::default(),
            cb,
            Handle::current(),
        )
        .unwrap();
        for g in ["A", "B", "C"] {
            ob.enqueue(notification("r", g, 1, Status::Firing)).unwrap();
        }
        wait_until("first three", || ob.pending() == 0).await;
        sink.set_status(503);
        for g in ["D", "E"] {
            ob.enqueue(notification("r", g, 1, Status::Firing)).unwrap();
        }
        wait_until("rejections", || *sink.rejected.lock().unwrap() >= 2).await;
        assert_eq!(ob.pending(), 2);
        ob.shutdown().await;
    }
    // A crash mid-write leaves a torn line at the end of the log: it must be ignored.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("outbox.log"))
        .unwrap();
    f.write_all(b"{\"t\":\"e\",\"item\":{\"id\":99").unwrap();
    drop(f);

    sink.set_status(200);
    let (cb, reports) = collector();
    let ob = Outbox::open(
        dir.path(),
        fast_retry(),
        webhook_receiver(&url),
        GlobalConfig::default(),
        cb,
        Handle::current(),
    )
    .unwrap();
    wait_until("redelivery", || ob.pending() == 0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(groups_received(&sink), ["A", "B", "C", "D", "E"]);
    let reps = reports.lock().unwrap().clone();
    assert_eq!(reps.len(), 2);
    assert!(reps.iter().all(|r| r.ok));
    // New notifications get fresh ids after a reopen.
    let nid = ob
        .enqueue(notification("r", "F", 1, Status::Firing))
        .unwrap();
    assert!(nid > reps.iter().map(|r| r.notification_id).max().unwrap());
    wait_until("F", || sink.on_path("/hook").len() == 6).await;
    ob.shutdown().await;

    // The directory is locked while an outbox has it open.
    {
        let (cb, _) = collector();
        let ob2 = Outbox::open(
            dir.path(),
            fast_retry(),
            webhook_receiver(&url),
            GlobalConfig::default(),
            cb.clone(),
            Handle::current(),
        )
        .unwrap();
        let err = Outbox::open(
            dir.path(),
            fast_retry(),
            webhook_receiver(&url),
            GlobalConfig::default(),
            cb,
            Handle::current(),
        )
        .unwrap_err();
        assert!(
            matches!(err, vigia_receivers::OutboxError::Locked(_)),
            "{err}"
        );
        drop(ob2);
    }
    // A third open finds nothing to do.
    let (cb, reports) = collector();
    let ob = Outbox::open(
        dir.path(),
        fast_retry(),
        webhook_receiver(&url),
        GlobalConfig::default(),
        cb,
        Handle::current(),
    )
    .unwrap();
    assert_eq!(ob.pending(), 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(reports.lock().unwrap().is_empty());
    assert_eq!(sink.on_path("/hook").len(), 6);
    ob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_caps_deliveries() {
    let (sink, url, _srv) = start_sink().await;
    let dir = tempfile::tempdir().unwrap();
    let settings: NotifySettings =
        yaml("rate_limits: [{receiver: r, per_minute: 2}]\nretry: {initial_backoff: 20ms}");
    let (cb, _) = collector();
    let ob = Outbox::open(
        dir.path(),
        settings,
        webhook_receiver(&url),
        GlobalConfig::default(),
        cb,
        Handle::current(),
    )
    .unwrap();
    for i in 0..5 {
        ob.enqueue(notification("r", &format!("G{i}"), 1, Status::Firing))
            .unwrap();
    }
    wait_until("the burst", || sink.count() == 2).await;
    // At 2 per minute the next token is 30 s away.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.count(), 2);
    assert_eq!(ob.pending(), 3);
    let m = ob.metric_families();
    assert_eq!(
        vigia_model::metrics::find(
            &m,
            "vigia_notification_queue_length",
            &[("receiver", "r"), ("integration", "webhook")]
        ),
        Some(3.0),
        "{m:?}"
    );
    // Lifting the limit by reload releases the rest.
    ob.reload(
        webhook_receiver(&url),
        GlobalConfig::default(),
        fast_retry(),
    )
    .unwrap();
    wait_until("the rest", || sink.count() == 5).await;
    ob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_attempts_gives_up() {
    let (sink, url, _srv) = start_sink().await;
    sink.set_status(500);
    let dir = tempfile::tempdir().unwrap();
    let settings: NotifySettings =
        yaml("retry: {initial_backoff: 10ms, max_backoff: 20ms, max_attempts: 3}");
    let (cb, reports) = collector();
    let ob = Outbox::open(
        dir.path(),
        settings,
        webhook_receiver(&url),
        GlobalConfig::default(),
        cb,
        Handle::current(),
    )
    .unwrap();
    ob.enqueue(notification("r", "X", 1, Status::Firing))
        .unwrap();
    wait_until("give up", || reports.lock().unwrap().iter().any(|r| r.done)).await;
    let reps = reports.lock().unwrap().clone();
    assert_eq!(reps.len(), 3);
    assert_eq!(reps[2].attempt, 3);
    assert!(
        reps[2]
            .error
            .as_ref()
            .unwrap()
            .contains("gave up after 3 attempts")
    );
    assert_eq!(*sink.rejected.lock().unwrap(), 3);
    assert_eq!(ob.pending(), 0);
    ob.shutdown().await;
}
