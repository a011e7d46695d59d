//! vigia-ingest (placeholder).
