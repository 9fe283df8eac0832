//! AVX-512 F kernels (16 `f32` lanes); tails use masked loads and stores, so any length works.
//!
//! Same approximations as [`super::scalar`]. `min`/`max` take the input as their second operand
//! so that NaN propagates (x86 returns the second operand when either is NaN).

use std::arch::x86_64::*;

use super::scalar::{EXP_HI, EXP_LO, EXP_POLY, LN2_HI, LN2_LO, LOG2E};

const LANES: usize = 16;

#[inline]
#[target_feature(enable = "avx512f")]
fn horner(coeffs: &[f32], x: __m512) -> __m512 {
    coeffs[1..]
        .iter()
        .fold(_mm512_set1_ps(coeffs[0]), |acc, &c| {
            _mm512_fmadd_ps(acc, x, _mm512_set1_ps(c))
        })
}

/// `(n, p)` with `exp(±x) = 2^n · (1 + p)` (`-x` when `NEGATE`), as `scalar::exp_reduced`.
///
/// The negation is folded into the reduction: `x·(-log2 e)` and `-(n·ln2_hi) - x` round exactly
/// as `(-x)·log2 e` and `-(n·ln2_hi) + (-x)` do, so `exp(-x)` costs no extra instruction and
/// keeps the bits of `exp(0 - x)`.
#[inline]
#[target_feature(enable = "avx512f")]
fn exp_reduced<const NEGATE: bool>(x: __m512) -> (__m512, __m512) {
    let log2e = if NEGATE { -LOG2E } else { LOG2E };
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(x, _mm512_set1_ps(log2e)),
    );
    let ln2_hi = _mm512_set1_ps(LN2_HI);
    let r = if NEGATE {
        _mm512_fnmsub_ps(n, ln2_hi, x)
    } else {
        _mm512_fnmadd_ps(n, ln2_hi, x)
    };
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
    (
        n,
        _mm512_fmadd_ps(horner(&EXP_POLY, r), _mm512_mul_ps(r, r), r),
    )
}

/// `sigmoid` of 16 lanes: what [`sigmoid`] computes for each element.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn sigmoid_v(x: __m512) -> __m512 {
    // `-x` clamped to [EXP_LO, EXP_HI], as `scalar::exp_f32` clamps its argument.
    let x = _mm512_max_ps(
        _mm512_set1_ps(-EXP_HI),
        _mm512_min_ps(_mm512_set1_ps(-EXP_LO), x),
    );
    let (n, p) = exp_reduced::<true>(x);
    let one = _mm512_set1_ps(1.0);
    let e = _mm512_scalef_ps(_mm512_add_ps(p, one), n);
    _mm512_div_ps(one, _mm512_add_ps(one, e))
}

/// `tanh` of 16 lanes: what [`tanh`] computes for each element.
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) fn tanh_v(x: __m512) -> __m512 {
    let sign_mask = _mm512_set1_epi32(i32::MIN);
    let bits = _mm512_castps_si512(x);
    let sign = _mm512_and_si512(bits, sign_mask);
    let a = _mm512_castsi512_ps(_mm512_andnot_si512(sign_mask, bits));
    let (n, p) = exp_reduced::<false>(_mm512_min_ps(_mm512_set1_ps(EXP_HI), _mm512_add_ps(a, a)));
    let one = _mm512_set1_ps(1.0);
    let scale = _mm512_scalef_ps(one, n);
    let m = _mm512_fmadd_ps(scale, p, _mm512_sub_ps(scale, one));
    let t = _mm512_div_ps(m, _mm512_add_ps(m, _mm512_set1_ps(2.0)));
    _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(t), sign))
}

#[inline]
#[target_feature(enable = "avx512f")]
fn map(x: &mut [f32], f: impl Fn(__m512) -> __m512) {
    let mut chunks = x.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        // SAFETY: the chunk holds exactly 16 initialised f32.
        unsafe {
            let v = _mm512_loadu_ps(chunk.as_ptr());
            _mm512_storeu_ps(chunk.as_mut_ptr(), f(v));
        }
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        let mask: __mmask16 = (1u32 << tail.len()).wrapping_sub(1) as __mmask16;
        // SAFETY: the mask enables only the `tail.len()` lanes that lie inside the slice.
        unsafe {
            let v = _mm512_maskz_loadu_ps(mask, tail.as_ptr());
            _mm512_mask_storeu_ps(tail.as_mut_ptr(), mask, f(v));
        }
    }
}

/// # Safety
/// The CPU must support AVX-512 F.
#[target_feature(enable = "avx512f")]
pub unsafe fn sigmoid(x: &mut [f32]) {
    map(x, |v| sigmoid_v(v))
}

/// # Safety
/// The CPU must support AVX-512 F.
#[target_feature(enable = "avx512f")]
pub unsafe fn tanh(x: &mut [f32]) {
    map(x, |v| tanh_v(v))
}
