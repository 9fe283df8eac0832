//! The ridge readout, accumulated in `f64` while the states are produced.
//!
//! States never exist all at once: each group copies its post-washout states (plus a constant 1
//! for the intercept) into a chunk of at most [`CHUNK_ROWS`] rows and folds the chunk into
//! `XᵀX` (lower triangle only) and `XᵀY` with one GEMM each. Memory is O(units²) per group;
//! the number of groups is capped so that all Gram matrices together stay within
//! [`GRAM_BUDGET`] bytes. Group sums are added in group order, so the result does not depend on
//! the thread count. The normal equations are then solved by Cholesky.

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};

use super::Reservoir;
use super::reservoir::{MAX_GROUPS, StateSink, check_targets};
use crate::network::Sequences;
use crate::{Float, Result, RnnError};

/// Rows of states folded into the Gram matrix at once.
const CHUNK_ROWS: usize = 256;

/// Bytes all groups' Gram matrices may take together.
const GRAM_BUDGET: usize = 64 << 20;

/// A fitted ridge readout, in `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct RidgeFit<T> {
    /// `(outputs, units)`, row-major.
    pub coef: Vec<f64>,
    /// `(outputs,)`.
    pub intercept: Vec<f64>,
    /// `(batch, units)`: each sequence's state after its last step.
    pub last: Vec<T>,
    /// Number of time steps the readout was fitted on (after washout).
    pub n_samples: usize,
}

/// The running sums `XᵀX`, `XᵀY` of one group, `X` having a trailing column of ones.
struct Gram<'a, T> {
    targets: &'a [T],
    steps: usize,
    outputs: usize,
    washout: usize,
    width: usize,
    rows: usize,
    count: usize,
    chunk_x: Vec<f64>,
    chunk_y: Vec<f64>,
    xtx: Vec<f64>,
    xty: Vec<f64>,
}

impl<T: Float> Gram<'_, T> {
    fn flush(&mut self) {
        if self.rows == 0 {
            return;
        }
        let (w, o, r) = (self.width, self.outputs, self.rows);
        let x = MatRef::from_row_major_slice(&self.chunk_x[..r * w], r, w);
        let y = MatRef::from_row_major_slice(&self.chunk_y[..r * o], r, o);
        triangular::matmul(
            MatMut::from_row_major_slice_mut(&mut self.xtx, w, w),
            BlockStructure::TriangularLower,
            Accum::Add,
            x.transpose(),
            BlockStructure::Rectangular,
            x,
            BlockStructure::Rectangular,
            1.0,
            Par::Seq,
        );
        matmul(
            MatMut::from_row_major_slice_mut(&mut self.xty, w, o),
            Accum::Add,
            x.transpose(),
            y,
            1.0,
            Par::Seq,
        );
        self.count += r;
        self.rows = 0;
    }
}

impl<T: Float> StateSink<T> for Gram<'_, T> {
    fn push(&mut self, _c: usize, seq: usize, t: usize, state: &[T]) {
        if t < self.washout {
            return;
        }
        let (w, o, r) = (self.width, self.outputs, self.rows);
        let xr = &mut self.chunk_x[r * w..(r + 1) * w];
        xr.iter_mut().zip(state).for_each(|(d, &s)| *d = s.to_f64());
        xr[w - 1] = 1.0;
        let start = (seq * self.steps + t) * o;
        let yr = &mut self.chunk_y[r * o..(r + 1) * o];
        yr.iter_mut()
            .zip(&self.targets[start..start + o])
            .for_each(|(d, &s)| *d = s.to_f64());
        self.rows += 1;
        if self.rows == CHUNK_ROWS {
            self.flush();
        }
    }
}

/// Runs the reservoir over `seqs` from `h0` and fits `targets` (`(batch, steps, outputs)`) on
/// the states after `washout` steps of each sequence, with penalty `alpha` on the coefficients
/// (not on the intercept).
#[allow(clippy::too_many_arguments)] // one call carries the whole fit across the binding
pub fn fit_ridge<T: Float>(
    reservoir: &Reservoir<T>,
    seqs: &Sequences<T>,
    h0: Option<&[T]>,
    targets: &[T],
    outputs: usize,
    washout: usize,
    alpha: f64,
    threads: usize,
) -> Result<RidgeFit<T>> {
    check_targets(seqs, targets, outputs)?;
    if !(alpha.is_finite() && alpha >= 0.0) {
        return Err(RnnError::param(
            "alpha",
            format!("must be finite and >= 0, got {alpha}"),
        ));
    }
    let n = reservoir.units();
    let width = n + 1;
    let max_groups = (GRAM_BUDGET / (width * width * 8)).clamp(1, MAX_GROUPS);
    let (sinks, last) = reservoir.drive(seqs, h0, max_groups, threads, |_| Gram {
        targets,
        steps: seqs.steps,
        outputs,
        washout,
        width,
        rows: 0,
        count: 0,
        chunk_x: vec![0.0; CHUNK_ROWS * width],
        chunk_y: vec![0.0; CHUNK_ROWS * outputs],
        xtx: vec![0.0; width * width],
        xty: vec![0.0; width * outputs],
    })?;
    let mut xtx = vec![0.0; width * width];
    let mut xty = vec![0.0; width * outputs];
    let mut count = 0;
    for mut g in sinks {
        g.flush();
        xtx.iter_mut().zip(&g.xtx).for_each(|(a, b)| *a += b);
        xty.iter_mut().zip(&g.xty).for_each(|(a, b)| *a += b);
        count += g.count;
    }
    if count == 0 {
        return Err(RnnError::param(
            "washout",
            format!("{washout} discards every time step: nothing is left to fit"),
        ));
    }
    let solution = solve_normal_equations(&xtx, &xty, width, outputs, alpha)?;
    let coef = (0..outputs)
        .flat_map(|k| solution.col(k).iter().take(n).copied().collect::<Vec<_>>())
        .collect();
    let intercept = (0..outputs).map(|k| solution[(n, k)]).collect();
    Ok(RidgeFit {
        coef,
        intercept,
        last,
        n_samples: count,
    })
}

/// Solves `(XᵀX + alpha·I') B = XᵀY` by Cholesky, `I'` sparing the last (intercept) row.
/// `xtx` holds the lower triangle only.
fn solve_normal_equations(
    xtx: &[f64],
    xty: &[f64],
    width: usize,
    outputs: usize,
    alpha: f64,
) -> Result<Mat<f64>> {
    let a = Mat::<f64>::from_fn(width, width, |i, j| {
        let (r, c) = if i >= j { (i, j) } else { (j, i) };
        xtx[r * width + c] + if i == j && i + 1 < width { alpha } else { 0.0 }
    });
    let mut b = Mat::<f64>::from_fn(width, outputs, |i, k| xty[i * outputs + k]);
    let llt = a.llt(Side::Lower).map_err(|_| {
        RnnError::param(
            "alpha",
            format!("the state covariance is singular with alpha={alpha}; increase alpha"),
        )
    })?;
    llt.solve_in_place(b.as_mut());
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_equations_recover_an_exact_fit() {
        // X = [[1, 1], [2, 1], [3, 1]] (last column: intercept), y = 2 x + 1.
        let rows = [[1.0, 1.0], [2.0, 1.0], [3.0, 1.0]];
        let y = [3.0, 5.0, 7.0];
        let mut xtx = vec![0.0; 4];
        let mut xty = vec![0.0; 2];
        for (r, &t) in rows.iter().zip(&y) {
            for i in 0..2 {
                xty[i] += r[i] * t;
                for j in 0..=i {
                    xtx[i * 2 + j] += r[i] * r[j];
                }
            }
        }
        let b = solve_normal_equations(&xtx, &xty, 2, 1, 0.0).unwrap();
        assert!((b[(0, 0)] - 2.0).abs() < 1e-12);
        assert!((b[(1, 0)] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn singular_system_asks_for_alpha() {
        let err = solve_normal_equations(&[0.0; 4], &[0.0; 2], 2, 1, 0.0).unwrap_err();
        assert!(err.to_string().contains("alpha"));
    }
}
