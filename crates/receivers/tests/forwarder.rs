//! Forwarding to an external Alertmanager: postable alerts on `/api/v2/alerts`, resent while
//! firing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::time::Duration;
use tokio::runtime::Handle;
use vigia_receivers::{AlertmanagerTarget, Forwarder, Status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_and_resends_while_firing() {
    let (sink, url, _srv) = start_sink().await;
    let target: AlertmanagerTarget = yaml(&format!("url: '{url}'\nresend_interval: 50ms"));
    let fw = Forwarder::new(&[target], &Handle::current(), Duration::from_secs(5));
    fw.update(vec![alert("Down", "h1", Status::Firing)]);
    wait_until("a resend", || sink.count() >= 3).await;
    for r in sink.reqs() {
        assert_eq!(r.method, "POST");
        assert_eq!(r.uri, "/api/v2/alerts");
        let v = r.json();
        assert_eq!(v.as_array().unwrap().len(), 1);
        assert_eq!(v[0]["labels"]["alertname"], "Down");
        assert_eq!(v[0]["startsAt"], "2026-11-23T10:00:00Z");
        assert_eq!(
            v[0]["generatorURL"],
            "http://vigia.test:9090/graph?g0.expr=up"
        );
        assert!(
            v[0].get("endsAt").is_none(),
            "firing alerts carry no endsAt"
        );
    }
    fw.update(vec![alert("Down", "h1", Status::Resolved)]);
    wait_until("the resolution", || {
        sink.reqs()
            .last()
            .is_some_and(|r| r.json()[0]["endsAt"] == "2026-11-23T11:00:00Z")
    })
    .await;
    wait_until("counted", || {
        fw.stats()[0]
            .1
            .sent
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 4
    })
    .await;
    assert!(
        fw.metric_families()
            .iter()
            .any(|f| f.name == "vigia_alertmanager_forward_total" && !f.samples.is_empty())
    );
}
