//! One mini-batch: shards on threads, a deterministic reduction, the mean and the L2 penalty.

use std::cmp::Reverse;

use rayon::prelude::*;

use super::bptt::{self, Shard, ShardGrads};
use super::{GradientOptions, Layout, ModelSpec, Target};
use crate::error::expect_len;
use crate::float::check_finite;
use crate::network::{InitialState, Sequences};
use crate::{Float, Result, RnnError, par};

/// Sequences per shard: the unit of parallel work and of the fixed reduction order. Small
/// enough that a batch of 32 keeps two threads busy, large enough for efficient per-step
/// products.
pub const SHARD_ROWS: usize = 16;

/// Training data, batch first, padded to `steps`.
#[derive(Clone, Copy, Debug)]
pub struct Dataset<'a, T> {
    /// `(n, steps, input_size)`; padding past each sequence's length is never read.
    pub x: &'a [T],
    /// `(n, outputs)` for [`Target::LastStep`], `(n, steps, outputs)` for
    /// [`Target::EveryStep`] (padding never read).
    pub targets: &'a [T],
    /// Each sequence's length in `1..=steps`; `None` means all are `steps` long.
    pub lengths: Option<&'a [usize]>,
    pub n: usize,
    pub steps: usize,
}

/// The loss of a mini-batch and its gradients, all divided by the number of samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Gradients<T> {
    /// Mean loss over the samples, plus the L2 penalty.
    pub loss: f64,
    /// Sequences (many-to-one) or real steps (many-to-many) the mean is over.
    pub samples: usize,
    /// Flat, in the [`Layout`].
    pub params: Vec<T>,
    /// `(n, steps, input_size)`; empty unless asked for.
    pub input: Vec<T>,
    /// `(layers·directions, n, hidden)`; empty unless asked for.
    pub h0: Vec<T>,
    /// Same shape for LSTM; empty otherwise or unless asked for.
    pub c0: Vec<T>,
}

/// The loss of the whole of `data` as one batch, and its gradients w.r.t. the parameters, the
/// inputs and the initial state, on at most `threads` threads (the result does not depend on
/// `threads`).
pub fn loss_and_gradient<T: Float>(
    spec: &ModelSpec,
    params: &[T],
    data: &Dataset<'_, T>,
    init: &InitialState<'_, T>,
    options: &GradientOptions,
    threads: usize,
) -> Result<Gradients<T>> {
    let problem = Problem::new(spec, params, data, init, *options)?;
    let rows: Vec<usize> = (0..data.n).collect();
    problem.gradient(params, &rows, init, true, threads)
}

/// A validated training problem: what stays fixed while the parameters change.
pub(super) struct Problem<'a, T> {
    spec: &'a ModelSpec,
    pub(super) layout: Layout,
    data: &'a Dataset<'a, T>,
    lengths: Vec<usize>,
    options: GradientOptions,
}

impl<'a, T: Float> Problem<'a, T> {
    /// Checks the configuration, the parameters, the data and the initial state.
    pub(super) fn new(
        spec: &'a ModelSpec,
        params: &[T],
        data: &'a Dataset<'a, T>,
        init: &InitialState<'_, T>,
        options: GradientOptions,
    ) -> Result<Self> {
        let layout = spec.layout()?;
        options.validate(spec)?;
        expect_len("parameters", layout.len(), params.len())?;
        check_finite("parameters", params)?;
        let seqs = Sequences {
            data: data.x,
            batch: data.n,
            steps: data.steps,
            lengths: data.lengths,
        };
        // The initial state is checked here: its layout depends on each layer's width.
        let lengths = seqs.checked_lengths(spec.input_size)?;
        let state_len = spec.state_len(data.n);
        for (name, state) in [
            ("initial hidden state", init.h0),
            ("initial cell state", init.c0),
        ] {
            if let Some(state) = state {
                expect_len(name, state_len, state.len())?;
                check_finite(name, state)?;
            }
        }
        if init.c0.is_some() && !spec.cell.has_cell_state() {
            return Err(RnnError::param(
                "state",
                format!("a {} network has no cell state", spec.cell.name()),
            ));
        }
        let o = spec.outputs;
        match spec.target {
            Target::LastStep => {
                expect_len(
                    "targets (one row per sequence)",
                    data.n * o,
                    data.targets.len(),
                )?;
                check_finite("targets", data.targets)?;
            }
            Target::EveryStep => {
                let per_sequence = data.steps * o;
                expect_len(
                    "targets (one row per step)",
                    data.n * per_sequence,
                    data.targets.len(),
                )?;
                for (b, &len) in lengths.iter().enumerate() {
                    let real = &data.targets[b * per_sequence..][..len * o];
                    check_finite(&format!("targets of sequence {b}"), real)?;
                }
            }
        }
        Ok(Self {
            spec,
            layout,
            data,
            lengths,
            options,
        })
    }

    /// The mean loss and gradients over the sequences `rows` (a mini-batch, in any order).
    pub(super) fn gradient(
        &self,
        params: &[T],
        rows: &[usize],
        init: &InitialState<'_, T>,
        extras: bool,
        threads: usize,
    ) -> Result<Gradients<T>> {
        let chunks: Vec<&[usize]> = rows.chunks(SHARD_ROWS).collect();
        let run = |chunk: &&[usize]| self.shard(params, chunk, init, extras);
        let parts: Vec<(Vec<usize>, ShardGrads<T>)> = if threads > 1 && chunks.len() > 1 {
            par::install(threads, || chunks.par_iter().map(run).collect())?
        } else {
            chunks.iter().map(run).collect()
        };
        Ok(self.reduce(params, parts, extras))
    }

    /// Gathers a shard's sequences (longest first) into contiguous buffers and runs it; returns
    /// the sorted row indices with the shard's sums.
    fn shard(
        &self,
        params: &[T],
        chunk: &[usize],
        init: &InitialState<'_, T>,
        extras: bool,
    ) -> (Vec<usize>, ShardGrads<T>) {
        let mut order = chunk.to_vec();
        order.sort_by_key(|&b| Reverse(self.lengths[b]));
        let lens: Vec<usize> = order.iter().map(|&b| self.lengths[b]).collect();
        let steps = lens[0];
        let features = self.spec.input_size;
        let x = self.gather(self.data.x, &order, features, steps);
        let targets = match self.spec.target {
            Target::LastStep => order
                .iter()
                .flat_map(|&b| &self.data.targets[b * self.spec.outputs..][..self.spec.outputs])
                .copied()
                .collect(),
            Target::EveryStep => self.gather(self.data.targets, &order, self.spec.outputs, steps),
        };
        let h0 = self.gather_state(init.h0, &order);
        let c0 = self.gather_state(init.c0, &order);
        let shard = Shard {
            x: &x,
            targets: &targets,
            lengths: &lens,
            steps,
            h0: &h0,
            c0: &c0,
        };
        let window = self.options.bptt_steps.unwrap_or(steps);
        let grads = bptt::run(self.spec, &self.layout, params, &shard, window, extras);
        (order, grads)
    }

    /// Rows `order` of a `(n, data.steps, width)` array, real steps only, as
    /// `(order.len(), steps, width)`.
    fn gather(&self, source: &[T], order: &[usize], width: usize, steps: usize) -> Vec<T> {
        let mut out = vec![T::default(); order.len() * steps * width];
        for (i, &b) in order.iter().enumerate() {
            let len = self.lengths[b] * width;
            let from = b * self.data.steps * width;
            out[i * steps * width..][..len].copy_from_slice(&source[from..from + len]);
        }
        out
    }

    /// Columns `order` of a state of the whole data set, or empty when absent.
    fn gather_state(&self, state: Option<&[T]>, order: &[usize]) -> Vec<T> {
        let Some(state) = state else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(self.spec.state_len(order.len()));
        for (at, h) in self.state_blocks(self.data.n) {
            out.extend(order.iter().flat_map(|&b| &state[at + b * h..][..h]));
        }
        out
    }

    /// Start and width of each layer-direction's block in a state of `n` sequences.
    fn state_blocks(&self, n: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let dirs = self.spec.directions();
        (0..self.spec.layers() * dirs).map(move |set| {
            (
                self.spec.state_offset(set, n),
                self.spec.hidden_sizes[set / dirs],
            )
        })
    }

    /// Sums the shards in order, divides by the number of samples, adds the L2 penalty.
    fn reduce(
        &self,
        params: &[T],
        parts: Vec<(Vec<usize>, ShardGrads<T>)>,
        extras: bool,
    ) -> Gradients<T> {
        let samples: usize = parts
            .iter()
            .map(|(order, _)| match self.spec.target {
                Target::LastStep => order.len(),
                Target::EveryStep => order.iter().map(|&b| self.lengths[b]).sum(),
            })
            .sum();
        let state_len = if extras {
            self.spec.state_len(self.data.n)
        } else {
            0
        };
        let mut total = Gradients {
            loss: 0.0,
            samples,
            params: vec![T::default(); params.len()],
            input: vec![T::default(); if extras { self.data.x.len() } else { 0 }],
            h0: vec![T::default(); state_len],
            c0: if self.spec.cell.has_cell_state() {
                vec![T::default(); state_len]
            } else {
                Vec::new()
            },
        };
        let features = self.spec.input_size;
        for (order, part) in &parts {
            total.loss += part.loss;
            add_into(&mut total.params, &part.params);
            if !extras {
                continue;
            }
            let steps = self.lengths[order[0]];
            for (i, &b) in order.iter().enumerate() {
                let len = self.lengths[b] * features;
                let src = &part.input[i * steps * features..][..len];
                total.input[b * self.data.steps * features..][..len].copy_from_slice(src);
            }
            let blocks = self
                .state_blocks(order.len())
                .zip(self.state_blocks(self.data.n));
            for ((from, h), (to, _)) in blocks {
                for (whole, shard) in [(&mut total.h0, &part.h0), (&mut total.c0, &part.c0)] {
                    if shard.is_empty() {
                        continue;
                    }
                    for (i, &b) in order.iter().enumerate() {
                        let src = &shard[from + i * h..][..h];
                        whole[to + b * h..][..h].copy_from_slice(src);
                    }
                }
            }
        }
        let scale = 1.0 / samples as f64;
        total.loss *= scale;
        let scale_t = T::from_f64(scale);
        for g in [
            &mut total.params,
            &mut total.input,
            &mut total.h0,
            &mut total.c0,
        ] {
            g.iter_mut().for_each(|v| *v *= scale_t);
        }
        let alpha = self.options.alpha;
        if alpha > 0.0 {
            let coef = T::from_f64(alpha * scale);
            for range in self.layout.weight_ranges() {
                let w = &params[range.clone()];
                let squares: f64 = w.iter().map(|v| v.to_f64() * v.to_f64()).sum();
                total.loss += 0.5 * alpha * squares * scale;
                let g = &mut total.params[range];
                g.iter_mut().zip(w).for_each(|(g, &w)| *g += coef * w);
            }
        }
        total
    }
}

fn add_into<T: Float>(dst: &mut [T], src: &[T]) {
    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
}
