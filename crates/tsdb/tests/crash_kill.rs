//! Crash test (a): a child process (this test binary re-executed in "child mode") appends batches
//! from several threads and prints each batch id only after `append` returned; the parent kills
//! it with SIGKILL at a random moment, reopens the data directory and checks that every
//! acknowledged sample is there. Several rounds on the same directory.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigia_model::{Appender, Labels, Matcher, Querier, Sample, SeriesSamples};
use vigia_tsdb::{Tsdb, TsdbOptions};

const DIR_ENV: &str = "VIGIA_TSDB_CRASH_CHILD_DIR";
const ROUND_ENV: &str = "VIGIA_TSDB_CRASH_CHILD_ROUND";
const THREADS: u64 = 4;
const SERIES_PER_THREAD: u64 = 10;

fn opts() -> TsdbOptions {
    // tiny blocks and segments so the child also cuts, checkpoints and compacts while killed
    TsdbOptions {
        block_duration_ms: 2_000,
        wal_segment_bytes: 32 << 10,
        ..Default::default()
    }
}

fn batch_time(id: u64) -> (u64, i64) {
    let round = id / 1_000_000;
    let th = (id / 100_000) % 10;
    let k = id % 100_000;
    (th, round as i64 * 10_000_000 + k as i64 * 100)
}

fn labels(th: u64, i: u64) -> Labels {
    Labels::from_pairs([
        ("__name__", "crash".to_string()),
        ("th", th.to_string()),
        ("i", i.to_string()),
    ])
}

/// Child mode: only does something when started by `kill9_acknowledged_samples_survive`.
#[test]
#[ignore]
fn crash_child() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let round: u64 = std::env::var(ROUND_ENV)
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    let db = Tsdb::open(Path::new(&dir), opts()).unwrap();
    let mut hs = Vec::new();
    for th in 0..THREADS {
        let db = db.clone();
        hs.push(std::thread::spawn(move || {
            for k in 0..100_000u64 {
                let id = round * 1_000_000 + th * 100_000 + k;
                let (_, t) = batch_time(id);
                let batch: Vec<SeriesSamples> = (0..SERIES_PER_THREAD)
                    .map(|i| SeriesSamples {
                        labels: labels(th, i),
                        samples: vec![Sample::new(t, id as f64)],
                    })
                    .collect();
                let out = db.append(&batch).unwrap();
                assert_eq!(out.appended, SERIES_PER_THREAD);
                let mut so = std::io::stdout().lock();
                writeln!(so, "ACK {id}").unwrap();
                so.flush().unwrap();
            }
        }));
    }
    for h in hs {
        h.join().unwrap();
    }
}

fn verify(dir: &Path, acked: &[u64]) {
    let db = Tsdb::open_with(Arc::new(vigia_tsdb::vfs::RealFs), dir, opts(), false).unwrap();
    let mut have: HashMap<(String, String), HashMap<i64, f64>> = HashMap::new();
    for s in db
        .select(&[Matcher::equal("__name__", "crash")], i64::MIN, i64::MAX)
        .unwrap()
    {
        let s = s.unwrap();
        let key = (
            s.labels.get("th").unwrap().to_string(),
            s.labels.get("i").unwrap().to_string(),
        );
        have.insert(key, s.samples.iter().map(|x| (x.t, x.v)).collect());
    }
    for id in acked {
        let (th, t) = batch_time(*id);
        for i in 0..SERIES_PER_THREAD {
            let got = have
                .get(&(th.to_string(), i.to_string()))
                .and_then(|m| m.get(&t));
            assert_eq!(
                got,
                Some(&(*id as f64)),
                "acknowledged batch {id} lost for series th={th} i={i}"
            );
        }
    }
}

#[test]
fn kill9_acknowledged_samples_survive() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut all_acked: Vec<u64> = Vec::new();
    for round in 1..=5u64 {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash_child",
                "--nocapture",
                "--ignored",
                "--test-threads=1",
            ])
            .env(DIR_ENV, dir.path())
            .env(ROUND_ENV, round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let acked = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let acked = acked.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(id) = line
                        .strip_prefix("ACK ")
                        .and_then(|x| x.trim().parse::<u64>().ok())
                    {
                        acked.lock().unwrap().push(id);
                    }
                }
            })
        };
        // wait for the first acknowledgement, then kill at a random moment
        for _ in 0..12_000 {
            if !acked.lock().unwrap().is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(100 + seed % 700));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let got = acked.lock().unwrap().clone();
        assert!(!got.is_empty(), "round {round}: child acknowledged nothing");
        eprintln!(
            "round {round}: {} batches acknowledged before SIGKILL",
            got.len()
        );
        all_acked.extend(got);
        verify(dir.path(), &all_acked);
    }
}
