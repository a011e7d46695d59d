//! Configuration vocabulary every crate's section uses: [`ConfigError`] (one problem, located in
//! its file), [`Secret`] (never printed), [`ByteSize`] (`512MB`), and the wording of YAML
//! errors. Each crate owns its section and its checks; the binary only combines them.

use std::path::{Path, PathBuf};

/// One configuration problem, located in its file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// What is wrong and what was expected.
    pub message: String,
}

impl ConfigError {
    /// A problem of `file` with no known position.
    pub fn new(file: &Path, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }

    /// A problem at `line`:`column` of `file`.
    pub fn at(file: &Path, line: u64, column: u64, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// A YAML syntax or type error, with the parser's position.
    pub fn from_yaml(file: &Path, e: &serde_saphyr::Error) -> Self {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        ConfigError::at(file, line, column, yaml_message(e))
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        } else {
            write!(f, "{}: {}", self.file.display(), self.message)
        }
    }
}

/// The message of a YAML error without the source snippet and without the position, which
/// callers print in front (`file:line:column: message`).
pub fn yaml_message(e: &serde_saphyr::Error) -> String {
    let s = e.without_snippet().to_string();
    let s = s.strip_prefix("error: ").unwrap_or(&s);
    let s = match s.strip_prefix("line ").and_then(|r| r.split_once(": ")) {
        Some((pos, rest)) if pos.contains(" column ") => rest,
        _ => s,
    };
    let s = match s.rsplit_once(" at line ") {
        Some((msg, pos)) if pos.contains(", column ") => msg,
        _ => s,
    };
    // The YAML library names Rust types; say what the user should write instead.
    match s.trim() {
        "invalid u8" | "invalid u16" | "invalid u32" | "invalid u64" | "invalid usize" => {
            "expected a whole number".to_string()
        }
        "invalid i8" | "invalid i16" | "invalid i32" | "invalid i64" | "invalid isize" => {
            "expected a whole number".to_string()
        }
        "invalid f32" | "invalid f64" => "expected a number".to_string(),
        "invalid bool" => "expected true or false".to_string(),
        other => other.to_string(),
    }
}

/// A secret string (password, API key, URL with a token). Its `Debug` and `Serialize` forms are
/// `<secret>`, so configurations can be logged or shown without leaking it.
#[derive(Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    /// The secret value.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<secret>")
    }
}

/// A byte size: a number of bytes or a string with a unit (`512MB`, `10GiB`, `1TB`). As in
/// Prometheus (`--storage.tsdb.retention.size`, `body_size_limit`), `KB`/`MB`/`GB`/`TB`/`PB` are
/// powers of 1024, like their `KiB` forms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

/// A byte size could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ByteSizeError(String);

impl ByteSize {
    /// The size in bytes as `usize` (saturating on 32-bit targets).
    pub fn bytes(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

impl std::str::FromStr for ByteSize {
    type Err = ByteSizeError;
    fn from_str(s: &str) -> Result<Self, ByteSizeError> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u64 = num.parse().map_err(|_| {
            ByteSizeError(format!(
                "invalid size {s:?}: expected a number of bytes like 512MB"
            ))
        })?;
        let mult: u64 = match unit.trim() {
            "" | "B" => 1,
            "KB" | "KiB" => 1 << 10,
            "MB" | "MiB" => 1 << 20,
            "GB" | "GiB" => 1 << 30,
            "TB" | "TiB" => 1 << 40,
            "PB" | "PiB" => 1 << 50,
            u => {
                return Err(ByteSizeError(format!(
                    "invalid size unit {u:?} in {s:?}: use B, KB, MB, GB, TB or PB"
                )));
            }
        };
        n.checked_mul(mult)
            .map(ByteSize)
            .ok_or_else(|| ByteSizeError(format!("size {s:?} is too large")))
    }
}

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}B", self.0)
    }
}

impl serde::Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!("512MB".parse::<ByteSize>().unwrap(), ByteSize(512 << 20));
        assert_eq!("100".parse::<ByteSize>().unwrap(), ByteSize(100));
        assert_eq!("1GiB".parse::<ByteSize>().unwrap(), ByteSize(1 << 30));
        assert!("1XB".parse::<ByteSize>().is_err());
        assert!("99999999999PB".parse::<ByteSize>().is_err());
        let b: ByteSize = serde_saphyr::from_str("32MB").unwrap();
        assert_eq!(b, ByteSize(32 << 20));
        let b: ByteSize = serde_saphyr::from_str("4096").unwrap();
        assert_eq!(b, ByteSize(4096));
    }

    #[test]
    fn yaml_errors_are_located() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct S {
            n: u32,
        }
        let e = serde_saphyr::from_str::<S>("n: many\n").unwrap_err();
        let c = ConfigError::from_yaml(Path::new("x.yaml"), &e);
        assert_eq!(c.line, 1, "{c}");
        assert!(!c.message.contains("line 1"), "{c}");
        assert!(c.to_string().starts_with("x.yaml:1:"), "{c}");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Secret("hunter2".into());
        assert_eq!(format!("{s:?}"), "<secret>");
        assert_eq!(s.expose(), "hunter2");
    }
}
