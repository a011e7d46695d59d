//! Dashboards defined in YAML: the model (rows of panels of seven kinds, variables, default
//! time range), loading with errors located at file:line, validation (unknown kinds, empty or
//! unparsable PromQL, unknown variable references, duplicate ids), and the list of queries a
//! dashboard needs with its variables substituted.
//!
//! ```yaml
//! name: infrastructure            # URL name: letters, digits, - and _
//! title: {en: Infrastructure, es: Infraestructura}   # or a plain string for both
//! time_range: 6h                  # default window (Prometheus duration), default 6h
//! refresh: 15s                    # live update interval, default 30s
//! variables:                      # used in expressions as $name or ${name}
//!   - name: instance
//!     label: {en: Host, es: Servidor}
//!     label_values: {series: up, label: instance}    # or: custom: [a, b]
//!     include_all: true           # adds "All" (the regex .*)
//!     default: web-1:9100         # optional
//! rows:
//!   - title: {en: Service, es: Servicio}             # optional
//!     panels:                     # common keys: id (unique), kind, title, width (1–12)
//!       - {id: kpis, kind: kpi, kpis: [uptime, error_ratio]}
//!       - id: errors
//!         kind: timeseries        # range queries
//!         unit: ratio             # plain count seconds ratio percent bytes currency rps score
//!         area: true
//!         queries: [{expr: 'sum(rate(x[$__rate_interval]))', legend: '{{instance}}'}]
//!         thresholds: [{value: 0.02, label: {en: alert, es: alerta}}]
//!         alert_bands: [HttpErrorRatioHigh]          # firing spans drawn as bands
//!       - {id: f, kind: funnel, steps: [{label: A, expr: 'sum(a)'}, {label: B, expr: 'sum(b)'}]}
//!       - {id: b, kind: bar, expr: 'sum by (channel) (x)', by: channel}
//!       - {id: t, kind: table, expr: up, columns: [job, instance]}
//!       - {id: al, kind: alerts, filter: {states: [firing], severity: high, labels: {team: web}}, limit: 50}
//!       - {id: an, kind: anomalies, filter: {severity: medium, metric: up, active_only: false}}
//! ```
//!
//! Built-in variables: `$__range` (window length), `$__interval` (step), `$__rate_interval`
//! (4 × step, at least 1m). Unknown keys are errors.
//!
//! Beside this file: `model` (the types), `error`, `raw` (the YAML as parsed), `validate`
//! (raw → model, collecting every located error), `load` (files and directories) and
//! `queries` (variables, substitution and the query list).

mod error;
mod load;
mod model;
mod queries;
mod raw;
mod validate;

pub use error::{DashboardError, DashboardErrors};
pub use model::{
    ALL_VALUE, AlertFilter, AnomalyFilter, BUILTIN_VARIABLES, Dashboard, FunnelStepSpec, Panel,
    PanelKind, Row, SeriesQuery, Text, ThresholdSpec, Variable, VariableSource, severity_rank,
};
pub use queries::{PanelQuery, QueryKind, TimeRange, substitute, variable_refs};
