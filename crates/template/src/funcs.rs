//! The template functions: Prometheus's (`humanize…`, `printf`, `query`, `label`, `value`,
//! `sortByLabel`, `stripPort`, …), Go's built-ins (`eq`, `and`, `len`, `index`, `html`, …) and
//! Alertmanager's (`join`, `stringSlice`, `trimSpace`, `toUpper`, …).

use crate::error::{TemplateError, xerr};
use crate::exec::Cx;
use crate::format::{humanize, humanize_duration, humanize_timestamp, humanize1024, sprintf};
use crate::value::{Val, to_float, truthy, type_name};
use regex::Regex;
use vigia_model::float::fmt_g;

/// Checks that `f` got exactly `k` arguments.
fn arity(f: &str, a: &[Val], k: usize) -> Result<(), TemplateError> {
    let n = a.len();
    if n == k {
        Ok(())
    } else {
        xerr(format!("wrong number of args for {f}: want {k} got {n}"))
    }
}

impl Cx<'_, '_> {
    /// Calls the template function `f` with its evaluated arguments.
    pub(crate) fn call(&self, f: &str, a: Vec<Val>) -> Result<Val, TemplateError> {
        let families = [
            Self::format_funcs,
            Self::text_funcs,
            Self::logic_funcs,
            Self::query_funcs,
        ];
        for family in families {
            if let Some(v) = family(self, f, &a)? {
                return Ok(v);
            }
        }
        xerr(format!("function {f:?} not defined"))
    }

    /// Argument `i` printed as text ("" when missing).
    fn arg_text(&self, a: &[Val], i: usize) -> String {
        a.get(i).map(|v| self.print(v)).unwrap_or_default()
    }

    /// Prometheus's number formatting and Go's `printf` / `print`.
    fn format_funcs(&self, f: &str, a: &[Val]) -> Result<Option<Val>, TemplateError> {
        Ok(Some(match f {
            "humanize" => {
                arity(f, a, 1)?;
                Val::Str(humanize(to_float(&a[0])?))
            }
            "humanize1024" => {
                arity(f, a, 1)?;
                Val::Str(humanize1024(to_float(&a[0])?))
            }
            "humanizePercentage" => {
                arity(f, a, 1)?;
                Val::Str(format!("{}%", fmt_g(to_float(&a[0])? * 100.0, 4)))
            }
            "humanizeDuration" => {
                arity(f, a, 1)?;
                Val::Str(humanize_duration(to_float(&a[0])?))
            }
            "humanizeTimestamp" => {
                arity(f, a, 1)?;
                Val::Str(humanize_timestamp(to_float(&a[0])?))
            }
            "printf" => {
                if a.is_empty() {
                    return xerr("wrong number of args for printf: want at least 1 got 0");
                }
                Val::Str(sprintf(
                    &self.arg_text(a, 0),
                    a.get(1..).unwrap_or(&[]),
                    self,
                ))
            }
            "print" => {
                let parts: Vec<String> = a.iter().map(|v| self.print(v)).collect();
                Val::Str(parts.join(" "))
            }
            _ => return Ok(None),
        }))
    }

    /// String helpers: case, regular expressions, host names, HTML escaping, lists.
    fn text_funcs(&self, f: &str, a: &[Val]) -> Result<Option<Val>, TemplateError> {
        Ok(Some(match f {
            "title" => {
                arity(f, a, 1)?;
                Val::Str(title(&self.arg_text(a, 0)))
            }
            "toUpper" => {
                arity(f, a, 1)?;
                Val::Str(self.arg_text(a, 0).to_uppercase())
            }
            "toLower" => {
                arity(f, a, 1)?;
                Val::Str(self.arg_text(a, 0).to_lowercase())
            }
            "reReplaceAll" => {
                arity(f, a, 3)?;
                let re = Regex::new(&self.arg_text(a, 0))
                    .map_err(|e| TemplateError::Exec(format!("reReplaceAll: {e}")))?;
                Val::Str(
                    re.replace_all(&self.arg_text(a, 2), self.arg_text(a, 1).as_str())
                        .into_owned(),
                )
            }
            "match" => {
                arity(f, a, 2)?;
                let re = Regex::new(&self.arg_text(a, 0))
                    .map_err(|e| TemplateError::Exec(format!("match: {e}")))?;
                Val::Bool(re.is_match(&self.arg_text(a, 1)))
            }
            "stripPort" => {
                arity(f, a, 1)?;
                let h = self.arg_text(a, 0);
                Val::Str(strip_port(&h))
            }
            "stripDomain" => {
                arity(f, a, 1)?;
                let h = self.arg_text(a, 0);
                let (host, port) = match h.rsplit_once(':') {
                    Some((a, b)) if !a.contains(':') => (a.to_string(), format!(":{b}")),
                    _ => (h.clone(), String::new()),
                };
                if host.parse::<std::net::IpAddr>().is_ok() {
                    Val::Str(h)
                } else {
                    let first = host.split('.').next().unwrap_or("").to_string();
                    Val::Str(first + &port)
                }
            }
            "html" | "safeHtml" => {
                arity(f, a, 1)?;
                let t = self.arg_text(a, 0);
                if f == "html" {
                    Val::Str(
                        t.replace('&', "&amp;")
                            .replace('<', "&lt;")
                            .replace('>', "&gt;")
                            .replace('"', "&#34;")
                            .replace('\'', "&#39;"),
                    )
                } else {
                    Val::Str(t)
                }
            }
            "join" => {
                arity(f, a, 2)?;
                let Val::List(l) = &a[1] else {
                    return xerr(format!("join: want a list, got {}", type_name(&a[1])));
                };
                let parts: Vec<String> = l.iter().map(|v| self.print(v)).collect();
                Val::Str(parts.join(&self.arg_text(a, 0)))
            }
            "stringSlice" => Val::List(a.iter().map(|v| Val::Str(self.print(v))).collect()),
            "trimSpace" => {
                arity(f, a, 1)?;
                Val::Str(self.arg_text(a, 0).trim().to_string())
            }
            _ => return Ok(None),
        }))
    }

    /// Go's comparison, boolean, `len` and `index` built-ins.
    fn logic_funcs(&self, f: &str, a: &[Val]) -> Result<Option<Val>, TemplateError> {
        Ok(Some(match f {
            "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
                arity(f, a, 2)?;
                let ord = match (&a[0], &a[1]) {
                    (Val::Num(x), Val::Num(y)) => x.partial_cmp(y),
                    (Val::Bool(x), Val::Bool(y)) if matches!(f, "eq" | "ne") => Some(x.cmp(y)),
                    (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
                    (x, y) => {
                        return xerr(format!(
                            "{f}: incompatible types for comparison: {} and {}",
                            type_name(x),
                            type_name(y)
                        ));
                    }
                };
                use std::cmp::Ordering::*;
                Val::Bool(match f {
                    "eq" => ord == Some(Equal),
                    "ne" => ord != Some(Equal),
                    "lt" => ord == Some(Less),
                    "le" => matches!(ord, Some(Less | Equal)),
                    "gt" => ord == Some(Greater),
                    _ => matches!(ord, Some(Greater | Equal)),
                })
            }
            "and" => {
                let mut last = Val::Nil;
                for v in a {
                    if !truthy(v) {
                        return Ok(Some(v.clone()));
                    }
                    last = v.clone();
                }
                last
            }
            "or" => {
                let mut last = Val::Nil;
                for v in a {
                    if truthy(v) {
                        return Ok(Some(v.clone()));
                    }
                    last = v.clone();
                }
                last
            }
            "not" => {
                arity(f, a, 1)?;
                Val::Bool(!truthy(&a[0]))
            }
            "len" => {
                arity(f, a, 1)?;
                Val::Num(match &a[0] {
                    Val::Str(x) => x.len() as f64,
                    Val::Map(m) | Val::Kv(m) => m.len() as f64,
                    Val::Obj(m) => m.len() as f64,
                    Val::List(l) => l.len() as f64,
                    other => return xerr(format!("len of {}", type_name(other))),
                })
            }
            "index" => {
                arity(f, a, 2)?;
                match (&a[0], &a[1]) {
                    (Val::Map(m) | Val::Kv(m), k) => {
                        Val::Str(m.get(&self.print(k)).cloned().unwrap_or_default())
                    }
                    (Val::Obj(m), k) => m.get(&self.print(k)).cloned().unwrap_or(Val::Nil),
                    (Val::List(l), Val::Num(i)) => l
                        .get(*i as usize)
                        .cloned()
                        .ok_or_else(|| TemplateError::Exec(format!("index out of range: {i}")))?,
                    (x, _) => return xerr(format!("can't index item of type {}", type_name(x))),
                }
            }
            _ => return Ok(None),
        }))
    }

    /// PromQL from templates: `query` and the helpers over its result.
    fn query_funcs(&self, f: &str, a: &[Val]) -> Result<Option<Val>, TemplateError> {
        Ok(Some(match f {
            "query" => {
                arity(f, a, 1)?;
                let Some(q) = self.query else {
                    return xerr("query: no query engine available here");
                };
                let res = q(&self.arg_text(a, 0))
                    .map_err(|e| TemplateError::Exec(format!("query: {e}")))?;
                Val::List(
                    res.into_iter()
                        .map(|(l, v)| Val::List(vec![Val::Map(l), Val::Num(v)]))
                        .collect(),
                )
            }
            "first" => {
                arity(f, a, 1)?;
                match &a[0] {
                    Val::List(l) => l.first().cloned().ok_or_else(|| {
                        TemplateError::Exec("first() called on vector with no elements".into())
                    })?,
                    other => return xerr(format!("first of {}", type_name(other))),
                }
            }
            "label" => {
                arity(f, a, 2)?;
                match &a[1] {
                    Val::List(p) if p.len() == 2 => match p.first() {
                        Some(Val::Map(m)) => {
                            Val::Str(m.get(&self.arg_text(a, 0)).cloned().unwrap_or_default())
                        }
                        _ => Val::Str(String::new()),
                    },
                    other => return xerr(format!("label of {}", type_name(other))),
                }
            }
            "value" => {
                arity(f, a, 1)?;
                match &a[0] {
                    Val::List(p) if p.len() == 2 => p.get(1).cloned().unwrap_or(Val::Nil),
                    other => return xerr(format!("value of {}", type_name(other))),
                }
            }
            "sortByLabel" => {
                arity(f, a, 2)?;
                let key = self.arg_text(a, 0);
                match &a[1] {
                    Val::List(l) => {
                        let mut l = l.clone();
                        let get = |v: &Val| match v {
                            Val::List(p) => match p.first() {
                                Some(Val::Map(m)) => m.get(&key).cloned().unwrap_or_default(),
                                _ => String::new(),
                            },
                            _ => String::new(),
                        };
                        l.sort_by_key(|x| get(x));
                        Val::List(l)
                    }
                    other => return xerr(format!("sortByLabel of {}", type_name(other))),
                }
            }
            _ => return Ok(None),
        }))
    }
}

pub(crate) fn strip_port(h: &str) -> String {
    if let Some(rest) = h.strip_prefix('[')
        && let Some(end) = rest.find(']')
    {
        return rest[..end].to_string();
    }
    match h.rsplit_once(':') {
        Some((a, _)) if !a.contains(':') => a.to_string(),
        _ => h.to_string(),
    }
}

pub(crate) fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    out
}
