//! vigia-template: Go's text/template as Prometheus and Alertmanager users write it.
//!
//! Alert labels and annotations (`{{ $labels.x }}`, `{{ $value | humanize }}`,
//! `{{ printf "%.2f" $value }}`, `if`/`else`, `query`) render over [`TemplateData`] with
//! Prometheus's template functions; missing map keys expand to "" (`missingkey=zero`).
//! Notification messages render over the generic [`Data`] model with `{{ define }}` /
//! `{{ template "name" . }}` blocks from a [`TemplateSet`], `{{ with }}`, `{{ range }}` and
//! Alertmanager's helpers (`.Alerts.Firing`, `.SortedPairs`, `.Names`, `.Values`, `.Remove`,
//! `join`, `stringSlice`, `trimSpace`). [`expand_globs`] resolves the file patterns that name
//! rule and template files.
//!
//! The pieces follow the text through: [`lex`](crate) splits it into text and actions and
//! actions into tokens, `parse` builds the node tree, `exec` walks it, `funcs` and `format`
//! hold the functions. Nothing here knows about rules, routing or delivery.
//!
//! ```
//! use std::collections::BTreeMap;
//! use vigia_template::{Template, TemplateData};
//!
//! let t = Template::parse("{{ $labels.instance }} at {{ $value | humanize }}B").unwrap();
//! let data = TemplateData {
//!     labels: BTreeMap::from([("instance".to_string(), "web-1".to_string())]),
//!     value: 2_500_000.0,
//!     ..TemplateData::default()
//! };
//! assert_eq!(t.render(&data).unwrap(), "web-1 at 2.5MB");
//! ```
#![deny(missing_docs)]

mod error;
mod exec;
mod files;
mod format;
mod funcs;
mod lex;
mod parse;
mod template;
mod value;

pub use error::TemplateError;
pub use exec::{QueryFailure, QueryFn, QueryResult};
pub use files::{GlobError, expand_globs, wildcard};
pub use format::{humanize, humanize_duration, humanize_timestamp, humanize1024};
pub use template::{Template, TemplateSet, expand};
pub use value::{Data, TemplateData};
