//! Execution: walks the node tree with `.` and the variable stack, resolves fields and
//! methods, runs pipelines, and prints values as Go's `%v` does.

use crate::error::{TemplateError, xerr};
use crate::parse::{Defs, Node, Operand, Pipeline, method_name};
use crate::value::{TemplateData, Val, truthy, type_name};
use std::collections::BTreeMap;
use vigia_model::float::go_float;

/// The answer of the `query` template function: (labels, value) pairs.
pub type QueryResult = Vec<(BTreeMap<String, String>, f64)>;

/// A function that answers `query "…"` inside templates.
pub type QueryFn<'a> = &'a dyn Fn(&str) -> Result<QueryResult, QueryFailure>;

/// Why the `query` function failed (the query engine's own error, boxed).
pub type QueryFailure = Box<dyn std::error::Error + Send + Sync>;

/// Maximum nesting of `{{ template }}` calls (guards against recursive definitions).
pub(crate) const MAX_TEMPLATE_DEPTH: usize = 64;

pub(crate) struct Cx<'a, 'q> {
    pub(crate) data: &'a TemplateData,
    pub(crate) query: Option<QueryFn<'q>>,
    /// Template-local definitions first, then the shared set's.
    pub(crate) defs: [&'a Defs; 2],
    pub(crate) depth: std::cell::Cell<usize>,
}

impl Cx<'_, '_> {
    pub(crate) fn exec(
        &self,
        nodes: &[Node],
        dot: &Val,
        vars: &mut Vec<(String, Val)>,
        out: &mut String,
    ) -> Result<(), TemplateError> {
        for n in nodes {
            match n {
                Node::Text(t) => out.push_str(t),
                Node::Action(p) => {
                    let v = self.pipeline(p, dot, vars)?;
                    if let Some(d) = &p.decl {
                        vars.push((d.clone(), v));
                    } else {
                        out.push_str(&self.print(&v));
                    }
                }
                Node::If(branches, else_body) => {
                    let mut done = false;
                    for (cond, body) in branches {
                        if truthy(&self.pipeline(cond, dot, vars)?) {
                            let mark = vars.len();
                            self.exec(body, dot, vars, out)?;
                            vars.truncate(mark);
                            done = true;
                            break;
                        }
                    }
                    if !done {
                        let mark = vars.len();
                        self.exec(else_body, dot, vars, out)?;
                        vars.truncate(mark);
                    }
                }
                Node::With(p, body, else_body) => {
                    let v = self.pipeline(p, dot, vars)?;
                    let mark = vars.len();
                    if truthy(&v) {
                        self.exec(body, &v, vars, out)?;
                    } else {
                        self.exec(else_body, dot, vars, out)?;
                    }
                    vars.truncate(mark);
                }
                Node::Call(name, p) => {
                    let Some(body) = self.defs.iter().find_map(|d| d.get(name)) else {
                        return xerr(format!("no such template {name:?}"));
                    };
                    let arg = match p {
                        Some(p) => self.pipeline(p, dot, vars)?,
                        None => Val::Nil,
                    };
                    let depth = self.depth.get();
                    if depth >= MAX_TEMPLATE_DEPTH {
                        return xerr(format!(
                            "template {name:?}: exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})"
                        ));
                    }
                    self.depth.set(depth + 1);
                    // A called template sees only its argument (as `.` and `$`).
                    let mut inner_vars = vec![(String::new(), arg.clone())];
                    let r = self.exec(body, &arg, &mut inner_vars, out);
                    self.depth.set(depth);
                    r?;
                }
                Node::Range(var, p, body) => {
                    let items = match self.pipeline(p, dot, vars)? {
                        Val::List(l) => l,
                        Val::Map(m) | Val::Kv(m) => m.into_values().map(Val::Str).collect(),
                        Val::Obj(m) => m.into_values().collect(),
                        Val::Nil => Vec::new(),
                        other => return xerr(format!("range can't iterate over {other:?}")),
                    };
                    for it in items {
                        let mark = vars.len();
                        if let Some(v) = var {
                            vars.push((v.clone(), it.clone()));
                        }
                        self.exec(body, &it, vars, out)?;
                        vars.truncate(mark);
                    }
                }
            }
        }
        Ok(())
    }

    pub(crate) fn print(&self, v: &Val) -> String {
        match v {
            Val::Str(s) => s.clone(),
            Val::Num(n) => go_float(*n),
            Val::Bool(b) => b.to_string(),
            Val::Map(m) | Val::Kv(m) => {
                let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
                format!("map[{}]", parts.join(" "))
            }
            Val::Obj(m) => {
                let parts: Vec<String> = m
                    .iter()
                    .map(|(k, v)| format!("{k}:{}", self.print(v)))
                    .collect();
                format!("map[{}]", parts.join(" "))
            }
            Val::List(l) => {
                let parts: Vec<String> = l.iter().map(|x| self.print(x)).collect();
                format!("[{}]", parts.join(" "))
            }
            Val::Dot => format!(
                "{{{} {} {} {}}}",
                self.print(&Val::Map(self.data.labels.clone())),
                self.print(&Val::Map(self.data.external_labels.clone())),
                self.data.external_url,
                go_float(self.data.value)
            ),
            Val::Nil => "<no value>".into(),
        }
    }

    pub(crate) fn field(&self, base: Val, fields: &[String]) -> Result<Val, TemplateError> {
        let mut v = base;
        for f in fields {
            v = match v {
                Val::Map(m) => Val::Str(m.get(f).cloned().unwrap_or_default()),
                Val::Kv(m) => match f.as_str() {
                    "SortedPairs" => Val::List(
                        m.into_iter()
                            .map(|(k, v)| {
                                Val::Obj(BTreeMap::from([
                                    ("Name".to_string(), Val::Str(k)),
                                    ("Value".to_string(), Val::Str(v)),
                                ]))
                            })
                            .collect(),
                    ),
                    "Names" => Val::List(m.into_keys().map(Val::Str).collect()),
                    "Values" => Val::List(m.into_values().map(Val::Str).collect()),
                    _ => Val::Str(m.get(f).cloned().unwrap_or_default()),
                },
                Val::Obj(mut m) => match m.remove(f) {
                    Some(x) => x,
                    None => return xerr(format!("can't evaluate field {f}")),
                },
                Val::List(l) if f == "Firing" || f == "Resolved" => {
                    let want = f.to_lowercase();
                    Val::List(
                        l.into_iter()
                            .filter(|a| match a {
                                Val::Obj(o) => o.get("Status") == Some(&Val::Str(want.clone())),
                                _ => false,
                            })
                            .collect(),
                    )
                }
                Val::Dot => match f.as_str() {
                    "Labels" => Val::Map(self.data.labels.clone()),
                    "ExternalLabels" => Val::Map(self.data.external_labels.clone()),
                    "ExternalURL" => Val::Str(self.data.external_url.clone()),
                    "Value" => Val::Num(self.data.value),
                    _ => return xerr(format!("can't evaluate field {f}")),
                },
                Val::List(ref l) if l.len() == 2 => match (f.as_str(), l.first(), l.get(1)) {
                    ("Labels", Some(m), _) => m.clone(),
                    ("Value", _, Some(x)) => x.clone(),
                    _ => return xerr(format!("can't evaluate field {f}")),
                },
                other => {
                    return xerr(format!(
                        "can't evaluate field {f} in type {}",
                        type_name(&other)
                    ));
                }
            };
        }
        Ok(v)
    }

    pub(crate) fn operand(
        &self,
        o: &Operand,
        dot: &Val,
        vars: &mut Vec<(String, Val)>,
    ) -> Result<Val, TemplateError> {
        match o {
            Operand::Lit(v) => Ok(v.clone()),
            Operand::Var(name, f) => {
                let Some((_, v)) = vars.iter().rev().find(|(n, _)| n == name) else {
                    return xerr(format!("undefined variable \"${name}\""));
                };
                let v = v.clone();
                self.field(v, f)
            }
            Operand::Field(f) => self.field(dot.clone(), f),
            Operand::Call(n) => self.call(n, Vec::new()),
            Operand::Paren(p) => self.pipeline(p, dot, vars),
        }
    }

    pub(crate) fn pipeline(
        &self,
        p: &Pipeline,
        dot: &Val,
        vars: &mut Vec<(String, Val)>,
    ) -> Result<Val, TemplateError> {
        let mut prev: Option<Val> = None;
        for c in &p.cmds {
            if c.func.is_none()
                && let Some(first) = c.args.first()
                && let Some(m) = method_name(first)
                && (c.args.len() > 1 || prev.is_some())
            {
                let base = match first {
                    Operand::Field(f) => {
                        self.field(dot.clone(), f.get(..f.len() - 1).unwrap_or(&[]))?
                    }
                    Operand::Var(name, f) => {
                        let Some((_, v)) = vars.iter().rev().find(|(n, _)| n == name) else {
                            return xerr(format!("undefined variable \"${name}\""));
                        };
                        let v = v.clone();
                        self.field(v, f.get(..f.len() - 1).unwrap_or(&[]))?
                    }
                    _ => return xerr("bad method call"),
                };
                let mut args = Vec::new();
                for a in c.args.iter().skip(1) {
                    args.push(self.operand(a, dot, vars)?);
                }
                if let Some(pv) = prev.take() {
                    args.push(pv);
                }
                prev = Some(self.method(base, m, args)?);
                continue;
            }
            let mut args = Vec::with_capacity(c.args.len() + 1);
            for a in &c.args {
                args.push(self.operand(a, dot, vars)?);
            }
            let v = match &c.func {
                Some(f) => {
                    if let Some(pv) = prev.take() {
                        args.push(pv);
                    }
                    self.call(f, args)?
                }
                None => {
                    if prev.is_some() {
                        return xerr("can't give argument to non-function");
                    }
                    args.pop().unwrap_or(Val::Nil)
                }
            };
            prev = Some(v);
        }
        Ok(prev.unwrap_or(Val::Nil))
    }

    pub(crate) fn method(&self, base: Val, m: &str, args: Vec<Val>) -> Result<Val, TemplateError> {
        match (m, base) {
            ("Remove", Val::Kv(mut kv)) => {
                let [Val::List(names)] = args.as_slice() else {
                    return xerr("Remove: want one list of names");
                };
                for n in names {
                    kv.remove(&self.print(n));
                }
                Ok(Val::Kv(kv))
            }
            (m, b) => xerr(format!("can't call method {m} on type {}", type_name(&b))),
        }
    }
}
