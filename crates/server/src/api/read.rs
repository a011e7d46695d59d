//! Read API: series, label names and values, metadata, targets, status pages and export, in the
//! Prometheus response shapes.

use super::{blocking, request_params};
use crate::AppState;
use crate::error::{ApiError, ApiResult, success, success_with};
use crate::params::parse_match_params;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use std::collections::BTreeSet;
use std::sync::Arc;
use vigia_model::{Labels, Matcher};

fn truncate<T>(mut v: Vec<T>, limit: Option<usize>) -> (Vec<T>, Vec<String>) {
    match limit {
        Some(n) if v.len() > n => {
            v.truncate(n);
            (v, vec!["results truncated due to limit".to_string()])
        }
        _ => (v, Vec::new()),
    }
}

/// Runs `f` for each match set (or once with none) and unions the sorted results.
fn union<T: Ord>(
    sets: &[Vec<Matcher>],
    mut f: impl FnMut(&[Matcher]) -> Result<Vec<T>, vigia_model::StorageError>,
) -> ApiResult<Vec<T>> {
    if sets.is_empty() {
        return Ok(f(&[])?);
    }
    let mut out = BTreeSet::new();
    for m in sets {
        out.extend(f(m)?);
    }
    Ok(out.into_iter().collect())
}

/// `GET|POST /api/v1/series`.
pub async fn series(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let p = request_params(&s, req).await?;
    let sets = p.required_matches()?;
    let (start, end) = p.time_range()?;
    let limit = p.limit()?;
    let q = s.querier.clone();
    let all: Vec<Labels> = blocking(move || union(&sets, |m| q.series(m, start, end))).await?;
    let (all, warnings) = truncate(all, limit);
    Ok(success_with(
        serde_json::to_value(all).unwrap_or_default(),
        &warnings,
        &[],
    ))
}

/// `GET|POST /api/v1/labels`.
pub async fn labels(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let p = request_params(&s, req).await?;
    let sets = parse_match_params(&p)?;
    let (start, end) = p.time_range()?;
    let limit = p.limit()?;
    let q = s.querier.clone();
    let names = blocking(move || union(&sets, |m| q.label_names(m, start, end))).await?;
    let (names, warnings) = truncate(names, limit);
    Ok(success_with(names.into(), &warnings, &[]))
}

/// `GET /api/v1/label/{name}/values`.
pub async fn label_values(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    // Prometheus 3 accepts UTF-8 names with the `U__` escaping; plain names must be valid.
    if !vigia_model::is_valid_label_name(&name) {
        return Err(ApiError::bad_data(format!("invalid label name: {name:?}")));
    }
    let p = request_params(&s, req).await?;
    let sets = parse_match_params(&p)?;
    let (start, end) = p.time_range()?;
    let limit = p.limit()?;
    let q = s.querier.clone();
    let vals = blocking(move || union(&sets, |m| q.label_values(&name, m, start, end))).await?;
    let (vals, warnings) = truncate(vals, limit);
    Ok(success_with(vals.into(), &warnings, &[]))
}

/// `GET /api/v1/metadata`.
pub async fn metadata(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let p = request_params(&s, req).await?;
    let limit = p.limit()?;
    let metric = p.get("metric").filter(|m| !m.is_empty());
    let per_metric: Option<usize> = match p.get("limit_per_metric") {
        None | Some("") => None,
        Some(v) => Some(
            v.parse()
                .map_err(|_| ApiError::bad_data(format!("invalid limit_per_metric {v:?}")))?,
        ),
    };
    let mut map = serde_json::Map::new();
    for (name, entries) in s.metadata.query(metric, limit) {
        let list: Vec<serde_json::Value> = entries
            .iter()
            .take(per_metric.filter(|n| *n > 0).unwrap_or(usize::MAX))
            .map(|m| serde_json::json!({"type": m.kind, "help": m.help, "unit": m.unit}))
            .collect();
        map.insert(name, list.into());
    }
    Ok(success(serde_json::Value::Object(map)))
}

/// `GET /api/v1/targets`.
pub async fn targets(State(s): State<Arc<AppState>>) -> ApiResult<Response> {
    let data = match &s.scrape {
        Some(m) => {
            serde_json::to_value(m.targets()).map_err(|e| ApiError::internal(e.to_string()))?
        }
        None => {
            serde_json::json!({"activeTargets": [], "droppedTargets": [], "droppedTargetCounts": {}})
        }
    };
    Ok(success(data))
}

/// `GET /api/v1/status/tsdb`.
pub async fn status_tsdb(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let p = request_params(&s, req).await?;
    let limit =
        match p.get("limit") {
            None | Some("") => 10,
            Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ApiError::bad_data(format!("limit must be a positive number: {v:?}"))
            })?,
        };
    let (q, admin) = (s.querier.clone(), s.admin.clone());
    let (card, stats) = blocking(move || Ok((q.cardinality(limit)?, admin.stats()))).await?;
    Ok(success(serde_json::json!({
        "headStats": {
            "numSeries": card.num_series,
            "numLabelPairs": card.num_label_pairs,
            "chunkCount": stats.head_chunks,
            "minTime": card.min_time.unwrap_or(i64::MAX),
            "maxTime": card.max_time.unwrap_or(i64::MIN),
        },
        "seriesCountByMetricName": card.series_count_by_metric_name,
        "labelValueCountByLabelName": card.label_value_count_by_label_name,
        "memoryInBytesByLabelName": card.memory_in_bytes_by_label_name,
        "seriesCountByLabelValuePair": card.series_count_by_label_value_pair,
    })))
}

/// `GET /api/v1/status/buildinfo`.
pub async fn buildinfo(State(s): State<Arc<AppState>>) -> Response {
    success(serde_json::to_value(&s.build).unwrap_or_default())
}

/// `GET /api/v1/status/config`: the loaded configuration, secrets redacted.
pub async fn status_config(State(s): State<Arc<AppState>>) -> Response {
    success(serde_json::json!({"yaml": s.settings().config_yaml}))
}

/// `GET /api/v1/status/flags`.
pub async fn flags(State(s): State<Arc<AppState>>) -> Response {
    success(serde_json::to_value(&s.flags).unwrap_or_default())
}

/// `GET /api/v1/status/runtimeinfo`.
pub async fn runtimeinfo(State(s): State<Arc<AppState>>) -> Response {
    let cwd = std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let start = chrono::DateTime::from_timestamp_millis((s.start_time * 1000.0) as i64)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default();
    success(serde_json::json!({
        "startTime": start,
        "CWD": cwd,
        "reloadConfigSuccess": true,
        "storageRetention": s.flags.get("storage.tsdb.retention.time").cloned().unwrap_or_default(),
        "GOMAXPROCS": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    }))
}

/// Largest export answered in one response.
const MAX_EXPORT_BYTES: usize = 256 << 20;

/// `GET|POST /api/v1/export`: JSON lines in the VictoriaMetrics export format.
pub async fn export(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let p = request_params(&s, req).await?;
    let sets = p.required_matches()?;
    let (start, end) = p.time_range()?;
    let q = s.querier.clone();
    let body = blocking(move || {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for m in &sets {
            for series in q.select(m, start, end)? {
                let series = series?;
                if seen.insert(series.labels.clone()) {
                    vigia_ingest::vmjson::write_export_line(&series, &mut out);
                }
                if out.len() > MAX_EXPORT_BYTES {
                    return Err(ApiError::new(
                        crate::error::ErrorKind::Execution,
                        format!("export larger than {MAX_EXPORT_BYTES} bytes: narrow match[] or the start/end range"),
                    ));
                }
            }
        }
        Ok(out)
    })
    .await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/stream+json")],
        body,
    )
        .into_response())
}

/// `GET /api/v1/anomalies?since=&until=&severity=`: anomaly events, newest first (docs/api.md).
pub async fn anomalies(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let p = request_params(&s, req).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let since = p.time_or("since", now - 24 * 3_600_000)?;
    let until = p.time_or("until", now)?;
    let severity = match p.get("severity") {
        None | Some("") => vigia_model::Severity::Low,
        Some(v) => v.parse().map_err(|e: vigia_model::UnknownSeverity| {
            ApiError::bad_data(format!("invalid parameter \"severity\": {e}"))
        })?,
    };
    let events = match &s.anomalies {
        Some(feed) => feed.events(since, until, severity),
        None => Vec::new(),
    };
    let data: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id,
                "metric": e.metric,
                "labels": e.labels,
                "start": super::json_ts(e.start_ms),
                "end": e.end_ms.map(super::json_ts),
                "active": e.end_ms.is_none(),
                "peakScore": e.peak_score,
                "peakAt": super::json_ts(e.peak_ms),
                "severity": e.severity,
                "pattern": e.pattern,
                "insight": e.insight,
            })
        })
        .collect();
    Ok(success(data.into()))
}
