//! Recording rules: the query result renamed to the rule's `record`, with the group's and the
//! rule's labels, refused when two elements end up with the same labels or the group's
//! `limit` is exceeded.

use super::state::RuleState;
use super::{EvalError, RuleManager};
use crate::config::{Group, RecordingRule};
use std::collections::HashSet;

impl RuleManager {
    pub(super) fn eval_recording(
        &self,
        g: &Group,
        r: &RecordingRule,
        rs: &mut RuleState,
        t: i64,
    ) -> Result<(), EvalError> {
        let qt = t - g.query_offset_ms;
        let res = self.query(&r.record, &r.expr, qt)?;
        let mut seen = HashSet::with_capacity(res.len());
        let mut out = Vec::with_capacity(res.len());
        for (l, v) in res {
            let mut b = l.builder();
            b.set("__name__", r.record.clone());
            for (k, val) in g.labels.iter().chain(r.labels.iter()) {
                b.set(k.clone(), val.clone());
            }
            let l = b.build();
            if !seen.insert(l.clone()) {
                return Err(EvalError::Rule {
                    rule: r.record.clone(),
                    message:
                        "vector contains metrics with the same labelset after applying rule labels"
                            .into(),
                });
            }
            out.push((l, v));
        }
        if g.limit > 0 && out.len() > g.limit {
            return Err(EvalError::Rule {
                rule: r.record.clone(),
                message: format!("exceeded limit of {} with {} series", g.limit, out.len()),
            });
        }
        self.write(&r.record, rs, out, qt)
    }
}
