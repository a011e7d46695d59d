//! Label and order functions: `absent`, `label_replace`, `label_join`, `sort`, `sort_desc`, `sort_by_label`, `sort_by_label_desc`.

use super::{arg, string_arg, strip_parens, unsupported, vector_arg};
use crate::context::Context;
use crate::value::{Elem, QueryError, Val};
use promql_parser::parser::{Call, Expr};
use std::cmp::Ordering;
use std::collections::HashMap;
use vigia_model::{Labels, METRIC_NAME};

/// The functions of this family.
pub(super) const NAMES: &[&str] = &[
    "absent",
    "label_replace",
    "label_join",
    "sort",
    "sort_desc",
    "sort_by_label",
    "sort_by_label_desc",
];

/// Evaluates a call of one of [`NAMES`].
pub(super) fn eval(ev: &mut dyn Context, c: &Call, ts: i64) -> Result<Val, QueryError> {
    let name = c.func.name;
    match name {
        "absent" => {
            let v = vector_arg(ev, c, 0, ts)?;
            if !v.is_empty() {
                return Ok(Val::Vector(Vec::new()));
            }
            Ok(Val::Vector(vec![Elem {
                metric: absent_labels(arg(c, 0)?).into(),
                t: ts,
                v: 1.0,
                drop_name: false,
            }]))
        }
        "label_replace" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let dst = string_arg(ev, c, 1, ts)?;
            let repl = string_arg(ev, c, 2, ts)?;
            let src = string_arg(ev, c, 3, ts)?;
            let re_src = string_arg(ev, c, 4, ts)?;
            if !ev.regex_cache().contains_key(&re_src) {
                let re = regex::RegexBuilder::new(&format!("^(?s:{re_src})$"))
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|_| {
                        QueryError::Execution(format!(
                            "invalid regular expression in label_replace(): {re_src}"
                        ))
                    })?;
                ev.regex_cache().insert(re_src.clone(), re);
            }
            if !is_valid_label_name(&dst) {
                return Err(QueryError::Execution(format!(
                    "invalid destination label name in label_replace(): {dst}"
                )));
            }
            let Some(re) = ev.regex_cache().get(&re_src) else {
                return Err(QueryError::Execution("regex cache".into()));
            };
            let mut out = Vec::with_capacity(v.len());
            for mut e in v {
                let sv = e.metric.get(&src).unwrap_or("").to_string();
                if let Some(caps) = re.captures(&sv) {
                    let mut res = String::new();
                    caps.expand(&repl, &mut res);
                    let mut b = e.metric.builder();
                    b.set(dst.clone(), res);
                    e.metric = b.build().into();
                    if dst == METRIC_NAME {
                        e.drop_name = false;
                    }
                }
                out.push(e);
            }
            Ok(Val::Vector(out))
        }
        "label_join" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let dst = string_arg(ev, c, 1, ts)?;
            let sep = string_arg(ev, c, 2, ts)?;
            let mut srcs = Vec::new();
            for i in 3..c.args.len() {
                let s = string_arg(ev, c, i, ts)?;
                if !is_valid_label_name(&s) {
                    return Err(QueryError::Execution(format!(
                        "invalid source label name in label_join(): {s}"
                    )));
                }
                srcs.push(s);
            }
            if !is_valid_label_name(&dst) {
                return Err(QueryError::Execution(format!(
                    "invalid destination label name in label_join(): {dst}"
                )));
            }
            let mut out = Vec::with_capacity(v.len());
            for mut e in v {
                let joined: Vec<&str> =
                    srcs.iter().map(|s| e.metric.get(s).unwrap_or("")).collect();
                let val = joined.join(&sep);
                let mut b = e.metric.builder();
                b.set(dst.clone(), val);
                e.metric = b.build().into();
                if dst == METRIC_NAME {
                    e.drop_name = false;
                }
                out.push(e);
            }
            Ok(Val::Vector(out))
        }
        "sort" | "sort_desc" => {
            let mut v = vector_arg(ev, c, 0, ts)?;
            sort_warning(ev);
            let desc = name == "sort_desc";
            v.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => {
                    if desc {
                        b.v.total_cmp(&a.v)
                    } else {
                        a.v.total_cmp(&b.v)
                    }
                }
            });
            Ok(Val::Vector(v))
        }
        "sort_by_label" | "sort_by_label_desc" => {
            let mut v = vector_arg(ev, c, 0, ts)?;
            sort_warning(ev);
            let mut labels = Vec::new();
            for i in 1..c.args.len() {
                labels.push(string_arg(ev, c, i, ts)?);
            }
            let desc = name == "sort_by_label_desc";
            v.sort_by(|a, b| {
                let mut o = Ordering::Equal;
                for l in &labels {
                    let (x, y) = (a.metric.get(l).unwrap_or(""), b.metric.get(l).unwrap_or(""));
                    if x != y {
                        o = nat_cmp(x, y);
                        break;
                    }
                }
                if o == Ordering::Equal {
                    o = a.metric.cmp(&b.metric);
                }
                if desc { o.reverse() } else { o }
            });
            Ok(Val::Vector(v))
        }
        other => Err(unsupported(other)),
    }
}

/// Label-name validity as in Prometheus 3.x (UTF-8 names): any non-empty valid UTF-8 string.
/// Go strings can hold invalid UTF-8 written as `\xNN` escapes, which promql-parser turns into
/// the characters U+0080..U+00FF; those (and control characters) are therefore rejected too.
pub(crate) fn is_valid_label_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| !c.is_control() && !('\u{80}'..='\u{ff}').contains(&c))
}

fn sort_warning(ev: &mut dyn Context) {
    if ev.query_range().2 > 0 {
        ev.warn("PromQL warning: sort is ineffective for range queries since results are always ordered by labels".into());
    }
}

/// Natural-order string comparison (digit runs compare numerically).
fn nat_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let nx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let ny = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (dx, rx) = x.split_at(nx);
                let (dy, ry) = y.split_at(ny);
                let tx: &[u8] = &dx[dx.iter().take_while(|c| **c == b'0').count()..];
                let ty: &[u8] = &dy[dy.iter().take_while(|c| **c == b'0').count()..];
                let o = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty));
                if o != Ordering::Equal {
                    return o;
                }
                x = rx;
                y = ry;
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = x.get(1..).unwrap_or(&[]);
                y = y.get(1..).unwrap_or(&[]);
            }
        }
    }
}

/// Labels for `absent()`/`absent_over_time()`: the equality matchers of a plain selector.
pub(super) fn absent_labels(e: &Expr) -> Labels {
    let vs = match strip_parens(e) {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        Expr::Subquery(sq) => return absent_labels(&sq.expr),
        _ => return Labels::empty(),
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in &vs.matchers.matchers {
        *seen.entry(m.name.as_str()).or_default() += 1;
    }
    let mut pairs = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME || seen.get(m.name.as_str()).copied().unwrap_or(0) > 1 {
            continue;
        }
        if matches!(m.op, promql_parser::label::MatchOp::Equal) {
            pairs.push((m.name.clone(), m.value.clone()));
        }
    }
    Labels::from_pairs(pairs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        assert_eq!(nat_cmp("a9", "a10"), Ordering::Less);
        assert_eq!(nat_cmp("a10", "a10"), Ordering::Equal);
        assert_eq!(nat_cmp("b", "a10"), Ordering::Greater);
    }
}
