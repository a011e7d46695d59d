//! HTTP plumbing shared by the HTTP integrations: building a `reqwest` client from an
//! `http_config:` (TLS, redirects, proxy, timeout), attaching its credentials to a request, and
//! classifying responses and transport errors as retryable or not.

use crate::error::DeliveryError;
use std::time::Duration;
use vigia_httpclient::HttpClientConfig;

pub(crate) use vigia_httpclient::ensure_crypto_provider;

fn permanent(e: vigia_httpclient::HttpClientError) -> DeliveryError {
    DeliveryError::permanent(e.to_string())
}

/// Builds a client for one integration.
pub(crate) fn build_client(
    cfg: Option<&HttpClientConfig>,
    timeout: Duration,
) -> Result<reqwest::Client, DeliveryError> {
    vigia_httpclient::build_client(cfg.unwrap_or(&HttpClientConfig::default()), Some(timeout))
        .map_err(permanent)
}

/// Adds the credentials of `cfg` (basic auth, authorization, bearer token) to a request.
pub(crate) fn authorize(
    rb: reqwest::RequestBuilder,
    cfg: Option<&HttpClientConfig>,
) -> Result<reqwest::RequestBuilder, DeliveryError> {
    match cfg {
        Some(c) => vigia_httpclient::authorize(rb, c).map_err(permanent),
        None => Ok(rb),
    }
}

/// Sends a request; 2xx is success, 5xx/408/429 and transport errors are retryable, other
/// statuses are permanent failures. Returns the response body on success.
pub(crate) async fn send(rb: reqwest::RequestBuilder, what: &str) -> Result<String, DeliveryError> {
    let resp = rb
        .send()
        .await
        .map_err(|e| DeliveryError::retryable(format!("{what}: {e}")))?;
    let status = resp.status();
    // Provider answers are short; only a snippet of an error is kept.
    let body = vigia_httpclient::read_body(resp, 64 << 10)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
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
    inline: Option<&vigia_httpclient::Secret>,
    file: Option<&String>,
    what: &'static str,
) -> Result<Option<String>, DeliveryError> {
    vigia_httpclient::secret_or_file(inline, file.map(String::as_str), what).map_err(permanent)
}
