//! Engine API tests: results, limits and hostile queries (each must fail with the right error
//! type, never panic).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;
use vigia_model::{
    Appender, ErrorKind, HasKind, Labels, MemStorage, Sample, SeriesSamples, stale_nan,
};
use vigia_promql::{Engine, EngineOptions, QueryError, QueryParams, Value, format_query};

fn store() -> MemStorage {
    let m = MemStorage::new();
    let mut batch = Vec::new();
    for (job, step) in [("a", 1.0), ("b", 2.0)] {
        let labels = Labels::from_pairs([("__name__", "req_total"), ("job", job)]);
        let samples = (0..=60)
            .map(|i| Sample::new(i * 60_000, step * i as f64))
            .collect();
        batch.push(SeriesSamples { labels, samples });
    }
    let labels = Labels::from_pairs([("__name__", "gauge"), ("job", "a")]);
    batch.push(SeriesSamples {
        labels,
        samples: vec![
            Sample::new(0, 1.0),
            Sample::new(60_000, 2.0),
            Sample::new(120_000, stale_nan()),
        ],
    });
    m.append(&batch).unwrap();
    m
}

fn engine() -> Engine {
    Engine::new(EngineOptions::default())
}

fn p() -> QueryParams {
    QueryParams::default()
}

#[test]
fn instant_vector_and_scalar() {
    let s = store();
    let out = engine()
        .instant(&s, "sum(rate(req_total[5m]))", 600_000, &p())
        .unwrap();
    let Value::Vector(v) = out.value else {
        panic!("not a vector")
    };
    assert_eq!(v.len(), 1);
    assert!((v[0].v - 0.05).abs() < 1e-9, "{}", v[0].v);
    assert!(v[0].labels.is_empty());
    let out = engine().instant(&s, "1 + 2 * 3", 0, &p()).unwrap();
    assert_eq!(out.value, Value::Scalar { t: 0, v: 7.0 });
    assert!(out.stats.eval_time > Duration::ZERO || out.stats.samples_loaded == 0);
}

#[test]
fn staleness_marker_ends_series() {
    let s = store();
    let out = engine().instant(&s, "gauge", 90_000, &p()).unwrap();
    let Value::Vector(v) = out.value else {
        panic!()
    };
    assert_eq!(v.len(), 1);
    let out = engine().instant(&s, "gauge", 150_000, &p()).unwrap();
    assert_eq!(out.value, Value::Vector(vec![]));
}

#[test]
fn range_query_matrix() {
    let s = store();
    let out = engine()
        .range(&s, "req_total", 0, 600_000, 60_000, &p())
        .unwrap();
    let Value::Matrix(m) = out.value else {
        panic!()
    };
    assert_eq!(m.len(), 2);
    assert_eq!(m[0].samples.len(), 11);
    assert!(out.stats.samples_loaded > 0);
}

#[test]
fn lookback_override() {
    let s = store();
    // The last sample of gauge before the marker is at 60s; at 100s with a 30s lookback it is gone.
    let q = QueryParams {
        lookback_delta_ms: Some(30_000),
        ..Default::default()
    };
    let out = engine().instant(&s, "gauge", 100_000, &q).unwrap();
    assert_eq!(out.value, Value::Vector(vec![]));
}

#[test]
fn too_many_points() {
    let s = store();
    let e = engine()
        .range(&s, "req_total", 0, 20_000_000, 1_000, &p())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadData);
    assert!(
        e.to_string()
            .contains("exceeded maximum resolution of 11,000 points per timeseries"),
        "{e}"
    );
}

#[test]
fn bad_queries_are_bad_data() {
    let s = store();
    for q in ["sum(", "rate(req_total)", "foo{", "1 +"] {
        let e = engine().instant(&s, q, 0, &p()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BadData, "{q}: {e}");
    }
    let e = engine()
        .range(&s, "req_total[5m]", 0, 60_000, 1_000, &p())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadData);
    let e = engine()
        .range(&s, "req_total", 0, 60_000, 0, &p())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadData);
}

#[test]
fn runtime_errors_are_execution_errors() {
    // Like Prometheus: errors found while evaluating (not parsing) are `execution` errors.
    let s = store();
    for q in [
        "label_replace(req_total, \"\", \"\", \"job\", \"\")",
        "label_replace(req_total, \"x\", \"\", \"job\", \"(\")",
        "topk(NaN, req_total)",
        "count_values(\"\", req_total)",
        "double_exponential_smoothing(req_total[5m], 2, 0.5)",
        "req_total + on() req_total",
    ] {
        let e = engine().instant(&s, q, 60_000, &p()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Execution, "{q}: {e}");
    }
}

#[test]
fn huge_range_selector_is_fine() {
    let s = store();
    let out = engine()
        .instant(&s, "count_over_time(req_total[100000y])", 3_600_000, &p())
        .unwrap();
    let Value::Vector(v) = out.value else {
        panic!()
    };
    assert_eq!(v[0].v, 61.0);
}

#[test]
fn too_many_samples() {
    let s = store();
    let e = Engine::new(EngineOptions {
        max_samples: 50,
        ..Default::default()
    });
    let err = e
        .instant(&s, "sum_over_time(req_total[1h])", 3_600_000, &p())
        .unwrap_err();
    assert!(matches!(err, QueryError::TooManySamples(_)), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Execution);
    // A subquery that would materialise too many points is refused as well.
    let e = Engine::new(EngineOptions {
        max_samples: 1_000,
        ..Default::default()
    });
    let err = e
        .instant(&s, "max_over_time(req_total[1d:1s])", 3_600_000, &p())
        .unwrap_err();
    assert!(matches!(err, QueryError::TooManySamples(_)), "{err:?}");
}

#[test]
fn deep_nested_subquery_times_out() {
    let s = store();
    let q = "max_over_time(max_over_time(max_over_time(req_total[1h:1s])[1h:1s])[1h:1s])";
    let params = QueryParams {
        timeout: Some(Duration::from_millis(50)),
        ..Default::default()
    };
    let err = engine().instant(&s, q, 3_600_000, &params).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
}

#[test]
fn too_deep_subquery_nesting_is_rejected() {
    let s = store();
    let mut q = "req_total".to_string();
    for _ in 0..40 {
        q = format!("max_over_time(({q})[1m:1m])");
    }
    let err = engine().instant(&s, &q, 0, &p()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadData, "{err:?}");
}

#[test]
fn regex_bomb_is_rejected() {
    let s = store();
    let q = r#"req_total{job=~"((((((((((a{1,100}){1,100}){1,100}){1,100}){1,100}){1,100}){1,100}){1,100}){1,100}){1,100})"}"#;
    let err = engine().instant(&s, q, 0, &p()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadData, "{err:?}");
    let q = r#"label_replace(req_total, "x", "$1", "job", "((((((a{1,100}){1,100}){1,100}){1,100}){1,100}){1,100})")"#;
    let err = engine().instant(&s, q, 0, &p()).unwrap_err();
    // Found at evaluation time, as in Prometheus.
    assert_eq!(err.kind(), ErrorKind::Execution, "{err:?}");
}

#[test]
fn many_to_many_error_wording() {
    let s = store();
    let err = engine()
        .instant(&s, "req_total + on() req_total", 60_000, &p())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Execution);
    assert!(
        err.to_string()
            .starts_with("found duplicate series for the match group {} on the right hand-side"),
        "{err}"
    );
}

#[test]
fn annotations() {
    let s = store();
    let out = engine()
        .instant(&s, "rate(gauge[5m])", 60_000, &p())
        .unwrap();
    assert_eq!(
        out.infos,
        vec![
            "PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"gauge\""
        ]
    );
    let out = engine()
        .instant(&s, "quantile(2, req_total)", 60_000, &p())
        .unwrap();
    assert_eq!(
        out.warnings,
        vec!["PromQL warning: quantile value should be between 0 and 1, got 2"]
    );
}

#[test]
fn format_query_prettifies() {
    let f = format_query("sum by (job) (rate(req_total[5m]))").unwrap();
    assert!(f.contains("sum by (job)"), "{f}");
    assert_eq!(format_query("sum(").unwrap_err().kind(), ErrorKind::BadData);
}

#[test]
fn deeply_nested_query_is_rejected_not_crashing() {
    let s = store();
    for depth in [300usize, 100_000] {
        let q = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
        let err = engine().instant(&s, &q, 0, &p()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadData, "{err:?}");
        let q = format!("{}1", "-".repeat(depth * 4));
        let err = engine().instant(&s, &q, 0, &p()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadData, "{err:?}");
    }
    // Moderate nesting still works.
    let q = format!("{}1{}", "(".repeat(50), ")".repeat(50));
    assert_eq!(
        engine().instant(&s, &q, 0, &p()).unwrap().value,
        Value::Scalar { t: 0, v: 1.0 }
    );
}

#[test]
fn long_operator_chains_within_limits_work() {
    let s = store();
    let q = vec!["req_total"; 300].join(" + ");
    let out = engine().instant(&s, &q, 60_000, &p()).unwrap();
    let Value::Vector(v) = out.value else {
        panic!()
    };
    assert_eq!(v.len(), 2);
    let q = format!("{}1{}", "(".repeat(250), ")".repeat(250));
    assert!(engine().instant(&s, &q, 0, &p()).is_ok());
    let q = format!("{}1", "- ".repeat(1000));
    assert!(engine().instant(&s, &q, 0, &p()).is_ok());
    let q = vec!["req_total"; 1000].join(" or ");
    assert!(engine().instant(&s, &q, 60_000, &p()).is_ok());
}

#[test]
fn deep_queries_work_from_small_stack_threads() {
    // Callers such as a 2 MiB blocking-pool thread must not overflow on the deepest admitted query.
    let h = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let s = store();
            let q = format!(
                "{}{}{}",
                "(".repeat(200),
                vec!["req_total"; 1000].join(" + "),
                ")".repeat(200)
            );
            engine().instant(&s, &q, 60_000, &p()).map(|o| o.value)
        })
        .unwrap();
    let Value::Vector(v) = h.join().unwrap().unwrap() else {
        panic!()
    };
    assert_eq!(v.len(), 2);
}

#[test]
fn cancellation() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let s = store();
    let flag = AtomicBool::new(true);
    let err = engine()
        .instant_cancelable(&s, "req_total", 0, &p(), &flag)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Canceled);
    let err = engine()
        .range_cancelable(&s, "req_total", 0, 60_000, 1_000, &p(), &flag)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Canceled);
    // Canceled from another thread while running a query that would otherwise take minutes.
    let flag = AtomicBool::new(false);
    let q = "max_over_time(max_over_time(max_over_time(req_total[1h:1s])[1h:1s])[1h:1s])";
    let err = std::thread::scope(|sc| {
        sc.spawn(|| {
            std::thread::sleep(Duration::from_millis(20));
            flag.store(true, Ordering::Relaxed);
        });
        engine()
            .instant_cancelable(&s, q, 3_600_000, &p(), &flag)
            .unwrap_err()
    });
    assert_eq!(err.kind(), ErrorKind::Canceled, "{err:?}");
    let flag = AtomicBool::new(false);
    assert!(
        engine()
            .instant_cancelable(&s, "req_total", 0, &p(), &flag)
            .is_ok()
    );
}

#[test]
fn many_label_matchers_do_not_count_as_operators() {
    let s = store();
    let matchers: Vec<String> = (0..600).map(|i| format!("l{i}!=\"x\"")).collect();
    let q = format!(
        "req_total{{{}}} + req_total{{{}}}",
        matchers.join(", "),
        matchers.join(", ")
    );
    let out = engine().instant(&s, &q, 60_000, &p()).unwrap();
    let Value::Vector(v) = out.value else {
        panic!()
    };
    assert_eq!(v.len(), 2);
}
