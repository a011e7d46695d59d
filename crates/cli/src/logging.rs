//! Logging as Prometheus and VictoriaMetrics offer it: `--log.level` (or `RUST_LOG` syntax) and
//! `--log.format=logfmt|json`, to standard error, with colour only when that is a terminal.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use tracing::field::{Field, Visit};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// `ts=… level=info caller=… msg="…" key=value` (Prometheus's default).
    #[default]
    Logfmt,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber (a second call does nothing). `level` is a level name
/// (`error`, `warn`, `info`, `debug`, `trace`) or `RUST_LOG` syntax; `RUST_LOG` wins when set.
pub fn init(level: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Logfmt => builder
            .with_ansi(std::io::stderr().is_terminal())
            .event_format(Logfmt)
            .try_init(),
    };
}

/// The logfmt line format.
struct Logfmt;

impl<S, N> FormatEvent<S, N> for Logfmt
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let ts = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let level = meta.level().as_str().to_ascii_lowercase();
        let level = if w.has_ansi_escapes() {
            let colour = match *meta.level() {
                tracing::Level::ERROR => "31",
                tracing::Level::WARN => "33",
                tracing::Level::INFO => "32",
                _ => "36",
            };
            format!("\x1b[{colour}m{level}\x1b[0m")
        } else {
            level
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        write!(w, "ts={ts} level={level} caller={}", meta.target())?;
        write!(w, " msg={}", quote(&fields.message))?;
        writeln!(w, "{}", fields.rest)
    }
}

/// The message and the other fields of an event, logfmt-encoded.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            let _ = write!(self.rest, " {}={}", field.name(), quote(value));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

/// A logfmt value: bare when it needs no quoting, else double-quoted with escapes.
fn quote(v: &str) -> String {
    if !v.is_empty() && !v.contains(|c: char| c.is_whitespace() || c == '"' || c == '=') {
        return v.to_string();
    }
    let mut out = String::from("\"");
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn logfmt_values() {
        assert_eq!(super::quote("plain"), "plain");
        assert_eq!(super::quote("two words"), "\"two words\"");
        assert_eq!(super::quote("a=\"b\""), "\"a=\\\"b\\\"\"");
        assert_eq!(super::quote(""), "\"\"");
    }
}
