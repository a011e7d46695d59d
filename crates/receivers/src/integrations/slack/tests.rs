use super::*;
use crate::global::GlobalConfig;
use crate::render::tests::notification;
use crate::templates::Templates;

#[test]
fn config_needs_a_url_and_complete_fields() {
    let c: SlackConfig = serde_saphyr::from_str(
        "channel: '#a'\nfields: [{title: '', value: v}]\nactions: [{type: button, text: ''}]\n",
    )
    .unwrap();
    let errs = c.validate("s", &GlobalConfig::default()).join("\n");
    for needle in [
        "no global Slack API URL",
        "missing title in Slack field",
        "missing text in Slack action",
        "missing name or url",
    ] {
        assert!(errs.contains(needle), "{needle}: {errs}");
    }
}

#[test]
fn payload_has_one_coloured_attachment() {
    let c: SlackConfig =
        serde_saphyr::from_str("channel: '#alerts'\ntitle: '{{ .CommonLabels.alertname }}'")
            .unwrap();
    let v = slack_payload(&c, &notification("team", 1), &Templates::new()).unwrap();
    assert_eq!(v["channel"], "#alerts");
    assert_eq!(v["attachments"][0]["color"], "danger");
    assert_eq!(v["attachments"][0]["title"], "HighErrors");
}
