//! Authentication and authorisation: HTTP basic auth against bcrypt hashes and bearer tokens,
//! each with a role (`read` or `admin`). When any credential is configured, every route except
//! `/-/healthy` requires one. Secrets are never logged or echoed.

use crate::AppState;
use crate::error::{ApiError, ErrorKind};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// What a principal may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Queries and reads.
    Read,
    /// Everything: writes, admin API, reload.
    Admin,
}

/// A user with a bcrypt password hash.
#[derive(Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Login name.
    pub username: String,
    /// bcrypt hash (`$2a$`, `$2b$` or `$2y$`).
    pub password_hash: String,
    /// Role.
    #[serde(default = "default_role")]
    pub role: Role,
}

/// A bearer token.
#[derive(Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Token {
    /// Name shown as the author of actions (the token itself is never shown).
    pub name: String,
    /// The secret.
    pub token: String,
    /// Role.
    #[serde(default = "default_role")]
    pub role: Role,
}

fn default_role() -> Role {
    Role::Read
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("password_hash", &"<secret>")
            .field("role", &self.role)
            .finish()
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("name", &self.name)
            .field("token", &"<secret>")
            .field("role", &self.role)
            .finish()
    }
}

/// Credentials in force.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// Basic-auth users.
    pub users: Vec<User>,
    /// Bearer tokens.
    pub tokens: Vec<Token>,
}

impl AuthConfig {
    /// True when any credential is configured.
    pub fn enabled(&self) -> bool {
        !self.users.is_empty() || !self.tokens.is_empty()
    }
}

/// The authenticated caller, stored in request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// User or token name; `anonymous` when auth is off.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// The role a request needs.
pub fn required_role(method: &axum::http::Method, path: &str) -> Role {
    let admin_prefixes = ["/api/v1/admin/", "/-/reload", "/-/quit"];
    let write_paths = [
        "/api/v1/write",
        "/write",
        "/api/v2/write",
        "/api/v1/import",
        "/api/v1/import/prometheus",
        "/api/v1/events",
    ];
    if admin_prefixes.iter().any(|p| path.starts_with(p)) || write_paths.contains(&path) {
        return Role::Admin;
    }
    if method == axum::http::Method::POST
        && (path.starts_with("/api/v2/alerts")
            || path.starts_with("/api/v2/silences")
            || path.contains("/ack")
            || path.contains("/resolve"))
    {
        return Role::Admin;
    }
    if method == axum::http::Method::DELETE {
        return Role::Admin;
    }
    Role::Read
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Remembers successful bcrypt verifications (bcrypt is deliberately slow) and bounds how many
/// run at once, so a client cycling wrong passwords cannot occupy every core or evict the
/// real users' entries.
#[derive(Debug)]
pub struct VerifyCache {
    ok: Mutex<HashMap<(String, String, String), ()>>,
    slots: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

impl Default for VerifyCache {
    fn default() -> Self {
        Self {
            ok: Mutex::new(HashMap::new()),
            slots: std::sync::Mutex::new(2),
            freed: std::sync::Condvar::new(),
        }
    }
}

impl VerifyCache {
    fn check(&self, user: &str, password: &str, hash: &str) -> bool {
        let key = (user.to_string(), password.to_string(), hash.to_string());
        if self.ok.lock().contains_key(&key) {
            return true;
        }
        // At most two bcrypt verifications at a time; the others wait their turn.
        {
            let mut free = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            while *free == 0 {
                free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
            }
            *free -= 1;
        }
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        {
            let mut free = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            *free += 1;
            self.freed.notify_one();
        }
        if ok {
            let mut m = self.ok.lock();
            if m.len() > 1024 {
                m.clear();
            }
            m.insert(key, ());
        }
        ok
    }
}

fn identify(
    cfg: &AuthConfig,
    cache: &VerifyCache,
    header: Option<&str>,
) -> Result<Principal, ApiError> {
    let unauthorized = || ApiError::new(ErrorKind::Unauthorized, "authentication required");
    let Some(h) = header else {
        return Err(unauthorized());
    };
    if let Some(tok) = h.strip_prefix("Bearer ") {
        return cfg
            .tokens
            .iter()
            .find(|t| constant_time_eq(t.token.as_bytes(), tok.trim().as_bytes()))
            .map(|t| Principal {
                name: t.name.clone(),
                role: t.role,
            })
            .ok_or_else(unauthorized);
    }
    if let Some(b64) = h.strip_prefix("Basic ") {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| unauthorized())?;
        let raw = String::from_utf8(raw).map_err(|_| unauthorized())?;
        let Some((user, pass)) = raw.split_once(':') else {
            return Err(unauthorized());
        };
        return cfg
            .users
            .iter()
            .find(|u| u.username == user && cache.check(user, pass, &u.password_hash))
            .map(|u| Principal {
                name: u.username.clone(),
                role: u.role,
            })
            .ok_or_else(unauthorized);
    }
    Err(unauthorized())
}

/// Middleware: authenticates and authorises every request.
pub async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let settings = state.settings();
    let path = req.uri().path().to_string();
    if !settings.auth.enabled() || path == "/-/healthy" {
        req.extensions_mut().insert(Principal {
            name: "anonymous".into(),
            role: Role::Admin,
        });
        return next.run(req).await;
    }
    let header = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let cfg = settings.auth.clone();
    let cache = state.metrics.auth_cache.clone();
    let who = tokio::task::spawn_blocking(move || identify(&cfg, &cache, header.as_deref()))
        .await
        .unwrap_or_else(|_| Err(ApiError::internal("authentication task failed")));
    match who {
        Err(e) => {
            state.metrics.auth_failures.inc();
            e.into_response()
        }
        Ok(p) => {
            if p.role < required_role(req.method(), &path) {
                return ApiError::new(
                    ErrorKind::Forbidden,
                    format!("{} may not call {path}: admin role required", p.name),
                )
                .into_response();
            }
            req.extensions_mut().insert(p);
            next.run(req).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_and_bearer() {
        let hash = bcrypt::hash("s3cret", 4).unwrap();
        let cfg = AuthConfig {
            users: vec![User {
                username: "ana".into(),
                password_hash: hash,
                role: Role::Admin,
            }],
            tokens: vec![Token {
                name: "grafana".into(),
                token: "tok-123".into(),
                role: Role::Read,
            }],
        };
        let cache = VerifyCache::default();
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("ana:s3cret")
        );
        assert_eq!(
            identify(&cfg, &cache, Some(&basic)).unwrap().role,
            Role::Admin
        );
        let bad = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("ana:nope")
        );
        assert!(identify(&cfg, &cache, Some(&bad)).is_err());
        assert_eq!(
            identify(&cfg, &cache, Some("Bearer tok-123")).unwrap().name,
            "grafana"
        );
        assert!(identify(&cfg, &cache, Some("Bearer tok-12")).is_err());
        assert!(identify(&cfg, &cache, None).is_err());
        assert!(format!("{cfg:?}").contains("<secret>") && !format!("{cfg:?}").contains("tok-123"));
    }

    #[test]
    fn roles() {
        use axum::http::Method;
        assert_eq!(required_role(&Method::POST, "/api/v1/write"), Role::Admin);
        assert_eq!(required_role(&Method::POST, "/api/v1/query"), Role::Read);
        assert_eq!(
            required_role(&Method::POST, "/api/v1/admin/tsdb/flush"),
            Role::Admin
        );
        assert_eq!(required_role(&Method::GET, "/api/v1/series"), Role::Read);
    }
}
