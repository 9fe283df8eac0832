//! NVAR (next-generation reservoir computing): stateless functions over NumPy arrays.
//!
//! The feature map crosses the boundary as `(features, delay, stride, order)`. Arrays are
//! float32 or float64, as the input (`x`, or the forecast's `window`) is; the ridge readout is
//! solved in float64. Every call releases the GIL.

use numpy::Element;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rnnfast_core::esn::{Nvar, Readout};
use rnnfast_core::{Float, par};

use crate::arrays::{Checked, optional};
use crate::errors::CoreError;
use crate::esn::{Batch, ForecastArrays, array, is_f32};

/// `(features, delay, stride, order)`.
type MapTuple = (usize, usize, usize, usize);

fn build((features, delay, stride, order): MapTuple) -> PyResult<Nvar> {
    Ok(Nvar::new(features, delay, stride, order).map_err(CoreError)?)
}

/// Runs a batch `x` `(batch, steps, features)`; returns the features `(batch, steps, width)`,
/// or the readout's outputs `(batch, steps, outputs)` when `coef` `(outputs, width)` and
/// `intercept` are given. `history` `(batch, (delay - 1) stride, features)` holds the inputs
/// before each sequence (zeros when absent).
#[pyfunction]
#[pyo3(signature = (map, x, lengths=None, history=None, coef=None, intercept=None, threads=None))]
#[allow(clippy::too_many_arguments)] // the optional arrays of one run
pub fn nvar_run<'py>(
    py: Python<'py>,
    map: MapTuple,
    x: &Bound<'py, PyAny>,
    lengths: Option<&Bound<'py, PyAny>>,
    history: Option<&Bound<'py, PyAny>>,
    coef: Option<&Bound<'py, PyAny>>,
    intercept: Option<&Bound<'py, PyAny>>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let args = (x, lengths, history, coef, intercept);
    if is_f32(x) {
        run_typed::<f32>(py, map, args, threads)
    } else {
        run_typed::<f64>(py, map, args, threads)
    }
}

type RunArrays<'a, 'py> = (
    &'a Bound<'py, PyAny>,
    Option<&'a Bound<'py, PyAny>>,
    Option<&'a Bound<'py, PyAny>>,
    Option<&'a Bound<'py, PyAny>>,
    Option<&'a Bound<'py, PyAny>>,
);

fn run_typed<'py, T: Float + Element>(
    py: Python<'py>,
    map: MapTuple,
    (x, lengths, history, coef, intercept): RunArrays<'_, 'py>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let nvar = build(map)?;
    let (d, w) = (nvar.inputs(), nvar.width());
    let batch = Batch::<T>::new(x, lengths, d)?;
    let (b, steps) = (batch.batch(), batch.steps());
    let history = optional::<T>(
        "history",
        history,
        &[Some(b), Some(nvar.history_len()), Some(d)],
    )?;
    let coef = optional::<T>("coef", coef, &[None, Some(w)])?;
    let outputs = coef.as_ref().map_or(0, |c| c.shape()[0]);
    let intercept = optional::<T>("intercept", intercept, &[Some(outputs)])?;
    let readout = match (&coef, &intercept) {
        (Some(c), Some(i)) => Some(Readout {
            coef: c.as_slice()?,
            intercept: i.as_slice()?,
        }),
        _ => None,
    };
    let seqs = batch.sequences()?;
    let history = history.as_ref().map(Checked::as_slice).transpose()?;
    let threads = threads.unwrap_or_else(par::num_threads);
    let values = py
        .detach(|| nvar.run(&seqs, history, readout.as_ref(), threads))
        .map_err(CoreError)?;
    let width = if readout.is_some() { outputs } else { w };
    array(py, values, &[b, steps, width])
}

/// Fits a ridge readout of `y` `(batch, steps, outputs)` on the features of `x` (each sequence
/// from zeros, its first `(delay - 1) stride` steps not fitted); returns `(coef, intercept,
/// n_samples)`, `coef` float64 `(outputs, width)`, `intercept` float64 `(outputs,)`.
#[pyfunction]
#[pyo3(signature = (map, x, y, lengths=None, alpha=1e-6))]
pub fn nvar_fit<'py>(
    py: Python<'py>,
    map: MapTuple,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    lengths: Option<&Bound<'py, PyAny>>,
    alpha: f64,
) -> PyResult<Bound<'py, PyTuple>> {
    if is_f32(x) {
        fit_typed::<f32>(py, map, (x, y, lengths), alpha)
    } else {
        fit_typed::<f64>(py, map, (x, y, lengths), alpha)
    }
}

type FitArrays<'a, 'py> = (
    &'a Bound<'py, PyAny>,
    &'a Bound<'py, PyAny>,
    Option<&'a Bound<'py, PyAny>>,
);

fn fit_typed<'py, T: Float + Element>(
    py: Python<'py>,
    map: MapTuple,
    (x, y, lengths): FitArrays<'_, 'py>,
    alpha: f64,
) -> PyResult<Bound<'py, PyTuple>> {
    let nvar = build(map)?;
    let batch = Batch::<T>::new(x, lengths, nvar.inputs())?;
    let y = Checked::<T>::new("y", y, &[Some(batch.batch()), Some(batch.steps()), None])?;
    let outputs = y.shape()[2];
    let (seqs, targets) = (batch.sequences()?, y.as_slice()?);
    let fit = py
        .detach(|| nvar.fit(&seqs, targets, outputs, alpha))
        .map_err(CoreError)?;
    PyTuple::new(
        py,
        [
            array(py, fit.coef, &[outputs, nvar.width()])?,
            array(py, fit.intercept, &[outputs])?,
            fit.n_samples.into_pyobject(py)?.into_any(),
        ],
    )
}

/// Closed loop from `window` `((delay - 1) stride + 1, features)`, the last known inputs oldest
/// first: returns `(n_steps, features)` predictions, each fed back as the next input (the
/// prediction of the input right after the window is fed back first, not returned).
#[pyfunction]
pub fn nvar_forecast<'py>(
    py: Python<'py>,
    map: MapTuple,
    window: &Bound<'py, PyAny>,
    coef: &Bound<'py, PyAny>,
    intercept: &Bound<'py, PyAny>,
    n_steps: usize,
) -> PyResult<Bound<'py, PyAny>> {
    if is_f32(window) {
        forecast_typed::<f32>(py, map, (window, coef, intercept), n_steps)
    } else {
        forecast_typed::<f64>(py, map, (window, coef, intercept), n_steps)
    }
}

fn forecast_typed<'py, T: Float + Element>(
    py: Python<'py>,
    map: MapTuple,
    (window, coef, intercept): ForecastArrays<'_, 'py>,
    n_steps: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let nvar = build(map)?;
    let (d, rows) = (nvar.inputs(), nvar.history_len() + 1);
    let window = Checked::<T>::new("window", window, &[Some(rows), Some(d)])?;
    let coef = Checked::<T>::new("coef", coef, &[None, Some(nvar.width())])?;
    let outputs = coef.shape()[0];
    let intercept = Checked::<T>::new("intercept", intercept, &[Some(outputs)])?;
    let (window, coef, intercept) = (window.as_slice()?, coef.as_slice()?, intercept.as_slice()?);
    let out = py
        .detach(|| nvar.forecast(window, &Readout { coef, intercept }, n_steps))
        .map_err(CoreError)?;
    array(py, out, &[n_steps, outputs])
}
