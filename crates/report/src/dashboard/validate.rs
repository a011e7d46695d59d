//! Validation: the parsed YAML becomes the model while every problem is collected with its
//! location: names and ids, durations, variables, units and widths, the fields each panel
//! kind needs, PromQL that does not parse, unknown variables, states and severities.

use super::queries::{substitute, variable_refs};
use super::raw::{RawDashboard, RawPanel, RawVariable};
use super::{
    AlertFilter, AnomalyFilter, BUILTIN_VARIABLES, Dashboard, DashboardError, FunnelStepSpec,
    Panel, PanelKind, Row, SeriesQuery, Text, ThresholdSpec, Variable, VariableSource,
};
use crate::format::{Unit, parse_duration};
use serde_saphyr::{Location, Spanned};
use std::collections::{BTreeMap, BTreeSet};

const ALERT_STATES: &[&str] = &["firing", "pending", "acknowledged", "resolved", "silenced"];
const SEVERITIES: &[&str] = &["info", "low", "medium", "warning", "high", "critical"];

/// The file being validated and the problems found so far, in file order.
pub(super) struct Ctx<'a> {
    pub(super) file: &'a str,
    pub(super) errors: Vec<DashboardError>,
}

impl Ctx<'_> {
    fn err(&mut self, loc: Option<&Location>, message: String) {
        let (line, column) = loc.map(|l| (l.line(), l.column())).unwrap_or((0, 0));
        self.errors.push(DashboardError {
            file: self.file.to_string(),
            line,
            column,
            message,
        });
    }
}

/// Checks an expression (not empty, only `known` variables, valid PromQL once variables are
/// replaced by a duration); returns it trimmed.
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

/// Converts a whole dashboard: name, durations, variables, then the rows' panels.
pub(super) fn convert(raw: RawDashboard, cx: &mut Ctx) -> Dashboard {
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
        variables.push(convert_variable(v, cx, &mut known));
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

/// Converts a variable (name, exactly one source) and adds its name to `known`.
fn convert_variable(v: RawVariable, cx: &mut Ctx, known: &mut BTreeSet<String>) -> Variable {
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
    Variable {
        label: v
            .label
            .map(Text::from)
            .unwrap_or_else(|| Text::both(&vname)),
        name: vname,
        source,
        include_all: v.include_all,
        default: v.default,
    }
}

/// Converts a panel: the common keys (id, unit, width, title), then its kind. `None` for an
/// unknown kind.
fn convert_panel(
    mut p: RawPanel,
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
    let title = p.title.take();
    let mut kinds = KindCheck {
        cx,
        known,
        what,
        at: p.kind.referenced,
    };
    let kind = kinds.kind(p, unit)?;
    Some(Panel {
        title: title.map(Text::from).unwrap_or_else(|| Text::both(&id)),
        id,
        width,
        kind,
    })
}

/// Checks what a panel's kind needs; problems without a more precise place are reported at
/// the `kind:` key.
struct KindCheck<'c, 'f> {
    cx: &'c mut Ctx<'f>,
    known: &'c BTreeSet<String>,
    /// `panel "id"`, the prefix of messages.
    what: String,
    at: Location,
}

impl KindCheck<'_, '_> {
    fn err(&mut self, message: String) {
        self.cx.err(Some(&self.at), message);
    }

    fn expr(&mut self, e: &Spanned<String>) -> String {
        check_expr(self.cx, e, self.known, &self.what)
    }

    /// The `expr` key, which the kind requires.
    fn required_expr(&mut self, e: &Option<Spanned<String>>) -> String {
        match e {
            Some(e) => self.expr(e),
            None => {
                self.err(format!("{}: `expr` is required", self.what));
                String::new()
            }
        }
    }

    /// The panel's kind with its settings; `None` (and an error) for an unknown kind.
    fn kind(&mut self, mut p: RawPanel, unit: Unit) -> Option<PanelKind> {
        let what = self.what.clone();
        let filter = p.filter.take().unwrap_or_default();
        let limit = p.limit.unwrap_or(50);
        let name = std::mem::take(&mut p.kind.value);
        let kind = match name.as_str() {
            "kpi" => {
                let kpis = p.kpis.unwrap_or_default();
                if kpis.is_empty() {
                    self.err(format!("{what}: `kpis` lists no KPI"));
                }
                PanelKind::Kpi { kpis }
            }
            "timeseries" => self.time_series(p, unit),
            "funnel" => self.funnel(p, unit),
            "bar" => {
                let expr = self.required_expr(&p.expr);
                let by = p.by.unwrap_or_default();
                if by.trim().is_empty() {
                    self.err(format!(
                        "{what}: `by` (the label naming the bars) is required"
                    ));
                }
                PanelKind::Bar { expr, by, unit }
            }
            "table" => PanelKind::Table {
                expr: self.required_expr(&p.expr),
                columns: p.columns.unwrap_or_default(),
                unit,
            },
            "alerts" => {
                for s in &filter.states {
                    if !ALERT_STATES.contains(&s.as_str()) {
                        self.err(format!("{what}: unknown alert state {s:?}"));
                    }
                }
                if let Some(s) = &filter.severity
                    && !SEVERITIES.contains(&s.as_str())
                {
                    self.err(format!("{what}: unknown severity {s:?}"));
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
                    self.err(format!("{what}: unknown severity {s:?}"));
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
                self.err(format!(
                    "{what}: unknown panel kind {other:?} (expected kpi, timeseries, funnel, bar, table, alerts or anomalies)"
                ));
                return None;
            }
        };
        Some(kind)
    }

    /// A time-series panel: at least one query, thresholds, area, alert bands.
    fn time_series(&mut self, p: RawPanel, unit: Unit) -> PanelKind {
        let queries = p.queries.unwrap_or_default();
        if queries.is_empty() {
            self.err(format!("{}: `queries` is empty", self.what));
        }
        PanelKind::TimeSeries {
            queries: queries
                .iter()
                .map(|q| SeriesQuery {
                    expr: self.expr(&q.expr),
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

    /// A funnel panel: at least two steps.
    fn funnel(&mut self, p: RawPanel, unit: Unit) -> PanelKind {
        let steps = p.steps.unwrap_or_default();
        if steps.len() < 2 {
            self.err(format!("{}: a funnel needs at least 2 steps", self.what));
        }
        PanelKind::Funnel {
            steps: steps
                .into_iter()
                .map(|s| FunnelStepSpec {
                    expr: self.expr(&s.expr),
                    label: s.label.into(),
                })
                .collect(),
            unit,
        }
    }
}
