//! vigia-report: charts and dashboards. Draws SVG charts (time series, bars, funnel, KPI cards)
//! from plain data, defines dashboards in YAML and renders them to HTML, so the live dashboard
//! and scheduled reports share one drawing code.
//!
//! Everything here is a pure function from plain data to strings: the server fetches data
//! (PromQL results, KPIs, alerts, anomalies), fills a [`page::DashboardData`] and calls
//! [`page::render_dashboard`] or [`page::render_panel`].
//!
//! The server's loop, per request or per SSE tick:
//!
//! ```
//! use std::collections::BTreeMap;
//! use vigia_report::dashboard::{Dashboard, QueryKind};
//! use vigia_report::page::*;
//!
//! let yaml = "name: d\ntitle: {en: Demo, es: Demostración}\nrows:\n  - panels:\n      - {id: up, kind: table, expr: up}\n";
//! let d = Dashboard::from_yaml("d.yaml", yaml).unwrap();
//! // 1. context from the query string and Accept-Language (label_values looked up first)
//! let params = BTreeMap::from([("lang".to_string(), "es".to_string())]);
//! let ctx = PageContext::from_request(Some(&d), &params, None, 1.8e9, vec![NavItem::of(&d)], BTreeMap::new());
//! // 2. evaluate what the dashboard needs
//! let mut data = DashboardData::default();
//! for q in d.queries(&ctx.variables, &ctx.range) {
//!     assert_eq!(q.kind, QueryKind::Instant); // Range → QueryResult::Range(series)
//!     let sample = InstantSample { labels: BTreeMap::from([("job".into(), "web".into())]), value: 1.0 };
//!     data.set(&q.panel_id, q.index, QueryResult::Instant(vec![sample]));
//! }
//! // (plus data.kpis, data.alerts, data.anomalies from their APIs)
//! // 3. the page, or one panel for an SSE `panel` event
//! let html = render_dashboard(&d, &data, &ctx);
//! assert!(html.contains("Demostración"));
//! let panel = d.panel("up").unwrap();
//! let event = panel_event(&panel.id, &render_panel(panel, &data, &ctx));
//! assert!(event.starts_with("{\"html\":") || event.starts_with("{\"id\":"));
//! ```
//!
//! The SVG is built by hand rather than with `charts-rs` (the stack's suggestion): charts-rs
//! draws a category x axis (one label per data point) with no time scale, so it has no UTC tick
//! spacing from 5 minutes to 30 days, no gaps at missing samples, no highlighted time bands,
//! and it adds 16 crates to the build. Hand-built SVG is small, deterministic and lets the
//! tests map every drawn point back to its data through the scales the chart reports.

pub mod charts;
pub mod dashboard;
pub mod format;
pub mod gather;
pub mod i18n;
pub mod kpi;
pub mod page;

pub use format::Unit;
pub use i18n::Lang;
pub use kpi::{Direction, KpiConfig, KpiStatus, KpiValue};
