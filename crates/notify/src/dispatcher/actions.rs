//! What operators do to an alert: acknowledge it (stops escalation) or resolve it by hand, with
//! a note and an author.

use super::*;

pub(crate) fn parse_fp(s: &str) -> Result<u64, NotifyError> {
    u64::from_str_radix(s, 16)
        .ok()
        .filter(|_| !s.is_empty() && s.len() <= 16)
        .ok_or_else(|| NotifyError::Invalid(format!("invalid fingerprint {s:?}")))
}

impl Alertmanager {
    /// Acknowledges an alert: escalation stops. Unknown fingerprint → [`NotifyError::NotFound`].
    pub fn ack(&self, fingerprint_hex: &str, author: &str, note: &str) -> Result<(), NotifyError> {
        let fp = parse_fp(fingerprint_hex)?;
        let now = self.clock.now_ms();
        let mut st = lock(&self.state);
        let Some(a) = st.alerts.get_mut(&fp) else {
            return Err(NotifyError::NotFound {
                what: "alert",
                id: fingerprint_hex.to_string(),
            });
        };
        a.ack = Some(Action {
            by: author.to_string(),
            at_ms: now,
            note: note.to_string(),
        });
        let mut e = HistoryEntry::alert(now, HistoryKind::Ack, a);
        e.author = Some(author.to_string());
        e.note = Some(note.to_string());
        let alert = a.notify_alert(now, None);
        st.hist.push(e);
        st.dirty = true;
        // Tell the alert's receivers (providers with an acknowledge action act on it: PagerDuty
        // acknowledges the incident, Opsgenie the alert).
        let acks: Vec<Notification> = st
            .groups
            .values()
            .filter(|g| g.alerts.contains(&fp))
            .map(|g| {
                let mut n = self.base_notification(
                    &g.route.receiver,
                    g.key.clone(),
                    vec![alert.clone()],
                    g.labels.clone(),
                );
                n.acknowledged = Some(vigia_receivers::Acknowledgement {
                    by: author.to_string(),
                    note: note.to_string(),
                });
                n
            })
            .collect();
        let res = self.persist(&mut st);
        drop(st);
        for n in acks {
            if let Err(err) = self.sink.send(n) {
                tracing::warn!(error = %err, "acknowledgement not handed to delivery");
            }
        }
        res
    }

    /// Resolves an alert manually: a resolved notification goes out at the next tick and the
    /// alert is suppressed until its condition clears. Unknown fingerprint →
    /// [`NotifyError::NotFound`].
    pub fn resolve(
        &self,
        fingerprint_hex: &str,
        author: &str,
        note: &str,
    ) -> Result<(), NotifyError> {
        let fp = parse_fp(fingerprint_hex)?;
        let now = self.clock.now_ms();
        let mut st = lock(&self.state);
        let Some(a) = st.alerts.get_mut(&fp) else {
            return Err(NotifyError::NotFound {
                what: "alert",
                id: fingerprint_hex.to_string(),
            });
        };
        if a.resolved(now) {
            return Err(NotifyError::Invalid(format!(
                "alert {fingerprint_hex} is already resolved"
            )));
        }
        if a.manual.is_none() {
            a.manual = Some(Action {
                by: author.to_string(),
                at_ms: now,
                note: note.to_string(),
            });
        }
        let mut e = HistoryEntry::alert(now, HistoryKind::ManualResolve, a);
        e.author = Some(author.to_string());
        e.note = Some(note.to_string());
        st.hist.push(e);
        for g in st.groups.values_mut() {
            if g.alerts.contains(&fp) {
                g.next_flush_ms = g.next_flush_ms.min(now);
            }
        }
        st.dirty = true;
        self.persist(&mut st)
    }
}
