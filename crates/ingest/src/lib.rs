//! vigia-ingest turns bytes from the outside world into [`SeriesSamples`] batches.
//!
//! It decodes every push format vigia accepts — Prometheus remote_write 1.0
//! ([`remote_write`]), the Influx line protocol ([`influx`]), VictoriaMetrics JSON lines
//! ([`vmjson`]) and the Prometheus / OpenMetrics text formats ([`textformat`]) — and it runs
//! Prometheus-style scraping ([`scrape`], with [`relabel`]). Decoders never panic on bad input:
//! they return an [`IngestError`] whose [`ErrorKind`] maps to an HTTP status.
//!
//! This crate does not serve HTTP (the server crate hands it request bodies) and does not know
//! the storage engine: scraped samples go through an `Arc<dyn vigia_model::Appender>`.
//!
//! ```
//! use vigia_ingest::{ErrorKind, HasKind, Limits, remote_write, textformat};
//! use vigia_model::{Labels, Sample, SeriesSamples};
//!
//! let series = vec![SeriesSamples {
//!     labels: Labels::from_pairs([("__name__", "up"), ("job", "node")]),
//!     samples: vec![Sample::new(1_000, 1.0)],
//! }];
//! let body = remote_write::encode(&series);
//! assert_eq!(remote_write::decode(&body, &Limits::default()).unwrap().series, series);
//!
//! let text = b"# TYPE up gauge\nup{job=\"node\"} 1 1000\n";
//! let decoded = textformat::parse(text, Some("text/plain; version=0.0.4"), 0, &Limits::default()).unwrap();
//! assert_eq!(decoded.series, series);
//! assert_eq!(decoded.metadata[0].kind, "gauge");
//!
//! let err = textformat::parse(b"up{job=node} 1", None, 0, &Limits::default()).unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::BadData);
//! assert!(err.to_string().starts_with("line 1:"));
//! ```
#![deny(missing_docs)]

mod config;
mod error;
mod metadata;
mod validate;

pub mod events;
pub mod influx;
pub mod relabel;
pub mod remote_write;
pub mod scrape;
pub mod textformat;
pub mod vmjson;

pub use config::LimitsConfig;
pub use error::{ErrorKind, HasKind, IngestError};
pub use metadata::{MetadataStore, MetricMetadata};
pub use validate::Limits;

use vigia_model::SeriesSamples;

/// What a decoder produced: the series with their samples, and any metric metadata
/// (HELP/TYPE/UNIT) that the payload carried.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoded {
    /// Decoded series; every label set is valid and has a metric name.
    pub series: Vec<SeriesSamples>,
    /// Metric metadata found in the payload.
    pub metadata: Vec<MetricMetadata>,
}

impl Decoded {
    /// Total number of samples over all series.
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }
}
