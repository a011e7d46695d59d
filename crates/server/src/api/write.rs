//! Ingest endpoints: remote_write, Influx line protocol, VictoriaMetrics JSON lines and the
//! Prometheus text format. Each decodes with `vigia-ingest`, then appends durably; the response
//! is sent only after the samples are fsynced.

use super::{blocking, read_body};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorKind, HasKind};
use crate::params::Params;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use vigia_ingest::{Decoded, IngestError};

fn ingest_error(state: &AppState, protocol: &str, e: IngestError) -> ApiError {
    // The `reason` label of `vigia_ingest_requests_rejected_total` (docs/series.md).
    let reason = match e.kind() {
        ErrorKind::TooLarge => "too_large",
        ErrorKind::Unsupported => "unsupported",
        ErrorKind::BadData | ErrorKind::NotFound | ErrorKind::Execution => "bad_data",
        ErrorKind::Timeout
        | ErrorKind::Canceled
        | ErrorKind::Unavailable
        | ErrorKind::Unauthorized
        | ErrorKind::Forbidden
        | ErrorKind::Internal => "internal",
    };
    state.metrics.request_rejected(protocol, reason);
    ApiError::from(e)
}

async fn body_of(
    state: &AppState,
    protocol: &str,
    req: Request,
) -> ApiResult<(HeaderMap, Option<String>, axum::body::Bytes)> {
    if !state.accepting_writes.load(Ordering::Acquire) {
        return Err(ApiError::new(
            ErrorKind::Unavailable,
            "vigia is shutting down and accepts no writes",
        ));
    }
    let (parts, body) = req.into_parts();
    let limit = state.settings().max_body_bytes;
    let bytes = read_body(body, limit)
        .await
        .inspect_err(|_| state.metrics.request_rejected(protocol, "too_large"))?;
    Ok((parts.headers, parts.uri.query().map(str::to_string), bytes))
}

/// Appends decoded samples and builds the response: 204 when everything was stored, 400
/// naming the refused samples otherwise (the accepted ones stay stored, as in Prometheus).
async fn store(
    state: Arc<AppState>,
    protocol: &'static str,
    decoded: Decoded,
) -> ApiResult<Response> {
    if !decoded.metadata.is_empty() {
        state.metadata.record(&decoded.metadata);
    }
    if decoded.series.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let appender = state.appender.clone();
    let outcome =
        blocking(move || appender.append(&decoded.series).map_err(ApiError::from)).await?;
    state
        .metrics
        .ingested(protocol, outcome.appended + outcome.backfilled);
    if outcome.rejected.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let mut parts = Vec::new();
    for (reason, n) in &outcome.rejected {
        state.metrics.rejected(reason.as_str(), *n);
        parts.push(format!("{n} {}", reason.as_str().replace('_', " ")));
    }
    Err(ApiError::bad_data(format!(
        "{} samples stored; refused: {}",
        outcome.appended + outcome.backfilled,
        parts.join(", ")
    )))
}

/// `POST /api/v1/write`: Prometheus remote_write 1.0 (snappy block-compressed protobuf).
pub async fn remote_write(State(state): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let (headers, _, body) = body_of(&state, "remote_write", req).await?;
    if let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        && (!ct.starts_with("application/x-protobuf") || ct.contains("io.prometheus.write.v2"))
    {
        state
            .metrics
            .request_rejected("remote_write", "unsupported");
        return Err(ApiError::new(
            ErrorKind::Unsupported,
            format!("unsupported content type {ct:?}: remote_write needs application/x-protobuf"),
        ));
    }
    if let Some(enc) = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        && !enc.eq_ignore_ascii_case("snappy")
    {
        state
            .metrics
            .request_rejected("remote_write", "unsupported");
        return Err(ApiError::new(
            ErrorKind::Unsupported,
            format!("unsupported content encoding {enc:?}: only snappy"),
        ));
    }
    let limits = state.settings().limits.clone();
    let decoded = vigia_ingest::remote_write::decode(&body, &limits)
        .map_err(|e| ingest_error(&state, "remote_write", e))?;
    store(state, "remote_write", decoded).await
}

/// `POST /write` and `POST /api/v2/write`: Influx line protocol with `precision`.
pub async fn influx(State(state): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let (_, query, body) = body_of(&state, "influx", req).await?;
    let params = Params::parse(query.as_deref(), None)?;
    let precision = match params.get("precision") {
        None | Some("") => vigia_ingest::influx::Precision::Ns,
        Some(p) => vigia_ingest::influx::Precision::parse(p).ok_or_else(|| {
            ApiError::bad_data(format!(
                "invalid precision {p:?}: use ns, us, ms, s, m or h"
            ))
        })?,
    };
    let now = chrono::Utc::now().timestamp_millis();
    let limits = state.settings().limits.clone();
    let decoded = vigia_ingest::influx::parse(&body, precision, now, &limits)
        .map_err(|e| ingest_error(&state, "influx", e))?;
    store(state, "influx", decoded).await
}

/// `POST /api/v1/import`: VictoriaMetrics JSON lines.
pub async fn vm_import(State(state): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let (_, _, body) = body_of(&state, "vm_import", req).await?;
    let limits = state.settings().limits.clone();
    let decoded = vigia_ingest::vmjson::parse_import(&body, &limits)
        .map_err(|e| ingest_error(&state, "vm_import", e))?;
    store(state, "vm_import", decoded).await
}

/// `POST /api/v1/import/prometheus`: Prometheus text exposition format (or OpenMetrics).
pub async fn text_import(State(state): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let (headers, query, body) = body_of(&state, "prometheus_text", req).await?;
    let params = Params::parse(query.as_deref(), None)?;
    let now = chrono::Utc::now().timestamp_millis();
    let default_ts = params.time_or("timestamp", now)?;
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let limits = state.settings().limits.clone();
    let decoded = vigia_ingest::textformat::parse(&body, ct.as_deref(), default_ts, &limits)
        .map_err(|e| ingest_error(&state, "prometheus_text", e))?;
    store(state, "prometheus_text", decoded).await
}

/// `POST /api/v1/events`: business events (JSON; one, an array, or `{"events": [...]}`).
/// Answers with how many were counted and how many were repeats; nothing of a rejected batch
/// is stored.
pub async fn events(State(state): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let Some(ing) = state.events.clone() else {
        return Err(ApiError::new(
            ErrorKind::Unavailable,
            "the events API is not enabled",
        ));
    };
    let (_, _, body) = body_of(&state, "events", req).await?;
    let appender = state.appender.clone();
    let st = state.clone();
    let outcome = super::blocking(move || {
        ing.ingest(&body, appender.as_ref())
            .map_err(|e| ingest_error(&st, "events", e))
    })
    .await?;
    state.metrics.ingested("events", outcome.samples as u64);
    Ok(crate::error::success(
        serde_json::to_value(outcome).unwrap_or_default(),
    ))
}
