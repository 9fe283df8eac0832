//! The one mapping from core errors to Python exceptions.
//!
//! The exception classes are defined in `rnnfast/exceptions.py`, where they can subclass both
//! the package's base class and `ValueError`; they are imported lazily on first use.

use pyo3::PyErr;
use rnnfast_core::RnnError;

pyo3::import_exception!(rnnfast.exceptions, ShapeError);
pyo3::import_exception!(rnnfast.exceptions, ParameterError);
pyo3::import_exception!(rnnfast.exceptions, NonFiniteError);
pyo3::import_exception!(rnnfast.exceptions, NumericalError);

/// Wraps [`RnnError`] so that `?` converts it (the orphan rule forbids `From<RnnError> for PyErr`
/// in this crate).
pub struct CoreError(pub RnnError);

impl From<RnnError> for CoreError {
    fn from(e: RnnError) -> Self {
        Self(e)
    }
}

impl From<CoreError> for PyErr {
    fn from(CoreError(e): CoreError) -> Self {
        let message = e.to_string();
        match e {
            RnnError::Shape { .. } => ShapeError::new_err(message),
            RnnError::InvalidParameter { .. } => ParameterError::new_err(message),
            RnnError::NonFinite { .. } => NonFiniteError::new_err(message),
            RnnError::Numerical { .. } => NumericalError::new_err(message),
            // The enum is non-exhaustive across crates; a new variant still surfaces as an error.
            _ => pyo3::exceptions::PyRuntimeError::new_err(message),
        }
    }
}
