//! Request limits and the label-set validation shared by every decoder.

use crate::IngestError;
use vigia_model::{Label, Labels, METRIC_NAME, is_valid_label_name, is_valid_metric_name};

/// Limits applied to one decoded request (or one scrape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most series in one request.
    pub max_series_per_request: usize,
    /// Most samples in one request.
    pub max_samples_per_request: usize,
    /// Most labels (including `__name__`) on one series.
    pub max_label_count: usize,
    /// Longest label name in bytes.
    pub max_label_name_len: usize,
    /// Longest label value in bytes.
    pub max_label_value_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_series_per_request: 100_000,
            max_samples_per_request: 5_000_000,
            max_label_count: 64,
            max_label_name_len: 1024,
            max_label_value_len: 4096,
        }
    }
}

impl Limits {
    pub(crate) fn check_series(&self, n: usize) -> Result<(), IngestError> {
        if n > self.max_series_per_request {
            return Err(IngestError::TooLarge {
                what: "series count",
                got: n,
                limit: self.max_series_per_request,
            });
        }
        Ok(())
    }

    pub(crate) fn check_samples(&self, n: usize) -> Result<(), IngestError> {
        if n > self.max_samples_per_request {
            return Err(IngestError::TooLarge {
                what: "sample count",
                got: n,
                limit: self.max_samples_per_request,
            });
        }
        Ok(())
    }
}

/// Renders raw (possibly invalid, unsorted) pairs in Prometheus notation for error messages,
/// truncating very long output.
pub(crate) fn render_pairs(pairs: &[Label]) -> String {
    let mut name = "";
    let mut rest = Vec::new();
    for l in pairs {
        if l.name == METRIC_NAME && name.is_empty() {
            name = &l.value;
        } else {
            rest.push(format!("{}={:?}", l.name, l.value));
        }
    }
    let mut s = format!("{name}{{{}}}", rest.join(", "));
    if s.len() > 512 {
        let mut cut = 509;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// Validates and normalises raw label pairs into a [`Labels`]: sorts them, rejects duplicate or
/// invalid names, a missing or invalid metric name and limit violations. Empty values are
/// dropped (Prometheus treats an empty value as an absent label). On error returns the reason.
pub(crate) fn validate_pairs(mut pairs: Vec<Label>, limits: &Limits) -> Result<Labels, String> {
    check_pairs(&mut pairs, limits)?;
    Ok(into_labels(pairs))
}

/// Turns pairs that passed [`check_pairs`] into [`Labels`], dropping empty values.
pub(crate) fn into_labels(mut pairs: Vec<Label>) -> Labels {
    pairs.retain(|l| !l.value.is_empty());
    // check_pairs sorted the names and proved them unique, so from_sorted accepts them.
    Labels::from_sorted(pairs).unwrap_or_default()
}

/// Sorts `pairs` by name in place and checks them (see [`validate_pairs`]).
pub(crate) fn check_pairs(pairs: &mut [Label], limits: &Limits) -> Result<(), String> {
    if pairs.len() > limits.max_label_count {
        return Err(format!(
            "has {} labels, more than the limit of {}",
            pairs.len(),
            limits.max_label_count
        ));
    }
    pairs.sort_by(|a, b| a.name.cmp(&b.name));
    let mut has_name = false;
    for (i, l) in pairs.iter().enumerate() {
        if l.name.len() > limits.max_label_name_len {
            return Err(format!(
                "label name of {} bytes exceeds the limit of {}",
                l.name.len(),
                limits.max_label_name_len
            ));
        }
        if l.value.len() > limits.max_label_value_len {
            return Err(format!(
                "value of label {:?} has {} bytes, more than the limit of {}",
                l.name,
                l.value.len(),
                limits.max_label_value_len
            ));
        }
        if !is_valid_label_name(&l.name) {
            return Err(format!("invalid label name {:?}", l.name));
        }
        if i > 0 && pairs.get(i - 1).is_some_and(|p| p.name == l.name) {
            return Err(format!("duplicate label name {:?}", l.name));
        }
        if l.name == METRIC_NAME {
            if !is_valid_metric_name(&l.value) {
                return Err(format!("invalid metric name {:?}", l.value));
            }
            has_name = true;
        }
    }
    if !has_name {
        return Err("missing metric name (__name__)".into());
    }
    Ok(())
}

/// Replaces every byte that is not valid in a metric name (`[a-zA-Z0-9_:]`) with `_`, and
/// prefixes `_` when the result would start with a digit or be empty.
pub(crate) fn sanitize_metric_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Like [`sanitize_metric_name`] for label names (`[a-zA-Z0-9_]`, no colon).
pub(crate) fn sanitize_label_name(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(n: &str, v: &str) -> Label {
        Label {
            name: n.into(),
            value: v.into(),
        }
    }

    #[test]
    fn validation() {
        let lim = Limits::default();
        let ok =
            validate_pairs(vec![l("job", "a"), l("__name__", "up"), l("e", "")], &lim).unwrap();
        assert_eq!(ok.to_string(), "up{job=\"a\"}");
        assert!(
            validate_pairs(vec![l("job", "a")], &lim)
                .unwrap_err()
                .contains("missing metric name")
        );
        assert!(
            validate_pairs(vec![l("__name__", "1x")], &lim)
                .unwrap_err()
                .contains("invalid metric name")
        );
        assert!(
            validate_pairs(vec![l("__name__", "x"), l("a-b", "1")], &lim)
                .unwrap_err()
                .contains("invalid label")
        );
        assert!(
            validate_pairs(vec![l("__name__", "x"), l("a", "1"), l("a", "2")], &lim)
                .unwrap_err()
                .contains("duplicate")
        );
        let small = Limits {
            max_label_count: 1,
            ..Limits::default()
        };
        assert!(validate_pairs(vec![l("__name__", "x"), l("a", "1")], &small).is_err());
        let short = Limits {
            max_label_value_len: 2,
            ..Limits::default()
        };
        assert!(validate_pairs(vec![l("__name__", "x"), l("a", "123")], &short).is_err());
    }

    #[test]
    fn sanitising() {
        assert_eq!(sanitize_metric_name("cpu.usage-idle"), "cpu_usage_idle");
        assert_eq!(sanitize_metric_name("9lives"), "_9lives");
        assert_eq!(sanitize_label_name("host:name"), "host_name");
        assert_eq!(
            render_pairs(&[l("a", "1"), l("__name__", "x")]),
            "x{a=\"1\"}"
        );
    }
}
