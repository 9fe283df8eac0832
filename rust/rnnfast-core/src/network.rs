//! Stacked, uni- or bidirectional recurrent networks over (possibly ragged) batches.
//!
//! Layout conventions (all row-major, batch first):
//! - input `(batch, steps, input_size)`; output `(batch, steps, directions·hidden)`, zero past each
//!   sequence's end;
//! - states `(layers·directions, batch, hidden)`, index `layer·directions + direction`;
//! - weights per layer and direction, in that order, with PyTorch's shapes.
//!
//! A layer runs in two phases. First, one matrix product per direction projects the inputs of all
//! time steps at once (`x·W_ihᵀ + b_ih`). Then the recurrence walks the steps; at each step one
//! product covers all gates of all still-running sequences, followed by the cell's fused epilogue.
//! Both products use weights packed once when the network is built ([`PackedMatrix`]; for an
//! LSTM or GRU in `f32` on AVX-512 the recurrent weights go block-major into [`GateBlocks`],
//! whose step runs the cell equations in registers), with an accumulation order fixed per
//! element: a sequence's result has the same bits whatever else is in the batch, however the
//! work is split across threads, and when run step by step ([`crate::stream`]).
//! Sequences are sorted by length (longest first) so the running ones are always a prefix: what
//! PyTorch's packed sequences do, without asking the caller to sort. The backward direction starts
//! each sequence at its own last step. Independent work (directions, slices of the batch) runs on
//! the thread pool when the layer is large enough to pay for it.

use std::ops::Range;
use std::sync::OnceLock;

use rayon::prelude::*;

use crate::cells::CellKind;
use crate::cells::fused::GateBlocks;
use crate::error::expect_len;
use crate::float::check_finite;
use crate::lockstep::PARTS;
use crate::lockstep::{SharedOut, stream_fence};
use crate::packed::PackedMatrix;
use crate::par::{self, PARALLEL_MIN_FLOPS};
use crate::{Float, Result, RnnError};
use spare::SpareOutputs;
use split::{MIN_PART_WORK, SplitPart, split_layer};

/// The architecture of a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetworkConfig {
    pub cell: CellKind,
    pub input_size: usize,
    pub hidden_size: usize,
    pub num_layers: usize,
    pub bidirectional: bool,
    pub bias: bool,
}

impl NetworkConfig {
    /// 2 when bidirectional, else 1.
    pub fn directions(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }

    /// Features entering `layer` (the previous layer's concatenated directions past layer 0).
    pub fn layer_input_size(&self, layer: usize) -> usize {
        if layer == 0 {
            self.input_size
        } else {
            self.directions() * self.hidden_size
        }
    }

    /// Rows of every weight matrix and length of every bias: `gates · hidden`.
    pub fn gate_rows(&self) -> usize {
        self.cell.gates() * self.hidden_size
    }

    /// Length of a state tensor for `batch` sequences.
    pub fn state_len(&self, batch: usize) -> usize {
        self.num_layers * self.directions() * batch * self.hidden_size
    }

    /// Checks that every size is at least 1.
    pub fn validate(&self) -> Result<()> {
        for (name, value) in [
            ("input_size", self.input_size),
            ("hidden_size", self.hidden_size),
            ("num_layers", self.num_layers),
        ] {
            if value == 0 {
                return Err(RnnError::param(name, "must be at least 1"));
            }
        }
        Ok(())
    }
}

/// The parameters of one layer in one direction, PyTorch's shapes, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerWeights<T> {
    /// `(gates·hidden, layer_input)`.
    pub w_ih: Vec<T>,
    /// `(gates·hidden, hidden)`.
    pub w_hh: Vec<T>,
    /// `(gates·hidden,)`, or empty for a network without bias.
    pub b_ih: Vec<T>,
    /// `(gates·hidden,)`, or empty for a network without bias.
    pub b_hh: Vec<T>,
}

/// A batch of sequences, batch first, padded to `steps`.
#[derive(Clone, Copy, Debug)]
pub struct Sequences<'a, T> {
    /// `(batch, steps, input_size)`, row-major.
    pub data: &'a [T],
    pub batch: usize,
    pub steps: usize,
    /// Each sequence's length in `1..=steps`; `None` means all are `steps` long.
    pub lengths: Option<&'a [usize]>,
}

impl<T: Float> Sequences<'_, T> {
    /// Checks the batch against `input_size` features and returns each sequence's length.
    ///
    /// Only the real steps are checked for NaN and infinity: padding may hold anything, it is
    /// never read.
    pub fn checked_lengths(&self, input_size: usize) -> Result<Vec<usize>> {
        if self.batch == 0 {
            return Err(RnnError::shape(
                "input",
                "at least one sequence",
                "an empty batch",
            ));
        }
        if self.steps == 0 {
            return Err(RnnError::shape(
                "input",
                "at least one time step",
                "0 steps",
            ));
        }
        let row = self.steps * input_size;
        expect_len("input", self.batch * row, self.data.len())?;
        let lengths = match self.lengths {
            None => vec![self.steps; self.batch],
            Some(given) => {
                expect_len("lengths (one per sequence)", self.batch, given.len())?;
                if let Some((b, &len)) = given
                    .iter()
                    .enumerate()
                    .find(|&(_, &len)| len == 0 || len > self.steps)
                {
                    return Err(RnnError::shape(
                        format!("lengths[{b}]"),
                        format!("a length in 1..={}", self.steps),
                        len,
                    ));
                }
                given.to_vec()
            }
        };
        for (b, &len) in lengths.iter().enumerate() {
            let start = b * row;
            check_finite(
                &format!("input sequence {b}"),
                &self.data[start..start + len * input_size],
            )?;
        }
        Ok(lengths)
    }
}

/// Optional initial states, `(layers·directions, batch, hidden)` each; zeros when absent.
#[derive(Clone, Copy, Debug, Default)]
pub struct InitialState<'a, T> {
    pub h0: Option<&'a [T]>,
    /// LSTM only.
    pub c0: Option<&'a [T]>,
}

/// What a forward pass returns.
#[derive(Clone, Debug, PartialEq)]
pub struct Forward<T> {
    /// `(batch, steps, directions·hidden)`.
    pub output: Vec<T>,
    /// `(layers·directions, batch, hidden)`: the state after each sequence's own last step.
    pub h_n: Vec<T>,
    /// Same shape as `h_n` for LSTM; empty otherwise.
    pub c_n: Vec<T>,
}

/// The weights of one layer and direction packed for the products (see [`PackedMatrix`]).
#[derive(Clone, Debug)]
pub(crate) struct PackedLayer<T> {
    /// `W_ih` with `b_ih` as its bias: the input projection.
    pub(crate) input: PackedMatrix<T>,
    /// `W_hh`, without bias (the cell adds `b_hh`, which GRU applies inside the reset gate).
    pub(crate) recurrent: Recurrent<T>,
}

/// `W_hh` packed for the step's product, in one of two layouts.
#[derive(Clone, Debug)]
pub(crate) enum Recurrent<T> {
    /// Block-major for the fused step ([`GateBlocks`]), where the CPU and the cell have one:
    /// it serves every batch size, one row included (measured on Zen 4, batch 1: 5% off LSTM
    /// and 7% off GRU at 128 hidden units, 16% off LSTM at 64).
    Fused(GateBlocks<T>),
    /// Panels for the plain product, the cell's epilogue following row by row.
    Plain(PackedMatrix<T>),
}

impl<T: Float> PackedLayer<T> {
    /// Packs a `cell` layer's weights (`rows` gate rows, `input` features, `hidden` units).
    fn new(cell: CellKind, w: &LayerWeights<T>, rows: usize, input: usize, hidden: usize) -> Self {
        let bias = (!w.b_ih.is_empty()).then_some(w.b_ih.as_slice());
        Self {
            input: PackedMatrix::new(&w.w_ih, rows, input, bias),
            recurrent: Recurrent::new(cell, &w.w_hh, hidden, hidden),
        }
    }
}

impl<T: Float> Recurrent<T> {
    /// Packs `w_hh`, the gate rows of `units` consecutive hidden units (`gates·units × depth`,
    /// gate blocks stacked as in PyTorch) of a `cell` layer of `depth` units: block-major where
    /// a fused kernel exists, else in panels.
    pub(crate) fn new(cell: CellKind, w_hh: &[T], units: usize, depth: usize) -> Self {
        match GateBlocks::for_units(cell, w_hh, units, depth) {
            Some(blocks) => Self::Fused(blocks),
            None => Self::Plain(PackedMatrix::new(w_hh, cell.gates() * units, depth, None)),
        }
    }
}

/// A validated network ready to run.
#[derive(Clone, Debug)]
pub struct Network<T> {
    config: NetworkConfig,
    layers: Vec<LayerWeights<T>>,
    /// `layers` packed, same order.
    packed: Vec<PackedLayer<T>>,
    /// Per layer, the parts its recurrence splits into for a small batch on several threads:
    /// built on first use (they hold another copy of the weights), only for a splittable
    /// network ([`Network::splittable`]).
    split: OnceLock<Vec<Vec<SplitPart<T>>>>,
    /// The inner layers' output buffers, kept between calls.
    spare: SpareOutputs<T>,
}

impl<T: Float> Network<T> {
    /// Checks every shape and value, then takes ownership of the weights.
    ///
    /// `layers` holds `num_layers · directions` entries, ordered layer by layer, forward direction
    /// first (PyTorch's `_l0`, `_l0_reverse`, `_l1`, ...).
    pub fn new(config: NetworkConfig, layers: Vec<LayerWeights<T>>) -> Result<Self> {
        config.validate()?;
        let dirs = config.directions();
        expect_len(
            "number of weight sets",
            config.num_layers * dirs,
            layers.len(),
        )?;
        let rows = config.gate_rows();
        for (index, w) in layers.iter().enumerate() {
            let name = layer_name(index, dirs);
            let cols = config.layer_input_size(index / dirs);
            expect_len(&format!("weight_ih_{name}"), rows * cols, w.w_ih.len())?;
            expect_len(
                &format!("weight_hh_{name}"),
                rows * config.hidden_size,
                w.w_hh.len(),
            )?;
            let bias_len = if config.bias { rows } else { 0 };
            expect_len(&format!("bias_ih_{name}"), bias_len, w.b_ih.len())?;
            expect_len(&format!("bias_hh_{name}"), bias_len, w.b_hh.len())?;
            for (part, values) in [("weight_ih", &w.w_ih), ("weight_hh", &w.w_hh)] {
                check_finite(&format!("{part}_{name}"), values)?;
            }
            for (part, values) in [("bias_ih", &w.b_ih), ("bias_hh", &w.b_hh)] {
                check_finite(&format!("{part}_{name}"), values)?;
            }
        }
        let packed = layers
            .iter()
            .enumerate()
            .map(|(index, w)| {
                let cols = config.layer_input_size(index / dirs);
                PackedLayer::new(config.cell, w, rows, cols, config.hidden_size)
            })
            .collect();
        Ok(Self {
            config,
            layers,
            packed,
            split: OnceLock::new(),
            spare: SpareOutputs::default(),
        })
    }

    /// The architecture.
    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// The weights, in the order [`Network::new`] takes them.
    pub fn layers(&self) -> &[LayerWeights<T>] {
        &self.layers
    }

    /// Whether a small batch may split its recurrences by hidden units across threads: a
    /// unidirectional network (the two directions already give two threads work) with enough
    /// work per step for each part.
    fn splittable(&self) -> bool {
        let cfg = &self.config;
        !cfg.bidirectional && cfg.gate_rows() * cfg.hidden_size >= PARTS * MIN_PART_WORK
    }

    /// The split parts of `layer` (built on first use); empty unless splittable.
    fn split_parts(&self, layer: usize) -> &[SplitPart<T>] {
        if !self.splittable() {
            return &[];
        }
        let cfg = &self.config;
        let all = self.split.get_or_init(|| {
            self.layers
                .iter()
                .enumerate()
                .map(|(index, w)| {
                    // Unidirectional: one weight set per layer.
                    let cols = cfg.layer_input_size(index);
                    split_layer(w, cfg.cell, cols, cfg.hidden_size)
                })
                .collect()
        });
        &all[layer]
    }

    /// The weights packed for the products, in the order of [`Network::layers`].
    pub(crate) fn packed_layers(&self) -> &[PackedLayer<T>] {
        &self.packed
    }

    /// Runs the network on the thread count of [`par::num_threads`].
    pub fn forward(&self, seqs: &Sequences<T>, init: &InitialState<T>) -> Result<Forward<T>> {
        self.forward_with_threads(seqs, init, par::num_threads())
    }

    /// Runs the network with at most `threads` threads; results do not depend on `threads`.
    pub fn forward_with_threads(
        &self,
        seqs: &Sequences<T>,
        init: &InitialState<T>,
        threads: usize,
    ) -> Result<Forward<T>> {
        let lengths = validate_inputs(&self.config, seqs, init)?;
        let cfg = &self.config;
        let mut order: Vec<usize> = (0..seqs.batch).collect();
        order.sort_by_key(|&b| std::cmp::Reverse(lengths[b]));
        let mut h_n = vec![T::default(); cfg.state_len(seqs.batch)];
        let mut c_n = if cfg.cell.has_cell_state() {
            vec![T::default(); h_n.len()]
        } else {
            Vec::new()
        };
        // The previous layer's output: the next layer's input.
        let mut previous: Option<Vec<T>> = None;
        for layer in 0..cfg.num_layers {
            let run = LayerRun {
                net: self,
                layer,
                input: previous.as_deref().unwrap_or(seqs.data),
                batch: seqs.batch,
                steps: seqs.steps,
                lengths: &lengths,
                order: &order,
                init,
            };
            let threads = if run.worth_parallel() { threads } else { 1 };
            let len = run.output_len();
            // Only the last layer's output leaves the call.
            let buffer = if layer + 1 < cfg.num_layers {
                self.spare.take(len)
            } else {
                Vec::with_capacity(len)
            };
            let output = run.execute(threads, buffer, &mut h_n, &mut c_n)?;
            if let Some(consumed) = previous.replace(output) {
                self.spare.give_back(consumed);
            }
        }
        Ok(Forward {
            // `num_layers` is at least 1 (validated), so the last layer's output is there.
            output: previous.unwrap_or_default(),
            h_n,
            c_n,
        })
    }
}

/// Checks a call's inputs against `cfg`: shapes, lengths, finite values of the real steps and
/// of the initial states; returns the sequence lengths.
fn validate_inputs<T: Float>(
    cfg: &NetworkConfig,
    seqs: &Sequences<T>,
    init: &InitialState<T>,
) -> Result<Vec<usize>> {
    let lengths = seqs.checked_lengths(cfg.input_size)?;
    let state_len = cfg.state_len(seqs.batch);
    if let Some(h0) = init.h0 {
        expect_len("initial hidden state", state_len, h0.len())?;
        check_finite("initial hidden state", h0)?;
    }
    if let Some(c0) = init.c0 {
        if !cfg.cell.has_cell_state() {
            return Err(RnnError::param(
                "state",
                format!("a {} network has no cell state", cfg.cell.name()),
            ));
        }
        expect_len("initial cell state", state_len, c0.len())?;
        check_finite("initial cell state", c0)?;
    }
    Ok(lengths)
}

/// `l0`, `l0_reverse`, `l1`, ... as PyTorch names the weight sets.
fn layer_name(index: usize, dirs: usize) -> String {
    let suffix = if index % dirs == 1 { "_reverse" } else { "" };
    format!("l{}{suffix}", index / dirs)
}

/// One layer of one forward call.
struct LayerRun<'a, T> {
    net: &'a Network<T>,
    layer: usize,
    input: &'a [T],
    batch: usize,
    steps: usize,
    lengths: &'a [usize],
    /// Batch indices, longest sequence first.
    order: &'a [usize],
    init: &'a InitialState<'a, T>,
}

/// Fewest sequences worth a slice of their own. A smaller batch runs as one recurrence split by
/// hidden units across the threads instead (see [`split`]): each thread then keeps half of the
/// recurrent weights in its own cache, which measured 5-15% faster than two slices of 8 or 16
/// sequences each streaming all the weights (LSTM, 256 hidden, 2 threads).
const MIN_SLICE_ROWS: usize = 32;

/// Smallest layer output written with non-temporal stores: above twice the L2 cache, the
/// output would otherwise pass through the caches and evict the packed weights for nothing
/// (the next layer or the caller reads it long after).
const STREAM_MIN_BYTES: usize = 2 << 20;

/// One recurrence to run: a direction over a subset of the batch (sorted, longest first).
struct Task {
    direction: usize,
    rows: Vec<usize>,
}

impl<T: Float> LayerRun<'_, T> {
    /// Whether the layer has independent recurrences to spread and enough work to pay for the
    /// hand-off to the pool (a single recurrence is inherently sequential).
    fn worth_parallel(&self) -> bool {
        let cfg = &self.net.config;
        let per_step = cfg.gate_rows() * (cfg.layer_input_size(self.layer) + cfg.hidden_size);
        let flops = 2 * cfg.directions() * self.batch * self.steps * per_step;
        flops >= PARALLEL_MIN_FLOPS
            && (cfg.directions() * self.slices(usize::MAX) > 1 || self.net.splittable())
    }

    /// Slices per direction: enough for every thread to have a recurrence, each of at least
    /// [`MIN_SLICE_ROWS`] sequences. One thread runs the whole batch as one slice, which gives
    /// the per-step product the most rows to reuse each weight panel over.
    fn slices(&self, threads: usize) -> usize {
        let dirs = self.net.config.directions();
        (threads / dirs).min(self.batch / MIN_SLICE_ROWS).max(1)
    }

    /// How many values the layer's output holds: `(batch, steps, directions·hidden)`.
    fn output_len(&self) -> usize {
        let cfg = &self.net.config;
        self.batch * self.steps * cfg.directions() * cfg.hidden_size
    }

    /// Runs the layer into `output` (its contents dropped, its allocation reused); writes the
    /// final states into `h_n` / `c_n` and returns the output.
    fn execute(
        &self,
        threads: usize,
        mut output: Vec<T>,
        h_n: &mut [T],
        c_n: &mut [T],
    ) -> Result<Vec<T>> {
        let cfg = &self.net.config;
        let dirs = cfg.directions();
        let hidden = cfg.hidden_size;
        let row = dirs * hidden;
        let len = self.output_len();
        // Written once, by the recurrences and the padding below, so never zeroed first (a
        // memset of 8 MiB took 2% of an LSTM batch of 64 on one thread, all of it serial).
        output.clear();
        output.reserve(len);
        let tasks = self.tasks(threads);
        let finals: Vec<(Vec<T>, Vec<T>)> = {
            let spare = &mut output.spare_capacity_mut()[..len];
            for (b, &length) in self.lengths.iter().enumerate() {
                let padding = (b * self.steps + length) * row..(b + 1) * self.steps * row;
                spare[padding].fill(std::mem::MaybeUninit::new(T::default()));
            }
            let out = SharedOut::uninit(spare);
            let run = |task: &Task| self.recur(task, &out);
            if threads > 1 && tasks.len() > 1 {
                par::install(threads, || tasks.par_iter().map(run).collect())?
            } else if threads > 1 && self.net.splittable() {
                // The calling thread runs one part; the pool lends a helper for the other.
                let parts = self.net.split_parts(self.layer);
                tasks
                    .iter()
                    .map(|task| self.recur_split(task, parts, &out))
                    .collect()
            } else {
                tasks.iter().map(run).collect()
            }
        };
        // SAFETY: every element is written: each running (sequence, step, direction) by its
        // task's recurrence (all units of it, by the parts of a split one), the padding above.
        unsafe { output.set_len(len) };
        for (task, (h, c)) in tasks.iter().zip(&finals) {
            let base = (self.layer * dirs + task.direction) * self.batch;
            for (i, &b) in task.rows.iter().enumerate() {
                let dst = (base + b) * hidden;
                h_n[dst..dst + hidden].copy_from_slice(&h[i * hidden..(i + 1) * hidden]);
                if !c.is_empty() {
                    c_n[dst..dst + hidden].copy_from_slice(&c[i * hidden..(i + 1) * hidden]);
                }
            }
        }
        Ok(output)
    }

    /// Splits the work: every direction, and the batch dealt round-robin into slices so that each
    /// slice keeps the longest-first order and gets a fair share of long sequences.
    ///
    /// The split may follow the thread count: the packed products give each sequence the same
    /// bits whichever slice it lands in.
    fn tasks(&self, threads: usize) -> Vec<Task> {
        let dirs = self.net.config.directions();
        let slices = self.slices(threads);
        (0..dirs)
            .flat_map(|direction| {
                (0..slices).map(move |s| Task {
                    direction,
                    rows: self.order.iter().skip(s).step_by(slices).copied().collect(),
                })
            })
            .collect()
    }

    /// The initial `h` and `c` of a task's rows (zeros where not given), rows in task order; `c`
    /// is empty unless the cell has one.
    fn initial_state(&self, task: &Task) -> (Vec<T>, Vec<T>) {
        let cfg = &self.net.config;
        let hidden = cfg.hidden_size;
        let state_base = (self.layer * cfg.directions() + task.direction) * self.batch;
        let gather = |source: Option<&[T]>| -> Vec<T> {
            let mut s = vec![T::default(); task.rows.len() * hidden];
            if let Some(src) = source {
                for (i, &b) in task.rows.iter().enumerate() {
                    let at = (state_base + b) * hidden;
                    s[i * hidden..(i + 1) * hidden].copy_from_slice(&src[at..at + hidden]);
                }
            }
            s
        };
        let c = if cfg.cell.has_cell_state() {
            gather(self.init.c0)
        } else {
            Vec::new()
        };
        (gather(self.init.h0), c)
    }

    /// How many of a task's rows are still running at processing step `s`.
    fn active(&self, task: &Task, s: usize) -> usize {
        task.rows.partition_point(|&b| self.lengths[b] > s)
    }

    /// The input row (`sequence · steps + time`) that sequence `b` reads at processing step
    /// `s`: the backward direction starts at each sequence's own last step.
    fn time_row(&self, task: &Task, b: usize, s: usize) -> usize {
        let t = if task.direction == 1 {
            self.lengths[b] - 1 - s
        } else {
            s
        };
        b * self.steps + t
    }

    /// Copies the inputs of processing steps `steps` into `x`, step by step, each step's
    /// running rows in task order; returns the number of rows copied.
    fn gather_inputs(&self, task: &Task, steps: Range<usize>, x: &mut [T]) -> usize {
        let features = self.net.config.layer_input_size(self.layer);
        let mut m = 0;
        for s in steps {
            for &b in &task.rows[..self.active(task, s)] {
                let row = self.time_row(task, b, s) * features;
                x[m * features..(m + 1) * features]
                    .copy_from_slice(&self.input[row..row + features]);
                m += 1;
            }
        }
        m
    }

    /// The time loop of one task; returns its final `h` and `c`, rows in task order.
    ///
    /// Inputs are projected a chunk of steps at a time (one product over the chunk's running
    /// rows, gathered in processing order), so scratch memory stays proportional to the batch,
    /// not to the sequence length.
    fn recur(&self, task: &Task, out: &SharedOut<T>) -> (Vec<T>, Vec<T>) {
        let cfg = &self.net.config;
        let (hidden, gates) = (cfg.hidden_size, cfg.gate_rows());
        let features = cfg.layer_input_size(self.layer);
        let dirs = cfg.directions();
        let index = self.layer * dirs + task.direction;
        let (w, packed) = (&self.net.layers[index], &self.net.packed[index]);
        let n = task.rows.len();
        let (mut h, mut c) = self.initial_state(task);
        // Each step reads `h` and writes `h_next`, then the two swap (no copy of the state).
        let mut h_next = h.clone();
        let mut running = n;
        let longest = active_steps(task, self.lengths);
        let chunk = chunk_steps(n, longest);
        let mut x = vec![T::default(); chunk * n * features];
        let mut xp = vec![T::default(); chunk * n * gates];
        let mut rec = vec![T::default(); n * gates];
        let (out_stride, out_offset) = (dirs * hidden, task.direction * hidden);
        let stream = out.len * std::mem::size_of::<T>() >= STREAM_MIN_BYTES;
        for first in (0..longest).step_by(chunk) {
            let last = (first + chunk).min(longest);
            let m = self.gather_inputs(task, first..last, &mut x);
            packed
                .input
                .product(&mut xp[..m * gates], &x[..m * features], m);
            let mut done = 0;
            for s in first..last {
                let rows = self.active(task, s);
                let xp_s = &xp[done * gates..(done + rows) * gates];
                let c_s = if c.is_empty() {
                    &mut [][..]
                } else {
                    &mut c[..rows * hidden]
                };
                if rows < running {
                    // Rows that just finished keep their last state in both buffers.
                    let done_rows = rows * hidden..running * hidden;
                    h_next[done_rows.clone()].copy_from_slice(&h[done_rows]);
                    running = rows;
                }
                let state = RowsState {
                    h: &h[..rows * hidden],
                    h_next: &mut h_next[..rows * hidden],
                    c: c_s,
                };
                recurrent_step(cfg.cell, packed, &w.b_hh, xp_s, &mut rec, state);
                std::mem::swap(&mut h, &mut h_next);
                for (i, &b) in task.rows[..rows].iter().enumerate() {
                    let h_i = &h[i * hidden..(i + 1) * hidden];
                    let at = self.time_row(task, b, s) * out_stride + out_offset;
                    // SAFETY: (row, direction) pairs are disjoint across tasks; see `SharedOut`.
                    unsafe {
                        if stream {
                            out.write_streaming(at, h_i)
                        } else {
                            out.write(at, h_i)
                        }
                    };
                }
                done += rows;
            }
        }
        if stream {
            stream_fence();
        }
        (h, c)
    }
}

/// Steps the longest sequence of a task runs.
fn active_steps(task: &Task, lengths: &[usize]) -> usize {
    task.rows.first().map_or(0, |&b| lengths[b])
}

/// Steps per chunk of input projections for `rows` sequences running at most `longest` steps.
fn chunk_steps(rows: usize, longest: usize) -> usize {
    (CHUNK_ROWS / rows.max(1))
        .clamp(1, MAX_CHUNK_STEPS)
        .min(longest)
}

/// Rows of input projections per chunk of steps: enough rows for an efficient product, few
/// enough that the scratch stays small (buffers of 128 KiB and more are mapped and unmapped by
/// the allocator at every call, and their page faults cost more than a short forward pass).
const CHUNK_ROWS: usize = 64;
/// Most steps per chunk (a batch of one projects 16 steps at a time).
const MAX_CHUNK_STEPS: usize = 16;

/// The recurrent state of `rows` sequences across one step, `rows × hidden` each: `h` is read,
/// `h_next` written, `c` (empty unless LSTM) updated in place.
pub(crate) struct RowsState<'a, T> {
    pub(crate) h: &'a [T],
    pub(crate) h_next: &'a mut [T],
    pub(crate) c: &'a mut [T],
}

/// One time step of one layer and direction for the rows of `state`, given their input
/// projections `xp` (`rows × gates`): the fused step where the layer has one, else the recurrent
/// product into `rec` (scratch, at least `rows × gates`) and the cell's epilogue row by row (the
/// two give the same bits). The new `h` goes to `state.h_next`. Shared by the forward pass and
/// the streaming sessions, which is what makes them agree bit for bit.
pub(crate) fn recurrent_step<T: Float>(
    cell: CellKind,
    layer: &PackedLayer<T>,
    b_hh: &[T],
    xp: &[T],
    rec: &mut [T],
    state: RowsState<'_, T>,
) {
    let w_hh = match &layer.recurrent {
        Recurrent::Fused(blocks) => {
            blocks.step(xp, b_hh, state.h, state.c, state.h_next);
            return;
        }
        Recurrent::Plain(w_hh) => w_hh,
    };
    let hidden = w_hh.depth();
    let gates = w_hh.columns();
    let rows = state.h.len() / hidden.max(1);
    let rec = &mut rec[..rows * gates];
    w_hh.product(rec, state.h, rows);
    crate::simd::with_simd(|| {
        for i in 0..rows {
            let units = i * hidden..(i + 1) * hidden;
            let c_i = if state.c.is_empty() {
                &mut [][..]
            } else {
                &mut state.c[units.clone()]
            };
            let (xp_i, rec_i) = (
                &xp[i * gates..(i + 1) * gates],
                &mut rec[i * gates..(i + 1) * gates],
            );
            let (h_i, next_i) = (&state.h[units.clone()], &mut state.h_next[units]);
            cell.update_into(xp_i, rec_i, b_hh, h_i, next_i, c_i);
        }
    });
}

mod spare;
mod split;
#[cfg(test)]
mod tests;
