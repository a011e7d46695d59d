//! `promtool check rules` equivalent: prints errors and warnings of the given rule files.
//! Usage: `cargo run --release -p vigia-rules --example check_rules FILE...`.

use std::path::PathBuf;

fn main() {
    let paths: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let r = vigia_rules::check_files(&paths);
    for w in &r.warnings {
        println!("warning: {w}");
    }
    for e in &r.errors {
        println!("error: {e}");
    }
    let rules: usize = r.groups.iter().map(|g| g.rules.len()).sum();
    println!("{} groups, {rules} rules", r.groups.len());
    if !r.errors.is_empty() {
        std::process::exit(1);
    }
}
