//! Where a group's states go: the readout, and the sinks that collect states or outputs.

use std::ops::Range;

use crate::error::expect_len;
use crate::esn::widest::widest;
use crate::float::check_finite;
use crate::{Float, Result};

/// A linear readout `y = coef · x + intercept`, `coef` being `(outputs, units)` row-major.
#[derive(Clone, Copy, Debug)]
pub struct Readout<'a, T> {
    pub coef: &'a [T],
    pub intercept: &'a [T],
}

impl<T: Float> Readout<'_, T> {
    /// Number of outputs.
    pub fn outputs(&self) -> usize {
        self.intercept.len()
    }

    pub(crate) fn check(&self, units: usize) -> Result<()> {
        expect_len(
            "readout coefficients",
            self.outputs() * units,
            self.coef.len(),
        )?;
        check_finite("readout coefficients", self.coef)?;
        check_finite("readout intercept", self.intercept)
    }

    pub(crate) fn apply(&self, state: &[T], out: &mut [T]) {
        readout_widest((self.coef, self.intercept, state, out));
    }
}

/// `(coef, intercept, state, out)` of [`Readout::apply`].
type ReadoutArgs<'a, T> = (&'a [T], &'a [T], &'a [T], &'a mut [T]);

widest! {
    /// [`readout_rows`] compiled for the widest instruction set.
    fn readout_widest<T: Float>(ReadoutArgs<'_, T>) = readout_rows;
}

#[inline(always)]
fn readout_rows<T: Float>((coef, intercept, state, out): ReadoutArgs<'_, T>) {
    let rows = coef.chunks_exact(state.len());
    for ((o, row), &b) in out.iter_mut().zip(rows).zip(intercept) {
        *o = b + dot(row, state);
    }
}

/// `a · b` with 16 independent sums, which the per-level variants turn into one or two vector
/// registers (a single running sum cannot be vectorised without reordering the additions).
#[inline(always)]
fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    const LANES: usize = 16;
    let zero = T::from_f64(0.0);
    let mut acc = [zero; LANES];
    let (mut a16, mut b16) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    for (x, y) in (&mut a16).zip(&mut b16) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let tail = a16
        .remainder()
        .iter()
        .zip(b16.remainder())
        .fold(zero, |s, (&x, &y)| s + x * y);
    acc.iter().fold(tail, |s, &v| s + v)
}

/// Receives the states of one group as they are produced.
pub(crate) trait StateSink<T: Float>: Send {
    /// The state of the group's `c`-th sequence (batch index `seq`) after step `t`.
    fn push(&mut self, c: usize, seq: usize, t: usize, state: &[T]);

    /// The states after step `t` of the group's first `members.len()` sequences (their batch
    /// indices), as columns of the `(units × stride)` block. By default each column is copied
    /// into `row` and pushed alone; sinks that can read the block's rows directly (one unit,
    /// every sequence, contiguous) override it.
    fn push_block(
        &mut self,
        members: &[usize],
        t: usize,
        block: &[T],
        stride: usize,
        row: &mut [T],
    ) {
        for (c, &b) in members.iter().enumerate() {
            for (r, &v) in row.iter_mut().zip(block.iter().skip(c).step_by(stride)) {
                *r = v;
            }
            self.push(c, b, t, row);
        }
    }
}

/// `dst(c - columns.start, i, block[i · stride + c])` for the block's columns `c` in `columns`:
/// each unit's row of the block read contiguously, written across the destinations (whose
/// lines stay in L1).
#[inline(always)]
pub(crate) fn scatter_columns<T: Float>(
    block: &[T],
    stride: usize,
    columns: Range<usize>,
    mut dst: impl FnMut(usize, usize, T),
) {
    for (i, src) in block.chunks_exact(stride).enumerate() {
        for (c, &v) in src[columns.clone()].iter().enumerate() {
            dst(c, i, v);
        }
    }
}

/// Writes states, or readout outputs, into each member's slice of the output.
pub(super) struct Collect<'o, 'r, T> {
    rows: Vec<&'o mut [T]>,
    width: usize,
    readout: Option<&'r Readout<'r, T>>,
    /// The readout's sums for one group of lanes, `(outputs, LANES)`.
    sums: Vec<[T; LANES]>,
}

impl<'o, 'r, T: Float> Collect<'o, 'r, T> {
    /// A sink writing step `t` of member `c` to `rows[c][t · width..]`: its state (`width`
    /// units) or, with `readout`, its outputs (`width` outputs).
    pub(super) fn new(
        rows: Vec<&'o mut [T]>,
        width: usize,
        readout: Option<&'r Readout<'r, T>>,
    ) -> Self {
        let sums = vec![[T::from_f64(0.0); LANES]; width];
        Self {
            rows,
            width,
            readout,
            sums,
        }
    }
}

impl<T: Float> StateSink<T> for Collect<'_, '_, T> {
    fn push(&mut self, c: usize, _seq: usize, t: usize, state: &[T]) {
        let dst = &mut self.rows[c][t * self.width..(t + 1) * self.width];
        match self.readout {
            None => dst.copy_from_slice(state),
            Some(r) => r.apply(state, dst),
        }
    }

    fn push_block(&mut self, members: &[usize], t: usize, block: &[T], stride: usize, _: &mut [T]) {
        let (w, rows) = (self.width, &mut self.rows);
        let Some(readout) = self.readout else {
            scatter_columns(block, stride, 0..members.len(), |c, i, v| {
                rows[c][t * w + i] = v
            });
            return;
        };
        for c0 in (0..members.len()).step_by(LANES) {
            let lanes = LANES.min(members.len() - c0);
            block_readout_widest((readout, block, stride, c0..c0 + lanes, &mut self.sums));
            for (c, row) in rows[c0..c0 + lanes].iter_mut().enumerate() {
                for (k, sum) in self.sums.iter().enumerate() {
                    row[t * w + k] = sum[c];
                }
            }
        }
    }
}

/// `(readout, block, stride, lanes, sums)` of [`block_readout`].
type BlockReadoutArgs<'a, T> = (
    &'a Readout<'a, T>,
    &'a [T],
    usize,
    Range<usize>,
    &'a mut [[T; LANES]],
);

widest! {
    /// [`block_readout`] compiled for the widest instruction set.
    fn block_readout_widest<T: Float>(BlockReadoutArgs<'_, T>) = block_readout;
}

/// `sums[k][l] = intercept[k] + Σ_i coef[k, i] · block[i, lanes.start + l]` for the block's
/// columns `lanes` (at most [`LANES`]): one output at a time over the unit rows (contiguous for a
/// full block), four independent sums so that the additions overlap, in registers.
#[inline(always)]
fn block_readout<T: Float>((readout, block, stride, lanes, sums): BlockReadoutArgs<'_, T>) {
    let units = block.len() / stride;
    // The constant width lets the full-block case compile to whole-register operations.
    if lanes.len() == LANES {
        block_readout_lanes(readout, block, stride, lanes.start, LANES, units, sums);
    } else {
        block_readout_lanes(
            readout,
            block,
            stride,
            lanes.start,
            lanes.len(),
            units,
            sums,
        );
    }
}

#[inline(always)]
fn block_readout_lanes<T: Float>(
    readout: &Readout<'_, T>,
    block: &[T],
    stride: usize,
    c0: usize,
    width: usize,
    units: usize,
    sums: &mut [[T; LANES]],
) {
    let zero = T::from_f64(0.0);
    for ((sum, coef), &b) in sums
        .iter_mut()
        .zip(readout.coef.chunks_exact(units))
        .zip(readout.intercept)
    {
        let mut acc = [[zero; LANES]; 4];
        let add = |a: &mut [T; LANES], i: usize, c: T| {
            let x = &block[i * stride + c0..][..width];
            a[..width].iter_mut().zip(x).for_each(|(a, &v)| *a += c * v);
        };
        let quads = coef.chunks_exact(4);
        let rest = quads.remainder();
        for (q, c4) in quads.enumerate() {
            for (k, &c) in c4.iter().enumerate() {
                add(&mut acc[k], 4 * q + k, c);
            }
        }
        for (k, &c) in rest.iter().enumerate() {
            add(&mut acc[k], units - rest.len() + k, c);
        }
        for (l, s) in sum.iter_mut().enumerate() {
            *s = b + ((acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]));
        }
    }
}

/// Sequences whose readout outputs are summed side by side: one AVX-512 register of `f32`.
const LANES: usize = 16;
