//! vigia-ml (placeholder).
