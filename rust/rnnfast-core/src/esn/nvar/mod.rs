//! Next-generation reservoir computing (NVAR; Gauthier et al., 2021): no recurrent network; the
//! features at step `t` are the input at `delay` time points `stride` steps apart (the linear
//! part, most recent first: `u[t], u[t - stride], ...`) and the unique monomials of degree 2 to
//! `order` of those values, in `itertools.combinations_with_replacement` order (lexicographic
//! index tuples). A ridge readout with an unpenalised intercept (the constant feature) maps them
//! to the targets.
//!
//! One feature row is computed at a time into a scratch buffer, never the design matrix: a fit
//! folds rows into the normal equations of [`super::gram`] (memory O(features²)), a run applies
//! the readout row by row, and the closed loop keeps its last inputs in a ring. Inputs before a
//! sequence's first step come from a given history (the end of the series before it) or are
//! zero. Nothing is recurrent, so sequences run in parallel and the thread count never changes
//! a result.

use rayon::prelude::*;

use super::Readout;
use super::gram::{Chunk, Sums, check_alpha, solve_ridge};
use super::reservoir::check_targets;
use crate::error::expect_len;
use crate::float::check_finite;
use crate::network::Sequences;
use crate::par::{self, PARALLEL_MIN_FLOPS};
use crate::{Float, Result, RnnError};

/// Most features (linear part and monomials) a map may have: the fit's Gram matrix then takes
/// 2 GiB in `f64`, and each row of a chunk 128 KiB.
pub const MAX_FEATURES: usize = 1 << 14;

/// A validated NVAR feature map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nvar {
    inputs: usize,
    delay: usize,
    stride: usize,
    /// Degree `m`'s monomials occupy `blocks[m - 1]..blocks[m]` of a feature row (`blocks[0]`
    /// is 0, `blocks[1]` the linear width).
    blocks: Vec<usize>,
    /// `tails[(m - 1) * linear + i]`, for degrees `m` below `order`: where, within degree `m`'s
    /// block, the monomials whose indices are all `>= i` start. In lexicographic order they are
    /// a suffix, and multiplying that suffix by linear value `i` gives, for `i = 0, 1, ...`,
    /// the next degree's block in order.
    tails: Vec<usize>,
}

/// A fitted NVAR readout, in `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct NvarFit {
    /// `(outputs, features)`, row-major.
    pub coef: Vec<f64>,
    /// `(outputs,)`.
    pub intercept: Vec<f64>,
    /// Number of time steps fitted.
    pub n_samples: usize,
}

impl Nvar {
    /// The map of `inputs` features with `delay` time points `stride` steps apart and monomials
    /// up to degree `order`; all four at least 1, and at most [`MAX_FEATURES`] features.
    pub fn new(inputs: usize, delay: usize, stride: usize, order: usize) -> Result<Self> {
        for (name, value) in [
            ("features", inputs),
            ("delay", delay),
            ("stride", stride),
            ("order", order),
        ] {
            if value == 0 {
                return Err(RnnError::param(name, "must be at least 1"));
            }
        }
        let too_many = || {
            RnnError::param(
                "order",
                format!(
                    "{inputs} features at {delay} delays up to degree {order} give more than \
                     {MAX_FEATURES} NVAR features"
                ),
            )
        };
        // The closed loop keeps `(delay - 1) * stride + 1` inputs: that count must exist.
        (delay - 1)
            .checked_mul(stride)
            .and_then(|h| h.checked_add(1))
            .ok_or_else(|| {
                RnnError::param("stride", format!("{stride} x delay {delay} overflows"))
            })?;
        let linear = inputs
            .checked_mul(delay)
            .filter(|&l| l <= MAX_FEATURES)
            .ok_or_else(too_many)?;
        let mut blocks = vec![0, linear];
        let mut tails = Vec::new();
        // count[r]: the monomials of the current degree m in r variables, C(r + m - 1, m).
        let mut count: Vec<usize> = (0..=linear).collect();
        for m in 2..=order {
            let total = count[linear];
            tails.extend((0..linear).map(|i| total - count[linear - i]));
            for (r, c) in count.iter_mut().enumerate() {
                // C(r + m - 1, m) = C(r + m - 2, m - 1) (r + m - 1) / m, exactly.
                *c = c.checked_mul(r + m - 1).ok_or_else(too_many)? / m;
            }
            let end = blocks[m - 1] + count[linear];
            if end > MAX_FEATURES {
                return Err(too_many());
            }
            blocks.push(end);
        }
        Ok(Self {
            inputs,
            delay,
            stride,
            blocks,
            tails,
        })
    }

    /// Number of input features.
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Number of NVAR features (the constant excluded).
    pub fn width(&self) -> usize {
        self.blocks[self.blocks.len() - 1]
    }

    /// Steps of history a feature row reaches back: `(delay - 1) * stride`.
    pub fn history_len(&self) -> usize {
        (self.delay - 1) * self.stride
    }

    /// Fills `row` (`width` values) with the features of step `t` of `data` (`(steps, inputs)`),
    /// reading steps before the first from `history` (`(history_len, inputs)`) or zeros.
    #[inline]
    fn features<T: Float>(&self, row: &mut [T], data: &[T], history: Option<&[T]>, t: usize) {
        let (d, h) = (self.inputs, self.history_len());
        for (k, dst) in row[..d * self.delay].chunks_exact_mut(d).enumerate() {
            let lag = k * self.stride;
            if lag <= t {
                dst.copy_from_slice(&data[(t - lag) * d..(t - lag + 1) * d]);
            } else if let Some(history) = history {
                // lag <= h, so the row lies inside the history.
                let p = h - (lag - t);
                dst.copy_from_slice(&history[p * d..(p + 1) * d]);
            } else {
                dst.fill(T::from_f64(0.0));
            }
        }
        self.expand(row);
    }

    /// Fills the monomials of `row` from its linear part, one degree from the one below.
    #[inline]
    fn expand<T: Float>(&self, row: &mut [T]) {
        let linear = self.blocks[1];
        for m in 2..self.blocks.len() {
            let (done, rest) = row.split_at_mut(self.blocks[m - 1]);
            let below = &done[self.blocks[m - 2]..];
            let tails = &self.tails[(m - 2) * linear..(m - 1) * linear];
            let mut out = rest.iter_mut();
            for (&v, &start) in done[..linear].iter().zip(tails) {
                // The suffix comes first in the zip: when it ends, `out` has not moved on.
                for (&p, o) in below[start..].iter().zip(&mut out) {
                    *o = v * p;
                }
            }
        }
    }

    /// Checks a batch's history: `(batch, history_len, inputs)`, finite.
    fn check_history<T: Float>(&self, batch: usize, history: Option<&[T]>) -> Result<()> {
        if let Some(history) = history {
            // Saturated, an impossible length: never equal to a real slice's.
            let expected = batch
                .saturating_mul(self.history_len())
                .saturating_mul(self.inputs);
            expect_len(
                "history (batch x (delay - 1) stride x features)",
                expected,
                history.len(),
            )?;
            check_finite("history", history)?;
        }
        Ok(())
    }

    /// The features, or the outputs of `readout` when given, at every step of every sequence,
    /// `(batch, steps, width)`; padding steps are zero. `history` is `(batch, history_len,
    /// inputs)`, zeros when absent.
    pub fn run<T: Float>(
        &self,
        seqs: &Sequences<T>,
        history: Option<&[T]>,
        readout: Option<&Readout<T>>,
        threads: usize,
    ) -> Result<Vec<T>> {
        let lengths = seqs.checked_lengths(self.inputs)?;
        self.check_history(seqs.batch, history)?;
        let width = match readout {
            Some(r) => {
                r.check(self.width())?;
                if r.outputs() == 0 {
                    return Err(RnnError::param("outputs", "must be at least 1"));
                }
                r.outputs()
            }
            None => self.width(),
        };
        let (d, h, zero) = (self.inputs, self.history_len(), T::from_f64(0.0));
        let mut values = vec![zero; seqs.batch * seqs.steps * width];
        let one = |(b, out): (usize, &mut [T])| {
            let data = &seqs.data[b * seqs.steps * d..(b + 1) * seqs.steps * d];
            let past = history.map(|p| &p[b * h * d..(b + 1) * h * d]);
            let mut row = vec![zero; self.width()];
            for (t, dst) in out.chunks_exact_mut(width).take(lengths[b]).enumerate() {
                match readout {
                    Some(r) => {
                        self.features(&mut row, data, past, t);
                        r.apply(&row, dst);
                    }
                    None => self.features(dst, data, past, t),
                }
            }
        };
        let per_step = self.width() * (width + 1);
        let flops = 2 * per_step * lengths.iter().sum::<usize>();
        let per_seq = seqs.steps * width;
        if threads > 1 && seqs.batch > 1 && flops >= PARALLEL_MIN_FLOPS {
            par::install(threads, || {
                values.par_chunks_mut(per_seq).enumerate().for_each(one)
            })?;
        } else {
            values.chunks_mut(per_seq).enumerate().for_each(one);
        }
        Ok(values)
    }

    /// Fits a ridge readout of `targets` (`(batch, steps, outputs)`) with penalty `alpha` on the
    /// coefficients (not the intercept). Every sequence starts from zeros and its first
    /// `history_len` steps, whose delays reach before its start, are not fitted.
    pub fn fit<T: Float>(
        &self,
        seqs: &Sequences<T>,
        targets: &[T],
        outputs: usize,
        alpha: f64,
    ) -> Result<NvarFit> {
        let lengths = seqs.checked_lengths(self.inputs)?;
        check_targets(seqs, targets, outputs)?;
        check_alpha(alpha)?;
        let (d, skip, n) = (self.inputs, self.history_len(), self.width());
        let mut row = vec![T::from_f64(0.0); n];
        let mut chunk = Chunk::new(n + 1, outputs);
        let mut sums = Sums::new(n + 1, outputs);
        for (b, &len) in lengths.iter().enumerate() {
            let data = &seqs.data[b * seqs.steps * d..(b + 1) * seqs.steps * d];
            for t in skip..len {
                self.features(&mut row, data, None, t);
                let start = (b * seqs.steps + t) * outputs;
                if chunk.push(&row, &targets[start..start + outputs]) {
                    sums.fold(&chunk);
                    chunk.rows = 0;
                }
            }
        }
        sums.fold(&chunk);
        let longest = lengths.iter().max().copied().unwrap_or(0);
        let fit = solve_ridge([sums], n + 1, outputs, alpha, || {
            RnnError::shape(
                "input",
                format!(
                    "a sequence longer than the {skip} steps of history a feature row needs \
                     ((delay - 1) * stride)"
                ),
                format!("{longest} steps at most"),
            )
        })?;
        Ok(NvarFit {
            coef: fit.coef,
            intercept: fit.intercept,
            n_samples: fit.n_samples,
        })
    }

    /// Closed loop from `window` (`(history_len + 1, inputs)`: the last known inputs, oldest
    /// first): the readout's prediction of the next input is appended to the window (dropping
    /// the oldest) and fed back, `n_steps + 1` times. As [`super::Reservoir::forecast`] does,
    /// the first prediction (of the input right after the window) is fed back without being
    /// returned: row `k` of the result, `(n_steps, inputs)`, predicts the input `k + 2` steps
    /// after the window's last. Needs as many outputs as inputs.
    pub fn forecast<T: Float>(
        &self,
        window: &[T],
        readout: &Readout<T>,
        n_steps: usize,
    ) -> Result<Vec<T>> {
        let (d, rows) = (self.inputs, self.history_len() + 1);
        readout.check(self.width())?;
        if readout.outputs() != d {
            return Err(RnnError::param(
                "forecast",
                format!(
                    "the {} outputs are fed back as the {d} inputs: they must match",
                    readout.outputs()
                ),
            ));
        }
        expect_len(
            "window ((delay - 1) stride + 1 steps x features)",
            rows.saturating_mul(d),
            window.len(),
        )?;
        check_finite("window", window)?;
        let total = n_steps
            .checked_mul(d)
            .ok_or_else(|| RnnError::param("n_steps", format!("{n_steps} is too large")))?;
        let zero = T::from_f64(0.0);
        let mut out = vec![zero; total];
        let mut ring = window.to_vec();
        let mut row = vec![zero; self.width()];
        let mut y = vec![zero; d];
        let mut newest = rows - 1;
        for step in 0..=n_steps {
            for (k, dst) in row[..d * self.delay].chunks_exact_mut(d).enumerate() {
                // k * stride <= history_len < rows.
                let r = (newest + rows - k * self.stride) % rows;
                dst.copy_from_slice(&ring[r * d..(r + 1) * d]);
            }
            self.expand(&mut row);
            readout.apply(&row, &mut y);
            if step > 0 {
                out[(step - 1) * d..step * d].copy_from_slice(&y);
            }
            newest = (newest + 1) % rows;
            ring[newest * d..(newest + 1) * d].copy_from_slice(&y);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
