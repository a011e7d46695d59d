//! Files named by patterns in configuration (`rule_files:`, Alertmanager `templates:`,
//! `dashboards:`): relative paths resolve against the configuration file's folder, and `*` / `?`
//! in the last path component expand to the matching files, sorted.

use std::path::{Path, PathBuf};

/// A pattern could not be expanded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GlobError {
    /// A pattern without wildcards names a file that does not exist.
    #[error("file {} does not exist", .0.display())]
    Missing(PathBuf),
    /// The folder of a wildcard pattern could not be listed.
    #[error("{pattern:?}: {}: {source}", dir.display())]
    ReadDir {
        /// The pattern as written.
        pattern: String,
        /// The folder that was listed.
        dir: PathBuf,
        /// Why listing failed.
        source: std::io::Error,
    },
}

impl vigia_model::HasKind for GlobError {
    fn kind(&self) -> vigia_model::ErrorKind {
        match self {
            GlobError::Missing(_) => vigia_model::ErrorKind::BadData,
            GlobError::ReadDir { .. } => vigia_model::ErrorKind::Internal,
        }
    }
}

/// Expands `patterns` relative to `base`. A plain path must name an existing file; a pattern
/// with `*` or `?` in its file name yields every matching file (none is not an error, as in
/// Prometheus), sorted by name.
pub fn expand_globs(patterns: &[String], base: &Path) -> Result<Vec<PathBuf>, GlobError> {
    let mut out = Vec::new();
    for pat in patterns {
        let p = PathBuf::from(pat);
        let p = if p.is_absolute() { p } else { base.join(p) };
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(name) = name.filter(|n| n.contains(['*', '?'])) else {
            if !p.is_file() {
                return Err(GlobError::Missing(p));
            }
            out.push(p);
            continue;
        };
        let dir = p
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let rd = std::fs::read_dir(&dir).map_err(|source| GlobError::ReadDir {
            pattern: pat.clone(),
            dir: dir.clone(),
            source,
        })?;
        let mut found: Vec<PathBuf> = rd
            .flatten()
            .filter(|e| wildcard(&name, &e.file_name().to_string_lossy()))
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Shell-style match of `*` and `?` (no character classes).
pub fn wildcard(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = s.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("*.yaml", "a.yaml"));
        assert!(wildcard("a?c*", "abcdef"));
        assert!(!wildcard("*.yaml", "a.yml"));
        assert!(!wildcard("a*z", "abc"));
        assert!(wildcard("*", ""));
        assert!(!wildcard("a", ""));
    }

    #[test]
    fn globs() {
        let d = std::env::temp_dir().join(format!("vigia-globs-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        for n in ["b.rules.yaml", "a.rules.yaml", "c.txt", "rules.yaml"] {
            std::fs::write(d.join(n), "groups: []\n").unwrap();
        }
        let got = expand_globs(&["*.rules.yaml".into(), "rules.yaml".into()], &d).unwrap();
        assert_eq!(
            got,
            vec![
                d.join("a.rules.yaml"),
                d.join("b.rules.yaml"),
                d.join("rules.yaml")
            ]
        );
        assert!(matches!(
            expand_globs(&["missing.yaml".into()], &d),
            Err(GlobError::Missing(_))
        ));
        assert!(
            expand_globs(&["nothing*.yaml".into()], &d)
                .unwrap()
                .is_empty()
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
