//! vigia-server (placeholder).
