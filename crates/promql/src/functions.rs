//! PromQL functions over floats, one file per family: range-vector functions ([`range`]),
//! instant-vector math ([`math`]), time and calendar functions ([`time`]), label and order
//! functions ([`labels`]), classic histograms ([`histograms`]) and `info()` ([`info`]). This
//! file dispatches a call to its family and holds the argument helpers they share.

mod histograms;
mod info;
mod labels;
mod math;
mod range;
mod time;

use crate::context::Context;
use crate::value::{Elem, QueryError, Val};
use promql_parser::parser::{Call, Expr};

pub(crate) use labels::is_valid_label_name;

/// Evaluates a function call at `ts`.
pub(crate) fn eval_call(ev: &mut dyn Context, c: &Call, ts: i64) -> Result<Val, QueryError> {
    let name = c.func.name;
    if let Some(f) = math::simple_math(name) {
        let v = vector_arg(ev, c, 0, ts)?;
        return Ok(map_vec(v, f));
    }
    if range::is_range_function(name) {
        return range::eval(ev, c, ts);
    }
    if name == "info" {
        return info::eval_info(ev, c, ts);
    }
    let families: [(&[&str], Family); 4] = [
        (math::NAMES, math::eval),
        (time::NAMES, time::eval),
        (labels::NAMES, labels::eval),
        (histograms::NAMES, histograms::eval),
    ];
    match families.iter().find(|(names, _)| names.contains(&name)) {
        Some((_, eval)) => eval(ev, c, ts),
        None => Err(unsupported(name)),
    }
}

/// The evaluator of one family.
type Family = fn(&mut dyn Context, &Call, i64) -> Result<Val, QueryError>;

/// The error for a function vigia does not evaluate.
fn unsupported(name: &str) -> QueryError {
    QueryError::Execution(format!("function {name:?} is not supported"))
}

fn arg(c: &Call, i: usize) -> Result<&Expr, QueryError> {
    c.args.args.get(i).map(|b| b.as_ref()).ok_or_else(|| {
        QueryError::Execution(format!("missing argument {} of {}", i + 1, c.func.name))
    })
}

fn scalar_arg(ev: &mut dyn Context, c: &Call, i: usize, ts: i64) -> Result<f64, QueryError> {
    match ev.eval(arg(c, i)?, ts)? {
        Val::Scalar(v) => Ok(v),
        other => Err(QueryError::Execution(format!(
            "expected type scalar in call to function {:?}, got {}",
            c.func.name,
            other.type_name()
        ))),
    }
}

fn vector_arg(ev: &mut dyn Context, c: &Call, i: usize, ts: i64) -> Result<Vec<Elem>, QueryError> {
    match ev.eval(arg(c, i)?, ts)? {
        Val::Vector(v) => Ok(v),
        other => Err(QueryError::Execution(format!(
            "expected type instant vector in call to function {:?}, got {}",
            c.func.name,
            other.type_name()
        ))),
    }
}

fn string_arg(ev: &mut dyn Context, c: &Call, i: usize, ts: i64) -> Result<String, QueryError> {
    match ev.eval(arg(c, i)?, ts)? {
        Val::Str(s) => Ok(s),
        other => Err(QueryError::Execution(format!(
            "expected type string in call to function {:?}, got {}",
            c.func.name,
            other.type_name()
        ))),
    }
}

fn map_vec(v: Vec<Elem>, f: impl Fn(f64) -> f64) -> Val {
    Val::Vector(
        v.into_iter()
            .map(|mut e| {
                e.v = f(e.v);
                e.drop_name = true;
                e
            })
            .collect(),
    )
}

fn strip_parens(e: &Expr) -> &Expr {
    match e {
        Expr::Paren(p) => strip_parens(&p.expr),
        other => other,
    }
}
