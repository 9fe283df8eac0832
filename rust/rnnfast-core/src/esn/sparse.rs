//! Compressed sparse row matrices: the recurrent weights of a reservoir.

use std::ops::Range;

use super::widest::widest;
use crate::float::check_finite;
use crate::{Float, Result, RnnError};

/// Columns (sequences) of a block product summed together: 16 `f32` fill one AVX-512 register.
const LANES: usize = 16;

/// A square or rectangular CSR matrix, validated once and owned.
///
/// Column indices are stored as `u32` (reservoirs are far smaller than 4 billion units) so the
/// index stream of the time loop costs half the memory bandwidth of `usize`.
#[derive(Clone, Debug, PartialEq)]
pub struct Csr<T> {
    rows: usize,
    cols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    values: Vec<T>,
}

impl<T: Float> Csr<T> {
    /// Checks SciPy-style CSR arrays (`indptr` of `rows + 1` non-decreasing offsets starting at 0,
    /// `indices` in `0..cols`) and copies them.
    pub fn new(
        rows: usize,
        cols: usize,
        indptr: &[i64],
        indices: &[i64],
        values: &[T],
    ) -> Result<Self> {
        crate::error::expect_len("indptr", rows + 1, indptr.len())?;
        crate::error::expect_len("indices (one per value)", values.len(), indices.len())?;
        check_finite("sparse values", values)?;
        let offsets: Vec<usize> = indptr
            .iter()
            .map(|&p| usize::try_from(p).unwrap_or(usize::MAX))
            .collect();
        let ordered = offsets.first() == Some(&0)
            && offsets.windows(2).all(|w| w[0] <= w[1])
            && offsets.last() == Some(&values.len());
        if !ordered {
            return Err(RnnError::param(
                "indptr",
                format!(
                    "must start at 0, never decrease and end at the number of values ({})",
                    values.len()
                ),
            ));
        }
        let indices = indices
            .iter()
            .enumerate()
            .map(|(k, &j)| {
                u32::try_from(j)
                    .ok()
                    .filter(|&j| (j as usize) < cols)
                    .ok_or_else(|| {
                        RnnError::shape(
                            format!("indices[{k}]"),
                            format!("a column in 0..{cols}"),
                            j,
                        )
                    })
            })
            .collect::<Result<Vec<u32>>>()?;
        Ok(Self {
            rows,
            cols,
            indptr: offsets,
            indices,
            values: values.to_vec(),
        })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of stored values.
    pub fn nnz(&self) -> usize {
        self.values.len()
    }

    /// The `(column, value)` pairs of row `i`.
    pub fn row(&self, i: usize) -> impl Iterator<Item = (usize, T)> + '_ {
        let span = self.indptr[i]..self.indptr[i + 1];
        self.indices[span.clone()]
            .iter()
            .zip(&self.values[span])
            .map(|(&j, &v)| (j as usize, v))
    }

    /// Row `i` times the dense vector `x`, with four independent sums: one running sum would
    /// make every step wait for the previous addition (4 cycles), four let them overlap. (An
    /// AVX-512 gather kernel was measured no faster on the AMD Zen 4 machine we benchmark on,
    /// where a 16-lane gather costs about as much as 16 scalar loads, and slower on short
    /// rows.)
    fn row_dot(&self, i: usize, x: &[T]) -> T {
        let span = self.indptr[i]..self.indptr[i + 1];
        let (idx, val) = (&self.indices[span.clone()], &self.values[span]);
        let zero = T::from_f64(0.0);
        let mut acc = [zero; 4];
        let mut idx4 = idx.chunks_exact(4);
        let mut val4 = val.chunks_exact(4);
        for (ji, vi) in (&mut idx4).zip(&mut val4) {
            for k in 0..4 {
                acc[k] += vi[k] * x[ji[k] as usize];
            }
        }
        let tail = idx4
            .remainder()
            .iter()
            .zip(val4.remainder())
            .fold(zero, |a, (&j, &v)| a + v * x[j as usize]);
        (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
    }

    /// `out[:, :active] = self[rows, :] · x[:, :active]`, where `x` is `(cols × stride)` and
    /// `out` `(rows.len() × stride)`, both row-major: one product for every running sequence of
    /// a group (each sequence is a column), so a row's indices are read once per step, not per
    /// sequence.
    pub fn mul_block(
        &self,
        x: &[T],
        out: &mut [T],
        rows: Range<usize>,
        stride: usize,
        active: usize,
    ) {
        debug_assert!(active <= stride);
        debug_assert_eq!(x.len(), self.cols * stride);
        debug_assert_eq!(out.len(), rows.len() * stride);
        if stride == 1 {
            for (o, i) in out.iter_mut().zip(rows) {
                *o = self.row_dot(i, x);
            }
            return;
        }
        mul_block_widest((self, x, out, rows, (stride, active)));
    }

    /// The same matrix with `f64` values (for the eigensolvers).
    pub fn to_f64(&self) -> Csr<f64> {
        Csr {
            rows: self.rows,
            cols: self.cols,
            indptr: self.indptr.clone(),
            indices: self.indices.clone(),
            values: self.values.iter().map(|v| v.to_f64()).collect(),
        }
    }

    /// The dense row-major copy, in `f64`.
    pub fn to_dense_f64(&self) -> Vec<f64> {
        let mut dense = vec![0.0; self.rows * self.cols];
        for i in 0..self.rows {
            for (j, v) in self.row(i) {
                dense[i * self.cols + j] += v.to_f64();
            }
        }
        dense
    }
}

/// The arguments of [`Csr::mul_block`] with more than one column, passed as one value to its
/// per-level variants.
type WideArgs<'a, T> = (
    &'a Csr<T>,
    &'a [T],
    &'a mut [T],
    Range<usize>,
    (usize, usize),
);

widest! {
    /// [`mul_block_wide`] compiled for the widest instruction set.
    fn mul_block_widest<T: Float>(WideArgs<'_, T>) = mul_block_wide;
}

/// The block product for several columns: each row's sums for [`LANES`] columns at a time
/// stay in a register-sized array across the row's non-zeros (one load and one multiply-add
/// per non-zero and lane group); inlined into each instruction-set variant.
#[inline(always)]
fn mul_block_wide<T: Float>((w, x, out, rows, (stride, active)): WideArgs<'_, T>) {
    let zero = T::from_f64(0.0);
    for (o, i) in out.chunks_exact_mut(stride).zip(rows) {
        let span = w.indptr[i]..w.indptr[i + 1];
        let (idx, val) = (&w.indices[span.clone()], &w.values[span]);
        for c0 in (0..active).step_by(LANES) {
            let width = LANES.min(active - c0);
            let mut acc = [zero; LANES];
            if width == LANES {
                for (&j, &v) in idx.iter().zip(val) {
                    let xs = &x[j as usize * stride + c0..][..LANES];
                    for l in 0..LANES {
                        acc[l] += v * xs[l];
                    }
                }
            } else {
                for (&j, &v) in idx.iter().zip(val) {
                    let xs = &x[j as usize * stride + c0..][..width];
                    acc.iter_mut().zip(xs).for_each(|(a, &b)| *a += v * b);
                }
            }
            o[c0..c0 + width].copy_from_slice(&acc[..width]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Csr<f64> {
        // [[1, 0, 2], [0, 0, 0], [0, 3, 0]]
        Csr::new(3, 3, &[0, 2, 2, 3], &[0, 2, 1], &[1.0, 2.0, 3.0]).unwrap()
    }

    #[test]
    fn block_product_matches_dense() {
        let m = sample();
        let dense = m.to_dense_f64();
        // two columns (sequences), the second inactive
        let x = [1.0, 10.0, 2.0, 20.0, 3.0, 30.0];
        let mut out = [-1.0; 6];
        m.mul_block(&x, &mut out, 0..3, 2, 1);
        for i in 0..3 {
            let want: f64 = (0..3).map(|j| dense[i * 3 + j] * x[j * 2]).sum();
            assert_eq!(out[i * 2], want);
            assert_eq!(out[i * 2 + 1], -1.0);
        }
        let mut single = [0.0; 3];
        m.mul_block(&[1.0, 2.0, 3.0], &mut single, 0..3, 1, 1);
        assert_eq!(single, [7.0, 0.0, 6.0]);
        let mut tail = [0.0; 2];
        m.mul_block(&[1.0, 2.0, 3.0], &mut tail, 1..3, 1, 1);
        assert_eq!(tail, [0.0, 6.0]);
    }

    #[test]
    fn malformed_arrays_are_rejected() {
        assert!(Csr::<f64>::new(2, 2, &[0, 1], &[0], &[1.0]).is_err());
        assert!(Csr::<f64>::new(1, 2, &[0, 1], &[2], &[1.0]).is_err());
        assert!(Csr::<f64>::new(1, 2, &[0, 2], &[0], &[1.0]).is_err());
        assert!(Csr::<f64>::new(1, 2, &[0, 1], &[-1], &[1.0]).is_err());
        assert!(Csr::<f64>::new(1, 2, &[0, 1], &[0], &[f64::NAN]).is_err());
    }
}
