//! The Alertmanager configuration (`alerting:` in vigia's config): global settings, the routing
//! tree with inheritance, receivers, inhibition rules, templates and time intervals; checks
//! that mirror `amtool check-config`, and route lookup in amtool's order.

use crate::error::InvalidInput;
use crate::matcher::{AmMatcher, MatchOp, Matchers, matchers_string, matches_all, sort_matchers};
use crate::timeinterval::NamedTimeInterval;
use serde::{Deserialize, Deserializer};
use std::collections::{BTreeMap, BTreeSet};
use vigia_model::PromDuration;
use vigia_receivers::{GlobalConfig, ReceiverConfig};

/// Default `group_wait` (30 s).
pub const DEFAULT_GROUP_WAIT_MS: i64 = 30_000;
/// Default `group_interval` (5 m).
pub const DEFAULT_GROUP_INTERVAL_MS: i64 = 300_000;
/// Default `repeat_interval` (4 h).
pub const DEFAULT_REPEAT_INTERVAL_MS: i64 = 4 * 3_600_000;

/// `match_re:` map whose values are checked to be valid regular expressions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegexMap(pub BTreeMap<String, String>);

impl<'de> Deserialize<'de> for RegexMap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = BTreeMap::<String, String>::deserialize(d)?;
        for (k, v) in &m {
            AmMatcher::new(k, MatchOp::Regex, v).map_err(serde::de::Error::custom)?;
        }
        Ok(RegexMap(m))
    }
}

fn legacy_matchers(eq: &BTreeMap<String, String>, re: &RegexMap, new: &Matchers) -> Vec<AmMatcher> {
    let mut out = Vec::new();
    for (k, v) in eq {
        if let Ok(m) = AmMatcher::new(k, MatchOp::Equal, v) {
            out.push(m);
        }
    }
    for (k, v) in &re.0 {
        if let Ok(m) = AmMatcher::new(k, MatchOp::Regex, v) {
            out.push(m);
        }
    }
    out.extend(new.0.iter().cloned());
    sort_matchers(&mut out);
    out
}

/// One node of the routing tree as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Receiver (inherited when absent).
    #[serde(default)]
    pub receiver: Option<String>,
    /// Labels to group by; `...` groups by all labels.
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// Keep matching siblings after this route matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
    /// Deprecated equality matchers.
    #[serde(default, rename = "match")]
    pub match_eq: BTreeMap<String, String>,
    /// Deprecated regex matchers.
    #[serde(default)]
    pub match_re: RegexMap,
    /// Matchers in `a="b"` syntax.
    #[serde(default)]
    pub matchers: Matchers,
    /// Wait before the first notification of a new group.
    #[serde(default)]
    pub group_wait: Option<PromDuration>,
    /// Wait between notifications about changes of a group.
    #[serde(default)]
    pub group_interval: Option<PromDuration>,
    /// Wait before repeating an unchanged notification.
    #[serde(default)]
    pub repeat_interval: Option<PromDuration>,
    /// Time intervals during which this route is muted.
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    /// Time intervals outside which this route is muted.
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
    /// Child routes.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
}

/// One inhibition rule as written.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    /// Deprecated source equality matchers.
    #[serde(default)]
    pub source_match: BTreeMap<String, String>,
    /// Deprecated source regex matchers.
    #[serde(default)]
    pub source_match_re: RegexMap,
    /// Source matchers.
    #[serde(default)]
    pub source_matchers: Matchers,
    /// Deprecated target equality matchers.
    #[serde(default)]
    pub target_match: BTreeMap<String, String>,
    /// Deprecated target regex matchers.
    #[serde(default)]
    pub target_match_re: RegexMap,
    /// Target matchers.
    #[serde(default)]
    pub target_matchers: Matchers,
    /// Labels that must be equal in source and target.
    #[serde(default)]
    pub equal: Vec<String>,
}

/// A compiled inhibition rule.
#[derive(Debug, Clone)]
pub struct InhibitRule {
    /// What an inhibiting (source) alert matches.
    pub source: Vec<AmMatcher>,
    /// What an inhibited (target) alert matches.
    pub target: Vec<AmMatcher>,
    /// Labels whose values must be equal.
    pub equal: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAmConfig {
    #[serde(default)]
    global: Option<GlobalConfig>,
    #[serde(default)]
    route: Option<RouteConfig>,
    #[serde(default)]
    receivers: Vec<ReceiverConfig>,
    #[serde(default)]
    inhibit_rules: Vec<InhibitRuleConfig>,
    #[serde(default)]
    templates: Vec<String>,
    #[serde(default)]
    time_intervals: Vec<NamedTimeInterval>,
    #[serde(default)]
    mute_time_intervals: Vec<NamedTimeInterval>,
}

/// A routing-tree node with inherited settings resolved.
#[derive(Debug, Clone)]
pub struct Route {
    /// Receiver name.
    pub receiver: String,
    /// Group-by label names (ignored when `group_by_all`).
    pub group_by: BTreeSet<String>,
    /// `group_by: ['...']`.
    pub group_by_all: bool,
    /// `group_wait` in ms.
    pub group_wait_ms: i64,
    /// `group_interval` in ms.
    pub group_interval_ms: i64,
    /// `repeat_interval` in ms.
    pub repeat_interval_ms: i64,
    /// This node's own matchers (sorted like Alertmanager).
    pub matchers: Vec<AmMatcher>,
    /// `continue`.
    pub continue_matching: bool,
    /// Mute time interval names (not inherited).
    pub mute_time_intervals: Vec<String>,
    /// Active time interval names (not inherited).
    pub active_time_intervals: Vec<String>,
    /// Alertmanager's route key: the matchers of the path from the root, `/`-separated.
    pub key: String,
    /// Children.
    pub routes: Vec<Route>,
}

impl Route {
    fn build(cr: &RouteConfig, parent: Option<&Route>) -> Route {
        let mut r = match parent {
            Some(p) => Route {
                routes: Vec::new(),
                ..p.clone()
            },
            None => Route {
                receiver: String::new(),
                group_by: BTreeSet::new(),
                group_by_all: false,
                group_wait_ms: DEFAULT_GROUP_WAIT_MS,
                group_interval_ms: DEFAULT_GROUP_INTERVAL_MS,
                repeat_interval_ms: DEFAULT_REPEAT_INTERVAL_MS,
                matchers: Vec::new(),
                continue_matching: false,
                mute_time_intervals: Vec::new(),
                active_time_intervals: Vec::new(),
                key: String::new(),
                routes: Vec::new(),
            },
        };
        if let Some(rcv) = cr.receiver.as_ref().filter(|s| !s.is_empty()) {
            r.receiver = rcv.clone();
        }
        if let Some(gb) = &cr.group_by {
            r.group_by_all = gb.iter().any(|g| g == "...");
            r.group_by = gb.iter().filter(|g| *g != "...").cloned().collect();
        }
        if let Some(d) = cr.group_wait {
            r.group_wait_ms = d.as_millis();
        }
        if let Some(d) = cr.group_interval {
            r.group_interval_ms = d.as_millis();
        }
        if let Some(d) = cr.repeat_interval {
            r.repeat_interval_ms = d.as_millis();
        }
        r.matchers = legacy_matchers(&cr.match_eq, &cr.match_re, &cr.matchers);
        r.continue_matching = cr.continue_matching;
        r.mute_time_intervals = cr.mute_time_intervals.clone();
        r.active_time_intervals = cr.active_time_intervals.clone();
        let own = matchers_string(&r.matchers);
        r.key = match parent {
            Some(p) => format!("{}/{}", p.key, own),
            None => own,
        };
        let children: Vec<Route> = cr
            .routes
            .iter()
            .map(|c| Route::build(c, Some(&r)))
            .collect();
        r.routes = children;
        r
    }

    fn collect<'a>(&'a self, labels: &BTreeMap<String, String>, out: &mut Vec<&'a Route>) -> bool {
        if !matches_all(&self.matchers, labels) {
            return false;
        }
        let before = out.len();
        for c in &self.routes {
            let matched = c.collect(labels, out);
            if matched && !c.continue_matching {
                break;
            }
        }
        if out.len() == before {
            out.push(self);
        }
        true
    }

    /// The label set an alert is grouped by on this route.
    pub fn group_labels(&self, labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        if self.group_by_all {
            return labels.clone();
        }
        labels
            .iter()
            .filter(|(k, _)| self.group_by.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// A route an alert matched, with its resolved settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct RouteMatch {
    /// Receiver name.
    pub receiver: String,
    /// Route key (Alertmanager's `Route.Key()`).
    pub route_key: String,
    /// Group-by labels (sorted); empty with `group_by_all`.
    pub group_by: Vec<String>,
    /// `group_by: ['...']`.
    pub group_by_all: bool,
    /// `group_wait` in ms.
    pub group_wait_ms: i64,
    /// `group_interval` in ms.
    pub group_interval_ms: i64,
    /// `repeat_interval` in ms.
    pub repeat_interval_ms: i64,
    /// Mute time interval names.
    pub mute_time_intervals: Vec<String>,
    /// Active time interval names.
    pub active_time_intervals: Vec<String>,
}

/// An Alertmanager configuration. Deserialize it (e.g. with `serde_saphyr`, which reports
/// line and column) and call [`AmConfig::validate`], or use [`AmConfig::parse`] for both.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawAmConfig")]
pub struct AmConfig {
    /// `global:`.
    pub global: GlobalConfig,
    /// `route:` as written (`None` is a validation error).
    pub route_config: Option<RouteConfig>,
    /// The routing tree with inheritance resolved.
    pub route: Route,
    /// `receivers:`.
    pub receivers: Vec<ReceiverConfig>,
    /// `inhibit_rules:` as written.
    pub inhibit_rule_configs: Vec<InhibitRuleConfig>,
    /// Compiled inhibition rules.
    pub inhibit_rules: Vec<InhibitRule>,
    /// `templates:` globs, kept for the receivers.
    pub templates: Vec<String>,
    /// `time_intervals:` followed by the deprecated `mute_time_intervals:`.
    pub time_intervals: Vec<NamedTimeInterval>,
}

impl TryFrom<RawAmConfig> for AmConfig {
    type Error = InvalidInput;
    fn try_from(r: RawAmConfig) -> Result<Self, InvalidInput> {
        let route = Route::build(&r.route.clone().unwrap_or_default(), None);
        let inhibit_rules = r
            .inhibit_rules
            .iter()
            .map(|ir| InhibitRule {
                source: legacy_matchers(&ir.source_match, &ir.source_match_re, &ir.source_matchers),
                target: legacy_matchers(&ir.target_match, &ir.target_match_re, &ir.target_matchers),
                equal: ir.equal.clone(),
            })
            .collect();
        let mut time_intervals = r.time_intervals;
        time_intervals.extend(r.mute_time_intervals);
        Ok(AmConfig {
            global: r.global.unwrap_or_default(),
            route_config: r.route,
            route,
            receivers: r.receivers,
            inhibit_rule_configs: r.inhibit_rules,
            inhibit_rules,
            templates: r.templates,
            time_intervals,
        })
    }
}

impl AmConfig {
    /// Parses YAML text and validates it; errors carry line and column where the YAML parser
    /// knows them, and every validation error otherwise (one per line).
    pub fn parse(text: &str) -> Result<AmConfig, InvalidInput> {
        let cfg: AmConfig =
            serde_saphyr::from_str(text).map_err(|e| InvalidInput(e.to_string()))?;
        let errs = cfg.validate();
        if errs.is_empty() {
            Ok(cfg)
        } else {
            Err(InvalidInput(errs.join("\n")))
        }
    }

    /// Checks Alertmanager's cross-field rules; empty when the configuration is usable.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = self.global.validate();
        let mut names = BTreeSet::new();
        for r in &self.receivers {
            errs.extend(r.validate(&self.global));
            if r.name.is_empty() {
                errs.push("missing name in receiver".to_string());
            } else if !names.insert(r.name.as_str()) {
                errs.push(format!(
                    "notification config name {:?} is not unique",
                    r.name
                ));
            }
        }
        let mut tis = BTreeSet::new();
        for t in &self.time_intervals {
            if t.name.is_empty() {
                errs.push("missing name in time interval".to_string());
            } else if !tis.insert(t.name.as_str()) {
                errs.push(format!("time interval {:?} is not unique", t.name));
            }
        }
        let Some(root) = &self.route_config else {
            errs.push("no routes provided".to_string());
            return errs;
        };
        if root.receiver.as_deref().unwrap_or("").is_empty() {
            errs.push("root route must specify a default receiver".to_string());
        }
        if !root.match_eq.is_empty() || !root.match_re.0.is_empty() || !root.matchers.0.is_empty() {
            errs.push("root route must not have any matchers".to_string());
        }
        if root.continue_matching {
            errs.push("cannot have continue in root route".to_string());
        }
        if !root.mute_time_intervals.is_empty() {
            errs.push("root route must not have any mute time intervals".to_string());
        }
        if !root.active_time_intervals.is_empty() {
            errs.push("root route must not have any active time intervals".to_string());
        }
        fn walk(
            r: &RouteConfig,
            names: &BTreeSet<&str>,
            tis: &BTreeSet<&str>,
            errs: &mut Vec<String>,
        ) {
            if let Some(rc) = r.receiver.as_deref().filter(|s| !s.is_empty())
                && !names.contains(rc)
            {
                errs.push(format!("undefined receiver {rc:?} used in route"));
            }
            for t in r.mute_time_intervals.iter().chain(&r.active_time_intervals) {
                if !tis.contains(t.as_str()) {
                    errs.push(format!("undefined time interval {t:?} used in route"));
                }
            }
            if let Some(gb) = &r.group_by {
                let mut seen = BTreeSet::new();
                for g in gb {
                    if g == "..." {
                        if gb.len() > 1 {
                            errs.push(
                                "cannot have wildcard group_by (`...`) and other other labels at the same time"
                                    .to_string(),
                            );
                        }
                    } else if !vigia_model::is_valid_label_name(g) {
                        errs.push(format!("invalid label name {g:?} in group_by list"));
                    } else if !seen.insert(g) {
                        errs.push(format!("duplicated label {g:?} in group_by"));
                    }
                }
            }
            for k in r.match_eq.keys().chain(r.match_re.0.keys()) {
                if !vigia_model::is_valid_label_name(k) {
                    errs.push(format!("invalid label name {k:?}"));
                }
            }
            if r.group_interval.is_some_and(|d| d.as_millis() == 0) {
                errs.push("group_interval cannot be zero".to_string());
            }
            if r.repeat_interval.is_some_and(|d| d.as_millis() == 0) {
                errs.push("repeat_interval cannot be zero".to_string());
            }
            for c in &r.routes {
                walk(c, names, tis, errs);
            }
        }
        walk(root, &names, &tis, &mut errs);
        for ir in &self.inhibit_rule_configs {
            for k in ir
                .source_match
                .keys()
                .chain(ir.source_match_re.0.keys())
                .chain(ir.target_match.keys())
                .chain(ir.target_match_re.0.keys())
                .chain(&ir.equal)
            {
                if !vigia_model::is_valid_label_name(k) {
                    errs.push(format!("invalid label name {k:?}"));
                }
            }
        }
        errs
    }

    /// The routes an alert with `labels` goes to, in Alertmanager's (and `amtool config routes
    /// test`'s) order.
    pub fn routes_for(&self, labels: &BTreeMap<String, String>) -> Vec<RouteMatch> {
        let mut out = Vec::new();
        self.route.collect(labels, &mut out);
        out.into_iter()
            .map(|r| RouteMatch {
                receiver: r.receiver.clone(),
                route_key: r.key.clone(),
                group_by: r.group_by.iter().cloned().collect(),
                group_by_all: r.group_by_all,
                group_wait_ms: r.group_wait_ms,
                group_interval_ms: r.group_interval_ms,
                repeat_interval_ms: r.repeat_interval_ms,
                mute_time_intervals: r.mute_time_intervals.clone(),
                active_time_intervals: r.active_time_intervals.clone(),
            })
            .collect()
    }

    /// Every (route key, receiver) pair of the tree.
    pub fn route_keys(&self) -> BTreeSet<(String, String)> {
        fn walk(r: &Route, out: &mut BTreeSet<(String, String)>) {
            out.insert((r.key.clone(), r.receiver.clone()));
            for c in &r.routes {
                walk(c, out);
            }
        }
        let mut out = BTreeSet::new();
        walk(&self.route, &mut out);
        out
    }

    /// The named time interval, if defined.
    pub fn time_interval(&self, name: &str) -> Option<&NamedTimeInterval> {
        self.time_intervals.iter().find(|t| t.name == name)
    }

    /// True when a receiver of that name is defined.
    pub fn has_receiver(&self, name: &str) -> bool {
        self.receivers.iter().any(|r| r.name == name)
    }

    /// `global.resolve_timeout` in ms.
    pub fn resolve_timeout_ms(&self) -> i64 {
        self.global.resolve_timeout_ms()
    }
}

impl RouteMatch {
    /// The label set an alert is grouped by on this route.
    pub fn group_labels(&self, labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        if self.group_by_all {
            return labels.clone();
        }
        labels
            .iter()
            .filter(|(k, _)| self.group_by.binary_search(k).is_ok())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}
