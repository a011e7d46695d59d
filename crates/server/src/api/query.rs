//! Query API: instant and range queries, format and parse, exemplars. Queries run on blocking
//! threads, bounded by a semaphore (maximum concurrent queries) and a timeout.

use super::{json_ts, json_val, request_params};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorKind, success, success_with};
use crate::params::{Params, parse_duration_param};
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value as J, json};
use std::sync::Arc;
use std::time::Duration;
use vigia_promql::{QueryError, QueryOutput, QueryParams, Value};

fn query_error(e: QueryError) -> ApiError {
    ApiError::from(e)
}

fn query_params(state: &AppState, p: &Params) -> ApiResult<(QueryParams, Duration)> {
    let default = state.settings().query_timeout;
    let timeout = match p.get("timeout") {
        None | Some("") => default,
        Some(t) => {
            let ms = parse_duration_param(t)
                .map_err(|e| ApiError::bad_data(format!("invalid parameter \"timeout\": {e}")))?;
            Duration::from_millis(ms.max(1) as u64).min(default)
        }
    };
    let lookback = match p.get("lookback_delta") {
        None | Some("") => None,
        Some(t) => Some(parse_duration_param(t).map_err(|e| {
            ApiError::bad_data(format!("invalid parameter \"lookback_delta\": {e}"))
        })?),
    };
    Ok((
        QueryParams {
            timeout: Some(timeout),
            lookback_delta_ms: lookback,
        },
        timeout,
    ))
}

fn series_json(labels: &vigia_model::Labels) -> J {
    serde_json::to_value(labels).unwrap_or_default()
}

/// The `data` object of a query response.
pub fn value_json(v: &Value) -> J {
    match v {
        Value::Scalar { t, v } => {
            json!({"resultType": "scalar", "result": [json_ts(*t), json_val(*v)]})
        }
        Value::String { t, s } => json!({"resultType": "string", "result": [json_ts(*t), s]}),
        Value::Vector(samples) => json!({
            "resultType": "vector",
            "result": samples.iter().map(|s| json!({"metric": series_json(&s.labels), "value": [json_ts(s.t), json_val(s.v)]})).collect::<Vec<_>>(),
        }),
        Value::Matrix(series) => json!({
            "resultType": "matrix",
            "result": series.iter().map(|s| json!({
                "metric": series_json(&s.labels),
                "values": s.samples.iter().map(|p| json!([json_ts(p.t), json_val(p.v)])).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        }),
    }
}

async fn run(
    state: Arc<AppState>,
    p: Params,
    timeout: Duration,
    f: impl FnOnce(&vigia_promql::Engine, &dyn vigia_model::Querier) -> Result<QueryOutput, QueryError>
    + Send
    + 'static,
) -> ApiResult<Response> {
    let permit = tokio::time::timeout(timeout, state.query_slots.clone().acquire_owned())
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorKind::Timeout,
                "query timed out waiting for a free query slot (too many concurrent queries)",
            )
        })?
        .map_err(|_| ApiError::new(ErrorKind::Unavailable, "query engine is shutting down"))?;
    let (engine, querier) = (state.engine.clone(), state.querier.clone());
    let out = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        f(&engine, querier.as_ref())
    })
    .await
    .map_err(|e| ApiError::internal(format!("query task failed: {e}")))?
    .map_err(query_error)?;
    let mut data = value_json(&out.value);
    if p.get("stats").is_some_and(|s| !s.is_empty())
        && let J::Object(m) = &mut data
    {
        m.insert(
                "stats".into(),
                json!({
                    "timings": {"evalTotalTime": out.stats.eval_time.as_secs_f64(), "resultSortTime": 0, "queryPreparationTime": 0,
                                "innerEvalTime": out.stats.eval_time.as_secs_f64(), "execQueueTime": 0, "execTotalTime": out.stats.eval_time.as_secs_f64()},
                    "samples": {"totalQueryableSamples": out.stats.samples_loaded, "peakSamples": out.stats.peak_samples},
                }),
            );
    }
    Ok(success_with(data, &out.warnings, &out.infos))
}

fn required<'a>(p: &'a Params, key: &str) -> ApiResult<&'a str> {
    p.get(key)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_data(format!("invalid parameter {key:?}: missing")))
}

/// `GET|POST /api/v1/query`.
pub async fn instant(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let p = request_params(&s, req).await?;
    let query = required(&p, "query")?.to_string();
    let t = p.time_or("time", chrono::Utc::now().timestamp_millis())?;
    let (qp, timeout) = query_params(&s, &p)?;
    run(s, p, timeout, move |e, q| e.instant(q, &query, t, &qp)).await
}

/// `GET|POST /api/v1/query_range`.
pub async fn range(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let p = request_params(&s, req).await?;
    let query = required(&p, "query")?.to_string();
    let start = crate::params::parse_time(required(&p, "start")?)
        .map_err(|e| ApiError::bad_data(format!("invalid parameter \"start\": {e}")))?;
    let end = crate::params::parse_time(required(&p, "end")?)
        .map_err(|e| ApiError::bad_data(format!("invalid parameter \"end\": {e}")))?;
    if end < start {
        return Err(ApiError::bad_data(
            "invalid parameter \"end\": end timestamp must not be before start time",
        ));
    }
    let step = parse_duration_param(required(&p, "step")?)
        .map_err(|e| ApiError::bad_data(format!("invalid parameter \"step\": {e}")))?;
    if step <= 0 {
        return Err(ApiError::bad_data(
            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if end.saturating_sub(start) / step > 11_000 {
        return Err(ApiError::bad_data(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ));
    }
    let (qp, timeout) = query_params(&s, &p)?;
    run(s, p, timeout, move |e, q| {
        e.range(q, &query, start, end, step, &qp)
    })
    .await
}

/// `GET|POST /api/v1/format_query`.
pub async fn format(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let p = request_params(&s, req).await?;
    let query = required(&p, "query")?;
    let out = vigia_promql::format_query(query).map_err(query_error)?;
    Ok(success(out.into()))
}

/// `GET|POST /api/v1/parse_query`: the syntax tree as JSON.
pub async fn parse(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let p = request_params(&s, req).await?;
    let query = required(&p, "query")?;
    let tree = vigia_promql::Expression::parse(query)
        .and_then(|e| e.syntax_tree())
        .map_err(query_error)?;
    Ok(success(tree))
}

/// `GET|POST /api/v1/query_exemplars`: vigia stores no exemplars; the query is still validated.
pub async fn exemplars(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let p = request_params(&s, req).await?;
    let query = required(&p, "query")?;
    vigia_promql::Expression::parse(query).map_err(query_error)?;
    Ok(success(J::Array(Vec::new())))
}

/// `GET /api/v1/kpis?time=`: every configured KPI against its target and benchmarks.
pub async fn kpis(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let p = request_params(&s, req).await?;
    let t = p.time_or("time", chrono::Utc::now().timestamp_millis())?;
    let kpis = s.settings().kpis.clone();
    let (engine, querier) = (s.engine.clone(), s.querier.clone());
    let values = super::blocking(move || {
        Ok(vigia_report::kpi::evaluate_all(
            &engine,
            querier.as_ref(),
            &kpis,
            t,
        ))
    })
    .await?;
    Ok(success(json!({"time": super::json_ts(t), "kpis": values})))
}
