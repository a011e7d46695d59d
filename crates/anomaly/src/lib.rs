//! Live anomaly detection: taps the ingestion path (an [`Appender`](vigia_model::Appender)
//! decorator), scores every new sample of the selected series with `vigia-ml`'s streaming
//! detector, writes the score back as the ordinary series
//! `anomaly_score{metric="<source name>", <source labels>}`, and turns runs of high scores into
//! anomaly events with a plain-language insight, stored durably and listed through
//! [`AnomalyFeed`](vigia_model::AnomalyFeed).
//!
//! It knows nothing about HTTP or the storage engine: it wraps whatever `Appender` it is given
//! and reads history through a `Querier` for warm-up and for the seasonal part of insights
//! (the same time of day on earlier days).
//!
//! Modules: `config` (settings and severity bands), `error`, and `engine` — the engine with
//! the appender tap that scores samples, per-series state and events, insights, and the
//! durable event feed.

mod config;
mod engine;
mod error;

pub use config::{AnomalyConfig, Bands, BandsError, LiveConfig};
pub use engine::{AnomalyEngine, SCORE_METRIC, score_labels};
pub use error::AnomalyError;

#[cfg(test)]
mod tests;
