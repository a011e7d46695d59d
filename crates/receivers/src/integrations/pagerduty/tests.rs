use super::*;
use crate::global::GlobalConfig;
use crate::render::tests::notification;
use crate::templates::Templates;

#[test]
fn config_needs_a_key_and_a_known_severity() {
    let c: PagerdutyConfig = serde_saphyr::from_str("severity: huge").unwrap();
    let errs = c.validate("p", &GlobalConfig::default()).join("\n");
    assert!(errs.contains("missing service or routing key"), "{errs}");
    assert!(errs.contains("severity \"huge\""), "{errs}");
    let ok: PagerdutyConfig = serde_saphyr::from_str("routing_key: abc").unwrap();
    assert!(ok.validate("p", &GlobalConfig::default()).is_empty());
}

#[test]
fn trigger_event_carries_a_stable_dedup_key() {
    let c: PagerdutyConfig = serde_saphyr::from_str("routing_key: abc").unwrap();
    let n = notification("team", 1);
    let a = pagerduty_events(&c, &n, &Templates::new()).unwrap();
    let b = pagerduty_events(&c, &n, &Templates::new()).unwrap();
    assert_eq!(a[0]["event_action"], "trigger");
    assert_eq!(a[0]["routing_key"], "abc");
    assert_eq!(a[0]["dedup_key"], b[0]["dedup_key"]);
}
