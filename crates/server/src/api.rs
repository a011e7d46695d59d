//! Route table of the HTTP API and helpers shared by the handlers.

mod admin;
mod alerting;
mod query;
mod read;
mod rules;
mod write;

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::params::Params;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

/// All routes; the caller adds middleware and state.
pub fn routes(_state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(index))
        .route("/dashboards", get(crate::dashboards::index))
        .route("/d/{name}", get(crate::dashboards::dashboard))
        .route(
            "/api/v1/dashboards/{name}/events",
            get(crate::dashboards::events),
        )
        .route("/-/healthy", get(healthy).head(healthy))
        .route("/-/ready", get(ready).head(ready))
        .route("/-/reload", post(reload).put(reload))
        .route("/metrics", get(metrics))
        // ingest
        .route("/api/v1/write", post(write::remote_write))
        .route("/write", post(write::influx))
        .route("/api/v2/write", post(write::influx))
        .route("/api/v1/import", post(write::vm_import))
        .route("/api/v1/import/prometheus", post(write::text_import))
        .route("/api/v1/events", post(write::events))
        // read
        .route("/api/v1/export", get(read::export).post(read::export))
        .route("/api/v1/series", get(read::series).post(read::series))
        .route("/api/v1/labels", get(read::labels).post(read::labels))
        .route("/api/v1/label/{name}/values", get(read::label_values))
        .route("/api/v1/metadata", get(read::metadata))
        .route("/api/v1/targets", get(read::targets))
        .route("/api/v1/status/tsdb", get(read::status_tsdb))
        .route("/api/v1/status/buildinfo", get(read::buildinfo))
        .route("/api/v1/status/config", get(read::status_config))
        .route("/api/v1/status/flags", get(read::flags))
        .route("/api/v1/status/runtimeinfo", get(read::runtimeinfo))
        // query
        .route("/api/v1/query", get(query::instant).post(query::instant))
        .route("/api/v1/query_range", get(query::range).post(query::range))
        .route(
            "/api/v1/format_query",
            get(query::format).post(query::format),
        )
        .route("/api/v1/parse_query", get(query::parse).post(query::parse))
        .route(
            "/api/v1/query_exemplars",
            get(query::exemplars).post(query::exemplars),
        )
        .route("/api/v1/kpis", get(query::kpis))
        .route("/api/v1/rules", get(rules::rules))
        .route("/api/v1/alerts", get(rules::alerts))
        .route("/api/v1/alerts/history", get(alerting::history))
        .route("/api/v1/notifications", get(alerting::notifications))
        .route("/api/v1/alerts/{fingerprint}/ack", post(alerting::ack))
        .route(
            "/api/v1/alerts/{fingerprint}/resolve",
            post(alerting::resolve),
        )
        .route(
            "/api/v2/alerts",
            get(alerting::get_alerts).post(alerting::post_alerts),
        )
        .route(
            "/api/v2/silences",
            get(alerting::get_silences).post(alerting::post_silence),
        )
        .route(
            "/api/v2/silence/{id}",
            get(alerting::get_silence).delete(alerting::delete_silence),
        )
        .route("/api/v2/status", get(alerting::status))
        .route("/api/v2/receivers", get(alerting::receivers))
        // anomalies
        .route("/api/v1/anomalies", get(read::anomalies))
        // admin
        .route(
            "/api/v1/admin/tsdb/flush",
            post(admin::flush).put(admin::flush),
        )
        .route(
            "/api/v1/admin/tsdb/delete_series",
            post(admin::delete_series).put(admin::delete_series),
        )
        .route(
            "/api/v1/admin/tsdb/snapshot",
            post(admin::snapshot).put(admin::snapshot),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::new(
        ErrorKind::BadData,
        format!(
            "method {} is not allowed on {}",
            req.method(),
            req.uri().path()
        ),
    )
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        format!("no route for {} {}", req.method(), req.uri().path()),
    )
}

/// The overview page (KPI cards and anomalies, refreshed live; English and Spanish).
async fn index() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("../../../web/index.html"),
    )
        .into_response()
}

async fn healthy() -> &'static str {
    "vigia is Healthy.\n"
}

async fn ready(State(s): State<Arc<AppState>>) -> Response {
    if s.ready.load(std::sync::atomic::Ordering::Acquire) {
        "vigia is Ready.\n".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n").into_response()
    }
}

async fn reload(State(s): State<Arc<AppState>>) -> Response {
    let Some(f) = s.reload.clone() else {
        return ApiError::new(
            ErrorKind::Unavailable,
            "configuration reload is not available",
        )
        .into_response();
    };
    let res = tokio::task::spawn_blocking(move || f())
        .await
        .unwrap_or_else(|_| Err(crate::ReloadError("reload task failed".into())));
    match res {
        Ok(()) => {
            s.metrics
                .reloads
                .get_or_create(&vec![("result".into(), "success".into())])
                .inc();
            (StatusCode::OK, "configuration reloaded\n").into_response()
        }
        Err(e) => {
            s.metrics
                .reloads
                .get_or_create(&vec![("result".into(), "failure".into())])
                .inc();
            ApiError::internal(format!("failed to reload config: {e}")).into_response()
        }
    }
}

async fn metrics(State(s): State<Arc<AppState>>) -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}

/// Reads the whole body, refusing more than `limit` bytes with 413.
pub(crate) async fn read_body(body: Body, limit: usize) -> ApiResult<Bytes> {
    #[allow(clippy::disallowed_methods)] // this is the bounded reader: `limit` applies
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            ErrorKind::TooLarge,
            format!("request body exceeds the limit of {limit} bytes"),
        )
    })
}

/// Parameters from the query string and, for form posts, the body.
pub(crate) async fn request_params(state: &AppState, req: Request) -> ApiResult<Params> {
    let (parts, body) = req.into_parts();
    let is_form = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let body = if is_form {
        Some(read_body(body, state.settings().max_body_bytes).await?)
    } else {
        None
    };
    Params::parse(parts.uri.query(), body.as_deref())
}

/// Runs blocking storage work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("task failed: {e}")))?
}

/// Formats a timestamp the way the Prometheus API does: Unix seconds as a JSON number.
pub(crate) fn json_ts(t_ms: i64) -> serde_json::Value {
    if t_ms % 1000 == 0 {
        serde_json::Value::from(t_ms / 1000)
    } else {
        serde_json::Number::from_f64(t_ms as f64 / 1000.0)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }
}

/// Formats a sample value as Prometheus does (a string; `NaN`, `+Inf`, `-Inf`).
pub(crate) fn json_val(v: f64) -> String {
    vigia_model::float::format_value(v)
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn formatting() {
        assert_eq!(json_ts(1_000), serde_json::json!(1));
        assert_eq!(json_ts(1_500), serde_json::json!(1.5));
        assert_eq!(json_val(1e21), "1000000000000000000000");
        assert_eq!(json_val(0.1), "0.1");
        assert_eq!(json_val(f64::NEG_INFINITY), "-Inf");
    }
}
