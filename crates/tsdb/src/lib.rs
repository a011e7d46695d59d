//! vigia-tsdb (placeholder).
