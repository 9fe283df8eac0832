//! Echo state networks: stateless functions over NumPy arrays; the estimators live in Python.
//!
//! A reservoir crosses the boundary as one tuple `(indptr, indices, values, input_weights, bias,
//! leak_rate, activation, state_noise, noise_seed, n_layers)`: CSR arrays (int64 offsets and columns, values of the model's dtype),
//! `(units, features)` input weights and `(units,)` bias. Every call releases the GIL.

use numpy::{Element, PyArray1, PyArrayDyn, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rnnfast_core::esn::{self, Activation, Csr, OnlineRule, OnlineState, Readout, Reservoir};
use rnnfast_core::network::Sequences;
use rnnfast_core::{Float, par};

use crate::arrays::{Checked, optional};
use crate::errors::{CoreError, ParameterError};
use crate::network::to_lengths;

type ReservoirTuple<'py> = (
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    f64,
    String,
    f64,
    u64,
    usize,
);

/// The borrowed, shape-checked arrays of a reservoir tuple.
struct ReservoirArgs<'py, T: Element> {
    indptr: Checked<'py, i64>,
    indices: Checked<'py, i64>,
    values: Checked<'py, T>,
    w_in: Checked<'py, T>,
    bias: Checked<'py, T>,
    leak: f64,
    activation: Activation,
    noise: f64,
    seed: u64,
    layers: usize,
}

impl<'py, T: Float + Element> ReservoirArgs<'py, T> {
    fn new(tuple: &ReservoirTuple<'py>) -> PyResult<Self> {
        let (indptr, indices, values, w_in, bias, leak, activation, noise, seed, layers) = tuple;
        let w_in = Checked::<T>::new("input_weights", w_in, &[None, None])?;
        let units = w_in.shape()[0];
        Ok(Self {
            indptr: Checked::new("indptr", indptr, &[Some(units + 1)])?,
            indices: Checked::new("indices", indices, &[None])?,
            values: Checked::new("values", values, &[None])?,
            w_in,
            bias: Checked::new("bias", bias, &[Some(units)])?,
            leak: *leak,
            activation: Activation::parse(activation).map_err(CoreError)?,
            noise: *noise,
            seed: *seed,
            layers: *layers,
        })
    }

    fn units(&self) -> usize {
        self.w_in.shape()[0]
    }

    fn features(&self) -> usize {
        self.w_in.shape()[1]
    }

    /// Builds the core reservoir and runs `f` on it with the GIL released.
    fn with<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Reservoir<T>) -> rnnfast_core::Result<R> + Send,
    ) -> PyResult<R> {
        let (n, features) = (self.units(), self.features());
        let (indptr, indices) = (self.indptr.as_slice()?, self.indices.as_slice()?);
        let (values, w_in, bias) = (
            self.values.as_slice()?,
            self.w_in.as_slice()?,
            self.bias.as_slice()?,
        );
        let (leak, activation) = (self.leak, self.activation);
        let (noise, seed, layers) = (self.noise, self.seed, self.layers);
        let result = py.detach(|| {
            let w = Csr::new(n, n, indptr, indices, values)?;
            let reservoir = Reservoir::new(&w, w_in, features, bias, leak, activation)?
                .with_noise(noise, seed)?
                .with_layers(layers)?;
            f(&reservoir)
        });
        Ok(result.map_err(CoreError)?)
    }
}

/// The padded batch `x` `(batch, steps, features)` with optional int64 `lengths`.
pub(crate) struct Batch<'py, T: Element> {
    x: Checked<'py, T>,
    lengths: Option<Vec<usize>>,
}

impl<'py, T: Float + Element> Batch<'py, T> {
    pub(crate) fn new(
        x: &Bound<'py, PyAny>,
        lengths: Option<&Bound<'py, PyAny>>,
        features: usize,
    ) -> PyResult<Self> {
        let x = Checked::<T>::new("input", x, &[None, None, Some(features)])?;
        let lengths = optional::<i64>("lengths", lengths, &[Some(x.shape()[0])])?
            .map(|l| to_lengths(l.as_slice()?))
            .transpose()?;
        Ok(Self { x, lengths })
    }

    pub(crate) fn batch(&self) -> usize {
        self.x.shape()[0]
    }

    pub(crate) fn steps(&self) -> usize {
        self.x.shape()[1]
    }

    pub(crate) fn sequences(&self) -> PyResult<Sequences<'_, T>> {
        Ok(Sequences {
            data: self.x.as_slice()?,
            batch: self.batch(),
            steps: self.steps(),
            lengths: self.lengths.as_deref(),
        })
    }
}

pub(crate) fn is_f32(values: &Bound<'_, PyAny>) -> bool {
    values.cast::<PyArrayDyn<f32>>().is_ok()
}

pub(crate) fn array<'py, T: Element>(
    py: Python<'py>,
    data: Vec<T>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, data).reshape(shape)?.into_any())
}

/// The largest eigenvalue modulus of the square CSR matrix `(indptr, indices, values)`, float64.
#[pyfunction]
pub fn esn_spectral_radius(
    py: Python<'_>,
    indptr: &Bound<'_, PyAny>,
    indices: &Bound<'_, PyAny>,
    values: &Bound<'_, PyAny>,
    n: usize,
) -> PyResult<f64> {
    let indptr = Checked::<i64>::new("indptr", indptr, &[Some(n + 1)])?;
    let indices = Checked::<i64>::new("indices", indices, &[None])?;
    let values = Checked::<f64>::new("values", values, &[None])?;
    let (p, i, v) = (indptr.as_slice()?, indices.as_slice()?, values.as_slice()?);
    let threads = rnnfast_core::par::num_threads();
    let radius = py.detach(|| esn::spectral_radius(&Csr::new(n, n, p, i, v)?, threads));
    Ok(radius.map_err(CoreError)?)
}

/// Runs a batch; returns `(values, last)`: states `(batch, steps, units)`, or the readout's
/// outputs `(batch, steps, outputs)` when `coef` `(outputs, units)` and `intercept` are given,
/// and the states after each sequence's last step `(batch, units)`.
#[pyfunction]
#[pyo3(signature = (reservoir, x, lengths=None, h0=None, coef=None, intercept=None, threads=None))]
#[allow(clippy::too_many_arguments)] // the optional arrays of one run
pub fn esn_run<'py>(
    py: Python<'py>,
    reservoir: ReservoirTuple<'py>,
    x: &Bound<'py, PyAny>,
    lengths: Option<&Bound<'py, PyAny>>,
    h0: Option<&Bound<'py, PyAny>>,
    coef: Option<&Bound<'py, PyAny>>,
    intercept: Option<&Bound<'py, PyAny>>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyTuple>> {
    let args = RunArgs {
        x,
        lengths,
        h0,
        coef,
        intercept,
        threads,
    };
    if is_f32(&reservoir.2) {
        run_typed::<f32>(py, &reservoir, args)
    } else {
        run_typed::<f64>(py, &reservoir, args)
    }
}

struct RunArgs<'a, 'py> {
    x: &'a Bound<'py, PyAny>,
    lengths: Option<&'a Bound<'py, PyAny>>,
    h0: Option<&'a Bound<'py, PyAny>>,
    coef: Option<&'a Bound<'py, PyAny>>,
    intercept: Option<&'a Bound<'py, PyAny>>,
    threads: Option<usize>,
}

fn run_typed<'py, T: Float + Element>(
    py: Python<'py>,
    reservoir: &ReservoirTuple<'py>,
    args: RunArgs<'_, 'py>,
) -> PyResult<Bound<'py, PyTuple>> {
    let res = ReservoirArgs::<T>::new(reservoir)?;
    let n = res.units();
    let batch = Batch::<T>::new(args.x, args.lengths, res.features())?;
    let (b, steps) = (batch.batch(), batch.steps());
    let h0 = optional::<T>("h0", args.h0, &[Some(b), Some(n)])?;
    let coef = optional::<T>("coef", args.coef, &[None, Some(n)])?;
    let outputs = coef.as_ref().map_or(0, |c| c.shape()[0]);
    let intercept = optional::<T>("intercept", args.intercept, &[Some(outputs)])?;
    let readout = match (&coef, &intercept) {
        (Some(c), Some(i)) => Some((c.as_slice()?, i.as_slice()?)),
        _ => None,
    };
    let seqs = batch.sequences()?;
    let h0 = h0.as_ref().map(Checked::as_slice).transpose()?;
    let threads = args.threads.unwrap_or_else(par::num_threads);
    let out = res.with(py, |r| {
        let readout = readout.map(|(coef, intercept)| Readout { coef, intercept });
        r.run(&seqs, h0, readout.as_ref(), threads)
    })?;
    let width = if readout.is_some() { outputs } else { n };
    PyTuple::new(
        py,
        [
            array(py, out.values, &[b, steps, width])?,
            array(py, out.last, &[b, n])?,
        ],
    )
}

/// Runs a batch from the zero state and pools each sequence; returns `(mean, last)`, both
/// `(batch, units)`: the mean state after `washout` steps and the state after the last step.
#[pyfunction]
#[pyo3(signature = (reservoir, x, lengths=None, washout=0, threads=None))]
pub fn esn_pool<'py>(
    py: Python<'py>,
    reservoir: ReservoirTuple<'py>,
    x: &Bound<'py, PyAny>,
    lengths: Option<&Bound<'py, PyAny>>,
    washout: usize,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyTuple>> {
    if is_f32(&reservoir.2) {
        pool_typed::<f32>(py, &reservoir, x, lengths, washout, threads)
    } else {
        pool_typed::<f64>(py, &reservoir, x, lengths, washout, threads)
    }
}

fn pool_typed<'py, T: Float + Element>(
    py: Python<'py>,
    reservoir: &ReservoirTuple<'py>,
    x: &Bound<'py, PyAny>,
    lengths: Option<&Bound<'py, PyAny>>,
    washout: usize,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyTuple>> {
    let res = ReservoirArgs::<T>::new(reservoir)?;
    let n = res.units();
    let batch = Batch::<T>::new(x, lengths, res.features())?;
    let b = batch.batch();
    let seqs = batch.sequences()?;
    let threads = threads.unwrap_or_else(par::num_threads);
    let pooled = res.with(py, |r| esn::pool_states(r, &seqs, washout, threads))?;
    PyTuple::new(
        py,
        [
            array(py, pooled.mean, &[b, n])?,
            array(py, pooled.last, &[b, n])?,
        ],
    )
}

/// Ridge regression on feature rows (float64 `(rows, features)`, targets `(rows, outputs)`)
/// with an unpenalised intercept; returns `(coef, intercept)`, float64 `(outputs, features)`
/// and `(outputs,)`.
#[pyfunction]
#[pyo3(signature = (features, targets, alpha=1e-6, threads=None))]
pub fn esn_ridge<'py>(
    py: Python<'py>,
    features: &Bound<'py, PyAny>,
    targets: &Bound<'py, PyAny>,
    alpha: f64,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyTuple>> {
    let x = Checked::<f64>::new("features", features, &[None, None])?;
    let (rows, n) = (x.shape()[0], x.shape()[1]);
    let y = Checked::<f64>::new("targets", targets, &[Some(rows), None])?;
    let outputs = y.shape()[1];
    let (x, y) = (x.as_slice()?, y.as_slice()?);
    let threads = threads.unwrap_or_else(par::num_threads);
    let (coef, intercept) = py
        .detach(|| esn::ridge_on_rows(x, y, n, outputs, alpha, threads))
        .map_err(CoreError)?;
    PyTuple::new(
        py,
        [
            array(py, coef, &[outputs, n])?,
            array(py, intercept, &[outputs])?,
        ],
    )
}

/// Fits a ridge readout; returns `(coef, intercept, last, n_samples)`, `coef` float64
/// `(outputs, units)`, `intercept` float64 `(outputs,)`, `last` `(batch, units)`.
#[pyfunction]
#[pyo3(signature = (reservoir, x, y, lengths=None, h0=None, washout=0, alpha=1e-6, threads=None))]
#[allow(clippy::too_many_arguments)] // mirrors the core call
pub fn esn_fit_ridge<'py>(
    py: Python<'py>,
    reservoir: ReservoirTuple<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    lengths: Option<&Bound<'py, PyAny>>,
    h0: Option<&Bound<'py, PyAny>>,
    washout: usize,
    alpha: f64,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyTuple>> {
    let args = FitArgs {
        x,
        y,
        lengths,
        h0,
        washout,
        alpha,
        threads,
    };
    if is_f32(&reservoir.2) {
        fit_typed::<f32>(py, &reservoir, args)
    } else {
        fit_typed::<f64>(py, &reservoir, args)
    }
}

struct FitArgs<'a, 'py> {
    x: &'a Bound<'py, PyAny>,
    y: &'a Bound<'py, PyAny>,
    lengths: Option<&'a Bound<'py, PyAny>>,
    h0: Option<&'a Bound<'py, PyAny>>,
    washout: usize,
    alpha: f64,
    threads: Option<usize>,
}

fn fit_typed<'py, T: Float + Element>(
    py: Python<'py>,
    reservoir: &ReservoirTuple<'py>,
    args: FitArgs<'_, 'py>,
) -> PyResult<Bound<'py, PyTuple>> {
    let res = ReservoirArgs::<T>::new(reservoir)?;
    let n = res.units();
    let batch = Batch::<T>::new(args.x, args.lengths, res.features())?;
    let (b, steps) = (batch.batch(), batch.steps());
    let y = Checked::<T>::new("y", args.y, &[Some(b), Some(steps), None])?;
    let outputs = y.shape()[2];
    let h0 = optional::<T>("h0", args.h0, &[Some(b), Some(n)])?;
    let seqs = batch.sequences()?;
    let (targets, h0) = (
        y.as_slice()?,
        h0.as_ref().map(Checked::as_slice).transpose()?,
    );
    let threads = args.threads.unwrap_or_else(par::num_threads);
    let (washout, alpha) = (args.washout, args.alpha);
    let fit = res.with(py, |r| {
        esn::fit_ridge(r, &seqs, h0, targets, outputs, washout, alpha, threads)
    })?;
    PyTuple::new(
        py,
        [
            array(py, fit.coef, &[outputs, n])?,
            array(py, fit.intercept, &[outputs])?,
            array(py, fit.last, &[b, n])?,
            fit.n_samples.into_pyobject(py)?.into_any(),
        ],
    )
}

/// Closed loop from state `h0` `(units,)`: returns `(n_steps, outputs)` predictions, each fed
/// back as the next input.
#[pyfunction]
pub fn esn_forecast<'py>(
    py: Python<'py>,
    reservoir: ReservoirTuple<'py>,
    h0: &Bound<'py, PyAny>,
    coef: &Bound<'py, PyAny>,
    intercept: &Bound<'py, PyAny>,
    n_steps: usize,
) -> PyResult<Bound<'py, PyAny>> {
    if is_f32(&reservoir.2) {
        forecast_typed::<f32>(py, &reservoir, (h0, coef, intercept), n_steps)
    } else {
        forecast_typed::<f64>(py, &reservoir, (h0, coef, intercept), n_steps)
    }
}

/// Three borrowed arrays: a start (state or window), `coef` and `intercept`.
pub(crate) type ForecastArrays<'a, 'py> = (
    &'a Bound<'py, PyAny>,
    &'a Bound<'py, PyAny>,
    &'a Bound<'py, PyAny>,
);

fn forecast_typed<'py, T: Float + Element>(
    py: Python<'py>,
    reservoir: &ReservoirTuple<'py>,
    (h0, coef, intercept): ForecastArrays<'_, 'py>,
    n_steps: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let res = ReservoirArgs::<T>::new(reservoir)?;
    let n = res.units();
    let h0 = Checked::<T>::new("h0", h0, &[Some(n)])?;
    let coef = Checked::<T>::new("coef", coef, &[None, Some(n)])?;
    let outputs = coef.shape()[0];
    let intercept = Checked::<T>::new("intercept", intercept, &[Some(outputs)])?;
    let (h0, coef, intercept) = (h0.as_slice()?, coef.as_slice()?, intercept.as_slice()?);
    let out = res.with(py, |r| {
        r.forecast(h0, &Readout { coef, intercept }, n_steps)
    })?;
    array(py, out, &[n_steps, outputs])
}

/// Updates an online readout; returns `(weights, p, last)`: `weights` float64
/// `(units + 1, outputs)` (last row: intercept), `p` float64 `(units + 1, units + 1)` for
/// `rule="rls"` (pass it back on the next call) and `None` for `"lms"`, `last` `(batch, units)`.
/// `rate` is the forgetting factor (RLS) or the learning rate (LMS).
#[pyfunction]
#[pyo3(signature = (reservoir, x, y, weights, p, rule, rate, lengths=None, h0=None, washout=0))]
#[allow(clippy::too_many_arguments)] // mirrors the core call
pub fn esn_fit_online<'py>(
    py: Python<'py>,
    reservoir: ReservoirTuple<'py>,
    x: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    weights: &Bound<'py, PyAny>,
    p: Option<&Bound<'py, PyAny>>,
    rule: &str,
    rate: f64,
    lengths: Option<&Bound<'py, PyAny>>,
    h0: Option<&Bound<'py, PyAny>>,
    washout: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    let rule = match rule {
        "rls" => OnlineRule::Rls { forgetting: rate },
        "lms" => OnlineRule::Lms {
            learning_rate: rate,
        },
        other => {
            return Err(ParameterError::new_err(format!(
                "rule: expected 'rls' or 'lms', got {other:?}"
            )));
        }
    };
    let args = OnlineArgs {
        x,
        y,
        weights,
        p,
        lengths,
        h0,
        washout,
    };
    if is_f32(&reservoir.2) {
        online_typed::<f32>(py, &reservoir, args, rule)
    } else {
        online_typed::<f64>(py, &reservoir, args, rule)
    }
}

struct OnlineArgs<'a, 'py> {
    x: &'a Bound<'py, PyAny>,
    y: &'a Bound<'py, PyAny>,
    weights: &'a Bound<'py, PyAny>,
    p: Option<&'a Bound<'py, PyAny>>,
    lengths: Option<&'a Bound<'py, PyAny>>,
    h0: Option<&'a Bound<'py, PyAny>>,
    washout: usize,
}

fn online_typed<'py, T: Float + Element>(
    py: Python<'py>,
    reservoir: &ReservoirTuple<'py>,
    args: OnlineArgs<'_, 'py>,
    rule: OnlineRule,
) -> PyResult<Bound<'py, PyTuple>> {
    let res = ReservoirArgs::<T>::new(reservoir)?;
    let n = res.units();
    let batch = Batch::<T>::new(args.x, args.lengths, res.features())?;
    let (b, steps) = (batch.batch(), batch.steps());
    let y = Checked::<T>::new("y", args.y, &[Some(b), Some(steps), None])?;
    let outputs = y.shape()[2];
    let weights = Checked::<f64>::new("weights", args.weights, &[Some(n + 1), Some(outputs)])?;
    let p = optional::<f64>("p", args.p, &[Some(n + 1), Some(n + 1)])?;
    let h0 = optional::<T>("h0", args.h0, &[Some(b), Some(n)])?;
    let mut state = OnlineState {
        weights: weights.as_slice()?.to_vec(),
        p: p.as_ref()
            .map(|p| p.as_slice().map(<[f64]>::to_vec))
            .transpose()?
            .unwrap_or_default(),
    };
    let seqs = batch.sequences()?;
    let (targets, h0) = (
        y.as_slice()?,
        h0.as_ref().map(Checked::as_slice).transpose()?,
    );
    let washout = args.washout;
    let (last, state) = res.with(py, |r| {
        let last = esn::fit_online(r, &seqs, h0, targets, outputs, washout, rule, &mut state)?;
        Ok((last, state))
    })?;
    let p = if state.p.is_empty() {
        py.None().into_bound(py)
    } else {
        array(py, state.p, &[n + 1, n + 1])?
    };
    PyTuple::new(
        py,
        [
            array(py, state.weights, &[n + 1, outputs])?,
            p,
            array(py, last, &[b, n])?,
        ],
    )
}

/// One sequence with the readout in the loop (output feedback): returns `(outputs, last)`,
/// outputs `(n_steps, outputs)`, `last` the final state `(units,)`. Each step's input is the
/// `exogenous` row (`(n_steps, e)`, optional) followed by copies of the previous output,
/// starting from `y0`; `stream` picks the noise stream (the sequence's batch index).
#[pyfunction]
#[pyo3(signature = (reservoir, h0, y0, coef, intercept, n_steps, exogenous=None, stream=0))]
#[allow(clippy::too_many_arguments)] // mirrors the core call
pub fn esn_closed_loop<'py>(
    py: Python<'py>,
    reservoir: ReservoirTuple<'py>,
    h0: &Bound<'py, PyAny>,
    y0: &Bound<'py, PyAny>,
    coef: &Bound<'py, PyAny>,
    intercept: &Bound<'py, PyAny>,
    n_steps: usize,
    exogenous: Option<&Bound<'py, PyAny>>,
    stream: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    let arrays = (h0, y0, coef, intercept, exogenous);
    if is_f32(&reservoir.2) {
        closed_loop_typed::<f32>(py, &reservoir, arrays, (n_steps, stream))
    } else {
        closed_loop_typed::<f64>(py, &reservoir, arrays, (n_steps, stream))
    }
}

type LoopArrays<'a, 'py> = (
    &'a Bound<'py, PyAny>,
    &'a Bound<'py, PyAny>,
    &'a Bound<'py, PyAny>,
    &'a Bound<'py, PyAny>,
    Option<&'a Bound<'py, PyAny>>,
);

fn closed_loop_typed<'py, T: Float + Element>(
    py: Python<'py>,
    reservoir: &ReservoirTuple<'py>,
    (h0, y0, coef, intercept, exogenous): LoopArrays<'_, 'py>,
    (n_steps, stream): (usize, usize),
) -> PyResult<Bound<'py, PyTuple>> {
    let res = ReservoirArgs::<T>::new(reservoir)?;
    let n = res.units();
    let h0 = Checked::<T>::new("h0", h0, &[Some(n)])?;
    let coef = Checked::<T>::new("coef", coef, &[None, Some(n)])?;
    let outputs = coef.shape()[0];
    let intercept = Checked::<T>::new("intercept", intercept, &[Some(outputs)])?;
    let y0 = Checked::<T>::new("y0", y0, &[Some(outputs)])?;
    let ext = optional::<T>("exogenous", exogenous, &[Some(n_steps), None])?;
    let ext = match &ext {
        Some(e) => Some((e.as_slice()?, e.shape()[1])),
        None => None,
    };
    let (h0, y0) = (h0.as_slice()?, y0.as_slice()?);
    let (coef, intercept) = (coef.as_slice()?, intercept.as_slice()?);
    let (out, last) = res.with(py, |r| {
        r.closed_loop(h0, y0, ext, &Readout { coef, intercept }, n_steps, stream)
    })?;
    PyTuple::new(
        py,
        [array(py, out, &[n_steps, outputs])?, array(py, last, &[n])?],
    )
}
