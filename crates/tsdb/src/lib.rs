//! vigia-tsdb: the embedded time-series database (head, WAL, blocks, compaction, retention)
//! implementing the storage traits of `vigia-model` with Prometheus semantics.

pub mod encoding;
pub mod head;
pub mod postings;
pub mod vfs;
pub mod xor;
pub mod block;
pub mod wal;
