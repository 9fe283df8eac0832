//! NumPy arrays in, checked: dtype, contiguity and exact shape, each failure naming the argument.

use numpy::{
    Element, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyReadwriteArrayDyn,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::errors::ShapeError;

/// A borrowed, C-contiguous array of `T` whose shape was checked.
pub struct Checked<'py, T: Element> {
    array: PyReadonlyArrayDyn<'py, T>,
}

impl<'py, T: Element> Checked<'py, T> {
    /// Borrows `obj` as a C-contiguous `T` array of `ndim` dimensions (`expected` entries that
    /// are `Some` must match exactly).
    pub fn new(name: &str, obj: &Bound<'py, PyAny>, expected: &[Option<usize>]) -> PyResult<Self> {
        let array = checked_array::<T>(name, obj, expected)?
            .try_readonly()
            .map_err(|e| already_borrowed(name, e))?;
        Ok(Self { array })
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        self.array.shape()
    }

    /// The elements, row-major.
    pub fn as_slice(&self) -> PyResult<&[T]> {
        self.array
            .as_slice()
            .map_err(|e| PyTypeError::new_err(e.to_string()))
    }
}

/// Borrows `obj` mutably as a C-contiguous `T` array of the `expected` shape: state that a
/// native call updates in place (parameters, optimizer moments) or an output buffer.
pub fn writable<'py, T: Element>(
    name: &str,
    obj: &Bound<'py, PyAny>,
    expected: &[Option<usize>],
) -> PyResult<PyReadwriteArrayDyn<'py, T>> {
    checked_array::<T>(name, obj, expected)?
        .try_readwrite()
        .map_err(|e| already_borrowed(name, e))
}

/// `obj` as an array of `T` with the expected shape, C-contiguous; not borrowed yet.
fn checked_array<'py, T: Element>(
    name: &str,
    obj: &Bound<'py, PyAny>,
    expected: &[Option<usize>],
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    let array = obj.cast::<PyArrayDyn<T>>().map_err(|_| {
        let got = obj
            .getattr("dtype")
            .map(|d| d.to_string())
            .unwrap_or_else(|_| obj.get_type().to_string());
        PyTypeError::new_err(format!(
            "{name}: expected a numpy array of {}, got {got}",
            std::any::type_name::<T>()
        ))
    })?;
    let shape = array.shape();
    let matches = shape.len() == expected.len()
        && shape
            .iter()
            .zip(expected)
            .all(|(s, e)| e.is_none_or(|e| e == *s));
    if !matches {
        let want: Vec<String> = expected
            .iter()
            .map(|e| e.map_or("*".to_string(), |v| v.to_string()))
            .collect();
        return Err(ShapeError::new_err(format!(
            "{name}: expected shape ({}), got {shape:?}",
            want.join(", ")
        )));
    }
    if !array.is_c_contiguous() {
        return Err(PyTypeError::new_err(format!(
            "{name}: expected a C-contiguous array (use numpy.ascontiguousarray)"
        )));
    }
    Ok(array.clone())
}

/// An array passed twice where one of the uses writes to it (or a read-only array to write).
fn already_borrowed(name: &str, e: numpy::BorrowError) -> PyErr {
    PyValueError::new_err(format!(
        "{name}: cannot borrow the array ({e}); pass distinct, writeable arrays"
    ))
}

/// Borrows an optional argument (`None` stays `None`).
pub fn optional<'py, T: Element>(
    name: &str,
    obj: Option<&Bound<'py, PyAny>>,
    expected: &[Option<usize>],
) -> PyResult<Option<Checked<'py, T>>> {
    obj.filter(|o| !o.is_none())
        .map(|o| Checked::new(name, o, expected))
        .transpose()
}
