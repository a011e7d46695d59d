//! The values templates work on: [`Data`] (what callers pass in), [`TemplateData`]
//! (Prometheus's alert template fields) and the runtime value the executor passes around, with
//! Go's truthiness and number conversion.

use crate::error::{TemplateError, xerr};
use std::collections::BTreeMap;
use vigia_model::float::parse_go_float;

/// A generic template value for [`Template::render_data`] and [`TemplateSet::render`].
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// A label or annotation set (Alertmanager's `KV`): missing keys are "", and it has the
    /// methods `SortedPairs` (list of `.Name`/`.Value`), `Names`, `Values` and `Remove`.
    Kv(BTreeMap<String, String>),
    /// A struct: named fields; a missing field is an error.
    Obj(BTreeMap<String, Data>),
    /// A list; a list of structs with a `Status` field also has `.Firing` and `.Resolved`.
    List(Vec<Data>),
    /// No value.
    Nil,
}

impl Data {
    pub(crate) fn to_val(&self) -> Val {
        match self {
            Data::Str(s) => Val::Str(s.clone()),
            Data::Num(n) => Val::Num(*n),
            Data::Bool(b) => Val::Bool(*b),
            Data::Kv(m) => Val::Kv(m.clone()),
            Data::Obj(m) => Val::Obj(m.iter().map(|(k, v)| (k.clone(), v.to_val())).collect()),
            Data::List(l) => Val::List(l.iter().map(Data::to_val).collect()),
            Data::Nil => Val::Nil,
        }
    }
}

/// What a template sees: the alert's labels and value, external labels and URL.
#[derive(Debug, Clone, Default)]
pub struct TemplateData {
    /// `$labels` / `.Labels`.
    pub labels: BTreeMap<String, String>,
    /// `$externalLabels` / `.ExternalLabels`.
    pub external_labels: BTreeMap<String, String>,
    /// `$externalURL` / `.ExternalURL`.
    pub external_url: String,
    /// `$value` / `.Value`.
    pub value: f64,
}

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Str(String),
    Num(f64),
    Bool(bool),
    Map(BTreeMap<String, String>),
    List(Vec<Val>),
    Dot,
    Nil,
    Kv(BTreeMap<String, String>),
    Obj(BTreeMap<String, Val>),
}

pub(crate) fn type_name(v: &Val) -> &'static str {
    match v {
        Val::Str(_) => "string",
        Val::Num(_) => "float64",
        Val::Bool(_) => "bool",
        Val::Map(_) => "map[string]string",
        Val::List(_) => "slice",
        Val::Dot => "struct",
        Val::Nil => "nil",
        Val::Kv(_) => "template.KV",
        Val::Obj(_) => "struct",
    }
}

pub(crate) fn truthy(v: &Val) -> bool {
    match v {
        Val::Str(s) => !s.is_empty(),
        Val::Num(n) => *n != 0.0,
        Val::Bool(b) => *b,
        Val::Map(m) | Val::Kv(m) => !m.is_empty(),
        Val::List(l) => !l.is_empty(),
        Val::Obj(m) => !m.is_empty(),
        Val::Dot => true,
        Val::Nil => false,
    }
}

pub(crate) fn to_float(v: &Val) -> Result<f64, TemplateError> {
    match v {
        Val::Num(n) => Ok(*n),
        Val::Str(s) => parse_go_float(s).ok_or_else(|| {
            TemplateError::Exec(format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
        }),
        Val::Bool(_)
        | Val::Map(_)
        | Val::List(_)
        | Val::Dot
        | Val::Nil
        | Val::Kv(_)
        | Val::Obj(_) => xerr(format!("can't convert {} to float", type_name(v))),
    }
}
