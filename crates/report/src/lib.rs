//! vigia-report: charts and dashboards. Draws SVG charts (time series, bars, funnel, KPI cards)
//! from plain data, defines dashboards in YAML and renders them to HTML, so the live dashboard
//! and scheduled reports share one drawing code.
