//! The live dashboards: pages rendered by `vigia-report` from data gathered here (PromQL
//! results, KPIs, alerts, anomalies), and Server-Sent Events that push re-rendered panels.

use crate::AppState;
use crate::error::{ApiError, ErrorKind};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use vigia_model::{Labels, Matcher};
use vigia_promql::{QueryParams, Value};
use vigia_report::dashboard::{Dashboard, PanelKind, QueryKind};
use vigia_report::page::{
    self, AlertData, AnomalyData, DashboardData, InstantSample, KpiData, NavItem, PageContext,
    QueryResult, SeriesData,
};

/// Most anomaly events given a chart excerpt per page.
const MAX_EXCERPTS: usize = 12;

fn labels_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|x| (x.name.to_string(), x.value.to_string()))
        .collect()
}

fn now_s() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

fn nav(s: &AppState) -> Vec<NavItem> {
    s.settings().dashboards.iter().map(NavItem::of).collect()
}

fn find(s: &AppState, name: &str) -> Result<Dashboard, ApiError> {
    s.settings()
        .dashboards
        .iter()
        .find(|d| d.name == name)
        .cloned()
        .ok_or_else(|| ApiError::new(ErrorKind::NotFound, format!("no dashboard named {name:?}")))
}

/// Options of the dashboard's `label_values` variables, from storage.
fn variable_options(s: &AppState, d: &Dashboard, now_ms: i64) -> BTreeMap<String, Vec<String>> {
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

fn context(
    s: &AppState,
    d: Option<&Dashboard>,
    params: &BTreeMap<String, String>,
    headers: &HeaderMap,
) -> PageContext {
    let now = now_s();
    let accept = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let options = d
        .map(|d| variable_options(s, d, (now * 1000.0) as i64))
        .unwrap_or_default();
    PageContext::from_request(d, params, accept, now, nav(s), options)
}

fn query_result(s: &AppState, expr: &str, kind: QueryKind, ctx: &PageContext) -> QueryResult {
    let p = QueryParams::default();
    let (start, end) = (
        (ctx.range.start * 1000.0) as i64,
        (ctx.range.end * 1000.0) as i64,
    );
    let step = ((ctx.range.step * 1000.0) as i64).max(1000);
    let out = match kind {
        QueryKind::Instant => s.engine.instant(s.querier.as_ref(), expr, end, &p),
        QueryKind::Range => s
            .engine
            .range(s.querier.as_ref(), expr, start, end, step, &p),
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

fn kpis(s: &AppState, d: &Dashboard, ctx: &PageContext) -> Vec<KpiData> {
    let wanted = d.kpi_names();
    if wanted.is_empty() {
        return Vec::new();
    }
    let settings = s.settings();
    let end_ms = (ctx.range.end * 1000.0) as i64;
    settings
        .kpis
        .iter()
        .filter(|k| wanted.contains(k.name.as_str()))
        .map(|k| {
            let v = crate::kpi::evaluate(&s.engine, s.querier.as_ref(), k, end_ms);
            let mut data: KpiData = serde_json::to_value(&v)
                .ok()
                .and_then(|j| serde_json::from_value(j).ok())
                .unwrap_or_default();
            if let QueryResult::Range(series) = query_result(s, &k.expr, QueryKind::Range, ctx)
                && let Some(first) = series.into_iter().next()
            {
                data.history = first.points;
            }
            data
        })
        .collect()
}

fn alerts(s: &AppState) -> Vec<AlertData> {
    let now = now_s();
    let mut out: Vec<AlertData> = Vec::new();
    if let Some(hub) = &s.alerting {
        for a in hub.alerts(&vigia_notify::AlertFilter::default()) {
            let secs = |t: &str| {
                vigia_notify::api::parse_time(t)
                    .ok()
                    .flatten()
                    .map(|t| t as f64 / 1000.0)
            };
            let ends_at = secs(&a.ends_at);
            let ended = ends_at.is_some_and(|t| t <= now);
            let state = if a.vigia.resolved.is_some() || ended {
                "resolved"
            } else if !a.status.silenced_by.is_empty() {
                "silenced"
            } else if a.vigia.ack.is_some() {
                "acknowledged"
            } else {
                "firing"
            };
            let who = a.vigia.resolved.as_ref().or(a.vigia.ack.as_ref());
            out.push(AlertData {
                severity: a
                    .vigia
                    .escalated_severity
                    .clone()
                    .or_else(|| a.labels.get("severity").cloned())
                    .unwrap_or_default(),
                fingerprint: a.fingerprint.clone(),
                state: state.into(),
                starts_at: secs(&a.starts_at).unwrap_or(0.0),
                ends_at: if state == "resolved" { ends_at } else { None },
                ack_by: who.map(|n| n.by.clone()),
                ack_note: who.map(|n| n.note.clone()),
                escalation_level: a.vigia.escalation_level,
                labels: a.labels,
                annotations: a.annotations,
            });
        }
    }
    // Pending alerts live only in the rule manager until their `for` has elapsed.
    if let Some(rules) = &s.rules {
        for a in rules
            .active_alerts()
            .into_iter()
            .filter(|a| a.state == vigia_model::AlertState::Pending)
        {
            out.push(AlertData {
                fingerprint: a.fingerprint_hex(),
                severity: a.labels.get("severity").cloned().unwrap_or_default(),
                state: "pending".into(),
                starts_at: a.active_at_ms as f64 / 1000.0,
                labels: a.labels,
                annotations: a.annotations,
                ..AlertData::default()
            });
        }
    }
    out
}

fn anomalies(s: &AppState, ctx: &PageContext) -> Vec<AnomalyData> {
    let Some(feed) = &s.anomalies else {
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
fn excerpt(s: &AppState, labels: &Labels, start_ms: i64, end_ms: i64) -> Vec<(f64, f64)> {
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
pub fn gather(s: &AppState, d: &Dashboard, ctx: &PageContext) -> DashboardData {
    let mut data = DashboardData::default();
    for q in d.queries(&ctx.variables, &ctx.range) {
        let r = query_result(s, &q.expr, q.kind, ctx);
        data.set(&q.panel_id, q.index, r);
    }
    data.kpis = kpis(s, d, ctx);
    let kinds: Vec<&PanelKind> = d.panels().map(|p| &p.kind).collect();
    if kinds.iter().any(|k| matches!(k, PanelKind::Alerts { .. })) {
        data.alerts = alerts(s);
    }
    if kinds
        .iter()
        .any(|k| matches!(k, PanelKind::Anomalies { .. }))
    {
        data.anomalies = anomalies(s, ctx);
    }
    data
}

/// `GET /dashboards`: the list of dashboards.
pub async fn index(
    State(s): State<Arc<AppState>>,
    Query(params): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let ctx = context(&s, None, &params, &headers);
    Html(page::render_index(&ctx)).into_response()
}

/// `GET /d/{name}`: one dashboard, rendered with current data.
pub async fn dashboard(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let d = find(&s, &name)?;
    let st = s.clone();
    let html = tokio::task::spawn_blocking(move || {
        let ctx = context(&st, Some(&d), &params, &headers);
        let data = gather(&st, &d, &ctx);
        page::render_dashboard(&d, &data, &ctx)
    })
    .await
    .map_err(|_| ApiError::internal("dashboard task failed"))?;
    Ok(Html(html).into_response())
}

/// `GET /api/v1/dashboards/{name}/events`: Server-Sent Events; every refresh interval the
/// panels whose HTML changed are sent as `panel` events (`{"id": …, "html": …}`).
pub async fn events(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    Query(params): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let d = find(&s, &name)?;
    let period = std::time::Duration::from_secs_f64(d.refresh.clamp(1.0, 3600.0));
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(16);
    tokio::spawn(async move {
        let mut last: BTreeMap<String, String> = BTreeMap::new();
        let mut first = true;
        loop {
            if !first {
                tokio::time::sleep(period).await;
            }
            // The page went away (nothing may have changed, so no send would notice).
            if tx.is_closed() {
                return;
            }
            let (st, d2, p2, h2) = (s.clone(), d.clone(), params.clone(), headers.clone());
            let rendered = tokio::task::spawn_blocking(move || {
                let ctx = context(&st, Some(&d2), &p2, &h2);
                let data = gather(&st, &d2, &ctx);
                d2.panels()
                    .map(|p| (p.id.clone(), page::render_panel(p, &data, &ctx)))
                    .collect::<Vec<_>>()
            })
            .await;
            let Ok(panels) = rendered else { return };
            for (id, html) in panels {
                // The page was rendered with the same data a moment ago: only send changes.
                if first {
                    last.insert(id, html);
                    continue;
                }
                if last.get(&id) == Some(&html) {
                    continue;
                }
                let payload = page::panel_event(&id, &html);
                if tx
                    .send(Ok(Event::default().event("panel").data(payload)))
                    .await
                    .is_err()
                {
                    return;
                }
                last.insert(id, html);
            }
            first = false;
        }
    });
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}
