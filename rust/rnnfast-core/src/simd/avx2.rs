//! AVX2 + FMA kernels (8 `f32` lanes); the tail goes through a padded stack buffer.
//!
//! Same approximations as [`super::scalar`]; see [`super::avx512`] for the NaN convention.

use std::arch::x86_64::*;

use super::scalar::{EXP_HI, EXP_LO, EXP_POLY, LN2_HI, LN2_LO, LOG2E};

const LANES: usize = 8;

#[inline]
#[target_feature(enable = "avx2,fma")]
fn horner(coeffs: &[f32], x: __m256) -> __m256 {
    coeffs[1..]
        .iter()
        .fold(_mm256_set1_ps(coeffs[0]), |acc, &c| {
            _mm256_fmadd_ps(acc, x, _mm256_set1_ps(c))
        })
}

/// `(2^n, p)` with `exp(±x) = 2^n · (1 + p)` (`-x` when `NEGATE`, the negation folded in as in
/// [`super::avx512`]), as `scalar::exp_reduced`; `±x` must lie in `[EXP_LO, EXP_HI]` (or be
/// NaN), which keeps `n` in [-126, 127].
#[inline]
#[target_feature(enable = "avx2,fma")]
fn exp_reduced<const NEGATE: bool>(x: __m256) -> (__m256, __m256) {
    let log2e = if NEGATE { -LOG2E } else { LOG2E };
    let n = _mm256_round_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_ps(
        x,
        _mm256_set1_ps(log2e),
    ));
    let ln2_hi = _mm256_set1_ps(LN2_HI);
    let r = if NEGATE {
        _mm256_fnmsub_ps(n, ln2_hi, x)
    } else {
        _mm256_fnmadd_ps(n, ln2_hi, x)
    };
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(LN2_LO), r);
    let p = _mm256_fmadd_ps(horner(&EXP_POLY, r), _mm256_mul_ps(r, r), r);
    // 2^n built in the exponent field.
    let pow2 = _mm256_slli_epi32::<23>(_mm256_add_epi32(
        _mm256_cvtps_epi32(n),
        _mm256_set1_epi32(127),
    ));
    (_mm256_castsi256_ps(pow2), p)
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn sigmoid_v(x: __m256) -> __m256 {
    // `-x` clamped to [EXP_LO, EXP_HI], as `scalar::exp_f32` clamps its argument.
    let x = _mm256_max_ps(
        _mm256_set1_ps(-EXP_HI),
        _mm256_min_ps(_mm256_set1_ps(-EXP_LO), x),
    );
    let (scale, p) = exp_reduced::<true>(x);
    let one = _mm256_set1_ps(1.0);
    let e = _mm256_mul_ps(_mm256_add_ps(p, one), scale);
    _mm256_div_ps(one, _mm256_add_ps(one, e))
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn tanh_v(x: __m256) -> __m256 {
    let sign_mask = _mm256_set1_ps(-0.0);
    let sign = _mm256_and_ps(x, sign_mask);
    let a = _mm256_andnot_ps(sign_mask, x);
    let (scale, p) =
        exp_reduced::<false>(_mm256_min_ps(_mm256_set1_ps(EXP_HI), _mm256_add_ps(a, a)));
    let one = _mm256_set1_ps(1.0);
    let m = _mm256_fmadd_ps(scale, p, _mm256_sub_ps(scale, one));
    let t = _mm256_div_ps(m, _mm256_add_ps(m, _mm256_set1_ps(2.0)));
    _mm256_or_ps(t, sign)
}

#[inline]
#[target_feature(enable = "avx2,fma")]
fn map(x: &mut [f32], f: impl Fn(__m256) -> __m256) {
    let mut chunks = x.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        // SAFETY: the chunk holds exactly 8 initialised f32.
        unsafe {
            let v = _mm256_loadu_ps(chunk.as_ptr());
            _mm256_storeu_ps(chunk.as_mut_ptr(), f(v));
        }
    }
    let tail = chunks.into_remainder();
    if !tail.is_empty() {
        let mut buf = [0.0f32; LANES];
        buf[..tail.len()].copy_from_slice(tail);
        // SAFETY: `buf` holds 8 f32.
        unsafe {
            let v = _mm256_loadu_ps(buf.as_ptr());
            _mm256_storeu_ps(buf.as_mut_ptr(), f(v));
        }
        tail.copy_from_slice(&buf[..tail.len()]);
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn sigmoid(x: &mut [f32]) {
    map(x, |v| sigmoid_v(v))
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn tanh(x: &mut [f32]) {
    map(x, |v| tanh_v(v))
}
