//! Parsed PromQL as the rest of vigia sees it: [`Expression`] (checked, printable, its
//! selectors and result type, its syntax tree as JSON) and [`parse_selector`] for the `match[]`
//! series selectors of the read API. No other crate names `promql-parser`.

use crate::engine::{parse_expr, parse_query};
use crate::selectors::{all_selector_matchers, selector_matchers};
use crate::value::QueryError;
use promql_parser::parser::{AtModifier, Expr, value::ValueType};
use vigia_model::Matcher;

/// What an expression evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// A number.
    Scalar,
    /// An instant vector.
    Vector,
    /// A range vector.
    Matrix,
    /// A string.
    String,
}

/// A parsed, size-checked PromQL expression.
#[derive(Debug, Clone)]
pub struct Expression {
    expr: Expr,
}

impl Expression {
    /// Parses `query`; errors are [`QueryError::BadData`] with Prometheus's wording.
    pub fn parse(query: &str) -> Result<Self, QueryError> {
        Ok(Self {
            expr: parse_query(query)?,
        })
    }

    /// The type of the result.
    pub fn kind(&self) -> ValueKind {
        match self.expr.value_type() {
            ValueType::Scalar => ValueKind::Scalar,
            ValueType::Vector => ValueKind::Vector,
            ValueType::Matrix => ValueKind::Matrix,
            ValueType::String => ValueKind::String,
        }
    }

    /// Every selector that reads data, as matcher groups (one group per `or` alternative).
    pub fn selectors(&self) -> Result<Vec<Vec<Matcher>>, QueryError> {
        all_selector_matchers(&self.expr)
    }

    /// The syntax tree as `/api/v1/parse_query` returns it.
    pub fn syntax_tree(&self) -> Result<serde_json::Value, QueryError> {
        serde_json::to_value(&self.expr)
            .map_err(|e| QueryError::Execution(format!("encoding the syntax tree: {e}")))
    }

    /// The expression pretty-printed as `/api/v1/format_query` returns it.
    pub fn prettify(&self) -> String {
        self.expr.prettify()
    }

    /// The same expression with `@ t_ms` on every selector and subquery that has none (not
    /// below a subquery that got one), or `None` when a function would make the result depend
    /// on the evaluation time in a way `@` cannot pin (`time()`, `timestamp()`, …). Prometheus's
    /// test runner uses this to check that `@` pins a result.
    pub fn pinned_at(&self, t_ms: i64) -> Option<Expression> {
        let at = if t_ms >= 0 {
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(t_ms.unsigned_abs())
        } else {
            std::time::UNIX_EPOCH - std::time::Duration::from_millis(t_ms.unsigned_abs())
        };
        let mut expr = self.expr.clone();
        set_at(&mut expr, at, false).then_some(Expression { expr })
    }
}

impl std::fmt::Display for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.expr)
    }
}

/// Checks that `query` is valid PromQL (configuration validation: KPIs, dashboards); the error
/// is [`QueryError::BadData`] with the parser's message.
pub fn check_expression(query: &str) -> Result<(), QueryError> {
    parse_expr(query).map(|_| ()).map_err(QueryError::BadData)
}

/// Parses a series selector (`up{job="x"}`, `{__name__=~"a.*"}`) into matchers, with the
/// PromQL parser so the accepted syntax is exactly PromQL's. At least one matcher must not
/// match the empty string, as in Prometheus.
pub fn parse_selector(s: &str) -> Result<Vec<Matcher>, QueryError> {
    let bad = |why: &str| QueryError::BadData(format!("invalid selector {s:?}: {why}"));
    let expr = promql_parser::parser::parse(s).map_err(|e| bad(&e))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(bad("not a series selector"));
    };
    let mut groups = selector_matchers(&vs)?.into_iter();
    let (Some(out), None) = (groups.next(), groups.next()) else {
        return Err(bad("`or` is not allowed in match[]"));
    };
    if out.iter().all(|m| m.matches_empty()) {
        return Err(bad("match[] must contain at least one non-empty matcher"));
    }
    Ok(out)
}

/// Functions whose result depends on the evaluation time beyond their selectors.
const AT_UNSAFE_FUNCTIONS: &[&str] = &[
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
    // Looks its info series up at the evaluation time.
    "info",
];

/// Sets `@ ts` on every selector and subquery that has none (not below an `@` subquery).
/// Returns false when the expression uses a function that makes this unsafe.
fn set_at(e: &mut Expr, ts: std::time::SystemTime, under_at: bool) -> bool {
    match e {
        Expr::VectorSelector(vs) => {
            if !under_at && vs.at.is_none() {
                vs.at = Some(AtModifier::At(ts));
            }
            true
        }
        Expr::MatrixSelector(ms) => {
            if !under_at && ms.vs.at.is_none() {
                ms.vs.at = Some(AtModifier::At(ts));
            }
            true
        }
        Expr::Subquery(sq) => {
            if !under_at && sq.at.is_none() {
                sq.at = Some(AtModifier::At(ts));
            }
            set_at(&mut sq.expr, ts, true)
        }
        Expr::Aggregate(a) => {
            let ok = a.param.as_mut().is_none_or(|p| set_at(p, ts, under_at));
            ok && set_at(&mut a.expr, ts, under_at)
        }
        Expr::Unary(u) => set_at(&mut u.expr, ts, under_at),
        Expr::Binary(b) => set_at(&mut b.lhs, ts, under_at) && set_at(&mut b.rhs, ts, under_at),
        Expr::Paren(p) => set_at(&mut p.expr, ts, under_at),
        Expr::Call(c) => {
            if AT_UNSAFE_FUNCTIONS.contains(&c.func.name) {
                return false;
            }
            c.args.args.iter_mut().all(|a| set_at(a, ts, under_at))
        }
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        let m = parse_selector(r#"up{job=~"n.*",x!="y"}"#).unwrap();
        assert_eq!(m.len(), 3);
        assert!(parse_selector(r#"{job=~".*"}"#).is_err());
        assert!(parse_selector("rate(x[5m])").is_err());
        assert!(parse_selector("up{").is_err());
    }

    #[test]
    fn expressions() {
        let e = Expression::parse("sum(rate(x[5m])) > 1").unwrap();
        assert_eq!(e.kind(), ValueKind::Vector);
        assert_eq!(e.selectors().unwrap().len(), 1);
        assert_eq!(
            e.pinned_at(1000).unwrap().to_string(),
            "sum(rate(x[5m] @ 1.000)) > 1"
        );
        assert!(
            Expression::parse("time() + x")
                .unwrap()
                .pinned_at(0)
                .is_none()
        );
        assert!(check_expression("sum(").is_err());
        assert!(e.syntax_tree().unwrap().is_object());
    }
}
