//! Sparklines: a small line without axes for KPI cards, ending in a dot at the last value.

use super::{ChartOptions, MUTED_TEXT, PALETTE};
use crate::format::{coord, esc};
use crate::i18n::{Key, t};
use std::fmt::Write as _;

/// A small line without axes for KPI cards. Empty or all-NaN input draws a flat dashed line
/// with a "no data" title.
pub fn sparkline(points: &[(f64, f64)], o: &ChartOptions) -> String {
    let mut s = String::new();
    let (w, h) = (o.width.max(20.0), o.height.max(10.0));
    let pts: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(t, v)| t.is_finite() && v.is_finite())
        .collect();
    let id = esc(&o.id);
    if pts.is_empty() {
        w!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" id="{id}" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}"><line x1="0" x2="{}" y1="{}" y2="{}" stroke="{MUTED_TEXT}" stroke-dasharray="3 3"/></svg>"#,
            coord(w),
            coord(h),
            coord(w),
            coord(h),
            esc(t(o.lang, Key::NoData)),
            coord(w),
            coord(h / 2.0),
            coord(h / 2.0)
        );
        return s;
    }
    let (t0, t1) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (t, _)| {
            (a.min(*t), b.max(*t))
        });
    let (v0, v1) = pts
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (_, v)| {
            (a.min(*v), b.max(*v))
        });
    let tspan = if t1 > t0 { t1 - t0 } else { 1.0 };
    let vspan = if v1 > v0 { v1 - v0 } else { 1.0 };
    let px = |t: f64| 2.0 + (t - t0) / tspan * (w - 4.0);
    let py = |v: f64| {
        if v1 > v0 {
            h - 2.0 - (v - v0) / vspan * (h - 4.0)
        } else {
            h / 2.0
        }
    };
    let mut d = String::new();
    for (k, (t, v)) in pts.iter().enumerate() {
        w!(
            d,
            "{}{},{} ",
            if k == 0 { "M" } else { "L" },
            coord(px(*t)),
            coord(py(*v))
        );
    }
    let (lt, lv) = pts[pts.len() - 1];
    w!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" id="{id}" viewBox="0 0 {} {}" width="{}" height="{}" role="img" aria-label="{}"><path d="{}" fill="none" stroke="{}" stroke-width="1.5"/><circle cx="{}" cy="{}" r="2" fill="{}"/></svg>"#,
        coord(w),
        coord(h),
        coord(w),
        coord(h),
        esc(&o.title),
        d.trim_end(),
        PALETTE[0],
        coord(px(lt)),
        coord(py(lv)),
        PALETTE[0]
    );
    s
}
