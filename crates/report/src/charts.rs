//! SVG charts drawn from plain data: time series (lines or areas, gaps, thresholds, highlighted
//! bands), horizontal bars by label, funnel, sparkline and attainment bar. Output is
//! deterministic (same input → same bytes), never contains non-finite numbers, and carries
//! `<title>`/`<desc>` and `role="img"` for assistive technology.
//!
//! The time-series `<svg>` carries its scales as `data-*` attributes (`data-plot` = x, y,
//! width, height of the plot area; `data-t0`/`data-t1` the time domain; `data-v0`/`data-v1`
//! the value domain) so tests and scripts can map pixels back to data.

use crate::format::{Unit, coord, esc, format_time, format_value, time_ticks, value_axis};
use crate::i18n::{Key, Lang, t};
use std::fmt::Write as _;

macro_rules! w {
    ($dst:expr, $($arg:tt)*) => { let _ = write!($dst, $($arg)*); };
}

/// Chart background.
pub const BACKGROUND: &str = "#ffffff";
/// Main text colour.
pub const TEXT: &str = "#1f2937";
/// Secondary text colour (axes).
pub const MUTED_TEXT: &str = "#4b5563";
/// Grid lines.
const GRID: &str = "#e5e7eb";
/// Threshold lines.
pub const THRESHOLD: &str = "#b91c1c";

/// Series colours: a colour-blind-safe set (after Okabe–Ito and Tol), darkened where needed so
/// every colour has at least 3:1 contrast against the white background (WCAG 1.4.11).
pub const PALETTE: [&str; 8] = [
    "#0072b2", "#d55e00", "#007a5e", "#a6367f", "#8a6100", "#3b4cc0", "#5f6b00", "#b8003c",
];

/// Dash patterns cycled after the palette is exhausted, so series stay distinguishable
/// without colour.
const DASHES: [&str; 3] = ["", "6 3", "2 3"];

/// Colour for a status (`ok`, `warning`, `critical`, other = no data); all ≥ 4.5:1 on white.
pub fn status_colour(status: &str) -> &'static str {
    match status {
        "ok" => "#15803d",
        "warning" => "#b45309",
        "critical" => "#b91c1c",
        _ => "#6b7280",
    }
}

/// Relative luminance of a `#rrggbb` colour (WCAG 2.x).
pub fn luminance(hex: &str) -> Option<f64> {
    let h = hex.strip_prefix('#')?;
    if h.len() != 6 {
        return None;
    }
    let ch = |i: usize| -> Option<f64> {
        let v = u8::from_str_radix(h.get(i..i + 2)?, 16).ok()? as f64 / 255.0;
        Some(if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        })
    };
    Some(0.2126 * ch(0)? + 0.7152 * ch(2)? + 0.0722 * ch(4)?)
}

/// WCAG contrast ratio between two `#rrggbb` colours.
pub fn contrast(a: &str, b: &str) -> Option<f64> {
    let (la, lb) = (luminance(a)?, luminance(b)?);
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    Some((hi + 0.05) / (lo + 0.05))
}

/// One series of a time-series chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChartSeries {
    /// Legend text.
    pub name: String,
    /// `(unix seconds, value)` points; NaN/±Inf values are gaps.
    pub points: Vec<(f64, f64)>,
}

/// A horizontal line across the plot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Threshold {
    /// The value.
    pub value: f64,
    /// Label drawn next to the line.
    pub label: String,
}

/// Kind of highlighted band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BandKind {
    /// An anomaly window.
    #[default]
    Anomaly,
    /// An alert's firing span.
    Alert,
}

/// A highlighted time span.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Band {
    /// Start (unix seconds).
    pub start: f64,
    /// End (unix seconds); past the chart's end it is clipped.
    pub end: f64,
    /// Description (tooltip and accessible text).
    pub label: String,
    /// Kind (decides the colour).
    pub kind: BandKind,
}

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

/// A time-series chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeSeriesChart {
    /// The series.
    pub series: Vec<ChartSeries>,
    /// Unit of the values.
    pub unit: Unit,
    /// Start of the time range (unix seconds).
    pub start: f64,
    /// End of the time range.
    pub end: f64,
    /// Query step in seconds: two consecutive points further apart than 2 × step are a gap.
    pub step: f64,
    /// Fill the area under each line.
    pub area: bool,
    /// Horizontal threshold/target lines.
    pub thresholds: Vec<Threshold>,
    /// Highlighted spans.
    pub bands: Vec<Band>,
}

/// The mapping from data to pixels of a rendered time-series chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scales {
    /// Plot left edge.
    pub x: f64,
    /// Plot top edge.
    pub y: f64,
    /// Plot width.
    pub w: f64,
    /// Plot height.
    pub h: f64,
    /// Time at the left edge.
    pub t0: f64,
    /// Time at the right edge.
    pub t1: f64,
    /// Value at the bottom edge.
    pub v0: f64,
    /// Value at the top edge.
    pub v1: f64,
}

impl Scales {
    /// Pixel x of time `t`.
    pub fn px(&self, t: f64) -> f64 {
        self.x + (t - self.t0) / (self.t1 - self.t0) * self.w
    }
    /// Pixel y of value `v`.
    pub fn py(&self, v: f64) -> f64 {
        self.y + self.h - (v - self.v0) / (self.v1 - self.v0) * self.h
    }
}

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

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Sorted `(time, value)` points of one series.
type Points = Vec<(f64, f64)>;

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

/// Renders a time-series chart as an SVG string.
pub fn time_series(c: &TimeSeriesChart, o: &ChartOptions) -> String {
    let mut s = String::new();
    let (w, h) = (o.width.max(120.0), o.height.max(80.0));
    // Clean, sorted, in-range points per series.
    let (mut start, mut end) = (c.start, c.end);
    let mut cleaned: Vec<(usize, &ChartSeries, Points)> = Vec::new();
    for (i, sr) in c.series.iter().enumerate() {
        let mut pts: Vec<(f64, f64)> = sr
            .points
            .iter()
            .copied()
            .filter(|(t, _)| t.is_finite())
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        cleaned.push((i, sr, pts));
    }
    if !(start.is_finite() && end.is_finite() && end > start) {
        let ts = cleaned
            .iter()
            .flat_map(|(_, _, p)| p.iter().map(|(t, _)| *t));
        let (lo, hi) = ts.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), t| {
            (a.min(t), b.max(t))
        });
        if lo.is_finite() && hi > lo {
            (start, end) = (lo, hi);
        } else if lo.is_finite() {
            (start, end) = (lo - 60.0, lo + 60.0);
        } else {
            (start, end) = (0.0, 1.0);
        }
    }
    for (_, _, pts) in &mut cleaned {
        pts.retain(|(t, _)| *t >= start && *t <= end);
    }
    let finite: Vec<f64> = cleaned
        .iter()
        .flat_map(|(_, _, p)| p.iter().map(|(_, v)| *v))
        .filter(|v| v.is_finite())
        .collect();
    if finite.is_empty() {
        svg_open(&mut s, o, w, h, "");
        no_data(&mut s, o, w, h);
        return s;
    }
    let (mut lo, mut hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    for th in &c.thresholds {
        if th.value.is_finite() {
            lo = lo.min(th.value);
            hi = hi.max(th.value);
        }
    }
    if c.area || (lo >= 0.0 && lo <= hi * 0.5) {
        lo = lo.min(0.0);
    }
    let lang = o.lang;
    // Legend layout: rows of (swatch + text) items below the axis.
    let legend_items: Vec<(usize, String)> = cleaned
        .iter()
        .map(|(i, sr, _)| (*i, truncate(&sr.name, 60)))
        .collect();
    let mut rows: Vec<Vec<(usize, String, f64)>> = vec![Vec::new()];
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
    let rows: Vec<_> = rows.into_iter().filter(|r| !r.is_empty()).collect();
    let legend_h = (rows.len() as f64 * 18.0).min(h * 0.4);
    let axis = value_axis(
        lo,
        hi,
        c.unit,
        ((h - legend_h) / 45.0).clamp(3.0, 8.0) as usize,
        lang,
    );
    let label_w = axis
        .labels
        .iter()
        .map(|l| text_width(l))
        .fold(0.0, f64::max);
    let sc = Scales {
        x: (label_w + 14.0).max(40.0),
        y: 10.0,
        w: (w - (label_w + 14.0).max(40.0) - 16.0).max(10.0),
        h: (h - 10.0 - 34.0 - legend_h).max(10.0),
        t0: start,
        t1: end,
        v0: axis.min,
        v1: axis.max,
    };
    let extra = format!(
        r#" data-plot="{} {} {} {}" data-t0="{}" data-t1="{}" data-v0="{}" data-v1="{}""#,
        coord(sc.x),
        coord(sc.y),
        coord(sc.w),
        coord(sc.h),
        sc.t0,
        sc.t1,
        sc.v0,
        sc.v1
    );
    svg_open(&mut s, o, w, h, &extra);
    let names: Vec<&str> = c.series.iter().map(|s| s.name.as_str()).collect();
    w!(
        s,
        r#"<desc>{}: {} – {} ({}). {}</desc>"#,
        esc(t(lang, Key::Chart)),
        esc(&format_time(start)),
        esc(&format_time(end)),
        esc(t(lang, Key::Utc)),
        esc(&truncate(&names.join(", "), 400))
    );
    // Bands first (under the data).
    for b in &c.bands {
        if !(b.start.is_finite() && b.end.is_finite()) || b.end < start || b.start > end {
            continue;
        }
        let (x0, x1) = (sc.px(b.start.max(start)), sc.px(b.end.min(end)));
        let (fill, kind) = match b.kind {
            BandKind::Anomaly => ("#f59e0b", t(lang, Key::AnomalyWindow)),
            BandKind::Alert => ("#dc2626", t(lang, Key::FiringSpan)),
        };
        w!(
            s,
            r#"<g class="band"><title>{}: {}</title><rect x="{}" y="{}" width="{}" height="{}" fill="{fill}" fill-opacity="0.18"/><rect x="{}" y="{}" width="{}" height="3" fill="{fill}"/></g>"#,
            esc(kind),
            esc(&b.label),
            coord(x0),
            coord(sc.y),
            coord((x1 - x0).max(2.0)),
            coord(sc.h),
            coord(x0),
            coord(sc.y),
            coord((x1 - x0).max(2.0))
        );
    }
    // Grid and value axis.
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
    // Time axis.
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
    for (tt, l) in time_ticks(start, end, max_ticks) {
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
    // Series.
    for (i, sr, pts) in &cleaned {
        let colour = PALETTE[i % PALETTE.len()];
        let dash = DASHES[(i / PALETTE.len()) % DASHES.len()];
        let dash_attr = if dash.is_empty() {
            String::new()
        } else {
            format!(r#" stroke-dasharray="{dash}""#)
        };
        w!(
            s,
            r#"<g class="series" data-series="{i}"><title>{}</title>"#,
            esc(&sr.name)
        );
        for seg in segments(pts, c.step) {
            if c.area && seg.len() > 1 {
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
            if seg.len() == 1 {
                let (tt, v) = seg[0];
                w!(
                    s,
                    r#"<circle class="point" cx="{}" cy="{}" r="2.5" fill="{colour}"/>"#,
                    coord(sc.px(tt)),
                    coord(sc.py(v))
                );
            } else {
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
                w!(
                    s,
                    r#"<path class="line" d="{}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr} stroke-linejoin="round"/>"#,
                    d.trim_end()
                );
            }
        }
        s.push_str("</g>");
    }
    // Thresholds on top.
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
    // Legend.
    w!(s, r#"<g class="legend" fill="{TEXT}">"#);
    let ly0 = sc.y + sc.h + 38.0;
    for (r, row) in rows.iter().enumerate() {
        let y = ly0 + r as f64 * 18.0;
        if y > h - 4.0 {
            break;
        }
        for (i, name, x) in row {
            let colour = PALETTE[i % PALETTE.len()];
            let dash = DASHES[(i / PALETTE.len()) % DASHES.len()];
            let dash_attr = if dash.is_empty() {
                String::new()
            } else {
                format!(r#" stroke-dasharray="{dash}""#)
            };
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
    s
}

/// One bar of a bar chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bar {
    /// Category label.
    pub label: String,
    /// Value.
    pub value: f64,
}

/// Renders horizontal bars sorted by value (largest first), each with its value. Non-finite
/// values are left out. The height grows with the number of bars (`o.height` is ignored).
pub fn bar_chart(bars: &[Bar], unit: Unit, o: &ChartOptions) -> String {
    let mut s = String::new();
    let w = o.width.max(160.0);
    let mut bars: Vec<&Bar> = bars.iter().filter(|b| b.value.is_finite()).collect();
    bars.sort_by(|a, b| {
        b.value
            .total_cmp(&a.value)
            .then_with(|| a.label.cmp(&b.label))
    });
    if bars.is_empty() {
        let h = o.height.clamp(60.0, 120.0);
        svg_open(&mut s, o, w, h, "");
        no_data(&mut s, o, w, h);
        return s;
    }
    let row = 26.0;
    let h = 12.0 + row * bars.len() as f64 + 8.0;
    let labels: Vec<String> = bars.iter().map(|b| truncate(&b.label, 28)).collect();
    let values: Vec<String> = bars
        .iter()
        .map(|b| format_value(b.value, unit, o.lang))
        .collect();
    let label_w = labels
        .iter()
        .map(|l| text_width(l))
        .fold(0.0, f64::max)
        .min(w * 0.4)
        + 10.0;
    let value_w = values.iter().map(|l| text_width(l)).fold(0.0, f64::max) + 10.0;
    let x0 = label_w;
    let plot_w = (w - label_w - value_w - 8.0).max(10.0);
    let vmin = bars.iter().map(|b| b.value).fold(0.0, f64::min);
    let vmax = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let span = if vmax - vmin > 0.0 { vmax - vmin } else { 1.0 };
    let px = |v: f64| x0 + (v - vmin) / span * plot_w;
    let extra = format!(
        r#" data-plot="{} 12 {} {}" data-v0="{}" data-v1="{}""#,
        coord(x0),
        coord(plot_w),
        coord(row * bars.len() as f64),
        vmin,
        vmin + span
    );
    svg_open(&mut s, o, w, h, &extra);
    for (k, b) in bars.iter().enumerate() {
        let y = 12.0 + row * k as f64;
        let (a, z) = (px(0.0), px(b.value));
        let (bx, bw) = if z >= a { (a, z - a) } else { (z, a - z) };
        let colour = PALETTE[0];
        w!(
            s,
            r#"<g class="bar" data-value="{}"><title>{}: {}</title><text x="{}" y="{}" text-anchor="end" dominant-baseline="middle" fill="{TEXT}">{}</text><rect x="{}" y="{}" width="{}" height="{}" fill="{colour}"/><text x="{}" y="{}" dominant-baseline="middle" fill="{TEXT}">{}</text></g>"#,
            b.value,
            esc(&b.label),
            esc(&values[k]),
            coord(label_w - 6.0),
            coord(y + row / 2.0 - 2.0),
            esc(&labels[k]),
            coord(bx),
            coord(y + 3.0),
            coord(bw),
            coord(row - 10.0),
            coord(bx + bw + 6.0),
            coord(y + row / 2.0 - 2.0),
            esc(&values[k])
        );
    }
    s.push_str("</svg>");
    s
}

/// One step of a funnel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FunnelStep {
    /// Step name.
    pub label: String,
    /// Value (count).
    pub value: f64,
}

/// Renders a funnel: one centred bar per step, width proportional to the largest step, with
/// the value and the ratio to the previous step.
pub fn funnel(steps: &[FunnelStep], unit: Unit, o: &ChartOptions) -> String {
    let mut s = String::new();
    let w = o.width.max(200.0);
    let max = steps
        .iter()
        .map(|x| x.value)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    if steps.is_empty() || steps.iter().all(|x| !x.value.is_finite()) {
        let h = o.height.clamp(60.0, 120.0);
        svg_open(&mut s, o, w, h, "");
        no_data(&mut s, o, w, h);
        return s;
    }
    let row = 44.0;
    let h = 8.0 + row * steps.len() as f64;
    let label_w = (steps
        .iter()
        .map(|x| text_width(&x.label))
        .fold(0.0, f64::max)
        + 12.0)
        .min(w * 0.3);
    let right_w = 170.0_f64.min(w * 0.35);
    let plot_w = (w - label_w - right_w).max(10.0);
    let cx = label_w + plot_w / 2.0;
    svg_open(
        &mut s,
        o,
        w,
        h,
        &format!(
            r#" data-plot="{} 8 {} {}""#,
            coord(label_w),
            coord(plot_w),
            coord(row * steps.len() as f64)
        ),
    );
    let mut prev: Option<f64> = None;
    for (k, st) in steps.iter().enumerate() {
        let y = 8.0 + row * k as f64;
        let v = if st.value.is_finite() {
            st.value.max(0.0)
        } else {
            0.0
        };
        let bw = if max > 0.0 {
            (v / max * plot_w).max(2.0)
        } else {
            2.0
        };
        let colour = PALETTE[k % PALETTE.len()];
        let value = format_value(st.value, unit, o.lang);
        let ratio = match prev {
            Some(p) if p > 0.0 && st.value.is_finite() => format!(
                "{} {}",
                format_value(st.value / p, Unit::Ratio, o.lang),
                t(o.lang, Key::OfPrevious)
            ),
            _ => String::new(),
        };
        w!(
            s,
            r#"<g class="step" data-value="{}"><title>{}: {}{}{}</title><text x="{}" y="{}" text-anchor="end" dominant-baseline="middle" fill="{TEXT}">{}</text><rect x="{}" y="{}" width="{}" height="{}" rx="3" fill="{colour}"/><text x="{}" y="{}" fill="{TEXT}" font-weight="600">{}</text>"#,
            if st.value.is_finite() { st.value } else { 0.0 },
            esc(&st.label),
            esc(&value),
            if ratio.is_empty() { "" } else { " — " },
            esc(&ratio),
            coord(label_w - 8.0),
            coord(y + row / 2.0 - 2.0),
            esc(&truncate(&st.label, 30)),
            coord(cx - bw / 2.0),
            coord(y + 4.0),
            coord(bw),
            coord(row - 12.0),
            coord(label_w + plot_w + 8.0),
            coord(y + 16.0),
            esc(&value)
        );
        if !ratio.is_empty() {
            w!(
                s,
                r#"<text x="{}" y="{}" fill="{MUTED_TEXT}" font-size="11">{}</text>"#,
                coord(label_w + plot_w + 8.0),
                coord(y + 31.0),
                esc(&ratio)
            );
        }
        s.push_str("</g>");
        prev = Some(st.value);
    }
    s.push_str("</svg>");
    s
}

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

/// A progress bar for attainment: 0 – 150 %, a mark at 100 % (the target), filled in the
/// status colour. The accessible label states the percentage.
pub fn attainment_bar(attainment: Option<f64>, status: &str, o: &ChartOptions) -> String {
    let (w, h) = (o.width.max(40.0), o.height.clamp(6.0, 40.0));
    let a = attainment.filter(|a| a.is_finite());
    let fill_w = a.map(|a| (a.clamp(0.0, 1.5) / 1.5) * w).unwrap_or(0.0);
    let label = match a {
        Some(a) => format!(
            "{}: {}",
            t(o.lang, Key::Attainment),
            format_value(a, Unit::Ratio, o.lang)
        ),
        None => format!("{}: {}", t(o.lang, Key::Attainment), t(o.lang, Key::NoData)),
    };
    let mark = w / 1.5;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="attainment" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{label}"><rect x="0" y="0" width="{w}" height="{h}" rx="3" fill="#e5e7eb"/><rect class="fill" x="0" y="0" width="{fw}" height="{h}" rx="3" fill="{c}"/><line x1="{m}" x2="{m}" y1="0" y2="{h}" stroke="{TEXT}" stroke-width="2"/></svg>"##,
        w = coord(w),
        h = coord(h),
        label = esc(&label),
        fw = coord(fill_w),
        c = status_colour(status),
        m = coord(mark),
    )
}
