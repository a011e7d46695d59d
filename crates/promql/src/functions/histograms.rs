//! Classic histogram functions (`histogram_quantile`, `histogram_quantiles`, `histogram_fraction`); the native-histogram ones yield nothing over float samples.

use super::labels::is_valid_label_name;
use super::{scalar_arg, string_arg, unsupported, vector_arg};
use crate::context::Context;
use crate::histogram::{Bucket, bucket_fraction, bucket_quantile};
use crate::value::{Elem, QueryError, Val};
use promql_parser::parser::Call;
use std::collections::HashMap;
use vigia_model::Labels;
use vigia_model::float::{format_value, parse_go_float};

/// The functions of this family.
pub(super) const NAMES: &[&str] = &[
    "histogram_quantile",
    "histogram_quantiles",
    "histogram_fraction",
    "histogram_count",
    "histogram_sum",
    "histogram_avg",
    "histogram_stddev",
    "histogram_stdvar",
];

/// Evaluates a call of one of [`NAMES`].
pub(super) fn eval(ev: &mut dyn Context, c: &Call, ts: i64) -> Result<Val, QueryError> {
    let name = c.func.name;
    match name {
        "histogram_quantile" => {
            let q = scalar_arg(ev, c, 0, ts)?;
            let v = vector_arg(ev, c, 1, ts)?;
            if q.is_nan() || !(0.0..=1.0).contains(&q) {
                ev.warn(format!(
                    "PromQL warning: quantile value should be between 0 and 1, got {}",
                    format_value(q)
                ));
            }
            let groups = classic_buckets(ev, v);
            let mut out = Vec::new();
            for (metric, buckets) in groups {
                let (r, forced) = bucket_quantile(q, buckets);
                if forced {
                    ev.info(format!(
                        "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {:?}",
                        metric.metric_name().unwrap_or("")
                    ));
                }
                out.push(Elem {
                    metric: metric.into(),
                    t: ts,
                    v: r,
                    drop_name: true,
                });
            }
            Ok(Val::Vector(out))
        }
        "histogram_quantiles" => {
            let v = vector_arg(ev, c, 0, ts)?;
            let label = string_arg(ev, c, 1, ts)?;
            if !is_valid_label_name(&label) {
                return Err(QueryError::Execution(format!(
                    "invalid label name {label:?}"
                )));
            }
            let mut qs = Vec::new();
            for i in 2..c.args.len() {
                let q = scalar_arg(ev, c, i, ts)?;
                if q.is_nan() || !(0.0..=1.0).contains(&q) {
                    ev.warn(format!(
                        "PromQL warning: quantile value should be between 0 and 1, got {}",
                        format_value(q)
                    ));
                }
                qs.push(q);
            }
            let groups = classic_buckets(ev, v);
            let mut out = Vec::new();
            for (metric, buckets) in groups {
                for q in &qs {
                    let (r, forced) = bucket_quantile(*q, buckets.clone());
                    if forced {
                        ev.info(format!(
                            "PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {:?}",
                            metric.metric_name().unwrap_or("")
                        ));
                    }
                    let mut b = metric.builder();
                    let mut qs = format_value(*q);
                    if qs.bytes().all(|c| c.is_ascii_digit() || c == b'-') {
                        // Quantile labels always carry a decimal point ("0.0", "1.0").
                        qs.push_str(".0");
                    }
                    b.set(label.clone(), qs);
                    out.push(Elem {
                        metric: b.build().into(),
                        t: ts,
                        v: r,
                        drop_name: true,
                    });
                }
            }
            Ok(Val::Vector(out))
        }
        "histogram_fraction" => {
            let lo = scalar_arg(ev, c, 0, ts)?;
            let hi = scalar_arg(ev, c, 1, ts)?;
            let v = vector_arg(ev, c, 2, ts)?;
            let groups = classic_buckets(ev, v);
            let out = groups
                .into_iter()
                .map(|(metric, buckets)| Elem {
                    metric: metric.into(),
                    t: ts,
                    v: bucket_fraction(lo, hi, buckets),
                    drop_name: true,
                })
                .collect();
            Ok(Val::Vector(out))
        }
        "histogram_count" | "histogram_sum" | "histogram_avg" | "histogram_stddev"
        | "histogram_stdvar" => {
            // Only native histograms carry these; float samples yield nothing.
            let _ = vector_arg(ev, c, 0, ts)?;
            Ok(Val::Vector(Vec::new()))
        }
        other => Err(unsupported(other)),
    }
}

/// Groups classic `le` buckets by their series minus `le`; warns about bad `le` labels.
fn classic_buckets(ev: &mut dyn Context, v: Vec<Elem>) -> Vec<(Labels, Vec<Bucket>)> {
    let mut idx: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<(Labels, Vec<Bucket>)> = Vec::new();
    for e in v {
        let le = e.metric.get("le").unwrap_or("");
        let Some(ub) = parse_go_float(le) else {
            ev.warn(format!(
                "PromQL warning: bucket label \"le\" is missing or has a malformed value of {:?} for metric name {:?}",
                le,
                e.metric.metric_name().unwrap_or("")
            ));
            continue;
        };
        let mut b = e.metric.builder();
        b.del("le");
        let key = b.build();
        let i = match idx.get(&key) {
            Some(i) => *i,
            None => {
                idx.insert(key.clone(), out.len());
                out.push((key, Vec::new()));
                out.len() - 1
            }
        };
        if let Some(g) = out.get_mut(i) {
            g.1.push(Bucket {
                upper: ub,
                count: e.v,
            });
        }
    }
    out
}
