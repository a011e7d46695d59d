//! Alertmanager v2-compatible routes (`/api/v2/alerts`, `/api/v2/silences`, `/api/v2/silence/{id}`,
//! `/api/v2/status`, `/api/v2/receivers`) so Prometheus, Grafana and `amtool` can talk to vigia,
//! plus vigia's acknowledge / resolve / history routes. Successful v2 answers are the bare JSON
//! Alertmanager returns; errors use the Prometheus envelope like every other route.

use super::{read_body, request_params};
use crate::AppState;
use crate::alerting::AlertHub;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorKind, success};
use crate::params::Params;
use axum::Json;
use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use vigia_notify::{AlertFilter, AmMatcher, PostableAlert, PostableSilence, parse_matchers};

fn hub(s: &AppState) -> ApiResult<&Arc<dyn AlertHub>> {
    s.alerting.as_ref().ok_or_else(|| {
        ApiError::new(
            ErrorKind::Unavailable,
            "alert management is not running in this process",
        )
    })
}

/// `filter=` values (each an Alertmanager matcher list such as `alertname="X"` or
/// `{a="b",c=~"d"}`).
fn filter_matchers(p: &Params) -> ApiResult<Vec<AmMatcher>> {
    let mut out = Vec::new();
    for f in p.all("filter") {
        let ms = parse_matchers(f)
            .map_err(|e| ApiError::bad_data(format!("invalid parameter \"filter\": {e}")))?;
        out.extend(ms);
    }
    Ok(out)
}

fn bool_param(p: &Params, key: &str, default: bool) -> ApiResult<bool> {
    match p.get(key) {
        None | Some("") => Ok(default),
        Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(v) => Err(ApiError::bad_data(format!(
            "invalid parameter \"{key}\": {v:?} is not a boolean"
        ))),
    }
}

fn json_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_data(format!("invalid request body: {e}")))
}

/// `GET /api/v2/alerts`.
pub async fn get_alerts(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let hub = hub(&s)?.clone();
    let p = request_params(&s, req).await?;
    let receiver = match p.get("receiver") {
        None | Some("") => None,
        Some(r) => Some(
            AlertFilter::receiver_regex(r)
                .map_err(|e| ApiError::bad_data(format!("invalid parameter \"receiver\": {e}")))?,
        ),
    };
    let filter = AlertFilter {
        matchers: filter_matchers(&p)?,
        silenced: bool_param(&p, "silenced", true)?,
        inhibited: bool_param(&p, "inhibited", true)?,
        active: bool_param(&p, "active", true)?,
        unprocessed: bool_param(&p, "unprocessed", true)?,
        receiver,
    };
    Ok(Json(hub.alerts(&filter)).into_response())
}

/// `POST /api/v2/alerts`: a JSON array of postable alerts.
pub async fn post_alerts(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let hub = hub(&s)?.clone();
    let limit = s.settings().max_body_bytes;
    let body = read_body(req.into_body(), limit).await?;
    let alerts: Vec<PostableAlert> = json_body(&body)?;
    tokio::task::spawn_blocking(move || hub.put_alerts(alerts))
        .await
        .map_err(|_| ApiError::internal("alert task failed"))??;
    Ok(axum::http::StatusCode::OK.into_response())
}

/// `GET /api/v2/silences`.
pub async fn get_silences(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let hub = hub(&s)?.clone();
    let p = request_params(&s, req).await?;
    let ms = filter_matchers(&p)?;
    Ok(Json(hub.silences(&ms)).into_response())
}

/// `POST /api/v2/silences`: creates (or, with an `id`, updates) a silence.
pub async fn post_silence(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let hub = hub(&s)?.clone();
    let limit = s.settings().max_body_bytes;
    let body = read_body(req.into_body(), limit).await?;
    let silence: PostableSilence = json_body(&body)?;
    let id = tokio::task::spawn_blocking(move || hub.add_silence(silence))
        .await
        .map_err(|_| ApiError::internal("silence task failed"))??;
    Ok(Json(json!({ "silenceID": id })).into_response())
}

/// `GET /api/v2/silence/{id}`.
pub async fn get_silence(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let hub = hub(&s)?;
    match hub.silence(&id) {
        Some(sil) => Ok(Json(sil).into_response()),
        None => Err(ApiError::new(
            ErrorKind::NotFound,
            format!("silence {id} not found"),
        )),
    }
}

/// `DELETE /api/v2/silence/{id}`: expires it.
pub async fn delete_silence(
    State(s): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let hub = hub(&s)?.clone();
    tokio::task::spawn_blocking(move || hub.expire_silence(&id))
        .await
        .map_err(|_| ApiError::internal("silence task failed"))??;
    Ok(axum::http::StatusCode::OK.into_response())
}

/// `GET /api/v2/status`.
pub async fn status(State(s): State<Arc<AppState>>) -> ApiResult<Response> {
    let hub = hub(&s)?;
    let uptime = chrono::DateTime::from_timestamp_millis((s.start_time * 1000.0) as i64)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    Ok(Json(json!({
        "cluster": {"name": "vigia", "peers": [], "status": "disabled"},
        "config": {"original": hub.config_yaml()},
        "uptime": uptime,
        "versionInfo": {
            "branch": s.build.branch,
            "buildDate": s.build.build_date,
            "buildUser": s.build.build_user,
            "goVersion": s.build.go_version,
            "revision": s.build.revision,
            "version": s.build.version,
        },
    }))
    .into_response())
}

/// `GET /api/v2/receivers`.
pub async fn receivers(State(s): State<Arc<AppState>>) -> ApiResult<Response> {
    let hub = hub(&s)?;
    let names: Vec<_> = hub
        .receivers()
        .into_iter()
        .map(|name| json!({ "name": name }))
        .collect();
    Ok(Json(names).into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    #[serde(default)]
    note: String,
}

async fn act(
    s: Arc<AppState>,
    fingerprint: String,
    req: Request,
    resolve: bool,
) -> ApiResult<Response> {
    let hub = hub(&s)?.clone();
    let author = req
        .extensions()
        .get::<Principal>()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| "anonymous".into());
    let limit = s.settings().max_body_bytes.min(1 << 20);
    let body = read_body(req.into_body(), limit).await?;
    let note: NoteBody = if body.iter().all(u8::is_ascii_whitespace) {
        NoteBody {
            note: String::new(),
        }
    } else {
        json_body(&body)?
    };
    if fingerprint.len() != 16 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_data(format!(
            "invalid fingerprint {fingerprint:?}: 16 hexadecimal digits expected"
        )));
    }
    let fp = fingerprint.to_ascii_lowercase();
    let (h, fp2, who) = (hub.clone(), fp.clone(), author.clone());
    tokio::task::spawn_blocking(move || {
        if resolve {
            h.resolve(&fp2, &who, &note.note)
        } else {
            h.ack(&fp2, &who, &note.note)
        }
    })
    .await
    .map_err(|_| ApiError::internal("alert task failed"))??;
    let alert = hub
        .alerts(&AlertFilter::default())
        .into_iter()
        .find(|a| a.fingerprint == fp);
    Ok(success(json!({
        "fingerprint": fp,
        "action": if resolve { "resolve" } else { "ack" },
        "by": author,
        "alert": alert,
    })))
}

/// `POST /api/v1/alerts/{fingerprint}/ack` with `{"note": "…"}`.
pub async fn ack(
    State(s): State<Arc<AppState>>,
    Path(fingerprint): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    act(s, fingerprint, req, false).await
}

/// `POST /api/v1/alerts/{fingerprint}/resolve` with `{"note": "…"}`.
pub async fn resolve(
    State(s): State<Arc<AppState>>,
    Path(fingerprint): Path<String>,
    req: Request,
) -> ApiResult<Response> {
    act(s, fingerprint, req, true).await
}

/// `GET /api/v1/alerts/history?fingerprint=&since=&until=`.
pub async fn history(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let hub = hub(&s)?.clone();
    let p = request_params(&s, req).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let since = p.time_or("since", 0)?;
    let until = p.time_or("until", now)?;
    if until < since {
        return Err(ApiError::bad_data(
            "invalid parameters: \"until\" is before \"since\"",
        ));
    }
    let fp = p
        .get("fingerprint")
        .filter(|f| !f.is_empty())
        .map(str::to_ascii_lowercase);
    let entries = hub.history(fp.as_deref(), since, until);
    Ok(success(json!(entries)))
}

/// `GET /api/v1/notifications?after=&limit=`: the in-app notification feed (every
/// notification routing handed to delivery, the dashboard receiver's included).
pub async fn notifications(State(s): State<Arc<AppState>>, req: Request) -> ApiResult<Response> {
    let hub = hub(&s)?.clone();
    let p = request_params(&s, req).await?;
    let num = |key: &str, default: u64| -> ApiResult<u64> {
        match p.get(key) {
            None | Some("") => Ok(default),
            Some(v) => v.parse().map_err(|_| {
                ApiError::bad_data(format!("invalid parameter \"{key}\": {v:?} is not a count"))
            }),
        }
    };
    let after = num("after", 0)?;
    let limit = num("limit", 100)?.min(1000) as usize;
    Ok(success(json!(hub.notifications(after, limit))))
}
