//! Prometheus relabelling: `relabel_configs` for targets and `metric_relabel_configs` for
//! scraped samples, with every Prometheus action and its defaults (separator `;`, fully anchored
//! regex `(.*)`, replacement `$1`, `$1` / `${1}` / `$name` templates).

use crate::IngestError;
use regex::{Regex, RegexBuilder};
use vigia_model::{Label, Labels, is_valid_label_name};

/// Largest compiled regex program accepted in a relabel rule.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A relabelling action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Action {
    /// Set `target_label` to the expanded `replacement` when `regex` matches.
    #[default]
    Replace,
    /// Drop the target/series unless `regex` matches.
    Keep,
    /// Drop the target/series when `regex` matches.
    Drop,
    /// Drop unless the joined source values equal the value of `target_label`.
    KeepEqual,
    /// Drop when the joined source values equal the value of `target_label`.
    DropEqual,
    /// Set `target_label` to `md5(source) % modulus`.
    HashMod,
    /// Copy labels whose name matches `regex` to the name given by `replacement`.
    LabelMap,
    /// Remove labels whose name matches `regex`.
    LabelDrop,
    /// Remove labels whose name does not match `regex`.
    LabelKeep,
    /// Set `target_label` to the lowercased source value.
    Lowercase,
    /// Set `target_label` to the uppercased source value.
    Uppercase,
}

impl Action {
    /// The configuration spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

/// A relabel action name that Prometheus does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown relabel action {0:?}")]
pub struct UnknownAction(pub String);

impl std::str::FromStr for Action {
    type Err = UnknownAction;
    fn from_str(s: &str) -> Result<Self, UnknownAction> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return Err(UnknownAction(s.to_string())),
        })
    }
}

impl serde::Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A relabel regex: written unanchored, matched fully anchored (`^(?s:…)$`).
#[derive(Debug, Clone)]
pub struct RelabelRegex {
    source: String,
    re: Regex,
}

impl RelabelRegex {
    /// Compiles a pattern.
    pub fn new(source: &str) -> Result<Self, IngestError> {
        let re = RegexBuilder::new(&format!("^(?s:{source})$"))
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| IngestError::Config(format!("invalid relabel regex {source:?}: {e}")))?;
        Ok(Self {
            source: source.to_string(),
            re,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when the whole of `s` matches.
    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }
}

impl Default for RelabelRegex {
    fn default() -> Self {
        // A constant pattern that is known to compile: this cannot fail.
        let re = Regex::new("^(?s:(.*))$").unwrap_or_else(|e| unreachable!("constant regex: {e}"));
        Self {
            source: "(.*)".into(),
            re,
        }
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, o: &Self) -> bool {
        self.source == o.source
    }
}

impl serde::Serialize for RelabelRegex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> serde::Deserialize<'de> for RelabelRegex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RelabelRegex::new(&s).map_err(serde::de::Error::custom)
    }
}

fn default_separator() -> String {
    ";".into()
}

fn default_replacement() -> String {
    "$1".into()
}

/// One relabelling rule, with Prometheus's field names and defaults.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelabelConfig {
    /// Labels whose values are joined with `separator` to form the source value.
    #[serde(default)]
    pub source_labels: Vec<String>,
    /// Separator between source values (default `;`).
    #[serde(default = "default_separator")]
    pub separator: String,
    /// Pattern matched against the source value (or label names for label* actions).
    #[serde(default)]
    pub regex: RelabelRegex,
    /// Modulus for `hashmod`.
    #[serde(default)]
    pub modulus: u64,
    /// Label written by replace, hashmod, lowercase, uppercase; compared by keepequal/dropequal.
    #[serde(default)]
    pub target_label: String,
    /// Replacement template (default `$1`).
    #[serde(default = "default_replacement")]
    pub replacement: String,
    /// The action (default `replace`).
    #[serde(default)]
    pub action: Action,
}

impl Default for RelabelConfig {
    fn default() -> Self {
        Self {
            source_labels: Vec::new(),
            separator: default_separator(),
            regex: RelabelRegex::default(),
            modulus: 0,
            target_label: String::new(),
            replacement: default_replacement(),
            action: Action::Replace,
        }
    }
}

impl RelabelConfig {
    /// Checks the cross-field rules Prometheus enforces; the message names the action.
    pub fn validate(&self) -> Result<(), IngestError> {
        let a = self.action;
        let err = |m: String| Err(IngestError::Config(m));
        let d = RelabelConfig::default();
        if a == Action::HashMod && self.modulus == 0 {
            return err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        let needs_target = matches!(
            a,
            Action::Replace
                | Action::HashMod
                | Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return err(format!(
                "relabel configuration for {} action requires 'target_label' value",
                a.as_str()
            ));
        }
        let templated = self.target_label.contains('$');
        if a == Action::Replace && !templated && !is_valid_label_name(&self.target_label) {
            return err(format!(
                "{:?} is invalid 'target_label' for {} action",
                self.target_label,
                a.as_str()
            ));
        }
        if matches!(
            a,
            Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
                | Action::HashMod
        ) && !is_valid_label_name(&self.target_label)
        {
            return err(format!(
                "{:?} is invalid 'target_label' for {} action",
                self.target_label,
                a.as_str()
            ));
        }
        if matches!(
            a,
            Action::Lowercase | Action::Uppercase | Action::KeepEqual | Action::DropEqual
        ) && self.replacement != d.replacement
        {
            return err(format!(
                "'replacement' can not be set for {} action",
                a.as_str()
            ));
        }
        if a == Action::LabelMap
            && !self.replacement.contains('$')
            && !is_valid_label_name(&self.replacement)
        {
            return err(format!(
                "{:?} is invalid 'replacement' for labelmap action",
                self.replacement
            ));
        }
        if matches!(a, Action::KeepEqual | Action::DropEqual)
            && (self.regex != d.regex || self.modulus != 0 || self.separator != d.separator)
        {
            return err(format!(
                "{} action requires only 'source_labels' and `target_label`, and no other fields",
                a.as_str()
            ));
        }
        if matches!(a, Action::LabelDrop | Action::LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != d.separator
                || self.replacement != d.replacement)
        {
            return err(format!(
                "{} action requires only 'regex', and no other fields",
                a.as_str()
            ));
        }
        Ok(())
    }
}

/// Working label set during relabelling: unsorted, setting an empty value deletes.
struct Work(Vec<Label>);

impl Work {
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.value.as_str())
            .unwrap_or("")
    }
    fn set(&mut self, name: &str, value: String) {
        if value.is_empty() {
            self.del(name);
            return;
        }
        match self.0.iter_mut().find(|l| l.name == name) {
            Some(l) => l.value = value,
            None => self.0.push(Label {
                name: name.to_string(),
                value,
            }),
        }
    }
    fn del(&mut self, name: &str) {
        self.0.retain(|l| l.name != name);
    }
}

fn hashmod(val: &str, modulus: u64) -> u64 {
    let digest = md5::compute(val.as_bytes()).0;
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&digest[8..16]);
    u64::from_be_bytes(tail) % modulus.max(1)
}

/// Applies the rules to raw label pairs; `None` when a rule drops them. Empty values are removed.
pub fn process_pairs(labels: Vec<Label>, cfgs: &[RelabelConfig]) -> Option<Vec<Label>> {
    let mut w = Work(labels);
    w.0.retain(|l| !l.value.is_empty());
    for cfg in cfgs {
        let val = cfg
            .source_labels
            .iter()
            .map(|n| w.get(n))
            .collect::<Vec<_>>()
            .join(&cfg.separator);
        match cfg.action {
            Action::Drop => {
                if cfg.regex.is_match(&val) {
                    return None;
                }
            }
            Action::Keep => {
                if !cfg.regex.is_match(&val) {
                    return None;
                }
            }
            Action::DropEqual => {
                if w.get(&cfg.target_label) == val {
                    return None;
                }
            }
            Action::KeepEqual => {
                if w.get(&cfg.target_label) != val {
                    return None;
                }
            }
            Action::Replace => {
                let Some(caps) = cfg.regex.re.captures(&val) else {
                    continue;
                };
                let mut target = String::new();
                caps.expand(&cfg.target_label, &mut target);
                if !is_valid_label_name(&target) {
                    continue;
                }
                let mut res = String::new();
                caps.expand(&cfg.replacement, &mut res);
                w.set(&target, res);
            }
            Action::Lowercase => w.set(&cfg.target_label, val.to_lowercase()),
            Action::Uppercase => w.set(&cfg.target_label, val.to_uppercase()),
            Action::HashMod => w.set(&cfg.target_label, hashmod(&val, cfg.modulus).to_string()),
            Action::LabelMap => {
                let snapshot = w.0.clone();
                for l in snapshot {
                    if cfg.regex.is_match(&l.name) {
                        let name = cfg
                            .regex
                            .re
                            .replace_all(&l.name, cfg.replacement.as_str())
                            .into_owned();
                        w.set(&name, l.value);
                    }
                }
            }
            Action::LabelDrop => w.0.retain(|l| !cfg.regex.is_match(&l.name)),
            Action::LabelKeep => w.0.retain(|l| cfg.regex.is_match(&l.name)),
        }
    }
    Some(w.0)
}

/// Applies the rules to a label set; `None` when a rule drops it.
pub fn process(labels: &Labels, cfgs: &[RelabelConfig]) -> Option<Labels> {
    if cfgs.is_empty() {
        return Some(labels.clone());
    }
    process_pairs(labels.as_slice().to_vec(), cfgs)
        .map(|v| Labels::from_pairs(v.into_iter().map(|l| (l.name, l.value))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> RelabelConfig {
        let c: RelabelConfig = serde_saphyr::from_str(yaml).unwrap();
        c.validate().unwrap();
        c
    }

    fn ls(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn defaults() {
        let c = cfg("target_label: x");
        assert_eq!(c.separator, ";");
        assert_eq!(c.regex.as_str(), "(.*)");
        assert_eq!(c.replacement, "$1");
        assert_eq!(c.action, Action::Replace);
    }

    /// Cases modelled on the examples in Prometheus's configuration documentation and its
    /// relabel tests.
    #[test]
    fn table() {
        type Pairs = Vec<(&'static str, &'static str)>;
        let cases: Vec<(&str, Pairs, Option<Pairs>)> = vec![
            // replace with capture groups over joined sources
            (
                "source_labels: [a, b]\nregex: 'f(.*);(.*)r'\ntarget_label: c\nreplacement: 'ch${1}-${2}ch'",
                vec![("a", "foo"), ("b", "bar")],
                Some(vec![("a", "foo"), ("b", "bar"), ("c", "choo-bach")]),
            ),
            // regex must match fully (anchored)
            (
                "source_labels: [a]\nregex: 'o+'\ntarget_label: c\nreplacement: x",
                vec![("a", "foo")],
                Some(vec![("a", "foo")]),
            ),
            // $1x is the (missing) group named "1x": empty replacement deletes the target
            (
                "source_labels: [a]\nregex: '(f)oo'\ntarget_label: b\nreplacement: '$1x'",
                vec![("a", "foo"), ("b", "keep?")],
                Some(vec![("a", "foo")]),
            ),
            // templated target label
            (
                "source_labels: [a]\nregex: 'some-([^-]+)-([^,]+)'\ntarget_label: '${1}'\nreplacement: '${2}'",
                vec![("a", "some-name-value")],
                Some(vec![("a", "some-name-value"), ("name", "value")]),
            ),
            // invalid expanded target label: no change
            (
                "source_labels: [a]\nregex: '(.*)'\ntarget_label: '${1}'\nreplacement: v",
                vec![("a", "1bad")],
                Some(vec![("a", "1bad")]),
            ),
            // __address__ → instance host part, as in the documented port-stripping example
            (
                "source_labels: [__address__]\nregex: '([^:]+):\\d+'\ntarget_label: instance",
                vec![("__address__", "node1:9100")],
                Some(vec![("__address__", "node1:9100"), ("instance", "node1")]),
            ),
            (
                "source_labels: [a]\nregex: '.*o.*'\naction: drop",
                vec![("a", "foo")],
                None,
            ),
            (
                "source_labels: [a]\nregex: '.*o.*'\naction: drop",
                vec![("a", "bar")],
                Some(vec![("a", "bar")]),
            ),
            (
                "source_labels: [a]\nregex: 'f.*'\naction: keep",
                vec![("a", "foo")],
                Some(vec![("a", "foo")]),
            ),
            (
                "source_labels: [a]\nregex: 'f.*'\naction: Keep",
                vec![("a", "bar")],
                None,
            ),
            // keep on a missing label: empty string does not match "f.*"
            (
                "source_labels: [zz]\nregex: 'f.*'\naction: keep",
                vec![("a", "foo")],
                None,
            ),
            // keepequal / dropequal
            (
                "source_labels: [a]\ntarget_label: b\naction: keepequal",
                vec![("a", "x"), ("b", "x")],
                Some(vec![("a", "x"), ("b", "x")]),
            ),
            (
                "source_labels: [a]\ntarget_label: b\naction: keepequal",
                vec![("a", "x"), ("b", "y")],
                None,
            ),
            (
                "source_labels: [a]\ntarget_label: b\naction: dropequal",
                vec![("a", "x"), ("b", "x")],
                None,
            ),
            (
                "source_labels: [a]\ntarget_label: b\naction: dropequal",
                vec![("a", "x"), ("b", "y")],
                Some(vec![("a", "x"), ("b", "y")]),
            ),
            // hashmod: md5("foo") low 8 bytes big-endian % 1000
            (
                "source_labels: [a]\nmodulus: 1000\ntarget_label: h\naction: hashmod",
                vec![("a", "foo")],
                Some(vec![("a", "foo"), ("h", "1000")]),
            ),
            // labelmap
            (
                "regex: '__meta_kubernetes_pod_label_(.+)'\naction: labelmap",
                vec![("__meta_kubernetes_pod_label_app", "web"), ("job", "j")],
                Some(vec![
                    ("__meta_kubernetes_pod_label_app", "web"),
                    ("app", "web"),
                    ("job", "j"),
                ]),
            ),
            (
                "regex: '(a)(b)?'\nreplacement: 'x_${1}_${2}'\naction: labelmap",
                vec![("a", "1"), ("ab", "2")],
                Some(vec![("a", "1"), ("ab", "2"), ("x_a_", "1"), ("x_a_b", "2")]),
            ),
            // labeldrop / labelkeep
            (
                "regex: 'b.*'\naction: labeldrop",
                vec![("a", "1"), ("bc", "2")],
                Some(vec![("a", "1")]),
            ),
            (
                "regex: 'b.*|__name__'\naction: labelkeep",
                vec![("__name__", "m"), ("a", "1"), ("bc", "2")],
                Some(vec![("__name__", "m"), ("bc", "2")]),
            ),
            // lowercase / uppercase
            (
                "source_labels: [a, b]\ntarget_label: c\naction: lowercase",
                vec![("a", "FoO"), ("b", "BaR")],
                Some(vec![("a", "FoO"), ("b", "BaR"), ("c", "foo;bar")]),
            ),
            (
                "source_labels: [a]\nseparator: ''\ntarget_label: a\naction: uppercase",
                vec![("a", "foo")],
                Some(vec![("a", "FOO")]),
            ),
            // replace with the default regex on an absent source sets the replacement literally
            (
                "target_label: env\nreplacement: prod",
                vec![("a", "1")],
                Some(vec![("a", "1"), ("env", "prod")]),
            ),
        ];
        for (rule, input, want) in cases {
            let mut c = cfg(rule);
            if c.action == Action::HashMod {
                // Compute the documented algorithm independently for the expectation.
                let d = md5::compute(b"foo").0;
                let v = u64::from_be_bytes(d[8..16].try_into().unwrap()) % 1000;
                c.modulus = 1000;
                let got = process(&ls(&input), &[c]).unwrap();
                assert_eq!(got.get("h"), Some(v.to_string().as_str()), "{rule}");
                continue;
            }
            let got = process(&ls(&input), &[c]);
            assert_eq!(got, want.map(|w| ls(&w)), "rule:\n{rule}");
        }
    }

    #[test]
    fn hashmod_known_value() {
        // md5("foo") = acbd18db4cc2f85cedef654fccc4a4d8; low 8 bytes 0xedef654fccc4a4d8.
        assert_eq!(
            hashmod("foo", 1_000_003),
            0xedef_654f_ccc4_a4d8_u64 % 1_000_003
        );
        assert_eq!(
            hashmod("foo", 1 << 63),
            0xedef_654f_ccc4_a4d8_u64 & ((1 << 63) - 1)
        );
    }

    #[test]
    fn invalid_configs() {
        let bad = [
            ("action: hashmod\ntarget_label: a", "non-zero modulus"),
            ("action: replace", "requires 'target_label'"),
            (
                "action: replace\ntarget_label: '1a'",
                "invalid 'target_label'",
            ),
            (
                "action: lowercase\ntarget_label: a\nreplacement: x",
                "can not be set",
            ),
            (
                "action: labeldrop\nsource_labels: [a]",
                "requires only 'regex'",
            ),
            (
                "action: keepequal\ntarget_label: a\nregex: x",
                "no other fields",
            ),
            (
                "action: labelmap\nreplacement: '1bad'",
                "invalid 'replacement'",
            ),
        ];
        for (y, needle) in bad {
            let c: RelabelConfig = serde_saphyr::from_str(y).unwrap();
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(needle), "{y}: {e}");
        }
        assert!(serde_saphyr::from_str::<RelabelConfig>("action: explode").is_err());
        assert!(serde_saphyr::from_str::<RelabelConfig>("regex: '('").is_err());
        assert!(serde_saphyr::from_str::<RelabelConfig>("unknown_field: 1").is_err());
    }
}
