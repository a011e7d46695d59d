//! Taking alerts in: validation of `POST /api/v2/alerts` alerts and merging them into the state.

use super::*;

impl Alertmanager {
    /// Stores posted alerts like Alertmanager's `POST /api/v2/alerts`. Invalid alerts are
    /// refused with one message each; the valid ones are stored anyway.
    pub fn put_alerts(&self, alerts: Vec<PostableAlert>) -> Result<(), NotifyError> {
        let now = self.clock.now_ms();
        let mut st = lock(&self.state);
        let resolve_timeout = st.cfg.resolve_timeout_ms();
        let mut errs = Vec::new();
        for (i, pa) in alerts.into_iter().enumerate() {
            let rec = match Self::validate_alert(&pa, now, resolve_timeout) {
                Ok(r) => r,
                Err(e) => {
                    errs.push(format!("alert {i}: {e}"));
                    continue;
                }
            };
            let fp = rec.fp;
            st.dirty = true;
            let status = if rec.resolved(now) {
                "resolved"
            } else {
                "firing"
            };
            *st.metrics.received.entry(status.to_string()).or_default() += 1;
            let merged = match st.alerts.get(&fp) {
                Some(old) if rec.starts_ms <= old.ends_ms => {
                    let mut m = merge(old, &rec, now);
                    // The same episode: keep vigia's state.
                    m.processed = old.processed;
                    m.silenced_by = old.silenced_by.clone();
                    m.inhibited_by = old.inhibited_by.clone();
                    m.ack = old.ack.clone();
                    m.manual = old.manual.clone();
                    m.esc_policy = old.esc_policy.clone();
                    m.esc_level = old.esc_level;
                    m.esc_severity = old.esc_severity.clone();
                    m.esc_receivers = old.esc_receivers.clone();
                    m.esc_resolved_sent = old.esc_resolved_sent;
                    m.resolved_logged = old.resolved_logged;
                    if old.resolved_logged && !m.resolved(now) {
                        m.resolved_logged = false;
                        st.hist
                            .push(HistoryEntry::alert(now, HistoryKind::Firing, &m));
                    } else if !m.resolved_logged && m.resolved(now) && m.manual.is_none() {
                        m.resolved_logged = true;
                        st.hist
                            .push(HistoryEntry::alert(now, HistoryKind::Resolved, &m));
                    }
                    m
                }
                _ if rec.resolved(now) => {
                    // Resolved and unknown (e.g. Prometheus resending a resolved alert after
                    // its resolution was notified): nothing to do.
                    continue;
                }
                _ => {
                    let m = rec;
                    {
                        st.hist
                            .push(HistoryEntry::alert(now, HistoryKind::Firing, &m));
                    }
                    m
                }
            };
            let manual = merged.manual.is_some();
            st.alerts.insert(fp, merged);
            if !manual {
                st.insert_into_groups(fp, now);
            }
        }
        if st.hist.is_empty() {
            // Only `endsAt`/annotation refreshes: the next tick writes the snapshot.
        } else {
            self.persist(&mut st)?;
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(NotifyError::InvalidAlerts(errs))
        }
    }

    pub(crate) fn validate_alert(
        pa: &PostableAlert,
        now: i64,
        resolve_timeout: i64,
    ) -> Result<AlertRec, String> {
        if pa.labels.is_empty() {
            return Err("at least one label pair required".to_string());
        }
        for (k, v) in &pa.labels {
            if !vigia_model::is_valid_label_name(k) {
                return Err(format!("invalid label set: invalid name {k:?}"));
            }
            if v.is_empty() {
                return Err(format!("invalid label set: empty value for {k:?}"));
            }
        }
        for k in pa.annotations.keys() {
            if !vigia_model::is_valid_label_name(k) {
                return Err(format!("invalid annotations: invalid name {k:?}"));
            }
        }
        let starts = pa
            .starts_at
            .as_deref()
            .map(parse_time)
            .transpose()
            .map_err(|e| e.0)?
            .flatten();
        let ends = pa
            .ends_at
            .as_deref()
            .map(parse_time)
            .transpose()
            .map_err(|e| e.0)?
            .flatten();
        let starts_ms = starts.or(ends).unwrap_or(now);
        let timeout = ends.is_none();
        let ends_ms = ends.unwrap_or(now + resolve_timeout);
        if ends_ms < starts_ms {
            return Err("start time must be before end time".to_string());
        }
        Ok(AlertRec {
            fp: fingerprint(&pa.labels),
            labels: pa.labels.clone(),
            annotations: pa.annotations.clone(),
            starts_ms,
            ends_ms,
            updated_ms: now,
            timeout,
            generator_url: pa.generator_url.clone().unwrap_or_default(),
            processed: false,
            resolved_logged: false,
            silenced_by: Vec::new(),
            inhibited_by: Vec::new(),
            ack: None,
            manual: None,
            esc_policy: None,
            esc_level: 0,
            esc_severity: None,
            esc_receivers: Vec::new(),
            esc_resolved_sent: false,
        })
    }
}
