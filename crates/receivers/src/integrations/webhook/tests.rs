use super::*;
use crate::global::GlobalConfig;
use crate::render::tests::notification;

#[test]
fn config_checks_url() {
    let ok: WebhookConfig = serde_saphyr::from_str("url: http://127.0.0.1:1/hook").unwrap();
    assert!(ok.validate("w", &GlobalConfig::default()).is_empty());
    let bad: WebhookConfig = serde_saphyr::from_str("url: ftp://x\n").unwrap();
    assert_eq!(bad.validate("w", &GlobalConfig::default()).len(), 1);
    let none: WebhookConfig = serde_saphyr::from_str("max_alerts: 2").unwrap();
    assert!(none.validate("w", &GlobalConfig::default())[0].contains("missing URL"));
}

#[test]
fn payload_is_version_4_and_truncates() {
    let v = webhook_payload(&notification("team", 3), 2).unwrap();
    assert_eq!(v["version"], "4");
    assert_eq!(v["alerts"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["truncatedAlerts"], 1);
    assert_eq!(v["receiver"], "team");
}
