//! Matrix products, all row-major (the layout NumPy and PyTorch weights use).
//!
//! Products go through faer, whose x86-64 kernels dispatch to AVX-512 at run time.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use crate::Float;

/// `dst (m×n) = a (m×k) · bᵀ`, or `+=` when `accumulate`, where `b` is `n×k`.
///
/// This is the shape of every product in a recurrent layer: inputs or hidden states (rows) times
/// a PyTorch-layout weight matrix `(gates·hidden, features)`, without transposing the weights.
pub fn matmul_nt<T: Float>(
    dst: &mut [T],
    a: &[T],
    b: &[T],
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
    par: Par,
) {
    debug_assert_eq!(dst.len(), m * n);
    debug_assert_eq!(a.len(), m * k);
    debug_assert_eq!(b.len(), n * k);
    let dst = MatMut::from_row_major_slice_mut(dst, m, n);
    let lhs = MatRef::from_row_major_slice(a, m, k);
    let rhs = MatRef::from_row_major_slice(b, n, k).transpose();
    let accum = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    matmul(dst, accum, lhs, rhs, T::from_f64(1.0), par);
}

/// Adds `bias` to every row of the row-major `rows × bias.len()` matrix `dst`.
pub fn add_row_bias<T: Float>(dst: &mut [T], bias: &[T]) {
    if bias.is_empty() {
        return;
    }
    for row in dst.chunks_exact_mut(bias.len()) {
        row.iter_mut().zip(bias).for_each(|(d, &b)| *d += b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_nt_matches_naive_product() {
        let (m, n, k) = (5, 7, 3);
        let a: Vec<f64> = (0..m * k).map(|i| i as f64 * 0.5 - 3.0).collect();
        let b: Vec<f64> = (0..n * k).map(|i| (i as f64).sin()).collect();
        let mut dst = vec![1.0; m * n];
        matmul_nt(&mut dst, &a, &b, (m, n, k), true, Par::Seq);
        for i in 0..m {
            for j in 0..n {
                let want: f64 = 1.0 + (0..k).map(|p| a[i * k + p] * b[j * k + p]).sum::<f64>();
                assert!((dst[i * n + j] - want).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn row_bias_is_added_to_each_row() {
        let mut d = vec![0.0f32; 6];
        add_row_bias(&mut d, &[1.0, 2.0, 3.0]);
        assert_eq!(d, [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
    }
}
