//! Variables and queries: the selected value of every variable, `$name` substitution (with
//! the built-ins `$__range`, `$__interval`, `$__rate_interval`), the time window and its
//! step, and the list of queries a dashboard needs.

use super::{ALL_VALUE, Dashboard, PanelKind, VariableSource};
use std::collections::BTreeMap;

/// Instant or range evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// One value per series at the end of the range.
    Instant,
    /// Values over the range at the range's step.
    Range,
}

/// A query the server must evaluate for a panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelQuery {
    /// Panel id.
    pub panel_id: String,
    /// Index of the query within the panel (the data key with the panel id).
    pub index: usize,
    /// PromQL with variables substituted.
    pub expr: String,
    /// How to evaluate it.
    pub kind: QueryKind,
}

/// The time window shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeRange {
    /// Start (unix seconds).
    pub start: f64,
    /// End (unix seconds).
    pub end: f64,
    /// Step for range queries (seconds).
    pub step: f64,
}

impl TimeRange {
    /// The window of `duration` seconds ending at `end`, with a step giving about 240
    /// points (at least 15 s, rounded to a whole clock step).
    pub fn ending_at(end: f64, duration: f64) -> TimeRange {
        let duration = if duration.is_finite() && duration > 0.0 {
            duration
        } else {
            3600.0
        };
        let rough = (duration / 240.0).max(15.0);
        let step = [
            15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        ]
        .into_iter()
        .find(|s| *s >= rough)
        .unwrap_or(rough.ceil());
        TimeRange {
            start: end - duration,
            end,
            step,
        }
    }
    /// Length in seconds.
    pub fn duration(&self) -> f64 {
        self.end - self.start
    }
}

/// Variable references (`$name`, `${name}`) in `expr`, in order.
pub fn variable_refs(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = expr.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' {
            let braced = b.get(i + 1) == Some(&b'{');
            let s = if braced { i + 2 } else { i + 1 };
            let mut e = s;
            while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_') {
                e += 1;
            }
            if e > s {
                if let Some(name) = expr.get(s..e) {
                    out.push(name.to_string());
                }
                i = if braced && b.get(e) == Some(&b'}') {
                    e + 1
                } else {
                    e
                };
                continue;
            }
        }
        i += 1;
    }
    out
}

/// Replaces `$name` / `${name}` in `expr` with `values[name]` (unknown names stay as they
/// are). Values have `\` and `"` escaped so they cannot leave a PromQL string literal.
pub fn substitute(expr: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let braced = after.starts_with('{');
        let body = if braced { &after[1..] } else { after };
        let len = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        let name = &body[..len];
        let closed = !braced || body[len..].starts_with('}');
        match values.get(name) {
            Some(v) if len > 0 && closed => {
                for c in v.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '"' => out.push_str("\\\""),
                        '\n' => out.push(' '),
                        c => out.push(c),
                    }
                }
                let consumed = if braced { len + 2 } else { len };
                rest = &after[consumed..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn duration_literal(secs: f64) -> String {
    let s = secs.round().max(1.0) as i64;
    for (unit, name) in [(86400, "d"), (3600, "h"), (60, "m")] {
        if s % unit == 0 {
            return format!("{}{}", s / unit, name);
        }
    }
    format!("{s}s")
}

impl Dashboard {
    /// The selected value of every variable: `selected[name]` when it is one of the
    /// variable's options (or "All" when offered), else the default. `options` holds the
    /// looked-up values of `label_values` variables.
    pub fn resolve_variables(
        &self,
        selected: &BTreeMap<String, String>,
        options: &BTreeMap<String, Vec<String>>,
    ) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for v in &self.variables {
            let opts: Vec<String> = match &v.source {
                VariableSource::Custom(list) => list.clone(),
                VariableSource::LabelValues { .. } => {
                    options.get(&v.name).cloned().unwrap_or_default()
                }
            };
            let allowed =
                |x: &str| opts.iter().any(|o| o == x) || (v.include_all && x == ALL_VALUE);
            let value = match selected.get(&v.name) {
                Some(s) if allowed(s) => s.clone(),
                _ => match &v.default {
                    Some(d) if allowed(d) => d.clone(),
                    _ if v.include_all => ALL_VALUE.to_string(),
                    _ => opts.first().cloned().unwrap_or_default(),
                },
            };
            out.insert(v.name.clone(), value);
        }
        out
    }

    /// The PromQL queries of every panel, with variables (already resolved, see
    /// [`Dashboard::resolve_variables`]) and built-ins substituted.
    pub fn queries(&self, vars: &BTreeMap<String, String>, range: &TimeRange) -> Vec<PanelQuery> {
        let mut values = vars.clone();
        values.insert("__range".into(), duration_literal(range.duration()));
        values.insert("__interval".into(), duration_literal(range.step));
        values.insert(
            "__rate_interval".into(),
            duration_literal((range.step * 4.0).max(60.0)),
        );
        let mut out = Vec::new();
        for p in self.panels() {
            let mut push = |index: usize, expr: &str, kind: QueryKind| {
                out.push(PanelQuery {
                    panel_id: p.id.clone(),
                    index,
                    expr: substitute(expr, &values),
                    kind,
                })
            };
            match &p.kind {
                PanelKind::TimeSeries { queries, .. } => {
                    for (i, q) in queries.iter().enumerate() {
                        push(i, &q.expr, QueryKind::Range);
                    }
                }
                PanelKind::Funnel { steps, .. } => {
                    for (i, s) in steps.iter().enumerate() {
                        push(i, &s.expr, QueryKind::Instant);
                    }
                }
                PanelKind::Bar { expr, .. } | PanelKind::Table { expr, .. } => {
                    push(0, expr, QueryKind::Instant)
                }
                PanelKind::Kpi { .. } | PanelKind::Alerts { .. } | PanelKind::Anomalies { .. } => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_escapes_and_keeps_unknown() {
        let mut v = BTreeMap::new();
        v.insert("instance".to_string(), "web-1\"}) or vector(1".to_string());
        v.insert("r".to_string(), "5m".to_string());
        let out = substitute("rate(x{instance=~\"$instance\"}[${r}]) $other $", &v);
        assert_eq!(
            out,
            "rate(x{instance=~\"web-1\\\"}) or vector(1\"}[5m]) $other $"
        );
        assert_eq!(
            variable_refs("a $x ${y_2} $ $__range"),
            vec!["x", "y_2", "__range"]
        );
    }

    #[test]
    fn time_range_steps() {
        let r = TimeRange::ending_at(1000.0, 300.0);
        assert_eq!((r.start, r.step), (700.0, 15.0));
        let r = TimeRange::ending_at(0.0, 14.0 * 86400.0);
        assert_eq!(r.step, 7200.0);
        assert_eq!(duration_literal(86400.0), "1d");
        assert_eq!(duration_literal(90.0), "90s");
    }
}
