//! Label matchers (`=`, `!=`, `=~`, `!~`) with Prometheus semantics: regexes are fully anchored
//! and a missing label matches as the empty string.

use crate::storage::StorageError;
use regex::Regex;
use std::fmt;

/// Largest compiled regex program accepted, so a hostile pattern cannot exhaust memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The matching operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        })
    }
}

/// One label matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Label name.
    pub name: String,
    /// Operator.
    pub op: MatchOp,
    /// Literal value or regex source (unanchored, as written by the user).
    pub value: String,
    re: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name && self.op == o.op && self.value == o.value
    }
}

impl Matcher {
    /// Builds a matcher; regex operators compile `^(?:value)$` and fail on a bad pattern.
    pub fn new(
        op: MatchOp,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, StorageError> {
        let name = name.into();
        let value = value.into();
        let re = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(
                regex::RegexBuilder::new(&format!("^(?s:{value})$"))
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| {
                        StorageError::InvalidMatcher(format!("{name}{op}{value:?}: {e}"))
                    })?,
            ),
            _ => None,
        };
        Ok(Self {
            name,
            op,
            value,
            re,
        })
    }

    /// `name="value"`.
    pub fn equal(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: MatchOp::Equal,
            value: value.into(),
            re: None,
        }
    }

    /// True when the label value `v` (empty string for a missing label) satisfies the matcher.
    pub fn matches(&self, v: &str) -> bool {
        match self.op {
            MatchOp::Equal => v == self.value,
            MatchOp::NotEqual => v != self.value,
            MatchOp::Regex => self.re.as_ref().is_some_and(|r| r.is_match(v)),
            MatchOp::NotRegex => !self.re.as_ref().is_some_and(|r| r.is_match(v)),
        }
    }

    /// True when the matcher accepts the empty string, i.e. also selects series lacking the label.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }

    /// For `=~` patterns that are a plain alternation of literals (`a|b|c`), the literals;
    /// lets an index answer them with set lookups instead of scanning every value.
    pub fn set_literals(&self) -> Option<Vec<&str>> {
        if self.op != MatchOp::Regex && self.op != MatchOp::Equal {
            return None;
        }
        if self.op == MatchOp::Equal {
            return Some(vec![self.value.as_str()]);
        }
        let special = |c: char| "\\.+*?()[]{}^$".contains(c);
        if self.value.chars().any(special) {
            return None;
        }
        Some(self.value.split('|').collect())
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{:?}", self.name, self.op, self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_regex() {
        let m = Matcher::new(MatchOp::Regex, "job", "no.e").unwrap();
        assert!(m.matches("node"));
        assert!(!m.matches("nodes"));
        let n = Matcher::new(MatchOp::NotRegex, "job", "").unwrap();
        assert!(!n.matches(""));
        assert!(n.matches("x"));
        assert!(Matcher::new(MatchOp::Regex, "a", "(").is_err());
    }

    #[test]
    fn literal_sets() {
        let m = Matcher::new(MatchOp::Regex, "a", "x|y").unwrap();
        assert_eq!(m.set_literals(), Some(vec!["x", "y"]));
        let m = Matcher::new(MatchOp::Regex, "a", "x.*").unwrap();
        assert_eq!(m.set_literals(), None);
    }
}
