//! A rule's input and output: running its PromQL query at the evaluation time, and appending
//! its result series together with stale markers for the series it wrote last time and no
//! longer produces.

use super::state::RuleState;
use super::{EvalError, RuleManager};
use std::collections::HashSet;
use vigia_model::{Labels, Sample, SeriesSamples};
use vigia_promql::{QueryParams, Value};

impl RuleManager {
    /// Runs `expr` at `t`: a vector gives its elements, a scalar one element without labels.
    pub(super) fn query(
        &self,
        rule: &str,
        expr: &str,
        t: i64,
    ) -> Result<Vec<(Labels, f64)>, EvalError> {
        let out = self
            .engine
            .instant(self.querier.as_ref(), expr, t, &QueryParams::default())
            .map_err(|source| EvalError::Query {
                rule: rule.to_string(),
                source,
            })?;
        match out.value {
            Value::Vector(v) => Ok(v.into_iter().map(|s| (s.labels, s.v)).collect()),
            Value::Scalar { v, .. } => Ok(vec![(Labels::empty(), v)]),
            _ => Err(EvalError::Rule {
                rule: rule.to_string(),
                message: "rule result is not a vector or scalar".into(),
            }),
        }
    }

    /// Appends `series` (one sample each at `t`) and stale markers for the rule's series of the
    /// previous evaluation that are gone.
    pub(super) fn write(
        &self,
        rule: &str,
        rs: &mut RuleState,
        series: Vec<(Labels, f64)>,
        t: i64,
    ) -> Result<(), EvalError> {
        let mut cur = HashSet::with_capacity(series.len());
        let mut batch = Vec::with_capacity(series.len());
        for (l, v) in series {
            cur.insert(l.clone());
            batch.push(SeriesSamples {
                labels: l,
                samples: vec![Sample::new(t, v)],
            });
        }
        for gone in rs.prev_series.difference(&cur) {
            batch.push(SeriesSamples {
                labels: gone.clone(),
                samples: vec![Sample::new(t, vigia_model::stale_nan())],
            });
        }
        rs.prev_series = cur;
        if batch.is_empty() {
            return Ok(());
        }
        self.appender
            .append(&batch)
            .map(|_| ())
            .map_err(|source| EvalError::Storage {
                rule: rule.to_string(),
                source,
            })
    }
}
