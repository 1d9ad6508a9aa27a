//! What reading the wire vocabulary can fail with.

/// A value outside one of the closed vocabularies ([`crate::Role`], [`crate::Algorithm`], ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not one of the enum's spellings.
    #[error("unknown {kind} `{value}`")]
    UnknownValue {
        /// The enum's name, e.g. `Role`.
        kind: &'static str,
        /// The text that did not match (callers decide whether to show it).
        value: String,
    },
}
