//! Cell equations, PyTorch's conventions throughout.
//!
//! Every cell computes its gate pre-activations as `x·W_ihᵀ + b_ih` (hoisted over all time steps
//! by the network) plus `h·W_hhᵀ + b_hh` (one product per step, all gates at once), then a fused
//! elementwise epilogue per sequence: [`CellKind::update`]. Gate blocks are stacked in PyTorch's
//! order, each `hidden` rows tall:
//!
//! | cell | gates | epilogue |
//! |---|---|---|
//! | Elman (`rnn_tanh`, `rnn_relu`) | 1 | `h = act(a)` |
//! | LSTM | i, f, g, o | `c = σ(f)·c + σ(i)·tanh(g)`, `h = σ(o)·tanh(c)` |
//! | GRU | r, z, n | `n = tanh(x_n + σ(r)·(h·W_hnᵀ + b_hn))`, `h = n + σ(z)·(h - n)` |
//!
//! GRU applies the reset gate to the hidden projection *after* the product, bias included
//! (PyTorch's form, ONNX's `linear_before_reset = 1`).

pub mod fused;
mod gru;
mod lstm;
mod rnn;

use crate::{Float, Result, RnnError};

/// The recurrent cell a layer runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    /// Elman cell with `tanh`.
    RnnTanh,
    /// Elman cell with `relu`.
    RnnRelu,
    /// Long short-term memory.
    Lstm,
    /// Gated recurrent unit.
    Gru,
}

impl CellKind {
    /// Parses the names the bindings use: `rnn_tanh`, `rnn_relu`, `lstm`, `gru`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "rnn_tanh" => Ok(Self::RnnTanh),
            "rnn_relu" => Ok(Self::RnnRelu),
            "lstm" => Ok(Self::Lstm),
            "gru" => Ok(Self::Gru),
            other => Err(RnnError::param(
                "cell",
                format!("expected 'rnn_tanh', 'rnn_relu', 'lstm' or 'gru', got {other:?}"),
            )),
        }
    }

    /// The name [`CellKind::parse`] accepts.
    pub fn name(self) -> &'static str {
        match self {
            Self::RnnTanh => "rnn_tanh",
            Self::RnnRelu => "rnn_relu",
            Self::Lstm => "lstm",
            Self::Gru => "gru",
        }
    }

    /// Number of gate blocks stacked in the weight matrices.
    pub fn gates(self) -> usize {
        match self {
            Self::RnnTanh | Self::RnnRelu => 1,
            Self::Lstm => 4,
            Self::Gru => 3,
        }
    }

    /// Whether the cell carries a memory cell `c` beside `h`.
    pub fn has_cell_state(self) -> bool {
        self == Self::Lstm
    }

    /// [`CellKind::update`] from the state `h_prev` into `h` (same length, not overlapping):
    /// only GRU's epilogue reads the old state, so only GRU copies it over first.
    #[inline(always)]
    pub fn update_into<T: Float>(
        self,
        xp: &[T],
        rec: &mut [T],
        b_hh: &[T],
        h_prev: &[T],
        h: &mut [T],
        c: &mut [T],
    ) {
        if self == Self::Gru {
            h.copy_from_slice(h_prev);
        }
        self.update(xp, rec, b_hh, h, c);
    }

    /// One time step of one sequence, after the two products.
    ///
    /// - `xp`: `x·W_ihᵀ + b_ih` for this step (`gates·hidden`);
    /// - `rec`: `h·W_hhᵀ` for this step (`gates·hidden`), used as scratch;
    /// - `b_hh`: the hidden bias (`gates·hidden`) or empty;
    /// - `h`, `c`: the state (`hidden` each; `c` empty unless LSTM), updated in place.
    #[inline(always)]
    pub fn update<T: Float>(self, xp: &[T], rec: &mut [T], b_hh: &[T], h: &mut [T], c: &mut [T]) {
        match self {
            Self::RnnTanh => rnn::update(xp, rec, b_hh, h, T::tanh_inplace),
            Self::RnnRelu => rnn::update(xp, rec, b_hh, h, rnn::relu_inplace),
            Self::Lstm => lstm::update(xp, rec, b_hh, h, c),
            Self::Gru => gru::update(xp, rec, b_hh, h),
        }
    }
}

/// The gradients one backward step produces, per sequence.
///
/// `dgx` and `dgh` are the gradients w.r.t. the input-side (`x·W_ihᵀ + b_ih`) and hidden-side
/// (`h·W_hhᵀ + b_hh`) pre-activations; they differ only for GRU, whose reset gate scales the
/// hidden side of the candidate.
pub struct StepGrads<'a, T> {
    pub dgx: &'a mut [T],
    pub dgh: &'a mut [T],
}

impl CellKind {
    /// Width of the extra values [`CellKind::update_recording`] keeps per step: LSTM
    /// `[c_prev, tanh(c)]`, GRU the candidate's hidden projection `h_prev·W_hnᵀ + b_hn`, Elman
    /// nothing.
    pub fn aux_width(self, hidden: usize) -> usize {
        match self {
            Self::RnnTanh | Self::RnnRelu => 0,
            Self::Lstm => 2 * hidden,
            Self::Gru => hidden,
        }
    }

    /// [`CellKind::update`] for a training forward pass: `gates` holds `h·W_hhᵀ` on entry (as
    /// `rec` does) and the activated gates on exit (for Elman, the new `h`); `aux` receives the
    /// values of [`CellKind::aux_width`]. Together they are all the backward pass needs.
    #[inline(always)]
    pub fn update_recording<T: Float>(
        self,
        xp: &[T],
        gates: &mut [T],
        b_hh: &[T],
        h: &mut [T],
        c: &mut [T],
        aux: &mut [T],
    ) {
        let n = h.len();
        match self {
            Self::Lstm => aux[..n].copy_from_slice(c),
            Self::Gru => {
                aux.copy_from_slice(&gates[2 * n..]);
                if !b_hh.is_empty() {
                    add_input_and_bias(aux, &b_hh[2 * n..], &[]);
                }
            }
            Self::RnnTanh | Self::RnnRelu => {}
        }
        self.update(xp, gates, b_hh, h, c);
        if self == Self::Lstm {
            let tanh_c = &mut aux[n..];
            tanh_c.copy_from_slice(c);
            T::tanh_inplace(tanh_c);
        }
    }

    /// Backward through one step of one sequence, from what [`CellKind::update_recording`] kept.
    ///
    /// On entry `dh` (and `dc` for LSTM) hold the loss gradient w.r.t. this step's state; on exit
    /// they hold the part of the gradient w.r.t. the previous state that does not flow through
    /// `W_hh` (the caller adds `dgh·W_hh`). `h_prev` is the state this step started from.
    #[inline(always)]
    pub fn backward<T: Float>(
        self,
        gates: &[T],
        aux: &[T],
        h_prev: &[T],
        dh: &mut [T],
        dc: &mut [T],
        grads: StepGrads<'_, T>,
    ) {
        match self {
            Self::RnnTanh | Self::RnnRelu => {
                rnn::backward(gates, dh, grads.dgx, self == Self::RnnRelu);
                grads.dgh.copy_from_slice(grads.dgx);
            }
            Self::Lstm => {
                lstm::backward(gates, aux, dh, dc, grads.dgx);
                grads.dgh.copy_from_slice(grads.dgx);
            }
            Self::Gru => gru::backward(gates, aux, h_prev, dh, grads.dgx, grads.dgh),
        }
    }
}

/// `pre[j] += xp[j] + b_hh[j]` (the bias may be empty).
#[inline(always)]
fn add_input_and_bias<T: Float>(pre: &mut [T], xp: &[T], b_hh: &[T]) {
    if b_hh.is_empty() {
        pre.iter_mut().zip(xp).for_each(|(p, &x)| *p += x);
    } else {
        pre.iter_mut()
            .zip(xp)
            .zip(b_hh)
            .for_each(|((p, &x), &b)| *p += x + b);
    }
}

#[cfg(test)]
mod tests;
