//! Threshold and target lines: dashed horizontal lines across the plot, drawn on top of the
//! data, each with its label.

use super::{Scales, TimeSeriesChart};
use crate::charts::palette::THRESHOLD;
use crate::format::{coord, esc, format_value};
use crate::i18n::{Key, Lang, t};
use std::fmt::Write as _;

/// Draws the chart's finite thresholds.
pub(super) fn draw(s: &mut String, c: &TimeSeriesChart, sc: &Scales, lang: Lang) {
    for th in &c.thresholds {
        if !th.value.is_finite() {
            continue;
        }
        let y = sc.py(th.value);
        w!(
            s,
            r#"<g class="threshold"><title>{}: {}</title><line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{THRESHOLD}" stroke-width="1.5" stroke-dasharray="5 4"/><text x="{}" y="{}" text-anchor="end" fill="{THRESHOLD}">{}</text></g>"#,
            esc(t(lang, Key::Threshold)),
            esc(&format_value(th.value, c.unit, lang)),
            coord(sc.x),
            coord(sc.x + sc.w),
            coord(y),
            coord(y),
            coord(sc.x + sc.w - 4.0),
            coord(y - 4.0),
            esc(&th.label)
        );
    }
}
