//! Instant-vector math (`abs`, `round`, `clamp`, …), `vector`, `scalar`, `pi` and `min_of`/`max_of`.

use super::{map_vec, scalar_arg, unsupported, vector_arg};
use crate::context::Context;
use crate::value::{Elem, QueryError, Val};
use promql_parser::parser::Call;
use vigia_model::Labels;

/// The functions of this family.
pub(super) const NAMES: &[&str] = &[
    "pi",
    "min_of",
    "max_of",
    "vector",
    "scalar",
    "round",
    "clamp",
    "clamp_min",
    "clamp_max",
];

/// Evaluates a call of one of [`NAMES`].
pub(super) fn eval(ev: &mut dyn Context, c: &Call, ts: i64) -> Result<Val, QueryError> {
    let name = c.func.name;
    match name {
        "pi" => Ok(Val::Scalar(std::f64::consts::PI)),
        "min_of" | "max_of" => {
            let a = scalar_arg(ev, c, 0, ts)?;
            let b = scalar_arg(ev, c, 1, ts)?;
            Ok(Val::Scalar(if name == "min_of" {
                go_min(a, b)
            } else {
                go_max(a, b)
            }))
        }
        "vector" => {
            let v = scalar_arg(ev, c, 0, ts)?;
            Ok(Val::Vector(vec![Elem {
                metric: Labels::empty().into(),
                t: ts,
                v,
                drop_name: false,
            }]))
        }
        "scalar" => {
            let v = vector_arg(ev, c, 0, ts)?;
            Ok(Val::Scalar(match v.as_slice() {
                [one] => one.v,
                _ => f64::NAN,
            }))
        }
        "round" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let to = if c.args.len() > 1 {
                scalar_arg(ev, c, 1, ts)?
            } else {
                1.0
            };
            let inv = 1.0 / to;
            Ok(map_vec(v, |x| (x * inv + 0.5).floor() / inv))
        }
        "clamp" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let lo = scalar_arg(ev, c, 1, ts)?;
            let hi = scalar_arg(ev, c, 2, ts)?;
            if hi < lo {
                return Ok(Val::Vector(Vec::new()));
            }
            Ok(map_vec(v, |x| go_max(lo, go_min(hi, x))))
        }
        "clamp_min" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let lo = scalar_arg(ev, c, 1, ts)?;
            Ok(map_vec(v, |x| go_max(lo, x)))
        }
        "clamp_max" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let hi = scalar_arg(ev, c, 1, ts)?;
            Ok(map_vec(v, |x| go_min(hi, x)))
        }
        other => Err(unsupported(other)),
    }
}

/// Go's `math.Max`: NaN if either is NaN.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

/// Go's `math.Min`: NaN if either is NaN.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

pub(super) fn simple_math(name: &str) -> Option<fn(f64) -> f64> {
    Some(match name {
        "abs" => f64::abs,
        "ceil" => f64::ceil,
        "floor" => f64::floor,
        "exp" => f64::exp,
        "ln" => f64::ln,
        "log2" => f64::log2,
        "log10" => f64::log10,
        "sqrt" => f64::sqrt,
        "sgn" => |x: f64| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                x
            }
        },
        "sin" => f64::sin,
        "cos" => f64::cos,
        "tan" => f64::tan,
        "asin" => f64::asin,
        "acos" => f64::acos,
        "atan" => f64::atan,
        "sinh" => f64::sinh,
        "cosh" => f64::cosh,
        "tanh" => f64::tanh,
        "asinh" => f64::asinh,
        "acosh" => f64::acosh,
        "atanh" => f64::atanh,
        "deg" => |x: f64| x * 180.0 / std::f64::consts::PI,
        "rad" => |x: f64| x * std::f64::consts::PI / 180.0,
        _ => return None,
    })
}
