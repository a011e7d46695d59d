//! Loading dashboards: from YAML text, a file, or every `*.yaml` / `*.yml` of a directory,
//! collecting every error.

use super::raw::RawDashboard;
use super::validate::{Ctx, convert};
use super::{Dashboard, DashboardError, DashboardErrors};
use std::path::Path;

impl Dashboard {
    /// Parses and validates a dashboard; `file` names it in errors.
    pub fn from_yaml(file: &str, text: &str) -> Result<Dashboard, DashboardErrors> {
        let raw: RawDashboard = match serde_saphyr::from_str(text) {
            Ok(r) => r,
            Err(e) => {
                let (line, column) = e
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .unwrap_or((0, 0));
                return Err(DashboardErrors(vec![DashboardError {
                    file: file.to_string(),
                    line,
                    column,
                    message: vigia_model::config::yaml_message(&e),
                }]));
            }
        };
        let mut cx = Ctx {
            file,
            errors: Vec::new(),
        };
        let d = convert(raw, &mut cx);
        if cx.errors.is_empty() {
            Ok(d)
        } else {
            Err(DashboardErrors(cx.errors))
        }
    }

    /// Reads and parses one file.
    pub fn load_file(path: &Path) -> Result<Dashboard, DashboardErrors> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Dashboard::from_yaml(&name, &text),
            Err(e) => Err(DashboardErrors(vec![DashboardError {
                file: name,
                line: 0,
                column: 0,
                message: e.to_string(),
            }])),
        }
    }

    /// Loads every `*.yaml`/`*.yml` in `dir`, sorted by file name; names must be unique.
    /// Collects every error of every file.
    pub fn load_dir(dir: &Path) -> Result<Vec<Dashboard>, DashboardErrors> {
        let io_err = |e: std::io::Error| {
            DashboardErrors(vec![DashboardError {
                file: dir.display().to_string(),
                line: 0,
                column: 0,
                message: e.to_string(),
            }])
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(io_err)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml") | Some("yml")
                )
            })
            .collect();
        paths.sort();
        let mut out: Vec<Dashboard> = Vec::new();
        let mut errors = Vec::new();
        for p in paths {
            match Dashboard::load_file(&p) {
                Ok(d) => {
                    if out.iter().any(|o| o.name == d.name) {
                        errors.push(DashboardError {
                            file: p.display().to_string(),
                            line: 0,
                            column: 0,
                            message: format!("duplicate dashboard name {:?}", d.name),
                        });
                    } else {
                        out.push(d);
                    }
                }
                Err(e) => errors.extend(e.0),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(DashboardErrors(errors))
        }
    }
}
