//! The series: each split into runs at gaps (non-finite values, or steps longer than twice
//! the query step), drawn as lines (a dot for a lone point), with the area under them filled
//! for area charts.

use super::{Cleaned, Scales, TimeSeriesChart};
use crate::charts::palette::series_style;
use crate::format::{coord, esc};
use std::fmt::Write as _;

/// Splits sorted points into drawable runs: a non-finite value or a step gap > 2 × `step`
/// ends a run.
fn segments(points: &[(f64, f64)], step: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    for &(t, v) in points {
        if !v.is_finite() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if let Some(&(pt, _)) = cur.last()
            && step > 0.0
            && t - pt > 2.0 * step
        {
            out.push(std::mem::take(&mut cur));
        }
        cur.push((t, v));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The `M x,y L x,y …` path through a run's points.
fn path(seg: &[(f64, f64)], sc: &Scales) -> String {
    let mut d = String::new();
    for (k, (tt, v)) in seg.iter().enumerate() {
        w!(
            d,
            "{}{},{} ",
            if k == 0 { "M" } else { "L" },
            coord(sc.px(*tt)),
            coord(sc.py(*v))
        );
    }
    d
}

/// Draws every series, one `<g class="series">` each.
pub(super) fn draw(s: &mut String, c: &TimeSeriesChart, cleaned: &Cleaned<'_>, sc: &Scales) {
    for (i, sr, pts) in cleaned {
        let (colour, dash_attr) = series_style(*i);
        w!(
            s,
            r#"<g class="series" data-series="{i}"><title>{}</title>"#,
            esc(&sr.name)
        );
        for seg in segments(pts, c.step) {
            if c.area && seg.len() > 1 {
                draw_area(s, &seg, sc, colour);
            }
            if seg.len() == 1 {
                let (tt, v) = seg[0];
                w!(
                    s,
                    r#"<circle class="point" cx="{}" cy="{}" r="2.5" fill="{colour}"/>"#,
                    coord(sc.px(tt)),
                    coord(sc.py(v))
                );
            } else {
                w!(
                    s,
                    r#"<path class="line" d="{}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr} stroke-linejoin="round"/>"#,
                    path(&seg, sc).trim_end()
                );
            }
        }
        s.push_str("</g>");
    }
}

/// The filled area between a run and the zero line (clamped to the value domain).
fn draw_area(s: &mut String, seg: &[(f64, f64)], sc: &Scales, colour: &str) {
    let mut d = path(seg, sc);
    let base = sc.py(0f64.clamp(sc.v0, sc.v1));
    if let (Some(first), Some(last)) = (seg.first(), seg.last()) {
        w!(
            d,
            "L{},{} L{},{} Z",
            coord(sc.px(last.0)),
            coord(base),
            coord(sc.px(first.0)),
            coord(base)
        );
    }
    w!(
        s,
        r#"<path class="area" d="{}" fill="{colour}" fill-opacity="0.15" stroke="none"/>"#,
        d.trim_end()
    );
}
