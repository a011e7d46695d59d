//! The YAML of a dashboard file as parsed: unknown keys refused, positions kept for errors.
//! `validate` turns it into the model.

use super::Text;
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum RawText {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDashboard {
    pub(super) name: Spanned<String>,
    pub(super) title: RawText,
    #[serde(default)]
    pub(super) time_range: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) refresh: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) variables: Vec<RawVariable>,
    #[serde(default)]
    pub(super) rows: Vec<RawRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVariable {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) label: Option<RawText>,
    #[serde(default)]
    pub(super) label_values: Option<RawLabelValues>,
    #[serde(default)]
    pub(super) custom: Option<Vec<String>>,
    #[serde(default)]
    pub(super) include_all: bool,
    #[serde(default)]
    pub(super) default: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLabelValues {
    pub(super) series: String,
    pub(super) label: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRow {
    #[serde(default)]
    pub(super) title: Option<RawText>,
    #[serde(default)]
    pub(super) panels: Vec<RawPanel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQuery {
    pub(super) expr: Spanned<String>,
    #[serde(default)]
    pub(super) legend: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawThreshold {
    pub(super) value: f64,
    #[serde(default)]
    pub(super) label: Option<RawText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    pub(super) label: RawText,
    pub(super) expr: Spanned<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFilter {
    #[serde(default)]
    pub(super) states: Vec<String>,
    #[serde(default)]
    pub(super) severity: Option<String>,
    #[serde(default)]
    pub(super) labels: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) metric: Option<String>,
    #[serde(default)]
    pub(super) active_only: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPanel {
    pub(super) id: Spanned<String>,
    pub(super) kind: Spanned<String>,
    #[serde(default)]
    pub(super) title: Option<RawText>,
    #[serde(default)]
    pub(super) width: Option<Spanned<u8>>,
    #[serde(default)]
    pub(super) unit: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) kpis: Option<Vec<String>>,
    #[serde(default)]
    pub(super) queries: Option<Vec<RawQuery>>,
    #[serde(default)]
    pub(super) thresholds: Option<Vec<RawThreshold>>,
    #[serde(default)]
    pub(super) area: bool,
    #[serde(default)]
    pub(super) alert_bands: Option<Vec<String>>,
    #[serde(default)]
    pub(super) steps: Option<Vec<RawStep>>,
    #[serde(default)]
    pub(super) expr: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) by: Option<String>,
    #[serde(default)]
    pub(super) columns: Option<Vec<String>>,
    #[serde(default)]
    pub(super) filter: Option<RawFilter>,
    #[serde(default)]
    pub(super) limit: Option<usize>,
}
