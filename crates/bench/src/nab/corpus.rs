//! Loading the NAB corpus: data files, anomaly windows and application profiles.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use vigia_ml::MlError;
use vigia_ml::time::parse_timestamp_ms;

/// One NAB data file with its ground-truth anomaly windows.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// Relative key as used in NAB's label file, e.g. `realKnownCause/nyc_taxi.csv`.
    pub key: String,
    /// Category directory, e.g. `realKnownCause`.
    pub category: String,
    /// File name without the `.csv` suffix, e.g. `nyc_taxi`.
    pub name: String,
    /// Timestamps exactly as written in the source file.
    pub raw_timestamps: Vec<String>,
    /// Values exactly as written in the source file.
    pub raw_values: Vec<String>,
    /// Timestamps in Unix milliseconds.
    pub timestamps_ms: Vec<i64>,
    /// Parsed values.
    pub values: Vec<f64>,
    /// Anomaly windows as inclusive `(start, end)` Unix milliseconds.
    pub windows: Vec<(i64, i64)>,
}

impl DataFile {
    /// Row-wise 0/1 labels: 1 inside any window (inclusive bounds), as NAB's labeler does.
    pub fn labels(&self) -> Vec<u8> {
        self.timestamps_ms
            .iter()
            .map(|&t| u8::from(self.windows.iter().any(|&(a, b)| t >= a && t <= b)))
            .collect()
    }
}

/// Cost weights of one NAB application profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostMatrix {
    /// Weight of a true positive (the earliest detection in a window).
    pub tp: f64,
    /// Weight of each false positive row.
    pub fp: f64,
    /// Cost of a missed window.
    pub fn_: f64,
}

/// A named NAB application profile.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Profile name as in `config/profiles.json` (`standard`, `reward_low_FP_rate`, ...).
    pub name: String,
    /// Its cost matrix.
    pub cost: CostMatrix,
}

/// The whole corpus: every data file (sorted by key) and the profiles.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Data files sorted by key.
    pub files: Vec<DataFile>,
    /// Profiles in the canonical order standard, reward_low_FP_rate, reward_low_FN_rate
    /// (any further profiles follow by name).
    pub profiles: Vec<Profile>,
}

impl Corpus {
    /// Total number of labelled windows over all files.
    pub fn window_count(&self) -> usize {
        self.files.iter().map(|f| f.windows.len()).sum()
    }
}

/// Reads a NAB data CSV (`timestamp,value` with header). Returns raw and parsed columns.
pub(crate) fn read_data_csv(path: &Path) -> Result<DataFile, MlError> {
    let text = fs::read_to_string(path).map_err(|e| MlError::io(path, e))?;
    let mut raw_timestamps = Vec::new();
    let mut raw_values = Vec::new();
    let mut timestamps_ms = Vec::new();
    let mut values = Vec::new();
    for (idx, line) in text.lines().enumerate().skip(1) {
        let line_no = idx + 1;
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let mut parts = line.splitn(3, ',');
        let (Some(ts), Some(val)) = (parts.next(), parts.next()) else {
            return Err(MlError::parse(path, line_no, "expected `timestamp,value`"));
        };
        let Some(t) = parse_timestamp_ms(ts) else {
            return Err(MlError::parse(
                path,
                line_no,
                format!("bad timestamp {ts:?}"),
            ));
        };
        let v: f64 = val
            .trim()
            .parse()
            .map_err(|_| MlError::parse(path, line_no, format!("bad value {val:?}")))?;
        raw_timestamps.push(ts.to_string());
        raw_values.push(val.trim().to_string());
        timestamps_ms.push(t);
        values.push(v);
    }
    Ok(DataFile {
        key: String::new(),
        category: String::new(),
        name: String::new(),
        raw_timestamps,
        raw_values,
        timestamps_ms,
        values,
        windows: Vec::new(),
    })
}

fn read_windows(path: &Path) -> Result<BTreeMap<String, Vec<(i64, i64)>>, MlError> {
    let text = fs::read_to_string(path).map_err(|e| MlError::io(path, e))?;
    let raw: BTreeMap<String, Vec<Vec<String>>> =
        serde_json::from_str(&text).map_err(|e| MlError::parse(path, e.line(), e.to_string()))?;
    let mut out = BTreeMap::new();
    for (key, wins) in raw {
        let mut parsed = Vec::with_capacity(wins.len());
        for w in wins {
            let [a, b] = w.as_slice() else {
                return Err(MlError::parse(
                    path,
                    0,
                    format!("window of {key} is not a pair"),
                ));
            };
            let (Some(a), Some(b)) = (parse_timestamp_ms(a), parse_timestamp_ms(b)) else {
                return Err(MlError::parse(
                    path,
                    0,
                    format!("bad window timestamp in {key}"),
                ));
            };
            parsed.push((a, b));
        }
        parsed.sort_unstable();
        out.insert(key, parsed);
    }
    Ok(out)
}

/// Reads `config/profiles.json`.
pub fn read_profiles(path: &Path) -> Result<Vec<Profile>, MlError> {
    #[derive(serde::Deserialize)]
    struct Raw {
        #[serde(rename = "CostMatrix")]
        cost: RawCost,
    }
    #[derive(serde::Deserialize)]
    #[allow(non_snake_case)]
    struct RawCost {
        tpWeight: f64,
        fpWeight: f64,
        fnWeight: f64,
    }
    let text = fs::read_to_string(path).map_err(|e| MlError::io(path, e))?;
    let raw: BTreeMap<String, Raw> =
        serde_json::from_str(&text).map_err(|e| MlError::parse(path, e.line(), e.to_string()))?;
    let rank = |n: &str| match n {
        "standard" => 0,
        "reward_low_FP_rate" => 1,
        "reward_low_FN_rate" => 2,
        _ => 3,
    };
    let mut profiles: Vec<Profile> = raw
        .into_iter()
        .map(|(name, r)| Profile {
            name,
            cost: CostMatrix {
                tp: r.cost.tpWeight,
                fp: r.cost.fpWeight,
                fn_: r.cost.fnWeight,
            },
        })
        .collect();
    profiles.sort_by(|a, b| rank(&a.name).cmp(&rank(&b.name)).then(a.name.cmp(&b.name)));
    Ok(profiles)
}

/// Loads `data/<category>/<file>.csv`, `labels/combined_windows.json` and
/// `config/profiles.json` from a NAB checkout. Every window bound must be a timestamp of its
/// file (NAB enforces the same).
pub fn load_corpus(nab_dir: &Path) -> Result<Corpus, MlError> {
    let data_dir = nab_dir.join("data");
    let windows = read_windows(&nab_dir.join("labels").join("combined_windows.json"))?;
    let profiles = read_profiles(&nab_dir.join("config").join("profiles.json"))?;
    let mut categories: Vec<_> = fs::read_dir(&data_dir)
        .map_err(|e| MlError::io(&data_dir, e))?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    categories.sort();
    let mut files = Vec::new();
    for category in categories {
        let dir = data_dir.join(&category);
        let mut names: Vec<_> = fs::read_dir(&dir)
            .map_err(|e| MlError::io(&dir, e))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".csv"))
            .collect();
        names.sort();
        for file_name in names {
            let path = dir.join(&file_name);
            let mut df = read_data_csv(&path)?;
            let key = format!("{category}/{file_name}");
            let wins = windows.get(&key).cloned().unwrap_or_default();
            for &(a, b) in &wins {
                if !df.timestamps_ms.contains(&a) || !df.timestamps_ms.contains(&b) {
                    return Err(MlError::parse(
                        &path,
                        0,
                        "a window bound in combined_windows.json is not a timestamp of this file",
                    ));
                }
            }
            df.windows = wins;
            df.name = file_name.trim_end_matches(".csv").to_string();
            df.category = category.clone();
            df.key = key;
            files.push(df);
        }
    }
    if files.is_empty() {
        return Err(MlError::parse(&data_dir, 0, "no data files found"));
    }
    Ok(Corpus { files, profiles })
}
