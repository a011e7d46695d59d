//! Measurements of the task brief (throughput, bytes per sample, head bytes per series). The full
//! run is `#[ignore]`d (run it with `cargo test -p vigia-bench --release --test storage -- --ignored
//! --nocapture`); a small smoke run checks the helpers themselves. No timing assertions.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use vigia_bench::storage as measure;

#[test]
fn measurement_helpers_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = measure::measure_disk(&dir.path().join("d"), 600, 40).unwrap();
    assert_eq!(d.samples, 600 * 40);
    assert!(d.chunk_bytes > 0 && d.block_bytes > d.chunk_bytes);
    let i = measure::measure_ingest(&dir.path().join("i"), 2, 600, 500, 3).unwrap();
    assert_eq!(i.samples, 1800);
    let h = measure::measure_head(&dir.path().join("h"), 100, 3).unwrap();
    assert!(h.accounted_bytes_per_series > 0.0);
}

#[test]
#[ignore]
fn measure_all() {
    let dir = tempfile::tempdir().unwrap();
    let r = measure::run_all(dir.path(), 40).unwrap();
    println!("{r}");
    // the same ingest on tmpfs, where fsync is nearly free: the CPU cost of the engine
    if std::path::Path::new("/dev/shm").is_dir() {
        let shm = tempfile::tempdir_in("/dev/shm").unwrap();
        for threads in [1, 2] {
            let i = measure::measure_ingest(
                &shm.path().join(format!("t{threads}")),
                threads,
                5000,
                500,
                40,
            )
            .unwrap();
            println!(
                "ingest on tmpfs, {threads} thread(s): {:.0} samples/s",
                i.samples_per_sec
            );
        }
    }
}
