//! Selectors in a syntax tree: the ones that read data (with a stable key per selector node)
//! and their matchers as vigia's `Matcher`s (one group per `or` alternative).

use crate::value::QueryError;
use promql_parser::label::MatchOp as PMatchOp;
use promql_parser::parser::{Expr, VectorSelector};
use vigia_model::{MatchOp, Matcher};

pub(crate) fn key<T>(x: &T) -> usize {
    x as *const T as usize
}
/// Converts a selector's matchers into model matchers; several groups when `or` is used.
pub(crate) fn selector_matchers(vs: &VectorSelector) -> Result<Vec<Vec<Matcher>>, QueryError> {
    let conv = |m: &promql_parser::label::Matcher| -> Result<Matcher, QueryError> {
        let op = match m.op {
            PMatchOp::Equal => MatchOp::Equal,
            PMatchOp::NotEqual => MatchOp::NotEqual,
            PMatchOp::Re(_) => MatchOp::Regex,
            PMatchOp::NotRe(_) => MatchOp::NotRegex,
        };
        Matcher::new(op, m.name.clone(), m.value.clone())
            .map_err(|e| QueryError::BadData(e.to_string()))
    };
    let mut base = Vec::new();
    if let Some(n) = &vs.name {
        base.push(Matcher::equal(vigia_model::METRIC_NAME, n.clone()));
    }
    let mut groups = Vec::new();
    if vs.matchers.or_matchers.is_empty() {
        let mut g = base.clone();
        for m in &vs.matchers.matchers {
            g.push(conv(m)?);
        }
        groups.push(g);
    } else {
        for og in &vs.matchers.or_matchers {
            let mut g = base.clone();
            for m in og {
                g.push(conv(m)?);
            }
            groups.push(g);
        }
    }
    Ok(groups)
}
/// The arguments of a call whose selectors read data; `info()`'s second argument is only a
/// label filter and looks its series up itself.
pub(crate) fn call_data_args(c: &promql_parser::parser::Call) -> impl Iterator<Item = &Expr> {
    let n = if c.func.name == "info" { 1 } else { usize::MAX };
    c.args.args.iter().take(n).map(|a| a.as_ref())
}
pub(crate) fn collect_selectors<'e>(expr: &'e Expr, out: &mut Vec<(usize, &'e VectorSelector)>) {
    match expr {
        Expr::VectorSelector(vs) => out.push((key(vs), vs)),
        Expr::MatrixSelector(ms) => out.push((key(&ms.vs), &ms.vs)),
        Expr::Subquery(sq) => collect_selectors(&sq.expr, out),
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                collect_selectors(p, out);
            }
            collect_selectors(&a.expr, out);
        }
        Expr::Unary(u) => collect_selectors(&u.expr, out),
        Expr::Binary(b) => {
            collect_selectors(&b.lhs, out);
            collect_selectors(&b.rhs, out);
        }
        Expr::Paren(p) => collect_selectors(&p.expr, out),
        Expr::Call(c) => {
            for a in call_data_args(c) {
                collect_selectors(a, out);
            }
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}
/// All selectors of `expr` as matcher groups (used by the test runner to detect cases that
/// touch native-histogram series).
pub(crate) fn all_selector_matchers(expr: &Expr) -> Result<Vec<Vec<Matcher>>, QueryError> {
    let mut sels = Vec::new();
    collect_selectors(expr, &mut sels);
    let mut out = Vec::new();
    for (_, vs) in sels {
        out.extend(selector_matchers(vs)?);
    }
    Ok(out)
}
