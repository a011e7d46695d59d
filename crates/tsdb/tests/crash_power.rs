//! Crash test (b): power loss. The database runs on the simulated file system; writer threads
//! append while another thread cuts, checkpoints, flushes and compacts. At a random moment the
//! file system "loses power" (every byte and directory entry not yet fsynced disappears); the
//! database is reopened from what survived and every acknowledged sample must be there.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigia_model::{Appender, Labels, Matcher, Querier, Sample, SeriesSamples, StorageAdmin};
use vigia_tsdb::vfs::{SimFs, Vfs};
use vigia_tsdb::{Tsdb, TsdbOptions};

const THREADS: u64 = 3;
const SERIES_PER_THREAD: u64 = 8;

fn opts() -> TsdbOptions {
    TsdbOptions {
        block_duration_ms: 2_000,
        wal_segment_bytes: 16 << 10,
        ooo_window_ms: 0,
        ..Default::default()
    }
}

fn batch_time(id: u64) -> (u64, i64) {
    let round = id / 1_000_000;
    let th = (id / 100_000) % 10;
    let k = id % 100_000;
    (th, round as i64 * 10_000_000 + k as i64 * 50)
}

fn labels(th: u64, i: u64) -> Labels {
    Labels::from_pairs([
        ("__name__", "power".to_string()),
        ("th", th.to_string()),
        ("i", i.to_string()),
    ])
}

fn verify(db: &Tsdb, acked: &[u64]) {
    let mut have: HashMap<(String, String), HashMap<i64, u64>> = HashMap::new();
    for s in db
        .select(&[Matcher::equal("__name__", "power")], i64::MIN, i64::MAX)
        .unwrap()
    {
        let s = s.unwrap();
        let key = (
            s.labels.get("th").unwrap().to_string(),
            s.labels.get("i").unwrap().to_string(),
        );
        assert!(s.samples.windows(2).all(|w| w[0].t < w[1].t));
        have.insert(
            key,
            s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
        );
    }
    for id in acked {
        let (th, t) = batch_time(*id);
        for i in 0..SERIES_PER_THREAD {
            let got = have
                .get(&(th.to_string(), i.to_string()))
                .and_then(|m| m.get(&t));
            assert_eq!(
                got,
                Some(&(*id as f64).to_bits()),
                "acknowledged batch {id} lost (th={th} i={i})"
            );
        }
    }
}

#[test]
fn power_loss_keeps_acknowledged_samples() {
    let dir = Path::new("/data");
    let mut fs = SimFs::new();
    let mut acked_total: Vec<u64> = Vec::new();
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    for round in 1..=5u64 {
        let vfs: Arc<dyn Vfs> = Arc::new(fs.clone());
        let db = Tsdb::open_with(vfs, dir, opts(), false).unwrap();
        verify(&db, &acked_total);
        let acked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut hs = Vec::new();
        for th in 0..THREADS {
            let (db, acked, stop) = (db.clone(), acked.clone(), stop.clone());
            hs.push(std::thread::spawn(move || {
                for k in 0..1_500u64 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let id = round * 1_000_000 + th * 100_000 + k;
                    let (_, t) = batch_time(id);
                    let batch: Vec<SeriesSamples> = (0..SERIES_PER_THREAD)
                        .map(|i| SeriesSamples {
                            labels: labels(th, i),
                            samples: vec![Sample::new(t, id as f64)],
                        })
                        .collect();
                    let out = db.append(&batch).unwrap();
                    assert_eq!(out.appended + out.backfilled, SERIES_PER_THREAD, "{out:?}");
                    acked.lock().unwrap().push(id);
                }
            }));
        }
        let maint = {
            let (db, stop) = (db.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    db.maintain().unwrap();
                    n += 1;
                    if n.is_multiple_of(20) {
                        db.flush().unwrap();
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(20 + seed % 130));
        // acknowledgements observed before the power cut must survive it
        let acked_before = acked.lock().unwrap().clone();
        let crashed = fs.crash();
        stop.store(true, Ordering::Relaxed);
        for h in hs {
            h.join().unwrap();
        }
        maint.join().unwrap();
        assert!(
            !acked_before.is_empty(),
            "round {round}: nothing acknowledged"
        );
        eprintln!(
            "round {round}: {} batches acknowledged before power loss, {} blocks",
            acked_before.len(),
            db.num_blocks()
        );
        drop(db);
        acked_total.extend(acked_before);
        fs = crashed;
    }
    let db = Tsdb::open_with(Arc::new(fs.clone()), dir, opts(), false).unwrap();
    verify(&db, &acked_total);
}
