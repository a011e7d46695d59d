//! English and Spanish UI strings: one table, one `match` per key, so a key without a
//! translation does not compile.

use serde::{Deserialize, Serialize};

/// Display language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Spanish.
    Es,
}

impl Lang {
    /// Parses `en` / `es` (case-insensitive, region suffix ignored: `es-AR`).
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        let primary = s.split(['-', '_']).next().unwrap_or("");
        match primary {
            "en" => Some(Lang::En),
            "es" => Some(Lang::Es),
            _ => None,
        }
    }

    /// Picks the best language from an `Accept-Language` header (q-values honoured);
    /// English when nothing matches.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f64, Lang)> = None;
        for part in header.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            let q = it
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|v| v.parse::<f64>().ok())
                })
                .unwrap_or(1.0);
            if let Some(l) = Lang::parse(tag)
                && best.is_none_or(|(bq, _)| q > bq)
            {
                best = Some((q, l));
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }

    /// The ISO code (`en`, `es`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The other language (for the switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Es,
            Lang::Es => Lang::En,
        }
    }

    /// Decimal separator.
    pub fn decimal_sep(self) -> char {
        match self {
            Lang::En => '.',
            Lang::Es => ',',
        }
    }

    /// Thousands separator.
    pub fn thousands_sep(self) -> char {
        match self {
            Lang::En => ',',
            Lang::Es => '.',
        }
    }
}

macro_rules! keys {
    ($($k:ident => $en:expr, $es:expr;)*) => {
        /// A UI string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum Key { $($k,)* }

        impl Key {
            /// Every key (for completeness tests).
            pub const ALL: &'static [Key] = &[$(Key::$k,)*];
        }

        /// The text of `key` in `lang`.
        pub fn t(lang: Lang, key: Key) -> &'static str {
            match (key, lang) {
                $((Key::$k, Lang::En) => $en, (Key::$k, Lang::Es) => $es,)*
            }
        }
    };
}

keys! {
    NoData => "No data", "Sin datos";
    OfPrevious => "of previous step", "del paso anterior";
    Target => "Target", "Objetivo";
    Attainment => "Attainment", "Cumplimiento";
    Trend => "vs previous period", "vs. periodo anterior";
    Benchmark => "Benchmark", "Referencia del sector";
    IndustryAverage => "industry average", "media del sector";
    TopPerformers => "top performers", "los mejores";
    StatusOk => "On target", "En objetivo";
    StatusWarning => "Warning", "Advertencia";
    StatusCritical => "Critical", "Crítico";
    StatusNoData => "No data", "Sin datos";
    TrendUp => "up", "sube";
    TrendDown => "down", "baja";
    TrendFlat => "unchanged", "sin cambios";
    Dashboards => "Dashboards", "Paneles";
    TimeRange => "Time range", "Intervalo de tiempo";
    Apply => "Apply", "Aplicar";
    Language => "Language", "Idioma";
    SwitchLanguage => "Español", "English";
    LastUpdated => "Updated", "Actualizado";
    Live => "Live", "En vivo";
    Disconnected => "Reconnecting…", "Reconectando…";
    Alerts => "Alerts", "Alertas";
    Anomalies => "Anomalies", "Anomalías";
    Alert => "Alert", "Alerta";
    State => "State", "Estado";
    Severity => "Severity", "Gravedad";
    Since => "Since", "Desde";
    Summary => "Summary", "Resumen";
    Labels => "Labels", "Etiquetas";
    Actions => "Actions", "Acciones";
    Acknowledge => "Acknowledge", "Reconocer";
    Resolve => "Resolve", "Resolver";
    NotePrompt => "Add a note (optional):", "Añade una nota (opcional):";
    AckBy => "Acknowledged by", "Reconocida por";
    Note => "Note", "Nota";
    Escalation => "Escalation level", "Nivel de escalado";
    StateFiring => "Firing", "Activa";
    StatePending => "Pending", "Pendiente";
    StateResolved => "Resolved", "Resuelta";
    StateAcknowledged => "Acknowledged", "Reconocida";
    StateSilenced => "Silenced", "Silenciada";
    NoAlerts => "No alerts.", "No hay alertas.";
    NoAnomalies => "No anomalies.", "No hay anomalías.";
    Metric => "Series", "Serie";
    Pattern => "Pattern", "Patrón";
    Insight => "What happened", "Qué ha pasado";
    Active => "Active", "Activa";
    Ended => "Ended", "Terminada";
    PeakScore => "Peak score", "Puntuación máxima";
    Value => "Value", "Valor";
    QueryError => "Query failed", "La consulta ha fallado";
    All => "All", "Todos";
    Utc => "UTC", "UTC";
    Threshold => "Threshold", "Umbral";
    AnomalyWindow => "Anomaly", "Anomalía";
    FiringSpan => "Alert firing", "Alerta activa";
    Chart => "Chart", "Gráfico";
    Home => "All dashboards", "Todos los paneles";
    Refresh => "Refresh every", "Actualizar cada";
    SkipToContent => "Skip to content", "Saltar al contenido";
    UnknownKpi => "Unknown KPI", "KPI desconocido";
    Start => "Start", "Inicio";
    End => "End", "Fin";
    ActionFailed => "The action failed", "La acción ha fallado";
    Total => "Total", "Total";
    Dashboard => "Dashboard", "Panel";
    Previous => "previous", "anterior";
    BenchAboveTop => "at or beyond top performers", "al nivel de los mejores o por encima";
    BenchBetween => "between industry average and top performers", "entre la media del sector y los mejores";
    BenchBelowAverage => "below industry average", "por debajo de la media del sector";
    LowerIsBetter => "Lower is better", "Mejor cuanto más bajo";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_has_both_languages() {
        let mut same = Vec::new();
        for &k in Key::ALL {
            let en = t(Lang::En, k);
            let es = t(Lang::Es, k);
            assert!(!en.trim().is_empty(), "{k:?} en empty");
            assert!(!es.trim().is_empty(), "{k:?} es empty");
            if en == es {
                same.push(k);
            }
        }
        // Only language-neutral abbreviations may be identical.
        assert_eq!(same, vec![Key::Utc, Key::Total], "untranslated keys");
    }

    #[test]
    fn accept_language() {
        assert_eq!(
            Lang::from_accept_language("es-ES,es;q=0.9,en;q=0.8"),
            Lang::Es
        );
        assert_eq!(Lang::from_accept_language("en-US,es;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr, es;q=0.3"), Lang::Es);
        assert_eq!(Lang::from_accept_language("de"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
        assert_eq!(Lang::parse("ES"), Some(Lang::Es));
    }
}
