//! Backpropagation through time over one shard: a few sequences, sorted longest first.
//!
//! The shard runs in windows of at most `window` time steps (one window for full BPTT). Each
//! window runs forward through every layer, recording a tape, applies the head and the loss,
//! then runs backward through the tape. The state carries over to the next window; the gradient
//! does not (that is the truncation).
//!
//! Two row orders are used. Values indexed by time (layer inputs and outputs, input-side gate
//! gradients) use `row = i·w + t` for sorted sequence `i` and window step `t`: the order of the
//! products over all steps at once (`x·W_ihᵀ`, `dGxᵀ·x`). The tape uses processing order,
//! `row = s·n + i` for processing step `s`, so the sequences still running at a step form a
//! contiguous prefix in both directions: one product per step forward (`h·W_hhᵀ`) and backward
//! (`dG·W_hh`), and one over the whole window for `W_hh`'s gradient.

use faer::Par;

use super::{Layout, ModelSpec, Target};
use crate::Float;
use crate::cells::StepGrads;
use crate::linalg::{add_column_sums, add_row_bias, matmul_nn, matmul_nt, matmul_tn};
use crate::network::NetworkConfig;

/// A shard's data, contiguous, sequences sorted by length (longest first).
pub(super) struct Shard<'a, T> {
    /// `(n, steps, input_size)`, zero past each sequence's end.
    pub x: &'a [T],
    /// `(n, outputs)` for [`Target::LastStep`], `(n, steps, outputs)` for [`Target::EveryStep`].
    pub targets: &'a [T],
    pub lengths: &'a [usize],
    pub steps: usize,
    /// [`ModelSpec::state_len`] values (`(layers·directions, n, hidden)` for equal widths), or
    /// empty for zeros.
    pub h0: &'a [T],
    /// Same for the LSTM cell state.
    pub c0: &'a [T],
}

/// Sums over a shard (not yet divided by the number of samples).
pub(super) struct ShardGrads<T> {
    pub loss: f64,
    /// Flat, in the [`Layout`].
    pub params: Vec<T>,
    /// `(n, steps, input_size)` when input gradients were asked for, else empty.
    pub input: Vec<T>,
    /// `(layers·directions, n, hidden)`.
    pub h0: Vec<T>,
    /// Same shape for LSTM, else empty.
    pub c0: Vec<T>,
}

/// Forward and backward over a whole shard.
///
/// The elementwise work (cell equations and their derivatives, copies to and from the tape) is
/// compiled once per instruction-set level and picked at run time, as in
/// [`crate::simd::with_simd`]: built for baseline x86-64 it ran 4 wide and cost as much as half
/// the products.
pub(super) fn run<T: Float>(
    spec: &ModelSpec,
    layout: &Layout,
    params: &[T],
    shard: &Shard<'_, T>,
    window: usize,
    input_grads: bool,
) -> ShardGrads<T> {
    let args = (spec, layout, params, shard, window, input_grads);
    #[cfg(target_arch = "x86_64")]
    match crate::simd::active_arch() {
        // SAFETY: `active_arch` only reports levels this CPU supports.
        crate::simd::Arch::Avx512 => return unsafe { run_avx512(args) },
        // SAFETY: as above.
        crate::simd::Arch::Avx2 => return unsafe { run_avx2(args) },
        crate::simd::Arch::Scalar => {}
    }
    run_portable(args)
}

/// The arguments of [`run`], passed as one value to its per-level variants.
type RunArgs<'a, T> = (
    &'a ModelSpec,
    &'a Layout,
    &'a [T],
    &'a Shard<'a, T>,
    usize,
    bool,
);

// Not `simd::with_simd`: a closure around `run_portable` would absorb it and stay baseline code.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_avx512<T: Float>(args: RunArgs<'_, T>) -> ShardGrads<T> {
    run_portable(args)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2<T: Float>(args: RunArgs<'_, T>) -> ShardGrads<T> {
    run_portable(args)
}

/// The shard's work, inlined into each instruction-set variant of [`run`].
#[inline(always)]
fn run_portable<T: Float>(
    (spec, layout, params, shard, window, input_grads): RunArgs<'_, T>,
) -> ShardGrads<T> {
    let n = shard.lengths.len();
    let state_len = spec.state_len(n);
    let lstm = spec.cell.has_cell_state();
    let initial = |given: &[T]| {
        if given.is_empty() {
            vec![T::default(); state_len]
        } else {
            given.to_vec()
        }
    };
    let mut states = States {
        h: initial(shard.h0),
        c: if lstm { initial(shard.c0) } else { Vec::new() },
    };
    let mut grads = ShardGrads {
        loss: 0.0,
        params: vec![T::default(); layout.len()],
        input: if input_grads {
            vec![T::default(); shard.x.len()]
        } else {
            Vec::new()
        },
        h0: vec![T::default(); state_len],
        c0: if lstm {
            vec![T::default(); state_len]
        } else {
            Vec::new()
        },
    };
    for t0 in (0..shard.steps).step_by(window.max(1)) {
        let w = window.min(shard.steps - t0);
        let lens: Vec<usize> = shard
            .lengths
            .iter()
            .map(|&l| l.saturating_sub(t0).min(w))
            .take_while(|&l| l > 0)
            .collect();
        if lens.is_empty() {
            break;
        }
        let win = Window {
            spec,
            layout,
            params,
            shard,
            n,
            t0,
            w,
            lens: &lens,
        };
        win.run(&mut states, &mut grads);
    }
    grads
}

/// The recurrent state of every layer-direction, `(layers·directions, n, hidden)`.
struct States<T> {
    h: Vec<T>,
    c: Vec<T>,
}

/// What a layer-direction's forward pass keeps for its backward pass, in processing order.
struct Tape<T> {
    gates: Vec<T>,
    aux: Vec<T>,
    h_prev: Vec<T>,
}

/// One window of one shard.
struct Window<'a, T> {
    spec: &'a ModelSpec,
    layout: &'a Layout,
    params: &'a [T],
    shard: &'a Shard<'a, T>,
    /// Sequences in the shard (the state's batch size).
    n: usize,
    t0: usize,
    w: usize,
    /// Each still-running sequence's steps in this window, a prefix of the shard.
    lens: &'a [usize],
}

impl<T: Float> Window<'_, T> {
    fn active(&self) -> usize {
        self.lens.len()
    }

    #[inline(always)]
    fn run(&self, states: &mut States<T>, grads: &mut ShardGrads<T>) {
        let (dirs, layers) = (self.spec.directions(), self.spec.layers());
        let mut inputs = vec![self.window_input()];
        let mut tapes = Vec::with_capacity(layers * dirs);
        for layer in 0..layers {
            let width = dirs * self.spec.hidden_sizes[layer];
            let mut output = vec![T::default(); self.active() * self.w * width];
            for d in 0..dirs {
                tapes.push(self.forward(layer, d, &inputs[layer], states, &mut output));
            }
            inputs.push(output);
        }
        let top = inputs.pop().unwrap_or_default();
        let mut d_output = self.head(&top, grads);
        let first_window = self.t0 == 0;
        for layer in (0..layers).rev() {
            let wants_input = layer > 0 || !grads.input.is_empty();
            let mut d_input = if wants_input {
                vec![T::default(); inputs[layer].len()]
            } else {
                Vec::new()
            };
            for d in 0..dirs {
                let tape = &tapes[layer * dirs + d];
                let io = (inputs[layer].as_slice(), d_output.as_slice(), &mut d_input);
                self.backward(layer, d, tape, io, grads, first_window);
            }
            d_output = d_input;
        }
        if !grads.input.is_empty() {
            self.scatter_input_grads(&d_output, &mut grads.input);
        }
    }

    /// The window's slice of the shard's input, `(active, w, input_size)`.
    #[inline(always)]
    fn window_input(&self) -> Vec<T> {
        let features = self.spec.input_size;
        let mut x = vec![T::default(); self.active() * self.w * features];
        for (i, &len) in self.lens.iter().enumerate() {
            let src = (i * self.shard.steps + self.t0) * features;
            let dst = i * self.w * features;
            x[dst..dst + len * features].copy_from_slice(&self.shard.x[src..src + len * features]);
        }
        x
    }

    #[inline(always)]
    fn scatter_input_grads(&self, d_input: &[T], into: &mut [T]) {
        let features = self.spec.input_size;
        for (i, &len) in self.lens.iter().enumerate() {
            let dst = (i * self.shard.steps + self.t0) * features;
            let src = i * self.w * features;
            into[dst..dst + len * features].copy_from_slice(&d_input[src..src + len * features]);
        }
    }

    fn dims(&self, layer: usize, d: usize) -> Dims {
        let cfg = self.spec.layer(layer);
        let h = cfg.hidden_size;
        Dims {
            set: layer * cfg.directions() + d,
            h,
            g: cfg.gate_rows(),
            a: cfg.cell.aux_width(h),
            dirs: cfg.directions(),
            an: self.active(),
            rows: self.active() * self.w,
            cfg,
        }
    }

    /// Time step of processing step `s` of sequence `i` in direction `d`.
    fn time(&self, d: usize, i: usize, s: usize) -> usize {
        if d == 0 { s } else { self.lens[i] - 1 - s }
    }

    /// One layer-direction forward over the window; writes its half of `output`.
    #[inline(always)]
    fn forward(
        &self,
        layer: usize,
        d: usize,
        input: &[T],
        states: &mut States<T>,
        output: &mut [T],
    ) -> Tape<T> {
        let Dims {
            cfg,
            set,
            h,
            g,
            a,
            dirs,
            an,
            rows,
        } = self.dims(layer, d);
        let p = self.layout.set(self.params, set);
        let mut xp = vec![T::default(); rows * g];
        let in_size = cfg.input_size;
        matmul_nt(&mut xp, input, p.w_ih, (rows, g, in_size), false, Par::Seq);
        add_row_bias(&mut xp, p.b_ih);
        let mut tape = Tape {
            gates: vec![T::default(); rows * g],
            aux: vec![T::default(); rows * a],
            h_prev: vec![T::default(); rows * h],
        };
        let at = self.spec.state_offset(set, self.n);
        let state = at..at + an * h;
        let hs = &mut states.h[state.clone()];
        let cs = if states.c.is_empty() {
            &mut [][..]
        } else {
            &mut states.c[state]
        };
        let mut active = an;
        for s in 0..self.lens[0] {
            while self.lens[active - 1] <= s {
                active -= 1;
            }
            let base = s * an;
            let gates = &mut tape.gates[base * g..(base + active) * g];
            matmul_nt(
                gates,
                &hs[..active * h],
                p.w_hh,
                (active, g, h),
                false,
                Par::Seq,
            );
            for (i, gates_i) in gates.chunks_exact_mut(g).enumerate() {
                let row = i * self.w + self.time(d, i, s);
                let prow = base + i;
                let h_i = &mut hs[i * h..(i + 1) * h];
                tape.h_prev[prow * h..(prow + 1) * h].copy_from_slice(h_i);
                let c_i = if cs.is_empty() {
                    &mut [][..]
                } else {
                    &mut cs[i * h..(i + 1) * h]
                };
                let xp_i = &xp[row * g..(row + 1) * g];
                let aux_i = &mut tape.aux[prow * a..(prow + 1) * a];
                cfg.cell
                    .update_recording(xp_i, gates_i, p.b_hh, h_i, c_i, aux_i);
                let at = row * dirs * h + d * h;
                output[at..at + h].copy_from_slice(h_i);
            }
        }
        tape
    }

    /// The head and the loss on the top layer's output; returns the gradient w.r.t. that output.
    #[inline(always)]
    fn head(&self, top: &[T], grads: &mut ShardGrads<T>) -> Vec<T> {
        let (outputs, width) = (self.spec.outputs, self.spec.output_width());
        let weight = &self.params[self.layout.head_weight.clone()];
        let bias = &self.params[self.layout.head_bias.clone()];
        let samples = self.samples();
        let m = samples.len();
        let pick = Picker {
            rows: &samples,
            width,
            hidden: width / self.spec.directions(),
        };
        let features = pick.gather(top);
        let mut scores = vec![T::default(); m * outputs];
        matmul_nt(
            &mut scores,
            &features,
            weight,
            (m, outputs, width),
            false,
            Par::Seq,
        );
        add_row_bias(&mut scores, bias);
        for (sample, row) in samples.iter().zip(scores.chunks_exact_mut(outputs)) {
            let target = &self.shard.targets[sample.target..sample.target + outputs];
            grads.loss += self.spec.loss.row(row, target);
        }
        // `scores` now holds the gradient w.r.t. the head's outputs.
        let (d_weight, d_bias) =
            grads.params[self.layout.head_weight.start..].split_at_mut(weight.len());
        matmul_tn(
            d_weight,
            &scores,
            &features,
            (outputs, width, m),
            true,
            Par::Seq,
        );
        add_column_sums(d_bias, &scores);
        let mut d_features = vec![T::default(); features.len()];
        matmul_nn(
            &mut d_features,
            &scores,
            weight,
            (m, width, outputs),
            false,
            Par::Seq,
        );
        let mut d_top = vec![T::default(); top.len()];
        pick.scatter(&d_features, &mut d_top);
        d_top
    }

    /// The samples the loss reads in this window.
    ///
    /// Every step: each real step is a sample. Last step: each sequence that ends in this window
    /// is one, read from each direction's final state: the forward one at the sequence's last
    /// step, the reverse one at step 0 (bidirectional networks run in a single window).
    #[inline(always)]
    fn samples(&self) -> Vec<Sample> {
        let outputs = self.spec.outputs;
        match self.spec.target {
            Target::EveryStep => self
                .lens
                .iter()
                .enumerate()
                .flat_map(|(i, &len)| {
                    (0..len).map(move |t| Sample {
                        rows: [i * self.w + t; 2],
                        target: (i * self.shard.steps + self.t0 + t) * outputs,
                    })
                })
                .collect(),
            Target::LastStep => (0..self.active())
                .filter(|&i| self.shard.lengths[i] <= self.t0 + self.w)
                .map(|i| Sample {
                    rows: [i * self.w + self.lens[i] - 1, i * self.w],
                    target: i * outputs,
                })
                .collect(),
        }
    }

    /// One layer-direction backward over the window: accumulates the weight gradients, adds
    /// the gradient w.r.t. the layer input to `io.2`, and on the first window records the
    /// gradient w.r.t. the initial state.
    #[inline(always)]
    fn backward(
        &self,
        layer: usize,
        d: usize,
        tape: &Tape<T>,
        (input, d_output, d_input): (&[T], &[T], &mut Vec<T>),
        grads: &mut ShardGrads<T>,
        first_window: bool,
    ) {
        let Dims {
            cfg,
            set,
            h,
            g,
            a,
            dirs,
            an,
            rows,
        } = self.dims(layer, d);
        let p = self.layout.set(self.params, set);
        let lstm = cfg.cell.has_cell_state();
        let mut dh = vec![T::default(); an * h];
        let mut dc = if lstm {
            vec![T::default(); an * h]
        } else {
            Vec::new()
        };
        let mut dgx = vec![T::default(); rows * g];
        let mut dgh = vec![T::default(); rows * g];
        for s in (0..self.lens[0]).rev() {
            let active = self.lens.partition_point(|&l| l > s);
            let base = s * an;
            for i in 0..active {
                let row = i * self.w + self.time(d, i, s);
                let prow = base + i;
                let dh_i = &mut dh[i * h..(i + 1) * h];
                let from_output = &d_output[row * dirs * h + d * h..][..h];
                dh_i.iter_mut().zip(from_output).for_each(|(x, &y)| *x += y);
                let dc_i = if lstm {
                    &mut dc[i * h..(i + 1) * h]
                } else {
                    &mut [][..]
                };
                cfg.cell.backward(
                    &tape.gates[prow * g..(prow + 1) * g],
                    &tape.aux[prow * a..(prow + 1) * a],
                    &tape.h_prev[prow * h..(prow + 1) * h],
                    dh_i,
                    dc_i,
                    StepGrads {
                        dgx: &mut dgx[row * g..(row + 1) * g],
                        dgh: &mut dgh[prow * g..(prow + 1) * g],
                    },
                );
            }
            let dgh_s = &dgh[base * g..(base + active) * g];
            matmul_nn(
                &mut dh[..active * h],
                dgh_s,
                p.w_hh,
                (active, h, g),
                true,
                Par::Seq,
            );
        }
        let in_size = cfg.input_size;
        let gp = self.layout.set_mut(&mut grads.params, set);
        matmul_tn(gp.w_hh, &dgh, &tape.h_prev, (g, h, rows), true, Par::Seq);
        matmul_tn(gp.w_ih, &dgx, input, (g, in_size, rows), true, Par::Seq);
        add_column_sums(gp.b_hh, &dgh);
        add_column_sums(gp.b_ih, &dgx);
        if !d_input.is_empty() {
            matmul_nn(d_input, &dgx, p.w_ih, (rows, in_size, g), true, Par::Seq);
        }
        if first_window {
            let at = self.spec.state_offset(set, self.n);
            grads.h0[at..at + an * h].copy_from_slice(&dh);
            if lstm {
                grads.c0[at..at + an * h].copy_from_slice(&dc);
            }
        }
    }
}

/// Sizes of one layer-direction in one window.
struct Dims {
    cfg: NetworkConfig,
    /// Index of the layer-direction (its weights and state).
    set: usize,
    /// Hidden units, gate rows, recorded values per step, directions.
    h: usize,
    g: usize,
    a: usize,
    dirs: usize,
    /// Sequences running in the window, and rows of the window's `(an·w)` matrices.
    an: usize,
    rows: usize,
}

/// One sample of the loss: the rows of the top layer's output its features come from (one
/// per direction) and the offset of its targets.
struct Sample {
    rows: [usize; 2],
    target: usize,
}

/// Moves per-sample features between the top layer's output `(rows, directions·hidden)` and a
/// dense `(samples, directions·hidden)` matrix, each direction's half from its own row.
struct Picker<'a> {
    rows: &'a [Sample],
    width: usize,
    hidden: usize,
}

impl Picker<'_> {
    fn blocks(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let dirs = self.width / self.hidden;
        self.rows.iter().enumerate().flat_map(move |(j, sample)| {
            (0..dirs).map(move |d| {
                let dense = j * self.width + d * self.hidden;
                (dense, sample.rows[d] * self.width + d * self.hidden)
            })
        })
    }

    fn gather<T: Float>(&self, top: &[T]) -> Vec<T> {
        let mut dense = vec![T::default(); self.rows.len() * self.width];
        for (to, from) in self.blocks() {
            dense[to..to + self.hidden].copy_from_slice(&top[from..from + self.hidden]);
        }
        dense
    }

    fn scatter<T: Float>(&self, dense: &[T], top: &mut [T]) {
        for (from, to) in self.blocks() {
            top[to..to + self.hidden].copy_from_slice(&dense[from..from + self.hidden]);
        }
    }
}
