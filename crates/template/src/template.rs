//! The public entry points: a parsed [`Template`], a [`TemplateSet`] of named `define` blocks,
//! and [`expand`], which prints Prometheus's `<error expanding template: …>` on failure.

use crate::error::{TemplateError, perr};
use crate::exec::{Cx, QueryFn};
use crate::lex::split;
use crate::parse::{Defs, Node, Stop, parse_nodes};
use crate::value::{Data, TemplateData, Val};

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    pub(crate) nodes: Vec<Node>,
    pub(crate) defs: Defs,
}

impl Template {
    /// Parses a template.
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let mut chunks = split(src)?.into_iter().peekable();
        let mut defs = Defs::new();
        let (nodes, stop) = parse_nodes(&mut chunks, &mut defs)?;
        match stop {
            Stop::Eof => Ok(Template { nodes, defs }),
            Stop::End => perr("unexpected {{end}}"),
            Stop::Else | Stop::ElseIf(_) => perr("unexpected {{else}}"),
        }
    }

    /// Expands the template (no `query` function available).
    pub fn render(&self, data: &TemplateData) -> Result<String, TemplateError> {
        self.render_with(data, None)
    }

    /// Expands the template; `query` answers the `query` template function.
    pub fn render_with(
        &self,
        data: &TemplateData,
        query: Option<QueryFn<'_>>,
    ) -> Result<String, TemplateError> {
        let mut vars: Vec<(String, Val)> = vec![
            ("labels".into(), Val::Map(data.labels.clone())),
            (
                "externalLabels".into(),
                Val::Map(data.external_labels.clone()),
            ),
            ("externalURL".into(), Val::Str(data.external_url.clone())),
            ("value".into(), Val::Num(data.value)),
            (String::new(), Val::Dot),
        ];
        let mut out = String::new();
        let empty = Defs::new();
        let cx = Cx {
            data,
            query,
            defs: [&self.defs, &empty],
            depth: std::cell::Cell::new(0),
        };
        cx.exec(&self.nodes, &Val::Dot, &mut vars, &mut out)?;
        Ok(out)
    }

    /// Expands the template over generic data (`.` and `$` are `data`), with only its own
    /// `{{ define }}` blocks.
    pub fn render_data(&self, data: &Data) -> Result<String, TemplateError> {
        self.render_in(data, &Defs::new())
    }

    pub(crate) fn render_in(&self, data: &Data, shared: &Defs) -> Result<String, TemplateError> {
        let root = data.to_val();
        let mut vars: Vec<(String, Val)> = vec![(String::new(), root.clone())];
        let mut out = String::new();
        let td = TemplateData::default();
        let cx = Cx {
            data: &td,
            query: None,
            defs: [&self.defs, shared],
            depth: std::cell::Cell::new(0),
        };
        cx.exec(&self.nodes, &root, &mut vars, &mut out)?;
        Ok(out)
    }
}

/// Named templates (`{{ define "name" }}…{{ end }}` blocks, e.g. from Alertmanager `templates:`
/// files) that templates rendered through [`TemplateSet::render`] can call with
/// `{{ template "name" . }}`.
#[derive(Debug, Clone, Default)]
pub struct TemplateSet {
    pub(crate) defs: Defs,
}

impl TemplateSet {
    /// An empty set.
    pub fn new() -> Self {
        TemplateSet::default()
    }

    /// Parses a templates file and adds its `define` blocks (a later definition of a name
    /// replaces an earlier one); text outside the blocks is ignored.
    pub fn add(&mut self, src: &str) -> Result<(), TemplateError> {
        let t = Template::parse(src)?;
        self.defs.extend(t.defs);
        Ok(())
    }

    /// Names of the defined templates.
    pub fn names(&self) -> Vec<String> {
        self.defs.keys().cloned().collect()
    }

    /// Parses `src` and expands it over `data` with this set's named templates.
    pub fn render(&self, src: &str, data: &Data) -> Result<String, TemplateError> {
        Template::parse(src)?.render_in(data, &self.defs)
    }

    /// Expands the named template `name` over `data`.
    pub fn execute(&self, name: &str, data: &Data) -> Result<String, TemplateError> {
        self.render(&format!("{{{{ template {name:?} . }}}}"), data)
    }
}

/// Parses and expands `src` in one go; on error returns Prometheus's
/// `<error expanding template: …>` text instead, as Prometheus does.
pub fn expand(src: &str, data: &TemplateData, query: Option<QueryFn<'_>>) -> String {
    match Template::parse(src).and_then(|t| t.render_with(data, query)) {
        Ok(s) => s,
        Err(e) => format!("<error expanding template: {e}>"),
    }
}
