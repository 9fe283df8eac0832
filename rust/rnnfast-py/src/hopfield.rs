//! Associative memories: stateless kernels over NumPy arrays; the estimators that hold patterns
//! and weights are in `python/rnnfast/hopfield.py` and `memories.py`. Every array of one call
//! shares one dtype (float32 or float64), chosen by the first array; each call releases the GIL.

use numpy::{Element, PyArray1, PyArrayDyn, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rnnfast_core::hopfield::{self, Dynamics, Memory, UpdateMode, bam, modern, rules};
use rnnfast_core::{Float, par};

use crate::arrays::Checked;
use crate::errors::{CoreError, ParameterError};

/// Calls `$f::<f32>(args)` when `$array` is a float32 array, else `$f::<f64>(args)` (whose
/// checks then name any other dtype).
macro_rules! by_dtype {
    ($array:expr, $f:ident($($arg:expr),* $(,)?)) => {
        if $array.cast::<PyArrayDyn<f32>>().is_ok() {
            $f::<f32>($($arg),*)
        } else {
            $f::<f64>($($arg),*)
        }
    };
}

/// A `(rows, cols)` NumPy array owning `values`.
fn matrix<'py, T: Element>(
    py: Python<'py>,
    values: Vec<T>,
    cols: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let rows = values.len().checked_div(cols).unwrap_or(0);
    Ok(PyArray1::from_vec(py, values)
        .reshape([rows, cols])?
        .into_any())
}

fn counts(py: Python<'_>, values: Vec<usize>) -> Bound<'_, PyAny> {
    let values: Vec<i64> = values
        .into_iter()
        .map(|v| i64::try_from(v).unwrap_or(i64::MAX))
        .collect();
    PyArray1::from_vec(py, values).into_any()
}

/// Adds `patterns` `(p, n)` to a copy of `weights` `(n, n)` by `rule` ("hebbian" or
/// "storkey"); returns the new weights.
#[pyfunction]
pub fn hopfield_learn<'py>(
    py: Python<'py>,
    rule: &str,
    weights: &Bound<'py, PyAny>,
    patterns: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    by_dtype!(weights, learn_typed(py, rule, weights, patterns))
}

fn learn_typed<'py, T: Float + Element>(
    py: Python<'py>,
    rule: &str,
    weights: &Bound<'py, PyAny>,
    patterns: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let add = match rule {
        "hebbian" => rules::hebbian_add::<T>,
        "storkey" => rules::storkey_add::<T>,
        other => {
            return Err(ParameterError::new_err(format!(
                "rule: expected 'hebbian' or 'storkey', got {other:?}"
            )));
        }
    };
    let w = Checked::<T>::new("weights", weights, &[None, None])?;
    let n = w.shape()[1];
    let patterns = Checked::<T>::new("patterns", patterns, &[None, Some(n)])?;
    let mut updated = w.as_slice()?.to_vec();
    let patterns = patterns.as_slice()?;
    py.detach(|| add(&mut updated, patterns, n, par::num_threads()))
        .map_err(CoreError)?;
    matrix(py, updated, n)
}

/// Recalls bipolar `probes` `(batch, n)`; `memory` is `(weights,)` or `(a, b, diag)` (see
/// `rnnfast_core::hopfield::Memory`). Returns `(states, converged, n_sweeps, cycled)`.
#[pyfunction]
#[pyo3(signature = (probes, memory, threshold, update, max_iter, seed, shuffle))]
#[allow(clippy::too_many_arguments)] // mirrors the estimator's parameters one to one
pub fn hopfield_recall<'py>(
    py: Python<'py>,
    probes: &Bound<'py, PyAny>,
    memory: Vec<Bound<'py, PyAny>>,
    threshold: f64,
    update: &str,
    max_iter: usize,
    seed: u64,
    shuffle: bool,
) -> PyResult<Bound<'py, PyTuple>> {
    let mode = match update {
        "sync" => UpdateMode::Sync,
        "async" => UpdateMode::Async { seed, shuffle },
        other => {
            return Err(ParameterError::new_err(format!(
                "update: expected 'sync' or 'async', got {other:?}"
            )));
        }
    };
    by_dtype!(
        probes,
        recall_typed(py, probes, &memory, threshold, mode, max_iter)
    )
}

fn recall_typed<'py, T: Float + Element>(
    py: Python<'py>,
    probes: &Bound<'py, PyAny>,
    memory: &[Bound<'py, PyAny>],
    threshold: f64,
    mode: UpdateMode,
    max_iter: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    let probes = Checked::<T>::new("probes", probes, &[None, None])?;
    let n = probes.shape()[1];
    let checked: Vec<Checked<'py, T>> = match memory {
        [w] => vec![Checked::new("weights", w, &[Some(n), Some(n)])?],
        [a, b, diag] => vec![
            Checked::new("a", a, &[None, Some(n)])?,
            Checked::new("b", b, &[None, Some(n)])?,
            Checked::new("diag", diag, &[Some(n)])?,
        ],
        _ => {
            return Err(ParameterError::new_err(format!(
                "memory: expected (weights,) or (a, b, diag), got {} arrays",
                memory.len()
            )));
        }
    };
    let slices = checked
        .iter()
        .map(Checked::as_slice)
        .collect::<PyResult<Vec<_>>>()?;
    let memory = match slices[..] {
        [a, b, diag] => Memory::LowRank { a, b, diag },
        _ => Memory::Dense { weights: slices[0] },
    };
    let dynamics = Dynamics {
        mode,
        threshold: T::from_f64(threshold),
        max_iter,
    };
    let probes = probes.as_slice()?;
    let result = py
        .detach(|| hopfield::recall(&memory, n, probes, &dynamics, par::num_threads()))
        .map_err(CoreError)?;
    PyTuple::new(
        py,
        [
            matrix(py, result.states, n)?,
            PyArray1::from_vec(py, result.converged).into_any(),
            counts(py, result.sweeps),
            PyArray1::from_vec(py, result.cycled).into_any(),
        ],
    )
}

/// Modern Hopfield retrieval: `max_iter` updates of `queries` `(batch, n)` against `patterns`
/// `(p, n)` with inverse temperature `beta`.
#[pyfunction]
pub fn modern_hopfield_retrieve<'py>(
    py: Python<'py>,
    patterns: &Bound<'py, PyAny>,
    queries: &Bound<'py, PyAny>,
    beta: f64,
    max_iter: usize,
) -> PyResult<Bound<'py, PyAny>> {
    by_dtype!(
        patterns,
        retrieve_typed(py, patterns, queries, beta, max_iter)
    )
}

fn retrieve_typed<'py, T: Float + Element>(
    py: Python<'py>,
    patterns: &Bound<'py, PyAny>,
    queries: &Bound<'py, PyAny>,
    beta: f64,
    max_iter: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let patterns = Checked::<T>::new("patterns", patterns, &[None, None])?;
    let n = patterns.shape()[1];
    let queries = Checked::<T>::new("queries", queries, &[None, Some(n)])?;
    let (patterns, queries) = (patterns.as_slice()?, queries.as_slice()?);
    let beta = T::from_f64(beta);
    let states = py
        .detach(|| modern::retrieve(patterns, n, queries, beta, max_iter, par::num_threads()))
        .map_err(CoreError)?;
    matrix(py, states, n)
}

/// BAM recall from the layer of `probes` `(batch, nx)` through `weights` `(nx, ny)`; returns
/// `(x, y, converged, n_sweeps)`.
#[pyfunction]
pub fn bam_recall<'py>(
    py: Python<'py>,
    weights: &Bound<'py, PyAny>,
    probes: &Bound<'py, PyAny>,
    max_iter: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    by_dtype!(weights, bam_typed(py, weights, probes, max_iter))
}

fn bam_typed<'py, T: Float + Element>(
    py: Python<'py>,
    weights: &Bound<'py, PyAny>,
    probes: &Bound<'py, PyAny>,
    max_iter: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    let weights = Checked::<T>::new("weights", weights, &[None, None])?;
    let (nx, ny) = (weights.shape()[0], weights.shape()[1]);
    let probes = Checked::<T>::new("probes", probes, &[None, Some(nx)])?;
    let (weights, probes) = (weights.as_slice()?, probes.as_slice()?);
    let result = py
        .detach(|| bam::recall(weights, (nx, ny), probes, max_iter, par::num_threads()))
        .map_err(CoreError)?;
    PyTuple::new(
        py,
        [
            matrix(py, result.x, nx)?,
            matrix(py, result.y, ny)?,
            PyArray1::from_vec(py, result.converged).into_any(),
            counts(py, result.sweeps),
        ],
    )
}
