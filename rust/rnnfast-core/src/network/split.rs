//! One recurrence shared by several threads, split by hidden units: the latency path.
//!
//! A batch of one is a single, inherently sequential recurrence whose every step streams the
//! recurrent weights from the L2 cache. Split by hidden units, each part owns the weight rows of
//! its units (all their gates), so each core streams only its share and the cell update of a
//! unit needs nothing from the other parts. Parts exchange only the new hidden state, through a
//! double buffer, once per step.
//!
//! The items (step, part) run on [`crate::lockstep`]'s scheduler. Each element is computed by
//! the same code in the same order whoever claims it, so the bits match the single-threaded
//! path.

use std::ops::Range;

use super::{LayerRun, LayerWeights, Recurrent, Task};
use crate::Float;
use crate::aligned::AlignedVec;
use crate::cells::CellKind;
use crate::lockstep::{Lockstep, PARTS, SharedOut};
use crate::packed::PackedMatrix;

/// Fewest recurrent multiply-adds per part and step worth a split: below, the per-step hand-off
/// between the threads (a fraction of a microsecond) costs more than the half step it saves.
pub(super) const MIN_PART_WORK: usize = 16 * 1024;

/// The weights of one part: the gate rows of `units`, packed (`W_ih` with `b_ih` as its bias,
/// `W_hh` without, fused with the cell's equations where the layer's step is), with their
/// hidden bias.
#[derive(Clone, Debug)]
pub(super) struct SplitPart<T> {
    units: Range<usize>,
    input: PackedMatrix<T>,
    hidden: Recurrent<T>,
    b_hh: Vec<T>,
}

/// Splits one layer-direction's weights into [`PARTS`] parts of consecutive hidden units, each
/// laid out as a cell of `units.len()` hidden units (gate blocks stacked as in PyTorch).
pub(super) fn split_layer<T: Float>(
    w: &LayerWeights<T>,
    cell: CellKind,
    input: usize,
    hidden: usize,
) -> Vec<SplitPart<T>> {
    let gates = cell.gates();
    // Parts of whole cache lines (16 units of f32, two lines of f64) where there are enough.
    let per_part = hidden.div_ceil(PARTS).next_multiple_of(16).min(hidden);
    (0..PARTS)
        .map(|p| {
            let units = (p * per_part).min(hidden)..((p + 1) * per_part).min(hidden);
            let rows: Vec<usize> = (0..gates)
                .flat_map(|g| units.clone().map(move |j| g * hidden + j))
                .collect();
            let take = |m: &[T], cols: usize| -> Vec<T> {
                rows.iter()
                    .flat_map(|&r| m[r * cols..(r + 1) * cols].iter().copied())
                    .collect()
            };
            let part = LayerWeights {
                w_ih: take(&w.w_ih, input),
                w_hh: take(&w.w_hh, hidden),
                b_ih: if w.b_ih.is_empty() {
                    Vec::new()
                } else {
                    take(&w.b_ih, 1)
                },
                b_hh: if w.b_hh.is_empty() {
                    Vec::new()
                } else {
                    take(&w.b_hh, 1)
                },
            };
            let b_ih = (!part.b_ih.is_empty()).then_some(part.b_ih.as_slice());
            SplitPart {
                input: PackedMatrix::new(&part.w_ih, rows.len(), input, b_ih),
                hidden: Recurrent::new(cell, &part.w_hh, units.len(), hidden),
                b_hh: part.b_hh,
                units,
            }
        })
        .collect()
}

impl<T: Float> LayerRun<'_, T> {
    /// [`LayerRun::recur`] for a task whose recurrence is split across threads; returns the
    /// task's final `h` and `c`.
    pub(super) fn recur_split(
        &self,
        task: &Task,
        parts: &[SplitPart<T>],
        out: &SharedOut<T>,
    ) -> (Vec<T>, Vec<T>) {
        let cfg = &self.net.config;
        let hidden = cfg.hidden_size;
        let n = task.rows.len();
        let (h0, c0) = self.initial_state(task);
        // Step s reads h[s % 2] and writes h[(s + 1) % 2]. The states start a cache line, as
        // do the parts' units in them (see `split_layer`): no line holds two parts' units,
        // which would pass it between the cores at every step.
        let mut h = [AlignedVec::from(&h0[..]), AlignedVec::zeros(n * hidden)];
        let mut c = AlignedVec::from(&c0[..]);
        let longest = super::active_steps(task, self.lengths);
        let chunk = super::chunk_steps(n, longest);
        // Per part, the input projections of its current chunk of steps: written by the part's
        // item at the chunk's first step, read by its items of the following steps.
        let mut xp: Vec<Vec<T>> = parts
            .iter()
            .map(|p| vec![T::default(); chunk * n * cfg.cell.gates() * p.units.len()])
            .collect();
        {
            let [h0, h1] = &mut h;
            let shared = Shared {
                h: [SharedOut::new(h0), SharedOut::new(h1)],
                c: SharedOut::new(&mut c),
                xp: xp.iter_mut().map(|b| SharedOut::new(b)).collect(),
                chunk,
                steps: longest,
            };
            let features = cfg.layer_input_size(self.layer);
            // Gate sums for the plain product; the fused step keeps them in registers.
            let rec_len = parts
                .iter()
                .filter(|p| matches!(p.hidden, Recurrent::Plain(_)))
                .map(|p| n * cfg.cell.gates() * p.units.len())
                .max()
                .unwrap_or(0);
            let scratch = || Scratch {
                x: vec![T::default(); chunk * n * features],
                rec: vec![T::default(); rec_len],
                h: vec![T::default(); n * hidden],
            };
            Lockstep::new(longest).run(scratch, |scratch, s, p| {
                self.run_item(task, &parts[p], p, s, &shared, scratch, out)
            });
        }
        // A row's last step wrote its final state into the buffer of that step's parity; later
        // steps only touch the rows still running.
        let mut h_final = vec![T::default(); n * hidden];
        for (i, &b) in task.rows.iter().enumerate() {
            let source = &h[self.lengths[b] % 2];
            h_final[i * hidden..(i + 1) * hidden]
                .copy_from_slice(&source[i * hidden..(i + 1) * hidden]);
        }
        (h_final, c.to_vec())
    }

    /// Part `p` of step `s`: its units' gates and cell update, and their output.
    #[allow(clippy::too_many_arguments)] // the item's whole context, borrowed
    fn run_item(
        &self,
        task: &Task,
        part: &SplitPart<T>,
        p: usize,
        s: usize,
        shared: &Shared<'_, T>,
        Scratch { x, rec, h }: &mut Scratch<T>,
        out: &SharedOut<T>,
    ) {
        let cfg = &self.net.config;
        let (hidden, features) = (cfg.hidden_size, cfg.layer_input_size(self.layer));
        let (out_stride, out_offset) = (cfg.directions() * hidden, task.direction * hidden);
        let rows = self.active(task, s);
        let width = part.units.len();
        let g = cfg.cell.gates() * width;
        let first = s - s % shared.chunk;
        if s == first {
            let last = (first + shared.chunk).min(shared.steps);
            let m = self.gather_inputs(task, first..last, x);
            // SAFETY: only part p's items touch its projections, one step after another.
            let xp = unsafe { shared.xp[p].read_mut(0, m * g) };
            part.input.product(xp, &x[..m * features], m);
        }
        let offset: usize = (first..s).map(|t| self.active(task, t)).sum();
        // SAFETY: as above.
        let xp = unsafe { shared.xp[p].read(offset * g, rows * g) };
        // SAFETY: every item of step s - 1 is done (the scheduler's claim), and no item of step
        // s writes this buffer (they write the other parity).
        let h_prev = unsafe { shared.h[s % 2].read(0, rows * hidden) };
        // A copy of the step's input state: the other parts' units come over from their cores
        // in one go here, instead of one line at a time where the product reaches them.
        let h_prev = {
            let h = &mut h[..rows * hidden];
            h.copy_from_slice(h_prev);
            &*h
        };
        let (h_next, units) = (&shared.h[(s + 1) % 2], part.units.clone());
        match &part.hidden {
            Recurrent::Fused(blocks) => {
                let c_len = if shared.c.len == 0 { 0 } else { rows * hidden };
                // SAFETY: these units of every running row belong to this item alone in step s
                // (of `c`: to part p alone, whose items run one step after another); `h_next`
                // is the other parity's buffer, so it does not overlap `h_prev`.
                unsafe {
                    blocks.step_units(
                        xp,
                        &part.b_hh,
                        h_prev,
                        shared.c.ptr_at(0, c_len),
                        h_next.ptr_at(0, rows * hidden),
                        units.start,
                    )
                }
            }
            Recurrent::Plain(w_hh) => {
                w_hh.product(&mut rec[..rows * g], h_prev, rows);
                crate::simd::with_simd(|| {
                    for i in 0..rows {
                        let start = i * hidden + units.start;
                        // SAFETY: as for the fused step.
                        let (h_i, c_i) = unsafe {
                            let c_i = if shared.c.len == 0 {
                                &mut [][..]
                            } else {
                                shared.c.read_mut(start, width)
                            };
                            (h_next.read_mut(start, width), c_i)
                        };
                        h_i.copy_from_slice(&h_prev[start..start + width]);
                        let xp_i = &xp[i * g..(i + 1) * g];
                        cfg.cell
                            .update(xp_i, &mut rec[i * g..(i + 1) * g], &part.b_hh, h_i, c_i);
                    }
                });
            }
        }
        for (i, &b) in task.rows[..rows].iter().enumerate() {
            let start = i * hidden + units.start;
            let at = self.time_row(task, b, s) * out_stride + out_offset;
            // SAFETY: this item wrote these units of `h_next` and nobody else touches them in
            // step s; the output row's units are this item's alone.
            unsafe { out.write(at + units.start, h_next.read(start, width)) };
        }
    }
}

/// A thread's buffers: a copy of the step's input state, the inputs of a chunk of steps, and one
/// step's recurrent gate sums (plain parts only).
struct Scratch<T> {
    /// The input state of the step.
    h: Vec<T>,
    x: Vec<T>,
    rec: Vec<T>,
}

/// The buffers the items of one split recurrence share.
struct Shared<'a, T> {
    /// Step `s` reads `h[s % 2]` and writes `h[(s + 1) % 2]`.
    h: [SharedOut<'a, T>; 2],
    c: SharedOut<'a, T>,
    /// Per part, the input projections of its current chunk.
    xp: Vec<SharedOut<'a, T>>,
    /// Steps per chunk of input projections.
    chunk: usize,
    steps: usize,
}
