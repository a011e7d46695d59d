use super::*;
use crate::global::GlobalConfig;
use crate::render::tests::notification;
use crate::templates::Templates;

#[test]
fn config_takes_smtp_settings_from_global() {
    let c: EmailConfig = serde_saphyr::from_str("to: ops@example.org").unwrap();
    let errs = c.validate("e", &GlobalConfig::default()).join("\n");
    assert!(errs.contains("no global SMTP smarthost set"), "{errs}");
    assert!(errs.contains("no global SMTP from set"), "{errs}");
    let g = GlobalConfig {
        smtp_smarthost: Some("mail:25".into()),
        smtp_from: Some("vigia@example.org".into()),
        ..GlobalConfig::default()
    };
    assert!(c.validate("e", &g).is_empty());
    assert_eq!(
        email_with_globals(&c, &g).from.as_deref(),
        Some("vigia@example.org")
    );
}

#[test]
fn message_has_subject_and_both_parts() {
    let c: EmailConfig =
        serde_saphyr::from_str("to: ops@example.org\nfrom: vigia@example.org").unwrap();
    let m = email_message(&c, &notification("team", 2), &Templates::new()).unwrap();
    let text = String::from_utf8_lossy(&m.formatted()).into_owned();
    assert!(text.contains("Subject: [FIRING:2] HighErrors"), "{text}");
    assert!(
        text.contains("text/plain") && text.contains("text/html"),
        "{text}"
    );
}
