//! Server-rendered HTML: a complete dashboard page (inline CSS, one small plain script for
//! live updates and alert actions), one panel's inner HTML for Server-Sent Events, and the
//! index of dashboards. Inputs are plain structs filled by the server; every text from data
//! is escaped.
//!
//! URL conventions the page uses: dashboards at `/d/{name}`, the index at
//! `/dashboards`, live updates from `/api/v1/dashboards/{name}/events` + the page's query
//! string (events named `panel` carrying `{"id", "html"}`, see [`panel_event`]), alert actions
//! `POST /api/v1/alerts/{fingerprint}/ack|resolve` with `{"note"}`. Query parameters:
//! `range` (a duration such as `24h`), `lang` (`en`/`es`) and `var-<name>` per variable.
//!
//! Beside this file: `data` (what the server fills), `context` (the request), `layout` (the
//! page, header, navigation and index), `panels` (one panel's HTML), and per panel kind
//! `kpis`, `alerts` and `anomalies`; `html` holds the small pieces they share.

macro_rules! w {
    ($dst:expr, $($arg:tt)*) => { let _ = write!($dst, $($arg)*); };
}

mod alerts;
mod anomalies;
mod context;
mod data;
mod html;
mod kpis;
mod layout;
mod panels;

pub use anomalies::guess_unit;
pub use context::PageContext;
pub use data::{
    AlertData, AnomalyData, DashboardData, InstantSample, LabelSet, NavItem, QueryResult,
    SeriesData,
};
pub use layout::{render_dashboard, render_index};
pub use panels::{legend, render_panel};

/// The page script (served inline).
pub const DASHBOARD_JS: &str = include_str!("../assets/dashboard.js");

/// Time ranges offered by the picker.
pub const RANGE_CHOICES: &[&str] = &["5m", "15m", "1h", "6h", "24h", "7d", "14d", "30d"];

/// The SSE `data:` payload of a `panel` event: `{"id": …, "html": …}`.
pub fn panel_event(panel_id: &str, html: &str) -> String {
    serde_json::json!({"id": panel_id, "html": html}).to_string()
}
