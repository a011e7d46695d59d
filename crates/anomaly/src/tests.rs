//! Tests of the engine through its public interface: scoring, events and insights, warm-up,
//! reconfiguration and restarts.

use super::*;
use std::path::Path;
use std::sync::Arc;
use vigia_model::{
    AnomalyFeed, Appender, Labels, Matcher, MemStorage, Querier, Sample, SeriesSamples, Severity,
};

fn engine(dir: &Path, store: Arc<MemStorage>) -> Arc<AnomalyEngine> {
    let cfg = LiveConfig {
        selectors: vec![vec![Matcher::equal("__name__", "latency")]],
        ..Default::default()
    };
    AnomalyEngine::new(store, dir, cfg).unwrap()
}

fn series(name: &str, t: i64, v: f64) -> SeriesSamples {
    SeriesSamples {
        labels: Labels::from_pairs([("__name__", name), ("instance", "web-3")]),
        samples: vec![Sample::new(t, v)],
    }
}

#[test]
fn new_detector_settings_reset_detectors_and_close_open_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemStorage::new());
    let eng = engine(dir.path(), store.clone());
    let mut t = 1_700_000_000_000i64;
    for i in 0..2000 {
        eng.append(&[series("latency", t, 100.0 + ((i * 37) % 11) as f64)])
            .unwrap();
        t += 60_000;
    }
    let open = |eng: &AnomalyEngine| {
        eng.events(0, i64::MAX, Severity::Low)
            .into_iter()
            .filter(|e| e.end_ms.is_none())
            .count()
    };
    // The detector scores once per downsampled block: the spike registers when its
    // block closes, a few samples later.
    eng.append(&[series("latency", t, 5000.0)]).unwrap();
    for i in 0..16 {
        if open(&eng) > 0 {
            break;
        }
        t += 60_000;
        eng.append(&[series("latency", t, 100.0 + ((i * 37) % 11) as f64)])
            .unwrap();
    }
    assert_eq!(open(&eng), 1, "the spike opens an event");
    let same = LiveConfig {
        selectors: vec![vec![Matcher::equal("__name__", "latency")]],
        ..Default::default()
    };
    assert!(
        !eng.reconfigure(same.clone()),
        "same settings keep detectors"
    );
    assert_eq!(eng.series_count(), 1);
    assert_eq!(open(&eng), 1);
    // Another detector configuration: its first numeric setting changed.
    let mut other = same;
    let mut json = serde_json::to_value(&other.detector).unwrap();
    let first = json
        .as_object_mut()
        .unwrap()
        .values_mut()
        .find(|v| v.is_f64() || v.is_u64())
        .unwrap();
    *first = serde_json::json!(first.as_f64().unwrap() * 2.0 + 1.0);
    other.detector = serde_json::from_value(json).unwrap();
    assert_ne!(other.detector.hash(), eng.config_hash());
    assert!(eng.reconfigure(other), "new detector settings reset");
    assert_eq!(eng.series_count(), 0);
    assert_eq!(open(&eng), 0, "open events are closed");
    let warmed = eng.warm_up(store.as_ref(), t + 1).unwrap();
    assert!(warmed > 1000, "{warmed}");
    assert_eq!(eng.series_count(), 1);
    let reopened = engine(dir.path(), store);
    assert_eq!(open(&reopened), 0, "the closing is durable");
}

#[test]
fn spike_becomes_score_series_and_event() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemStorage::new());
    let eng = engine(dir.path(), store.clone());
    let mut t = 1_700_000_000_000i64;
    for i in 0..2000 {
        let v = 100.0 + ((i * 37) % 11) as f64; // steady, mildly noisy
        eng.append(&[series("latency", t, v), series("other", t, v)])
            .unwrap();
        t += 60_000;
    }
    for _ in 0..10 {
        eng.append(&[series("latency", t, 900.0)]).unwrap();
        t += 60_000;
    }
    for i in 0..40 {
        eng.append(&[series("latency", t, 100.0 + ((i * 37) % 11) as f64)])
            .unwrap();
        t += 60_000;
    }
    let scores: Vec<_> = store
        .select(&[Matcher::equal("__name__", SCORE_METRIC)], 0, i64::MAX)
        .unwrap()
        .map(|s| s.unwrap())
        .collect();
    assert_eq!(scores.len(), 1, "only the selected series is scored");
    assert_eq!(scores[0].labels.get("metric"), Some("latency"));
    assert_eq!(scores[0].labels.get("instance"), Some("web-3"));
    assert_eq!(scores[0].samples.len(), 2050);
    let events = eng.events(0, i64::MAX, Severity::Low);
    assert!(!events.is_empty(), "the spike opened an event");
    let e = &events[0];
    assert!(e.end_ms.is_some(), "and it closed: {e:?}");
    assert!(e.peak_score >= 0.7);
    assert!(e.insight.contains("latency on web-3"), "{}", e.insight);
    // Events survive a restart.
    drop(eng);
    let again = engine(dir.path(), Arc::new(MemStorage::new()));
    assert_eq!(again.events(0, i64::MAX, Severity::Low).len(), events.len());
}

#[test]
fn insight_compares_with_recent_behaviour_and_the_same_hour_on_earlier_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemStorage::new());
    let eng = engine(dir.path(), store.clone());
    eng.set_history(store.clone());
    // Three days of a daily cycle at one sample a minute, then a jump to four times the
    // usual level that lasts 20 minutes.
    let day = 1440;
    let level = |i: usize| {
        let phase = (i % day) as f64 / day as f64 * std::f64::consts::TAU;
        100.0 + 20.0 * phase.sin() + ((i * 37) % 11) as f64 * 0.2
    };
    let t0 = 1_700_000_000_000i64;
    let mut i = 0;
    while i < 3 * day + 300 {
        eng.append(&[series("latency", t0 + i as i64 * 60_000, level(i))])
            .unwrap();
        i += 1;
    }
    for _ in 0..20 {
        eng.append(&[series("latency", t0 + i as i64 * 60_000, 4.0 * level(i))])
            .unwrap();
        i += 1;
    }
    for _ in 0..60 {
        eng.append(&[series("latency", t0 + i as i64 * 60_000, level(i))])
            .unwrap();
        i += 1;
    }
    let events = eng.events(0, i64::MAX, Severity::Low);
    let e = events
        .iter()
        .find(|e| e.start_ms >= t0 + (3 * day as i64 + 300) * 60_000)
        .expect("the jump opened an event");
    assert!(e.end_ms.is_some(), "closed: {e:?}");
    assert!(
        e.insight.starts_with("latency on web-3 rose to "),
        "{}",
        e.insight
    );
    assert!(
        e.insight.contains("compared with its recent behaviour"),
        "{}",
        e.insight
    );
    assert!(
        e.insight.contains("its usual level for this hour ("),
        "seasonal comparison: {}",
        e.insight
    );
    // Without history access there is no seasonal clause.
    let dir2 = tempfile::tempdir().unwrap();
    let eng2 = engine(dir2.path(), Arc::new(MemStorage::new()));
    for k in 0..(3 * day + 380) {
        let v = if (3 * day + 300..3 * day + 320).contains(&k) {
            4.0 * level(k)
        } else {
            level(k)
        };
        eng2.append(&[series("latency", t0 + k as i64 * 60_000, v)])
            .unwrap();
    }
    let ev2 = eng2.events(0, i64::MAX, Severity::Low);
    assert!(!ev2.is_empty());
    assert!(ev2.iter().all(|e| !e.insight.contains("for this hour")));
}

#[test]
fn a_stuck_series_becomes_an_event_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let eng = engine(dir.path(), Arc::new(MemStorage::new()));
    let t0 = 1_700_000_000_000i64;
    let v = |i: i64| 100.0 + ((i * 37) % 11) as f64 + (i as f64 * 0.3).sin();
    for i in 0..3000 {
        // Moving until sample 2000, then stuck at the last value.
        eng.append(&[series("latency", t0 + i * 60_000, v(i.min(2000)))])
            .unwrap();
    }
    let events = eng.events(0, i64::MAX, Severity::Low);
    let stuck = events
        .iter()
        .find(|e| e.start_ms > t0 + 2000 * 60_000)
        .expect("the stuck run opened an event");
    assert!(
        stuck.start_ms < t0 + 2200 * 60_000,
        "soon after it began: {stuck:?}"
    );
    assert_eq!(
        stuck.pattern.as_deref(),
        Some("variance_change"),
        "{stuck:?}"
    );
    assert!(
        stuck.insight.contains("stopped moving"),
        "{}",
        stuck.insight
    );
}

#[test]
fn bands_order() {
    let b = Bands::default();
    assert_eq!(b.severity(0.5), None);
    assert_eq!(b.severity(0.75), Some(Severity::Low));
    assert_eq!(b.severity(0.99), Some(Severity::Critical));
    assert!(
        Bands {
            low: 0.9,
            medium: 0.8,
            high: 0.95,
            critical: 0.99
        }
        .validate()
        .is_err()
    );
}

#[test]
fn warm_up_reads_history_without_writing_scores() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemStorage::new());
    let mut t = 1_700_000_000_000i64;
    for i in 0..100 {
        store
            .append(&[series("latency", t, 100.0 + (i % 3) as f64)])
            .unwrap();
        t += 60_000;
    }
    let eng = engine(dir.path(), store.clone());
    assert_eq!(eng.warm_up(store.as_ref(), t).unwrap(), 100);
    assert_eq!(eng.series_count(), 1);
    assert!(
        store
            .select(&[Matcher::equal("__name__", SCORE_METRIC)], 0, i64::MAX)
            .unwrap()
            .next()
            .is_none()
    );
}
