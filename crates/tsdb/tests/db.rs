//! End-to-end behaviour of `Tsdb`: appends, queries across head and blocks, WAL replay,
//! backfill, cutting, compaction, retention, deletion, snapshots and corruption handling.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may unwrap

use std::sync::Arc;
use vigia_model::{
    Appender, Labels, MatchOp, Matcher, Querier, RejectReason, Sample, Series, SeriesSamples,
    StorageAdmin, StorageError, stale_nan,
};
use vigia_tsdb::{Tsdb, TsdbOptions};

fn l(name: &str, job: &str) -> Labels {
    Labels::from_pairs([("__name__", name), ("job", job)])
}

fn ss(labels: &Labels, samples: &[(i64, f64)]) -> SeriesSamples {
    SeriesSamples {
        labels: labels.clone(),
        samples: samples.iter().map(|(t, v)| Sample::new(*t, *v)).collect(),
    }
}

fn all(db: &Tsdb, ms: &[Matcher]) -> Vec<Series> {
    db.select(ms, i64::MIN, i64::MAX)
        .unwrap()
        .map(|s| s.unwrap())
        .collect()
}

fn bits(s: &[Sample]) -> Vec<(i64, u64)> {
    s.iter().map(|x| (x.t, x.v.to_bits())).collect()
}

fn opts() -> TsdbOptions {
    TsdbOptions {
        block_duration_ms: 10_000,
        ..Default::default()
    }
}

fn open(dir: &std::path::Path, o: TsdbOptions) -> Arc<Tsdb> {
    Tsdb::open_with(Arc::new(vigia_tsdb::vfs::RealFs), dir, o, false).unwrap()
}

#[test]
fn append_select_and_replay_special_values() {
    let dir = tempfile::tempdir().unwrap();
    let specials = [
        (1000, f64::NAN),
        (2000, stale_nan()),
        (3000, f64::INFINITY),
        (4000, f64::NEG_INFINITY),
        (5000, -0.0),
    ];
    let a = l("m", "b");
    let b = l("m", "a");
    let c = l("other", "a");
    {
        let db = open(dir.path(), opts());
        let out = db
            .append(&[
                ss(&a, &specials),
                ss(&b, &[(1000, 1.0), (2000, 2.0)]),
                ss(&c, &[(1000, 5.0)]),
            ])
            .unwrap();
        assert_eq!(out.appended, 8);
        assert_eq!(out.new_series, 3);
        let got = all(&db, &[Matcher::equal("__name__", "m")]);
        assert_eq!(
            got.iter().map(|s| s.labels.clone()).collect::<Vec<_>>(),
            vec![b.clone(), a.clone()],
            "sorted by labels"
        );
        assert_eq!(
            bits(&got[1].samples),
            bits(&specials.map(|(t, v)| Sample::new(t, v)))
        );
        let r = db
            .select(&[Matcher::equal("job", "a")], 1500, 2500)
            .unwrap()
            .map(|s| s.unwrap())
            .collect::<Vec<_>>();
        assert_eq!(r.len(), 1, "only series with samples in range");
        assert_eq!(
            db.label_values("job", &[], i64::MIN, i64::MAX).unwrap(),
            vec!["a", "b"]
        );
        assert_eq!(
            db.label_names(&[Matcher::equal("__name__", "other")], i64::MIN, i64::MAX)
                .unwrap(),
            vec!["__name__", "job"]
        );
        assert_eq!(
            db.series(
                &[Matcher::new(MatchOp::NotEqual, "job", "a").unwrap()],
                0,
                10_000
            )
            .unwrap(),
            vec![a.clone()]
        );
        assert_eq!(db.cardinality(10).unwrap().num_series, 3);
        db.close().unwrap();
        assert!(matches!(
            db.append(&[ss(&a, &[(9000, 1.0)])]),
            Err(StorageError::Closed)
        ));
    }
    // WAL replay
    let db = open(dir.path(), opts());
    let got = all(&db, &[Matcher::equal("job", "b")]);
    assert_eq!(
        bits(&got[0].samples),
        bits(&specials.map(|(t, v)| Sample::new(t, v)))
    );
    // after flush: from a block, and again after reopen
    db.flush().unwrap();
    assert!(db.num_blocks() >= 1);
    assert_eq!(db.stats().head_series, 0);
    let got = all(&db, &[Matcher::equal("job", "b")]);
    assert_eq!(
        bits(&got[0].samples),
        bits(&specials.map(|(t, v)| Sample::new(t, v)))
    );
    drop(db);
    let db = open(dir.path(), opts());
    assert_eq!(all(&db, &[]).len(), 3);
    let got = all(&db, &[Matcher::equal("job", "b")]);
    assert_eq!(
        bits(&got[0].samples),
        bits(&specials.map(|(t, v)| Sample::new(t, v)))
    );
}

#[test]
fn append_rules_ooo_and_backfill() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(
        dir.path(),
        TsdbOptions {
            ooo_window_ms: 1000,
            ..opts()
        },
    );
    let a = l("m", "a");
    db.append(&[ss(&a, &[(100_000, 1.0), (101_000, 2.0)])])
        .unwrap();
    let out = db
        .append(&[ss(
            &a,
            &[
                (101_000, 2.0),
                (101_000, 3.0),
                (100_500, 4.0),
                (99_000, 5.0),
                (102_000, 6.0),
            ],
        )])
        .unwrap();
    // sorted: 99_000 (older than max - window → out of order), 100_500 (in window),
    // 101_000 x2 (duplicate no-op, then conflicting value), 102_000 (new)
    assert_eq!(out.appended, 3, "{out:?}");
    assert_eq!(
        out.rejected.get(&RejectReason::DuplicateTimestamp),
        Some(&1)
    );
    assert_eq!(out.rejected.get(&RejectReason::OutOfOrder), Some(&1));
    let got = all(&db, &[]);
    assert_eq!(
        got[0].samples.iter().map(|s| s.t).collect::<Vec<_>>(),
        vec![100_000, 100_500, 101_000, 102_000]
    );
    // older than the whole head window: backfilled into a block instead of rejected
    let out = db.append(&[ss(&a, &[(50_000, 7.0)])]).unwrap();
    assert_eq!((out.backfilled, out.rejected_total()), (1, 0), "{out:?}");
    assert_eq!(db.num_blocks(), 1);
    // a new series far older than the head window goes to a backfill block
    let b = l("m", "b");
    let out = db
        .append(&[ss(&b, &[(1_000, 1.0), (2_000, 2.0), (2_000, 2.0)])])
        .unwrap();
    assert_eq!(out.backfilled, 3, "{out:?}");
    assert_eq!(db.num_blocks(), 2);
    // a wide backfill is split at block-duration boundaries (10 s here)
    let c = l("m", "c");
    let out = db
        .append(&[ss(&c, &[(1_000, 1.0), (15_000, 2.0), (25_000, 3.0)])])
        .unwrap();
    assert_eq!(out.backfilled, 3);
    assert_eq!(db.num_blocks(), 5);
    assert!(
        db.block_metas()
            .iter()
            .all(|m| m.max_time - 1 - m.min_time < 10_000)
    );
    db.compact().unwrap();
    let metas = db.block_metas();
    assert!(
        metas.windows(2).all(|w| w[0].max_time <= w[1].min_time),
        "{metas:?}"
    );
    assert_eq!(all(&db, &[Matcher::equal("job", "c")])[0].samples.len(), 3);
    let got = all(&db, &[Matcher::equal("job", "b")]);
    assert_eq!(
        got[0].samples,
        vec![Sample::new(1_000, 1.0), Sample::new(2_000, 2.0)]
    );
    drop(db);
    // backfilled block is durable without WAL
    let db = open(dir.path(), opts());
    assert_eq!(all(&db, &[Matcher::equal("job", "b")])[0].samples.len(), 2);
    assert_eq!(all(&db, &[Matcher::equal("job", "a")])[0].samples.len(), 5);
}

#[test]
fn data_dir_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let db = Tsdb::open(dir.path(), opts()).unwrap();
    assert!(Tsdb::open(dir.path(), opts()).is_err());
    db.close().unwrap();
    drop(db);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let db = Tsdb::open(dir.path(), opts()).unwrap();
    db.close().unwrap();
}

#[test]
fn invalid_series_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(
        dir.path(),
        TsdbOptions {
            max_series: 2,
            ..opts()
        },
    );
    let bad = Labels::from_pairs([("job", "x")]);
    assert!(matches!(
        db.append(&[ss(&bad, &[(1, 1.0)])]),
        Err(StorageError::InvalidSeries { .. })
    ));
    db.append(&[ss(&l("m", "a"), &[(1, 1.0)]), ss(&l("m", "b"), &[(1, 1.0)])])
        .unwrap();
    let e = db.append(&[ss(&l("m", "a"), &[(2, 1.0)]), ss(&l("m", "c"), &[(2, 1.0)])]);
    assert!(matches!(e, Err(StorageError::LimitExceeded(_))));
    assert_eq!(
        db.append(&[ss(&l("m", "a"), &[(3, 1.0)])])
            .unwrap()
            .appended,
        1,
        "existing series still accepted"
    );
}

#[test]
fn cutting_compaction_retention_and_replay() {
    let dir = tempfile::tempdir().unwrap();
    let bd = 10_000;
    let o = TsdbOptions {
        block_duration_ms: bd,
        retention_ms: 1_000_000,
        ..Default::default()
    };
    let series: Vec<Labels> = (0..20).map(|i| l("m", &format!("j{i}"))).collect();
    let step = 500;
    let n_samples = 400; // 200 s of data = 20 block durations
    {
        let db = open(dir.path(), o.clone());
        for k in 0..n_samples {
            let t = k * step;
            let batch: Vec<SeriesSamples> =
                series.iter().map(|s| ss(s, &[(t, k as f64)])).collect();
            db.append(&batch).unwrap();
            if k % 25 == 0 {
                db.maintain().unwrap();
            }
        }
        db.maintain().unwrap();
        let st = db.stats();
        assert!(st.blocks >= 1 && st.compactions >= 1, "{st:?}");
        let metas = db.block_metas();
        assert!(metas.iter().any(|m| m.compaction.level >= 2), "{metas:?}");
        for w in metas.windows(2) {
            assert!(
                w[0].max_time <= w[1].min_time,
                "no overlap after compaction: {metas:?}"
            );
        }
        let got = all(&db, &[]);
        assert_eq!(got.len(), 20);
        assert!(got.iter().all(|s| s.samples.len() == n_samples as usize));
        // wal was truncated: checkpoint exists
        assert!(std::fs::read_dir(dir.path().join("wal")).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("checkpoint.")
        }));
    }
    let db = open(dir.path(), o.clone());
    let got = all(&db, &[]);
    assert!(
        got.iter().all(|s| s.samples.len() == n_samples as usize),
        "after reopen"
    );
    assert_eq!(
        bits(&got[3].samples),
        bits(
            &(0..n_samples)
                .map(|k| Sample::new(k * step, k as f64))
                .collect::<Vec<_>>()
        )
    );
    drop(db);
    // retention: keep only the last 50 s
    let db = open(
        dir.path(),
        TsdbOptions {
            retention_ms: 50_000,
            ..o
        },
    );
    let before = db.num_blocks();
    let deleted = db.apply_retention().unwrap();
    assert!(deleted >= 1 && db.num_blocks() < before);
    let got = all(&db, &[]);
    let min = got
        .iter()
        .flat_map(|s| s.samples.iter().map(|x| x.t))
        .min()
        .unwrap();
    assert!(
        min >= 199_500 - 50_000 - 3 * bd * 3,
        "old data dropped, min={min}"
    );
    assert!(got.iter().all(|s| s.samples.last().unwrap().t == 199_500));
}

#[test]
fn size_retention() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), opts());
    for k in 0..10 {
        let batch: Vec<SeriesSamples> = (0..50)
            .map(|i| ss(&l("m", &format!("{i}")), &[(k * 10_000, i as f64)]))
            .collect();
        db.append(&batch).unwrap();
        db.flush().unwrap();
    }
    let n = db.num_blocks();
    assert!(n >= 2);
    drop(db);
    let db = open(
        dir.path(),
        TsdbOptions {
            retention_bytes: 1,
            ..opts()
        },
    );
    db.apply_retention().unwrap();
    assert_eq!(db.num_blocks(), 0);
}

#[test]
fn delete_series_and_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), opts());
    let a = l("m", "a");
    let b = l("m", "b");
    db.append(&[
        ss(&a, &[(1000, 1.0), (2000, 2.0), (3000, 3.0)]),
        ss(&b, &[(1000, 1.0)]),
    ])
    .unwrap();
    db.flush().unwrap();
    db.append(&[ss(&a, &[(4000, 4.0), (5000, 5.0)])]).unwrap();
    db.delete_series(&[Matcher::equal("job", "a")], 2000, 4000)
        .unwrap();
    let got = all(&db, &[Matcher::equal("job", "a")]);
    assert_eq!(
        got[0].samples.iter().map(|s| s.t).collect::<Vec<_>>(),
        vec![1000, 5000]
    );
    assert_eq!(all(&db, &[Matcher::equal("job", "b")])[0].samples.len(), 1);
    let name = db.snapshot().unwrap();
    let snap = dir.path().join("snapshots").join(&name);
    drop(db);
    let db = open(dir.path(), opts());
    let got = all(&db, &[Matcher::equal("job", "a")]);
    assert_eq!(
        got[0].samples.iter().map(|s| s.t).collect::<Vec<_>>(),
        vec![1000, 5000],
        "deletion survives reopen"
    );
    // the snapshot is a data dir of its own
    let s = open(&snap, opts());
    let got = all(&s, &[]);
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].samples.iter().map(|s| s.t).collect::<Vec<_>>(),
        vec![1000, 5000]
    );
}

#[test]
fn corrupt_block_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), opts());
    db.append(&[ss(&l("m", "a"), &[(1000, 1.0)])]).unwrap();
    db.flush().unwrap();
    db.append(&[ss(&l("m", "b"), &[(50_000, 1.0)])]).unwrap();
    db.flush().unwrap();
    let metas = db.block_metas();
    assert_eq!(metas.len(), 2);
    drop(db);
    let idx = dir.path().join(&metas[0].ulid).join("index");
    let mut data = std::fs::read(&idx).unwrap();
    data[12] ^= 0xff;
    std::fs::write(&idx, data).unwrap();
    let db = open(dir.path(), opts());
    assert_eq!(db.num_blocks(), 1);
    assert!(dir.path().join("corrupted").join(&metas[0].ulid).exists());
    assert_eq!(all(&db, &[]).len(), 1);
}

#[test]
fn concurrent_appends_and_queries() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path(), opts());
    let mut hs = Vec::new();
    for th in 0..4 {
        let db = db.clone();
        hs.push(std::thread::spawn(move || {
            for k in 0..200i64 {
                let batch: Vec<SeriesSamples> = (0..10)
                    .map(|i| ss(&l("m", &format!("{th}-{i}")), &[(k * 100, k as f64)]))
                    .collect();
                db.append(&batch).unwrap();
            }
        }));
    }
    let reader = {
        let db = db.clone();
        std::thread::spawn(move || {
            for _ in 0..50 {
                for s in db
                    .select(
                        &[Matcher::new(MatchOp::Regex, "job", "1-.*").unwrap()],
                        0,
                        i64::MAX,
                    )
                    .unwrap()
                {
                    let s = s.unwrap();
                    assert!(s.samples.windows(2).all(|w| w[0].t < w[1].t));
                }
            }
        })
    };
    for h in hs {
        h.join().unwrap();
    }
    reader.join().unwrap();
    let got = all(&db, &[]);
    assert_eq!(got.len(), 40);
    assert!(got.iter().all(|s| s.samples.len() == 200));
    let st = db.stats();
    assert_eq!(st.samples_appended, 8000);
    assert!(st.wal_fsyncs >= 1 && st.wal_fsyncs <= 800);
    assert_eq!(st.wal_fsync_seconds.last().unwrap().1, st.wal_fsyncs);
}

#[test]
fn future_sample_does_not_expire_everything() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let db = open(
        dir.path(),
        TsdbOptions {
            retention_ms: 3_600_000,
            ..opts()
        },
    );
    db.append(&[ss(&l("m", "a"), &[(now - 60_000, 1.0)])])
        .unwrap();
    db.flush().unwrap();
    // a bogus timestamp 10 years ahead
    db.append(&[ss(&l("m", "b"), &[(now + 10 * 365 * 86_400_000, 1.0)])])
        .unwrap();
    db.apply_retention().unwrap();
    assert_eq!(all(&db, &[Matcher::equal("job", "a")]).len(), 1);
    let out = db
        .append(&[ss(&l("m", "a"), &[(now - 30_000, 2.0)])])
        .unwrap();
    assert_eq!(out.rejected_total(), 0, "{out:?}");
}
