//! The clock's work: refreshing state (resolve timeouts, inhibition, silences), planning the
//! group flushes that are due (group_wait, group_interval, repeat_interval, time intervals) and
//! handing their notifications to the sink, then forgetting what is done.

use super::*;

/// A planned group notification.
pub(crate) struct GroupSend {
    pub(crate) map_key: String,
    pub(crate) notification: Notification,
    pub(crate) firing: BTreeSet<u64>,
    pub(crate) resolved: BTreeSet<u64>,
    /// Resolved alerts of the group with their `updated_ms`, removed after a successful send.
    pub(crate) resolved_seen: Vec<(u64, i64)>,
}

impl Alertmanager {
    /// Does everything due at the clock's current time: status refresh (silences,
    /// inhibition), escalations, group flushes through the notification log, and cleanup.
    pub fn tick(&self) -> Result<(), NotifyError> {
        let _t = lock(&self.tick_lock);
        let now = self.clock.now_ms();
        let (group_sends, esc_sends, early) = {
            let mut st = lock(&self.state);
            self.refresh(&mut st, now);
            let esc = self.plan_escalations(&st, now);
            let groups = self.plan_flushes(&mut st, now);
            self.cleanup(&mut st, now);
            let hist = std::mem::take(&mut st.hist);
            // A history write error must not drop the planned notifications.
            let early = self.append_history(hist);
            (groups, esc, early)
        };
        let mut group_results = Vec::new();
        for g in group_sends {
            let r = self.sink.send(g.notification.clone());
            group_results.push((g, r));
        }
        let mut esc_results = Vec::new();
        for e in esc_sends {
            let mut ok = Ok(());
            for n in &e.notifications {
                if let Err(err) = self.sink.send(n.clone()) {
                    ok = Err(err);
                }
            }
            esc_results.push((e, ok));
        }
        let mut st = lock(&self.state);
        if !group_results.is_empty() || !esc_results.is_empty() {
            st.dirty = true;
        }
        for (g, r) in group_results {
            let n = &g.notification;
            let status = match n.status {
                Status::Firing => "firing",
                Status::Resolved => "resolved",
            };
            let mut e = HistoryEntry::new(now, HistoryKind::Notified);
            e.fingerprints = n.alerts.iter().map(|a| a.fingerprint.clone()).collect();
            e.receiver = Some(n.receiver.clone());
            e.group_key = Some(n.group_key.clone());
            e.status = Some(status.to_string());
            match r {
                Ok(()) => {
                    *st.metrics
                        .notifications
                        .entry(n.receiver.clone())
                        .or_default() += 1;
                    st.nflog.insert(
                        g.map_key.clone(),
                        NflogEntry {
                            firing: g.firing,
                            resolved: g.resolved,
                            ts_ms: now,
                        },
                    );
                    let unchanged: Vec<u64> = g
                        .resolved_seen
                        .iter()
                        .filter(|(fp, upd)| st.alerts.get(fp).is_none_or(|a| a.updated_ms == *upd))
                        .map(|(fp, _)| *fp)
                        .collect();
                    if let Some(grp) = st.groups.get_mut(&g.map_key) {
                        for fp in unchanged {
                            grp.alerts.remove(&fp);
                        }
                    }
                }
                Err(err) => {
                    tracing::warn!(receiver = %n.receiver, error = %err, "notification refused by the sink");
                    *st.metrics.failed.entry(n.receiver.clone()).or_default() += 1;
                    e.kind = HistoryKind::NotifyFailed;
                    e.detail = Some(err.to_string());
                    if let Some(grp) = st.groups.get_mut(&g.map_key) {
                        grp.next_flush_ms = now + self.opts.retry_ms;
                    }
                }
            }
            st.hist.push(e);
        }
        let mut retry = Vec::new();
        for (e, r) in esc_results {
            let policy = e.policy.clone();
            let Some(a) = st.alerts.get_mut(&e.fp) else {
                continue;
            };
            let mut h = HistoryEntry::alert(now, HistoryKind::Escalated, a);
            h.level = Some(e.level);
            h.severity = Some(e.severity.clone());
            h.policy = Some(e.policy.clone());
            h.receiver = Some(e.receivers.join(","));
            h.status = Some(if e.resolved { "resolved" } else { "firing" }.to_string());
            match r {
                Ok(()) if e.resolved => {
                    a.esc_resolved_sent = true;
                }
                Ok(()) => {
                    a.esc_level = e.level;
                    a.esc_policy = Some(e.policy.clone());
                    a.esc_severity = Some(e.severity.clone());
                    for r in &e.receivers {
                        if !a.esc_receivers.contains(r) {
                            a.esc_receivers.push(r.clone());
                        }
                    }
                    *st.metrics.escalations.entry(policy).or_default() += 1;
                }
                Err(err) => {
                    h.kind = HistoryKind::NotifyFailed;
                    h.detail = Some(err.to_string());
                    retry.push(e.fp);
                }
            }
            if h.kind == HistoryKind::NotifyFailed || !e.resolved {
                st.hist.push(h);
            }
        }
        st.esc_retry.retain(|_, t| *t > now);
        for fp in retry {
            st.esc_retry.insert(fp, now + self.opts.retry_ms);
        }
        self.cleanup(&mut st, now);
        let late = self.persist(&mut st);
        early.and(late)
    }

    pub(crate) fn refresh(&self, st: &mut State, now: i64) {
        let inhibited = st.inhibited(now);
        let fps: Vec<u64> = st.alerts.keys().copied().collect();
        let mut hist = Vec::new();
        let mut changed = false;
        for fp in fps {
            let Some(a) = st.alerts.get(&fp) else {
                continue;
            };
            let sil = st.silenced_by(&a.labels, now);
            let inh = inhibited.get(&fp).cloned().unwrap_or_default();
            let Some(a) = st.alerts.get_mut(&fp) else {
                continue;
            };
            if a.done(now) && !a.resolved_logged && a.manual.is_none() {
                a.resolved_logged = true;
                hist.push(HistoryEntry::alert(now, HistoryKind::Resolved, a));
            }
            if !a.done(now) {
                if sil.is_empty() != a.silenced_by.is_empty() || (!sil.is_empty() && !a.processed) {
                    let kind = if sil.is_empty() {
                        HistoryKind::Unsilenced
                    } else {
                        HistoryKind::Silenced
                    };
                    let mut e = HistoryEntry::alert(now, kind, a);
                    e.detail = (!sil.is_empty()).then(|| sil.join(","));
                    hist.push(e);
                }
                if inh.is_empty() != a.inhibited_by.is_empty() || (!inh.is_empty() && !a.processed)
                {
                    let kind = if inh.is_empty() {
                        HistoryKind::Uninhibited
                    } else {
                        HistoryKind::Inhibited
                    };
                    let mut e = HistoryEntry::alert(now, kind, a);
                    e.detail = (!inh.is_empty()).then(|| inh.join(","));
                    hist.push(e);
                }
            }
            if a.silenced_by != sil || a.inhibited_by != inh || !a.processed {
                changed = true;
            }
            a.silenced_by = sil;
            a.inhibited_by = inh;
            a.processed = true;
        }
        changed |= !hist.is_empty();
        st.hist.extend(hist);
        let retention = self.opts.silence_retention_ms;
        let (ns, nn) = (st.silences.len(), st.nflog.len());
        st.silences.retain(|_, s| s.ends_ms + retention > now);
        let State {
            silences,
            sil_cache,
            ..
        } = st;
        sil_cache.retain(|id, _| silences.contains_key(id));
        // Alertmanager keeps notification log entries for 120 h.
        st.nflog.retain(|_, e| e.ts_ms + 120 * 3_600_000 > now);
        changed |= ns != st.silences.len() || nn != st.nflog.len();
        st.dirty |= changed;
    }

    pub(crate) fn base_notification(
        &self,
        receiver: &str,
        group_key: String,
        alerts: Vec<NotifyAlert>,
        group_labels: BTreeMap<String, String>,
    ) -> Notification {
        let status = if alerts.iter().any(|a| a.status == Status::Firing) {
            Status::Firing
        } else {
            Status::Resolved
        };
        Notification {
            receiver: receiver.to_string(),
            status,
            common_labels: common(alerts.iter().map(|a| &a.labels)),
            common_annotations: common(alerts.iter().map(|a| &a.annotations)),
            alerts,
            group_labels,
            external_url: self.opts.external_url.clone(),
            group_key,
            truncated_alerts: 0,
            escalation: None,
            acknowledged: None,
        }
    }

    pub(crate) fn plan_flushes(&self, st: &mut State, now: i64) -> Vec<GroupSend> {
        let mut out = Vec::new();
        let due: Vec<String> = st
            .groups
            .iter()
            .filter(|(_, g)| g.next_flush_ms <= now)
            .map(|(k, _)| k.clone())
            .collect();
        st.dirty |= !due.is_empty();
        for map_key in due {
            let Some(g) = st.groups.get(&map_key) else {
                continue;
            };
            let muted = st.muted_by_time(&g.route, now);
            let missing: Vec<u64> = g
                .alerts
                .iter()
                .filter(|fp| !st.alerts.contains_key(fp))
                .copied()
                .collect();
            if !missing.is_empty()
                && let Some(g) = st.groups.get_mut(&map_key)
            {
                for fp in &missing {
                    g.alerts.remove(fp);
                }
            }
            let Some(g) = st.groups.get(&map_key) else {
                continue;
            };
            let mut members: Vec<&AlertRec> =
                g.alerts.iter().filter_map(|fp| st.alerts.get(fp)).collect();
            members.sort_by(|a, b| alert_order(&a.labels, &b.labels));
            let resolved_seen: Vec<(u64, i64)> = members
                .iter()
                .filter(|a| a.done(now))
                .map(|a| (a.fp, a.updated_ms))
                .collect();
            let shown: Vec<&AlertRec> = members
                .into_iter()
                .filter(|a| a.silenced_by.is_empty() && a.inhibited_by.is_empty())
                .collect();
            let firing: BTreeSet<u64> = shown
                .iter()
                .filter(|a| !a.done(now))
                .map(|a| a.fp)
                .collect();
            let resolved: BTreeSet<u64> =
                shown.iter().filter(|a| a.done(now)).map(|a| a.fp).collect();
            let send = !muted
                && !shown.is_empty()
                && needs_update(
                    st.nflog.get(&map_key),
                    &firing,
                    &resolved,
                    g.route.repeat_interval_ms,
                    now,
                );
            let interval = g.route.group_interval_ms.max(1);
            if send {
                let alerts = shown.iter().map(|a| a.notify_alert(now, None)).collect();
                let notification = self.base_notification(
                    &g.route.receiver,
                    g.key.clone(),
                    alerts,
                    g.labels.clone(),
                );
                out.push(GroupSend {
                    map_key: map_key.clone(),
                    notification,
                    firing,
                    resolved,
                    resolved_seen,
                });
                if let Some(g) = st.groups.get_mut(&map_key) {
                    g.has_flushed = true;
                    g.next_flush_ms = now + interval;
                }
            } else if let Some(g) = st.groups.get_mut(&map_key) {
                g.has_flushed = true;
                g.next_flush_ms = now + interval;
                for (fp, _) in resolved_seen {
                    g.alerts.remove(&fp);
                }
            }
        }
        out
    }

    pub(crate) fn cleanup(&self, st: &mut State, now: i64) {
        let before = st.groups.len();
        st.groups.retain(|_, g| !g.alerts.is_empty());
        let mut changed = before != st.groups.len();
        if st.alerts.values().any(|a| a.resolved(now)) {
            let grouped: BTreeSet<u64> = st
                .groups
                .values()
                .flat_map(|g| g.alerts.iter().copied())
                .collect();
            let mut hist = Vec::new();
            let n = st.alerts.len();
            st.alerts.retain(|fp, a| {
                let esc_done = a.esc_level == 0 || a.esc_resolved_sent;
                let gone = a.resolved(now) && esc_done && !grouped.contains(fp);
                if gone && a.manual.is_some() {
                    // The condition of a manually resolved alert cleared: forgotten, so a
                    // later firing is a new alert.
                    hist.push(HistoryEntry::alert(now, HistoryKind::Cleared, a));
                }
                !gone
            });
            changed |= n != st.alerts.len();
            st.hist.extend(hist);
        }
        st.dirty |= changed;
    }
}
