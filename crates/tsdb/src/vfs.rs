//! The small file-system interface that every durable write of the TSDB goes through, with the
//! real implementation ([`RealFs`]) and a simulated one ([`SimFs`]) that models power loss: bytes
//! and directory entries that were never fsynced are lost on [`SimFs::crash`].

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// A file opened for writing (appending at the end).
pub trait VfsFile: Send {
    /// Appends all bytes.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Makes the written bytes durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
}

/// A file opened for positional reads.
pub trait VfsReader: Send + Sync {
    /// Reads exactly `len` bytes at `off`.
    fn read_at(&self, off: u64, len: usize) -> io::Result<Vec<u8>>;
    /// File length in bytes.
    fn len(&self) -> u64;
    /// True for an empty file.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// File-system operations used by the WAL and the block writer/reader.
pub trait Vfs: Send + Sync + fmt::Debug {
    /// Creates a directory and its parents (not durable until the parent is synced).
    fn create_dir_all(&self, p: &Path) -> io::Result<()>;
    /// Creates or truncates a file for writing.
    fn create(&self, p: &Path) -> io::Result<Box<dyn VfsFile>>;
    /// Opens an existing file for appending.
    fn open_append(&self, p: &Path) -> io::Result<Box<dyn VfsFile>>;
    /// Opens a file for positional reads.
    fn open_read(&self, p: &Path) -> io::Result<Arc<dyn VfsReader>>;
    /// Reads a whole file.
    fn read(&self, p: &Path) -> io::Result<Vec<u8>>;
    /// Names of the entries of a directory, sorted.
    fn read_dir(&self, p: &Path) -> io::Result<Vec<String>>;
    /// True when `p` is a directory.
    fn is_dir(&self, p: &Path) -> bool;
    /// True when `p` exists.
    fn exists(&self, p: &Path) -> bool;
    /// Length of a file.
    fn file_len(&self, p: &Path) -> io::Result<u64>;
    /// Renames a file or directory (durable once the parent directories are synced).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove_file(&self, p: &Path) -> io::Result<()>;
    /// Removes a directory tree.
    fn remove_dir_all(&self, p: &Path) -> io::Result<()>;
    /// Truncates a file to `len` bytes and syncs it.
    fn truncate(&self, p: &Path, len: u64) -> io::Result<()>;
    /// Makes the entries of a directory durable.
    fn sync_dir(&self, p: &Path) -> io::Result<()>;
    /// Hard-links `src` as `dst`.
    fn hard_link(&self, src: &Path, dst: &Path) -> io::Result<()>;
}

/// Creates `p` (and parents) and syncs every ancestor so the new entries survive power loss.
pub fn create_dir_durable(vfs: &dyn Vfs, p: &Path) -> io::Result<()> {
    vfs.create_dir_all(p)?;
    let mut cur = Some(p);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() {
            break;
        }
        vfs.sync_dir(d)?;
        cur = d.parent();
    }
    Ok(())
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

struct RealFile(std::fs::File);

impl VfsFile for RealFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

struct RealReader(std::fs::File, u64);

impl VfsReader for RealReader {
    fn read_at(&self, off: u64, len: usize) -> io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0u8; len];
        self.0.read_exact_at(&mut buf, off)?;
        Ok(buf)
    }
    fn len(&self) -> u64 {
        self.1
    }
}

impl Vfs for RealFs {
    fn create_dir_all(&self, p: &Path) -> io::Result<()> {
        std::fs::create_dir_all(p)
    }
    fn create(&self, p: &Path) -> io::Result<Box<dyn VfsFile>> {
        Ok(Box::new(RealFile(std::fs::File::create(p)?)))
    }
    fn open_append(&self, p: &Path) -> io::Result<Box<dyn VfsFile>> {
        Ok(Box::new(RealFile(
            std::fs::OpenOptions::new().append(true).open(p)?,
        )))
    }
    fn open_read(&self, p: &Path) -> io::Result<Arc<dyn VfsReader>> {
        let f = std::fs::File::open(p)?;
        let len = f.metadata()?.len();
        Ok(Arc::new(RealReader(f, len)))
    }
    fn read(&self, p: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(p)
    }
    fn read_dir(&self, p: &Path) -> io::Result<Vec<String>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(p)? {
            v.push(e?.file_name().to_string_lossy().into_owned());
        }
        v.sort();
        Ok(v)
    }
    fn is_dir(&self, p: &Path) -> bool {
        p.is_dir()
    }
    fn exists(&self, p: &Path) -> bool {
        p.exists()
    }
    fn file_len(&self, p: &Path) -> io::Result<u64> {
        Ok(std::fs::metadata(p)?.len())
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
    fn remove_file(&self, p: &Path) -> io::Result<()> {
        std::fs::remove_file(p)
    }
    fn remove_dir_all(&self, p: &Path) -> io::Result<()> {
        std::fs::remove_dir_all(p)
    }
    fn truncate(&self, p: &Path, len: u64) -> io::Result<()> {
        let f = std::fs::OpenOptions::new().write(true).open(p)?;
        f.set_len(len)?;
        f.sync_all()
    }
    fn sync_dir(&self, p: &Path) -> io::Result<()> {
        std::fs::File::open(p)?.sync_all()
    }
    fn hard_link(&self, src: &Path, dst: &Path) -> io::Result<()> {
        std::fs::hard_link(src, dst)
    }
}

#[derive(Debug, Clone)]
enum Inode {
    File {
        data: Arc<Vec<u8>>,
        durable: Arc<Vec<u8>>,
    },
    Dir {
        children: BTreeMap<String, u64>,
        durable: BTreeMap<String, u64>,
    },
}

#[derive(Debug, Clone)]
struct SimState {
    inodes: HashMap<u64, Inode>,
    next: u64,
}

/// Simulated file system that keeps everything in memory and tracks what has been made durable:
/// file bytes by `sync_data`, directory entries (creations, renames, removals) by `sync_dir` of
/// the parent. [`SimFs::crash`] returns the file system as it would be found after a power loss.
#[derive(Debug, Clone)]
pub struct SimFs {
    state: Arc<Mutex<SimState>>,
}

impl Default for SimFs {
    fn default() -> Self {
        Self::new()
    }
}

fn not_found(p: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found", p.display()),
    )
}

fn components(p: &Path) -> Vec<String> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect()
}

impl SimState {
    fn lookup(&self, p: &Path) -> Option<u64> {
        let mut cur = 0u64;
        for c in components(p) {
            match self.inodes.get(&cur)? {
                Inode::Dir { children, .. } => cur = *children.get(&c)?,
                Inode::File { .. } => return None,
            }
        }
        Some(cur)
    }

    fn parent_and_name(&self, p: &Path) -> io::Result<(u64, String)> {
        let mut comps = components(p);
        let name = comps.pop().ok_or_else(|| not_found(p))?;
        let parent: PathBuf = comps.iter().collect();
        let pid = self.lookup(&parent).ok_or_else(|| not_found(&parent))?;
        match self.inodes.get(&pid) {
            Some(Inode::Dir { .. }) => Ok((pid, name)),
            _ => Err(not_found(&parent)),
        }
    }

    fn children_mut(&mut self, dir: u64) -> io::Result<&mut BTreeMap<String, u64>> {
        match self.inodes.get_mut(&dir) {
            Some(Inode::Dir { children, .. }) => Ok(children),
            _ => Err(io::Error::other("not a directory")),
        }
    }

    fn new_inode(&mut self, i: Inode) -> u64 {
        self.next += 1;
        self.inodes.insert(self.next, i);
        self.next
    }
}

struct SimFile {
    state: Arc<Mutex<SimState>>,
    ino: u64,
}

impl VfsFile for SimFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut st = self.state.lock();
        match st.inodes.get_mut(&self.ino) {
            Some(Inode::File { data, .. }) => {
                Arc::make_mut(data).extend_from_slice(buf);
                Ok(())
            }
            _ => Err(io::Error::other("file vanished")),
        }
    }
    fn sync_data(&mut self) -> io::Result<()> {
        let mut st = self.state.lock();
        match st.inodes.get_mut(&self.ino) {
            Some(Inode::File { data, durable }) => {
                *durable = data.clone();
                Ok(())
            }
            _ => Err(io::Error::other("file vanished")),
        }
    }
}

struct SimReader(Arc<Vec<u8>>);

impl VfsReader for SimReader {
    fn read_at(&self, off: u64, len: usize) -> io::Result<Vec<u8>> {
        let start = usize::try_from(off).map_err(io::Error::other)?;
        let end = start
            .checked_add(len)
            .ok_or_else(|| io::Error::other("overflow"))?;
        self.0
            .get(start..end)
            .map(|s| s.to_vec())
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "read past end"))
    }
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
}

impl SimFs {
    /// An empty file system with only a durable root directory.
    pub fn new() -> Self {
        let mut inodes = HashMap::new();
        inodes.insert(
            0,
            Inode::Dir {
                children: BTreeMap::new(),
                durable: BTreeMap::new(),
            },
        );
        Self {
            state: Arc::new(Mutex::new(SimState { inodes, next: 0 })),
        }
    }

    /// The file system as found after a power loss now: every file holds only its fsynced bytes
    /// and every directory only its synced entries. The returned instance is independent, so
    /// threads still writing to `self` cannot affect it.
    pub fn crash(&self) -> SimFs {
        let st = self.state.lock();
        let mut inodes = HashMap::new();
        for (id, i) in &st.inodes {
            let n = match i {
                Inode::File { durable, .. } => Inode::File {
                    data: durable.clone(),
                    durable: durable.clone(),
                },
                Inode::Dir { durable, .. } => Inode::Dir {
                    children: durable.clone(),
                    durable: durable.clone(),
                },
            };
            inodes.insert(*id, n);
        }
        SimFs {
            state: Arc::new(Mutex::new(SimState {
                inodes,
                next: st.next,
            })),
        }
    }
}

impl Vfs for SimFs {
    fn create_dir_all(&self, p: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        let mut cur = 0u64;
        for c in components(p) {
            let existing = match st.inodes.get(&cur) {
                Some(Inode::Dir { children, .. }) => children.get(&c).copied(),
                _ => return Err(io::Error::other("not a directory")),
            };
            cur = match existing {
                Some(id) => id,
                None => {
                    let id = st.new_inode(Inode::Dir {
                        children: BTreeMap::new(),
                        durable: BTreeMap::new(),
                    });
                    st.children_mut(cur)?.insert(c, id);
                    id
                }
            };
        }
        Ok(())
    }

    fn create(&self, p: &Path) -> io::Result<Box<dyn VfsFile>> {
        let mut st = self.state.lock();
        let ino = match st.lookup(p) {
            Some(id) => {
                match st.inodes.get_mut(&id) {
                    Some(Inode::File { data, .. }) => *data = Arc::new(Vec::new()),
                    _ => return Err(io::Error::other("is a directory")),
                }
                id
            }
            None => {
                let (parent, name) = st.parent_and_name(p)?;
                let id = st.new_inode(Inode::File {
                    data: Arc::new(Vec::new()),
                    durable: Arc::new(Vec::new()),
                });
                st.children_mut(parent)?.insert(name, id);
                id
            }
        };
        Ok(Box::new(SimFile {
            state: self.state.clone(),
            ino,
        }))
    }

    fn open_append(&self, p: &Path) -> io::Result<Box<dyn VfsFile>> {
        let st = self.state.lock();
        let ino = st.lookup(p).ok_or_else(|| not_found(p))?;
        Ok(Box::new(SimFile {
            state: self.state.clone(),
            ino,
        }))
    }

    fn open_read(&self, p: &Path) -> io::Result<Arc<dyn VfsReader>> {
        let st = self.state.lock();
        let ino = st.lookup(p).ok_or_else(|| not_found(p))?;
        match st.inodes.get(&ino) {
            Some(Inode::File { data, .. }) => Ok(Arc::new(SimReader(data.clone()))),
            _ => Err(io::Error::other("is a directory")),
        }
    }

    fn read(&self, p: &Path) -> io::Result<Vec<u8>> {
        let r = self.open_read(p)?;
        r.read_at(0, r.len() as usize)
    }

    fn read_dir(&self, p: &Path) -> io::Result<Vec<String>> {
        let st = self.state.lock();
        let ino = st.lookup(p).ok_or_else(|| not_found(p))?;
        match st.inodes.get(&ino) {
            Some(Inode::Dir { children, .. }) => Ok(children.keys().cloned().collect()),
            _ => Err(io::Error::other("not a directory")),
        }
    }

    fn is_dir(&self, p: &Path) -> bool {
        let st = self.state.lock();
        st.lookup(p)
            .is_some_and(|i| matches!(st.inodes.get(&i), Some(Inode::Dir { .. })))
    }

    fn exists(&self, p: &Path) -> bool {
        self.state.lock().lookup(p).is_some()
    }

    fn file_len(&self, p: &Path) -> io::Result<u64> {
        let st = self.state.lock();
        let ino = st.lookup(p).ok_or_else(|| not_found(p))?;
        match st.inodes.get(&ino) {
            Some(Inode::File { data, .. }) => Ok(data.len() as u64),
            _ => Ok(0),
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        let (fp, fname) = st.parent_and_name(from)?;
        let (tp, tname) = st.parent_and_name(to)?;
        let id = st
            .children_mut(fp)?
            .remove(&fname)
            .ok_or_else(|| not_found(from))?;
        st.children_mut(tp)?.insert(tname, id);
        Ok(())
    }

    fn remove_file(&self, p: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        let (parent, name) = st.parent_and_name(p)?;
        st.children_mut(parent)?
            .remove(&name)
            .map(|_| ())
            .ok_or_else(|| not_found(p))
    }

    fn remove_dir_all(&self, p: &Path) -> io::Result<()> {
        self.remove_file(p)
    }

    fn truncate(&self, p: &Path, len: u64) -> io::Result<()> {
        let mut st = self.state.lock();
        let ino = st.lookup(p).ok_or_else(|| not_found(p))?;
        match st.inodes.get_mut(&ino) {
            Some(Inode::File { data, durable }) => {
                Arc::make_mut(data).truncate(len as usize);
                *durable = data.clone();
                Ok(())
            }
            _ => Err(io::Error::other("is a directory")),
        }
    }

    fn sync_dir(&self, p: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        let ino = st.lookup(p).ok_or_else(|| not_found(p))?;
        match st.inodes.get_mut(&ino) {
            Some(Inode::Dir { children, durable }) => {
                *durable = children.clone();
                Ok(())
            }
            _ => Err(io::Error::other("not a directory")),
        }
    }

    fn hard_link(&self, src: &Path, dst: &Path) -> io::Result<()> {
        let mut st = self.state.lock();
        let id = st.lookup(src).ok_or_else(|| not_found(src))?;
        let (parent, name) = st.parent_and_name(dst)?;
        st.children_mut(parent)?.insert(name, id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_crash_discards_unsynced() {
        let fs = SimFs::new();
        let d = Path::new("/d");
        fs.create_dir_all(d).unwrap();
        fs.sync_dir(Path::new("/")).unwrap();
        let mut f = fs.create(&d.join("a")).unwrap();
        f.write_all(b"hello").unwrap();
        f.sync_data().unwrap();
        f.write_all(b" world").unwrap();
        // entry not synced yet: the file vanishes on crash
        assert!(!fs.crash().exists(&d.join("a")));
        fs.sync_dir(d).unwrap();
        let c = fs.crash();
        assert_eq!(c.read(&d.join("a")).unwrap(), b"hello");
        // an unsynced rename is undone
        fs.rename(&d.join("a"), &d.join("b")).unwrap();
        let c = fs.crash();
        assert!(c.exists(&d.join("a")) && !c.exists(&d.join("b")));
        fs.sync_dir(d).unwrap();
        assert!(fs.crash().exists(&d.join("b")));
    }
}
