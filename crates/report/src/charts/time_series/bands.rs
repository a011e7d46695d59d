//! Highlighted time spans (anomaly windows, alert firing spans), drawn under the data and
//! clipped to the time domain.

use super::{Band, BandKind, Scales};
use crate::format::{coord, esc};
use crate::i18n::{Key, Lang, t};
use std::fmt::Write as _;

/// Draws the bands that overlap the time domain `[sc.t0, sc.t1]`.
pub(super) fn draw(s: &mut String, bands: &[Band], sc: &Scales, lang: Lang) {
    let (start, end) = (sc.t0, sc.t1);
    for b in bands {
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
}
