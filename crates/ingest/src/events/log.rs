//! The redo log (`events.log`): one JSON line per accepted batch, fsynced before its samples
//! are appended to storage, replayed on start to rebuild the counters and the seen ids. A torn
//! last line is cut off; a record whose samples could not be stored is cut back out.

use super::series::State;
use crate::IngestError;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use vigia_model::Appender;
use vigia_model::events::Event;

/// One line of the log: the new events of a batch.
#[derive(Serialize, Deserialize)]
struct Record {
    events: Vec<Event>,
}

pub(super) fn storage(path: &Path, e: impl std::fmt::Display) -> IngestError {
    IngestError::Storage(format!("{}: {e}", path.display()))
}

/// Rebuilds the state from the log at `log` (empty when there is none yet), and re-appends
/// the last batch's samples to `appender` in case a crash interrupted it.
pub(super) fn replay(log: &Path, appender: &dyn Appender) -> Result<State, IngestError> {
    let mut state = State::default();
    if !log.exists() {
        return Ok(state);
    }
    let text = std::fs::read(log).map_err(|e| storage(log, e))?;
    // A torn final line (crash or failed write mid-record) was never acknowledged: cut
    // the file back to the last complete line so later records stay readable.
    let complete = text
        .iter()
        .rposition(|b| *b == b'\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    if complete < text.len() {
        tracing::warn!(file = %log.display(), bytes = text.len() - complete, "truncating a torn events log tail");
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(log)
            .map_err(|e| storage(log, e))?;
        f.set_len(complete as u64)
            .and_then(|()| f.sync_data())
            .map_err(|e| storage(log, e))?;
    }
    let mut last = Vec::new();
    for (i, line) in text[..complete].split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        match serde_json::from_slice::<Record>(line) {
            Ok(r) => last = state.apply(&r.events).1,
            Err(e) => {
                tracing::warn!(file = %log.display(), line = i + 1, error = %e, "ignoring a damaged events log record")
            }
        }
    }
    // The last batch may have been logged but not stored when the process stopped;
    // storing identical samples again is a no-op.
    if !last.is_empty() {
        appender
            .append(&last)
            .map_err(|e| IngestError::Storage(e.to_string()))?;
    }
    Ok(state)
}

/// A record written (and synced) to the log whose samples are not stored yet.
pub(super) struct LoggedRecord<'a> {
    file: std::fs::File,
    /// The log's length before the record.
    before: u64,
    path: &'a Path,
}

impl LoggedRecord<'_> {
    /// Cuts the record back out of the log, so the batch can be retried and the log stays
    /// readable.
    pub(super) fn undo(&self) {
        if let Err(e) = self
            .file
            .set_len(self.before)
            .and_then(|()| self.file.sync_data())
        {
            tracing::error!(file = %self.path.display(), error = %e, "cannot remove a failed events log record");
        }
    }
}

/// Appends the record of `events` to the log at `path` and syncs it; a failed write is undone.
pub(super) fn write_record(
    path: &Path,
    events: Vec<Event>,
) -> Result<LoggedRecord<'_>, IngestError> {
    let mut line = serde_json::to_vec(&Record { events }).map_err(|e| storage(path, e))?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| storage(path, e))?;
    let before = file.metadata().map_err(|e| storage(path, e))?.len();
    if let Err(e) = file.write_all(&line).and_then(|()| file.sync_data()) {
        let record = LoggedRecord { file, before, path };
        record.undo();
        return Err(storage(path, e));
    }
    Ok(LoggedRecord { file, before, path })
}
