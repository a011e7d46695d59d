//! The broken-configuration corpus: every `testdata/config/*.bad.yaml` must be rejected with
//! exactly the report in its `*.bad.yaml.expected` (what `vigia check config` prints, with the
//! folder left out). `VIGIA_BLESS=1 cargo test -p vigia --release --test config_corpus` rewrites
//! the expected files; review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[test]
fn every_bad_config_is_rejected_with_its_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/config");
    let dir = dir.canonicalize().unwrap();
    let bless = std::env::var("VIGIA_BLESS").is_ok_and(|v| v == "1");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".bad.yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 25, "the corpus shrank: {}", files.len());
    let mut failures = Vec::new();
    for f in &files {
        let report = match vigia::config::load(Some(f)) {
            Ok(_) => {
                failures.push(format!("{} was accepted", f.display()));
                continue;
            }
            Err(e) => e.to_string().replace(&format!("{}/", dir.display()), ""),
        };
        let expected = f.with_extension("yaml.expected");
        if bless {
            std::fs::write(&expected, &report).unwrap();
            continue;
        }
        match std::fs::read_to_string(&expected) {
            Ok(want) if want == report => {}
            Ok(want) => failures.push(format!(
                "{}:\n--- want\n{want}--- got\n{report}",
                f.display()
            )),
            Err(_) => failures.push(format!(
                "{} has no expected report; VIGIA_BLESS=1 creates it:\n{report}",
                f.display()
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
