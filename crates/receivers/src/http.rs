//! HTTP plumbing shared by the HTTP integrations: building a `reqwest` client from an
//! `http_config:` (TLS, redirects, proxy, timeout), attaching its credentials to a request, and
//! classifying responses and transport errors as retryable or not.

use crate::config::HttpClientConfig;
use crate::error::DeliveryError;
use std::time::Duration;

/// Installs the ring TLS provider once (another component may have done it already).
pub(crate) fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn read_secret_file(what: &str, path: &str) -> Result<String, DeliveryError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| DeliveryError::permanent(format!("reading {what} {path:?}: {e}")))
}

/// Builds a client for one integration.
pub(crate) fn build_client(
    cfg: Option<&HttpClientConfig>,
    timeout: Duration,
) -> Result<reqwest::Client, DeliveryError> {
    ensure_crypto_provider();
    let follow = cfg.and_then(|c| c.follow_redirects).unwrap_or(true);
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("vigia/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .redirect(if follow {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        });
    let Some(c) = cfg else {
        return b
            .no_proxy()
            .build()
            .map_err(|e| DeliveryError::permanent(format!("building the HTTP client: {e}")));
    };
    match &c.proxy_url {
        Some(p) => {
            let proxy = reqwest::Proxy::all(p.as_str())
                .map_err(|e| DeliveryError::permanent(format!("proxy_url: {e}")))?;
            b = b.proxy(proxy);
        }
        None => b = b.no_proxy(),
    }
    if let Some(t) = &c.tls_config {
        if let Some(ca) = &t.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| DeliveryError::permanent(format!("reading ca_file {ca:?}: {e}")))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| DeliveryError::permanent(format!("tls_config ca_file: {e}")))?;
            b = b.tls_certs_only(certs);
        }
        if let (Some(cf), Some(kf)) = (&t.cert_file, &t.key_file) {
            let mut pem = std::fs::read(cf)
                .map_err(|e| DeliveryError::permanent(format!("reading cert_file {cf:?}: {e}")))?;
            pem.push(b'\n');
            pem.extend(
                std::fs::read(kf).map_err(|e| {
                    DeliveryError::permanent(format!("reading key_file {kf:?}: {e}"))
                })?,
            );
            let id = reqwest::Identity::from_pem(&pem)
                .map_err(|e| DeliveryError::permanent(format!("tls_config cert/key: {e}")))?;
            b = b.identity(id);
        }
        if t.insecure_skip_verify {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        if t.min_version.as_deref() == Some("TLS13") {
            b = b.tls_version_min(reqwest::tls::Version::TLS_1_3);
        }
    }
    b.build()
        .map_err(|e| DeliveryError::permanent(format!("building the HTTP client: {e}")))
}

/// Adds the credentials of `cfg` (basic auth, authorization, bearer token) to a request.
pub(crate) fn authorize(
    mut rb: reqwest::RequestBuilder,
    cfg: Option<&HttpClientConfig>,
) -> Result<reqwest::RequestBuilder, DeliveryError> {
    let Some(c) = cfg else { return Ok(rb) };
    if let Some(b) = &c.basic_auth {
        let pw = match (&b.password, &b.password_file) {
            (Some(p), _) => Some(p.expose().to_string()),
            (None, Some(f)) => Some(read_secret_file("password_file", f)?),
            (None, None) => None,
        };
        rb = rb.basic_auth(&b.username, pw);
    }
    if let Some(a) = &c.authorization {
        let cred = match (&a.credentials, &a.credentials_file) {
            (Some(p), _) => p.expose().to_string(),
            (None, Some(f)) => read_secret_file("credentials_file", f)?,
            (None, None) => String::new(),
        };
        let kind = a.kind.as_deref().unwrap_or("Bearer");
        rb = rb.header(reqwest::header::AUTHORIZATION, format!("{kind} {cred}"));
    }
    if let Some(t) = &c.bearer_token {
        rb = rb.bearer_auth(t.expose());
    } else if let Some(f) = &c.bearer_token_file {
        rb = rb.bearer_auth(read_secret_file("bearer_token_file", f)?);
    }
    Ok(rb)
}

/// Sends a request; 2xx is success, 5xx/408/429 and transport errors are retryable, other
/// statuses are permanent failures. Returns the response body on success.
pub(crate) async fn send(rb: reqwest::RequestBuilder, what: &str) -> Result<String, DeliveryError> {
    let resp = rb
        .send()
        .await
        .map_err(|e| DeliveryError::retryable(format!("{what}: {e}")))?;
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    if status.is_success() {
        return Ok(body);
    }
    let mut snippet: String = body.chars().take(200).collect();
    if snippet.len() < body.len() {
        snippet.push('…');
    }
    let msg = format!("{what}: unexpected status {status}: {snippet}");
    let code = status.as_u16();
    if status.is_server_error() || code == 408 || code == 429 {
        Err(DeliveryError::retryable(msg))
    } else {
        Err(DeliveryError::permanent(msg))
    }
}

/// Reads a secret given inline or in a file.
pub(crate) fn secret_or_file(
    inline: Option<&crate::config::Secret>,
    file: Option<&String>,
    what: &str,
) -> Result<Option<String>, DeliveryError> {
    match (inline, file) {
        (Some(s), _) => Ok(Some(s.expose().to_string())),
        (None, Some(f)) => read_secret_file(what, f).map(Some),
        (None, None) => Ok(None),
    }
}
