//! Ridge regression by the normal equations, accumulated in `f64` one row at a time.
//!
//! Public only for the benchmarks (the module is hidden from the documentation).
//!
//! The rows (features plus a constant 1 for the intercept, and their targets) are copied into a
//! [`Chunk`] of at most [`CHUNK_ROWS`] rows, which is folded into `XᵀX` (lower triangle only)
//! and `XᵀY` with one product each ([`Sums::fold`]; [`products`] on AVX-512 up to 1024
//! columns, else faer's): memory is O(width²) whatever the number of rows. [`solve_ridge`]
//! adds the sums of several groups in the order given (so the result does not depend on which
//! thread folded which group) and solves by Cholesky with the intercept unpenalised, after
//! equilibration, or for a numerically singular system by the minimum-norm (pseudo-inverse)
//! solution. The echo state network's readout ([`super::ridge`]) and NVAR
//! ([`super::nvar`]) both fit through here.

use std::ops::Range;

use faer::linalg::matmul::matmul;
use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};

use super::reservoir::scatter_columns;
use crate::aligned::AlignedVec;
use crate::par::written_zeros;
use crate::{Float, Result, RnnError};
use products::{LANES, Product};

mod products;

/// Rows folded into the Gram matrix at once.
pub(crate) const CHUNK_ROWS: usize = 256;

/// Fewest columns for which [`Sums::fold`] cuts `XᵀX` in two blocks: below, a chunk's products
/// take about as long as the calls that start them (and no reservoir that small runs split).
const SPLIT_MIN_WIDTH: usize = 512;

/// Bytes all groups' Gram matrices may take together.
pub(crate) const GRAM_BUDGET: usize = 64 << 20;

/// A chunk of rows: features with a trailing 1, and their targets, widened to `f64`. Each row
/// starts a cache line and is padded with zeros to whole vectors (what [`products`] loads).
pub struct Chunk {
    x: AlignedVec<f64>,
    y: AlignedVec<f64>,
    width: usize,
    outputs: usize,
    /// Distance between rows of `x` and of `y`.
    x_stride: usize,
    y_stride: usize,
    pub(crate) rows: usize,
}

impl Chunk {
    /// Room for [`CHUNK_ROWS`] rows of `width` columns (the features and the constant).
    pub fn new(width: usize, outputs: usize) -> Self {
        let (x_stride, y_stride) = (
            width.next_multiple_of(LANES),
            outputs.next_multiple_of(LANES),
        );
        Self {
            x: AlignedVec::zeros(CHUNK_ROWS * x_stride),
            y: AlignedVec::zeros(CHUNK_ROWS * y_stride),
            width,
            outputs,
            x_stride,
            y_stride,
            rows: 0,
        }
    }

    /// Row `r`'s features and trailing 1.
    pub(crate) fn row(&self, r: usize) -> &[f64] {
        &self.x[r * self.x_stride..r * self.x_stride + self.width]
    }

    /// Row `r`'s targets.
    pub(crate) fn targets(&self, r: usize) -> &[f64] {
        &self.y[r * self.y_stride..r * self.y_stride + self.outputs]
    }

    /// An empty chunk of the same shape.
    pub(crate) fn emptied(&self) -> Self {
        Self::new(self.width, self.outputs)
    }

    /// Appends `features` (`width - 1` values) with a trailing 1, and `targets`; returns whether
    /// the chunk is now full.
    pub fn push<T: Float>(&mut self, features: &[T], targets: &[T]) -> bool {
        let (w, o, r) = (self.width, self.outputs, self.rows);
        let xr = &mut self.x[r * self.x_stride..][..w];
        xr.iter_mut()
            .zip(features)
            .for_each(|(d, &s)| *d = s.to_f64());
        xr[w - 1] = 1.0;
        let yr = &mut self.y[r * self.y_stride..][..o];
        yr.iter_mut()
            .zip(targets)
            .for_each(|(d, &s)| *d = s.to_f64());
        self.rows += 1;
        self.rows == CHUNK_ROWS
    }

    /// Appends the block's columns `columns` (of a `(width - 1) × stride` block) as rows, each
    /// with a trailing 1, as many as fit; the targets of column `columns.start + c` are
    /// `targets(c)`. Returns how many were appended.
    pub(crate) fn push_columns<'t, T: Float + 't>(
        &mut self,
        block: &[T],
        stride: usize,
        columns: Range<usize>,
        targets: impl Fn(usize) -> &'t [T],
    ) -> usize {
        let (w, o, r) = (self.width, self.outputs, self.rows);
        let (xs, ys) = (self.x_stride, self.y_stride);
        let take = columns.len().min(CHUNK_ROWS - r);
        let x = &mut self.x;
        let taken = columns.start..columns.start + take;
        scatter_columns(block, stride, taken, |c, i, v| {
            x[(r + c) * xs + i] = v.to_f64()
        });
        for c in 0..take {
            x[(r + c) * xs + w - 1] = 1.0;
            let yr = &mut self.y[(r + c) * ys..][..o];
            yr.iter_mut()
                .zip(targets(c))
                .for_each(|(d, &s)| *d = s.to_f64());
        }
        self.rows += take;
        take
    }
}

/// The running sums `XᵀX` (lower triangle) and `XᵀY`, `X` having a trailing column of ones.
pub struct Sums {
    width: usize,
    outputs: usize,
    count: usize,
    xtx: Vec<f64>,
    xty: Vec<f64>,
    /// Fold the two blocks of `XᵀX` on two threads of the current pool.
    parallel: bool,
}

impl Sums {
    pub fn new(width: usize, outputs: usize) -> Self {
        Self {
            width,
            outputs,
            count: 0,
            xtx: written_zeros(width * width),
            xty: written_zeros(width * outputs),
            parallel: false,
        }
    }

    /// The same sums, folding each chunk on two threads of the current pool when `parallel`
    /// (then call [`Sums::fold`] inside `par::install`).
    pub(crate) fn parallel(self, parallel: bool) -> Self {
        Self { parallel, ..self }
    }

    /// Adds a chunk's rows. From [`SPLIT_MIN_WIDTH`] columns, the lower triangle of `XᵀX` is cut
    /// into two blocks of about equal work, the triangle of its first `width / √2` rows and the
    /// rows below it, each one product whether or not they run side by side: the sums then have
    /// the same bits with one thread or two.
    pub fn fold(&mut self, chunk: &Chunk) {
        let (w, o, r) = (self.width, self.outputs, chunk.rows);
        if r == 0 {
            return;
        }
        let cut = if w >= SPLIT_MIN_WIDTH {
            (w as f64 / std::f64::consts::SQRT_2) as usize
        } else {
            0
        };
        let (top, bottom) = self.xtx.split_at_mut(cut * w);
        let xty = &mut self.xty;
        let tiles = Product::serves(w);
        let gram = |rows: Range<usize>| Product {
            a: &chunk.x,
            lda: chunk.x_stride,
            b: &chunk.x,
            ldb: chunk.x_stride,
            columns: w,
            depth: r,
            rows,
            lower: true,
        };
        let x = MatRef::from_row_major_slice_with_stride(&chunk.x, r, w, chunk.x_stride);
        let y = MatRef::from_row_major_slice_with_stride(&chunk.y, r, o, chunk.y_stride);
        let mut first = move || {
            if tiles {
                gram(0..cut).accumulate(top, w);
                return;
            }
            let dst = MatMut::from_row_major_slice_mut(top, cut, w).subcols_mut(0, cut);
            lower_gram(dst, x.subcols(0, cut), Par::Seq);
        };
        let mut rest = move || {
            if tiles {
                gram(cut..w).accumulate(bottom, w);
                let targets = Product {
                    b: &chunk.y,
                    ldb: chunk.y_stride,
                    columns: o,
                    lower: false,
                    ..gram(0..w)
                };
                targets.accumulate(xty, o);
                return;
            }
            let below = MatMut::from_row_major_slice_mut(bottom, w - cut, w);
            let (left, right) = below.split_at_col_mut(cut);
            let lead = x.subcols(cut, w - cut);
            matmul(
                left,
                Accum::Add,
                lead.transpose(),
                x.subcols(0, cut),
                1.0,
                Par::Seq,
            );
            lower_gram(right, lead, Par::Seq);
            let dst = MatMut::from_row_major_slice_mut(xty, w, o);
            matmul(dst, Accum::Add, x.transpose(), y, 1.0, Par::Seq);
        };
        if self.parallel {
            rayon::join(first, rest);
        } else {
            first();
            rest();
        }
        self.count += r;
    }
}

/// `dst += xᵀx`, lower triangle only (`dst` square).
pub(crate) fn lower_gram(dst: MatMut<'_, f64>, x: MatRef<'_, f64>, par: Par) {
    triangular::matmul(
        dst,
        BlockStructure::TriangularLower,
        Accum::Add,
        x.transpose(),
        BlockStructure::Rectangular,
        x,
        BlockStructure::Rectangular,
        1.0,
        par,
    );
}

/// A solved ridge readout, in `f64`.
#[derive(Debug)]
pub(crate) struct Solution {
    /// `(outputs, width - 1)`, row-major.
    pub coef: Vec<f64>,
    /// `(outputs,)`.
    pub intercept: Vec<f64>,
    /// Number of rows fitted.
    pub n_samples: usize,
}

/// Fails unless the ridge penalty is finite and non-negative.
pub(crate) fn check_alpha(alpha: f64) -> Result<()> {
    if alpha.is_finite() && alpha >= 0.0 {
        Ok(())
    } else {
        Err(RnnError::param(
            "alpha",
            format!("must be finite and >= 0, got {alpha}"),
        ))
    }
}

/// Adds the groups' sums in order and solves the ridge problem with penalty `alpha` on the
/// coefficients (not the intercept); `empty` is the error when no row was folded.
pub(crate) fn solve_ridge(
    groups: impl IntoIterator<Item = Sums>,
    width: usize,
    outputs: usize,
    alpha: f64,
    empty: impl FnOnce() -> RnnError,
) -> Result<Solution> {
    // The first group's sums become the total (no extra O(width²) buffer), then the others
    // are added in group order.
    let mut groups = groups.into_iter();
    let mut total = groups.next().unwrap_or_else(|| Sums::new(width, outputs));
    for g in groups {
        total.xtx.iter_mut().zip(&g.xtx).for_each(|(a, b)| *a += b);
        total.xty.iter_mut().zip(&g.xty).for_each(|(a, b)| *a += b);
        total.count += g.count;
    }
    let Sums {
        xtx, xty, count, ..
    } = total;
    if count == 0 {
        return Err(empty());
    }
    let solution = solve_normal_equations(xtx, &xty, width, outputs, alpha)?;
    let n = width - 1;
    let coef = (0..outputs)
        .flat_map(|k| solution.col(k).iter().take(n).copied().collect::<Vec<_>>())
        .collect();
    let intercept = (0..outputs).map(|k| solution[(n, k)]).collect();
    Ok(Solution {
        coef,
        intercept,
        n_samples: count,
    })
}

/// Solves `(XᵀX + alpha·I') B = XᵀY` by Cholesky, `I'` sparing the last (intercept) row.
/// `xtx` holds the lower triangle only; it is freed once copied into the full matrix.
///
/// The system is first equilibrated, `D A D (D⁻¹ B) = D XᵀY` with `D = diag(A)^(-1/2)` (unit
/// diagonal): the same solution, but columns of very different sizes (NVAR's monomials of
/// values ~10 reach ~1e5 at degree 3) no longer make a positive definite matrix fail the
/// factorisation in floating point. Diagonal scaling is close to the best for this
/// (van der Sluis, 1969).
fn solve_normal_equations(
    xtx: Vec<f64>,
    xty: &[f64],
    width: usize,
    outputs: usize,
    alpha: f64,
) -> Result<Mat<f64>> {
    let penalised = |i: usize| if i + 1 < width { alpha } else { 0.0 };
    let scale: Vec<f64> = (0..width)
        .map(|i| {
            let d = xtx[i * width + i] + penalised(i);
            if d > 0.0 { 1.0 / d.sqrt() } else { 1.0 }
        })
        .collect();
    let a = Mat::<f64>::from_fn(width, width, |i, j| {
        let (r, c) = if i >= j { (i, j) } else { (j, i) };
        let v = xtx[r * width + c] + if i == j { penalised(i) } else { 0.0 };
        v * scale[i] * scale[j]
    });
    // Only the matrix and its factor need to coexist (at 2000 units each is 32 MB).
    drop(xtx);
    let mut b = Mat::<f64>::from_fn(width, outputs, |i, k| xty[i * outputs + k] * scale[i]);
    match a.llt(Side::Lower) {
        Ok(llt) => {
            drop(a);
            llt.solve_in_place(b.as_mut());
        }
        Err(_) => b = pseudo_solve(a, &b)?,
    }
    Ok(Mat::from_fn(width, outputs, |i, k| b[(i, k)] * scale[i]))
}

/// The minimum-norm solution of a numerically singular symmetric system `A X = B`, as NumPy's
/// `lstsq` gives it: eigenvalues below `width · ε · λ_max` count as zero. The fallback when
/// Cholesky fails (NVAR's higher monomials of slowly varying delays are nearly collinear,
/// beyond what a small `alpha` can lift).
pub(crate) fn pseudo_solve(a: Mat<f64>, b: &Mat<f64>) -> Result<Mat<f64>> {
    let evd = a
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| RnnError::Numerical {
            what: "the eigensolver did not converge on the ridge normal equations".into(),
        })?;
    let (u, s) = (evd.U(), evd.S().column_vector());
    let largest = s.iter().fold(0.0_f64, |m, &v| m.max(v.abs()));
    let cutoff = largest * a.nrows() as f64 * f64::EPSILON;
    let mut c = u.transpose() * b;
    for (i, &l) in s.iter().enumerate() {
        let inverse = if l > cutoff { 1.0 / l } else { 0.0 };
        c.row_mut(i).iter_mut().for_each(|v| *v *= inverse);
    }
    Ok(u * c)
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
        let b = solve_normal_equations(xtx, &xty, 2, 1, 0.0).unwrap();
        assert!((b[(0, 0)] - 2.0).abs() < 1e-12);
        assert!((b[(1, 0)] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn columns_of_very_different_sizes_still_factor() {
        // y = 2 a + 3e-6 b + 1 with b ~ 1e6 a: XᵀX spans twelve orders of magnitude.
        let mut chunk = Chunk::new(3, 1);
        let mut sums = Sums::new(3, 1);
        for i in 0..200_u32 {
            let a = f64::from(i % 17) / 17.0 - 0.4;
            let b = 1e6 * (f64::from(i % 5) - 2.0 + a * a);
            if chunk.push(&[a, b], &[2.0 * a + 3e-6 * b + 1.0]) {
                sums.fold(&chunk);
                chunk.rows = 0;
            }
        }
        sums.fold(&chunk);
        let fit = solve_ridge([sums], 3, 1, 0.0, || RnnError::param("rows", "none")).unwrap();
        assert!((fit.coef[0] - 2.0).abs() < 1e-8, "{:?}", fit.coef);
        assert!((fit.coef[1] - 3e-6).abs() < 1e-14 && (fit.intercept[0] - 1.0).abs() < 1e-8);
    }

    #[test]
    fn singular_systems_get_the_minimum_norm_solution() {
        // Two identical columns (and the intercept): the weight is shared equally between them.
        let mut chunk = Chunk::new(3, 1);
        for i in 0..10_u32 {
            let a = f64::from(i);
            chunk.push(&[a, a], &[4.0 * a]);
        }
        let mut sums = Sums::new(3, 1);
        sums.fold(&chunk);
        let fit = solve_ridge([sums], 3, 1, 0.0, || RnnError::param("rows", "none")).unwrap();
        assert!((fit.coef[0] - 2.0).abs() < 1e-9 && (fit.coef[1] - 2.0).abs() < 1e-9);
        assert!(fit.intercept[0].abs() < 1e-9);
        let zero = solve_normal_equations(vec![0.0; 4], &[0.0; 2], 2, 1, 0.0).unwrap();
        assert!(zero.col(0).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn chunks_fold_to_the_sums_of_their_rows() {
        // y = 3 x - 1 over 600 rows: three chunks, the last one partial.
        let mut chunk = Chunk::new(2, 1);
        let mut groups = vec![Sums::new(2, 1), Sums::new(2, 1)];
        for i in 0..600_u32 {
            let x = f64::from(i) / 100.0;
            let g = &mut groups[i as usize % 2];
            if chunk.push(&[x], &[3.0 * x - 1.0]) {
                g.fold(&chunk);
                chunk.rows = 0;
            }
        }
        groups[1].fold(&chunk);
        let fit = solve_ridge(groups, 2, 1, 0.0, || RnnError::param("rows", "none")).unwrap();
        assert_eq!(fit.n_samples, 600);
        assert!((fit.coef[0] - 3.0).abs() < 1e-9 && (fit.intercept[0] + 1.0).abs() < 1e-9);
        let empty = solve_ridge([], 2, 1, 0.0, || RnnError::param("rows", "none"));
        assert!(empty.unwrap_err().to_string().contains("rows"));
    }

    #[test]
    fn wide_sums_have_the_same_bits_on_one_thread_or_two() {
        // 600 columns: the lower triangle is cut in two blocks, folded side by side or not.
        let (n, outputs) = (599, 3);
        let mut rng = crate::rng::SplitMix64::new(11, 2);
        let mut chunk = Chunk::new(n + 1, outputs);
        for _ in 0..200 {
            let row: Vec<f64> = (0..n).map(|_| rng.symmetric_unit()).collect();
            let target: Vec<f64> = (0..outputs).map(|_| rng.symmetric_unit()).collect();
            chunk.push(&row, &target);
        }
        let one = {
            let mut sums = Sums::new(n + 1, outputs);
            sums.fold(&chunk);
            sums
        };
        let two = crate::par::install(2, || {
            let mut sums = Sums::new(n + 1, outputs).parallel(true);
            sums.fold(&chunk);
            sums
        })
        .unwrap();
        assert_eq!(one.xtx, two.xtx);
        assert_eq!(one.xty, two.xty);
        // Against the plain sums of the chunk's rows (the intercept's column included).
        for (i, j) in [(0, 0), (5, 3), (599, 0), (599, 599), (423, 422), (300, 17)] {
            let want: f64 = (0..chunk.rows)
                .map(|r| chunk.row(r)[i] * chunk.row(r)[j])
                .sum();
            assert!(
                (one.xtx[i * (n + 1) + j] - want).abs() < 1e-10,
                "({i}, {j})"
            );
        }
        for (i, k) in [(0, 0), (599, 2), (311, 1)] {
            let want: f64 = (0..chunk.rows)
                .map(|r| chunk.row(r)[i] * chunk.targets(r)[k])
                .sum();
            assert!(
                (one.xty[i * outputs + k] - want).abs() < 1e-10,
                "({i}, {k})"
            );
        }
    }
}
