//! Admin API (`--enable-admin-api`): flush the head into blocks, delete series, snapshot.

use super::{blocking, request_params};
use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorKind, success};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

fn enabled(s: &AppState) -> ApiResult<()> {
    if s.admin_api {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorKind::Unavailable,
            "admin APIs disabled: start vigia with --enable-admin-api",
        ))
    }
}

/// `POST /api/v1/admin/tsdb/flush`: persist the head into blocks, compact, truncate the WAL.
pub async fn flush(State(s): State<Arc<AppState>>) -> ApiResult<Response> {
    enabled(&s)?;
    let admin = s.admin.clone();
    blocking(move || admin.flush().map_err(ApiError::from)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/admin/tsdb/delete_series?match[]=…&start=…&end=…`.
pub async fn delete_series(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    enabled(&s)?;
    let p = request_params(&s, req).await?;
    let sets = p.required_matches()?;
    let (start, end) = p.time_range()?;
    let admin = s.admin.clone();
    blocking(move || {
        for m in &sets {
            admin.delete_series(m, start, end)?;
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/v1/admin/tsdb/snapshot`.
pub async fn snapshot(State(s): State<Arc<AppState>>) -> ApiResult<Response> {
    enabled(&s)?;
    let admin = s.admin.clone();
    let name = blocking(move || admin.snapshot().map_err(ApiError::from)).await?;
    Ok(success(serde_json::json!({"name": name})))
}
