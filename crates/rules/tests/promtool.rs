//! `promtool test rules` format: a passing file and one whose expectations are wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use vigia_rules::run_rule_tests;

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn passing_file_passes() {
    let r = run_rule_tests(&data("pass.test.yaml"));
    assert!(
        r.passed(),
        "failures: {:#?}\nerrors: {:#?}",
        r.failures,
        r.errors
    );
    assert_eq!(r.groups_run, 1);
    assert_eq!(r.checks_run, 7);
}

#[test]
fn wrong_expectations_fail() {
    let r = run_rule_tests(&data("fail.test.yaml"));
    assert!(!r.passed());
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.checks_run, 3);
    assert_eq!(r.failures.len(), 2, "{:#?}", r.failures);
    assert!(
        r.failures[0].contains("alertname: InstanceDown, time: 5m"),
        "{}",
        r.failures[0]
    );
    assert!(r.failures[0].contains("\"severity\": \"page\""));
    assert!(r.failures[0].contains("\"severity\": \"high\""));
    assert!(r.failures[1].contains("expr: \"up\""), "{}", r.failures[1]);
}

#[test]
fn broken_test_files_report_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.yaml");
    std::fs::write(&p, "rule_files: [missing.yaml]\ntests: []\n").unwrap();
    let r = run_rule_tests(&p);
    assert!(!r.passed());
    assert!(r.errors[0].contains("missing.yaml"), "{:?}", r.errors);
    std::fs::write(
        &p,
        "rule_files: []\ntests:\n  - input_series: []\n    bogus: 1\n",
    )
    .unwrap();
    let r = run_rule_tests(&p);
    assert!(r.errors[0].contains("t.yaml:4:"), "{:?}", r.errors);
    std::fs::write(
        &p,
        "tests:\n  - input_series:\n      - series: 'up'\n        values: '1 x 2'\n",
    )
    .unwrap();
    let r = run_rule_tests(&p);
    assert!(r.errors[0].contains("invalid value"), "{:?}", r.errors);
}

#[test]
fn template_output_matches_promtool() {
    // The expectations were produced by Debian's promtool 2.42 on the same rule file.
    let r = run_rule_tests(&data("templates.test.yaml"));
    assert!(
        r.passed(),
        "failures: {:#?}\nerrors: {:#?}",
        r.failures,
        r.errors
    );
    assert_eq!(r.checks_run, 1);
}

#[test]
fn keep_firing_for_and_alerts_series_match_promtool() {
    // promtool 2.42 passes this file too.
    let r = run_rule_tests(&data("keep.test.yaml"));
    assert!(
        r.passed(),
        "failures: {:#?}\nerrors: {:#?}",
        r.failures,
        r.errors
    );
    assert_eq!(r.checks_run, 7);
}
