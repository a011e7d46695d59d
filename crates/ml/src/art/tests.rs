//! Unit tests of the adaptive-resonance detector.

use super::encode::haar;
use super::*;

#[test]
fn haar_of_a_constant_is_one_coefficient() {
    let mut v = vec![1.0; 8];
    haar(&mut v);
    assert!((v[0] - 8f64.sqrt()).abs() < 1e-12);
    assert!(v[1..].iter().all(|x| x.abs() < 1e-12));
}

#[test]
fn a_stuck_series_is_flagged_and_a_constant_one_never() {
    let cfg = ArtConfig::default();
    let noisy = |i: u64| ((i as f64) * 0.7).sin() + ((i * 37) % 11) as f64 * 0.1;
    // Moving, then stuck at its last value from sample 3000 on.
    let mut d = ArtDetector::new(&cfg);
    let mut flagged = Vec::new();
    for i in 0..4000u64 {
        let x = noisy(i.min(3000));
        if d.update(x) > 0.0 {
            flagged.push(i);
        }
    }
    let span = u64::from(cfg.downsample() * cfg.window);
    assert!(
        flagged
            .iter()
            .any(|&i| (3000..3000 + 2 * span).contains(&i)),
        "stuck run flagged soon after one window: {flagged:?}"
    );
    assert!(
        flagged.iter().filter(|&&i| i > 3000).count() <= 2,
        "{flagged:?}"
    );
    // A series that never moved has no usual movement to lose.
    let mut c = ArtDetector::new(&cfg);
    assert!((0..4000).all(|_| c.update(5.0) == 0.0));
    // Runs as long as those of the learning period are familiar: the same flags as with
    // the check switched off.
    let off = ArtConfig {
        flat_factor: 0.0,
        ..cfg.clone()
    };
    off.validate().unwrap();
    let stepped = |i: u64| ((i / 40) % 5) as f64;
    let (mut on_d, mut off_d) = (ArtDetector::new(&cfg), ArtDetector::new(&off));
    for i in 0..4000u64 {
        assert_eq!(
            on_d.update(stepped(i)),
            off_d.update(stepped(i)),
            "sample {i}"
        );
    }
    let bad = ArtConfig {
        flat_factor: 0.5,
        ..cfg
    };
    assert!(bad.validate().is_err());
}

#[test]
fn a_spike_after_a_regular_stretch_is_flagged_once() {
    let mut d = ArtDetector::new(&ArtConfig::default());
    let mut flagged = Vec::new();
    for i in 0..6000u64 {
        let base = ((i as f64) * std::f64::consts::TAU / 288.0).sin();
        let x = if (4000..4006).contains(&i) { 8.0 } else { base };
        if d.update(x) > 0.0 {
            flagged.push(i);
        }
    }
    assert!(
        flagged.iter().any(|&i| (4000..4020).contains(&i)),
        "spike flagged: {flagged:?}"
    );
    assert!(flagged.len() <= 3, "few flags: {flagged:?}");
}
