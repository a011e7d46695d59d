//! Rule files in Prometheus's format: parsing (serde-saphyr, unknown fields refused), validation
//! like `promtool check rules`, and the in-memory [`Group`] / [`Rule`] model.

use serde::Deserialize;
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use vigia_model::AlertSeverity;
use vigia_model::{PromDuration, is_valid_label_name, is_valid_metric_name};
use vigia_template::Template;

/// Default evaluation interval of a group that does not set `interval` (Prometheus's
/// `global.evaluation_interval` default).
pub const DEFAULT_INTERVAL_MS: i64 = 60_000;

/// A problem found in a rule file: an error (the file is refused) or a warning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column, when known.
    pub column: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// A recording rule: stores the result of `expr` under the metric name `record`.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingRule {
    /// The new metric name.
    pub record: String,
    /// The PromQL expression.
    pub expr: String,
    /// Labels added to (or overriding) every result series.
    pub labels: BTreeMap<String, String>,
}

/// An alerting rule.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertingRule {
    /// The alert name (`alertname` label).
    pub alert: String,
    /// The PromQL condition: every result element is an active alert.
    pub expr: String,
    /// How long an alert stays pending before it fires (ms).
    pub for_ms: i64,
    /// How long a firing alert keeps firing after its condition cleared (ms).
    pub keep_firing_for_ms: i64,
    /// Labels added to the alert; values are templates.
    pub labels: BTreeMap<String, String>,
    /// Annotations; values are templates.
    pub annotations: BTreeMap<String, String>,
}

impl AlertingRule {
    /// The severity from the `severity` label (see [`AlertSeverity`]).
    pub fn severity(&self) -> Option<AlertSeverity> {
        self.labels.get("severity").map(|s| AlertSeverity::parse(s))
    }
}

/// A rule of a group.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// A recording rule.
    Recording(RecordingRule),
    /// An alerting rule.
    Alerting(AlertingRule),
}

impl Rule {
    /// The rule's name (`record` or `alert`).
    pub fn name(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.record,
            Rule::Alerting(a) => &a.alert,
        }
    }

    /// The PromQL expression.
    pub fn expr(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.expr,
            Rule::Alerting(a) => &a.expr,
        }
    }
}

/// A rule group: rules evaluated in order at a common interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Group name (unique within its file).
    pub name: String,
    /// The file it came from.
    pub file: PathBuf,
    /// Evaluation interval (ms).
    pub interval_ms: i64,
    /// Maximum number of alerts (alerting rules) or series (recording rules) per rule; 0 = none.
    pub limit: usize,
    /// Queries are evaluated this long before the evaluation time (ms).
    pub query_offset_ms: i64,
    /// Labels added to every rule of the group (Prometheus 3 `labels:` on a group).
    pub labels: BTreeMap<String, String>,
    /// The rules in evaluation order.
    pub rules: Vec<Rule>,
}

/// Result of checking rule files: the groups that parsed, errors and warnings.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// Groups of the files that had no errors.
    pub groups: Vec<Group>,
    /// Errors (the file containing one is refused).
    pub errors: Vec<RuleError>,
    /// Warnings (the file is still accepted).
    pub warnings: Vec<RuleError>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    groups: Vec<RawGroup>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    name: Spanned<String>,
    #[serde(default)]
    interval: Option<PromDuration>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    query_offset: Option<PromDuration>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    record: Option<Spanned<String>>,
    #[serde(default)]
    alert: Option<Spanned<String>>,
    expr: Spanned<String>,
    #[serde(default, rename = "for")]
    for_: Option<PromDuration>,
    #[serde(default)]
    keep_firing_for: Option<PromDuration>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// Loads rule files; returns every error of every file, or all groups when none has an error.
/// Warnings are not reported here; use [`check_files`] for them.
pub fn load_files(paths: &[PathBuf]) -> Result<Vec<Group>, Vec<RuleError>> {
    let r = check_files(paths);
    if r.errors.is_empty() {
        Ok(r.groups)
    } else {
        Err(r.errors)
    }
}

/// Checks rule files like `promtool check rules`: errors, warnings and the parsed groups.
pub fn check_files(paths: &[PathBuf]) -> CheckReport {
    let mut report = CheckReport::default();
    for p in paths {
        match std::fs::read_to_string(p) {
            Ok(text) => {
                let r = check_str(p, &text);
                report.groups.extend(r.groups);
                report.errors.extend(r.errors);
                report.warnings.extend(r.warnings);
            }
            Err(e) => report.errors.push(RuleError {
                file: p.clone(),
                line: None,
                column: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    report
}

/// Checks the text of one rule file (`file` names it in messages).
pub fn check_str(file: &Path, text: &str) -> CheckReport {
    let mut report = CheckReport::default();
    let raw: RawFile = match serde_saphyr::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let loc = e.location();
            report.errors.push(RuleError {
                file: file.to_path_buf(),
                line: loc.map(|l| l.line()),
                column: loc.map(|l| l.column()),
                message: vigia_model::config::yaml_message(&e),
            });
            return report;
        }
    };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut groups = Vec::new();
    let mut seen_groups = BTreeSet::new();
    for g in raw.groups {
        let at = |sp: &serde_saphyr::Location, msg: String| RuleError {
            file: file.to_path_buf(),
            line: Some(sp.line()),
            column: Some(sp.column()),
            message: msg,
        };
        let gname = g.name.value.clone();
        if gname.is_empty() {
            errors.push(at(
                &g.name.referenced,
                "group name must not be empty".into(),
            ));
        }
        if !seen_groups.insert(gname.clone()) {
            errors.push(at(
                &g.name.referenced,
                format!("group name {gname:?} is repeated in the same file"),
            ));
        }
        let interval_ms = g.interval.map_or(DEFAULT_INTERVAL_MS, |d| d.as_millis());
        if interval_ms <= 0 {
            errors.push(at(
                &g.name.referenced,
                format!("group {gname:?}: interval must be positive"),
            ));
        }
        let glabels = g.labels.unwrap_or_default();
        check_label_names(&glabels, "label", &mut |m| {
            errors.push(at(&g.name.referenced, format!("group {gname:?}: {m}")));
        });
        let flush = |errors: &mut Vec<RuleError>,
                     rerr: &mut Vec<(serde_saphyr::Location, String)>| {
            for (l, m) in rerr.drain(..) {
                errors.push(at(&l, format!("group {gname:?}: {m}")));
            }
        };
        let mut rules = Vec::new();
        let mut seen_rules: BTreeMap<String, u64> = BTreeMap::new();
        for sr in g.rules {
            let rloc = sr.referenced;
            let r = sr.value;
            let mut rerr: Vec<(serde_saphyr::Location, String)> = Vec::new();
            let err = |rerr: &mut Vec<(serde_saphyr::Location, String)>, m: String| {
                rerr.push((rloc, m));
            };
            let labels = r.labels.unwrap_or_default();
            let annotations = r.annotations.unwrap_or_default();
            if let Err(e) = vigia_promql::format_query(&r.expr.value) {
                let l = &r.expr.referenced;
                rerr.push((*l, format!("could not parse expression: {e}")));
            } else if r.expr.value.trim().is_empty() {
                err(&mut rerr, "field 'expr' must be set in rule".into());
            }
            check_label_names(&labels, "label", &mut |m| rerr.push((rloc, m)));
            let rule = match (r.record, r.alert) {
                (Some(_), Some(_)) => {
                    err(
                        &mut rerr,
                        "only one of 'record' and 'alert' must be set".into(),
                    );
                    flush(&mut errors, &mut rerr);
                    continue;
                }
                (None, None) => {
                    err(&mut rerr, "one of 'record' or 'alert' must be set".into());
                    flush(&mut errors, &mut rerr);
                    continue;
                }
                (Some(rec), None) => {
                    if !is_valid_metric_name(&rec.value) {
                        rerr.push((
                            rec.referenced,
                            format!("invalid recording rule name: {:?}", rec.value),
                        ));
                    }
                    if r.for_.is_some() {
                        err(
                            &mut rerr,
                            format!("recording rule {:?}: invalid field 'for'", rec.value),
                        );
                    }
                    if r.keep_firing_for.is_some() {
                        err(
                            &mut rerr,
                            format!(
                                "recording rule {:?}: invalid field 'keep_firing_for'",
                                rec.value
                            ),
                        );
                    }
                    if !annotations.is_empty() {
                        err(
                            &mut rerr,
                            format!(
                                "recording rule {:?}: invalid field 'annotations'",
                                rec.value
                            ),
                        );
                    }
                    if labels.contains_key("__name__") {
                        err(
                            &mut rerr,
                            format!(
                                "recording rule {:?}: label '__name__' is not allowed",
                                rec.value
                            ),
                        );
                    }
                    Rule::Recording(RecordingRule {
                        record: rec.value,
                        expr: r.expr.value,
                        labels,
                    })
                }
                (None, Some(al)) => {
                    if al.value.is_empty() {
                        rerr.push((al.referenced, "alert name must not be empty".into()));
                    }
                    let for_ms = r.for_.map_or(0, |d| d.as_millis());
                    let kff = r.keep_firing_for.map_or(0, |d| d.as_millis());
                    if for_ms < 0 || kff < 0 {
                        err(
                            &mut rerr,
                            format!("alert {:?}: durations must not be negative", al.value),
                        );
                    }
                    check_label_names(&annotations, "annotation", &mut |m| rerr.push((rloc, m)));
                    for (k, v) in labels.iter().chain(annotations.iter()) {
                        if let Err(e) = Template::parse(v) {
                            err(
                                &mut rerr,
                                format!("alert {:?}: template of {k:?}: {e}", al.value),
                            );
                        }
                    }
                    if let Some(sev) = labels.get("severity")
                        && !AlertSeverity::parse(sev).is_known()
                    {
                        warnings.push(at(
                            &al.referenced,
                            format!(
                                "group {gname:?}: alert {:?}: unknown severity {sev:?} (ranked as medium; known: info, low, medium, warning, high, critical)",
                                al.value
                            ),
                        ));
                    }
                    Rule::Alerting(AlertingRule {
                        alert: al.value,
                        expr: r.expr.value,
                        for_ms,
                        keep_firing_for_ms: kff,
                        labels,
                        annotations,
                    })
                }
            };
            if let Some(first) = seen_rules.get(rule.name()) {
                warnings.push(at(
                    &rloc,
                    format!(
                        "group {gname:?}: rule {:?} is a duplicate (first defined at line {first})",
                        rule.name()
                    ),
                ));
            } else {
                seen_rules.insert(rule.name().to_string(), rloc.line());
            }
            flush(&mut errors, &mut rerr);
            rules.push(rule);
        }
        groups.push(Group {
            name: gname,
            file: file.to_path_buf(),
            interval_ms,
            limit: g.limit.unwrap_or(0),
            query_offset_ms: g.query_offset.map_or(0, |d| d.as_millis()),
            labels: glabels,
            rules,
        });
    }
    if errors.is_empty() {
        report.groups = groups;
    }
    report.errors = errors;
    report.warnings = warnings;
    report
}

fn check_label_names(m: &BTreeMap<String, String>, what: &str, err: &mut dyn FnMut(String)) {
    for k in m.keys() {
        if !is_valid_label_name(k) {
            err(format!("invalid {what} name: {k:?}"));
        }
    }
}
