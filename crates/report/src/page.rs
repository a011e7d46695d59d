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

use crate::charts::{
    Band, BandKind, Bar, ChartOptions, ChartSeries, FunnelStep, Threshold, TimeSeriesChart,
    attainment_bar, bar_chart, funnel, sparkline, status_colour, time_series,
};
use crate::dashboard::{
    ALL_VALUE, AlertFilter, AnomalyFilter, Dashboard, Panel, PanelKind, Text, TimeRange,
    VariableSource, severity_rank,
};
use crate::format::{Unit, esc, format_duration, format_time, format_value};
use crate::i18n::{Key, Lang, t};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

macro_rules! w {
    ($dst:expr, $($arg:tt)*) => { let _ = write!($dst, $($arg)*); };
}

/// The page script (served inline).
pub const DASHBOARD_JS: &str = include_str!("../assets/dashboard.js");

/// Time ranges offered by the picker.
pub const RANGE_CHOICES: &[&str] = &["5m", "15m", "1h", "6h", "24h", "7d", "14d", "30d"];

/// Labels of a series.
pub type LabelSet = BTreeMap<String, String>;

/// A series over time (one element of a range-query result).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct SeriesData {
    /// Labels.
    pub labels: LabelSet,
    /// `(unix seconds, value)` points.
    pub points: Vec<(f64, f64)>,
}

/// One sample of an instant vector.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct InstantSample {
    /// Labels.
    pub labels: LabelSet,
    /// Value.
    pub value: f64,
}

/// The result of one panel query.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryResult {
    /// A range query's series.
    Range(Vec<SeriesData>),
    /// An instant query's samples (a scalar is one sample without labels).
    Instant(Vec<InstantSample>),
    /// The evaluation failed.
    Error(String),
}

/// A KPI value; the fields and JSON names of `GET /api/v1/kpis` (so the server can
/// convert through `serde_json`), plus an optional history for the sparkline.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KpiData {
    /// Identifier.
    pub name: String,
    /// Title.
    pub title: String,
    /// Group.
    pub group: Option<String>,
    /// Unit name (`count`, `ratio`, `seconds`, `currency`, `rps`, `score`).
    pub unit: String,
    /// Current value.
    pub value: Option<f64>,
    /// Target.
    pub target: f64,
    /// `higher` or `lower` is better.
    pub direction: String,
    /// Attainment (1 = on target).
    pub attainment: Option<f64>,
    /// `ok`, `warning`, `critical`, `no_data`.
    pub status: String,
    /// Value one trend period ago.
    pub previous: Option<f64>,
    /// Relative change versus previous.
    pub trend: Option<f64>,
    /// 0 = industry average, 1 = top performers.
    pub benchmark_position: Option<f64>,
    /// Industry average.
    pub industry_average: Option<f64>,
    /// Top performers.
    pub top_performers: Option<f64>,
    /// Evaluation error.
    pub error: Option<String>,
    /// Recent values for the sparkline (optional).
    pub history: Vec<(f64, f64)>,
}

/// An alert as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AlertData {
    /// Alertmanager fingerprint.
    pub fingerprint: String,
    /// Labels (with `alertname`).
    pub labels: LabelSet,
    /// Annotations (`summary`, `description`).
    pub annotations: LabelSet,
    /// `firing`, `pending`, `resolved`, `acknowledged`, `silenced`.
    pub state: String,
    /// Severity (also usually a label).
    pub severity: String,
    /// Start (unix seconds).
    pub starts_at: f64,
    /// End (unix seconds) of a resolved alert.
    pub ends_at: Option<f64>,
    /// Who acknowledged or resolved it.
    pub ack_by: Option<String>,
    /// Their note.
    pub ack_note: Option<String>,
    /// Escalation level (0 = not escalated).
    pub escalation_level: u32,
}

/// An anomaly event (the JSON of `GET /api/v1/anomalies`) plus an excerpt of its series.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AnomalyData {
    /// Event id.
    pub id: String,
    /// Source metric.
    pub metric: String,
    /// Source labels.
    pub labels: LabelSet,
    /// Start (unix seconds).
    pub start: f64,
    /// End, `None` while open.
    pub end: Option<f64>,
    /// Still open.
    pub active: bool,
    /// Highest score.
    pub peak_score: f64,
    /// When the peak happened.
    pub peak_at: f64,
    /// `low`, `medium`, `high`, `critical`.
    pub severity: String,
    /// Pattern name.
    pub pattern: Option<String>,
    /// Plain-language explanation.
    pub insight: String,
    /// The series around the event, for its chart.
    pub excerpt: Vec<(f64, f64)>,
}

/// Everything a dashboard shows, filled by the server.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DashboardData {
    /// Query results keyed by (panel id, query index) — see `Dashboard::queries`.
    pub results: BTreeMap<(String, usize), QueryResult>,
    /// Every KPI value (KPI panels pick theirs by name).
    pub kpis: Vec<KpiData>,
    /// Alerts (alert panels filter them).
    pub alerts: Vec<AlertData>,
    /// Anomaly events, newest first (anomaly panels filter them).
    pub anomalies: Vec<AnomalyData>,
}

impl DashboardData {
    /// Stores the result of query `index` of panel `panel_id`.
    pub fn set(&mut self, panel_id: &str, index: usize, r: QueryResult) {
        self.results.insert((panel_id.to_string(), index), r);
    }
    fn get(&self, panel_id: &str, index: usize) -> Option<&QueryResult> {
        self.results.get(&(panel_id.to_string(), index))
    }
}

/// A link in the dashboard navigation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NavItem {
    /// URL name.
    pub name: String,
    /// Title.
    pub title: Text,
}

impl NavItem {
    /// The navigation entry of a dashboard.
    pub fn of(d: &Dashboard) -> NavItem {
        NavItem {
            name: d.name.clone(),
            title: d.title.clone(),
        }
    }
}

/// Request-specific context of a page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageContext {
    /// Language.
    pub lang: Lang,
    /// The window shown.
    pub range: TimeRange,
    /// The `range` parameter as chosen (`24h`).
    pub range_param: String,
    /// Selected variable values (see `Dashboard::resolve_variables`).
    pub variables: BTreeMap<String, String>,
    /// Options of `label_values` variables, looked up by the server.
    pub variable_options: BTreeMap<String, Vec<String>>,
    /// All dashboards, for the navigation.
    pub nav: Vec<NavItem>,
    /// Render time (unix seconds).
    pub now: f64,
}

impl PageContext {
    /// Builds the context of a request from its query parameters (`range` — a duration, at
    /// most 90 days, else the dashboard's default; `lang`; `var-<name>`), its
    /// `Accept-Language` header (used when `lang` is absent or unknown), the time, the
    /// navigation, and the looked-up options of `label_values` variables (see
    /// [`Dashboard::label_value_lookups`]). Variable values that are not options are replaced
    /// by the default, so they never reach PromQL. `dashboard` is `None` for the index page.
    pub fn from_request(
        dashboard: Option<&Dashboard>,
        params: &BTreeMap<String, String>,
        accept_language: Option<&str>,
        now: f64,
        nav: Vec<NavItem>,
        variable_options: BTreeMap<String, Vec<String>>,
    ) -> PageContext {
        let lang = params
            .get("lang")
            .and_then(|l| Lang::parse(l))
            .or_else(|| accept_language.map(Lang::from_accept_language))
            .unwrap_or_default();
        let default = dashboard.map(|d| d.time_range).unwrap_or(6.0 * 3600.0);
        let (range_param, dur) = match params.get("range").and_then(|r| {
            crate::format::parse_duration(r)
                .filter(|d| *d >= 60.0 && *d <= 90.0 * 86400.0)
                .map(|d| (r.trim().to_string(), d))
        }) {
            Some(x) => x,
            None => (format_duration(default), default),
        };
        let variables = match dashboard {
            Some(d) => {
                let selected: BTreeMap<String, String> = params
                    .iter()
                    .filter_map(|(k, v)| Some((k.strip_prefix("var-")?.to_string(), v.clone())))
                    .collect();
                d.resolve_variables(&selected, &variable_options)
            }
            None => BTreeMap::new(),
        };
        PageContext {
            lang,
            range: TimeRange::ending_at(now, dur),
            range_param,
            variables,
            variable_options,
            nav,
            now,
        }
    }
}

/// The SSE `data:` payload of a `panel` event: `{"id": …, "html": …}`.
pub fn panel_event(panel_id: &str, html: &str) -> String {
    serde_json::json!({"id": panel_id, "html": html}).to_string()
}

const CSS: &str = r#"
:root{--bg:#f3f4f6;--panel:#fff;--text:#1f2937;--muted:#4b5563;--line:#d1d5db;--focus:#1d4ed8;--link:#1d4ed8}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,sans-serif;background:var(--bg);color:var(--text)}
a{color:var(--link)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.4rem}
.skip:focus{left:.5rem}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.6rem 1rem;padding:.6rem 1rem;background:#111827;color:#f9fafb}
header a{color:#f9fafb}
header nav a{margin-right:.7rem;text-decoration:none;padding:.2rem .3rem;border-radius:4px}
header nav a[aria-current=page]{text-decoration:underline;font-weight:600}
header form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
header select,header button{font:inherit;padding:.2rem .4rem;border-radius:4px;border:1px solid #9ca3af}
header button{background:#f9fafb;color:#111827;cursor:pointer}
#live-status{font-size:.85rem;color:#e5e7eb}
.spacer{flex:1}
.nowrap{white-space:nowrap}
main{padding:1rem}
h1{font-size:1.35rem;margin:.2rem 0 1rem}
h2{font-size:1rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;margin:1.2rem 0 .5rem}
h3{font-size:1rem;margin:0 0 .5rem}
.panels{display:grid;grid-template-columns:repeat(12,1fr);gap:.8rem}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:.8rem;min-width:0;overflow-x:auto}
.panel svg.chart{width:100%;height:auto}
@media (max-width:900px){.panel{grid-column:span 12 !important}}
.empty{color:var(--muted);margin:.4rem 0}
.error{color:#b91c1c;font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:.6rem}
.card{border:1px solid var(--line);border-left:6px solid #6b7280;border-radius:6px;padding:.6rem}
.card .name{color:var(--muted);font-size:.85rem}
.card .value{font-size:1.5rem;font-weight:650}
.card .meta{font-size:.82rem;color:var(--muted)}
.card .status{font-weight:600;font-size:.85rem}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);font-size:.88rem;vertical-align:top}
th{color:var(--muted);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 .4rem;border-radius:4px;font-size:.8rem;font-weight:600;color:#fff}
.lbl{display:inline-block;background:#f3f4f6;border:1px solid var(--line);border-radius:3px;padding:0 .25rem;margin:0 .2rem .2rem 0;font-size:.78rem}
button.act{font:inherit;font-size:.85rem;padding:.15rem .5rem;margin:0 .2rem .2rem 0;border-radius:4px;border:1px solid #374151;background:#fff;color:#111827;cursor:pointer}
.anomaly{border-top:1px solid var(--line);padding:.6rem 0}
.anomaly p{margin:.3rem 0}
ul.dashboards{list-style:none;padding:0}
ul.dashboards li{margin:.4rem 0;font-size:1.1rem}
footer{color:var(--muted);font-size:.8rem;padding:1rem}
"#;

fn severity_colour(s: &str) -> &'static str {
    match severity_rank(s) {
        4 => "#b91c1c",
        3 => "#c2410c",
        2 => "#a16207",
        1 => "#4b5563",
        _ => "#1d4ed8",
    }
}

fn state_text(lang: Lang, s: &str) -> String {
    let k = match s {
        "firing" => Key::StateFiring,
        "pending" => Key::StatePending,
        "resolved" => Key::StateResolved,
        "acknowledged" => Key::StateAcknowledged,
        "silenced" => Key::StateSilenced,
        other => return other.to_string(),
    };
    t(lang, k).to_string()
}

fn state_colour(s: &str) -> &'static str {
    match s {
        "firing" => "#b91c1c",
        "pending" => "#a16207",
        "resolved" => "#15803d",
        "acknowledged" => "#1d4ed8",
        _ => "#4b5563",
    }
}

fn labels_html(labels: &LabelSet, skip: &[&str]) -> String {
    let mut s = String::new();
    for (k, v) in labels {
        if skip.contains(&k.as_str()) {
            continue;
        }
        w!(s, r#"<span class="lbl">{}="{}"</span>"#, esc(k), esc(v));
    }
    s
}

/// Applies a legend template (`{{instance}}`, `{{ route }}`) to labels; an empty template
/// gives `name{a="b"}`.
pub fn legend(template: &str, labels: &LabelSet) -> String {
    if template.trim().is_empty() {
        let name = labels.get("__name__").cloned().unwrap_or_default();
        let rest: Vec<String> = labels
            .iter()
            .filter(|(k, _)| k.as_str() != "__name__")
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        return if rest.is_empty() {
            if name.is_empty() { "{}".into() } else { name }
        } else {
            format!("{name}{{{}}}", rest.join(", "))
        };
    }
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find("}}") {
            Some(j) => {
                let key = after[..j].trim().trim_start_matches('.');
                out.push_str(labels.get(key).map(String::as_str).unwrap_or(""));
                rest = &after[j + 2..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn no_data(lang: Lang) -> String {
    format!(r#"<p class="empty">{}</p>"#, esc(t(lang, Key::NoData)))
}

fn query_error(lang: Lang, msg: &str) -> String {
    format!(
        r#"<p class="error" role="alert">{}: {}</p>"#,
        esc(t(lang, Key::QueryError)),
        esc(msg)
    )
}

fn chart_opts(
    panel: &Panel,
    ctx: &PageContext,
    suffix: &str,
    width: f64,
    height: f64,
) -> ChartOptions {
    ChartOptions {
        id: format!("c-{}{}", panel.id, suffix),
        title: panel.title.get(ctx.lang).to_string(),
        width,
        height,
        lang: ctx.lang,
    }
}

fn panel_px(panel: &Panel) -> f64 {
    (f64::from(panel.width) / 12.0 * 1180.0).max(320.0)
}

/// The inner HTML of one panel (what a `panel` SSE event carries).
pub fn render_panel(panel: &Panel, data: &DashboardData, ctx: &PageContext) -> String {
    let lang = ctx.lang;
    match &panel.kind {
        PanelKind::Kpi { kpis } => render_kpis(&panel.id, kpis, data, lang),
        PanelKind::TimeSeries {
            queries,
            unit,
            thresholds,
            area,
            alert_bands,
        } => {
            let mut series = Vec::new();
            let mut errors = String::new();
            for (i, q) in queries.iter().enumerate() {
                match data.get(&panel.id, i) {
                    Some(QueryResult::Range(list)) => {
                        for sd in list {
                            series.push(ChartSeries {
                                name: legend(&q.legend, &sd.labels),
                                points: sd.points.clone(),
                            });
                        }
                    }
                    Some(QueryResult::Instant(list)) => {
                        for s in list {
                            series.push(ChartSeries {
                                name: legend(&q.legend, &s.labels),
                                points: vec![(ctx.range.end, s.value)],
                            });
                        }
                    }
                    Some(QueryResult::Error(e)) => errors.push_str(&query_error(lang, e)),
                    None => {}
                }
            }
            let chart = TimeSeriesChart {
                series,
                unit: *unit,
                start: ctx.range.start,
                end: ctx.range.end,
                step: ctx.range.step,
                area: *area,
                thresholds: thresholds
                    .iter()
                    .map(|th| Threshold {
                        value: th.value,
                        label: th.label.get(lang).to_string(),
                    })
                    .collect(),
                bands: anomaly_bands(queries.iter().map(|q| q.expr.as_str()), data, ctx)
                    .into_iter()
                    .chain(firing_bands(alert_bands, data, ctx))
                    .collect(),
            };
            let w = panel_px(panel);
            errors + &time_series(&chart, &chart_opts(panel, ctx, "", w, 280.0))
        }
        PanelKind::Funnel { steps, unit } => {
            let mut errors = String::new();
            let fsteps: Vec<FunnelStep> = steps
                .iter()
                .enumerate()
                .map(|(i, s)| FunnelStep {
                    label: s.label.get(lang).to_string(),
                    value: match data.get(&panel.id, i) {
                        Some(QueryResult::Instant(v)) if !v.is_empty() => {
                            v.iter().map(|x| x.value).sum()
                        }
                        Some(QueryResult::Error(e)) => {
                            errors.push_str(&query_error(lang, e));
                            f64::NAN
                        }
                        _ => f64::NAN,
                    },
                })
                .collect();
            if fsteps.iter().all(|s| !s.value.is_finite()) {
                return errors + &no_data(lang);
            }
            errors
                + &funnel(
                    &fsteps,
                    *unit,
                    &chart_opts(panel, ctx, "", panel_px(panel), 200.0),
                )
        }
        PanelKind::Bar { by, unit, .. } => match data.get(&panel.id, 0) {
            Some(QueryResult::Instant(v)) if !v.is_empty() => {
                let bars: Vec<Bar> = v
                    .iter()
                    .map(|s| Bar {
                        label: s.labels.get(by).cloned().unwrap_or_else(|| "—".into()),
                        value: s.value,
                    })
                    .collect();
                bar_chart(
                    &bars,
                    *unit,
                    &chart_opts(panel, ctx, "", panel_px(panel), 200.0),
                )
            }
            Some(QueryResult::Error(e)) => query_error(lang, e),
            _ => no_data(lang),
        },
        PanelKind::Table { columns, unit, .. } => match data.get(&panel.id, 0) {
            Some(QueryResult::Instant(v)) if !v.is_empty() => render_table(v, columns, *unit, lang),
            Some(QueryResult::Error(e)) => query_error(lang, e),
            _ => no_data(lang),
        },
        PanelKind::Alerts { filter } => render_alerts(&data.alerts, filter, lang),
        PanelKind::Anomalies { filter } => render_anomalies(panel, &data.anomalies, filter, ctx),
    }
}

/// Anomaly windows of the metrics an expression reads (matched by metric name), as bands.
fn anomaly_bands<'a>(
    exprs: impl Iterator<Item = &'a str>,
    data: &DashboardData,
    ctx: &PageContext,
) -> Vec<Band> {
    let exprs: Vec<&str> = exprs.collect();
    let mentions = |metric: &str| {
        !metric.is_empty()
            && exprs.iter().any(|e| {
                e.match_indices(metric).any(|(i, _)| {
                    let before = e[..i].chars().next_back();
                    let after = e[i + metric.len()..].chars().next();
                    let word = |c: Option<char>| {
                        c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                    };
                    !word(before) && !word(after)
                })
            })
    };
    data.anomalies
        .iter()
        .filter(|a| mentions(&a.metric))
        .filter(|a| a.start <= ctx.range.end && a.end.unwrap_or(ctx.now) >= ctx.range.start)
        .take(20)
        .map(|a| Band {
            start: a.start,
            end: a.end.unwrap_or(ctx.now),
            label: format!("{} {}", legend("", &a.labels), a.insight),
            kind: BandKind::Anomaly,
        })
        .collect()
}

/// Firing spans of the named alerts (pending and silenced alerts are not drawn).
fn firing_bands(names: &[String], data: &DashboardData, ctx: &PageContext) -> Vec<Band> {
    if names.is_empty() {
        return Vec::new();
    }
    data.alerts
        .iter()
        .filter(|a| {
            a.labels
                .get("alertname")
                .is_some_and(|n| names.iter().any(|x| x == n))
                && matches!(a.state.as_str(), "firing" | "acknowledged" | "resolved")
        })
        .filter_map(|a| {
            let end = if a.state == "resolved" {
                a.ends_at?
            } else {
                ctx.now
            };
            (a.starts_at <= ctx.range.end && end >= ctx.range.start).then(|| Band {
                start: a.starts_at,
                end,
                label: legend("", &a.labels),
                kind: BandKind::Alert,
            })
        })
        .take(20)
        .collect()
}

fn render_table(v: &[InstantSample], columns: &[String], unit: Unit, lang: Lang) -> String {
    let cols: Vec<String> = if columns.is_empty() {
        let mut set = std::collections::BTreeSet::new();
        for s in v {
            for k in s.labels.keys() {
                if k != "__name__" {
                    set.insert(k.clone());
                }
            }
        }
        set.into_iter().collect()
    } else {
        columns.to_vec()
    };
    let mut rows: Vec<&InstantSample> = v.iter().collect();
    rows.sort_by(|a, b| {
        b.value
            .total_cmp(&a.value)
            .then_with(|| a.labels.cmp(&b.labels))
    });
    let mut s = String::from("<table><thead><tr>");
    for c in &cols {
        w!(s, r#"<th scope="col">{}</th>"#, esc(c));
    }
    w!(
        s,
        r#"<th scope="col" class="num">{}</th></tr></thead><tbody>"#,
        esc(t(lang, Key::Value))
    );
    for r in rows {
        s.push_str("<tr>");
        for c in &cols {
            w!(
                s,
                "<td>{}</td>",
                esc(r.labels.get(c).map(String::as_str).unwrap_or(""))
            );
        }
        w!(
            s,
            r#"<td class="num">{}</td></tr>"#,
            esc(&format_value(r.value, unit, lang))
        );
    }
    s.push_str("</tbody></table>");
    s
}

fn render_kpis(panel_id: &str, names: &[String], data: &DashboardData, lang: Lang) -> String {
    let mut s = String::from(r#"<div class="cards">"#);
    for name in names {
        let Some(k) = data.kpis.iter().find(|k| &k.name == name) else {
            w!(
                s,
                r#"<div class="card" data-kpi="{}"><div class="name">{}</div><div class="value">—</div><div class="status">{}: {}</div></div>"#,
                esc(name),
                esc(name),
                esc(t(lang, Key::UnknownKpi)),
                esc(t(lang, Key::NoData))
            );
            continue;
        };
        let unit = Unit::parse(&k.unit).unwrap_or(Unit::Plain);
        let status = if k.value.is_none() {
            "no_data"
        } else {
            k.status.as_str()
        };
        let colour = status_colour(status);
        let status_key = match status {
            "ok" => Key::StatusOk,
            "warning" => Key::StatusWarning,
            "critical" => Key::StatusCritical,
            _ => Key::StatusNoData,
        };
        let value = k
            .value
            .map(|v| format_value(v, unit, lang))
            .unwrap_or_else(|| t(lang, Key::NoData).to_string());
        w!(
            s,
            r#"<div class="card" data-kpi="{}" style="border-left-color:{colour}"><div class="name">{}</div><div class="value" data-value="{}">{}</div><div class="status" style="color:{colour}">{}</div>"#,
            esc(&k.name),
            esc(if k.title.is_empty() {
                &k.name
            } else {
                &k.title
            }),
            k.value.map(|v| v.to_string()).unwrap_or_default(),
            esc(&value),
            esc(t(lang, status_key))
        );
        let opts = ChartOptions {
            id: format!("att-{panel_id}-{}", k.name),
            title: String::new(),
            width: 180.0,
            height: 10.0,
            lang,
        };
        w!(
            s,
            r#"<div class="meta">{} <span class="nowrap">{}</span> · <span class="nowrap">{}: {}</span>{}</div>"#,
            attainment_bar(k.attainment, status, &opts),
            esc(&k
                .attainment
                .map(|a| format_value(a, Unit::Ratio, lang))
                .unwrap_or_default()),
            esc(t(lang, Key::Target)),
            esc(&format_value(k.target, unit, lang)),
            if k.direction == "lower" {
                format!(" ({})", esc(t(lang, Key::LowerIsBetter)))
            } else {
                String::new()
            }
        );
        if let Some(tr) = k.trend.filter(|x| x.is_finite()) {
            let (arrow, word) = if tr > 0.0005 {
                ("▲", Key::TrendUp)
            } else if tr < -0.0005 {
                ("▼", Key::TrendDown)
            } else {
                ("▶", Key::TrendFlat)
            };
            let good = (tr > 0.0) == (k.direction != "lower");
            let c = if tr.abs() <= 0.0005 {
                "#4b5563"
            } else if good {
                "#15803d"
            } else {
                "#b91c1c"
            };
            w!(
                s,
                r#"<div class="meta"><span style="color:{c}" aria-hidden="true">{arrow}</span> {} {} {}</div>"#,
                esc(t(lang, word)),
                esc(&format_value(tr.abs(), Unit::Ratio, lang)),
                esc(t(lang, Key::Trend))
            );
        }
        if let Some(bp) = k.benchmark_position.filter(|x| x.is_finite()) {
            let mut extra = String::new();
            if let Some(a) = k.industry_average {
                w!(
                    extra,
                    r#" · {} <span class="nowrap">{}</span>"#,
                    esc(t(lang, Key::IndustryAverage)),
                    esc(&format_value(a, unit, lang))
                );
            }
            if let Some(tp) = k.top_performers {
                w!(
                    extra,
                    r#" · {} <span class="nowrap">{}</span>"#,
                    esc(t(lang, Key::TopPerformers)),
                    esc(&format_value(tp, unit, lang))
                );
            }
            let where_key = if bp >= 1.0 {
                Key::BenchAboveTop
            } else if bp >= 0.0 {
                Key::BenchBetween
            } else {
                Key::BenchBelowAverage
            };
            w!(
                s,
                r#"<div class="meta" data-benchmark="{}">{}: {} ({}){}</div>"#,
                bp,
                esc(t(lang, Key::Benchmark)),
                esc(t(lang, where_key)),
                esc(&crate::format::fmt_num(bp, 2, lang)),
                extra
            );
        }
        if !k.history.is_empty() {
            let o = ChartOptions {
                id: format!("spark-{panel_id}-{}", k.name),
                title: k.title.clone(),
                width: 180.0,
                height: 28.0,
                lang,
            };
            s.push_str(&sparkline(&k.history, &o));
        }
        if let Some(e) = &k.error {
            s.push_str(&query_error(lang, e));
        }
        s.push_str("</div>");
    }
    s.push_str("</div>");
    s
}

fn alert_matches(a: &AlertData, f: &AlertFilter) -> bool {
    (f.states.is_empty() || f.states.iter().any(|s| s == &a.state))
        && f.severity.as_deref().is_none_or(|min| {
            let sev = if a.severity.is_empty() {
                a.labels.get("severity").map(String::as_str).unwrap_or("")
            } else {
                a.severity.as_str()
            };
            severity_rank(sev) >= severity_rank(min)
        })
        && f.labels.iter().all(|(k, v)| a.labels.get(k) == Some(v))
}

fn render_alerts(alerts: &[AlertData], f: &AlertFilter, lang: Lang) -> String {
    let mut list: Vec<&AlertData> = alerts.iter().filter(|a| alert_matches(a, f)).collect();
    if list.is_empty() {
        return format!(r#"<p class="empty">{}</p>"#, esc(t(lang, Key::NoAlerts)));
    }
    list.sort_by(|a, b| {
        severity_rank(&b.severity)
            .cmp(&severity_rank(&a.severity))
            .then(b.starts_at.total_cmp(&a.starts_at))
            .then_with(|| a.fingerprint.cmp(&b.fingerprint))
    });
    list.truncate(f.limit.max(1));
    let mut s = String::from("<table><thead><tr>");
    for k in [
        Key::Alert,
        Key::Severity,
        Key::State,
        Key::Since,
        Key::Labels,
        Key::Actions,
    ] {
        w!(s, r#"<th scope="col">{}</th>"#, esc(t(lang, k)));
    }
    s.push_str("</tr></thead><tbody>");
    for a in list {
        let name = a.labels.get("alertname").map(String::as_str).unwrap_or("");
        let summary = a
            .annotations
            .get("summary")
            .or_else(|| a.annotations.get("description"))
            .map(String::as_str)
            .unwrap_or("");
        let sev = if a.severity.is_empty() {
            a.labels.get("severity").cloned().unwrap_or_default()
        } else {
            a.severity.clone()
        };
        w!(
            s,
            r#"<tr data-fingerprint="{}"><td><strong>{}</strong><br>{}"#,
            esc(&a.fingerprint),
            esc(name),
            esc(summary)
        );
        if a.ack_by.is_some() || a.ack_note.is_some() {
            w!(
                s,
                r#"<br><small>{}: {}{}{}</small>"#,
                esc(t(lang, Key::AckBy)),
                esc(a.ack_by.as_deref().unwrap_or("—")),
                if a.ack_note.is_some() { " — " } else { "" },
                esc(a.ack_note.as_deref().unwrap_or(""))
            );
        }
        w!(
            s,
            r#"</td><td><span class="badge" style="background:{}">{}</span>"#,
            severity_colour(&sev),
            esc(&sev)
        );
        if a.escalation_level > 0 {
            w!(
                s,
                r#"<br><small>{} {}</small>"#,
                esc(t(lang, Key::Escalation)),
                a.escalation_level
            );
        }
        w!(
            s,
            r#"</td><td><span class="badge" style="background:{}">{}</span></td><td>{}</td><td>{}</td><td>"#,
            state_colour(&a.state),
            esc(&state_text(lang, &a.state)),
            esc(&format_time(a.starts_at)),
            labels_html(&a.labels, &["alertname", "severity"])
        );
        // Pending alerts are not in alert routing yet (as in Prometheus, only firing ones are
        // sent), so they cannot be acknowledged or resolved.
        if a.state == "firing" {
            w!(
                s,
                r#"<button type="button" class="act" data-action="ack" data-fp="{}">{}</button>"#,
                esc(&a.fingerprint),
                esc(t(lang, Key::Acknowledge))
            );
        }
        if !matches!(a.state.as_str(), "resolved" | "pending") {
            w!(
                s,
                r#"<button type="button" class="act" data-action="resolve" data-fp="{}">{}</button>"#,
                esc(&a.fingerprint),
                esc(t(lang, Key::Resolve))
            );
        }
        s.push_str("</td></tr>");
    }
    s.push_str("</tbody></table>");
    s
}

fn anomaly_rank(s: &str) -> u8 {
    match s {
        "critical" => 3,
        "high" => 2,
        "medium" => 1,
        _ => 0,
    }
}

fn render_anomalies(
    panel: &Panel,
    all: &[AnomalyData],
    f: &AnomalyFilter,
    ctx: &PageContext,
) -> String {
    let lang = ctx.lang;
    let list: Vec<&AnomalyData> = all
        .iter()
        .filter(|a| {
            f.severity
                .as_deref()
                .is_none_or(|min| anomaly_rank(&a.severity) >= anomaly_rank(min))
                && f.metric.as_deref().is_none_or(|m| a.metric == m)
                && (!f.active_only || a.active)
        })
        .take(f.limit.max(1))
        .collect();
    if list.is_empty() {
        return format!(r#"<p class="empty">{}</p>"#, esc(t(lang, Key::NoAnomalies)));
    }
    let mut s = String::new();
    for (i, a) in list.iter().enumerate() {
        let end = a.end.unwrap_or(ctx.now);
        w!(
            s,
            r#"<article class="anomaly" data-anomaly="{}"><h4><span class="badge" style="background:{}">{}</span> {} {}</h4>"#,
            esc(&a.id),
            severity_colour(&a.severity),
            esc(&a.severity),
            esc(&a.metric),
            labels_html(&a.labels, &["__name__"])
        );
        w!(
            s,
            r#"<p class="meta">{}: {} · {}: {} · {}: {} · {}: {}</p><p>{}</p>"#,
            esc(t(lang, Key::Start)),
            esc(&format_time(a.start)),
            esc(t(lang, if a.active { Key::Active } else { Key::Ended })),
            esc(&if a.active {
                format_duration(ctx.now - a.start)
            } else {
                format_time(end)
            }),
            esc(t(lang, Key::Pattern)),
            esc(a.pattern.as_deref().unwrap_or("—")),
            esc(t(lang, Key::PeakScore)),
            esc(&crate::format::fmt_num(a.peak_score, 2, lang)),
            esc(&a.insight)
        );
        if !a.excerpt.is_empty() {
            let chart = TimeSeriesChart {
                series: vec![ChartSeries {
                    name: a.metric.clone(),
                    points: a.excerpt.clone(),
                }],
                unit: guess_unit(&a.metric),
                start: f64::NAN,
                end: f64::NAN,
                step: excerpt_step(&a.excerpt),
                area: false,
                thresholds: Vec::new(),
                bands: vec![Band {
                    start: a.start,
                    end,
                    label: a.insight.clone(),
                    kind: BandKind::Anomaly,
                }],
            };
            s.push_str(&time_series(
                &chart,
                &chart_opts(panel, ctx, &format!("-{i}"), panel_px(panel), 200.0),
            ));
        }
        s.push_str("</article>");
    }
    s
}

fn excerpt_step(points: &[(f64, f64)]) -> f64 {
    let mut d: Vec<f64> = points
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .filter(|x| x.is_finite() && *x > 0.0)
        .collect();
    d.sort_by(f64::total_cmp);
    d.get(d.len() / 2).copied().unwrap_or(0.0)
}

/// A unit guessed from a Prometheus metric name's suffix.
pub fn guess_unit(metric: &str) -> Unit {
    if metric.ends_with("_bytes") {
        Unit::Bytes
    } else if metric.ends_with("_seconds") {
        Unit::Seconds
    } else if metric.ends_with("_ratio") || metric.ends_with(":ratio") || metric == "anomaly_score"
    {
        Unit::Ratio
    } else {
        Unit::Plain
    }
}

fn query_string(ctx: &PageContext, lang: Lang) -> String {
    let mut q = format!("?lang={}&range={}", lang.code(), url_enc(&ctx.range_param));
    for (k, v) in &ctx.variables {
        w!(q, "&var-{}={}", url_enc(k), url_enc(v));
    }
    q
}

fn url_enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            w!(out, "%{b:02X}");
        }
    }
    out
}

fn head(s: &mut String, lang: Lang, title: &str) {
    w!(
        s,
        r#"<!doctype html><html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{} · vigia</title><style>{CSS}</style></head>"#,
        lang.code(),
        esc(title)
    );
}

fn nav(s: &mut String, ctx: &PageContext, current: Option<&str>) {
    let lang = ctx.lang;
    w!(
        s,
        r#"<nav aria-label="{}"><a href="/dashboards?lang={}""#,
        esc(t(lang, Key::Dashboards)),
        lang.code()
    );
    if current.is_none() {
        s.push_str(r#" aria-current="page""#);
    }
    w!(s, ">{}</a>", esc(t(lang, Key::Home)));
    for n in &ctx.nav {
        w!(
            s,
            r#"<a href="/d/{}?lang={}""#,
            url_enc(&n.name),
            lang.code()
        );
        if current == Some(n.name.as_str()) {
            s.push_str(r#" aria-current="page""#);
        }
        w!(s, ">{}</a>", esc(n.title.get(lang)));
    }
    s.push_str("</nav>");
}

fn strings_json(lang: Lang) -> String {
    serde_json::json!({
        "updated": t(lang, Key::LastUpdated),
        "live": t(lang, Key::Live),
        "reconnecting": t(lang, Key::Disconnected),
        "notePrompt": t(lang, Key::NotePrompt),
        "failed": t(lang, Key::ActionFailed),
    })
    .to_string()
    .replace('<', "\\u003c")
}

/// A complete dashboard page.
pub fn render_dashboard(d: &Dashboard, data: &DashboardData, ctx: &PageContext) -> String {
    let lang = ctx.lang;
    let mut s = String::new();
    head(&mut s, lang, d.title.get(lang));
    w!(
        s,
        r##"<body data-dashboard="{}"><a class="skip" href="#main">{}</a><header>"##,
        esc(&d.name),
        esc(t(lang, Key::SkipToContent))
    );
    nav(&mut s, ctx, Some(&d.name));
    w!(
        s,
        r#"<form class="controls" method="get" action="/d/{}"><input type="hidden" name="lang" value="{}"><label>{} <select name="range">"#,
        url_enc(&d.name),
        lang.code(),
        esc(t(lang, Key::TimeRange))
    );
    let mut choices: Vec<&str> = RANGE_CHOICES.to_vec();
    if !choices.contains(&ctx.range_param.as_str()) && !ctx.range_param.is_empty() {
        choices.push(&ctx.range_param);
    }
    for c in choices {
        w!(
            s,
            r#"<option value="{}"{}>{}</option>"#,
            esc(c),
            if c == ctx.range_param {
                " selected"
            } else {
                ""
            },
            esc(c)
        );
    }
    s.push_str("</select></label>");
    for v in &d.variables {
        let mut opts: Vec<String> = match &v.source {
            VariableSource::Custom(l) => l.clone(),
            VariableSource::LabelValues { .. } => ctx
                .variable_options
                .get(&v.name)
                .cloned()
                .unwrap_or_default(),
        };
        if v.include_all {
            opts.insert(0, ALL_VALUE.to_string());
        }
        let selected = ctx.variables.get(&v.name).cloned().unwrap_or_default();
        w!(
            s,
            r#"<label>{} <select name="var-{}">"#,
            esc(v.label.get(lang)),
            esc(&v.name)
        );
        for o in opts {
            let text = if o == ALL_VALUE && v.include_all {
                t(lang, Key::All).to_string()
            } else {
                o.clone()
            };
            w!(
                s,
                r#"<option value="{}"{}>{}</option>"#,
                esc(&o),
                if o == selected { " selected" } else { "" },
                esc(&text)
            );
        }
        s.push_str("</select></label>");
    }
    w!(
        s,
        r#"<button type="submit">{}</button></form>"#,
        esc(t(lang, Key::Apply))
    );
    let other = lang.other();
    w!(
        s,
        r#"<span class="spacer"></span><a href="/d/{}{}" lang="{}" hreflang="{}">{}</a><span id="live-status" role="status" aria-live="polite">{} {}</span></header>"#,
        url_enc(&d.name),
        esc(&query_string(ctx, other)),
        other.code(),
        other.code(),
        esc(t(lang, Key::SwitchLanguage)),
        esc(t(lang, Key::LastUpdated)),
        esc(&format_time(ctx.now))
    );
    w!(
        s,
        r#"<main id="main"><h1>{}</h1><p class="empty">{} – {}</p>"#,
        esc(d.title.get(lang)),
        esc(&format_time(ctx.range.start)),
        esc(&format_time(ctx.range.end))
    );
    for (ri, row) in d.rows.iter().enumerate() {
        w!(s, r#"<section class="row" aria-labelledby="row-{ri}">"#);
        match &row.title {
            Some(title) => {
                w!(s, r#"<h2 id="row-{ri}">{}</h2>"#, esc(title.get(lang)));
            }
            None => {
                w!(
                    s,
                    r#"<h2 id="row-{ri}" class="skip">{}</h2>"#,
                    esc(d.title.get(lang))
                );
            }
        }
        s.push_str(r#"<div class="panels">"#);
        for p in &row.panels {
            w!(
                s,
                r#"<section class="panel panel-{}" id="panel-{}" style="grid-column:span {}" aria-labelledby="panel-{}-h"><h3 id="panel-{}-h">{}</h3><div class="panel-body" data-panel="{}">{}</div></section>"#,
                p.kind.name(),
                esc(&p.id),
                p.width,
                esc(&p.id),
                esc(&p.id),
                esc(p.title.get(lang)),
                esc(&p.id),
                render_panel(p, data, ctx)
            );
        }
        s.push_str("</div></section>");
    }
    w!(
        s,
        r#"</main><footer>vigia · {} {}</footer><script type="application/json" id="vigia-strings">{}</script><script>{}</script></body></html>"#,
        esc(t(lang, Key::Refresh)),
        esc(&format_duration(d.refresh)),
        strings_json(lang),
        DASHBOARD_JS
    );
    s
}

/// The index page listing dashboards (from `ctx.nav`).
pub fn render_index(ctx: &PageContext) -> String {
    let lang = ctx.lang;
    let mut s = String::new();
    head(&mut s, lang, t(lang, Key::Dashboards));
    w!(
        s,
        r##"<body><a class="skip" href="#main">{}</a><header>"##,
        esc(t(lang, Key::SkipToContent))
    );
    nav(&mut s, ctx, None);
    let other = lang.other();
    w!(
        s,
        r#"<span class="spacer"></span><a href="/dashboards?lang={}" lang="{}" hreflang="{}">{}</a></header><main id="main"><h1>{}</h1><ul class="dashboards">"#,
        other.code(),
        other.code(),
        other.code(),
        esc(t(lang, Key::SwitchLanguage)),
        esc(t(lang, Key::Dashboards))
    );
    for n in &ctx.nav {
        w!(
            s,
            r#"<li><a href="/d/{}?lang={}">{}</a></li>"#,
            url_enc(&n.name),
            lang.code(),
            esc(n.title.get(lang))
        );
    }
    s.push_str("</ul></main></body></html>");
    s
}
