//! `Trainer`: a model specification and training options; its methods run epochs and gradient
//! computations with the GIL released, on parameters and optimizer state owned by Python.

use numpy::{Element, PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use rnnfast_core::network::InitialState;
use rnnfast_core::train::{
    Dataset, GradientOptions, Layout, Loss, ModelSpec, Optimizer, OptimizerState, Target,
    TrainOptions, loss_and_gradient, train_epoch,
};
use rnnfast_core::{CellKind, Float, par};

use crate::arrays::{Checked, optional, writable};
use crate::errors::{CoreError, ParameterError};
use crate::network::{to_indices, to_lengths};

/// A trainable model (recurrent layers, linear head, loss) and how to train it.
#[pyclass(frozen, name = "Trainer", module = "rnnfast._rnnfast")]
pub struct PyTrainer {
    spec: ModelSpec,
    layout: Layout,
    options: TrainOptions,
}

#[pymethods]
impl PyTrainer {
    /// `target` is "last_step" or "every_step"; `loss` "squared_error",
    /// "softmax_cross_entropy" or "sigmoid_cross_entropy"; `solver` "sgd", "adam" or "adamw"
    /// (for "adamw", `alpha` is the decoupled weight decay instead of an L2 penalty).
    #[new]
    #[pyo3(signature = (
        cell, input_size, hidden_sizes, bidirectional, bias, outputs, target, loss, *,
        solver="adam", batch_size=32, alpha=0.0, momentum=0.9, nesterov=true, beta_1=0.9,
        beta_2=0.999, epsilon=1e-8, clip_norm=None, bptt_steps=None
    ))]
    #[allow(clippy::too_many_arguments)] // mirrors the Python estimator's parameters
    fn new(
        cell: &str,
        input_size: usize,
        hidden_sizes: Vec<usize>,
        bidirectional: bool,
        bias: bool,
        outputs: usize,
        target: &str,
        loss: &str,
        solver: &str,
        batch_size: usize,
        alpha: f64,
        momentum: f64,
        nesterov: bool,
        beta_1: f64,
        beta_2: f64,
        epsilon: f64,
        clip_norm: Option<f64>,
        bptt_steps: Option<usize>,
    ) -> PyResult<Self> {
        let spec = ModelSpec {
            cell: CellKind::parse(cell).map_err(CoreError)?,
            input_size,
            hidden_sizes,
            bidirectional,
            bias,
            outputs,
            target: Target::parse(target).map_err(CoreError)?,
            loss: Loss::parse(loss).map_err(CoreError)?,
        };
        let layout = spec.layout().map_err(CoreError)?;
        let optimizer = match solver {
            "sgd" => Optimizer::Sgd { momentum, nesterov },
            "adam" | "adamw" => Optimizer::Adam {
                beta1: beta_1,
                beta2: beta_2,
                epsilon,
                weight_decay: if solver == "adamw" { alpha } else { 0.0 },
            },
            other => {
                return Err(ParameterError::new_err(format!(
                    "solver: expected 'sgd', 'adam' or 'adamw', got {other:?}"
                )));
            }
        };
        optimizer.validate().map_err(CoreError)?;
        let decoupled = solver == "adamw";
        let options = TrainOptions {
            batch_size,
            // Replaced at each `epoch` call: the schedules (invscaling, adaptive) live in Python.
            learning_rate: 1e-3,
            clip_norm,
            optimizer,
            gradient: GradientOptions {
                alpha: if decoupled { 0.0 } else { alpha },
                bptt_steps,
            },
        };
        Ok(Self {
            spec,
            layout,
            options,
        })
    }

    /// Length of the flat parameter vector.
    #[getter]
    fn n_params(&self) -> usize {
        self.layout.len()
    }

    /// Where each tensor lives in the flat vector: `(layer, name, start, shape)` with PyTorch's
    /// names within each layer (`weight_ih_l0`, `bias_hh_l0_reverse`, ...) and layer -1 for the
    /// head (`weight`, `bias`).
    fn layout(&self) -> Vec<(isize, String, usize, Vec<usize>)> {
        let dirs = self.spec.directions();
        let mut entries = Vec::new();
        for (set, ranges) in self.layout.sets.iter().enumerate() {
            let layer = set / dirs;
            let cfg = self.spec.layer(layer);
            let suffix = if set % dirs == 1 { "_reverse" } else { "" };
            let (rows, cols) = (cfg.gate_rows(), cfg.input_size);
            let tensors = [
                ("weight_ih", &ranges.w_ih, vec![rows, cols]),
                ("weight_hh", &ranges.w_hh, vec![rows, cfg.hidden_size]),
                ("bias_ih", &ranges.b_ih, vec![rows]),
                ("bias_hh", &ranges.b_hh, vec![rows]),
            ];
            for (name, range, shape) in tensors {
                if !range.is_empty() {
                    let layer_index = isize::try_from(layer).unwrap_or(isize::MAX);
                    entries.push((
                        layer_index,
                        format!("{name}_l0{suffix}"),
                        range.start,
                        shape,
                    ));
                }
            }
        }
        let width = self.spec.output_width();
        let head = &self.layout;
        entries.push((
            -1,
            "weight".into(),
            head.head_weight.start,
            vec![self.spec.outputs, width],
        ));
        entries.push((
            -1,
            "bias".into(),
            head.head_bias.start,
            vec![self.spec.outputs],
        ));
        entries
    }

    /// One epoch over the sequences `order` (int64), updating `params`, `first` and `second`
    /// in place; returns `(mean loss, optimizer step count)`.
    ///
    /// `x` is `(n, steps, input_size)`, `lengths` int64 `(n,)` or None, `targets` `(n, outputs)`
    /// or `(n, steps, outputs)`, all C-contiguous in the parameters' dtype.
    #[pyo3(signature = (params, first, second, step, x, lengths, targets, order, learning_rate))]
    #[allow(clippy::too_many_arguments)] // the arrays of one training step
    fn epoch(
        &self,
        py: Python<'_>,
        params: &Bound<'_, PyAny>,
        first: &Bound<'_, PyAny>,
        second: &Bound<'_, PyAny>,
        step: u64,
        x: &Bound<'_, PyAny>,
        lengths: Option<&Bound<'_, PyAny>>,
        targets: &Bound<'_, PyAny>,
        order: &Bound<'_, PyAny>,
        learning_rate: f64,
    ) -> PyResult<(f64, u64)> {
        let state = EpochState {
            params,
            first,
            second,
            step,
        };
        let data = DataArgs {
            x,
            lengths,
            targets,
        };
        if params.cast::<PyArray1<f64>>().is_ok() {
            self.epoch_typed::<f64>(py, state, data, order, learning_rate)
        } else {
            self.epoch_typed::<f32>(py, state, data, order, learning_rate)
        }
    }

    /// The loss over all of `x` as one batch and its gradients: returns `(loss, d_params,
    /// d_input, d_h0, d_c0)` (`d_c0` None unless LSTM), in the parameters' dtype.
    #[pyo3(signature = (params, x, targets, lengths=None, h0=None, c0=None))]
    #[allow(clippy::too_many_arguments)] // the arrays of one gradient computation
    fn loss_and_gradient<'py>(
        &self,
        py: Python<'py>,
        params: &Bound<'py, PyAny>,
        x: &Bound<'py, PyAny>,
        targets: &Bound<'py, PyAny>,
        lengths: Option<&Bound<'py, PyAny>>,
        h0: Option<&Bound<'py, PyAny>>,
        c0: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let data = DataArgs {
            x,
            lengths,
            targets,
        };
        if params.cast::<PyArray1<f64>>().is_ok() {
            self.gradient_typed::<f64>(py, params, data, h0, c0)
        } else {
            self.gradient_typed::<f32>(py, params, data, h0, c0)
        }
    }
}

struct EpochState<'a, 'py> {
    params: &'a Bound<'py, PyAny>,
    first: &'a Bound<'py, PyAny>,
    second: &'a Bound<'py, PyAny>,
    step: u64,
}

struct DataArgs<'a, 'py> {
    x: &'a Bound<'py, PyAny>,
    lengths: Option<&'a Bound<'py, PyAny>>,
    targets: &'a Bound<'py, PyAny>,
}

/// Borrowed data arrays, checked for dtype and layout (the core checks the sizes).
struct Borrowed<'py, T: Element> {
    x: Checked<'py, T>,
    targets: Checked<'py, T>,
    lengths: Option<Vec<usize>>,
}

impl<'py, T: Float + Element> Borrowed<'py, T> {
    fn new(spec: &ModelSpec, args: &DataArgs<'_, 'py>) -> PyResult<Self> {
        let x = Checked::<T>::new("x", args.x, &[None, None, Some(spec.input_size)])?;
        let target_shape: &[Option<usize>] = match spec.target {
            Target::LastStep => &[Some(x.shape()[0]), Some(spec.outputs)],
            Target::EveryStep => &[Some(x.shape()[0]), Some(x.shape()[1]), Some(spec.outputs)],
        };
        let targets = Checked::<T>::new("targets", args.targets, target_shape)?;
        let lengths = optional::<i64>("lengths", args.lengths, &[Some(x.shape()[0])])?
            .map(|l| to_lengths(l.as_slice()?))
            .transpose()?;
        Ok(Self {
            x,
            targets,
            lengths,
        })
    }

    fn dataset(&self) -> PyResult<Dataset<'_, T>> {
        Ok(Dataset {
            x: self.x.as_slice()?,
            targets: self.targets.as_slice()?,
            lengths: self.lengths.as_deref(),
            n: self.x.shape()[0],
            steps: self.x.shape()[1],
        })
    }
}

impl PyTrainer {
    fn epoch_typed<T: Float + Element>(
        &self,
        py: Python<'_>,
        state: EpochState<'_, '_>,
        data: DataArgs<'_, '_>,
        order: &Bound<'_, PyAny>,
        learning_rate: f64,
    ) -> PyResult<(f64, u64)> {
        let n = self.layout.len();
        let mut params = writable::<T>("params", state.params, &[Some(n)])?;
        let mut first = writable::<T>("first", state.first, &[Some(n)])?;
        let mut second = writable::<T>("second", state.second, &[Some(n)])?;
        let borrowed = Borrowed::<T>::new(&self.spec, &data)?;
        let dataset = borrowed.dataset()?;
        let order = Checked::<i64>::new("order", order, &[None])?;
        let order = to_indices("order", "a sequence index", order.as_slice()?)?;
        let options = TrainOptions {
            learning_rate,
            ..self.options
        };
        let params = params.as_slice_mut()?;
        let mut opt_state = OptimizerState {
            step: state.step,
            first: first.as_slice_mut()?,
            second: second.as_slice_mut()?,
        };
        let spec = &self.spec;
        let report = py
            .detach(|| {
                let threads = par::num_threads();
                train_epoch(
                    spec,
                    params,
                    &mut opt_state,
                    &dataset,
                    &order,
                    &options,
                    threads,
                )
            })
            .map_err(CoreError)?;
        Ok((report.loss, opt_state.step))
    }

    fn gradient_typed<'py, T: Float + Element>(
        &self,
        py: Python<'py>,
        params: &Bound<'py, PyAny>,
        data: DataArgs<'_, 'py>,
        h0: Option<&Bound<'py, PyAny>>,
        c0: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let params = Checked::<T>::new("params", params, &[Some(self.layout.len())])?;
        let borrowed = Borrowed::<T>::new(&self.spec, &data)?;
        let dataset = borrowed.dataset()?;
        let state_len = [Some(self.spec.state_len(dataset.n))];
        let h0 = optional::<T>("h0", h0, &state_len)?;
        let c0 = optional::<T>("c0", c0, &state_len)?;
        let init = InitialState {
            h0: h0.as_ref().map(Checked::as_slice).transpose()?,
            c0: c0.as_ref().map(Checked::as_slice).transpose()?,
        };
        let (spec, options, flat) = (&self.spec, &self.options.gradient, params.as_slice()?);
        let g = py
            .detach(|| loss_and_gradient(spec, flat, &dataset, &init, options, par::num_threads()))
            .map_err(CoreError)?;
        let shape = borrowed.x.shape().to_vec();
        let d_input = PyArray1::from_vec(py, g.input).reshape(shape)?;
        let d_c0 = if self.spec.cell.has_cell_state() {
            PyArray1::from_vec(py, g.c0).into_any()
        } else {
            py.None().into_bound(py)
        };
        let items = [
            g.loss.into_pyobject(py)?.into_any(),
            PyArray1::from_vec(py, g.params).into_any(),
            d_input.into_any(),
            PyArray1::from_vec(py, g.h0).into_any(),
            d_c0,
        ];
        PyTuple::new(py, items)
    }
}
