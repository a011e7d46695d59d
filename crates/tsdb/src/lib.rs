//! vigia-tsdb: the embedded time-series database. It stores samples durably and serves them
//! back, implementing the `vigia-model` storage traits ([`vigia_model::Appender`],
//! [`vigia_model::Querier`], [`vigia_model::StorageAdmin`]) with Prometheus semantics.
//!
//! Layout of the data directory (see `docs/format/`):
//! - `wal/` — write-ahead log segments and checkpoints ([`wal`]),
//! - `<ULID>/` — immutable blocks with `meta.json`, `chunks`, `index` ([`block`]),
//! - `corrupted/` — blocks found damaged at open, moved aside,
//! - `snapshots/<name>/` — snapshots made by [`vigia_model::StorageAdmin::snapshot`].
//!
//! New samples go to the in-memory [`head`] (Gorilla XOR chunks, roaring postings) and to the
//! WAL with group commit; the head is cut into blocks, which are compacted and expired by a
//! background thread. All durable I/O goes through the [`vfs::Vfs`] trait so power loss can be
//! simulated in tests.

pub mod block;
mod config;
mod db;
pub mod encoding;
pub mod head;
pub mod postings;
pub mod vfs;
pub mod wal;
pub mod xor;

pub use config::StorageConfig;
pub use db::{Tsdb, TsdbOptions};
