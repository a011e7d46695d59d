//! Binary operators: arithmetic, comparison (with and without `bool`), set operators and
//! vector matching (`on`/`ignoring`, `group_left`/`group_right`).

use crate::context::Context;
use crate::value::{Elem, QueryError, Val};
use promql_parser::parser::token::{
    T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MOD,
    T_MUL, T_NEQ, T_POW, T_SUB, TokenType,
};
use promql_parser::parser::{BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
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
            return Err(QueryError::Execution(format!(
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

fn bool_drop(op: TokenType, return_bool: bool) -> bool {
    return_bool || !is_comparison(op)
}

pub(crate) fn eval_binary(
    ev: &mut dyn Context,
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
                return Err(QueryError::Execution(
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
        (l, r) => Err(QueryError::Execution(format!(
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
        return Err(QueryError::Execution(format!(
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

/// True when label `n` is part of the matching signature.
fn in_sig(n: &str, m: &Matching) -> bool {
    if m.on {
        m.labels.iter().any(|x| x == n)
    } else {
        n != METRIC_NAME && !m.labels.iter().any(|x| x == n)
    }
}

/// Hash of the signature labels, computed without allocating.
fn sig_hash(l: &Labels, m: &Matching) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in l.iter().filter(|x| in_sig(&x.name, m)) {
        for b in x
            .name
            .bytes()
            .chain([0xff])
            .chain(x.value.bytes())
            .chain([0xfe])
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn sig_eq(a: &Labels, b: &Labels, m: &Matching) -> bool {
    a.iter()
        .filter(|x| in_sig(&x.name, m))
        .eq(b.iter().filter(|x| in_sig(&x.name, m)))
}

/// Elements indexed by matching signature (hash buckets, verified on lookup).
struct SigIndex(HashMap<u64, Vec<usize>>);

impl SigIndex {
    fn new(els: &[Elem], m: &Matching) -> Self {
        let mut map: HashMap<u64, Vec<usize>> = HashMap::with_capacity(els.len());
        for (i, e) in els.iter().enumerate() {
            map.entry(sig_hash(&e.metric, m)).or_default().push(i);
        }
        Self(map)
    }

    /// Index of the first element whose signature equals that of `l`.
    fn find(&self, els: &[Elem], l: &Labels, m: &Matching) -> Option<usize> {
        self.0
            .get(&sig_hash(l, m))?
            .iter()
            .copied()
            .find(|&i| els.get(i).is_some_and(|e| sig_eq(&e.metric, l, m)))
    }
}

fn and_unless(l: Vec<Elem>, r: Vec<Elem>, m: &Matching, and: bool) -> Vec<Elem> {
    let idx = SigIndex::new(&r, m);
    l.into_iter()
        .filter(|e| idx.find(&r, &e.metric, m).is_some() == and)
        .collect()
}

fn or(l: Vec<Elem>, r: Vec<Elem>, m: &Matching) -> Vec<Elem> {
    let idx = SigIndex::new(&l, m);
    let extra: Vec<Elem> = r
        .into_iter()
        .filter(|e| idx.find(&l, &e.metric, m).is_none())
        .collect();
    let mut out = l;
    out.extend(extra);
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
    let card_one = matches!(m.card, VectorMatchCardinality::OneToOne);
    let include: Vec<String> = m
        .card
        .labels()
        .map(|l| l.labels.clone())
        .unwrap_or_default();
    let (lhs, rhs) = if one_to_many { (rhs, lhs) } else { (lhs, rhs) };
    // The right side is the "one" side: its signatures must be unique.
    let mut right: HashMap<u64, Vec<usize>> = HashMap::with_capacity(rhs.len());
    for (i, rs) in rhs.iter().enumerate() {
        let bucket = right.entry(sig_hash(&rs.metric, m)).or_default();
        let dup = bucket
            .iter()
            .filter_map(|&j| rhs.get(j))
            .find(|d| sig_eq(&d.metric, &rs.metric, m));
        if let Some(d) = dup {
            let side = if one_to_many { "left" } else { "right" };
            let mut pair = [rs.metric.to_string_full(), d.metric.to_string_full()];
            pair.sort();
            let mut sig = rs.metric.builder();
            sig.retain(|n| in_sig(n, m));
            return Err(QueryError::Execution(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                sig.build().to_string_full(),
                pair[0],
                pair[1]
            )));
        }
        bucket.push(i);
    }
    let right = SigIndex(right);
    // Per matched right element: the result label sets produced so far (many-to-one only).
    // One-to-one: right elements already matched. Many-to-one: result label sets produced per
    // matched right element, bucketed by label hash.
    let mut matched_one: HashSet<usize> = HashSet::new();
    let mut produced: HashMap<(usize, u64), Vec<Arc<Labels>>> = HashMap::new();
    let mut out = Vec::new();
    for ls in lhs {
        let Some(ri) = right.find(&rhs, &ls.metric, m) else {
            continue;
        };
        let Some(rs) = rhs.get(ri) else { continue };
        let (fl, fr) = if one_to_many {
            (rs.v, ls.v)
        } else {
            (ls.v, rs.v)
        };
        let metric = result_metric(&ls.metric, &rs.metric, m, &include);
        if card_one {
            if !matched_one.insert(ri) {
                return Err(QueryError::Execution(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                        .into(),
                ));
            }
        } else {
            let bucket = produced.entry((ri, metric.stable_hash())).or_default();
            if bucket.iter().any(|x| **x == *metric) {
                return Err(QueryError::Execution(
                    "multiple matches for matching labels in many-to-one matching; grouping labels must ensure unique results"
                        .into(),
                ));
            }
            bucket.push(metric.clone());
        }
        let (mut val, keep) = apply(op, fl, fr)?;
        if return_bool {
            val = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        let drop = bool_drop(op, return_bool) || ls.drop_name;
        out.push(Elem {
            metric,
            t: ls.t,
            v: val,
            drop_name: drop,
        });
    }
    Ok(Val::Vector(out))
}

fn result_metric(l: &Arc<Labels>, r: &Labels, m: &Matching, include: &[String]) -> Arc<Labels> {
    let one = matches!(m.card, VectorMatchCardinality::OneToOne);
    if include.is_empty() && (!one || (!m.on && m.labels.is_empty())) {
        // Nothing to change: share the left-hand label set.
        return l.clone();
    }
    let mut b = l.builder();
    if one {
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
    Arc::new(b.build())
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
