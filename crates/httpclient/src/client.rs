//! Building a client from the settings, and adding credentials to a request.

use crate::config::HttpClientConfig;
use crate::error::HttpClientError;
use std::time::Duration;
use vigia_model::Secret;

/// Installs the ring TLS provider once (another component may have done it already).
pub fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Builds a client: `vigia/<version>` user agent, the redirect policy (at most 10), proxy
/// (none unless `proxy_url`), TLS roots, client certificate and minimum version, HTTP/2 unless
/// disabled, and `timeout` per request when given.
pub fn build_client(
    cfg: &HttpClientConfig,
    timeout: Option<Duration>,
) -> Result<reqwest::Client, HttpClientError> {
    ensure_crypto_provider();
    let follow = cfg.follow_redirects.unwrap_or(true);
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("vigia/", env!("CARGO_PKG_VERSION")))
        .redirect(if follow {
            reqwest::redirect::Policy::limited(10)
        } else {
            reqwest::redirect::Policy::none()
        });
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    if cfg.enable_http2 == Some(false) {
        b = b.http1_only();
    }
    b = match &cfg.proxy_url {
        Some(p) => {
            b.proxy(
                reqwest::Proxy::all(p.as_str()).map_err(|e| HttpClientError::Invalid {
                    what: "proxy_url",
                    message: e.to_string(),
                })?,
            )
        }
        None => b.no_proxy(),
    };
    if let Some(t) = &cfg.tls_config {
        if let Some(pem) = pem(t.ca.as_deref(), t.ca_file.as_deref(), "tls_config ca_file")? {
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                HttpClientError::Invalid {
                    what: "tls_config ca",
                    message: e.to_string(),
                }
            })?;
            b = b.tls_certs_only(certs);
        }
        let cert = pem(
            t.cert.as_deref(),
            t.cert_file.as_deref(),
            "tls_config cert_file",
        )?;
        let key = pem(
            t.key.as_ref().map(Secret::expose),
            t.key_file.as_deref(),
            "tls_config key_file",
        )?;
        if let (Some(mut cert), Some(key)) = (cert, key) {
            cert.push(b'\n');
            cert.extend_from_slice(&key);
            let id = reqwest::Identity::from_pem(&cert).map_err(|e| HttpClientError::Invalid {
                what: "tls_config cert/key",
                message: e.to_string(),
            })?;
            b = b.identity(id);
        }
        if t.insecure_skip_verify {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        if t.min_version.as_deref() == Some("TLS13") {
            b = b.tls_version_min(reqwest::tls::Version::TLS_1_3);
        }
        if t.max_version.as_deref() == Some("TLS12") {
            b = b.tls_version_max(reqwest::tls::Version::TLS_1_2);
        }
    }
    b.build().map_err(HttpClientError::Build)
}

/// PEM given inline or in a file.
fn pem(
    inline: Option<&str>,
    file: Option<&str>,
    what: &'static str,
) -> Result<Option<Vec<u8>>, HttpClientError> {
    match (inline, file) {
        (Some(s), _) => Ok(Some(s.as_bytes().to_vec())),
        (None, Some(f)) => std::fs::read(f)
            .map(Some)
            .map_err(|source| HttpClientError::ReadFile {
                what,
                path: f.to_string(),
                source,
            }),
        (None, None) => Ok(None),
    }
}

/// A secret given inline or in a file (trimmed), read now.
pub fn secret_or_file(
    inline: Option<&Secret>,
    file: Option<&str>,
    what: &'static str,
) -> Result<Option<String>, HttpClientError> {
    match (inline, file) {
        (Some(s), _) => Ok(Some(s.expose().to_string())),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map(|s| Some(s.trim().to_string()))
            .map_err(|source| HttpClientError::ReadFile {
                what,
                path: f.to_string(),
                source,
            }),
        (None, None) => Ok(None),
    }
}

/// Adds the credentials of `cfg` (basic auth, authorization, bearer token) to a request,
/// reading `*_file` secrets now (they are small files; rotation takes effect at once).
pub fn authorize(
    mut rb: reqwest::RequestBuilder,
    cfg: &HttpClientConfig,
) -> Result<reqwest::RequestBuilder, HttpClientError> {
    if let Some(b) = &cfg.basic_auth {
        let pw = secret_or_file(
            b.password.as_ref(),
            b.password_file.as_deref(),
            "basic_auth password_file",
        )?;
        rb = rb.basic_auth(&b.username, pw);
    }
    if let Some(a) = &cfg.authorization {
        let cred = secret_or_file(
            a.credentials.as_ref(),
            a.credentials_file.as_deref(),
            "authorization credentials_file",
        )?
        .unwrap_or_default();
        rb = rb.header(
            reqwest::header::AUTHORIZATION,
            format!("{} {cred}", a.scheme()),
        );
    }
    if let Some(t) = secret_or_file(
        cfg.bearer_token.as_ref(),
        cfg.bearer_token_file.as_deref(),
        "bearer_token_file",
    )? {
        rb = rb.bearer_auth(t);
    }
    Ok(rb)
}

/// Reads a response body, refusing more than `limit` bytes (the sender decides the size, so
/// every body vigia reads from the network goes through here or an equivalent bound).
pub async fn read_body(
    mut resp: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, HttpClientError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(HttpClientError::Read)? {
        if body.len() + chunk.len() > limit {
            return Err(HttpClientError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
