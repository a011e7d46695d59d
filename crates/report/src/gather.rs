//! Gathering what a dashboard shows: its panels' PromQL results, its KPIs with their recent
//! history, the alert list and the anomaly events with a chart excerpt of each, from the
//! [`Sources`] the caller hands in. Rendering is [`crate::page`]'s job; serving is the server's.

use crate::dashboard::{Dashboard, PanelKind, QueryKind};
use crate::kpi::{KpiConfig, KpiValue};
use crate::page::{
    AlertData, AnomalyData, DashboardData, InstantSample, PageContext, QueryResult, SeriesData,
};
use std::collections::BTreeMap;
use vigia_model::{AnomalyFeed, Labels, Matcher, Querier};
use vigia_promql::{Engine, QueryParams, Value};

/// Most anomaly events given a chart excerpt per page.
const MAX_EXCERPTS: usize = 12;

/// Where the data comes from.
pub struct Sources<'a> {
    /// The PromQL engine.
    pub engine: &'a Engine,
    /// Stored series.
    pub querier: &'a dyn Querier,
    /// The `kpis:` section.
    pub kpis: &'a [KpiConfig],
    /// The alerts to list (routing's alerts and the rules' pending ones), when asked for.
    pub alerts: &'a dyn Fn() -> Vec<AlertData>,
    /// Anomaly events, when detection runs.
    pub anomalies: Option<&'a dyn AnomalyFeed>,
}

pub(crate) fn labels_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|x| (x.name.to_string(), x.value.to_string()))
        .collect()
}

/// Options of the dashboard's `label_values` variables, from storage.
pub fn variable_options(
    s: &Sources<'_>,
    d: &Dashboard,
    now_ms: i64,
) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for (var, series, label) in d.label_value_lookups() {
        let matchers = vec![Matcher::equal("__name__", series)];
        let values = s
            .querier
            .label_values(label, &matchers, now_ms - 7 * 86_400_000, now_ms)
            .unwrap_or_default();
        out.insert(var.to_string(), values);
    }
    out
}

fn query_result(s: &Sources<'_>, expr: &str, kind: QueryKind, ctx: &PageContext) -> QueryResult {
    let p = QueryParams::default();
    let (start, end) = (
        (ctx.range.start * 1000.0) as i64,
        (ctx.range.end * 1000.0) as i64,
    );
    let step = ((ctx.range.step * 1000.0) as i64).max(1000);
    let out = match kind {
        QueryKind::Instant => s.engine.instant(s.querier, expr, end, &p),
        QueryKind::Range => s.engine.range(s.querier, expr, start, end, step, &p),
    };
    match out {
        Err(e) => QueryResult::Error(e.to_string()),
        Ok(o) => match o.value {
            Value::Scalar { v, .. } => QueryResult::Instant(vec![InstantSample {
                labels: BTreeMap::new(),
                value: v,
            }]),
            Value::String { .. } => QueryResult::Error("a string is not a chartable value".into()),
            Value::Vector(v) => QueryResult::Instant(
                v.iter()
                    .map(|x| InstantSample {
                        labels: labels_map(&x.labels),
                        value: x.v,
                    })
                    .collect(),
            ),
            Value::Matrix(m) => QueryResult::Range(
                m.iter()
                    .map(|x| SeriesData {
                        labels: labels_map(&x.labels),
                        points: x
                            .samples
                            .iter()
                            .map(|p| (p.t as f64 / 1000.0, p.v))
                            .collect(),
                    })
                    .collect(),
            ),
        },
    }
}

fn kpis(s: &Sources<'_>, d: &Dashboard, ctx: &PageContext) -> Vec<KpiValue> {
    let wanted = d.kpi_names();
    if wanted.is_empty() {
        return Vec::new();
    }
    let end_ms = (ctx.range.end * 1000.0) as i64;
    s.kpis
        .iter()
        .filter(|k| wanted.contains(k.name.as_str()))
        .map(|k| {
            let mut data = crate::kpi::evaluate(s.engine, s.querier, k, end_ms);
            if let QueryResult::Range(series) = query_result(s, &k.expr, QueryKind::Range, ctx)
                && let Some(first) = series.into_iter().next()
            {
                data.history = first.points;
            }
            data
        })
        .collect()
}

fn anomalies(s: &Sources<'_>, ctx: &PageContext) -> Vec<AnomalyData> {
    let Some(feed) = s.anomalies else {
        return Vec::new();
    };
    let (start, end) = (
        (ctx.range.start * 1000.0) as i64,
        (ctx.range.end * 1000.0) as i64,
    );
    feed.events(start, end, vigia_model::Severity::Low)
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let excerpt = if i < MAX_EXCERPTS {
                excerpt(s, &e.labels, e.start_ms, e.end_ms.unwrap_or(end))
            } else {
                Vec::new()
            };
            AnomalyData {
                id: e.id,
                metric: e.metric,
                labels: labels_map(&e.labels),
                start: e.start_ms as f64 / 1000.0,
                end: e.end_ms.map(|t| t as f64 / 1000.0),
                active: e.end_ms.is_none(),
                peak_score: e.peak_score,
                peak_at: e.peak_ms as f64 / 1000.0,
                severity: serde_json::to_value(e.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                pattern: e.pattern,
                insight: e.insight,
                excerpt,
            }
        })
        .collect()
}

/// The source series from three times the event's length (at least an hour) before it to as
/// long after.
fn excerpt(s: &Sources<'_>, labels: &Labels, start_ms: i64, end_ms: i64) -> Vec<(f64, f64)> {
    let pad = ((end_ms - start_ms) * 3).max(3_600_000);
    let matchers: Vec<Matcher> = labels
        .iter()
        .map(|l| Matcher::equal(&l.name, &l.value))
        .collect();
    let Ok(set) = s
        .querier
        .select(&matchers, start_ms - pad, end_ms + pad / 3)
    else {
        return Vec::new();
    };
    set.filter_map(Result::ok)
        .next()
        .map(|series| {
            series
                .samples
                .iter()
                .filter(|p| p.v.is_finite())
                .map(|p| (p.t as f64 / 1000.0, p.v))
                .collect()
        })
        .unwrap_or_default()
}

/// Everything the dashboard's panels show.
pub fn gather(s: &Sources<'_>, d: &Dashboard, ctx: &PageContext) -> DashboardData {
    let mut data = DashboardData::default();
    for q in d.queries(&ctx.variables, &ctx.range) {
        let r = query_result(s, &q.expr, q.kind, ctx);
        data.set(&q.panel_id, q.index, r);
    }
    data.kpis = kpis(s, d, ctx);
    let kinds: Vec<&PanelKind> = d.panels().map(|p| &p.kind).collect();
    if kinds.iter().any(|k| matches!(k, PanelKind::Alerts { .. })) {
        data.alerts = (s.alerts)();
    }
    if kinds
        .iter()
        .any(|k| matches!(k, PanelKind::Anomalies { .. }))
    {
        data.anomalies = anomalies(s, ctx);
    }
    data
}
