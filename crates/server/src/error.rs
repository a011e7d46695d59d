//! The Prometheus API error envelope: `{"status":"error","errorType":…,"error":…}` and the one
//! place where error categories become HTTP status codes.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Prometheus's error categories (`errorType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// Malformed request: 400.
    BadData,
    /// The query failed while executing: 422.
    Execution,
    /// The query took too long: 503.
    Timeout,
    /// The client went away or the server is stopping: 499.
    Canceled,
    /// A server-side failure: 500.
    Internal,
    /// Temporarily unavailable (e.g. shutting down, too many queries): 503.
    Unavailable,
    /// Unknown resource: 404.
    NotFound,
    /// Body too large: 413 (reported as `bad_data`).
    TooLarge,
    /// Unsupported media type: 415 (reported as `bad_data`).
    UnsupportedMedia,
    /// Missing or wrong credentials: 401.
    Unauthorized,
    /// Authenticated but not allowed: 403.
    Forbidden,
}

impl ErrorType {
    /// The `errorType` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData | ErrorType::TooLarge | ErrorType::UnsupportedMedia => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Timeout => "timeout",
            ErrorType::Canceled => "canceled",
            ErrorType::Internal => "internal",
            ErrorType::Unavailable => "unavailable",
            ErrorType::NotFound => "not_found",
            ErrorType::Unauthorized => "unauthorized",
            ErrorType::Forbidden => "forbidden",
        }
    }

    /// The HTTP status (one exhaustive match for the whole server).
    pub fn status(self) -> StatusCode {
        match self {
            ErrorType::BadData => StatusCode::BAD_REQUEST,
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::Timeout | ErrorType::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorType::Canceled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
            ErrorType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::NotFound => StatusCode::NOT_FOUND,
            ErrorType::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorType::UnsupportedMedia => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorType::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorType::Forbidden => StatusCode::FORBIDDEN,
        }
    }
}

/// An API error, rendered in the Prometheus envelope.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// Category.
    pub kind: ErrorType,
    /// Human-readable message.
    pub message: String,
}

impl ApiError {
    /// Builds an error.
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    /// 400 bad_data.
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self::new(ErrorType::BadData, message)
    }
    /// 500 internal.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Internal, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl From<vigia_model::StorageError> for ApiError {
    fn from(e: vigia_model::StorageError) -> Self {
        use vigia_model::StorageError as E;
        let kind = match &e {
            E::InvalidSeries { .. } | E::InvalidMatcher(_) => ErrorType::BadData,
            E::LimitExceeded(_) => ErrorType::BadData,
            E::Closed => ErrorType::Unavailable,
            _ => ErrorType::Internal,
        };
        ApiError::new(kind, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "status": "error",
            "errorType": self.kind.as_str(),
            "error": self.message,
        });
        let mut resp = (self.kind.status(), Json(body)).into_response();
        if self.kind == ErrorType::Unauthorized
            && let Ok(v) = axum::http::HeaderValue::from_str("Basic realm=\"vigia\"")
        {
            resp.headers_mut()
                .insert(axum::http::header::WWW_AUTHENTICATE, v);
        }
        if self.kind == ErrorType::TooLarge {
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
