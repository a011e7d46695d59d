//! Funnels: one centred bar per step, proportional to the largest, with the ratio to the
//! previous step.

use super::{ChartOptions, MUTED_TEXT, PALETTE, TEXT, no_data, svg_open, text_width, truncate};
use crate::format::{Unit, coord, esc, format_value};
use crate::i18n::{Key, t};
use std::fmt::Write as _;

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
