//! Time-series charts: lines or areas over a UTC time axis, with gaps, highlighted bands and
//! threshold lines. [`time_series`] runs the steps in drawing order; each step lives beside
//! this file: `axes` (value grid and time ticks), `bands`, `lines` (gaps and series),
//! `thresholds` and `legend`.

mod axes;
mod bands;
mod legend;
mod lines;
mod thresholds;

use super::{ChartOptions, no_data, svg_open, text_width, truncate};
use crate::format::{Unit, ValueAxis, coord, esc, format_time, value_axis};
use crate::i18n::{Key, Lang, t};
use std::fmt::Write as _;

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

/// Sorted `(time, value)` points of one series.
type Points = Vec<(f64, f64)>;

/// The series to draw: index in the chart (decides colour and dashes), the series, and its
/// sorted points within the time domain.
type Cleaned<'a> = Vec<(usize, &'a ChartSeries, Points)>;

/// Renders a time-series chart as an SVG string.
pub fn time_series(c: &TimeSeriesChart, o: &ChartOptions) -> String {
    let mut s = String::new();
    let (w, h) = (o.width.max(120.0), o.height.max(80.0));
    let (cleaned, start, end) = clean(c);
    let Some((lo, hi)) = value_range(c, &cleaned) else {
        svg_open(&mut s, o, w, h, "");
        no_data(&mut s, o, w, h);
        return s;
    };
    let lang = o.lang;
    let rows = legend::layout(&cleaned, w);
    let legend_h = (rows.len() as f64 * 18.0).min(h * 0.4);
    let axis = value_axis(
        lo,
        hi,
        c.unit,
        ((h - legend_h) / 45.0).clamp(3.0, 8.0) as usize,
        lang,
    );
    let sc = plot_scales(&axis, w, h, legend_h, start, end);
    svg_open(&mut s, o, w, h, &scale_attributes(&sc));
    describe(&mut s, c, start, end, lang);
    // Bands first (under the data), thresholds on top.
    bands::draw(&mut s, &c.bands, &sc, lang);
    axes::draw_values(&mut s, &axis, &sc);
    axes::draw_times(&mut s, &sc, lang);
    lines::draw(&mut s, c, &cleaned, &sc);
    thresholds::draw(&mut s, c, &sc, lang);
    legend::draw(&mut s, &rows, &sc, h);
    s
}

/// Clean, sorted, in-range points per series, and the time domain: the chart's range, or
/// the points' when it is not a valid one.
fn clean(c: &TimeSeriesChart) -> (Cleaned<'_>, f64, f64) {
    let (mut start, mut end) = (c.start, c.end);
    let mut cleaned: Cleaned<'_> = Vec::new();
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
    (cleaned, start, end)
}

/// The values the value axis must cover: the finite points and thresholds, from 0 for areas
/// and for data that starts low enough. `None` when there is no finite point.
fn value_range(c: &TimeSeriesChart, cleaned: &Cleaned<'_>) -> Option<(f64, f64)> {
    let finite: Vec<f64> = cleaned
        .iter()
        .flat_map(|(_, _, p)| p.iter().map(|(_, v)| *v))
        .filter(|v| v.is_finite())
        .collect();
    if finite.is_empty() {
        return None;
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
    Some((lo, hi))
}

/// The plot area of a `w` × `h` chart: room on the left for the value labels, below for the
/// time axis and the legend.
fn plot_scales(axis: &ValueAxis, w: f64, h: f64, legend_h: f64, start: f64, end: f64) -> Scales {
    let label_w = axis
        .labels
        .iter()
        .map(|l| text_width(l))
        .fold(0.0, f64::max);
    Scales {
        x: (label_w + 14.0).max(40.0),
        y: 10.0,
        w: (w - (label_w + 14.0).max(40.0) - 16.0).max(10.0),
        h: (h - 10.0 - 34.0 - legend_h).max(10.0),
        t0: start,
        t1: end,
        v0: axis.min,
        v1: axis.max,
    }
}

/// The `data-*` attributes that carry the scales.
fn scale_attributes(sc: &Scales) -> String {
    format!(
        r#" data-plot="{} {} {} {}" data-t0="{}" data-t1="{}" data-v0="{}" data-v1="{}""#,
        coord(sc.x),
        coord(sc.y),
        coord(sc.w),
        coord(sc.h),
        sc.t0,
        sc.t1,
        sc.v0,
        sc.v1
    )
}

/// The accessible description: the time range and the series names.
fn describe(s: &mut String, c: &TimeSeriesChart, start: f64, end: f64, lang: Lang) {
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
}
