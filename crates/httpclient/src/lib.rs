//! vigia-httpclient: outgoing HTTP as Prometheus's common configuration describes it.
//!
//! [`HttpClientConfig`] is the `http_config:` block of Alertmanager receivers and the inline
//! client settings of Prometheus scrape configs (`basic_auth`, `authorization`, `bearer_token`,
//! `tls_config`, `proxy_url`, `follow_redirects`, `enable_http2`). [`HttpClientConfig::problems`]
//! reports every invalid combination with Prometheus's wording; [`build_client`] turns it into a
//! `reqwest` client (rustls with the ring provider); [`authorize`] adds its credentials to a
//! request, reading `*_file` secrets at request time so rotated files take effect.
//! Scraping (`vigia-ingest`) and delivery (`vigia-receivers`) both use it; neither knows the
//! other.
#![deny(missing_docs)]

mod client;
mod config;
mod error;

pub use client::{authorize, build_client, ensure_crypto_provider, read_body, secret_or_file};
pub use config::{Authorization, BasicAuth, HttpClientConfig, TlsConfig, check_http_url};
pub use error::HttpClientError;
pub use vigia_model::Secret;
