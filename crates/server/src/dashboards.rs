//! The live dashboards over HTTP: pages that `vigia-report` gathers and renders, the alert list
//! it is given (routing's alerts and the rules' pending ones, converted here from the API
//! shapes), and Server-Sent Events that push re-rendered panels.

use crate::AppState;
use crate::error::{ApiError, ErrorKind};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use vigia_report::dashboard::Dashboard;
use vigia_report::gather;
use vigia_report::page::{self, AlertData, DashboardData, NavItem, PageContext};

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
        .map(|d| gather::variable_options(&sources(s, &|| Vec::new()), d, (now * 1000.0) as i64))
        .unwrap_or_default();
    PageContext::from_request(d, params, accept, now, nav(s), options)
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

/// Where `vigia-report` gathers dashboard data from.
fn sources<'a>(s: &'a AppState, alerts: &'a dyn Fn() -> Vec<AlertData>) -> gather::Sources<'a> {
    gather::Sources {
        engine: &s.engine,
        querier: s.querier.as_ref(),
        kpis: &[],
        alerts,
        anomalies: s.anomalies.as_deref(),
    }
}

/// Everything the dashboard's panels show.
fn gather(s: &AppState, d: &Dashboard, ctx: &PageContext) -> DashboardData {
    let settings = s.settings();
    let list = || alerts(s);
    let src = gather::Sources {
        kpis: &settings.kpis,
        ..sources(s, &list)
    };
    gather::gather(&src, d, ctx)
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
