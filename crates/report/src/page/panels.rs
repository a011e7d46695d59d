//! One panel's inner HTML (what a `panel` SSE event carries): time series (with anomaly
//! windows and alert firing spans as bands), funnels, bars and tables; KPI, alert and anomaly
//! panels have their own files.

use super::alerts::render_alerts;
use super::anomalies::render_anomalies;
use super::html::{chart_opts, no_data, panel_px, query_error};
use super::kpis::render_kpis;
use super::{DashboardData, InstantSample, LabelSet, PageContext, QueryResult};
use crate::charts::{
    Band, BandKind, Bar, ChartSeries, FunnelStep, Threshold, TimeSeriesChart, bar_chart, funnel,
    time_series,
};
use crate::dashboard::{FunnelStepSpec, Panel, PanelKind, SeriesQuery};
use crate::format::{Unit, esc, format_value};
use crate::i18n::{Key, Lang, t};
use std::fmt::Write as _;

/// Applies a legend template (`{{instance}}`, `{{ route }}`) to labels; an empty template
/// gives `name{a="b"}`.
pub fn legend(template: &str, labels: &LabelSet) -> String {
    if template.trim().is_empty() {
        let name = labels.get("__name__").cloned().unwrap_or_default();
        let rest: Vec<String> = labels
            .iter()
            .filter(|(k, _)| k.as_str() != "__name__")
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        return if rest.is_empty() {
            if name.is_empty() { "{}".into() } else { name }
        } else {
            format!("{name}{{{}}}", rest.join(", "))
        };
    }
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find("}}") {
            Some(j) => {
                let key = after[..j].trim().trim_start_matches('.');
                out.push_str(labels.get(key).map(String::as_str).unwrap_or(""));
                rest = &after[j + 2..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The inner HTML of one panel (what a `panel` SSE event carries).
pub fn render_panel(panel: &Panel, data: &DashboardData, ctx: &PageContext) -> String {
    let lang = ctx.lang;
    match &panel.kind {
        PanelKind::Kpi { kpis } => render_kpis(&panel.id, kpis, data, lang),
        PanelKind::TimeSeries {
            queries,
            unit,
            thresholds,
            area,
            alert_bands,
        } => {
            let (series, errors) = chart_series(panel, queries, data, ctx);
            let chart = TimeSeriesChart {
                series,
                unit: *unit,
                start: ctx.range.start,
                end: ctx.range.end,
                step: ctx.range.step,
                area: *area,
                thresholds: thresholds
                    .iter()
                    .map(|th| Threshold {
                        value: th.value,
                        label: th.label.get(lang).to_string(),
                    })
                    .collect(),
                bands: anomaly_bands(queries.iter().map(|q| q.expr.as_str()), data, ctx)
                    .into_iter()
                    .chain(firing_bands(alert_bands, data, ctx))
                    .collect(),
            };
            let w = panel_px(panel);
            errors + &time_series(&chart, &chart_opts(panel, ctx, "", w, 280.0))
        }
        PanelKind::Funnel { steps, unit } => funnel_panel(panel, steps, *unit, data, ctx),
        PanelKind::Bar { by, unit, .. } => match data.get(&panel.id, 0) {
            Some(QueryResult::Instant(v)) if !v.is_empty() => {
                let bars: Vec<Bar> = v
                    .iter()
                    .map(|s| Bar {
                        label: s.labels.get(by).cloned().unwrap_or_else(|| "—".into()),
                        value: s.value,
                    })
                    .collect();
                bar_chart(
                    &bars,
                    *unit,
                    &chart_opts(panel, ctx, "", panel_px(panel), 200.0),
                )
            }
            Some(QueryResult::Error(e)) => query_error(lang, e),
            _ => no_data(lang),
        },
        PanelKind::Table { columns, unit, .. } => match data.get(&panel.id, 0) {
            Some(QueryResult::Instant(v)) if !v.is_empty() => render_table(v, columns, *unit, lang),
            Some(QueryResult::Error(e)) => query_error(lang, e),
            _ => no_data(lang),
        },
        PanelKind::Alerts { filter } => render_alerts(&data.alerts, filter, lang),
        PanelKind::Anomalies { filter } => render_anomalies(panel, &data.anomalies, filter, ctx),
    }
}

/// The series of a time-series panel's queries, named by their legend templates (an instant
/// result gives one point at the end of the range), and the HTML of the queries that failed.
fn chart_series(
    panel: &Panel,
    queries: &[SeriesQuery],
    data: &DashboardData,
    ctx: &PageContext,
) -> (Vec<ChartSeries>, String) {
    let mut series = Vec::new();
    let mut errors = String::new();
    for (i, q) in queries.iter().enumerate() {
        match data.get(&panel.id, i) {
            Some(QueryResult::Range(list)) => {
                for sd in list {
                    series.push(ChartSeries {
                        name: legend(&q.legend, &sd.labels),
                        points: sd.points.clone(),
                    });
                }
            }
            Some(QueryResult::Instant(list)) => {
                for s in list {
                    series.push(ChartSeries {
                        name: legend(&q.legend, &s.labels),
                        points: vec![(ctx.range.end, s.value)],
                    });
                }
            }
            Some(QueryResult::Error(e)) => errors.push_str(&query_error(ctx.lang, e)),
            None => {}
        }
    }
    (series, errors)
}

/// A funnel panel: each step's value is the sum of its query's samples; failed queries are
/// shown above the chart, and "no data" when no step has a value.
fn funnel_panel(
    panel: &Panel,
    steps: &[FunnelStepSpec],
    unit: Unit,
    data: &DashboardData,
    ctx: &PageContext,
) -> String {
    let lang = ctx.lang;
    let mut errors = String::new();
    let fsteps: Vec<FunnelStep> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| FunnelStep {
            label: s.label.get(lang).to_string(),
            value: match data.get(&panel.id, i) {
                Some(QueryResult::Instant(v)) if !v.is_empty() => v.iter().map(|x| x.value).sum(),
                Some(QueryResult::Error(e)) => {
                    errors.push_str(&query_error(lang, e));
                    f64::NAN
                }
                _ => f64::NAN,
            },
        })
        .collect();
    if fsteps.iter().all(|s| !s.value.is_finite()) {
        return errors + &no_data(lang);
    }
    errors
        + &funnel(
            &fsteps,
            unit,
            &chart_opts(panel, ctx, "", panel_px(panel), 200.0),
        )
}

/// Anomaly windows of the metrics an expression reads (matched by metric name), as bands.
fn anomaly_bands<'a>(
    exprs: impl Iterator<Item = &'a str>,
    data: &DashboardData,
    ctx: &PageContext,
) -> Vec<Band> {
    let exprs: Vec<&str> = exprs.collect();
    let mentions = |metric: &str| {
        !metric.is_empty()
            && exprs.iter().any(|e| {
                e.match_indices(metric).any(|(i, _)| {
                    let before = e[..i].chars().next_back();
                    let after = e[i + metric.len()..].chars().next();
                    let word = |c: Option<char>| {
                        c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                    };
                    !word(before) && !word(after)
                })
            })
    };
    data.anomalies
        .iter()
        .filter(|a| mentions(&a.metric))
        .filter(|a| a.start <= ctx.range.end && a.end.unwrap_or(ctx.now) >= ctx.range.start)
        .take(20)
        .map(|a| Band {
            start: a.start,
            end: a.end.unwrap_or(ctx.now),
            label: format!("{} {}", legend("", &a.labels), a.insight),
            kind: BandKind::Anomaly,
        })
        .collect()
}

/// Firing spans of the named alerts (pending and silenced alerts are not drawn).
fn firing_bands(names: &[String], data: &DashboardData, ctx: &PageContext) -> Vec<Band> {
    if names.is_empty() {
        return Vec::new();
    }
    data.alerts
        .iter()
        .filter(|a| {
            a.labels
                .get("alertname")
                .is_some_and(|n| names.iter().any(|x| x == n))
                && matches!(a.state.as_str(), "firing" | "acknowledged" | "resolved")
        })
        .filter_map(|a| {
            let end = if a.state == "resolved" {
                a.ends_at?
            } else {
                ctx.now
            };
            (a.starts_at <= ctx.range.end && end >= ctx.range.start).then(|| Band {
                start: a.starts_at,
                end,
                label: legend("", &a.labels),
                kind: BandKind::Alert,
            })
        })
        .take(20)
        .collect()
}

fn render_table(v: &[InstantSample], columns: &[String], unit: Unit, lang: Lang) -> String {
    let cols: Vec<String> = if columns.is_empty() {
        let mut set = std::collections::BTreeSet::new();
        for s in v {
            for k in s.labels.keys() {
                if k != "__name__" {
                    set.insert(k.clone());
                }
            }
        }
        set.into_iter().collect()
    } else {
        columns.to_vec()
    };
    let mut rows: Vec<&InstantSample> = v.iter().collect();
    rows.sort_by(|a, b| {
        b.value
            .total_cmp(&a.value)
            .then_with(|| a.labels.cmp(&b.labels))
    });
    let mut s = String::from("<table><thead><tr>");
    for c in &cols {
        w!(s, r#"<th scope="col">{}</th>"#, esc(c));
    }
    w!(
        s,
        r#"<th scope="col" class="num">{}</th></tr></thead><tbody>"#,
        esc(t(lang, Key::Value))
    );
    for r in rows {
        s.push_str("<tr>");
        for c in &cols {
            w!(
                s,
                "<td>{}</td>",
                esc(r.labels.get(c).map(String::as_str).unwrap_or(""))
            );
        }
        w!(
            s,
            r#"<td class="num">{}</td></tr>"#,
            esc(&format_value(r.value, unit, lang))
        );
    }
    s.push_str("</tbody></table>");
    s
}
