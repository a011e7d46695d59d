//! KPIs: the `kpis:` configuration section (PromQL expressions with a target and industry
//! benchmarks), checked, and evaluated into the values `GET /api/v1/kpis` returns (shape in
//! docs/api.md) and the dashboards' KPI cards show.

use serde::{Deserialize, Serialize};
use vigia_model::{PromDuration, Querier};
use vigia_promql::{Engine, QueryParams, Value};

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Higher values are better.
    #[default]
    Higher,
    /// Lower values are better.
    Lower,
}

/// One KPI of the `kpis:` configuration section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KpiConfig {
    /// Stable identifier (`registrations`).
    pub name: String,
    /// Display title; defaults to the name.
    #[serde(default)]
    pub title: Option<String>,
    /// Group shown together on the dashboard (campaign, system, experience, business).
    #[serde(default)]
    pub group: Option<String>,
    /// PromQL expression returning one number.
    pub expr: String,
    /// Unit: `count`, `ratio` (0–1, shown as %), `seconds`, `currency`, `rps`, `score`…
    #[serde(default)]
    pub unit: String,
    /// The target.
    pub target: f64,
    /// Whether higher or lower is better.
    #[serde(default)]
    pub direction: Direction,
    /// Industry average, if known.
    #[serde(default)]
    pub industry_average: Option<f64>,
    /// What top performers reach, if known.
    #[serde(default)]
    pub top_performers: Option<f64>,
    /// Attainment below which the status is `warning` (default 0.9).
    #[serde(default)]
    pub warning: Option<f64>,
    /// Attainment below which the status is `critical` (default 0.75).
    #[serde(default)]
    pub critical: Option<f64>,
    /// Length of the period the trend compares with (default 24h).
    #[serde(default)]
    pub trend_period: Option<PromDuration>,
}

/// How a KPI stands against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum KpiStatus {
    /// At or above the warning attainment.
    Ok,
    /// Below the warning attainment.
    Warning,
    /// Below the critical attainment.
    Critical,
    /// No value.
    #[default]
    NoData,
}

impl KpiStatus {
    /// `ok`, `warning`, `critical` or `no_data`.
    pub fn as_str(self) -> &'static str {
        match self {
            KpiStatus::Ok => "ok",
            KpiStatus::Warning => "warning",
            KpiStatus::Critical => "critical",
            KpiStatus::NoData => "no_data",
        }
    }
}

/// The evaluated KPI (the JSON of `GET /api/v1/kpis`), with an optional history for the
/// dashboard's sparkline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct KpiValue {
    /// Identifier.
    pub name: String,
    /// Title.
    pub title: String,
    /// Group.
    pub group: Option<String>,
    /// Unit.
    pub unit: String,
    /// Current value (`null` without data).
    pub value: Option<f64>,
    /// Target.
    pub target: f64,
    /// higher / lower.
    pub direction: Direction,
    /// value/target, or target/value when lower is better.
    pub attainment: Option<f64>,
    /// ok, warning, critical or no_data.
    pub status: KpiStatus,
    /// Value one trend period ago.
    pub previous: Option<f64>,
    /// (value − previous) / |previous|.
    pub trend: Option<f64>,
    /// 0 at the industry average, 1 at top performers (beyond either end allowed).
    pub benchmark_position: Option<f64>,
    /// Industry average.
    pub industry_average: Option<f64>,
    /// Top performers.
    pub top_performers: Option<f64>,
    /// Evaluation error, if the expression failed.
    pub error: Option<String>,
    /// Recent values for the sparkline (dashboards only; not in the API answer).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<(f64, f64)>,
}

/// Checks every KPI; returns all problems.
pub fn validate(kpis: &[KpiConfig]) -> Vec<String> {
    let mut errs = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (i, k) in kpis.iter().enumerate() {
        if !names.insert(k.name.clone()) {
            errs.push(format!("kpis[{i}]: duplicate name {:?}", k.name));
        }
        if let Err(e) = vigia_promql::check_expression(&k.expr) {
            errs.push(format!("kpis[{i}] ({}): expr: {e}", k.name));
        }
        if !k.target.is_finite() || k.target == 0.0 {
            errs.push(format!(
                "kpis[{i}] ({}): target must be a non-zero number",
                k.name
            ));
        }
        if let (Some(w), Some(c)) = (k.warning, k.critical)
            && c > w
        {
            errs.push(format!(
                "kpis[{i}] ({}): critical ({c}) must not exceed warning ({w})",
                k.name
            ));
        }
    }
    errs
}

fn scalar(engine: &Engine, q: &dyn Querier, expr: &str, t: i64) -> Result<Option<f64>, String> {
    let out = engine
        .instant(q, expr, t, &QueryParams::default())
        .map_err(|e| e.to_string())?;
    Ok(match out.value {
        Value::Scalar { v, .. } => Some(v),
        Value::Vector(v) if v.len() == 1 => v.first().map(|s| s.v),
        Value::Vector(v) if v.is_empty() => None,
        Value::Vector(v) => {
            return Err(format!(
                "expression returned {} series; a KPI needs one (wrap it in sum())",
                v.len()
            ));
        }
        _ => return Err("expression must return a number or one series".into()),
    }
    .filter(|v| v.is_finite()))
}

/// Evaluates one KPI at `t_ms`.
pub fn evaluate(engine: &Engine, q: &dyn Querier, k: &KpiConfig, t_ms: i64) -> KpiValue {
    let period = k.trend_period.map(|p| p.as_millis()).unwrap_or(86_400_000);
    let (value, error) = match scalar(engine, q, &k.expr, t_ms) {
        Ok(v) => (v, None),
        Err(e) => (None, Some(e)),
    };
    let previous = if error.is_none() {
        scalar(engine, q, &k.expr, t_ms - period).ok().flatten()
    } else {
        None
    };
    let attainment = value.map(|v| match k.direction {
        Direction::Higher => v / k.target,
        Direction::Lower if v > 0.0 => k.target / v,
        // Zero of something where lower is better (errors, cost) meets any target.
        Direction::Lower => 1.0,
    });
    let status = match attainment {
        None => KpiStatus::NoData,
        Some(a) if a < k.critical.unwrap_or(0.75) => KpiStatus::Critical,
        Some(a) if a < k.warning.unwrap_or(0.9) => KpiStatus::Warning,
        Some(_) => KpiStatus::Ok,
    };
    let trend = match (value, previous) {
        (Some(v), Some(p)) if p != 0.0 => Some((v - p) / p.abs()),
        _ => None,
    };
    let benchmark_position = match (value, k.industry_average, k.top_performers) {
        (Some(v), Some(avg), Some(top)) if top != avg => Some((v - avg) / (top - avg)),
        _ => None,
    };
    KpiValue {
        name: k.name.clone(),
        title: k.title.clone().unwrap_or_else(|| k.name.clone()),
        group: k.group.clone(),
        unit: k.unit.clone(),
        value,
        target: k.target,
        direction: k.direction,
        attainment,
        status,
        previous,
        trend,
        benchmark_position,
        industry_average: k.industry_average,
        top_performers: k.top_performers,
        error,
        history: Vec::new(),
    }
}

/// Evaluates every KPI.
pub fn evaluate_all(
    engine: &Engine,
    q: &dyn Querier,
    kpis: &[KpiConfig],
    t_ms: i64,
) -> Vec<KpiValue> {
    kpis.iter().map(|k| evaluate(engine, q, k, t_ms)).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vigia_model::{Appender, Labels, MemStorage, Sample, SeriesSamples};

    #[test]
    fn attainment_status_trend_and_benchmark() {
        let store = MemStorage::new();
        let l = Labels::from_pairs([("__name__", "latency_seconds")]);
        store
            .append(&[SeriesSamples {
                labels: l,
                samples: vec![Sample::new(0, 0.5), Sample::new(86_400_000, 0.25)],
            }])
            .unwrap();
        let engine = Engine::new(vigia_promql::EngineOptions::default());
        let k = KpiConfig {
            name: "response".into(),
            title: None,
            group: None,
            expr: "latency_seconds".into(),
            unit: "seconds".into(),
            target: 0.2,
            direction: Direction::Lower,
            industry_average: Some(0.5),
            top_performers: Some(0.1),
            warning: None,
            critical: None,
            trend_period: None,
        };
        let v = evaluate(&engine, &store, &k, 86_400_000);
        assert_eq!(v.value, Some(0.25));
        assert_eq!(v.attainment, Some(0.8));
        assert_eq!(v.status, KpiStatus::Warning);
        assert_eq!(v.previous, Some(0.5));
        assert_eq!(v.trend, Some(-0.5));
        assert!((v.benchmark_position.unwrap() - 0.625).abs() < 1e-12);
        let none = evaluate(
            &engine,
            &store,
            &KpiConfig {
                expr: "nothing_here".into(),
                ..k.clone()
            },
            86_400_000,
        );
        assert_eq!(none.status, KpiStatus::NoData);
        let bad = evaluate(
            &engine,
            &store,
            &KpiConfig {
                expr: "sum(".into(),
                ..k
            },
            86_400_000,
        );
        assert!(bad.error.is_some());
        assert_eq!(
            validate(&[KpiConfig {
                expr: "sum(".into(),
                ..bad_cfg()
            }])
            .len(),
            1
        );
    }

    fn bad_cfg() -> KpiConfig {
        KpiConfig {
            name: "x".into(),
            title: None,
            group: None,
            expr: "1".into(),
            unit: String::new(),
            target: 1.0,
            direction: Direction::Higher,
            industry_average: None,
            top_performers: None,
            warning: None,
            critical: None,
            trend_period: None,
        }
    }
}
