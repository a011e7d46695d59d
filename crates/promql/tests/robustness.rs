//! Robustness: every query of the shared promqltest scripts, plus odd hand-written ones, is run
//! as instant and range query at unusual times; results may be errors but must never panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;
use vigia_model::{Appender, Labels, MemStorage, Sample, SeriesSamples, stale_nan};
use vigia_promql::{Engine, EngineOptions, QueryParams};

fn store() -> MemStorage {
    let m = MemStorage::new();
    let mut batch = Vec::new();
    for (i, name) in [
        "http_requests",
        "metric",
        "foo",
        "data",
        "x_bucket",
        "testcounter_reset_middle_total",
    ]
    .iter()
    .enumerate()
    {
        for j in 0..3 {
            let le = ["0.1", "1", "+Inf"][j];
            let labels = Labels::from_pairs([
                ("__name__", name.to_string()),
                ("job", format!("j{j}")),
                ("le", le.to_string()),
                ("instance", format!("{i}")),
            ]);
            let samples = (0..40)
                .map(|k| {
                    let v = match k % 13 {
                        5 => f64::NAN,
                        7 => f64::INFINITY,
                        11 => stale_nan(),
                        _ => (k * (j + 1)) as f64 - 3.0,
                    };
                    Sample::new(k as i64 * 30_000, v)
                })
                .collect();
            batch.push(SeriesSamples { labels, samples });
        }
    }
    m.append(&batch).unwrap();
    m
}

fn queries() -> Vec<String> {
    let mut qs: Vec<String> = [
        "topk(1e300, http_requests)",
        "bottomk(-1e300, http_requests)",
        "limitk(1e20, metric)",
        "limit_ratio(NaN, metric)",
        "http_requests offset 100000y",
        "http_requests offset -100000y",
        "http_requests @ 1e15",
        "http_requests @ -1e15",
        "rate(http_requests[1ms])",
        "rate(http_requests[100000y] @ 0)",
        "quantile_over_time(NaN, http_requests[5m])",
        "round(http_requests, 0)",
        "histogram_quantile(0.5, http_requests)",
        "histogram_quantile(0.5, x_bucket)",
        "histogram_fraction(-Inf, +Inf, x_bucket)",
        "histogram_quantiles(x_bucket, \"q\", 0, 0.5, 1, 2, NaN)",
        "predict_linear(http_requests[5m], 1e308)",
        "label_join(http_requests, \"a\", \"\")",
        "absent(nonexistent) / 0",
        "-http_requests ^ 2",
        "count_values(\"job\", http_requests)",
        "sum by (le) (http_requests) / on(le) group_left(job) http_requests",
        "http_requests / on(job) group_right(instance) metric",
        "http_requests and on() vector(1)",
        "vector(1) or vector(2)",
        "sort_by_label_desc(http_requests, \"job\", \"nope\")",
        "double_exponential_smoothing(http_requests[10m], 0.1, 0.9)",
        "max_over_time(rate(http_requests[5m])[10m:1ms])",
        "min_over_time(http_requests[1m:7s] offset 3s @ 100)",
        "scalar(http_requests) * time()",
        "day_of_week(vector(1e300))",
        "year(vector(-1e12))",
        "timestamp(http_requests @ end())",
        "changes(foo[1h]) + resets(foo[1h])",
        "mad_over_time(data[30m]) + stddev_over_time(data[30m])",
        "ts_of_max_over_time(metric[30m]) - ts_of_min_over_time(metric[30m])",
        "first_over_time(metric[30m]) == bool last_over_time(metric[30m])",
        "{__name__=~\".+\"}",
        "{__name__=~\".+\"} unless on(__name__) metric",
        "sum without (__name__, job) ({__name__=~\".+\"})",
        "label_replace({__name__=~\".+\"}, \"__name__\", \"x\", \"job\", \"(.*)\")",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/promqltest");
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let Ok(text) = std::fs::read_to_string(e.path()) else {
                continue;
            };
            for line in text.lines() {
                let Some(rest) = line.strip_prefix("eval") else {
                    continue;
                };
                let q = if let Some(i) = rest.find(" at ") {
                    rest[i + 4..].trim().split_once(' ').map(|x| x.1)
                } else if let Some(i) = rest.find(" step ") {
                    rest[i + 6..].trim().split_once(' ').map(|x| x.1)
                } else {
                    None
                };
                if let Some(q) = q {
                    qs.push(q.to_string());
                }
            }
        }
    }
    qs
}

#[test]
fn no_query_panics() {
    let s = store();
    let engine = Engine::new(EngineOptions {
        max_samples: 200_000,
        ..Default::default()
    });
    let p = QueryParams {
        timeout: Some(Duration::from_secs(5)),
        ..Default::default()
    };
    let qs = queries();
    assert!(qs.len() > 40);
    let (mut ok, mut err) = (0, 0);
    for q in &qs {
        for t in [0, 1, 599_999, 1_200_000, -60_000] {
            match engine.instant(&s, q, t, &p) {
                Ok(_) => ok += 1,
                Err(_) => err += 1,
            }
        }
        for (a, b, st) in [
            (0, 1_200_000, 60_000),
            (-300_000, 300_000, 7_000),
            (1_000, 1_000, 1),
        ] {
            match engine.range(&s, q, a, b, st, &p) {
                Ok(_) => ok += 1,
                Err(_) => err += 1,
            }
        }
    }
    eprintln!("{} queries: {ok} ok, {err} errors", qs.len());
    assert!(ok > err);
}
