//! SVG charts drawn from plain data: time series (lines or areas, gaps, thresholds, highlighted
//! bands), horizontal bars by label, funnel, sparkline and attainment bar. Output is
//! deterministic (same input → same bytes), never contains non-finite numbers, and carries
//! `<title>`/`<desc>` and `role="img"` for assistive technology.
//!
//! The time-series `<svg>` carries its scales as `data-*` attributes (`data-plot` = x, y,
//! width, height of the plot area; `data-t0`/`data-t1` the time domain; `data-v0`/`data-v1`
//! the value domain) so tests and scripts can map pixels back to data.
//!
//! One chart kind per file beside this one (`time_series`, `bars`, `funnel`, `sparkline`,
//! `attainment`), colours in `palette`; this file holds the options and the SVG pieces they
//! share.

use crate::format::{coord, esc};
use crate::i18n::{Key, Lang, t};
use std::fmt::Write as _;

macro_rules! w {
    ($dst:expr, $($arg:tt)*) => { let _ = write!($dst, $($arg)*); };
}

mod attainment;
mod bars;
mod funnel;
mod palette;
mod sparkline;
mod time_series;

pub use attainment::attainment_bar;
pub use bars::{Bar, bar_chart};
pub use funnel::{FunnelStep, funnel};
pub use palette::{
    BACKGROUND, MUTED_TEXT, PALETTE, TEXT, THRESHOLD, contrast, luminance, status_colour,
};
pub use sparkline::sparkline;
pub use time_series::{
    Band, BandKind, ChartSeries, Scales, Threshold, TimeSeriesChart, time_series,
};

/// Size, identity and language of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartOptions {
    /// Prefix for element ids (unique on the page).
    pub id: String,
    /// Accessible title.
    pub title: String,
    /// Width in px.
    pub width: f64,
    /// Height in px.
    pub height: f64,
    /// Language of the texts.
    pub lang: Lang,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            id: "chart".into(),
            title: String::new(),
            width: 720.0,
            height: 260.0,
            lang: Lang::En,
        }
    }
}

/// Opens the `<svg>` of a chart of `w` × `h` px (with `extra` attributes): its accessible
/// title and the background.
fn svg_open(s: &mut String, o: &ChartOptions, w: f64, h: f64, extra: &str) {
    let id = esc(&o.id);
    w!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{id}" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-labelledby="{id}-title"{extra} font-family="system-ui, sans-serif" font-size="12">"#,
        coord(w),
        coord(h),
        coord(w),
        coord(h)
    );
    w!(s, r#"<title id="{id}-title">{}</title>"#, esc(&o.title));
    w!(
        s,
        r#"<rect x="0" y="0" width="{}" height="{}" fill="{BACKGROUND}"/>"#,
        coord(w),
        coord(h)
    );
}

/// The "no data" text in the middle of an empty chart, and the closing `</svg>`.
fn no_data(s: &mut String, o: &ChartOptions, w: f64, h: f64) {
    w!(
        s,
        r#"<text class="no-data" x="{}" y="{}" text-anchor="middle" fill="{MUTED_TEXT}" font-size="14">{}</text></svg>"#,
        coord(w / 2.0),
        coord(h / 2.0),
        esc(t(o.lang, Key::NoData))
    );
}

/// Approximate width of `text` at 12 px.
fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * 6.8
}

/// `text` cut to `max_chars` characters, ending in `…` when cut.
fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}
