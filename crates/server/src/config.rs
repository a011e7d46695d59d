//! The `web:` section of vigia's configuration: TLS, users and tokens, body size and the external
//! URL, checked.

use crate::auth::{AuthConfig, Token, User};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use vigia_model::ByteSize;

/// `web.tls_server_config:` as in Prometheus's web configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebTlsConfig {
    /// PEM certificate chain.
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
}

/// `web:` — HTTP server, TLS and authentication.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// TLS; plain HTTP when absent.
    pub tls_server_config: Option<WebTlsConfig>,
    /// Basic-auth users with bcrypt hashes and roles.
    pub users: Vec<User>,
    /// Bearer tokens with roles.
    pub tokens: Vec<Token>,
    /// Largest request body (default 32 MiB).
    pub max_body_size: Option<ByteSize>,
    /// The URL users reach vigia at (links in alerts and notifications: `generatorURL`,
    /// `externalURL`); default `http://<listen address>`.
    pub external_url: Option<String>,
}

/// The default largest request body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 << 20;

impl WebConfig {
    /// Every problem, each prefixed with `web.<field>`; TLS files must be readable now.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if let Some(u) = &self.external_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            errs.push(format!(
                "web.external_url: {u:?} must start with http:// or https://"
            ));
        }
        for (i, u) in self.users.iter().enumerate() {
            if !["$2a$", "$2b$", "$2y$"]
                .iter()
                .any(|p| u.password_hash.starts_with(p))
            {
                errs.push(format!(
                    "web.users[{i}] ({}): password_hash must be a bcrypt hash ($2a$, $2b$ or $2y$)",
                    u.username
                ));
            }
        }
        for (i, t) in self.tokens.iter().enumerate() {
            if t.token.len() < 16 {
                errs.push(format!(
                    "web.tokens[{i}] ({}): token must be at least 16 characters",
                    t.name
                ));
            }
        }
        if let Some(tls) = &self.tls_server_config {
            for (what, p) in [("cert_file", &tls.cert_file), ("key_file", &tls.key_file)] {
                if !p.is_file() {
                    errs.push(format!(
                        "web.tls_server_config.{what}: {} is not a readable file",
                        p.display()
                    ));
                }
            }
        }
        errs
    }

    /// Who may call what.
    pub fn auth(&self) -> AuthConfig {
        AuthConfig {
            users: self.users.clone(),
            tokens: self.tokens.clone(),
        }
    }

    /// The largest accepted request body in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_size
            .map_or(DEFAULT_MAX_BODY_BYTES, ByteSize::bytes)
    }
}
