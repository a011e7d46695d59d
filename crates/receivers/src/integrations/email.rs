//! The email integration: SMTP with plain, STARTTLS or TLS connections (lettre).

mod config;
mod message;

pub use config::EmailConfig;
pub use message::email_message;
pub(crate) use message::email_with_globals;

use crate::error::DeliveryError;
use crate::http;
use crate::message::Notification;
use crate::templates::Templates;
use std::time::Duration;

pub(crate) fn smtp_error(e: impl std::fmt::Display, retryable: bool) -> DeliveryError {
    if retryable {
        DeliveryError::retryable(format!("email: {e}"))
    } else {
        DeliveryError::permanent(format!("email: {e}"))
    }
}

pub(super) async fn send(
    c: &EmailConfig,
    n: &Notification,
    t: &Templates,
    timeout: Duration,
) -> Result<(), DeliveryError> {
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::transport::smtp::extension::ClientId;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    http::ensure_crypto_provider();
    let msg = email_message(c, n, t)?;
    let smarthost = c.smarthost.clone().unwrap_or_default();
    let Some((host, port)) = smarthost.rsplit_once(':') else {
        return Err(smtp_error(
            format!("smarthost {smarthost:?} has no port"),
            false,
        ));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port
        .parse()
        .map_err(|_| smtp_error(format!("smarthost {smarthost:?}: bad port"), false))?;
    let tls_cfg = c.tls_config.clone().unwrap_or_default();
    let server_name = tls_cfg
        .server_name
        .clone()
        .unwrap_or_else(|| host.to_string());
    let mut tb = TlsParameters::builder(server_name)
        .dangerous_accept_invalid_certs(tls_cfg.insecure_skip_verify);
    if let Some(ca) = &tls_cfg.ca_file {
        let pem =
            std::fs::read(ca).map_err(|e| smtp_error(format!("ca_file {ca:?}: {e}"), false))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| smtp_error(e, false))?;
        tb = tb.add_root_certificate(cert);
    }
    let params = tb.build_rustls().map_err(|e| smtp_error(e, false))?;
    // Port 465 is SMTPS (implicit TLS); otherwise STARTTLS is required when require_tls is set
    // and used opportunistically when not.
    let tls = if port == 465 {
        Tls::Wrapper(params)
    } else if c.require_tls.unwrap_or(true) {
        Tls::Required(params)
    } else {
        Tls::Opportunistic(params)
    };
    let mut tb = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(timeout))
        .hello_name(ClientId::Domain(
            c.hello.clone().unwrap_or_else(|| "localhost".into()),
        ));
    if let Some(user) = c.auth_username.as_ref().filter(|u| !u.is_empty()) {
        let pw = http::secret_or_file(
            c.auth_password.as_ref(),
            c.auth_password_file.as_ref(),
            "auth_password_file",
        )?
        .unwrap_or_default();
        tb = tb.credentials(Credentials::new(user.clone(), pw));
    }
    let transport = tb.build();
    match transport.send(msg).await {
        Ok(_) => Ok(()),
        Err(e) => {
            let permanent = e.is_permanent();
            Err(smtp_error(e, !permanent))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
