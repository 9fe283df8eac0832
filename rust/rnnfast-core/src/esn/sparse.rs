//! Compressed sparse row matrices: the recurrent weights of a reservoir.

use std::ops::Range;

use super::widest::widest;
use crate::float::check_finite;
use crate::{Float, Result, RnnError};

/// Columns (sequences) of a block product summed together: 16 `f32` fill one AVX-512 register.
const LANES: usize = 16;

/// Columns summed in one pass over a row's non-zeros when the block has that many: each
/// non-zero's index and value then serve two registers of sequences, which halves the
/// instructions per multiply-add (300 units, density 0.1, 64 sequences: 32.6 → 25.3 µs a
/// product on Zen 4, `benches/RESULTS.md`). Four groups in one pass ran out of registers and
/// slowed down 3x.
const PAIRED_LANES: usize = 2 * LANES;

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
    /// make every step wait for the previous addition (4 cycles), four let them overlap. (AVX-512
    /// gathers were measured no faster on the AMD Zen 5 machine we benchmark on, row by row or
    /// over SELL-16 slices: about one element per cycle, like this loop, at 1000 units.)
    fn row_dot(&self, i: usize, x: &[T]) -> T {
        let span = self.indptr[i]..self.indptr[i + 1];
        let (idx, val) = (&self.indices[span.clone()], &self.values[span]);
        let zero = T::from_f64(0.0);
        // SAFETY: every stored index is below `cols` (checked by `Csr::new`) and `x` holds at
        // least `cols` values (asserted by `mul_block`, the only caller).
        let at = |j: u32| unsafe { *x.get_unchecked(j as usize) };
        let mut acc = [zero; 4];
        let mut idx4 = idx.chunks_exact(4);
        let mut val4 = val.chunks_exact(4);
        for (ji, vi) in (&mut idx4).zip(&mut val4) {
            for k in 0..4 {
                acc[k] += vi[k] * at(ji[k]);
            }
        }
        let tail = idx4
            .remainder()
            .iter()
            .zip(val4.remainder())
            .fold(zero, |a, (&j, &v)| a + v * at(j));
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
        // The unchecked reads of the row products rely on these (once per call, not per
        // non-zero: the bounds checks in the inner loops cost a fifth of the product).
        assert!(active <= stride, "more active columns than the block has");
        assert_eq!(x.len(), self.cols * stride, "x must be (cols × stride)");
        assert_eq!(
            out.len(),
            rows.len() * stride,
            "out must be (rows × stride)"
        );
        assert!(rows.end <= self.rows, "rows out of range");
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

    /// The dense row-major copy.
    pub fn to_dense(&self) -> Vec<T> {
        let mut dense = vec![T::from_f64(0.0); self.rows * self.cols];
        for i in 0..self.rows {
            for (j, v) in self.row(i) {
                dense[i * self.cols + j] += v;
            }
        }
        dense
    }

    /// The dense row-major copy, in `f64`.
    pub fn to_dense_f64(&self) -> Vec<f64> {
        self.to_f64().to_dense()
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

/// The block product for several columns: [`PAIRED_LANES`] at a time, then [`LANES`] and a
/// partial group. Each row's sums are split four ways exactly as in [`Csr::row_dot`], one
/// register-sized array per way and lane group: the four chains of additions overlap (one chain
/// would wait for the previous addition at every non-zero), and a sequence gets the same bits
/// in a block as alone. Inlined into each instruction-set variant.
#[inline(always)]
fn mul_block_wide<T: Float>((w, x, out, rows, (stride, active)): WideArgs<'_, T>) {
    for (o, i) in out.chunks_exact_mut(stride).zip(rows) {
        let span = w.indptr[i]..w.indptr[i + 1];
        let (idx, val) = (&w.indices[span.clone()], &w.values[span]);
        let mut c0 = 0;
        // The constant widths let the full groups compile to whole-register operations (their
        // copies included: a copy of variable length is a call to `memmove`).
        while active - c0 >= PAIRED_LANES {
            let sums = paired_lane_dots(idx, val, &x[c0..], stride);
            o[c0..c0 + PAIRED_LANES].copy_from_slice(sums.as_flattened());
            c0 += PAIRED_LANES;
        }
        if active - c0 >= LANES {
            let sums = lane_dots(idx, val, &x[c0..], stride, LANES);
            o[c0..c0 + LANES].copy_from_slice(&sums);
            c0 += LANES;
        }
        let width = active - c0;
        if width > 0 {
            let sums = lane_dots(idx, val, &x[c0..], stride, width);
            o[c0..active].copy_from_slice(&sums[..width]);
        }
    }
}

/// `Σ val[k] · x[idx[k] · stride + l]` for the `width` lanes `l` (at most [`LANES`]), summed in
/// [`Csr::row_dot`]'s order.
#[inline(always)]
fn lane_dots<T: Float>(idx: &[u32], val: &[T], x: &[T], stride: usize, width: usize) -> [T; LANES] {
    let zero = T::from_f64(0.0);
    let mut acc = [[zero; LANES]; 4];
    let mut tail = [zero; LANES];
    let add = |sum: &mut [T; LANES], j: u32, v: T| {
        let start = j as usize * stride;
        // SAFETY: `x` starts at the lane group's first column `c0` of a `(cols × stride)` block
        // (asserted by `mul_block`) and `c0 + width <= stride`, so row `j < cols` (checked by
        // `Csr::new`) has its `width` values in range.
        let xs = unsafe { x.get_unchecked(start..start + width) };
        sum.iter_mut().zip(xs).for_each(|(a, &b)| *a += v * b);
    };
    let (mut idx4, mut val4) = (idx.chunks_exact(4), val.chunks_exact(4));
    for (ji, vi) in (&mut idx4).zip(&mut val4) {
        for k in 0..4 {
            add(&mut acc[k], ji[k], vi[k]);
        }
    }
    for (&j, &v) in idx4.remainder().iter().zip(val4.remainder()) {
        add(&mut tail, j, v);
    }
    reduce(&acc, &tail)
}

/// [`lane_dots`] for two full groups of [`LANES`] lanes in one pass.
#[inline(always)]
fn paired_lane_dots<T: Float>(idx: &[u32], val: &[T], x: &[T], stride: usize) -> [[T; LANES]; 2] {
    let zero = T::from_f64(0.0);
    let (mut lo, mut hi) = ([[zero; LANES]; 4], [[zero; LANES]; 4]);
    let (mut lo_tail, mut hi_tail) = ([zero; LANES], [zero; LANES]);
    let add = |lo: &mut [T; LANES], hi: &mut [T; LANES], j: u32, v: T| {
        let start = j as usize * stride;
        // SAFETY: as in `lane_dots`, with `PAIRED_LANES` columns.
        let (xl, xh) = unsafe {
            (
                x.get_unchecked(start..start + LANES),
                x.get_unchecked(start + LANES..start + PAIRED_LANES),
            )
        };
        lo.iter_mut().zip(xl).for_each(|(a, &b)| *a += v * b);
        hi.iter_mut().zip(xh).for_each(|(a, &b)| *a += v * b);
    };
    let (mut idx4, mut val4) = (idx.chunks_exact(4), val.chunks_exact(4));
    for (ji, vi) in (&mut idx4).zip(&mut val4) {
        for k in 0..4 {
            add(&mut lo[k], &mut hi[k], ji[k], vi[k]);
        }
    }
    for (&j, &v) in idx4.remainder().iter().zip(val4.remainder()) {
        add(&mut lo_tail, &mut hi_tail, j, v);
    }
    [reduce(&lo, &lo_tail), reduce(&hi, &hi_tail)]
}

/// The four ways and the tail of a lane group, added in [`Csr::row_dot`]'s order.
#[inline(always)]
fn reduce<T: Float>(acc: &[[T; LANES]; 4], tail: &[T; LANES]) -> [T; LANES] {
    std::array::from_fn(|l| (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]) + tail[l])
}

/// A random `n × n` CSR matrix for tests: each entry present with probability `density`,
/// values uniform in [-1, 1] or (sum of three uniforms) roughly normal.
#[cfg(test)]
pub(crate) fn random_csr<T: Float>(n: usize, density: f64, seed: u64, normal: bool) -> Csr<T> {
    let mut rng = crate::rng::SplitMix64::new(seed, 0);
    let (mut indptr, mut indices, mut values) = (vec![0i64], vec![], vec![]);
    for _ in 0..n {
        for j in 0..n {
            if (rng.symmetric_unit() + 1.0) / 2.0 < density {
                indices.push(j as i64);
                let v = rng.symmetric_unit();
                let v = if normal {
                    v + rng.symmetric_unit() + rng.symmetric_unit()
                } else {
                    v
                };
                values.push(T::from_f64(v));
            }
        }
        indptr.push(indices.len() as i64);
    }
    Csr::new(n, n, &indptr, &indices, &values).unwrap()
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
    fn a_column_of_a_block_has_the_bits_of_the_single_product() {
        // Rows of 0 to 11 non-zeros (every remainder of the four-way split); 20 columns (one
        // full lane group and a partial one), 56 (a pair, a full group and a partial one).
        for stride in [20, 56] {
            block_columns_match_single_products(stride);
        }
    }

    fn block_columns_match_single_products(stride: usize) {
        let n = 12;
        let mut rng = crate::rng::SplitMix64::new(3, 0);
        let (mut indptr, mut indices, mut values) = (vec![0i64], vec![], vec![]);
        for i in 0..n {
            for j in 0..i {
                indices.push(((j * 7 + i) % n) as i64);
                values.push(rng.symmetric_unit() as f32);
            }
            indptr.push(indices.len() as i64);
        }
        let m = Csr::new(n, n, &indptr, &indices, &values).unwrap();
        let x: Vec<f32> = (0..n * stride)
            .map(|_| rng.symmetric_unit() as f32)
            .collect();
        let mut block = vec![0.0; n * stride];
        m.mul_block(&x, &mut block, 0..n, stride, stride);
        for c in 0..stride {
            let column: Vec<f32> = x.iter().skip(c).step_by(stride).copied().collect();
            let mut single = vec![0.0; n];
            m.mul_block(&column, &mut single, 0..n, 1, 1);
            let from_block: Vec<f32> = block.iter().skip(c).step_by(stride).copied().collect();
            assert_eq!(from_block, single, "column {c}");
        }
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
