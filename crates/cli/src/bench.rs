//! `vigia bench …`: performance measured side by side against the real peer, reported as ratios.

pub mod ingest;
pub mod procs;
pub mod query;
pub mod rules;
