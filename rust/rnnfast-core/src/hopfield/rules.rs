//! Learning rules: Hebbian and Storkey, both adding patterns to existing weights so that
//! `partial_fit` is the same call as `fit` on zero weights.
//!
//! - Hebbian: `W += (1/n) Σ_μ ξ^μ ξ^μᵀ`, then the diagonal is set to zero.
//! - Storkey (1997), one pattern `ξ` at a time, for `i ≠ j`:
//!   `w_ij += (ξ_i ξ_j - ξ_i h_ji - h_ij ξ_j) / n` with `h_ij = Σ_{k≠i,j} w_ik ξ_k`.
//!   With a zero diagonal and symmetric weights, `h_ij = h_i - w_ij ξ_j` where `h = W ξ`, so the
//!   update is `w_ij ← w_ij (1 + 2/n) + (ξ_i ξ_j - ξ_i h_j - h_i ξ_j) / n`: one matrix-vector
//!   product and one rank-2 update per pattern. The diagonal stays zero.
//!
//! The pseudo-inverse (projection) rule needs a matrix inverse of the patterns' Gram matrix and is
//! computed by the Python layer through LAPACK; its recall uses [`super::Memory::LowRank`].

use crate::float::check_finite;
use crate::linalg::matmul_nt;
use crate::par::{self, PARALLEL_MIN_FLOPS};
use crate::{Float, Result};

use super::{check_bipolar, expect_matrix, par_rows, rows_of};

/// Checks `weights` (`n × n`, finite) and `patterns` (`p × n`, bipolar); returns `p`.
fn validate<T: Float>(weights: &[T], patterns: &[T], n: usize) -> Result<usize> {
    let p = rows_of("patterns", patterns.len(), n)?;
    expect_matrix("weights", weights.len(), n, n)?;
    check_finite("weights", weights)?;
    check_bipolar("patterns", patterns)?;
    Ok(p)
}

fn zero_diagonal<T: Float>(weights: &mut [T], n: usize) {
    weights
        .iter_mut()
        .step_by(n + 1)
        .for_each(|w| *w = T::default());
}

/// Adds bipolar `patterns` (`p × n`, row-major) to `weights` (`n × n`) by the Hebbian rule.
///
/// The correlation counts are integers, exact in floating point, and divided by `n` once, so
/// `fit` gives each weight as the correctly rounded `count / n`.
pub fn hebbian_add<T: Float>(
    weights: &mut [T],
    patterns: &[T],
    n: usize,
    threads: usize,
) -> Result<()> {
    let p = validate(weights, patterns, n)?;
    if p == 0 {
        return Ok(());
    }
    let transposed = transpose(patterns, p, n);
    let mut counts = vec![T::default(); n * n];
    let threads = if 2 * n * n * p >= PARALLEL_MIN_FLOPS {
        threads
    } else {
        1
    };
    par::install(threads, || {
        matmul_nt(
            &mut counts,
            &transposed,
            &transposed,
            (n, n, p),
            false,
            par::faer_par(threads),
        );
    })?;
    let scale = T::from_f64(n as f64);
    weights
        .iter_mut()
        .zip(&counts)
        .for_each(|(w, &c)| *w += c / scale);
    zero_diagonal(weights, n);
    Ok(())
}

/// Adds bipolar `patterns` (`p × n`) to the symmetric, zero-diagonal `weights` (`n × n`) by
/// Storkey's rule, one pattern after the other (the rule is sequential by nature).
///
/// Each pattern costs one pass over the weights: the pass that applies pattern `μ`'s update to a
/// row also computes that row's field for pattern `μ + 1`, while the row is in cache. Rows are
/// independent within a pass and run in parallel.
pub fn storkey_add<T: Float>(
    weights: &mut [T],
    patterns: &[T],
    n: usize,
    threads: usize,
) -> Result<()> {
    validate(weights, patterns, n)?;
    let mut rows = patterns.chunks_exact(n).peekable();
    let Some(first) = rows.peek() else {
        return Ok(());
    };
    let threads = if 4 * n * n >= PARALLEL_MIN_FLOPS {
        threads
    } else {
        1
    };
    let mut field: Vec<T> = weights.chunks_exact(n).map(|w| dot(w, first)).collect();
    let mut next_field = vec![T::default(); n];
    let inv_n = T::from_f64(1.0 / n as f64);
    let keep = T::from_f64(1.0 + 2.0 / n as f64);
    while let Some(xi) = rows.next() {
        let next = rows.peek().copied();
        let h = &field;
        par_rows(threads, weights, n, &mut next_field, 1, |i, row, out| {
            let (xi_i, h_i) = (xi[i], h[i]);
            for ((w, &x_j), &h_j) in row.iter_mut().zip(xi).zip(h) {
                *w = *w * keep + (xi_i * x_j - xi_i * h_j - h_i * x_j) * inv_n;
            }
            row[i] = T::default();
            out[0] = next.map_or(T::default(), |x| dot(row, x));
        })?;
        std::mem::swap(&mut field, &mut next_field);
    }
    Ok(())
}

/// `a · b` with eight independent accumulators, so the compiler can keep them in SIMD lanes
/// (a single running sum would force one addition after the other).
pub(crate) fn dot<T: Float>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::default(); 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: T = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .fold(T::default(), |s, (&x, &y)| s + x * y);
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().fold(tail, |s, &v| s + v)
}

/// The transpose of the row-major `rows × cols` matrix `m`.
pub(crate) fn transpose<T: Float>(m: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut t = vec![T::default(); m.len()];
    for (r, row) in m.chunks_exact(cols).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            t[c * rows + r] = v;
        }
    }
    t
}
