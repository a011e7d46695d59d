//! The template functions: Prometheus's (`humanize…`, `printf`, `query`, `label`, `value`,
//! `sortByLabel`, `stripPort`, …), Go's built-ins (`eq`, `and`, `len`, `index`, `html`, …) and
//! Alertmanager's (`join`, `stringSlice`, `trimSpace`, `toUpper`, …).

use crate::error::{TemplateError, xerr};
use crate::exec::Cx;
use crate::format::{humanize, humanize_duration, humanize_timestamp, humanize1024, sprintf};
use crate::value::{Val, to_float, truthy, type_name};
use regex::Regex;
use vigia_model::float::fmt_g;

pub(crate) const FUNCS: &[&str] = &[
    "humanize",
    "humanize1024",
    "humanizePercentage",
    "humanizeDuration",
    "humanizeTimestamp",
    "printf",
    "print",
    "title",
    "toUpper",
    "toLower",
    "reReplaceAll",
    "match",
    "stripPort",
    "stripDomain",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "not",
    "len",
    "index",
    "html",
    "safeHtml",
    "query",
    "first",
    "label",
    "value",
    "sortByLabel",
    "join",
    "stringSlice",
    "trimSpace",
];

impl Cx<'_, '_> {
    pub(crate) fn call(&self, f: &str, a: Vec<Val>) -> Result<Val, TemplateError> {
        let n = a.len();
        let want = |k: usize| -> Result<(), TemplateError> {
            if n == k {
                Ok(())
            } else {
                xerr(format!("wrong number of args for {f}: want {k} got {n}"))
            }
        };
        let s = |i: usize| a.get(i).map(|v| self.print(v)).unwrap_or_default();
        Ok(match f {
            "humanize" => {
                want(1)?;
                Val::Str(humanize(to_float(&a[0])?))
            }
            "humanize1024" => {
                want(1)?;
                Val::Str(humanize1024(to_float(&a[0])?))
            }
            "humanizePercentage" => {
                want(1)?;
                Val::Str(format!("{}%", fmt_g(to_float(&a[0])? * 100.0, 4)))
            }
            "humanizeDuration" => {
                want(1)?;
                Val::Str(humanize_duration(to_float(&a[0])?))
            }
            "humanizeTimestamp" => {
                want(1)?;
                Val::Str(humanize_timestamp(to_float(&a[0])?))
            }
            "printf" => {
                if n == 0 {
                    return xerr("wrong number of args for printf: want at least 1 got 0");
                }
                Val::Str(sprintf(&s(0), a.get(1..).unwrap_or(&[]), self))
            }
            "print" => {
                let parts: Vec<String> = a.iter().map(|v| self.print(v)).collect();
                Val::Str(parts.join(" "))
            }
            "title" => {
                want(1)?;
                Val::Str(title(&s(0)))
            }
            "toUpper" => {
                want(1)?;
                Val::Str(s(0).to_uppercase())
            }
            "toLower" => {
                want(1)?;
                Val::Str(s(0).to_lowercase())
            }
            "reReplaceAll" => {
                want(3)?;
                let re = Regex::new(&s(0))
                    .map_err(|e| TemplateError::Exec(format!("reReplaceAll: {e}")))?;
                Val::Str(re.replace_all(&s(2), s(1).as_str()).into_owned())
            }
            "match" => {
                want(2)?;
                let re =
                    Regex::new(&s(0)).map_err(|e| TemplateError::Exec(format!("match: {e}")))?;
                Val::Bool(re.is_match(&s(1)))
            }
            "stripPort" => {
                want(1)?;
                let h = s(0);
                Val::Str(strip_port(&h))
            }
            "stripDomain" => {
                want(1)?;
                let h = s(0);
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
            "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
                want(2)?;
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
                    if !truthy(&v) {
                        return Ok(v);
                    }
                    last = v;
                }
                last
            }
            "or" => {
                let mut last = Val::Nil;
                for v in a {
                    if truthy(&v) {
                        return Ok(v);
                    }
                    last = v;
                }
                last
            }
            "not" => {
                want(1)?;
                Val::Bool(!truthy(&a[0]))
            }
            "len" => {
                want(1)?;
                Val::Num(match &a[0] {
                    Val::Str(x) => x.len() as f64,
                    Val::Map(m) | Val::Kv(m) => m.len() as f64,
                    Val::Obj(m) => m.len() as f64,
                    Val::List(l) => l.len() as f64,
                    other => return xerr(format!("len of {}", type_name(other))),
                })
            }
            "index" => {
                want(2)?;
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
            "html" | "safeHtml" => {
                want(1)?;
                let t = s(0);
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
            "query" => {
                want(1)?;
                let Some(q) = self.query else {
                    return xerr("query: no query engine available here");
                };
                let res = q(&s(0)).map_err(|e| TemplateError::Exec(format!("query: {e}")))?;
                Val::List(
                    res.into_iter()
                        .map(|(l, v)| Val::List(vec![Val::Map(l), Val::Num(v)]))
                        .collect(),
                )
            }
            "first" => {
                want(1)?;
                match &a[0] {
                    Val::List(l) => l.first().cloned().ok_or_else(|| {
                        TemplateError::Exec("first() called on vector with no elements".into())
                    })?,
                    other => return xerr(format!("first of {}", type_name(other))),
                }
            }
            "label" => {
                want(2)?;
                match &a[1] {
                    Val::List(p) if p.len() == 2 => match p.first() {
                        Some(Val::Map(m)) => Val::Str(m.get(&s(0)).cloned().unwrap_or_default()),
                        _ => Val::Str(String::new()),
                    },
                    other => return xerr(format!("label of {}", type_name(other))),
                }
            }
            "value" => {
                want(1)?;
                match &a[0] {
                    Val::List(p) if p.len() == 2 => p.get(1).cloned().unwrap_or(Val::Nil),
                    other => return xerr(format!("value of {}", type_name(other))),
                }
            }
            "sortByLabel" => {
                want(2)?;
                let key = s(0);
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
            "join" => {
                want(2)?;
                let Val::List(l) = &a[1] else {
                    return xerr(format!("join: want a list, got {}", type_name(&a[1])));
                };
                let parts: Vec<String> = l.iter().map(|v| self.print(v)).collect();
                Val::Str(parts.join(&s(0)))
            }
            "stringSlice" => Val::List(a.iter().map(|v| Val::Str(self.print(v))).collect()),
            "trimSpace" => {
                want(1)?;
                Val::Str(s(0).trim().to_string())
            }
            other => return xerr(format!("function {other:?} not defined")),
        })
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
