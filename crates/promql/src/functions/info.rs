//! `info()`: enriches series with the data labels of matching info series.

use super::{strip_parens, vector_arg};
use crate::context::Context;
use crate::value::{QueryError, Val};
use promql_parser::parser::{Call, Expr};
use vigia_model::METRIC_NAME;

/// Identifying labels joining series to info series.
const INFO_IDENTIFYING: [&str; 2] = ["instance", "job"];

/// `info(v, [selector])`: adds the data labels of matching info series (`target_info` unless
/// the selector names others) joined on `instance` and `job`. With data-label matchers only
/// those labels are added, and series that end up without a required label are dropped.
pub(super) fn eval_info(ev: &mut dyn Context, c: &Call, ts: i64) -> Result<Val, QueryError> {
    let v = vector_arg(ev, c, 0, ts)?;
    let mut name_ms = Vec::new();
    let mut data_ms = Vec::new();
    if let Some(sel) = c.args.args.get(1) {
        let Expr::VectorSelector(vs) = strip_parens(sel) else {
            return Err(QueryError::Execution(
                "expected label selectors as the second argument to info".into(),
            ));
        };
        for group in crate::selectors::selector_matchers(vs)? {
            for m in group {
                if m.name == METRIC_NAME {
                    name_ms.push(m);
                } else {
                    data_ms.push(m);
                }
            }
        }
    }
    if name_ms.is_empty() {
        name_ms.push(vigia_model::Matcher::equal(METRIC_NAME, "target_info"));
    }
    let mut all = name_ms.clone();
    all.extend(data_ms.iter().cloned());
    let infos = ev.select_instant(&all, ts)?;
    let mut out = Vec::with_capacity(v.len());
    for mut e in v {
        let mut b = e.metric.builder();
        let mut changed = false;
        for info in &infos {
            let joins = INFO_IDENTIFYING
                .iter()
                .all(|l| info.get(l).unwrap_or("") == e.metric.get(l).unwrap_or(""));
            if !joins {
                continue;
            }
            for l in info.iter() {
                if l.name == METRIC_NAME || INFO_IDENTIFYING.contains(&l.name.as_str()) {
                    continue;
                }
                if !data_ms.is_empty() && !data_ms.iter().any(|m| m.name == l.name) {
                    continue;
                }
                if b.get(&l.name).is_none() {
                    b.set(l.name.clone(), l.value.clone());
                    changed = true;
                }
            }
        }
        let labels = if changed {
            b.build()
        } else {
            (*e.metric).clone()
        };
        let satisfied = data_ms
            .iter()
            .all(|m| m.matches(labels.get(&m.name).unwrap_or("")));
        if !satisfied {
            continue;
        }
        if changed {
            e.metric = labels.into();
        }
        out.push(e);
    }
    Ok(Val::Vector(out))
}
