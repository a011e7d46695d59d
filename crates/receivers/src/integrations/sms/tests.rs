use super::*;

#[test]
fn presets_parse() {
    let c: SmsConfig = serde_saphyr::from_str(
        "receiver: oncall\npreset: twilio\nurl: https://api.twilio.com\naccount_sid: AC1\nfrom: '+1'\nto: ['+2']\n",
    )
    .unwrap();
    assert_eq!(c.preset, SmsPreset::Twilio);
    assert!(
        serde_saphyr::from_str::<SmsConfig>("receiver: x\npreset: carrier-pigeon\nurl: http://x\n")
            .is_err()
    );
}
