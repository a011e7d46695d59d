//! The settings, as written in YAML, and their checks (Prometheus's and Alertmanager's wording).

use serde::{Deserialize, Serialize};
use vigia_model::Secret;

/// `tls_config:` of an HTTP client or an SMTP connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM CA certificate(s) used instead of the system roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// File holding PEM CA certificate(s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// PEM client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    /// File holding the PEM client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// PEM client key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Secret>,
    /// File holding the PEM client key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// Server name for SNI and verification (SMTP only; HTTP clients reject it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Skip certificate verification.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Lowest TLS version: `TLS12` or `TLS13`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    /// Highest TLS version: `TLS12` or `TLS13`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
}

/// `basic_auth:` of an HTTP client.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name.
    #[serde(default)]
    pub username: String,
    /// Password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// File holding the password, read at every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<String>,
}

/// `authorization:` of an HTTP client (`Authorization: <type> <credentials>`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// Scheme, `Bearer` when empty.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Secret>,
    /// File holding the credentials, read at every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<String>,
}

impl Authorization {
    /// The scheme (`Bearer` unless set).
    pub fn scheme(&self) -> &str {
        self.kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or("Bearer")
    }
}

/// Prometheus's common HTTP client settings (`http_config:` in Alertmanager receivers, inline
/// in scrape configs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpClientConfig {
    /// Basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// OAuth 2 client credentials: accepted for compatibility, not supported (callers warn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<serde_json::Value>,
    /// Bearer token (deprecated form of `authorization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<Secret>,
    /// File holding the bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_file: Option<String>,
    /// HTTP proxy URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    /// Follow redirects (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_redirects: Option<bool>,
    /// Allow HTTP/2 (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_http2: Option<bool>,
}

impl HttpClientConfig {
    /// Every invalid combination, each message prefixed with `at` (where the block is).
    pub fn problems(&self, at: &str) -> Vec<String> {
        let mut errs = Vec::new();
        let n_auth = usize::from(self.basic_auth.is_some())
            + usize::from(self.authorization.is_some())
            + usize::from(self.bearer_token.is_some() || self.bearer_token_file.is_some())
            + usize::from(self.oauth2.is_some());
        if n_auth > 1 {
            errs.push(format!(
                "{at}: at most one of basic_auth, oauth2, bearer_token & bearer_token_file, authorization must be configured"
            ));
        }
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            errs.push(format!(
                "{at}: at most one of bearer_token & bearer_token_file must be configured"
            ));
        }
        if let Some(b) = &self.basic_auth
            && b.password.is_some()
            && b.password_file.is_some()
        {
            errs.push(format!(
                "{at}: at most one of basic_auth password & password_file must be configured"
            ));
        }
        if let Some(a) = &self.authorization {
            if a.credentials.is_some() && a.credentials_file.is_some() {
                errs.push(format!(
                    "{at}: at most one of authorization credentials & credentials_file must be configured"
                ));
            }
            if a.scheme().eq_ignore_ascii_case("basic") {
                errs.push(format!(
                    "{at}: authorization type cannot be set to \"basic\", use \"basic_auth\" instead"
                ));
            }
        }
        if let Some(p) = &self.proxy_url {
            errs.extend(check_http_url(&format!("{at}: proxy_url"), p));
        }
        if let Some(t) = &self.tls_config {
            if t.server_name.is_some() {
                errs.push(format!(
                    "{at}: tls_config server_name is not supported for HTTP clients"
                ));
            }
            errs.extend(t.problems(at));
        }
        errs
    }
}

impl TlsConfig {
    /// Every invalid combination, each message prefixed with `at`.
    pub fn problems(&self, at: &str) -> Vec<String> {
        let mut errs = Vec::new();
        if self.ca.is_some() && self.ca_file.is_some() {
            errs.push(format!(
                "{at}: at most one of tls_config ca & ca_file must be configured"
            ));
        }
        if self.cert.is_some() && self.cert_file.is_some()
            || self.key.is_some() && self.key_file.is_some()
        {
            errs.push(format!(
                "{at}: at most one of tls_config cert & cert_file (key & key_file) must be configured"
            ));
        }
        let has_cert = self.cert.is_some() || self.cert_file.is_some();
        let has_key = self.key.is_some() || self.key_file.is_some();
        if has_cert != has_key {
            errs.push(format!(
                "{at}: tls_config client cert and key must be configured together"
            ));
        }
        for (name, v) in [
            ("min_version", &self.min_version),
            ("max_version", &self.max_version),
        ] {
            if let Some(v) = v
                && v != "TLS12"
                && v != "TLS13"
            {
                errs.push(format!(
                    "{at}: tls_config {name} {v:?} unsupported (TLS12 or TLS13)"
                ));
            }
        }
        errs
    }
}

/// Checks that `u` is an `http` or `https` URL; the problem (if any) is prefixed with `what`.
pub fn check_http_url(what: &str, u: &str) -> Option<String> {
    match reqwest::Url::parse(u) {
        Ok(url) if url.scheme() == "http" || url.scheme() == "https" => None,
        Ok(_) => Some(format!(
            "{what}: unsupported scheme in {u:?} (use http or https)"
        )),
        Err(e) => Some(format!("{what}: invalid URL {u:?}: {e}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn invalid_combinations() {
        let c = HttpClientConfig {
            basic_auth: Some(BasicAuth {
                username: "a".into(),
                password: Some(Secret("p".into())),
                password_file: Some("/f".into()),
            }),
            bearer_token: Some(Secret("t".into())),
            proxy_url: Some("ftp://x".into()),
            tls_config: Some(TlsConfig {
                cert_file: Some("c.pem".into()),
                min_version: Some("TLS11".into()),
                ..TlsConfig::default()
            }),
            ..HttpClientConfig::default()
        };
        let p = c.problems("job \"x\"");
        assert_eq!(p.len(), 5, "{p:#?}");
        assert!(p.iter().all(|m| m.starts_with("job \"x\": ")), "{p:#?}");
        assert!(HttpClientConfig::default().problems("x").is_empty());
        assert_eq!(Authorization::default().scheme(), "Bearer");
    }
}
