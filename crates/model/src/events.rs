//! Business events as the events API receives them (`POST /api/v1/events`): shared between the
//! component that turns them into series and whatever produces them (the demo's simulator,
//! tests). Pure data; no validation beyond the types.

use serde::{Deserialize, Serialize};

/// Attendance actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttendanceAction {
    /// The attendee joined (the first join of a registrant counts as attendance).
    Join,
    /// The attendee left.
    Leave,
}

/// One event as posted. `timestamp` is ms since the epoch (a number) or RFC 3339 (a string).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id; a repeated id is ignored.
    pub id: String,
    /// When it happened.
    pub timestamp: i64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Event kinds and their fields (`"kind": "registration"`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventKind {
    /// Someone registered.
    Registration {
        /// email, social, ads, organic, referral or partner.
        channel: String,
        /// UTM source (free form; the 50 most frequent keep their value).
        #[serde(default)]
        utm_source: Option<String>,
        /// UTM campaign.
        #[serde(default)]
        utm_campaign: Option<String>,
    },
    /// An attendee joined or left.
    Attendance {
        /// `join` or `leave`.
        action: AttendanceAction,
        /// Attendee id.
        attendee_id: String,
        /// Registration channel (joins).
        #[serde(default)]
        channel: Option<String>,
    },
    /// An interaction.
    Engagement {
        /// poll, chat, question or reaction.
        engagement: String,
        /// Attendee id.
        attendee_id: String,
    },
    /// A purchase.
    Conversion {
        /// Channel of the buyer.
        channel: String,
        /// Amount.
        amount: f64,
        /// Currency (default EUR).
        #[serde(default)]
        currency: Option<String>,
    },
    /// An email status change.
    Email {
        /// sent, delivered, opened, clicked or bounced.
        status: String,
    },
    /// A page view.
    PageView {
        /// Page name.
        page: String,
        /// Load time in seconds.
        load_time_seconds: f64,
        /// Left without interacting.
        #[serde(default)]
        bounced: bool,
    },
    /// A satisfaction rating.
    Satisfaction {
        /// 1 to 10.
        rating: u8,
    },
    /// Marketing spend.
    MarketingCost {
        /// Channel.
        channel: String,
        /// Amount.
        amount: f64,
        /// Currency (default EUR).
        #[serde(default)]
        currency: Option<String>,
    },
}
