//! Located problems in dashboard files (`file:line:column: message`).

use std::fmt;

/// A located problem in a dashboard file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardError {
    /// File name as given.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DashboardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Every problem found in one or more dashboard files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DashboardErrors(pub Vec<DashboardError>);

impl fmt::Display for DashboardErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
