//! Self-measurement helpers (ingest throughput, bytes per sample, head memory per series) that
//! the benchmark command can call. They report numbers and assert nothing about speed.
