//! Colours: text and background, the series palette (colour-blind-safe, ≥ 3:1 on white) with
//! dash patterns once it is exhausted, status colours, and WCAG luminance and contrast.

/// Chart background.
pub const BACKGROUND: &str = "#ffffff";
/// Main text colour.
pub const TEXT: &str = "#1f2937";
/// Secondary text colour (axes).
pub const MUTED_TEXT: &str = "#4b5563";
/// Grid lines.
pub(super) const GRID: &str = "#e5e7eb";
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

/// Colour and `stroke-dasharray` attribute (empty for a solid line) of series `i`: the
/// palette in order, then again with each dash pattern.
pub(super) fn series_style(i: usize) -> (&'static str, String) {
    let colour = PALETTE[i % PALETTE.len()];
    let dash = DASHES[(i / PALETTE.len()) % DASHES.len()];
    let dash_attr = if dash.is_empty() {
        String::new()
    } else {
        format!(r#" stroke-dasharray="{dash}""#)
    };
    (colour, dash_attr)
}
