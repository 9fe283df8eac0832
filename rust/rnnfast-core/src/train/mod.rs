//! Training by backpropagation through time: full or truncated, for every cell the engine runs,
//! stacked and bidirectional, over ragged batches.
//!
//! The model is the recurrent network followed by a linear head, either on each sequence's
//! final state ([`Target::LastStep`], many-to-one) or on every step's output
//! ([`Target::EveryStep`], many-to-many), and a [`Loss`] on the head's outputs. All parameters
//! live in one flat vector ([`Layout`]).
//!
//! How a mini-batch is computed ([`batch`]):
//! - it is cut into shards of [`SHARD_ROWS`] sequences, a split that depends on the batch alone;
//! - each shard runs forward (recording a tape) and backward on one thread ([`bptt`]): per step
//!   one product for all its running sequences, and per layer the weight gradients as products
//!   over all its steps at once;
//! - the shards' gradients are summed in shard order, so the result is the same whatever the
//!   thread count, then divided by the number of samples (sequences for many-to-one, real steps
//!   for many-to-many), and the L2 penalty `½·alpha·‖W‖²/samples` on the weights is added.
//!
//! Truncated BPTT (`bptt_steps = k`) runs each shard in windows of `k` steps: the state carries
//! across windows, the gradient is cut at their borders, and the gradients of all windows are
//! summed into one update per mini-batch.

mod batch;
mod bptt;
mod epoch;
mod layout;
mod loss;
mod optim;

pub use batch::{Dataset, Gradients, SHARD_ROWS, loss_and_gradient};
pub use epoch::{EpochReport, TrainOptions, train_epoch};
pub use layout::{Layout, SetRanges};
pub use loss::Loss;
pub use optim::{Optimizer, OptimizerState};

use crate::network::NetworkConfig;
use crate::{CellKind, Result, RnnError};

/// Where the head reads the network's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// One prediction per sequence, from each direction's final state.
    LastStep,
    /// One prediction per real time step, from that step's output.
    EveryStep,
}

impl Target {
    /// Parses `last_step` or `every_step`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "last_step" => Ok(Self::LastStep),
            "every_step" => Ok(Self::EveryStep),
            other => Err(RnnError::param(
                "target",
                format!("expected 'last_step' or 'every_step', got {other:?}"),
            )),
        }
    }
}

/// A trainable model: a stack of recurrent layers, a linear head and a loss.
///
/// Unlike [`NetworkConfig`] (PyTorch's modules), each layer may have its own width, as in
/// scikit-learn's `hidden_layer_sizes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    pub cell: CellKind,
    pub input_size: usize,
    /// Units per layer and direction, bottom layer first.
    pub hidden_sizes: Vec<usize>,
    pub bidirectional: bool,
    pub bias: bool,
    /// Units of the linear head.
    pub outputs: usize,
    pub target: Target,
    pub loss: Loss,
}

impl ModelSpec {
    /// 2 when bidirectional, else 1.
    pub fn directions(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }

    /// Number of stacked layers.
    pub fn layers(&self) -> usize {
        self.hidden_sizes.len()
    }

    /// Layer `layer` as a one-layer network: its input is the previous layer's output.
    pub fn layer(&self, layer: usize) -> NetworkConfig {
        NetworkConfig {
            cell: self.cell,
            input_size: match layer {
                0 => self.input_size,
                _ => self.directions() * self.hidden_sizes[layer - 1],
            },
            hidden_size: self.hidden_sizes[layer],
            num_layers: 1,
            bidirectional: self.bidirectional,
            bias: self.bias,
        }
    }

    /// Width of the top layer's output, what the head reads.
    pub fn output_width(&self) -> usize {
        self.directions() * self.hidden_sizes.last().copied().unwrap_or(0)
    }

    /// Where layer-direction `set`'s block starts in a state of `n` sequences: the state is the
    /// concatenation of `(n, hidden)` blocks, one per layer and direction (PyTorch's
    /// `(layers·directions, n, hidden)` when all layers have one width).
    pub fn state_offset(&self, set: usize, n: usize) -> usize {
        let dirs = self.directions();
        (0..set).map(|k| n * self.hidden_sizes[k / dirs]).sum()
    }

    /// Length of a state of `n` sequences.
    pub fn state_len(&self, n: usize) -> usize {
        self.state_offset(self.layers() * self.directions(), n)
    }

    /// The flat parameter layout, after checking the configuration.
    pub fn layout(&self) -> Result<Layout> {
        if self.hidden_sizes.is_empty() {
            return Err(RnnError::param("hidden_sizes", "needs at least one layer"));
        }
        for layer in 0..self.layers() {
            self.layer(layer).validate()?;
        }
        if self.outputs == 0 {
            return Err(RnnError::param("outputs", "must be at least 1"));
        }
        Ok(Layout::new(self))
    }
}

/// Options of a gradient computation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradientOptions {
    /// L2 penalty on the weights (not the biases), scaled like scikit-learn's MLP.
    pub alpha: f64,
    /// Truncation length of BPTT; `None` backpropagates through whole sequences.
    pub bptt_steps: Option<usize>,
}

impl GradientOptions {
    fn validate(&self, spec: &ModelSpec) -> Result<()> {
        if !(self.alpha >= 0.0 && self.alpha.is_finite()) {
            return Err(RnnError::param("alpha", "must be a finite number >= 0"));
        }
        match self.bptt_steps {
            Some(0) => Err(RnnError::param("bptt_steps", "must be at least 1")),
            Some(_) if spec.bidirectional => Err(RnnError::param(
                "bptt_steps",
                "truncated BPTT needs a unidirectional network: the reverse direction reads \
                 the whole sequence",
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
