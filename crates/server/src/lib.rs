//! vigia's HTTP server: the Prometheus-compatible read and query API, the ingest endpoints,
//! the admin API, authentication, and self-monitoring.
//!
//! This crate is the only one that speaks HTTP or defines the API's JSON shapes. Handlers are
//! thin: they parse the request, call a storage trait or an engine held in [`AppState`], and map
//! errors through [`error::ApiError`]. It never names a concrete storage engine; the binary wires
//! one in.
#![deny(missing_docs)]

pub mod alerting;
pub mod api;
pub mod auth;
mod config;
pub mod dashboards;
pub mod error;
pub mod metrics;
pub mod params;
mod state;
pub mod tls;

pub use config::{DEFAULT_MAX_BODY_BYTES, WebConfig, WebTlsConfig};
pub use state::{AppState, BuildInfo, MetricsFn, ReloadError, ReloadFn, RuntimeSettings};

use axum::Router;
use std::sync::Arc;

/// Builds the complete application router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    api::routes(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track_http,
        ))
        .with_state(state)
}
