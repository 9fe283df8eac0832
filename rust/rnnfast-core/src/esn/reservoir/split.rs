//! One long sequence through a large reservoir on two threads: each step's rows split in two.
//!
//! A single sequence is one sequential recurrence, so groups of sequences cannot spread it over
//! cores. Split by rows instead, each thread multiplies its half of `W` (half of the non-zeros,
//! each core streaming its share from its own L2) by the previous state and updates its half of
//! the units; the threads meet once per step ([`crate::lockstep`]). The states of a segment of
//! steps are kept and handed to the sink in order after the segment, on the calling thread, so
//! that a sink folding them into a Gram matrix can use both threads between segments.
//!
//! Every unit is computed by the same operations as in the one-thread loop (the same row sums,
//! projections of the same chunks, the activation's vector tails on the same units), so the
//! states have the same bits for any number of threads.

use super::{Reservoir, StateSink, projection_chunk};
use crate::Float;
use crate::esn::recurrence::Recurrence;
use crate::lockstep::{Lockstep, PARTS, SharedOut};
use crate::network::Sequences;

/// Fewest non-zeros of `W` worth splitting: half of them take about 10 µs a step, well above
/// the threads' per-step hand-off (below a microsecond).
const SPLIT_MIN_NONZEROS: usize = 32 * 1024;

impl<T: Float> Reservoir<'_, T> {
    /// Whether a batch of `batch` sequences, the first `steps` long, runs split on `threads`
    /// threads: one sequence, a large sparse reservoir of one layer without state noise (deep
    /// layers must update in order within a step; noise draws follow the units' order).
    pub(crate) fn splits(&self, batch: usize, steps: Option<usize>, threads: usize) -> bool {
        batch == 1
            && threads >= PARTS
            && self.layers == 1
            && self.noise == T::from_f64(0.0)
            && self.w.nnz() >= SPLIT_MIN_NONZEROS
            && !Recurrence::dense_pays(self.w, steps.unwrap_or(0))
    }

    /// The time loop of sequence `b` alone, split (call inside the pool); returns its last state.
    pub(super) fn run_split<S: StateSink<T>>(
        &self,
        seqs: &Sequences<T>,
        lengths: &[usize],
        b: usize,
        h0: Option<&[T]>,
        sink: &mut S,
    ) -> Vec<T> {
        let n = self.units();
        let zero = T::from_f64(0.0);
        let len = lengths[b];
        let segment = projection_chunk(1, n, len);
        // Cut at a multiple of 16 units: the activations' vector tails then fall on the same
        // units as in one pass over all of them.
        let cut = (n / 2).next_multiple_of(16).min(n);
        let parts = [0..cut, cut..n];
        // Row 0: the state before the segment; row dt + 1: the state after its step dt.
        let mut states = vec![zero; (segment + 1) * n];
        if let Some(h0) = h0 {
            states[..n].copy_from_slice(&h0[b * n..(b + 1) * n]);
        }
        let mut proj = vec![zero; segment * n];
        let keep = T::from_f64(1.0) - self.leak;
        for t0 in (0..len).step_by(segment) {
            let span = segment.min(len - t0);
            self.project(seqs, lengths, &[b], t0..t0 + span, &mut [], &mut proj);
            let shared = SharedOut::new(&mut states);
            let scratch = || vec![zero; cut.max(n - cut)];
            Lockstep::new(span).run(scratch, |pre, dt, p| {
                let rows = parts[p].clone();
                let pre = &mut pre[..rows.len()];
                // SAFETY: row dt was completed by step dt - 1's items (or before the segment),
                // and this step's items write only row dt + 1, each its own units.
                let (prev, next) = unsafe {
                    (
                        shared.read(dt * n, n),
                        shared.read_mut((dt + 1) * n + rows.start, rows.len()),
                    )
                };
                self.w.mul_block(prev, pre, rows.clone(), 1, 1);
                let input = &proj[dt * n + rows.start..dt * n + rows.end];
                pre.iter_mut().zip(input).for_each(|(v, &q)| *v += q);
                self.activation.apply(pre);
                for ((v, &x), &p) in next.iter_mut().zip(&prev[rows]).zip(&*pre) {
                    *v = keep * x + self.leak * p;
                }
            });
            for dt in 0..span {
                sink.push(0, b, t0 + dt, &states[(dt + 1) * n..(dt + 2) * n]);
            }
            states.copy_within(span * n..(span + 1) * n, 0);
        }
        states.truncate(n);
        states
    }
}
