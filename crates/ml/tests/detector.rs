//! Behavioural tests of the streaming detector: causality, scale invariance, snapshot/restore,
//! determinism, responsiveness, and offline CSV scoring.

use std::io::Write as _;

use vigia_ml::{DetectorConfig, MlError, detect_csv, new_detector, restore_detector};

/// A deterministic test series: daily cycle, noise, a spike at 1500 and a level shift at 2500.
fn series(n: usize, seed: u64) -> Vec<(i64, f64)> {
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|i| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let noise = (rng >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let day = (i as f64 * std::f64::consts::TAU / 288.0).sin() * 5.0;
            let spike = if i == 1500 { 60.0 } else { 0.0 };
            let shift = if i >= 2500 { 25.0 } else { 0.0 };
            (
                1_400_000_000_000 + i as i64 * 300_000,
                50.0 + day + 4.0 * noise + spike + shift,
            )
        })
        .collect()
}

fn scores(cfg: &DetectorConfig, data: &[(i64, f64)]) -> Vec<f64> {
    let mut d = new_detector(cfg, 7);
    data.iter().map(|&(t, v)| d.update(t, v)).collect()
}

#[test]
fn scores_are_in_unit_interval_and_flag_injected_anomalies() {
    let cfg = DetectorConfig::default();
    let data = series(4000, 1);
    let s = scores(&cfg, &data);
    assert!(s.iter().all(|x| (0.0..=1.0).contains(x)));
    let quiet_max = s[800..1450].iter().copied().fold(0.0, f64::max);
    let spike_max = s[1500..1505].iter().copied().fold(0.0, f64::max);
    let shift_max = s[2500..2520].iter().copied().fold(0.0, f64::max);
    assert!(
        spike_max > quiet_max,
        "spike {spike_max} vs quiet {quiet_max}"
    );
    assert!(
        shift_max > quiet_max,
        "shift {shift_max} vs quiet {quiet_max}"
    );
}

#[test]
fn causal_future_samples_never_change_past_scores() {
    let cfg = DetectorConfig::default();
    let data = series(3000, 2);
    let base = scores(&cfg, &data);
    for cut in [1, 100, 1499, 2000, 2999] {
        let mut changed = data.clone();
        for (k, p) in changed.iter_mut().enumerate().skip(cut) {
            p.1 = if k % 2 == 0 { -1e6 } else { 1e9 };
        }
        let other = scores(&cfg, &changed);
        assert_eq!(base[..cut], other[..cut], "scores before {cut} changed");
    }
}

#[test]
fn scale_and_offset_invariant() {
    let cfg = DetectorConfig::default();
    let data = series(4000, 3);
    let base = scores(&cfg, &data);
    for (a, b) in [(1000.0, 12345.0), (0.001, -7.0), (1000.0, -1e6)] {
        let scaled: Vec<(i64, f64)> = data.iter().map(|&(t, v)| (t, a * v + b)).collect();
        let other = scores(&cfg, &scaled);
        for (i, (x, y)) in base.iter().zip(&other).enumerate() {
            assert!((x - y).abs() <= 1e-6, "row {i}: {x} vs {y} for a={a} b={b}");
        }
    }
}

#[test]
fn snapshot_restore_continues_identically() {
    let cfg = DetectorConfig::default();
    let data = series(4000, 4);
    let full = scores(&cfg, &data);
    for cut in [0, 1, 10, 1501, 3000] {
        let mut d = new_detector(&cfg, 7);
        for &(t, v) in &data[..cut] {
            d.update(t, v);
        }
        let bytes = d.snapshot();
        let mut r = restore_detector(&cfg, &bytes).unwrap();
        assert_eq!(
            r.snapshot(),
            bytes,
            "restore then snapshot round-trips exactly"
        );
        let rest: Vec<f64> = data[cut..].iter().map(|&(t, v)| r.update(t, v)).collect();
        assert_eq!(full[cut..], rest[..], "diverged after restore at {cut}");
        for &(t, v) in &data[cut..] {
            d.update(t, v);
        }
        assert_eq!(r.snapshot(), d.snapshot(), "final states equal");
    }
}

#[test]
fn restore_rejects_bad_snapshots() {
    let cfg = DetectorConfig::default();
    let mut d = new_detector(&cfg, 1);
    d.update(0, 1.0);
    let bytes = d.snapshot();
    assert!(matches!(
        restore_detector(&cfg, &bytes[..bytes.len() - 1]),
        Err(MlError::Snapshot(_))
    ));
    assert!(matches!(
        restore_detector(&cfg, b"junk"),
        Err(MlError::Snapshot(_))
    ));
    let other = DetectorConfig {
        slow_window: cfg.slow_window * 2.0,
        ..cfg.clone()
    };
    assert!(matches!(
        restore_detector(&other, &bytes),
        Err(MlError::Snapshot(_))
    ));
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(restore_detector(&cfg, &extra).is_err());
}

#[test]
fn deterministic_for_a_seed() {
    let cfg = DetectorConfig::default();
    let data = series(3000, 5);
    assert_eq!(scores(&cfg, &data), scores(&cfg, &data));
}

#[test]
fn config_hash_is_stable_and_sensitive() {
    let cfg = DetectorConfig::default();
    let h = cfg.hash();
    assert_eq!(h.len(), 12);
    assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(h, DetectorConfig::default().hash());
    let other = DetectorConfig {
        warmup_samples: cfg.warmup_samples + 1,
        ..cfg.clone()
    };
    assert_ne!(h, other.hash());
    cfg.validate().unwrap();
    assert!(
        DetectorConfig {
            slow_window: 0.0,
            ..cfg
        }
        .validate()
        .is_err()
    );
}

#[test]
fn constant_and_non_finite_inputs_are_handled() {
    let cfg = DetectorConfig::default();
    let mut d = new_detector(&cfg, 0);
    for i in 0..2000 {
        assert_eq!(
            d.update(i, 3.0),
            0.0,
            "constant series must not be anomalous"
        );
    }
    let before = d.snapshot();
    let s = d.update(2000, f64::NAN);
    assert!((0.0..=1.0).contains(&s));
    assert_eq!(d.snapshot(), before, "NaN must not change the state");
    // The detector may score once per downsampled block: the change registers within a few
    // samples.
    let jump = (2001..2021).map(|t| d.update(t, 4.0)).fold(0.0, f64::max);
    assert!(
        jump > 0.5,
        "first change after a flat line is surprising: {jump}"
    );
}

fn write_csv(body: &str) -> std::io::Result<tempfile::NamedTempFile> {
    let mut f = tempfile::NamedTempFile::new()?;
    f.write_all(body.as_bytes())?;
    Ok(f)
}

#[test]
fn detect_csv_scores_every_row_and_warns() {
    let mut body = String::from("timestamp,value\n");
    for i in 0..300 {
        body.push_str(&format!(
            "2014-04-01 {:02}:{:02}:00,{}\n",
            i / 60 % 24,
            i % 60,
            (i % 7) as f64
        ));
    }
    body.push_str("2014-04-01 04:59:00,3\n"); // duplicate of the previous timestamp
    body.push_str("2014-04-01 04:00:00,3\n"); // out of order
    body.push_str("2014-04-01 09:00:00,3\n"); // gap
    body.push_str("1396342860,4\n"); // epoch seconds: 2014-04-01 09:01:00
    body.push_str("2014-04-01T09:02:00Z,5\n");
    let f = write_csv(&body).unwrap();
    let mut out = Vec::new();
    let rep = detect_csv(f.path(), &mut out, &DetectorConfig::default()).unwrap();
    assert_eq!(rep.rows, 305);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "timestamp,value,anomaly_score");
    assert_eq!(lines.len(), 306);
    assert_eq!(lines[1].split(',').count(), 3);
    let lines_warned: Vec<usize> = rep.warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines_warned, vec![302, 303, 304], "{:?}", rep.warnings);
    assert!(rep.warnings[0].message.contains("duplicate"));
    assert!(rep.warnings[1].message.contains("out-of-order"));
    assert!(rep.warnings[2].message.contains("gap"));
}

#[test]
fn detect_csv_reports_malformed_rows_with_line_numbers() {
    let cases = [
        (
            "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,abc\n",
            3,
        ),
        ("timestamp,value\n2014-04-01 00:00:00,1\nyesterday,2\n", 3),
        (
            "timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00,2\n2014-04-01 00:10:00\n",
            4,
        ),
        ("timestamp,value\n2014-04-01 00:00:00,NaN\n", 2),
        ("2014-04-01 00:00:00,1\n", 1),
    ];
    for (body, line) in cases {
        let f = write_csv(body).unwrap();
        let mut out = Vec::new();
        match detect_csv(f.path(), &mut out, &DetectorConfig::default()) {
            Err(MlError::Parse { line: l, .. }) => assert_eq!(l, line, "{body:?}"),
            other => panic!("expected a parse error at line {line} for {body:?}, got {other:?}"),
        }
    }
}

#[test]
fn invalid_configurations_are_rejected() {
    DetectorConfig::default().validate().unwrap();
    for bad in [
        DetectorConfig {
            surprise_sd_floor: 0.0,
            ..DetectorConfig::default()
        },
        DetectorConfig {
            surprise_sd_floor: f64::NAN,
            ..DetectorConfig::default()
        },
        DetectorConfig {
            pattern_len: 0,
            ..DetectorConfig::default()
        },
        DetectorConfig {
            suppress_level: 1.5,
            ..DetectorConfig::default()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
}
