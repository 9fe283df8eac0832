//! Compressed sparse row matrices: the recurrent weights of a reservoir.

use std::ops::Range;

use super::gather::row_dots;
use crate::float::check_finite;
use crate::{Float, Result, RnnError};

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

    /// The raw arrays: row offsets, column indices (all below `cols`) and values.
    pub(crate) fn parts(&self) -> (&[usize], &[u32], &[T]) {
        (&self.indptr, &self.indices, &self.values)
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
            row_dots(self, x, out, rows);
            return;
        }
        for (o, i) in out.chunks_exact_mut(stride).zip(rows) {
            let o = &mut o[..active];
            o.fill(T::from_f64(0.0));
            for (j, v) in self.row(i) {
                let xs = &x[j * stride..j * stride + active];
                o.iter_mut().zip(xs).for_each(|(a, &b)| *a += v * b);
            }
        }
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
