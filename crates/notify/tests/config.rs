//! Configuration parsing, validation and route matching, cross-checked with `amtool` when it
//! is installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use vigia_notify::AmConfig;

const TREE: &str = r#"
global:
  resolve_timeout: 2m
  smtp_smarthost: 'localhost:25'
  smtp_from: 'vigia@example.org'
route:
  receiver: default
  group_by: [alertname]
  group_wait: 10s
  routes:
    - matchers: ['severity=~"high|critical"']
      receiver: pager
      continue: true
      group_by: ['...']
    - match:
        team: web
      receiver: web
      group_interval: 1m
      routes:
        - matchers: ['env="prod"', 'service!~"canary.*"']
          receiver: web-prod
          repeat_interval: 1h
        - match_re:
            env: staging|dev
          receiver: web-nonprod
    - matchers: ['{team="db", env=prod}']
      receiver: db
      mute_time_intervals: [weekends]
      active_time_intervals: [office]
receivers:
  - name: default
    webhook_configs: [{url: 'http://127.0.0.1:5001/hook', send_resolved: true}]
  - name: pager
    email_configs: [{to: 'oncall@example.org'}]
  - name: web
    slack_configs: [{api_url: 'https://hooks.slack.com/services/X', channel: '#web'}]
  - name: web-prod
  - name: web-nonprod
  - name: db
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname]
  - source_match: {severity: high}
    target_match_re: {severity: 'low|info'}
templates: ['/etc/am/*.tmpl']
time_intervals:
  - name: office
    time_intervals:
      - times: [{start_time: '09:00', end_time: '17:00'}]
        weekdays: ['monday:friday']
        location: Local
mute_time_intervals:
  - name: weekends
    time_intervals:
      - weekdays: [saturday, sunday]
        days_of_month: ['1:5', '-3:-1']
        months: ['january:march', '12']
        years: ['2024:2030']
"#;

fn l(p: &[(&str, &str)]) -> BTreeMap<String, String> {
    p.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn receivers(cfg: &AmConfig, labels: &BTreeMap<String, String>) -> Vec<String> {
    cfg.routes_for(labels)
        .into_iter()
        .map(|r| r.receiver)
        .collect()
}

/// (labels, expected receivers in amtool's order)
fn cases() -> Vec<(BTreeMap<String, String>, Vec<&'static str>)> {
    vec![
        (l(&[("alertname", "X")]), vec!["default"]),
        (l(&[("severity", "critical")]), vec!["pager"]),
        (
            l(&[("severity", "critical"), ("team", "web"), ("env", "prod")]),
            vec!["pager", "web-prod"],
        ),
        (
            l(&[("team", "web"), ("env", "prod"), ("service", "canary-1")]),
            vec!["web"],
        ),
        (l(&[("team", "web"), ("env", "dev")]), vec!["web-nonprod"]),
        (l(&[("team", "web"), ("env", "devx")]), vec!["web"]),
        (l(&[("team", "db"), ("env", "prod")]), vec!["db"]),
        (l(&[("severity", "highest")]), vec!["default"]),
    ]
}

#[test]
fn parses_full_tree_with_defaults_and_inheritance() {
    let cfg = AmConfig::parse(TREE).unwrap();
    assert_eq!(cfg.resolve_timeout_ms(), 120_000);
    assert_eq!(cfg.templates, vec!["/etc/am/*.tmpl"]);
    assert_eq!(cfg.time_intervals.len(), 2);
    assert_eq!(cfg.inhibit_rules.len(), 2);
    let r = cfg.routes_for(&l(&[("team", "web"), ("env", "prod"), ("alertname", "A")]));
    assert_eq!(r.len(), 1);
    let r = &r[0];
    assert_eq!(r.receiver, "web-prod");
    assert_eq!(r.group_by, vec!["alertname"]); // inherited from the root
    assert_eq!(r.group_wait_ms, 10_000); // inherited
    assert_eq!(r.group_interval_ms, 60_000); // inherited from the parent
    assert_eq!(r.repeat_interval_ms, 3_600_000);
    assert_eq!(
        r.route_key,
        r#"{}/{team="web"}/{env="prod",service!~"canary.*"}"#
    );
    let p = &cfg.routes_for(&l(&[("severity", "critical")]))[0];
    assert!(p.group_by_all);
    assert_eq!(p.repeat_interval_ms, 4 * 3_600_000);
    let db = &cfg.routes_for(&l(&[("team", "db"), ("env", "prod")]))[0];
    assert_eq!(db.mute_time_intervals, vec!["weekends"]);
    assert_eq!(db.active_time_intervals, vec!["office"]);
    let root = &cfg.routes_for(&l(&[]))[0];
    assert_eq!(root.group_interval_ms, 300_000);
    assert!(root.mute_time_intervals.is_empty());
}

#[test]
fn route_table() {
    let cfg = AmConfig::parse(TREE).unwrap();
    for (labels, want) in cases() {
        assert_eq!(receivers(&cfg, &labels), want, "labels {labels:?}");
    }
}

fn bad_configs() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "route: {receiver: a}\nreceivers: [{name: a}]\nbogus: 1\n",
            "unknown field",
        ),
        (
            "route: {receiver: a, grup_by: [x]}\nreceivers: [{name: a}]\n",
            "unknown field",
        ),
        (
            "route: {receiver: b}\nreceivers: [{name: a}]\n",
            "undefined receiver \"b\"",
        ),
        (
            "route: {receiver: a, routes: [{receiver: c}]}\nreceivers: [{name: a}]\n",
            "undefined receiver \"c\"",
        ),
        (
            "route: {receiver: a, routes: [{matchers: ['a~b']}]}\nreceivers: [{name: a}]\n",
            "bad matcher format",
        ),
        (
            "route: {receiver: a, routes: [{match_re: {a: '('}}]}\nreceivers: [{name: a}]\n",
            "regular expression",
        ),
        (
            "route: {receiver: a, routes: [{mute_time_intervals: [nope]}]}\nreceivers: [{name: a}]\n",
            "undefined time interval \"nope\"",
        ),
        (
            "route: {receiver: a, matchers: ['x=y']}\nreceivers: [{name: a}]\n",
            "root route must not have any matchers",
        ),
        ("receivers: [{name: a}]\n", "no routes provided"),
        (
            "route: {group_by: [x]}\nreceivers: [{name: a}]\n",
            "default receiver",
        ),
        (
            "route: {receiver: a}\nreceivers: [{name: a}, {name: a}]\n",
            "not unique",
        ),
        (
            "route: {receiver: a, group_by: ['...', x]}\nreceivers: [{name: a}]\n",
            "wildcard",
        ),
        (
            "route: {receiver: a, group_by: [x, x]}\nreceivers: [{name: a}]\n",
            "duplicated label",
        ),
        (
            "route: {receiver: a, group_wait: 5 minutes}\nreceivers: [{name: a}]\n",
            "duration",
        ),
        (
            "route: {receiver: a}\nreceivers: [{name: a}]\ntime_intervals: [{name: t, time_intervals: [{weekdays: [funday]}]}]\n",
            "not a valid weekday",
        ),
        (
            "route: {receiver: a}\nreceivers: [{name: a}]\ninhibit_rules: [{source_matchers: ['a=\"b'], equal: [x]}]\n",
            "unescaped double quote",
        ),
        (
            "route: {receiver: a, continue: true}\nreceivers: [{name: a}]\n",
            "continue in root",
        ),
        (
            "route: {receiver: a, routes: [{group_interval: 0s}]}\nreceivers: [{name: a}]\n",
            "group_interval cannot be zero",
        ),
        (
            "route: {receiver: a, routes: [{group_by: ['a-b']}]}\nreceivers: [{name: a}]\n",
            "invalid label name",
        ),
        (
            "route: {receiver: a, mute_time_intervals: [t]}\nreceivers: [{name: a}]\ntime_intervals: [{name: t}]\n",
            "mute time intervals",
        ),
        (
            "route: {receiver: a}\nreceivers: [{name: a, webhook_configs: [{urll: 'http://x'}]}]\n",
            "unknown field",
        ),
        (
            "route: {receiver: a}\nreceivers: [{name: a, email_configs: [{to: 'x@example.org'}]}]\n",
            "smarthost",
        ),
    ]
}

/// Edge cases Alertmanager accepts.
const GOOD: &[&str] = &[
    "route: {receiver: a, routes: [{receiver: a, group_wait: 0s, continue: true}, {matchers: ['{}']}]}\nreceivers: [{name: a}]\n",
    "route: {receiver: a}\nreceivers: [{name: a}]\ntime_intervals: [{name: t, time_intervals: [{times: [{start_time: '00:00', end_time: '24:00'}], days_of_month: ['1:-1', '-5'], weekdays: ['Monday'], months: ['1', 'december'], location: Local}]}]\n",
    "route: {receiver: a, routes: [{matchers: ['a=\"x,y\"', 'b!~c.*'], active_time_intervals: [t]}]}\nreceivers: [{name: a}]\nmute_time_intervals: [{name: t, time_intervals: [{years: ['2020:2030']}]}]\n",
];

#[test]
fn good_edge_cases_parse() {
    for text in GOOD {
        if let Err(e) = AmConfig::parse(text) {
            panic!("{text:?}: {e}");
        }
    }
}

#[test]
fn bad_configs_are_rejected_clearly() {
    for (text, want) in bad_configs() {
        let err = AmConfig::parse(text).map(|_| ()).unwrap_err();
        assert!(
            err.0.contains(want),
            "config {text:?}: error {err:?} lacks {want:?}"
        );
    }
    // Line numbers come with YAML-level errors.
    let err = AmConfig::parse("route:\n  receiver: a\n  bogus: 1\nreceivers: [{name: a}]\n")
        .map(|_| ())
        .unwrap_err();
    assert!(err.0.contains("line 3"), "{err}");
}

fn amtool() -> Option<&'static Path> {
    let p = Path::new("/usr/bin/amtool");
    if p.exists() {
        Some(p)
    } else if std::env::var("VIGIA_REQUIRE_REAL").as_deref() == Ok("1") {
        panic!("VIGIA_REQUIRE_REAL=1 but /usr/bin/amtool is missing");
    } else {
        println!("SKIP: /usr/bin/amtool not installed (apt-get install prometheus-alertmanager)");
        None
    }
}

/// amtool wants receivers with at least an integration-free name only, which is what the tests
/// use, so the same text serves both.
fn amtool_check(amtool: &Path, dir: &Path, text: &str) -> bool {
    let f = dir.join("am.yml");
    std::fs::write(&f, text).unwrap();
    Command::new(amtool)
        .arg("check-config")
        .arg(&f)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn agrees_with_amtool() {
    let Some(amtool) = amtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    assert!(
        amtool_check(amtool, dir.path(), TREE),
        "amtool rejects TREE"
    );
    for text in GOOD {
        assert!(
            amtool_check(amtool, dir.path(), text),
            "amtool rejects {text:?}"
        );
    }
    for (text, _) in bad_configs() {
        if text.contains("Europe/") {
            continue;
        }
        assert!(
            !amtool_check(amtool, dir.path(), text),
            "amtool accepts {text:?}"
        );
    }
    let f = dir.path().join("am.yml");
    std::fs::write(&f, TREE).unwrap();
    let cfg = AmConfig::parse(TREE).unwrap();
    for (labels, want) in cases() {
        let args: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let out = Command::new(amtool)
            .args(["config", "routes", "test", "--config.file"])
            .arg(&f)
            .args(&args)
            .output()
            .unwrap();
        let got = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(got, want.join(","), "amtool on {labels:?}");
        assert_eq!(receivers(&cfg, &labels), want);
    }
}

/// The example at the top of docs/alerting.md parses, validates, and its `alerting:` part
/// passes `amtool check-config`.
#[test]
fn documented_example_is_valid() {
    #[derive(serde::Deserialize)]
    struct Top {
        alerting: AmConfig,
        escalations: Vec<vigia_notify::EscalationPolicy>,
    }
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/alerting.md"),
    )
    .unwrap();
    let start = doc.find("```yaml\n").unwrap() + 8;
    let text = &doc[start..start + doc[start..].find("```").unwrap()];
    let top: Top = serde_saphyr::from_str(text).unwrap();
    assert!(
        top.alerting.validate().is_empty(),
        "{:?}",
        top.alerting.validate()
    );
    assert!(vigia_notify::validate_escalations(&top.alerting, &top.escalations).is_empty());
    let web = l(&[("team", "web"), ("env", "prod"), ("severity", "critical")]);
    assert_eq!(receivers(&top.alerting, &web), ["oncall-sms", "web-slack"]);
    let Some(amtool) = amtool() else { return };
    let alerting: String = text
        .lines()
        .skip_while(|l| !l.starts_with("alerting:"))
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("  "))
        .map(|l| format!("{}\n", l.strip_prefix("  ").unwrap_or(l)))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    assert!(
        amtool_check(amtool, dir.path(), &alerting),
        "amtool rejects:\n{alerting}"
    );
}

/// Time interval edge cases: (interval body, accepted by Alertmanager 0.25).
const INTERVALS: &[(&str, bool)] = &[
    ("days_of_month: ['-3:5']", false),
    ("days_of_month: ['5:-3']", true),
    ("days_of_month: ['-1:-3']", false),
    ("days_of_month: ['32']", false),
    ("days_of_month: ['0']", false),
    ("months: ['0']", true),
    ("months: ['13']", true),
    ("months: ['-1:100']", true),
    ("months: ['foo']", false),
    ("months: ['march:january']", false),
    ("years: ['0:5']", true),
    ("years: ['-1']", true),
    ("years: ['abc']", false),
    ("years: ['2030:2020']", false),
    ("weekdays: ['sunday:saturday']", true),
    ("weekdays: ['saturday:sunday']", false),
    ("times: [{start_time: '9:00', end_time: '10:00'}]", false),
    ("times: [{start_time: '09:00', end_time: '24:01'}]", false),
    ("times: [{start_time: '09:00', end_time: '24:00'}]", true),
    ("times: [{start_time: '10:00', end_time: '10:00'}]", false),
    ("location: UTC", true),
    ("location: Local", true),
];

fn interval_config(body: &str) -> String {
    format!(
        "route: {{receiver: a}}\nreceivers: [{{name: a}}]\ntime_intervals: [{{name: t, time_intervals: [{{{body}}}]}}]\n"
    )
}

#[test]
fn time_interval_edge_cases() {
    for (body, ok) in INTERVALS {
        let r = AmConfig::parse(&interval_config(body));
        assert_eq!(r.is_ok(), *ok, "{body}: {:?}", r.err());
    }
    let Some(amtool) = amtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (body, ok) in INTERVALS {
        assert_eq!(
            amtool_check(amtool, dir.path(), &interval_config(body)),
            *ok,
            "amtool on {body}"
        );
    }
}

/// Raw `matchers:` strings; our accept/reject must equal amtool's.
const MATCHERS: &[(&str, bool)] = &[
    ("a=", true),
    ("a = b", true),
    ("{a=\"b\"}", true),
    ("a=\"b\",", true),
    (",a=b", false),
    ("a=b,,c=d", false),
    ("a=\"x\\\"y\"", true),
    ("a=~\"[\"", false),
    ("1a=b", false),
    ("a==b", true),
    ("a=b c", true),
    ("a=\"b", false),
    ("a=\"b\"c", false),
    ("a:b=c", true),
    ("a!=", true),
    ("{}", true),
    ("a=~\"web|db\", b!~\"x.*\"", true),
    ("a~b", false),
];

#[test]
fn matcher_syntax_agrees_with_amtool() {
    let cfg = |m: &str| {
        format!(
            "route: {{receiver: a, routes: [{{matchers: ['{}']}}]}}\nreceivers: [{{name: a}}]\n",
            m.replace('\'', "''")
        )
    };
    for (m, ok) in MATCHERS {
        let r = AmConfig::parse(&cfg(m));
        assert_eq!(r.is_ok(), *ok, "{m}: {:?}", r.err());
    }
    let Some(amtool) = amtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (m, ok) in MATCHERS {
        assert_eq!(
            amtool_check(amtool, dir.path(), &cfg(m)),
            *ok,
            "amtool on {m}"
        );
    }
}
