//! Rough timing of typical queries over an in-memory store:
//! `cargo run -p vigia-promql --release --example bench_range`.

use std::time::Instant;
use vigia_model::{Appender, Labels, MemStorage, Sample, SeriesSamples};
use vigia_promql::{Engine, EngineOptions, QueryParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = MemStorage::new();
    let series = 1000;
    let points = 24 * 60 * 4; // one day at 15 s
    let mut batch = Vec::new();
    for s in 0..series {
        let labels = Labels::from_pairs([
            ("__name__", "http_requests_total".to_string()),
            ("instance", format!("i{s}")),
            ("job", format!("j{}", s % 10)),
        ]);
        let samples = (0..points)
            .map(|i| Sample::new(i as i64 * 15_000, (i * (s % 7 + 1)) as f64))
            .collect();
        batch.push(SeriesSamples { labels, samples });
    }
    store.append(&batch)?;
    let engine = Engine::new(EngineOptions::default());
    let p = QueryParams::default();
    let day = 86_400_000;
    for (q, step) in [
        ("sum by (job) (rate(http_requests_total[5m]))", 60_000),
        ("http_requests_total", 60_000),
        ("topk(5, rate(http_requests_total[5m]))", 60_000),
        (
            "rate(http_requests_total[5m]) / on(instance, job) group_left rate(http_requests_total[10m])",
            60_000,
        ),
        (
            "max_over_time(rate(http_requests_total{job=\"j1\"}[5m])[1h:1m])",
            300_000,
        ),
    ] {
        let t = Instant::now();
        let out = engine.range(&store, q, 0, day - 1, step, &p)?;
        println!(
            "{q} step {}s: {:?}, samples loaded {}",
            step / 1000,
            t.elapsed(),
            out.stats.samples_loaded
        );
    }
    let t = Instant::now();
    engine.instant(&store, "sum(rate(http_requests_total[5m]))", day - 1, &p)?;
    println!("instant sum(rate(..[5m])): {:?}", t.elapsed());
    let t = Instant::now();
    engine.instant(
        &store,
        "count(count_over_time(http_requests_total[1d]))",
        day - 1,
        &p,
    )?;
    println!(
        "instant count(count_over_time(..[1d])) (loads everything): {:?}",
        t.elapsed()
    );
    Ok(())
}
