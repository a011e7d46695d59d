//! The legend under a time-series chart: a swatch (colour and dashes) and the name of every
//! series, laid out in rows that fit the chart's width.

use super::{Cleaned, Scales};
use crate::charts::palette::{TEXT, series_style};
use crate::charts::{text_width, truncate};
use crate::format::{coord, esc};
use std::fmt::Write as _;

/// Legend rows: `(series index, shown name, x offset)` per item.
pub(super) type Rows = Vec<Vec<(usize, String, f64)>>;

/// Lays the items out in rows of (swatch + text) that fit a chart `w` px wide.
pub(super) fn layout(cleaned: &Cleaned<'_>, w: f64) -> Rows {
    let legend_items: Vec<(usize, String)> = cleaned
        .iter()
        .map(|(i, sr, _)| (*i, truncate(&sr.name, 60)))
        .collect();
    let mut rows: Rows = vec![Vec::new()];
    let mut xcur = 0.0;
    let avail = w - 20.0;
    for (i, name) in legend_items {
        let iw = 22.0 + text_width(&name) + 14.0;
        if xcur + iw > avail && xcur > 0.0 {
            rows.push(Vec::new());
            xcur = 0.0;
        }
        if let Some(r) = rows.last_mut() {
            r.push((i, name, xcur));
        }
        xcur += iw;
    }
    rows.into_iter().filter(|r| !r.is_empty()).collect()
}

/// Draws the rows that fit in the chart's height `h` under the time axis, and closes the
/// `<svg>`.
pub(super) fn draw(s: &mut String, rows: &Rows, sc: &Scales, h: f64) {
    w!(s, r#"<g class="legend" fill="{TEXT}">"#);
    let ly0 = sc.y + sc.h + 38.0;
    for (r, row) in rows.iter().enumerate() {
        let y = ly0 + r as f64 * 18.0;
        if y > h - 4.0 {
            break;
        }
        for (i, name, x) in row {
            let (colour, dash_attr) = series_style(*i);
            w!(
                s,
                r#"<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{colour}" stroke-width="3"{dash_attr}/><text x="{}" y="{}" dominant-baseline="middle">{}</text>"#,
                coord(10.0 + x),
                coord(28.0 + x),
                coord(y),
                coord(y),
                coord(32.0 + x),
                coord(y),
                esc(name)
            );
        }
    }
    s.push_str("</g></svg>");
}
