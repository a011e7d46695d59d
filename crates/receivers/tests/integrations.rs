//! Every HTTP integration against a loopback sink: request paths, bodies, headers and auth as
//! each provider expects them, send_resolved defaults, escalation markers and dedup keys.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::collections::BTreeSet;
use tokio::runtime::Handle;
use vigia_receivers::{Escalation, GlobalConfig, NotifySettings, Outbox, ReceiverConfig, Status};

fn config(url: &str) -> (Vec<ReceiverConfig>, GlobalConfig, NotifySettings) {
    let receivers: Vec<ReceiverConfig> = yaml(&format!(
        r#"
- name: team
  webhook_configs:
    - url: {url}/hook
      max_alerts: 1
      http_config:
        basic_auth: {{username: hookuser, password: hookpw}}
  slack_configs:
    - api_url: {url}/slack
      channel: '#alerts'
      fields: [{{title: Team, value: ops, short: true}}]
  pagerduty_configs:
    - routing_key: rk-123
      url: {url}/pd/v2/enqueue
  opsgenie_configs:
    - api_key: og-key
      api_url: {url}/og
      responders: [{{name: ops, type: team}}]
      tags: campaign,webinar
"#
    ));
    let global: GlobalConfig = yaml("resolve_timeout: 5m");
    let settings: NotifySettings = yaml(&format!(
        r#"
sms:
  - receiver: team
    preset: twilio
    url: {url}/twilio
    account_sid: AC1
    auth_token: tok
    from: '+1000'
    to: ['+2000', '+3000']
  - receiver: team
    preset: generic
    url: {url}/sms-generic
    auth_token: gen-token
    to: ['+4000']
retry: {{initial_backoff: 20ms, max_backoff: 100ms}}
"#
    ));
    (receivers, global, settings)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_http_integration_sends_what_its_provider_expects() {
    let (sink, url, _srv) = start_sink().await;
    let (receivers, global, settings) = config(&url);
    let dir = tempfile::tempdir().unwrap();
    let (cb, reports) = collector();
    let ob = Outbox::open(
        dir.path(),
        settings,
        receivers,
        global,
        cb,
        Handle::current(),
    )
    .unwrap();

    // 1. firing, two alerts
    let n = notification("team", "HighErrors", 2, Status::Firing);
    ob.enqueue(n.clone()).unwrap();
    // webhook + slack + pagerduty + opsgenie + 2 twilio + 1 generic
    wait_until("firing requests", || sink.count() == 7).await;

    let hook = &sink.on_path("/hook")[0];
    assert_eq!(hook.method, "POST");
    assert_eq!(hook.header("content-type"), "application/json");
    assert_eq!(hook.header("authorization"), "Basic aG9va3VzZXI6aG9va3B3");
    let v = hook.json();
    assert_eq!(v["version"], "4");
    assert_eq!(v["receiver"], "team");
    assert_eq!(v["status"], "firing");
    assert_eq!(v["alerts"].as_array().unwrap().len(), 1, "max_alerts: 1");
    assert_eq!(v["truncatedAlerts"], 1);
    assert_eq!(v["groupKey"], n.group_key);
    assert_eq!(v["externalURL"], "http://vigia.test:9090");
    assert_eq!(v["groupLabels"]["alertname"], "HighErrors");
    assert_eq!(v["commonLabels"]["severity"], "high");
    let a0 = &v["alerts"][0];
    for k in [
        "status",
        "labels",
        "annotations",
        "startsAt",
        "endsAt",
        "generatorURL",
        "fingerprint",
    ] {
        assert!(a0.get(k).is_some(), "alert field {k}");
    }

    let slack = sink.on_path("/slack")[0].json();
    assert_eq!(slack["channel"], "#alerts");
    assert_eq!(slack["username"], "vigia");
    let att = &slack["attachments"][0];
    assert_eq!(att["title"], "[FIRING:2] HighErrors (high)");
    assert_eq!(att["color"], "danger");
    assert_eq!(att["title_link"], "http://vigia.test:9090");
    assert!(
        att["text"]
            .as_str()
            .unwrap()
            .contains("HighErrors on host1")
    );
    assert_eq!(att["fields"][0]["title"], "Team");
    assert_eq!(att["fields"][0]["short"], true);

    let pd = sink.on_path("/pd/v2/enqueue")[0].json();
    assert_eq!(pd["routing_key"], "rk-123");
    assert_eq!(pd["event_action"], "trigger");
    let dedup = pd["dedup_key"].as_str().unwrap().to_string();
    assert_eq!(dedup.len(), 16);
    assert_eq!(pd["payload"]["severity"], "error", "high maps to error");
    assert_eq!(pd["payload"]["source"], "vigia");
    assert!(
        pd["payload"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("[FIRING:2] HighErrors")
    );
    assert_eq!(pd["payload"]["custom_details"]["num_firing"], "2");
    assert_eq!(pd["client_url"], "http://vigia.test:9090");
    assert_eq!(pd["links"][0]["href"], "http://vigia.test:9090");

    let og_req = &sink.on_path("/og/v2/alerts")[0];
    assert_eq!(og_req.uri, "/og/v2/alerts");
    assert_eq!(og_req.header("authorization"), "GenieKey og-key");
    let og = og_req.json();
    assert_eq!(og["alias"], dedup.as_str(), "same group, same stable key");
    assert!(
        og["message"]
            .as_str()
            .unwrap()
            .starts_with("[FIRING:2] HighErrors")
    );
    assert!(og["message"].as_str().unwrap().chars().count() <= 130);
    assert_eq!(og["responders"][0]["type"], "team");
    assert_eq!(og["responders"][0]["name"], "ops");
    assert_eq!(og["tags"], serde_json::json!(["campaign", "webinar"]));
    assert_eq!(og["priority"], "P2");
    assert_eq!(og["details"]["alertname"], "HighErrors");

    let tw = sink.on_path("/twilio/2010-04-01/Accounts/AC1/Messages.json");
    assert_eq!(tw.len(), 2, "one message per recipient");
    let tos: BTreeSet<String> = tw
        .iter()
        .map(|r| {
            assert_eq!(r.header("authorization"), "Basic QUMxOnRvaw==");
            assert_eq!(
                r.header("content-type"),
                "application/x-www-form-urlencoded"
            );
            assert!(r.body.contains("From=%2B1000"), "{}", r.body);
            assert!(
                r.body.contains("Body=%5BFIRING%3A2%5D+HighErrors"),
                "{}",
                r.body
            );
            r.body
                .split('&')
                .find(|p| p.starts_with("To="))
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        tos,
        BTreeSet::from(["To=%2B2000".to_string(), "To=%2B3000".to_string()])
    );
    let gen_req = &sink.on_path("/sms-generic")[0];
    assert_eq!(gen_req.header("authorization"), "Bearer gen-token");
    let g = gen_req.json();
    assert_eq!(g["to"], serde_json::json!(["+4000"]));
    assert!(
        g["message"]
            .as_str()
            .unwrap()
            .starts_with("[FIRING:2] HighErrors")
    );

    // 2. resolved: slack is silent (send_resolved defaults to false), others resolve/close
    let r = notification("team", "HighErrors", 2, Status::Resolved);
    ob.enqueue(r).unwrap();
    wait_until("resolved requests", || sink.count() == 13).await;
    assert_eq!(sink.on_path("/slack").len(), 1);
    let hook = sink.on_path("/hook")[1].json();
    assert_eq!(hook["status"], "resolved");
    let pd = sink.on_path("/pd/v2/enqueue")[1].json();
    assert_eq!(pd["event_action"], "resolve");
    assert_eq!(pd["dedup_key"], dedup.as_str());
    let close = sink.on_path(&format!("/og/v2/alerts/{dedup}/close"));
    assert_eq!(close.len(), 1);
    assert!(close[0].uri.ends_with("?identifierType=alias"));
    assert_eq!(close[0].header("authorization"), "GenieKey og-key");

    // 3. escalation: marked, and a new dedup key so the provider does not merge it
    let mut e = notification("team", "HighErrors", 1, Status::Firing);
    e.escalation = Some(Escalation {
        level: 1,
        severity: "critical".into(),
        policy: "campaign".into(),
    });
    ob.enqueue(e).unwrap();
    wait_until("escalation requests", || sink.count() == 20).await;
    let slack = sink.on_path("/slack")[1].json();
    assert!(
        slack["attachments"][0]["title"]
            .as_str()
            .unwrap()
            .starts_with("ESCALATED (level 1) [FIRING:1]")
    );
    let pd = sink.on_path("/pd/v2/enqueue")[2].json();
    assert_ne!(pd["dedup_key"], dedup.as_str());
    assert_eq!(pd["payload"]["severity"], "critical");
    assert_eq!(pd["payload"]["custom_details"]["escalation_level"], "1");
    let og = sink.on_path("/og/v2/alerts")[2].json();
    assert_ne!(og["alias"], dedup.as_str());
    assert_eq!(og["priority"], "P1");
    assert!(
        og["message"]
            .as_str()
            .unwrap()
            .starts_with("ESCALATED (level 1)")
    );
    let hook = sink.on_path("/hook")[2].json();
    assert_eq!(hook["escalation"]["level"], 1);

    // the sink records a request just before the worker marks its item done
    wait_until("all items done", || {
        ob.pending() == 0 && reports.lock().unwrap().len() == 17
    })
    .await;
    let reps = reports.lock().unwrap().clone();
    // one report per item (Twilio sends one request per recipient within one item)
    assert_eq!(reps.len(), 17);
    assert!(reps.iter().all(|r| r.ok && r.done && r.attempt == 1));
    let m = ob.metric_families();
    assert!(
        vigia_model::metrics::find(
            &m,
            "vigia_notifications_total",
            &[("receiver", "team"), ("integration", "sms")]
        ) == Some(6.0),
        "{m:?}"
    );
    assert!(
        vigia_model::metrics::find(
            &m,
            "vigia_notifications_total",
            &[("receiver", "team"), ("integration", "slack")]
        ) == Some(2.0),
        "{m:?}"
    );
    // every notification reached the dashboard feed
    assert_eq!(ob.feed().len(), 3);
    ob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_are_not_retried_and_unknown_receivers_refused() {
    let (sink, url, _srv) = start_sink().await;
    sink.set_status(400);
    let receivers: Vec<ReceiverConfig> = yaml(&format!(
        "- name: r\n  webhook_configs: [{{url: '{url}/hook'}}]\n"
    ));
    let settings: NotifySettings = yaml(
        "retry: {initial_backoff: 10ms, max_backoff: 20ms}\nexternal_url: http://vigia.example:9090",
    );
    let dir = tempfile::tempdir().unwrap();
    let (cb, reports) = collector();
    let ob = Outbox::open(
        dir.path(),
        settings,
        receivers,
        GlobalConfig::default(),
        cb,
        Handle::current(),
    )
    .unwrap();
    assert!(matches!(
        ob.enqueue(notification("nobody", "X", 1, Status::Firing)),
        Err(vigia_receivers::OutboxError::UnknownReceiver(_))
    ));
    let mut n = notification("r", "X", 1, Status::Firing);
    n.external_url.clear();
    ob.enqueue(n).unwrap();
    assert_eq!(
        ob.feed().recent(1)[0].notification.external_url,
        "http://vigia.example:9090"
    );
    wait_until("a final report", || !reports.lock().unwrap().is_empty()).await;
    let r = reports.lock().unwrap()[0].clone();
    assert!(!r.ok && r.done && r.attempt == 1);
    assert!(r.error.unwrap().contains("400"));
    assert_eq!(*sink.rejected.lock().unwrap(), 1);
    assert_eq!(ob.pending(), 0);
    assert_eq!(
        vigia_model::metrics::find(
            &ob.metric_families(),
            "vigia_notifications_dropped_total",
            &[("receiver", "r"), ("integration", "webhook")]
        ),
        Some(1.0)
    );
    ob.shutdown().await;
}

#[test]
fn invalid_configuration_is_refused_with_every_problem() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let receivers: Vec<ReceiverConfig> =
        yaml("- name: r\n  slack_configs: [{channel: x}]\n  email_configs: [{to: a@b}]\n");
    let dir = tempfile::tempdir().unwrap();
    let (cb, _) = collector();
    let err = Outbox::open(
        dir.path(),
        NotifySettings::default(),
        receivers,
        GlobalConfig::default(),
        cb,
        rt.handle().clone(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no global Slack API URL"), "{err}");
    assert!(err.contains("no global SMTP smarthost set"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_templates_from_templates_files() {
    let (sink, url, _srv) = start_sink().await;
    let dir = tempfile::tempdir().unwrap();
    let tmpl = dir.path().join("campaign.tmpl");
    std::fs::write(
        &tmpl,
        r#"{{ define "campaign.title" }}{{ .CommonLabels.alertname }} ×{{ len .Alerts.Firing }}{{ end }}
{{ define "campaign.text" }}{{ range .Alerts }}• {{ .Labels.instance }}: {{ .Annotations.summary }}
{{ end }}{{ end }}"#,
    )
    .unwrap();
    let receivers: Vec<ReceiverConfig> = yaml(&format!(
        r#"
- name: team
  slack_configs:
    - api_url: {url}/slack
      title: '{{{{ template "campaign.title" . }}}}'
      text: '{{{{ template "campaign.text" . }}}}'
      color: '{{{{ if eq .Status "firing" }}}}#ff0000{{{{ else }}}}#00ff00{{{{ end }}}}'
  pagerduty_configs:
    - routing_key: k
      url: {url}/pd
      description: '{{{{ .GroupLabels.alertname }}}} for {{{{ .Receiver }}}}'
      details: {{hosts: '{{{{ range .Alerts }}}}{{{{ .Labels.instance }}}} {{{{ end }}}}'}}
"#
    ));
    let templates =
        vigia_receivers::Templates::load_globs(&["*.tmpl".to_string()], dir.path()).unwrap();
    assert_eq!(templates.names(), ["campaign.text", "campaign.title"]);
    let settings = NotifySettings::default();
    assert!(vigia_receivers::template_problems(&receivers, &settings).is_empty());
    let (cb, _) = collector();
    let ob = Outbox::open(
        dir.path().join("outbox"),
        settings,
        receivers,
        GlobalConfig::default(),
        cb,
        Handle::current(),
    )
    .unwrap();
    ob.set_templates(templates);
    let mut n = notification("team", "LowRegistrations", 2, Status::Firing);
    ob.enqueue(n.clone()).unwrap();
    n.escalation = Some(Escalation {
        level: 2,
        severity: "critical".into(),
        policy: "campaign".into(),
    });
    ob.enqueue(n).unwrap();
    wait_until("4 requests", || sink.count() == 4).await;
    let slack = sink.on_path("/slack");
    let a = &slack[0].json()["attachments"][0];
    assert_eq!(a["title"], "LowRegistrations ×2");
    assert_eq!(
        a["text"],
        "• host0: LowRegistrations on host0\n• host1: LowRegistrations on host1\n"
    );
    assert_eq!(a["color"], "#ff0000");
    // The escalation marker is added to custom titles too.
    assert_eq!(
        slack[1].json()["attachments"][0]["title"],
        "ESCALATED (level 2) LowRegistrations ×2"
    );
    let pd = sink.on_path("/pd")[0].json();
    assert_eq!(pd["payload"]["summary"], "LowRegistrations for team");
    assert_eq!(pd["payload"]["custom_details"]["hosts"], "host0 host1 ");
    ob.shutdown().await;
}
