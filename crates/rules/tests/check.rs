//! Rule file loading and checking: bad files give errors with file, line and column.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use vigia_rules::{Rule, check_str, load_files};

fn errors(text: &str) -> Vec<String> {
    check_str(Path::new("bad.yaml"), text)
        .errors
        .iter()
        .map(|e| e.to_string())
        .collect()
}

fn one_error(text: &str, line: u64, needle: &str) {
    let r = check_str(Path::new("bad.yaml"), text);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    let e = &r.errors[0];
    assert_eq!(e.line, Some(line), "{e}");
    assert!(
        e.to_string().starts_with(&format!("bad.yaml:{line}:")),
        "{e}"
    );
    assert!(e.message.contains(needle), "{e} should mention {needle:?}");
    assert!(
        !e.message.contains("\n") && !e.message.contains(" at line "),
        "{e}"
    );
    assert!(r.groups.is_empty());
}

#[test]
fn good_file_parses() {
    let r = check_str(
        Path::new("ok.yaml"),
        r#"
groups:
  - name: a
    interval: 30s
    limit: 10
    query_offset: 1m
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {tier: x}
      - alert: Down
        expr: up == 0
        for: 5m
        keep_firing_for: 1m
        labels: {severity: warning}
        annotations: {summary: "{{ $labels.job }}"}
"#,
    );
    assert!(
        r.errors.is_empty() && r.warnings.is_empty(),
        "{:?} {:?}",
        r.errors,
        r.warnings
    );
    let g = &r.groups[0];
    assert_eq!(
        (g.interval_ms, g.limit, g.query_offset_ms),
        (30_000, 10, 60_000)
    );
    let Rule::Alerting(a) = &g.rules[1] else {
        panic!()
    };
    assert_eq!((a.for_ms, a.keep_firing_for_ms), (300_000, 60_000));
    assert_eq!(a.severity().unwrap().rank, 2);
}

#[test]
fn bad_files() {
    one_error(
        "groups:\n  - name: a\n    rules:\n      - record: x\n        exprr: up\n",
        5,
        "exprr",
    );
    one_error(
        "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: sum(up\n",
        5,
        "could not parse expression",
    );
    one_error(
        "groups:\n  - name: a\n    rules:\n      - record: 1bad\n        expr: up\n",
        4,
        "invalid recording rule name",
    );
    one_error(
        "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        for: 5x\n",
        6,
        "invalid duration",
    );
    one_error(
        "groups:\n  - name: a\n    rules:\n      - alert: X\n        record: y\n        expr: up\n",
        4,
        "only one of",
    );
    one_error(
        "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        annotations:\n          s: '{{ $labels.x '\n",
        4,
        "template",
    );
    one_error(
        "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        labels:\n          bad-name: x\n",
        4,
        "invalid label name",
    );
    one_error(
        "groups:\n  - name: a\n    rules: []\n  - name: a\n    rules: []\n",
        4,
        "repeated",
    );
    one_error("groups:\n  - name: a\n    rules: [\n", 3, "");
    one_error(
        "groups:\n  - name: a\n    rules:\n      - record: y\n        expr: up\n        for: 1m\n",
        4,
        "invalid field 'for'",
    );
}

#[test]
fn warnings_for_duplicates_and_unknown_severity() {
    let r = check_str(
        Path::new("w.yaml"),
        "groups:\n  - name: a\n    rules:\n      - record: y\n        expr: up\n      - record: y\n        expr: up * 2\n      - alert: Z\n        expr: up\n        labels: {severity: page}\n",
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.groups.len(), 1);
    let w: Vec<String> = r.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0].starts_with("w.yaml:6:") && w[0].contains("duplicate"),
        "{}",
        w[0]
    );
    assert!(
        w[1].starts_with("w.yaml:8:") && w[1].contains("unknown severity \"page\""),
        "{}",
        w[1]
    );
}

#[test]
fn load_files_collects_all_errors() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.yaml");
    let b = dir.path().join("b.yaml");
    std::fs::write(
        &a,
        "groups:\n  - name: a\n    rules:\n      - record: 1x\n        expr: up\n",
    )
    .unwrap();
    std::fs::write(
        &b,
        "groups:\n  - name: b\n    rules:\n      - alert: X\n        expr: up +\n",
    )
    .unwrap();
    let missing = dir.path().join("none.yaml");
    let errs = load_files(&[a.clone(), b.clone(), missing]).unwrap_err();
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert_eq!(errs[0].file, a);
    assert_eq!(errs[1].file, b);
    assert!(errs[2].message.contains("cannot read"));
    let ok: Vec<PathBuf> =
        vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rules.yaml")];
    assert_eq!(load_files(&ok).unwrap()[0].rules.len(), 3);
    assert!(errors("groups: []\n").is_empty());
}

#[test]
fn plain_scalars_are_strings() {
    let r = check_str(
        Path::new("s.yaml"),
        "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: 1\n        labels: {priority: 2, page: true}\n",
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let Rule::Alerting(a) = &r.groups[0].rules[0] else {
        panic!()
    };
    assert_eq!(a.expr, "1");
    assert_eq!(a.labels.get("priority").unwrap(), "2");
}
