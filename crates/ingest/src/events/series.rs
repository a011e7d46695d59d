//! Series mapping: the counters and histograms every event kind feeds (the series of
//! `docs/series.md`), kept as running values so a batch yields the samples it adds.

use super::{CHANNELS, EMAIL_STATUSES, ENGAGEMENT_KINDS};
use std::collections::{BTreeMap, HashSet};
use vigia_model::events::{AttendanceAction, Event, EventKind};
use vigia_model::{Labels, Sample, SeriesSamples};

const PAGE_LOAD_BUCKETS: [f64; 10] = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 7.5, 10.0];
const MAX_UTM_SOURCES: usize = 50;
const DEFAULT_CURRENCY: &str = "EUR";

/// The samples a batch produces, by series.
type Out = BTreeMap<Labels, Vec<Sample>>;

/// Running values of every series and the ids and attendees seen.
#[derive(Debug, Clone, Default)]
pub(super) struct State {
    /// When set, gaps between a series' samples are filled at this step (see `ingest_filled`).
    pub(super) fill_step: Option<i64>,
    pub(super) seen: HashSet<String>,
    pub(super) values: BTreeMap<Labels, (i64, f64)>,
    joined: HashSet<String>,
    present: HashSet<String>,
    engaged: HashSet<String>,
    utm_sources: HashSet<String>,
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

impl State {
    /// Adds `delta` to a counter at `t` (never before its last sample), creating it at 0 first.
    fn add(&mut self, out: &mut Out, l: Labels, t: i64, delta: f64) {
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
    fn ensure(&mut self, out: &mut Out, t: i64, labels: impl IntoIterator<Item = Labels>) {
        for l in labels {
            if !self.values.contains_key(&l) {
                self.values.insert(l.clone(), (t - 1, 0.0));
                out.entry(l).or_default().push(Sample::new(t - 1, 0.0));
            }
        }
    }

    /// Observes `v` in the histogram `name` (buckets at `bounds` plus `+Inf`, `_sum`,
    /// `_count`), with the `extra` labels.
    fn histogram(
        &mut self,
        out: &mut Out,
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
    pub(super) fn apply(&mut self, events: &[Event]) -> (usize, Vec<SeriesSamples>) {
        let mut out: Out = BTreeMap::new();
        let mut accepted = 0;
        for ev in events {
            if !self.seen.insert(ev.id.clone()) {
                continue;
            }
            accepted += 1;
            self.apply_one(&mut out, ev.timestamp, &ev.kind);
        }
        (
            accepted,
            out.into_iter()
                .map(|(labels, samples)| SeriesSamples { labels, samples })
                .collect(),
        )
    }

    /// Adds the samples of one (new) event at `t`.
    fn apply_one(&mut self, out: &mut Out, t: i64, kind: &EventKind) {
        match kind {
            EventKind::Registration {
                channel,
                utm_source,
                ..
            } => self.registration(out, t, channel, utm_source.as_deref()),
            EventKind::Attendance {
                action,
                attendee_id,
                channel,
            } => self.attendance(out, t, action, attendee_id, channel.as_deref()),
            EventKind::Engagement {
                engagement,
                attendee_id,
            } => self.engagement(out, t, engagement, attendee_id),
            EventKind::Conversion {
                channel,
                amount,
                currency,
            } => self.conversion(out, t, channel, *amount, currency.as_deref()),
            EventKind::MarketingCost {
                channel,
                amount,
                currency,
            } => {
                let cur = currency.as_deref().unwrap_or(DEFAULT_CURRENCY);
                self.add(
                    out,
                    lbl(
                        "vigia_marketing_cost_total",
                        &[("channel", channel), ("currency", cur)],
                    ),
                    t,
                    *amount,
                );
            }
            EventKind::Email { status } => self.email(out, t, status),
            EventKind::PageView {
                page,
                load_time_seconds,
                bounced,
            } => self.page_view(out, t, page, *load_time_seconds, *bounced),
            EventKind::Satisfaction { rating } => {
                let bounds: Vec<f64> = (1..=10).map(f64::from).collect();
                self.histogram(
                    out,
                    "vigia_satisfaction_rating",
                    &[],
                    &bounds,
                    f64::from(*rating),
                    t,
                );
            }
        }
    }

    /// `vigia_registrations_total{channel, utm_source}`; past `MAX_UTM_SOURCES` distinct
    /// sources, new ones count as `other`.
    fn registration(&mut self, out: &mut Out, t: i64, channel: &str, utm_source: Option<&str>) {
        let src = utm_source.unwrap_or("none");
        let src = if self.utm_sources.contains(src) || self.utm_sources.len() < MAX_UTM_SOURCES {
            self.utm_sources.insert(src.to_string());
            src
        } else {
            "other"
        };
        self.add(
            out,
            lbl(
                "vigia_registrations_total",
                &[("channel", channel), ("utm_source", src)],
            ),
            t,
            1.0,
        );
    }

    /// `vigia_attendance_joins_total{channel}` (first join of an attendee) and
    /// `vigia_attendees_current`.
    fn attendance(
        &mut self,
        out: &mut Out,
        t: i64,
        action: &AttendanceAction,
        attendee_id: &str,
        channel: Option<&str>,
    ) {
        let ch = channel.unwrap_or("organic");
        self.ensure(
            out,
            t,
            CHANNELS
                .iter()
                .map(|c| lbl("vigia_attendance_joins_total", &[("channel", c)])),
        );
        let current = lbl("vigia_attendees_current", &[]);
        if *action == AttendanceAction::Join {
            if self.joined.insert(attendee_id.to_string()) {
                self.add(
                    out,
                    lbl("vigia_attendance_joins_total", &[("channel", ch)]),
                    t,
                    1.0,
                );
            }
            if self.present.insert(attendee_id.to_string()) {
                self.add(out, current, t, 1.0);
            }
        } else if self.present.remove(attendee_id) {
            self.add(out, current, t, -1.0);
        }
    }

    /// `vigia_engagement_events_total{kind}` and `vigia_engaged_attendees_total` (first
    /// engagement of an attendee).
    fn engagement(&mut self, out: &mut Out, t: i64, engagement: &str, attendee_id: &str) {
        self.ensure(
            out,
            t,
            ENGAGEMENT_KINDS
                .iter()
                .map(|k| lbl("vigia_engagement_events_total", &[("kind", k)])),
        );
        self.ensure(out, t, [lbl("vigia_engaged_attendees_total", &[])]);
        self.add(
            out,
            lbl("vigia_engagement_events_total", &[("kind", engagement)]),
            t,
            1.0,
        );
        if self.engaged.insert(attendee_id.to_string()) {
            self.add(out, lbl("vigia_engaged_attendees_total", &[]), t, 1.0);
        }
    }

    /// `vigia_conversions_total{channel}` and `vigia_revenue_total{channel, currency}`.
    fn conversion(
        &mut self,
        out: &mut Out,
        t: i64,
        channel: &str,
        amount: f64,
        currency: Option<&str>,
    ) {
        let cur = currency.unwrap_or(DEFAULT_CURRENCY);
        self.ensure(
            out,
            t,
            CHANNELS
                .iter()
                .map(|c| lbl("vigia_conversions_total", &[("channel", c)])),
        );
        self.add(
            out,
            lbl("vigia_conversions_total", &[("channel", channel)]),
            t,
            1.0,
        );
        self.add(
            out,
            lbl(
                "vigia_revenue_total",
                &[("channel", channel), ("currency", cur)],
            ),
            t,
            amount,
        );
    }

    /// `vigia_emails_total{status}`.
    fn email(&mut self, out: &mut Out, t: i64, status: &str) {
        self.ensure(
            out,
            t,
            EMAIL_STATUSES
                .iter()
                .map(|s| lbl("vigia_emails_total", &[("status", s)])),
        );
        self.add(
            out,
            lbl("vigia_emails_total", &[("status", status)]),
            t,
            1.0,
        );
    }

    /// `vigia_page_views_total{page, bounced}` and the `vigia_page_load_seconds{page}`
    /// histogram.
    fn page_view(&mut self, out: &mut Out, t: i64, page: &str, load_time: f64, bounced: bool) {
        let b = if bounced { "true" } else { "false" };
        self.add(
            out,
            lbl("vigia_page_views_total", &[("page", page), ("bounced", b)]),
            t,
            1.0,
        );
        self.histogram(
            out,
            "vigia_page_load_seconds",
            &[("page", page)],
            &PAGE_LOAD_BUCKETS,
            load_time,
            t,
        );
    }
}
