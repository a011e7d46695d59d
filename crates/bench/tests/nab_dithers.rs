//! Evaluation dithers: they move only where the detector's discretisation falls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use vigia_ml::{DetectorConfig, new_detector};

/// A deterministic series of 6,000 five-minute steps: a daily wave with a little pseudo-random
/// jitter (an LCG), a spike at 1,500 and a level shift from 2,500.
fn series(n: usize, seed: u64) -> Vec<(i64, f64)> {
    let mut x = seed;
    let mut jitter = move || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 40) as f64 / (1u64 << 24) as f64 - 0.5
    };
    (0..n)
        .map(|i| {
            let wave = (i as f64 * std::f64::consts::TAU / 288.0).cos() * 6.0;
            let event = match i {
                1500 => 55.0,
                i if i >= 2500 => 20.0,
                _ => 0.0,
            };
            (
                1_500_000_000_000 + i as i64 * 300_000,
                40.0 + wave + 3.0 * jitter() + event,
            )
        })
        .collect()
}

fn scores(cfg: &DetectorConfig, data: &[(i64, f64)]) -> Vec<f64> {
    let mut d = new_detector(cfg, 7);
    data.iter().map(|&(t, v)| d.update(t, v)).collect()
}

#[test]
fn evaluation_dithers_move_only_the_discretisation() {
    let cfg = DetectorConfig::default();
    // Dither 0 is the configuration itself, and zero dither settings leave the hash alone.
    assert_eq!(vigia_bench::nab::dithered(&cfg, 0), cfg);
    let json = serde_json::to_string(&cfg).unwrap();
    assert!(!json.contains("phase") && !json.contains("level_offset"));
    let data = series(6000, 3);
    let base = scores(&cfg, &data);
    let mut differs = 0;
    for k in 1..vigia_bench::nab::DITHER_COUNT {
        let d = vigia_bench::nab::dithered(&cfg, k);
        d.validate().unwrap();
        assert_ne!(d.hash(), cfg.hash());
        let s = scores(&d, &data);
        assert_eq!(s.len(), base.len());
        assert!(s.iter().all(|v| (0.0..=1.0).contains(v)));
        differs += usize::from(s != base);
    }
    assert!(differs > 0, "dithers change where boundaries fall");
    let bad = DetectorConfig {
        art: vigia_ml::ArtConfig {
            level_offset: 2.0,
            ..cfg.art.clone()
        },
        ..cfg
    };
    assert!(bad.validate().is_err());
}
