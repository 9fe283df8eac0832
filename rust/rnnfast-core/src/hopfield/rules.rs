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
use crate::linalg::{dot, matmul_nt};
use crate::par::{self, PARALLEL_MIN_FLOPS};
use crate::{Float, Result};

use super::{check_bipolar, expect_matrix, rows_of, with_simd};

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

/// Patterns per block of [`storkey_add`]: the weights are read and written a few times per
/// block instead of once per pattern.
const STORKEY_BLOCK: usize = 32;

/// Adds bipolar `patterns` (`p × n`) to the symmetric, zero-diagonal `weights` (`n × n`) by
/// Storkey's rule, one pattern after the other (the rule is sequential by nature).
///
/// Applying the rule pattern by pattern streams the whole matrix through memory twice per
/// pattern. Here patterns go in blocks of [`STORKEY_BLOCK`]: with `c = 1 + 2/n` and the update
/// `R_l = (ξ_l ξ_lᵀ - ξ_l h_lᵀ - h_l ξ_lᵀ) / n` of pattern `l`,
/// `W_{l+1} = c W_l + R_l - diag(R_l)`, so
/// - the field `W_j ξ_j` of each pattern of the block follows from `W_0 ξ_j` (one matrix product
///   for the block) by folding in the rank-2 updates of the patterns before it (`O(n)` each);
/// - the weights after the block are `c^k W_0 + Σ_l c^{k-1-l} (R_l - diag R_l)`: one scaling and
///   one rank-`2k` matrix product, and a zero diagonal.
///
/// The result equals the pattern-by-pattern rule up to rounding.
pub fn storkey_add<T: Float>(
    weights: &mut [T],
    patterns: &[T],
    n: usize,
    threads: usize,
) -> Result<()> {
    validate(weights, patterns, n)?;
    let threads = if 2 * n * n * STORKEY_BLOCK >= PARALLEL_MIN_FLOPS {
        threads
    } else {
        1
    };
    for block in patterns.chunks(STORKEY_BLOCK * n) {
        par::install(threads, || {
            storkey_block(weights, block, n, par::faer_par(threads))
        })?;
    }
    Ok(())
}

fn storkey_block<T: Float>(w: &mut [T], block: &[T], n: usize, par: faer::Par) {
    let k = block.len() / n;
    let inv_n = T::from_f64(1.0 / n as f64);
    let c = 1.0 + 2.0 / n as f64;
    // Row j: the field of pattern j, first under the weights before the block.
    let mut fields = vec![T::default(); k * n];
    matmul_nt(&mut fields, block, w, (k, n, n), false, par);
    with_simd(|| {
        for j in 1..k {
            let (done, rest) = fields.split_at_mut(j * n);
            let (h, xi) = (&mut rest[..n], &block[j * n..(j + 1) * n]);
            for (h_l, xi_l) in done.chunks_exact(n).zip(block.chunks_exact(n)) {
                // h ← c h + R_l ξ - diag(R_l) ξ, where R_l ξ = ξ_l (a - b) - h_l a.
                let a = dot(xi_l, xi) * inv_n;
                let b = dot(h_l, xi) * inv_n;
                let (c, two) = (T::from_f64(c), T::from_f64(2.0));
                let one = T::from_f64(1.0);
                for (((h, &x), &x_l), &h_l) in h.iter_mut().zip(xi).zip(xi_l).zip(h_l) {
                    let diag = (one - two * x_l * h_l) * inv_n;
                    *h = c * *h + x_l * (a - b) - h_l * a - diag * x;
                }
            }
        }
    });
    // Σ_l s_l (ξ_l (ξ_l - h_l)ᵀ - h_l ξ_lᵀ) with s_l = c^{k-1-l} / n, as U Vᵀ with 2k columns.
    let mut u = vec![T::default(); n * 2 * k];
    let mut v = vec![T::default(); n * 2 * k];
    for (l, (xi_l, h_l)) in block
        .chunks_exact(n)
        .zip(fields.chunks_exact(n))
        .enumerate()
    {
        let s = T::from_f64(c.powi((k - 1 - l) as i32) / n as f64);
        for i in 0..n {
            let row = i * 2 * k + 2 * l;
            (u[row], v[row]) = (s * xi_l[i], xi_l[i] - h_l[i]);
            (u[row + 1], v[row + 1]) = (-(s * h_l[i]), xi_l[i]);
        }
    }
    let scale = T::from_f64(c.powi(k as i32));
    with_simd(|| w.iter_mut().for_each(|w| *w *= scale));
    matmul_nt(w, &u, &v, (n, n, 2 * k), true, par);
    zero_diagonal(w, n);
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
