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
    debug_assert_eq!(b.len(), n * k);
    let rhs = MatRef::from_row_major_slice(b, n, k).transpose();
    product(
        dst,
        MatRef::from_row_major_slice(a, m, k),
        rhs,
        accumulate,
        par,
    );
}

/// `dst (m×n) = a (m×k) · b`, or `+=` when `accumulate`, where `b` is `k×n`.
///
/// Backpropagation through a weight matrix: gate gradients `(rows, gates·hidden)` times the
/// PyTorch-layout weights `(gates·hidden, features)` give the gradients of the features.
pub fn matmul_nn<T: Float>(
    dst: &mut [T],
    a: &[T],
    b: &[T],
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
    par: Par,
) {
    debug_assert_eq!(b.len(), k * n);
    let rhs = MatRef::from_row_major_slice(b, k, n);
    product(
        dst,
        MatRef::from_row_major_slice(a, m, k),
        rhs,
        accumulate,
        par,
    );
}

/// `dst (m×n) = aᵀ · b`, or `+=` when `accumulate`, where `a` is `k×m` and `b` is `k×n`.
///
/// The weight gradient of a layer over all time steps at once: `(rows, gates·hidden)ᵀ` times
/// `(rows, features)`, summing over the rows in one product.
pub fn matmul_tn<T: Float>(
    dst: &mut [T],
    a: &[T],
    b: &[T],
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
    par: Par,
) {
    debug_assert_eq!(a.len(), k * m);
    debug_assert_eq!(b.len(), k * n);
    let lhs = MatRef::from_row_major_slice(a, k, m).transpose();
    product(
        dst,
        lhs,
        MatRef::from_row_major_slice(b, k, n),
        accumulate,
        par,
    );
}

fn product<T: Float>(
    dst: &mut [T],
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    accumulate: bool,
    par: Par,
) {
    debug_assert_eq!(dst.len(), lhs.nrows() * rhs.ncols());
    let dst = MatMut::from_row_major_slice_mut(dst, lhs.nrows(), rhs.ncols());
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

/// `dst[j] += Σ_rows src[row, j]`: the bias gradient of a layer over all its rows.
///
/// Computed as the product `1ᵀ·src` so that it runs on the matrix kernels' SIMD paths: a plain
/// loop over a `(steps·batch, gates·hidden)` gradient is compiled for baseline x86-64 and was
/// the largest cost of a training epoch after the products themselves.
pub fn add_column_sums<T: Float>(dst: &mut [T], src: &[T]) {
    if dst.is_empty() {
        return;
    }
    let rows = src.len() / dst.len();
    let ones = vec![T::from_f64(1.0); rows];
    matmul_tn(dst, src, &ones, (dst.len(), 1, rows), true, Par::Seq);
}

/// `a · b` with eight independent accumulators, so the compiler can keep them in SIMD lanes
/// (a single running sum would force one addition after the other), summed pairwise.
#[inline(always)]
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
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f64], b: &[f64], (m, n, k): (usize, usize, usize)) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        out
    }

    fn transpose(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        (0..cols * rows)
            .map(|i| a[(i % rows) * cols + i / rows])
            .collect()
    }

    #[test]
    fn nn_and_tn_products_match_naive_products() {
        let (m, n, k) = (4, 6, 5);
        let a: Vec<f64> = (0..m * k).map(|i| (i as f64 * 0.3).cos()).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64 * 0.7).sin()).collect();
        let want = naive(&a, &b, (m, n, k));
        let mut nn = vec![0.0; m * n];
        matmul_nn(&mut nn, &a, &b, (m, n, k), false, Par::Seq);
        let mut tn = vec![0.0; m * n];
        matmul_tn(
            &mut tn,
            &transpose(&a, m, k),
            &b,
            (m, n, k),
            false,
            Par::Seq,
        );
        for ((x, y), w) in nn.iter().zip(&tn).zip(&want) {
            assert!((x - w).abs() < 1e-12 && (y - w).abs() < 1e-12);
        }
    }

    #[test]
    fn column_sums_accumulate() {
        let mut d = vec![1.0f64, 1.0];
        add_column_sums(&mut d, &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(d, [5.0, 7.0]);
    }

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
