//! The one error type of the core: every public fallible function returns [`Result`].

use thiserror::Error;

/// Everything that can go wrong in a core call, phrased for the person who passed the input.
///
/// The binding layer maps each variant to one Python exception class, so adding a variant is a
/// deliberate act (the enum is `#[non_exhaustive]` for downstream crates only).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RnnError {
    /// An argument has the wrong shape or length.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        what: String,
        expected: String,
        got: String,
    },
    /// A hyper-parameter or option is out of its domain.
    #[error("invalid {name}: {reason}")]
    InvalidParameter { name: String, reason: String },
    /// An input holds NaN or infinity where finite values are required.
    #[error("{what} contains NaN or infinity (first at flat index {index})")]
    NonFinite { what: String, index: usize },
    /// A computation broke down numerically (a diverging training run, say).
    #[error("{what}")]
    Numerical { what: String },
}

/// Shorthand used across the crate.
pub type Result<T> = std::result::Result<T, RnnError>;

impl RnnError {
    /// Builds a [`RnnError::Shape`] from anything printable.
    pub fn shape(what: impl Into<String>, expected: impl ToString, got: impl ToString) -> Self {
        Self::Shape {
            what: what.into(),
            expected: expected.to_string(),
            got: got.to_string(),
        }
    }

    /// Builds a [`RnnError::InvalidParameter`].
    pub fn param(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// Fails with [`RnnError::Shape`] unless `got == expected`.
pub fn expect_len(what: &str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(RnnError::shape(
            what,
            format!("{expected} values"),
            format!("{got}"),
        ))
    }
}
