//! Placeholders for the receiver configuration types of `vigia-receivers` (AM `receivers:`
//! entries and `global:`) until that crate exports them: they keep the receiver's name and the
//! global `resolve_timeout`, and accept every other field unchanged.

use serde::Deserialize;
use serde::de::IgnoredAny;
use std::collections::BTreeMap;
use vigia_model::PromDuration;

/// One `receivers:` entry (only the name is interpreted here).
#[derive(Debug, Clone, Deserialize)]
pub struct ReceiverConfig {
    /// The receiver's name, referenced by routes and escalation levels.
    pub name: String,
    /// Integration settings, interpreted by `vigia-receivers`.
    #[serde(flatten)]
    pub rest: BTreeMap<String, IgnoredAny>,
}

/// The `global:` section (only `resolve_timeout` is interpreted here).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GlobalConfig {
    /// How long an alert without `endsAt` stays firing after its last update (default 5m).
    #[serde(default)]
    pub resolve_timeout: Option<PromDuration>,
    /// Other settings, interpreted by `vigia-receivers`.
    #[serde(flatten)]
    pub rest: BTreeMap<String, IgnoredAny>,
}

impl GlobalConfig {
    /// `resolve_timeout` in milliseconds.
    pub fn resolve_timeout_ms(&self) -> i64 {
        self.resolve_timeout.map_or(5 * 60_000, |d| d.as_millis())
    }
}
