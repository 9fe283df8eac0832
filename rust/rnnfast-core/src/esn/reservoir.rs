//! The leaky state update `x <- (1 - a) x + a f(W x + W_in u + b)` over batches of sequences.
//!
//! Sequences are sorted by length (longest first) and cut into groups whose number depends on
//! the batch and the reservoir size only, never on the thread count, so results are identical
//! for any number of threads. A group keeps its states as one `(units × group)` block: the
//! sparse product then reads each row's indices once per step for all its running sequences, and
//! because lengths decrease, the running sequences are always a prefix of the block's columns.
//! Input projections are hoisted out of the step loop as one GEMM per group and time chunk,
//! laid out like the state block, and sinks receive the whole block after each step. A single
//! sequence runs through a dense packed copy of `W` when the reservoir is small
//! (`esn::recurrence`), or split across two threads when it is large (`reservoir::split`).
//! Every buffer is sized once per group: the step loop does not allocate.

use std::ops::Range;

use rayon::prelude::*;

use super::recurrence::Recurrence;
use super::widest::widest;
use super::{Activation, Csr};
use crate::aligned::AlignedVec;
use crate::error::expect_len;
use crate::float::check_finite;
use crate::linalg::{add_row_bias, matmul_nt};
use crate::network::Sequences;
use crate::par::{self, PARALLEL_MIN_FLOPS};
use crate::rng::SplitMix64;
use crate::{Float, Result, RnnError};
use sink::Collect;
pub use sink::Readout;
pub(crate) use sink::{StateSink, scatter_columns};

/// At most this many groups run side by side (more would not add parallelism on any machine
/// we target, and each holds its own scratch). Sixteen leave a large batch groups of 32
/// sequences, the width at which the sparse block product costs least per sequence (two
/// registers per non-zero): 500 sequences of 100 steps through 300 units on two threads ran in
/// 26 ms with groups of 32 against 30 ms with groups of 16 (medians of five, alternating).
pub(crate) const MAX_GROUPS: usize = 16;

/// Columns of one AVX-512 register of `f32`: the unit of a group's size.
const GROUP_LANES: usize = 16;

/// About this many elements of input projection are precomputed per group and chunk of time.
const PROJECTION_BUDGET: usize = 1 << 18;

/// A validated reservoir borrowing its weights.
#[derive(Clone, Copy, Debug)]
pub struct Reservoir<'a, T> {
    w: &'a Csr<T>,
    w_in: &'a [T],
    bias: &'a [T],
    features: usize,
    leak: T,
    activation: Activation,
    noise: T,
    seed: u64,
    layers: usize,
}

/// What [`Reservoir::run`] returns.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOutput<T> {
    /// `(batch, steps, width)`: the states (`width = units`) or the readout's outputs; padding
    /// steps of short sequences are zero.
    pub values: Vec<T>,
    /// `(batch, units)`: each sequence's state after its own last step.
    pub last: Vec<T>,
}

impl<'a, T: Float> Reservoir<'a, T> {
    /// Checks the shapes: `w` square `(units, units)`, `w_in` `(units, features)`, `bias`
    /// `(units,)`, `leak` in `(0, 1]`.
    pub fn new(
        w: &'a Csr<T>,
        w_in: &'a [T],
        features: usize,
        bias: &'a [T],
        leak: f64,
        activation: Activation,
    ) -> Result<Self> {
        let units = w.rows();
        if units == 0 || w.cols() != units {
            return Err(RnnError::shape(
                "reservoir matrix",
                "a non-empty square matrix",
                format!("{}x{}", w.rows(), w.cols()),
            ));
        }
        if features == 0 {
            return Err(RnnError::param("features", "must be at least 1"));
        }
        expect_len(
            "input weights (units x features)",
            units * features,
            w_in.len(),
        )?;
        expect_len("bias (one per unit)", units, bias.len())?;
        check_finite("input weights", w_in)?;
        check_finite("bias", bias)?;
        if !(leak > 0.0 && leak <= 1.0) {
            return Err(RnnError::param(
                "leak_rate",
                format!("must be in (0, 1], got {leak}"),
            ));
        }
        Ok(Self {
            w,
            w_in,
            bias,
            features,
            leak: T::from_f64(leak),
            activation,
            noise: T::from_f64(0.0),
            seed: 0,
            layers: 1,
        })
    }

    /// Splits the units into `layers` equal, consecutive layers updated in order within each
    /// step (deep ESN): a layer's rows of `W` may read earlier layers, whose states are then
    /// already those of the current step (the inter-layer input weights), and must not read
    /// later layers. Only the first layer's rows of `W_in` should be non-zero.
    pub fn with_layers(mut self, layers: usize) -> Result<Self> {
        if layers == 0 || !self.units().is_multiple_of(layers) {
            return Err(RnnError::param(
                "n_layers",
                format!("must divide the {} units into equal layers", self.units()),
            ));
        }
        self.layers = layers;
        Ok(self)
    }

    /// One time step on `(units × stride)` blocks, layer by layer. `drive(rows, pre)` adds the
    /// input and bias of units `rows` to their running columns of `pre` (`rows.len() ×
    /// stride`).
    #[inline(always)]
    fn step(
        &self,
        recurrence: &Recurrence<T>,
        x: &mut [T],
        pre: &mut [T],
        (stride, active): (usize, usize),
        streams: &mut [SplitMix64],
        mut drive: impl FnMut(Range<usize>, &mut [T]),
    ) {
        let size = self.units() / self.layers;
        for layer in 0..self.layers {
            let rows = layer * size..(layer + 1) * size;
            let span = rows.start * stride..rows.end * stride;
            recurrence.multiply(
                self.w,
                (layer, rows.clone()),
                x,
                &mut pre[span.clone()],
                (stride, active),
            );
            drive(rows, &mut pre[span.clone()]);
            self.add_noise(&mut pre[span.clone()], stride, streams);
            // Inactive columns hold stale but finite values; they are never read back.
            self.activation.apply(&mut pre[span.clone()]);
            self.leaky_update(&mut x[span.clone()], &pre[span], stride, active);
        }
    }

    /// Adds uniform noise in `[-scale, scale]` to every pre-activation. Each sequence draws
    /// from its own stream, seeded by `seed` and its batch index (the closed loop: by the
    /// `stream` it is given), so the draws do not depend on grouping or threads and repeat
    /// identically in every call.
    pub fn with_noise(mut self, scale: f64, seed: u64) -> Result<Self> {
        if !(scale.is_finite() && scale >= 0.0) {
            return Err(RnnError::param(
                "state_noise",
                format!("must be finite and >= 0, got {scale}"),
            ));
        }
        self.noise = T::from_f64(scale);
        self.seed = seed;
        Ok(self)
    }

    /// `pre[:, :active] += noise`, one stream per column.
    #[inline(always)]
    fn add_noise(&self, pre: &mut [T], stride: usize, streams: &mut [SplitMix64]) {
        if self.noise == T::from_f64(0.0) {
            return;
        }
        for row in pre.chunks_exact_mut(stride) {
            for (v, s) in row.iter_mut().zip(streams.iter_mut()) {
                *v += self.noise * T::from_f64(s.symmetric_unit());
            }
        }
    }

    /// Number of reservoir units.
    pub fn units(&self) -> usize {
        self.w.rows()
    }

    /// Number of input features.
    pub fn features(&self) -> usize {
        self.features
    }

    /// Runs every sequence from `h0` (`(batch, units)`, zeros when absent) and returns the
    /// states, or the outputs of `readout` when given, at every step.
    pub fn run(
        &self,
        seqs: &Sequences<T>,
        h0: Option<&[T]>,
        readout: Option<&Readout<T>>,
        threads: usize,
    ) -> Result<RunOutput<T>> {
        let width = match readout {
            Some(r) => {
                r.check(self.units())?;
                r.outputs()
            }
            None => self.units(),
        };
        let mut values = vec![T::from_f64(0.0); seqs.batch * seqs.steps * width];
        let mut slots: Vec<Option<&mut [T]>> = values
            .chunks_mut((seqs.steps * width).max(1))
            .map(Some)
            .collect();
        let (sinks, last) = self.drive(seqs, h0, MAX_GROUPS, threads, |members| {
            let rows = members
                .iter()
                .map(|&b| slots.get_mut(b).and_then(Option::take).unwrap_or_default())
                .collect();
            Collect::new(rows, width, readout)
        })?;
        drop(sinks);
        Ok(RunOutput { values, last })
    }

    /// Closed loop from state `h0` (`(units,)`, the state after the last known input): feeds
    /// `readout(x)`, the prediction of the next input, back as that input, emits the readout of
    /// the new state, and repeats `n_steps` times. Returns `(n_steps, outputs)`.
    pub fn forecast(&self, h0: &[T], readout: &Readout<T>, n_steps: usize) -> Result<Vec<T>> {
        let n = self.units();
        readout.check(n)?;
        expect_len("initial state", n, h0.len())?;
        let mut y0 = vec![T::from_f64(0.0); readout.outputs()];
        readout.apply(h0, &mut y0);
        let (out, _) = self.closed_loop(h0, &y0, None, readout, n_steps, 0)?;
        Ok(out)
    }

    /// One sequence with the readout inside the loop (output feedback). Before each step the
    /// input vector is `[u[t], y, ..., y]`: the `exogenous` row `u[t]` (`(n_steps, e)`, or
    /// nothing) followed by the previous output `y` (starting at `y0`) repeated to fill the
    /// remaining `features - e` inputs (once for a forecast or for feedback, twice for a
    /// forecast with feedback). Returns the outputs `(n_steps, outputs)` and the last state.
    pub fn closed_loop(
        &self,
        h0: &[T],
        y0: &[T],
        exogenous: Option<(&[T], usize)>,
        readout: &Readout<T>,
        n_steps: usize,
        stream: usize,
    ) -> Result<(Vec<T>, Vec<T>)> {
        let (n, o) = (self.units(), readout.outputs());
        readout.check(n)?;
        expect_len("initial state", n, h0.len())?;
        expect_len("initial output", o, y0.len())?;
        check_finite("initial state", h0)?;
        check_finite("initial output", y0)?;
        let (ext, e) = exogenous.unwrap_or((&[], 0));
        expect_len("exogenous input (steps x features)", n_steps * e, ext.len())?;
        check_finite("exogenous input", ext)?;
        let fed = self.features.saturating_sub(e);
        if o == 0 || e > self.features || fed % o != 0 || fed == 0 {
            return Err(RnnError::param(
                "feedback",
                format!(
                    "{} inputs cannot hold {e} exogenous features plus copies of {o} outputs",
                    self.features
                ),
            ));
        }
        let zero = T::from_f64(0.0);
        let (mut x, mut y) = (h0.to_vec(), y0.to_vec());
        let (mut pre, mut input) = (vec![zero; n], vec![zero; self.features]);
        let mut out = Vec::with_capacity(n_steps * o);
        let mut streams = [noise_stream(self.seed, stream)];
        let recurrence = Recurrence::choose(self.w, self.layers, 1, n_steps);
        for t in 0..n_steps {
            input[..e].copy_from_slice(&ext[t * e..(t + 1) * e]);
            for chunk in input[e..].chunks_exact_mut(o) {
                chunk.copy_from_slice(&y);
            }
            let f = self.features;
            self.step(
                &recurrence,
                &mut x,
                &mut pre,
                (1, 1),
                &mut streams,
                |rows, p| {
                    for (i, v) in rows.zip(p) {
                        let row = &self.w_in[i * f..(i + 1) * f];
                        *v += row
                            .iter()
                            .zip(&input)
                            .fold(self.bias[i], |acc, (&w, &u)| acc + w * u);
                    }
                },
            );
            readout.apply(&x, &mut y);
            out.extend_from_slice(&y);
        }
        Ok((out, x))
    }

    /// `x[:, :active] <- (1 - a) x + a pre` on `(units × stride)` blocks.
    #[inline(always)]
    fn leaky_update(&self, x: &mut [T], pre: &[T], stride: usize, active: usize) {
        let keep = T::from_f64(1.0) - self.leak;
        if stride == 1 {
            // One sequence: contiguous, so the loop vectorises.
            for (v, &p) in x.iter_mut().zip(pre) {
                *v = keep * *v + self.leak * p;
            }
            return;
        }
        for (xr, pr) in x.chunks_exact_mut(stride).zip(pre.chunks_exact(stride)) {
            for (v, &p) in xr[..active].iter_mut().zip(&pr[..active]) {
                *v = keep * *v + self.leak * p;
            }
        }
    }

    /// Validates the batch, runs every group into the sink `make` builds for it (given the
    /// group's batch indices) and returns the sinks, in group order, with the last states.
    pub(crate) fn drive<S: StateSink<T>>(
        &self,
        seqs: &Sequences<T>,
        h0: Option<&[T]>,
        max_groups: usize,
        threads: usize,
        make: impl FnMut(&[usize]) -> S,
    ) -> Result<(Vec<S>, Vec<T>)> {
        let lengths = seqs.checked_lengths(self.features)?;
        let n = self.units();
        if let Some(h0) = h0 {
            expect_len("initial state (batch x units)", seqs.batch * n, h0.len())?;
            check_finite("initial state", h0)?;
        }
        let groups = group_sequences(&lengths, max_groups);
        let mut sinks: Vec<S> = groups.iter().map(|g| g.as_slice()).map(make).collect();
        let total_steps: usize = lengths.iter().sum();
        let flops = 2 * (self.w.nnz() + n * self.features) * total_steps;
        let run_one = |(members, sink): (&Vec<usize>, &mut S)| {
            group_widest((self, seqs, &lengths, members, h0, sink))
        };
        let lasts: Vec<Vec<T>> = if self.splits(seqs.batch, lengths.first().copied(), threads) {
            let (b, sink) = (groups[0][0], &mut sinks[0]);
            vec![par::install(threads, || {
                self.run_split(seqs, &lengths, b, h0, sink)
            })?]
        } else if threads > 1 && groups.len() > 1 && flops >= PARALLEL_MIN_FLOPS {
            par::install(threads, || {
                groups
                    .par_iter()
                    .zip(sinks.par_iter_mut())
                    .map(run_one)
                    .collect()
            })?
        } else {
            groups.iter().zip(sinks.iter_mut()).map(run_one).collect()
        };
        let mut last = vec![T::from_f64(0.0); seqs.batch * n];
        for (members, states) in groups.iter().zip(&lasts) {
            for (&b, state) in members.iter().zip(states.chunks_exact(n)) {
                last[b * n..(b + 1) * n].copy_from_slice(state);
            }
        }
        Ok((sinks, last))
    }

    /// The input projections `W_in u + b` of a group's members over the steps `span`, laid out
    /// as the time loop reads them: for one sequence `(span, units)`, each step's vector
    /// contiguous; for a block `(units, span · members)`, unit `i`'s values for step `dt` and
    /// every member contiguous at column `dt · members`, like its row of the state block.
    /// (Reading a block's inputs from the one-sequence layout strides across the buffer for
    /// every value, which cost more than the sparse product.) `inputs` is the block's scratch
    /// for the gathered input rows, `(span · members, features)`; finished members' rows keep
    /// stale values, whose projections are never read.
    #[inline(always)]
    fn project(
        &self,
        seqs: &Sequences<T>,
        lengths: &[usize],
        members: &[usize],
        span: Range<usize>,
        inputs: &mut [T],
        proj: &mut [T],
    ) {
        let (n, f, gb) = (self.units(), self.features, members.len());
        let rows = span.len();
        if gb == 1 {
            let rows = rows.min(lengths[members[0]].saturating_sub(span.start));
            let start = (members[0] * seqs.steps + span.start) * f;
            let dst = &mut proj[..rows * n];
            matmul_nt(
                dst,
                &seqs.data[start..start + rows * f],
                self.w_in,
                (rows, n, f),
                false,
                faer::Par::Seq,
            );
            add_row_bias(dst, self.bias);
            return;
        }
        for (dt, t) in span.enumerate() {
            for (c, &b) in members
                .iter()
                .enumerate()
                .take_while(|&(_, &b)| lengths[b] > t)
            {
                let src = &seqs.data[(b * seqs.steps + t) * f..][..f];
                inputs[(dt * gb + c) * f..][..f].copy_from_slice(src);
            }
        }
        let cols = rows * gb;
        let dst = &mut proj[..n * cols];
        matmul_nt(
            dst,
            self.w_in,
            &inputs[..cols * f],
            (n, cols, f),
            false,
            faer::Par::Seq,
        );
        for (row, &b) in dst.chunks_exact_mut(cols).zip(self.bias) {
            row.iter_mut().for_each(|v| *v += b);
        }
    }

    /// The time loop of one group; returns its members' last states, `(members, units)`.
    /// Inlined into each instruction-set variant of [`group_widest`]: the input add, the leaky
    /// update and the state copies then use the wide registers.
    #[inline(always)]
    fn run_group<S: StateSink<T>>(
        &self,
        seqs: &Sequences<T>,
        lengths: &[usize],
        members: &[usize],
        h0: Option<&[T]>,
        sink: &mut S,
    ) -> Vec<T> {
        let (n, f, gb) = (self.units(), self.features, members.len());
        let zero = T::from_f64(0.0);
        // Line-aligned blocks: the sparse product reads a row of `x` (one register for 16
        // sequences) per non-zero, and a row straddling two lines costs two loads.
        let mut x = AlignedVec::zeros(n * gb);
        if let Some(h0) = h0 {
            for (c, &b) in members.iter().enumerate() {
                for (i, &v) in h0[b * n..(b + 1) * n].iter().enumerate() {
                    x[i * gb + c] = v;
                }
            }
        }
        let mut pre = AlignedVec::zeros(n * gb);
        let mut row = vec![zero; n];
        let mut last = vec![zero; n * gb];
        let longest = members.first().map_or(0, |&b| lengths[b]);
        let chunk = projection_chunk(gb, n, longest);
        let mut proj = AlignedVec::zeros(gb * chunk * n);
        let mut inputs = vec![zero; if gb == 1 { 0 } else { gb * chunk * f }];
        let mut streams: Vec<SplitMix64> = members
            .iter()
            .map(|&b| noise_stream(self.seed, b))
            .collect();
        let recurrence = Recurrence::choose(self.w, self.layers, gb, longest);
        for t0 in (0..longest).step_by(chunk) {
            let span = chunk.min(longest - t0);
            let cols = span * gb;
            self.project(
                seqs,
                lengths,
                members,
                t0..t0 + span,
                &mut inputs,
                &mut proj,
            );
            for dt in 0..span {
                let t = t0 + dt;
                let active = members.iter().take_while(|&&b| lengths[b] > t).count();
                self.step(
                    &recurrence,
                    &mut x,
                    &mut pre,
                    (gb, active),
                    &mut streams[..active],
                    |rows, p| {
                        if gb == 1 {
                            let src = &proj[dt * n + rows.start..dt * n + rows.end];
                            p.iter_mut().zip(src).for_each(|(v, &q)| *v += q);
                            return;
                        }
                        for (i, p) in rows.zip(p.chunks_exact_mut(gb)) {
                            let src = &proj[i * cols + dt * gb..][..active];
                            p[..active].iter_mut().zip(src).for_each(|(v, &q)| *v += q);
                        }
                    },
                );
                if gb == 1 {
                    sink.push(0, members[0], t, &x);
                } else {
                    sink.push_block(&members[..active], t, &x, gb, &mut row);
                }
                for (c, &b) in members[..active].iter().enumerate() {
                    if t + 1 == lengths[b] {
                        let dst = &mut last[c * n..(c + 1) * n];
                        dst.iter_mut()
                            .zip(x.iter().skip(c).step_by(gb))
                            .for_each(|(r, &v)| *r = v);
                    }
                }
            }
        }
        last
    }
}

/// The arguments of `Reservoir::run_group`, passed as one value to its per-level variants.
type GroupArgs<'a, T, S> = (
    &'a Reservoir<'a, T>,
    &'a Sequences<'a, T>,
    &'a [usize],
    &'a [usize],
    Option<&'a [T]>,
    &'a mut S,
);

#[inline(always)]
fn group_portable<T: Float, S: StateSink<T>>(
    (res, seqs, lengths, members, h0, sink): GroupArgs<'_, T, S>,
) -> Vec<T> {
    res.run_group(seqs, lengths, members, h0, sink)
}

widest! {
    /// The time loop of one group compiled for the widest instruction set.
    fn group_widest<T: Float, S: StateSink<T>>(GroupArgs<'_, T, S>) -> Vec<T> = group_portable;
}

/// Steps whose input projections a group of `members` sequences computes at once.
fn projection_chunk(members: usize, units: usize, longest: usize) -> usize {
    (PROJECTION_BUDGET / (members * units))
        .clamp(1, 256)
        .min(longest.max(1))
}

/// The noise stream of sequence `index`: its SplitMix64 stream under `seed`, advanced once and
/// restarted from that output (so that neighbouring streams share no state).
fn noise_stream(seed: u64, index: usize) -> SplitMix64 {
    SplitMix64::from_state(SplitMix64::new(seed, index as u64).next_u64())
}

/// Checks per-step targets `(batch, steps, outputs)` for a batch: at least one output, the
/// length, and finite values.
pub(crate) fn check_targets<T: Float>(
    seqs: &Sequences<T>,
    targets: &[T],
    outputs: usize,
) -> Result<()> {
    if outputs == 0 {
        return Err(RnnError::param("outputs", "must be at least 1"));
    }
    expect_len(
        "targets (batch x steps x outputs)",
        seqs.batch * seqs.steps * outputs,
        targets.len(),
    )?;
    check_finite("targets", targets)
}

/// Batch indices sorted by decreasing length (stable), cut into at most `max_groups` groups of
/// equal size: the grouping depends on the batch only, so results do not depend on threads.
/// Sizes above half a register of `f32` round up to whole registers ([`GROUP_LANES`]): the block
/// product costs no less per non-zero for 9 columns than for 16, so 300 sequences run as 19
/// groups of 16 (the last of 12) in fewer products than as 30 groups of 10.
pub(crate) fn group_sequences(lengths: &[usize], max_groups: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&b| std::cmp::Reverse(lengths[b]));
    let mut size = order.len().div_ceil(max_groups.max(1)).max(1);
    if size > GROUP_LANES / 2 {
        size = size.next_multiple_of(GROUP_LANES);
    }
    order.chunks(size).map(<[usize]>::to_vec).collect()
}

mod sink;
mod split;
#[cfg(test)]
mod tests;
