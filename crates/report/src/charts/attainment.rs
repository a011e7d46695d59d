//! The attainment bar of KPI cards: progress towards the target, in the status colour.

use super::{ChartOptions, TEXT, status_colour};
use crate::format::{Unit, coord, esc, format_value};
use crate::i18n::{Key, t};

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
