//! Prometheus-compatible `GET /api/v1/rules` and `GET /api/v1/alerts` over the rule manager.

use crate::AppState;
use crate::error::{ApiResult, success};
use axum::extract::State;
use axum::response::Response;
use serde_json::{Value as J, json};
use std::sync::Arc;
use vigia_model::{Alert, AlertState};
use vigia_rules::Rule;

fn rfc3339(ms: i64) -> J {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| J::from(d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
        .unwrap_or(J::Null)
}

fn alert_json(a: &Alert) -> J {
    json!({
        "labels": a.labels,
        "annotations": a.annotations,
        "state": a.state.as_str(),
        "activeAt": rfc3339(a.active_at_ms),
        "value": vigia_model::float::go_float(a.value),
        "fingerprint": a.fingerprint_hex(),
    })
}

/// `GET /api/v1/rules`.
pub async fn rules(State(s): State<Arc<AppState>>) -> ApiResult<Response> {
    let Some(mgr) = &s.rules else {
        return Ok(success(json!({"groups": []})));
    };
    let groups: Vec<J> = mgr
        .status()
        .iter()
        .map(|g| {
            let rules: Vec<J> = g
                .rules
                .iter()
                .map(|r| {
                    let common = (r.health, r.last_error.clone().unwrap_or_default(), r.evaluation_seconds, rfc3339(r.last_evaluation_ms));
                    match &r.rule {
                        Rule::Alerting(a) => {
                            let state = r.alerts.iter().map(|x| x.state).max().unwrap_or(AlertState::Inactive);
                            json!({
                                "type": "alerting", "name": a.alert, "query": a.expr,
                                "duration": a.for_ms as f64 / 1000.0, "keepFiringFor": a.keep_firing_for_ms as f64 / 1000.0,
                                "labels": a.labels, "annotations": a.annotations,
                                "alerts": r.alerts.iter().map(alert_json).collect::<Vec<_>>(),
                                "state": state.as_str(),
                                "health": common.0, "lastError": common.1, "evaluationTime": common.2, "lastEvaluation": common.3,
                            })
                        }
                        Rule::Recording(rr) => json!({
                            "type": "recording", "name": rr.record, "query": rr.expr, "labels": rr.labels,
                            "health": common.0, "lastError": common.1, "evaluationTime": common.2, "lastEvaluation": common.3,
                        }),
                    }
                })
                .collect();
            json!({
                "name": g.group.name,
                "file": g.group.file.display().to_string(),
                "interval": g.group.interval_ms as f64 / 1000.0,
                "limit": g.group.limit,
                "rules": rules,
                "evaluationTime": g.stats.last_duration_seconds,
                "lastEvaluation": rfc3339(g.stats.last_evaluation_ms),
            })
        })
        .collect();
    Ok(success(json!({"groups": groups})))
}

/// `GET /api/v1/alerts`: pending and firing alerts of every alerting rule.
pub async fn alerts(State(s): State<Arc<AppState>>) -> ApiResult<Response> {
    let alerts: Vec<J> = match &s.rules {
        Some(mgr) => mgr
            .active_alerts()
            .iter()
            .filter(|a| a.state != AlertState::Inactive)
            .map(alert_json)
            .collect(),
        None => Vec::new(),
    };
    Ok(success(json!({"alerts": alerts})))
}
