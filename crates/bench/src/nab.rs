//! The Numenta Anomaly Benchmark: corpus loading, running a detector over every file in NAB's
//! own results layout, and scoring result directories with vigia's NAB scorer.

mod cli;
pub mod corpus;
pub mod scorer;

pub use cli::{NabArgs, run_cli};

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub use corpus::{Corpus, CostMatrix, DataFile, Profile, load_corpus};
use scorer::{FileGeometry, Outcome, ProfileScore, normalise, null_score, score_file, score_set};

use vigia_ml::{DetectorConfig, MlError, new_detector};

/// The committed list of files used to choose the detector configuration (the tuning half).
pub const TUNING_FILES: &str = include_str!("../nab_tuning_files.txt");

/// Keys (`category/file.csv`) of the tuning half.
pub fn tuning_keys() -> Vec<&'static str> {
    TUNING_FILES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// Block phases and level-grid offsets of the evaluation dithers (see [`dithered`]).
const DITHERS: [(u32, f64); 8] = [
    (0, 0.0),
    (2, 0.5),
    (4, -0.25),
    (1, 0.25),
    (3, -0.5),
    (5, 0.125),
    (6, -0.375),
    (3, 0.375),
];

/// Number of evaluation dithers.
pub const DITHER_COUNT: usize = DITHERS.len();

/// `cfg` with evaluation dither `k` (0 is `cfg` itself): another block phase and level-grid
/// offset. The ART detector's NAB score moves by several points with where block and level
/// boundaries fall, so configurations are compared by their mean over the dithers
/// (`docs/nab.md`, section 3).
pub fn dithered(cfg: &DetectorConfig, k: usize) -> DetectorConfig {
    let (phase, offset) = DITHERS.get(k % DITHERS.len()).copied().unwrap_or((0, 0.0));
    let mut c = cfg.clone();
    c.art.phase = c.art.phase.wrapping_add(phase);
    c.art.level_offset = (c.art.level_offset + offset).clamp(-1.0, 1.0);
    c
}

/// Scores of one category at the corpus-wide thresholds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CategoryScore {
    /// Category directory name.
    pub category: String,
    /// Number of files.
    pub files: usize,
    /// Number of labelled windows.
    pub windows: usize,
    /// Normalised score per profile (standard, low FP, low FN); `None` without windows.
    pub normalized: Vec<Option<f64>>,
    /// Raw score per profile.
    pub raw: Vec<f64>,
    /// False-positive rows at the standard threshold.
    pub false_positive_rows: usize,
}

/// Scores of one file at the corpus-wide thresholds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileScore {
    /// `category/file.csv`.
    pub key: String,
    /// Rows in the file.
    pub rows: usize,
    /// Labelled windows.
    pub windows: usize,
    /// Whether the file is in the tuning half.
    pub tuning: bool,
    /// Outcome per profile (standard, low FP, low FN).
    pub outcomes: Vec<Outcome>,
}

/// Scores of a subset of the corpus.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HalfScore {
    /// `tuning`, `holdout`, or `holdout_at_tuning_thresholds`.
    pub name: String,
    /// Number of files.
    pub files: usize,
    /// Per-profile scores.
    pub profiles: Vec<ProfileScore>,
}

/// Result of scoring one detector's results on the corpus.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NabReport {
    /// Detector name.
    pub detector: String,
    /// Configuration hash when the detector is vigia's own.
    pub config_hash: Option<String>,
    /// Normalised score, standard profile (thresholds optimised on all files).
    pub standard: f64,
    /// Normalised score, reward_low_FP_rate profile.
    pub reward_low_fp: f64,
    /// Normalised score, reward_low_FN_rate profile.
    pub reward_low_fn: f64,
    /// Per-profile details, including thresholds.
    pub profiles: Vec<ProfileScore>,
    /// Per-category scores at the corpus-wide thresholds.
    pub categories: Vec<CategoryScore>,
    /// Per-file outcomes at the corpus-wide thresholds.
    pub files: Vec<FileScore>,
    /// Tuning half, held-out half (thresholds re-optimised on each), and the held-out half at
    /// the thresholds chosen on the tuning half.
    pub halves: Vec<HalfScore>,
    /// Rows scored.
    pub rows: usize,
    /// Wall time spent running the detector (0 when only scoring).
    pub detector_seconds: f64,
}

/// Scores per-file anomaly scores (`scores[i]` belongs to `corpus.files[i]`).
pub fn score_corpus(
    corpus: &Corpus,
    scores: &[Vec<f64>],
    detector: &str,
) -> Result<NabReport, MlError> {
    if scores.len() != corpus.files.len() {
        return Err(MlError::Invalid(format!(
            "{} score columns for {} files",
            scores.len(),
            corpus.files.len()
        )));
    }
    for (f, s) in corpus.files.iter().zip(scores) {
        if f.values.len() != s.len() {
            return Err(MlError::Invalid(format!(
                "{}: {} scores for {} rows",
                f.key,
                s.len(),
                f.values.len()
            )));
        }
    }
    let geoms: Vec<FileGeometry> = corpus.files.iter().map(FileGeometry::new).collect();
    let all: Vec<(&FileGeometry, &[f64])> = geoms
        .iter()
        .zip(scores)
        .map(|(g, s)| (g, s.as_slice()))
        .collect();
    let profiles: Vec<ProfileScore> = corpus
        .profiles
        .iter()
        .map(|p| score_set(&all, p, None))
        .collect();
    let pick = |name: &str| {
        profiles
            .iter()
            .find(|p| p.profile == name)
            .map_or(f64::NAN, |p| p.normalized)
    };

    let files = file_scores(corpus, &all, &profiles);
    let categories = category_scores(corpus, &geoms, &files, profiles.len());
    let halves = half_scores(corpus, &all);
    Ok(NabReport {
        detector: detector.to_string(),
        config_hash: None,
        standard: pick("standard"),
        reward_low_fp: pick("reward_low_FP_rate"),
        reward_low_fn: pick("reward_low_FN_rate"),
        profiles,
        categories,
        files,
        halves,
        rows: geoms.iter().map(FileGeometry::rows).sum(),
        detector_seconds: 0.0,
    })
}

/// Each file's outcome under every profile, at the profile's corpus-wide threshold.
fn file_scores(
    corpus: &Corpus,
    all: &[(&FileGeometry, &[f64])],
    profiles: &[ProfileScore],
) -> Vec<FileScore> {
    let tuning = tuning_keys();
    corpus
        .files
        .iter()
        .zip(all)
        .map(|(f, (g, s))| FileScore {
            key: f.key.clone(),
            rows: g.rows(),
            windows: g.windows,
            tuning: tuning.contains(&f.key.as_str()),
            outcomes: corpus
                .profiles
                .iter()
                .zip(profiles)
                .map(|(p, ps)| score_file(g, s, &p.cost, ps.threshold))
                .collect(),
        })
        .collect()
}

/// Raw and normalised scores per category (files of a category are contiguous).
fn category_scores(
    corpus: &Corpus,
    geoms: &[FileGeometry],
    files: &[FileScore],
    n_profiles: usize,
) -> Vec<CategoryScore> {
    let mut categories: Vec<CategoryScore> = Vec::new();
    for (i, f) in corpus.files.iter().enumerate() {
        if categories.last().is_none_or(|c| c.category != f.category) {
            categories.push(CategoryScore {
                category: f.category.clone(),
                files: 0,
                windows: 0,
                normalized: Vec::new(),
                raw: vec![0.0; n_profiles],
                false_positive_rows: 0,
            });
        }
        let Some(c) = categories.last_mut() else {
            continue;
        };
        c.files += 1;
        c.windows += f.windows.len();
        if let Some(fs) = files.get(i) {
            for (r, o) in c.raw.iter_mut().zip(&fs.outcomes) {
                *r += o.score;
            }
            c.false_positive_rows += fs.outcomes.first().map_or(0, |o| o.false_positive_rows);
        }
    }
    for c in &mut categories {
        let geos: Vec<&FileGeometry> = corpus
            .files
            .iter()
            .zip(geoms)
            .filter(|(f, _)| f.category == c.category)
            .map(|(_, g)| g)
            .collect();
        c.normalized = corpus
            .profiles
            .iter()
            .zip(&c.raw)
            .map(|(p, &raw)| {
                normalise(
                    raw,
                    null_score(&geos, &p.cost),
                    p.cost.tp * c.windows as f64,
                )
            })
            .collect();
    }
    categories
}

/// Scores of the tuning half, the held-out half, and the held-out half at the tuning half's
/// thresholds (empty when either half has no files).
fn half_scores(corpus: &Corpus, all: &[(&FileGeometry, &[f64])]) -> Vec<HalfScore> {
    let tuning = tuning_keys();
    let (tun, hold): (Vec<_>, Vec<_>) = corpus
        .files
        .iter()
        .zip(all.iter().copied())
        .partition(|(f, _)| tuning.contains(&f.key.as_str()));
    let tun: Vec<_> = tun.into_iter().map(|(_, x)| x).collect();
    let hold: Vec<_> = hold.into_iter().map(|(_, x)| x).collect();
    if tun.is_empty() || hold.is_empty() {
        return Vec::new();
    }
    let set =
        |files: &[(&FileGeometry, &[f64])], at: Option<&[ProfileScore]>| -> Vec<ProfileScore> {
            corpus
                .profiles
                .iter()
                .enumerate()
                .map(|(i, p)| score_set(files, p, at.and_then(|t| t.get(i)).map(|t| t.threshold)))
                .collect()
        };
    let tp = set(&tun, None);
    let hp = set(&hold, None);
    let hf = set(&hold, Some(&tp));
    vec![
        HalfScore {
            name: "tuning".into(),
            files: tun.len(),
            profiles: tp,
        },
        HalfScore {
            name: "holdout".into(),
            files: hold.len(),
            profiles: hp,
        },
        HalfScore {
            name: "holdout_at_tuning_thresholds".into(),
            files: hold.len(),
            profiles: hf,
        },
    ]
}

/// Runs a detector configuration over every file of the corpus (files in parallel, each file
/// sequentially through a fresh detector). `progress(done, total)` is called after each file.
pub fn detect_corpus(
    corpus: &Corpus,
    cfg: &DetectorConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<Vec<f64>> {
    let n = corpus.files.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(n.max(1));
    let mut out: Vec<Vec<f64>> = vec![Vec::new(); n];
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(f) = corpus.files.get(i) else { break };
                        let mut det = new_detector(&cfg.for_known_length(f.values.len()), 0);
                        let scores: Vec<f64> = f
                            .timestamps_ms
                            .iter()
                            .zip(&f.values)
                            .map(|(&t, &v)| det.update(t, v))
                            .collect();
                        mine.push((i, scores));
                        progress(done.fetch_add(1, Ordering::Relaxed) + 1, n);
                    }
                    mine
                })
            })
            .collect();
        for h in handles {
            if let Ok(mine) = h.join() {
                for (i, s) in mine {
                    if let Some(slot) = out.get_mut(i) {
                        *slot = s;
                    }
                }
            }
        }
    });
    out
}

fn results_path(out_dir: &Path, detector: &str, file: &DataFile) -> PathBuf {
    out_dir
        .join(detector)
        .join(&file.category)
        .join(format!("{detector}_{}.csv", file.name))
}

/// Writes one results file in NAB's format: `timestamp,value,anomaly_score,label`.
fn write_results(path: &Path, file: &DataFile, scores: &[f64]) -> Result<(), MlError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| MlError::io(dir, e))?;
    }
    let labels = file.labels();
    let mut buf = String::with_capacity(file.values.len() * 48);
    buf.push_str("timestamp,value,anomaly_score,label\n");
    for (((ts, v), s), l) in file
        .raw_timestamps
        .iter()
        .zip(&file.raw_values)
        .zip(scores)
        .zip(&labels)
    {
        use std::fmt::Write as _;
        let _ = writeln!(buf, "{ts},{v},{s},{l}");
    }
    let mut f = fs::File::create(path).map_err(|e| MlError::io(path, e))?;
    f.write_all(buf.as_bytes())
        .map_err(|e| MlError::io(path, e))
}

/// Runs vigia's detector (default configuration) over all NAB files, writes
/// `out_dir/<detector>/<category>/<detector>_<file>.csv` and scores them.
pub fn run(
    nab_dir: &Path,
    out_dir: &Path,
    detector_name: &str,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<NabReport, MlError> {
    run_with_config(
        nab_dir,
        out_dir,
        detector_name,
        &DetectorConfig::default(),
        progress,
    )
}

/// [`run`] with an explicit detector configuration.
pub fn run_with_config(
    nab_dir: &Path,
    out_dir: &Path,
    detector_name: &str,
    cfg: &DetectorConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<NabReport, MlError> {
    if detector_name.is_empty() || detector_name.contains(['/', '\\', '_']) {
        return Err(MlError::Invalid(format!(
            "detector name {detector_name:?} must be non-empty without '/', '\\' or '_' (NAB splits file names on '_')"
        )));
    }
    let corpus = load_corpus(nab_dir)?;
    let start = Instant::now();
    let scores = detect_corpus(&corpus, cfg, progress);
    let secs = start.elapsed().as_secs_f64();
    for (f, s) in corpus.files.iter().zip(&scores) {
        write_results(&results_path(out_dir, detector_name, f), f, s)?;
    }
    let mut report = score_corpus(&corpus, &scores, detector_name)?;
    report.config_hash = Some(cfg.hash());
    report.detector_seconds = secs;
    Ok(report)
}

/// Mean, spread and range of one normalised score over the evaluation dithers.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Spread {
    /// Mean over the dithers.
    pub mean: f64,
    /// Population standard deviation.
    pub sd: f64,
    /// Lowest value.
    pub min: f64,
    /// Highest value.
    pub max: f64,
}

impl Spread {
    /// Mean, population sd, min and max of `xs` (all NaN when it is empty).
    pub fn of(xs: &[f64]) -> Spread {
        if xs.is_empty() {
            return Spread {
                mean: f64::NAN,
                sd: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        Spread {
            mean,
            sd,
            min: xs.iter().copied().fold(f64::INFINITY, f64::min),
            max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

impl std::fmt::Display for Spread {
    /// `mean ± sd (min..max)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2} ± {:.2} ({:.1}..{:.1})",
            self.mean, self.sd, self.min, self.max
        )
    }
}

/// Scores of one set (all files, tuning half, held-out half) over the evaluation dithers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DitherSet {
    /// `all`, `tuning` or `holdout`.
    pub name: String,
    /// Standard, reward_low_FP, reward_low_FN.
    pub profiles: Vec<Spread>,
}

/// The same configuration run under the first `n` evaluation dithers ([`dithered`]), each
/// scored like [`score_corpus`]: how much of a single run's score is where the block and
/// level boundaries happen to fall.
pub fn dither_summary(
    corpus: &Corpus,
    cfg: &DetectorConfig,
    n: usize,
) -> Result<Vec<DitherSet>, MlError> {
    // runs[k][set][profile]
    let mut runs: Vec<Vec<Vec<f64>>> = Vec::new();
    for k in 0..n {
        let scores = detect_corpus(corpus, &dithered(cfg, k), &|_, _| {});
        let r = score_corpus(corpus, &scores, "dither")?;
        let mut sets = vec![vec![r.standard, r.reward_low_fp, r.reward_low_fn]];
        for h in r.halves.iter().take(2) {
            sets.push(h.profiles.iter().map(|p| p.normalized).collect());
        }
        runs.push(sets);
    }
    let names = ["all", "tuning", "holdout"];
    let sets = runs.first().map_or(0, Vec::len);
    let profiles = corpus.profiles.len().min(3);
    Ok((0..sets)
        .map(|i| DitherSet {
            name: names.get(i).unwrap_or(&"set").to_string(),
            profiles: (0..profiles)
                .map(|p| {
                    let xs: Vec<f64> = runs
                        .iter()
                        .filter_map(|r| r.get(i).and_then(|s| s.get(p)).copied())
                        .collect();
                    Spread::of(&xs)
                })
                .collect(),
        })
        .collect())
}

/// Reads the `anomaly_score` column of a results file (any column order, header required).
fn read_anomaly_scores(path: &Path) -> Result<Vec<f64>, MlError> {
    let text = fs::read_to_string(path).map_err(|e| MlError::io(path, e))?;
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Err(MlError::parse(path, 1, "empty file"));
    };
    let Some(col) = header
        .trim_end_matches('\r')
        .split(',')
        .position(|c| c.trim() == "anomaly_score")
    else {
        return Err(MlError::parse(path, 1, "no anomaly_score column"));
    };
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let Some(cell) = line.split(',').nth(col) else {
            return Err(MlError::parse(path, i + 2, "missing anomaly_score cell"));
        };
        let v: f64 = cell
            .trim()
            .parse()
            .map_err(|_| MlError::parse(path, i + 2, format!("bad anomaly_score {cell:?}")))?;
        out.push(v);
    }
    Ok(out)
}

/// Reads the `anomaly_score` column of every results file of `detector_name` for `corpus`.
/// `results_dir` may be either the parent (containing `<detector>/`) or the detector directory.
pub fn load_results(
    corpus: &Corpus,
    results_dir: &Path,
    detector_name: &str,
) -> Result<Vec<Vec<f64>>, MlError> {
    let nested = results_dir.join(detector_name);
    let base = if nested.is_dir() {
        nested
    } else {
        results_dir.to_path_buf()
    };
    corpus
        .files
        .iter()
        .map(|f| {
            read_anomaly_scores(
                &base
                    .join(&f.category)
                    .join(format!("{detector_name}_{}.csv", f.name)),
            )
        })
        .collect()
}

/// Scores an existing results directory in NAB's layout. `results_dir` may be either the
/// parent (containing `<detector>/`) or the detector directory itself. Scores are recomputed
/// from the raw `anomaly_score` column; thresholds are re-optimised per profile.
pub fn score_results_dir(
    nab_dir: &Path,
    results_dir: &Path,
    detector_name: &str,
) -> Result<NabReport, MlError> {
    let corpus = load_corpus(nab_dir)?;
    let scores = load_results(&corpus, results_dir, detector_name)?;
    score_corpus(&corpus, &scores, detector_name)
}
