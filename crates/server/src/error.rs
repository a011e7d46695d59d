//! The Prometheus API error envelope: `{"status":"error","errorType":…,"error":…}` and the one
//! place where error categories become HTTP status codes.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

pub use vigia_model::{ErrorKind, HasKind};

/// The Prometheus `errorType` and the HTTP status of every kind of failure: the one table of the
/// whole server (every library error reaches HTTP through its [`ErrorKind`]).
pub fn envelope_of(kind: ErrorKind) -> (&'static str, StatusCode) {
    match kind {
        ErrorKind::BadData => ("bad_data", StatusCode::BAD_REQUEST),
        ErrorKind::TooLarge => ("bad_data", StatusCode::PAYLOAD_TOO_LARGE),
        ErrorKind::Unsupported => ("bad_data", StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ErrorKind::NotFound => ("not_found", StatusCode::NOT_FOUND),
        ErrorKind::Execution => ("execution", StatusCode::UNPROCESSABLE_ENTITY),
        ErrorKind::Timeout => ("timeout", StatusCode::SERVICE_UNAVAILABLE),
        ErrorKind::Canceled => (
            "canceled",
            StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        ),
        ErrorKind::Unavailable => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
        ErrorKind::Unauthorized => ("unauthorized", StatusCode::UNAUTHORIZED),
        ErrorKind::Forbidden => ("forbidden", StatusCode::FORBIDDEN),
        ErrorKind::Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// An API error, rendered in the Prometheus envelope.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Category.
    pub kind: ErrorKind,
    /// Human-readable message.
    pub message: String,
}

impl ApiError {
    /// Builds an error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    /// 400 bad_data.
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadData, message)
    }
    /// 500 internal.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", envelope_of(self.kind).0, self.message)
    }
}

impl<E: HasKind + std::fmt::Display> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError::new(e.kind(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (error_type, status) = envelope_of(self.kind);
        let body = serde_json::json!({
            "status": "error",
            "errorType": error_type,
            "error": self.message,
        });
        let mut resp = (status, Json(body)).into_response();
        if self.kind == ErrorKind::Unauthorized
            && let Ok(v) = axum::http::HeaderValue::from_str("Basic realm=\"vigia\"")
        {
            resp.headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, v);
        }
        if self.kind == ErrorKind::TooLarge {
            // The rest of the body was never read: tell the client not to reuse the
            // connection, or its next request races hyper closing it.
            resp.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        resp
    }
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// A success envelope: `{"status":"success","data":…}` plus optional warnings and infos.
pub fn success(data: serde_json::Value) -> Response {
    Json(serde_json::json!({"status": "success", "data": data})).into_response()
}

/// A success envelope with warnings and infos (omitted when empty, as Prometheus does).
pub fn success_with(data: serde_json::Value, warnings: &[String], infos: &[String]) -> Response {
    let mut obj = serde_json::Map::new();
    obj.insert("status".into(), "success".into());
    obj.insert("data".into(), data);
    if !warnings.is_empty() {
        obj.insert("warnings".into(), warnings.into());
    }
    if !infos.is_empty() {
        obj.insert("infos".into(), infos.into());
    }
    Json(serde_json::Value::Object(obj)).into_response()
}
