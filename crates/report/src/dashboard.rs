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

use crate::format::{Unit, parse_duration};
use crate::i18n::Lang;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

/// Text in English and Spanish.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text {
    /// English.
    pub en: String,
    /// Spanish.
    pub es: String,
}

impl Text {
    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Es => &self.es,
        }
    }
    /// The same text in both languages.
    pub fn both(s: &str) -> Text {
        Text {
            en: s.to_string(),
            es: s.to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawText {
    Plain(String),
    Both { en: String, es: Option<String> },
}

impl From<RawText> for Text {
    fn from(r: RawText) -> Text {
        match r {
            RawText::Plain(s) => Text::both(&s),
            RawText::Both { en, es } => Text {
                es: es.unwrap_or_else(|| en.clone()),
                en,
            },
        }
    }
}

/// A located problem in a dashboard file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardError {
    /// File name as given.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DashboardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Every problem found in one or more dashboard files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DashboardErrors(pub Vec<DashboardError>);

impl fmt::Display for DashboardErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Where a variable's options come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VariableSource {
    /// The values of `label` on the series named `series` (the server looks them up).
    LabelValues {
        /// Metric name.
        series: String,
        /// Label name.
        label: String,
    },
    /// A fixed list.
    Custom(Vec<String>),
}

/// A dashboard variable, referenced in expressions as `$name` or `${name}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Name.
    pub name: String,
    /// Label in the UI.
    pub label: Text,
    /// Options.
    pub source: VariableSource,
    /// Offers an "All" option whose value is the regex `.*`.
    pub include_all: bool,
    /// Default selection (otherwise "All" when offered, else the first option).
    pub default: Option<String>,
}

/// Value used for "All".
pub const ALL_VALUE: &str = ".*";

/// One PromQL query of a time-series panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesQuery {
    /// PromQL (may reference variables).
    pub expr: String,
    /// Legend template (`{{instance}}`); empty = the series' labels.
    pub legend: String,
}

/// A threshold line of a time-series panel.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdSpec {
    /// Value.
    pub value: f64,
    /// Label.
    pub label: Text,
}

/// A funnel step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelStepSpec {
    /// Label.
    pub label: Text,
    /// PromQL returning one number.
    pub expr: String,
}

/// Which alerts an alert panel lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertFilter {
    /// States shown (`firing`, `pending`, `acknowledged`, `resolved`, `silenced`); empty = all.
    pub states: Vec<String>,
    /// Lowest severity shown (`info` < `low` < `medium`/`warning` < `high` < `critical`).
    pub severity: Option<String>,
    /// Labels that must match exactly.
    pub labels: BTreeMap<String, String>,
    /// Most rows shown.
    pub limit: usize,
}

/// Which anomaly events an anomaly panel lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnomalyFilter {
    /// Lowest severity shown (`low`, `medium`, `high`, `critical`).
    pub severity: Option<String>,
    /// Only this source metric.
    pub metric: Option<String>,
    /// Only open events.
    pub active_only: bool,
    /// Most rows shown.
    pub limit: usize,
}

/// What a panel shows.
#[derive(Debug, Clone, PartialEq)]
pub enum PanelKind {
    /// KPI cards, by KPI name (from the `kpis:` configuration).
    Kpi {
        /// KPI names.
        kpis: Vec<String>,
    },
    /// Lines over the time range.
    TimeSeries {
        /// Queries.
        queries: Vec<SeriesQuery>,
        /// Unit.
        unit: Unit,
        /// Threshold lines.
        thresholds: Vec<ThresholdSpec>,
        /// Fill under lines.
        area: bool,
        /// Alert names whose firing spans are highlighted.
        alert_bands: Vec<String>,
    },
    /// A funnel of instant values.
    Funnel {
        /// Steps.
        steps: Vec<FunnelStepSpec>,
        /// Unit.
        unit: Unit,
    },
    /// Horizontal bars, one per value of a label.
    Bar {
        /// PromQL instant vector.
        expr: String,
        /// Label that names the bars.
        by: String,
        /// Unit.
        unit: Unit,
    },
    /// An instant vector as a table (one row per series).
    Table {
        /// PromQL instant vector.
        expr: String,
        /// Label columns; empty = every label but `__name__`.
        columns: Vec<String>,
        /// Unit of the value column.
        unit: Unit,
    },
    /// Alert list with acknowledge/resolve.
    Alerts {
        /// Filter.
        filter: AlertFilter,
    },
    /// Anomaly events with insight and chart.
    Anomalies {
        /// Filter.
        filter: AnomalyFilter,
    },
}

impl PanelKind {
    /// The kind's YAML name.
    pub fn name(&self) -> &'static str {
        match self {
            PanelKind::Kpi { .. } => "kpi",
            PanelKind::TimeSeries { .. } => "timeseries",
            PanelKind::Funnel { .. } => "funnel",
            PanelKind::Bar { .. } => "bar",
            PanelKind::Table { .. } => "table",
            PanelKind::Alerts { .. } => "alerts",
            PanelKind::Anomalies { .. } => "anomalies",
        }
    }
}

/// A panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// Identifier, unique in the dashboard (HTML id, SSE target, data key).
    pub id: String,
    /// Title.
    pub title: Text,
    /// Width in twelfths of the row (1–12, default 12).
    pub width: u8,
    /// Content.
    pub kind: PanelKind,
}

/// A row of panels.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Optional heading.
    pub title: Option<Text>,
    /// Panels, left to right.
    pub panels: Vec<Panel>,
}

/// A dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// URL name (`campaign`).
    pub name: String,
    /// Title.
    pub title: Text,
    /// Default time range in seconds.
    pub time_range: f64,
    /// Refresh interval for live updates in seconds.
    pub refresh: f64,
    /// Variables.
    pub variables: Vec<Variable>,
    /// Rows.
    pub rows: Vec<Row>,
}

/// Instant or range evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// One value per series at the end of the range.
    Instant,
    /// Values over the range at the range's step.
    Range,
}

/// A query the server must evaluate for a panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelQuery {
    /// Panel id.
    pub panel_id: String,
    /// Index of the query within the panel (the data key with the panel id).
    pub index: usize,
    /// PromQL with variables substituted.
    pub expr: String,
    /// How to evaluate it.
    pub kind: QueryKind,
}

/// The time window shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeRange {
    /// Start (unix seconds).
    pub start: f64,
    /// End (unix seconds).
    pub end: f64,
    /// Step for range queries (seconds).
    pub step: f64,
}

impl TimeRange {
    /// The window of `duration` seconds ending at `end`, with a step giving about 240
    /// points (at least 15 s, rounded to a whole clock step).
    pub fn ending_at(end: f64, duration: f64) -> TimeRange {
        let duration = if duration.is_finite() && duration > 0.0 {
            duration
        } else {
            3600.0
        };
        let rough = (duration / 240.0).max(15.0);
        let step = [
            15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        ]
        .into_iter()
        .find(|s| *s >= rough)
        .unwrap_or(rough.ceil());
        TimeRange {
            start: end - duration,
            end,
            step,
        }
    }
    /// Length in seconds.
    pub fn duration(&self) -> f64 {
        self.end - self.start
    }
}

// ---------------------------------------------------------------- raw YAML model

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDashboard {
    name: Spanned<String>,
    title: RawText,
    #[serde(default)]
    time_range: Option<Spanned<String>>,
    #[serde(default)]
    refresh: Option<Spanned<String>>,
    #[serde(default)]
    variables: Vec<RawVariable>,
    #[serde(default)]
    rows: Vec<RawRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVariable {
    name: Spanned<String>,
    #[serde(default)]
    label: Option<RawText>,
    #[serde(default)]
    label_values: Option<RawLabelValues>,
    #[serde(default)]
    custom: Option<Vec<String>>,
    #[serde(default)]
    include_all: bool,
    #[serde(default)]
    default: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLabelValues {
    series: String,
    label: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    #[serde(default)]
    title: Option<RawText>,
    #[serde(default)]
    panels: Vec<RawPanel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    expr: Spanned<String>,
    #[serde(default)]
    legend: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    value: f64,
    #[serde(default)]
    label: Option<RawText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    label: RawText,
    expr: Spanned<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFilter {
    #[serde(default)]
    states: Vec<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    metric: Option<String>,
    #[serde(default)]
    active_only: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPanel {
    id: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    title: Option<RawText>,
    #[serde(default)]
    width: Option<Spanned<u8>>,
    #[serde(default)]
    unit: Option<Spanned<String>>,
    #[serde(default)]
    kpis: Option<Vec<String>>,
    #[serde(default)]
    queries: Option<Vec<RawQuery>>,
    #[serde(default)]
    thresholds: Option<Vec<RawThreshold>>,
    #[serde(default)]
    area: bool,
    #[serde(default)]
    alert_bands: Option<Vec<String>>,
    #[serde(default)]
    steps: Option<Vec<RawStep>>,
    #[serde(default)]
    expr: Option<Spanned<String>>,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    columns: Option<Vec<String>>,
    #[serde(default)]
    filter: Option<RawFilter>,
    #[serde(default)]
    limit: Option<usize>,
}

/// Names of built-in variables: `$__range` (the range length, a PromQL duration),
/// `$__interval` (the step) and `$__rate_interval` (4 × step, at least 1m).
pub const BUILTIN_VARIABLES: &[&str] = &["__range", "__interval", "__rate_interval"];

const ALERT_STATES: &[&str] = &["firing", "pending", "acknowledged", "resolved", "silenced"];
const SEVERITIES: &[&str] = &["info", "low", "medium", "warning", "high", "critical"];

struct Ctx<'a> {
    file: &'a str,
    errors: Vec<DashboardError>,
}

impl Ctx<'_> {
    fn err(&mut self, loc: Option<&serde_saphyr::Location>, message: String) {
        let (line, column) = loc.map(|l| (l.line(), l.column())).unwrap_or((0, 0));
        self.errors.push(DashboardError {
            file: self.file.to_string(),
            line,
            column,
            message,
        });
    }
}

/// Variable references (`$name`, `${name}`) in `expr`, in order.
pub fn variable_refs(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let braced = b.get(i + 1) == Some(&b'{');
            let s = if braced { i + 2 } else { i + 1 };
            let mut e = s;
            while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_') {
                e += 1;
            }
            if e > s {
                if let Some(name) = expr.get(s..e) {
                    out.push(name.to_string());
                }
                i = if braced && b.get(e) == Some(&b'}') {
                    e + 1
                } else {
                    e
                };
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Replaces `$name` / `${name}` in `expr` with `values[name]` (unknown names stay as they
/// are). Values have `\` and `"` escaped so they cannot leave a PromQL string literal.
pub fn substitute(expr: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let braced = after.starts_with('{');
        let body = if braced { &after[1..] } else { after };
        let len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let name = &body[..len];
        let closed = !braced || body[len..].starts_with('}');
        match values.get(name) {
            Some(v) if len > 0 && closed => {
                for c in v.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '"' => out.push_str("\\\""),
                        '\n' => out.push(' '),
                        c => out.push(c),
                    }
                }
                let consumed = if braced { len + 2 } else { len };
                rest = &after[consumed..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn duration_literal(secs: f64) -> String {
    let s = secs.round().max(1.0) as i64;
    for (unit, name) in [(86400, "d"), (3600, "h"), (60, "m")] {
        if s % unit == 0 {
            return format!("{}{}", s / unit, name);
        }
    }
    format!("{s}s")
}

impl Dashboard {
    /// Parses and validates a dashboard; `file` names it in errors.
    pub fn from_yaml(file: &str, text: &str) -> Result<Dashboard, DashboardErrors> {
        let raw: RawDashboard = match serde_saphyr::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                let (line, column) = e
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .unwrap_or((0, 0));
                return Err(DashboardErrors(vec![DashboardError {
                    file: file.to_string(),
                    line,
                    column,
                    message: vigia_model::config::yaml_message(&e),
                }]));
            }
        };
        let mut cx = Ctx {
            file,
            errors: Vec::new(),
        };
        let d = convert(raw, &mut cx);
        if cx.errors.is_empty() {
            Ok(d)
        } else {
            Err(DashboardErrors(cx.errors))
        }
    }

    /// Reads and parses one file.
    pub fn load_file(path: &Path) -> Result<Dashboard, DashboardErrors> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Dashboard::from_yaml(&name, &text),
            Err(e) => Err(DashboardErrors(vec![DashboardError {
                file: name,
                line: 0,
                column: 0,
                message: e.to_string(),
            }])),
        }
    }

    /// Loads every `*.yaml`/`*.yml` in `dir`, sorted by file name; names must be unique.
    /// Collects every error of every file.
    pub fn load_dir(dir: &Path) -> Result<Vec<Dashboard>, DashboardErrors> {
        let io_err = |e: std::io::Error| {
            DashboardErrors(vec![DashboardError {
                file: dir.display().to_string(),
                line: 0,
                column: 0,
                message: e.to_string(),
            }])
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(io_err)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml") | Some("yml")
                )
            })
            .collect();
        paths.sort();
        let mut out: Vec<Dashboard> = Vec::new();
        let mut errors = Vec::new();
        for p in paths {
            match Dashboard::load_file(&p) {
                Ok(d) => {
                    if out.iter().any(|o| o.name == d.name) {
                        errors.push(DashboardError {
                            file: p.display().to_string(),
                            line: 0,
                            column: 0,
                            message: format!("duplicate dashboard name {:?}", d.name),
                        });
                    } else {
                        out.push(d);
                    }
                }
                Err(e) => errors.extend(e.0),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(DashboardErrors(errors))
        }
    }

    /// Every panel, in page order.
    pub fn panels(&self) -> impl Iterator<Item = &Panel> {
        self.rows.iter().flat_map(|r| r.panels.iter())
    }

    /// The panel with this id.
    pub fn panel(&self, id: &str) -> Option<&Panel> {
        self.panels().find(|p| p.id == id)
    }

    /// The selected value of every variable: `selected[name]` when it is one of the
    /// variable's options (or "All" when offered), else the default. `options` holds the
    /// looked-up values of `label_values` variables.
    pub fn resolve_variables(
        &self,
        selected: &BTreeMap<String, String>,
        options: &BTreeMap<String, Vec<String>>,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for v in &self.variables {
            let opts: Vec<String> = match &v.source {
                VariableSource::Custom(list) => list.clone(),
                VariableSource::LabelValues { .. } => {
                    options.get(&v.name).cloned().unwrap_or_default()
                }
            };
            let allowed =
                |x: &str| opts.iter().any(|o| o == x) || (v.include_all && x == ALL_VALUE);
            let value = match selected.get(&v.name) {
                Some(s) if allowed(s) => s.clone(),
                _ => match &v.default {
                    Some(d) if allowed(d) => d.clone(),
                    _ if v.include_all => ALL_VALUE.to_string(),
                    _ => opts.first().cloned().unwrap_or_default(),
                },
            };
            out.insert(v.name.clone(), value);
        }
        out
    }

    /// The PromQL queries of every panel, with variables (already resolved, see
    /// [`Dashboard::resolve_variables`]) and built-ins substituted.
    pub fn queries(&self, vars: &BTreeMap<String, String>, range: &TimeRange) -> Vec<PanelQuery> {
        let mut values = vars.clone();
        values.insert("__range".into(), duration_literal(range.duration()));
        values.insert("__interval".into(), duration_literal(range.step));
        values.insert(
            "__rate_interval".into(),
            duration_literal((range.step * 4.0).max(60.0)),
        );
        let mut out = Vec::new();
        for p in self.panels() {
            let mut push = |index: usize, expr: &str, kind: QueryKind| {
                out.push(PanelQuery {
                    panel_id: p.id.clone(),
                    index,
                    expr: substitute(expr, &values),
                    kind,
                })
            };
            match &p.kind {
                PanelKind::TimeSeries { queries, .. } => {
                    for (i, q) in queries.iter().enumerate() {
                        push(i, &q.expr, QueryKind::Range);
                    }
                }
                PanelKind::Funnel { steps, .. } => {
                    for (i, s) in steps.iter().enumerate() {
                        push(i, &s.expr, QueryKind::Instant);
                    }
                }
                PanelKind::Bar { expr, .. } | PanelKind::Table { expr, .. } => {
                    push(0, expr, QueryKind::Instant)
                }
                PanelKind::Kpi { .. } | PanelKind::Alerts { .. } | PanelKind::Anomalies { .. } => {}
            }
        }
        out
    }

    /// The label-value lookups of `label_values` variables: (variable, series, label).
    pub fn label_value_lookups(&self) -> Vec<(&str, &str, &str)> {
        self.variables
            .iter()
            .filter_map(|v| match &v.source {
                VariableSource::LabelValues { series, label } => {
                    Some((v.name.as_str(), series.as_str(), label.as_str()))
                }
                VariableSource::Custom(_) => None,
            })
            .collect()
    }

    /// KPI names referenced by KPI panels (to check against the `kpis:` section).
    pub fn kpi_names(&self) -> BTreeSet<&str> {
        self.panels()
            .filter_map(|p| match &p.kind {
                PanelKind::Kpi { kpis } => Some(kpis.iter().map(String::as_str)),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

fn check_expr(
    cx: &mut Ctx,
    expr: &Spanned<String>,
    known: &BTreeSet<String>,
    what: &str,
) -> String {
    let loc = Some(&expr.referenced);
    let e = expr.value.trim();
    if e.is_empty() {
        cx.err(loc, format!("{what}: empty expression"));
        return String::new();
    }
    let mut sample = BTreeMap::new();
    for r in variable_refs(e) {
        if !known.contains(&r) {
            cx.err(loc, format!("{what}: unknown variable ${r}"));
        }
        sample.insert(r, "1m".to_string());
    }
    if let Err(msg) = vigia_promql::check_expression(&substitute(e, &sample)) {
        cx.err(loc, format!("{what}: invalid PromQL: {msg}"));
    }
    e.to_string()
}

fn convert(raw: RawDashboard, cx: &mut Ctx) -> Dashboard {
    let name = raw.name.value.trim().to_string();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        cx.err(
            Some(&raw.name.referenced),
            format!("name {name:?} must be non-empty letters, digits, '-' or '_'"),
        );
    }
    let parse_dur = |cx: &mut Ctx, v: &Option<Spanned<String>>, field: &str, default: f64| match v {
        None => default,
        Some(s) => match parse_duration(&s.value) {
            Some(d) => d,
            None => {
                cx.err(
                    Some(&s.referenced),
                    format!("{field}: invalid duration {:?}", s.value),
                );
                default
            }
        },
    };
    let time_range = parse_dur(cx, &raw.time_range, "time_range", 6.0 * 3600.0);
    let refresh = parse_dur(cx, &raw.refresh, "refresh", 30.0);
    let mut known: BTreeSet<String> = BUILTIN_VARIABLES.iter().map(|s| s.to_string()).collect();
    let mut variables = Vec::new();
    for v in raw.variables {
        let loc = Some(&v.name.referenced);
        let vname = v.name.value.trim().to_string();
        if vname.is_empty()
            || vname.starts_with("__")
            || !vname.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            cx.err(loc, format!("variable name {vname:?} is invalid"));
        }
        if !known.insert(vname.clone()) {
            cx.err(loc, format!("duplicate variable {vname:?}"));
        }
        let source = match (v.label_values, v.custom) {
            (Some(lv), None) => VariableSource::LabelValues {
                series: lv.series,
                label: lv.label,
            },
            (None, Some(list)) => {
                if list.is_empty() {
                    cx.err(loc, format!("variable {vname:?}: custom list is empty"));
                }
                VariableSource::Custom(list)
            }
            _ => {
                cx.err(
                    loc,
                    format!("variable {vname:?}: give exactly one of label_values or custom"),
                );
                VariableSource::Custom(Vec::new())
            }
        };
        variables.push(Variable {
            label: v
                .label
                .map(Text::from)
                .unwrap_or_else(|| Text::both(&vname)),
            name: vname,
            source,
            include_all: v.include_all,
            default: v.default,
        });
    }
    let mut ids = BTreeSet::new();
    let mut rows = Vec::new();
    for r in raw.rows {
        let mut panels = Vec::new();
        for p in r.panels {
            if let Some(panel) = convert_panel(p, cx, &known, &mut ids) {
                panels.push(panel);
            }
        }
        rows.push(Row {
            title: r.title.map(Text::from),
            panels,
        });
    }
    if rows.iter().all(|r| r.panels.is_empty()) && cx.errors.is_empty() {
        cx.err(None, "dashboard has no panels".into());
    }
    Dashboard {
        name,
        title: raw.title.into(),
        time_range,
        refresh,
        variables,
        rows,
    }
}

fn convert_panel(
    p: RawPanel,
    cx: &mut Ctx,
    known: &BTreeSet<String>,
    ids: &mut BTreeSet<String>,
) -> Option<Panel> {
    let id = p.id.value.trim().to_string();
    let idloc = Some(&p.id.referenced);
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        cx.err(
            idloc,
            format!("panel id {id:?} must be letters, digits, '-' or '_'"),
        );
    }
    if !ids.insert(id.clone()) {
        cx.err(idloc, format!("duplicate panel id {id:?}"));
    }
    let what = format!("panel {id:?}");
    let unit = match &p.unit {
        None => Unit::Plain,
        Some(u) => Unit::parse(&u.value).unwrap_or_else(|| {
            cx.err(
                Some(&u.referenced),
                format!("{what}: unknown unit {:?}", u.value),
            );
            Unit::Plain
        }),
    };
    let width = match &p.width {
        None => 12,
        Some(w) if (1..=12).contains(&w.value) => w.value,
        Some(w) => {
            cx.err(Some(&w.referenced), format!("{what}: width must be 1–12"));
            12
        }
    };
    let kloc = Some(&p.kind.referenced);
    let need_expr = |cx: &mut Ctx, e: &Option<Spanned<String>>| -> String {
        match e {
            Some(e) => check_expr(cx, e, known, &what),
            None => {
                cx.err(kloc, format!("{what}: `expr` is required"));
                String::new()
            }
        }
    };
    let filter = p.filter.unwrap_or_default();
    let limit = p.limit.unwrap_or(50);
    let kind = match p.kind.value.as_str() {
        "kpi" => {
            let kpis = p.kpis.unwrap_or_default();
            if kpis.is_empty() {
                cx.err(kloc, format!("{what}: `kpis` lists no KPI"));
            }
            PanelKind::Kpi { kpis }
        }
        "timeseries" => {
            let queries = p.queries.unwrap_or_default();
            if queries.is_empty() {
                cx.err(kloc, format!("{what}: `queries` is empty"));
            }
            PanelKind::TimeSeries {
                queries: queries
                    .iter()
                    .map(|q| SeriesQuery {
                        expr: check_expr(cx, &q.expr, known, &what),
                        legend: q.legend.clone().unwrap_or_default(),
                    })
                    .collect(),
                unit,
                thresholds: p
                    .thresholds
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| ThresholdSpec {
                        value: t.value,
                        label: t.label.map(Text::from).unwrap_or_default(),
                    })
                    .collect(),
                area: p.area,
                alert_bands: p.alert_bands.clone().unwrap_or_default(),
            }
        }
        "funnel" => {
            let steps = p.steps.unwrap_or_default();
            if steps.len() < 2 {
                cx.err(kloc, format!("{what}: a funnel needs at least 2 steps"));
            }
            PanelKind::Funnel {
                steps: steps
                    .into_iter()
                    .map(|s| FunnelStepSpec {
                        expr: check_expr(cx, &s.expr, known, &what),
                        label: s.label.into(),
                    })
                    .collect(),
                unit,
            }
        }
        "bar" => {
            let expr = need_expr(cx, &p.expr);
            let by = p.by.unwrap_or_default();
            if by.trim().is_empty() {
                cx.err(
                    kloc,
                    format!("{what}: `by` (the label naming the bars) is required"),
                );
            }
            PanelKind::Bar { expr, by, unit }
        }
        "table" => PanelKind::Table {
            expr: need_expr(cx, &p.expr),
            columns: p.columns.unwrap_or_default(),
            unit,
        },
        "alerts" => {
            for s in &filter.states {
                if !ALERT_STATES.contains(&s.as_str()) {
                    cx.err(kloc, format!("{what}: unknown alert state {s:?}"));
                }
            }
            if let Some(s) = &filter.severity
                && !SEVERITIES.contains(&s.as_str())
            {
                cx.err(kloc, format!("{what}: unknown severity {s:?}"));
            }
            PanelKind::Alerts {
                filter: AlertFilter {
                    states: filter.states,
                    severity: filter.severity,
                    labels: filter.labels,
                    limit,
                },
            }
        }
        "anomalies" => {
            if let Some(s) = &filter.severity
                && !["low", "medium", "high", "critical"].contains(&s.as_str())
            {
                cx.err(kloc, format!("{what}: unknown severity {s:?}"));
            }
            PanelKind::Anomalies {
                filter: AnomalyFilter {
                    severity: filter.severity,
                    metric: filter.metric,
                    active_only: filter.active_only,
                    limit,
                },
            }
        }
        other => {
            cx.err(
                kloc,
                format!(
                    "{what}: unknown panel kind {other:?} (expected kpi, timeseries, funnel, bar, table, alerts or anomalies)"
                ),
            );
            return None;
        }
    };
    Some(Panel {
        title: p.title.map(Text::from).unwrap_or_else(|| Text::both(&id)),
        id,
        width,
        kind,
    })
}

/// Rank of an alert severity for filtering and sorting (`info` 0 … `critical` 4; unknown
/// values rank as `medium`).
pub fn severity_rank(s: &str) -> u8 {
    match s {
        "info" => 0,
        "low" => 1,
        "medium" | "warning" => 2,
        "high" => 3,
        "critical" => 4,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_escapes_and_keeps_unknown() {
        let mut v = BTreeMap::new();
        v.insert("instance".to_string(), "web-1\"}) or vector(1".to_string());
        v.insert("r".to_string(), "5m".to_string());
        let out = substitute("rate(x{instance=~\"$instance\"}[${r}]) $other $", &v);
        assert_eq!(
            out,
            "rate(x{instance=~\"web-1\\\"}) or vector(1\"}[5m]) $other $"
        );
        assert_eq!(
            variable_refs("a $x ${y_2} $ $__range"),
            vec!["x", "y_2", "__range"]
        );
    }

    #[test]
    fn time_range_steps() {
        let r = TimeRange::ending_at(1000.0, 300.0);
        assert_eq!((r.start, r.step), (700.0, 15.0));
        let r = TimeRange::ending_at(0.0, 14.0 * 86400.0);
        assert_eq!(r.step, 7200.0);
        assert_eq!(duration_literal(86400.0), "1d");
        assert_eq!(duration_literal(90.0), "90s");
    }
}
