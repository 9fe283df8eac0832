//! Sparse row times dense vector, the product of a single sequence's step, with AVX-512 gathers.
//!
//! A reservoir of 1000 units at density 0.1 has 100 non-zeros per row; the portable loop
//! spends three loads per non-zero (index, value, `x[index]`), the gather kernel one vector
//! load of 16 indices, one of 16 values and one gather. Both sum in a different order, so
//! they agree to rounding, not bit for bit; the level is fixed per process
//! ([`crate::simd::active_arch`]), so a given machine always gives the same results.

use std::any::TypeId;
use std::ops::Range;

use super::Csr;
use crate::Float;

/// `out[r - rows.start] = Σ_k w[r, k] · x[k]` for each `r` in `rows`.
pub(crate) fn row_dots<T: Float>(w: &Csr<T>, x: &[T], out: &mut [T], rows: Range<usize>) {
    let (indptr, indices, values) = w.parts();
    // `Csr` keeps every column index below `cols`, so this bounds the unchecked gathers.
    assert!(x.len() >= w.cols() && out.len() >= rows.len());
    #[cfg(target_arch = "x86_64")]
    if crate::simd::active_arch() == crate::simd::Arch::Avx512 {
        let spans = &indptr[rows.start..=rows.end];
        if let (Some(v), Some(xs), Some(o)) = (cast::<T, f32>(values), cast(x), cast_mut(out)) {
            // SAFETY: AVX-512 F is available; indices are below `x.len()` (asserted above).
            unsafe { avx512::row_dots_f32(spans, indices, v, xs, o) };
            return;
        }
        if let (Some(v), Some(xs), Some(o)) = (cast::<T, f64>(values), cast(x), cast_mut(out)) {
            // SAFETY: as above.
            unsafe { avx512::row_dots_f64(spans, indices, v, xs, o) };
            return;
        }
    }
    for (o, r) in out.iter_mut().zip(rows) {
        let span = indptr[r]..indptr[r + 1];
        *o = row_dot_scalar(&indices[span.clone()], &values[span], x);
    }
}

/// One row's dot product with four independent sums: one running sum would make every step
/// wait for the previous addition (4 cycles), four let them overlap.
pub(crate) fn row_dot_scalar<T: Float>(idx: &[u32], val: &[T], x: &[T]) -> T {
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

/// `s` as a slice of `U` when `T` is `U` (the kernels below are written per precision).
fn cast<T: 'static, U: 'static>(s: &[T]) -> Option<&[U]> {
    // SAFETY: `T` and `U` are the same type, so the layout is identical.
    (TypeId::of::<T>() == TypeId::of::<U>())
        .then(|| unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<U>(), s.len()) })
}

fn cast_mut<T: 'static, U: 'static>(s: &mut [T]) -> Option<&mut [U]> {
    // SAFETY: as in `cast`.
    (TypeId::of::<T>() == TypeId::of::<U>())
        .then(|| unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<U>(), s.len()) })
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    /// Rows `spans.windows(2)` of the CSR arrays times `x`, into `out`; 16 `f32` lanes, two
    /// accumulators so that consecutive gathers overlap.
    ///
    /// # Safety
    /// AVX-512 F must be available and every index below `x.len()`.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn row_dots_f32(
        spans: &[usize],
        indices: &[u32],
        values: &[f32],
        x: &[f32],
        out: &mut [f32],
    ) {
        for (o, span) in out.iter_mut().zip(spans.windows(2)) {
            let (mut k, end) = (span[0], span[1]);
            let (mut acc0, mut acc1) = (_mm512_setzero_ps(), _mm512_setzero_ps());
            // SAFETY (all loads): `k + 16 <= end <= indices.len() == values.len()`; masked
            // lanes are not read; gathered indices are below `x.len()` (caller's contract).
            unsafe {
                while k + 32 <= end {
                    let i0 = _mm512_loadu_si512(indices.as_ptr().add(k).cast());
                    let i1 = _mm512_loadu_si512(indices.as_ptr().add(k + 16).cast());
                    let g0 = _mm512_i32gather_ps::<4>(i0, x.as_ptr());
                    let g1 = _mm512_i32gather_ps::<4>(i1, x.as_ptr());
                    acc0 = _mm512_fmadd_ps(g0, _mm512_loadu_ps(values.as_ptr().add(k)), acc0);
                    acc1 = _mm512_fmadd_ps(g1, _mm512_loadu_ps(values.as_ptr().add(k + 16)), acc1);
                    k += 32;
                }
                while k < end {
                    let lanes = (end - k).min(16);
                    let mask: __mmask16 = if lanes == 16 { !0 } else { (1 << lanes) - 1 };
                    let i = _mm512_maskz_loadu_epi32(mask, indices.as_ptr().add(k).cast());
                    let g = _mm512_mask_i32gather_ps::<4>(_mm512_setzero_ps(), mask, i, x.as_ptr());
                    let v = _mm512_maskz_loadu_ps(mask, values.as_ptr().add(k));
                    acc0 = _mm512_fmadd_ps(g, v, acc0);
                    k += lanes;
                }
            }
            *o = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
        }
    }

    /// As [`row_dots_f32`] with 8 `f64` lanes (indices loaded 8 at a time as 32-bit lanes).
    ///
    /// # Safety
    /// AVX-512 F must be available and every index below `x.len()`.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn row_dots_f64(
        spans: &[usize],
        indices: &[u32],
        values: &[f64],
        x: &[f64],
        out: &mut [f64],
    ) {
        for (o, span) in out.iter_mut().zip(spans.windows(2)) {
            let (mut k, end) = (span[0], span[1]);
            let (mut acc0, mut acc1) = (_mm512_setzero_pd(), _mm512_setzero_pd());
            // SAFETY: as in `row_dots_f32`.
            unsafe {
                while k + 16 <= end {
                    let i0 = _mm256_loadu_si256(indices.as_ptr().add(k).cast());
                    let i1 = _mm256_loadu_si256(indices.as_ptr().add(k + 8).cast());
                    let g0 = _mm512_i32gather_pd::<8>(i0, x.as_ptr());
                    let g1 = _mm512_i32gather_pd::<8>(i1, x.as_ptr());
                    acc0 = _mm512_fmadd_pd(g0, _mm512_loadu_pd(values.as_ptr().add(k)), acc0);
                    acc1 = _mm512_fmadd_pd(g1, _mm512_loadu_pd(values.as_ptr().add(k + 8)), acc1);
                    k += 16;
                }
                while k < end {
                    let lanes = (end - k).min(8);
                    let mask: __mmask8 = if lanes == 8 { !0 } else { (1 << lanes) - 1 };
                    let i = _mm256_maskz_loadu_epi32(mask, indices.as_ptr().add(k).cast());
                    let g = _mm512_mask_i32gather_pd::<8>(_mm512_setzero_pd(), mask, i, x.as_ptr());
                    let v = _mm512_maskz_loadu_pd(mask, values.as_ptr().add(k));
                    acc0 = _mm512_fmadd_pd(g, v, acc0);
                    k += lanes;
                }
            }
            *o = _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// Random CSR rows of awkward lengths (0 to 100 non-zeros) over `cols` columns.
    fn random_rows<T: Float>(cols: usize, seed: u64) -> Csr<T> {
        let mut rng = SplitMix64::new(seed, 0);
        let (mut indptr, mut indices, mut values) = (vec![0], vec![], vec![]);
        let lengths: Vec<usize> = (0..=70)
            .chain([1, 15, 16, 17, 31, 32, 33, 64, 100])
            .collect();
        for &len in &lengths {
            for _ in 0..len {
                indices.push(rng.below(cols) as i64);
                values.push(T::from_f64(rng.symmetric_unit() * 1e3));
            }
            indptr.push(indices.len() as i64);
        }
        Csr::new(lengths.len(), cols, &indptr, &indices, &values).unwrap()
    }

    fn check<T: Float>(tolerance: f64) {
        let cols = 97;
        let w = random_rows::<T>(cols, 7);
        let (indptr, indices, values) = w.parts();
        let mut rng = SplitMix64::new(8, 0);
        let x: Vec<T> = (0..cols)
            .map(|_| T::from_f64(rng.symmetric_unit()))
            .collect();
        let n = w.rows();
        let mut fast = vec![T::from_f64(0.0); n];
        row_dots(&w, &x, &mut fast, 0..n);
        for (r, got) in fast.iter().enumerate() {
            let span = indptr[r]..indptr[r + 1];
            let want = row_dot_scalar(&indices[span.clone()], &values[span.clone()], &x);
            let scale: f64 = span
                .map(|k| (values[k].to_f64() * x[indices[k] as usize].to_f64()).abs())
                .sum();
            let err = (got.to_f64() - want.to_f64()).abs();
            assert!(
                err <= tolerance * scale.max(1.0),
                "row {r}: {got:?} vs {want:?}"
            );
        }
        // A sub-range of rows lands at the start of `out`.
        let mut part = vec![T::from_f64(0.0); 3];
        row_dots(&w, &x, &mut part, 5..8);
        assert_eq!(part, fast[5..8]);
    }

    #[test]
    fn gather_kernels_match_the_scalar_twin() {
        // Sums of up to 100 terms in another order: a few ulps of the sum of magnitudes.
        check::<f32>(1e-5);
        check::<f64>(1e-13);
    }
}
