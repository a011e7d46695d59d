use super::*;
use crate::global::GlobalConfig;
use crate::render::tests::notification;
use crate::templates::Templates;

#[test]
fn config_needs_a_key_and_valid_responders() {
    let c: OpsGenieConfig = serde_saphyr::from_str("responders: [{type: robot}]").unwrap();
    let errs = c.validate("o", &GlobalConfig::default()).join("\n");
    assert!(errs.contains("no global OpsGenie API Key"), "{errs}");
    assert!(
        errs.contains("at least one of id, username or name"),
        "{errs}"
    );
    assert!(errs.contains("does not match valid options"), "{errs}");
}

#[test]
fn create_request_goes_to_the_alerts_endpoint_with_an_alias() {
    let c: OpsGenieConfig = serde_saphyr::from_str("api_key: k").unwrap();
    let reqs = opsgenie_requests(&c, &notification("team", 1), &Templates::new()).unwrap();
    let (url, body) = &reqs[0];
    assert!(url.starts_with(DEFAULT_OPSGENIE_API_URL), "{url}");
    assert!(url.ends_with("v2/alerts"), "{url}");
    assert!(
        body["alias"].as_str().is_some_and(|a| !a.is_empty()),
        "{body}"
    );
}
