//! The dashboard model: texts in both languages, variables, panels of seven kinds in rows,
//! and the dashboard itself, with its panel and KPI look-ups.

use crate::format::Unit;
use crate::i18n::Lang;
use std::collections::{BTreeMap, BTreeSet};

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

/// Names of built-in variables: `$__range` (the range length, a PromQL duration),
/// `$__interval` (the step) and `$__rate_interval` (4 × step, at least 1m).
pub const BUILTIN_VARIABLES: &[&str] = &["__range", "__interval", "__rate_interval"];

impl Dashboard {
    /// Every panel, in page order.
    pub fn panels(&self) -> impl Iterator<Item = &Panel> {
        self.rows.iter().flat_map(|r| r.panels.iter())
    }

    /// The panel with this id.
    pub fn panel(&self, id: &str) -> Option<&Panel> {
        self.panels().find(|p| p.id == id)
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
