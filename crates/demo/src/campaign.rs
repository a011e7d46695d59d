//! The webinar campaign ("IA 10x Impact"): registrations by channel, attendance, engagement,
//! conversions, revenue, marketing costs, email deliverability, page views and satisfaction,
//! as the `vigia_*` series of docs/series.md. Knows nothing about hosts.

use crate::rng::{Rng, mix64};
use crate::schedule::{Active, DAY, HOUR, MINUTE, Schedule, WEBINAR_LEN, activity};
use crate::series::{Catalog, Histogram};

/// Registration channels, in series order.
pub(crate) const CHANNELS: [&str; 6] = ["email", "social", "ads", "organic", "referral", "partner"];
/// Index of the ads channel.
pub(crate) const ADS: usize = 2;
/// Index of the referral channel.
const REFERRAL: usize = 4;
/// Share of registrations per channel.
const SHARE: [f64; 6] = [0.30, 0.20, 0.20, 0.12, 0.08, 0.10];
/// Share of registrants who attend, per channel (weighted mean ≈ 0.85).
const SHOW_UP: [f64; 6] = [0.90, 0.80, 0.78, 0.88, 0.87, 0.90];
/// UTM sources per channel with their weights.
pub(crate) const UTM: [&[(&str, f64)]; 6] = [
    &[("newsletter", 0.7), ("reminder", 0.3)],
    &[("linkedin", 0.5), ("twitter", 0.2), ("facebook", 0.3)],
    &[("google", 0.6), ("linkedin_ads", 0.25), ("meta", 0.15)],
    &[("google", 0.75), ("bing", 0.1), ("direct", 0.15)],
    &[("blog", 0.6), ("podcast", 0.4)],
    &[("partner_a", 0.6), ("partner_b", 0.4)],
];
/// Engagement kinds.
pub(crate) const ENGAGEMENT: [&str; 4] = ["poll", "chat", "question", "reaction"];
/// Email statuses, in series order.
pub(crate) const EMAIL: [&str; 5] = ["sent", "delivered", "opened", "clicked", "bounced"];
/// Pages of the campaign site.
pub(crate) const PAGES: [&str; 4] = ["landing", "register", "thank_you", "webinar"];
/// Median page load time per page, seconds.
pub(crate) const PAGE_MEDIAN: [f64; 4] = [1.5, 1.2, 0.8, 1.9];
/// Log-space spread of page load times.
pub(crate) const PAGE_SIGMA: f64 = 0.45;
/// Share of bounced views per page.
const PAGE_BOUNCE: [f64; 4] = [0.45, 0.25, 0.60, 0.05];
/// Probability of each satisfaction rating 1..=10 (mean ≈ 8.4).
const RATING_P: [f64; 10] = [
    0.005, 0.005, 0.01, 0.015, 0.03, 0.05, 0.10, 0.20, 0.30, 0.285,
];
/// Conversion price points (EUR); equally likely, mean 250.
pub(crate) const PRICES: [f64; 2] = [200.0, 300.0];
/// The campaign currency.
pub(crate) const CURRENCY: &str = "EUR";

/// Minutes from the webinar start to its end.
const END_MIN: f64 = (WEBINAR_LEN / MINUTE) as f64;

/// Campaign targets.
pub(crate) const TARGET_REGISTRATIONS: f64 = 2000.0;
const CONVERSION_RATE: f64 = 0.25;
const SURVEY_RATE: f64 = 0.45;
const LIST_SIZE: f64 = 24_000.0;

/// What happened in the campaign during one step (the increments of every business series).
#[derive(Debug, Clone, Default)]
pub(crate) struct CampaignDelta {
    /// New registrations per (channel, utm index).
    pub(crate) regs: Vec<(usize, usize, u64)>,
    pub(crate) joins: [u64; 6],
    pub(crate) leaves: u64,
    /// Ids of the attendees who left.
    pub(crate) left_ids: Vec<u32>,
    pub(crate) engagement: [u64; 4],
    pub(crate) new_engaged: u64,
    /// Ids of the attendees who engaged for the first time.
    pub(crate) engaged_ids: Vec<u32>,
    /// Conversions per channel and price index.
    pub(crate) conversions: [[u64; 2]; 6],
    pub(crate) costs: [f64; 6],
    pub(crate) emails: [u64; 5],
    /// Views per page, `[not bounced, bounced]`.
    pub(crate) page_views: [[u64; 2]; 4],
    /// Median load time per page during this step.
    pub(crate) page_median: [f64; 4],
    pub(crate) ratings: [u64; 10],
}

impl CampaignDelta {
    /// Total new registrations.
    pub(crate) fn registrations(&self) -> u64 {
        self.regs.iter().map(|r| r.2).sum()
    }
}

/// Mutable campaign state (cheap to clone for checkpoints).
#[derive(Debug, Clone, Default)]
pub(crate) struct CampaignState {
    regs: [u64; 6],
    pub(crate) joins: [u64; 6],
    conv_expected: Option<[f64; 6]>,
    rating_expected: Option<f64>,
    pub(crate) attendees: u64,
    /// Ids (join order) of the attendees present now.
    pub(crate) present: Vec<u32>,
    /// Per attendee id: has engaged at least once.
    pub(crate) has_engaged: Vec<bool>,
    pub(crate) engaged: u64,
    open_pool: u64,
    click_pool: u64,
}

/// Series indices and constants of the campaign.
#[derive(Debug, Clone)]
pub(crate) struct Campaign {
    reg: Vec<Vec<usize>>,
    joins: [usize; 6],
    attendees: usize,
    engagement: [usize; 4],
    engaged: usize,
    conversions: [usize; 6],
    revenue: [usize; 6],
    cost: [usize; 6],
    emails: [usize; 5],
    page_views: [[usize; 2]; 4],
    page_load: Vec<Histogram>,
    satisfaction: Histogram,
    /// Expected registrations per unit of un-normalised intensity.
    scale: f64,
    engaged_target: f64,
    organic_payments: [i64; 2],
    /// Calendar pushes: (channel, when, peak multiplier, decay time in ms).
    boosts: Vec<(usize, i64, f64, i64)>,
}

impl Campaign {
    /// Registers the campaign's series and precomputes the normalisation.
    pub(crate) fn new(cat: &mut Catalog, s: &Schedule, seed: u64) -> Self {
        let mut reg = Vec::new();
        for (c, ch) in CHANNELS.iter().enumerate() {
            let utms = UTM.get(c).copied().unwrap_or(&[]);
            reg.push(
                utms.iter()
                    .map(|(u, _)| {
                        cat.add(
                            "vigia_registrations_total",
                            &[("channel", ch), ("utm_source", u)],
                        )
                    })
                    .collect(),
            );
        }
        let per_channel = |cat: &mut Catalog, name: &str, extra: &[(&str, &str)]| -> [usize; 6] {
            CHANNELS.map(|ch| {
                let mut p = vec![("channel", ch)];
                p.extend_from_slice(extra);
                cat.add(name, &p)
            })
        };
        let joins = per_channel(cat, "vigia_attendance_joins_total", &[]);
        let attendees = cat.add("vigia_attendees_current", &[]);
        let engagement =
            ENGAGEMENT.map(|k| cat.add("vigia_engagement_events_total", &[("kind", k)]));
        let engaged = cat.add("vigia_engaged_attendees_total", &[]);
        let conversions = per_channel(cat, "vigia_conversions_total", &[]);
        let revenue = per_channel(cat, "vigia_revenue_total", &[("currency", CURRENCY)]);
        let cost = per_channel(cat, "vigia_marketing_cost_total", &[("currency", CURRENCY)]);
        let emails = EMAIL.map(|st| cat.add("vigia_emails_total", &[("status", st)]));
        let page_views = PAGES.map(|p| {
            [
                cat.add(
                    "vigia_page_views_total",
                    &[("page", p), ("bounced", "false")],
                ),
                cat.add(
                    "vigia_page_views_total",
                    &[("page", p), ("bounced", "true")],
                ),
            ]
        });
        let page_load = PAGES
            .iter()
            .map(|p| {
                cat.add_histogram(
                    "vigia_page_load_seconds",
                    &[("page", p)],
                    &[0.5, 1.0, 2.0, 3.0, 5.0, 10.0],
                )
            })
            .collect();
        let les: Vec<f64> = (1..=10).map(f64::from).collect();
        let satisfaction = cat.add_histogram("vigia_satisfaction_rating", &[], &les);

        let day0 = s.start.div_euclid(DAY) * DAY;
        let mut me = Self {
            reg,
            joins,
            attendees,
            engagement,
            engaged,
            conversions,
            revenue,
            cost,
            emails,
            page_views,
            page_load,
            satisfaction,
            scale: 0.0,
            engaged_target: 0.73
                + 0.04 * ((mix64(seed ^ 0xE6A6) >> 11) as f64 / (1u64 << 53) as f64),
            organic_payments: [day0 + DAY + 12 * HOUR, day0 + 6 * DAY + 12 * HOUR],
            boosts: s
                .list_blasts
                .iter()
                .map(|&b| (0, b, 5.0, 3 * HOUR))
                .chain([2, 7, 9].map(|d| (1, day0 + d * DAY + 12 * HOUR, 3.0, 2 * HOUR)))
                .chain([
                    (REFERRAL, day0 + 7 * DAY + 15 * HOUR, 3.0, 4 * HOUR),
                    (5, day0 + 8 * DAY + 8 * HOUR, 4.0, 6 * HOUR),
                ])
                .collect(),
        };
        // Normalise so that the expected registrations up to the end of the webinar hit the target.
        let close = s.webinar;
        let steps = ((close - s.start) / s.step).clamp(0, 20_000_000);
        let mut total = 0.0;
        for k in 1..=steps {
            let t = s.t(k);
            let ads_stopped = s.active(t).ads_stopped;
            total += (0..CHANNELS.len())
                .map(|c| me.raw_intensity(s, t, c, ads_stopped))
                .sum::<f64>();
        }
        me.scale = if total > 0.0 {
            TARGET_REGISTRATIONS / total
        } else {
            0.0
        };
        me
    }

    /// Un-normalised registration intensity of channel `c` for the step ending at `t`.
    fn raw_intensity(&self, s: &Schedule, t: i64, c: usize, ads_stopped: bool) -> f64 {
        if t <= s.start || t > s.webinar {
            return 0.0;
        }
        let span = (s.webinar - s.start).max(DAY) as f64;
        let p = ((t - s.start) as f64 / span).clamp(0.0, 1.0);
        let surge = if s.webinar - t < DAY { 0.8 } else { 0.0 };
        let mut x = activity(t) * (0.5 + p + surge) * SHARE[c] * s.step_min();
        let boost: f64 = self
            .boosts
            .iter()
            .filter(|b| b.0 == c && b.1 <= t)
            .map(|&(_, at, peak, tau)| peak * (-((t - at) as f64) / tau as f64).exp())
            .sum();
        x *= 1.0 + boost;
        if c == ADS && ads_stopped {
            x = 0.0;
        }
        x
    }

    /// Expected registrations of channel `c` in the step ending at `t`.
    fn intensity(&self, s: &Schedule, t: i64, c: usize, ads_stopped: bool) -> f64 {
        self.scale * self.raw_intensity(s, t, c, ads_stopped)
    }

    /// Advances one step ending at `t`: draws what happened and adds it to the series values.
    pub(crate) fn step(
        &self,
        s: &Schedule,
        st: &mut CampaignState,
        v: &mut [f64],
        rng: &mut Rng,
        t: i64,
        act: &Active,
    ) -> CampaignDelta {
        let mut d = CampaignDelta::default();
        let x = StepCtx {
            s,
            act,
            t,
            prev: t - s.step,
            step_min: s.step_min(),
            m: s.webinar_min(t),
        };
        let (expected, expected_regs) = self.draw_registrations(&x, st, &mut d, rng);
        draw_attendance(&x, st, &mut d, rng);
        self.draw_engagement(&x, st, &mut d, rng);
        draw_conversions(&x, st, &mut d, rng);
        draw_ratings(&x, st, &mut d, rng);
        draw_emails(&x, st, &mut d, rng);
        self.draw_costs(&x, &mut d, rng, &expected);
        draw_page_views(&x, st, &mut d, rng, expected_regs);
        self.apply(&d, st, v, rng);
        d
    }

    /// Registrations per channel and UTM source; returns the expected registrations per
    /// channel and in total.
    fn draw_registrations(
        &self,
        x: &StepCtx,
        st: &mut CampaignState,
        d: &mut CampaignDelta,
        rng: &mut Rng,
    ) -> ([f64; 6], f64) {
        let mut expected_regs = 0.0;
        let mut expected = [0.0; 6];
        for (c, e) in expected.iter_mut().enumerate() {
            *e = self.intensity(x.s, x.t, c, x.act.ads_stopped);
            expected_regs += *e;
            for (u, (_, w)) in UTM[c].iter().enumerate() {
                let n = rng.poisson(*e * w);
                if n > 0 {
                    d.regs.push((c, u, n));
                    st.regs[c] += n;
                }
            }
        }
        (expected, expected_regs)
    }

    /// Engagement during the webinar: events by kind, and the attendees engaging for the
    /// first time (towards `engaged_target` of those who joined).
    fn draw_engagement(
        &self,
        x: &StepCtx,
        st: &mut CampaignState,
        d: &mut CampaignDelta,
        rng: &mut Rng,
    ) {
        let (m, step_min) = (x.m, x.step_min);
        let joins_total: u64 = st.joins.iter().sum();
        if !((0.0..END_MIN).contains(&m) && st.attendees > 0) {
            return;
        }
        let a = st.attendees as f64 * step_min;
        let poll = [20.0, 45.0, 70.0].iter().any(|p| m >= *p && m < p + 3.0);
        d.engagement = [
            if poll { rng.poisson(0.22 * a) } else { 0 },
            rng.poisson(0.04 * a),
            rng.poisson(0.008 * a),
            rng.poisson(0.07 * a),
        ];
        let events: u64 = d.engagement.iter().sum();
        let pending =
            ((self.engaged_target * joins_total as f64).round() as u64).saturating_sub(st.engaged);
        // Newly engaged attendees are drawn among the present ones who never engaged.
        let mut candidates: Vec<u32> = st
            .present
            .iter()
            .copied()
            .filter(|&id| !st.has_engaged.get(id as usize).copied().unwrap_or(true))
            .collect();
        d.new_engaged = rng
            .thin(pending, 1.0 - (-0.07 * step_min).exp())
            .min(events)
            .min(candidates.len() as u64);
        for _ in 0..d.new_engaged {
            let i = (rng.next_u64() % candidates.len().max(1) as u64) as usize;
            if i < candidates.len() {
                let id = candidates.swap_remove(i);
                if let Some(f) = st.has_engaged.get_mut(id as usize) {
                    *f = true;
                }
                d.engaged_ids.push(id);
            }
        }
        st.engaged += d.new_engaged;
        let engaged_present = st
            .present
            .iter()
            .any(|&id| st.has_engaged.get(id as usize).copied().unwrap_or(false));
        if !engaged_present {
            // Every engagement event comes from an engaged attendee who is present.
            d.engagement = [0; 4];
        }
    }

    /// Marketing costs per channel (EUR, rounded to cents): email sending, social and ads in
    /// proportion to the `expected` registrations, organic payments, referral fees per
    /// registration and the partner fee at the start.
    fn draw_costs(&self, x: &StepCtx, d: &mut CampaignDelta, rng: &mut Rng, expected: &[f64; 6]) {
        let (s, t, prev) = (x.s, x.t, x.prev);
        let sent = d.emails[0];
        let cents = |x: f64| (x * 100.0).round() / 100.0;
        d.costs[0] = cents(0.002 * sent as f64);
        d.costs[1] = cents(2.5 * expected[1] * rng.jitter(0.15));
        d.costs[ADS] = cents(5.0 * expected[ADS] * rng.jitter(0.15));
        d.costs[3] = self
            .organic_payments
            .iter()
            .filter(|&&p| prev < p && t >= p)
            .count() as f64
            * 150.0;
        let referral_regs: u64 = d.regs.iter().filter(|r| r.0 == REFERRAL).map(|r| r.2).sum();
        d.costs[REFERRAL] = 3.0 * referral_regs as f64;
        d.costs[5] = if prev < s.start + s.step && t >= s.start + s.step {
            400.0
        } else {
            0.0
        };
    }

    /// Adds a step's increments to the series values.
    fn apply(&self, d: &CampaignDelta, st: &CampaignState, v: &mut [f64], rng: &mut Rng) {
        let mut add = |i: usize, x: f64| {
            if let Some(slot) = v.get_mut(i) {
                *slot += x;
            }
        };
        for &(c, u, n) in &d.regs {
            if let Some(&i) = self.reg.get(c).and_then(|r| r.get(u)) {
                add(i, n as f64);
            }
        }
        for c in 0..6 {
            add(self.joins[c], d.joins[c] as f64);
            let [lo, hi] = d.conversions[c];
            add(self.conversions[c], (lo + hi) as f64);
            add(
                self.revenue[c],
                lo as f64 * PRICES[0] + hi as f64 * PRICES[1],
            );
            add(self.cost[c], d.costs[c]);
        }
        for k in 0..4 {
            add(self.engagement[k], d.engagement[k] as f64);
        }
        add(self.engaged, d.new_engaged as f64);
        for e in 0..5 {
            add(self.emails[e], d.emails[e] as f64);
        }
        for p in 0..4 {
            add(self.page_views[p][0], d.page_views[p][0] as f64);
            add(self.page_views[p][1], d.page_views[p][1] as f64);
        }
        if let Some(slot) = v.get_mut(self.attendees) {
            *slot = st.attendees as f64;
        }
        for (p, h) in self.page_load.iter().enumerate() {
            let n = d.page_views[p][0] + d.page_views[p][1];
            h.observe_lognormal(v, rng, n, d.page_median[p], PAGE_SIGMA);
        }
        self.satisfaction.observe_integers(v, &d.ratings);
    }
}

/// The step being drawn.
struct StepCtx<'a> {
    s: &'a Schedule,
    /// Active faults and interventions.
    act: &'a Active,
    /// End of the step.
    t: i64,
    /// End of the previous step.
    prev: i64,
    /// Step length in minutes.
    step_min: f64,
    /// Minutes since the webinar start (negative before).
    m: f64,
}

/// Attendance: joins from 15 minutes before to 45 minutes after the start, in proportion to
/// the registrations so far, and leaves (slow during the webinar, fast after its end).
fn draw_attendance(x: &StepCtx, st: &mut CampaignState, d: &mut CampaignDelta, rng: &mut Rng) {
    let (m, step_min) = (x.m, x.step_min);
    let join_density = if (-15.0..0.0).contains(&m) {
        0.20 / 15.0
    } else if (0.0..10.0).contains(&m) {
        0.55 / 10.0
    } else if (10.0..45.0).contains(&m) {
        0.25 / 35.0
    } else {
        0.0
    };
    if join_density > 0.0 {
        for (c, show_up) in SHOW_UP.iter().enumerate() {
            let expected = show_up * st.regs[c] as f64;
            let n = rng
                .poisson(expected * join_density * step_min)
                .min(st.regs[c].saturating_sub(st.joins[c]));
            d.joins[c] = n;
            st.joins[c] += n;
            st.attendees += n;
        }
        let first = st.has_engaged.len();
        let total = first + d.joins.iter().sum::<u64>() as usize;
        st.present
            .extend((first..total).map(|id| u32::try_from(id).unwrap_or(u32::MAX)));
        st.has_engaged.resize(total, false);
    }
    let hazard = if m >= END_MIN {
        0.4
    } else if m >= 0.0 {
        0.004
    } else {
        0.0
    };
    d.leaves = rng.thin(st.attendees, 1.0 - (-hazard * step_min).exp());
    st.attendees -= d.leaves;
    for _ in 0..d.leaves {
        if st.present.is_empty() {
            break;
        }
        let i = (rng.next_u64() % st.present.len() as u64) as usize;
        d.left_ids.push(st.present.swap_remove(i));
    }
}

/// Conversions: the offer opens 60 minutes in and stays open for 7 days.
fn draw_conversions(x: &StepCtx, st: &mut CampaignState, d: &mut CampaignDelta, rng: &mut Rng) {
    let (m, step_min) = (x.m, x.step_min);
    if m >= 60.0 && st.conv_expected.is_none() {
        st.conv_expected = Some(std::array::from_fn(|c| {
            CONVERSION_RATE * st.joins[c] as f64
        }));
    }
    let Some(ce) = st.conv_expected else {
        return;
    };
    let mo = m - 60.0;
    if (0.0..7.0 * 1440.0).contains(&mo) {
        let tau = 2160.0;
        let mut g = 0.65 * (-mo / tau).exp() / tau / (1.0 - (-7.0 * 1440.0 / tau).exp());
        if mo < 120.0 {
            g += 0.35 / 120.0;
        }
        for (c, expected) in ce.iter().enumerate() {
            let n = rng.poisson(expected * g * step_min);
            for _ in 0..n {
                let p = usize::from(rng.uniform() >= 0.5);
                d.conversions[c][p] += 1;
            }
        }
    }
}

/// Satisfaction survey after the webinar: ratings 1..=10 from `RATING_P`.
fn draw_ratings(x: &StepCtx, st: &mut CampaignState, d: &mut CampaignDelta, rng: &mut Rng) {
    let (m, step_min) = (x.m, x.step_min);
    let joins_total: u64 = st.joins.iter().sum();
    if m >= END_MIN && st.rating_expected.is_none() {
        st.rating_expected = Some(SURVEY_RATE * joins_total as f64);
    }
    let Some(re) = st.rating_expected else {
        return;
    };
    let mr = m - END_MIN;
    if (0.0..1440.0).contains(&mr) {
        let n = rng.poisson(re * (-mr / 45.0).exp() / 45.0 * step_min);
        for _ in 0..n {
            let u = rng.uniform();
            let mut acc = 0.0;
            let mut r = RATING_P.len() - 1;
            for (i, p) in RATING_P.iter().enumerate() {
                acc += p;
                if u < acc {
                    r = i;
                    break;
                }
            }
            d.ratings[r] += 1;
        }
    }
}

/// Emails: list blasts over 30 minutes, registrant mails over 10, one confirmation per
/// registration; then bounces, opens and clicks.
fn draw_emails(x: &StepCtx, st: &mut CampaignState, d: &mut CampaignDelta, rng: &mut Rng) {
    let (s, t, prev, step_min) = (x.s, x.t, x.prev, x.step_min);
    let in_window = |start: i64, len: i64| t > start && prev < start + len;
    let mut list_sent = 0u64;
    for &b in &s.list_blasts {
        if in_window(b, 30 * MINUTE) {
            list_sent += rng.round(LIST_SIZE / 30.0 * step_min);
        }
    }
    let regs_total: u64 = st.regs.iter().sum();
    let mut reg_sent = d.registrations();
    for &b in &s.registrant_mails {
        if in_window(b, 10 * MINUTE) {
            reg_sent += rng.round(regs_total as f64 / 10.0 * step_min);
        }
    }
    let bounced = rng.thin(list_sent, 0.025) + rng.thin(reg_sent, 0.008);
    let sent = list_sent + reg_sent;
    let delivered = sent - bounced;
    st.open_pool += rng.thin(delivered, 0.36);
    let opened = rng.thin(st.open_pool, 1.0 - (-step_min / 90.0).exp());
    st.open_pool -= opened;
    st.click_pool += rng.thin(opened, 0.22);
    let clicked = rng.thin(st.click_pool, 1.0 - (-step_min / 5.0).exp());
    st.click_pool -= clicked;
    d.emails = [sent, delivered, opened, clicked, bounced];
}

/// Page views (bounced or not) and median load times per page: from the `expected_regs`
/// registrations, background traffic and the webinar audience; slower with the audience and
/// during the latency spike.
fn draw_page_views(
    x: &StepCtx,
    st: &CampaignState,
    d: &mut CampaignDelta,
    rng: &mut Rng,
    expected_regs: f64,
) {
    let (m, step_min) = (x.m, x.step_min);
    let background = 0.3 * activity(x.t) * step_min;
    let webinar_now = (-15.0..END_MIN).contains(&m);
    let lambdas = [
        4.0 * expected_regs + background,
        1.4 * expected_regs + 0.2 * background,
        d.registrations() as f64,
        1.3 * d.joins.iter().sum::<u64>() as f64
            + if webinar_now {
                0.01 * st.attendees as f64 * step_min
            } else {
                0.02 * background
            },
    ];
    let slow = if x.act.latency_spike { 3.0 } else { 1.0 } * (1.0 + st.attendees as f64 / 3000.0);
    for (p, lambda) in lambdas.iter().enumerate() {
        let n = rng.poisson(*lambda);
        let b = rng.thin(n, PAGE_BOUNCE[p]);
        d.page_views[p] = [n - b, b];
        d.page_median[p] = PAGE_MEDIAN[p] * slow;
    }
}
