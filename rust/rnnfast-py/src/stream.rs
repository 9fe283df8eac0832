//! `Stream`: a network stepped one time step per call, its state kept in native memory.
//!
//! Steps take microseconds, so they keep the GIL (releasing and re-acquiring it would cost more
//! than the step) and borrow the caller's arrays without copying them.

use numpy::{Element, PyArray1, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use rnnfast_core::{Float, Network, StreamState};

use crate::arrays::{Checked, writable};
use crate::errors::{CoreError, ShapeError};
use crate::network::{AnyNetwork, PyNetwork};

enum AnyState {
    F32(StreamState<f32>),
    F64(StreamState<f64>),
}

/// A streaming session over a network (opened by `model.stream(batch_size)`).
#[pyclass(name = "Stream", module = "rnnfast._rnnfast")]
pub struct PyStream {
    network: Py<PyNetwork>,
    /// The Python model that opened the session: pickling re-opens a session on it.
    owner: Py<PyAny>,
    state: AnyState,
}

#[pymethods]
impl PyStream {
    #[new]
    fn new(network: Py<PyNetwork>, batch_size: usize, owner: Py<PyAny>) -> PyResult<Self> {
        let state = match network.get().inner() {
            AnyNetwork::F32(net) => AnyState::F32(net.stream_state(batch_size).map_err(CoreError)?),
            AnyNetwork::F64(net) => AnyState::F64(net.stream_state(batch_size).map_err(CoreError)?),
        };
        Ok(Self {
            network,
            owner,
            state,
        })
    }

    /// Sequences stepped together.
    #[getter]
    fn batch_size(&self) -> usize {
        match &self.state {
            AnyState::F32(s) => s.batch(),
            AnyState::F64(s) => s.batch(),
        }
    }

    /// One time step; returns the last layer's new hidden state (or writes it into `out`).
    #[pyo3(signature = (x, out=None))]
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        out: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match (self.network.get().inner(), &mut self.state) {
            (AnyNetwork::F32(net), AnyState::F32(state)) => step_typed(py, net, state, x, out),
            (AnyNetwork::F64(net), AnyState::F64(state)) => step_typed(py, net, state, x, out),
            _ => Err(pyo3::exceptions::PyRuntimeError::new_err(
                "stream: the state's precision differs from the network's",
            )),
        }
    }

    /// Zeroes the state: the next step starts a new sequence.
    fn reset(&mut self) {
        match &mut self.state {
            AnyState::F32(s) => s.reset(),
            AnyState::F64(s) => s.reset(),
        }
    }

    /// The state, shaped as `forward` returns it: `h` of shape `(num_layers, batch_size,
    /// hidden_size)`, for LSTM the pair `(h, c)`. Assigning accepts the same.
    #[getter]
    fn state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (h, c) = self.arrays(py)?;
        match c {
            Some(c) => Ok(PyTuple::new(py, [h, c])?.into_any()),
            None => Ok(h),
        }
    }

    #[setter]
    fn set_state(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let has_cell = match &self.state {
            AnyState::F32(s) => !s.c().is_empty(),
            AnyState::F64(s) => !s.c().is_empty(),
        };
        if !has_cell {
            return self.assign(value, None);
        }
        let pair = value.cast::<PyTuple>().ok().filter(|t| t.len() == 2);
        let Some(pair) = pair else {
            return Err(ShapeError::new_err(
                "state: an LSTM session's state is a pair (h, c)",
            ));
        };
        self.assign(&pair.get_item(0)?, Some(&pair.get_item(1)?))
    }

    /// `{"batch_size", "h", "c"}` (`c` is None unless LSTM): what `__setstate__` resumes from.
    fn __getstate__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        let (h, c) = self.arrays(py)?;
        dict.set_item("batch_size", self.batch_size())?;
        dict.set_item("h", h)?;
        dict.set_item("c", c)?;
        Ok(dict)
    }

    fn __setstate__(&mut self, state: &Bound<'_, PyDict>) -> PyResult<()> {
        let get = |key: &str| -> PyResult<Bound<'_, PyAny>> {
            state.get_item(key)?.ok_or_else(|| {
                pyo3::exceptions::PyKeyError::new_err(format!("stream state: missing {key:?}"))
            })
        };
        let c = get("c")?;
        self.assign(&get("h")?, (!c.is_none()).then_some(&c))
    }

    /// Pickles as "open a session of this batch size on the owning model, then restore the
    /// state".
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let reopen = self.owner.bind(py).getattr("stream")?;
        let args = PyTuple::new(py, [self.batch_size()])?;
        PyTuple::new(
            py,
            [reopen, args.into_any(), self.__getstate__(py)?.into_any()],
        )
    }
}

impl PyStream {
    /// Copies of `h` and, for LSTM, `c`, each `(num_layers, batch_size, hidden_size)`.
    fn arrays<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Option<Bound<'py, PyAny>>)> {
        let dims = state_dims(self.network.get(), self.batch_size());
        match &self.state {
            AnyState::F32(s) => state_arrays(py, dims, s),
            AnyState::F64(s) => state_arrays(py, dims, s),
        }
    }

    fn assign(&mut self, h: &Bound<'_, PyAny>, c: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let dims = state_dims(self.network.get(), self.batch_size());
        match &mut self.state {
            AnyState::F32(s) => set_typed(s, dims, h, c),
            AnyState::F64(s) => set_typed(s, dims, h, c),
        }
    }
}

fn step_typed<'py, T: Float + Element>(
    py: Python<'py>,
    net: &Network<T>,
    state: &mut StreamState<T>,
    x: &Bound<'py, PyAny>,
    out: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let cfg = net.config();
    let batch = state.batch();
    let x = as_array::<T>(py, "x", x)?;
    let unbatched = x.ndim() == 1;
    if unbatched && batch != 1 {
        return Err(ShapeError::new_err(format!(
            "x: a session of batch_size {batch} needs shape ({batch}, {})",
            cfg.input_size
        )));
    }
    // An unbatched step drops the leading batch dimension of `x` and of the output.
    let skip = usize::from(unbatched);
    let x_dims = [Some(batch), Some(cfg.input_size)];
    let x = Checked::<T>::new("x", x.as_any(), &x_dims[skip..])?;
    let out_shape = [batch, cfg.hidden_size];
    let target = match out {
        Some(buffer) => buffer.clone(),
        None => PyArrayDyn::<T>::zeros(py, &out_shape[skip..], false).into_any(),
    };
    {
        let out_dims = out_shape.map(Some);
        let mut borrowed = writable::<T>("out", &target, &out_dims[skip..])?;
        let slice = borrowed
            .as_slice_mut()
            .map_err(|e| pyo3::exceptions::PyTypeError::new_err(format!("out: {e}")))?;
        net.step(state, x.as_slice()?, slice).map_err(CoreError)?;
    }
    Ok(target)
}

/// `obj` itself when it is already a C-contiguous array of `T`; otherwise converted once by the
/// package's own validation, which refuses non-float input with the same error as `forward`.
fn as_array<'py, T: Element>(
    py: Python<'py>,
    name: &str,
    obj: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyArrayDyn<T>>> {
    if let Ok(array) = obj.cast::<PyArrayDyn<T>>()
        && array.is_c_contiguous()
    {
        return Ok(array.clone());
    }
    let convert = py
        .import("rnnfast._validation")?
        .getattr("as_float_array")?;
    let converted = convert.call1((name, obj, T::get_dtype(py)))?;
    Ok(converted.cast_into::<PyArrayDyn<T>>()?)
}

fn state_arrays<'py, T: Float + Element>(
    py: Python<'py>,
    dims: [usize; 3],
    state: &StreamState<T>,
) -> PyResult<(Bound<'py, PyAny>, Option<Bound<'py, PyAny>>)> {
    let h = PyArray1::from_slice(py, state.h())
        .reshape(dims)?
        .into_any();
    let c = if state.c().is_empty() {
        None
    } else {
        Some(
            PyArray1::from_slice(py, state.c())
                .reshape(dims)?
                .into_any(),
        )
    };
    Ok((h, c))
}

fn state_dims(network: &PyNetwork, batch: usize) -> [usize; 3] {
    let (layers, hidden) = match network.inner() {
        AnyNetwork::F32(net) => (net.config().num_layers, net.config().hidden_size),
        AnyNetwork::F64(net) => (net.config().num_layers, net.config().hidden_size),
    };
    [layers, batch, hidden]
}

fn set_typed<T: Float + Element>(
    state: &mut StreamState<T>,
    dims: [usize; 3],
    h: &Bound<'_, PyAny>,
    c: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    let py = h.py();
    let expected = dims.map(Some);
    let h = as_array::<T>(py, "h", h)?;
    let h = Checked::<T>::new("h", h.as_any(), &expected)?;
    let c = c.map(|c| as_array::<T>(py, "c", c)).transpose()?;
    let c = c
        .as_ref()
        .map(|c| Checked::<T>::new("c", c.as_any(), &expected))
        .transpose()?;
    let c = c.as_ref().map(Checked::as_slice).transpose()?;
    Ok(state.set(h.as_slice()?, c).map_err(CoreError)?)
}
