//! Target discovery: static groups from the configuration and file-based groups read from JSON
//! or YAML files (`[{targets: [...], labels: {...}}]`), with `*` / `?` wildcards in the file
//! name.

use super::config::{FileSdConfig, ScrapeConfig};
use crate::IngestError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A group of targets sharing labels, as discovered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetGroup {
    /// Addresses (`host:port`).
    pub targets: Vec<String>,
    /// Labels common to the group.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// Largest file_sd file read.
const MAX_SD_FILE_BYTES: u64 = 16 << 20;

/// `*` matches any run of characters, `?` one character; everything else literally.
pub(crate) fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(c) if *c == '?' || Some(c) == n.get(ni) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    while p.get(pi) == Some(&'*') {
        pi += 1;
    }
    pi == p.len()
}

/// Expands one pattern into the existing files it names, sorted.
pub(crate) fn expand_pattern(pattern: &str) -> Vec<PathBuf> {
    let path = Path::new(pattern);
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    if !name.contains(['*', '?']) {
        return if path.is_file() {
            vec![path.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| wildcard_match(name, n))
        })
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

/// Reads one file_sd file.
pub(crate) fn read_sd_file(path: &Path) -> Result<Vec<TargetGroup>, IngestError> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| IngestError::Config(format!("file_sd {shown}: {e}")))?;
    if meta.len() > MAX_SD_FILE_BYTES {
        return Err(IngestError::Config(format!(
            "file_sd {shown}: larger than {MAX_SD_FILE_BYTES} bytes"
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| IngestError::Config(format!("file_sd {shown}: {e}")))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let groups: Vec<TargetGroup> = if ext == "json" {
        serde_json::from_str(&text)
            .map_err(|e| IngestError::Config(format!("file_sd {shown}: {e}")))?
    } else if text.trim().is_empty() {
        Vec::new()
    } else {
        serde_saphyr::from_str(&text)
            .map_err(|e| IngestError::Config(format!("file_sd {shown}: {e}")))?
    };
    Ok(groups)
}

/// Discovered groups with their source labels (`__meta_filepath` for files).
#[derive(Debug, Clone, Default)]
pub(crate) struct Discovered {
    /// (extra labels, group) pairs.
    pub groups: Vec<(BTreeMap<String, String>, TargetGroup)>,
}

/// Keeps the last good content of each file_sd file, so a file that is momentarily broken does
/// not make its targets disappear.
#[derive(Debug, Default)]
pub(crate) struct FileSdCache {
    files: BTreeMap<PathBuf, Vec<TargetGroup>>,
}

impl FileSdCache {
    /// Re-reads every file named by `cfgs`; files that vanished are forgotten, files that fail to
    /// parse keep their previous groups.
    pub fn refresh(&mut self, cfgs: &[FileSdConfig]) {
        let mut next = BTreeMap::new();
        for c in cfgs {
            for pat in &c.files {
                for path in expand_pattern(pat) {
                    match read_sd_file(&path) {
                        Ok(g) => {
                            next.insert(path, g);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "file_sd: keeping previous targets");
                            if let Some(old) = self.files.get(&path) {
                                next.insert(path.clone(), old.clone());
                            }
                        }
                    }
                }
            }
        }
        self.files = next;
    }

    fn groups(&self) -> impl Iterator<Item = (BTreeMap<String, String>, TargetGroup)> + '_ {
        self.files.iter().flat_map(|(path, groups)| {
            groups.iter().map(move |g| {
                let mut extra = BTreeMap::new();
                extra.insert("__meta_filepath".to_string(), path.display().to_string());
                (extra, g.clone())
            })
        })
    }
}

/// All groups of a pool: static ones first, then those from files.
pub(crate) fn discover(cfg: &ScrapeConfig, files: &FileSdCache) -> Discovered {
    let mut groups: Vec<(BTreeMap<String, String>, TargetGroup)> = cfg
        .static_configs
        .iter()
        .map(|s| {
            (
                BTreeMap::new(),
                TargetGroup {
                    targets: s.targets.clone(),
                    labels: s.labels.clone(),
                },
            )
        })
        .collect();
    groups.extend(files.groups());
    Discovered { groups }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.json", "a.json"));
        assert!(wildcard_match("t?.yml", "t1.yml"));
        assert!(!wildcard_match("t?.yml", "t12.yml"));
        assert!(wildcard_match("a*b*c", "aXXbYc"));
        assert!(!wildcard_match("*.json", "a.yaml"));
        assert!(wildcard_match("*", ""));
    }

    #[test]
    fn reads_json_and_yaml_files() {
        let dir = std::env::temp_dir().join(format!("vigia-ingest-sd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("a.json"),
            r#"[{"targets":["h1:1"],"labels":{"env":"x"}}]"#,
        )
        .unwrap();
        std::fs::write(dir.join("b.yml"), "- targets: ['h2:2']\n").unwrap();
        std::fs::write(dir.join("c.json"), "not json").unwrap();
        let cfg = FileSdConfig {
            files: vec![
                format!("{}/*.json", dir.display()),
                format!("{}/b.yml", dir.display()),
            ],
            refresh_interval: vigia_model::PromDuration(1000),
        };
        let mut cache = FileSdCache::default();
        cache.refresh(std::slice::from_ref(&cfg));
        let groups: Vec<_> = cache.groups().collect();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].1.targets, vec!["h1:1"]);
        assert!(groups[0].0["__meta_filepath"].ends_with("a.json"));
        assert_eq!(groups[1].1.targets, vec!["h2:2"]);
        // A broken file keeps its last good content.
        std::fs::write(dir.join("a.json"), "[").unwrap();
        cache.refresh(std::slice::from_ref(&cfg));
        assert_eq!(cache.groups().count(), 2);
        // A removed file drops its targets.
        std::fs::remove_file(dir.join("a.json")).unwrap();
        cache.refresh(std::slice::from_ref(&cfg));
        assert_eq!(cache.groups().count(), 1);
        assert!(read_sd_file(&dir.join("c.json")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
