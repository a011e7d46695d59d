//! Business events equivalent to one step of the campaign: what a real campaign would post to
//! `POST /api/v1/events`. Counting these events reproduces the campaign's counters exactly
//! (page load times and so the load-time histogram are drawn individually and differ in detail).

use crate::campaign::{
    CHANNELS, CURRENCY, CampaignDelta, CampaignState, EMAIL, ENGAGEMENT, PAGE_SIGMA, PAGES, PRICES,
    UTM,
};
use crate::rng::Rng;

/// Campaign name carried by registration events.
pub const UTM_CAMPAIGN: &str = "ia-10x-impact";

pub use vigia_model::events::{AttendanceAction, Event, EventKind};

/// Expands a campaign step (step `k`, ending at `t`; state after the step) into events whose
/// ids are `{run}-{k}-{index}`, `run` identifying the simulation (seed and start).
#[allow(clippy::too_many_arguments)]
pub(crate) fn from_delta(
    d: &CampaignDelta,
    st: &CampaignState,
    seed: u64,
    run: &str,
    k: i64,
    t: i64,
    step: i64,
) -> Vec<Event> {
    let mut rng = Rng::for_step(seed ^ 0xE7E7_5EED_0BAD_CAFE, k);
    let mut kinds: Vec<EventKind> = Vec::new();
    registrations(d, &mut kinds);
    attendance(d, st, &mut kinds);
    engagement(d, st, &mut rng, &mut kinds);
    conversions(d, &mut kinds);
    emails(d, &mut kinds);
    page_views(d, &mut rng, &mut kinds);
    ratings(d, &mut kinds);
    costs(d, &mut kinds);
    // Timestamps in (t - step, t], ascending in the order above (joins before leaves…).
    let mut stamps: Vec<i64> = kinds
        .iter()
        .map(|_| t - (rng.next_u64() % step.max(1) as u64) as i64)
        .collect();
    stamps.sort_unstable();
    kinds
        .into_iter()
        .zip(stamps)
        .enumerate()
        .map(|(i, (kind, timestamp))| Event {
            id: format!("{run}-{k}-{i}"),
            timestamp,
            kind,
        })
        .collect()
}

/// The name of channel `c`.
fn channel(c: usize) -> String {
    CHANNELS.get(c).copied().unwrap_or("other").to_string()
}

/// One registration event per new registration, with its UTM source.
fn registrations(d: &CampaignDelta, out: &mut Vec<EventKind>) {
    for &(c, u, n) in &d.regs {
        let utm = UTM
            .get(c)
            .and_then(|l| l.get(u))
            .map(|x| x.0)
            .unwrap_or("other");
        for _ in 0..n {
            out.push(EventKind::Registration {
                channel: channel(c),
                utm_source: Some(utm.to_string()),
                utm_campaign: Some(UTM_CAMPAIGN.to_string()),
            });
        }
    }
}

/// Joins (attendee ids in join order, continuing from the joins before this step), then
/// leaves.
fn attendance(d: &CampaignDelta, st: &CampaignState, out: &mut Vec<EventKind>) {
    let joins_after: u64 = st.joins.iter().sum();
    let mut next_id = joins_after - d.joins.iter().sum::<u64>();
    for (c, &n) in d.joins.iter().enumerate() {
        for _ in 0..n {
            out.push(EventKind::Attendance {
                action: AttendanceAction::Join,
                attendee_id: format!("a-{next_id}"),
                channel: Some(channel(c)),
            });
            next_id += 1;
        }
    }
    for id in &d.left_ids {
        out.push(EventKind::Attendance {
            action: AttendanceAction::Leave,
            attendee_id: format!("a-{id}"),
            channel: None,
        });
    }
}

/// Engagement: the first `new_engaged` events (in random order) come from newly engaged
/// attendees, the others from engaged attendees who are present.
fn engagement(d: &CampaignDelta, st: &CampaignState, rng: &mut Rng, out: &mut Vec<EventKind>) {
    let mut eng: Vec<usize> = Vec::new();
    for (kind, &n) in d.engagement.iter().enumerate() {
        eng.extend(std::iter::repeat_n(kind, n as usize));
    }
    for i in (1..eng.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        eng.swap(i, j);
    }
    let engaged_present: Vec<u32> = st
        .present
        .iter()
        .copied()
        .filter(|&id| st.has_engaged.get(id as usize).copied().unwrap_or(false))
        .collect();
    for (i, kind) in eng.into_iter().enumerate() {
        let id = match d.engaged_ids.get(i) {
            Some(id) => *id,
            None => {
                let j = (rng.next_u64() % engaged_present.len().max(1) as u64) as usize;
                engaged_present.get(j).copied().unwrap_or(0)
            }
        };
        out.push(EventKind::Engagement {
            engagement: ENGAGEMENT.get(kind).copied().unwrap_or("chat").to_string(),
            attendee_id: format!("a-{id}"),
        });
    }
}

/// One conversion event per conversion, at its price.
fn conversions(d: &CampaignDelta, out: &mut Vec<EventKind>) {
    for (c, per_price) in d.conversions.iter().enumerate() {
        for (p, &n) in per_price.iter().enumerate() {
            for _ in 0..n {
                out.push(EventKind::Conversion {
                    channel: channel(c),
                    amount: PRICES.get(p).copied().unwrap_or(0.0),
                    currency: Some(CURRENCY.to_string()),
                });
            }
        }
    }
}

/// One email event per email and status.
fn emails(d: &CampaignDelta, out: &mut Vec<EventKind>) {
    for (e, &n) in d.emails.iter().enumerate() {
        for _ in 0..n {
            out.push(EventKind::Email {
                status: EMAIL.get(e).copied().unwrap_or("sent").to_string(),
            });
        }
    }
}

/// One page view event per view, each with its own load time around the page's median.
fn page_views(d: &CampaignDelta, rng: &mut Rng, out: &mut Vec<EventKind>) {
    for (p, views) in d.page_views.iter().enumerate() {
        let median = d.page_median.get(p).copied().unwrap_or(1.0);
        for (bounced, &n) in views.iter().enumerate() {
            for _ in 0..n {
                let load = (median * (PAGE_SIGMA * rng.normal()).exp() * 1000.0).round() / 1000.0;
                out.push(EventKind::PageView {
                    page: PAGES.get(p).copied().unwrap_or("other").to_string(),
                    load_time_seconds: load,
                    bounced: bounced == 1,
                });
            }
        }
    }
}

/// One satisfaction event per rating.
fn ratings(d: &CampaignDelta, out: &mut Vec<EventKind>) {
    for (r, &n) in d.ratings.iter().enumerate() {
        for _ in 0..n {
            out.push(EventKind::Satisfaction {
                rating: u8::try_from(r + 1).unwrap_or(10),
            });
        }
    }
}

/// One marketing cost event per channel with a cost in the step.
fn costs(d: &CampaignDelta, out: &mut Vec<EventKind>) {
    for (c, &amount) in d.costs.iter().enumerate() {
        if amount > 0.0 {
            out.push(EventKind::MarketingCost {
                channel: channel(c),
                amount,
                currency: Some(CURRENCY.to_string()),
            });
        }
    }
}
