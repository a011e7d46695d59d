//! Business events (`POST /api/v1/events`): registrations, attendance, engagement, conversions,
//! emails, page views, satisfaction ratings and marketing costs become exactly the series of
//! `shared/SERIES.md`, at each event's own timestamp.
//!
//! A repeated event id is never counted twice, also after a restart: every accepted batch is
//! first written (fsynced) to a redo log holding its events and the samples they produce, then
//! appended to storage. On start the log is replayed to rebuild the counters and the set of seen
//! ids, and the last batch's samples are appended again — harmless, since storing an identical
//! sample twice is a no-op — so a crash between the two steps loses nothing.

use crate::IngestError;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
pub use vigia_model::events::{AttendanceAction, Event, EventKind};
use vigia_model::{Appender, Labels, Sample, SeriesSamples};

/// Channels known in advance: their counters exist (at 0) from the first event on.
pub const CHANNELS: [&str; 6] = ["email", "social", "ads", "organic", "referral", "partner"];
const ENGAGEMENT_KINDS: [&str; 4] = ["poll", "chat", "question", "reaction"];
const EMAIL_STATUSES: [&str; 5] = ["sent", "delivered", "opened", "clicked", "bounced"];
const PAGE_LOAD_BUCKETS: [f64; 10] = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0];
const MAX_UTM_SOURCES: usize = 50;
const DEFAULT_CURRENCY: &str = "EUR";

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventsOutcome {
    /// Events counted.
    pub accepted: usize,
    /// Events ignored because their id was seen before.
    pub duplicates: usize,
    /// Samples written.
    pub samples: usize,
    /// Samples the storage refused (e.g. older than its out-of-order window).
    pub rejected: usize,
}

#[derive(Debug, Clone, Default)]
struct State {
    /// When set, gaps between a series' samples are filled at this step (see `ingest_filled`).
    fill_step: Option<i64>,
    seen: HashSet<String>,
    values: BTreeMap<Labels, (i64, f64)>,
    joined: HashSet<String>,
    present: HashSet<String>,
    engaged: HashSet<String>,
    utm_sources: HashSet<String>,
}

#[derive(Serialize, Deserialize)]
struct Record {
    events: Vec<Event>,
}

/// Turns events into samples, remembering counters and ids durably.
#[derive(Debug)]
pub struct EventsIngestor {
    state: Mutex<State>,
    log: PathBuf,
}

fn storage(path: &Path, e: impl std::fmt::Display) -> IngestError {
    IngestError::Storage(format!("{}: {e}", path.display()))
}

fn lbl(name: &str, pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(std::iter::once(("__name__", name)).chain(pairs.iter().copied()))
}

fn fmt_le(b: f64) -> String {
    if b.fract() == 0.0 {
        format!("{b:.1}")
    } else {
        format!("{b}")
    }
}

/// Parses the body: one event object, an array, or `{"events": [...]}`; timestamps as ms or
/// RFC 3339. Errors name the event index and the field.
pub fn parse_events(body: &[u8]) -> Result<Vec<Event>, IngestError> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| IngestError::Event {
        index: 0,
        field: String::new(),
        reason: format!("invalid JSON: {e}"),
    })?;
    let items = match v {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Object(mut o) if o.contains_key("events") => match o.remove("events") {
            Some(serde_json::Value::Array(a)) => a,
            _ => {
                return Err(IngestError::Event {
                    index: 0,
                    field: "events".into(),
                    reason: "must be an array".into(),
                });
            }
        },
        other => vec![other],
    };
    let mut out = Vec::with_capacity(items.len());
    for (index, mut item) in items.into_iter().enumerate() {
        let err = |field: &str, reason: String| IngestError::Event {
            index,
            field: field.into(),
            reason,
        };
        let Some(obj) = item.as_object_mut() else {
            return Err(err("", "an event must be a JSON object".into()));
        };
        match obj.get("id") {
            Some(serde_json::Value::String(s)) if !s.is_empty() && s.len() <= 256 => {}
            _ => {
                return Err(err(
                    "id",
                    "required: a non-empty string of at most 256 characters".into(),
                ));
            }
        }
        let ts = match obj.get("timestamp") {
            Some(serde_json::Value::Number(n)) => n.as_i64().ok_or_else(|| {
                err(
                    "timestamp",
                    "must be an integer (ms since the epoch)".into(),
                )
            })?,
            Some(serde_json::Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| d.timestamp_millis())
                .map_err(|e| err("timestamp", format!("not RFC 3339: {e}")))?,
            _ => {
                return Err(err(
                    "timestamp",
                    "required: ms since the epoch or an RFC 3339 string".into(),
                ));
            }
        };
        obj.insert("timestamp".into(), ts.into());
        let ev: Event = serde_json::from_value(item).map_err(|e| {
            let msg = e.to_string();
            let field = msg.split('`').nth(1).unwrap_or("kind").to_string();
            err(&field, msg)
        })?;
        validate(&ev).map_err(|(f, r)| err(f, r))?;
        out.push(ev);
    }
    Ok(out)
}

fn validate(ev: &Event) -> Result<(), (&'static str, String)> {
    let channel_ok = |c: &str| CHANNELS.contains(&c);
    let channel_err = |c: &str| {
        (
            "channel",
            format!("unknown channel {c:?}: one of {}", CHANNELS.join(", ")),
        )
    };
    let money = |a: f64| {
        if a.is_finite() && a >= 0.0 {
            Ok(())
        } else {
            Err(("amount", format!("must be a non-negative number, got {a}")))
        }
    };
    match &ev.kind {
        EventKind::Registration { channel, .. } if !channel_ok(channel) => {
            Err(channel_err(channel))
        }
        EventKind::Attendance {
            channel: Some(c), ..
        } if !channel_ok(c) => Err(channel_err(c)),
        EventKind::Engagement { engagement, .. }
            if !ENGAGEMENT_KINDS.contains(&engagement.as_str()) =>
        {
            Err((
                "engagement",
                format!("{engagement:?}: one of {}", ENGAGEMENT_KINDS.join(", ")),
            ))
        }
        EventKind::Conversion { channel, .. } | EventKind::MarketingCost { channel, .. }
            if !channel_ok(channel) =>
        {
            Err(channel_err(channel))
        }
        EventKind::Conversion { amount, .. } | EventKind::MarketingCost { amount, .. } => {
            money(*amount)
        }
        EventKind::Email { status } if !EMAIL_STATUSES.contains(&status.as_str()) => Err((
            "status",
            format!("{status:?}: one of {}", EMAIL_STATUSES.join(", ")),
        )),
        EventKind::PageView { page, .. } if page.is_empty() || page.len() > 128 => {
            Err(("page", "1 to 128 characters".into()))
        }
        EventKind::PageView {
            load_time_seconds, ..
        } if !(load_time_seconds.is_finite() && *load_time_seconds >= 0.0) => {
            Err(("load_time_seconds", "must be a non-negative number".into()))
        }
        EventKind::Satisfaction { rating } if !(1..=10).contains(rating) => {
            Err(("rating", format!("{rating}: must be 1 to 10")))
        }
        _ => Ok(()),
    }
}

impl State {
    /// Adds `delta` to a counter at `t` (never before its last sample), creating it at 0 first.
    fn add(&mut self, out: &mut BTreeMap<Labels, Vec<Sample>>, l: Labels, t: i64, delta: f64) {
        let entry = self.values.entry(l.clone()).or_insert_with(|| {
            out.entry(l.clone())
                .or_default()
                .push(Sample::new(t - 1, 0.0));
            (t - 1, 0.0)
        });
        let t = t.max(entry.0 + 1);
        if let Some(step) = self.fill_step.filter(|s| *s > 0) {
            let samples = out.entry(l.clone()).or_default();
            let mut k = (entry.0.div_euclid(step) + 1) * step;
            while k < t && samples.len() < 100_000 {
                samples.push(Sample::new(k, entry.1));
                k += step;
            }
        }
        entry.0 = t;
        entry.1 += delta;
        out.entry(l).or_default().push(Sample::new(t, entry.1));
    }

    /// Creates every known label value of a counter family at 0.
    fn ensure(
        &mut self,
        out: &mut BTreeMap<Labels, Vec<Sample>>,
        t: i64,
        labels: impl IntoIterator<Item = Labels>,
    ) {
        for l in labels {
            if !self.values.contains_key(&l) {
                self.values.insert(l.clone(), (t - 1, 0.0));
                out.entry(l).or_default().push(Sample::new(t - 1, 0.0));
            }
        }
    }

    fn histogram(
        &mut self,
        out: &mut BTreeMap<Labels, Vec<Sample>>,
        name: &str,
        extra: &[(&str, &str)],
        bounds: &[f64],
        v: f64,
        t: i64,
    ) {
        for b in bounds.iter().map(|b| Some(*b)).chain([None]) {
            let le = b.map(fmt_le).unwrap_or_else(|| "+Inf".into());
            let mut pairs: Vec<(&str, &str)> = extra.to_vec();
            pairs.push(("le", &le));
            let hit = b.is_none_or(|b| v <= b);
            self.add(
                out,
                lbl(&format!("{name}_bucket"), &pairs),
                t,
                if hit { 1.0 } else { 0.0 },
            );
        }
        self.add(out, lbl(&format!("{name}_sum"), extra), t, v);
        self.add(out, lbl(&format!("{name}_count"), extra), t, 1.0);
    }

    /// Applies events (sorted by time) and returns the samples they produce.
    fn apply(&mut self, events: &[Event]) -> (usize, Vec<SeriesSamples>) {
        let mut out: BTreeMap<Labels, Vec<Sample>> = BTreeMap::new();
        let mut accepted = 0;
        for ev in events {
            if !self.seen.insert(ev.id.clone()) {
                continue;
            }
            accepted += 1;
            let t = ev.timestamp;
            match &ev.kind {
                EventKind::Registration {
                    channel,
                    utm_source,
                    ..
                } => {
                    let src = utm_source.as_deref().unwrap_or("none");
                    let src = if self.utm_sources.contains(src)
                        || self.utm_sources.len() < MAX_UTM_SOURCES
                    {
                        self.utm_sources.insert(src.to_string());
                        src
                    } else {
                        "other"
                    };
                    self.add(
                        &mut out,
                        lbl(
                            "vigia_registrations_total",
                            &[("channel", channel), ("utm_source", src)],
                        ),
                        t,
                        1.0,
                    );
                }
                EventKind::Attendance {
                    action,
                    attendee_id,
                    channel,
                } => {
                    let ch = channel.as_deref().unwrap_or("organic");
                    self.ensure(
                        &mut out,
                        t,
                        CHANNELS
                            .iter()
                            .map(|c| lbl("vigia_attendance_joins_total", &[("channel", c)])),
                    );
                    let current = lbl("vigia_attendees_current", &[]);
                    if *action == AttendanceAction::Join {
                        if self.joined.insert(attendee_id.clone()) {
                            self.add(
                                &mut out,
                                lbl("vigia_attendance_joins_total", &[("channel", ch)]),
                                t,
                                1.0,
                            );
                        }
                        if self.present.insert(attendee_id.clone()) {
                            self.add(&mut out, current, t, 1.0);
                        }
                    } else if self.present.remove(attendee_id) {
                        self.add(&mut out, current, t, -1.0);
                    }
                }
                EventKind::Engagement {
                    engagement,
                    attendee_id,
                } => {
                    self.ensure(
                        &mut out,
                        t,
                        ENGAGEMENT_KINDS
                            .iter()
                            .map(|k| lbl("vigia_engagement_events_total", &[("kind", k)])),
                    );
                    self.ensure(&mut out, t, [lbl("vigia_engaged_attendees_total", &[])]);
                    self.add(
                        &mut out,
                        lbl("vigia_engagement_events_total", &[("kind", engagement)]),
                        t,
                        1.0,
                    );
                    if self.engaged.insert(attendee_id.clone()) {
                        self.add(&mut out, lbl("vigia_engaged_attendees_total", &[]), t, 1.0);
                    }
                }
                EventKind::Conversion {
                    channel,
                    amount,
                    currency,
                } => {
                    let cur = currency.as_deref().unwrap_or(DEFAULT_CURRENCY);
                    self.ensure(
                        &mut out,
                        t,
                        CHANNELS
                            .iter()
                            .map(|c| lbl("vigia_conversions_total", &[("channel", c)])),
                    );
                    self.add(
                        &mut out,
                        lbl("vigia_conversions_total", &[("channel", channel)]),
                        t,
                        1.0,
                    );
                    self.add(
                        &mut out,
                        lbl(
                            "vigia_revenue_total",
                            &[("channel", channel), ("currency", cur)],
                        ),
                        t,
                        *amount,
                    );
                }
                EventKind::MarketingCost {
                    channel,
                    amount,
                    currency,
                } => {
                    let cur = currency.as_deref().unwrap_or(DEFAULT_CURRENCY);
                    self.add(
                        &mut out,
                        lbl(
                            "vigia_marketing_cost_total",
                            &[("channel", channel), ("currency", cur)],
                        ),
                        t,
                        *amount,
                    );
                }
                EventKind::Email { status } => {
                    self.ensure(
                        &mut out,
                        t,
                        EMAIL_STATUSES
                            .iter()
                            .map(|s| lbl("vigia_emails_total", &[("status", s)])),
                    );
                    self.add(
                        &mut out,
                        lbl("vigia_emails_total", &[("status", status)]),
                        t,
                        1.0,
                    );
                }
                EventKind::PageView {
                    page,
                    load_time_seconds,
                    bounced,
                } => {
                    let b = if *bounced { "true" } else { "false" };
                    self.add(
                        &mut out,
                        lbl("vigia_page_views_total", &[("page", page), ("bounced", b)]),
                        t,
                        1.0,
                    );
                    self.histogram(
                        &mut out,
                        "vigia_page_load_seconds",
                        &[("page", page)],
                        &PAGE_LOAD_BUCKETS,
                        *load_time_seconds,
                        t,
                    );
                }
                EventKind::Satisfaction { rating } => {
                    let bounds: Vec<f64> = (1..=10).map(f64::from).collect();
                    self.histogram(
                        &mut out,
                        "vigia_satisfaction_rating",
                        &[],
                        &bounds,
                        f64::from(*rating),
                        t,
                    );
                }
            }
        }
        (
            accepted,
            out.into_iter()
                .map(|(labels, samples)| SeriesSamples { labels, samples })
                .collect(),
        )
    }
}

impl EventsIngestor {
    /// Opens (creating) the redo log in `dir`, rebuilds state from it, and re-appends the last
    /// batch's samples to `appender` in case a crash interrupted it.
    pub fn open(dir: &Path, appender: &dyn Appender) -> Result<Self, IngestError> {
        std::fs::create_dir_all(dir).map_err(|e| storage(dir, e))?;
        let log = dir.join("events.log");
        let mut state = State::default();
        let mut last = Vec::new();
        if log.exists() {
            let text = std::fs::read(&log).map_err(|e| storage(&log, e))?;
            // A torn final line (crash or failed write mid-record) was never acknowledged: cut
            // the file back to the last complete line so later records stay readable.
            let complete = text
                .iter()
                .rposition(|b| *b == b'\n')
                .map(|i| i + 1)
                .unwrap_or(0);
            if complete < text.len() {
                tracing::warn!(file = %log.display(), bytes = text.len() - complete, "truncating a torn events log tail");
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&log)
                    .map_err(|e| storage(&log, e))?;
                f.set_len(complete as u64)
                    .and_then(|()| f.sync_data())
                    .map_err(|e| storage(&log, e))?;
            }
            for (i, line) in text[..complete].split(|b| *b == b'\n').enumerate() {
                if line.is_empty() {
                    continue;
                }
                match serde_json::from_slice::<Record>(line) {
                    Ok(r) => last = state.apply(&r.events).1,
                    Err(e) => {
                        tracing::warn!(file = %log.display(), line = i + 1, error = %e, "ignoring a damaged events log record")
                    }
                }
            }
            // The last batch may have been logged but not stored when the process stopped;
            // storing identical samples again is a no-op.
            if !last.is_empty() {
                appender
                    .append(&last)
                    .map_err(|e| IngestError::Storage(e.to_string()))?;
            }
        }
        Ok(Self {
            state: Mutex::new(state),
            log,
        })
    }

    /// Counts a batch: validates everything first (nothing of a rejected batch is stored),
    /// logs it durably, then appends its samples. Returns once the samples are durable.
    pub fn ingest(
        &self,
        body: &[u8],
        appender: &dyn Appender,
    ) -> Result<EventsOutcome, IngestError> {
        self.ingest_filled(body, appender, None)
    }

    /// Like [`EventsIngestor::ingest`], and also repeats each series' previous value at every
    /// multiple of `fill_step_ms` between its samples, as a scrape at that interval would have
    /// seen it (used when replaying history, where the minute heartbeat did not run).
    pub fn ingest_filled(
        &self,
        body: &[u8],
        appender: &dyn Appender,
        fill_step_ms: Option<i64>,
    ) -> Result<EventsOutcome, IngestError> {
        let mut events = parse_events(body)?;
        events.sort_by_key(|e| e.timestamp);
        let mut state = self.state.lock();
        let mut next = state.clone();
        next.fill_step = fill_step_ms;
        let (accepted, samples) = next.apply(&events);
        next.fill_step = None;
        let outcome = EventsOutcome {
            accepted,
            duplicates: events.len() - accepted,
            samples: samples.iter().map(|s| s.samples.len()).sum(),
            rejected: 0,
        };
        if accepted == 0 {
            return Ok(outcome);
        }
        let fresh: Vec<Event> = events
            .into_iter()
            .filter(|e| !state.seen.contains(&e.id))
            .collect();
        let mut line =
            serde_json::to_vec(&Record { events: fresh }).map_err(|e| storage(&self.log, e))?;
        line.push(b'\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| storage(&self.log, e))?;
        let before = f.metadata().map_err(|e| storage(&self.log, e))?.len();
        // Cuts a failed record back out of the log, so the batch can be retried and the log
        // stays readable.
        let undo = |f: &std::fs::File| {
            if let Err(e) = f.set_len(before).and_then(|()| f.sync_data()) {
                tracing::error!(file = %self.log.display(), error = %e, "cannot remove a failed events log record");
            }
        };
        if let Err(e) = f.write_all(&line).and_then(|()| f.sync_data()) {
            undo(&f);
            return Err(storage(&self.log, e));
        }
        // The state moves on only once the samples are stored: a failed append is undone in
        // the log and the client's retry is counted.
        let stored = match appender.append(&samples) {
            Ok(o) => o,
            Err(e) => {
                undo(&f);
                return Err(IngestError::Storage(e.to_string()));
            }
        };
        *state = next;
        Ok(EventsOutcome {
            rejected: stored.rejected_total() as usize,
            ..outcome
        })
    }

    /// Writes the current value of every series at `t_ms` (those whose last sample is older),
    /// as a scrape would: counters stay visible to instant queries between events. The server
    /// calls it every minute; the demo once per simulated step.
    pub fn heartbeat(&self, t_ms: i64, appender: &dyn Appender) -> Result<usize, IngestError> {
        let batch: Vec<SeriesSamples> = {
            let mut st = self.state.lock();
            st.values
                .iter_mut()
                .filter(|(_, (last, _))| *last < t_ms)
                .map(|(l, (last, v))| {
                    *last = t_ms;
                    SeriesSamples {
                        labels: l.clone(),
                        samples: vec![Sample::new(t_ms, *v)],
                    }
                })
                .collect()
        };
        if batch.is_empty() {
            return Ok(0);
        }
        appender
            .append(&batch)
            .map_err(|e| IngestError::Storage(e.to_string()))?;
        Ok(batch.len())
    }

    /// Repeats every series' current value at each multiple of `step_ms` in `[from_ms, to_ms)`
    /// after its last sample, in one append (the heartbeat over a replayed range).
    pub fn heartbeat_range(
        &self,
        from_ms: i64,
        to_ms: i64,
        step_ms: i64,
        appender: &dyn Appender,
    ) -> Result<usize, IngestError> {
        if step_ms <= 0 {
            return Ok(0);
        }
        let batch: Vec<SeriesSamples> = {
            let mut st = self.state.lock();
            st.values
                .iter_mut()
                .filter_map(|(l, (last, v))| {
                    let mut k = ((*last).max(from_ms - 1).div_euclid(step_ms) + 1) * step_ms;
                    let mut samples = Vec::new();
                    while k < to_ms && samples.len() < 100_000 {
                        samples.push(Sample::new(k, *v));
                        *last = k;
                        k += step_ms;
                    }
                    (!samples.is_empty()).then(|| SeriesSamples {
                        labels: l.clone(),
                        samples,
                    })
                })
                .collect()
        };
        let n = batch.iter().map(|s| s.samples.len()).sum();
        if n > 0 {
            appender
                .append(&batch)
                .map_err(|e| IngestError::Storage(e.to_string()))?;
        }
        Ok(n)
    }

    /// Ids counted so far.
    pub fn seen(&self) -> usize {
        self.state.lock().seen.len()
    }

    /// Current value of every series the events produced (for tests and the dashboard).
    pub fn values(&self) -> HashMap<Labels, f64> {
        self.state
            .lock()
            .values
            .iter()
            .map(|(l, (_, v))| (l.clone(), *v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigia_model::{Matcher, MemStorage, Querier};

    fn value(store: &MemStorage, name: &str, pairs: &[(&str, &str)]) -> Option<f64> {
        let mut m = vec![Matcher::equal("__name__", name)];
        m.extend(pairs.iter().map(|(k, v)| Matcher::equal(*k, *v)));
        store
            .select(&m, 0, i64::MAX)
            .ok()?
            .next()?
            .ok()?
            .samples
            .last()
            .map(|s| s.v)
    }

    #[test]
    fn events_become_series_and_duplicates_count_once_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let store = MemStorage::new();
        let ing = EventsIngestor::open(dir.path(), &store).unwrap();
        let body = br#"[
            {"id":"r1","kind":"registration","timestamp":1000,"channel":"ads","utm_source":"google"},
            {"id":"r2","kind":"registration","timestamp":2000,"channel":"ads","utm_source":"google"},
            {"id":"j1","kind":"attendance","timestamp":3000,"action":"join","attendee_id":"a1","channel":"ads"},
            {"id":"e1","kind":"engagement","timestamp":4000,"engagement":"poll","attendee_id":"a1"},
            {"id":"c1","kind":"conversion","timestamp":5000,"channel":"ads","amount":250.0},
            {"id":"p1","kind":"page_view","timestamp":6000,"page":"landing","load_time_seconds":1.2,"bounced":true},
            {"id":"s1","kind":"satisfaction","timestamp":"1970-01-01T00:00:07Z","rating":9}
        ]"#;
        let o = ing.ingest(body, &store).unwrap();
        assert_eq!((o.accepted, o.duplicates), (7, 0));
        assert_eq!(
            value(&store, "vigia_registrations_total", &[("channel", "ads")]),
            Some(2.0)
        );
        assert_eq!(
            value(
                &store,
                "vigia_attendance_joins_total",
                &[("channel", "ads")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &store,
                "vigia_attendance_joins_total",
                &[("channel", "email")]
            ),
            Some(0.0),
            "known channels start at 0"
        );
        assert_eq!(value(&store, "vigia_attendees_current", &[]), Some(1.0));
        assert_eq!(
            value(&store, "vigia_revenue_total", &[("currency", "EUR")]),
            Some(250.0)
        );
        assert_eq!(
            value(&store, "vigia_page_load_seconds_bucket", &[("le", "1.5")]),
            Some(1.0)
        );
        assert_eq!(
            value(&store, "vigia_page_load_seconds_bucket", &[("le", "1.0")]),
            Some(0.0)
        );
        assert_eq!(
            value(&store, "vigia_satisfaction_rating_count", &[]),
            Some(1.0)
        );
        assert_eq!(
            value(&store, "vigia_satisfaction_rating_bucket", &[("le", "9.0")]),
            Some(1.0)
        );
        // The same ids again, after a restart: nothing changes.
        drop(ing);
        let ing = EventsIngestor::open(dir.path(), &store).unwrap();
        let o = ing.ingest(body, &store).unwrap();
        assert_eq!((o.accepted, o.duplicates), (0, 7));
        assert_eq!(
            value(&store, "vigia_registrations_total", &[("channel", "ads")]),
            Some(2.0)
        );
        let o = ing.ingest(br#"{"id":"r3","kind":"registration","timestamp":8000,"channel":"ads","utm_source":"google"}"#, &store).unwrap();
        assert_eq!(o.accepted, 1);
        assert_eq!(
            value(&store, "vigia_registrations_total", &[("channel", "ads")]),
            Some(3.0)
        );
    }

    #[test]
    fn a_bad_event_rejects_the_whole_batch_naming_index_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let store = MemStorage::new();
        let ing = EventsIngestor::open(dir.path(), &store).unwrap();
        let cases: &[(&[u8], usize, &str)] = &[
            (br#"[{"id":"a","kind":"registration","timestamp":1,"channel":"ads"},{"id":"b","kind":"registration","timestamp":2,"channel":"tv"}]"#, 1, "channel"),
            (br#"[{"id":"a","kind":"satisfaction","timestamp":1,"rating":11}]"#, 0, "rating"),
            (br#"[{"kind":"email","timestamp":1,"status":"sent"}]"#, 0, "id"),
            (br#"[{"id":"x","kind":"email","status":"sent"}]"#, 0, "timestamp"),
            (br#"[{"id":"x","kind":"email","timestamp":1,"status":"sent","extra":1}]"#, 0, "extra"),
            (br#"[{"id":"x","kind":"teleport","timestamp":1}]"#, 0, "teleport"),
            (br#"[{"id":"x","kind":"conversion","timestamp":1,"channel":"ads","amount":-5}]"#, 0, "amount"),
        ];
        for (body, index, field) in cases {
            match ing.ingest(body, &store) {
                Err(IngestError::Event {
                    index: i,
                    field: f,
                    reason,
                }) => {
                    assert_eq!(i, *index, "{reason}");
                    assert!(
                        f.contains(field) || reason.contains(field),
                        "{f} / {reason}"
                    );
                }
                other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
            }
        }
        assert!(
            store
                .select(
                    &[Matcher::equal("__name__", "vigia_registrations_total")],
                    0,
                    i64::MAX
                )
                .unwrap()
                .next()
                .is_none()
        );
        assert_eq!(ing.seen(), 0);
    }

    #[test]
    fn out_of_order_events_keep_counters_monotonic() {
        let dir = tempfile::tempdir().unwrap();
        let store = MemStorage::new();
        let ing = EventsIngestor::open(dir.path(), &store).unwrap();
        ing.ingest(
            br#"{"id":"a","kind":"email","timestamp":5000,"status":"sent"}"#,
            &store,
        )
        .unwrap();
        ing.ingest(
            br#"{"id":"b","kind":"email","timestamp":1000,"status":"sent"}"#,
            &store,
        )
        .unwrap();
        let s = store
            .select(&[Matcher::equal("status", "sent")], 0, i64::MAX)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert!(
            s.samples
                .windows(2)
                .all(|w| w[0].t < w[1].t && w[0].v <= w[1].v),
            "{:?}",
            s.samples
        );
        assert_eq!(s.samples.last().map(|p| p.v), Some(2.0));
        assert_eq!(
            ing.heartbeat(9000, &store).unwrap(),
            5,
            "every email status series"
        );
        assert_eq!(
            ing.heartbeat(9000, &store).unwrap(),
            0,
            "nothing newer to write"
        );
        let s = store
            .select(&[Matcher::equal("status", "sent")], 0, i64::MAX)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(s.samples.last(), Some(&Sample::new(9000, 2.0)));
        assert_eq!(
            ing.heartbeat_range(9000, 12_000, 1000, &store).unwrap(),
            5 * 2,
            "t = 10 s and 11 s"
        );
        ing.ingest_filled(
            br#"{"id":"c","kind":"email","timestamp":15500,"status":"sent"}"#,
            &store,
            Some(1000),
        )
        .unwrap();
        let s = store
            .select(&[Matcher::equal("status", "sent")], 0, i64::MAX)
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let tail: Vec<(i64, f64)> = s
            .samples
            .iter()
            .rev()
            .take(5)
            .rev()
            .map(|p| (p.t, p.v))
            .collect();
        assert_eq!(
            tail,
            vec![
                (12_000, 2.0),
                (13_000, 2.0),
                (14_000, 2.0),
                (15_000, 2.0),
                (15_500, 3.0)
            ]
        );
    }

    #[test]
    fn a_torn_log_tail_is_cut_and_later_batches_survive() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let store = MemStorage::new();
        let ing = EventsIngestor::open(dir.path(), &store).unwrap();
        ing.ingest(
            br#"{"id":"a","kind":"email","timestamp":1000,"status":"sent"}"#,
            &store,
        )
        .unwrap();
        drop(ing);
        // A crash in the middle of writing the next record.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("events.log"))
            .unwrap();
        f.write_all(br#"{"events":[{"id":"b","kind":"em"#).unwrap();
        drop(f);
        let ing = EventsIngestor::open(dir.path(), &store).unwrap();
        ing.ingest(
            br#"{"id":"c","kind":"email","timestamp":3000,"status":"sent"}"#,
            &store,
        )
        .unwrap();
        drop(ing);
        let ing = EventsIngestor::open(dir.path(), &store).unwrap();
        assert_eq!(ing.seen(), 2, "a and c are remembered, the torn b is not");
        let o = ing
            .ingest(
                br#"{"id":"c","kind":"email","timestamp":3000,"status":"sent"}"#,
                &store,
            )
            .unwrap();
        assert_eq!(o.duplicates, 1);
        assert_eq!(
            value(&store, "vigia_emails_total", &[("status", "sent")]),
            Some(2.0)
        );
    }
}
