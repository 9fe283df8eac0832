//! `Network`: a validated, immutable network in native memory; `forward` releases the GIL.

use numpy::{Element, PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rnnfast_core::network::{InitialState, Sequences};
use rnnfast_core::{CellKind, Float, LayerWeights, Network, NetworkConfig};

use crate::arrays::{Checked, optional};
use crate::errors::{CoreError, ParameterError, ShapeError};

pub(crate) enum AnyNetwork {
    F32(Network<f32>),
    F64(Network<f64>),
}

/// A recurrent network held natively (built by `rnnfast.RNN`, `LSTM` and `GRU`).
#[pyclass(frozen, name = "Network", module = "rnnfast._rnnfast")]
pub struct PyNetwork {
    inner: AnyNetwork,
}

#[pymethods]
impl PyNetwork {
    /// `weights` lists, for each layer and direction (PyTorch's order), `weight_ih`, `weight_hh`
    /// and, when `bias`, `bias_ih` and `bias_hh`: C-contiguous arrays of `dtype`.
    #[new]
    #[pyo3(signature = (cell, input_size, hidden_size, num_layers, bidirectional, bias, dtype, weights))]
    #[allow(clippy::too_many_arguments)] // mirrors the Python constructor one to one
    fn new(
        cell: &str,
        input_size: usize,
        hidden_size: usize,
        num_layers: usize,
        bidirectional: bool,
        bias: bool,
        dtype: &str,
        weights: Vec<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let config = NetworkConfig {
            cell: CellKind::parse(cell).map_err(CoreError)?,
            input_size,
            hidden_size,
            num_layers,
            bidirectional,
            bias,
        };
        let inner = match dtype {
            "float32" => AnyNetwork::F32(build(config, &weights)?),
            "float64" => AnyNetwork::F64(build(config, &weights)?),
            other => {
                return Err(ParameterError::new_err(format!(
                    "dtype: expected 'float32' or 'float64', got {other:?}"
                )));
            }
        };
        Ok(Self { inner })
    }

    /// "float32" or "float64".
    #[getter]
    fn dtype(&self) -> &'static str {
        match &self.inner {
            AnyNetwork::F32(_) => f32::NAME,
            AnyNetwork::F64(_) => f64::NAME,
        }
    }

    /// Runs the network; returns `(output, h_n, c_n)`, `c_n` being `None` unless LSTM.
    ///
    /// `x` is `(batch, steps, input_size)`, `lengths` an int64 array `(batch,)`, `h0` and `c0`
    /// `(layers * directions, batch, hidden)`, all C-contiguous in the network's dtype.
    #[pyo3(signature = (x, lengths=None, h0=None, c0=None))]
    fn forward<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        lengths: Option<&Bound<'py, PyAny>>,
        h0: Option<&Bound<'py, PyAny>>,
        c0: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let args = ForwardArgs { x, lengths, h0, c0 };
        match &self.inner {
            AnyNetwork::F32(net) => forward_typed(py, net, args),
            AnyNetwork::F64(net) => forward_typed(py, net, args),
        }
    }
}

impl PyNetwork {
    /// The network, in its precision.
    pub(crate) fn inner(&self) -> &AnyNetwork {
        &self.inner
    }
}

fn build<T: Float + Element>(
    config: NetworkConfig,
    weights: &[Bound<'_, PyAny>],
) -> PyResult<Network<T>> {
    let dirs = config.directions();
    let per_set = if config.bias { 4 } else { 2 };
    let sets = config.num_layers * dirs;
    if weights.len() != sets * per_set {
        return Err(ShapeError::new_err(format!(
            "weights: expected {} arrays ({sets} layer-directions x {per_set}), got {}",
            sets * per_set,
            weights.len()
        )));
    }
    let rows = config.gate_rows();
    let mut layers = Vec::with_capacity(sets);
    for (index, arrays) in weights.chunks_exact(per_set).enumerate() {
        let cols = config.layer_input_size(index / dirs);
        let take = |i: usize, name: &str, shape: &[Option<usize>]| -> PyResult<Vec<T>> {
            let name = format!("{name}[{index}]");
            Ok(Checked::<T>::new(&name, &arrays[i], shape)?
                .as_slice()?
                .to_vec())
        };
        let w_ih = take(0, "weight_ih", &[Some(rows), Some(cols)])?;
        let w_hh = take(1, "weight_hh", &[Some(rows), Some(config.hidden_size)])?;
        let (b_ih, b_hh) = if config.bias {
            (
                take(2, "bias_ih", &[Some(rows)])?,
                take(3, "bias_hh", &[Some(rows)])?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        layers.push(LayerWeights {
            w_ih,
            w_hh,
            b_ih,
            b_hh,
        });
    }
    Ok(Network::new(config, layers).map_err(CoreError)?)
}

struct ForwardArgs<'a, 'py> {
    x: &'a Bound<'py, PyAny>,
    lengths: Option<&'a Bound<'py, PyAny>>,
    h0: Option<&'a Bound<'py, PyAny>>,
    c0: Option<&'a Bound<'py, PyAny>>,
}

fn forward_typed<'py, T: Float + Element>(
    py: Python<'py>,
    net: &Network<T>,
    args: ForwardArgs<'_, 'py>,
) -> PyResult<Bound<'py, PyTuple>> {
    let cfg = net.config();
    let x = Checked::<T>::new("input", args.x, &[None, None, Some(cfg.input_size)])?;
    let (batch, steps) = (x.shape()[0], x.shape()[1]);
    let state_shape = [
        Some(cfg.num_layers * cfg.directions()),
        Some(batch),
        Some(cfg.hidden_size),
    ];
    let h0 = optional::<T>("h0", args.h0, &state_shape)?;
    let c0 = optional::<T>("c0", args.c0, &state_shape)?;
    let lengths = optional::<i64>("lengths", args.lengths, &[Some(batch)])?
        .map(|l| to_lengths(l.as_slice()?))
        .transpose()?;
    let seqs = Sequences {
        data: x.as_slice()?,
        batch,
        steps,
        lengths: lengths.as_deref(),
    };
    let init = InitialState {
        h0: h0.as_ref().map(Checked::as_slice).transpose()?,
        c0: c0.as_ref().map(Checked::as_slice).transpose()?,
    };
    let result = py.detach(|| net.forward(&seqs, &init)).map_err(CoreError)?;
    let width = cfg.directions() * cfg.hidden_size;
    let state_dims = [state_shape[0].unwrap_or(0), batch, cfg.hidden_size];
    let output = PyArray1::from_vec(py, result.output).reshape([batch, steps, width])?;
    let h_n = PyArray1::from_vec(py, result.h_n).reshape(state_dims)?;
    let c_n = if cfg.cell.has_cell_state() {
        PyArray1::from_vec(py, result.c_n)
            .reshape(state_dims)?
            .into_any()
    } else {
        py.None().into_bound(py)
    };
    PyTuple::new(py, [output.into_any(), h_n.into_any(), c_n])
}

/// Converts int64 lengths to `usize`, refusing negative values.
pub(crate) fn to_lengths(raw: &[i64]) -> PyResult<Vec<usize>> {
    to_indices("lengths", "a positive length", raw)
}

/// Converts the int64 values of argument `name` to `usize`; a negative one is an error saying
/// that `expected` was expected.
pub(crate) fn to_indices(name: &str, expected: &str, raw: &[i64]) -> PyResult<Vec<usize>> {
    raw.iter()
        .enumerate()
        .map(|(b, &v)| {
            usize::try_from(v).map_err(|_| {
                ShapeError::new_err(format!("{name}[{b}]: expected {expected}, got {v}"))
            })
        })
        .collect()
}
