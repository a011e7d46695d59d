//! The request-specific context of a page: language, time window, variable values and
//! navigation, built from the query string and `Accept-Language`.

use super::NavItem;
use crate::dashboard::{Dashboard, TimeRange};
use crate::format::format_duration;
use crate::i18n::Lang;
use std::collections::BTreeMap;

/// Request-specific context of a page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageContext {
    /// Language.
    pub lang: Lang,
    /// The window shown.
    pub range: TimeRange,
    /// The `range` parameter as chosen (`24h`).
    pub range_param: String,
    /// Selected variable values (see `Dashboard::resolve_variables`).
    pub variables: BTreeMap<String, String>,
    /// Options of `label_values` variables, looked up by the server.
    pub variable_options: BTreeMap<String, Vec<String>>,
    /// All dashboards, for the navigation.
    pub nav: Vec<NavItem>,
    /// Render time (unix seconds).
    pub now: f64,
}

impl PageContext {
    /// Builds the context of a request from its query parameters (`range` — a duration, at
    /// most 90 days, else the dashboard's default; `lang`; `var-<name>`), its
    /// `Accept-Language` header (used when `lang` is absent or unknown), the time, the
    /// navigation, and the looked-up options of `label_values` variables (see
    /// [`Dashboard::label_value_lookups`]). Variable values that are not options are replaced
    /// by the default, so they never reach PromQL. `dashboard` is `None` for the index page.
    pub fn from_request(
        dashboard: Option<&Dashboard>,
        params: &BTreeMap<String, String>,
        accept_language: Option<&str>,
        now: f64,
        nav: Vec<NavItem>,
        variable_options: BTreeMap<String, Vec<String>>,
    ) -> PageContext {
        let lang = params
            .get("lang")
            .and_then(|l| Lang::parse(l))
            .or_else(|| accept_language.map(Lang::from_accept_language))
            .unwrap_or_default();
        let default = dashboard.map(|d| d.time_range).unwrap_or(6.0 * 3600.0);
        let (range_param, dur) = match params.get("range").and_then(|r| {
            crate::format::parse_duration(r)
                .filter(|d| *d >= 60.0 && *d <= 90.0 * 86400.0)
                .map(|d| (r.trim().to_string(), d))
        }) {
            Some(x) => x,
            None => (format_duration(default), default),
        };
        let variables = match dashboard {
            Some(d) => {
                let selected: BTreeMap<String, String> = params
                    .iter()
                    .filter_map(|(k, v)| Some((k.strip_prefix("var-")?.to_string(), v.clone())))
                    .collect();
                d.resolve_variables(&selected, &variable_options)
            }
            None => BTreeMap::new(),
        };
        PageContext {
            lang,
            range: TimeRange::ending_at(now, dur),
            range_param,
            variables,
            variable_options,
            nav,
            now,
        }
    }
}
