//! Whole pages: the document head (inline CSS), the header with navigation, range and
//! variable pickers and language switch, the rows of panels, the footer with the live-update
//! script, and the index of dashboards.

use super::panels::render_panel;
use super::{DASHBOARD_JS, DashboardData, PageContext, RANGE_CHOICES};
use crate::dashboard::{ALL_VALUE, Dashboard, Row, Variable, VariableSource};
use crate::format::{esc, format_duration, format_time};
use crate::i18n::{Key, Lang, t};
use std::fmt::Write as _;

const CSS: &str = r#"
:root{--bg:#f3f4f6;--panel:#fff;--text:#1f2937;--muted:#4b5563;--line:#d1d5db;--focus:#1d4ed8;--link:#1d4ed8}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,sans-serif;background:var(--bg);color:var(--text)}
a{color:var(--link)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.4rem}
.skip:focus{left:.5rem}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.6rem 1rem;padding:.6rem 1rem;background:#111827;color:#f9fafb}
header a{color:#f9fafb}
header nav a{margin-right:.7rem;text-decoration:none;padding:.2rem .3rem;border-radius:4px}
header nav a[aria-current=page]{text-decoration:underline;font-weight:600}
header form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
header select,header button{font:inherit;padding:.2rem .4rem;border-radius:4px;border:1px solid #9ca3af}
header button{background:#f9fafb;color:#111827;cursor:pointer}
#live-status{font-size:.85rem;color:#e5e7eb}
.spacer{flex:1}
.nowrap{white-space:nowrap}
main{padding:1rem}
h1{font-size:1.35rem;margin:.2rem 0 1rem}
h2{font-size:1rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;margin:1.2rem 0 .5rem}
h3{font-size:1rem;margin:0 0 .5rem}
.panels{display:grid;grid-template-columns:repeat(12,1fr);gap:.8rem}
.panel{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:.8rem;min-width:0;overflow-x:auto}
.panel svg.chart{width:100%;height:auto}
@media (max-width:900px){.panel{grid-column:span 12 !important}}
.empty{color:var(--muted);margin:.4rem 0}
.error{color:#b91c1c;font-weight:600}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:.6rem}
.card{border:1px solid var(--line);border-left:6px solid #6b7280;border-radius:6px;padding:.6rem}
.card .name{color:var(--muted);font-size:.85rem}
.card .value{font-size:1.5rem;font-weight:650}
.card .meta{font-size:.82rem;color:var(--muted)}
.card .status{font-weight:600;font-size:.85rem}
table{width:100%;border-collapse:collapse}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);font-size:.88rem;vertical-align:top}
th{color:var(--muted);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:0 .4rem;border-radius:4px;font-size:.8rem;font-weight:600;color:#fff}
.lbl{display:inline-block;background:#f3f4f6;border:1px solid var(--line);border-radius:3px;padding:0 .25rem;margin:0 .2rem .2rem 0;font-size:.78rem}
button.act{font:inherit;font-size:.85rem;padding:.15rem .5rem;margin:0 .2rem .2rem 0;border-radius:4px;border:1px solid #374151;background:#fff;color:#111827;cursor:pointer}
.anomaly{border-top:1px solid var(--line);padding:.6rem 0}
.anomaly p{margin:.3rem 0}
ul.dashboards{list-style:none;padding:0}
ul.dashboards li{margin:.4rem 0;font-size:1.1rem}
footer{color:var(--muted);font-size:.8rem;padding:1rem}
"#;

fn query_string(ctx: &PageContext, lang: Lang) -> String {
    let mut q = format!("?lang={}&range={}", lang.code(), url_enc(&ctx.range_param));
    for (k, v) in &ctx.variables {
        w!(q, "&var-{}={}", url_enc(k), url_enc(v));
    }
    q
}

fn url_enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            w!(out, "%{b:02X}");
        }
    }
    out
}

fn head(s: &mut String, lang: Lang, title: &str) {
    w!(
        s,
        r#"<!doctype html><html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{} · vigia</title><style>{CSS}</style></head>"#,
        lang.code(),
        esc(title)
    );
}

fn nav(s: &mut String, ctx: &PageContext, current: Option<&str>) {
    let lang = ctx.lang;
    w!(
        s,
        r#"<nav aria-label="{}"><a href="/dashboards?lang={}""#,
        esc(t(lang, Key::Dashboards)),
        lang.code()
    );
    if current.is_none() {
        s.push_str(r#" aria-current="page""#);
    }
    w!(s, ">{}</a>", esc(t(lang, Key::Home)));
    for n in &ctx.nav {
        w!(
            s,
            r#"<a href="/d/{}?lang={}""#,
            url_enc(&n.name),
            lang.code()
        );
        if current == Some(n.name.as_str()) {
            s.push_str(r#" aria-current="page""#);
        }
        w!(s, ">{}</a>", esc(n.title.get(lang)));
    }
    s.push_str("</nav>");
}

fn strings_json(lang: Lang) -> String {
    serde_json::json!({
        "updated": t(lang, Key::LastUpdated),
        "live": t(lang, Key::Live),
        "reconnecting": t(lang, Key::Disconnected),
        "notePrompt": t(lang, Key::NotePrompt),
        "failed": t(lang, Key::ActionFailed),
    })
    .to_string()
    .replace('<', "\\u003c")
}

/// A complete dashboard page.
pub fn render_dashboard(d: &Dashboard, data: &DashboardData, ctx: &PageContext) -> String {
    let lang = ctx.lang;
    let mut s = String::new();
    head(&mut s, lang, d.title.get(lang));
    w!(
        s,
        r##"<body data-dashboard="{}"><a class="skip" href="#main">{}</a><header>"##,
        esc(&d.name),
        esc(t(lang, Key::SkipToContent))
    );
    nav(&mut s, ctx, Some(&d.name));
    controls(&mut s, d, ctx);
    let other = lang.other();
    w!(
        s,
        r#"<span class="spacer"></span><a href="/d/{}{}" lang="{}" hreflang="{}">{}</a><span id="live-status" role="status" aria-live="polite">{} {}</span></header>"#,
        url_enc(&d.name),
        esc(&query_string(ctx, other)),
        other.code(),
        other.code(),
        esc(t(lang, Key::SwitchLanguage)),
        esc(t(lang, Key::LastUpdated)),
        esc(&format_time(ctx.now))
    );
    w!(
        s,
        r#"<main id="main"><h1>{}</h1><p class="empty">{} – {}</p>"#,
        esc(d.title.get(lang)),
        esc(&format_time(ctx.range.start)),
        esc(&format_time(ctx.range.end))
    );
    for (ri, row) in d.rows.iter().enumerate() {
        render_row(&mut s, d, ri, row, data, ctx);
    }
    w!(
        s,
        r#"</main><footer>vigia · {} {}</footer><script type="application/json" id="vigia-strings">{}</script><script>{}</script></body></html>"#,
        esc(t(lang, Key::Refresh)),
        esc(&format_duration(d.refresh)),
        strings_json(lang),
        DASHBOARD_JS
    );
    s
}

/// The header form: the time range picker (the current range added when it is not one of
/// the choices), one picker per variable, and the apply button.
fn controls(s: &mut String, d: &Dashboard, ctx: &PageContext) {
    let lang = ctx.lang;
    w!(
        s,
        r#"<form class="controls" method="get" action="/d/{}"><input type="hidden" name="lang" value="{}"><label>{} <select name="range">"#,
        url_enc(&d.name),
        lang.code(),
        esc(t(lang, Key::TimeRange))
    );
    let mut choices: Vec<&str> = RANGE_CHOICES.to_vec();
    if !choices.contains(&ctx.range_param.as_str()) && !ctx.range_param.is_empty() {
        choices.push(&ctx.range_param);
    }
    for c in choices {
        w!(
            s,
            r#"<option value="{}"{}>{}</option>"#,
            esc(c),
            if c == ctx.range_param {
                " selected"
            } else {
                ""
            },
            esc(c)
        );
    }
    s.push_str("</select></label>");
    for v in &d.variables {
        variable_picker(s, v, ctx);
    }
    w!(
        s,
        r#"<button type="submit">{}</button></form>"#,
        esc(t(lang, Key::Apply))
    );
}

/// The picker of one variable: "All" first when offered, then its options, the current value
/// selected.
fn variable_picker(s: &mut String, v: &Variable, ctx: &PageContext) {
    let lang = ctx.lang;
    let mut opts: Vec<String> = match &v.source {
        VariableSource::Custom(l) => l.clone(),
        VariableSource::LabelValues { .. } => ctx
            .variable_options
            .get(&v.name)
            .cloned()
            .unwrap_or_default(),
    };
    if v.include_all {
        opts.insert(0, ALL_VALUE.to_string());
    }
    let selected = ctx.variables.get(&v.name).cloned().unwrap_or_default();
    w!(
        s,
        r#"<label>{} <select name="var-{}">"#,
        esc(v.label.get(lang)),
        esc(&v.name)
    );
    for o in opts {
        let text = if o == ALL_VALUE && v.include_all {
            t(lang, Key::All).to_string()
        } else {
            o.clone()
        };
        w!(
            s,
            r#"<option value="{}"{}>{}</option>"#,
            esc(&o),
            if o == selected { " selected" } else { "" },
            esc(&text)
        );
    }
    s.push_str("</select></label>");
}

/// Row `ri`: its heading (the dashboard's title, visually hidden, when it has none) and its
/// panels, each with its heading and current content.
fn render_row(
    s: &mut String,
    d: &Dashboard,
    ri: usize,
    row: &Row,
    data: &DashboardData,
    ctx: &PageContext,
) {
    let lang = ctx.lang;
    w!(s, r#"<section class="row" aria-labelledby="row-{ri}">"#);
    match &row.title {
        Some(title) => {
            w!(s, r#"<h2 id="row-{ri}">{}</h2>"#, esc(title.get(lang)));
        }
        None => {
            w!(
                s,
                r#"<h2 id="row-{ri}" class="skip">{}</h2>"#,
                esc(d.title.get(lang))
            );
        }
    }
    s.push_str(r#"<div class="panels">"#);
    for p in &row.panels {
        w!(
            s,
            r#"<section class="panel panel-{}" id="panel-{}" style="grid-column:span {}" aria-labelledby="panel-{}-h"><h3 id="panel-{}-h">{}</h3><div class="panel-body" data-panel="{}">{}</div></section>"#,
            p.kind.name(),
            esc(&p.id),
            p.width,
            esc(&p.id),
            esc(&p.id),
            esc(p.title.get(lang)),
            esc(&p.id),
            render_panel(p, data, ctx)
        );
    }
    s.push_str("</div></section>");
}

/// The index page listing dashboards (from `ctx.nav`).
pub fn render_index(ctx: &PageContext) -> String {
    let lang = ctx.lang;
    let mut s = String::new();
    head(&mut s, lang, t(lang, Key::Dashboards));
    w!(
        s,
        r##"<body><a class="skip" href="#main">{}</a><header>"##,
        esc(t(lang, Key::SkipToContent))
    );
    nav(&mut s, ctx, None);
    let other = lang.other();
    w!(
        s,
        r#"<span class="spacer"></span><a href="/dashboards?lang={}" lang="{}" hreflang="{}">{}</a></header><main id="main"><h1>{}</h1><ul class="dashboards">"#,
        other.code(),
        other.code(),
        other.code(),
        esc(t(lang, Key::SwitchLanguage)),
        esc(t(lang, Key::Dashboards))
    );
    for n in &ctx.nav {
        w!(
            s,
            r#"<li><a href="/d/{}?lang={}">{}</a></li>"#,
            url_enc(&n.name),
            lang.code(),
            esc(n.title.get(lang))
        );
    }
    s.push_str("</ul></main></body></html>");
    s
}
