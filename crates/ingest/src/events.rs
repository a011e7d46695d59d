//! Business events (`POST /api/v1/events`): registrations, attendance, engagement, conversions,
//! emails, page views, satisfaction ratings and marketing costs become exactly the series of
//! `docs/series.md`, at each event's own timestamp.
//!
//! A repeated event id is never counted twice, also after a restart: every accepted batch is
//! first written (fsynced) to a redo log holding its events and the samples they produce, then
//! appended to storage. On start the log is replayed to rebuild the counters and the set of seen
//! ids, and the last batch's samples are appended again — harmless, since storing an identical
//! sample twice is a no-op — so a crash between the two steps loses nothing.
//!
//! The steps live beside this file: `parse` (request body and validation), `series` (the
//! series each event kind feeds), `log` (the redo log) and `heartbeat` (repeating current
//! values).

mod heartbeat;
mod log;
mod parse;
mod series;

use crate::IngestError;
use parking_lot::Mutex;
pub use parse::parse_events;
use serde::Serialize;
use series::State;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
pub use vigia_model::events::{AttendanceAction, Event, EventKind};
use vigia_model::{Appender, Labels};

/// Channels known in advance: their counters exist (at 0) from the first event on.
pub const CHANNELS: [&str; 6] = ["email", "social", "ads", "organic", "referral", "partner"];
const ENGAGEMENT_KINDS: [&str; 4] = ["poll", "chat", "question", "reaction"];
const EMAIL_STATUSES: [&str; 5] = ["sent", "delivered", "opened", "clicked", "bounced"];

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

/// Turns events into samples, remembering counters and ids durably.
#[derive(Debug)]
pub struct EventsIngestor {
    state: Mutex<State>,
    log: PathBuf,
}

impl EventsIngestor {
    /// Opens (creating) the redo log in `dir`, rebuilds state from it, and re-appends the last
    /// batch's samples to `appender` in case a crash interrupted it.
    pub fn open(dir: &Path, appender: &dyn Appender) -> Result<Self, IngestError> {
        std::fs::create_dir_all(dir).map_err(|e| log::storage(dir, e))?;
        let log = dir.join("events.log");
        let state = log::replay(&log, appender)?;
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
        let record = log::write_record(&self.log, fresh)?;
        // The state moves on only once the samples are stored: a failed append is undone in
        // the log and the client's retry is counted.
        let stored = match appender.append(&samples) {
            Ok(o) => o,
            Err(e) => {
                record.undo();
                return Err(IngestError::Storage(e.to_string()));
            }
        };
        *state = next;
        Ok(EventsOutcome {
            rejected: stored.rejected_total() as usize,
            ..outcome
        })
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
    use vigia_model::{Matcher, MemStorage, Querier, Sample};

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
