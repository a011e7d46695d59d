//! KPI cards: value, status, attainment bar and target, trend, benchmark position and a
//! sparkline of recent values.

use super::DashboardData;
use super::html::query_error;
use crate::charts::{ChartOptions, attainment_bar, sparkline, status_colour};
use crate::format::{Unit, esc, format_value};
use crate::i18n::{Key, Lang, t};
use crate::kpi::{Direction, KpiValue as KpiData};
use std::fmt::Write as _;

/// The cards of the KPIs `names`, in that order; a name without a value gets an "unknown
/// KPI" card.
pub(super) fn render_kpis(
    panel_id: &str,
    names: &[String],
    data: &DashboardData,
    lang: Lang,
) -> String {
    let mut s = String::from(r#"<div class="cards">"#);
    for name in names {
        match data.kpis.iter().find(|k| &k.name == name) {
            Some(k) => card(&mut s, panel_id, k, lang),
            None => {
                w!(
                    s,
                    r#"<div class="card" data-kpi="{}"><div class="name">{}</div><div class="value">—</div><div class="status">{}: {}</div></div>"#,
                    esc(name),
                    esc(name),
                    esc(t(lang, Key::UnknownKpi)),
                    esc(t(lang, Key::NoData))
                );
            }
        }
    }
    s.push_str("</div>");
    s
}

/// One KPI's card: name, value and status, then the attainment, trend and benchmark lines,
/// the sparkline and any evaluation error.
fn card(s: &mut String, panel_id: &str, k: &KpiData, lang: Lang) {
    let unit = Unit::parse(&k.unit).unwrap_or(Unit::Plain);
    let status = if k.value.is_none() {
        "no_data"
    } else {
        k.status.as_str()
    };
    let colour = status_colour(status);
    let status_key = match status {
        "ok" => Key::StatusOk,
        "warning" => Key::StatusWarning,
        "critical" => Key::StatusCritical,
        _ => Key::StatusNoData,
    };
    let value = k
        .value
        .map(|v| format_value(v, unit, lang))
        .unwrap_or_else(|| t(lang, Key::NoData).to_string());
    w!(
        s,
        r#"<div class="card" data-kpi="{}" style="border-left-color:{colour}"><div class="name">{}</div><div class="value" data-value="{}">{}</div><div class="status" style="color:{colour}">{}</div>"#,
        esc(&k.name),
        esc(if k.title.is_empty() {
            &k.name
        } else {
            &k.title
        }),
        k.value.map(|v| v.to_string()).unwrap_or_default(),
        esc(&value),
        esc(t(lang, status_key))
    );
    attainment(s, panel_id, k, status, unit, lang);
    if let Some(tr) = k.trend.filter(|x| x.is_finite()) {
        trend(s, k, tr, lang);
    }
    if let Some(bp) = k.benchmark_position.filter(|x| x.is_finite()) {
        benchmark(s, k, bp, unit, lang);
    }
    if !k.history.is_empty() {
        let o = ChartOptions {
            id: format!("spark-{panel_id}-{}", k.name),
            title: k.title.clone(),
            width: 180.0,
            height: 28.0,
            lang,
        };
        s.push_str(&sparkline(&k.history, &o));
    }
    if let Some(e) = &k.error {
        s.push_str(&query_error(lang, e));
    }
    s.push_str("</div>");
}

/// The attainment bar and percentage, the target, and whether lower is better.
fn attainment(s: &mut String, panel_id: &str, k: &KpiData, status: &str, unit: Unit, lang: Lang) {
    let opts = ChartOptions {
        id: format!("att-{panel_id}-{}", k.name),
        title: String::new(),
        width: 180.0,
        height: 10.0,
        lang,
    };
    w!(
        s,
        r#"<div class="meta">{} <span class="nowrap">{}</span> · <span class="nowrap">{}: {}</span>{}</div>"#,
        attainment_bar(k.attainment, status, &opts),
        esc(&k
            .attainment
            .map(|a| format_value(a, Unit::Ratio, lang))
            .unwrap_or_default()),
        esc(t(lang, Key::Target)),
        esc(&format_value(k.target, unit, lang)),
        if k.direction == Direction::Lower {
            format!(" ({})", esc(t(lang, Key::LowerIsBetter)))
        } else {
            String::new()
        }
    );
}

/// The trend `tr` (relative change): arrow, coloured good or bad for the KPI's direction.
fn trend(s: &mut String, k: &KpiData, tr: f64, lang: Lang) {
    let (arrow, word) = if tr > 0.0005 {
        ("▲", Key::TrendUp)
    } else if tr < -0.0005 {
        ("▼", Key::TrendDown)
    } else {
        ("▶", Key::TrendFlat)
    };
    let good = (tr > 0.0) == (k.direction != Direction::Lower);
    let c = if tr.abs() <= 0.0005 {
        "#4b5563"
    } else if good {
        "#15803d"
    } else {
        "#b91c1c"
    };
    w!(
        s,
        r#"<div class="meta"><span style="color:{c}" aria-hidden="true">{arrow}</span> {} {} {}</div>"#,
        esc(t(lang, word)),
        esc(&format_value(tr.abs(), Unit::Ratio, lang)),
        esc(t(lang, Key::Trend))
    );
}

/// The benchmark position `bp` (0 = industry average, 1 = top performers) with both
/// references when known.
fn benchmark(s: &mut String, k: &KpiData, bp: f64, unit: Unit, lang: Lang) {
    let mut extra = String::new();
    if let Some(a) = k.industry_average {
        w!(
            extra,
            r#" · {} <span class="nowrap">{}</span>"#,
            esc(t(lang, Key::IndustryAverage)),
            esc(&format_value(a, unit, lang))
        );
    }
    if let Some(tp) = k.top_performers {
        w!(
            extra,
            r#" · {} <span class="nowrap">{}</span>"#,
            esc(t(lang, Key::TopPerformers)),
            esc(&format_value(tp, unit, lang))
        );
    }
    let where_key = if bp >= 1.0 {
        Key::BenchAboveTop
    } else if bp >= 0.0 {
        Key::BenchBetween
    } else {
        Key::BenchBelowAverage
    };
    w!(
        s,
        r#"<div class="meta" data-benchmark="{}">{}: {} ({}){}</div>"#,
        bp,
        esc(t(lang, Key::Benchmark)),
        esc(t(lang, where_key)),
        esc(&crate::format::fmt_num(bp, 2, lang)),
        extra
    );
}
