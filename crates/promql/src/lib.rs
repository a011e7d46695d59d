//! vigia-promql (placeholder).
