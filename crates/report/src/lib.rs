//! vigia-report: charts and dashboards. Draws SVG charts (time series, bars, funnel, KPI cards)
//! from plain data, defines dashboards in YAML and renders them to HTML, so the live dashboard
//! and scheduled reports share one drawing code.
//!
//! Everything here is a pure function from plain data to strings: the server fetches data
//! (PromQL results, KPIs, alerts, anomalies), fills a [`page::DashboardData`] and calls
//! [`page::render_dashboard`] or [`page::render_panel`].
//!
//! The SVG is built by hand rather than with `charts-rs` (the stack's suggestion): charts-rs
//! draws a category x axis (one label per data point) with no time scale, so it has no UTC tick
//! spacing from 5 minutes to 30 days, no gaps at missing samples, no highlighted time bands,
//! and it adds 16 crates to the build. Hand-built SVG is small, deterministic and lets the
//! tests map every drawn point back to its data through the scales the chart reports.

pub mod charts;
pub mod dashboard;
pub mod format;
pub mod i18n;
pub mod page;

pub use format::Unit;
pub use i18n::Lang;
