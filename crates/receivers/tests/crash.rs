//! A real crash: a child process enqueues notifications and is killed with SIGKILL while
//! delivering; reopening the outbox delivers everything, and what was delivered before the
//! crash is not delivered again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use tokio::runtime::Handle;
use vigia_receivers::{GlobalConfig, NotifySettings, Outbox, ReceiverConfig, Status};

const CHILD_ENV: &str = "VIGIA_OUTBOX_CRASH_CHILD";
const N: usize = 20;

fn open(dir: &str, url: &str) -> Outbox {
    let receivers: Vec<ReceiverConfig> = yaml(&format!(
        "- name: r\n  webhook_configs: [{{url: '{url}/hook'}}]\n"
    ));
    let settings: NotifySettings = yaml("retry: {initial_backoff: 20ms, max_backoff: 50ms}");
    let (cb, _) = collector();
    Outbox::open(
        dir,
        settings,
        receivers,
        GlobalConfig::default(),
        cb,
        Handle::current(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_delivery_loses_nothing() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        // Child: enqueue N notifications, report, then keep delivering until killed.
        let (dir, url) = spec.split_once('|').unwrap();
        let ob = open(dir, url);
        for i in 0..N {
            ob.enqueue(notification("r", &format!("G{i:02}"), 1, Status::Firing))
                .unwrap();
        }
        println!("ENQUEUED");
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
    let (sink, url, _srv) = start_sink().await;
    sink.set_limit(5); // the receiver accepts 5 notifications, then fails
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigkill_during_delivery_loses_nothing",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{}|{url}", dir.path().display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains("ENQUEUED"))
    })
    .await
    .unwrap();
    assert!(ready, "child did not enqueue");
    // Wait until the child is retrying the 6th notification, then crash it.
    wait_until("child retrying", || *sink.rejected.lock().unwrap() >= 2).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(sink.count(), 5);

    sink.set_limit(0);
    let ob = open(dir.path().to_str().unwrap(), &url);
    assert_eq!(ob.pending(), N - 5, "the 5 delivered are done on disk");
    wait_until("redelivery", || ob.pending() == 0).await;
    let got: Vec<String> = sink
        .on_path("/hook")
        .iter()
        .map(|r| {
            r.json()["groupLabels"]["alertname"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let want: Vec<String> = (0..N).map(|i| format!("G{i:02}")).collect();
    assert_eq!(got, want, "everything once, in order");
    ob.shutdown().await;
}
