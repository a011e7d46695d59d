//! The anomaly list: filtered events with their insight and a chart of the series around
//! each, the event's window highlighted.

use super::html::{chart_opts, labels_html, panel_px, severity_colour};
use super::{AnomalyData, PageContext};
use crate::charts::{Band, BandKind, ChartSeries, TimeSeriesChart, time_series};
use crate::dashboard::{AnomalyFilter, Panel};
use crate::format::{Unit, esc, format_duration, format_time};
use crate::i18n::{Key, t};
use std::fmt::Write as _;

fn anomaly_rank(s: &str) -> u8 {
    match s {
        "critical" => 3,
        "high" => 2,
        "medium" => 1,
        _ => 0,
    }
}

pub(super) fn render_anomalies(
    panel: &Panel,
    all: &[AnomalyData],
    f: &AnomalyFilter,
    ctx: &PageContext,
) -> String {
    let lang = ctx.lang;
    let list: Vec<&AnomalyData> = all
        .iter()
        .filter(|a| {
            f.severity
                .as_deref()
                .is_none_or(|min| anomaly_rank(&a.severity) >= anomaly_rank(min))
                && f.metric.as_deref().is_none_or(|m| a.metric == m)
                && (!f.active_only || a.active)
        })
        .take(f.limit.max(1))
        .collect();
    if list.is_empty() {
        return format!(r#"<p class="empty">{}</p>"#, esc(t(lang, Key::NoAnomalies)));
    }
    let mut s = String::new();
    for (i, a) in list.iter().enumerate() {
        let end = a.end.unwrap_or(ctx.now);
        w!(
            s,
            r#"<article class="anomaly" data-anomaly="{}"><h4><span class="badge" style="background:{}">{}</span> {} {}</h4>"#,
            esc(&a.id),
            severity_colour(&a.severity),
            esc(&a.severity),
            esc(&a.metric),
            labels_html(&a.labels, &["__name__"])
        );
        w!(
            s,
            r#"<p class="meta">{}: {} · {}: {} · {}: {} · {}: {}</p><p>{}</p>"#,
            esc(t(lang, Key::Start)),
            esc(&format_time(a.start)),
            esc(t(lang, if a.active { Key::Active } else { Key::Ended })),
            esc(&if a.active {
                format_duration(ctx.now - a.start)
            } else {
                format_time(end)
            }),
            esc(t(lang, Key::Pattern)),
            esc(a.pattern.as_deref().unwrap_or("—")),
            esc(t(lang, Key::PeakScore)),
            esc(&crate::format::fmt_num(a.peak_score, 2, lang)),
            esc(&a.insight)
        );
        if !a.excerpt.is_empty() {
            let chart = TimeSeriesChart {
                series: vec![ChartSeries {
                    name: a.metric.clone(),
                    points: a.excerpt.clone(),
                }],
                unit: guess_unit(&a.metric),
                start: f64::NAN,
                end: f64::NAN,
                step: excerpt_step(&a.excerpt),
                area: false,
                thresholds: Vec::new(),
                bands: vec![Band {
                    start: a.start,
                    end,
                    label: a.insight.clone(),
                    kind: BandKind::Anomaly,
                }],
            };
            s.push_str(&time_series(
                &chart,
                &chart_opts(panel, ctx, &format!("-{i}"), panel_px(panel), 200.0),
            ));
        }
        s.push_str("</article>");
    }
    s
}

fn excerpt_step(points: &[(f64, f64)]) -> f64 {
    let mut d: Vec<f64> = points
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .filter(|x| x.is_finite() && *x > 0.0)
        .collect();
    d.sort_by(f64::total_cmp);
    d.get(d.len() / 2).copied().unwrap_or(0.0)
}

/// A unit guessed from a Prometheus metric name's suffix.
pub fn guess_unit(metric: &str) -> Unit {
    if metric.ends_with("_bytes") {
        Unit::Bytes
    } else if metric.ends_with("_seconds") {
        Unit::Seconds
    } else if metric.ends_with("_ratio") || metric.ends_with(":ratio") || metric == "anomaly_score"
    {
        Unit::Ratio
    } else {
        Unit::Plain
    }
}
