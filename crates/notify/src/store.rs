//! Durable files: atomic JSON snapshots (temp file, fsync, rename, directory fsync) and the
//! append-only JSONL history log (fsync per batch; a torn last line is cut on reopen).

use crate::NotifyError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Writes `data` to `path` atomically (temp file, fsync, rename, directory fsync).
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<(), NotifyError> {
    let tmp = path.with_extension("json.tmp");
    let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
    f.write_all(data).map_err(|e| io(&tmp, e))?;
    f.sync_all().map_err(|e| io(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    if let Some(dir) = path.parent()
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads a snapshot; `None` when the file does not exist.
pub fn read_snapshot<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, NotifyError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|source| NotifyError::Corrupt {
                path: path.to_path_buf(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path, e)),
    }
}

fn io(p: &Path, e: std::io::Error) -> NotifyError {
    NotifyError::Io {
        path: p.to_path_buf(),
        source: e,
    }
}

/// An append-only JSONL file.
pub struct JsonlLog {
    path: PathBuf,
    file: File,
}

impl JsonlLog {
    /// Opens (creating) the log and reads every complete record; a torn or unparsable final
    /// line is cut off, unparsable lines in the middle are skipped with a warning.
    pub fn open<T: DeserializeOwned>(path: &Path) -> Result<(Self, Vec<T>), NotifyError> {
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| io(path, e))?;
        let mut out = Vec::new();
        let mut good_end: u64 = 0;
        let mut pos: u64 = 0;
        let mut reader = BufReader::new(&mut file);
        let mut line = Vec::new();
        let mut bad_tail = false;
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| io(path, e))?;
            if n == 0 {
                break;
            }
            pos += n as u64;
            let complete = line.last() == Some(&b'\n');
            match serde_json::from_slice::<T>(&line) {
                Ok(v) if complete => {
                    out.push(v);
                    good_end = pos;
                    bad_tail = false;
                }
                _ if !complete => {
                    bad_tail = true;
                }
                _ => {
                    tracing::warn!(path = %path.display(), offset = pos, "skipping unreadable history line");
                    good_end = pos;
                }
            }
        }
        drop(reader);
        if bad_tail || good_end < pos {
            file.set_len(good_end).map_err(|e| io(path, e))?;
            file.seek(SeekFrom::End(0)).map_err(|e| io(path, e))?;
        }
        Ok((
            JsonlLog {
                path: path.to_path_buf(),
                file,
            },
            out,
        ))
    }

    /// Replaces the log's content with `recs` atomically and reopens it for appending.
    pub fn rewrite<T: Serialize>(path: &Path, recs: &[T]) -> Result<Self, NotifyError> {
        let mut buf = Vec::new();
        for r in recs {
            serde_json::to_writer(&mut buf, r).map_err(|source| NotifyError::Corrupt {
                path: path.to_path_buf(),
                source,
            })?;
            buf.push(b'\n');
        }
        let tmp = path.with_extension("jsonl.tmp");
        let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
        f.write_all(&buf).map_err(|e| io(&tmp, e))?;
        f.sync_all().map_err(|e| io(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| io(path, e))?;
        Ok(JsonlLog {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Appends records and fsyncs.
    pub fn append<T: Serialize>(&mut self, recs: &[T]) -> Result<(), NotifyError> {
        if recs.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for r in recs {
            serde_json::to_writer(&mut buf, r).map_err(|source| NotifyError::Corrupt {
                path: self.path.clone(),
                source,
            })?;
            buf.push(b'\n');
        }
        self.file.write_all(&buf).map_err(|e| io(&self.path, e))?;
        self.file.sync_data().map_err(|e| io(&self.path, e))
    }
}
