//! The crate's errors: [`InvalidInput`] for text the caller wrote (matchers, times, regular
//! expressions, configuration), and the dispatcher's [`crate::NotifyError`].

/// Text the caller wrote is invalid (a matcher, a time, a regex, a configuration); the message
/// says what and why, in Alertmanager's wording where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

impl vigia_model::HasKind for InvalidInput {
    fn kind(&self) -> vigia_model::ErrorKind {
        vigia_model::ErrorKind::BadData
    }
}
