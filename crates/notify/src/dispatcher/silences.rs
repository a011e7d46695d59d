//! Silences: create or update, list, look up and expire (the Alertmanager v2 semantics).

use super::*;

pub(crate) fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = nanos
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ u64::from(std::process::id()).rotate_left(32);
    let mut next = || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let (a, b) = (next(), next());
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000; // version 4
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000; // variant
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

impl Alertmanager {
    /// Creates a silence, or updates the one with `id` (in place when Alertmanager would,
    /// otherwise the old one is expired and a new id returned).
    pub fn add_silence(&self, ps: PostableSilence) -> Result<String, NotifyError> {
        let now = self.clock.now_ms();
        let inv = NotifyError::Invalid;
        if ps.matchers.is_empty() {
            return Err(inv("at least one matcher required".to_string()));
        }
        let mut compiled = Vec::new();
        for m in &ps.matchers {
            if !vigia_model::is_valid_label_name(&m.name) {
                return Err(inv(format!("invalid label name {:?}", m.name)));
            }
            compiled.push(m.to_matcher().map_err(|e| inv(e.0))?);
        }
        if compiled.iter().all(|m| m.matches_value("")) {
            return Err(inv(
                "at least one matcher must not match the empty string".to_string()
            ));
        }
        let starts = parse_time(&ps.starts_at)
            .map_err(|e| inv(e.0))?
            .ok_or_else(|| inv("invalid zero start timestamp".to_string()))?;
        let ends = parse_time(&ps.ends_at)
            .map_err(|e| inv(e.0))?
            .ok_or_else(|| inv("invalid zero end timestamp".to_string()))?;
        if starts >= ends {
            return Err(inv("start time must be before end time".to_string()));
        }
        if ends < now {
            return Err(inv("end time can't be in the past".to_string()));
        }
        let mut st = lock(&self.state);
        let mut rec = SilenceRec {
            id: new_id(),
            matchers: ps.matchers.clone(),
            starts_ms: starts.max(now),
            ends_ms: ends,
            updated_ms: now,
            created_by: ps.created_by.clone(),
            comment: ps.comment.clone(),
        };
        if let Some(id) = ps.id.as_deref().filter(|s| !s.is_empty()) {
            let Some(old) = st.silences.get_mut(id) else {
                return Err(NotifyError::NotFound {
                    what: "silence",
                    id: id.to_string(),
                });
            };
            let can_update = old.matchers == ps.matchers
                && match old.state(now) {
                    "active" => starts == old.starts_ms && ends >= now,
                    "pending" => starts >= now,
                    _ => false,
                };
            if can_update {
                rec.id = id.to_string();
                rec.starts_ms = starts;
            } else if old.state(now) != "expired" {
                if old.state(now) == "pending" {
                    old.starts_ms = now;
                }
                old.ends_ms = now;
                old.updated_ms = now;
            }
        }
        let mut e = HistoryEntry::new(now, HistoryKind::SilenceCreated);
        e.author = Some(rec.created_by.clone());
        e.note = Some(rec.comment.clone());
        let ms: Vec<String> = compiled.iter().map(ToString::to_string).collect();
        e.detail = Some(format!(
            "{} {{{}}} {}..{}",
            rec.id,
            ms.join(","),
            fmt_time(rec.starts_ms),
            fmt_time(rec.ends_ms)
        ));
        st.hist.push(e);
        let id = rec.id.clone();
        st.sil_cache.insert(id.clone(), compiled);
        st.silences.insert(id.clone(), rec);
        st.dirty = true;
        self.persist(&mut st)?;
        Ok(id)
    }

    /// Silences whose matchers satisfy `filter` (Alertmanager's rule: each filter matcher must
    /// match the pattern of the silence's matcher of the same name), active first.
    pub fn silences(&self, filter: &[AmMatcher]) -> Vec<GettableSilence> {
        let now = self.clock.now_ms();
        let st = lock(&self.state);
        let mut out: Vec<&SilenceRec> = st
            .silences
            .values()
            .filter(|s| {
                filter.iter().all(|f| {
                    s.matchers
                        .iter()
                        .find(|m| m.name == f.name)
                        .is_some_and(|m| f.matches_value(&m.value))
                })
            })
            .collect();
        let rank = |s: &SilenceRec| match s.state(now) {
            "active" => (0, s.ends_ms),
            "pending" => (1, s.starts_ms),
            _ => (2, -s.ends_ms),
        };
        out.sort_by_key(|s| rank(s));
        out.into_iter().map(|s| s.api(now)).collect()
    }

    /// One silence by id.
    pub fn silence(&self, id: &str) -> Option<GettableSilence> {
        let now = self.clock.now_ms();
        lock(&self.state).silences.get(id).map(|s| s.api(now))
    }

    /// Expires a silence (`DELETE /api/v2/silence/{id}`).
    pub fn expire_silence(&self, id: &str) -> Result<(), NotifyError> {
        let now = self.clock.now_ms();
        let mut st = lock(&self.state);
        let Some(s) = st.silences.get_mut(id) else {
            return Err(NotifyError::NotFound {
                what: "silence",
                id: id.to_string(),
            });
        };
        match s.state(now) {
            "expired" => {
                return Err(NotifyError::Invalid(format!(
                    "silence {id} already expired"
                )));
            }
            "pending" => {
                s.starts_ms = now;
                s.ends_ms = now;
            }
            _ => s.ends_ms = now,
        }
        s.updated_ms = now;
        let mut e = HistoryEntry::new(now, HistoryKind::SilenceExpired);
        e.detail = Some(id.to_string());
        st.hist.push(e);
        st.dirty = true;
        self.persist(&mut st)
    }
}
