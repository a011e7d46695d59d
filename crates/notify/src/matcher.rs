//! Alertmanager label matchers: the `matchers:` string syntax (`a="b"`, `a!="b"`, `a=~"re"`,
//! `a!~"re"`, unquoted values, several comma-separated matchers, optional `{...}` braces),
//! anchored regular expressions, and matching against a label map.

use crate::error::InvalidInput;
use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The four matcher operators, in Alertmanager's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }
}

/// One label matcher.
#[derive(Debug, Clone)]
pub struct AmMatcher {
    /// Label name.
    pub name: String,
    /// Operator.
    pub op: MatchOp,
    /// Value or regular expression as written.
    pub value: String,
    re: Option<Regex>,
}

impl PartialEq for AmMatcher {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name && self.op == o.op && self.value == o.value
    }
}
impl Eq for AmMatcher {}

impl AmMatcher {
    /// Builds a matcher; regular expressions are anchored (`^(?:re)$`) as in Alertmanager.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Self, InvalidInput> {
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(Regex::new(&format!("^(?s:{value})$")).map_err(|e| {
                    // The regex library's message draws the pattern over several lines; its
                    // last line says what is wrong.
                    let why = e.to_string();
                    let why = why
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim_start_matches("error: ");
                    InvalidInput(format!("invalid regular expression {value:?}: {why}"))
                })?)
            }
            _ => None,
        };
        Ok(Self {
            name: name.to_string(),
            op,
            value: value.to_string(),
            re,
        })
    }

    /// True when the label value (empty when absent) satisfies the matcher.
    pub fn matches_value(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex => self.re.as_ref().is_some_and(|r| r.is_match(v)),
            MatchOp::NotRegex => !self.re.as_ref().is_some_and(|r| r.is_match(v)),
        }
    }

    /// True when `labels` satisfy the matcher (a missing label is the empty string).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }

    /// True for `=` and `=~`.
    pub fn is_equal(&self) -> bool {
        matches!(self.op, MatchOp::Equal | MatchOp::Regex)
    }

    /// True for `=~` and `!~`.
    pub fn is_regex(&self) -> bool {
        matches!(self.op, MatchOp::Regex | MatchOp::NotRegex)
    }
}

impl fmt::Display for AmMatcher {
    /// `name="value"` with the operator, the value escaped like Alertmanager prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self
            .value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        write!(f, "{}{}\"{}\"", self.name, self.op.as_str(), v)
    }
}

/// True when every matcher matches.
pub fn matches_all(ms: &[AmMatcher], labels: &BTreeMap<String, String>) -> bool {
    ms.iter().all(|m| m.matches(labels))
}

/// Sorts matchers like Alertmanager (name, value, operator).
pub fn sort_matchers(ms: &mut [AmMatcher]) {
    ms.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then_with(|| a.value.cmp(&b.value))
            .then_with(|| a.op.cmp(&b.op))
    });
}

/// Prints a matcher list as `{a="b",c=~"d"}` (Alertmanager's route key form).
pub fn matchers_string(ms: &[AmMatcher]) -> String {
    let parts: Vec<String> = ms.iter().map(ToString::to_string).collect();
    format!("{{{}}}", parts.join(","))
}

fn valid_label_name(s: &str) -> bool {
    let mut cs = s.chars();
    match cs.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':' => {}
        _ => return false,
    }
    cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parses one matcher such as `severity=~"high|critical"` or `env=prod`.
pub fn parse_matcher(s: &str) -> Result<AmMatcher, InvalidInput> {
    let t = s.trim();
    let name_end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(t.len());
    let name = &t[..name_end];
    if !valid_label_name(name) {
        return Err(InvalidInput(format!("bad matcher format: {s}")));
    }
    let rest = t[name_end..].trim_start();
    let (op, raw) = if let Some(r) = rest.strip_prefix("=~") {
        (MatchOp::Regex, r)
    } else if let Some(r) = rest.strip_prefix("!~") {
        (MatchOp::NotRegex, r)
    } else if let Some(r) = rest.strip_prefix("!=") {
        (MatchOp::NotEqual, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (MatchOp::Equal, r)
    } else {
        return Err(InvalidInput(format!("bad matcher format: {s}")));
    };
    let raw_all = raw.trim();
    let (raw, mut expect_quote) = match raw_all.strip_prefix('"') {
        Some(r) => (r, true),
        None => (raw_all, false),
    };
    let mut value = String::new();
    let mut escaped = false;
    let n = raw.len();
    for (i, c) in raw.char_indices() {
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                _ => {
                    value.push('\\');
                    value.push(c);
                }
            }
            continue;
        }
        match c {
            '\\' => {
                if i + 1 < n {
                    escaped = true;
                } else {
                    value.push('\\');
                }
            }
            '"' => {
                if !expect_quote || i + 1 < n {
                    return Err(InvalidInput(format!(
                        "matcher value contains unescaped double quote: {raw_all}"
                    )));
                }
                expect_quote = false;
            }
            _ => value.push(c),
        }
    }
    if expect_quote {
        return Err(InvalidInput(format!(
            "matcher value contains unescaped double quote: {raw_all}"
        )));
    }
    AmMatcher::new(name, op, &value)
}

/// Parses a `matchers:` string: one or more comma-separated matchers, optionally in braces.
pub fn parse_matchers(s: &str) -> Result<Vec<AmMatcher>, InvalidInput> {
    let s = s.trim();
    let s = s.strip_prefix('{').unwrap_or(s);
    let s = s.strip_suffix('}').unwrap_or(s);
    let mut tokens = Vec::new();
    let mut token = String::new();
    let (mut inside, mut escaped) = (false, false);
    for c in s.chars() {
        match c {
            ',' if !inside => {
                tokens.push(std::mem::take(&mut token));
                continue;
            }
            ',' => {}
            '"' => {
                if escaped {
                    escaped = false;
                } else {
                    inside = !inside;
                }
            }
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        token.push(c);
    }
    if !token.trim().is_empty() {
        tokens.push(token);
    }
    tokens.iter().map(|t| parse_matcher(t)).collect()
}

/// A list of matchers that deserializes from a list of `matchers:` strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Matchers(pub Vec<AmMatcher>);

impl<'de> Deserialize<'de> for Matchers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let strs = Vec::<String>::deserialize(d)?;
        let mut out = Vec::new();
        for s in &strs {
            out.extend(parse_matchers(s).map_err(serde::de::Error::custom)?);
        }
        Ok(Matchers(out))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn l(p: &[(&str, &str)]) -> BTreeMap<String, String> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn parse_forms() {
        let ms = parse_matchers(r#"{a="b", c!=d ,e=~"x|y",f!~"z.*"}"#).unwrap();
        let got: Vec<String> = ms.iter().map(ToString::to_string).collect();
        assert_eq!(got, [r#"a="b""#, r#"c!="d""#, r#"e=~"x|y""#, r#"f!~"z.*""#]);
        let m = parse_matcher(r#"msg="a, \"quoted\" \\ value""#).unwrap();
        assert_eq!(m.value, r#"a, "quoted" \ value"#);
        let ms = parse_matchers(r#"a="x,y",b=c"#).unwrap();
        assert_eq!(ms.len(), 2);
        assert_eq!(ms[0].value, "x,y");
    }

    #[test]
    fn parse_errors() {
        assert!(
            parse_matcher("1a=b")
                .unwrap_err()
                .0
                .contains("bad matcher format")
        );
        assert!(
            parse_matcher("a~b")
                .unwrap_err()
                .0
                .contains("bad matcher format")
        );
        assert!(
            parse_matcher(r#"a="b"c""#)
                .unwrap_err()
                .0
                .contains("unescaped")
        );
        assert!(
            parse_matcher(r#"a="b"#)
                .unwrap_err()
                .0
                .contains("unescaped")
        );
        assert!(
            parse_matcher(r#"a=~"(""#)
                .unwrap_err()
                .0
                .contains("regular expression")
        );
        assert!(parse_matchers("a=b,,c=d").is_err());
    }

    #[test]
    fn matching_is_anchored() {
        let lab = l(&[("sev", "critical"), ("env", "prod")]);
        assert!(parse_matcher("sev=~crit.*").unwrap().matches(&lab));
        assert!(!parse_matcher("sev=~crit").unwrap().matches(&lab));
        assert!(parse_matcher("sev!~crit").unwrap().matches(&lab));
        assert!(parse_matcher(r#"missing="""#).unwrap().matches(&lab));
        assert!(parse_matcher(r#"missing!="x""#).unwrap().matches(&lab));
        assert!(!parse_matcher("env!=prod").unwrap().matches(&lab));
    }
}
