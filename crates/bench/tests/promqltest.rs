//! Runs Prometheus's promqltest scripts (../shared/promqltest) and our own cases
//! (tests/cases) through the engine.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vigia_bench::promqltest::{FileReport, compat_report, run_file};

fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/promqltest")
}

fn scripts(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "test"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn shared_promqltest_scripts() {
    let dir = shared_dir();
    if !dir.is_dir() {
        assert!(
            std::env::var("VIGIA_REQUIRE_REAL").as_deref() != Ok("1"),
            "shared promqltest dir {dir:?} missing"
        );
        eprintln!("SKIP: {dir:?} not found; promqltest compatibility not checked");
        return;
    }
    let reports: Vec<FileReport> = scripts(&dir).iter().map(|p| run_file(p)).collect();
    assert!(!reports.is_empty(), "no scripts in {dir:?}");

    // Eval counts per file must match the committed list, so cases cannot silently disappear.
    let counts_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promqltest_counts.txt");
    let committed = std::fs::read_to_string(&counts_path).unwrap();
    let mut want: BTreeMap<String, usize> = BTreeMap::new();
    for line in committed
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (f, n) = line.split_once(' ').unwrap();
        want.insert(f.to_string(), n.trim().parse().unwrap());
    }
    let got: BTreeMap<String, usize> = reports
        .iter()
        .map(|r| (r.file.clone(), r.total()))
        .collect();
    assert_eq!(
        got, want,
        "eval command counts differ from tests/promqltest_counts.txt"
    );

    let (mut passed, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    for r in &reports {
        eprintln!(
            "{:<28} total {:>4} passed {:>4} failed {:>3} skipped {:>4}",
            r.file,
            r.total(),
            r.passed,
            r.failed.len(),
            r.skipped.len()
        );
        passed += r.passed;
        failed += r.failed.len();
        skipped += r.skipped.len();
    }
    let rate = passed as f64 / (passed + failed).max(1) as f64;
    eprintln!(
        "overall: passed {passed} failed {failed} skipped {skipped}; pass rate {:.2} %",
        rate * 100.0
    );
    if let Ok(out) = std::env::var("VIGIA_PROMQL_COMPAT_OUT") {
        // Sections written by others (from "## Differences from" on) are kept.
        let kept = std::fs::read_to_string(&out)
            .ok()
            .and_then(|old| {
                old.find("\n## Differences from")
                    .map(|i| old[i..].to_string())
            })
            .unwrap_or_default();
        let mut doc = compat_report(&reports);
        doc.push_str(&kept);
        std::fs::write(out, doc).unwrap();
    }
    if std::env::var("VIGIA_PROMQL_VERBOSE").is_ok() {
        for r in &reports {
            for f in &r.failed {
                eprintln!("--- {}:{} {}\n{}", r.file, f.line, f.command, f.diff);
            }
        }
    }
    assert!(rate >= 0.95, "pass rate {rate:.3} below 95 %");
}

#[test]
fn own_case_scripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let files = scripts(&dir);
    assert!(!files.is_empty());
    for p in files {
        let r = run_file(&p);
        assert!(r.total() > 0, "{p:?} has no eval commands");
        assert!(r.skipped.is_empty(), "{p:?}: skipped {:?}", r.skipped);
        assert!(r.failed.is_empty(), "{p:?}: failed {:#?}", r.failed);
    }
}
