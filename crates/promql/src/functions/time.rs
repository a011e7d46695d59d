//! Time functions: `time()`, the query's `start()`/`end()`/`step()`/`range()`, `timestamp` and the calendar functions (`hour`, `day_of_week`, …).

use super::{arg, map_vec, strip_parens, unsupported, vector_arg};
use crate::context::Context;
use crate::value::{Elem, QueryError, Val};
use promql_parser::parser::{Call, Expr};
use vigia_model::Labels;

/// The functions of this family.
pub(super) const NAMES: &[&str] = &[
    "time",
    "start",
    "end",
    "step",
    "range",
    "timestamp",
    "minute",
    "hour",
    "day_of_week",
    "day_of_month",
    "day_of_year",
    "days_in_month",
    "month",
    "year",
];

/// Evaluates a call of one of [`NAMES`].
pub(super) fn eval(ev: &mut dyn Context, c: &Call, ts: i64) -> Result<Val, QueryError> {
    let name = c.func.name;
    match name {
        "time" => Ok(Val::Scalar(ts as f64 / 1000.0)),
        "start" => Ok(Val::Scalar(ev.query_range().0 as f64 / 1000.0)),
        "end" => Ok(Val::Scalar(ev.query_range().1 as f64 / 1000.0)),
        "step" => Ok(Val::Scalar(ev.query_range().2 as f64 / 1000.0)),
        "range" => Ok(Val::Scalar(
            ev.query_range().1.saturating_sub(ev.query_range().0) as f64 / 1000.0,
        )),
        "timestamp" => {
            let a = strip_parens(arg(c, 0)?);
            let els = match a {
                Expr::VectorSelector(vs) => ev.eval_vector_selector(vs, ts, true),
                _ => vector_arg(ev, c, 0, ts)?,
            };
            Ok(Val::Vector(
                els.into_iter()
                    .map(|e| Elem {
                        v: e.t as f64 / 1000.0,
                        t: ts,
                        metric: e.metric,
                        drop_name: true,
                    })
                    .collect(),
            ))
        }
        "minute" | "hour" | "day_of_week" | "day_of_month" | "day_of_year" | "days_in_month"
        | "month" | "year" => {
            let v = if c.args.is_empty() {
                vec![Elem {
                    metric: Labels::empty().into(),
                    t: ts,
                    v: ts as f64 / 1000.0,
                    drop_name: false,
                }]
            } else {
                vector_arg(ev, c, 0, ts)?
            };
            let f = |x: f64| date_part(name, x);
            Ok(map_vec(v, f))
        }
        other => Err(unsupported(other)),
    }
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn date_part(name: &str, x: f64) -> f64 {
    if x.is_nan() || x.is_infinite() || x.abs() > 1e15 {
        return f64::NAN;
    }
    let secs = x as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mdays = [
        31,
        if is_leap(y) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    match name {
        "minute" => ((sod / 60) % 60) as f64,
        "hour" => (sod / 3600) as f64,
        "day_of_week" => (days + 4).rem_euclid(7) as f64,
        "day_of_month" => d as f64,
        "day_of_year" => {
            let before: i64 = mdays.iter().take((m - 1).max(0) as usize).sum();
            (before + d) as f64
        }
        "days_in_month" => mdays.get((m - 1).max(0) as usize).copied().unwrap_or(30) as f64,
        "month" => m as f64,
        "year" => y as f64,
        _ => f64::NAN,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        // 2024-02-29 12:34:56 UTC
        let t = 1_709_210_096.0;
        assert_eq!(date_part("year", t), 2024.0);
        assert_eq!(date_part("month", t), 2.0);
        assert_eq!(date_part("day_of_month", t), 29.0);
        assert_eq!(date_part("days_in_month", t), 29.0);
        assert_eq!(date_part("day_of_year", t), 60.0);
        assert_eq!(date_part("hour", t), 12.0);
        assert_eq!(date_part("minute", t), 34.0);
        assert_eq!(date_part("day_of_week", t), 4.0);
    }
}
