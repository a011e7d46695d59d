//! Measures one evaluation round: `GROUPS` groups × `RULES` alerting rules over `SERIES`
//! node-like series in MemStorage. Usage: `cargo run --release -p vigia-rules --example
//! eval_round [groups rules series]`.

use std::sync::Arc;
use std::time::Instant;
use vigia_model::ManualClock;
use vigia_model::{Appender, Labels, MemStorage, Sample, SeriesSamples};
use vigia_promql::{Engine, EngineOptions};
use vigia_rules::{ManagerOptions, RuleManager, check_str};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let groups = args.first().copied().unwrap_or(10);
    let rules = args.get(1).copied().unwrap_or(100);
    let series = args.get(2).copied().unwrap_or(10_000);
    let store = Arc::new(MemStorage::new());
    let t_end = 20 * 60_000;
    let batch: Vec<SeriesSamples> = (0..series)
        .map(|i| SeriesSamples {
            labels: Labels::from_pairs([
                ("__name__", "node_load1".to_string()),
                ("instance", format!("host-{}", i / 10)),
                ("cpu", format!("{}", i % 10)),
                ("job", "node".to_string()),
            ]),
            samples: (0..=20)
                .map(|m| Sample::new(m * 60_000, ((i * 7 + m as usize) % 100) as f64))
                .collect(),
        })
        .collect();
    store.append(&batch)?;
    let mut yaml = String::from("groups:\n");
    for g in 0..groups {
        yaml.push_str(&format!("  - name: g{g}\n    interval: 15s\n    rules:\n"));
        for r in 0..rules {
            yaml.push_str(&format!(
                "      - alert: A{g}_{r}\n        expr: node_load1{{cpu=\"{}\"}} > {}\n        for: 5m\n        labels: {{severity: high}}\n        annotations: {{summary: \"{{{{ $labels.instance }}}} at {{{{ $value | humanize }}}}\"}}\n",
                r % 10,
                90 + r % 10
            ));
        }
    }
    let report = check_str(std::path::Path::new("bench.yaml"), &yaml);
    let mgr = RuleManager::new(
        Engine::new(EngineOptions::default()),
        store.clone(),
        store.clone(),
        Arc::new(ManualClock::new(t_end)),
        Arc::new(|_| {}),
    )
    .with_options(ManagerOptions::default());
    for round in 0..3 {
        let t = t_end - (2 - round) * 15_000;
        let start = Instant::now();
        for g in &report.groups {
            let _ = mgr.eval_group_at(g, t);
        }
        println!(
            "round {round}: {} groups x {rules} rules over {series} series: {:.3} s, {} active alerts",
            report.groups.len(),
            start.elapsed().as_secs_f64(),
            mgr.active_alerts().len()
        );
    }
    // The same queries alone, on the same (now larger) store: the rest is the rules' own cost.
    let engine = Engine::new(EngineOptions::default());
    let start = Instant::now();
    for g in &report.groups {
        for r in &g.rules {
            let _ = engine.instant(store.as_ref(), r.expr(), t_end, &Default::default());
        }
    }
    println!(
        "queries alone (same store as round 2): {:.3} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
