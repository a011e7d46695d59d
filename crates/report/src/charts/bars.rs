//! Horizontal bar charts: one bar per label, largest first, each with its value.

use super::{ChartOptions, PALETTE, TEXT, no_data, svg_open, text_width, truncate};
use crate::format::{Unit, coord, esc, format_value};
use std::fmt::Write as _;

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
