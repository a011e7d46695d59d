//! Binary operators: arithmetic, comparison (with and without `bool`), set operators and
//! vector matching (`on`/`ignoring`, `group_left`/`group_right`).

use crate::eval::Evaluator;
use crate::value::{Elem, QueryError, Val};
use promql_parser::parser::token::{
    T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MOD,
    T_MUL, T_NEQ, T_POW, T_SUB, TokenType,
};
use promql_parser::parser::{BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality};
use std::collections::{HashMap, HashSet};
use vigia_model::{Labels, METRIC_NAME};

fn is_comparison(op: TokenType) -> bool {
    op.is_comparison_operator()
}

/// Applies an arithmetic or comparison operator. For comparisons returns `(lhs, cond)`.
pub(crate) fn apply(op: TokenType, l: f64, r: f64) -> Result<(f64, bool), QueryError> {
    Ok(match op.id() {
        T_ADD => (l + r, true),
        T_SUB => (l - r, true),
        T_MUL => (l * r, true),
        T_DIV => (l / r, true),
        T_MOD => (l % r, true),
        T_POW => (l.powf(r), true),
        T_ATAN2 => (l.atan2(r), true),
        T_EQLC => (l, l == r),
        T_NEQ => (l, l != r),
        T_GTR => (l, l > r),
        T_LSS => (l, l < r),
        T_GTE => (l, l >= r),
        T_LTE => (l, l <= r),
        _ => {
            return Err(QueryError::BadData(format!(
                "operator \"{op}\" not allowed for this operation"
            )));
        }
    })
}

/// How series are matched between two vectors.
struct Matching {
    on: bool,
    labels: Vec<String>,
    card: VectorMatchCardinality,
}

fn matching(m: &Option<BinModifier>, set_op: bool) -> Matching {
    match m {
        None => Matching {
            on: false,
            labels: Vec::new(),
            card: if set_op {
                VectorMatchCardinality::ManyToMany
            } else {
                VectorMatchCardinality::OneToOne
            },
        },
        Some(m) => {
            let (on, labels) = match &m.matching {
                Some(LabelModifier::Include(l)) => (true, l.labels.clone()),
                Some(LabelModifier::Exclude(l)) => (false, l.labels.clone()),
                None => (false, Vec::new()),
            };
            let card = if set_op {
                VectorMatchCardinality::ManyToMany
            } else {
                m.card.clone()
            };
            Matching { on, labels, card }
        }
    }
}

/// The matching signature: the listed labels with `on`, otherwise all labels except the listed
/// ones and `__name__`. Encoded as a label set.
fn signature(l: &Labels, m: &Matching) -> Labels {
    let mut b = l.builder();
    if m.on {
        b.retain(|n| m.labels.iter().any(|x| x == n));
    } else {
        b.retain(|n| n != METRIC_NAME && !m.labels.iter().any(|x| x == n));
    }
    b.build()
}

fn bool_drop(op: TokenType, return_bool: bool) -> bool {
    return_bool || !is_comparison(op)
}

pub(crate) fn eval_binary(
    ev: &mut Evaluator<'_>,
    b: &BinaryExpr,
    ts: i64,
) -> Result<Val, QueryError> {
    let lhs = ev.eval(&b.lhs, ts)?;
    let rhs = ev.eval(&b.rhs, ts)?;
    let op = b.op;
    let return_bool = b.return_bool();
    let set_op = op.is_set_operator();
    match (lhs, rhs) {
        (Val::Scalar(l), Val::Scalar(r)) => {
            let (v, keep) = apply(op, l, r)?;
            if is_comparison(op) {
                if return_bool {
                    return Ok(Val::Scalar(if keep { 1.0 } else { 0.0 }));
                }
                return Err(QueryError::BadData(
                    "comparisons between scalars must use BOOL modifier".into(),
                ));
            }
            Ok(Val::Scalar(v))
        }
        (Val::Vector(v), Val::Scalar(s)) => vector_scalar(op, v, s, false, return_bool),
        (Val::Scalar(s), Val::Vector(v)) => vector_scalar(op, v, s, true, return_bool),
        (Val::Vector(l), Val::Vector(r)) => {
            let m = matching(&b.modifier, set_op);
            match op.id() {
                T_LAND => Ok(Val::Vector(and_unless(l, r, &m, true))),
                T_LUNLESS => Ok(Val::Vector(and_unless(l, r, &m, false))),
                T_LOR => Ok(Val::Vector(or(l, r, &m))),
                _ => vector_vector(op, l, r, &m, return_bool),
            }
        }
        (l, r) => Err(QueryError::BadData(format!(
            "binary expression must contain only scalar and instant vector types, got {} and {}",
            l.type_name(),
            r.type_name()
        ))),
    }
}

fn vector_scalar(
    op: TokenType,
    v: Vec<Elem>,
    s: f64,
    swap: bool,
    return_bool: bool,
) -> Result<Val, QueryError> {
    if op.is_set_operator() {
        return Err(QueryError::BadData(format!(
            "set operator \"{op}\" not allowed in binary scalar expression"
        )));
    }
    let mut out = Vec::with_capacity(v.len());
    for mut e in v {
        let (l, r) = if swap { (s, e.v) } else { (e.v, s) };
        let (mut val, keep) = apply(op, l, r)?;
        if is_comparison(op) && swap {
            val = r;
        }
        if return_bool {
            val = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        e.v = val;
        if bool_drop(op, return_bool) {
            e.drop_name = true;
        }
        out.push(e);
    }
    Ok(Val::Vector(out))
}

fn and_unless(l: Vec<Elem>, r: Vec<Elem>, m: &Matching, and: bool) -> Vec<Elem> {
    let sigs: HashSet<Labels> = r.iter().map(|e| signature(&e.metric, m)).collect();
    l.into_iter()
        .filter(|e| sigs.contains(&signature(&e.metric, m)) == and)
        .collect()
}

fn or(l: Vec<Elem>, r: Vec<Elem>, m: &Matching) -> Vec<Elem> {
    let sigs: HashSet<Labels> = l.iter().map(|e| signature(&e.metric, m)).collect();
    let mut out = l;
    out.extend(
        r.into_iter()
            .filter(|e| !sigs.contains(&signature(&e.metric, m))),
    );
    out
}

fn vector_vector(
    op: TokenType,
    lhs: Vec<Elem>,
    rhs: Vec<Elem>,
    m: &Matching,
    return_bool: bool,
) -> Result<Val, QueryError> {
    let one_to_many = matches!(m.card, VectorMatchCardinality::OneToMany(_));
    let include: Vec<String> = m
        .card
        .labels()
        .map(|l| l.labels.clone())
        .unwrap_or_default();
    let (lhs, rhs) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
    let mut right: HashMap<Labels, Elem> = HashMap::with_capacity(rhs.len());
    for rs in rhs {
        let sig = signature(&rs.metric, m);
        if let Some(d) = right.get(&sig) {
            let side = if one_to_many { "left" } else { "right" };
            let mut pair = [rs.metric.to_string_full(), d.metric.to_string_full()];
            pair.sort();
            return Err(QueryError::Execution(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                sig.to_string_full(),
                pair[0],
                pair[1]
            )));
        }
        right.insert(sig, rs);
    }
    let mut matched: HashMap<Labels, Option<HashSet<Labels>>> = HashMap::new();
    let mut out = Vec::new();
    for ls in lhs {
        let sig = signature(&ls.metric, m);
        let Some(rs) = right.get(&sig) else { continue };
        let (fl, fr) = if one_to_many {
            (rs.v, ls.v)
        } else {
            (ls.v, rs.v)
        };
        let metric = result_metric(&ls.metric, &rs.metric, m, &include);
        let card_one = matches!(m.card, VectorMatchCardinality::OneToOne);
        match matched.get_mut(&sig) {
            Some(set) => {
                if card_one {
                    return Err(QueryError::Execution(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                            .into(),
                    ));
                }
                if let Some(set) = set
                    && !set.insert(metric.clone())
                {
                    return Err(QueryError::Execution(
                        "multiple matches for matching labels in many-to-one matching; grouping labels must ensure unique results"
                            .into(),
                    ));
                }
            }
            None => {
                let v = if card_one {
                    None
                } else {
                    let mut s = HashSet::new();
                    s.insert(metric.clone());
                    Some(s)
                };
                matched.insert(sig, v);
            }
        }
        let (mut val, keep) = apply(op, fl, fr)?;
        if return_bool {
            val = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        let drop = bool_drop(op, return_bool) || ls.drop_name;
        out.push(Elem {
            metric: metric.into(),
            t: ls.t,
            v: val,
            drop_name: drop,
        });
    }
    Ok(Val::Vector(out))
}

fn result_metric(l: &Labels, r: &Labels, m: &Matching, include: &[String]) -> Labels {
    let mut b = l.builder();
    if matches!(m.card, VectorMatchCardinality::OneToOne) {
        if m.on {
            b.retain(|n| m.labels.iter().any(|x| x == n));
        } else {
            b.retain(|n| !m.labels.iter().any(|x| x == n));
        }
    }
    for n in include {
        match r.get(n) {
            Some(v) => {
                b.set(n.clone(), v.to_string());
            }
            None => {
                b.del(n);
            }
        }
    }
    b.build()
}

/// Prometheus's `Labels.String()`: every label, including `__name__`, inside braces.
pub(crate) trait FullString {
    fn to_string_full(&self) -> String;
}

impl FullString for Labels {
    fn to_string_full(&self) -> String {
        let parts: Vec<String> = self
            .iter()
            .map(|l| format!("{}={:?}", l.name, l.value))
            .collect();
        format!("{{{}}}", parts.join(", "))
    }
}
