//! The axes of a time-series chart: the value axis with its grid lines, and the UTC time axis
//! with its ticks.

use super::Scales;
use crate::charts::palette::{GRID, MUTED_TEXT};
use crate::format::{ValueAxis, coord, esc, time_ticks};
use crate::i18n::{Key, Lang, t};
use std::fmt::Write as _;

/// Grid lines and labels at the value axis' ticks.
pub(super) fn draw_values(s: &mut String, axis: &ValueAxis, sc: &Scales) {
    w!(s, r#"<g class="y-axis" fill="{MUTED_TEXT}">"#);
    for (v, l) in axis.ticks.iter().zip(&axis.labels) {
        let y = sc.py(*v);
        w!(
            s,
            r#"<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{GRID}"/><text x="{}" y="{}" text-anchor="end" dominant-baseline="middle" data-value="{}">{}</text>"#,
            coord(sc.x),
            coord(sc.x + sc.w),
            coord(y),
            coord(y),
            coord(sc.x - 6.0),
            coord(y),
            v,
            esc(l)
        );
    }
    s.push_str("</g>");
}

/// The time axis under the plot: its line, ticks spaced for the plot width, and "UTC".
pub(super) fn draw_times(s: &mut String, sc: &Scales, lang: Lang) {
    let max_ticks = (sc.w / 80.0).clamp(2.0, 12.0) as usize;
    w!(s, r#"<g class="x-axis" fill="{MUTED_TEXT}">"#);
    w!(
        s,
        r#"<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{MUTED_TEXT}"/>"#,
        coord(sc.x),
        coord(sc.x + sc.w),
        coord(sc.y + sc.h),
        coord(sc.y + sc.h)
    );
    for (tt, l) in time_ticks(sc.t0, sc.t1, max_ticks) {
        let x = sc.px(tt);
        w!(
            s,
            r#"<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{MUTED_TEXT}"/><text x="{}" y="{}" text-anchor="middle" data-time="{}">{}</text>"#,
            coord(x),
            coord(x),
            coord(sc.y + sc.h),
            coord(sc.y + sc.h + 4.0),
            coord(x),
            coord(sc.y + sc.h + 17.0),
            tt,
            esc(&l)
        );
    }
    w!(
        s,
        r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
        coord(sc.x + sc.w),
        coord(sc.y + sc.h + 30.0),
        esc(t(lang, Key::Utc))
    );
    s.push_str("</g>");
}
