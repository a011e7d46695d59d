//! Rule files in Prometheus's format: parsing (serde-saphyr, unknown fields refused), validation
//! like `promtool check rules`, and the in-memory [`Group`] / [`Rule`] model.

use serde::Deserialize;
use serde_saphyr::{Location, Spanned};
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
    let raw: RawFile = match serde_saphyr::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let loc = e.location();
            let mut report = CheckReport::default();
            report.errors.push(RuleError {
                file: file.to_path_buf(),
                line: loc.map(|l| l.line()),
                column: loc.map(|l| l.column()),
                message: vigia_model::config::yaml_message(&e),
            });
            return report;
        }
    };
    let mut check = FileCheck {
        file,
        errors: Vec::new(),
        warnings: Vec::new(),
        seen_groups: BTreeSet::new(),
    };
    let groups: Vec<Group> = raw.groups.into_iter().map(|g| check.group(g)).collect();
    CheckReport {
        groups: if check.errors.is_empty() {
            groups
        } else {
            Vec::new()
        },
        errors: check.errors,
        warnings: check.warnings,
    }
}

/// The checks of one file: the problems found so far, in file order, and the group names seen.
struct FileCheck<'a> {
    file: &'a Path,
    errors: Vec<RuleError>,
    warnings: Vec<RuleError>,
    seen_groups: BTreeSet<String>,
}

/// The problems of one rule, reported (prefixed with the group) once the rule is checked.
struct RuleProblems {
    /// Where the rule starts: the location of problems without a more precise one.
    at: Location,
    found: Vec<(Location, String)>,
}

impl RuleProblems {
    /// A problem of the whole rule.
    fn err(&mut self, m: String) {
        self.found.push((self.at, m));
    }

    /// A problem at `loc`.
    fn err_at(&mut self, loc: Location, m: String) {
        self.found.push((loc, m));
    }
}

impl FileCheck<'_> {
    fn at(&self, loc: &Location, message: String) -> RuleError {
        RuleError {
            file: self.file.to_path_buf(),
            line: Some(loc.line()),
            column: Some(loc.column()),
            message,
        }
    }

    /// Checks a group (name, interval, labels, then each rule) and builds it.
    fn group(&mut self, g: RawGroup) -> Group {
        let gname = g.name.value.clone();
        let gloc = g.name.referenced;
        if gname.is_empty() {
            self.errors
                .push(self.at(&gloc, "group name must not be empty".into()));
        }
        if !self.seen_groups.insert(gname.clone()) {
            self.errors.push(self.at(
                &gloc,
                format!("group name {gname:?} is repeated in the same file"),
            ));
        }
        let interval_ms = g.interval.map_or(DEFAULT_INTERVAL_MS, |d| d.as_millis());
        if interval_ms <= 0 {
            self.errors
                .push(self.at(&gloc, format!("group {gname:?}: interval must be positive")));
        }
        let glabels = g.labels.unwrap_or_default();
        let mut bad_labels = Vec::new();
        check_label_names(&glabels, "label", &mut |m| bad_labels.push(m));
        for m in bad_labels {
            self.errors
                .push(self.at(&gloc, format!("group {gname:?}: {m}")));
        }
        let mut rules = Vec::new();
        let mut seen_rules: BTreeMap<String, u64> = BTreeMap::new();
        for sr in g.rules {
            let mut problems = RuleProblems {
                at: sr.referenced,
                found: Vec::new(),
            };
            let rule = self.rule(&gname, sr.value, &mut problems);
            if let Some(rule) = &rule {
                self.note_duplicate(&gname, rule, problems.at, &mut seen_rules);
            }
            for (l, m) in problems.found {
                self.errors
                    .push(self.at(&l, format!("group {gname:?}: {m}")));
            }
            rules.extend(rule);
        }
        Group {
            name: gname,
            file: self.file.to_path_buf(),
            interval_ms,
            limit: g.limit.unwrap_or(0),
            query_offset_ms: g.query_offset.map_or(0, |d| d.as_millis()),
            labels: glabels,
            rules,
        }
    }

    /// Warns about a rule whose name an earlier rule of the group already has.
    fn note_duplicate(
        &mut self,
        gname: &str,
        rule: &Rule,
        rloc: Location,
        seen_rules: &mut BTreeMap<String, u64>,
    ) {
        if let Some(first) = seen_rules.get(rule.name()) {
            self.warnings.push(self.at(
                &rloc,
                format!(
                    "group {gname:?}: rule {:?} is a duplicate (first defined at line {first})",
                    rule.name()
                ),
            ));
        } else {
            seen_rules.insert(rule.name().to_string(), rloc.line());
        }
    }

    /// Checks a rule: its expression and labels, then as a recording or an alerting rule.
    /// `None` when it is neither or both.
    fn rule(&mut self, gname: &str, mut r: RawRule, p: &mut RuleProblems) -> Option<Rule> {
        let labels = r.labels.take().unwrap_or_default();
        let annotations = r.annotations.take().unwrap_or_default();
        if let Err(e) = vigia_promql::format_query(&r.expr.value) {
            p.err_at(
                r.expr.referenced,
                format!("could not parse expression: {e}"),
            );
        } else if r.expr.value.trim().is_empty() {
            p.err("field 'expr' must be set in rule".into());
        }
        check_label_names(&labels, "label", &mut |m| p.err(m));
        match (r.record.take(), r.alert.take()) {
            (Some(_), Some(_)) => {
                p.err("only one of 'record' and 'alert' must be set".into());
                None
            }
            (None, None) => {
                p.err("one of 'record' or 'alert' must be set".into());
                None
            }
            (Some(rec), None) => Some(Rule::Recording(recording_rule(
                rec,
                r,
                labels,
                annotations,
                p,
            ))),
            (None, Some(al)) => Some(Rule::Alerting(self.alerting_rule(
                gname,
                al,
                r,
                labels,
                annotations,
                p,
            ))),
        }
    }

    /// Checks an alerting rule: its name, durations, annotation names, templates and severity.
    fn alerting_rule(
        &mut self,
        gname: &str,
        al: Spanned<String>,
        r: RawRule,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
        p: &mut RuleProblems,
    ) -> AlertingRule {
        if al.value.is_empty() {
            p.err_at(al.referenced, "alert name must not be empty".into());
        }
        let for_ms = r.for_.map_or(0, |d| d.as_millis());
        let kff = r.keep_firing_for.map_or(0, |d| d.as_millis());
        if for_ms < 0 || kff < 0 {
            p.err(format!(
                "alert {:?}: durations must not be negative",
                al.value
            ));
        }
        check_label_names(&annotations, "annotation", &mut |m| p.err(m));
        for (k, v) in labels.iter().chain(annotations.iter()) {
            if let Err(e) = Template::parse(v) {
                p.err(format!("alert {:?}: template of {k:?}: {e}", al.value));
            }
        }
        if let Some(sev) = labels.get("severity")
            && !AlertSeverity::parse(sev).is_known()
        {
            self.warnings.push(self.at(
                &al.referenced,
                format!(
                    "group {gname:?}: alert {:?}: unknown severity {sev:?} (ranked as medium; known: info, low, medium, warning, high, critical)",
                    al.value
                ),
            ));
        }
        AlertingRule {
            alert: al.value,
            expr: r.expr.value,
            for_ms,
            keep_firing_for_ms: kff,
            labels,
            annotations,
        }
    }
}

/// Checks a recording rule: its name, and no field only alerting rules have.
fn recording_rule(
    rec: Spanned<String>,
    r: RawRule,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    p: &mut RuleProblems,
) -> RecordingRule {
    if !is_valid_metric_name(&rec.value) {
        p.err_at(
            rec.referenced,
            format!("invalid recording rule name: {:?}", rec.value),
        );
    }
    if r.for_.is_some() {
        p.err(format!(
            "recording rule {:?}: invalid field 'for'",
            rec.value
        ));
    }
    if r.keep_firing_for.is_some() {
        p.err(format!(
            "recording rule {:?}: invalid field 'keep_firing_for'",
            rec.value
        ));
    }
    if !annotations.is_empty() {
        p.err(format!(
            "recording rule {:?}: invalid field 'annotations'",
            rec.value
        ));
    }
    if labels.contains_key("__name__") {
        p.err(format!(
            "recording rule {:?}: label '__name__' is not allowed",
            rec.value
        ));
    }
    RecordingRule {
        record: rec.value,
        expr: r.expr.value,
        labels,
    }
}

fn check_label_names(m: &BTreeMap<String, String>, what: &str, err: &mut dyn FnMut(String)) {
    for k in m.keys() {
        if !is_valid_label_name(k) {
            err(format!("invalid {what} name: {k:?}"));
        }
    }
}
