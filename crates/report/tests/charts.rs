//! Chart geometry: parse the SVG, map drawn points back through the chart's scales, and
//! compare with the input data.

#![allow(clippy::unwrap_used)]

use vigia_report::charts::*;
use vigia_report::{Lang, Unit};

fn parse(svg: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("invalid SVG: {e}\n{svg}"))
}

fn no_bad_numbers(svg: &str) {
    for bad in ["NaN", "inf", "Infinity"] {
        assert!(!svg.contains(bad), "{bad} in {svg}");
    }
}

fn scales(doc: &roxmltree::Document) -> Scales {
    let root = doc.root_element();
    let plot: Vec<f64> = root
        .attribute("data-plot")
        .unwrap()
        .split(' ')
        .map(|x| x.parse().unwrap())
        .collect();
    let a = |n: &str| root.attribute(n).unwrap().parse::<f64>().unwrap();
    Scales {
        x: plot[0],
        y: plot[1],
        w: plot[2],
        h: plot[3],
        t0: a("data-t0"),
        t1: a("data-t1"),
        v0: a("data-v0"),
        v1: a("data-v1"),
    }
}

fn path_points(d: &str) -> Vec<(f64, f64)> {
    d.split_whitespace()
        .filter(|p| p.starts_with('M') || p.starts_with('L'))
        .map(|p| {
            let (x, y) = p[1..].split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect()
}

fn series_paths(doc: &roxmltree::Document, i: usize) -> Vec<Vec<(f64, f64)>> {
    doc.descendants()
        .filter(|n| n.attribute("data-series") == Some(&i.to_string()))
        .flat_map(|g| {
            g.children()
                .filter(|c| c.attribute("class") == Some("line"))
        })
        .map(|p| path_points(p.attribute("d").unwrap()))
        .collect()
}

const T0: f64 = 1_795_460_000.0;

#[test]
fn lines_map_back_to_data_within_half_a_pixel() {
    let a: Vec<(f64, f64)> = (0..60)
        .map(|i| (T0 + i as f64 * 60.0, 100.0 + (i as f64 * 0.3).sin() * 40.0))
        .collect();
    let b: Vec<(f64, f64)> = (0..60)
        .map(|i| (T0 + i as f64 * 60.0, i as f64 * 3.7))
        .collect();
    let chart = TimeSeriesChart {
        series: vec![
            ChartSeries {
                name: "a".into(),
                points: a.clone(),
            },
            ChartSeries {
                name: "b".into(),
                points: b.clone(),
            },
        ],
        unit: Unit::Count,
        start: T0,
        end: T0 + 3600.0,
        step: 60.0,
        ..Default::default()
    };
    let svg = time_series(&chart, &ChartOptions::default());
    no_bad_numbers(&svg);
    let doc = parse(&svg);
    let sc = scales(&doc);
    for (i, data) in [(0, &a), (1, &b)] {
        let paths = series_paths(&doc, i);
        assert_eq!(paths.len(), 1);
        assert_eq!(paths[0].len(), data.len());
        for ((x, y), (t, v)) in paths[0].iter().zip(data.iter()) {
            let t_back = sc.t0 + (x - sc.x) / sc.w * (sc.t1 - sc.t0);
            let v_back = sc.v0 + (sc.y + sc.h - y) / sc.h * (sc.v1 - sc.v0);
            let px_per_s = sc.w / (sc.t1 - sc.t0);
            let px_per_v = sc.h / (sc.v1 - sc.v0);
            assert!((t_back - t).abs() * px_per_s <= 0.5, "t {t} vs {t_back}");
            assert!((v_back - v).abs() * px_per_v <= 0.5, "v {v} vs {v_back}");
        }
    }
    // Value ticks are monotone and inside the plot; time ticks likewise.
    let ys: Vec<f64> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text") && n.attribute("data-value").is_some())
        .map(|n| n.attribute("y").unwrap().parse().unwrap())
        .collect();
    assert!(ys.len() >= 3);
    assert!(ys.windows(2).all(|w| w[0] > w[1]), "{ys:?}");
    assert!(
        ys.iter()
            .all(|y| *y >= sc.y - 0.01 && *y <= sc.y + sc.h + 0.01)
    );
    let xs: Vec<f64> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text") && n.attribute("data-time").is_some())
        .map(|n| n.attribute("x").unwrap().parse().unwrap())
        .collect();
    assert!(xs.len() >= 3);
    assert!(xs.windows(2).all(|w| w[0] < w[1]));
    assert!(
        xs.iter()
            .all(|x| *x >= sc.x - 0.01 && *x <= sc.x + sc.w + 0.01)
    );
    // Each value tick label sits at the pixel of its value.
    for n in doc
        .descendants()
        .filter(|n| n.attribute("data-value").is_some() && n.has_tag_name("text"))
    {
        let v: f64 = n.attribute("data-value").unwrap().parse().unwrap();
        let y: f64 = n.attribute("y").unwrap().parse().unwrap();
        assert!((sc.py(v) - y).abs() <= 0.5);
    }
    // Deterministic.
    assert_eq!(svg, time_series(&chart, &ChartOptions::default()));
}

#[test]
fn gaps_split_lines_at_nan_and_missing_steps() {
    let mut pts: Vec<(f64, f64)> = (0..10).map(|i| (T0 + i as f64 * 15.0, i as f64)).collect();
    pts[4].1 = f64::NAN; // gap
    pts.retain(|(t, _)| *t != T0 + 7.0 * 15.0); // one missing sample: not a gap (≤ 2 × step)
    pts.push((T0 + 20.0 * 15.0, 3.0)); // 11 steps later: a gap
    pts.push((T0 + 21.0 * 15.0, f64::INFINITY));
    pts.push((T0 + 22.0 * 15.0, f64::NEG_INFINITY));
    let chart = TimeSeriesChart {
        series: vec![ChartSeries {
            name: "x".into(),
            points: pts,
        }],
        start: T0,
        end: T0 + 400.0,
        step: 15.0,
        ..Default::default()
    };
    let svg = time_series(&chart, &ChartOptions::default());
    no_bad_numbers(&svg);
    let doc = parse(&svg);
    let paths = series_paths(&doc, 0);
    // runs: [0..4), [5,6,8,9], and the lone point at 20 drawn as a circle
    assert_eq!(paths.len(), 2, "{svg}");
    assert_eq!(paths[0].len(), 4);
    assert_eq!(paths[1].len(), 4);
    assert_eq!(
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("point"))
            .count(),
        1
    );
}

#[test]
fn thresholds_and_bands_are_drawn_where_they_belong() {
    let pts: Vec<(f64, f64)> = (0..100)
        .map(|i| (T0 + i as f64 * 60.0, 0.01 * (i % 7) as f64))
        .collect();
    let chart = TimeSeriesChart {
        series: vec![ChartSeries {
            name: "errors".into(),
            points: pts,
        }],
        unit: Unit::Ratio,
        start: T0,
        end: T0 + 6000.0,
        step: 60.0,
        area: true,
        thresholds: vec![Threshold {
            value: 0.2,
            label: "2 %".into(),
        }],
        bands: vec![
            Band {
                start: T0 + 600.0,
                end: T0 + 1200.0,
                label: "spike".into(),
                kind: BandKind::Anomaly,
            },
            Band {
                start: T0 + 5000.0,
                end: T0 + 99999.0,
                label: "firing".into(),
                kind: BandKind::Alert,
            },
            Band {
                start: T0 - 9000.0,
                end: T0 - 5000.0,
                label: "before".into(),
                kind: BandKind::Alert,
            },
        ],
    };
    let svg = time_series(&chart, &ChartOptions::default());
    let doc = parse(&svg);
    let sc = scales(&doc);
    // threshold above the data widens the domain to include it
    assert!(sc.v1 >= 0.2);
    let th = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("threshold"))
        .unwrap();
    let line = th.children().find(|n| n.has_tag_name("line")).unwrap();
    let y: f64 = line.attribute("y1").unwrap().parse().unwrap();
    assert!((y - sc.py(0.2)).abs() <= 0.5);
    let bands: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("band"))
        .collect();
    assert_eq!(bands.len(), 2, "the band before the range is not drawn");
    let r = bands[0]
        .children()
        .find(|n| n.has_tag_name("rect"))
        .unwrap();
    let x: f64 = r.attribute("x").unwrap().parse().unwrap();
    let w: f64 = r.attribute("width").unwrap().parse().unwrap();
    assert!((x - sc.px(T0 + 600.0)).abs() <= 0.5);
    assert!((x + w - sc.px(T0 + 1200.0)).abs() <= 0.5);
    // clipped at the end of the range
    let r = bands[1]
        .children()
        .find(|n| n.has_tag_name("rect"))
        .unwrap();
    let x: f64 = r.attribute("x").unwrap().parse().unwrap();
    let w: f64 = r.attribute("width").unwrap().parse().unwrap();
    assert!((x + w - (sc.x + sc.w)).abs() <= 0.5);
    assert!(
        doc.descendants()
            .any(|n| n.attribute("class") == Some("area"))
    );
    // percent labels on the value axis
    assert!(
        doc.descendants()
            .any(|n| n.text().is_some_and(|t| t.ends_with(" %")))
    );
}

#[test]
fn empty_and_degenerate_input_never_panics() {
    let cases = vec![
        TimeSeriesChart::default(),
        TimeSeriesChart {
            series: vec![ChartSeries {
                name: "n".into(),
                points: vec![(T0, f64::NAN), (T0 + 1.0, f64::INFINITY)],
            }],
            start: T0,
            end: T0 + 10.0,
            ..Default::default()
        },
        TimeSeriesChart {
            series: vec![ChartSeries {
                name: "out of range".into(),
                points: vec![(T0 - 100.0, 1.0)],
            }],
            start: T0,
            end: T0 + 10.0,
            ..Default::default()
        },
        TimeSeriesChart {
            series: vec![ChartSeries {
                name: "nan time".into(),
                points: vec![(f64::NAN, 1.0)],
            }],
            start: f64::NAN,
            end: f64::INFINITY,
            ..Default::default()
        },
    ];
    for c in &cases {
        for lang in [Lang::En, Lang::Es] {
            let svg = time_series(
                c,
                &ChartOptions {
                    lang,
                    ..Default::default()
                },
            );
            no_bad_numbers(&svg);
            let doc = parse(&svg);
            let msg = doc
                .descendants()
                .find(|n| n.attribute("class") == Some("no-data"))
                .unwrap();
            assert_eq!(
                msg.text(),
                Some(if lang == Lang::En {
                    "No data"
                } else {
                    "Sin datos"
                })
            );
        }
    }
    // a single point, constant values, zero-length range: a chart, not "no data"
    let c = TimeSeriesChart {
        series: vec![ChartSeries {
            name: "one".into(),
            points: vec![(T0, 5.0)],
        }],
        start: T0,
        end: T0,
        ..Default::default()
    };
    let svg = time_series(&c, &ChartOptions::default());
    no_bad_numbers(&svg);
    let doc = parse(&svg);
    assert!(
        doc.descendants()
            .any(|n| n.attribute("class") == Some("point"))
    );
    for svg in [
        bar_chart(&[], Unit::Count, &ChartOptions::default()),
        bar_chart(
            &[Bar {
                label: "x".into(),
                value: f64::NAN,
            }],
            Unit::Count,
            &ChartOptions::default(),
        ),
        funnel(&[], Unit::Count, &ChartOptions::default()),
        sparkline(&[], &ChartOptions::default()),
        sparkline(&[(T0, f64::NAN)], &ChartOptions::default()),
        attainment_bar(None, "no_data", &ChartOptions::default()),
        attainment_bar(Some(f64::INFINITY), "ok", &ChartOptions::default()),
    ] {
        no_bad_numbers(&svg);
        parse(&svg);
    }
}

#[test]
fn labels_are_escaped() {
    let c = TimeSeriesChart {
        series: vec![ChartSeries {
            name: "<script>alert(1)</script>".into(),
            points: vec![(T0, 1.0), (T0 + 60.0, 2.0)],
        }],
        start: T0,
        end: T0 + 60.0,
        step: 60.0,
        ..Default::default()
    };
    let o = ChartOptions {
        title: "a & <b>".into(),
        id: "x\"y".into(),
        ..Default::default()
    };
    for svg in [
        time_series(&c, &o),
        bar_chart(
            &[Bar {
                label: "<script>".into(),
                value: 1.0,
            }],
            Unit::Count,
            &o,
        ),
        funnel(
            &[FunnelStep {
                label: "<script>".into(),
                value: 1.0,
            }],
            Unit::Count,
            &o,
        ),
        sparkline(&[(T0, 1.0)], &o),
    ] {
        assert!(!svg.contains("<script>"), "{svg}");
        parse(&svg);
    }
}

#[test]
fn bars_are_sorted_and_proportional() {
    let bars = vec![
        Bar {
            label: "social".into(),
            value: 120.0,
        },
        Bar {
            label: "email".into(),
            value: 480.0,
        },
        Bar {
            label: "ads".into(),
            value: 240.0,
        },
        Bar {
            label: "broken".into(),
            value: f64::NAN,
        },
    ];
    let svg = bar_chart(&bars, Unit::Count, &ChartOptions::default());
    no_bad_numbers(&svg);
    let doc = parse(&svg);
    let gs: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("bar"))
        .collect();
    assert_eq!(gs.len(), 3);
    let vals: Vec<f64> = gs
        .iter()
        .map(|g| g.attribute("data-value").unwrap().parse().unwrap())
        .collect();
    assert_eq!(vals, vec![480.0, 240.0, 120.0]);
    let widths: Vec<f64> = gs
        .iter()
        .map(|g| {
            g.children()
                .find(|n| n.has_tag_name("rect"))
                .unwrap()
                .attribute("width")
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    for (w, v) in widths.iter().zip(&vals) {
        assert!((w / widths[0] - v / 480.0).abs() < 0.01);
    }
    let texts: Vec<&str> = gs
        .iter()
        .filter_map(|g| {
            g.children()
                .filter(|n| n.has_tag_name("text"))
                .nth(1)?
                .text()
        })
        .collect();
    assert_eq!(texts, vec!["480", "240", "120"]);
}

#[test]
fn funnel_shows_step_ratios() {
    let steps = vec![
        FunnelStep {
            label: "Registrations".into(),
            value: 2000.0,
        },
        FunnelStep {
            label: "Attendance".into(),
            value: 1700.0,
        },
        FunnelStep {
            label: "Engagement".into(),
            value: 1275.0,
        },
        FunnelStep {
            label: "Conversions".into(),
            value: 425.0,
        },
    ];
    let svg = funnel(
        &steps,
        Unit::Count,
        &ChartOptions {
            lang: Lang::Es,
            ..Default::default()
        },
    );
    no_bad_numbers(&svg);
    let doc = parse(&svg);
    let gs: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("step"))
        .collect();
    assert_eq!(gs.len(), 4);
    let widths: Vec<f64> = gs
        .iter()
        .map(|g| {
            g.children()
                .find(|n| n.has_tag_name("rect"))
                .unwrap()
                .attribute("width")
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!((widths[1] / widths[0] - 0.85).abs() < 0.01);
    assert!(svg.contains("85,0 % del paso anterior"), "{svg}");
    assert!(svg.contains("33,3 % del paso anterior"));
}

#[test]
fn sparkline_and_attainment_geometry() {
    let svg = sparkline(
        &[(0.0, 1.0), (1.0, 3.0), (2.0, 2.0)],
        &ChartOptions {
            width: 104.0,
            height: 24.0,
            ..Default::default()
        },
    );
    let doc = parse(&svg);
    let d = doc
        .descendants()
        .find(|n| n.has_tag_name("path"))
        .unwrap()
        .attribute("d")
        .unwrap();
    let pts = path_points(d);
    assert_eq!(pts, vec![(2.0, 22.0), (52.0, 2.0), (102.0, 12.0)]);
    let svg = attainment_bar(
        Some(0.75),
        "critical",
        &ChartOptions {
            width: 150.0,
            height: 10.0,
            ..Default::default()
        },
    );
    let doc = parse(&svg);
    let fill = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("fill"))
        .unwrap();
    assert_eq!(fill.attribute("width"), Some("75"));
    assert!(
        doc.root_element()
            .attribute("aria-label")
            .unwrap()
            .contains("75.0 %")
    );
}

#[test]
fn colours_have_readable_contrast() {
    for c in PALETTE {
        let r = contrast(c, BACKGROUND).unwrap();
        assert!(r >= 3.0, "{c}: {r}");
    }
    for s in ["ok", "warning", "critical", "no_data"] {
        let r = contrast(status_colour(s), BACKGROUND).unwrap();
        assert!(r >= 4.5, "{s}: {r}");
    }
    for c in [TEXT, MUTED_TEXT, THRESHOLD] {
        assert!(contrast(c, BACKGROUND).unwrap() >= 4.5, "{c}");
    }
    // palette colours are distinct
    let mut p = PALETTE.to_vec();
    p.dedup();
    assert_eq!(p.len(), PALETTE.len());
}

#[test]
fn time_axis_spans_five_minutes_to_thirty_days() {
    for range in [300.0, 3600.0, 86400.0, 7.0 * 86400.0, 30.0 * 86400.0] {
        let step = range / 200.0;
        let pts: Vec<(f64, f64)> = (0..=200)
            .map(|i| (T0 + i as f64 * step, i as f64))
            .collect();
        let c = TimeSeriesChart {
            series: vec![ChartSeries {
                name: "s".into(),
                points: pts,
            }],
            start: T0,
            end: T0 + range,
            step,
            ..Default::default()
        };
        let svg = time_series(&c, &ChartOptions::default());
        let doc = parse(&svg);
        let ticks: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("data-time").is_some())
            .collect();
        assert!(
            ticks.len() >= 2 && ticks.len() <= 12,
            "{range}: {}",
            ticks.len()
        );
        let sc = scales(&doc);
        for n in ticks {
            let t: f64 = n.attribute("data-time").unwrap().parse().unwrap();
            let x: f64 = n.attribute("x").unwrap().parse().unwrap();
            assert!((sc.px(t) - x).abs() <= 0.5);
        }
    }
}
