//! Small HTML pieces the panels share: the "no data" and query-error notes, label chips,
//! severity colours, and the options and width of a panel's chart.

use super::{LabelSet, PageContext};
use crate::charts::ChartOptions;
use crate::dashboard::{Panel, severity_rank};
use crate::format::esc;
use crate::i18n::{Key, Lang, t};
use std::fmt::Write as _;

pub(super) fn severity_colour(s: &str) -> &'static str {
    match severity_rank(s) {
        4 => "#b91c1c",
        3 => "#c2410c",
        2 => "#a16207",
        1 => "#4b5563",
        _ => "#1d4ed8",
    }
}

pub(super) fn labels_html(labels: &LabelSet, skip: &[&str]) -> String {
    let mut s = String::new();
    for (k, v) in labels {
        if skip.contains(&k.as_str()) {
            continue;
        }
        w!(s, r#"<span class="lbl">{}="{}"</span>"#, esc(k), esc(v));
    }
    s
}

pub(super) fn no_data(lang: Lang) -> String {
    format!(r#"<p class="empty">{}</p>"#, esc(t(lang, Key::NoData)))
}

pub(super) fn query_error(lang: Lang, msg: &str) -> String {
    format!(
        r#"<p class="error" role="alert">{}: {}</p>"#,
        esc(t(lang, Key::QueryError)),
        esc(msg)
    )
}

pub(super) fn chart_opts(
    panel: &Panel,
    ctx: &PageContext,
    suffix: &str,
    width: f64,
    height: f64,
) -> ChartOptions {
    ChartOptions {
        id: format!("c-{}{}", panel.id, suffix),
        title: panel.title.get(ctx.lang).to_string(),
        width,
        height,
        lang: ctx.lang,
    }
}

pub(super) fn panel_px(panel: &Panel) -> f64 {
    (f64::from(panel.width) / 12.0 * 1180.0).max(320.0)
}
